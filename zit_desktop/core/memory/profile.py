"""How big each part of a Z-Image model is, read from the model's own files. No torch.

Two sources:

* :func:`profile_from_model_dir` — a diffusers folder: the component ``config.json`` files give the
  architecture, and the safetensors *headers* (8-byte little-endian length + JSON, read directly,
  never the tensors) give the real byte counts per block. Weights stored wider than the compute dtype
  (the Hub keeps the transformer in fp32) are counted at the compute width (bf16: 2 bytes).
* :func:`profile_from_configs` — configs only: parameter counts from the architecture formulas
  below, which reproduce diffusers 0.42 / transformers 5 exactly (transformer 6,154,908,736; text
  encoder 4,022,468,096; VAE 83,819,683 — checked in the tests by building the models on torch's
  meta device).

Z-Image-Turbo's own configs ship inside the package (``zit_desktop/resources/zimage-turbo-configs``,
read with :mod:`importlib.resources`), so :func:`published_profile` gives the same sizes in an
installed wheel as in a checkout, before the 33 GB model is downloaded.
"""

from __future__ import annotations

import json
import re
import struct
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from zit_desktop.core.models.catalogue import VariantId

COMPUTE_BYTES = 2  # bf16

_DTYPE_BYTES = {
    "F64": 8, "I64": 8, "U64": 8, "F32": 4, "I32": 4, "U32": 4, "F16": 2, "BF16": 2, "I16": 2,
    "U16": 2, "I8": 1, "U8": 1, "BOOL": 1, "F8_E4M3": 1, "F8_E5M2": 1, "F8_E8M0": 1, "F4": 1,
}  # fmt: skip
_MAX_HEADER = 100 * 1024 * 1024


class ProfileError(ValueError):
    """The model folder is missing configs or has unreadable weight files."""


@dataclass(frozen=True)
class ComponentSize:
    """Weight bytes of one component at the compute dtype, split into repeated blocks and the rest."""

    params: int
    bytes: int
    n_blocks: int
    block_bytes: int  # the largest repeated block (transformer block / decoder layer)
    other_bytes: int  # everything outside the repeated blocks (embedders, final layer, embeddings)
    largest_tensor_bytes: int  # the biggest single weight (what leaf-level offload must hold)
    fp8_castable_bytes: int = 0  # bytes in block Linear weights that fp8 layerwise storage halves


@dataclass(frozen=True)
class ModelProfile:
    transformer: ComponentSize
    text_encoder: ComponentSize
    vae: ComponentSize
    # transformer dims
    dim: int = 3840
    n_layers: int = 30
    n_refiner_layers: int = 2
    n_heads: int = 30
    patch_size: int = 2
    ffn_hidden: int = 10240
    in_channels: int = 16
    # text encoder dims
    te_hidden: int = 2560
    te_layers: int = 36
    te_intermediate: int = 9728
    te_vocab: int = 151936
    # vae dims
    vae_latent_channels: int = 16
    vae_block_channels: tuple[int, ...] = (128, 256, 512, 512)
    vae_scale: int = 8  # 2 ** (len(block_channels) - 1)
    source: str = "configs"  # "configs", "weights", "published" or "catalogue"
    path: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)
    # components stored quantized (SDNQ, GGUF): they keep their size in fp32 compute and take no fp8
    quantized: tuple[str, ...] = ()
    transformer_file_bytes: int = 0  # a GGUF transformer file, read whole into RAM while loading
    # the catalogue variant these sizes are of ("bf16", "sdnq-int8", ...); "" for any other model.
    # Learned peak corrections apply per model (``peak_log.model_key``), so this must be set wherever
    # a profile is known to be a variant's.
    variant: str = ""

    @property
    def total_bytes(self) -> int:
        return self.transformer.bytes + self.text_encoder.bytes + self.vae.bytes

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ---- architecture formulas ------------------------------------------------------------------
def _read_json(path: Traversable) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProfileError(f"{path} is missing.") from None
    except (OSError, ValueError) as exc:
        raise ProfileError(f"{path} is unreadable: {exc}") from None
    if not isinstance(data, dict):
        raise ProfileError(f"{path} is not a JSON object.")
    return data


def _transformer_arch(cfg: dict[str, Any]) -> dict[str, Any]:
    dim = int(cfg.get("dim", 3840))
    n_heads = int(cfg.get("n_heads", 30))
    head_dim = dim // n_heads
    ffn = int(dim / 3 * 8)
    ada = min(dim, 256)
    qk = 2 * head_dim if cfg.get("qk_norm", True) else 0
    linear = 4 * dim * dim + 3 * dim * ffn  # q, k, v, out (diffusers Attention: kv width = dim) + SwiGLU
    plain_block = linear + qk + 4 * dim  # 4 RMSNorms
    mod_block = plain_block + ada * 4 * dim + 4 * dim  # adaLN modulation
    c = int(cfg.get("in_channels", 16))
    other = 2 * dim  # x_pad_token, cap_pad_token
    for p, f in zip(cfg.get("all_patch_size", [2]), cfg.get("all_f_patch_size", [1]), strict=False):
        patch = int(f) * int(p) * int(p) * c
        other += patch * dim + dim  # x_embedder
        other += dim * patch + patch + ada * dim + dim  # final layer (linear + adaLN)
    other += 256 * 1024 + 1024 + 1024 * ada + ada  # t_embedder (freq 256 -> 1024 -> ada)
    cap = int(cfg.get("cap_feat_dim", 2560))
    other += cap + cap * dim + dim  # cap_embedder (RMSNorm + Linear)
    n_layers = int(cfg.get("n_layers", 30))
    n_ref = int(cfg.get("n_refiner_layers", 2))
    params = n_layers * mod_block + n_ref * mod_block + n_ref * plain_block + other
    return {
        "params": params,
        "n_blocks": n_layers + 2 * n_ref,
        "block_params": mod_block,
        "other_params": other,
        "largest_tensor": max(dim * ffn, cap * dim, 256 * 1024),
        "castable": (n_layers + 2 * n_ref) * linear,
        "dims": {
            "dim": dim,
            "n_layers": n_layers,
            "n_refiner_layers": n_ref,
            "n_heads": n_heads,
            "patch_size": int(cfg.get("all_patch_size", [2])[0]),
            "ffn_hidden": ffn,
            "in_channels": c,
        },
    }


def _text_encoder_arch(cfg: dict[str, Any]) -> dict[str, Any]:
    h = int(cfg.get("hidden_size", 2560))
    inter = int(cfg.get("intermediate_size", 9728))
    layers = int(cfg.get("num_hidden_layers", 36))
    heads = int(cfg.get("num_attention_heads", 32))
    kv = int(cfg.get("num_key_value_heads", heads))
    hd = int(cfg.get("head_dim") or h // heads)
    vocab = int(cfg.get("vocab_size", 151936))
    bias = bool(cfg.get("attention_bias", False))
    attn = h * heads * hd + 2 * h * kv * hd + heads * hd * h
    if bias:
        attn += heads * hd + 2 * kv * hd + h
    layer = attn + 2 * hd + 3 * h * inter + 2 * h  # + q/k norms, SwiGLU MLP, two RMSNorms
    other = vocab * h + h  # embeddings + final norm (Qwen3Model has no LM head)
    return {
        "params": layers * layer + other,
        "n_blocks": layers,
        "block_params": layer,
        "other_params": other,
        "largest_tensor": max(vocab * h, h * inter),
        "castable": 0,
        "dims": {"te_hidden": h, "te_layers": layers, "te_intermediate": inter, "te_vocab": vocab},
    }


def _vae_arch(cfg: dict[str, Any]) -> dict[str, Any]:
    def conv(ci: int, co: int, k: int = 3) -> int:
        return ci * co * k * k + co

    def resnet(ci: int, co: int) -> int:
        return 2 * ci + conv(ci, co) + 2 * co + conv(co, co) + (conv(ci, co, 1) if ci != co else 0)

    def attention(c: int) -> int:
        return 2 * c + 4 * (c * c + c)  # group norm + q, k, v, out

    chans = [int(x) for x in cfg.get("block_out_channels", [128, 256, 512, 512])]
    lpb = int(cfg.get("layers_per_block", 2))
    latent = int(cfg.get("latent_channels", 16))
    cin, cout = int(cfg.get("in_channels", 3)), int(cfg.get("out_channels", 3))
    mid_attn = bool(cfg.get("mid_block_add_attention", True))
    top = chans[-1]
    mid = 2 * resnet(top, top) + (attention(top) if mid_attn else 0)
    enc = conv(cin, chans[0])
    prev = chans[0]
    for i, c in enumerate(chans):
        for j in range(lpb):
            enc += resnet(prev if j == 0 else c, c)
        prev = c
        if i < len(chans) - 1:
            enc += conv(c, c)  # downsample
    enc += mid + 2 * top + conv(top, 2 * latent)
    dec = conv(latent, top) + mid
    prev = top
    rev = list(reversed(chans))
    for i, c in enumerate(rev):
        for j in range(lpb + 1):
            dec += resnet(prev if j == 0 else c, c)
        prev = c
        if i < len(rev) - 1:
            dec += conv(c, c)  # upsample
    dec += 2 * chans[0] + conv(chans[0], cout)
    quant = 0
    if cfg.get("use_quant_conv", True):
        quant += conv(2 * latent, 2 * latent, 1)
    if cfg.get("use_post_quant_conv", True):
        quant += conv(latent, latent, 1)
    params = enc + dec + quant
    return {
        "params": params,
        "n_blocks": 0,
        "block_params": 0,
        "other_params": params,
        "largest_tensor": top * top * 9,
        "castable": 0,
        "dims": {
            "vae_latent_channels": latent,
            "vae_block_channels": tuple(chans),
            "vae_scale": 2 ** (len(chans) - 1),
        },
    }


def _size_from_arch(arch: dict[str, Any], nbytes: int = COMPUTE_BYTES) -> ComponentSize:
    return ComponentSize(
        params=arch["params"],
        bytes=arch["params"] * nbytes,
        n_blocks=arch["n_blocks"],
        block_bytes=arch["block_params"] * nbytes,
        other_bytes=arch["other_params"] * nbytes,
        largest_tensor_bytes=arch["largest_tensor"] * nbytes,
        fp8_castable_bytes=arch["castable"] * nbytes,
    )


def _archs(config_dir: Traversable) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    return (
        _transformer_arch(_read_json(config_dir / "transformer" / "config.json")),
        _text_encoder_arch(_read_json(config_dir / "text_encoder" / "config.json")),
        _vae_arch(_read_json(config_dir / "vae" / "config.json")),
    )


def profile_from_configs(config_dir: str | Path | Traversable) -> ModelProfile:
    """Sizes from the component configs alone (parameter counts x bf16)."""
    root = Path(config_dir) if isinstance(config_dir, str) else config_dir
    t, te, v = _archs(root)
    return ModelProfile(
        transformer=_size_from_arch(t),
        text_encoder=_size_from_arch(te),
        vae=_size_from_arch(v),
        **t["dims"],
        **te["dims"],
        **v["dims"],
        source="configs",
        path=str(root),
    )


# ---- safetensors headers ----------------------------------------------------------------------
def read_safetensors_header(path: str | Path) -> dict[str, Any]:
    """The JSON header of a safetensors file (tensor name -> dtype, shape, offsets). Reads no tensor."""
    p = Path(path)
    try:
        with p.open("rb") as fh:
            head = fh.read(8)
            if len(head) != 8:
                raise ProfileError(f"{p} is truncated (no safetensors header).")
            (n,) = struct.unpack("<Q", head)
            if n <= 0 or n > _MAX_HEADER:
                raise ProfileError(f"{p} has an implausible safetensors header length ({n}).")
            raw = fh.read(n)
    except OSError as exc:
        raise ProfileError(f"{p} is unreadable: {exc}") from None
    if len(raw) != n:
        raise ProfileError(f"{p} is truncated (header cut short).")
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ProfileError(f"{p} has a corrupt safetensors header: {exc}") from None
    if not isinstance(header, dict):
        raise ProfileError(f"{p} has a corrupt safetensors header.")
    header.pop("__metadata__", None)
    return header


def _weight_files(folder: Path) -> list[Path]:
    indexes = sorted(folder.glob("*.safetensors.index.json"))
    if indexes:
        index = _read_json(indexes[0])
        shards = sorted(set(index.get("weight_map", {}).values()))
        return [folder / s for s in shards]
    files = sorted(folder.glob("*.safetensors"))
    plain = [f for f in files if f.name in ("model.safetensors", "diffusion_pytorch_model.safetensors")]
    return plain or files[:1]


_BLOCK_RE = re.compile(r"(?:^|\.)((?:layers|noise_refiner|context_refiner)\.\d+)\.")


def _size_from_weights(folder: Path, arch: dict[str, Any], nbytes: int) -> tuple[ComponentSize, bool]:
    """Bytes at compute width from the headers; second value: some tensors were stored wider."""
    files = _weight_files(folder)
    if not files:
        raise ProfileError(f"{folder} has no .safetensors weights.")
    params = total = largest = castable = 0
    blocks: dict[str, int] = {}
    wider = False
    for f in files:
        for name, meta in read_safetensors_header(f).items():
            if not isinstance(meta, dict) or "shape" not in meta:
                continue
            numel = 1
            for s in meta["shape"]:
                numel *= int(s)
            stored = _DTYPE_BYTES.get(str(meta.get("dtype", "BF16")), 2)
            wider = wider or stored > nbytes
            b = numel * min(stored, nbytes)
            params += numel
            total += b
            largest = max(largest, b)
            m = _BLOCK_RE.search(name)
            if m:
                blocks[m.group(1)] = blocks.get(m.group(1), 0) + b
                if (
                    name.endswith(".weight")
                    and meta.get("shape")
                    and len(meta["shape"]) == 2
                    and (".attention." in name or ".feed_forward." in name)
                ):
                    castable += b
    block = max(blocks.values(), default=0)
    size = ComponentSize(
        params=params,
        bytes=total,
        n_blocks=len(blocks) or arch["n_blocks"],
        block_bytes=block,
        other_bytes=total - sum(blocks.values()),
        largest_tensor_bytes=largest,
        fp8_castable_bytes=castable,
    )
    return size, wider


def profile_from_model_dir(path: str | Path, compute_bytes: int = COMPUTE_BYTES) -> ModelProfile:
    """Sizes of a diffusers Z-Image folder from its configs and safetensors headers."""
    root = Path(path)
    t, te, v = _archs(root)
    notes: list[str] = []
    sizes = []
    for comp, arch in (("transformer", t), ("text_encoder", te), ("vae", v)):
        size, wider = _size_from_weights(root / comp, arch, compute_bytes)
        if wider:
            notes.append(
                f"{comp} weights are stored wider than the compute dtype; counted at {compute_bytes} bytes"
            )
        sizes.append(size)
    return ModelProfile(
        transformer=sizes[0],
        text_encoder=sizes[1],
        vae=sizes[2],
        **t["dims"],
        **te["dims"],
        **v["dims"],
        source="weights",
        path=str(root),
        notes=tuple(notes),
    )


PUBLISHED_VARIANT = str(VariantId.BF16)  # the catalogue variant whose files are Z-Image-Turbo's published ones


def packaged_configs() -> Traversable:
    """Z-Image-Turbo's component configs as shipped inside the package (no weights, no tokenizer)."""
    return resources.files("zit_desktop").joinpath("resources", "zimage-turbo-configs")


@lru_cache(maxsize=1)
def published_profile() -> ModelProfile:
    """Z-Image-Turbo's sizes as published: the formulas above applied to the packaged configs. For the
    default model before it is downloaded (and as the engine's last resort when a folder is unreadable).
    They are the sizes of the catalogue's ``bf16`` variant (Z-Image-Turbo's own repository)."""
    return replace(profile_from_configs(packaged_configs()), source="published", variant=PUBLISHED_VARIANT)
