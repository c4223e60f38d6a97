"""The CLI in a real shell pipe whose reader stops early (``… | head -1``), and argparse's words.

Each command writes far more than a pipe buffer holds (64 KiB on Linux), so the writer is still
writing when ``head`` exits: the write fails with EPIPE. A closed stdout is the reader's choice, not
a failure: exit 0, nothing on stderr (no "Broken pipe. Check that the data folder…").
"""

from __future__ import annotations

import logging
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from zit_desktop.cli import main as cli
from zit_desktop.core.history import HistoryStore
from zit_desktop.core.paths import AppPaths

from .history_support import make_result, write_png

ROWS = 1500  # ≈ 110 bytes a line in the plain listing, ≈ 1 KB in JSON: well past 64 KiB


@pytest.fixture(scope="module")
def big_history(tmp_path_factory: pytest.TempPathFactory) -> AppPaths:
    paths = AppPaths(tmp_path_factory.mktemp("pipes") / "data").ensure()
    rows = [make_result(paths.outputs, f"a red cat number {seed} " + "x" * 40, seed=seed, write=False)
            for seed in range(ROWS)]  # rows only: listing them does not open the files
    logging.getLogger("zit_desktop.core.history").setLevel(logging.ERROR)  # 1500 "no thumbnail" notes
    try:
        with HistoryStore.for_paths(paths) as store:
            store.add_results(rows)
    finally:
        logging.getLogger("zit_desktop.core.history").setLevel(logging.NOTSET)
    return paths


def piped(args: list[str], home: Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``zit-desktop ARGS | head -1`` in bash with pipefail: the pipeline's status is the script's;
    stderr ends with ``statuses A B`` (PIPESTATUS: the CLI's, then head's)."""
    command = " ".join(shlex.quote(a) for a in [sys.executable, "-m", "zit_desktop", *args])
    script = (f"set -o pipefail; {command} | head -1; st=(\"${{PIPESTATUS[@]}}\")\n"
              'echo "statuses ${st[*]}" >&2; rc=0; for s in "${st[@]}"; do [ "$s" = 0 ] || rc=$s; done; exit $rc')
    env = dict(os.environ, ZIT_DESKTOP_HOME=str(home), HF_HUB_OFFLINE="1")
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=120, env=env, cwd=cwd)


@pytest.mark.parametrize(
    "args",
    [
        ["history", "list", "--limit", str(ROWS)],
        ["history", "list", "--limit", str(ROWS), "--json"],
        ["history", "search", "red cat", "--limit", str(ROWS)],
    ],
    ids=["list", "list-json", "search"],
)
def test_history_into_a_pipe_that_closes_early_exits_0_quietly(args: list[str], big_history: AppPaths) -> None:
    result = piped(["--data-dir", str(big_history.root), *args], big_history.root)
    assert result.returncode == 0, result.stderr
    assert "statuses 0 0" in result.stderr
    assert "Broken pipe" not in result.stderr and "data folder" not in result.stderr
    assert "Traceback" not in result.stderr and "Exception ignored" not in result.stderr
    assert len(result.stdout.splitlines()) == 1 and f"{ROWS - 1}" in result.stdout  # the newest row


def test_params_into_a_pipe_that_closes_early_exits_0_quietly(tmp_path: Path, data_dir: Path) -> None:
    from .history_support import request_dict

    png = write_png(tmp_path / "one.png", request_dict("a lighthouse at dusk", seed=5))
    result = piped(["params", *[png.name] * 2000], data_dir, cwd=tmp_path)  # 8 lines per file
    assert result.returncode == 0, result.stderr
    assert "statuses 0 0" in result.stderr
    assert "Broken pipe" not in result.stderr and "Traceback" not in result.stderr
    assert result.stdout.startswith(png.name)


def test_a_data_folder_problem_is_still_reported_as_one(tmp_path: Path) -> None:
    """The EPIPE case must not swallow the real OSError advice next to it."""
    blocker = tmp_path / "afile"
    blocker.write_text("not a folder")
    result = piped(["history", "list"], blocker / "x")
    assert result.returncode == 1 and "data folder" in result.stderr


def test_history_show_with_a_word_for_an_id_says_what_an_id_is(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    for argv in (["history", "show", "abc"], ["history", "rerun", "twelve"]):
        with pytest.raises(SystemExit) as stop:
            cli.main(["--data-dir", str(tmp_path / "d"), *argv])
        assert stop.value.code == 2
        err = capsys.readouterr().err
        assert "the image id must be a positive whole number, such as 12" in err
        assert "_positive" not in err and "invalid" not in err
    with pytest.raises(SystemExit):
        cli.main(["--data-dir", str(tmp_path / "d"), "history", "list", "--limit", "lots"])
    err = capsys.readouterr().err
    assert "--limit: the number of images must be a positive whole number, such as 20" in err


def test_generate_into_head_stops_after_the_first_image_and_exits_0(tiny_model: Path, data_dir: Path) -> None:
    result = piped(["generate", "--model", str(tiny_model), "--prompt", "a cat", "--size", "256x256",
                    "--steps", "2", "--count", "3", "--seed", "4"], data_dir)
    assert result.returncode == 0, result.stderr
    assert "statuses 0 0" in result.stderr and "cancelled" not in result.stderr
    assert "Traceback" not in result.stderr and "internal" not in result.stderr.lower()
    assert Path(result.stdout.strip()).is_file()
    made = sorted((data_dir / "outputs").glob("*.png"))
    assert 1 <= len(made) <= 2  # it stopped instead of making all three
    with HistoryStore.for_paths(AppPaths(data_dir)) as store:
        assert {row.path for row in store.page(0, 10)} == {str(p) for p in made}  # each one recorded
