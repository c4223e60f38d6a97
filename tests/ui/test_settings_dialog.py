"""Preferences: model folder and memory settings reach the settings file, the engine and the fit badges."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QDialog, QDialogButtonBox

from zit_desktop.core.settings import Settings
from zit_desktop.ui.window.settings_dialog import EngineChoices, SettingsDialog, model_folder_problem
from zit_desktop.ui.window.worker import EngineStarted


def test_model_folder_checks(tmp_path: Path, tiny_model: Path, qtbot: Any) -> None:
    assert model_folder_problem("Tongyi-MAI/Z-Image-Turbo") is None  # a Hub id: checked at load
    assert model_folder_problem(str(tiny_model)) is None
    assert "does not exist" in str(model_folder_problem(str(tmp_path / "nope")))
    assert "model_index.json" in str(model_folder_problem(str(tmp_path)))
    other = tmp_path / "sdxl"
    other.mkdir()
    (other / "model_index.json").write_text(json.dumps({"_class_name": "StableDiffusionXLPipeline"}))
    assert "StableDiffusionXLPipeline" in str(model_folder_problem(str(other)))
    assert model_folder_problem("  ") is not None


def test_dialog_blocks_ok_for_a_bad_folder_and_returns_choices(tmp_path: Path, tiny_model: Path, qtbot: Any) -> None:
    dialog = SettingsDialog(Settings())
    qtbot.addWidget(dialog)
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    assert ok.isEnabled()
    dialog.model_edit.setText(str(tmp_path))
    assert not ok.isEnabled() and dialog.model_problem.text()
    dialog.model_edit.setText(str(tiny_model))
    assert ok.isEnabled()
    dialog.strategy_combo.setCurrentIndex(dialog.strategy_combo.findData("group-offload"))
    dialog.fp8_check.setChecked(True)
    dialog.tiling_combo.setCurrentIndex(dialog.tiling_combo.findData("on"))
    assert dialog.choices() == EngineChoices(str(tiny_model), "group-offload", True, "on", False)


def test_preferences_apply_to_settings_file_and_engine(
    make_window: Any, fake_engine: Any, data_dir: Path, tiny_model: Path, qtbot: Any, monkeypatch: Any
) -> None:
    w = make_window(engine=fake_engine)
    fake_engine.settings = Settings()  # the fake engine gets the same attribute the real one has

    def accept(dialog: SettingsDialog) -> int:
        dialog.model_edit.setText(str(tiny_model))
        dialog.strategy_combo.setCurrentIndex(dialog.strategy_combo.findData("sequential"))
        return int(QDialog.DialogCode.Accepted)

    monkeypatch.setattr(SettingsDialog, "exec", accept)
    w.edit_preferences()
    saved = json.loads((data_dir / "settings.json").read_text(encoding="utf-8"))
    assert (saved["model"], saved["low_vram"]) == (str(tiny_model), "sequential")
    if not fake_engine_started(w):  # chosen before the engine started: applied when it starts
        started = lambda e: isinstance(e, EngineStarted)  # noqa: E731
        with qtbot.waitSignal(w.controller.engineEvent, check_params_cb=started, timeout=10_000):
            w.controller.warm_up()
    qtbot.waitUntil(lambda: fake_engine.settings.low_vram == "sequential", timeout=5000)
    assert fake_engine.settings is not w.settings  # the worker has its own copy
    assert w.params.request(w.settings.model).model == str(tiny_model)

    def accept_again(dialog: SettingsDialog) -> int:  # the engine is running now: applied at once
        dialog.strategy_combo.setCurrentIndex(dialog.strategy_combo.findData("auto"))
        dialog.fp8_check.setChecked(True)
        return int(QDialog.DialogCode.Accepted)

    monkeypatch.setattr(SettingsDialog, "exec", accept_again)
    w.edit_preferences()
    qtbot.waitUntil(lambda: fake_engine.settings.low_vram == "auto" and fake_engine.settings.fp8, timeout=5000)


def fake_engine_started(window: Any) -> bool:
    return window.controller._worker._engine is not None


def test_dialog_is_titled_like_its_menu_item(make_window: Any, qtbot: Any) -> None:
    w = make_window(show=False)
    dialog = SettingsDialog(Settings(), w)
    qtbot.addWidget(dialog)
    assert dialog.windowTitle() == w.menus.preferences_action.text().rstrip("…")
