"""Tiny quantized variants of the tiny test model, built offline with the real quantizers.

:func:`make_tiny_variant` writes one catalogue variant of :mod:`tiny_model`'s pipeline (same seed,
same random weights) and returns where its files are (:class:`TinyModel`):

- ``bf16``: ``DIR`` is the plain diffusers folder (fp32 weights, as ``make_tiny_model`` writes).
- ``sdnq-int8`` / ``sdnq-uint4``: ``DIR`` is a diffusers folder whose transformer and text encoder
  were quantized by SDNQ (``SDNQConfig(weights_dtype=..., minimum_allowed_numel=0)``: the default
  minimum of 16384 elements would skip every tiny layer) through ``from_pretrained(quantization_config=)``
  and saved with ``save_pretrained``, exactly the layout of Disty0's pre-quantized repos.
- ``gguf-q8`` / ``gguf-q4``: ``DIR`` is the tiny ``sdnq-uint4`` folder (the text encoder and VAE the
  catalogue pairs with GGUF) plus ``DIR/z_image_turbo-tiny-Q8_0.gguf`` (or ``-Q4_0``): the bf16
  transformer's weights under the ORIGINAL key names (the inverse of diffusers'
  ``convert_z_image_transformer_checkpoint_to_diffusers``, fused ``attention.qkv``), written with
  ``gguf.GGUFWriter``. gguf-py only has writers for the legacy block quants (Q8_0, Q4_0, ...), no
  K-quants, so the tiny "gguf-q4" is Q4_0 where the real download is Q4_K_M. 2-D weights whose rows
  are a multiple of the 32-element block are quantized; 1-D tensors (norms, biases), odd-sized rows and
  the pad tokens (``x_pad_token``, ``cap_pad_token``) stay F32, as in the published files.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zit_desktop.core.engine import variants
from zit_desktop.core.engine.tiny_model import TEST_MODEL_MARKER, build_tiny_pipeline, make_tiny_model

TINY_VARIANTS = ("bf16", "sdnq-int8", "sdnq-uint4", "gguf-q8", "gguf-q4")
_SDNQ_DTYPE = {"sdnq-int8": "int8", "sdnq-uint4": "uint4"}
_GGUF_TYPE = {"gguf-q8": "Q8_0", "gguf-q4": "Q4_0"}
_GGUF_PIPELINE = "sdnq-uint4"  # the catalogue's GGUF variants take the rest from the SDNQ uint4 repo
# diffusers name -> original (ComfyUI / GGUF) name; the inverse of diffusers' Z_IMAGE_KEYS_RENAME_DICT
_TO_ORIGINAL = (
    ("all_final_layer.2-1.", "final_layer."),
    ("all_x_embedder.2-1.", "x_embedder."),
    (".attention.to_out.0.", ".attention.out."),
    (".attention.norm_k.", ".attention.k_norm."),
    (".attention.norm_q.", ".attention.q_norm."),
)
_NEVER_QUANTIZED = ("x_pad_token", "cap_pad_token")


@dataclass(frozen=True)
class TinyModel:
    """Where a tiny variant lives: ``model`` for ``request.model``, ``transformer`` for
    ``request.transformer`` ("" when the folder's own transformer is used)."""

    variant: str
    model: Path
    transformer: str = ""


def make_tiny_variant(directory: str | Path, variant: str = "bf16", seed: int = 0) -> TinyModel:
    if variant not in TINY_VARIANTS:
        raise ValueError(f"unknown variant {variant!r}: choose one of {', '.join(TINY_VARIANTS)}")
    out = Path(directory)
    if variant == "bf16":
        return TinyModel(variant, make_tiny_model(out, seed))
    if variant in _SDNQ_DTYPE:
        _make_sdnq(out, _SDNQ_DTYPE[variant], seed)
        return TinyModel(variant, out)
    _make_sdnq(out, _SDNQ_DTYPE[_GGUF_PIPELINE], seed)
    qtype = _GGUF_TYPE[variant]
    gguf_path = out / f"z_image_turbo-tiny-{qtype}.gguf"
    write_gguf_transformer(build_tiny_pipeline(seed).transformer.state_dict(), gguf_path, qtype)
    return TinyModel(variant, out, str(gguf_path))


def _make_sdnq(out: Path, weights_dtype: str, seed: int) -> None:
    """The tiny folder with SDNQ-quantized transformer and text encoder (round trip through disk)."""
    variants.import_sdnq()
    from diffusers import ZImageTransformer2DModel
    from sdnq import SDNQConfig
    from transformers import Qwen3Model

    plain = out / ".plain"
    make_tiny_model(plain, seed)
    for name in ("model_index.json", TEST_MODEL_MARKER, "scheduler", "tokenizer", "vae"):
        copy_tree_or_file(plain / name, out / name)
    for component, cls in (("transformer", ZImageTransformer2DModel), ("text_encoder", Qwen3Model)):
        config = SDNQConfig(weights_dtype=weights_dtype, minimum_allowed_numel=0)
        model = cls.from_pretrained(str(plain / component), quantization_config=config)
        shutil.rmtree(out / component, ignore_errors=True)
        model.save_pretrained(str(out / component))
    shutil.rmtree(plain)


def copy_tree_or_file(src: Path, dst: Path) -> None:
    """Copy a folder (replacing ``dst``) or a file (creating its folder)."""
    if src.is_dir():
        shutil.rmtree(dst, ignore_errors=True)
        shutil.copytree(src, dst)
    else:
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dst)


def original_state_dict(state: dict[str, Any]) -> dict[str, Any]:
    """diffusers' transformer keys back to the original checkpoint's (q, k, v fused into qkv)."""
    import torch

    out: dict[str, Any] = {}
    for key, tensor in state.items():
        if ".attention.to_k." in key or ".attention.to_v." in key:
            continue  # fused into qkv with to_q below
        if key.endswith(".attention.to_q.weight"):
            base = key.removesuffix(".attention.to_q.weight")
            parts = [state[f"{base}.attention.to_{p}.weight"] for p in "qkv"]
            key, tensor = f"{base}.attention.qkv.weight", torch.cat(parts, dim=0)
        for new, old in _TO_ORIGINAL:
            key = key.replace(new, old)
        out[key] = tensor
    return out


def write_gguf_transformer(state: dict[str, Any], path: Path, qtype: str) -> Path:
    """Write a transformer state dict (diffusers names) as a GGUF file with the original names."""
    import numpy as np
    from gguf import GGMLQuantizationType, GGUFWriter
    from gguf.quants import quantize

    kind = GGMLQuantizationType[qtype]
    block = 32  # Q8_0 and Q4_0 quantize rows in blocks of 32 elements
    writer = GGUFWriter(str(path), "z_image")
    for key, tensor in original_state_dict(state).items():
        array = tensor.detach().float().cpu().numpy()
        if array.ndim == 2 and array.shape[-1] % block == 0 and key not in _NEVER_QUANTIZED:
            writer.add_tensor(key, quantize(array, kind), raw_dtype=kind)
        else:
            writer.add_tensor(key, array.astype(np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
