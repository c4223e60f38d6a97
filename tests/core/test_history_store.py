"""History store: rows, queries, search (English and Chinese), filters, trash, missing files, recipes."""

from __future__ import annotations

import os
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image

from zit_desktop.core.errors import AppError
from zit_desktop.core.history import HistoryFilter, HistoryStore
from zit_desktop.core.history.files import thumbnail_name
from zit_desktop.core.paths import AppPaths
from zit_desktop.core.request import GenerationRequest

from .history_support import make_result, request_dict, write_png


@pytest.fixture
def paths(tmp_path: Path) -> AppPaths:
    return AppPaths(tmp_path / "data").ensure()


@pytest.fixture
def store(paths: AppPaths):
    s = HistoryStore.for_paths(paths)
    yield s
    s.close()


def test_add_result_round_trip(store: HistoryStore, paths: AppPaths) -> None:
    result = make_result(paths.outputs, "a red cat on a chair", seed=42, index=2)
    rid = store.add_result(result)
    row = store.get(rid)
    assert row is not None
    data = row.to_json_dict()
    for key in ("id", "created_at", "prompt", "negative_prompt", "seed", "width", "height", "steps",
                "guidance", "preset", "path", "favorite", "parent_id", "strategy", "oom_retries",
                "timings", "peak_vram_bytes", "model", "thumbnail", "missing", "request"):
        assert key in data
    assert (data["id"], data["seed"], data["width"], data["preset"]) == (rid, 42, 512, "512x512")
    assert row.batch_index == 2 and row.strategy == "model-offload" and row.oom_retries == 1
    assert row.timings["denoise"] == 1.0 and row.peak_vram_bytes == 5_000_000_000
    assert row.environment == {"torch": "2.x", "device": "cpu"}
    assert datetime.fromisoformat(data["created_at"]).tzinfo is not None
    assert row.path == os.path.abspath(result.path) and not row.missing
    assert row.request() == GenerationRequest.from_dict(result.request)
    assert row.thumbnail and Path(row.thumbnail).parent == paths.thumbnails
    with Image.open(row.thumbnail) as thumb:
        assert thumb.format == "JPEG" and max(thumb.size) <= 256
    assert store.get(9999) is None


def test_page_is_newest_first_and_counts(store: HistoryStore, paths: AppPaths) -> None:
    ids = [store.add_result(make_result(paths.outputs, f"prompt number {i}", seed=i)) for i in range(7)]
    assert store.count() == 7
    first = store.page(0, 3)
    assert [r.id for r in first] == ids[::-1][:3]
    assert [r.id for r in store.page(3, 10)] == ids[::-1][3:]
    assert store.page(10, 5) == []


def test_batch_insert_and_lineage(store: HistoryStore, paths: AppPaths) -> None:
    parent = store.add_result(make_result(paths.outputs, "origin", seed=1))
    kids = store.add_results([make_result(paths.outputs, "origin", seed=s, index=s - 5) for s in (5, 6)],
                             parent_id=parent)
    assert [r.id for r in store.children(parent)] == kids
    assert all(store.get(k).parent_id == parent for k in kids)  # type: ignore[union-attr]


@pytest.fixture
def searchable(store: HistoryStore, paths: AppPaths) -> dict[str, int]:
    prompts = {
        "cat": "A photo of a cat sitting on a red chair",
        "dog": 'a dog on the "beach", 50% off',
        "zh_cat": "一只橘色的猫坐在红色的椅子上",
        "zh_sunset": "山间日落的风景，电影感",
        "mixed": "cinematic 猫 portrait",
    }
    return {k: store.add_result(make_result(paths.outputs, p, seed=i)) for i, (k, p) in enumerate(prompts.items())}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("cat", {"cat"}),  # 3 chars: FTS trigram
        ("CHAIR", {"cat"}),  # case-insensitive
        ("red cat", {"cat"}),  # every term must occur
        ("on", {"cat", "dog"}),  # 2 chars: LIKE fallback
        ("a", {"cat", "dog", "mixed"}),
        ("50%", {"dog"}),  # LIKE wildcards are escaped, FTS quoting works
        ('"beach"', {"dog"}),  # quotes in a term
        ("beach", {"dog"}),
        ("橘色的", {"zh_cat"}),  # Chinese, 3 chars: FTS
        ("红色的椅子", {"zh_cat"}),
        ("猫", {"zh_cat", "mixed"}),  # Chinese, 1 char: LIKE
        ("日落", {"zh_sunset"}),  # 2 chars
        ("猫 cinematic", {"mixed"}),  # short + long terms together
        ("nothing here", set()),
        ("", {"cat", "dog", "zh_cat", "zh_sunset", "mixed"}),
    ],
)
def test_search(store: HistoryStore, searchable: dict[str, int], query: str, expected: set[str]) -> None:
    by_id = {v: k for k, v in searchable.items()}
    found = {by_id[r.id] for r in store.search(query)}
    assert found == expected
    assert store.count(HistoryFilter(text=query)) == len(expected)


def test_search_follows_prompt_updates_and_deletes(store: HistoryStore, searchable: dict[str, int]) -> None:
    with store.transaction() as conn:
        conn.execute("UPDATE images SET prompt = 'a giraffe' WHERE id = ?", (searchable["cat"],))
        conn.execute("DELETE FROM images WHERE id = ?", (searchable["zh_cat"],))
    assert [r.id for r in store.search("giraffe")] == [searchable["cat"]]
    assert store.search("chair") == []
    assert store.search("橘色的") == []


def test_filters_favourites_preset_dates(store: HistoryStore, paths: AppPaths) -> None:
    a = store.add_result(make_result(paths.outputs, "small cat", seed=1, preset="512x512"))
    b = store.add_result(make_result(paths.outputs, "wide cat", seed=2, preset="landscape"))
    c = store.add_result(make_result(paths.outputs, "wide dog", seed=3, preset="landscape"))
    old = datetime(2024, 1, 15, 12, 0)
    with store.transaction() as conn:
        conn.execute("UPDATE images SET created_at = ? WHERE id = ?", (old.timestamp(), a))
    store.set_favorite(b)
    store.set_favorite(c)
    store.set_favorite(c, False)

    def ids(f: HistoryFilter) -> set[int]:
        return {r.id for r in store.page(0, 100, f)}

    assert ids(HistoryFilter(favorites_only=True)) == {b}
    assert store.get(b).favorite and not store.get(c).favorite  # type: ignore[union-attr]
    assert ids(HistoryFilter(preset="landscape")) == {b, c}
    assert ids(HistoryFilter(preset="landscape", text="cat")) == {b}
    assert ids(HistoryFilter(since=datetime.now() - timedelta(days=1))) == {b, c}
    assert ids(HistoryFilter(until=datetime(2024, 2, 1))) == {a}
    assert ids(HistoryFilter(since=old, until=old + timedelta(seconds=1))) == {a}
    assert ids(HistoryFilter(since=time.time() + 3600)) == set()
    assert store.count(HistoryFilter(preset="landscape", favorites_only=True)) == 1
    assert [r.id for r in store.page(0, 10)][-1] == a  # oldest last
    assert store.presets_used() == ["512x512", "landscape"]


def test_trash_and_undo_move_the_file(store: HistoryStore, paths: AppPaths) -> None:
    keep = store.add_result(make_result(paths.outputs, "keep me", seed=1))
    ids = [store.add_result(make_result(paths.outputs, "bin me", seed=s)) for s in (2, 3)]
    originals = [Path(store.get(i).path) for i in ids]  # type: ignore[union-attr]
    token = store.trash.move(ids)
    for i, orig in zip(ids, originals, strict=False):
        row = store.get(i)
        assert row is not None and row.trashed and not row.missing
        assert not orig.exists() and Path(row.path).exists()
        assert Path(row.path).parent == paths.trash
    assert [r.id for r in store.page(0, 10)] == [keep]
    assert store.count(HistoryFilter(trashed_only=True)) == 2
    assert store.count(HistoryFilter(include_trashed=True)) == 3
    assert store.search("bin") == []

    assert sorted(store.trash.restore(token)) == sorted(ids)
    for i, orig in zip(ids, originals, strict=False):
        row = store.get(i)
        assert row is not None and not row.trashed and row.path == str(orig) and orig.exists()
    assert list(paths.trash.iterdir()) == []
    assert store.trash.restore(token) == []  # a token undoes once


def test_restore_when_the_name_was_taken_meanwhile(store: HistoryStore, paths: AppPaths) -> None:
    rid = store.add_result(make_result(paths.outputs, "first", seed=1, name="same.png"))
    token = store.trash.move([rid])
    write_png(paths.outputs / "same.png", request_dict("an impostor"))
    store.trash.restore(token)
    row = store.get(rid)
    assert row is not None and row.path == str(paths.outputs / "same (2).png") and not row.missing


def test_purge_trash_deletes_only_trashed(store: HistoryStore, paths: AppPaths) -> None:
    keep = store.add_result(make_result(paths.outputs, "keep", seed=1))
    gone = store.add_result(make_result(paths.outputs, "gone", seed=2))
    child = store.add_result(make_result(paths.outputs, "child", seed=3), parent_id=gone)
    thumb = store.get(gone).thumbnail  # type: ignore[union-attr]
    store.trash.move([gone])
    trashed_file = Path(store.get(gone).path)  # type: ignore[union-attr]
    assert store.trash.purge() == 1
    assert store.get(gone) is None and not trashed_file.exists() and not Path(thumb).exists()  # type: ignore[arg-type]
    assert store.get(keep) is not None and Path(store.get(keep).path).exists()  # type: ignore[union-attr]
    assert store.get(child).parent_id is None  # type: ignore[union-attr]
    assert store.search("gone") == []


def test_deleted_file_shows_as_missing(store: HistoryStore, paths: AppPaths) -> None:
    a = store.add_result(make_result(paths.outputs, "will vanish", seed=1))
    b = store.add_result(make_result(paths.outputs, "stays", seed=2))
    os.unlink(store.get(a).path)  # type: ignore[union-attr]
    assert store.get(a).missing and not store.exists(a) and store.exists(b)  # type: ignore[union-attr]
    assert store.thumbnail_path(a) is not None  # the old thumbnail still shows
    assert [r.missing for r in store.page(0, 10)] == [False, True]
    store.trash.move([a])  # trashing a missing file works and undoes
    store.trash.restore(store.trash.move([b]))
    assert store.count() == 1


def test_thumbnail_regenerated_when_deleted(store: HistoryStore, paths: AppPaths) -> None:
    rid = store.add_result(make_result(paths.outputs, "thumb", seed=1))
    thumb = Path(store.get(rid).thumbnail)  # type: ignore[arg-type, union-attr]
    thumb.unlink()
    assert store.thumbnail_path(rid) == thumb and thumb.exists()


def test_result_with_unreadable_file_still_recorded(store: HistoryStore, paths: AppPaths) -> None:
    rid = store.add_result(make_result(paths.outputs, "never written", seed=1, write=False))
    row = store.get(rid)
    assert row is not None and row.thumbnail is None and row.missing
    assert store.thumbnail_path(rid) is None


def _engine_image() -> Image.Image:
    """Something with detail, so a thumbnail made differently would differ."""
    gradient = Image.linear_gradient("L").resize((640, 480))
    return Image.merge("RGB", (gradient, gradient.rotate(90).resize((640, 480)), Image.new("L", (640, 480), 40)))


def test_thumbnail_from_the_image_in_memory_is_the_one_the_file_gives(store: HistoryStore,
                                                                    paths: AppPaths) -> None:
    image = _engine_image()
    from_file = make_result(paths.outputs, "read back", seed=1)
    image.save(from_file.path)  # what the engine wrote
    in_memory = make_result(paths.outputs, "handed over", seed=2, write=False)

    read = store.get(store.add_result(from_file))
    given = store.get(store.add_result(in_memory, image=image))
    assert read is not None and given is not None and read.thumbnail and given.thumbnail
    assert Path(given.thumbnail).name == thumbnail_name(in_memory.path)  # same naming as from a file
    assert Path(given.thumbnail).read_bytes() == Path(read.thumbnail).read_bytes()
    with Image.open(given.thumbnail) as thumb:
        assert thumb.size == (256, 192)
    assert image.size == (640, 480)  # the caller's image is left as it was


def test_given_the_image_the_png_is_not_opened_again(store: HistoryStore, paths: AppPaths,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    def no_open(*args: object, **kwargs: object) -> None:
        raise AssertionError("the PNG was decoded again")

    monkeypatch.setattr(Image, "open", no_open)
    result = make_result(paths.outputs, "no file on disk", seed=1, write=False)  # unreadable: not there
    rid = store.add_result(result, image=_engine_image())
    row = store.get(rid)
    assert row is not None and row.missing and row.thumbnail and Path(row.thumbnail).is_file()


def test_add_results_pairs_images_with_results(store: HistoryStore, paths: AppPaths) -> None:
    results = [make_result(paths.outputs, f"batch {i}", seed=i, write=i == 1) for i in range(3)]
    ids = store.add_results(results, images=[_engine_image(), None, None])
    thumbs = [store.get(i).thumbnail for i in ids]  # type: ignore[union-attr]
    assert thumbs[0] and thumbs[1] and thumbs[2] is None  # given, read from its file, neither
    with pytest.raises(ValueError, match="2 images for 3 results"):
        store.add_results(results, images=[None, None])
    assert store.count() == 3


def test_rebuild_from_folder_imports_skips_and_relinks(store: HistoryStore, paths: AppPaths) -> None:
    present = store.add_result(make_result(paths.outputs, "already here", seed=1))
    moved = store.add_result(make_result(paths.outputs, "moved away", seed=2))
    old_path = Path(store.get(moved).path)  # type: ignore[union-attr]
    new_path = paths.outputs / "sub" / "renamed.png"
    new_path.parent.mkdir()
    old_path.rename(new_path)
    write_png(paths.outputs / "sub" / "new.png", request_dict("一张新图片", seed=7),
              info={"strategy": "gpu", "oom_retries": 2, "created_at": "2025-05-01T10:00:00+00:00"})
    Image.new("RGB", (8, 8)).save(paths.outputs / "foreign.png")  # not ours: ignored
    (paths.outputs / "broken.png").write_bytes(b"\x89PNG garbage")  # unreadable: ignored

    assert store.rebuild_from_folder(paths.outputs) == 2
    assert store.count() == 3
    assert store.get(moved).path == str(new_path) and not store.get(moved).missing  # type: ignore[union-attr]
    [new] = store.search("新图片")
    assert (new.seed, new.strategy, new.oom_retries) == (7, "gpu", 2)
    assert new.created_iso.startswith("2025-05-01") and new.thumbnail and Path(new.thumbnail).exists()
    assert store.get(present) is not None
    assert store.rebuild_from_folder(paths.outputs) == 0  # idempotent


def test_recipes(store: HistoryStore) -> None:
    req = GenerationRequest(prompt="portrait", steps=12).with_preset("portrait")
    saved = store.recipes.save("  My   portrait ", req)
    assert saved.name == "My portrait" and saved.to_request() == req
    store.recipes.save("Square", {"prompt": "x", "width": 512, "height": 512})
    assert [p.name for p in store.recipes.list()] == ["My portrait", "Square"]
    store.recipes.save("square", {"prompt": "y"})  # same name, other case: overwrite
    assert len(store.recipes.list()) == 2 and store.recipes.get("SQUARE").request["prompt"] == "y"  # type: ignore[union-attr]
    renamed = store.recipes.rename("My portrait", "Tall")
    assert renamed.name == "Tall" and store.recipes.get("My portrait") is None
    with pytest.raises(AppError):
        store.recipes.rename("Tall", "square")
    with pytest.raises(AppError):
        store.recipes.rename("nope", "whatever")
    with pytest.raises(AppError):
        store.recipes.save("   ", req)
    assert store.recipes.delete("tall") and not store.recipes.delete("tall")
    assert [p.name for p in store.recipes.list()] == ["square"]
    assert store.recipes.list()[0].to_json_dict()["request"] == {"prompt": "y"}


def test_transaction_rolls_back_on_error(store: HistoryStore, paths: AppPaths) -> None:
    with pytest.raises(RuntimeError):
        with store.transaction() as conn:
            conn.execute("UPDATE images SET favorite = 1")
            store.add_result(make_result(paths.outputs, "inside", seed=1))  # nested: joins
            raise RuntimeError("boom")
    assert store.count() == 0


def test_trash_survives_a_failed_move(store: HistoryStore, paths: AppPaths,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows are marked before files move: a move that fails (or a crash) still restores cleanly."""
    import zit_desktop.core.history.trash as history_trash

    rid = store.add_result(make_result(paths.outputs, "stuck", seed=1))
    original = store.get(rid).path  # type: ignore[union-attr]

    def refuse(src: Path, dest: Path) -> Path:
        raise PermissionError(13, "Permission denied", str(src))

    monkeypatch.setattr(history_trash, "move_file", refuse)
    token = store.trash.move([rid])
    monkeypatch.undo()
    row = store.get(rid)
    assert row is not None and row.trashed and row.missing and Path(original).exists()
    assert store.trash.restore(token) == [rid]
    row = store.get(rid)
    assert row is not None and row.path == original and not row.trashed and not row.missing
