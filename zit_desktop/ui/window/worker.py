"""The one worker thread that owns the engine, and the GUI-side job queue in front of it.

``EngineWorker`` lives on its own ``QThread``: it creates the engine there (so torch and diffusers are
imported off the GUI thread) and runs one job at a time through :func:`core.jobs.run_and_record`, which
records every saved image in the history. It forwards each core event object unchanged in one
``engineEvent`` signal; only the live preview gets its own signal, as a ``QImage`` built on this thread.

``JobController`` lives on the GUI thread. It owns the visible queue, hands jobs to the worker one at a
time and passes the events on from a slot of its own, so whatever the window connects to runs on the
GUI thread (a plain function connected to a worker signal would run on the worker thread).

Cancel stops only the running job; the next waiting one then starts. Waiting jobs are removed one by
one, reordered, or cleared together. ``finish_current_image`` lets the image in progress be saved and
then stops (the batch's other images and the queue do not start), for "finish, then quit".
"""

from __future__ import annotations

import copy
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QObject, QThread, Signal, Slot
from PySide6.QtGui import QImage

from zit_desktop.core.errors import AppError
from zit_desktop.core.events import CancelToken, Event, Loading, Notice, Preview, Result
from zit_desktop.core.history import HistoryStore
from zit_desktop.core.jobs import EngineLike, internal_failure, run_and_record
from zit_desktop.core.request import GenerationRequest
from zit_desktop.core.settings import Settings

log = logging.getLogger(__name__)


class WorkerEngine(EngineLike, Protocol):
    def update_settings(self, settings: Settings) -> None: ...


EngineFactory = Callable[[], WorkerEngine]

_started_threads: list[QThread] = []


def start_thread(thread: QThread) -> None:
    """Start ``thread`` and remember it, so tests can check none outlives them."""
    _started_threads[:] = [t for t in _started_threads if t.isRunning()]
    _started_threads.append(thread)
    thread.start()


def running_threads() -> list[QThread]:
    return [t for t in _started_threads if t.isRunning()]


@dataclass(frozen=True)
class EngineStarted:
    """The worker's own event: the engine exists (``seconds`` to start it), or could not be started."""

    seconds: float
    failed: bool = False


@dataclass(frozen=True)
class MemoryFreed:
    """The worker's own event: "Free GPU memory" ran; ``unloaded`` says a loaded model was let go
    (it loads again with the next job)."""

    unloaded: bool


WorkerEvent = Event | EngineStarted | MemoryFreed


@dataclass
class Job:
    request: GenerationRequest
    parent_id: int | None = None
    job_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    token: CancelToken = field(default_factory=CancelToken)


class EngineWorker(QObject):
    """Owns the engine. Lives on the worker thread; never dies of an engine error."""

    engineEvent = Signal(object)  # a core event (core.events) or EngineStarted, unchanged
    preview = Signal(str, int, int, QImage)  # job id, image index, step, image (1/8 size)

    def __init__(
        self, engine_factory: EngineFactory, history_db: Path | None, preview_interval: float = 0.04
    ) -> None:
        super().__init__()
        self._factory = engine_factory
        self._engine: WorkerEngine | None = None
        self._history_db = history_db
        self._history: HistoryStore | None = None
        self._history_tried = False
        self._preview_interval = preview_interval
        self._last_preview = 0.0
        self._settings: Settings | None = None

    # ------------------------------------------------------------------ engine
    def _ensure_engine(self) -> WorkerEngine:
        if self._engine is None:
            t0 = time.perf_counter()
            self.engineEvent.emit(Loading("engine", "Starting the engine"))
            engine = self._factory()
            if self._settings is not None:
                engine.update_settings(self._settings)
            warm_up = getattr(engine, "warm_up", None)  # the routing engine: torch only for this computer
            if callable(warm_up):
                target = getattr(engine, "target", None)
                if not callable(target) or str(target()).lower() == "local":
                    self.engineEvent.emit(Loading("engine-local", "Starting the engine (torch, diffusers)"))
                warm_up()
            self._engine = engine
            self.engineEvent.emit(EngineStarted(time.perf_counter() - t0))
        return self._engine

    @Slot(object)
    def set_settings(self, settings: Settings) -> None:
        """New preferences (a private copy): used from the next job on."""
        self._settings = settings
        if self._engine is not None:
            self._engine.update_settings(settings)

    @Slot()
    def warm_up(self) -> None:
        try:
            self._ensure_engine()
        except Exception:
            log.exception("engine warm-up failed")
            # clears the "Starting the engine…" status; the first job will report the failure itself
            self.engineEvent.emit(EngineStarted(0.0, failed=True))

    @Slot()
    def free_gpu_memory(self) -> None:
        """Unload the pipeline and return the cached VRAM to the driver, between jobs (this slot is
        queued behind a running job). The next job loads the model again."""
        engine = self._engine
        unload = getattr(engine, "unload", None)  # a remote engine holds no local memory
        loaded = getattr(engine, "pipeline", None) is not None
        if callable(unload):
            try:
                unload()
            except Exception:
                log.exception("freeing GPU memory failed")
        log.info("GPU memory freed on request (a model was %sloaded)", "" if loaded else "not ")
        self.engineEvent.emit(MemoryFreed(loaded))

    @Slot(object)
    def run_job(self, job: Job) -> None:
        """Run one job; whatever happens, exactly one terminal event for it goes out."""
        self._last_preview = 0.0
        try:
            engine = self._ensure_engine()
        except Exception:
            log.exception("the engine could not start")
            self.engineEvent.emit(internal_failure(job.job_id, "the engine could not start"))
            return
        try:
            run_and_record(
                engine, self._store(), job.request, self._forward,
                parent_id=job.parent_id, cancel=job.token, job_id=job.job_id,
            )  # fmt: skip
        except Exception:  # a bug here must not leave the job running forever in the window
            log.exception("running job %s failed", job.job_id)
            self.engineEvent.emit(internal_failure(job.job_id, "the job could not be run"))

    def _forward(self, event: Event) -> None:
        if not isinstance(event, Preview):
            self.engineEvent.emit(event)
            return
        now = time.monotonic()
        if now - self._last_preview < self._preview_interval:
            return
        self._last_preview = now
        image = QImage(event.rgb, event.width, event.height, 3 * event.width, QImage.Format.Format_RGB888)
        self.preview.emit(event.job_id, event.index, event.step, image.copy())

    def _store(self) -> HistoryStore | None:
        if self._history_tried or self._history_db is None:
            return self._history
        self._history_tried = True
        try:
            self._history = HistoryStore(self._history_db)
        except Exception as exc:  # AppError, or an OSError from an unusable folder: generate anyway
            log.exception("cannot open the history database")
            reason = exc.message if isinstance(exc, AppError) else f"{exc.strerror or exc}" if isinstance(
                exc, OSError) else "the details are in the log file"
            self.engineEvent.emit(Notice("", "history", f"The history cannot be opened: {reason}."))
        return self._history

    @Slot()
    def stop(self) -> None:
        """Last call on the worker thread: close the history, then end the thread's event loop."""
        if self._history is not None:
            try:
                self._history.close()
            except Exception:
                log.exception("closing the history failed")
        self._history = None
        closer = getattr(self._engine, "close", None)  # remote engines hang up their sockets
        if callable(closer):
            try:
                closer()
            except Exception:
                log.exception("closing the engine failed")
        self._engine = None
        thread = QThread.currentThread()
        thread.quit()


class JobController(QObject):
    """GUI-thread side: the visible queue, cancel, shutdown; passes the worker's events on."""

    engineEvent = Signal(object)  # every WorkerEvent, in order, on the GUI thread
    preview = Signal(str, int, int, QImage)  # job id, image index, step, image
    jobFinished = Signal(str, object)  # job id, its terminal event: the job left the queue
    queueChanged = Signal()
    idle = Signal()

    _runJob = Signal(object)
    _warmUp = Signal()
    _stop = Signal()
    _settings = Signal(object)
    _freeMemory = Signal()

    def __init__(
        self, engine_factory: EngineFactory, history_db: Path | None, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.pending: list[Job] = []
        self.current: Job | None = None
        self._stopped = False
        self._held = False  # finish_current_image: start no waiting job until resume()
        self._thread = QThread()
        self._thread.setObjectName("engine-worker")
        self._worker = EngineWorker(engine_factory, history_db)
        self._worker.moveToThread(self._thread)
        self._runJob.connect(self._worker.run_job)
        self._warmUp.connect(self._worker.warm_up)
        self._stop.connect(self._worker.stop)
        self._settings.connect(self._worker.set_settings)
        self._freeMemory.connect(self._worker.free_gpu_memory)
        self._worker.engineEvent.connect(self._on_event)
        self._worker.preview.connect(self._on_preview)
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

    def update_engine_settings(self, settings: Settings) -> None:
        """Hand the worker a private copy of new preferences; a running job keeps its own."""
        if not self._stopped:
            self._settings.emit(copy.deepcopy(settings))

    def warm_up(self) -> None:
        """Start the engine (import torch) in the background before the first job."""
        if not self._stopped:
            self._warmUp.emit()

    def free_gpu_memory(self) -> None:
        """Ask the worker to unload the model (after the running job, before the next one)."""
        if not self._stopped:
            self._freeMemory.emit()

    @property
    def held(self) -> bool:
        """True after ``finish_current_image`` (until ``resume``): no waiting job starts."""
        return self._held

    def cancel_current(self) -> None:
        """Stop the running job (at its next step); the waiting jobs stay and the next one starts."""
        if self.current is not None:
            self.current.token.cancel()

    def remove(self, job_id: str) -> bool:
        """Take one waiting job out of the queue; False if it is not waiting (running or gone)."""
        for i, job in enumerate(self.pending):
            if job.job_id == job_id:
                del self.pending[i]
                self.queueChanged.emit()
                return True
        return False

    def move(self, job_id: str, delta: int) -> bool:
        """Move a waiting job ``delta`` places (negative: sooner); False if it cannot move."""
        ids = [job.job_id for job in self.pending]
        if job_id not in ids:
            return False
        i = ids.index(job_id)
        j = max(0, min(len(ids) - 1, i + delta))
        if i == j:
            return False
        self.pending.insert(j, self.pending.pop(i))
        self.queueChanged.emit()
        return True

    def clear_queue(self) -> int:
        """Remove every waiting job (the running one goes on); returns how many were removed."""
        removed = len(self.pending)
        if removed:
            self.pending.clear()
            self.queueChanged.emit()
        return removed

    def finish_current_image(self) -> bool:
        """Let the image in progress finish and be saved, then stop: the running batch ends before its
        next image and no waiting job starts until :meth:`resume`. False when nothing runs."""
        self._held = True
        if self.current is None:
            return False
        self.current.token.stop_after_image()
        return True

    def resume(self) -> None:
        """Undo :meth:`finish_current_image` (the batch goes on if it has not stopped yet)."""
        self._held = False
        if self.current is not None:
            self.current.token.keep_going()
        self._dispatch()
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
        if self.current is None and self.pending and not self._stopped and not self._held:
            self.current = self.pending.pop(0)
            self._runJob.emit(self.current)

    @Slot(str, int, int, QImage)
    def _on_preview(self, job_id: str, index: int, step: int, image: QImage) -> None:
        if not self._stopped:
            self.preview.emit(job_id, index, step, image)

    @Slot(object)
    def _on_event(self, event: WorkerEvent) -> None:
        if not isinstance(event, Result):
            if not self._stopped:  # late deliveries after shutdown: the window and gallery are gone
                self.engineEvent.emit(event)
            return
        if self.current is not None and self.current.job_id == event.job_id:
            self.current = None  # before the window sees the end: the job is no longer running
        if self._stopped:
            return
        self.engineEvent.emit(event)
        self.jobFinished.emit(event.job_id, event)
        self._dispatch()
        self.queueChanged.emit()
        if self.current is None:
            self.idle.emit()
