"""Typing, lint and layers as a ratchet: strict mypy on the Qt-free core, ruff on everything, and the
import-linter contracts of pyproject.toml."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
import tomllib
from pathlib import Path

import zit_desktop
import zit_desktop.core

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=600, check=False
    )


def test_ruff_is_clean() -> None:
    result = run("ruff", "check", "zit_desktop", "tests", "benchmarks")
    assert result.returncode == 0, result.stdout + result.stderr


def test_core_passes_strict_mypy() -> None:
    result = run("mypy", "zit_desktop/core")
    assert result.returncode == 0, result.stdout + result.stderr


def test_window_and_cli_pass_mypy() -> None:
    result = run("mypy", "zit_desktop/ui", "zit_desktop/cli", "zit_desktop/app.py")
    assert result.returncode == 0, result.stdout + result.stderr


def test_import_linter_contracts_hold() -> None:
    result = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 3 kept, 0 broken" in result.stdout, result.stdout


def test_the_torch_contract_lists_every_part_but_the_engine() -> None:
    """A new module must not slip past the torch contract by being left off its list."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    [contract] = [c for c in config["tool"]["importlinter"]["contracts"] if "torch" in c["name"]]
    parts = {f"zit_desktop.{m.name}" for m in pkgutil.iter_modules(zit_desktop.__path__)}
    parts |= {f"zit_desktop.core.{m.name}" for m in pkgutil.iter_modules(zit_desktop.core.__path__)}
    parts -= {"zit_desktop.core", "zit_desktop.core.engine", "zit_desktop.__main__", "zit_desktop.resources"}
    assert set(contract["source_modules"]) == parts
