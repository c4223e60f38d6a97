"""Small parts of the gallery panel: the filter bar, the notice/undo bar and the thumbnail delegate."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import (
    QEvent,
    QModelIndex,
    QPersistentModelIndex,
    QPointF,
    QProcess,
    QRectF,
    QSize,
    QSizeF,
    Qt,
    QUrl,
    Signal,
)
from PySide6.QtGui import QAction, QColor, QFont, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QToolButton,
    QWidget,
)

from zit_desktop.core.sizes import PRESETS, PRESETS_BY_NAME
from zit_desktop.ui.gallery.model import Roles

NOTICE_MS = 10_000
_DAYS: tuple[int | None, ...] = (None, 0, 7, 30)  # all, today, 7 days, 30 days


def reveal_in_file_manager(path: Path, open_url: Callable[[QUrl], bool]) -> bool:
    """Show ``path`` selected in the file manager (Windows, macOS) or open its folder; False if gone."""
    if sys.platform == "win32" and path.exists():
        return bool(QProcess.startDetached("explorer", ["/select,", os.path.normpath(path)]))
    if sys.platform == "darwin" and path.exists():
        return bool(QProcess.startDetached("open", ["-R", os.fspath(path)]))
    if path.parent.is_dir():
        open_url(QUrl.fromLocalFile(os.fspath(path.parent)))
        return True
    return False


class FilterBar(QWidget):
    """Search box, favourites toggle, size-preset and date filters, image count, the ⋯ menu."""

    textEdited = Signal(str)
    changed = Signal()
    rebuildRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("galleryFilters")
        self._count = 0
        self._presets: list[str] = []
        self.search = QLineEdit(self)
        self.search.setObjectName("gallerySearch")
        self.search.setClearButtonEnabled(True)
        self.favorites = QToolButton(self)
        self.favorites.setObjectName("galleryFavoritesOnly")
        self.favorites.setCheckable(True)
        self.favorites.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.preset_combo = QComboBox(self)
        self.preset_combo.setObjectName("galleryPresetFilter")
        self.date_combo = QComboBox(self)
        self.date_combo.setObjectName("galleryDateFilter")
        self.count_label = QLabel(self)
        self.count_label.setObjectName("galleryCount")
        self.more = QToolButton(self)
        self.more.setObjectName("galleryMore")
        self.more.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.rebuild_action = QAction(self)
        self.rebuild_action.setObjectName("rebuildFromFolder")
        self.rebuild_action.triggered.connect(lambda _c=False: self.rebuildRequested.emit())
        menu = QMenu(self.more)
        menu.addAction(self.rebuild_action)
        self.more.setMenu(menu)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 4)
        layout.addWidget(self.search, 3)
        layout.addWidget(self.favorites)
        layout.addWidget(self.preset_combo, 1)
        layout.addWidget(self.date_combo, 1)
        layout.addWidget(self.count_label)
        layout.addWidget(self.more)
        self.search.textEdited.connect(self.textEdited)
        self.search.returnPressed.connect(self.changed)
        self.favorites.toggled.connect(lambda _on: self.changed.emit())
        self.preset_combo.currentIndexChanged.connect(lambda _i: self.changed.emit())
        self.date_combo.currentIndexChanged.connect(lambda _i: self.changed.emit())
        self.retranslate()

    def retranslate(self) -> None:
        self.search.setPlaceholderText(self.tr("Search prompts (中文 or English)…"))
        self.search.setAccessibleName(self.tr("Search prompts"))
        self.favorites.setText(self.tr("★ Favourites"))
        self.favorites.setToolTip(self.tr("Show only favourites"))
        self.favorites.setAccessibleName(self.tr("Show only favourites"))
        self.preset_combo.setAccessibleName(self.tr("Size preset filter"))
        self.preset_combo.setToolTip(self.tr("Show one size preset only"))
        self.date_combo.setAccessibleName(self.tr("Date filter"))
        self.date_combo.setToolTip(self.tr("Show images made in this period"))
        self.more.setText(self.tr("More…"))
        self.more.setAccessibleName(self.tr("More gallery actions"))
        self.rebuild_action.setText(self.tr("Rebuild from folder…"))
        self.count_label.setAccessibleName(self.tr("Number of images"))
        with _Quiet(self.date_combo):
            index = max(0, self.date_combo.currentIndex())
            self.date_combo.clear()
            for text in (self.tr("All time"), self.tr("Today"), self.tr("Last 7 days"), self.tr("Last 30 days")):
                self.date_combo.addItem(text)
            self.date_combo.setCurrentIndex(index)
        self.set_presets(self._presets)
        self.set_count(self._count)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def set_presets(self, used: list[str]) -> None:
        """The preset filter lists the built-in presets and any other name found in the history."""
        self._presets = list(used)
        current = self.preset()
        names = [p.name for p in PRESETS] + sorted(n for n in used if n not in PRESETS_BY_NAME)
        with _Quiet(self.preset_combo):
            self.preset_combo.clear()
            self.preset_combo.addItem(self.tr("All sizes"), None)
            for name in names:
                p = PRESETS_BY_NAME.get(name)
                label = name if p is None else (p.label if p.label == f"{p.width}×{p.height}"
                                                else f"{p.label} ({p.width}×{p.height})")
                self.preset_combo.addItem(label, name)
            self.preset_combo.setCurrentIndex(max(0, self.preset_combo.findData(current)))

    def set_count(self, count: int) -> None:
        self._count = count
        self.count_label.setText(self.tr("1 image") if count == 1 else self.tr("%n images", "", count))

    def set_busy(self, busy: bool) -> None:
        self.rebuild_action.setEnabled(not busy)

    def text(self) -> str:
        return self.search.text()

    def favorites_only(self) -> bool:
        return self.favorites.isChecked()

    def preset(self) -> str | None:
        data = self.preset_combo.currentData()
        return data if isinstance(data, str) else None

    def days(self) -> int | None:
        return _DAYS[max(0, self.date_combo.currentIndex())]


class _Quiet:
    """``with _Quiet(widget):`` blocks its signals while it is refilled."""

    def __init__(self, widget: QWidget) -> None:
        self.widget = widget

    def __enter__(self) -> None:
        self._was = self.widget.blockSignals(True)

    def __exit__(self, *exc: object) -> None:
        self.widget.blockSignals(self._was)


class ThumbDelegate(QStyledItemDelegate):
    """Draws a thumbnail centred in its cell, the selection frame, a favourite star, a "missing file"
    mark and a "refined"/"upscaled" badge on finals; every cell has the same size, so the view never
    measures items."""

    def __init__(self, cell: QSize, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.cell = cell

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        return self.cell

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        rect = QRectF(option.rect).adjusted(3, 3, -3, -3)
        state = option.state
        palette = option.palette
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if state & QStyle.StateFlag.State_Selected:
            painter.setPen(QPen(palette.highlight().color(), 3))
            painter.setBrush(palette.highlight().color().lighter(170))
            painter.drawRoundedRect(rect, 6, 6)
        elif state & QStyle.StateFlag.State_MouseOver:
            painter.setPen(QPen(palette.mid().color(), 1))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(rect, 6, 6)
        pixmap = index.data(Qt.ItemDataRole.DecorationRole)
        inner = rect.adjusted(4, 4, -4, -4)
        if isinstance(pixmap, QPixmap) and not pixmap.isNull():
            size = QSizeF(pixmap.size()).scaled(inner.size(), Qt.AspectRatioMode.KeepAspectRatio)
            if pixmap.width() <= inner.width() and pixmap.height() <= inner.height():
                size = QSizeF(pixmap.size())  # never blow small thumbnails up
            target = QRectF(QPointF(0, 0), size)
            target.moveCenter(inner.center())
            painter.drawPixmap(target, pixmap, QRectF(pixmap.rect()))
            inner = target
        favorite = bool(index.data(Roles.Favorite))
        missing = bool(index.data(Roles.Missing))
        font = QFont(painter.font())
        font.setBold(True)
        font.setPixelSize(16)
        painter.setFont(font)
        if missing:
            painter.fillRect(inner, QColor(0, 0, 0, 110))
            badge = QRectF(inner.left() + 3, inner.top() + 3, 22, 22)
            painter.setBrush(QColor(192, 57, 43))
            painter.setPen(Qt.PenStyle.NoPen)
            painter.drawEllipse(badge)
            painter.setPen(QPen(QColor("white")))
            painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, "!")
        final = index.data(Roles.Final)
        if final:
            self._final_badge(painter, inner, str(final))
        if favorite:
            star = QRectF(inner.right() - 25, inner.top() + 3, 22, 22)
            painter.setPen(QPen(QColor(0, 0, 0, 160)))
            painter.drawText(star.translated(1, 1), Qt.AlignmentFlag.AlignCenter, "★")
            painter.setPen(QPen(QColor(255, 200, 40)))
            painter.drawText(star, Qt.AlignmentFlag.AlignCenter, "★")
        painter.restore()

    def _final_badge(self, painter: QPainter, inner: QRectF, method: str) -> None:
        text = self.tr("refined") if method == "refine" else self.tr("upscaled")
        font = QFont(painter.font())
        font.setPixelSize(11)
        painter.setFont(font)
        width = painter.fontMetrics().horizontalAdvance(text) + 10
        badge = QRectF(inner.left() + 3, inner.bottom() - 19, width, 16)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(41, 128, 185, 220))
        painter.drawRoundedRect(badge, 8, 8)
        painter.setPen(QPen(QColor("white")))
        painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, text)
        font.setPixelSize(16)
        painter.setFont(font)
