"""Remote engines from the window, end to end: the real window, RoutingEngine, EnginePool and ComfyEngine
against fake ComfyUI servers on 127.0.0.1 (tests/core/comfy_fake.py), the Engines dialog driven
through its widgets, the "Run on:" picker, the history and the gallery."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from tests.core.comfy_fake import FakeComfy
from zit_desktop.core.events import Failed, Finished, JobStarted, Loading, Step
from zit_desktop.core.history import HistoryStore
from zit_desktop.core.remote import factory
from zit_desktop.ui.engines.engines_dialog import EnginesDialog, device_name
from zit_desktop.ui.gallery.details import made_on
from zit_desktop.ui.gallery.model import Roles
from zit_desktop.ui.window.worker import EngineStarted

NO_UNET = {"unet_name": [], "clip_name": ["qwen_3_4b.safetensors"], "vae_name": ["ae.safetensors"]}
SAMPLER_NOTE = "ComfyUI samples differently"


@pytest.fixture
def servers() -> Iterator[Any]:
    started: list[FakeComfy] = []

    def make(**kw: Any) -> FakeComfy:
        server = FakeComfy(**kw).start()
        started.append(server)
        return server

    yield make
    for s in started:
        s.stop()


@pytest.fixture(autouse=True)
def quick_failover(monkeypatch: pytest.MonkeyPatch) -> None:
    """A dead pool member gives up after 0.35 s instead of 7.5 s (the others take its seeds)."""
    monkeypatch.setattr(factory, "POOL_RECONNECT_DELAYS", (0.05, 0.1, 0.2))


def add_engine(qtbot: Any, dialog: EnginesDialog, name: str, url: str) -> str:
    """Type a server into the dialog, Save, Test; returns the test's text once it came back."""
    qtbot.mouseClick(dialog.new_button, Qt.MouseButton.LeftButton)
    qtbot.keyClicks(dialog.name, name)
    qtbot.keyClicks(dialog.url, url)
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert dialog.status_label.text() == "Saved."
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.test_button.isEnabled() and name in dialog.status, timeout=15_000)
    return dialog.status_label.text()


def close(qtbot: Any, window: Any, dialog: EnginesDialog) -> None:
    dialog.reject()  # the dialog's Close button
    qtbot.waitUntil(lambda: window.engines.dialog is None, timeout=5000)


def choose(qtbot: Any, window: Any, target: str) -> None:
    """Pick ``target`` in "Run on:" with the keyboard, as a user would."""
    combo = window.engines.picker.combo
    combo.setFocus()
    qtbot.keyClick(combo, Qt.Key.Key_Home)
    for _ in range(combo.count()):
        if combo.currentData() == target:
            return
        qtbot.keyClick(combo, Qt.Key.Key_Down)
    assert combo.currentData() == target, f"{target} is not in the picker"


def set_params(window: Any, count: int = 1, steps: int = 4) -> None:
    p = window.params
    p.prompt.setPlainText("a lighthouse at dusk")
    p.width_spin.setValue(256)
    p.height_spin.setValue(256)
    p.steps.setValue(steps)
    p.count.setValue(count)


def run_job(qtbot: Any, window: Any, timeout: int = 60_000) -> Any:
    with qtbot.waitSignal(window.controller.jobFinished, timeout=timeout) as finished:
        assert window.generate() is not None
    return finished.args[1]


def test_two_engines_from_the_dialog_make_a_batch_of_four_though_one_dies_mid_job(
    make_window: Any, servers: Any, qtbot: Any, data_dir: Path
) -> None:
    studio, attic = servers(step_delay=0.05), servers(step_delay=0.15)
    w = make_window()
    assert w.engines.picker.isHidden()  # nothing to choose before a server is listed

    dialog = w.engines.open_dialog()
    assert "ready" in add_engine(qtbot, dialog, "studio", studio.url)
    tested = add_engine(qtbot, dialog, "attic", attic.url)
    assert "ComfyUI 0.18.1" in tested and tested.endswith("ready")
    assert dialog.list.count() == 2 and dialog.list.item(0).text().startswith("✓ ")
    dialog.include_local.setChecked(False)  # the pool: the two servers only
    close(qtbot, w, dialog)
    saved = json.loads((data_dir / "settings.json").read_text(encoding="utf-8"))
    assert [e["name"] for e in saved["engines"]] == ["studio", "attic"] and not saved["pool_includes_local"]
    assert not w.engines.picker.isHidden()

    choose(qtbot, w, "pool")
    assert w.settings.engine == "pool"
    assert json.loads((data_dir / "settings.json").read_text(encoding="utf-8"))["engine"] == "pool"
    assert w.notice.isVisible() and SAMPLER_NOTE in w.notice.text()  # said once, on the first switch

    killed: list[int] = []
    where: dict[int, str] = {}
    progress_texts: list[str] = []
    phases: list[str] = []
    cards: list[tuple[str, str]] = []  # (the step's server, the gauge's card) at each step

    def watch(event: Any) -> None:
        if isinstance(event, Loading):
            phases.append(event.phase)
        if isinstance(event, JobStarted):
            where[event.index] = event.strategy
        if isinstance(event, Step):
            progress_texts.append(w.progress.label.text())
            cards.append((where[event.index], w.gauge.remote.name if w.gauge.remote else ""))
            if event.step == 2 and not killed and where.get(event.index) == "comfyui@attic":
                killed.append(event.index)
                threading.Thread(target=attic.stop).start()  # attic dies in the middle of an image

    w.controller.engineEvent.connect(watch)
    set_params(w, count=4)
    result = run_job(qtbot, w)
    assert killed, "attic never ran an image"
    assert isinstance(result, Finished), result
    assert sorted(im.seed for im in result.images) == sorted({im.seed for im in result.images})
    assert len(result.images) == 4
    assert "engine-local" not in phases  # no torch for a job sent to servers
    assert any(t.startswith("Image ") and " on studio · " in t for t in progress_texts)
    assert cards and all(strategy == f"comfyui@{card}" for strategy, card in cards)  # the gauge follows

    store = HistoryStore(w.paths.history_db)
    try:
        rows = store.page(0, 10)
    finally:
        store.close()
    assert len(rows) == 4 and sorted(r.seed for r in rows) == sorted(im.seed for im in result.images)
    assert {r.environment["engine_name"] for r in rows} <= {"studio", "attic"}
    assert any(r.environment["engine_name"] == "studio" for r in rows)
    assert all(r.environment["server"] in (studio.url, attic.url) for r in rows)
    qtbot.waitUntil(lambda: w.gallery is not None and w.gallery.model.rowCount() == 4, timeout=5000)
    tip = w.gallery.model.index(0, 0).data(Qt.ItemDataRole.ToolTipRole)
    assert "Made on studio (ComfyUI 0.18.1" in tip or "Made on attic (ComfyUI 0.18.1" in tip
    assert w.gauge.remote is None  # back to this computer's card after the job


def test_the_gauge_shows_the_servers_card_while_a_job_runs_there(
    make_window: Any, servers: Any, qtbot: Any
) -> None:
    studio = servers(step_delay=0.1)
    w = make_window()
    dialog = w.engines.open_dialog()
    add_engine(qtbot, dialog, "studio", studio.url)
    close(qtbot, w, dialog)
    choose(qtbot, w, "studio")
    during: list[tuple[str, str, str, str]] = []
    loading: list[str] = []

    def watch(event: Any) -> None:
        if isinstance(event, (Loading, EngineStarted)):
            loading.append(w.progress.label.text())
        if isinstance(event, Step) and event.step == 2:
            card = w.gauge.remote
            during.append((card.name if card else "", w.gauge.text, w.progress.label.text(), w.gauge.toolTip()))

    w.controller.engineEvent.connect(watch)
    set_params(w)
    result = run_job(qtbot, w)
    assert isinstance(result, Finished)
    name, gauge_text, progress_text, tooltip = during[0]
    assert name == "studio"
    # the fake reports its CPU device with 23.5 GiB, 22.5 GiB free (the recording's numbers)
    assert gauge_text == "studio: 1.0 / 23.5 GB VRAM · cpu"
    assert "22.5 GB of its VRAM free" in tooltip
    assert progress_text.startswith("On studio · ")
    assert not any("torch" in text for text in loading), loading
    assert "Connected to studio (ComfyUI 0.18.1, cpu)" in loading
    assert w.gauge.remote is None and not w.gauge.text.startswith("studio")
    assert "made on studio" in w.status_label.text()

    gallery = w.gallery
    assert gallery is not None
    qtbot.waitUntil(lambda: gallery.model.rowCount() == 1, timeout=5000)
    gallery.details.show_row(gallery.model.index(0, 0).data(Roles.Row))
    assert gallery.details.fields["engine"].text() == f"studio (ComfyUI 0.18.1, {studio.url})"


def test_a_server_without_the_model_files_says_what_to_install(
    make_window: Any, servers: Any, qtbot: Any, caplog: Any
) -> None:
    bare = servers(models=NO_UNET)
    w = make_window()
    dialog = w.engines.open_dialog()
    tested = add_engine(qtbot, dialog, "bare", bare.url)
    assert "put the diffusion model (z_image_turbo_bf16.safetensors) in models/diffusion_models" in tested
    assert dialog.list.item(0).text().startswith("✗ bare")
    close(qtbot, w, dialog)
    choose(qtbot, w, "bare")
    set_params(w)
    caplog.set_level(logging.ERROR)
    result = run_job(qtbot, w)
    assert isinstance(result, Failed) and result.kind == "model-missing"
    text = w.notice.text()
    assert w.notice.isVisible() and w.notice.level == "error"
    assert text.startswith("The server is not ready for Z-Image-Turbo")
    assert "bare: Missing on the server:\n• put the diffusion model (z_image_turbo_bf16.safetensors) in " \
           "models/diffusion_models" in text
    assert result.message.startswith("bare: Missing on the server: put the unet file in")  # core English: CLI, log
    assert not w.notice.action.isVisible()  # this computer's model setup cannot fix the server
    assert any("generation failed (model-missing)" in r.getMessage() for r in caplog.records)  # and in the log


def test_an_unreachable_server_is_a_notice_not_a_crash(make_window: Any, servers: Any, qtbot: Any) -> None:
    gone = servers()
    w = make_window()
    dialog = w.engines.open_dialog()
    add_engine(qtbot, dialog, "gone", gone.url)
    close(qtbot, w, dialog)
    gone.stop()
    choose(qtbot, w, "gone")
    set_params(w)
    result = run_job(qtbot, w)
    assert isinstance(result, Failed) and result.kind == "network"
    assert w.notice.text().startswith("The server cannot be reached.")
    assert "gone:" in w.notice.text()


def test_the_picker_hides_without_servers_and_survives_removing_the_engine_in_use(
    make_window: Any, servers: Any, qtbot: Any, data_dir: Path, tiny_model: Path
) -> None:
    studio = servers()
    w = make_window(model=str(tiny_model))
    picker = w.engines.picker
    assert picker.isHidden()
    dialog = w.engines.open_dialog()
    add_engine(qtbot, dialog, "studio", studio.url)
    close(qtbot, w, dialog)
    assert not picker.isHidden()
    assert [picker.combo.itemData(i) for i in range(picker.combo.count())] == ["local", "studio", "pool"]
    choose(qtbot, w, "studio")
    assert SAMPLER_NOTE in w.notice.text()
    w.notice.dismiss()
    choose(qtbot, w, "local")
    choose(qtbot, w, "studio")
    assert not w.notice.isVisible()  # the sampler note comes only once
    assert json.loads((data_dir / "settings.json").read_text(encoding="utf-8"))["remote_sampler_noted"]

    dialog = w.engines.open_dialog()
    assert dialog.selected() is not None and dialog.selected().name == "studio"
    asked: list[str] = []
    dialog.confirm_remove = lambda parent, name: asked.append(name) or False  # "No": it stays
    qtbot.mouseClick(dialog.remove_button, Qt.MouseButton.LeftButton)
    assert asked == ["studio"] and dialog.list.count() == 1
    dialog.confirm_remove = lambda parent, name: True
    qtbot.mouseClick(dialog.remove_button, Qt.MouseButton.LeftButton)
    assert dialog.list.count() == 0
    close(qtbot, w, dialog)
    assert picker.isHidden() and w.settings.engine == "local" and picker.target() == "local"
    saved = json.loads((data_dir / "settings.json").read_text(encoding="utf-8"))
    assert saved["engines"] == [] and saved["engine"] == "local"

    set_params(w, steps=2)
    result = run_job(qtbot, w, timeout=120_000)  # the worker got the change: this computer, tiny model
    assert isinstance(result, Finished), result
    assert not studio.executed
    assert "engine_name" not in result.images[0].environment
    assert made_on(result.images[0].environment) == "this computer"


def test_comfyui_device_names_are_shortened_for_the_gauge() -> None:
    assert device_name("cuda:0 NVIDIA GeForce RTX 4090 : cudaMallocAsync") == "NVIDIA GeForce RTX 4090"
    assert device_name("cpu") == "cpu" and device_name("") == ""
