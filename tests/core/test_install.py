"""Installed variants, verify, remove (shared files kept), use, and files the user already has."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from tests.core.hub_fixtures import BIG, GGUF, UINT4
from tests.core.hub_server import HubServer
from zit_desktop.core.errors import AppError
from zit_desktop.core.models import cache as layout
from zit_desktop.core.models import download as dl
from zit_desktop.core.models import install
from zit_desktop.core.models.catalogue import variant
from zit_desktop.core.settings import Settings


def _get(variant_id: str) -> None:
    dl.download(dl.plan(variant(variant_id)))


def test_status_verify_and_use_of_a_downloaded_variant(hub: HubServer, hf_cache: Path) -> None:
    assert install.status(variant("sdnq-uint4")).state == install.InstallState.ABSENT
    _get("sdnq-uint4")
    assert [v.id for v in install.installed()] == ["sdnq-uint4"]
    assert install.verify(variant("sdnq-uint4")).ok
    s = install.use(variant("sdnq-uint4"), Settings())
    assert Path(s.model, BIG).exists() and s.variant == "sdnq-uint4" and s.transformer == ""

    blob = layout.blob_path(hf_cache, next(f for f in dl.plan(variant("sdnq-uint4")).files if f.path == BIG))
    data = bytearray(blob.read_bytes())
    data[100] ^= 1
    blob.write_bytes(bytes(data))
    (Path(s.model) / "vae" / "config.json").unlink()
    report = install.verify(variant("sdnq-uint4"))
    assert report.corrupt == (f"{UINT4}/{BIG}",) and report.missing == (f"{UINT4}/vae/config.json",)


def test_a_half_downloaded_variant_is_partial_and_cannot_be_used(hub: HubServer, hf_cache: Path) -> None:
    dl.plan(variant("gguf-q4"))
    st = install.status(variant("gguf-q4"))
    assert st.state == install.InstallState.PARTIAL and f"{GGUF}/z_image_turbo-Q4_K_M.gguf" in st.missing
    with pytest.raises(AppError, match="download it first"):
        install.use(variant("gguf-q4"), Settings())


def test_gguf_use_points_at_the_cached_gguf_and_remove_keeps_shared_files(hub: HubServer, hf_cache: Path) -> None:
    _get("gguf-q4")
    _get("sdnq-uint4")
    s = install.use(variant("gguf-q4"), Settings())
    assert s.transformer.endswith("z_image_turbo-Q4_K_M.gguf") and Path(s.transformer).read_bytes()[:4] == b"GGUF"
    assert Path(s.model, "text_encoder", "model.safetensors").exists()

    freed = install.remove(variant("gguf-q4"))
    assert freed == len(hub.repos[GGUF].files["z_image_turbo-Q4_K_M.gguf"].data)
    assert install.status(variant("sdnq-uint4")).state == install.InstallState.INSTALLED
    assert install.verify(variant("sdnq-uint4")).ok
    assert not (hf_cache / "models--jayn7--Z-Image-Turbo-GGUF").exists()
    install.remove(variant("sdnq-uint4"))
    assert install.status(variant("sdnq-uint4")).state == install.InstallState.ABSENT


def _safetensors(path: Path, keys: list[str]) -> Path:
    header = json.dumps({k: {"dtype": "BF16", "shape": [1], "data_offsets": [0, 2]} for k in keys}).encode()
    path.write_bytes(struct.pack("<Q", len(header)) + header + b"\0\0")
    return path


def test_comfyui_files_say_which_can_be_used_and_why(tmp_path: Path) -> None:
    transformer = install.check_file(_safetensors(tmp_path / "z_image_turbo_bf16.safetensors",
                                                  ["model.diffusion_model.noise_refiner.0.attention.qkv.weight"]))  # fmt: skip
    text = install.check_file(_safetensors(tmp_path / "qwen_3_4b.safetensors",
                                           ["model.embed_tokens.weight", "model.layers.0.self_attn.q_proj.weight"]))  # fmt: skip
    vae = install.check_file(_safetensors(tmp_path / "ae.safetensors", ["encoder.conv_in.weight", "decoder.conv_in.weight"]))
    gguf = tmp_path / "x.gguf"
    gguf.write_bytes(b"GGUF\x03\0\0\0")
    junk = tmp_path / "notes.txt"
    junk.write_text("hello")
    assert (transformer.kind, transformer.usable) == (install.FileKind.TRANSFORMER, True)
    assert (text.kind, text.usable) == (install.FileKind.TEXT_ENCODER, False) and "tokenizer" in text.reason
    assert (vae.kind, vae.usable) == (install.FileKind.VAE, False)
    assert install.check_file(gguf).usable and install.check_file(gguf).format == "gguf"
    assert not install.check_file(junk).usable


def test_folder_check_names_what_is_missing_and_use_files_needs_a_pipeline(tmp_path: Path) -> None:
    folder = tmp_path / "pipe"
    assert install.check_folder(folder).missing == ("model_index.json",)
    folder.mkdir()
    index = {"_class_name": "ZImagePipeline", "scheduler": ["diffusers", "S"], "text_encoder": ["transformers", "Q"],
             "tokenizer": ["transformers", "T"], "transformer": ["diffusers", "Z"], "vae": ["diffusers", "A"]}  # fmt: skip
    (folder / "model_index.json").write_text(json.dumps(index))
    for name, config in [("scheduler", "scheduler_config.json"), ("tokenizer", "tokenizer_config.json"),
                         ("text_encoder", "config.json"), ("vae", "config.json")]:  # fmt: skip
        (folder / name).mkdir()
        (folder / name / config).write_text("{}")
    _safetensors(folder / "vae" / "diffusion_pytorch_model.safetensors", ["decoder.conv_in.weight"])
    check = install.check_folder(folder)
    assert check.missing == ("text_encoder/ weights (.safetensors)", "transformer/")
    _safetensors(folder / "text_encoder" / "model.safetensors", ["embed_tokens.weight"])
    assert install.check_folder(folder, transformer_optional=True).ok
    with pytest.raises(AppError, match="transformer/"):
        install.use_folder(folder, Settings())
    gguf = tmp_path / "t.gguf"
    gguf.write_bytes(b"GGUF\x03\0\0\0")
    s = install.use_files(gguf, folder, Settings())
    assert (s.model, s.transformer, s.variant) == (str(folder), str(gguf), "custom")
    with pytest.raises(AppError, match="tokenizer"):
        install.use_files(_safetensors(tmp_path / "qwen_3_4b.safetensors", ["embed_tokens.weight", "self_attn.q_proj"]),
                          folder, Settings())  # fmt: skip
