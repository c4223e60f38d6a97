"""The one worker thread that owns the engine, and the GUI-side job queue in front of it.

``EngineWorker`` lives on its own ``QThread``: it creates the engine there (so torch and diffusers are
imported off the GUI thread), runs one job at a time, turns engine events into Qt signals, loads the
finished image as a ``QImage`` and records it in the history — all on the worker thread.

``JobController`` lives on the GUI thread. It owns the visible queue, hands jobs to the worker one at a
time, and re-emits every worker signal from its own slots, so whatever the window connects to runs on
the GUI thread (a plain function connected to a worker signal would run on the worker thread).
"""

from __future__ import annotations

import copy
import logging
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from PySide6.QtCore import QObject, QThread, Signal, Slot
from PySide6.QtGui import QImage

from zit_desktop.core.errors import ErrorKind
from zit_desktop.core.events import (
    Cancelled,
    CancelToken,
    Event,
    EventCallback,
    Failed,
    Finished,
    ImageResult,
    ImageSaved,
    JobStarted,
    Loading,
    Notice,
    Preview,
    Step,
)
from zit_desktop.core.request import GenerationRequest

log = logging.getLogger(__name__)

Result = Finished | Failed | Cancelled


class EngineLike(Protocol):
    def run(self, request: GenerationRequest, on_event: EventCallback, cancel: CancelToken) -> Result: ...


EngineFactory = Callable[[], EngineLike]

_started_threads: list[QThread] = []


def start_thread(thread: QThread) -> None:
    """Start ``thread`` and remember it, so tests can check none outlives them."""
    _started_threads[:] = [t for t in _started_threads if t.isRunning()]
    _started_threads.append(thread)
    thread.start()


def running_threads() -> list[QThread]:
    return [t for t in _started_threads if t.isRunning()]


@dataclass
class Job:
    request: GenerationRequest
    parent_id: int | None = None
    job_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    token: CancelToken = field(default_factory=CancelToken)
    delivered: set[str] = field(default_factory=set, compare=False)  # paths shown and recorded (worker thread)


def _internal_failure(job_id: str, what: str) -> Failed:
    return Failed(
        job_id,
        ErrorKind.INTERNAL.value,
        f"Something went wrong inside ZIT Desktop ({what}). The details are in the log file; please report them.",
        traceback.format_exc(),
    )


class EngineWorker(QObject):
    """Owns the engine. Lives on the worker thread; never dies of an engine error."""

    loading = Signal(str, str)  # phase, message
    jobStarted = Signal(str, int, int, object, str)  # job id, image index, images, seed, strategy
    step = Signal(str, int, int, int, float, float)  # job id, index, step, steps, elapsed, eta
    preview = Signal(str, int, int, QImage)  # job id, index, step, image (1/8 size)
    notice = Signal(str, str, str)  # job id, kind, message
    imageReady = Signal(str, object, QImage)  # job id, ImageResult, the decoded file
    imageRecorded = Signal(int)  # history row id
    jobDone = Signal(str, object)  # job id, Finished | Failed | Cancelled
    engineReady = Signal(float)  # seconds it took to start the engine

    def __init__(
        self, engine_factory: EngineFactory, history_db: Path | None, preview_interval: float = 0.04
    ) -> None:
        super().__init__()
        self._factory = engine_factory
        self._engine: EngineLike | None = None
        self._history_db = history_db
        self._history: Any = None
        self._history_tried = False
        self._preview_interval = preview_interval
        self._last_preview = 0.0
        self._settings: object | None = None

    # ------------------------------------------------------------------ engine
    def _ensure_engine(self) -> EngineLike:
        if self._engine is None:
            t0 = time.perf_counter()
            self.loading.emit("engine", "Starting the engine (torch, diffusers)")
            self._engine = self._factory()
            if self._settings is not None:
                self._apply_settings(self._engine, self._settings)
            self.engineReady.emit(time.perf_counter() - t0)
        return self._engine

    @Slot(object)
    def set_settings(self, settings: object) -> None:
        """New preferences (a private copy): used from the next job on."""
        self._settings = settings
        if self._engine is not None:
            self._apply_settings(self._engine, settings)

    @staticmethod
    def _apply_settings(engine: object, settings: object) -> None:
        if hasattr(engine, "settings"):
            engine.settings = settings
        lowvram = getattr(engine, "lowvram", None)
        if lowvram is not None and hasattr(lowvram, "settings"):
            lowvram.settings = settings

    @Slot()
    def warm_up(self) -> None:
        try:
            self._ensure_engine()
        except Exception:
            log.exception("engine warm-up failed")
            # clears the "Starting the engine…" status; the first job will report the failure itself
            self.engineReady.emit(0.0)

    @Slot(object)
    def run_job(self, job: Job) -> None:
        self._last_preview = 0.0
        try:
            engine = self._ensure_engine()
            result = engine.run(job.request, lambda ev: self._on_event(job, ev), job.token)
        except Exception:
            log.exception("the engine raised instead of returning a result")
            result = _internal_failure(job.job_id, "the engine could not run")
        try:
            for image in result.images:
                if image.path not in job.delivered:  # engines without ImageSaved events
                    self._deliver(job, image)
        except Exception:
            log.exception("delivering the finished images failed")
        self.jobDone.emit(job.job_id, result)

    def _on_event(self, job: Job, event: Event) -> None:
        jid = job.job_id
        if isinstance(event, Step):
            self.step.emit(jid, event.index, event.step, event.steps, event.elapsed, event.eta)
        elif isinstance(event, Preview):
            now = time.monotonic()
            if now - self._last_preview < self._preview_interval:
                return
            self._last_preview = now
            image = QImage(event.rgb, event.width, event.height, 3 * event.width, QImage.Format.Format_RGB888)
            self.preview.emit(jid, event.index, event.step, image.copy())
        elif isinstance(event, JobStarted):
            self.jobStarted.emit(jid, event.index, event.total, event.seed, event.strategy)
        elif isinstance(event, Loading):
            self.loading.emit(event.phase, event.message)
        elif isinstance(event, Notice):
            self.notice.emit(jid, event.kind, event.message)
        elif isinstance(event, ImageSaved):
            # shown and recorded at once: a batch's first images don't wait for (or die with) the rest
            try:
                self._deliver(job, event.image)
            except Exception:
                log.exception("delivering %s failed", event.image.path)
        # Finished / Failed / Cancelled come back as run()'s return value.

    def _deliver(self, job: Job, image: ImageResult) -> None:
        job.delivered.add(image.path)
        qimage = QImage(image.path)
        if qimage.isNull():
            log.warning("cannot read back the image %s", image.path)
        self.imageReady.emit(job.job_id, image, qimage)
        store = self._store()
        if store is None:
            return
        try:
            row = store.add_result(image, parent_id=job.parent_id)
        except Exception as exc:
            log.exception("recording %s in the history failed", image.path)
            self.notice.emit(job.job_id, "history", str(exc))
            return
        row_id = getattr(row, "id", row)
        if isinstance(row_id, int):
            self.imageRecorded.emit(row_id)

    def _store(self) -> Any:
        if self._history_tried or self._history_db is None:
            return self._history
        self._history_tried = True
        try:
            from zit_desktop.core.history import HistoryStore
        except ModuleNotFoundError:
            log.info("history module not present: images are not recorded")
            return None
        try:
            self._history = HistoryStore(self._history_db)
        except Exception as exc:
            log.exception("cannot open the history database")
            self.notice.emit("", "history", str(exc))
        return self._history

    @Slot()
    def stop(self) -> None:
        """Last call on the worker thread: close the history, then end the thread's event loop."""
        close = getattr(self._history, "close", None)
        if callable(close):
            try:
                close()
            except Exception:
                log.exception("closing the history failed")
        self._history = None
        self._engine = None
        thread = QThread.currentThread()
        thread.quit()


class JobController(QObject):
    """GUI-thread side: the visible queue, cancel, shutdown; re-emits worker signals on the GUI thread."""

    queueChanged = Signal()
    loading = Signal(str, str)
    jobStarted = Signal(str, int, int, object, str)
    step = Signal(str, int, int, int, float, float)
    preview = Signal(str, int, int, QImage)
    notice = Signal(str, str, str)
    imageReady = Signal(str, object, QImage)
    imageRecorded = Signal(int)
    jobFinished = Signal(str, object)
    engineReady = Signal(float)
    idle = Signal()

    _runJob = Signal(object)
    _warmUp = Signal()
    _stop = Signal()
    _settings = Signal(object)

    def __init__(
        self, engine_factory: EngineFactory, history_db: Path | None, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.pending: list[Job] = []
        self.current: Job | None = None
        self._stopped = False
        self._thread = QThread()
        self._thread.setObjectName("engine-worker")
        self._worker = EngineWorker(engine_factory, history_db)
        self._worker.moveToThread(self._thread)
        self._runJob.connect(self._worker.run_job)
        self._warmUp.connect(self._worker.warm_up)
        self._stop.connect(self._worker.stop)
        self._settings.connect(self._worker.set_settings)
        w = self._worker
        w.loading.connect(self._on_loading)
        w.jobStarted.connect(self._on_job_started)
        w.step.connect(self._on_step)
        w.preview.connect(self._on_preview)
        w.notice.connect(self._on_notice)
        w.imageReady.connect(self._on_image_ready)
        w.imageRecorded.connect(self._on_image_recorded)
        w.jobDone.connect(self._on_job_done)
        w.engineReady.connect(self._on_engine_ready)
        self._thread.finished.connect(self._worker.deleteLater)
        start_thread(self._thread)

    # ------------------------------------------------------------------ public API
    @property
    def busy(self) -> bool:
        return self.current is not None

    def submit(self, request: GenerationRequest, parent_id: int | None = None) -> Job:
        job = Job(request, parent_id)
        if self._stopped:
            return job
        self.pending.append(job)
        self._dispatch()
        self.queueChanged.emit()
        return job

    def update_engine_settings(self, settings: object) -> None:
        """Hand the worker a private copy of new preferences; a running job keeps its own."""
        if not self._stopped:
            self._settings.emit(copy.deepcopy(settings))

    def warm_up(self) -> None:
        """Start the engine (import torch) in the background before the first job."""
        if not self._stopped:
            self._warmUp.emit()

    def cancel_current(self) -> None:
        if self.current is not None:
            self.current.token.cancel()

    def cancel_all(self) -> None:
        self.pending.clear()
        self.cancel_current()
        self.queueChanged.emit()

    def shutdown(self, timeout_ms: int | None = None) -> bool:
        """Cancel everything and wait for the worker thread to end; False if it was still busy after
        ``timeout_ms`` (a model load cannot be interrupted). Safe to call twice."""
        if self._stopped:
            return not self._thread.isRunning()
        self._stopped = True
        self.pending.clear()
        self.cancel_current()
        self._stop.emit()
        if timeout_ms is None:
            self._thread.wait()
        elif not self._thread.wait(timeout_ms):
            return False
        self.current = None
        return True

    # ------------------------------------------------------------------ internals
    def _dispatch(self) -> None:
        if self.current is None and self.pending and not self._stopped:
            self.current = self.pending.pop(0)
            self._runJob.emit(self.current)

    @Slot(str, str)
    def _on_loading(self, phase: str, message: str) -> None:
        self.loading.emit(phase, message)

    @Slot(str, int, int, object, str)
    def _on_job_started(self, job_id: str, index: int, total: int, seed: int, strategy: str) -> None:
        self.jobStarted.emit(job_id, index, total, seed, strategy)

    @Slot(str, int, int, int, float, float)
    def _on_step(self, job_id: str, index: int, step: int, steps: int, elapsed: float, eta: float) -> None:
        self.step.emit(job_id, index, step, steps, elapsed, eta)

    @Slot(str, int, int, QImage)
    def _on_preview(self, job_id: str, index: int, step: int, image: QImage) -> None:
        self.preview.emit(job_id, index, step, image)

    @Slot(str, str, str)
    def _on_notice(self, job_id: str, kind: str, message: str) -> None:
        self.notice.emit(job_id, kind, message)

    @Slot(str, object, QImage)
    def _on_image_ready(self, job_id: str, result: object, image: QImage) -> None:
        if self._stopped:  # late deliveries after shutdown: the window and gallery are gone
            return
        self.imageReady.emit(job_id, result, image)

    @Slot(int)
    def _on_image_recorded(self, row_id: int) -> None:
        if self._stopped:  # late deliveries after shutdown: the window and gallery are gone
            return
        self.imageRecorded.emit(row_id)

    @Slot(float)
    def _on_engine_ready(self, seconds: float) -> None:
        self.engineReady.emit(seconds)

    @Slot(str, object)
    def _on_job_done(self, job_id: str, result: object) -> None:
        if self.current is not None and self.current.job_id == job_id:
            self.current = None
        if self._stopped:
            return
        self.jobFinished.emit(job_id, result)
        self._dispatch()
        self.queueChanged.emit()
        if self.current is None:
            self.idle.emit()
