"""Put the history gallery and the recipes menu into the main window: one call from
``app.create_main_window``.

The window keeps its own API (``apply_reuse``, ``current_request``, ``set_gallery_widget``,
``imageRecorded``); this module only connects to it. The gallery reads the history through its own
store (WAL: the worker thread's writes never block it) and closes it when the window closes.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject

from zit_desktop.core.errors import AppError
from zit_desktop.core.history import HistoryStore
from zit_desktop.core.paths import AppPaths
from zit_desktop.ui.gallery.view import GalleryPanel

if TYPE_CHECKING:
    from zit_desktop.ui.window.main_window import MainWindow

log = logging.getLogger(__name__)
TRASH_DAYS = 30


class GalleryHookup(QObject):
    """Lives on the GUI thread with the window; owns the gallery's store."""

    def __init__(self, window: MainWindow, panel: GalleryPanel, store: HistoryStore) -> None:
        super().__init__(window)
        self.setObjectName("galleryHookup")
        self.window, self.panel, self.store = window, panel, store
        panel.request_provider = window.current_request
        panel.reuseRequested.connect(window.apply_reuse)
        panel.finalizeRequested.connect(window.finalize.finalize_row)
        window.imageRecorded.connect(panel.on_image_recorded)
        # once the window has really closed: a close can be refused (a job runs and the user keeps working)
        window.closed.connect(self.close)

    def close(self) -> None:
        """Wait for thumbnail and import work, then close the store. Safe to call twice."""
        self.panel.shutdown()
        self.store.close()


def attach_gallery(window: MainWindow, paths: AppPaths) -> GalleryHookup | None:
    """Embed a :class:`GalleryPanel` in ``window`` and add the recipes menu.

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
    window.set_gallery_widget(panel)
    window.gallery = panel
    window.gallery_hookup = hookup
    from zit_desktop.ui.window.recipes_menu import RecipesMenu

    window.recipes_menu = RecipesMenu(window, store)  # saved parameter sets live in the same database
    return hookup
