"""Size-preset fits: for each preset, will it run on this card, on which rung, with what peak. Pure.

Contract: :func:`preset_fit` plans one preset in auto mode (a rung forced in the settings does not
change the question "does it fit") and sorts it into a :class:`Verdict`: ``fits`` (everything on the
GPU), ``offload`` (fits on an offload rung: slower), ``too-big``; ``unknown`` is for callers that have
no profile or no device yet (:meth:`PresetFit.unknown`). On the CPU the rung is ``Rung.CPU`` and the
verdict says whether RAM holds the model. :func:`recommend_preset` picks the size to start with.
:class:`PresetFit` is the one type the window's preset badges, ``doctor`` and the engine's
out-of-memory advice all read.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from zit_desktop.core.memory.peak_log import History
from zit_desktop.core.memory.peak_model import Calibration, PlanOptions
from zit_desktop.core.memory.plan import plan
from zit_desktop.core.memory.profile import ModelProfile
from zit_desktop.core.memory.rungs import Rung
from zit_desktop.core.memory.vram import DeviceInfo
from zit_desktop.core.sizes import PRESETS, SizePreset


class Verdict(StrEnum):
    FITS = "fits"
    OFFLOAD = "offload"
    TOO_BIG = "too-big"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class PresetFit:
    preset: str  # a SizePreset name
    width: int
    height: int
    verdict: Verdict
    rung: Rung | None  # None only with Verdict.UNKNOWN on a GPU (no profile or no device yet)
    predicted_peak_bytes: int  # 0: none (the CPU, or unknown)
    reason: str

    @classmethod
    def unknown(cls, preset: SizePreset, reason: str, rung: Rung | None = None) -> PresetFit:
        """No answer: the model's sizes or the device are not known (yet)."""
        return cls(preset.name, preset.width, preset.height, Verdict.UNKNOWN, rung, 0, reason)


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
        verdict = Verdict.FITS if p.fits else Verdict.TOO_BIG
    elif not p.fits:
        verdict = Verdict.TOO_BIG
    else:
        verdict = Verdict.FITS if p.rung == Rung.GPU else Verdict.OFFLOAD
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
        if f.verdict != Verdict.TOO_BIG and f.rung != Rung.SEQUENTIAL:
            return f
    for f in by_size:
        if f.verdict != Verdict.TOO_BIG:
            return f
    return min(fits, key=lambda f: f.width * f.height)
