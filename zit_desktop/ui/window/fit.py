"""Adapter between the window and the memory planner (``zit_desktop.core.memory.plan``).

The window asks: does each size preset fit this card (and with what predicted peak), which preset to
select on first run, and what peak the current settings predict (the gauge's marker). The planner
needs the model's profile (component sizes read from its files); :meth:`FitAdvisor.load_profile`
reads it once, on the VRAM-probe thread. Without a planner, a readable model or an NVIDIA GPU the
answers are "unknown" (or "cpu"): never a made-up number.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zit_desktop.core.memory import fits as fits_mod
from zit_desktop.core.memory.peak_log import PeakLog, peak_log_path
from zit_desktop.core.memory.peak_model import Calibration, calibration_path
from zit_desktop.core.memory.plan import options_from_settings, plan
from zit_desktop.core.memory.profile import profile_from_model_dir, published_profile
from zit_desktop.core.sizes import DEFAULT_MODEL, PRESETS

log = logging.getLogger(__name__)

FITS, OFFLOAD, TOO_BIG, UNKNOWN, CPU = "fits", "offload", "too-big", "unknown", "cpu"


@dataclass(frozen=True)
class PresetFit:
    status: str = UNKNOWN  # fits / offload / too-big / unknown / cpu
    peak_bytes: int | None = None
    strategy: str | None = None


def load_model_profile(model_ref: str) -> Any:
    """The planner's ModelProfile for a model folder or a Hub id in the local cache; None if unreadable."""
    if not model_ref:
        return None
    folder = Path(model_ref).expanduser()
    try:
        if not folder.is_dir():
            from huggingface_hub import snapshot_download

            folder = Path(snapshot_download(model_ref, local_files_only=True))
        return profile_from_model_dir(folder)
    except Exception as exc:  # noqa: BLE001 - not downloaded, broken files: the fit is unknown
        if model_ref == DEFAULT_MODEL:
            # Not downloaded yet: its component sizes are known (the published configs), so the
            # presets can still say what will fit before the 33 GB download.
            log.info("%s not on disk yet (%s): using its published sizes", model_ref, exc)
            return published_profile()
        log.info("no model profile for %s (%s): preset fits are unknown", model_ref, exc)
        return None


class FitAdvisor:
    """Planner answers for the window. ``profile`` is set once from the probe thread."""

    def __init__(self, settings: Any = None, cache_dir: Path | None = None) -> None:
        self.settings = settings
        self.cache_dir = cache_dir
        self.profile: Any = None
        self._calibration = Calibration.load(calibration_path(cache_dir)) if cache_dir else Calibration()
        self._peaks = PeakLog(peak_log_path(cache_dir) if cache_dir else None)

    @property
    def ready(self) -> bool:
        return self.profile is not None

    def _options(self, guidance: float = 0.0) -> Any:
        return options_from_settings(self.settings, cfg=guidance > 0)

    def preset_fits(self, device: Any) -> dict[str, PresetFit]:
        if device is not None and getattr(device, "kind", "") == "cpu":
            return {p.name: PresetFit(CPU, None, "cpu") for p in PRESETS}
        out = {p.name: PresetFit() for p in PRESETS}
        if not self.ready or device is None:
            return out
        try:
            fits = fits_mod.preset_fits(
                self.profile, device, self._options(), self._calibration, self._peaks
            )
        except Exception:
            log.exception("planner.preset_fits failed")
            return out
        for f in fits:
            status = f.verdict if f.verdict in (FITS, OFFLOAD, TOO_BIG) else UNKNOWN
            out[f.preset] = PresetFit(status, int(f.predicted_peak_bytes) or None, f.rung)
        return out

    def recommended(self, device: Any) -> str | None:
        if not self.ready or device is None or getattr(device, "kind", "") != "cuda":
            return None
        try:
            name = fits_mod.recommend_preset(
                self.profile, device, self._options(), self._calibration, self._peaks
            ).preset
        except Exception:
            log.exception("planner.recommend_preset failed")
            return None
        return name if isinstance(name, str) else None

    def predicted_peak(
        self, device: Any, width: int, height: int, count: int = 1, guidance: float = 0.0
    ) -> int | None:
        if not self.ready or device is None or getattr(device, "kind", "") != "cuda":
            return None
        try:
            p = plan(
                self.profile,
                device,
                width,
                height,
                count,
                self._options(guidance),
                self._calibration,
                self._peaks,
            )
        except Exception:
            log.exception("planner.plan failed")
            return None
        return int(p.predicted_peak_bytes) or None
