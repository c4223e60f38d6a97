"""The low-VRAM planner: predict peak VRAM per strategy and pick the fastest that fits. Pure, no torch.

Strategy ladder, fastest to leanest (``rungs.LADDER``): ``gpu`` → ``model-offload`` → ``group-offload`` →
``sequential``. A CPU-only machine gets the ``cpu`` plan.

Peak model (bytes; every constant lives in :class:`Calibration`, which a GPU run may overwrite)::

    eb      = 2 (bf16) or 4 (no bf16: compute in fp32)
    S       = ceil32(H/16 * W/16) + text_tokens(512)          # one unified token sequence
    b       = (2 if CFG else 1) * (count if batched else 1)
    act_T   = b * S * (act_dim_mult*dim + act_ffn_mult*ffn_hidden) * eb * fragmentation
    act_TE  = (2 if CFG else 1) * 512 * ((te_layers+1 + act_dim_mult)*te_hidden
              + act_ffn_mult*te_intermediate) * eb * fragmentation   # all hidden states are kept
    act_VAE = vae_decode_bytes_per_pixel * (eb/2) * px * fragmentation,
              px = H*W untiled, min(H*W, vae_tile_px^2) tiled
    gpu            = T + TE + V + max(act_TE, act_T, act_VAE)
    model-offload  = max(TE + act_TE, T + act_T, V + act_VAE)       # one component at a time
    group-offload  = V + max(f*(TE.other + G*TE.block + act_TE), f*(T.other + G*T.block + act_T), act_VAE)
    sequential     = max(f'*(TE.largest + act_TE), f'*(T.largest + act_T), V + act_VAE)
    (f, f' = offload_stream_factor, sequential_stream_factor: what the caching allocator keeps of
    streamed weights on top of the modelled peak, measured on a GPU)
    peak           = cuda_context + workspace + rung term (+ one layer's upcast copy with fp8 / fp32 compute)

``G`` = resident block groups (current + prefetched). Fits when ``peak * (1 + safety_fraction) +
safety_bytes <= free VRAM + VRAM this process already holds``. The planner learns: a
:class:`PeakLog` of measured allocator peaks corrects later predictions per rung and machine by the
median measured/predicted ratio (clamped).
"""

from __future__ import annotations

import json
import logging
import math
import statistics
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from zit_desktop.core.memory.profile import (
    ComponentSize,
    ModelProfile,
    ProfileError,
    profile_from_configs,
    profile_from_model_dir,
    published_profile,
)
from zit_desktop.core.memory.rungs import LADDER, STREAMING, Rung, parse_rung
from zit_desktop.core.memory.vram import GIB, DeviceInfo
from zit_desktop.core.sizes import PRESETS, SizePreset

log = logging.getLogger(__name__)

MIB = 1024**2
TEXT_TOKENS = 512
SEQ_MULTIPLE = 32
Verdict = str  # "fits" | "offload" | "too-big"

__all__ = [
    "Calibration",
    "ComponentSize",
    "ModelProfile",
    "PeakLog",
    "PeakRecord",
    "Plan",
    "PlanOptions",
    "Prediction",
    "PresetFit",
    "ProfileError",
    "image_tokens",
    "options_from_settings",
    "plan",
    "predict_peak",
    "preset_fit",
    "preset_fits",
    "profile_from_configs",
    "profile_from_model_dir",
    "published_profile",
    "recommend_preset",
]  # fmt: skip


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
    ram_headroom_bytes: int = 4 * GIB  # OS and the app itself
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
        from zit_desktop.core.settings import atomic_write_text

        atomic_write_text(Path(path), json.dumps(self.to_dict(), indent=2) + "\n")


def calibration_path(cache_dir: str | Path) -> Path:
    return Path(cache_dir) / "planner_calibration.json"


def peak_log_path(cache_dir: str | Path) -> Path:
    return Path(cache_dir) / "peak_log.json"


# ---- options and results --------------------------------------------------------------------
@dataclass(frozen=True)
class PlanOptions:
    forced_rung: Rung | None = None  # a ladder rung from settings.low_vram, None for auto
    fp8: bool = False
    vae_tiling: str = "auto"  # "auto", "on", "off"
    text_encoder_on_cpu: bool = False
    cfg: bool = False  # guidance > 0: transformer batch doubles, negative prompt encoded too
    embeddings_cached: bool = False  # prompt embeddings in the cache: no text-encoder phase
    batch_images: bool = False  # count images in one pipeline call (the engine runs them one by one)


def options_from_settings(
    settings: Any, *, cfg: bool = False, embeddings_cached: bool = False
) -> PlanOptions:
    """PlanOptions from a ``core.settings.Settings`` (duck-typed, so tests can pass any object)."""
    forced = getattr(settings, "low_vram", "auto")
    return PlanOptions(
        forced_rung=Rung(forced) if forced in LADDER else None,
        fp8=bool(getattr(settings, "fp8", False)),
        vae_tiling=str(getattr(settings, "vae_tiling", "auto")),
        text_encoder_on_cpu=bool(getattr(settings, "text_encoder_on_cpu", False)),
        cfg=cfg,
        embeddings_cached=embeddings_cached,
    )


@dataclass(frozen=True)
class Prediction:
    bytes: int  # predicted peak VRAM as NVML would show it for this process
    breakdown: dict[str, int]
    notes: tuple[str, ...] = ()
    rung: Rung = Rung.GPU
    vae_tiling: bool = False

    @property
    def allocator_bytes(self) -> int:
        """The part torch's caching allocator sees (``max_memory_reserved``): no CUDA context."""
        return self.bytes - self.breakdown.get("cuda_context", 0)


def image_tokens(width: int, height: int, patch: int = 2, vae_scale: int = 8) -> int:
    n = math.ceil(height / (vae_scale * patch)) * math.ceil(width / (vae_scale * patch))
    return math.ceil(n / SEQ_MULTIPLE) * SEQ_MULTIPLE


def _resolve_tiling(rung: Rung, mode: str) -> bool:
    if mode == "on":
        return True
    if mode == "off":
        return False
    return rung in STREAMING


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


def predict_peak(
    profile: ModelProfile,
    rung_name: str,
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
    rung = parse_rung(rung_name)
    opts = options or PlanOptions()
    cal = calibration or Calibration()
    tiled = _resolve_tiling(rung, opts.vae_tiling) if vae_tiling is None else vae_tiling
    bf16 = device.bf16_supported if device is not None and device.is_cuda else True
    eb = 2 if bf16 else 4
    notes: list[str] = []

    k = eb // 2  # the engine loads every component in fp32 on GPUs without bf16
    t, te, v = (_scaled(c, k) for c in (profile.transformer, profile.text_encoder, profile.vae))
    t_w = t.bytes - t.fp8_castable_bytes + t.fp8_castable_bytes // (2 * k) if opts.fp8 else t.bytes
    te_w = te.bytes
    v_w = v.bytes
    # fp8 storage: one layer's upcast copy while it computes
    cast_t = t.largest_tensor_bytes if opts.fp8 else 0
    cast_te = 0
    if not bf16:
        notes.append("no bf16 on this GPU: weights and activations in fp32 (twice the memory)")
    if opts.fp8:
        notes.append(
            "fp8 weight storage for the transformer blocks (precision-sensitive layers stay unquantized)"
        )

    batch = (2 if opts.cfg else 1) * (max(1, count) if opts.batch_images else 1)
    tokens = image_tokens(width, height, profile.patch_size, profile.vae_scale) + TEXT_TOKENS
    frag = cal.fragmentation
    act_t = int(
        batch * tokens * (cal.act_dim_mult * profile.dim + cal.act_ffn_mult * profile.ffn_hidden) * eb * frag
    )
    te_on_gpu = not (opts.text_encoder_on_cpu or opts.embeddings_cached)
    te_batch = 2 if opts.cfg else 1
    act_te = int(
        te_batch
        * TEXT_TOKENS
        * (
            (profile.te_layers + 1 + cal.act_dim_mult) * profile.te_hidden
            + cal.act_ffn_mult * profile.te_intermediate
        )
        * eb
        * frag
    )
    px = width * height
    if tiled:
        px = min(px, cal.vae_tile_px**2)
    act_v = int(cal.vae_decode_bytes_per_pixel * (eb / 2) * px * frag) + width * height * 3 * 4 * 2

    if not te_on_gpu:
        te_w, act_te, cast_te = 0, 0, 0
        notes.append(
            "text encoder on the CPU"
            if opts.text_encoder_on_cpu
            else "prompt embeddings cached: no text encoder"
        )

    phases: dict[str, int]
    if rung == Rung.GPU:
        resident = {"transformer": t_w, "text_encoder": te_w, "vae": v_w}
        phases = {"encode": act_te + cast_te, "denoise": act_t + cast_t, "decode": act_v}
    elif rung == Rung.MODEL_OFFLOAD:
        resident = {}
        phases = {"encode": te_w + act_te + cast_te, "denoise": t_w + act_t + cast_t, "decode": v_w + act_v}
    elif rung == Rung.GROUP_OFFLOAD:
        g = cal.group_resident_groups
        t_res = min(t_w, (t.other_bytes + g * t.block_bytes) * (t_w / max(1, t.bytes)))
        te_res = min(te_w, te.other_bytes + g * te.block_bytes) if te_w else 0
        sf = cal.offload_stream_factor
        resident = {"vae": v_w}
        phases = {
            "encode": int((te_res + act_te + cast_te) * sf),
            "denoise": int((t_res + act_t + cast_t) * sf),
            "decode": act_v,
        }
    else:  # sequential
        sf = cal.sequential_stream_factor
        resident = {}
        phases = {
            "encode": int(((te.largest_tensor_bytes if te_w else 0) + act_te + cast_te) * sf),
            "denoise": int((t.largest_tensor_bytes + act_t + cast_t) * sf),
            "decode": v_w + act_v,  # the VAE (0.17 GB) is small: it stays whole
        }
    peak_phase = max(phases, key=lambda k: phases[k])
    allocator = sum(resident.values()) + phases[peak_phase] + cal.workspace_bytes
    if correction != 1.0:
        notes.append(f"corrected by {correction:.2f}x from measured peaks on this machine")
    allocator = int(allocator * correction)
    breakdown: dict[str, int] = {f"weights_{k}": int(b) for k, b in resident.items()}
    breakdown.update({f"phase_{k}": int(b) for k, b in phases.items()})
    breakdown.update(
        {
            "peak_phase_bytes": int(phases[peak_phase]),
            "workspace": cal.workspace_bytes,
            "activations_transformer": act_t,
            "activations_text_encoder": act_te,
            "activations_vae_decode": act_v,
            "cuda_context": cal.cuda_context_bytes,
            "image_tokens": tokens - TEXT_TOKENS,
        }
    )
    notes.insert(0, f"peak during {peak_phase}")
    return Prediction(
        bytes=allocator + cal.cuda_context_bytes,
        breakdown=breakdown,
        notes=tuple(notes),
        rung=rung,
        vae_tiling=tiled,
    )


# ---- learning -------------------------------------------------------------------------------
def device_key(device: DeviceInfo) -> str:
    return f"{device.name}|{device.total_bytes // MIB}"


@dataclass(frozen=True)
class PeakRecord:
    rung: str
    width: int
    height: int
    measured_bytes: int  # torch.cuda.max_memory_reserved during the job (allocator peak)
    predicted_bytes: int  # Prediction.allocator_bytes *uncorrected*
    device: str  # device_key()
    when: float = 0.0

    @property
    def ratio(self) -> float:
        return self.measured_bytes / self.predicted_bytes if self.predicted_bytes > 0 else 1.0


class PeakLog:
    """Measured peaks of finished jobs, persisted as JSON (``peak_log.json`` in the cache dir)."""

    def __init__(self, path: str | Path | None = None, max_records: int = 500) -> None:
        self.path = Path(path) if path is not None else None
        self.max_records = max_records
        self.records: list[PeakRecord] = []
        if self.path is not None:
            self._load()

    def _load(self) -> None:
        assert self.path is not None
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            names = {f.name for f in fields(PeakRecord)}
            self.records = [PeakRecord(**{k: v for k, v in r.items() if k in names}) for r in data["records"]]
        except FileNotFoundError:
            self.records = []
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("peak log %s unreadable (%s); starting afresh", self.path, exc)
            self.records = []

    def save(self) -> None:
        if self.path is None:
            return
        from zit_desktop.core.settings import atomic_write_text

        data = {"version": 1, "records": [asdict(r) for r in self.records]}
        try:
            atomic_write_text(self.path, json.dumps(data) + "\n")
        except OSError as exc:  # learning is best effort
            log.warning("cannot write peak log %s: %s", self.path, exc)

    def record(
        self,
        rung: str,
        width: int,
        height: int,
        measured_bytes: int,
        predicted_bytes: int,
        device: DeviceInfo,
    ) -> PeakRecord:
        rec = PeakRecord(
            rung, width, height, int(measured_bytes), int(predicted_bytes), device_key(device), time.time()
        )
        self.records.append(rec)
        del self.records[: -self.max_records]
        self.save()
        return rec

    def correction(self, rung: str, device: DeviceInfo, calibration: Calibration | None = None) -> float:
        return _correction(self.records, rung, device, calibration or Calibration())


def _correction(records: Iterable[PeakRecord], rung: str, device: DeviceInfo, cal: Calibration) -> float:
    key = device_key(device)
    ratios = [r.ratio for r in records if r.rung == rung and r.device == key and r.predicted_bytes > 0]
    if not ratios:
        return 1.0
    ratio = statistics.median(ratios[-cal.correction_window :])
    return min(cal.correction_max, max(cal.correction_min, ratio))


History = PeakLog | Sequence[PeakRecord] | None


def _records(history: History) -> Sequence[PeakRecord]:
    if history is None:
        return ()
    if isinstance(history, PeakLog):
        return history.records
    return history


# ---- planning -------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Context:
    profile: ModelProfile
    device: DeviceInfo
    width: int
    height: int
    count: int
    options: PlanOptions
    calibration: Calibration
    records: tuple[PeakRecord, ...]


@dataclass(frozen=True)
class Plan:
    rung: Rung  # a LADDER rung, or Rung.CPU
    predicted_peak_bytes: int
    available_bytes: int  # free VRAM + what this process holds
    fits: bool
    reasons: tuple[str, ...]
    vae_tiling: bool
    fp8: bool
    text_encoder_on_cpu: bool
    compute_dtype: str = "bfloat16"  # "bfloat16" or "float32"
    group_offload_low_cpu_mem: bool = False  # pin on demand instead of keeping pinned copies
    forced: bool = False
    oom_retries: int = 0
    prediction: Prediction | None = None
    _context: _Context | None = field(default=None, compare=False, repr=False)

    @property
    def description(self) -> str:
        return self.rung.description

    def next_rung(self) -> Plan | None:
        """The plan one rung leaner, for retrying after out-of-memory; None after the last rung."""
        if self.rung not in LADDER or self._context is None:
            return None
        i = LADDER.index(self.rung)
        if i + 1 >= len(LADDER):
            return None
        ctx = self._context
        if ctx.device.is_cuda:
            nxt = _plan_for_rung(ctx, LADDER[i + 1], forced=False)
            if nxt.rung == Rung.MODEL_OFFLOAD:
                nxt = _streaming_instead(ctx, nxt) or nxt
        else:
            nxt = _cpu_plan(ctx, LADDER[i + 1])
        why = f"retry after running out of video memory on '{self.rung}'"
        return replace(nxt, oom_retries=self.oom_retries + 1, reasons=(why, *nxt.reasons))

    def to_dict(self) -> dict[str, Any]:
        return {
            "rung": self.rung,
            "predicted_peak_bytes": self.predicted_peak_bytes,
            "available_bytes": self.available_bytes,
            "fits": self.fits,
            "reasons": list(self.reasons),
            "vae_tiling": self.vae_tiling,
            "fp8": self.fp8,
            "text_encoder_on_cpu": self.text_encoder_on_cpu,
            "compute_dtype": self.compute_dtype,
            "group_offload_low_cpu_mem": self.group_offload_low_cpu_mem,
            "forced": self.forced,
            "oom_retries": self.oom_retries,
            "breakdown": dict(self.prediction.breakdown) if self.prediction else {},
        }


def _gb(n: float) -> str:
    return f"{n / 1e9:.1f} GB"


def available_vram(device: DeviceInfo) -> int:
    return max(0, device.free_bytes + device.process_bytes) if device.is_cuda else 0


def _needed(pred: Prediction, cal: Calibration) -> int:
    return int(pred.bytes * (1 + cal.safety_fraction) + cal.safety_bytes)


def _predict(ctx: _Context, rung: Rung, tiled: bool) -> Prediction:
    corr = _correction(ctx.records, rung, ctx.device, ctx.calibration)
    return predict_peak(
        ctx.profile, rung, ctx.width, ctx.height, ctx.count, ctx.device, ctx.options,
        calibration=ctx.calibration, vae_tiling=tiled, correction=corr,
    )  # fmt: skip


def _tiling_choices(rung: Rung, mode: str) -> tuple[bool, ...]:
    if mode == "auto" and rung not in STREAMING:
        return (False, True)  # try untiled first: tiling costs a little decode time
    return (_resolve_tiling(rung, mode),)


def _ram_reasons(ctx: _Context, rung: Rung) -> tuple[list[str], bool]:
    """RAM advice for a rung, and whether group offload should pin on demand."""
    dev, cal, prof, opts = ctx.device, ctx.calibration, ctx.profile, ctx.options
    ram = dev.system_ram_bytes
    if ram <= 0:
        return [], False
    usable = ram - cal.ram_headroom_bytes
    reasons: list[str] = []
    k = 1 if dev.bf16_supported else 2  # fp32 weights without bf16
    offloaded = k * (prof.transformer.bytes + (0 if opts.embeddings_cached else prof.text_encoder.bytes))
    low_mem = False
    if rung == Rung.GROUP_OFFLOAD:
        pinned = int(cal.pinned_ram_factor * offloaded)
        if usable < pinned:
            low_mem = True
            reasons.append(
                f"system RAM ({_gb(ram)}) is short of the {_gb(pinned)} that pinned copies need: "
                "weights are pinned on demand (slower transfers)"
            )
    if rung != Rung.GPU or opts.text_encoder_on_cpu:
        need = offloaded + k * prof.vae.bytes if rung != Rung.GPU else k * prof.text_encoder.bytes
        if usable < need:
            reasons.append(
                f"warning: system RAM ({_gb(ram)}) is smaller than the {_gb(need)} of weights kept in RAM: "
                "expect heavy swapping; close other programs or add RAM (a leaner rung does not use less RAM)"
            )
    return reasons, low_mem


def _plan_for_rung(ctx: _Context, rung: Rung, forced: bool) -> Plan:
    cal, opts = ctx.calibration, ctx.options
    avail = available_vram(ctx.device)
    pred: Prediction | None = None
    for tiled in _tiling_choices(rung, opts.vae_tiling):
        pred = _predict(ctx, rung, tiled)
        if _needed(pred, cal) <= avail:
            break
    assert pred is not None
    fits = _needed(pred, cal) <= avail
    reasons = [
        (
            f"{rung}: predicted peak {_gb(pred.bytes)} (+{cal.safety_fraction:.0%} and "
            f"{cal.safety_bytes // MIB} MB margin) {'fits' if fits else 'does not fit'} in {_gb(avail)} free"
        )
    ]
    if forced:
        reasons.insert(0, f"'{rung}' forced in the settings")
        if not fits:
            reasons.append(
                "warning: the forced strategy is predicted not to fit; out-of-memory recovery may step down"
            )
    ram_reasons, low_mem = _ram_reasons(ctx, rung)
    reasons += ram_reasons
    reasons += [n for n in pred.notes if not n.startswith("peak during")]
    bf16 = ctx.device.bf16_supported
    return Plan(
        rung=rung,
        predicted_peak_bytes=pred.bytes,
        available_bytes=avail,
        fits=fits,
        reasons=tuple(reasons),
        vae_tiling=pred.vae_tiling,
        fp8=opts.fp8,
        text_encoder_on_cpu=opts.text_encoder_on_cpu,
        compute_dtype="bfloat16" if bf16 else "float32",
        group_offload_low_cpu_mem=low_mem,
        forced=forced,
        prediction=pred,
        _context=ctx,
    )


def _cpu_plan(ctx: _Context, forced: Rung | None = None) -> Plan:
    """No GPU: the ``cpu`` plan. A rung forced in the settings keeps its name (and its ladder, so
    out-of-memory recovery still walks it), but every rung runs as plain CPU execution."""
    dev, prof = ctx.device, ctx.profile
    ram_ok = (
        dev.system_ram_bytes <= 0
        or dev.system_ram_bytes >= prof.total_bytes + ctx.calibration.ram_headroom_bytes
    )
    reasons = [dev.reason or "no NVIDIA GPU", "runs on the CPU: minutes per image"]
    if not ram_ok:
        reasons.append(
            f"warning: system RAM ({_gb(dev.system_ram_bytes)}) is smaller than the model ({_gb(prof.total_bytes)})"
        )
    rung = forced or Rung.CPU
    if forced:
        reasons.insert(0, f"'{forced}' forced in the settings; without a GPU it runs as plain CPU execution")
    return Plan(
        rung=rung, predicted_peak_bytes=0, available_bytes=0, fits=ram_ok, reasons=tuple(reasons),
        vae_tiling=False, fp8=False, text_encoder_on_cpu=False, compute_dtype="float32",
        forced=bool(forced), _context=ctx,
    )  # fmt: skip


def plan(
    profile: ModelProfile,
    device: DeviceInfo,
    width: int,
    height: int,
    count: int = 1,
    options: PlanOptions | None = None,
    calibration: Calibration | None = None,
    history_of_measured_peaks: History = None,
) -> Plan:
    """The fastest rung whose predicted peak fits, or the forced rung, or the ``cpu`` plan."""
    ctx = _Context(
        profile, device, width, height, count, options or PlanOptions(), calibration or Calibration(),
        tuple(_records(history_of_measured_peaks)),
    )  # fmt: skip
    forced = None if ctx.options.forced_rung is None else parse_rung(ctx.options.forced_rung)
    if not device.is_cuda:
        return _cpu_plan(ctx, forced)
    if forced is not None:
        return _plan_for_rung(ctx, forced, forced=True)
    opts = ctx.options
    # On the leanest rung the text encoder's 0.8 GB embedding table can be the peak: as a last resort,
    # encode prompts on the CPU (much slower the first time per prompt, then cached). Only there, so
    # it never displaces a GPU-encoded rung and the choice stays monotonic in VRAM and image size.
    cpu_te = None
    if not (opts.text_encoder_on_cpu or opts.embeddings_cached):
        cpu_te = replace(ctx, options=replace(opts, text_encoder_on_cpu=True))
    for rung in LADDER:
        p = _plan_for_rung(ctx, rung, forced=False)
        if p.fits:
            return (_streaming_instead(ctx, p) or p) if rung == Rung.MODEL_OFFLOAD else p
        if cpu_te is not None and rung == LADDER[-1]:
            p = _plan_for_rung(cpu_te, rung, forced=False)
            if p.fits:
                why = "text encoder on the CPU: the prompt is encoded there (slower, then cached)"
                return replace(p, reasons=(p.reasons[0], why, *p.reasons[1:]))
    worst = _plan_for_rung(ctx, LADDER[-1], forced=False)
    return replace(worst, reasons=("no strategy is predicted to fit; trying the leanest", *worst.reasons))


def _streaming_instead(ctx: _Context, model_offload: Plan) -> Plan | None:
    """The group-offload plan where it beats ``model_offload`` (see Calibration), else None."""
    if not ctx.calibration.prefer_group_over_model_offload:
        return None
    g = _plan_for_rung(ctx, Rung.GROUP_OFFLOAD, forced=False)
    if not g.fits or g.group_offload_low_cpu_mem:
        return None  # low RAM: pinning on demand makes streaming slow, model offload wins
    why = (
        "group offload streams pinned weights and is faster than model offload, which moves whole "
        "components for every image"
    )
    return replace(g, reasons=(g.reasons[0], why, *g.reasons[1:]))


# ---- presets --------------------------------------------------------------------------------
@dataclass(frozen=True)
class PresetFit:
    preset: str
    width: int
    height: int
    verdict: Verdict  # "fits" (everything on the GPU), "offload" (fits with offload: slower), "too-big"
    rung: Rung
    predicted_peak_bytes: int
    reason: str


def preset_fit(
    profile: ModelProfile,
    device: DeviceInfo,
    preset: SizePreset,
    options: PlanOptions | None = None,
    calibration: Calibration | None = None,
    history_of_measured_peaks: History = None,
) -> PresetFit:
    opts = replace(options or PlanOptions(), forced_rung=None)  # the question is about auto mode
    p = plan(profile, device, preset.width, preset.height, 1, opts, calibration, history_of_measured_peaks)
    if p.rung == Rung.CPU:
        verdict = "fits" if p.fits else "too-big"
    elif not p.fits:
        verdict = "too-big"
    else:
        verdict = "fits" if p.rung == Rung.GPU else "offload"
    return PresetFit(
        preset.name, preset.width, preset.height, verdict, p.rung, p.predicted_peak_bytes, p.reasons[0]
    )


def preset_fits(
    profile: ModelProfile,
    device: DeviceInfo,
    options: PlanOptions | None = None,
    calibration: Calibration | None = None,
    history_of_measured_peaks: History = None,
) -> list[PresetFit]:
    return [preset_fit(profile, device, p, options, calibration, history_of_measured_peaks) for p in PRESETS]


def recommend_preset(
    profile: ModelProfile,
    device: DeviceInfo,
    options: PlanOptions | None = None,
    calibration: Calibration | None = None,
    history_of_measured_peaks: History = None,
) -> PresetFit:
    """The largest preset (by pixels; ties: PRESETS order) that fits on a rung no slower than
    ``group-offload``. Sequential offload is several times slower again, so it is recommended only
    when nothing else fits; when nothing fits at all, the smallest preset. On the CPU (no NVIDIA GPU),
    where an image takes minutes, the smallest preset too."""
    fits = preset_fits(profile, device, options, calibration, history_of_measured_peaks)
    if not device.is_cuda:  # on the CPU every size "fits" but takes minutes: start small
        return min(fits, key=lambda f: f.width * f.height)
    by_size = sorted(fits, key=lambda f: -(f.width * f.height))  # stable: PRESETS order on ties
    for f in by_size:
        if f.verdict != "too-big" and f.rung != Rung.SEQUENTIAL:
            return f
    for f in by_size:
        if f.verdict != "too-big":
            return f
    return min(fits, key=lambda f: f.width * f.height)
