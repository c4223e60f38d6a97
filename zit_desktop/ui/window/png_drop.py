"""Drop a PNG on the window: its generation parameters fill the parameter panel.

Works for our own PNGs and those of A1111/Forge, ComfyUI, InvokeAI and Fooocus (via
:func:`zit_desktop.core.metadata.read.read_params`). A file that can't be read or carries no parameters
gives a non-modal message (the status bar) and changes nothing.

    install_png_drop(window, window.apply_reuse, window.current_request)
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEvent, QMimeData, QObject, Signal
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QMainWindow, QWidget

from zit_desktop.core.metadata.params import ImageParams
from zit_desktop.core.metadata.read import ParamsError, read_params, request_from_params
from zit_desktop.core.request import RANDOM_SEED, GenerationRequest, RequestError
from zit_desktop.ui.startup import qtcompat
from zit_desktop.ui.widgets.params_panel import Reuse

log = logging.getLogger(__name__)

MESSAGE_MS = 10_000
SOURCE_NAMES = {"zit-desktop": "ZIT Desktop", "a1111": "A1111/Forge", "comfyui": "ComfyUI",
                "invokeai": "InvokeAI", "fooocus": "Fooocus"}

ApplyReuse = Callable[[Reuse], object]
Notify = Callable[[str], object]


def params_summary(params: ImageParams) -> str:
    """One line for the status bar: ``ComfyUI · seed 42 · 1024×1280 · 9 steps · guidance 1``."""
    parts = [SOURCE_NAMES.get(params.source, params.source)]
    if params.seed is not None:
        parts.append(QCoreApplication.translate("PngDrop", "seed %1").replace("%1", str(params.seed)))
    if params.width and params.height:
        parts.append(f"{params.width}×{params.height}")
    if params.steps is not None:
        parts.append(QCoreApplication.translate("PngDrop", "%1 steps").replace("%1", str(params.steps)))
    if params.guidance is not None:
        parts.append(QCoreApplication.translate("PngDrop", "guidance %1").replace("%1", f"{params.guidance:g}"))
    return " · ".join(parts)


def local_files(mime: QMimeData) -> list[Path]:
    """The local files a drag carries (URLs of other kinds are ignored)."""
    if not mime.hasUrls():
        return []
    return [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile() and url.toLocalFile()]


class PngDropFilter(QObject):
    """Event filter for the window and its drop-accepting children (text edits among them)."""

    applied = Signal(object, object)  # GenerationRequest, ImageParams
    rejected = Signal(str)  # the message shown; nothing was changed

    def __init__(self, window: QWidget, apply: ApplyReuse, current_request: Callable[[], GenerationRequest],
                 notify: Notify | None = None) -> None:
        qtcompat.install()  # PySide6 6.12 + CPython 3.11 reference bug: before our first signal
        super().__init__(window)
        self.setObjectName("pngDropFilter")
        self.window = window
        self._apply = apply
        self._current = current_request
        self._notify = notify or _status_bar_notifier(window)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind in (QEvent.Type.DragEnter, QEvent.Type.DragMove):
            assert isinstance(event, (QDragEnterEvent, QDragMoveEvent))
            if local_files(event.mimeData()):
                event.acceptProposedAction()
                return True
            return False  # text and other drags: the widget's own handling
        if kind == QEvent.Type.Drop:
            assert isinstance(event, QDropEvent)
            files = local_files(event.mimeData())
            if not files:
                return False
            event.acceptProposedAction()
            self.load(files[0])
            return True
        return False

    def load(self, path: Path) -> GenerationRequest | None:
        """Read ``path`` and fill the panel; on any problem show a message and change nothing."""
        try:
            params = read_params(path)
            request = request_from_params(params, self._current())
        except ParamsError as exc:
            self._reject(str(exc))
            return None
        except (RequestError, ValueError, TypeError, OSError) as exc:
            log.warning("dropped file %s: %s", path, exc)
            self._reject(str(exc))
            return None
        lock = params.seed is not None and request.seed != RANDOM_SEED
        self._apply(Reuse(request, lock))
        self._notify(self.tr("Parameters filled in from %1 (%2).").replace("%1", Path(path).name)
                     .replace("%2", params_summary(params)))
        self.applied.emit(request, params)
        return request

    def _reject(self, reason: str) -> None:
        message = self.tr("Nothing was changed: %1").replace("%1", reason)
        self._notify(message)
        self.rejected.emit(message)


def _status_bar_notifier(window: QWidget) -> Notify:
    if isinstance(window, QMainWindow):
        return lambda text: window.statusBar().showMessage(text, MESSAGE_MS)
    return lambda text: window.setToolTip(text)


def install_png_drop(window: QWidget, apply: ApplyReuse, current_request: Callable[[], GenerationRequest], *,
                     notify: Notify | None = None) -> PngDropFilter:
    """Let ``window`` take PNG drops. Call after its children exist (they are hooked too).

    ``apply`` receives the :class:`Reuse`; ``current_request`` gives what a foreign PNG does not say
    (the model, the count).
    """
    drop = PngDropFilter(window, apply, current_request, notify)
    window.setAcceptDrops(True)
    window.installEventFilter(drop)
    for child in window.findChildren(QWidget):
        if child.acceptDrops():  # text edits and their viewports take drops before the window
            child.installEventFilter(drop)
    return drop
