"""Put the gallery and PNG drop into the main window: one call from ``app.create_main_window``.

The window keeps its own API (``apply_request``, ``set_gallery_widget``, ``imageRecorded``); this
module only connects to it. The gallery reads the history through its own store (WAL: the worker
thread's writes never block it) and closes it when the window closes.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from PySide6.QtCore import QEvent, QObject, Slot

from zit_desktop.core.errors import AppError
from zit_desktop.core.history import HistoryStore
from zit_desktop.core.paths import AppPaths
from zit_desktop.core.request import GenerationRequest
from zit_desktop.ui.gallery.view import GalleryPanel
from zit_desktop.ui.window.png_drop import PngDropFilter, install_png_drop

log = logging.getLogger(__name__)
TRASH_DAYS = 30


class GalleryHookup(QObject):
    """Lives on the GUI thread with the window; owns the gallery's store."""

    def __init__(self, window: Any, panel: GalleryPanel, store: HistoryStore) -> None:
        super().__init__(window)
        self.setObjectName("galleryHookup")
        self.window, self.panel, self.store = window, panel, store
        self.reuse_parent: int | None = None
        self.drop: PngDropFilter | None = None
        panel.reusedFrom.connect(self._on_reused_from)
        panel.reuseRequested.connect(self._on_reuse)
        window.imageRecorded.connect(panel.on_image_recorded)
        window.installEventFilter(self)

    def current_request(self) -> GenerationRequest:
        request: GenerationRequest = self.window.params.request(self.window.settings.model)
        return request

    @Slot(int)
    def _on_reused_from(self, image_id: int) -> None:
        self.reuse_parent = image_id

    @Slot(object, bool)
    def _on_reuse(self, request: GenerationRequest, lock_seed: bool) -> None:
        parent, self.reuse_parent = self.reuse_parent, None
        self.window.apply_request(request, lock_seed, parent_id=parent)

    def apply_dropped(self, request: GenerationRequest, lock_seed: bool) -> None:
        self.window.apply_request(request, lock_seed)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.window and event.type() == QEvent.Type.Close:
            self.close()
        return False

    def close(self) -> None:
        """Wait for thumbnail and import work, then close the store. Safe to call twice."""
        self.panel.shutdown()
        self.store.close()


def attach_gallery(window: Any, paths: AppPaths) -> GalleryHookup | None:
    """Embed a :class:`GalleryPanel` in ``window`` and let the window take PNG drops.

    A history that can't be opened (written by a newer version, unwritable folder) leaves the
    window without a gallery and says why in the status bar; generating still works.
    """
    try:
        store = HistoryStore.for_paths(paths)
    except AppError as exc:
        log.error("gallery disabled: %s", exc)
        window.statusBar().showMessage(str(exc))
        return None
    try:  # the trash keeps deleted images for a month (undo, or rescue by hand), then empties itself
        purged = store.trash.purge(older_than=time.time() - TRASH_DAYS * 86_400)
        if purged:
            log.info("emptied %d images trashed more than %d days ago", purged, TRASH_DAYS)
    except AppError as exc:
        log.warning("could not empty the old trash: %s", exc)
    panel = GalleryPanel(store, window)
    hookup = GalleryHookup(window, panel, store)
    panel.request_provider = hookup.current_request
    window.set_gallery_widget(panel)
    hookup.drop = install_png_drop(window, hookup.apply_dropped, current_request=hookup.current_request)
    window.gallery = panel
    window.gallery_hookup = hookup
    from zit_desktop.ui.window.recipes_menu import RecipesMenu

    window.recipes_menu = RecipesMenu(window, store)  # saved parameter sets live in the same database
    return hookup
