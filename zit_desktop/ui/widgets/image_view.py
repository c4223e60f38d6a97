"""Shows the live preview (1/8 size, scaled up smoothly) and then the final image, aspect kept."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget


def pil_to_qimage(picture: Any) -> QImage:
    """A ``PIL.Image`` as a QImage that owns its pixels (a few ms at 1024²; no PNG decode)."""
    rgb = picture if picture.mode == "RGB" else picture.convert("RGB")
    width, height = rgb.size
    return QImage(rgb.tobytes(), width, height, 3 * width, QImage.Format.Format_RGB888).copy()


class ImageView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("imageView")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(160, 160)  # small enough for a 1366×768 screen with a taskbar, in every language
        self.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        self.image: QImage | None = None
        self.is_preview = False
        self.preview_step = 0
        self.path: str | None = None
        self.aspect: tuple[int, int] | None = None  # the final image's size, for the preview's frame
        self._placeholder = ""
        self._scaled: QImage | None = None  # the final image scaled to the view, made once per size
        self.retranslate()

    def sizeHint(self) -> QSize:
        return QSize(640, 640)

    def retranslate(self) -> None:
        self._placeholder = self.tr("Your image appears here")
        self.setAccessibleName(self.tr("Image"))
        self._describe()

    def _describe(self) -> None:
        if self.image is None:
            text = self._placeholder
        elif self.is_preview:
            text = self.tr("Live preview, step {0}").format(self.preview_step)
        else:
            text = self.tr("Finished image: {0}").format(self.path or "")
        self.setAccessibleDescription(text)
        self.setToolTip(text if self.image is not None else "")

    def show_preview(self, image: QImage, step: int, final_size: tuple[int, int] | None = None) -> None:
        self.image = image
        self._scaled = None
        self.is_preview = True
        self.preview_step = step
        self.aspect = final_size
        self._describe()
        self.update()

    def show_image(self, image: QImage, path: str | None = None) -> None:
        self.image = image
        self._scaled = None
        self.is_preview = False
        self.path = path
        self.aspect = (image.width(), image.height())
        self._describe()
        self.update()

    def clear(self) -> None:
        self.image = None
        self.path = None
        self.is_preview = False
        self._describe()
        self.update()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), QColor("#2b2b2b"))
        if self.image is None or self.image.isNull():
            p.setPen(QColor("#bbbbbb"))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self._placeholder)
            p.end()
            return
        w, h = self.aspect or (self.image.width(), self.image.height())
        scale = min(self.width() / max(1, w), self.height() / max(1, h))
        tw, th = w * scale, h * scale
        target = QRectF((self.width() - tw) / 2, (self.height() - th) / 2, tw, th)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        if self.is_preview:
            p.drawImage(target, self.image)  # small (1/8 size): scaling it up is cheap
        else:
            size = target.size().toSize()
            if self._scaled is None or self._scaled.size() != size:
                self._scaled = self.image.scaled(
                    size, Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation
                )
            p.drawImage(target.topLeft(), self._scaled)
        if self.is_preview:
            p.setPen(QColor("#ffffff"))
            p.drawText(
                target.adjusted(6, 4, -6, -4),
                Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop,
                self.tr("Preview · step {0}").format(self.preview_step),
            )
        p.end()
