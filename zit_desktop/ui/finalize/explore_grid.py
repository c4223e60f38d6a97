"""The explore grid: the variations of one batch as they arrive, one cell each, to pick from.

Click a cell, or move with the arrow keys and press Enter (or Space), to pick it; only cells whose
image has arrived can be picked. Each cell shows its live preview while it renders, then the image.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QEvent, QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFocusEvent, QImage, QKeyEvent, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from zit_desktop.ui.finalize.build import grid_shape

GAP = 8
LABEL_H = 20


@dataclass
class Cell:
    seed: int
    image: QImage | None = None
    preview: QImage | None = None
    path: str = ""
    row_id: int | None = None
    state: str = "waiting"  # waiting, running, done, stopped

    @property
    def ready(self) -> bool:
        return self.state == "done" and bool(self.path)


class ExploreGrid(QWidget):
    picked = Signal(int)  # the index of the cell the user picked

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("exploreGrid")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(160, 160)  # small enough for a 1366×768 screen with a taskbar, in every language
        self.setMouseTracking(True)
        self.cells: list[Cell] = []
        self.current = 0
        self.job_id = ""
        self._hover = -1
        self.retranslate()

    def sizeHint(self) -> QSize:
        return QSize(640, 640)

    # ------------------------------------------------------------------ content
    def begin(self, job_id: str, seeds: list[int]) -> None:
        """A new batch: one waiting cell per seed."""
        self.job_id = job_id
        self.cells = [Cell(seed) for seed in seeds]
        self.current = 0
        self._describe()
        self.update()

    def set_running(self, index: int) -> None:
        if 0 <= index < len(self.cells):
            self.cells[index].state = "running"
            self.update()

    def set_preview(self, index: int, image: QImage) -> None:
        if 0 <= index < len(self.cells) and self.cells[index].state != "done":
            self.cells[index].preview = image
            self.update()

    def set_image(self, index: int, image: QImage, path: str) -> None:
        if 0 <= index < len(self.cells):
            cell = self.cells[index]
            side = 768  # enough for a cell on any screen; the pick loads the file at full size
            cell.image = image if max(image.width(), image.height()) <= side else image.scaled(
                side, side, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
            cell.preview, cell.path, cell.state = None, path, "done"
            self._describe()
            self.update()

    def set_row(self, index: int, row_id: int) -> None:
        if 0 <= index < len(self.cells):
            self.cells[index].row_id = row_id

    def finish(self) -> None:
        """The batch ended (finished, failed or cancelled): cells without an image stay empty."""
        for cell in self.cells:
            if cell.state != "done":
                cell.state, cell.preview = "stopped", None
        self._describe()
        self.update()

    def shows_job(self, job_id: str) -> bool:
        return bool(job_id) and job_id == self.job_id

    # ------------------------------------------------------------------ picking
    def pick(self, index: int) -> bool:
        if 0 <= index < len(self.cells) and self.cells[index].ready:
            self.current = index
            self._describe()
            self.update()
            self.picked.emit(index)
            return True
        return False

    def cell_rect(self, index: int) -> QRect:
        cols, rows = grid_shape(max(1, len(self.cells)))
        w = (self.width() - GAP * (cols + 1)) / cols
        h = (self.height() - GAP * (rows + 1)) / rows
        c, r = index % cols, index // cols
        return QRectF(GAP + c * (w + GAP), GAP + r * (h + GAP), w, h).toRect()

    def cell_at(self, pos: QPointF) -> int:
        for i in range(len(self.cells)):
            if self.cell_rect(i).contains(pos.toPoint()):
                return i
        return -1

    def mousePressEvent(self, event: QMouseEvent) -> None:
        index = self.cell_at(event.position())
        if event.button() == Qt.MouseButton.LeftButton and index >= 0:
            self.current = index
            self.setFocus(Qt.FocusReason.MouseFocusReason)
            self.pick(index)
            self.update()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        index = self.cell_at(event.position())
        if index != self._hover:
            self._hover = index
            self.setCursor(Qt.CursorShape.PointingHandCursor if index >= 0 and self.cells[index].ready
                           else Qt.CursorShape.ArrowCursor)
            self.update()
        super().mouseMoveEvent(event)

    def leaveEvent(self, event: QEvent) -> None:
        self._hover = -1
        self.update()
        super().leaveEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        n = len(self.cells)
        if not n:
            super().keyPressEvent(event)
            return
        cols, _rows = grid_shape(n)
        moves = {Qt.Key.Key_Left: -1, Qt.Key.Key_Right: 1, Qt.Key.Key_Up: -cols, Qt.Key.Key_Down: cols}
        key = Qt.Key(event.key())
        if key in moves:
            target = self.current + moves[key]
            if 0 <= target < n:
                self.current = target
                self._describe()
                self.update()
            event.accept()
            return
        if key in (Qt.Key.Key_Home, Qt.Key.Key_End):
            self.current = 0 if key == Qt.Key.Key_Home else n - 1
            self._describe()
            self.update()
            event.accept()
            return
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space):
            self.pick(self.current)
            event.accept()
            return
        super().keyPressEvent(event)

    def focusInEvent(self, event: QFocusEvent) -> None:
        self.update()
        super().focusInEvent(event)

    def focusOutEvent(self, event: QFocusEvent) -> None:
        self.update()
        super().focusOutEvent(event)

    # ------------------------------------------------------------------ text
    def retranslate(self) -> None:
        self.setAccessibleName(self.tr("Variations"))
        self._describe()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def cell_text(self, index: int) -> str:
        cell = self.cells[index]
        if cell.state == "done":
            return self.tr("Seed {0}").format(cell.seed)
        if cell.state == "stopped":
            return self.tr("Seed {0} · not made").format(cell.seed)
        if cell.state == "running":
            return self.tr("Seed {0} · rendering…").format(cell.seed)
        return self.tr("Seed {0} · waiting").format(cell.seed)

    def _describe(self) -> None:
        if not self.cells:
            text = self.tr("No variations yet: press Explore.")
        else:
            text = self.tr("Variation {0} of {1}: {2}. Click one, or use the arrow keys and Enter, "
                           "to pick it.").format(self.current + 1, len(self.cells), self.cell_text(self.current))
        self.setAccessibleDescription(text)
        self.setToolTip(self.tr("Click a variation, or use the arrow keys and Enter, to pick it."))

    # ------------------------------------------------------------------ painting
    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), QColor("#2b2b2b"))
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        for i, cell in enumerate(self.cells):
            rect = QRectF(self.cell_rect(i))
            box = rect.adjusted(0, 0, 0, -LABEL_H)
            p.fillRect(box, QColor("#363636"))
            image = cell.image or cell.preview
            if image is not None and not image.isNull():
                size = image.size().scaled(box.size().toSize(), Qt.AspectRatioMode.KeepAspectRatio)
                target = QRectF(0, 0, size.width(), size.height())
                target.moveCenter(box.center())
                p.drawImage(target, image)
            else:
                p.setPen(QColor("#9a9a9a"))
                p.drawText(box, Qt.AlignmentFlag.AlignCenter,
                           self.tr("not made") if cell.state == "stopped" else self.tr("waiting…"))
            p.setPen(QColor("#dddddd"))
            p.drawText(rect.adjusted(4, rect.height() - LABEL_H, -4, 0),
                       Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, self.cell_text(i))
            if i == self.current and self.hasFocus():
                p.setPen(QPen(self.palette().highlight().color(), 3))
                p.setBrush(Qt.BrushStyle.NoBrush)
                p.drawRoundedRect(rect.adjusted(-3, -3, 3, 3), 4, 4)
            elif i == self._hover and cell.ready:
                p.setPen(QPen(QColor("#aaaaaa"), 2))
                p.setBrush(Qt.BrushStyle.NoBrush)
                p.drawRoundedRect(rect.adjusted(-2, -2, 2, 2), 4, 4)
        if not self.cells:
            p.setPen(QColor("#bbbbbb"))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.tr("No variations yet: press Explore."))
        p.end()
