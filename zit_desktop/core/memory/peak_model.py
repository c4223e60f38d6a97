"""The peak model: how much VRAM one pipeline call takes on each rung. Pure arithmetic, no torch.

Contract: :func:`predict_peak` turns a :class:`~zit_desktop.core.memory.profile.ModelProfile`, a rung,
an image size, the device (bf16 or not) and the :class:`PlanOptions` switches into a
:class:`Prediction` (bytes as NVML would show them for this process, with a breakdown). It never reads
files and never looks at free memory: choosing a rung is ``plan.py``'s job, learning from measured
peaks ``peak_log.py``'s (it hands in ``correction``).

Peak model (bytes; every constant lives in :class:`Calibration`, which a GPU run may overwrite)::

    eb      = 2 (bf16) or 4 (no bf16: compute in fp32)
    S       = ceil32(H/16 * W/16) + text_tokens(512)          # one unified token sequence
    b       = (2 if CFG else 1) * (count if batched else 1)
    act_T   = b * S * (act_dim_mult*dim + act_ffn_mult*ffn_hidden) * eb * fragmentation
    act_TE  = (2 if CFG else 1) * 512 * ((te_layers+1 + act_dim_mult)*te_hidden
              + act_ffn_mult*te_intermediate) * eb * fragmentation   # all hidden states are kept
    act_VAE = vae_decode_bytes_per_pixel * (eb/2) * px * fragmentation,
              px = H*W untiled, min(H*W, vae_tile_px^2) tiled
    act_ENC = vae_encode_bytes_per_pixel * (eb/2) * px * fragmentation + the input image (fp32)
              (image-to-image only: a refine encodes its upscaled source at the target size first)
    gpu            = T + TE + V + max(act_TE, act_T, act_VAE)
    model-offload  = max(TE + act_TE, T + act_T, V + act_VAE)       # one component at a time
    group-offload  = V + max(f*(TE.other + G*TE.block + act_TE), f*(T.other + G*T.block + act_T), act_VAE)
    sequential     = max(f'*(TE.largest + act_TE), f'*(T.largest + act_T), V + act_VAE)
    image-to-image adds an ``encode_image`` phase (V + act_ENC, or act_ENC where V is resident); under
    model offload the VAE stays on the GPU from that encode through the denoise (its hook is only
    offloaded by the next component in the text_encoder->transformer->vae chain), so denoise adds V.
    (f, f' = offload_stream_factor, sequential_stream_factor: what the caching allocator keeps of
    streamed weights on top of the modelled peak, measured on a GPU)
    peak           = cuda_context + workspace + rung term (+ one layer's upcast copy with fp8 / fp32 compute)

``G`` = resident block groups (current + prefetched). The planner (``plan.py``) calls a rung fitting
when ``peak * (1 + safety_fraction) + safety_bytes <= free VRAM + VRAM this process already holds``;
measured peaks (``peak_log.py``) correct later predictions per rung and machine by the median
measured/predicted ratio (clamped).
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from zit_desktop.core.memory.profile import ComponentSize, ModelProfile
from zit_desktop.core.memory.rungs import STREAMING, Rung, parse_rung
from zit_desktop.core.memory.vram import GIB, DeviceInfo
from zit_desktop.core.settings import atomic_write_text

log = logging.getLogger(__name__)

MIB = 1024**2
TEXT_TOKENS = 512
COMPONENT_NAMES = ("transformer", "text_encoder", "vae")
SEQ_MULTIPLE = 32


# ---- calibration ----------------------------------------------------------------------------
@dataclass
class Calibration:
    """Every constant of the peak model. Defaults are research numbers (DESIGN.md); a GPU run may
    write ``planner_calibration.json`` in the cache dir to replace any of them."""

    cuda_context_bytes: int = 450 * MIB  # CUDA context + kernels; NVML counts it, torch's allocator does not
    workspace_bytes: int = 256 * MIB  # cuBLAS workspace, latents, RoPE tables, scheduler state
    act_dim_mult: float = 6.0  # live tensors of width `dim` per token at a block's peak
    act_ffn_mult: float = 3.0  # live tensors of the FFN width per token (w1 x, w3 x, silu(w1 x)*w3 x)
    fragmentation: float = 1.10  # allocator rounding / fragmentation on activations
    vae_decode_bytes_per_pixel: float = 1900.0  # bf16, untiled: about 2 GB at 1024x1024
    vae_tile_px: int = 512  # tile side in pixels when tiled (latent tile 64)
    # VAE encode (image-to-image): an estimate until a GPU run measures it. The Flux encoder has the
    # decoder's channel widths but 2 resnets per level instead of 3 and no upsampling, so its largest
    # full-resolution activations are about two thirds of the decoder's.
    vae_encode_bytes_per_pixel: float = 1300.0
    group_resident_groups: int = 2  # block groups on the GPU in group offload (current + prefetch)
    # Streamed weights pass through the caching allocator in blocks of many sizes, and it keeps the
    # freed ones: measured on an H100 (torch 2.11, diffusers 0.42.1, 2026-11-26), group offload reserved
    # 2.36 GB at 768² and 1024² where weights in flight + activations came to 1.34 GB (+ VAE, workspace).
    offload_stream_factor: float = 1.44
    # The same for leaf-level (sequential) offload: measured there 2.03 GB reserved at 1024² where the
    # largest tensor in flight + activations came to 0.94 GB.
    sequential_stream_factor: float = 1.88
    # Model offload moves whole components (12 GB transformer, 8 GB text encoder) in and out of the GPU
    # from pageable memory for every image; group offload streams blocks from pinned memory on a side
    # stream. Measured on an H100 at 1024²: model offload 16.8 s, group offload 3.0 s, leaf-level 3.6 s
    # per image. So where both fit and RAM holds the pinned copies, group offload is preferred.
    prefer_group_over_model_offload: bool = True
    safety_fraction: float = 0.10
    safety_bytes: int = 300 * MIB
    pinned_ram_factor: float = 2.0  # group offload with CUDA streams keeps pinned copies: RAM = 2x
    ram_headroom_bytes: int = 4 * GIB  # OS and the app itself (the plan's "weights kept in RAM" warning)
    # ---- system RAM (core/memory/ram.py) ----
    # The process before any weight is loaded: Python, a CUDA build of torch with its CUDA runtime,
    # cuBLAS/cuDNN host code and the CUDA context's host side (about 1.0-1.3 GB RSS as commonly
    # reported for `import torch` + first CUDA call), diffusers + transformers imports and the Qt
    # window (about 0.4-0.5 GB). An estimate until the CPU benchmark's measurement replaces it; the
    # peak log corrects it per machine anyway.
    ram_baseline_bytes: int = int(1.75 * GIB)
    # On a CPU-only torch the same process measured 0.33-0.35 GB (benchmarks/variant_ram.py, fresh
    # process after torch, diffusers, transformers and sdnq are imported, 2026-12).
    ram_baseline_cpu_bytes: int = int(0.35 * GIB)
    # SDNQ-quantized components hold more than their weight files once every page is touched: the
    # full-size sdnq-uint4 pipeline grew 7.94 GB for 6.48 GB of weights (file-backed 7.18 GB + 0.75 GB
    # anonymous; benchmarks/variant_ram.py on the CPU). Applied to SDNQ components, not to GGUF files.
    sdnq_resident_factor: float = 1.22
    # diffusers' load_gguf_checkpoint copies every tensor out of a numpy memmap of the file: while it
    # runs, the file's pages (counted in RSS) and the copies coexist, so loading needs the file once
    # more on top of the weights. Estimate (1.0 = one extra copy), to be checked by measured RSS.
    gguf_read_copy_fraction: float = 1.0
    # The app may use this share of total RAM, less what the OS and desktop hold idle: past ~85% the
    # OS compresses and pages memory and drops the file cache; Windows 11 idles at about 2.5-3.5 GB,
    # a Linux desktop at 1.5-2 GB. What other programs use is the user's to free.
    ram_fit_fraction: float = 0.85
    ram_os_bytes: int = int(2.5 * GIB)
    host_image_copies: int = 3  # decoded image on the CPU: float32 tensor, uint8 array, PIL image
    correction_min: float = 0.67
    correction_max: float = 1.6
    correction_window: int = 9  # recent measurements per rung used for the median

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibration:
        base = cls()
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name in data:
                default = getattr(base, f.name)
                try:
                    values[f.name] = type(default)(data[f.name])
                except (TypeError, ValueError):
                    log.warning("calibration: ignoring bad value for %s: %r", f.name, data[f.name])
        return replace(base, **values)

    @classmethod
    def load(cls, path: str | Path | None) -> Calibration:
        """The calibration in ``path`` if present and readable, else the defaults. Never raises."""
        if path is None:
            return cls()
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            if isinstance(data, dict):
                return cls.from_dict(data)
        except FileNotFoundError:
            pass
        except (OSError, ValueError) as exc:
            log.warning("calibration %s unreadable (%s); using defaults", path, exc)
        return cls()

    def save(self, path: str | Path) -> None:
        atomic_write_text(Path(path), json.dumps(self.to_dict(), indent=2) + "\n")


def calibration_path(cache_dir: str | Path) -> Path:
    return Path(cache_dir) / "planner_calibration.json"


# ---- inputs and result ----------------------------------------------------------------------
@dataclass(frozen=True)
class PlanOptions:
    """The switches that change a prediction (and, with ``forced_rung``, the plan)."""

    forced_rung: Rung | None = None  # a ladder rung from settings.low_vram, None for auto
    fp8: bool = False
    vae_tiling: str = "auto"  # "auto", "on", "off"
    text_encoder_on_cpu: bool = False
    cfg: bool = False  # guidance > 0: transformer batch doubles, negative prompt encoded too
    embeddings_cached: bool = False  # prompt embeddings in the cache: no text-encoder phase
    batch_images: bool = False  # count images in one pipeline call (the engine runs them one by one)
    image_to_image: bool = False  # a refine: the VAE encodes the source before the denoise


@dataclass(frozen=True)
class Prediction:
    bytes: int  # predicted peak VRAM as NVML would show it for this process
    breakdown: dict[str, int]
    notes: tuple[str, ...] = ()
    rung: Rung = Rung.GPU
    vae_tiling: bool = False
    correction: float = 1.0  # the measured/predicted factor already applied (peak_log.correction)

    @property
    def allocator_bytes(self) -> int:
        """The part torch's caching allocator sees (``max_memory_reserved``): no CUDA context."""
        return self.bytes - self.breakdown.get("cuda_context", 0)

    @property
    def raw_allocator_bytes(self) -> int:
        """:attr:`allocator_bytes` before the learned correction: what the peak log compares against."""
        return int(self.allocator_bytes / self.correction) if self.correction else self.allocator_bytes


def image_tokens(width: int, height: int, patch: int = 2, vae_scale: int = 8) -> int:
    n = math.ceil(height / (vae_scale * patch)) * math.ceil(width / (vae_scale * patch))
    return math.ceil(n / SEQ_MULTIPLE) * SEQ_MULTIPLE


def default_vae_tiling(rung: Rung, mode: str) -> bool:
    """Whether decoding is tiled on ``rung`` for the ``vae_tiling`` setting ``mode``."""
    if mode == "on":
        return True
    if mode == "off":
        return False
    return rung in STREAMING


# ---- the model, step by step ----------------------------------------------------------------
def _scaled(c: ComponentSize, k: int) -> ComponentSize:
    if k == 1:
        return c
    return replace(
        c,
        bytes=c.bytes * k,
        block_bytes=c.block_bytes * k,
        other_bytes=c.other_bytes * k,
        largest_tensor_bytes=c.largest_tensor_bytes * k,
        fp8_castable_bytes=c.fp8_castable_bytes * k,
    )


@dataclass(frozen=True)
class _Weights:
    """Weight bytes on the GPU at the compute width, per component, and fp8's upcast copies."""

    t: ComponentSize  # transformer sizes at the compute width
    te: ComponentSize
    t_w: int  # transformer weights as stored (fp8 halves the castable block linears)
    te_w: int  # 0 when the text encoder does not run on the GPU
    v_w: int
    cast_t: int  # fp8 storage: one layer's upcast copy while it computes
    cast_te: int


@dataclass(frozen=True)
class _Activations:
    t: int  # transformer, one denoise step
    te: int  # text encoder, all hidden states kept (0 when it does not run on the GPU)
    vae: int  # VAE decode, plus the decoded image in fp32 twice
    image_tokens: int
    vae_encode: int = 0  # VAE encode of the source (image-to-image only), plus the input in fp32


def _weights(profile: ModelProfile, opts: PlanOptions, k: int, te_on_gpu: bool) -> _Weights:
    # fp32 compute widens plain weights; quantized ones keep their stored size (and take no fp8)
    t, te, v = (
        _scaled(c, 1 if name in profile.quantized else k)
        for name, c in zip(COMPONENT_NAMES, (profile.transformer, profile.text_encoder, profile.vae), strict=True)
    )
    kt = 1 if "transformer" in profile.quantized else k
    fp8 = opts.fp8 and t.fp8_castable_bytes > 0
    t_w = t.bytes - t.fp8_castable_bytes + t.fp8_castable_bytes // (2 * kt) if fp8 else t.bytes
    cast_t = t.largest_tensor_bytes if fp8 else 0
    return _Weights(t, te, t_w, te.bytes if te_on_gpu else 0, v.bytes, cast_t, 0)


def _activations(
    profile: ModelProfile,
    cal: Calibration,
    opts: PlanOptions,
    size: tuple[int, int, int],
    eb: int,
    tiled: bool,
    te_on_gpu: bool,
) -> _Activations:
    width, height, count = size
    frag = cal.fragmentation
    batch = (2 if opts.cfg else 1) * (max(1, count) if opts.batch_images else 1)
    img = image_tokens(width, height, profile.patch_size, profile.vae_scale)
    tokens = img + TEXT_TOKENS
    per_token = cal.act_dim_mult * profile.dim + cal.act_ffn_mult * profile.ffn_hidden
    act_t = int(batch * tokens * per_token * eb * frag)
    te_per_token = (
        profile.te_layers + 1 + cal.act_dim_mult
    ) * profile.te_hidden + cal.act_ffn_mult * profile.te_intermediate
    act_te = int((2 if opts.cfg else 1) * TEXT_TOKENS * te_per_token * eb * frag) if te_on_gpu else 0
    px = min(width * height, cal.vae_tile_px**2) if tiled else width * height
    act_v = int(cal.vae_decode_bytes_per_pixel * (eb / 2) * px * frag) + width * height * 3 * 4 * 2
    act_enc = 0
    if opts.image_to_image:
        act_enc = int(cal.vae_encode_bytes_per_pixel * (eb / 2) * px * frag) + width * height * 3 * 4
    return _Activations(act_t, act_te, act_v, img, act_enc)


def _with_image_encode(
    rung: Rung, w: _Weights, a: _Activations, terms: tuple[dict[str, int], dict[str, int]]
) -> tuple[dict[str, int], dict[str, int]]:
    """Image-to-image: the ``encode_image`` phase, and model offload's VAE left on the GPU."""
    resident, phases = terms
    if not a.vae_encode:
        return terms
    vae_resident = "vae" in resident
    phases = dict(phases)
    phases["encode_image"] = a.vae_encode + (0 if vae_resident else w.v_w)
    if rung == Rung.MODEL_OFFLOAD:
        phases["denoise"] += w.v_w
    return resident, phases


def _rung_terms(
    rung: Rung, w: _Weights, a: _Activations, cal: Calibration
) -> tuple[dict[str, int], dict[str, int]]:
    """(weights resident for the whole call, peak of each phase on top of them) on ``rung``."""
    if rung == Rung.GPU:
        resident = {"transformer": w.t_w, "text_encoder": w.te_w, "vae": w.v_w}
        return resident, {"encode": a.te + w.cast_te, "denoise": a.t + w.cast_t, "decode": a.vae}
    if rung == Rung.MODEL_OFFLOAD:
        phases = {"encode": w.te_w + a.te + w.cast_te, "denoise": w.t_w + a.t + w.cast_t, "decode": w.v_w + a.vae}
        return {}, phases
    if rung == Rung.GROUP_OFFLOAD:
        g = cal.group_resident_groups
        t_res = min(w.t_w, (w.t.other_bytes + g * w.t.block_bytes) * (w.t_w / max(1, w.t.bytes)))
        te_res = min(w.te_w, w.te.other_bytes + g * w.te.block_bytes) if w.te_w else 0
        sf = cal.offload_stream_factor
        return {"vae": w.v_w}, {
            "encode": int((te_res + a.te + w.cast_te) * sf),
            "denoise": int((t_res + a.t + w.cast_t) * sf),
            "decode": a.vae,
        }
    sf = cal.sequential_stream_factor  # sequential
    return {}, {
        "encode": int(((w.te.largest_tensor_bytes if w.te_w else 0) + a.te + w.cast_te) * sf),
        "denoise": int((w.t.largest_tensor_bytes + a.t + w.cast_t) * sf),
        "decode": w.v_w + a.vae,  # the VAE (0.17 GB) is small: it stays whole
    }


def _notes(bf16: bool, opts: PlanOptions, te_on_gpu: bool, correction: float) -> list[str]:
    notes: list[str] = []
    if not bf16:
        notes.append("no bf16 on this GPU: weights and activations in fp32 (twice the memory)")
    if opts.fp8:
        notes.append(
            "fp8 weight storage for the transformer blocks (precision-sensitive layers stay unquantized)"
        )
    if not te_on_gpu:
        notes.append(
            "text encoder on the CPU" if opts.text_encoder_on_cpu else "prompt embeddings cached: no text encoder"
        )
    if correction != 1.0:
        notes.append(f"corrected by {correction:.2f}x from measured peaks on this machine")
    return notes


def predict_peak(
    profile: ModelProfile,
    rung: str,
    width: int,
    height: int,
    count: int = 1,
    device: DeviceInfo | None = None,
    options: PlanOptions | None = None,
    *,
    calibration: Calibration | None = None,
    vae_tiling: bool | None = None,
    correction: float = 1.0,
) -> Prediction:
    """Predicted peak VRAM of one pipeline call on ``rung`` (see the module docstring)."""
    step = parse_rung(rung)
    opts = options or PlanOptions()
    cal = calibration or Calibration()
    tiled = default_vae_tiling(step, opts.vae_tiling) if vae_tiling is None else vae_tiling
    bf16 = device.bf16_supported if device is not None and device.is_cuda else True
    eb = 2 if bf16 else 4
    k = eb // 2  # the engine loads every component in fp32 on GPUs without bf16
    te_on_gpu = not (opts.text_encoder_on_cpu or opts.embeddings_cached)
    w = _weights(profile, opts, k, te_on_gpu)
    a = _activations(profile, cal, opts, (width, height, count), eb, tiled, te_on_gpu)
    resident, phases = _with_image_encode(step, w, a, _rung_terms(step, w, a, cal))
    peak_phase = max(phases, key=lambda name: phases[name])
    allocator = sum(resident.values()) + phases[peak_phase] + cal.workspace_bytes
    allocator = int(allocator * correction)
    breakdown: dict[str, int] = {f"weights_{name}": int(b) for name, b in resident.items()}
    breakdown.update({f"phase_{name}": int(b) for name, b in phases.items()})
    breakdown.update(
        {
            "peak_phase_bytes": int(phases[peak_phase]),
            "workspace": cal.workspace_bytes,
            "activations_transformer": a.t,
            "activations_text_encoder": a.te,
            "activations_vae_decode": a.vae,
            "activations_vae_encode": a.vae_encode,
            "cuda_context": cal.cuda_context_bytes,
            "image_tokens": a.image_tokens,
        }
    )
    notes = [f"peak during {peak_phase}", *_notes(bf16, opts, te_on_gpu, correction)]
    return Prediction(
        bytes=allocator + cal.cuda_context_bytes,
        breakdown=breakdown,
        notes=tuple(notes),
        rung=step,
        vae_tiling=tiled,
        correction=correction,
    )
