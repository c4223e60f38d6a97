"""Size-preset buttons; each shows whether it fits this card (a coloured dot) and the predicted peak.

The fits are the memory advisor's :class:`~zit_desktop.core.memory.fits.PresetFit` answers, shown as
they are; the only thing added here is the CPU dot, for a fit whose rung is ``Rung.CPU``.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QButtonGroup, QHBoxLayout, QToolButton, QWidget

from zit_desktop.core.memory.fits import PresetFit, Verdict
from zit_desktop.core.memory.rungs import Rung
from zit_desktop.core.sizes import PRESETS
from zit_desktop.ui.window import texts

OBJECT_NAMES = {
    "512x512": "preset512",
    "768x768": "preset768",
    "1024x1024": "preset1024",
    "landscape": "presetLandscape",
    "portrait": "presetPortrait",
}
DOT_COLOURS = {  # by badge_status()
    Verdict.FITS: "#2e9d4f",
    Verdict.OFFLOAD: "#e0a000",
    Verdict.TOO_BIG: "#c0392b",
    Verdict.UNKNOWN: "#9e9e9e",
    Rung.CPU: "#7f8fa6",
}


def badge_status(fit: PresetFit) -> Verdict | Rung:
    """The dot a fit gets: its verdict, or ``Rung.CPU`` when the image would be made on the CPU."""
    return Rung.CPU if fit.rung == Rung.CPU else fit.verdict


def _shown(fit: PresetFit) -> tuple[Verdict | Rung, Rung | None, int]:
    return badge_status(fit), fit.rung, fit.predicted_peak_bytes


def _dot(colour: str) -> QIcon:
    pix = QPixmap(12, 12)
    pix.fill(Qt.GlobalColor.transparent)
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QColor(colour))
    p.drawEllipse(1, 1, 10, 10)
    p.end()
    return QIcon(pix)


class PresetBar(QWidget):
    presetChosen = Signal(str)  # preset name

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("presetBar")
        self.group = QButtonGroup(self)
        self.group.setExclusive(True)
        self.buttons: dict[str, QToolButton] = {}
        self.fits: dict[str, PresetFit] = {p.name: PresetFit.unknown(p, "not asked yet") for p in PRESETS}
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        for preset in PRESETS:
            b = QToolButton(self)
            b.setObjectName(OBJECT_NAMES[preset.name])
            b.setCheckable(True)
            b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            b.clicked.connect(lambda _checked=False, n=preset.name: self.presetChosen.emit(n))
            self.group.addButton(b)
            layout.addWidget(b)
            self.buttons[preset.name] = b
        layout.addStretch(1)
        self.retranslate()

    def label(self, name: str) -> str:
        labels = {
            "512x512": "512×512",
            "768x768": "768×768",
            "1024x1024": "1024×1024",
            "landscape": self.tr("Landscape 16:9"),
            "portrait": self.tr("Portrait 9:16"),
        }
        return labels[name]

    def status_text(self, fit: PresetFit) -> str:
        return {
            Verdict.FITS: self.tr("Fits this GPU"),
            Verdict.OFFLOAD: self.tr("Fits with offload (slower)"),
            Verdict.TOO_BIG: self.tr("Too big for this GPU"),
            Verdict.UNKNOWN: self.tr("Fit unknown (no planner answer yet)"),
            Rung.CPU: self.tr("No NVIDIA GPU: runs on the CPU (slow)"),
        }[badge_status(fit)]

    def retranslate(self) -> None:
        for preset in PRESETS:
            b = self.buttons[preset.name]
            fit = self.fits[preset.name]
            b.setText(self.label(preset.name))
            b.setIcon(_dot(DOT_COLOURS[badge_status(fit)]))
            peak = (
                self.tr("{0} GB").format(f"{fit.predicted_peak_bytes / 1024**3:.1f}")
                if fit.predicted_peak_bytes
                else self.tr("unknown")
            )
            tip = self.tr("{0} × {1} pixels\n{2}\nPredicted peak VRAM: {3}").format(
                preset.width, preset.height, self.status_text(fit), peak
            )
            if fit.rung and fit.rung != Rung.CPU:
                tip += "\n" + self.tr("Memory strategy: {0}").format(texts.strategy_with_id(fit.rung))
            b.setToolTip(tip)
            b.setAccessibleName(self.tr("Size preset {0}").format(self.label(preset.name)))
            b.setAccessibleDescription(tip)

    def set_fits(self, fits: Iterable[PresetFit]) -> None:
        """Show new fits; repaints only when a badge would change (the reasons name the free VRAM of
        each sample, which the badges do not show)."""
        new = {**self.fits, **{f.preset: f for f in fits}}
        if {n: _shown(f) for n, f in new.items()} != {n: _shown(f) for n, f in self.fits.items()}:
            self.fits = new
            self.retranslate()

    def select(self, name: str | None) -> None:
        """Check the button of preset ``name``; ``None`` (a custom size) checks none."""
        self.group.setExclusive(False)
        for n, b in self.buttons.items():
            b.setChecked(n == name)
        self.group.setExclusive(True)

    def selected(self) -> str | None:
        for n, b in self.buttons.items():
            if b.isChecked():
                return n
        return None

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)
