"""Fast window tests with a fake engine (no torch): controls, validation, queue, errors, persistence."""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QAbstractSpinBox, QPlainTextEdit, QWidget

from tests.ui.conftest import FakeEngine
from zit_desktop.core.events import Failed, Finished, JobStarted, Notice
from zit_desktop.core.request import GenerationRequest

OBJECT_NAMES = [
    "promptEdit", "negativePromptEdit", "widthSpin", "heightSpin", "stepsSpin", "guidanceSpin", "seedSpin",
    "countSpin", "generateButton", "cancelButton", "preset512", "preset768", "preset1024", "presetLandscape",
    "presetPortrait", "vramGauge", "progressBar", "imageView",
]  # fmt: skip


def find(window: Any, name: str) -> Any:
    widget = window.findChild(QWidget, name)
    assert widget is not None, name
    return widget


def test_stable_object_names_and_accessible_names(make_window: Any, fake_engine: FakeEngine) -> None:
    w = make_window(engine=fake_engine)
    for name in OBJECT_NAMES:
        assert find(w, name).accessibleName(), f"{name} has no accessible name"
    controls = [
        c
        for c in w.findChildren(QWidget)
        if isinstance(c, (QAbstractButton, QAbstractSpinBox, QPlainTextEdit)) and c.isVisible()
    ]
    unnamed = [
        c.objectName() or type(c).__name__
        for c in controls
        if not (c.accessibleName() or (isinstance(c, QAbstractButton) and c.text()))
    ]
    assert not unnamed


def next_tab_stop(widget: QWidget) -> QWidget:
    nxt = widget.nextInFocusChain()
    while not (
        nxt.focusPolicy() & Qt.FocusPolicy.TabFocus
        and nxt.isVisible()
        and nxt.isEnabled()
        and not isinstance(nxt.parent(), QAbstractSpinBox)
    ):
        nxt = nxt.nextInFocusChain()
    return nxt


def test_tab_order_follows_the_panel(make_window: Any, fake_engine: FakeEngine) -> None:
    w = make_window(engine=fake_engine)
    order = [
        "promptEdit",
        "negativePromptEdit",
        "preset512",
        "preset768",
        "preset1024",
        "presetLandscape",
        "presetPortrait",
        "widthSpin",
        "heightSpin",
        "stepsSpin",
        "guidanceSpin",
        "seedSpin",
    ]
    for a, b in pairwise(order):
        assert next_tab_stop(find(w, a)).objectName() == b, a
    assert next_tab_stop(find(w, "countSpin")) is find(w, "generateButton")


def test_empty_prompt_shows_inline_message_and_changes_nothing(
    make_window: Any, fake_engine: FakeEngine, qtbot: Any, data_dir: Path
) -> None:
    w = make_window(engine=fake_engine)
    settings_file = data_dir / "settings.json"
    before = settings_file.read_text() if settings_file.exists() else None
    qtbot.mouseClick(find(w, "generateButton"), Qt.MouseButton.LeftButton)
    message = find(w, "inputMessage")
    assert message.isVisible() and "prompt" in message.text().lower()
    assert w.controller.current is None and not w.controller.pending
    assert fake_engine.calls == []
    assert (settings_file.read_text() if settings_file.exists() else None) == before
    qtbot.keyClicks(find(w, "promptEdit"), "a cat")
    assert not message.isVisible()


def test_presets_set_size_and_custom_size_unchecks_them(
    make_window: Any, fake_engine: FakeEngine, qtbot: Any
) -> None:
    w = make_window(engine=fake_engine)
    width, height = find(w, "widthSpin"), find(w, "heightSpin")
    assert width.singleStep() == 16 and height.singleStep() == 16
    qtbot.mouseClick(find(w, "presetLandscape"), Qt.MouseButton.LeftButton)
    assert (width.value(), height.value()) == (1024, 576)
    assert find(w, "presetLandscape").isChecked()
    width.setValue(800)
    assert not any(find(w, n).isChecked() for n in OBJECT_NAMES if n.startswith("preset"))
    assert w.params.request("m").preset is None
    width.setValue(512)
    height.setValue(512)
    assert find(w, "preset512").isChecked()
    assert (
        "unknown" in find(w, "preset1024").toolTip().lower()
        or "cpu" in find(w, "preset1024").toolTip().lower()
    )


def test_negative_prompt_marked_inactive_at_guidance_zero(make_window: Any, fake_engine: FakeEngine) -> None:
    w = make_window(engine=fake_engine)
    note = find(w, "negativeNote")
    find(w, "guidanceSpin").setValue(0.0)
    assert note.isVisible() and "no effect" in note.text().lower()
    find(w, "guidanceSpin").setValue(2.0)
    assert not note.isVisible()


def test_seed_lock_dice_and_random(make_window: Any, fake_engine: FakeEngine) -> None:
    w = make_window(engine=fake_engine)
    p = w.params
    assert p.request("m").seed == -1
    p.dice.click()
    assert p.lock.isChecked() and p.request("m").seed >= 0
    p.lock.setChecked(False)
    assert p.request("m").seed == -1
    find(w, "seedSpin").setValue(3_000_000_000)  # past the 32-bit signed range: still exact
    assert p.lock.isChecked() and p.request("m").seed == 3_000_000_000


def test_unlocked_the_seed_field_keeps_saying_random_and_lock_keeps_the_last_used_seed(
    make_window: Any, fake_engine: FakeEngine, qtbot: Any
) -> None:
    w = make_window(engine=fake_engine)
    p = w.params
    p.prompt.setPlainText("a cat")
    p.count.setValue(2)
    with qtbot.waitSignal(w.controller.jobFinished, timeout=10_000) as done:
        w.generate()
    used = [im.seed for im in done.args[1].images]
    assert fake_engine.calls[-1].seed == -1 and len(used) == 2
    assert p.seed.text() == "random" and p.request("m").seed == -1  # the next job is random too
    assert f"Last used seed: {used[1]}" in p.seed.toolTip()
    assert w.status_label.text().startswith(f"Seed {used[1]} · Last image")
    p.lock.click()
    assert p.request("m").seed == used[1] and p.seed.text() == str(used[1])
    assert "Last used seed" not in p.seed.toolTip()
    p.lock.click()  # unlocked again: "random", and Lock brings the same seed back
    assert p.seed.text() == "random" and p.request("m").seed == -1
    p.lock.click()
    assert p.request("m").seed == used[1]


def test_generate_with_fake_engine_shows_image_and_status(
    make_window: Any, fake_engine: FakeEngine, qtbot: Any
) -> None:
    w = make_window(engine=fake_engine)
    qtbot.keyClicks(find(w, "promptEdit"), "orange cat ")
    find(w, "promptEdit").insertPlainText("一只橘色的猫")  # QTest types ASCII only
    with qtbot.waitSignal(w.controller.jobFinished, timeout=10_000) as blocker:
        qtbot.keyClick(find(w, "promptEdit"), Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert isinstance(blocker.args[1], Finished)
    assert w.image_view.image is not None and not w.image_view.is_preview
    assert Path(w.image_view.path or "").exists()
    assert "strategy On the processor (no GPU)" in w.status_label.text()
    assert fake_engine.calls[0].prompt == "orange cat 一只橘色的猫"


def test_queue_runs_jobs_in_order(make_window: Any, data_dir: Path, qtbot: Any) -> None:
    engine = FakeEngine(data_dir / "outputs", step_delay=0.03)
    w = make_window(engine=engine)
    finished: list[str] = []
    w.controller.jobFinished.connect(lambda job_id, _r: finished.append(job_id))
    jobs = []
    for prompt in ("first", "second", "third"):
        w.params.prompt.setPlainText(prompt)
        jobs.append(w.generate())
    assert w.queue_list.count() == 3 and "2" in w.queue_label.text()
    qtbot.waitUntil(lambda: len(finished) == 3, timeout=15_000)
    assert finished == [j.job_id for j in jobs]
    assert [r.prompt for r in engine.calls] == ["first", "second", "third"]
    assert w.queue_list.count() == 0


def test_cancel_then_clear_queue_stops_everything(make_window: Any, data_dir: Path, qtbot: Any) -> None:
    """Esc stops only the running job (tests/ui/test_queue.py); Shift+Esc first clears the waiting ones."""
    engine = FakeEngine(data_dir / "outputs", step_delay=0.05)
    w = make_window(engine=engine)
    w.params.prompt.setPlainText("x")
    w.generate()
    w.generate()
    qtbot.waitUntil(lambda: w.controller.current is not None and bool(engine.calls), timeout=5000)
    qtbot.keyClick(w, Qt.Key.Key_Escape, Qt.KeyboardModifier.ShiftModifier)
    assert not w.controller.pending and w.controller.busy
    with qtbot.waitSignal(w.controller.idle, timeout=10_000):
        qtbot.keyClick(w, Qt.Key.Key_Escape)
    assert len(engine.calls) == 1 and not list((data_dir / "outputs").glob("*.png"))


def test_engine_failure_is_inline_and_worker_survives(make_window: Any, data_dir: Path, qtbot: Any) -> None:
    engine = FakeEngine(data_dir / "outputs", fail_kind="model-missing")
    w = make_window(engine=engine)
    w.params.prompt.setPlainText("x")
    with qtbot.waitSignal(w.controller.jobFinished, timeout=10_000) as blocker:
        w.generate()
    assert isinstance(blocker.args[1], Failed)
    assert w.notice.isVisible() and w.notice.level == "error" and "Choose another" in w.notice.text()
    engine.fail_kind = None
    with qtbot.waitSignal(w.controller.jobFinished, timeout=10_000) as blocker:
        w.generate()
    assert isinstance(blocker.args[1], Finished)


def test_engine_that_cannot_start_fails_cleanly(make_window: Any, qtbot: Any) -> None:
    class Broken:
        def run(self, *args: Any) -> Any:
            raise RuntimeError("boom")

    w = make_window(engine=Broken())
    w.params.prompt.setPlainText("x")
    with qtbot.waitSignal(w.controller.jobFinished, timeout=10_000) as blocker:
        w.generate()
    assert isinstance(blocker.args[1], Failed) and blocker.args[1].kind == "internal"


def test_parameters_language_and_geometry_persist(
    make_window: Any, fake_engine: FakeEngine, data_dir: Path
) -> None:
    w = make_window(engine=fake_engine)
    w.apply_request(
        GenerationRequest(
            prompt="山水画",
            width=1024,
            height=576,
            steps=6,
            guidance=1.5,
            seed=42,
            count=2,
            preset="landscape",
        ),
        lock_seed=True,
    )
    w.resize(960, 560)
    size = w.size()  # what the window manager (here: the offscreen screen) actually granted
    w.close()
    saved = json.loads((data_dir / "settings.json").read_text(encoding="utf-8"))
    assert saved["last_request"]["prompt"] == "山水画" and saved["window"]["geometry"]
    w2 = make_window(engine=FakeEngine(data_dir / "outputs"))
    r = w2.params.request("m")
    assert (r.prompt, r.width, r.height, r.steps, r.guidance, r.count, r.preset) == (
        "山水画",
        1024,
        576,
        6,
        1.5,
        2,
        "landscape",
    )
    assert find(w2, "presetLandscape").isChecked()
    # The offscreen screen clamps sizes differently between Qt versions, so compare what Qt accepts:
    # the saved geometry and dock layout restore cleanly into a fresh window.
    from PySide6.QtCore import QByteArray

    assert size.isValid()
    assert w2.restoreGeometry(QByteArray.fromBase64(saved["window"]["geometry"].encode("ascii")))
    assert w2.restoreState(QByteArray.fromBase64(saved["window"]["state"].encode("ascii")))


def test_reuse_hook_and_shortcut(make_window: Any, fake_engine: FakeEngine, qtbot: Any) -> None:
    w = make_window(engine=fake_engine)
    w.params.prompt.setPlainText("reuse me")
    with qtbot.waitSignal(w.controller.jobFinished, timeout=10_000):
        w.generate()
    seed = w.last_results[-1].seed
    w.params.prompt.setPlainText("something else")
    w.params.lock.setChecked(False)
    w.menus.reuse_action.trigger()
    assert w.params.prompt.toPlainText() == "reuse me"
    assert w.params.request("m").seed == seed and w.params.lock.isChecked()
    assert w.menus.reuse_action.shortcut().toString() == "Ctrl+R"


def test_gallery_widget_is_embedded(make_window: Any, fake_engine: FakeEngine) -> None:
    w = make_window(engine=fake_engine)
    gallery = QWidget()
    gallery.setObjectName("galleryView")
    w.set_gallery_widget(gallery)
    assert w.findChild(QWidget, "galleryView") is gallery and w.gallery_dock.isVisible()


def test_vram_gauge_states(make_window: Any, fake_engine: FakeEngine) -> None:
    from zit_desktop.core.memory.vram import simulated_cuda_device

    w = make_window(engine=fake_engine)
    g = w.gauge
    g.set_info(None)
    assert "unknown" in g.text.lower()
    g.set_info(simulated_cuda_device(8.0, free_gib=6.0, process_bytes=1024**3))
    assert "2.0 / 8.0" in g.text and "1.0" in g.text
    g.set_predicted(5 * 1024**3)
    assert "5.0 GB" in g.text
    g.grab()  # paints zones and markers without error
    from zit_desktop.core.memory.vram import DeviceInfo

    g.set_info(DeviceInfo(kind="cpu", name="CPU", reason="no driver"))
    assert "CPU mode" in g.text


@pytest.mark.parametrize("kind", ["oom-retry", "sysmem-fallback"])
def test_notices_are_non_modal(make_window: Any, fake_engine: FakeEngine, kind: str) -> None:
    w = make_window(engine=fake_engine)
    w.on_event(Notice("j", kind, "Out of memory at 1024x1024, retried with group offload"))
    assert w.notice.isVisible() and w.notice.level == "warning" and "1024x1024" in w.notice.text()
    assert w.isEnabled() and not w.notice.isModal()


def test_closing_after_the_first_image_of_a_batch_exits_cleanly(
    make_window: Any, data_dir: Path, qtbot: Any
) -> None:
    """Images finished before the close still reach the worker's history; nothing touches the closed
    gallery afterwards (an error there would fail this test through the excepthook)."""
    eng = FakeEngine(data_dir / "outputs", step_delay=0.05)
    w = make_window(engine=eng)
    w.apply_request(
        GenerationRequest(prompt="cat", width=512, height=512, steps=8, seed=1, count=3), lock_seed=True
    )
    second_image = lambda e: isinstance(e, JobStarted) and e.index == 1  # noqa: E731
    with qtbot.waitSignal(w.controller.engineEvent, timeout=10_000, check_params_cb=second_image):
        w.generate()
    w.close()
    qtbot.wait(300)  # let queued worker signals arrive
    from zit_desktop.core.history import HistoryStore

    store = HistoryStore(data_dir / "history.sqlite3")
    try:
        assert store.count() >= 1  # the finished first image was recorded
    finally:
        store.close()


def test_a_history_that_cannot_be_opened_still_finishes_the_job(qtbot: Any, data_dir: Path) -> None:
    """An unusable history folder (its parent is a file) is a notice; the job still ends and the queue goes on."""
    from zit_desktop.ui.window.worker import JobController

    blocker = data_dir / "not-a-folder"
    blocker.parent.mkdir(parents=True, exist_ok=True)
    blocker.write_text("x")
    controller = JobController(lambda: FakeEngine(data_dir / "outputs"), blocker / "history.sqlite3")
    events: list[Any] = []
    controller.engineEvent.connect(events.append)
    try:
        with qtbot.waitSignal(controller.jobFinished, timeout=10_000) as done:
            controller.submit(GenerationRequest(prompt="cat", width=256, height=256, steps=2, preset=None))
        assert isinstance(done.args[1], Finished) and not controller.busy
        [notice] = [e for e in events if isinstance(e, Notice)]
        assert notice.kind == "history" and "cannot be opened" in notice.message and "Traceback" not in notice.message
    finally:
        controller.shutdown()
