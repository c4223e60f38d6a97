"""Number boxes that never change a typed value silently.

A plain ``QSpinBox`` drops a keystroke that would leave its range (typing 3000 into a box whose maximum
is 2048 leaves 300) and then rounds what is left to its step, so 3000 became 304 without a word.
These boxes keep whatever number is typed; when editing ends (Enter, focus out, or :meth:`commit`), a
value that is not allowed becomes the nearest allowed one and ``adjusted`` says what was typed, what is
used and why, for the panel to show. :meth:`set_checked` does the same for values put in by code
(a reused request, a dropped PNG).

The rule for each field is a :class:`NumberRule` built on core's own limits and rounding
(``core.request``), so the window, the CLI and the engine agree on what is allowed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from PySide6.QtCore import Signal
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import QAbstractSpinBox, QDoubleSpinBox, QSpinBox, QWidget

from zit_desktop.core.request import (
    MAX_COUNT,
    MAX_GUIDANCE,
    MAX_SEED,
    MAX_SIDE,
    MAX_STEPS,
    MIN_COUNT,
    MIN_GUIDANCE,
    MIN_SIDE,
    MIN_STEPS,
    RANDOM_SEED,
    SIDE_MULTIPLE,
    nearest_valid_side,
)


class Reason(StrEnum):
    TOO_LARGE = "too-large"
    TOO_SMALL = "too-small"
    NOT_MULTIPLE = "not-multiple"
    ROUNDED = "rounded"  # more decimals than the field has (or not a whole number)
    EMPTY = "empty"  # editing ended on an empty box: the previous value stays


@dataclass(frozen=True)
class Adjustment:
    """What the user typed (as typed), the value the box now holds, and why they differ."""

    typed: str
    used: float
    reason: Reason


@dataclass(frozen=True)
class NumberRule:
    """The allowed values of one field: ``nearest`` maps any number to the closest allowed one."""

    minimum: float
    maximum: float
    decimals: int = 0
    multiple: int = 0  # sides: a multiple of 16
    nearest_fn: Callable[[float], float] | None = None

    def nearest(self, value: float) -> float:
        if self.nearest_fn is not None:
            return self.nearest_fn(value)
        return min(max(round(value, self.decimals), self.minimum), self.maximum)

    def check(self, value: float) -> Adjustment | None:
        """``None`` when ``value`` is allowed as it is, else the adjustment (``typed`` left empty)."""
        used = self.nearest(value)
        if used == value:
            return None
        if value > self.maximum:
            reason = Reason.TOO_LARGE
        elif value < self.minimum:
            reason = Reason.TOO_SMALL
        elif self.multiple and value == round(value):
            reason = Reason.NOT_MULTIPLE
        else:
            reason = Reason.ROUNDED
        return Adjustment("", used, reason)


SIDE_RULE = NumberRule(
    MIN_SIDE, MAX_SIDE, multiple=SIDE_MULTIPLE, nearest_fn=lambda v: nearest_valid_side(round(v))
)
STEPS_RULE = NumberRule(MIN_STEPS, MAX_STEPS)
COUNT_RULE = NumberRule(MIN_COUNT, MAX_COUNT)
SEED_RULE = NumberRule(RANDOM_SEED, MAX_SEED)
GUIDANCE_RULE = NumberRule(MIN_GUIDANCE, MAX_GUIDANCE, decimals=1)

_NUMBER = re.compile(r"^[+-]?\d*(?:[.,]\d*)?$")


class _Checker:
    """The shared logic of both box types; ``box`` is the QSpinBox or QDoubleSpinBox it serves."""

    def __init__(self, box: QSpinBox | QDoubleSpinBox, rule: NumberRule) -> None:
        self.box, self.rule = box, rule

    def configure(self) -> None:
        """Set the box's range (after ``_checker`` exists: Qt calls ``validate`` while doing so)."""
        self.box.setRange(self.rule.minimum, self.rule.maximum)  # type: ignore[arg-type]
        # text our fixup could not read (none should remain) falls back to the previous value
        self.box.setCorrectionMode(QAbstractSpinBox.CorrectionMode.CorrectToPreviousValue)

    def text(self, value: float) -> str:
        if isinstance(self.box, QSpinBox):
            return self.box.textFromValue(int(value))
        return self.box.textFromValue(value)

    def body(self, text: str) -> str:
        b = self.box
        body = text
        if b.prefix() and body.startswith(b.prefix()):
            body = body[len(b.prefix()) :]
        if b.suffix() and body.endswith(b.suffix()):
            body = body[: -len(b.suffix())]
        return body.strip()

    def parse(self, body: str) -> float | None:
        if not body or not _NUMBER.match(body) or not any(c.isdigit() for c in body):
            return None
        value, ok = self.box.locale().toDouble(body)
        if not ok:
            try:
                value = float(body.replace(",", "."))
            except ValueError:
                return None
        return value if math.isfinite(value) else None

    def validate(self, text: str, pos: int) -> tuple[QValidator.State, str, int]:
        special = self.box.specialValueText()
        if special and text == special:
            return QValidator.State.Acceptable, text, pos
        body = self.body(text)
        if body in ("", "+", "-", ".", ",", "-.", "+.") or (special and special.startswith(text)):
            return QValidator.State.Intermediate, text, pos
        if len(body) > 24 or not _NUMBER.match(body):
            return QValidator.State.Invalid, text, pos
        value = self.parse(body)
        if value is None:
            return QValidator.State.Intermediate, text, pos
        # acceptable only when the box reads the text back as the same allowed value ("1.50" in a
        # one-decimal box is read as 0 by Qt: let fixup rewrite it as "1.5")
        if self.rule.check(value) is None and self.box.valueFromText(text) == value:
            return QValidator.State.Acceptable, text, pos
        return QValidator.State.Intermediate, text, pos

    def fixup(self, text: str, emit: Callable[[Adjustment], None]) -> str:
        body = self.body(text)
        value = self.parse(body)
        if value is None:
            emit(Adjustment(body, self.box.value(), Reason.EMPTY))
            return self.text(self.box.value())
        adjustment = self.rule.check(value)
        if adjustment is None:  # allowed, only written differently ("0768", "1.50")
            return self.text(value)
        emit(Adjustment(body, adjustment.used, adjustment.reason))
        return self.text(adjustment.used)

    def set_checked(self, value: float, emit: Callable[[Adjustment], None]) -> None:
        adjustment = self.rule.check(value)
        if adjustment is not None:
            typed = str(int(value)) if value == int(value) else f"{value:g}"
            emit(Adjustment(typed, adjustment.used, adjustment.reason))
            value = adjustment.used
        self.box.setValue(value)  # type: ignore[arg-type]


class CheckedSpinBox(QSpinBox):
    """A whole-number box: keeps what is typed, then adjusts it to the rule with ``adjusted``."""

    adjusted = Signal(object)  # Adjustment

    def __init__(self, rule: NumberRule, object_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(object_name)
        self._checker = _Checker(self, rule)
        self._checker.configure()
        if rule.multiple:
            self.setSingleStep(rule.multiple)

    @property
    def rule(self) -> NumberRule:
        return self._checker.rule

    def validate(self, text: str, pos: int) -> tuple[QValidator.State, str, int]:
        return self._checker.validate(text, pos)

    def fixup(self, text: str) -> str:
        return self._checker.fixup(text, self.adjusted.emit)

    def commit(self) -> None:
        """Take the typed text now (as Enter would), so ``value()`` is what the box shows."""
        self.interpretText()

    def set_checked(self, value: float) -> None:
        self._checker.set_checked(value, self.adjusted.emit)

    def value_text(self, value: float) -> str:
        return self.textFromValue(int(value))


class CheckedDoubleSpinBox(QDoubleSpinBox):
    """A decimal box (guidance, and the seed, whose range passes QSpinBox's int): same contract."""

    adjusted = Signal(object)  # Adjustment

    def __init__(self, rule: NumberRule, object_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(object_name)
        self._checker = _Checker(self, rule)
        self.setDecimals(rule.decimals)
        self._checker.configure()

    @property
    def rule(self) -> NumberRule:
        return self._checker.rule

    def validate(self, text: str, pos: int) -> tuple[QValidator.State, str, int]:
        return self._checker.validate(text, pos)

    def fixup(self, text: str) -> str:
        return self._checker.fixup(text, self.adjusted.emit)

    def commit(self) -> None:
        self.interpretText()

    def set_checked(self, value: float) -> None:
        self._checker.set_checked(value, self.adjusted.emit)

    def value_text(self, value: float) -> str:
        special = self.specialValueText()
        if special and value == self.minimum():
            return f"{self.textFromValue(value)} ({special})"  # "-1 (random)"
        return self.textFromValue(value)


NumberBox = CheckedSpinBox | CheckedDoubleSpinBox
