"""First-run model setup in the window: a fresh data folder goes from the setup view through a real
download (from a local server that speaks the Hub's API) to the first image; the folder and file
choices say what is wrong; the model-missing banner leads to the setup."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt

from tests.core.hub_server import HubServer
from tests.ui.conftest import FakeEngine
from zit_desktop.core.events import Finished
from zit_desktop.ui.setup.setup_dialog import ModelSetupDialog

BF16_REPO = "Tongyi-MAI/Z-Image-Turbo"


def test_a_fresh_data_folder_goes_from_setup_through_download_to_the_first_image(
    make_window: Any, hub: HubServer, hf_cache: Path, tiny_model: Path, qtbot: Any
) -> None:
    hub.add_folder(BF16_REPO, tiny_model)  # the tiny pipeline under the real repo id
    w = make_window()  # the app's real engine; the default model is not on this disk
    dialog = w.open_setup_if_needed()
    assert isinstance(dialog, ModelSetupDialog) and dialog.isVisible()
    assert "RAM" in dialog.machine_label.text() and dialog.table.rowCount() == 5
    assert dialog.recommendation is not None and dialog.recommendation.variant is not None
    dialog.select_variant("bf16")
    chosen: list[Any] = []
    dialog.modelChosen.connect(chosen.append)
    qtbot.mouseClick(dialog.download_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(chosen), timeout=60_000)
    assert w.settings.variant == "bf16" and Path(w.settings.model).is_dir()
    assert Path(w.settings.model).parts[-3] == "models--Tongyi-MAI--Z-Image-Turbo"  # the standard cache layout
    assert any(s.method == "GET" and s.path.endswith(".safetensors") for s in hub.requests)
    assert w.open_setup_if_needed() is None  # the model is there now

    w.params.prompt.setPlainText("一只橘色的猫")
    w.params.choose_preset("512x512")
    w.params.steps.setValue(2)
    with qtbot.waitSignal(w.controller.jobFinished, timeout=120_000) as done:
        w.generate()
    result = done.args[1]
    assert isinstance(result, Finished), result
    assert Path(result.images[0].path).exists() and result.images[0].request["variant"] == "bf16"


def test_a_folder_that_is_not_a_pipeline_says_what_it_lacks(make_window: Any, tmp_path: Path, tiny_model: Path,
                                                           qtbot: Any) -> None:
    w = make_window(engine=FakeEngine(tmp_path / "out"))
    dialog = w.open_model_setup()
    empty = tmp_path / "empty"
    empty.mkdir()
    assert not dialog.use_folder(empty)
    assert "model_index.json" in dialog.message_label.text() and dialog.isVisible()
    assert dialog.use_folder(tiny_model)
    assert w.settings.model == str(tiny_model) and w.settings.variant == "custom"


def test_a_text_encoder_file_is_refused_with_the_reason(make_window: Any, tmp_path: Path, tiny_model: Path) -> None:
    w = make_window(engine=FakeEngine(tmp_path / "out"))
    dialog = w.open_model_setup()
    [encoder] = sorted((tiny_model / "text_encoder").glob("*.safetensors"))
    assert not dialog.use_files(encoder, tiny_model)
    assert "cannot be used" in dialog.message_label.text()
    [transformer] = sorted((tiny_model / "transformer").glob("*.safetensors"))
    assert dialog.use_files(transformer, tiny_model)
    assert w.settings.transformer == str(transformer) and w.settings.model == str(tiny_model)


def test_the_model_missing_banner_opens_the_setup(make_window: Any, tmp_path: Path, qtbot: Any) -> None:
    w = make_window(engine=FakeEngine(tmp_path / "out", fail_kind="model-missing"))
    w.params.prompt.setPlainText("cat")
    with qtbot.waitSignal(w.controller.jobFinished, timeout=10_000):
        w.generate()
    assert w.notice.level == "error" and w.notice.action.isVisible()
    assert "hf download" not in w.notice.text()  # no terminal commands in the window
    qtbot.mouseClick(w.notice.action, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.findChild(ModelSetupDialog) is not None, timeout=5000)


def test_reusing_an_image_uses_its_model_or_says_it_is_missing(make_window: Any, tmp_path: Path,
                                                               tiny_model: Path) -> None:
    from zit_desktop.core.request import GenerationRequest
    from zit_desktop.ui.widgets.params_panel import Reuse

    w = make_window(engine=FakeEngine(tmp_path / "out"))
    before = (w.settings.model, w.settings.variant)
    w.apply_reuse(Reuse(GenerationRequest(prompt="cat", seed=3, model=str(tmp_path / "gone"), variant="sdnq-uint4")))
    assert (w.settings.model, w.settings.variant) == before  # not on this computer: nothing switched
    assert w.notice.level == "warning" and "sdnq-uint4" in w.notice.text() and w.notice.action.isVisible()
    w.apply_reuse(Reuse(GenerationRequest(prompt="cat", seed=3, model=str(tiny_model), variant="custom")))
    assert (w.settings.model, w.settings.variant) == (str(tiny_model), "custom")
    assert w.current_request().model == str(tiny_model)


def test_every_catalogue_text_is_marked_for_translation() -> None:
    from zit_desktop.core.models.catalogue import catalogue
    from zit_desktop.ui.setup.variant_texts import VARIANT_TEXTS

    assert {t for v in catalogue() for t in (v.label, v.quality)} == set(VARIANT_TEXTS)


def test_choosing_a_transformer_file_then_says_why_a_folder_is_asked_next(
    make_window: Any, tmp_path: Path, tiny_model: Path, monkeypatch: Any
) -> None:
    from PySide6.QtWidgets import QFileDialog

    w = make_window(engine=FakeEngine(tmp_path / "out"))
    dialog = w.open_model_setup()
    [transformer] = sorted((tiny_model / "transformer").glob("*.safetensors"))
    titles: list[str] = []
    folders = ["", str(tiny_model)]  # the user first cancels the second dialog, then picks the folder
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda parent, title, *a: (titles.append(title),
                                                                                  (str(transformer), ""))[1])
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda parent, title, *a: (titles.append(title),
                                                                                       folders.pop(0))[1])
    dialog.choose_files()
    assert titles[1] == "Now choose the folder with the text encoder and VAE" and len(titles[1]) <= 60
    assert "holds only the transformer" in dialog.message_label.text() and transformer.name in dialog.message_label.text()
    assert dialog.isVisible()
    dialog.choose_files()
    assert w.settings.transformer == str(transformer) and w.settings.model == str(tiny_model)
