"""The planner: the fastest rung whose predicted peak fits this device now. Pure, no torch.

Contract: :func:`plan` takes a model profile, a :class:`~zit_desktop.core.memory.vram.DeviceInfo`
(free VRAM, RAM, bf16), an image size and :class:`~zit_desktop.core.memory.peak_model.PlanOptions`,
and returns a :class:`Plan`: the rung (a :data:`~zit_desktop.core.memory.rungs.LADDER` member, or
``Rung.CPU`` without a GPU), whether it is predicted to fit, the switches the engine applies (VAE
tiling, fp8, text encoder on the CPU, fp32 compute, pinning on demand) and the reasons in words.

* Walk :data:`LADDER` fastest first; a rung fits when ``peak * (1 + safety_fraction) + safety_bytes
  <= free VRAM + VRAM this process already holds``. Where model offload and group offload both fit
  and RAM holds the pinned copies, group offload wins (measured ~5x faster; ``Calibration``).
* A rung forced in the settings is planned as asked (with a warning when it will not fit).
* As a last resort on the leanest rung the prompt is encoded on the CPU; when nothing fits, the
  leanest rung is tried anyway.
* :meth:`Plan.next_rung` is the out-of-memory ladder: the same job one rung leaner.
* Measured peaks (``history_of_measured_peaks``: a ``PeakLog`` or its records) correct each rung's
  prediction on this device, each model by its own records (``peak_log.correction``, ``model_key``).

The choice is monotonic: more VRAM never gives a leaner rung, a larger image never a faster one.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from zit_desktop.core.memory.peak_log import RAM, History, PeakRecord, correction, model_key, records_of
from zit_desktop.core.memory.peak_model import (
    MIB,
    Calibration,
    PlanOptions,
    Prediction,
    default_vae_tiling,
    predict_peak,
)
from zit_desktop.core.memory.profile import ModelProfile
from zit_desktop.core.memory.ram import RamPrediction, predict_ram, ram_fits
from zit_desktop.core.memory.rungs import AUTO, LADDER, STREAMING, Rung, parse_rung
from zit_desktop.core.memory.vram import DeviceInfo, gb_text


def options_from_settings(
    settings: Any, *, cfg: bool = False, embeddings_cached: bool = False, image_to_image: bool = False
) -> PlanOptions:
    """PlanOptions from a ``core.settings.Settings`` (duck-typed, so tests can pass any object)."""
    forced = getattr(settings, "low_vram", AUTO)
    return PlanOptions(
        forced_rung=Rung(forced) if forced in LADDER else None,
        fp8=bool(getattr(settings, "fp8", False)),
        vae_tiling=str(getattr(settings, "vae_tiling", "auto")),
        text_encoder_on_cpu=bool(getattr(settings, "text_encoder_on_cpu", False)),
        cfg=cfg,
        embeddings_cached=embeddings_cached,
        image_to_image=image_to_image,
    )


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
    ram: RamPrediction | None = None  # predicted peak system RAM (core/memory/ram.py)
    ram_fits: bool = True  # ram within the machine's RAM budget (True when the RAM is unknown)
    _context: _Context | None = field(default=None, compare=False, repr=False)

    @property
    def description(self) -> str:
        return self.rung.description

    @property
    def size(self) -> tuple[int, int] | None:
        """The image size this plan was made for (a refine tile's, in a tiled refine)."""
        return None if self._context is None else (self._context.width, self._context.height)

    @property
    def model(self) -> str:
        """The model this plan was made for (``peak_log.model_key``): what a measured peak is recorded
        against; "" for a plan made without a context."""
        return "" if self._context is None else model_key(self._context.profile)

    @property
    def predicted_ram_bytes(self) -> int:
        return self.ram.bytes if self.ram is not None else 0

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
                nxt = _streaming_instead(ctx) or nxt
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
            "predicted_ram_bytes": self.predicted_ram_bytes,
            "ram_fits": self.ram_fits,
            "ram_breakdown": dict(self.ram.breakdown) if self.ram else {},
            "breakdown": dict(self.prediction.breakdown) if self.prediction else {},
        }


def available_vram(device: DeviceInfo) -> int:
    return max(0, device.free_bytes + device.process_bytes) if device.is_cuda else 0


def _needed(pred: Prediction, cal: Calibration) -> int:
    return int(pred.bytes * (1 + cal.safety_fraction) + cal.safety_bytes)


def _predict(ctx: _Context, rung: Rung, tiled: bool) -> Prediction:
    corr = correction(ctx.records, rung, ctx.device, ctx.calibration, model=model_key(ctx.profile))
    return predict_peak(
        ctx.profile, rung, ctx.width, ctx.height, ctx.count, ctx.device, ctx.options,
        calibration=ctx.calibration, vae_tiling=tiled, correction=corr,
    )  # fmt: skip


def _tiling_choices(rung: Rung, mode: str) -> tuple[bool, ...]:
    if mode == "auto" and rung not in STREAMING:
        return (False, True)  # try untiled first: tiling costs a little decode time
    return (default_vae_tiling(rung, mode),)


def _predict_ram(ctx: _Context, rung: Rung, *, pinned: bool = True) -> RamPrediction:
    corr = correction(ctx.records, rung, ctx.device, ctx.calibration, RAM, model=model_key(ctx.profile))
    return predict_ram(
        ctx.profile, rung, ctx.width, ctx.height, ctx.device, ctx.options,
        calibration=ctx.calibration, pinned=pinned, correction=corr,
    )  # fmt: skip


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
        if not ram_fits(_predict_ram(ctx, rung, pinned=True), dev, cal):
            low_mem = True
            reasons.append(
                f"system RAM ({gb_text(ram)}) is short of the {gb_text(pinned)} that pinned copies need: "
                "weights are pinned on demand (slower transfers)"
            )
    if rung != Rung.GPU or opts.text_encoder_on_cpu:
        need = offloaded + k * prof.vae.bytes if rung != Rung.GPU else k * prof.text_encoder.bytes
        if usable < need:
            reasons.append(
                f"warning: system RAM ({gb_text(ram)}) is smaller than the {gb_text(need)} of weights kept in RAM: "
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
            f"{rung}: predicted peak {gb_text(pred.bytes)} (+{cal.safety_fraction:.0%} and "
            f"{cal.safety_bytes // MIB} MiB margin) {'fits' if fits else 'does not fit'} in {gb_text(avail)} free"
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
    ram = _predict_ram(ctx, rung, pinned=not low_mem)
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
        ram=ram,
        ram_fits=ram_fits(ram, ctx.device, cal),
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
            f"warning: system RAM ({gb_text(dev.system_ram_bytes)}) is smaller than the model ({gb_text(prof.total_bytes)})"
        )
    rung = forced or Rung.CPU
    ram = _predict_ram(ctx, Rung.CPU)
    if forced:
        reasons.insert(0, f"'{forced}' forced in the settings; without a GPU it runs as plain CPU execution")
    return Plan(
        rung=rung, predicted_peak_bytes=0, available_bytes=0, fits=ram_ok, reasons=tuple(reasons),
        vae_tiling=False, fp8=False, text_encoder_on_cpu=False, compute_dtype="float32",
        forced=bool(forced), ram=ram, ram_fits=ram_fits(ram, dev, ctx.calibration), _context=ctx,
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
        tuple(records_of(history_of_measured_peaks)),
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
            return (_streaming_instead(ctx) or p) if rung == Rung.MODEL_OFFLOAD else p
        if cpu_te is not None and rung == LADDER[-1]:
            p = _plan_for_rung(cpu_te, rung, forced=False)
            if p.fits:
                why = "text encoder on the CPU: the prompt is encoded there (slower, then cached)"
                return replace(p, reasons=(p.reasons[0], why, *p.reasons[1:]))
    worst = _plan_for_rung(ctx, LADDER[-1], forced=False)
    return replace(worst, reasons=("no strategy is predicted to fit; trying the leanest", *worst.reasons))


def _streaming_instead(ctx: _Context) -> Plan | None:
    """The group-offload plan where it beats model offload (see Calibration), else None."""
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
