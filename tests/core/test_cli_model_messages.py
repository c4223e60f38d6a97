"""Model failures on the terminal: said once, in words (no exception reprs), pointing at ``--model``
and ``zit-desktop models …`` (not the window's Settings), and only the default model's id is told to
download the default model."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from zit_desktop.cli.common import model_hint
from zit_desktop.core.errors import AppError, ErrorKind
from zit_desktop.core.sizes import DEFAULT_MODEL

RAW = ("Error(", "Exception(", "LocalEntryNotFound", "Traceback", "Unable to load weights")


def generate(model: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, ZIT_DESKTOP_HOME=str(data_dir), HF_HUB_OFFLINE="1")
    return subprocess.run(
        [sys.executable, "-m", "zit_desktop", "generate", "--model", model, "--prompt", "cat"],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip


def test_an_unknown_hub_id_is_not_here_and_is_not_told_to_fetch_the_default_model(data_dir: Path) -> None:
    result = generate("someone/no-such-model", data_dir)
    assert result.returncode == 1
    err = result.stderr
    assert err.count("error:") == 1 and err.count("note:") == 1  # once, and one piece of advice
    assert "someone/no-such-model is not on this disk" in err
    assert "hf download someone/no-such-model" in err and "check the id" in err
    assert DEFAULT_MODEL not in err and "models download bf16" not in err
    assert "--model PATH_OR_HUB_ID" in err and "Settings" not in err
    assert not [r for r in RAW if r in err], err


def test_the_default_model_missing_says_how_to_get_it_and_how_to_use_other_files() -> None:
    hint = model_hint(ErrorKind.MODEL_MISSING, DEFAULT_MODEL)
    assert hint is not None
    assert "zit-desktop models download bf16" in hint and f"hf download {DEFAULT_MODEL}" in hint
    assert "--model PATH_OR_HUB_ID" in hint and "Settings" not in hint
    folder = model_hint(ErrorKind.MODEL_MISSING, "/no/such/folder")
    assert folder is not None and "--model PATH_OR_HUB_ID" in folder and DEFAULT_MODEL not in folder
    other = model_hint(ErrorKind.MODEL_MISSING, "someone/else")
    assert other is not None and DEFAULT_MODEL not in other and "hf download someone/else" in other
    broken = model_hint(ErrorKind.MODEL_CORRUPT, "/models/zit")
    assert broken is not None and "models verify" in broken and "--model PATH_OR_HUB_ID" in broken
    assert model_hint(ErrorKind.OUT_OF_MEMORY, DEFAULT_MODEL) is None


def test_a_cut_short_weight_file_is_named_in_words(tiny_model: Path, tmp_path: Path) -> None:
    import torch

    from zit_desktop.core.engine import loader

    broken = tmp_path / "broken"
    shutil.copytree(tiny_model, broken)
    weights = broken / "transformer" / "diffusion_pytorch_model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])  # a download cut off halfway: the header is whole
    assert loader.damaged_weights(tiny_model) is None
    with pytest.raises(AppError) as caught:
        loader.load_pipeline(str(broken), torch.float32, lambda e: None)
    err = caught.value
    assert err.kind == ErrorKind.MODEL_CORRUPT
    assert f"{weights} is cut short" in err.message and "bytes" in err.message
    assert not [r for r in RAW if r in err.message], err.message
    assert err.detail  # the library's own words stay for the log
    weights.write_bytes(data[:1000])  # not even the header
    assert "truncated" in (loader.damaged_weights(broken) or "")
