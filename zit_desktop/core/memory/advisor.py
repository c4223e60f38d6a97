"""One memory advisor per app, asked by the engine, the window's preset badges and ``doctor``, so all
three see the same model sizes, calibration and learned peaks. Torch-free, Qt-free, thread-safe.

Contract:

* :meth:`MemoryAdvisor.resolve` turns a model reference into its sizes (:class:`ResolvedProfile`):
  a folder is read from its configs and safetensors headers; a Hub id the same way from the local
  Hugging Face cache (``snapshot_download(local_files_only=True)``: never the network); the default
  model (Z-Image-Turbo) not downloaded yet gets its published sizes from the configs the package
  ships; anything else is unknown (``profile is None``). Reads from disk are cached per reference;
  stand-ins are not, so a model downloaded later is read at the next ask. Reading is file IO: ask
  from a worker or probe thread, never on the GUI thread.
* :meth:`plan`, :meth:`preset_fits`, :meth:`recommended_preset` and :meth:`predicted_peak` answer for
  a profile, a device and :class:`~zit_desktop.core.memory.peak_model.PlanOptions` with the
  advisor's :class:`~zit_desktop.core.memory.peak_model.Calibration` (``planner_calibration.json``
  in the cache dir) and every peak recorded so far. Without a profile or a device the answers are
  "unknown" (``None`` or ``Verdict.UNKNOWN``), never a made-up number.
* :meth:`refine_plan` and :meth:`predicted_refine_peak` answer the same for a refine (VAE encode +
  denoise + decode at the target size, or per tile when the whole does not fit: ``memory/refine.py``).
* :meth:`record_peak` and :meth:`record_ram_peak` store what a finished job measured (the engine, on
  its worker thread: allocator peak VRAM, sampled peak RSS) against the model it planned with
  (``Plan.model``); the next answer on any thread for that model includes it. Other models keep their
  own corrections (``peak_log.py`` says why). The engine records no peaks of the tiny test model.
* :meth:`profile` with the settings' ``variant`` names the variant the files are (so the window's
  badges and ``doctor`` see the same learned peaks as the engine, which plans with the variant).
* A plan is a variant and a rung: :meth:`variant_sizes` sizes a catalogue variant (from its installed
  files when they are readable, else from the catalogue), :meth:`variant_table` plans every variant
  on a device, :meth:`recommend_variant` picks the best-quality one that fits RAM, VRAM and disk
  (``core/memory/variants.py``). :meth:`planning_profile` with a ``variant`` is what the engine plans with.

Thread safety: one lock guards the peak log and the profile cache. Planning runs outside the lock
on a snapshot of the records, so a slow question never blocks the engine recording a peak.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from zit_desktop.core.memory.fits import PresetFit, preset_fit, preset_fits, recommend_preset
from zit_desktop.core.memory.peak_log import RAM, PeakLog, PeakRecord, correction, model_key, peak_log_path
from zit_desktop.core.memory.peak_model import Calibration, PlanOptions, calibration_path
from zit_desktop.core.memory.plan import Plan, plan
from zit_desktop.core.memory.profile import (
    ModelProfile,
    ProfileError,
    profile_from_model_dir,
    published_profile,
)
from zit_desktop.core.memory.refine import RefinePlan, plan_refine
from zit_desktop.core.memory.rungs import LADDER, Rung
from zit_desktop.core.memory.variants import (
    VariantFit,
    VariantRecommendation,
    recommend_variant,
    variant_fit,
    variant_profile,
    with_variant_facts,
)
from zit_desktop.core.memory.vram import DeviceInfo
from zit_desktop.core.models.catalogue import Variant, catalogue
from zit_desktop.core.models.catalogue import variant as catalogue_variant
from zit_desktop.core.sizes import DEFAULT_MODEL, PRESETS, SizePreset

# variant id -> the model folder or Hub id it is installed as (None: installed, sizes from the catalogue),
# or just the ids of the installed variants
Installed = Mapping[str, str | Path | None] | Collection[str]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ResolvedProfile:
    """The sizes of one model reference, and where they came from (for ``doctor`` and the logs)."""

    ref: str
    profile: ModelProfile | None  # None: not on disk and not the default model: sizes unknown
    source: str  # in words
    folder: Path | None = None  # the folder the sizes were read from

    @property
    def from_files(self) -> bool:
        return self.folder is not None and self.profile is not None


def _local_folder(ref: str) -> tuple[Path | None, str]:
    """The folder of ``ref`` on this disk (a folder, or a Hub id in the local HF cache), or why not."""
    folder = Path(ref).expanduser()
    if folder.is_dir():
        return folder, ""
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(ref, local_files_only=True)), ""
    except Exception as exc:  # noqa: BLE001 - not downloaded, not a repo id, cache unreadable
        log.debug("%s is not in the local Hugging Face cache: %r", ref, exc)
        return None, f"{ref} is not on this disk"


def resolve_profile(model_ref: str | Path) -> ResolvedProfile:
    """The sizes of ``model_ref`` (see the module docstring). Reads files; never raises for a bad model."""
    ref = str(model_ref)
    folder, why = _local_folder(ref) if ref else (None, "no model chosen")
    if folder is not None:
        try:
            return ResolvedProfile(ref, profile_from_model_dir(folder), f"sizes read from {folder}", folder)
        except ProfileError as exc:
            why = f"could not size {folder} ({exc})"
    if ref == DEFAULT_MODEL:
        return ResolvedProfile(ref, published_profile(), f"published sizes ({why})")
    return ResolvedProfile(ref, None, why)


class MemoryAdvisor:
    """The planner with its state: calibration, learned peaks and the model sizes it has read."""

    def __init__(self, cache_dir: str | Path | None = None, *, learn: bool = True) -> None:
        """``cache_dir``: where ``planner_calibration.json`` and ``peak_log.json`` live (None: defaults
        and a log kept in memory). ``learn=False``: record nothing and apply no correction (the GPU
        benchmark compares the raw model with measurements)."""
        self.calibration = Calibration.load(calibration_path(cache_dir) if cache_dir is not None else None)
        self.learn = learn
        self._peaks = PeakLog(peak_log_path(cache_dir) if cache_dir is not None and learn else None)
        self._profiles: dict[str, ResolvedProfile] = {}
        self._lock = threading.Lock()

    # ---- model sizes -------------------------------------------------------------------------
    def resolve(self, model_ref: str | Path) -> ResolvedProfile:
        """The sizes of ``model_ref``; reads files the first time (not on the GUI thread)."""
        key = str(model_ref)
        with self._lock:
            hit = self._profiles.get(key)
        if hit is not None:
            return hit
        resolved = resolve_profile(key)
        if resolved.from_files:
            with self._lock:
                resolved = self._profiles.setdefault(key, resolved)
        log.info("model sizes for %s: %s", key, resolved.source)
        return resolved

    def profile(self, model_ref: str | Path, variant: str | None = None) -> ModelProfile | None:
        """:meth:`resolve`'s profile: None when the sizes are unknown. ``variant``: the catalogue id the
        model is installed as (the settings' ``variant``): sizes read from its files then carry the
        variant's facts and name, as the engine's :meth:`planning_profile` does."""
        resolved = self.resolve(model_ref)
        known = _catalogued(variant)
        if known is not None and resolved.from_files and resolved.profile is not None:
            return with_variant_facts(resolved.profile, known)
        return resolved.profile

    def planning_profile(self, model_ref: str | Path | None, variant: str | None = None) -> ModelProfile:
        """A profile to plan with whatever happens (the engine must choose a rung): the model's own,
        else the catalogue's sizes of ``variant`` (a catalogue id; "custom" or None: not used), else
        Z-Image-Turbo's published sizes (a Z-Image pipeline has that architecture)."""
        known = _catalogued(variant)
        if known is not None:
            return self.variant_sizes(known, model_ref)[0]
        if model_ref is None:
            return published_profile()
        resolved = self.resolve(model_ref)
        if resolved.profile is None:
            log.warning("%s; planning with Z-Image-Turbo's published sizes", resolved.source)
            return replace(published_profile(), variant="")  # sizes borrowed: not the bf16 variant's peaks
        return resolved.profile

    def variant_sizes(self, v: Variant, model_ref: str | Path | None = None) -> tuple[ModelProfile, str]:
        """(the sizes of variant ``v``, "files" or "catalogue"): read from ``model_ref``'s files when
        it is readable (a GGUF variant's folder is not: its transformer is one file), else the catalogue's."""
        if model_ref is not None and str(model_ref):
            resolved = self.resolve(model_ref)
            if resolved.from_files and resolved.profile is not None:
                return with_variant_facts(resolved.profile, v), "files"
        return variant_profile(v), "catalogue"

    # ---- learned peaks -----------------------------------------------------------------------
    def peak_records(self) -> tuple[PeakRecord, ...]:
        with self._lock:
            return tuple(self._peaks.records)

    @property
    def measured_jobs(self) -> int:
        with self._lock:
            return len(self._peaks.records)

    def correction(self, rung: str, device: DeviceInfo, profile: ModelProfile) -> float:
        """The factor the learned peaks apply to ``profile``'s ``rung`` predictions on ``device``."""
        return correction(self.peak_records(), rung, device, self.calibration, model=model_key(profile))

    def record_peak(
        self, planned: Plan, width: int, height: int, measured_bytes: int, device: DeviceInfo
    ) -> PeakRecord | None:
        """Remember the allocator peak a job measured on ``planned``'s rung (GPU rungs only), against
        the prediction before correction. Returns the record, or None when nothing was learned."""
        if not self.learn or planned.prediction is None or planned.rung not in LADDER or not planned.model:
            return None
        with self._lock:
            return self._peaks.record(
                planned.rung, width, height, measured_bytes, planned.prediction.raw_allocator_bytes, device,
                model=planned.model,
            )  # fmt: skip

    def record_ram_peak(
        self, planned: Plan, width: int, height: int, measured_rss: int, device: DeviceInfo
    ) -> PeakRecord | None:
        """Remember the peak RSS a job measured against ``planned``'s uncorrected RAM prediction (any
        rung, the CPU too). Returns the record, or None when nothing was learned."""
        if not self.learn or planned.ram is None or measured_rss <= 0 or not planned.model:
            return None
        with self._lock:
            return self._peaks.record(
                planned.ram.rung, width, height, measured_rss, planned.ram.raw_bytes, device, RAM,
                model=planned.model,
            )  # fmt: skip

    # ---- variants ----------------------------------------------------------------------------
    def variant_table(
        self,
        device: DeviceInfo,
        *,
        free_disk: int | None,
        installed: Installed = (),
        width: int = 1024,
        height: int = 1024,
        options: PlanOptions | None = None,
    ) -> tuple[VariantFit, ...]:
        """Every catalogue variant planned on ``device`` (catalogue order), one :class:`VariantFit` each:
        download, predicted peak RAM and VRAM at ``width`` x ``height`` and per size preset, verdict,
        reasons. ``free_disk``: free bytes on the Hugging Face cache drive (None: not checked)."""
        refs = dict(installed) if isinstance(installed, Mapping) else dict.fromkeys(installed)
        records = self.peak_records()
        rows = []
        for v in catalogue():
            profile, sizes_from = self.variant_sizes(v, refs.get(str(v.id)))
            rows.append(
                variant_fit(
                    v, profile, device, installed=str(v.id) in refs, sizes_from=sizes_from,
                    free_disk=free_disk, size=(width, height), options=options,
                    calibration=self.calibration, records=records,
                )  # fmt: skip
            )
        return tuple(rows)

    def recommend_variant(
        self,
        device: DeviceInfo,
        *,
        free_disk: int | None,
        installed: Installed = (),
        width: int = 1024,
        height: int = 1024,
        options: PlanOptions | None = None,
    ) -> VariantRecommendation:
        """The best-quality variant that fits this machine and its fastest fitting rung, with the
        whole table (:meth:`variant_table`); see ``core/memory/variants.py``."""
        table = self.variant_table(
            device, free_disk=free_disk, installed=installed, width=width, height=height, options=options
        )
        return recommend_variant(table, device, free_disk, self.calibration)

    # ---- questions ---------------------------------------------------------------------------
    def plan(
        self,
        profile: ModelProfile,
        device: DeviceInfo,
        width: int,
        height: int,
        options: PlanOptions | None = None,
        *,
        count: int = 1,
    ) -> Plan:
        """The planner's :class:`~zit_desktop.core.memory.plan.Plan` with what this advisor knows."""
        return plan(profile, device, width, height, count, options, self.calibration, self.peak_records())

    def preset_fits(
        self, profile: ModelProfile | None, device: DeviceInfo | None, options: PlanOptions | None = None
    ) -> list[PresetFit]:
        """One :class:`PresetFit` per size preset, in PRESETS order (unknown without profile or device)."""
        if device is None:
            return [PresetFit.unknown(p, "no reading from the GPU probe yet") for p in PRESETS]
        if profile is None:
            rung = None if device.is_cuda else Rung.CPU
            return [PresetFit.unknown(p, "the model's sizes are unknown", rung) for p in PRESETS]
        return preset_fits(profile, device, options, self.calibration, self.peak_records())

    def fit(
        self, profile: ModelProfile, device: DeviceInfo, size: SizePreset, options: PlanOptions | None = None
    ) -> PresetFit:
        """One size's :class:`PresetFit` (any size, not only a preset) with what this advisor knows."""
        return preset_fit(profile, device, size, options, self.calibration, self.peak_records())

    def recommended_preset(
        self, profile: ModelProfile | None, device: DeviceInfo | None, options: PlanOptions | None = None
    ) -> PresetFit | None:
        """The preset to start with (``fits.recommend_preset``), or None when it cannot be known."""
        if profile is None or device is None:
            return None
        return recommend_preset(profile, device, options, self.calibration, self.peak_records())

    def predicted_peak(
        self,
        profile: ModelProfile | None,
        device: DeviceInfo | None,
        width: int,
        height: int,
        options: PlanOptions | None = None,
        *,
        count: int = 1,
    ) -> int | None:
        """Predicted peak VRAM of a job in auto mode or the forced rung; None on the CPU or unknown."""
        if profile is None or device is None or not device.is_cuda:
            return None
        return self.plan(profile, device, width, height, options, count=count).predicted_peak_bytes or None


    def refine_plan(
        self, profile: ModelProfile, device: DeviceInfo, width: int, height: int, options: PlanOptions | None = None
    ) -> RefinePlan:
        """Whole or tiled for a refine to ``width`` x ``height``, and the rung of one call."""
        opts = replace(options or PlanOptions(), image_to_image=True)
        return plan_refine(lambda w, h: self.plan(profile, device, w, h, opts), width, height)

    def predicted_refine_peak(
        self,
        profile: ModelProfile | None,
        device: DeviceInfo | None,
        width: int,
        height: int,
        options: PlanOptions | None = None,
    ) -> int | None:
        """Predicted peak VRAM of a refine (of its largest call: the whole image or one tile)."""
        if profile is None or device is None or not device.is_cuda:
            return None
        return self.refine_plan(profile, device, width, height, options).plan.predicted_peak_bytes or None


def _catalogued(variant_id: str | None) -> Variant | None:
    """The catalogue variant ``variant_id`` names; None for None, "custom" or an unknown id."""
    if not variant_id:
        return None
    try:
        return catalogue_variant(variant_id)
    except ValueError:
        return None
