"""The visible queue: remove or move one waiting job, Cancel stops only the running job, Clear queue
removes the waiting ones, and quitting during a job asks first (finish the image / quit now / keep
working), where "finish" really waits for the image in progress to be saved."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMenu, QMessageBox, QPushButton

from tests.ui.conftest import FakeEngine
from zit_desktop.core.events import Cancelled, Finished, JobStarted, Step
from zit_desktop.core.request import GenerationRequest
from zit_desktop.ui.window.quit_dialog import QuitChoice
from zit_desktop.ui.window.worker import Job, running_threads

SHOTS = Path(os.environ.get("ZIT_SHOTS_DIR", "/tmp"))


def queue_up(w: Any, prompts: list[str]) -> list[Job]:
    jobs = []
    for prompt in prompts:
        w.params.prompt.setPlainText(prompt)
        job = w.generate()
        assert job is not None
        jobs.append(job)
    return jobs


def rows(w: Any) -> list[str]:
    return [w.queue_list.item(i).text() for i in range(w.queue_list.count())]


@pytest.fixture
def slow_engine(data_dir: Path) -> FakeEngine:
    return FakeEngine(data_dir / "outputs", step_delay=0.04)  # 8 steps ≈ 0.3 s per image


def wait_running(w: Any, engine: FakeEngine, qtbot: Any) -> None:
    qtbot.waitUntil(lambda: w.controller.busy and bool(engine.calls), timeout=5000)


def test_the_list_shows_running_then_waiting_jobs_with_prompt_size_and_count(
    make_window: Any, slow_engine: FakeEngine, qtbot: Any
) -> None:
    w = make_window(engine=slow_engine)
    w.params.choose_preset("512x512")
    w.params.count.setValue(2)
    queue_up(w, ["a red fox in the snow, very long prompt that goes on and on", "second"])
    assert rows(w) == [
        "running · 512×512 ×2 · a red fox in the snow, very long prompt…",
        "waiting · 512×512 ×2 · second",
    ]
    assert "1 waiting" in w.queue_label.text()


@pytest.mark.qt_log_ignore(r"This plugin does not support (raise|grabbing)")  # a popup, offscreen
def test_remove_one_waiting_job_from_the_context_menu(
    make_window: Any, slow_engine: FakeEngine, qtbot: Any
) -> None:
    w = make_window(engine=slow_engine)
    queue_up(w, ["first", "second", "third"])
    wait_running(w, slow_engine, qtbot)
    seen: list[list[str]] = []

    def choose_remove() -> None:
        menu = QApplication.activePopupWidget()
        assert isinstance(menu, QMenu)
        seen.append([a.text() for a in menu.actions() if a.text()])
        [remove] = [a for a in menu.actions() if a.text() == "Remove"]
        remove.trigger()
        menu.close()

    QTimer.singleShot(200, choose_remove)
    second_row = w.queue_list.visualItemRect(w.queue_list.item(1)).center()
    w.queue_list.customContextMenuRequested.emit(second_row)  # a right-click on "second"
    assert seen == [["Remove", "Move up", "Move down", "Clear queue"]]
    assert [j.request.prompt for j in w.controller.pending] == ["third"]
    assert len(rows(w)) == 2 and "second" not in " ".join(rows(w))
    qtbot.waitUntil(lambda: not w.controller.busy and not w.controller.pending, timeout=10_000)
    assert [r.prompt for r in slow_engine.calls] == ["first", "third"]


def test_delete_removes_the_selected_waiting_job_never_the_running_one(
    make_window: Any, slow_engine: FakeEngine, qtbot: Any
) -> None:
    w = make_window(engine=slow_engine)
    queue_up(w, ["first", "second", "third"])
    wait_running(w, slow_engine, qtbot)
    ql = w.queue_list
    ql.setFocus()
    ql.setCurrentRow(0)  # the running job cannot be selected
    assert ql.selected_job_id() is None
    qtbot.keyClick(ql, Qt.Key.Key_Delete)
    assert len(w.controller.pending) == 2 and w.controller.busy
    ql.setCurrentRow(2)
    qtbot.keyClick(ql, Qt.Key.Key_Delete)
    assert [j.request.prompt for j in w.controller.pending] == ["second"]
    assert ql.selected_job_id() == w.controller.pending[0].job_id  # Delete can be pressed again
    qtbot.keyClick(ql, Qt.Key.Key_Delete)
    assert not w.controller.pending and not w.clear_queue_button.isEnabled()


def test_reorder_waiting_jobs_and_they_run_in_the_new_order(
    make_window: Any, slow_engine: FakeEngine, qtbot: Any
) -> None:
    w = make_window(engine=slow_engine)
    queue_up(w, ["first", "second", "third", "fourth"])
    wait_running(w, slow_engine, qtbot)
    ql = w.queue_list
    ql.setFocus()
    ql.setCurrentRow(3)  # "fourth"
    qtbot.keyClick(ql, Qt.Key.Key_Up, Qt.KeyboardModifier.ControlModifier)
    assert [j.request.prompt for j in w.controller.pending] == ["second", "fourth", "third"]
    assert ql.currentRow() == 2  # the moved job stays selected
    menu = ql.context_menu(ql.visualItemRect(ql.item(2)).center())
    assert ql.move_up_action.isEnabled()  # "fourth" can still move up
    ql.move_up_action.trigger()
    assert [j.request.prompt for j in w.controller.pending] == ["fourth", "second", "third"]
    assert not ql.move_up_action.isEnabled() and ql.move_down_action.isEnabled()  # now first in line
    menu.deleteLater()
    qtbot.waitUntil(lambda: len(slow_engine.calls) == 4 and not w.controller.busy, timeout=15_000)
    assert [r.prompt for r in slow_engine.calls] == ["first", "fourth", "second", "third"]


def test_controller_refuses_what_cannot_be_done(
    make_window: Any, slow_engine: FakeEngine, qtbot: Any
) -> None:
    w = make_window(engine=slow_engine)
    first, second, third = queue_up(w, ["first", "second", "third"])
    c = w.controller
    assert not c.remove(first.job_id)  # running: Cancel stops it, Remove does not
    assert not c.move(second.job_id, -1) and not c.move(third.job_id, 1)  # already at the ends
    assert not c.move("no-such-job", 1) and not c.remove("no-such-job")
    assert c.move(second.job_id, 5) and [j.job_id for j in c.pending] == [third.job_id, second.job_id]


def test_cancel_stops_only_the_running_job_and_the_next_one_runs(
    make_window: Any, slow_engine: FakeEngine, qtbot: Any
) -> None:
    w = make_window(engine=slow_engine)
    first, second, third = queue_up(w, ["first", "second", "third"])
    results: dict[str, Any] = {}
    w.controller.jobFinished.connect(lambda job_id, result: results.update({job_id: result}))
    qtbot.waitUntil(lambda: any(r.prompt == "first" for r in slow_engine.calls), timeout=5000)
    qtbot.keyClick(w, Qt.Key.Key_Escape)  # Esc = Cancel
    qtbot.waitUntil(lambda: first.job_id in results, timeout=5000)
    assert isinstance(results[first.job_id], Cancelled)
    assert w.controller.current is not None and w.controller.current.job_id == second.job_id
    assert [j.job_id for j in w.controller.pending] == [third.job_id]
    qtbot.mouseClick(w.cancel_button, Qt.MouseButton.LeftButton)  # the button does the same
    qtbot.waitUntil(lambda: len(results) == 3, timeout=10_000)
    assert isinstance(results[second.job_id], Cancelled) and isinstance(results[third.job_id], Finished)
    assert not w.cancel_button.isEnabled()


def test_clear_queue_removes_the_waiting_jobs_and_the_running_one_finishes(
    make_window: Any, slow_engine: FakeEngine, qtbot: Any
) -> None:
    w = make_window(engine=slow_engine)
    first, *_ = queue_up(w, ["first", "second", "third"])
    assert w.clear_queue_button.isEnabled() and w.menus.clear_queue_action.isEnabled()
    with qtbot.waitSignal(w.controller.jobFinished, timeout=10_000) as done:
        qtbot.mouseClick(w.clear_queue_button, Qt.MouseButton.LeftButton)
        assert not w.controller.pending and w.controller.busy
        assert not w.clear_queue_button.isEnabled() and len(rows(w)) == 1
    assert done.args[0] == first.job_id and isinstance(done.args[1], Finished)
    assert [r.prompt for r in slow_engine.calls] == ["first"]
    assert rows(w) == []


# ---------------------------------------------------------------------- quitting during a job
def test_closing_while_idle_does_not_ask(make_window: Any, fake_engine: FakeEngine) -> None:
    w = make_window(engine=fake_engine)

    def never() -> QuitChoice:
        raise AssertionError("asked although nothing runs")

    w.ask_quit = never
    assert w.close()


def test_the_quit_question_offers_three_choices_and_keep_working_keeps_the_job(
    make_window: Any, slow_engine: FakeEngine, qtbot: Any
) -> None:
    from zit_desktop.ui.window.main_window import MainWindow
    from zit_desktop.ui.window.quit_dialog import ask_quit

    w = make_window(engine=slow_engine)
    w.ask_quit = lambda: ask_quit(w, len(w.controller.pending))  # the real box, as the app has it
    w.params.count.setValue(3)
    first, second = queue_up(w, ["first", "second"])
    wait_running(w, slow_engine, qtbot)
    seen: list[Any] = []

    def answer() -> None:
        box = QApplication.activeModalWidget()
        assert isinstance(box, QMessageBox)
        buttons = {b.objectName(): b.text() for b in box.findChildren(QPushButton) if b.text()}
        seen.append((buttons, box.informativeText()))
        box.findChild(QPushButton, "keep-working").click()

    QTimer.singleShot(200, answer)
    assert not w.close()  # Ctrl+Q runs the same close()
    [(buttons, info)] = seen
    assert buttons == {
        "finish-image": "Finish the current image, then quit",
        "quit-now": "Quit now (cancel the job)",
        "keep-working": "Keep working",
    }
    assert "1 waiting job(s)" in info
    assert w.isVisible() and w.controller.busy and isinstance(w, MainWindow)
    qtbot.waitUntil(lambda: len(slow_engine.calls) == 2 and not w.controller.busy, timeout=15_000)


def test_ctrl_q_during_a_job_asks_and_quit_now_cancels(
    make_window: Any, slow_engine: FakeEngine, qtbot: Any, data_dir: Path
) -> None:
    w = make_window(engine=slow_engine)
    asked: list[bool] = []
    w.ask_quit = lambda: asked.append(True) or QuitChoice.QUIT_NOW
    queue_up(w, ["first", "second"])
    wait_running(w, slow_engine, qtbot)
    with qtbot.waitSignal(w.closed, timeout=5000):
        qtbot.keyClick(w, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    assert asked == [True] and not w.isVisible()
    assert not running_threads() and [r.prompt for r in slow_engine.calls] == ["first"]
    assert not list((data_dir / "outputs").glob("*.png"))


def test_finish_then_keep_working_after_all_lets_the_batch_and_queue_go_on(
    make_window: Any, slow_engine: FakeEngine, qtbot: Any
) -> None:
    w = make_window(engine=slow_engine)
    w.params.count.setValue(2)
    first, second = queue_up(w, ["first", "second"])
    wait_running(w, slow_engine, qtbot)
    results: dict[str, Any] = {}
    w.controller.jobFinished.connect(lambda job_id, result: results.update({job_id: result}))
    w.ask_quit = lambda: QuitChoice.FINISH_IMAGE
    assert not w.close()
    assert w.quit_after_image and "Quitting once the current image is saved" in w.notice.text()
    w.ask_quit = lambda: QuitChoice.KEEP_WORKING
    assert not w.close()
    assert not w.quit_after_image and not w.controller.held
    qtbot.waitUntil(lambda: len(results) == 2, timeout=15_000)
    assert all(isinstance(r, Finished) and len(r.images) == 2 for r in results.values())
    assert w.isVisible()


@pytest.mark.slow
def test_finish_the_current_image_saves_it_then_quits_with_the_tiny_model(
    make_window: Any, tiny_model: Path, qtbot: Any, data_dir: Path
) -> None:
    """The real engine: the image in progress is denoised, decoded, written and recorded; the rest of
    the batch and the waiting job never start; then the window closes and every thread has ended."""
    from zit_desktop.core.history import HistoryStore

    w = make_window(model=str(tiny_model))
    w.apply_request(
        GenerationRequest(prompt="a red fox", width=256, height=256, steps=8, seed=7, count=3, preset=None),
        lock_seed=True,
    )
    events: list[Any] = []
    w.controller.engineEvent.connect(events.append)
    first_step = lambda e: isinstance(e, Step) and e.index == 0 and e.step == 1  # noqa: E731
    with qtbot.waitSignal(w.controller.engineEvent, timeout=120_000, check_params_cb=first_step):
        w.generate()
        w.params.prompt.setPlainText("waiting job")
        w.generate()
    w.ask_quit = lambda: QuitChoice.FINISH_IMAGE
    # a step of 256² takes ≥ 0.1 s here: step 1 has just arrived, the image is far from done
    assert not w.close()  # not yet: the image is still being denoised
    assert w.isVisible()
    with qtbot.waitSignal(w.closed, timeout=120_000):
        pass
    assert not w.isVisible() and not running_threads()
    pngs = sorted((data_dir / "outputs").glob("*.png"))
    assert len(pngs) == 1  # the current image, complete; images 2 and 3 never started
    steps = [e.step for e in events if isinstance(e, Step) and e.index == 0]
    assert steps == list(range(1, 9))  # every step of it ran
    assert [e.index for e in events if isinstance(e, JobStarted)] == [0]
    [result] = [e for e in events if isinstance(e, (Finished, Cancelled))]
    assert isinstance(result, Cancelled) and [im.path for im in result.images] == [str(pngs[0])]
    store = HistoryStore(data_dir / "history.sqlite3")
    try:
        assert store.count() == 1
    finally:
        store.close()


def test_the_quit_question_names_the_image_of_a_batch_and_turns_plain_when_the_job_ends(
    make_window: Any, slow_engine: FakeEngine, qtbot: Any
) -> None:
    """The real box, as the app has it: "Image 1 of 3"; the job finishes while it is open, the box says
    so, and its "Quit" quits the idle window instead of asking to finish an image that is gone."""
    w = make_window(engine=slow_engine)
    from zit_desktop.ui.window.quit_dialog import ask_quit

    w.ask_quit = lambda: ask_quit(w, len(w.controller.pending), w._image_at, w.controller.idle)
    w.params.count.setValue(3)
    queue_up(w, ["a batch"])
    qtbot.waitUntil(lambda: w._image_at == (0, 3), timeout=5000)
    seen: list[tuple[str, str, bool]] = []

    def answer() -> None:
        box = QApplication.activeModalWidget()
        assert isinstance(box, QMessageBox)
        seen.append((box.text(), box.windowTitle(), True))
        box.grab().save(str(SHOTS / "quit-batch.png"))
        qtbot.waitUntil(lambda: not w.controller.busy, timeout=15_000)  # the batch ends meanwhile
        box.grab().save(str(SHOTS / "quit-finished.png"))
        finish = box.findChild(QPushButton, "finish-image")
        seen.append((box.text(), box.findChild(QPushButton, "quit-now").text(), finish.isVisible()))
        box.findChild(QPushButton, "quit-now").click()

    QTimer.singleShot(100, answer)
    with qtbot.waitSignal(w.closed, timeout=20_000):
        w.close()
    assert seen[0][0] == "Image 1 of 3 is being generated."
    assert seen[1] == ("The job has finished.", "Quit", False)
    assert not w.isVisible() and len(slow_engine.calls) == 1


def test_a_finish_answer_given_after_the_job_ended_just_quits(
    make_window: Any, slow_engine: FakeEngine, qtbot: Any
) -> None:
    w = make_window(engine=slow_engine)
    queue_up(w, ["one image"])
    wait_running(w, slow_engine, qtbot)

    def late_answer() -> QuitChoice:  # the user read the question while the image finished
        qtbot.waitUntil(lambda: not w.controller.busy, timeout=10_000)
        return QuitChoice.FINISH_IMAGE

    w.ask_quit = late_answer
    with qtbot.waitSignal(w.closed, timeout=5000):
        assert w.close()
    assert not w.quit_after_image and not w.controller.held
