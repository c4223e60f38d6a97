"""Shared fixtures: offscreen Qt, a temp data dir for every test, the tiny model built once."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest_plugins = ["tests.core.hub_fixtures"]  # hub (a local Hugging Face Hub) and hf_cache

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("SDNQ_USE_TORCH_COMPILE", "0")  # no Triton here: sdnq's compile self-test takes ~80 s


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own data dir: tests never touch the real user folders."""
    from zit_desktop.core import paths

    home = tmp_path / "zit-home"
    monkeypatch.setenv(paths.ENV_HOME, str(home))
    monkeypatch.setattr(paths, "_override", None)
    return home


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny real Z-Image pipeline with random weights, saved once per test session."""
    from zit_desktop.core.engine.tiny_model import make_tiny_model

    return make_tiny_model(tmp_path_factory.mktemp("tiny-model"))
