"""Fixtures for download tests: the local Hub with the catalogue's repos, and huggingface_hub pointed at it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.core.hub_server import HubServer

UINT4 = "Disty0/Z-Image-Turbo-SDNQ-uint4-svd-r32"
GGUF = "jayn7/Z-Image-Turbo-GGUF"
BIG = "transformer/diffusion_pytorch_model.safetensors"


def pipeline_files(seed: int, big: int = 3_000_000) -> dict[str, bytes]:
    """A pipeline-shaped repo with random weights (sizes chosen so a transfer takes several chunks)."""
    rnd = os.urandom
    return {
        "model_index.json": b'{"_class_name": "ZImagePipeline"}',
        "scheduler/scheduler_config.json": b'{"shift": 3.0}',
        "text_encoder/config.json": b"{}",
        "text_encoder/model.safetensors": rnd(1_500_000 + seed),
        "tokenizer/tokenizer.json": b'{"version": "1.0"}',
        BIG: rnd(big),
        "transformer/config.json": b"{}",
        "vae/config.json": b"{}",
        "vae/diffusion_pytorch_model.safetensors": rnd(400_000),
        "README.md": b"not in any allow pattern",
    }


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[HubServer]:
    """The local Hub serving the SDNQ uint4 pipeline and the GGUF files; huggingface_hub online and
    pointed at it in this process (``constants.ENDPOINT`` is read at import time, so it is patched)."""
    from huggingface_hub import constants

    with HubServer() as server:
        server.add_repo(UINT4, pipeline_files(1))
        server.add_repo(GGUF, {
            "z_image_turbo-Q4_K_M.gguf": b"GGUF" + os.urandom(2_000_000),
            "z_image_turbo-Q8_0.gguf": b"GGUF" + os.urandom(2_500_000),
            "README.md": b"gguf files",
        })  # fmt: skip
        monkeypatch.setattr(constants, "ENDPOINT", server.url)
        monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE", server.url + "/{repo_id}/resolve/{revision}/{filename}")
        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        monkeypatch.setenv("HF_HUB_OFFLINE", "0")
        yield server


@pytest.fixture
def hf_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh Hugging Face cache (``HF_HOME`` for subprocesses, ``constants.HF_HUB_CACHE`` here)."""
    from huggingface_hub import constants

    home = tmp_path / "hf-home"
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(home / "hub"))
    return home / "hub"
