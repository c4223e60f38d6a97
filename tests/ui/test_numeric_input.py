"""Number boxes never change a typed value silently: what is typed stays until editing ends, then a value
that is not allowed becomes the nearest allowed one and a visible hint says so (as the CLI does)."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractSpinBox

from zit_desktop.core.request import GenerationRequest, nearest_valid_side
from zit_desktop.ui.widgets.params_panel import ParamsPanel


@pytest.fixture
def panel(qtbot: Any) -> ParamsPanel:
    p = ParamsPanel()
    qtbot.addWidget(p)
    p.show()
    qtbot.waitExposed(p)
    p.activateWindow()
    qtbot.waitUntil(p.isActiveWindow, timeout=2000)
    return p


def type_into(qtbot: Any, box: QAbstractSpinBox, text: str, finish: str = "enter") -> None:
    """Type ``text`` over the box's content as a user would, then end editing by Enter or focus out."""
    box.setFocus()
    qtbot.waitUntil(box.hasFocus, timeout=2000)
    box.lineEdit().selectAll()
    qtbot.keyClicks(box.lineEdit(), text)
    assert box.lineEdit().text() == text  # nothing was dropped while typing
    if finish == "enter":
        qtbot.keyClick(box.lineEdit(), Qt.Key.Key_Return)
    else:
        qtbot.keyClick(box, Qt.Key.Key_Tab)  # focus moves on: editing finished
        assert not box.hasFocus()


@pytest.mark.parametrize("finish", ["enter", "focus-out"])
def test_3000_becomes_2048_with_a_visible_message_never_304(
    panel: ParamsPanel, qtbot: Any, finish: str
) -> None:
    type_into(qtbot, panel.width_spin, "3000", finish)
    assert panel.width_spin.value() == 2048 and panel.width_spin.text() == "2048"
    assert panel.hint.isVisible()
    assert panel.hint.text() == "Width: 3000 is larger than the largest allowed, 2048; using 2048."
    assert panel.request("m").width == 2048


@pytest.mark.parametrize("typed", ["4096", "8192"])
def test_other_large_sizes_clamp_to_the_largest(panel: ParamsPanel, qtbot: Any, typed: str) -> None:
    type_into(qtbot, panel.height_spin, typed)
    assert panel.height_spin.value() == 2048
    assert f"Height: {typed} is larger than the largest allowed, 2048" in panel.hint_text()


def test_1000_is_not_a_multiple_of_16_and_becomes_992(panel: ParamsPanel, qtbot: Any) -> None:
    type_into(qtbot, panel.width_spin, "1000")
    assert panel.width_spin.value() == 992 == nearest_valid_side(1000)  # core's rule, not a copy
    assert panel.hint_text() == "Width: 1000 is not a multiple of 16; using 992."


def test_too_small_size(panel: ParamsPanel, qtbot: Any) -> None:
    type_into(qtbot, panel.width_spin, "100")
    assert panel.width_spin.value() == 256
    assert panel.hint_text() == "Width: 100 is smaller than the smallest allowed, 256; using 256."


def test_a_valid_size_gives_no_message(panel: ParamsPanel, qtbot: Any) -> None:
    type_into(qtbot, panel.width_spin, "1024")
    assert panel.width_spin.value() == 1024
    assert not panel.hint.isVisible() and panel.hint_text() == ""


def test_typing_again_clears_the_field_message(panel: ParamsPanel, qtbot: Any) -> None:
    type_into(qtbot, panel.width_spin, "3000")
    type_into(qtbot, panel.height_spin, "1000")
    assert "Width" in panel.hint_text() and "Height" in panel.hint_text()
    type_into(qtbot, panel.width_spin, "512")
    assert "Width" not in panel.hint_text() and "Height: 1000" in panel.hint_text()
    panel.choose_preset("1024x1024")
    assert not panel.hint.isVisible()


@pytest.mark.parametrize(
    ("field", "typed", "value", "message"),
    [
        ("steps", "150", 100, "Steps: 150 is larger than the largest allowed, 100; using 100."),
        ("steps", "0", 1, "Steps: 0 is smaller than the smallest allowed, 1; using 1."),
        ("count", "50", 16, "Count: 50 is larger than the largest allowed, 16; using 16."),
        ("count", "0", 1, "Count: 0 is smaller than the smallest allowed, 1; using 1."),
        ("guidance", "25", 20.0, "Guidance: 25 is larger than the largest allowed, 20.0; using 20.0."),
        ("guidance", "1.25", 1.2, "Guidance: 1.25 has more decimals than allowed; using 1.2."),
        ("seed", "5000000000", 4294967295, "Seed: 5000000000 is larger than the largest allowed, 4294967295"),
        ("seed", "-5", -1, "Seed: -5 is smaller than the smallest allowed, -1 (random); using -1 (random)."),
        ("seed", "12.5", 12, "Seed: 12.5 is not a whole number; using 12."),
    ],
)
def test_every_numeric_field_says_when_it_changes_a_value(
    panel: ParamsPanel, qtbot: Any, field: str, typed: str, value: float, message: str
) -> None:
    box = panel.number_boxes[field]
    type_into(qtbot, box, typed)
    assert box.value() == pytest.approx(value)
    assert message in panel.hint_text()


@pytest.mark.parametrize(
    ("field", "typed"), [("steps", "12"), ("count", "4"), ("guidance", "1.5"), ("seed", "42")]
)
def test_valid_values_give_no_message(panel: ParamsPanel, qtbot: Any, field: str, typed: str) -> None:
    box = panel.number_boxes[field]
    type_into(qtbot, box, typed)
    assert box.value() == pytest.approx(float(typed)) and panel.hint_text() == ""


def test_generate_by_shortcut_takes_the_typed_text_not_the_old_value(panel: ParamsPanel, qtbot: Any) -> None:
    """Ctrl+Enter does not move the focus out of the box: ``request`` commits what is typed first."""
    box = panel.width_spin
    box.setFocus()
    box.lineEdit().selectAll()
    qtbot.keyClicks(box.lineEdit(), "3000")
    assert box.value() == 768  # still the old value while typing
    assert panel.request("m").width == 2048 and "3000" in panel.hint_text()


def test_an_empty_box_keeps_its_value_and_says_so(panel: ParamsPanel, qtbot: Any) -> None:
    box = panel.steps
    box.setFocus()
    box.lineEdit().selectAll()
    qtbot.keyClick(box.lineEdit(), Qt.Key.Key_Delete)
    qtbot.keyClick(box.lineEdit(), Qt.Key.Key_Return)
    assert box.value() == 8 and panel.hint_text() == "Steps was left empty; keeping 8."


def test_letters_are_refused_while_typing(panel: ParamsPanel, qtbot: Any) -> None:
    box = panel.count
    box.setFocus()
    box.lineEdit().selectAll()
    qtbot.keyClicks(box.lineEdit(), "3x")
    assert box.lineEdit().text() == "3"


def test_a_reused_request_out_of_range_is_adjusted_with_a_message(panel: ParamsPanel) -> None:
    """A PNG from another tool (1000×1000, 50 images) lands in the panel with a hint, not silently."""
    request = GenerationRequest(prompt="cat", width=1000, height=3000, steps=8, count=50, preset=None)
    panel.apply_request(request, lock_seed=False)
    assert (panel.width_spin.value(), panel.height_spin.value(), panel.count.value()) == (992, 2048, 16)
    lines = panel.hint_text().splitlines()
    assert lines == [
        "Width: 1000 is not a multiple of 16; using 992.",
        "Height: 3000 is larger than the largest allowed, 2048; using 2048.",
        "Count: 50 is larger than the largest allowed, 16; using 16.",
    ]
    panel.apply_request(GenerationRequest(prompt="cat", width=512, height=512, preset=None), lock_seed=False)
    assert not panel.hint.isVisible()


def test_the_arrows_still_step_by_16_within_the_limits(panel: ParamsPanel) -> None:
    box = panel.width_spin
    box.setValue(2032)
    box.stepUp()
    assert box.value() == 2048
    box.stepUp()
    assert box.value() == 2048 and panel.hint_text() == ""
