"""Typing and lint as a ratchet: strict mypy on the Qt-free core, ruff on everything."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
