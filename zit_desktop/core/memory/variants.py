"""A plan is a model variant and a rung: which catalogue variant fits this machine's RAM, VRAM and
disk, on which rung, at which peak. Pure and torch-free; the advisor hands in profiles and peaks.

Contract:

* :func:`variant_profile` sizes a catalogue :class:`~zit_desktop.core.models.catalogue.Variant` from
  its numbers (Z-Image-Turbo's architecture, each component scaled to the variant's weights);
  :func:`with_variant_facts` marks a profile read from an installed variant's files with what the
  files do not say (quantized parts, a GGUF transformer read whole).
* :func:`variant_fit` plans one variant in auto mode at the asked size and at every size preset and
  sorts it into a :class:`VariantVerdict`, checked in this order: RAM (the predicted peak RSS against
  :func:`~zit_desktop.core.memory.ram.ram_budget`), VRAM (some rung fits), disk (a variant that is
  not installed must fit in the free space of the Hugging Face cache drive; unknown space: unchecked).
* :func:`recommend_variant` takes the first variant in catalogue order (best quality first) that
  fits, and its rung: the fastest that fits VRAM. When none fits, the fitting-nothing answer names the
  variant with the smallest RAM peak among those the disk can hold, with ``fits=False``.

More RAM never recommends a lower-quality variant (a variant's RAM fit only grows with the budget);
more VRAM never a slower rung for the same variant (the planner's monotonicity).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from zit_desktop.core.memory.peak_log import PeakRecord
from zit_desktop.core.memory.peak_model import Calibration, PlanOptions
from zit_desktop.core.memory.plan import Plan, plan
from zit_desktop.core.memory.profile import ComponentSize, ModelProfile, published_profile
from zit_desktop.core.memory.ram import budget_words, ram_budget
from zit_desktop.core.memory.rungs import Rung
from zit_desktop.core.memory.vram import DeviceInfo, gb_text
from zit_desktop.core.models.catalogue import Variant, VariantKind
from zit_desktop.core.sizes import PRESETS

log = logging.getLogger(__name__)


class VariantVerdict(StrEnum):
    FITS = "fits"
    NEEDS_RAM = "needs-more-ram"
    NEEDS_VRAM = "needs-more-vram"
    NEEDS_DISK = "needs-more-disk"


# ---- profiles ----------------------------------------------------------------------------------
def _scaled_to(c: ComponentSize, nbytes: int, quantized: bool) -> ComponentSize:
    r = nbytes / c.bytes if c.bytes else 1.0
    return replace(
        c,
        bytes=nbytes,
        block_bytes=int(c.block_bytes * r),
        other_bytes=int(c.other_bytes * r),
        largest_tensor_bytes=int(c.largest_tensor_bytes * r),
        fp8_castable_bytes=0 if quantized else int(c.fp8_castable_bytes * r),
    )


def with_variant_facts(profile: ModelProfile, v: Variant) -> ModelProfile:
    """``profile`` with the variant's quantized parts, for a GGUF variant its transformer file, and the
    variant's id (the learned peak corrections of that variant apply to it)."""
    gguf = v.weights["transformer"] if v.kind == VariantKind.GGUF else 0
    return replace(profile, quantized=tuple(v.quantized), transformer_file_bytes=gguf, variant=str(v.id))


def variant_profile(v: Variant, base: ModelProfile | None = None) -> ModelProfile:
    """The sizes of ``v`` from the catalogue: the architecture of ``base`` (Z-Image-Turbo's published
    profile by default), each component scaled to the bytes the variant keeps once loaded."""
    b = base or published_profile()
    def scaled(name: str) -> ComponentSize:
        return _scaled_to(getattr(b, name), v.weights[name], name in v.quantized)

    prof = replace(
        b, transformer=scaled("transformer"), text_encoder=scaled("text_encoder"), vae=scaled("vae"),
        source="catalogue", path="", notes=(f"sizes of {v.id} from the catalogue",),
    )  # fmt: skip
    return with_variant_facts(prof, v)


# ---- answers -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class PresetMemory:
    """One size preset of one variant: the rung auto mode picks and its peaks."""

    preset: str
    width: int
    height: int
    rung: Rung
    vram_bytes: int  # 0 on the CPU
    ram_bytes: int
    vram_fits: bool
    ram_fits: bool


@dataclass(frozen=True)
class VariantFit:
    """One row of the variant table."""

    variant: str  # a VariantId
    label: str
    installed: bool
    download_bytes: int  # 0 when installed (nothing to fetch)
    download_estimate: bool
    sizes_from: str  # "files" (an installed variant's own files) or "catalogue"
    width: int
    height: int
    rung: Rung  # what auto mode picks at width x height
    ram_bytes: int  # predicted peak RSS at width x height on that rung
    vram_bytes: int  # predicted peak VRAM there (0 on the CPU)
    verdict: VariantVerdict
    reasons: tuple[str, ...]
    presets: tuple[PresetMemory, ...]
    plan: Plan | None = None  # the plan at width x height (not serialised)

    @property
    def fits(self) -> bool:
        return self.verdict == VariantVerdict.FITS

    def to_dict(self) -> dict[str, Any]:
        return {
            "variant": self.variant, "label": self.label, "installed": self.installed,
            "download_bytes": self.download_bytes, "download_estimate": self.download_estimate,
            "sizes_from": self.sizes_from, "width": self.width, "height": self.height, "rung": str(self.rung),
            "predicted_ram_bytes": self.ram_bytes, "predicted_vram_bytes": self.vram_bytes,
            "verdict": str(self.verdict), "reasons": list(self.reasons),
            "presets": [
                {"preset": p.preset, "width": p.width, "height": p.height, "rung": str(p.rung),
                 "predicted_vram_bytes": p.vram_bytes, "predicted_ram_bytes": p.ram_bytes,
                 "vram_fits": p.vram_fits, "ram_fits": p.ram_fits}
                for p in self.presets
            ],
        }  # fmt: skip


@dataclass(frozen=True)
class VariantRecommendation:
    """The variant to use on this machine, its rung, why, and the whole table."""

    variant: str | None  # None only with an empty table
    rung: Rung | None
    fits: bool  # False: nothing fits; ``variant`` is the least bad choice
    reasons: tuple[str, ...]
    table: tuple[VariantFit, ...]
    ram_budget_bytes: int  # 0: the machine's RAM is unknown
    free_disk_bytes: int | None  # None: not checked

    def row(self, variant_id: str) -> VariantFit | None:
        return next((r for r in self.table if r.variant == variant_id), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "variant": self.variant,
            "rung": str(self.rung) if self.rung else None,
            "fits": self.fits,
            "reasons": list(self.reasons),
            "ram_budget_bytes": self.ram_budget_bytes,
            "free_disk_bytes": self.free_disk_bytes,
            "table": [r.to_dict() for r in self.table],
        }


def _preset_memory(
    profile: ModelProfile, device: DeviceInfo, opts: PlanOptions, cal: Calibration, records: Sequence[PeakRecord]
) -> tuple[PresetMemory, ...]:
    out = []
    for p in PRESETS:
        pl = plan(profile, device, p.width, p.height, 1, opts, cal, records)
        on_gpu = pl.rung != Rung.CPU
        out.append(
            PresetMemory(
                p.name, p.width, p.height, pl.rung, pl.predicted_peak_bytes if on_gpu else 0,
                pl.predicted_ram_bytes, pl.fits if on_gpu else True, pl.ram_fits,
            )  # fmt: skip
        )
    return tuple(out)


def variant_fit(
    v: Variant,
    profile: ModelProfile,
    device: DeviceInfo,
    *,
    installed: bool,
    sizes_from: str,
    free_disk: int | None,
    size: tuple[int, int] = (1024, 1024),
    options: PlanOptions | None = None,
    calibration: Calibration | None = None,
    records: Sequence[PeakRecord] = (),
) -> VariantFit:
    """Plan ``v`` (sized by ``profile``) on ``device`` in auto mode; see the module docstring."""
    cal = calibration or Calibration()
    opts = replace(options or PlanOptions(), forced_rung=None)
    width, height = size
    p = plan(profile, device, width, height, 1, opts, cal, records)
    on_gpu = p.rung != Rung.CPU
    ram_words = f"predicted peak RAM {gb_text(p.predicted_ram_bytes)} on '{p.rung}'"
    reasons: list[str] = []
    if device.system_ram_bytes <= 0:
        reasons.append(f"{ram_words}; this machine's RAM is unknown: not checked")
    else:
        fit = "fits within" if p.ram_fits else "is more than"
        reasons.append(f"{ram_words} {fit} {budget_words(device, cal)}")
    if on_gpu:
        reasons.append(p.reasons[0] if p.fits else f"no memory strategy fits: {p.reasons[-1]}")
    else:
        reasons.append("no NVIDIA GPU: runs on the CPU (minutes per image)")
    download = 0 if installed else v.download_bytes
    disk_ok = installed or free_disk is None or download <= free_disk
    if installed:
        reasons.append("installed")
    elif free_disk is None:
        reasons.append(f"download {gb_text(download)}; free disk unknown")
    else:
        enough = "enough" if disk_ok else "not enough"
        reasons.append(f"download {gb_text(download)}: {enough} free space in the model cache ({gb_text(free_disk)})")
    if not p.ram_fits:
        verdict = VariantVerdict.NEEDS_RAM
    elif on_gpu and not p.fits:
        verdict = VariantVerdict.NEEDS_VRAM
    elif not disk_ok:
        verdict = VariantVerdict.NEEDS_DISK
    else:
        verdict = VariantVerdict.FITS
    return VariantFit(
        str(v.id), v.label, installed, download, v.download_estimate and not installed, sizes_from,
        width, height, p.rung, p.predicted_ram_bytes, p.predicted_peak_bytes if on_gpu else 0, verdict,
        tuple(reasons), _preset_memory(profile, device, opts, cal, records), p,
    )  # fmt: skip


def recommend_variant(
    table: Sequence[VariantFit], device: DeviceInfo, free_disk: int | None, calibration: Calibration | None = None
) -> VariantRecommendation:
    """The first fitting row of ``table`` (catalogue order: best quality first); see the module docstring."""
    budget = ram_budget(device, calibration)
    rows = tuple(table)
    best = next((r for r in rows if r.fits), None)
    if best is not None:
        better = [r.variant for r in rows[: rows.index(best)]]
        why = [f"{best.label}: the best quality that fits this machine, on '{best.rung}'", *best.reasons]
        if better:
            why.append("better variants do not fit: " + "; ".join(
                f"{r.variant} {r.verdict}" for r in rows[: rows.index(best)]
            ))  # fmt: skip
        return VariantRecommendation(best.variant, best.rung, True, tuple(why), rows, budget, free_disk)
    candidates = [r for r in rows if r.verdict != VariantVerdict.NEEDS_DISK] or list(rows)
    if not candidates:
        return VariantRecommendation(None, None, False, ("no variants in the catalogue",), rows, budget, free_disk)
    lean = min(candidates, key=lambda r: r.ram_bytes)
    least = (f"nothing fits this machine; {lean.label} needs the least RAM", *lean.reasons)
    return VariantRecommendation(lean.variant, lean.rung, False, least, rows, budget, free_disk)
