"""The gallery's list model: the history, newest first, loaded a page at a time.

Rows come from :class:`HistoryStore` in pages (``fetchMore``); a finished image is merged in at
the top (``imageRecorded``) without a reset, so the view keeps its scroll position. Thumbnails are
asked for only when the view paints an item (DecorationRole) and arrive later from
:class:`ThumbnailLoader`; until then a placeholder is shown.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from enum import IntEnum
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QByteArray,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
    Slot,
)
from PySide6.QtGui import QColor, QImage, QPixmap

from zit_desktop.core.history import HistoryFilter, HistoryRow, HistoryStore
from zit_desktop.ui.gallery.details import made_on
from zit_desktop.ui.gallery.lineage import final_method
from zit_desktop.ui.gallery.thumbs import DEFAULT_BUDGET_BYTES, PixmapLru, ThumbJob, ThumbnailLoader
from zit_desktop.ui.startup import qtcompat
from zit_desktop.ui.window import texts

PAGE_SIZE = 200
THUMB_SIDE = 144
_Index = QModelIndex | QPersistentModelIndex
_ROOT = QModelIndex()


class Roles(IntEnum):
    Row = Qt.ItemDataRole.UserRole + 1  # the HistoryRow
    Id = Qt.ItemDataRole.UserRole + 2
    Favorite = Qt.ItemDataRole.UserRole + 3
    Missing = Qt.ItemDataRole.UserRole + 4
    Path = Qt.ItemDataRole.UserRole + 5
    Prompt = Qt.ItemDataRole.UserRole + 6
    ThumbnailLoaded = Qt.ItemDataRole.UserRole + 7
    Final = Qt.ItemDataRole.UserRole + 8  # "refine" / "upscale" for a finalized image, else None


class GalleryModel(QAbstractListModel):
    """History rows for a ``QListView``. Call :meth:`shutdown` before the store is closed."""

    totalChanged = Signal(int)  # rows matching the filter (loaded or not)

    def __init__(self, store: HistoryStore, parent: QObject | None = None, *, page_size: int = PAGE_SIZE,
                 thumb_side: int = THUMB_SIDE, cache_bytes: int = DEFAULT_BUDGET_BYTES) -> None:
        qtcompat.install()  # PySide6 6.12 + CPython 3.11 reference bug: before our first signal
        super().__init__(parent)
        self.store = store
        self.page_size = page_size
        self._filter = HistoryFilter()
        self._rows: list[HistoryRow] = []
        self._pos: dict[int, int] = {}  # image id -> row
        self._total = 0
        self.cache = PixmapLru(cache_bytes)
        self.loader = ThumbnailLoader(store.thumbnail_path, thumb_side, parent=self)
        self.loader.loaded.connect(self._on_thumbnail)
        self._failed: set[int] = set()  # ids with no thumbnail possible (until the next refresh)
        self._placeholder = _placeholder(thumb_side)
        self._changing = False
        self.refresh()

    # ------------------------------------------------------------------ Qt model API
    def rowCount(self, parent: _Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def canFetchMore(self, parent: _Index = _ROOT) -> bool:
        return not parent.isValid() and not self._changing and len(self._rows) < self._total

    def fetchMore(self, parent: _Index = _ROOT) -> None:
        if parent.isValid() or self._changing:
            return  # never start a change from inside another one's signals
        more = [r for r in self.store.page(len(self._rows), self.page_size, self._filter)
                if r.id not in self._pos]
        if not more:
            self._set_total(len(self._rows))  # the history shrank behind our back
            return
        first = len(self._rows)
        with self._change():
            self.beginInsertRows(QModelIndex(), first, first + len(more) - 1)
            self._rows.extend(more)
            self._reindex(first)
            self.endInsertRows()

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows) or index.column() != 0:
            return None
        row = self._rows[index.row()]
        if role == Qt.ItemDataRole.DecorationRole:
            return self._thumbnail(row)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(row)
        if role in (Qt.ItemDataRole.AccessibleTextRole, Roles.Prompt):
            return row.prompt
        if role == Roles.Row:
            return row
        if role == Roles.Id:
            return row.id
        if role == Roles.Favorite:
            return row.favorite
        if role == Roles.Missing:
            return row.missing
        if role == Roles.Path:
            return row.path
        if role == Roles.ThumbnailLoaded:
            return row.id in self.cache
        if role == Roles.Final:
            return final_method(row)
        return None

    def flags(self, index: _Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren

    def roleNames(self) -> dict[int, QByteArray]:
        names = dict(super().roleNames())
        names.update({int(r): QByteArray(r.name.lower().encode()) for r in Roles})
        return names

    # ------------------------------------------------------------------ filters and refresh
    @property
    def filter(self) -> HistoryFilter:
        return self._filter

    @property
    def total(self) -> int:
        return self._total

    def set_filter(self, flt: HistoryFilter) -> None:
        if flt != self._filter:
            self._filter = flt
            self.refresh()

    def refresh(self) -> None:
        """Reload from the first page (a model reset: use for filter changes and undo)."""
        with self._change():
            self.beginResetModel()
            self._rows = []
            self._pos = {}
            self._failed.clear()
            self._total = self.store.count(self._filter)
            self.endResetModel()
        self.totalChanged.emit(self._total)
        if self._total:
            self.fetchMore()

    @Slot(int)
    def on_image_recorded(self, image_id: int) -> None:
        """A new image is in the history: insert the rows newer than ours at the top, no reset."""
        limit = max(8, min(64, self.page_size))
        newest = self.store.page(0, limit, self._filter)
        fresh: list[HistoryRow] = []
        for row in newest:
            if row.id in self._pos:
                break
            fresh.append(row)
        if self._rows and len(fresh) == limit:
            self.refresh()  # more new rows than one page: simpler to start over
            return
        if fresh:
            with self._change():
                self.beginInsertRows(QModelIndex(), 0, len(fresh) - 1)
                self._rows[0:0] = fresh
                self._reindex(0)
                self.endInsertRows()
        self._set_total(self.store.count(self._filter))

    # ------------------------------------------------------------------ row edits
    def index_of(self, image_id: int) -> QModelIndex:
        pos = self._pos.get(image_id)
        return QModelIndex() if pos is None else self.index(pos, 0)

    def row_at(self, pos: int) -> HistoryRow | None:
        return self._rows[pos] if 0 <= pos < len(self._rows) else None

    def rows_for(self, indexes: Iterable[QModelIndex]) -> list[HistoryRow]:
        rows = [self.row_at(i.row()) for i in indexes if i.isValid()]
        return sorted((r for r in rows if r is not None), key=lambda r: self._pos[r.id])

    def reload_row(self, image_id: int) -> HistoryRow | None:
        """Read one row again (favourite, missing, path); drop it if it no longer matches."""
        pos = self._pos.get(image_id)
        if pos is None:
            return None
        row = self.store.get(image_id)
        if row is None or row.trashed or (self._filter.favorites_only and not row.favorite):
            self.remove_ids([image_id])
            return None
        self._rows[pos] = row
        self._changed(pos)
        return row

    def set_favorite(self, image_ids: Sequence[int], favorite: bool) -> None:
        for image_id in image_ids:
            self.store.set_favorite(image_id, favorite)
            self.reload_row(image_id)

    def remove_ids(self, image_ids: Iterable[int]) -> None:
        """Take rows out of the model (after a trash) one contiguous run at a time."""
        positions = sorted({self._pos[i] for i in image_ids if i in self._pos}, reverse=True)
        for pos in positions:
            with self._change():
                self.beginRemoveRows(QModelIndex(), pos, pos)
                removed = self._rows.pop(pos)
                self.cache.discard(removed.id)
                del self._pos[removed.id]
                self._reindex(pos)
                self.endRemoveRows()
        if positions:
            self._set_total(max(len(self._rows), self._total - len(positions)))

    def recheck_missing(self, first: int = 0, last: int | None = None) -> list[int]:
        """Look at the disk again for rows ``first``…``last``; return the ids whose state changed."""
        last = len(self._rows) - 1 if last is None else min(last, len(self._rows) - 1)
        changed: list[int] = []
        for pos in range(max(0, first), last + 1):
            row = self._rows[pos]
            missing = not os.path.exists(row.path)
            if missing != row.missing:
                self._rows[pos] = replace(row, missing=missing)
                changed.append(row.id)
                self._changed(pos)
        return changed

    # ------------------------------------------------------------------ thumbnails
    def prioritize(self, first: int, last: int) -> None:
        """Only rows ``first``…``last`` are on screen: drop queued thumbnail jobs for the others."""
        ids = [r.id for r in self._rows[max(0, first):last + 1]]
        self.loader.retain(ids)

    def shutdown(self) -> None:
        """Stop thumbnail work and wait for it: call before closing the store or ending a test."""
        self.loader.shutdown()

    def _thumbnail(self, row: HistoryRow) -> QPixmap:
        pixmap = self.cache.get(row.id)
        if pixmap is not None:
            return pixmap
        if row.id not in self._failed:
            self.loader.request(ThumbJob(row.id, row.thumbnail))
        return self._placeholder

    @Slot(int, QImage)
    def _on_thumbnail(self, image_id: int, image: QImage) -> None:
        pos = self._pos.get(image_id)
        if pos is None:
            return
        if image.isNull():
            self._failed.add(image_id)
            return
        self.cache.put(image_id, QPixmap.fromImage(image))  # QPixmap only ever on the GUI thread
        self._changed(pos, [Qt.ItemDataRole.DecorationRole, Roles.ThumbnailLoaded])

    # ------------------------------------------------------------------ helpers
    def _tooltip(self, row: HistoryRow) -> str:
        prompt = row.prompt if len(row.prompt) <= 300 else row.prompt[:300] + "…"
        lines = [prompt, self.tr("Seed %1 · %2×%3").replace("%1", str(row.seed))
                 .replace("%2", str(row.width)).replace("%3", str(row.height))]
        lines.append(self.tr("Made on %1").replace("%1", made_on(row.environment)))
        if row.strategy:
            lines.append(self.tr("Memory strategy: %1").replace("%1", texts.strategy_with_id(row.strategy)))
        method = final_method(row)
        if method == "refine":
            lines.append(self.tr("Refined from another image (a final)"))
        elif method == "upscale":
            lines.append(self.tr("Upscaled from another image (a final)"))
        if row.favorite:
            lines.append(self.tr("★ Favourite"))
        if row.missing:
            lines.append(self.tr("File missing: %1").replace("%1", row.path))
        return "\n".join(lines)

    def _reindex(self, start: int) -> None:
        if start == 0:
            self._pos = {}
        for pos in range(start, len(self._rows)):
            self._pos[self._rows[pos].id] = pos

    @contextmanager
    def _change(self) -> Iterator[None]:
        """Marks a begin…end pair (including the end signal): no page is fetched meanwhile."""
        self._changing = True
        try:
            yield
        finally:
            self._changing = False

    def _changed(self, pos: int, roles: list[int] | None = None) -> None:
        idx = self.index(pos, 0)
        self.dataChanged.emit(idx, idx, roles or [])

    def _set_total(self, total: int) -> None:
        if total != self._total:
            self._total = total
            self.totalChanged.emit(total)


def _placeholder(side: int) -> QPixmap:
    pixmap = QPixmap(side, side)
    pixmap.fill(QColor(128, 128, 128, 60))
    return pixmap
