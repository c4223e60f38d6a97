"""A model download on its own thread, reporting to the GUI thread through signals.

``DownloadTask`` lives on a ``QThread`` of its own: it plans the variant's files from the Hub, fetches
what is missing (resuming partial files) and verifies them, through :mod:`core.models.download`.
Its signals reach slots of GUI-thread objects (queued), never plain functions.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, QThread, Signal, Slot

from zit_desktop.core.errors import AppError
from zit_desktop.core.events import CancelToken
from zit_desktop.core.models import download as dl
from zit_desktop.core.models.catalogue import Variant
from zit_desktop.ui.window.worker import start_thread

log = logging.getLogger(__name__)


class _Runner(QObject):
    progress = Signal(object)  # dl.DownloadProgress
    done = Signal(bool)  # True: complete and verified; False: paused (partial files kept)
    failed = Signal(str, str)  # error kind, a message for the user (AppError.message)

    def __init__(self, variant: Variant, token: CancelToken) -> None:
        super().__init__()
        self.variant, self.token = variant, token

    @Slot()
    def run(self) -> None:
        try:
            plan = dl.plan(self.variant)
            outcome = dl.download(plan, self.progress.emit, self.token)
        except AppError as exc:
            log.error("downloading %s failed: %s (%s)", self.variant.id, exc.message, exc.detail)
            self.failed.emit(str(exc.kind), exc.message)
        except Exception:
            log.exception("downloading %s failed", self.variant.id)
            self.failed.emit("internal", "")
        else:
            self.done.emit(not outcome.cancelled)
        finally:
            QThread.currentThread().quit()


class DownloadTask(QObject):
    """GUI-thread handle of one download: start, pause (resumable), and its signals re-emitted here."""

    progress = Signal(object)
    done = Signal(bool)
    failed = Signal(str, str)

    def __init__(self, variant: Variant, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.variant = variant
        self._token = CancelToken()
        self._thread = QThread()
        self._thread.setObjectName(f"download-{variant.id}")
        self._runner = _Runner(variant, self._token)
        self._runner.moveToThread(self._thread)
        self._thread.started.connect(self._runner.run)
        self._runner.progress.connect(self._on_progress)
        self._runner.done.connect(self._on_done)
        self._runner.failed.connect(self._on_failed)
        self._thread.finished.connect(self._runner.deleteLater)

    def start(self) -> None:
        start_thread(self._thread)

    def pause(self) -> None:
        """Stop after the current chunk; the partial files stay and the next start resumes them."""
        self._token.cancel()

    @property
    def running(self) -> bool:
        return self._thread.isRunning()

    def wait(self, msecs: int = 30_000) -> bool:
        self.pause()
        return bool(self._thread.wait(msecs))

    @Slot(object)
    def _on_progress(self, event: dl.DownloadProgress) -> None:
        self.progress.emit(event)

    @Slot(bool)
    def _on_done(self, complete: bool) -> None:
        self.done.emit(complete)

    @Slot(str, str)
    def _on_failed(self, kind: str, message: str) -> None:
        self.failed.emit(kind, message)
