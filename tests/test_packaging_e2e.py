"""The launcher end to end, in a fresh clone of this checkout: set-up, the app menu entry, and the
window started the way the menu starts it (offscreen, with the tiny model), which exits cleanly.

Downloading torch and the rest would take many minutes, so the clone's venv sees the test runner's
own site-packages through a ``.pth`` line: pip then finds everything already satisfied and installs
only the clone itself (``-e .``), exactly as on a machine where the packages are already there. pip
does not uninstall anything outside the venv it runs in, so the runner's environment stays as it is.
What pip was asked for is read from its own log (``PIP_LOG``).
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import pytest

from zit_desktop.core.settings import load_settings, save_settings

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def clone_with_shared_packages(tmp_path: Path) -> Path:
    clone = tmp_path / "checkout with space"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True, timeout=60)
    # A clone holds what is committed: an uncommitted change to a launcher is not what this tests.
    base = Path(sys.base_prefix) / "bin" / "python3"
    subprocess.run([str(base), "-m", "venv", str(clone / ".venv")], check=True, timeout=120)
    site = Path(
        subprocess.run([str(clone / ".venv/bin/python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                       capture_output=True, text=True, check=True).stdout.strip()
    )  # fmt: skip
    shared = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "zz-shared-packages.pth").write_text("\n".join(sorted(shared)) + "\n", encoding="utf-8")
    return clone


def torch_flavour() -> str:
    return "cpu" if "+cpu" in importlib.metadata.version("torch") else "cuda"


def run(
    clone: Path, env: dict[str, str], *args: str, pip_log: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = dict(env)
    if pip_log is not None:
        env["PIP_LOG"] = str(pip_log)
    return subprocess.run([str(clone / "run.sh"), *args], cwd=clone, env=env, capture_output=True, text=True,
                          timeout=300, check=False)  # fmt: skip


def requested(pip_log: Path) -> set[str]:
    """The distributions pip resolved, from its log ("Requirement already satisfied: pytest>=8 in …",
    "Collecting pytest>=8")."""
    text = pip_log.read_text(encoding="utf-8") if pip_log.exists() else ""
    return {
        m.lower().replace("_", "-")
        for m in re.findall(
            r"(?:already satisfied|Collecting): ([A-Za-z0-9_.-]+?)(?=[<>=!~ \[;]|$)", text, re.M
        )
    }


TEST_TOOLS = {"pytest", "pytest-qt", "ruff", "mypy", "import-linter"}


def test_set_up_then_the_menu_entry_starts_the_window_and_it_exits_cleanly(
    tmp_path: Path, tiny_model: Path
) -> None:
    start = time.monotonic()
    clone = clone_with_shared_packages(tmp_path)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "CI")}
    # HOME stays (pip keeps its cache there); everything the launcher writes is pointed into tmp_path.
    env.update(ZIT_TORCH_FLAVOUR=torch_flavour(), XDG_DATA_HOME=str(tmp_path / "share"),
               XDG_CACHE_HOME=str(tmp_path / "cache"), ZIT_DESKTOP_HOME=str(tmp_path / "zit-home"))  # fmt: skip

    # 1. The first set-up: torch with its torchvision, then the app alone (no test tools).
    first = run(clone, env, "--version", pip_log=tmp_path / "pip-1.log")
    assert first.returncode == 0, first.stderr
    assert "installing dependencies (torch 2.14.1" in first.stderr
    assert "./run.sh --install-desktop-entry" in first.stderr  # the first set-up names the menu entry
    asked = requested(tmp_path / "pip-1.log")
    assert {"torch", "torchvision", "diffusers", "pyside6-essentials"} <= asked, sorted(asked)
    assert "torch==2.14.1" in (tmp_path / "pip-1.log").read_text(encoding="utf-8")
    assert not asked & TEST_TOOLS, "the app's set-up asked pip for the test tools"
    assert (clone / ".venv/.zit-deps").read_text(encoding="utf-8").split()[1] == "app"

    # 2. run.sh test after run.sh: the test tools, once, and no torch step.
    second = run(clone, env, "test", "--version", pip_log=tmp_path / "pip-2.log")
    assert second.returncode == 0, second.stderr
    assert "installing the test tools" in second.stderr and "installing dependencies" not in second.stderr
    asked = requested(tmp_path / "pip-2.log")
    assert TEST_TOOLS <= asked, sorted(asked)
    assert "torch==" not in (tmp_path / "pip-2.log").read_text(encoding="utf-8")  # no torch step

    # 3. run.sh after run.sh test: pip is not started at all.
    third = run(clone, env, "--version", pip_log=tmp_path / "pip-3.log")
    assert third.returncode == 0 and "installing" not in third.stderr
    assert not (tmp_path / "pip-3.log").exists()
    assert third.stdout.strip() == "zit-desktop 0.1.0" or third.stdout.strip().startswith("zit-desktop")

    # 4. The app menu entry, then the window started with the entry's own Exec line.
    installed = run(clone, env, "--install-desktop-entry")
    assert installed.returncode == 0, installed.stderr
    entry = tmp_path / "share/applications/zit-desktop.desktop"
    fields = dict(
        line.split("=", 1) for line in entry.read_text(encoding="utf-8").splitlines() if "=" in line
    )
    (launcher,) = re.findall(r'^"(.*)"$', fields["Exec"])
    assert Path(launcher) == clone / "packaging/linux/zit-desktop-launch"
    settings_file = tmp_path / "zit-home" / "settings.json"
    settings = load_settings(settings_file)
    settings.model = str(tiny_model)
    settings_file.parent.mkdir(parents=True, exist_ok=True)
    save_settings(settings_file, settings)
    shown = subprocess.run([launcher], cwd=tmp_path, env=dict(env, QT_QPA_PLATFORM="offscreen",
                           ZIT_DESKTOP_STARTUP_PROBE="1"), capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    launcher_log = (tmp_path / "cache/zit-desktop/launcher.log").read_text(encoding="utf-8")
    assert shown.returncode == 0, launcher_log
    assert shown.stdout == "" and shown.stderr == ""  # no terminal: everything goes to the launcher log
    (probe,) = [json.loads(line) for line in launcher_log.splitlines() if line.startswith("{")]
    assert probe["visible"] and not probe["torch_loaded"]
    assert "exit status 0" in launcher_log
    assert (tmp_path / "zit-home/logs/zit-desktop.log").is_file()

    removed = run(clone, env, "--remove-desktop-entry")
    assert removed.returncode == 0, removed.stderr
    assert not entry.exists() and not list((tmp_path / "share").rglob("zit-desktop*"))
    assert time.monotonic() - start < 240
