"""Lineage in the gallery: an image's source (its parent row) and its finals (the refined or upscaled
children), as clickable thumbnails in the details pane, and the "final" mark on thumbnails.

A final is a row whose stored request has ``finalize`` set (core/request.py); the link to its source
is the row's ``parent_id``, which the history records when the finalize job runs.
"""

from __future__ import annotations

import os
from typing import Any

from PySide6.QtCore import QEvent, QSize, Qt, Signal
from PySide6.QtGui import QIcon, QImageReader, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QWidget

from zit_desktop.core.history import HistoryRow, HistoryStore
from zit_desktop.core.jsonobj import json_object

LINK_THUMB = 40


def final_step(row: HistoryRow) -> dict[str, Any] | None:
    """The finalize step that made ``row`` (method, scale, …), or None for a first-stage image."""
    data = json_object(row.request_json) or {}
    step = data.get("finalize")
    return step if isinstance(step, dict) and step.get("method") else None


def final_method(row: HistoryRow) -> str | None:
    step = final_step(row)
    return str(step["method"]) if step is not None else None


class LineageBox(QWidget):
    """Links above the details: "Source" (the parent) and "Finals" (the children that are refined or
    upscaled). Clicking one emits ``selectRequested`` with its row id."""

    selectRequested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("galleryLineage")
        self.store: HistoryStore | None = None
        self.row: HistoryRow | None = None
        self.links: dict[int, QToolButton] = {}  # row id -> its link button
        self.source_title = QLabel(self)
        self.finals_title = QLabel(self)
        # one row (the dock is short): Source: [link]   Finals: [link] [link] …
        self.source_box = QHBoxLayout()
        self.finals_box = QHBoxLayout()
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 4)
        row.setSpacing(4)
        for title, box in ((self.source_title, self.source_box), (self.finals_title, self.finals_box)):
            box.setContentsMargins(0, 0, 12, 0)
            box.setSpacing(2)
            row.addWidget(title)
            row.addLayout(box)
        row.addStretch(1)
        self.retranslate()
        self.hide()

    def retranslate(self) -> None:
        self.source_title.setText(self.tr("Source:"))
        self.finals_title.setText(self.tr("Finals:"))
        self.setAccessibleName(self.tr("Lineage"))
        if self.row is not None:
            self.show_row(self.row)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def show_row(self, row: HistoryRow | None) -> None:
        self.row = row
        for box in (self.source_box, self.finals_box):
            while box.count():
                item = box.takeAt(0)
                widget = item.widget() if item is not None else None
                if widget is not None:
                    widget.deleteLater()
        self.links = {}
        if row is None or self.store is None:
            self.hide()
            return
        parent = self.store.get(row.parent_id) if row.parent_id is not None else None
        if parent is not None and parent.trashed:
            parent = None
        finals = [c for c in self.store.children(row.id) if not c.trashed and final_step(c) is not None]
        if parent is not None:
            self.source_box.addWidget(self._link(parent))
        for child in finals:
            self.finals_box.addWidget(self._link(child))
        self.source_title.setVisible(parent is not None)
        self.finals_title.setVisible(bool(finals))
        self.setVisible(parent is not None or bool(finals))

    def on_row_recorded(self, row: HistoryRow) -> bool:
        """A row was just recorded: when it is a child of the shown row (a finalize of it finished),
        or its parent, show the links again. True when they were rebuilt."""
        shown = self.row
        if shown is None or not (row.parent_id == shown.id or shown.parent_id == row.id):
            return False
        self.show_row(shown)
        return True

    def _link(self, row: HistoryRow) -> QToolButton:
        button = QToolButton(self)
        button.setObjectName(f"lineageLink_{row.id}")
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        button.setAutoRaise(True)
        button.setIconSize(QSize(LINK_THUMB, LINK_THUMB))
        icon = _thumb(row)
        if not icon.isNull():
            button.setIcon(QIcon(icon))
        text = self.describe(row)
        button.setText(text)
        button.setToolTip(self.tr("Show this image: {0}").format(text))
        button.setAccessibleName(self.tr("Show {0}").format(text))
        button.clicked.connect(lambda _c=False, rid=row.id: self.selectRequested.emit(rid))
        self.links[row.id] = button
        return button

    def describe(self, row: HistoryRow) -> str:
        step = final_step(row)
        size = f"{row.width}×{row.height}"
        if step is None:
            return size
        if step.get("method") == "upscale":
            scale = int(step.get("scale") or 2)
            return self.tr("upscaled ×{0}").format(scale)
        return self.tr("refined {0}").format(size)


def _thumb(row: HistoryRow) -> QPixmap:
    """The row's thumbnail (small, made at record time), else the image itself, scaled on read."""
    for path in (row.thumbnail, row.path):
        if path and os.path.exists(path):
            reader = QImageReader(path)
            size = reader.size()
            if size.isValid():
                reader.setScaledSize(size.scaled(QSize(LINK_THUMB, LINK_THUMB), Qt.AspectRatioMode.KeepAspectRatio))
            image = reader.read()
            if not image.isNull():
                return QPixmap.fromImage(image)
    return QPixmap()
