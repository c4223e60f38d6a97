"""The parameter panel: prompt, negative prompt, size (presets + custom), steps, guidance, seed, count.

It turns its controls into a :class:`GenerationRequest` and back (``apply_request`` is the "reuse"
hook the gallery and PNG drop call). It does not validate: the window does, and shows the message.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from itertools import pairwise

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from zit_desktop.core.request import (
    MAX_COUNT,
    MAX_GUIDANCE,
    MAX_SEED,
    MAX_SIDE,
    MAX_STEPS,
    MIN_COUNT,
    MIN_SIDE,
    MIN_STEPS,
    RANDOM_SEED,
    SIDE_MULTIPLE,
    GenerationRequest,
    nearest_valid_side,
)
from zit_desktop.core.sizes import (
    DEFAULT_GUIDANCE,
    DEFAULT_PRESET,
    DEFAULT_STEPS,
    get_preset,
    preset_for_size,
)
from zit_desktop.ui.widgets.preset_bar import PresetBar


@dataclass(frozen=True)
class Reuse:
    """Parameters to put into the panel: from the gallery, a recipe, a dropped PNG or the last image.

    ``lock_seed``: lock the request's seed for the next jobs (``None`` keeps the lock as it is);
    ``parent_id``: the history row the next image derives from.
    """

    request: GenerationRequest
    lock_seed: bool | None = True
    parent_id: int | None = None


class PromptEdit(QPlainTextEdit):
    """Multi-line text; Ctrl+Enter submits, Tab moves on."""

    submitted = Signal()

    def __init__(self, object_name: str, lines: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(object_name)
        self.setTabChangesFocus(True)
        self.setFixedHeight(self.fontMetrics().lineSpacing() * lines + 14)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and (
            event.modifiers() & Qt.KeyboardModifier.ControlModifier
        ):
            self.submitted.emit()
            return
        super().keyPressEvent(event)


class ParamsPanel(QWidget):
    submitRequested = Signal()
    sizeChanged = Signal(int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("paramsPanel")
        self._programmatic = False
        self.prompt = PromptEdit("promptEdit", 4, self)
        self.negative = PromptEdit("negativePromptEdit", 2, self)
        self.negative_note = QLabel(self)
        self.negative_note.setObjectName("negativeNote")
        self.negative_note.setWordWrap(True)
        self.presets = PresetBar(self)
        self.width_spin = self._side_spin("widthSpin")
        self.height_spin = self._side_spin("heightSpin")
        self.steps = QSpinBox(self)
        self.steps.setObjectName("stepsSpin")
        self.steps.setRange(MIN_STEPS, MAX_STEPS)
        self.guidance = QDoubleSpinBox(self)
        self.guidance.setObjectName("guidanceSpin")
        self.guidance.setRange(0.0, MAX_GUIDANCE)
        self.guidance.setSingleStep(0.5)
        self.guidance.setDecimals(1)
        self.seed = QDoubleSpinBox(self)  # a double: seeds go up to 2**32 - 1, past QSpinBox's int range
        self.seed.setObjectName("seedSpin")
        self.seed.setDecimals(0)
        self.seed.setRange(RANDOM_SEED, MAX_SEED)
        self.seed.setSingleStep(1)
        self.seed.setMinimumWidth(self.fontMetrics().horizontalAdvance("4294967295") + 40)
        self.dice = QToolButton(self)
        self.dice.setObjectName("diceButton")
        self.lock = QToolButton(self)
        self.lock.setObjectName("seedLockButton")
        self.lock.setCheckable(True)
        self.count = QSpinBox(self)
        self.count.setObjectName("countSpin")
        self.count.setRange(MIN_COUNT, MAX_COUNT)
        self.message = QLabel(self)
        self.message.setObjectName("inputMessage")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #b00020; font-weight: 600;")
        self.message.hide()
        self.labels: dict[str, QLabel] = {}
        self._build_layout()
        self._connect()
        self.retranslate()
        self.apply_request(GenerationRequest(prompt="").with_preset(DEFAULT_PRESET), lock_seed=False)

    def _side_spin(self, name: str) -> QSpinBox:
        spin = QSpinBox(self)
        spin.setObjectName(name)
        spin.setRange(MIN_SIDE, MAX_SIDE)
        spin.setSingleStep(SIDE_MULTIPLE)
        return spin

    def _label(self, key: str, buddy: QWidget) -> QLabel:
        label = QLabel(self)
        label.setBuddy(buddy)
        self.labels[key] = label
        return label

    def _build_layout(self) -> None:
        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        size_row = QHBoxLayout()
        size_row.addWidget(self.width_spin)
        self.times = QLabel("×", self)
        size_row.addWidget(self.times)
        size_row.addWidget(self.height_spin)
        size_row.addStretch(1)
        seed_row = QHBoxLayout()
        seed_row.addWidget(self.seed, 1)
        seed_row.addWidget(self.dice)
        seed_row.addWidget(self.lock)
        grid.addWidget(self._label("steps", self.steps), 0, 0)
        grid.addWidget(self.steps, 0, 1)
        grid.addWidget(self._label("guidance", self.guidance), 0, 2)
        grid.addWidget(self.guidance, 0, 3)
        grid.addWidget(self._label("seed", self.seed), 1, 0)
        grid.addLayout(seed_row, 1, 1, 1, 3)
        grid.addWidget(self._label("count", self.count), 2, 0)
        grid.addWidget(self.count, 2, 1)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self._label("prompt", self.prompt))
        box.addWidget(self.prompt)
        neg_head = QHBoxLayout()
        neg_head.addWidget(self._label("negative", self.negative))
        neg_head.addWidget(self.negative_note, 1)
        box.addLayout(neg_head)
        box.addWidget(self.negative)
        box.addWidget(self._label("size", self.presets.buttons["512x512"]))
        box.addWidget(self.presets)
        box.addLayout(size_row)
        box.addLayout(grid)
        box.addWidget(self.message)
        order = [
            self.prompt,
            self.negative,
            *self.presets.buttons.values(),
            self.width_spin,
            self.height_spin,
            self.steps,
            self.guidance,
            self.seed,
            self.dice,
            self.lock,
            self.count,
        ]
        for a, b in pairwise(order):
            QWidget.setTabOrder(a, b)

    def _connect(self) -> None:
        self.prompt.submitted.connect(self.submitRequested)
        self.negative.submitted.connect(self.submitRequested)
        self.presets.presetChosen.connect(self.choose_preset)
        for spin in (self.width_spin, self.height_spin):
            spin.valueChanged.connect(self._on_size_edited)
            spin.editingFinished.connect(lambda s=spin: s.setValue(nearest_valid_side(s.value())))
        self.guidance.valueChanged.connect(self._update_negative_state)
        self.seed.valueChanged.connect(self._on_seed_edited)
        self.dice.clicked.connect(self.roll_seed)
        self.prompt.textChanged.connect(self.clear_message)

    # ------------------------------------------------------------------ texts
    def retranslate(self) -> None:
        texts = {
            "prompt": self.tr("&Prompt"),
            "negative": self.tr("&Negative prompt"),
            "size": self.tr("Size"),
            "steps": self.tr("S&teps"),
            "guidance": self.tr("&Guidance"),
            "seed": self.tr("S&eed"),
            "count": self.tr("&Count"),
        }
        for key, text in texts.items():
            self.labels[key].setText(text)
        self.prompt.setPlaceholderText(
            self.tr("Describe the image, e.g. 一只橘色的猫在窗台上晒太阳 (Ctrl+Enter to generate)")
        )
        self.prompt.setAccessibleName(self.tr("Prompt"))
        self.negative.setAccessibleName(self.tr("Negative prompt"))
        self.width_spin.setAccessibleName(self.tr("Width in pixels"))
        self.height_spin.setAccessibleName(self.tr("Height in pixels"))
        self.width_spin.setToolTip(self.tr("Width: a multiple of 16 between 256 and 2048"))
        self.height_spin.setToolTip(self.tr("Height: a multiple of 16 between 256 and 2048"))
        self.steps.setAccessibleName(self.tr("Steps"))
        self.steps.setToolTip(self.tr("Denoising steps. Z-Image-Turbo is made for 8."))
        self.guidance.setAccessibleName(self.tr("Guidance"))
        self.guidance.setToolTip(
            self.tr("Guidance scale. Turbo is made for 0; above 0 doubles the work per step.")
        )
        self.seed.setAccessibleName(self.tr("Seed"))
        self.seed.setSpecialValueText(self.tr("random"))
        self.seed.setToolTip(self.tr("Same seed and parameters give the same image. -1 = random."))
        self.dice.setText(self.tr("Dice"))
        self.dice.setAccessibleName(self.tr("New random seed"))
        self.dice.setToolTip(self.tr("Pick a new random seed and keep it"))
        self.lock.setText(self.tr("Lock"))
        self.lock.setAccessibleName(self.tr("Keep this seed"))
        self.lock.setToolTip(
            self.tr("Locked: every generation uses this seed. Unlocked: a new random seed each time.")
        )
        self.count.setAccessibleName(self.tr("Number of images"))
        self.count.setToolTip(self.tr("Images per generation, with seeds seed, seed+1, …"))
        self.times.setAccessibleName(self.tr("by"))
        self.message.setAccessibleName(self.tr("Input problem"))
        self._update_negative_state()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def _update_negative_state(self) -> None:
        inactive = self.guidance.value() == 0
        self.negative_note.setVisible(inactive)
        self.negative_note.setText(self.tr("No effect while guidance is 0 (Turbo's setting)"))
        self.negative_note.setStyleSheet("color: #a15c00; font-style: italic;")
        self.negative.setStyleSheet(
            "QPlainTextEdit { color: #888888; background: #f1f1f1; }" if inactive else ""
        )
        self.negative.setPlaceholderText(
            self.tr("Ignored at guidance 0. Raise guidance to use it.")
            if inactive
            else self.tr("What to avoid in the image")
        )
        self.negative.setAccessibleDescription(
            self.tr("Has no effect while guidance is 0") if inactive else ""
        )

    # ------------------------------------------------------------------ size and seed
    def choose_preset(self, name: str) -> None:
        preset = get_preset(name)
        self._programmatic = True
        self.width_spin.setValue(preset.width)
        self.height_spin.setValue(preset.height)
        self._programmatic = False
        self.presets.select(name)
        self.sizeChanged.emit(preset.width, preset.height)

    def _on_size_edited(self) -> None:
        if self._programmatic:
            return
        w, h = self.width_spin.value(), self.height_spin.value()
        self.presets.select(preset_for_size(w, h))
        self.sizeChanged.emit(w, h)

    def _on_seed_edited(self) -> None:
        if not self._programmatic and int(self.seed.value()) != RANDOM_SEED:
            self.lock.setChecked(True)  # a seed the user typed is meant to be used

    def roll_seed(self) -> None:
        self.set_seed(secrets.randbelow(MAX_SEED - MAX_COUNT), lock=True)

    def set_seed(self, seed: int, lock: bool | None = None) -> None:
        self._programmatic = True
        self.seed.setValue(seed)
        self._programmatic = False
        if lock is not None:
            self.lock.setChecked(lock)

    def show_used_seed(self, seed: int) -> None:
        """After an unlocked job starts, show its seed so the user can lock it."""
        if not self.lock.isChecked():
            self.set_seed(seed)

    # ------------------------------------------------------------------ requests
    def request(self, model: str) -> GenerationRequest:
        w, h = self.width_spin.value(), self.height_spin.value()
        seed = int(self.seed.value()) if self.lock.isChecked() else RANDOM_SEED
        return GenerationRequest(
            prompt=self.prompt.toPlainText().strip(),
            negative_prompt=self.negative.toPlainText().strip(),
            width=w,
            height=h,
            steps=self.steps.value(),
            guidance=round(float(self.guidance.value()), 2),
            seed=seed,
            count=self.count.value(),
            model=model,
            preset=preset_for_size(w, h),
        )

    def apply_request(self, request: GenerationRequest, lock_seed: bool) -> None:
        """Fill every control from ``request`` (reuse). ``lock_seed`` keeps its seed for the next jobs."""
        req = request
        self._programmatic = True
        self.prompt.setPlainText(req.prompt)
        self.negative.setPlainText(req.negative_prompt)
        self.width_spin.setValue(nearest_valid_side(req.width))
        self.height_spin.setValue(nearest_valid_side(req.height))
        self.steps.setValue(req.steps or DEFAULT_STEPS)
        self.guidance.setValue(req.guidance if req.guidance is not None else DEFAULT_GUIDANCE)
        self.count.setValue(max(MIN_COUNT, min(MAX_COUNT, req.count)))
        self.seed.setValue(req.seed)
        self._programmatic = False
        self.lock.setChecked(lock_seed and req.seed != RANDOM_SEED)
        self.presets.select(preset_for_size(self.width_spin.value(), self.height_spin.value()))
        self.clear_message()
        self.sizeChanged.emit(self.width_spin.value(), self.height_spin.value())

    def show_message(self, text: str, field_name: str | None = None) -> None:
        self.message.setText(text)
        self.message.show()
        target = {
            "prompt": self.prompt,
            "width": self.width_spin,
            "height": self.height_spin,
            "steps": self.steps,
            "guidance": self.guidance,
            "seed": self.seed,
            "count": self.count,
        }.get(field_name or "")
        if target is not None:
            target.setFocus()

    def clear_message(self) -> None:
        if self.message.isVisible():
            self.message.hide()
            self.message.clear()
