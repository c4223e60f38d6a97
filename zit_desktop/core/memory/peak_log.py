"""Measured peaks: what each finished job really took, and the correction they teach. No torch.

Contract: after a job the engine records the allocator peak it measured (``max_memory_reserved``)
next to the *uncorrected* prediction for that rung, size and device (:meth:`PeakLog.record`), and the
process's peak RSS next to the uncorrected RAM prediction (``kind="ram"``, keyed by device and RAM
size: :func:`ram_device_key`). Each kind is corrected on its own.
:func:`correction` is the median measured/predicted ratio of the recent records of one rung on one
device (:func:`device_key`: name and total memory) *for one model* (:func:`model_key`), clamped to
``Calibration.correction_min/max``; the planner multiplies that rung's predictions by it. The log is a
JSON file (``peak_log.json`` in the cache dir), written atomically, read leniently (a damaged file
starts afresh), capped in length.

Per model, not shared: every record names the model it measured (:func:`model_key`: the catalogue
variant id, or ``custom:<MiB of weights>`` for any other model), and a model's predictions are
corrected only by its own records. The ratio is not transferable between variants: it measures how
far the planner is off for one set of weights, and quantized SDNQ kernels, a GGUF transformer read
whole into RAM and plain bf16 weights are off by different amounts (the tiny test model, ~1 GiB of
Python and torch around a few MiB of weights, is off by a factor that says nothing about a real one;
the engine records no peaks of a test model at all). Records written before they named their model
(no ``model`` field) are dropped when the log is read: which model they measured is unknown, so they
can correct no prediction, and they may be the test model's (the bug this field fixes). The next save
leaves them out; learning starts again from the next real job.

A :class:`PeakLog` is not thread-safe by itself: :class:`~zit_desktop.core.memory.advisor.MemoryAdvisor`
guards the one the app shares between the engine's worker thread and the window.
"""

from __future__ import annotations

import json
import logging
import statistics
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from zit_desktop.core.memory.peak_model import MIB, Calibration
from zit_desktop.core.memory.profile import ModelProfile
from zit_desktop.core.memory.vram import DeviceInfo
from zit_desktop.core.settings import atomic_write_text

log = logging.getLogger(__name__)


def peak_log_path(cache_dir: str | Path) -> Path:
    return Path(cache_dir) / "peak_log.json"


def device_key(device: DeviceInfo) -> str:
    return f"{device.name}|{device.total_bytes // MIB}"


def ram_device_key(device: DeviceInfo) -> str:
    """The machine for RAM records: the GPU (its driver and CUDA build shape the baseline) and the RAM."""
    return f"{device_key(device)}|ram{device.system_ram_bytes // MIB}"


def model_key(profile: ModelProfile) -> str:
    """The model a record measured: the catalogue variant id, else ``custom:<MiB of weights>`` (two
    custom models of different sizes never share corrections; the same folder always maps to the same key)."""
    return profile.variant or f"custom:{profile.total_bytes // MIB}"


VRAM, RAM = "vram", "ram"  # PeakRecord.kind


@dataclass(frozen=True)
class PeakRecord:
    rung: str
    width: int
    height: int
    measured_bytes: int  # vram: torch.cuda.max_memory_reserved during the job; ram: peak RSS sampled
    predicted_bytes: int  # vram: Prediction.allocator_bytes, ram: RamPrediction.bytes, both *uncorrected*
    device: str  # device_key(), or ram_device_key() for kind "ram"
    when: float = 0.0
    kind: str = VRAM  # VRAM or RAM (records written before RAM was learned are VRAM)
    model: str = ""  # model_key() of the profile planned with; "" only in old files (dropped on load)

    @property
    def ratio(self) -> float:
        return self.measured_bytes / self.predicted_bytes if self.predicted_bytes > 0 else 1.0


def _record(raw: object) -> PeakRecord | None:
    """One stored record, or None when a field has the wrong type (a damaged or hand-edited file)."""
    if not isinstance(raw, dict):
        return None
    values: dict[str, Any] = {}
    kinds: dict[str, type | tuple[type, ...]] = {"str": str, "int": int, "float": (int, float)}
    for f in fields(PeakRecord):
        if f.name not in raw:
            continue
        value, kind = raw[f.name], kinds[str(f.type)]
        if not isinstance(value, kind) or isinstance(value, bool):
            log.warning("peak log: dropping a record with %s=%r", f.name, value)
            return None
        values[f.name] = value
    if not values.get("model"):
        return None  # written before records named their model: see the module docstring
    try:
        return PeakRecord(**values)
    except TypeError:  # a required field is missing
        return None


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
            raw = data["records"]
            self.records = [r for r in map(_record, raw) if r is not None]
            if len(self.records) < len(raw):
                log.info("peak log: left out %d records of an unknown model (or damaged)", len(raw) - len(self.records))
        except FileNotFoundError:
            self.records = []
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("peak log %s unreadable (%s); starting afresh", self.path, exc)
            self.records = []

    def save(self) -> None:
        if self.path is None:
            return
        data = {"version": 2, "records": [asdict(r) for r in self.records]}
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
        kind: str = VRAM,
        *,
        model: str,
    ) -> PeakRecord:
        """Append one measurement of ``model`` (:func:`model_key`) and save the log."""
        if not model:
            raise ValueError("a peak record must name its model (model_key)")
        key = ram_device_key(device) if kind == RAM else device_key(device)
        rec = PeakRecord(
            rung, width, height, int(measured_bytes), int(predicted_bytes), key, time.time(), kind, model
        )
        self.records.append(rec)
        del self.records[: -self.max_records]
        self.save()
        return rec

    def correction(
        self, rung: str, device: DeviceInfo, model: str, calibration: Calibration | None = None
    ) -> float:
        return correction(self.records, rung, device, calibration or Calibration(), model=model)


def correction(
    records: Iterable[PeakRecord], rung: str, device: DeviceInfo, cal: Calibration, kind: str = VRAM,
    *, model: str,
) -> float:  # fmt: skip
    """The factor to apply to ``model``'s (:func:`model_key`) ``rung`` ``kind`` predictions on ``device``:
    the median measured/predicted ratio of that model's recent records there, clamped to the
    calibration's bounds; 1.0 without records."""
    key = ram_device_key(device) if kind == RAM else device_key(device)
    ratios = [
        r.ratio
        for r in records
        if r.rung == rung and r.device == key and r.kind == kind and r.model == model and r.predicted_bytes > 0
    ]
    if not ratios:
        return 1.0
    ratio = statistics.median(ratios[-cal.correction_window :])
    return min(cal.correction_max, max(cal.correction_min, ratio))


History = PeakLog | Sequence[PeakRecord] | None


def records_of(history: History) -> Sequence[PeakRecord]:
    if history is None:
        return ()
    if isinstance(history, PeakLog):
        return history.records
    return history
