""""Run on:" beside Generate: this computer, one of the listed servers, or all of them (the pool)."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Signal, Slot
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QWidget

from zit_desktop.core.remote.config import LOCAL, POOL, engines_of
from zit_desktop.core.settings import Settings


class EnginePicker(QWidget):
    targetChanged = Signal(str)  # "local", an engine's name, or "pool"

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.label = QLabel()
        self.combo = QComboBox()
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.label.setBuddy(self.combo)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.combo, 1)
        self.combo.activated.connect(self._on_activated)
        self.refresh()

    def refresh(self) -> None:
        """Rebuild the choices from the settings (after the Engines dialog changed them)."""
        self.combo.blockSignals(True)
        self.combo.clear()
        self.combo.addItem(self.tr("This computer"), LOCAL)
        engines = engines_of(self.settings)
        for e in engines:
            self.combo.addItem(e.name, e.name)
        if engines:
            self.combo.addItem(self.tr("All engines (pool)"), POOL)
        index = self.combo.findData(self.settings.engine)
        if index < 0:  # the engine in use was removed
            index = 0
            self.settings.engine = LOCAL
        self.combo.setCurrentIndex(index)
        self.combo.blockSignals(False)
        self.setVisible(bool(engines))  # nothing to choose until a server is added
        self.retranslate()

    def retranslate(self) -> None:
        self.label.setText(self.tr("Run on:"))
        self.combo.setItemText(0, self.tr("This computer"))
        pool = self.combo.findData(POOL)
        if pool >= 0:
            self.combo.setItemText(pool, self.tr("All engines (pool)"))
        self.combo.setAccessibleName(self.tr("Run on"))
        self.combo.setToolTip(self.tr(
            "Where the images are made. A ComfyUI server samples differently from this computer, so the same "
            "seed gives a different picture there."))

    def target(self) -> str:
        return str(self.combo.currentData() or LOCAL)

    @Slot(int)
    def _on_activated(self, _index: int) -> None:
        self.settings.engine = self.target()
        self.targetChanged.emit(self.settings.engine)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)
