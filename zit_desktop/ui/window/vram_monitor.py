"""Polls the VRAM probe twice a second on a small thread of its own, so a slow driver never blocks the UI.

A ``QTimer`` on the GUI thread asks; the probe answers on the probe thread; the answer comes back as a
queued signal. A sample still in flight skips the next tick instead of piling up. A probe that fails
reports ``None`` ("unknown"): the monitor never invents numbers. Each sample also carries the card's
temperature, clocks, throttle reasons and the other processes holding VRAM (``DeviceInfo.health``,
read from NVML on this same thread by ``core.memory.gpu_probe``), for the gauge and the fit advice.

The probe thread is also where the model's sizes are read (config files and safetensors headers,
through the app's :class:`~zit_desktop.core.memory.advisor.MemoryAdvisor`), once per model, so the GUI
thread never waits on the disk.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot

from zit_desktop.core.memory.advisor import MemoryAdvisor
from zit_desktop.core.memory.vram import DeviceInfo, VramProbe, default_probe
from zit_desktop.ui.window.worker import start_thread

log = logging.getLogger(__name__)

POLL_MS = 500  # 2 Hz


class _Prober(QObject):
    sampled = Signal(object)  # DeviceInfo | None
    profileLoaded = Signal(object)  # the model's ModelProfile, or None (sizes unknown)

    def __init__(self, model_ref: str | None, advisor: MemoryAdvisor, variant: str = "") -> None:
        super().__init__()
        self._probe: VramProbe | None = None
        self._model_ref = model_ref
        self._variant = variant  # the catalogue variant the model is installed as (learned peaks are per variant)
        self._advisor = advisor

    @Slot()
    def sample(self) -> None:
        if self._model_ref is not None:  # once per model: reads config files and safetensors headers
            ref, self._model_ref = self._model_ref, None
            try:
                profile = self._advisor.profile(ref, self._variant)
            except Exception:
                log.exception("reading the sizes of %s failed", ref)
                profile = None
            self.profileLoaded.emit(profile)
        info: Any = None
        try:
            if self._probe is None:
                self._probe = default_probe()
            info = self._probe.sample()
        except Exception:
            log.exception("VRAM probe failed")
        self.sampled.emit(info)

    @Slot(object)
    def set_model(self, model: object) -> None:
        ref, self._variant = model if isinstance(model, tuple) else (model, "")
        self._model_ref = str(ref)  # read with the next sample, on this thread

    @Slot()
    def stop(self) -> None:
        QThread.currentThread().quit()


class VramMonitor(QObject):
    sampled = Signal(object)  # DeviceInfo | None, on the GUI thread
    profileLoaded = Signal(object)  # ModelProfile | None, on the GUI thread

    _ask = Signal()
    _stop = Signal()
    _setModel = Signal(object)

    def __init__(
        self,
        model_ref: str | None,
        advisor: MemoryAdvisor,
        interval_ms: int = POLL_MS,
        parent: QObject | None = None,
        variant: str = "",
    ) -> None:
        super().__init__(parent)
        self.last: DeviceInfo | None = None
        self._in_flight = False
        self._stopped = False
        self._thread = QThread()
        self._thread.setObjectName("vram-probe")
        self._prober = _Prober(model_ref, advisor, variant)
        self._prober.moveToThread(self._thread)
        self._ask.connect(self._prober.sample)
        self._stop.connect(self._prober.stop)
        self._setModel.connect(self._prober.set_model)
        self._prober.sampled.connect(self._on_sampled)
        self._prober.profileLoaded.connect(self._on_profile)
        self._thread.finished.connect(self._prober.deleteLater)
        self._timer = QTimer(self)
        self._timer.setInterval(max(500, interval_ms))  # never faster than 2 Hz
        self._timer.timeout.connect(self.poll)
        start_thread(self._thread)

    def set_model(self, model_ref: str, variant: str = "") -> None:
        """Re-read the model's sizes (for the preset fit badges) at the next poll; ``variant``: the
        catalogue variant it is installed as ("" or "custom": another model)."""
        if not self._stopped:
            self._setModel.emit((model_ref, variant))
            self.poll()

    def start(self) -> None:
        if not self._stopped:
            self.poll()
            self._timer.start()

    @Slot()
    def poll(self) -> None:
        if self._in_flight or self._stopped:
            return
        self._in_flight = True
        self._ask.emit()

    @Slot(object)
    def _on_sampled(self, info: object) -> None:
        self._in_flight = False
        self.last = info if isinstance(info, DeviceInfo) else None
        self.sampled.emit(self.last)

    @Slot(object)
    def _on_profile(self, profile: object) -> None:
        self.profileLoaded.emit(profile)

    def shutdown(self, timeout_ms: int | None = None) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._timer.stop()
        self._stop.emit()
        if timeout_ms is None:
            self._thread.wait()
        else:
            self._thread.wait(timeout_ms)  # the process is about to end anyway
