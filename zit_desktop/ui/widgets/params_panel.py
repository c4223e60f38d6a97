"""The parameter panel: prompt, negative prompt, size (presets + custom), steps, guidance, seed, count.

It turns its controls into a :class:`GenerationRequest` and back (``apply_request`` is the "reuse"
hook the gallery and PNG drop call). It does not validate: the window does, and shows the message.
Its number boxes (``numeric_input``) never change a value silently: a typed or reused value that is not
allowed becomes the nearest allowed one, and the hint under the fields says so.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from functools import partial
from itertools import pairwise

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from zit_desktop.core.request import MAX_COUNT, MAX_SEED, RANDOM_SEED, GenerationRequest
from zit_desktop.core.sizes import (
    DEFAULT_GUIDANCE,
    DEFAULT_PRESET,
    DEFAULT_STEPS,
    get_preset,
    preset_for_size,
)
from zit_desktop.ui.widgets.numeric_input import (
    COUNT_RULE,
    GUIDANCE_RULE,
    SEED_RULE,
    SIDE_RULE,
    STEPS_RULE,
    Adjustment,
    CheckedDoubleSpinBox,
    CheckedSpinBox,
    NumberBox,
    Reason,
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
        self.width_spin = CheckedSpinBox(SIDE_RULE, "widthSpin", self)
        self.height_spin = CheckedSpinBox(SIDE_RULE, "heightSpin", self)
        self.steps = CheckedSpinBox(STEPS_RULE, "stepsSpin", self)
        self.guidance = CheckedDoubleSpinBox(GUIDANCE_RULE, "guidanceSpin", self)
        self.guidance.setSingleStep(0.5)
        # a double: seeds go up to 2**32 - 1, past QSpinBox's int range
        self.seed = CheckedDoubleSpinBox(SEED_RULE, "seedSpin", self)
        self.seed.setSingleStep(1)
        self.seed.setMinimumWidth(self.fontMetrics().horizontalAdvance("4294967295") + 40)
        self.dice = QToolButton(self)
        self.dice.setObjectName("diceButton")
        self.lock = QToolButton(self)
        self.lock.setObjectName("seedLockButton")
        self.lock.setCheckable(True)
        # Unlocked, the field says "random" (what the next job uses); the seed the last image used is
        # kept here, named in the field's tooltip, and filled in when Lock is pressed.
        self.last_seed: int | None = None
        self.count = CheckedSpinBox(COUNT_RULE, "countSpin", self)
        self.number_boxes: dict[str, NumberBox] = {
            "width": self.width_spin,
            "height": self.height_spin,
            "steps": self.steps,
            "guidance": self.guidance,
            "seed": self.seed,
            "count": self.count,
        }
        # "a value was changed to the nearest allowed one", one line per field (not an error)
        self.hint = QLabel(self)
        self.hint.setObjectName("inputHint")
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color: #8a4b00; font-weight: 600;")
        self.hint.hide()
        self._hints: dict[str, str] = {}
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
        box.addWidget(self.hint)
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
        for key, number_box in self.number_boxes.items():
            number_box.adjusted.connect(partial(self._on_adjusted, key))
            number_box.lineEdit().textEdited.connect(partial(self.clear_hint, key))
        self.guidance.valueChanged.connect(self._update_negative_state)
        self.seed.valueChanged.connect(self._on_seed_edited)
        self.lock.toggled.connect(self._sync_seed)
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
        self._update_seed_tip()
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
        self.hint.setAccessibleName(self.tr("Value adjusted"))
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
        self.clear_hint("width")
        self.clear_hint("height")
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
        """After an unlocked image starts: the field still says "random" (so is the next job), and
        its seed is remembered for Lock and named in the tooltip."""
        if not self.lock.isChecked():
            self.remember_seed(seed)

    def remember_seed(self, seed: int) -> None:
        """The seed Lock keeps while the field says "random" (the last image's, a picked variation's)."""
        self.last_seed = seed
        self._update_seed_tip()

    def _sync_seed(self) -> None:
        """Locked: a number (the remembered seed if the field said "random"). Unlocked: "random",
        remembering the number it showed."""
        value = int(self.seed.value())
        if self.lock.isChecked():
            if value == RANDOM_SEED and self.last_seed is not None:
                self.set_seed(self.last_seed)
        elif value != RANDOM_SEED:
            self.last_seed = value
            self.set_seed(RANDOM_SEED)
        self._update_seed_tip()

    def _update_seed_tip(self) -> None:
        tip = self.tr("Same seed and parameters give the same image. -1 = random.")
        if self.last_seed is not None and not self.lock.isChecked():
            tip += "\n" + self.tr("Last used seed: {0}. Press Lock to keep it.").format(self.last_seed)
        self.seed.setToolTip(tip)

    # ------------------------------------------------------------------ requests
    def request(self, model: str) -> GenerationRequest:
        self.commit_typing()
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
        for key in list(self._hints):
            self.clear_hint(key)
        self._programmatic = True
        self.prompt.setPlainText(req.prompt)
        self.negative.setPlainText(req.negative_prompt)
        # a value outside the limits (an A1111 PNG at 1000×1000, a count of 50) is adjusted with a hint
        self.width_spin.set_checked(req.width)
        self.height_spin.set_checked(req.height)
        self.steps.set_checked(req.steps or DEFAULT_STEPS)
        self.guidance.set_checked(req.guidance if req.guidance is not None else DEFAULT_GUIDANCE)
        self.count.set_checked(req.count)
        self.seed.set_checked(req.seed)
        self._programmatic = False
        self.lock.setChecked(lock_seed and req.seed != RANDOM_SEED)
        self._sync_seed()  # unlocked: "random" (a restored or reused seed is kept for Lock)
        self.presets.select(preset_for_size(self.width_spin.value(), self.height_spin.value()))
        self.clear_message()
        self.sizeChanged.emit(self.width_spin.value(), self.height_spin.value())

    # ------------------------------------------------------------------ adjusted values
    def commit_typing(self) -> None:
        """Take what is typed in every number box (Ctrl+Enter does not move the focus out of one)."""
        for number_box in self.number_boxes.values():
            number_box.commit()

    def _on_adjusted(self, key: str, adjustment: Adjustment) -> None:
        self._hints[key] = self.adjustment_text(key, adjustment)
        self._show_hints()

    def clear_hint(self, key: str, *_: object) -> None:
        if self._hints.pop(key, None) is not None:
            self._show_hints()

    def hint_text(self) -> str:
        return self.hint.text() if self.hint.isVisible() else ""

    def _show_hints(self) -> None:
        self.hint.setText("\n".join(self._hints[k] for k in self.number_boxes if k in self._hints))
        self.hint.setVisible(bool(self._hints))

    def adjustment_text(self, key: str, adjustment: Adjustment) -> str:
        number_box = self.number_boxes[key]
        names = {
            "width": self.tr("Width"),
            "height": self.tr("Height"),
            "steps": self.tr("Steps"),
            "guidance": self.tr("Guidance"),
            "seed": self.tr("Seed"),
            "count": self.tr("Count"),
        }
        name, typed, used = names[key], adjustment.typed, number_box.value_text(adjustment.used)
        rule = number_box.rule
        match adjustment.reason:
            case Reason.TOO_LARGE:
                text = self.tr("{0}: {1} is larger than the largest allowed, {2}; using {3}.")
                return text.format(name, typed, number_box.value_text(rule.maximum), used)
            case Reason.TOO_SMALL:
                text = self.tr("{0}: {1} is smaller than the smallest allowed, {2}; using {3}.")
                return text.format(name, typed, number_box.value_text(rule.minimum), used)
            case Reason.NOT_MULTIPLE:
                return self.tr("{0}: {1} is not a multiple of {2}; using {3}.").format(
                    name, typed, rule.multiple, used
                )
            case Reason.ROUNDED if rule.decimals == 0:
                return self.tr("{0}: {1} is not a whole number; using {2}.").format(name, typed, used)
            case Reason.ROUNDED:
                return self.tr("{0}: {1} has more decimals than allowed; using {2}.").format(
                    name, typed, used
                )
            case _:
                return self.tr("{0} was left empty; keeping {1}.").format(name, used)

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
