"""The crash dialog (bugs only) and Qt messages routed to logging.

Expected failures (out of memory, missing model, disk full, bad input) never come here: the window
shows them inline with what to do. This is for uncaught exceptions: they are logged, and the user
sees the log file's path so the report can be attached to an issue.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QMessageLogContext, QObject, QtMsgType, Signal, Slot, qInstallMessageHandler
from PySide6.QtWidgets import QMessageBox, QWidget

from zit_desktop.ui.startup import earlyinit

log = logging.getLogger("zit_desktop.qt")

_QT_LEVELS = {
    QtMsgType.QtDebugMsg: logging.DEBUG,
    QtMsgType.QtInfoMsg: logging.INFO,
    QtMsgType.QtWarningMsg: logging.WARNING,
    QtMsgType.QtCriticalMsg: logging.ERROR,
    QtMsgType.QtFatalMsg: logging.CRITICAL,
}


def _qt_message_handler(msg_type: QtMsgType, context: QMessageLogContext, message: str) -> None:
    where = f" ({context.file}:{context.line})" if context.file else ""
    log.log(_QT_LEVELS.get(msg_type, logging.WARNING), "%s%s", message, where)


def route_qt_messages() -> None:
    qInstallMessageHandler(_qt_message_handler)


class CrashReporter(QObject):
    """Lives on the GUI thread; ``report`` may be emitted from any thread (queued delivery)."""

    report = Signal(str, str)

    def __init__(self, log_file: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.log_file = log_file
        self.parent_widget: QWidget | None = None
        self._open: QMessageBox | None = None
        self.report.connect(self._show)

    def install(self) -> None:
        earlyinit.set_reporter(self.report.emit)

    @Slot(str, str)
    def _show(self, title: str, details: str) -> None:
        if self._open is not None and self._open.isVisible():
            return  # one dialog at a time; everything is in the log anyway
        box = QMessageBox(self.parent_widget)
        box.setIcon(QMessageBox.Icon.Critical)
        box.setWindowTitle(self.tr("ZIT Desktop: internal error"))
        box.setText(
            self.tr(
                "Something went wrong inside ZIT Desktop (a bug, not something you did). "
                "You can keep working; if it happens again, please report it with the log file:\n{0}"
            ).format(self.log_file)
        )
        box.setInformativeText(title)
        box.setDetailedText(details)
        box.setStandardButtons(QMessageBox.StandardButton.Close)
        box.setModal(False)
        box.setAccessibleName(self.tr("Internal error"))
        self._open = box
        box.show()

    def show_previous_native_crash(self, dump: Path) -> None:
        try:
            text = dump.read_text(encoding="utf-8", errors="replace")[-8000:]
        except OSError:
            text = ""
        box = QMessageBox(self.parent_widget)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle(self.tr("ZIT Desktop closed unexpectedly"))
        box.setText(
            self.tr("ZIT Desktop closed unexpectedly last time. The crash report was saved to:\n{0}").format(
                dump
            )
        )
        box.setDetailedText(text)
        box.setModal(False)
        self._open = box
        box.show()
