"""The window at the first-start size of a 1366×768 laptop (1180×680 client, the history dock open):
Generate, Cancel and the queued jobs stay in view in every common state — with the "Run on:" row of
an added engine, an inline hint, and the longer zh_CN texts — because only the parameters scroll."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QApplication, QWidget

from tests.ui.conftest import FakeEngine
from zit_desktop.core.remote.config import RemoteEngineConfig, add_engine

SHOTS = Path(os.environ.get("ZIT_SHOTS_DIR", "/tmp"))
LAPTOP_CLIENT = (1180, 680)  # geometry.first_start_size on 1366×728 available


def wholly_shown(widget: QWidget) -> bool:
    return widget.isVisible() and widget.visibleRegion().boundingRect().size() == widget.size()


@pytest.mark.parametrize("language", ["en", "zh_CN"])
def test_queued_jobs_stay_visible_at_1366x768_with_run_on_and_a_hint(
    make_window: Any, data_dir: Path, qtbot: Any, language: str
) -> None:
    engine = FakeEngine(data_dir / "outputs", step_delay=0.05)
    w = make_window(engine=engine)
    qtbot.wait(50)  # the first-show settling (fit onto the screen, the dock's height) runs first

    def at_laptop_size() -> bool:
        w.resize(*LAPTOP_CLIENT)
        return (w.width(), w.height()) == LAPTOP_CLIENT

    qtbot.waitUntil(at_laptop_size, timeout=2000)
    assert w.gallery_dock.isVisible()
    add_engine(w.settings, RemoteEngineConfig("studio", "http://127.0.0.1:8188"))
    w.engines.picker.refresh()  # what closing Settings → Engines… does
    try:
        w.set_language(language)
        w.params.prompt.setPlainText("a lighthouse at dusk")
        w.params.width_spin.set_checked(1000)  # not a multiple of 16: the inline hint shows
        w.params.count.setValue(3)
        QApplication.processEvents()
        assert w.params.hint.isVisible() and w.engines.picker.isVisible()
        jobs = [w.generate() for _ in range(3)]
        qtbot.waitUntil(lambda: w.controller.busy and len(w.controller.pending) == 2, timeout=5000)
        QApplication.processEvents()
        w.grab().save(str(SHOTS / f"fit-queue-{language}.png"))
        for widget in (w.engines.picker, w.generate_button, w.cancel_button, w.queue_label, w.queue_list):
            assert wholly_shown(widget), widget.objectName()
        rows = [w.queue_list.visualItemRect(w.queue_list.item(i)) for i in range(w.queue_list.count())]
        assert len(rows) == 3 and all(w.queue_list.viewport().rect().contains(r) for r in rows)
        # the parameters scroll on their own; the prompt is at the top of their viewport
        assert w.params.prompt.visibleRegion().boundingRect().height() > 0
        w.clear_queue()
        w.cancel()
        qtbot.waitUntil(lambda: not w.controller.busy, timeout=5000)
        assert all(job is not None for job in jobs)
    finally:
        w.set_language("en")
