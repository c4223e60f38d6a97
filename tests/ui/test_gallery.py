"""The gallery model and panel over a real history store (real PNGs, real thumbnails)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QModelIndex, QObject, Qt, Slot
from PySide6.QtGui import QInputMethodEvent
from PySide6.QtWidgets import QAbstractButton, QAbstractItemView, QApplication, QComboBox, QLineEdit, QWidget

from zit_desktop.core.history import HistoryFilter, HistoryStore
from zit_desktop.core.paths import AppPaths
from zit_desktop.core.request import GenerationRequest
from zit_desktop.ui.gallery.model import GalleryModel, Roles
from zit_desktop.ui.gallery.view import GalleryPanel
from zit_desktop.ui.startup import qtcompat
from zit_desktop.ui.widgets.params_panel import Reuse

from .gallery_support import PROMPTS, fill, make_result

DAY = 86400.0

qtcompat.install()  # PySide6 6.12 + CPython 3.11 reference bug (the app does this at start)


@pytest.fixture
def paths(data_dir: Path) -> AppPaths:
    return AppPaths(data_dir).ensure()


@pytest.fixture
def store(paths: AppPaths) -> Iterator[HistoryStore]:
    s = HistoryStore.for_paths(paths)
    yield s
    s.close()


@pytest.fixture
def make_panel(qtbot: Any, store: HistoryStore) -> Iterator[Any]:
    panels: list[GalleryPanel] = []

    def make(page_size: int = 200) -> GalleryPanel:
        panel = GalleryPanel(store, page_size=page_size)
        qtbot.addWidget(panel)
        panel.resize(1000, 640)
        panel.show()
        qtbot.waitExposed(panel)
        panel.activateWindow()  # shortcuts only fire in the active window
        qtbot.waitUntil(panel.isActiveWindow, timeout=2000)
        panels.append(panel)
        return panel

    yield make
    for panel in panels:
        panel.shutdown()  # no thread-pool work outlives the test
        assert panel.model.loader._pool.activeThreadCount() == 0
        assert panel._rebuild_pool.activeThreadCount() == 0


class Spy(QObject):
    """Receives ``reuseRequested`` on the GUI thread, as the window does."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[GenerationRequest, bool | None]] = []
        self.parents: list[int | None] = []

    @Slot(object)
    def apply_reuse(self, reuse: Reuse) -> None:
        self.calls.append((reuse.request, reuse.lock_seed))
        self.parents.append(reuse.parent_id)


def wait_thumbnails(qtbot: Any, model: GalleryModel, count: int) -> None:
    qtbot.waitUntil(lambda: model.loader.pending() == 0 and len(model.cache) >= count, timeout=5000)


def test_model_tester_with_real_rows(qtbot: Any, qtmodeltester: Any, store: HistoryStore, paths: AppPaths) -> None:
    ids = fill(store, paths.outputs, 30, favorite_every=4, created_start=time.time() - 3600)
    model = GalleryModel(store, page_size=12)
    try:
        assert model.rowCount() == 12 and model.canFetchMore()
        qtmodeltester.check(model)  # (it fetches more pages itself)
        first = model.index(0, 0)
        assert first.data(Roles.Id) == ids[-1]  # newest first
        assert first.data(Roles.Prompt) == PROMPTS[29 % len(PROMPTS)]
        tip = first.data(Qt.ItemDataRole.ToolTipRole)
        assert str(1029) in tip and "512×512" in tip
        for row in range(model.rowCount()):
            model.index(row, 0).data(Qt.ItemDataRole.DecorationRole)  # asks for every thumbnail
        wait_thumbnails(qtbot, model, model.rowCount())
        assert model.loader.requests == model.rowCount()  # each thumbnail asked for once
        while model.canFetchMore():
            model.fetchMore()
        assert model.rowCount() == 30
        new = store.add_result(make_result(paths.outputs, "a new lighthouse", 5000))
        model.on_image_recorded(new)
        assert model.index(0, 0).data(Roles.Id) == new and model.total == 31
        model.set_favorite([new], True)
        assert model.index(0, 0).data(Roles.Favorite) is True
        model.remove_ids([ids[0], ids[5]])
        model.set_filter(HistoryFilter(text="lighthouse"))
        model.set_filter(HistoryFilter(favorites_only=True))
        assert model.total == 9
    finally:
        model.shutdown()


def test_paging_thousands_of_rows(qtbot: Any, make_panel: Any, store: HistoryStore, paths: AppPaths,
                                  caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("ERROR")  # rows without files: "no thumbnail" warnings by the thousand
    ids = fill(store, paths.outputs, 3000, write=False, created_start=time.time() - 3000 * 60)
    panel = make_panel(page_size=200)
    model = panel.model
    assert (model.rowCount(), model.total) == (200, 3000)
    bar = panel.view.verticalScrollBar()
    for _ in range(40):  # the view asks for the next page when scrolled to the end
        bar.setValue(bar.maximum())
        qtbot.wait(5)
        if model.rowCount() == 3000:
            break
    assert model.rowCount() == 3000 and not model.canFetchMore()
    got = [model.index(r, 0).data(Roles.Id) for r in range(model.rowCount())]
    assert got == list(reversed(ids))
    assert panel.filters.count_label.text() == "3000 images"


def test_search_in_english_and_chinese(qtbot: Any, make_panel: Any, store: HistoryStore, paths: AppPaths) -> None:
    fill(store, paths.outputs, 40)
    panel = make_panel()
    model = panel.model
    for text, expected in [("lighthouse", 5), ("灯塔", 5), ("一只橘色的猫", 5), ("橘色 猫", 5),
                           ("LIGHTHOUSE dusk", 5), ("zebra", 0), ("", 40)]:
        panel.filters.search.setText(text)
        panel.apply_filters()
        assert model.total == expected, text
        assert all(text.split()[0].lower() in model.index(r, 0).data(Roles.Prompt).lower()
                   for r in range(model.rowCount()) if text)
    panel.filters.search.clear()
    panel.filters.search.setFocus()
    ime = QInputMethodEvent("", [])
    ime.setCommitString("雪山")  # typed with an input method; the search runs after a short pause
    QApplication.sendEvent(panel.filters.search, ime)
    qtbot.waitUntil(lambda: model.total == 5, timeout=2000)
    assert model.index(0, 0).data(Roles.Prompt) == "雪山日出，电影感"


def test_favourite_preset_and_date_filters(qtbot: Any, make_panel: Any, store: HistoryStore,
                                           paths: AppPaths) -> None:
    # an hour ago, but never before today's midnight: "Today" must hold them at any time of day
    start_of_today = datetime.combine(date.today(), datetime.min.time()).timestamp()
    ids = fill(store, paths.outputs, 40, favorite_every=4, created_start=max(time.time() - 3600, start_of_today + 1))
    wide = store.add_result(make_result(paths.outputs, "wide shot", 9000, preset="landscape"))
    with store.transaction() as conn:  # ten images from last month, five from last week
        conn.executemany("UPDATE images SET created_at = ? WHERE id = ?",
                         [(time.time() - (40 if n < 10 else 5) * DAY, rid) for n, rid in enumerate(ids[:15])])
    panel = make_panel()
    model, bar = panel.model, panel.filters
    bar.favorites.click()
    assert model.total == 10 and all(model.index(r, 0).data(Roles.Favorite) for r in range(10))
    panel.view.setFocus()
    panel.view.setCurrentIndex(model.index(0, 0))
    qtbot.keyClick(panel.view, Qt.Key.Key_F)  # un-favourite: it leaves the favourites view
    assert model.total == 9
    bar.favorites.click()
    bar.preset_combo.setCurrentIndex(bar.preset_combo.findData("landscape"))
    assert model.total == 1 and model.index(0, 0).data(Roles.Id) == wide
    bar.preset_combo.setCurrentIndex(0)
    for index, expected in [(1, 26), (2, 31), (3, 31), (0, 41)]:  # today, 7 days, 30 days, all
        bar.date_combo.setCurrentIndex(index)
        assert model.total == expected, bar.date_combo.currentText()


def test_thumbnails_load_off_the_gui_thread_once_and_stay_bounded(
        qtbot: Any, make_panel: Any, store: HistoryStore, paths: AppPaths) -> None:
    fill(store, paths.outputs, 120)
    panel = make_panel()
    model = panel.model
    threads: list[int] = []
    original = model.loader._load
    model.loader._load = lambda job: (threads.append(threading.get_ident()), original(job))[1]  # type: ignore
    model.cache.set_budget(40 * 144 * 144 * 4)  # room for 40 thumbnails: two screens, a third of all
    bar = panel.view.verticalScrollBar()
    for value in range(0, bar.maximum() + 1, 80):
        bar.setValue(value)
        qtbot.wait(10)
        assert model.cache.bytes <= model.cache.budget_bytes
    bar.setValue(bar.maximum())
    qtbot.waitUntil(lambda: model.loader.pending() == 0, timeout=5000)
    assert model.cache.evictions > 0 and model.cache.bytes <= model.cache.budget_bytes
    assert threads and threading.get_ident() not in threads
    assert model.loader.requests <= len(threads) + model.loader.pending() + 120  # no duplicates queued
    last = model.index(model.rowCount() - 1, 0)
    assert last.data(Roles.ThumbnailLoaded)


def test_missing_thumbnail_is_made_again(qtbot: Any, store: HistoryStore, paths: AppPaths) -> None:
    (rid,) = fill(store, paths.outputs, 1)
    thumb = Path(store.get(rid).thumbnail)  # type: ignore[union-attr, arg-type]
    thumb.unlink()
    model = GalleryModel(store)
    try:
        model.index(0, 0).data(Qt.ItemDataRole.DecorationRole)
        wait_thumbnails(qtbot, model, 1)
        assert thumb.exists()
    finally:
        model.shutdown()


def test_reuse_seed_and_reuse_all_reach_apply_request(qtbot: Any, make_panel: Any, store: HistoryStore,
                                                      paths: AppPaths) -> None:
    fill(store, paths.outputs, 3)
    panel = make_panel()
    spy = Spy()
    panel.reuseRequested.connect(spy.apply_reuse)
    current = GenerationRequest(prompt="what the panel holds", steps=6, width=768, height=768, count=2)
    panel.request_provider = lambda: current
    panel.view.setFocus()
    panel.view.setCurrentIndex(panel.model.index(1, 0))
    row = panel.current_row()
    assert row is not None
    qtbot.keyClick(panel.view, Qt.Key.Key_S)  # reuse seed: keep the panel, take the seed, lock it
    assert spy.calls[-1] == (GenerationRequest(prompt="what the panel holds", steps=6, width=768, height=768,
                                               count=2, seed=row.seed), True)
    with qtbot.waitSignal(panel.reuseRequested) as parent:
        qtbot.keyClick(panel.view, Qt.Key.Key_R)  # reuse all parameters
    assert spy.calls[-1] == (row.request(), True) and parent.args[0].parent_id == row.id
    assert spy.parents == [row.id, row.id]
    assert spy.calls[-1][0].prompt == row.prompt and spy.calls[-1][0].seed == row.seed


def test_delete_moves_the_file_to_the_trash_and_undo_brings_it_back(
        qtbot: Any, make_panel: Any, store: HistoryStore, paths: AppPaths) -> None:
    ids = fill(store, paths.outputs, 5)
    panel = make_panel()
    panel.view.setFocus()
    assert panel.select_id(ids[2])
    path = Path(store.get(ids[2]).path)  # type: ignore[union-attr]
    qtbot.keyClick(panel.view, Qt.Key.Key_Delete)
    assert not path.exists()
    assert [p.name for p in paths.trash.iterdir()] == [f"{ids[2]}-{path.name}"]
    assert panel.model.total == 4 and not panel.model.index_of(ids[2]).isValid()
    assert panel.notice.isVisible() and panel.notice.undo.isVisible()
    assert "1" in panel.notice.label.text()
    qtbot.keyClick(panel.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert path.exists() and not any(paths.trash.iterdir())
    assert panel.model.total == 5 and panel.current_row().id == ids[2]  # type: ignore[union-attr]
    panel.select_id(ids[0])
    panel.view.selectionModel().select(panel.model.index_of(ids[1]),
                                       panel.view.selectionModel().SelectionFlag.Select)
    panel.delete_selected()  # several at once, then the Undo button
    assert panel.model.total == 3
    panel.notice.undo.click()
    assert panel.model.total == 5 and all(Path(store.get(i).path).exists() for i in ids)  # type: ignore


def test_undo_that_cannot_move_the_file_back_keeps_the_undo(
        qtbot: Any, make_panel: Any, store: HistoryStore, paths: AppPaths, monkeypatch: Any) -> None:
    from zit_desktop.core.errors import AppError, ErrorKind

    ids = fill(store, paths.outputs, 3)
    panel = make_panel()
    assert panel.select_id(ids[1])
    path = Path(store.get(ids[1]).path)  # type: ignore[union-attr]
    panel.delete_selected()
    real_restore = store.trash.restore

    def unreachable(token: str) -> list[int]:
        raise AppError(ErrorKind.UNWRITABLE, "The restored image could not be written (drive missing).")

    monkeypatch.setattr(store.trash, "restore", unreachable)
    panel.undo_delete()  # no exception escapes to the crash dialog; the message says why
    assert "could not be written" in panel.notice.label.text()
    assert not path.exists()
    monkeypatch.setattr(store.trash, "restore", real_restore)
    panel.undo_delete()  # the same undo still works once the folder is back
    assert path.exists() and panel.model.total == 3


def test_file_deleted_behind_our_back_shows_as_missing(qtbot: Any, make_panel: Any, store: HistoryStore,
                                                       paths: AppPaths) -> None:
    ids = fill(store, paths.outputs, 4)
    panel = make_panel()
    opened: list[Any] = []
    panel.open_url = lambda url: opened.append(url) or True
    panel.select_id(ids[1])
    row = store.get(ids[1])
    assert row is not None
    os.remove(row.path)
    Path(row.thumbnail or "").unlink()  # the thumbnail is gone too
    assert ids[1] in panel.recheck_missing()
    index = panel.model.index_of(ids[1])
    assert index.data(Roles.Missing) is True and "File missing" in index.data(Qt.ItemDataRole.ToolTipRole)
    assert panel.details.missing.isVisible() and not panel.act_open.isEnabled()
    panel.open_image()
    assert opened == [] and "missing" in panel.notice.label.text()
    panel.model.refresh()  # a fresh read: no thumbnail file, no image file: a placeholder, no crash
    for r in range(panel.model.rowCount()):
        panel.model.index(r, 0).data(Qt.ItemDataRole.DecorationRole)
    qtbot.waitUntil(lambda: panel.model.loader.pending() == 0)
    assert not panel.grab().isNull()
    panel.select_id(ids[2])
    panel.open_image()
    assert [u.toLocalFile() for u in opened] == [store.get(ids[2]).path]  # type: ignore[union-attr]
    panel.show_in_folder()  # Linux: the folder opens (Windows/macOS select the file)
    assert Path(opened[-1].toLocalFile()) == paths.outputs


def test_rebuild_from_folder_imports_our_pngs(qtbot: Any, make_panel: Any, store: HistoryStore,
                                              tmp_path: Path) -> None:
    folder = tmp_path / "elsewhere"
    for seed in range(5):
        make_result(folder, f"imported picture {seed}", seed)
    (folder / "junk.png").write_bytes(b"not a png")
    panel = make_panel()
    assert panel.model.total == 0
    with qtbot.waitSignal(panel.rebuildFinished, timeout=10000) as done:
        panel.rebuild_from(folder)
    assert done.args == [5]
    assert panel.model.total == 5 and "5" in panel.notice.label.text()


def test_image_recorded_inserts_at_the_top_without_a_reset(qtbot: Any, make_panel: Any, store: HistoryStore,
                                                          paths: AppPaths) -> None:
    fill(store, paths.outputs, 60)
    panel = make_panel()
    bar = panel.view.verticalScrollBar()
    bar.setValue(bar.maximum() // 2)
    before = bar.value()
    new = store.add_result(make_result(paths.outputs, "fresh off the GPU", 7777))
    with qtbot.assertNotEmitted(panel.model.modelReset), qtbot.waitSignal(panel.model.rowsInserted) as ins:
        panel.on_image_recorded(new)
    assert ins.args[1:] == [0, 0] and panel.model.index(0, 0).data(Roles.Id) == new
    assert panel.model.total == 61 and bar.value() == before


def test_every_control_has_an_accessible_name_and_copy_prompt(qtbot: Any, make_panel: Any,
                                                              store: HistoryStore, paths: AppPaths) -> None:
    fill(store, paths.outputs, 2)
    panel = make_panel()
    controls = [w for w in panel.findChildren(QWidget)
                if isinstance(w, (QAbstractButton, QLineEdit, QComboBox, QAbstractItemView)) and w.isVisible()]
    assert len(controls) >= 8
    assert [w.objectName() for w in controls if not w.accessibleName()] == []
    panel.view.setFocus()
    panel.view.setCurrentIndex(panel.model.index(0, 0))
    qtbot.keyClick(panel.view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    from PySide6.QtGui import QGuiApplication

    assert QGuiApplication.clipboard().text() == panel.current_row().prompt  # type: ignore[union-attr]
    assert panel.view.objectName() == "galleryView" and panel.view.model() is panel.model
    assert not QModelIndex().isValid()
