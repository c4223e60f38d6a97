"""The gallery's details pane: the selected image (scaled) and every parameter that made it."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import QCoreApplication, QEvent, QSize, Qt
from PySide6.QtGui import QAction, QImage, QImageReader, QPixmap, QResizeEvent
from PySide6.QtWidgets import (
    QBoxLayout,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from zit_desktop.core.history import HistoryRow
from zit_desktop.ui.gallery.lineage import LineageBox
from zit_desktop.ui.window import texts

PREVIEW_MAX_SIDE = 1024
_TIMING_ORDER = ("encode", "denoise", "decode", "save", "total")


def made_on(environment: Mapping[str, Any]) -> str:
    """Where an image was made: a server's name (its ComfyUI version and address), or this computer."""
    name = environment.get("engine_name")
    if not name:
        return QCoreApplication.translate("DetailsPane", "this computer")
    version = environment.get("comfyui_version")
    engine = f"ComfyUI {version}" if version else "ComfyUI"
    server = environment.get("server")
    return f"{name} ({engine}, {server})" if server else f"{name} ({engine})"


def format_bytes(value: int | None) -> str:
    if value is None:
        return "—"
    return f"{value / 2**30:.2f}\u00a0GB" if value >= 2**28 else f"{value / 2**20:.0f}\u00a0MB"


class DetailsPane(QWidget):
    """Shows one :class:`HistoryRow`; ``show_row(None)`` shows the empty hint."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("galleryDetails")
        self.row: HistoryRow | None = None
        self._image = QImage()
        self.preview = QLabel(self)
        self.preview.setObjectName("galleryPreview")
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setMinimumSize(QSize(160, 160))
        self.preview.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.missing = QLabel(self)
        self.missing.setObjectName("galleryMissing")
        self.missing.setWordWrap(True)
        self.missing.setStyleSheet("color: #c0392b; font-weight: bold;")
        self.missing.hide()
        self.hint = QLabel(self)
        self.hint.setObjectName("galleryDetailsHint")
        self.hint.setWordWrap(True)
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.buttons = QHBoxLayout()
        self.buttons.setSpacing(4)
        self.fields: dict[str, QLabel] = {}
        self._labels: dict[str, QLabel] = {}
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        for key in ("prompt", "negative", "seed", "size", "steps", "guidance", "engine", "strategy", "oom",
                    "timings", "vram", "created", "path"):
            value = QLabel(self)
            value.setObjectName(f"galleryDetail_{key}")
            value.setWordWrap(True)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label = QLabel(self)
            label.setBuddy(value)
            form.addRow(label, value)
            self.fields[key] = value
            self._labels[key] = label
        body = QWidget(self)
        inner = QVBoxLayout(body)
        inner.setContentsMargins(0, 0, 0, 0)
        inner.addLayout(form)
        inner.addStretch(1)
        scroll = QScrollArea(self)
        scroll.setObjectName("galleryDetailsScroll")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(body)
        image_side = QVBoxLayout()
        image_side.addWidget(self.preview, 1)
        image_side.addWidget(self.missing)
        info_side = QVBoxLayout()
        info_side.addLayout(self.buttons)
        info_side.addWidget(self.hint)
        self.lineage = LineageBox(self)  # source and finals, above the fields; the gallery gives it the store
        info_side.addWidget(self.lineage)
        info_side.addWidget(scroll, 1)
        # Side by side when the pane is wide (the bottom dock), stacked when it is tall.
        self._layout = QBoxLayout(QBoxLayout.Direction.TopToBottom, self)
        self._layout.setContentsMargins(6, 0, 0, 0)
        self._layout.addLayout(image_side, 2)
        self._layout.addLayout(info_side, 3)
        self.retranslate()
        self.show_row(None)

    def add_actions(self, actions: list[QAction]) -> None:
        for action in actions:
            button = QToolButton(self)
            button.setObjectName(f"galleryButton_{action.objectName()}")
            button.setDefaultAction(action)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            button.setAccessibleName(action.text())
            action.changed.connect(lambda b=button, a=action: b.setAccessibleName(a.text()))
            self.buttons.addWidget(button)
        self.buttons.addStretch(1)

    def retranslate(self) -> None:
        titles = {
            "prompt": self.tr("Prompt"), "negative": self.tr("Negative prompt"), "seed": self.tr("Seed"),
            "size": self.tr("Size"), "steps": self.tr("Steps"), "guidance": self.tr("Guidance"),
            "engine": self.tr("Made on"), "strategy": self.tr("Memory strategy"), "oom": self.tr("Out-of-memory retries"),
            "timings": self.tr("Timings"), "vram": self.tr("Peak VRAM"), "created": self.tr("Created"),
            "path": self.tr("File"),
        }
        for key, text in titles.items():
            self._labels[key].setText(self.tr("%1:").replace("%1", text))
            self.fields[key].setAccessibleName(text)
        self.preview.setAccessibleName(self.tr("Selected image"))
        self.missing.setAccessibleName(self.tr("File missing"))
        self.hint.setText(self.tr("Select an image to see how it was made."))
        self.setAccessibleName(self.tr("Image details"))
        if self.row is not None:
            self.show_row(self.row)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def show_row(self, row: HistoryRow | None) -> None:
        same_file = row is not None and self.row is not None and row.path == self.row.path
        self.row = row
        self.hint.setVisible(row is None)
        for key, field in self.fields.items():
            field.setVisible(row is not None)
            self._labels[key].setVisible(row is not None)
        self.lineage.show_row(row)
        if row is None:
            self._image = QImage()
            self.preview.clear()
            self.missing.hide()
            self._set_buttons_visible(False)
            return
        self._set_buttons_visible(True)
        missing = not os.path.exists(row.path)
        self.missing.setVisible(missing)
        self.missing.setText(self.tr("File missing: it was deleted or moved. If you moved it, use "
                                     "“Rebuild from folder…” to find it again."))
        if not (same_file and not self._image.isNull()) or missing:
            self._image = QImage() if missing else _read_image(row.path)
            if self._image.isNull() and row.thumbnail and os.path.exists(row.thumbnail):
                self._image = _read_image(row.thumbnail)  # the thumbnail outlives a missing file
        self._update_preview()
        f = self.fields
        f["prompt"].setText(row.prompt)
        f["negative"].setText(row.negative_prompt or self.tr("(none)"))
        f["seed"].setText(str(row.seed))
        size = f"{row.width} × {row.height}"
        f["size"].setText(f"{size} ({row.preset})" if row.preset else size)
        f["steps"].setText(str(row.steps))
        guidance = f"{row.guidance:g}"
        f["guidance"].setText(guidance + (self.tr(" (off: negative prompt unused)")
                                          if row.guidance == 0 else ""))
        f["engine"].setText(made_on(row.environment))
        f["strategy"].setText(texts.strategy_name(row.strategy) if row.strategy else "—")
        f["strategy"].setToolTip(row.strategy or "")  # the id the log and the PNG text use
        f["oom"].setText(str(row.oom_retries))
        f["timings"].setText(self._timings(row))
        f["vram"].setText(format_bytes(row.peak_vram_bytes))
        f["created"].setText(time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(row.created_at)))
        f["path"].setText(row.path)

    def _timings(self, row: HistoryRow) -> str:
        names = {"encode": self.tr("encode"), "denoise": self.tr("denoise"), "decode": self.tr("decode"),
                 "save": self.tr("save"), "total": self.tr("total")}
        keys = [k for k in _TIMING_ORDER if k in row.timings]
        keys += sorted(k for k in row.timings if k not in _TIMING_ORDER)
        parts = [f"{names.get(k, k)}\u00a0{float(row.timings[k]):.2f}\u00a0s" for k in keys]
        return " · ".join(parts) if parts else "—"

    def _set_buttons_visible(self, visible: bool) -> None:
        for i in range(self.buttons.count()):
            item = self.buttons.itemAt(i)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.setVisible(visible)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        wide = event.size().width() > event.size().height() * 1.2
        direction = QBoxLayout.Direction.LeftToRight if wide else QBoxLayout.Direction.TopToBottom
        if self._layout.direction() != direction:
            self._layout.setDirection(direction)
        self._update_preview()

    def _update_preview(self) -> None:
        if self._image.isNull():
            self.preview.setPixmap(QPixmap())
            self.preview.setText(self.tr("No image") if self.row is not None else "")
            return
        box = self.preview.contentsRect().size()
        scaled = self._image.scaled(box, Qt.AspectRatioMode.KeepAspectRatio,
                                    Qt.TransformationMode.SmoothTransformation)
        self.preview.setPixmap(QPixmap.fromImage(scaled))


def _read_image(path: str) -> QImage:
    reader = QImageReader(path)
    reader.setAutoTransform(True)
    size = reader.size()
    if size.isValid() and max(size.width(), size.height()) > PREVIEW_MAX_SIDE:
        reader.setScaledSize(size.scaled(QSize(PREVIEW_MAX_SIDE, PREVIEW_MAX_SIDE),
                                         Qt.AspectRatioMode.KeepAspectRatio))
    return reader.read()
