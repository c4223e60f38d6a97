"""Gallery thumbnails: decoded off the GUI thread, cached on it within a byte budget.

* :class:`ThumbnailLoader` keeps a stack of wanted thumbnails (last asked, first served: what the
  view painted last is what is on screen) and runs at most ``max_threads`` drain tasks on its own
  :class:`QThreadPool`. A drain task pops jobs until the stack is empty, decodes each thumbnail as a
  :class:`QImage` (scaled while decoding) and emits it through :class:`_ResultSink`, a QObject that
  lives on the GUI thread, so delivery is queued to the GUI thread.
* :meth:`ThumbnailLoader.retain` drops queued jobs for items scrolled out of view; an id is never
  queued twice while it is waiting or decoding.
* :class:`PixmapLru` holds the GUI-thread :class:`QPixmap` objects, evicting the least recently
  used once the byte budget is spent, so scrolling 10,000 items keeps memory bounded.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from PySide6.QtCore import QObject, QSize, Qt, QThreadPool, Signal, Slot
from PySide6.QtGui import QImage, QImageReader, QPixmap

log = logging.getLogger(__name__)

DEFAULT_BUDGET_BYTES = 48 * 2**20  # ~480 thumbnails of 160x160 (ARGB32)

# Regenerates the thumbnail file of a history row; returns its path or None (called on a pool thread).
Regenerate = Callable[[int], "str | os.PathLike[str] | None"]


@dataclass(frozen=True)
class ThumbJob:
    image_id: int
    thumbnail: str | None  # the thumbnail file the history knows of, if any


def decode_thumbnail(path: str | os.PathLike[str], side: int) -> QImage:
    """Decode ``path`` scaled to fit ``side``×``side`` (the JPEG decoder scales while decoding)."""
    reader = QImageReader(os.fspath(path))
    reader.setAutoTransform(True)
    size = reader.size()
    if size.isValid() and (size.width() > side or size.height() > side):
        reader.setScaledSize(size.scaled(QSize(side, side), Qt.AspectRatioMode.KeepAspectRatio))
    image = reader.read()
    if image.isNull():
        return QImage()
    return image.convertToFormat(QImage.Format.Format_ARGB32_Premultiplied)


class _ResultSink(QObject):
    """Lives on the GUI thread; pool threads emit through it, so slots run on the GUI thread."""

    loaded = Signal(int, QImage)  # image id, thumbnail (null when none could be made)


class ThumbnailLoader(QObject):
    """Loads thumbnails on a private thread pool; ``loaded`` fires on the GUI thread."""

    loaded = Signal(int, QImage)

    def __init__(self, regenerate: Regenerate | None, side: int, max_threads: int = 2,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.side = side
        self._regenerate = regenerate
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(max(1, max_threads))
        self._sink = _ResultSink(self)
        self._sink.loaded.connect(self._on_loaded)
        self._lock = threading.Lock()
        self._stack: list[ThumbJob] = []  # guarded by _lock
        self._draining = 0  # guarded by _lock
        self._wanted: set[int] = set()  # GUI thread only: queued or being decoded
        self._closed = False
        self.requests = 0  # jobs accepted (tests and benchmarks check there are no duplicates)

    # ------------------------------------------------------------------ GUI thread
    def request(self, job: ThumbJob) -> bool:
        """Queue ``job`` unless that id is already queued or decoding; True when queued."""
        if self._closed or job.image_id in self._wanted:
            return False
        self._wanted.add(job.image_id)
        self.requests += 1
        start = False
        with self._lock:
            self._stack.append(job)
            if self._draining < self._pool.maxThreadCount():
                self._draining += 1
                start = True
        if start:
            self._pool.start(self._drain)
        return True

    def retain(self, ids: Iterable[int]) -> int:
        """Forget queued (not yet started) jobs whose id is not in ``ids``; return how many."""
        keep = set(ids)
        with self._lock:
            dropped = [j.image_id for j in self._stack if j.image_id not in keep]
            self._stack = [j for j in self._stack if j.image_id in keep]
        self._wanted.difference_update(dropped)
        return len(dropped)

    def pending(self) -> int:
        return len(self._wanted)

    def wait(self, msecs: int = -1) -> bool:
        """Block until every decode task has ended (results still queued to the GUI thread)."""
        return bool(self._pool.waitForDone(msecs))

    def shutdown(self) -> None:
        """Drop queued jobs and wait for running decodes; no task outlives this call."""
        self._closed = True
        with self._lock:
            self._stack.clear()
        self._pool.waitForDone()
        self._wanted.clear()

    @Slot(int, QImage)
    def _on_loaded(self, image_id: int, image: QImage) -> None:
        self._wanted.discard(image_id)
        if not self._closed:
            self.loaded.emit(image_id, image)

    # ------------------------------------------------------------------ pool threads
    def _drain(self) -> None:
        while True:
            with self._lock:
                if not self._stack or self._closed:
                    self._draining -= 1
                    return
                job = self._stack.pop()  # newest request first: what is on screen now
            try:
                image = self._load(job)
            except Exception:
                log.exception("thumbnail for image %d failed", job.image_id)
                image = QImage()
            self._sink.loaded.emit(job.image_id, image)

    def _load(self, job: ThumbJob) -> QImage:
        path: str | os.PathLike[str] | None = job.thumbnail
        if not path or not os.path.exists(path):
            path = self._regenerate(job.image_id) if self._regenerate is not None else None
        if not path:
            return QImage()
        return decode_thumbnail(path, self.side)


class PixmapLru:
    """QPixmaps by image id, least recently used evicted past ``budget_bytes``. GUI thread only."""

    def __init__(self, budget_bytes: int = DEFAULT_BUDGET_BYTES) -> None:
        self.budget_bytes = int(budget_bytes)
        self._items: OrderedDict[int, tuple[QPixmap, int]] = OrderedDict()
        self.bytes = 0
        self.evictions = 0

    @staticmethod
    def cost(pixmap: QPixmap) -> int:
        return max(1, pixmap.width() * pixmap.height() * max(8, pixmap.depth()) // 8)

    def get(self, key: int) -> QPixmap | None:
        item = self._items.get(key)
        if item is None:
            return None
        self._items.move_to_end(key)
        return item[0]

    def set_budget(self, budget_bytes: int) -> None:
        """Keep at most ``budget_bytes`` (give it room for a few screens of thumbnails)."""
        self.budget_bytes = int(budget_bytes)
        self._evict()

    def put(self, key: int, pixmap: QPixmap) -> None:
        self.discard(key)
        cost = self.cost(pixmap)
        self._items[key] = (pixmap, cost)
        self.bytes += cost
        self._evict()

    def _evict(self) -> None:
        while self.bytes > self.budget_bytes and len(self._items) > 1:
            _old, (_pm, old_cost) = self._items.popitem(last=False)
            self.bytes -= old_cost
            self.evictions += 1

    def discard(self, key: int) -> None:
        item = self._items.pop(key, None)
        if item is not None:
            self.bytes -= item[1]

    def clear(self) -> None:
        self._items.clear()
        self.bytes = 0

    def __contains__(self, key: int) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)
