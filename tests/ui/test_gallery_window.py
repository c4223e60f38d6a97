"""The gallery inside the real main window: new images appear, reuse fills the panel, same pixels again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QListView

from zit_desktop.core.events import CancelToken, Event, Finished
from zit_desktop.core.paths import AppPaths
from zit_desktop.core.request import GenerationRequest
from zit_desktop.ui.gallery.model import Roles
from zit_desktop.ui.startup import qtcompat

qtcompat.install()  # PySide6 6.12 + CPython 3.11 reference bug (the app does this at start)


def test_gallery_is_embedded_and_shows_new_images(qtbot: Any, make_window: Any, fake_engine: Any) -> None:
    window = make_window(engine=fake_engine)
    view = window.findChild(QListView, "galleryView")
    assert view is not None and view is window.gallery.view and window.gallery_dock.isVisible()
    assert window.gallery.model.total == 0
    window.params.prompt.setPlainText("a lighthouse at dusk")
    window.generate()
    qtbot.waitUntil(lambda: window.gallery.model.total == 1, timeout=10000)
    index = window.gallery.model.index(0, 0)
    assert index.data(Roles.Prompt) == "a lighthouse at dusk" and not index.data(Roles.Missing)
    window.gallery.view.setFocus()
    window.gallery.view.setCurrentIndex(index)
    qtbot.keyClick(window.gallery.view, Qt.Key.Key_R)  # reuse all, from the grid's shortcut
    assert window.reuse_parent == index.data(Roles.Id)
    assert window.params.lock.isChecked()


def _run(engine: Any, request: GenerationRequest) -> Finished:
    events: list[Event] = []
    result = engine.run(request, events.append, CancelToken())
    assert isinstance(result, Finished), result
    return result


@pytest.mark.slow
def test_reused_request_gives_identical_pixels(qtbot: Any, make_window: Any, fake_engine: Any,
                                               tiny_model: Path, data_dir: Path) -> None:
    from zit_desktop.core.engine import Engine

    engine = Engine(AppPaths(data_dir).ensure())
    first = _run(engine, GenerationRequest(prompt="一只橘色的猫，坐在窗台上", width=256, height=256, seed=31337,
                                           steps=4, guidance=0.0, preset=None, model=str(tiny_model)))
    window = make_window(model=str(tiny_model), engine=fake_engine)
    gallery = window.gallery
    row_id = gallery.store.add_result(first.images[0])
    gallery.on_image_recorded(row_id)
    window.params.apply_request(GenerationRequest(prompt="something else", seed=5, steps=8), lock_seed=False)
    assert gallery.select_id(row_id)
    gallery.reuse_all()
    again = window.params.request(window.settings.model)
    assert again.seed == 31337 and again.steps == 4 and again.prompt == "一只橘色的猫，坐在窗台上"
    second = _run(engine, again)
    a = np.asarray(Image.open(first.images[0].path))
    b = np.asarray(Image.open(second.images[0].path))
    assert first.images[0].path != second.images[0].path
    assert a.shape == b.shape == (256, 256, 3) and np.array_equal(a, b)
    gallery.select_id(row_id)  # reuse seed keeps the rest of the panel
    window.params.prompt.setPlainText("a different prompt")
    gallery.reuse_seed()
    kept = window.params.request(window.settings.model)
    assert kept.prompt == "a different prompt" and kept.seed == 31337 and window.params.lock.isChecked()


def test_the_trash_empties_itself_after_a_month(make_window: Any, data_dir: Path) -> None:
    import sqlite3
    import time

    from tests.ui.gallery_support import fill
    from zit_desktop.core.history import HistoryStore
    from zit_desktop.core.paths import app_paths

    paths = app_paths(data_dir).ensure()
    store = HistoryStore.for_paths(paths)
    old, recent, kept = fill(store, paths.outputs, 3)
    store.trash.move([old])
    store.trash.move([recent])
    store.close()
    with sqlite3.connect(paths.history_db) as conn:  # pretend the first delete was 40 days ago
        conn.execute("UPDATE images SET trashed_at = ? WHERE id = ?", (time.time() - 40 * 86_400, old))
    make_window(show=False)
    store = HistoryStore.for_paths(paths)
    try:
        assert store.get(old) is None  # emptied for good, file included
        assert store.get(recent) is not None and store.get(kept) is not None
        assert len(list(paths.trash.iterdir())) == 1
    finally:
        store.close()
