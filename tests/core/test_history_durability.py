"""History store durability: migrations from every older schema, newer schema refused, SIGKILL
mid-burst, corruption, threads."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from zit_desktop.core.errors import AppError, ErrorKind
from zit_desktop.core.history import SCHEMA_VERSION, HistoryFilter, HistoryStore, schema
from zit_desktop.core.history.schema import V1_SQL, migrate
from zit_desktop.core.paths import AppPaths

from .history_support import make_result, request_dict, write_png

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def paths(tmp_path: Path) -> AppPaths:
    return AppPaths(tmp_path / "data").ensure()


def _make_v1_db(db: Path, rows: list[tuple[str, int]]) -> None:
    """A schema-1 database written by hand, as the first release would have left it."""
    conn = sqlite3.connect(db)
    conn.executescript(V1_SQL)
    for i, (prompt, seed) in enumerate(rows):
        req = json.dumps(request_dict(prompt, seed))
        conn.execute(
            "INSERT INTO images (created_at, request_json, prompt, width, height, preset, steps, guidance, "
            "seed, path, favorite) VALUES (?, ?, ?, 512, 512, '512x512', 8, 0.0, ?, ?, ?)",
            (1_700_000_000 + i, req, prompt, seed, f"/nowhere/{seed}.png", i % 2),
        )
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()


def test_migration_from_v1_keeps_rows(paths: AppPaths) -> None:
    _make_v1_db(paths.history_db, [("a cat on a chair", 1), ("一只橘色的猫", 2), ("a dog", 3)])
    with HistoryStore.for_paths(paths) as store:
        assert store.schema_version == SCHEMA_VERSION > 1
        rows = store.page(0, 10)
        assert [r.seed for r in rows] == [3, 2, 1]
        assert [r.favorite for r in rows] == [False, True, False]
        assert all(r.missing and not r.trashed for r in rows)
        assert [r.seed for r in store.search("橘色的")] == [2]  # FTS backfilled by the migration
        assert [r.seed for r in store.search("chair")] == [1]
        assert rows[0].request().prompt == "a dog"
        token = store.trash.move([rows[0].id])  # v3 columns work on migrated rows
        assert store.count() == 2 and store.trash.restore(token) == [rows[0].id]
        new = store.add_result(make_result(paths.outputs, "after the migration", seed=9))
        assert store.search("migration")[0].id == new
        store.recipes.save("mine", {"prompt": "x"})
        assert store.integrity_check() == ["ok"]
    with HistoryStore.for_paths(paths) as again:  # reopening an up-to-date db changes nothing
        assert again.count() == 4 and again.recovered is None


def _make_db_at(db: Path, version: int) -> None:
    """A database left at schema ``version`` by an older release, with data in every table it has."""
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("BEGIN")
    migrate(conn, target=version)
    if version >= 1:
        for seed in (1, 2):
            conn.execute(
                "INSERT INTO images (created_at, request_json, prompt, width, height, preset, steps, "
                "guidance, seed, path) VALUES (?, ?, ?, 512, 512, '512x512', 8, 0.0, ?, ?)",
                (1_700_000_000 + seed, json.dumps(request_dict(f"old prompt {seed}", seed)), f"old prompt {seed}",
                 seed, f"/nowhere/{seed}.png"))
    if 3 <= version < 5:  # v3 stored a "missing" flag (v5 drops it)
        conn.execute("UPDATE images SET missing = 1")
    if version >= 3:  # saved parameter sets: table "presets" in v3, "recipes" from v4
        conn.execute(f"INSERT INTO {'presets' if version == 3 else 'recipes'} (name, request_json, created_at, "
                     "updated_at) VALUES ('Portrait 12 steps', '{\"prompt\": \"p\", \"steps\": 12}', 1, 2)")
    conn.execute("COMMIT")
    conn.close()


def _tables_and_columns(db: Path) -> tuple[set[str], set[str]]:
    conn = sqlite3.connect(db)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        columns = {r[1] for r in conn.execute("PRAGMA table_info(images)")}
    finally:
        conn.close()
    return tables, columns


@pytest.mark.parametrize("version", range(SCHEMA_VERSION))
def test_every_older_schema_migrates_with_its_data(paths: AppPaths, version: int) -> None:
    _make_db_at(paths.history_db, version)
    with HistoryStore.for_paths(paths) as store:
        assert store.schema_version == SCHEMA_VERSION and store.recovered is None
        assert store.count() == (2 if version >= 1 else 0)
        assert all(r.missing for r in store.page(0, 10))  # asked of the disk: /nowhere is not there
        if version >= 3:
            [recipe] = store.recipes.list()
            assert (recipe.name, recipe.request["steps"], recipe.updated_at) == ("Portrait 12 steps", 12, 2.0)
        store.recipes.save("new one", {"prompt": "x"})
        rid = store.add_result(make_result(paths.outputs, "after the migration", seed=9))
        assert store.get(rid).missing is False  # type: ignore[union-attr]
        assert store.trash.restore(store.trash.move([rid])) == [rid]
        assert store.search("migration")[0].id == rid and store.integrity_check() == ["ok"]
    tables, columns = _tables_and_columns(paths.history_db)
    assert "recipes" in tables and "presets" not in tables
    assert "missing" not in columns and {"trashed_at", "original_path", "trash_token"} <= columns


def test_sqlite_without_drop_column_keeps_the_unused_column(paths: AppPaths,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite before 3.35 can't DROP COLUMN: the migration still succeeds and the store works."""
    monkeypatch.setattr(schema, "CAN_DROP_COLUMN", False)
    _make_db_at(paths.history_db, 3)
    with HistoryStore.for_paths(paths) as store:
        assert store.schema_version == SCHEMA_VERSION
        rid = store.add_result(make_result(paths.outputs, "written by new code", seed=9))
        assert store.get(rid).missing is False and store.count() == 3  # type: ignore[union-attr]
        assert [r.name for r in store.recipes.list()] == ["Portrait 12 steps"]
    tables, columns = _tables_and_columns(paths.history_db)
    assert "missing" in columns and "recipes" in tables


def test_newer_database_is_refused_untouched(paths: AppPaths) -> None:
    conn = sqlite3.connect(paths.history_db)
    conn.execute("CREATE TABLE future (x)")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    conn.commit()
    conn.close()
    before = paths.history_db.read_bytes()
    with pytest.raises(AppError) as info:
        HistoryStore.for_paths(paths)
    assert info.value.kind is ErrorKind.DATABASE
    assert "newer version" in info.value.message and "Update ZIT Desktop" in info.value.message
    assert paths.history_db.read_bytes() == before
    assert not list(paths.root.glob("*.corrupt-*"))


_CHILD = r"""
import sys
from pathlib import Path
from zit_desktop.core.events import ImageResult
from zit_desktop.core.history.store import HistoryStore
store = HistoryStore(Path(sys.argv[1]))
print("ready", flush=True)
i = 0
while True:
    i += 1
    req = {"prompt": f"burst prompt {i} 连拍", "width": 512, "height": 512, "steps": 8, "guidance": 0.0,
           "seed": i, "count": 1, "preset": "512x512", "model": "m", "negative_prompt": ""}
    result = ImageResult(index=0, seed=i, path=f"/nowhere/burst-{i}.png", width=512, height=512,
                         timings={"total": 0.1}, strategy="gpu", oom_retries=0, peak_vram_bytes=None,
                         request=req, environment={})
    rid = store.add_result(result)
    print(rid, flush=True)
"""


def test_sigkill_mid_burst_keeps_every_committed_row(paths: AppPaths) -> None:
    db = paths.history_db
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(db)], stdout=subprocess.PIPE, text=True,
                             cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "ready"
    committed: list[int] = []
    try:
        while len(committed) < 300:
            line = child.stdout.readline()
            assert line, "the writer died on its own"
            committed.append(int(line))
    finally:
        os.kill(child.pid, signal.SIGKILL)
        rest = child.stdout.read()  # what it printed before dying: committed too
        child.wait()
    committed += [int(x) for x in rest.splitlines() if x.strip().isdigit()]
    assert child.returncode == -signal.SIGKILL
    assert Path(f"{db}-wal").exists()  # killed with a live WAL, not after a clean close

    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    present = {r[0] for r in conn.execute("SELECT id FROM images")}
    conn.close()
    assert set(committed) <= present
    with HistoryStore(db) as store:
        assert store.recovered is None and store.integrity_check() == ["ok"]
        assert store.count() == len(present) >= 300
        assert store.search("连拍")  # the FTS index survived with the rows


def _write_outputs(paths: AppPaths) -> None:
    write_png(paths.outputs / "a.png", request_dict("a lighthouse in a storm", 11))
    write_png(paths.outputs / "2026" / "b.png", request_dict("暴风雨中的灯塔", 12, preset="landscape"))


@pytest.mark.parametrize("damage", ["not-a-database", "damaged-page"])
def test_corrupt_database_moved_aside_and_rebuilt(paths: AppPaths, damage: str) -> None:
    _write_outputs(paths)
    if damage == "not-a-database":
        paths.history_db.write_bytes(b"this is not a database at all, just text\n" * 200)
    else:
        with HistoryStore.for_paths(paths) as store:
            for i in range(200):
                store.add_result(make_result(paths.outputs, f"row {i} " + "x" * 300, seed=100 + i, write=False))
        raw = bytearray(paths.history_db.read_bytes())
        page = 4096
        for n in range(2, len(raw) // page - 1, 2):  # scribble over every other page past the schema
            raw[n * page: n * page + 2000] = os.urandom(2000)
        paths.history_db.write_bytes(bytes(raw))
    damaged_bytes = paths.history_db.read_bytes()

    with HistoryStore.for_paths(paths) as store:
        assert store.recovered is not None
        aside = store.recovered.moved_to
        assert aside.name.startswith("history.sqlite3.corrupt-") and aside.read_bytes() == damaged_bytes
        assert store.recovered.imported == 2 and "recovered" in store.recovered.message
        assert store.integrity_check() == ["ok"] and store.count() == 2
        assert [r.seed for r in store.search("灯塔")] == [12]
        assert store.search("lighthouse")[0].thumbnail
        assert store.count(HistoryFilter(preset="landscape")) == 1
    with HistoryStore.for_paths(paths) as store:  # the new file is fine: no second recovery
        assert store.recovered is None and store.count() == 2


def test_engine_written_png_is_importable(paths: AppPaths) -> None:
    from PIL import Image

    from zit_desktop.core.metadata import write as pngmeta
    from zit_desktop.core.request import GenerationRequest

    req = GenerationRequest(prompt="written like the engine does", seed=5)
    info = {"strategy": "group-offload", "oom_retries": 1, "peak_vram_bytes": 3_000_000_000}
    pngmeta.write_png_atomic(Image.new("RGB", (32, 32)), paths.outputs / "e.png",
                             pngmeta.png_text_chunks(req, {"torch": "x"}, info))
    with HistoryStore.for_paths(paths) as store:
        assert store.rebuild_from_folder(paths.outputs) == 1
        [row] = store.page(0, 5)
        assert row.request() == req and row.strategy == "group-offload" and row.oom_retries == 1
        assert row.peak_vram_bytes == 3_000_000_000 and row.environment == {"torch": "x"}


def test_one_writer_thread_one_reader_thread(paths: AppPaths) -> None:
    store = HistoryStore.for_paths(paths)
    total = 150
    errors: list[BaseException] = []
    seen_counts: list[int] = []
    done = threading.Event()

    def writer() -> None:
        try:
            for i in range(total):
                store.add_result(make_result(paths.outputs, f"threaded {i}", seed=i, write=False))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            done.set()

    def reader() -> None:
        try:
            while not done.is_set():
                n = store.count()
                rows = store.page(0, 20)
                assert len(rows) == min(n, 20) or store.count() > n
                assert [r.id for r in rows] == sorted((r.id for r in rows), reverse=True)
                store.search("threaded")
                seen_counts.append(n)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=writer), threading.Thread(target=reader)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), f"stuck after {time.monotonic() - start:.0f}s"
    assert errors == []
    assert seen_counts == sorted(seen_counts) and len(seen_counts) > 1  # reads never went backwards
    assert store.count() == total
    store.close()
    with pytest.raises(RuntimeError):
        store.count()


def test_v6_adds_the_variant_old_rows_are_bf16_new_rows_keep_theirs(paths: AppPaths) -> None:
    _make_db_at(paths.history_db, 5)
    with HistoryStore.for_paths(paths) as store:
        assert {r.variant for r in store.page(0, 10)} == {"bf16"}
        assert {r.request().variant for r in store.page(0, 10)} == {"bf16"}
        rid = store.add_result(make_result(paths.outputs, "quantized", seed=9, variant="sdnq-uint4"))
        row = store.get(rid)
        assert row is not None and row.variant == "sdnq-uint4" and row.request().variant == "sdnq-uint4"
    _, columns = _tables_and_columns(paths.history_db)
    assert "variant" in columns
