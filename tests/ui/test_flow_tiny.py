"""The real flow with the tiny Z-Image pipeline: the window, the worker thread, the engine, the files."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from zit_desktop.core.events import Cancelled, Failed, Finished, JobStarted, Step
from zit_desktop.ui.window.worker import running_threads

pytestmark = pytest.mark.slow
STEPS = 4


def is_step(event: Any) -> bool:
    return isinstance(event, Step)


def prepare(window: Any, qtbot: Any, prompt: str = "a red fox", size: str = "preset512") -> None:
    p = window.params
    p.prompt.clear()
    qtbot.keyClicks(p.prompt, prompt)
    qtbot.mouseClick(window.findChild(type(p.presets.buttons["512x512"]), size), Qt.MouseButton.LeftButton)
    p.steps.setValue(STEPS)


def test_generate_streams_steps_preview_and_writes_the_file(
    make_window: Any, tiny_model: Path, qtbot: Any, data_dir: Path
) -> None:
    w = make_window(model=str(tiny_model))
    prepare(w, qtbot)
    c = w.controller
    previews: list[int] = []
    c.preview.connect(lambda _j, _i, step, _img: previews.append(step))
    seen_preview_in_view: list[bool] = []
    events: list[Any] = []

    def on_event(event: Any) -> None:
        if isinstance(event, Step):
            seen_preview_in_view.append(w.image_view.is_preview)
        events.append(event)

    c.engineEvent.connect(on_event)
    results: list[Any] = []
    c.jobFinished.connect(lambda _j, r: results.append(r))
    with qtbot.waitSignal(c.jobFinished, timeout=120_000):
        qtbot.mouseClick(w.generate_button, Qt.MouseButton.LeftButton)
    # strict order: the job starts, every step in turn, then the end
    order = [(type(e).__name__, getattr(e, "step", None)) for e in events
             if isinstance(e, (JobStarted, Step, Finished, Failed, Cancelled))]
    assert order == [("JobStarted", None)] + [("Step", n) for n in range(1, STEPS + 1)] + [("Finished", None)]
    assert all(e.steps == STEPS for e in events if isinstance(e, Step))
    result = results[0]
    assert isinstance(result, Finished), result
    path = Path(result.images[0].path)
    assert path.exists() and path.parent == data_dir / "outputs"
    assert previews and previews == sorted(previews)
    assert any(seen_preview_in_view), "the live preview never reached the image view"
    qtbot.waitUntil(lambda: not w.image_view.is_preview and w.image_view.path == str(path), timeout=5000)
    assert (w.image_view.image.width(), w.image_view.image.height()) == (512, 512)
    assert "Last image" in w.status_label.text()


def test_cancel_mid_run_writes_nothing(
    make_window: Any, tiny_model: Path, qtbot: Any, data_dir: Path
) -> None:
    w = make_window(model=str(tiny_model))
    prepare(w, qtbot, size="preset1024")
    w.params.steps.setValue(8)
    with qtbot.waitSignal(w.controller.engineEvent, check_params_cb=is_step, timeout=120_000):
        w.generate()
    with qtbot.waitSignal(w.controller.jobFinished, timeout=60_000) as blocker:
        qtbot.mouseClick(w.cancel_button, Qt.MouseButton.LeftButton)
    assert isinstance(blocker.args[1], Cancelled)
    assert not list((data_dir / "outputs").glob("*.png"))
    assert not w.image_view.is_preview


def test_two_queued_jobs_finish_in_order(make_window: Any, tiny_model: Path, qtbot: Any) -> None:
    w = make_window(model=str(tiny_model))
    prepare(w, qtbot, prompt="first")
    first = w.generate()
    w.params.prompt.setPlainText("second")
    second = w.generate()
    assert w.queue_list.count() == 2
    done: list[tuple[str, Any]] = []
    w.controller.jobFinished.connect(lambda job_id, result: done.append((job_id, result)))
    qtbot.waitUntil(lambda: len(done) == 2, timeout=180_000)
    assert [d[0] for d in done] == [first.job_id, second.job_id]
    assert all(isinstance(r, Finished) for _, r in done)
    prompts = [r.images[0].request["prompt"] for _, r in done]
    assert prompts == ["first", "second"]


def test_closing_during_a_job_exits_cleanly(
    make_window: Any, tiny_model: Path, qtbot: Any, data_dir: Path
) -> None:
    w = make_window(model=str(tiny_model))
    prepare(w, qtbot, size="preset1024")
    w.params.steps.setValue(8)
    w.params.count.setValue(3)
    with qtbot.waitSignal(w.controller.engineEvent, check_params_cb=is_step, timeout=120_000):
        w.generate()
    t0 = time.perf_counter()
    w.close()
    assert time.perf_counter() - t0 < 10
    assert not running_threads()
    assert not list((data_dir / "outputs").glob("*.png"))


def test_finished_images_are_recorded_in_the_history(
    make_window: Any, tiny_model: Path, qtbot: Any, data_dir: Path
) -> None:
    from zit_desktop.core.history import HistoryStore

    w = make_window(model=str(tiny_model))
    prepare(w, qtbot)
    rows: list[int] = []
    w.imageRecorded.connect(rows.append)
    with qtbot.waitSignal(w.imageRecorded, timeout=120_000):
        w.generate()
    w.close()
    store = HistoryStore(data_dir / "history.sqlite3")
    try:
        assert rows and store.get(rows[0]) is not None
    finally:
        store.close()
