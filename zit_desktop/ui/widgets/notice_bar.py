"""The one non-modal message strip: notices (OOM retry, truncation), job failures, and gallery
messages such as "1 image moved to the trash" with an Undo button.

``show_message(text, level)`` shows a message until dismissed, or for ``autohide_ms`` when the bar was
made with one; ``show_undo(text)`` adds the Undo button (which emits ``undoRequested``) for ``UNDO_MS``.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton, QWidget

UNDO_MS = 20_000
COLOURS = {  # background, border
    "info": ("#e8f1fb", "#9cc2ea"),
    "warning": ("#fff4d6", "#e0b84c"),
    "error": ("#fde3e3", "#d77c7c"),
}


class NoticeBar(QFrame):
    undoRequested = Signal()
    actionRequested = Signal()  # the optional action button of show_message(..., action=label)

    def __init__(self, parent: QWidget | None = None, name: str = "noticeBar", autohide_ms: int = 0) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.level = "info"
        self.autohide_ms = autohide_ms
        self.label = QLabel(self)
        self.label.setObjectName(f"{name}Text")
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.undo = QPushButton(self)
        self.undo.setObjectName(f"{name}Undo")
        self.undo.clicked.connect(self.undoRequested)
        self.undo.hide()
        self.action = QPushButton(self)
        self.action.setObjectName(f"{name}Action")
        self.action.clicked.connect(self.actionRequested)
        self.action.hide()
        self.close_button = QToolButton(self)
        self.close_button.setObjectName(f"{name}CloseButton")
        self.close_button.setText("×")
        self.close_button.setAutoRaise(True)
        self.close_button.clicked.connect(self.dismiss)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.undo, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.action, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignTop)
        self._timer = QTimer(self, singleShot=True)
        self._timer.timeout.connect(self.dismiss)
        self.retranslate()
        self.hide()

    def retranslate(self) -> None:
        self.close_button.setAccessibleName(self.tr("Dismiss message"))
        self.close_button.setToolTip(self.tr("Dismiss message"))
        self.undo.setText(self.tr("Undo"))
        self.undo.setToolTip(self.tr("Put the deleted images back (Ctrl+Z)"))
        self.undo.setAccessibleName(self.tr("Undo delete"))
        self.setAccessibleName(self.tr("Message"))

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def show_message(self, text: str, level: str = "info", action: str = "") -> None:
        """``action``: the label of a button that emits ``actionRequested`` (none when empty)."""
        self.action.setText(action)
        self.action.setVisible(bool(action))
        self._show(text, level, False, self.autohide_ms)

    def show_undo(self, text: str) -> None:
        self.action.hide()
        self._show(text, "info", True, UNDO_MS)

    def _show(self, text: str, level: str, undo: bool, msecs: int) -> None:
        self.level = level
        background, border = COLOURS.get(level, COLOURS["info"])
        self.setStyleSheet(
            f"QFrame#{self.objectName()} {{ background: {background}; border: 1px solid {border}; "
            "border-radius: 4px; }"
        )
        self.label.setText(text)
        self.setAccessibleDescription(text)
        self.undo.setVisible(undo)
        self.show()
        if msecs > 0:
            self._timer.start(msecs)
        else:
            self._timer.stop()

    def text(self) -> str:
        return self.label.text()

    def dismiss(self) -> None:
        self._timer.stop()
        self.hide()
        self.label.clear()
        self.undo.hide()
        self.action.hide()
