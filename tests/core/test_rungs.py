"""The memory-strategy names are one StrEnum, written once, and stay plain strings wherever they are stored."""

from __future__ import annotations

import ast
import json
import sqlite3
from pathlib import Path

import pytest

import zit_desktop
from zit_desktop.cli.main import build_parser
from zit_desktop.core.memory.rungs import LADDER, LOW_VRAM_MODES, Rung, parse_rung
from zit_desktop.core.settings import Settings, load_settings, save_settings

PACKAGE = Path(zit_desktop.__file__).parent


def test_the_ladder_order_and_the_plain_string_values() -> None:
    assert [str(r) for r in LADDER] == ["gpu", "model-offload", "group-offload", "sequential"]
    assert LOW_VRAM_MODES == ("auto", *LADDER)
    assert Rung.CPU not in LADDER and Rung.CPU.description
    assert Rung("group-offload") is Rung.GROUP_OFFLOAD
    assert {"sequential": 1}[Rung.SEQUENTIAL] == 1 and {Rung.GPU: 2}["gpu"] == 2  # same hash as the string
    assert parse_rung("model-offload") is Rung.MODEL_OFFLOAD
    for bad in ("cpu", "warp-drive"):
        with pytest.raises(ValueError, match="one of gpu, model-offload"):
            parse_rung(bad)


def test_stored_rungs_read_back_as_the_same_strings(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    save_settings(path, Settings(low_vram=Rung.SEQUENTIAL))
    assert json.loads(path.read_text(encoding="utf-8"))["low_vram"] == "sequential"
    assert load_settings(path).low_vram == "sequential"
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (strategy TEXT)")
    db.execute("INSERT INTO t VALUES (?)", (Rung.GROUP_OFFLOAD,))
    assert db.execute("SELECT strategy, typeof(strategy) FROM t").fetchone() == ("group-offload", "text")
    assert f"{Rung.MODEL_OFFLOAD}" == "model-offload"  # PNG text chunks format it like this


def test_cli_low_vram_choices_come_from_the_enum() -> None:
    parser = build_parser()
    for mode in LOW_VRAM_MODES:
        assert parser.parse_args(["generate", "--prompt", "x", "--low-vram", str(mode)]).low_vram == mode
    with pytest.raises(SystemExit):
        parser.parse_args(["generate", "--prompt", "x", "--low-vram", "cpu"])


def test_strategy_names_are_not_written_out_anywhere_else() -> None:
    """No module but rungs.py has a string constant that is a rung name ("gpu" and "cpu" are left out:
    they are device words too). Docstrings and comments may mention the names."""
    names = {"model-offload", "group-offload", "sequential"}
    offenders = {}
    for path in PACKAGE.rglob("*.py"):
        if path.relative_to(PACKAGE).as_posix() == "core/memory/rungs.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        found = sorted(
            {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and n.value in names}
        )
        if found:
            offenders[path.relative_to(PACKAGE).as_posix()] = found
    assert offenders == {}
