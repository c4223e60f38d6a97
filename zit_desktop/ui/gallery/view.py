"""The gallery panel: search and filters, the thumbnail grid (``galleryView``) and the details pane.

Item actions (context menu and shortcuts while the grid has focus): reuse seed, reuse all, open,
show in folder, copy prompt, favourite, delete (to the trash, with an Undo bar and Ctrl+Z).
"Rebuild from folder…" imports PNGs that carry our metadata, on a background thread.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import (
    QDate,
    QEvent,
    QItemSelectionModel,
    QObject,
    QPoint,
    QSize,
    Qt,
    QThreadPool,
    QTimer,
    QUrl,
    Signal,
    Slot,
)
from PySide6.QtGui import QAction, QDesktopServices, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QApplication, QFileDialog, QListView, QMenu, QSplitter, QVBoxLayout, QWidget

from zit_desktop.core.errors import AppError
from zit_desktop.core.history import HistoryFilter, HistoryRow, HistoryStore
from zit_desktop.core.request import GenerationRequest
from zit_desktop.ui.gallery.bars import NOTICE_MS, FilterBar, ThumbDelegate, reveal_in_file_manager
from zit_desktop.ui.gallery.details import DetailsPane
from zit_desktop.ui.gallery.model import THUMB_SIDE, GalleryModel
from zit_desktop.ui.widgets.notice_bar import NoticeBar
from zit_desktop.ui.widgets.params_panel import Reuse

log = logging.getLogger(__name__)

SEARCH_DELAY_MS = 200
MISSING_CHECK_MS = 4000
CELL = THUMB_SIDE + 14


class _RebuildSink(QObject):
    """Lives on the GUI thread: the import task reports through it (queued to the GUI thread)."""

    done = Signal(int, str)  # images imported, error message ("" when fine)


class GalleryPanel(QWidget):
    """The history as a browsable grid. Call :meth:`shutdown` before closing ``store``."""

    reuseRequested = Signal(object)  # a Reuse: the request, seed locked, the row as parent of the next job
    finalizeRequested = Signal(object)  # a HistoryRow to refine or upscale (the window's Finalize panel)
    rebuildFinished = Signal(int)

    def __init__(self, store: HistoryStore, parent: QWidget | None = None, *, page_size: int = 200) -> None:
        super().__init__(parent)
        self.setObjectName("galleryPanel")
        self.store = store
        self.model = GalleryModel(store, self, page_size=page_size)
        self.request_provider: Callable[[], GenerationRequest] | None = None
        self.open_url: Callable[[QUrl], bool] = QDesktopServices.openUrl
        self._undo_tokens: list[str] = []
        self._rebuild_pool = QThreadPool(self)
        self._rebuild_pool.setMaxThreadCount(1)
        self._rebuild_sink = _RebuildSink(self)
        self._rebuild_sink.done.connect(self._on_rebuild_done)

        self.filters = FilterBar(self)
        self.notice = NoticeBar(self, "galleryNotice", autohide_ms=NOTICE_MS)
        self.view = QListView(self)
        self._setup_view()
        self.details = DetailsPane(self)
        self.details.lineage.store = store
        self.details.lineage.selectRequested.connect(self.show_id)
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.setObjectName("gallerySplitter")
        splitter.addWidget(self.view)
        splitter.addWidget(self.details)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([600, 400])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.filters)
        layout.addWidget(self.notice)
        layout.addWidget(splitter, 1)

        self._make_actions()
        self.details.add_actions([self.act_reuse_seed, self.act_reuse_all, self.act_finalize, self.act_open,
                                  self.act_show])
        self._search_timer = QTimer(self, singleShot=True, interval=SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self.apply_filters)
        self._visible_timer = QTimer(self, singleShot=True, interval=60)
        self._visible_timer.timeout.connect(self._on_visible_changed)
        self._missing_timer = QTimer(self, interval=MISSING_CHECK_MS)
        self._missing_timer.timeout.connect(self.recheck_missing)
        self._missing_timer.start()
        self.filters.textEdited.connect(lambda _text: self._search_timer.start())
        self.filters.changed.connect(self.apply_filters)
        self.filters.rebuildRequested.connect(self.choose_rebuild_folder)
        self.notice.undoRequested.connect(self.undo_delete)
        self.model.totalChanged.connect(self.filters.set_count)
        self.model.modelReset.connect(self._on_current_changed)
        self.filters.set_presets(store.presets_used())
        self.filters.set_count(self.model.total)
        self._update_actions()
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)

    # ------------------------------------------------------------------ construction
    def _setup_view(self) -> None:
        v = self.view
        v.setObjectName("galleryView")
        v.setModel(self.model)
        v.setViewMode(QListView.ViewMode.IconMode)
        v.setUniformItemSizes(True)
        v.setIconSize(QSize(THUMB_SIDE, THUMB_SIDE))
        v.setGridSize(QSize(CELL, CELL))
        v.setSpacing(0)
        v.setMouseTracking(True)
        v.setResizeMode(QListView.ResizeMode.Adjust)
        v.setMovement(QListView.Movement.Static)
        v.setWrapping(True)
        v.setWordWrap(False)
        v.setSelectionMode(QListView.SelectionMode.ExtendedSelection)
        v.setVerticalScrollMode(QListView.ScrollMode.ScrollPerPixel)
        v.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        v.setItemDelegate(ThumbDelegate(QSize(CELL, CELL), v))
        v.customContextMenuRequested.connect(self._context_menu)
        v.doubleClicked.connect(lambda _index: self.open_image())
        v.selectionModel().currentChanged.connect(self._on_current_changed)
        v.selectionModel().selectionChanged.connect(lambda *_: self._update_actions())
        v.verticalScrollBar().valueChanged.connect(lambda _v: self._visible_timer.start())

    def _action(self, name: str, slot: Callable[[], object], keys: QKeySequence | QKeySequence.StandardKey | str | None = None) -> QAction:
        action = QAction(self)
        action.setObjectName(name)
        if keys is not None:
            action.setShortcut(QKeySequence(keys))
            action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        action.triggered.connect(lambda _checked=False: slot())
        self.view.addAction(action)
        return action

    def _make_actions(self) -> None:
        # Shortcuts act while the grid has focus (the window's own Ctrl+R reuses the last image).
        self.act_reuse_seed = self._action("reuseSeed", self.reuse_seed, "S")
        self.act_reuse_all = self._action("reuseAll", self.reuse_all, "R")
        self.act_open = self._action("openImage", self.open_image, "Return")
        self.act_show = self._action("showInFolder", self.show_in_folder, "Ctrl+Shift+O")
        self.act_finalize = self._action("finalizeImage", self.finalize_current)  # the window has Ctrl+Shift+F
        self.act_copy = self._action("copyPrompt", self.copy_prompt, QKeySequence.StandardKey.Copy)
        self.act_favorite = self._action("toggleFavorite", self.toggle_favorite, "F")
        self.act_delete = self._action("deleteImage", self.delete_selected, QKeySequence.StandardKey.Delete)
        self.act_undo = QAction(self)
        self.act_undo.setObjectName("undoDelete")
        self.act_undo.setShortcut(QKeySequence.StandardKey.Undo)
        self.act_undo.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.act_undo.triggered.connect(lambda _checked=False: self.undo_delete())
        self.addAction(self.act_undo)
        self.retranslate()

    def retranslate(self) -> None:
        texts = {
            self.act_reuse_seed: self.tr("Reuse seed"), self.act_reuse_all: self.tr("Reuse all parameters"),
            self.act_finalize: self.tr("Finalize…"), self.act_open: self.tr("Open image"), self.act_show: self.tr("Show in folder"),
            self.act_copy: self.tr("Copy prompt"), self.act_favorite: self.tr("Favourite"),
            self.act_delete: self.tr("Delete"), self.act_undo: self.tr("Undo delete"),
        }
        for action, text in texts.items():
            action.setText(text)
            shortcut = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            action.setToolTip(f"{text} ({shortcut})" if shortcut else text)
        self.view.setAccessibleName(self.tr("Image gallery"))
        self.view.setAccessibleDescription(self.tr("Generated images, newest first. Right-click or use "
                                                   "the shortcuts to reuse, open or delete them."))
        self.setAccessibleName(self.tr("Gallery"))

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    # ------------------------------------------------------------------ filters
    def current_filter(self) -> HistoryFilter:
        since: float | None = None
        days = self.filters.days()
        if days == 0:
            since = float(QDate.currentDate().startOfDay().toSecsSinceEpoch())
        elif days is not None:
            since = time.time() - days * 86400
        return HistoryFilter(text=self.filters.text().strip(), favorites_only=self.filters.favorites_only(),
                             preset=self.filters.preset(), since=since)

    @Slot()
    def apply_filters(self) -> None:
        self._search_timer.stop()
        self.model.set_filter(self.current_filter())

    # ------------------------------------------------------------------ selection
    def selected_rows(self) -> list[HistoryRow]:
        return self.model.rows_for(self.view.selectionModel().selectedIndexes())

    def current_row(self) -> HistoryRow | None:
        return self.model.row_at(self.view.currentIndex().row())

    def select_id(self, image_id: int) -> bool:
        index = self.model.index_of(image_id)
        if index.isValid():
            flags = QItemSelectionModel.SelectionFlag.ClearAndSelect
            self.view.selectionModel().setCurrentIndex(index, flags)
            self.view.scrollTo(index)
        return index.isValid()

    @Slot()
    def _on_current_changed(self, *_args: object) -> None:
        pos = self.view.currentIndex().row()
        if pos >= 0:
            self.model.recheck_missing(pos, pos)
        self.details.show_row(self.current_row())
        self._update_actions()

    def _update_actions(self) -> None:
        row = self.current_row()
        has = row is not None
        for action in (self.act_reuse_seed, self.act_reuse_all, self.act_copy, self.act_favorite,
                       self.act_delete):
            action.setEnabled(has)
        self.act_finalize.setEnabled(has and not row.missing)  # type: ignore[union-attr]
        present = has and not row.missing  # type: ignore[union-attr]
        self.act_open.setEnabled(present)
        self.act_show.setEnabled(has)
        self.act_undo.setEnabled(bool(self._undo_tokens))

    # ------------------------------------------------------------------ item actions
    def reuse_seed(self) -> None:
        """Keep the current parameters, take this image's seed and lock it."""
        row = self.current_row()
        if row is None:
            return
        base = self.request_provider() if self.request_provider is not None else row.request()
        self.reuseRequested.emit(Reuse(replace(base, seed=row.seed, count=base.count), True, row.id))

    def reuse_all(self) -> None:
        """Every parameter of this image, seed locked: generating gives the same image."""
        row = self.current_row()
        if row is None:
            return
        self.reuseRequested.emit(Reuse(row.request(), True, row.id))

    def finalize_current(self) -> None:
        """Refine or upscale this image (the window opens its Finalize panel)."""
        row = self.current_row()
        if row is not None and not row.missing:
            self.finalizeRequested.emit(row)

    def show_id(self, image_id: int) -> bool:
        """Select ``image_id`` (a lineage link), loading more pages when it is further down; says so
        when the current search or filters hide it."""
        while not self.model.index_of(image_id).isValid() and self.model.canFetchMore():
            before = self.model.rowCount()
            self.model.fetchMore()
            if self.model.rowCount() == before:
                break
        if self.select_id(image_id):
            self.view.setFocus(Qt.FocusReason.OtherFocusReason)
            return True
        self.notice.show_message(self.tr("That image is hidden by the search or filters, or is in the trash."))
        return False

    def open_image(self) -> None:
        row = self.current_row()
        if row is None:
            return
        if not os.path.exists(row.path):
            self.model.recheck_missing(self.view.currentIndex().row(), self.view.currentIndex().row())
            self.details.show_row(self.model.row_at(self.view.currentIndex().row()))
            self.notice.show_message(self.tr("The file is missing: %1").replace("%1", row.path))
            return
        self.open_url(QUrl.fromLocalFile(row.path))

    def show_in_folder(self) -> None:
        row = self.current_row()
        if row is None:
            return
        path = Path(row.path)
        if not reveal_in_file_manager(path, self.open_url):
            self.notice.show_message(self.tr("The folder is missing: %1").replace("%1", os.fspath(path.parent)))

    def copy_prompt(self) -> None:
        row = self.current_row()
        if row is not None:
            QGuiApplication.clipboard().setText(row.prompt)

    def toggle_favorite(self) -> None:
        rows = self.selected_rows() or [r for r in [self.current_row()] if r is not None]
        if rows:
            try:
                self.model.set_favorite([r.id for r in rows], not all(r.favorite for r in rows))
            except AppError as exc:  # the database is busy or the disk is full: say so, change nothing
                self.notice.show_message(exc.message)
                return
            self._on_current_changed()

    def delete_selected(self) -> None:
        rows = self.selected_rows() or [r for r in [self.current_row()] if r is not None]
        if not rows:
            return
        pos = self.view.currentIndex().row()
        try:
            token = self.store.trash.move([r.id for r in rows])
        except AppError as exc:
            self.notice.show_message(exc.message)
            return
        self._undo_tokens.append(token)
        self.model.remove_ids([r.id for r in rows])
        if self.model.rowCount():
            self.view.setCurrentIndex(self.model.index(min(pos, self.model.rowCount() - 1), 0))
        self.notice.show_undo(self.tr("1 image moved to the trash.") if len(rows) == 1
                              else self.tr("%n images moved to the trash.", "", len(rows)))
        self._update_actions()

    def undo_delete(self) -> None:
        if not self._undo_tokens:
            return
        try:
            restored = self.store.trash.restore(self._undo_tokens[-1])
        except AppError as exc:
            # Rows restored so far are back; the token stays, so Undo can be tried again once the
            # original folder is reachable (a disconnected drive, say).
            self.model.refresh()
            self.notice.show_message(exc.message)
            return
        self._undo_tokens.pop()
        self.model.refresh()
        if restored:
            self.select_id(restored[0])
        self.notice.show_message(self.tr("1 image restored.") if len(restored) == 1
                                 else self.tr("%n images restored.", "", len(restored)))
        self._update_actions()

    @Slot(QPoint)
    def _context_menu(self, pos: QPoint) -> None:
        index = self.view.indexAt(pos)
        if not index.isValid():
            return
        if not self.view.selectionModel().isSelected(index):
            self.view.setCurrentIndex(index)
        row = self.current_row()
        self.act_favorite.setText(self.tr("Remove from favourites") if row and row.favorite
                                  else self.tr("Add to favourites"))
        menu = QMenu(self)
        menu.setObjectName("galleryContextMenu")
        for action in (self.act_reuse_seed, self.act_reuse_all, self.act_finalize, None, self.act_open, self.act_show,
                       self.act_copy, None, self.act_favorite, self.act_delete):
            menu.addSeparator() if action is None else menu.addAction(action)
        menu.exec(self.view.viewport().mapToGlobal(pos))
        self.act_favorite.setText(self.tr("Favourite"))

    # ------------------------------------------------------------------ files behind our back
    def visible_rows(self, pad: bool = True) -> tuple[int, int]:
        """First and last row on screen; ``pad`` adds a grid row above and below."""
        rect = self.view.viewport().rect()
        first = max(0, self.view.indexAt(rect.topLeft() + QPoint(4, 4)).row())
        last_index = self.view.indexAt(rect.bottomLeft() + QPoint(4, -4))
        per_row = max(1, rect.width() // max(1, self.view.gridSize().width()))
        last = last_index.row() + per_row - 1 if last_index.isValid() else self.model.rowCount() - 1
        last = min(last, self.model.rowCount() - 1)
        return (max(0, first - per_row), last + per_row) if pad else (first, last)

    @Slot()
    def _on_visible_changed(self) -> None:
        first, last = self.visible_rows()
        self.model.prioritize(first, last)

    @Slot()
    def recheck_missing(self) -> list[int]:
        """Re-stat the files on screen (a file deleted in a file manager shows as missing)."""
        if not self.isVisible():
            return []
        first, last = self.visible_rows()
        changed = self.model.recheck_missing(first, last)
        if changed:
            self._on_current_changed()
        return changed

    def choose_rebuild_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("Rebuild history from folder"),
                                                  os.fspath(self.store.outputs_dir))
        if folder:
            self.rebuild_from(Path(folder))

    def rebuild_from(self, folder: Path) -> None:
        """Import the PNGs under ``folder`` that carry our metadata, off the GUI thread."""
        self.filters.set_busy(True)
        self.notice.show_message(self.tr("Importing images from %1…").replace("%1", os.fspath(folder)))
        store, sink = self.store, self._rebuild_sink

        def work() -> None:  # pool thread: reports through the GUI-thread sink only
            try:
                sink.done.emit(store.rebuild_from_folder(folder), "")
            except Exception as exc:
                log.exception("rebuild from %s failed", folder)
                sink.done.emit(0, str(exc))

        self._rebuild_pool.start(work)

    @Slot(int, str)
    def _on_rebuild_done(self, added: int, error: str) -> None:
        self.filters.set_busy(False)
        if error:
            self.notice.show_message(self.tr("Rebuild failed: %1").replace("%1", error))
        else:
            self.notice.show_message(self.tr("Imported 1 image from the folder.") if added == 1
                                     else self.tr("Imported %n images from the folder.", "", added))
        self.filters.set_presets(self.store.presets_used())
        self.model.refresh()
        self.rebuildFinished.emit(added)

    # ------------------------------------------------------------------ lifetime
    @Slot(int)
    def on_image_recorded(self, image_id: int) -> None:
        self.model.on_image_recorded(image_id)
        self.filters.set_presets(self.store.presets_used())
        row = self.store.get(image_id)
        if row is not None:  # a final of the selected image: its "Finals:" links gain it now
            self.details.lineage.on_row_recorded(row)

    @Slot()
    def shutdown(self) -> None:
        """Stop timers and wait for background work; no thread-pool task outlives this call."""
        self._missing_timer.stop()
        self._rebuild_pool.waitForDone()
        self.model.shutdown()
