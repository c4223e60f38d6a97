"""``zit-desktop history list|search|show|rerun``, in-process through cli.main and once as a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from zit_desktop.cli import main as cli
from zit_desktop.core.history import HistoryStore
from zit_desktop.core.paths import AppPaths

from .history_support import make_result

ROOT = Path(__file__).resolve().parents[2]
REQUIRED = {"id", "created_at", "prompt", "negative_prompt", "seed", "width", "height", "steps", "guidance",
            "preset", "path", "favorite", "parent_id"}


@pytest.fixture
def filled(tmp_path: Path) -> AppPaths:
    paths = AppPaths(tmp_path / "data").ensure()
    with HistoryStore.for_paths(paths) as store:
        store.add_result(make_result(paths.outputs, "a red cat on a chair", seed=1))
        fav = store.add_result(make_result(paths.outputs, "一只橘色的猫", seed=2, preset="landscape"))
        store.add_result(make_result(paths.outputs, "a lighthouse", seed=3))
        store.set_favorite(fav)
    return paths


def _run(capsys: pytest.CaptureFixture[str], paths: AppPaths, *argv: str) -> tuple[int, str, str]:
    code = cli.main(["--data-dir", str(paths.root), "history", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def _objects(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_list_json_newest_first_with_limit(capsys: pytest.CaptureFixture[str], filled: AppPaths) -> None:
    code, out, _ = _run(capsys, filled, "list", "--json")
    rows = _objects(out)
    assert code == 0 and [r["seed"] for r in rows] == [3, 2, 1]
    assert all(REQUIRED <= set(r) for r in rows)
    code, out, _ = _run(capsys, filled, "list", "--limit", "1", "--json")
    assert [r["seed"] for r in _objects(out)] == [3]
    _, out, _ = _run(capsys, filled, "list", "--favorites", "--json")
    assert [r["seed"] for r in _objects(out)] == [2]
    _, out, _ = _run(capsys, filled, "list", "--preset", "landscape", "--json")
    assert [r["preset"] for r in _objects(out)] == ["landscape"]


def test_list_plain_text(capsys: pytest.CaptureFixture[str], filled: AppPaths) -> None:
    code, out, _ = _run(capsys, filled, "list")
    lines = out.splitlines()
    assert code == 0 and len(lines) == 3
    assert "a lighthouse" in lines[0] and "seed 3" in lines[0] and "★" in lines[1]


@pytest.mark.parametrize(("text", "seeds"), [("cat", [1]), ("猫", [2]), ("橘色的", [2]), ("zebra", [])])
def test_search(capsys: pytest.CaptureFixture[str], filled: AppPaths, text: str, seeds: list[int]) -> None:
    code, out, _ = _run(capsys, filled, "search", text, "--json")
    assert code == 0 and [r["seed"] for r in _objects(out)] == seeds


def test_show(capsys: pytest.CaptureFixture[str], filled: AppPaths) -> None:
    code, out, _ = _run(capsys, filled, "show", "2", "--json")
    [row] = _objects(out)
    assert code == 0 and row["id"] == 2 and row["prompt"] == "一只橘色的猫" and row["favorite"] is True
    assert row["request"]["seed"] == 2
    code, out, _ = _run(capsys, filled, "show", "2")
    assert code == 0 and "一只橘色的猫" in out and "landscape" in out


def test_show_unknown_id_and_missing_file(capsys: pytest.CaptureFixture[str], filled: AppPaths) -> None:
    code, out, err = _run(capsys, filled, "show", "99")
    assert code == 1 and out == "" and "no image 99" in err
    os.unlink(filled.outputs / "img-1-0.png")
    code, out, err = _run(capsys, filled, "show", "1", "--json")
    assert code == 0 and _objects(out)[0]["missing"] is True


def test_newer_database_gives_a_message(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    import sqlite3

    paths = AppPaths(tmp_path / "d").ensure()
    conn = sqlite3.connect(paths.history_db)
    conn.execute("PRAGMA user_version = 999")
    conn.close()
    code, out, err = _run(capsys, paths, "list")
    assert code == 1 and "newer version" in err and "Traceback" not in err


def test_history_without_action_prints_usage(capsys: pytest.CaptureFixture[str], filled: AppPaths) -> None:
    code, _, err = _run(capsys, filled, )
    assert code == 2 and "rerun" in err


def test_module_entry_point_in_a_subprocess(filled: AppPaths) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "zit_desktop", "--data-dir", str(filled.root), "history", "search", "light",
         "--json"], capture_output=True, text=True, cwd=ROOT, timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    [row] = _objects(proc.stdout)
    assert row["prompt"] == "a lighthouse"
    assert "torch" not in proc.stderr.lower()


@pytest.mark.slow
def test_rerun_gives_identical_pixels_and_records_a_child(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, tiny_model: Path
) -> None:
    paths = AppPaths(tmp_path / "gen").ensure()
    code = cli.main(["--data-dir", str(paths.root), "generate", "--prompt", "一只猫 on a chair", "--size",
                     "256x256", "--seed", "7", "--model", str(tiny_model), "--json"])
    capsys.readouterr()
    assert code == 0
    with HistoryStore.for_paths(paths) as store:
        [original] = store.page(0, 10)

    code, out, err = _run(capsys, paths, "rerun", str(original.id), "--json")
    assert code == 0, err
    [again] = _objects(out)
    assert again["parent_id"] == original.id and again["id"] != original.id and again["seed"] == 7
    assert again["path"] != original.path
    with Image.open(original.path) as a, Image.open(again["path"]) as b:
        assert a.tobytes() == b.tobytes()

    code, out, err = _run(capsys, paths, "rerun", str(original.id), "--seed", "8", "--json")
    assert code == 0, err
    [other] = _objects(out)
    assert other["seed"] == 8 and other["parent_id"] == original.id
    with Image.open(original.path) as a, Image.open(other["path"]) as b:
        assert a.tobytes() != b.tobytes()
    with HistoryStore.for_paths(paths) as store:
        assert [r.id for r in store.children(original.id)] == [again["id"], other["id"]]
        assert store.count() == 3

    code, out, err = _run(capsys, paths, "rerun", "999")
    assert code == 1 and "no image 999" in err
