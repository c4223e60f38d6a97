"""Progress bar with step i/n, it/s and ETA; shows the model-loading phases as a busy bar."""

from __future__ import annotations

from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QWidget


class ProgressPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bar = QProgressBar(self)
        self.bar.setObjectName("progressBar")
        self.bar.setRange(0, 1)
        self.bar.setValue(0)
        self.bar.setTextVisible(True)
        self.label = QLabel(self)
        self.label.setObjectName("progressText")
        self.label.setMinimumWidth(self.fontMetrics().horizontalAdvance("M") * 24)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.bar, 1)
        layout.addWidget(self.label)
        self._state: tuple[str, tuple[object, ...]] = ("idle", ())
        self.retranslate()

    def retranslate(self) -> None:
        self.bar.setAccessibleName(self.tr("Progress"))
        kind, args = self._state
        if kind == "idle":
            self.label.setText(self.tr("Ready"))
            self.bar.setFormat("")
        elif kind == "step":
            index, total, step, steps, rate, eta, where = args
            self.bar.setFormat(self.tr("Step {0}/{1}").format(step, steps))
            text = self.tr("{0:.2f} it/s · ETA {1:.1f} s").format(rate, eta)
            many = isinstance(total, int) and total > 1
            if where and many:
                text = self.tr("Image {0}/{1} on {2} · ").format(index, total, where) + text
            elif where:
                text = self.tr("On {0} · ").format(where) + text
            elif many:
                text = self.tr("Image {0}/{1} · ").format(index, total) + text
            self.label.setText(text)
        self.bar.setAccessibleDescription(f"{self.bar.text()} {self.label.text()}".strip())

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def busy(self, text: str) -> None:
        self._state = ("busy", ())
        self.bar.setRange(0, 0)
        self.bar.setFormat("")
        self.label.setText(text)
        self.bar.setAccessibleDescription(text)

    @property
    def stepping(self) -> bool:
        """Steps are being counted (not a busy or idle state)."""
        return self._state[0] == "step"

    def step(self, index: int, total: int, step: int, steps: int, elapsed: float, eta: float,
             where: str = "") -> None:
        """``where``: the server the image is made on ("" for this computer)."""
        if self.bar.maximum() != steps:
            self.bar.setRange(0, steps)
        self.bar.setValue(step)
        rate = step / elapsed if elapsed > 0 else 0.0
        self._state = ("step", (index + 1, total, step, steps, rate, eta, where))
        self.retranslate()

    def idle(self, text: str | None = None) -> None:
        self._state = ("idle", ())
        self.bar.setRange(0, 1)
        self.bar.setValue(0)
        self.retranslate()
        if text:
            self.label.setText(text)
