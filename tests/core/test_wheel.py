"""An installed wheel plans exactly as the checkout does: the model configs the planner needs ship
inside the package, and ``doctor`` run from the unpacked wheel (outside the repository, with the
checkout off ``sys.path``) reports the checkout's model profile and the published parameter counts."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import zit_desktop
from zit_desktop.cli import doctor as cli_doctor
from zit_desktop.core.memory.profile import published_profile

PACKAGE = Path(zit_desktop.__file__).resolve().parent
CHECKOUT = PACKAGE.parent
PUBLISHED_PARAMS = {"transformer": 6_154_908_736, "text_encoder": 4_022_468_096, "vae": 83_819_683}
CONFIG_FILES = {
    f"zit_desktop/resources/zimage-turbo-configs/{name}"
    for name in (
        "model_index.json",
        "transformer/config.json",
        "text_encoder/config.json",
        "vae/config.json",
        "scheduler/scheduler_config.json",
    )
}

CHILD = """
import json, sys
import zit_desktop
from zit_desktop.core.memory.profile import published_profile
profile = published_profile().to_dict()
profile.pop("path")
print(json.dumps({"package": zit_desktop.__file__, "profile": profile}))
"""


def build_wheel(tmp: Path) -> Path:
    """``pip wheel --no-deps`` of a clean copy of the checkout (a stale ``build/lib`` in the checkout
    would otherwise slip removed modules into the wheel). Offline: the venv's own setuptools builds it."""
    assert (CHECKOUT / "pyproject.toml").is_file(), f"not a checkout: {CHECKOUT}"
    src = tmp / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(CHECKOUT / name, src / name)
    shutil.copytree(PACKAGE, src / "zit_desktop", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    out = tmp / "dist"
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
         "--disable-pip-version-check", "-q", "-w", str(out), str(src)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (wheel,) = out.glob("zit_desktop-*.whl")
    return wheel


def run_outside_the_checkout(site: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(site)
    return subprocess.run(
        [sys.executable, "-P", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_an_installed_wheel_plans_with_the_checkouts_profile(
    tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from huggingface_hub import constants

    hub = tmp_path / "hf-cache"  # the model is not downloaded, in the child and here
    hub.mkdir()
    monkeypatch.setenv("HF_HUB_CACHE", str(hub))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(hub))
    wheel = build_wheel(tmp_path)
    names = set(zipfile.ZipFile(wheel).namelist())
    assert CONFIG_FILES <= names, sorted(CONFIG_FILES - names)
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    child = run_outside_the_checkout(site, elsewhere, "-c", CHILD)
    assert child.returncode == 0, child.stderr
    answer = json.loads(child.stdout)
    assert Path(answer["package"]).resolve().is_relative_to(site.resolve())  # the wheel's copy, not ours
    here = published_profile().to_dict()
    here.pop("path")
    assert answer["profile"] == json.loads(json.dumps(here))

    doctor = run_outside_the_checkout(site, elsewhere, "-m", "zit_desktop", "doctor", "--json")
    assert doctor.returncode == 0, doctor.stderr
    installed = json.loads(doctor.stdout)["model"]
    checkout = json.loads(json.dumps(cli_doctor.gather("", None, data_dir)["model"]))
    assert installed == checkout
    assert installed["profile"] == "published"
    assert {part: installed[f"{part}_params"] for part in PUBLISHED_PARAMS} == PUBLISHED_PARAMS
