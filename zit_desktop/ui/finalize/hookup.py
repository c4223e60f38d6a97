"""Two-stage generation in the main window: Explore next to Generate, the variations grid in the
image area, and Finalize for the chosen image (the current result, or any gallery item).

One object, made at the end of ``MainWindow._build`` with the two layouts it adds to; it listens to
the window's controller itself (on the GUI thread) and submits through it, so the window's own
progress bar, preview, cancel and queue serve explore and finalize jobs like any other.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt, Slot
from PySide6.QtGui import QAction, QImage, QKeySequence
from PySide6.QtWidgets import (
    QBoxLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from zit_desktop.core.events import Cancelled, Failed, Finished, ImageRecorded, ImageSaved, JobStarted
from zit_desktop.core.history import HistoryRow
from zit_desktop.core.memory.plan import options_from_settings
from zit_desktop.core.memory.profile import ModelProfile
from zit_desktop.core.metadata.read import ParamsError
from zit_desktop.core.request import GenerationRequest, RequestError, validate
from zit_desktop.ui.finalize.build import (
    EXPLORE_DEFAULT,
    EXPLORE_MAX,
    EXPLORE_MIN,
    FinalizeSource,
    RefineFit,
    explore_preset,
    explore_request,
    refine_fit,
)
from zit_desktop.ui.finalize.dialog import FinalizeDialog
from zit_desktop.ui.finalize.explore_grid import ExploreGrid
from zit_desktop.ui.widgets.image_view import pil_to_qimage
from zit_desktop.ui.window import texts
from zit_desktop.ui.window.worker import Job, WorkerEvent

if TYPE_CHECKING:
    from zit_desktop.ui.window.main_window import MainWindow

log = logging.getLogger(__name__)
VIEW_PAGE, GRID_PAGE = 0, 1


class _Texts(QWidget):
    """The explore controls beside Generate; retranslates the hookup's texts on a language change."""

    def __init__(self, hookup: FinalizeHookup, parent: QWidget) -> None:
        super().__init__(parent)
        self.hookup = hookup

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.hookup.retranslate()
        super().changeEvent(event)


class FinalizeHookup(QObject):
    def __init__(self, window: MainWindow, buttons: QBoxLayout, image_area: QBoxLayout) -> None:
        super().__init__(window)
        self.setObjectName("finalizeHookup")
        self.window = window
        self._profile: ModelProfile | None = None
        self._explore_jobs: dict[str, GenerationRequest] = {}
        self._rows: dict[str, int] = {}  # image path -> history row, for the images of this session
        self.dialog: FinalizeDialog | None = None
        self.last_job: Job | None = None

        # Explore ×N beside Generate
        self.explore_box = _Texts(self, window)
        self.explore_button = QPushButton(self.explore_box)
        self.explore_button.setObjectName("exploreButton")
        self.explore_count = QSpinBox(self.explore_box)
        self.explore_count.setObjectName("exploreCount")
        self.explore_count.setRange(EXPLORE_MIN, EXPLORE_MAX)
        self.explore_count.setValue(EXPLORE_DEFAULT)
        self.explore_count.setPrefix("×")
        row = QHBoxLayout(self.explore_box)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(2)
        row.addWidget(self.explore_button, 1)
        row.addWidget(self.explore_count)
        buttons.insertWidget(buttons.indexOf(window.generate_button) + 1, self.explore_box, 2)
        QWidget.setTabOrder(window.generate_button, self.explore_button)
        QWidget.setTabOrder(self.explore_button, self.explore_count)
        QWidget.setTabOrder(self.explore_count, window.cancel_button)

        # the image area: the single image (with its Finalize bar) or the variations grid
        self.stack = QStackedWidget(window)
        self.stack.setObjectName("imageArea")
        view_page = QWidget(self.stack)
        vbox = QVBoxLayout(view_page)
        vbox.setContentsMargins(0, 0, 0, 0)
        vbox.setSpacing(4)
        image_area.replaceWidget(window.image_view, self.stack)
        vbox.addWidget(window.image_view, 1)
        self.back_button = QToolButton(view_page)
        self.back_button.setObjectName("backToVariations")
        self.finalize_button = QPushButton(view_page)
        self.finalize_button.setObjectName("finalizeButton")
        bar = QHBoxLayout()
        bar.addWidget(self.back_button)
        bar.addStretch(1)
        bar.addWidget(self.finalize_button)
        vbox.addLayout(bar)
        grid_page = QWidget(self.stack)
        gbox = QVBoxLayout(grid_page)
        gbox.setContentsMargins(0, 0, 0, 0)
        gbox.setSpacing(4)
        self.grid = ExploreGrid(grid_page)
        self.grid_hint = QLabel(grid_page)
        self.grid_hint.setObjectName("exploreHint")
        self.grid_hint.setWordWrap(True)
        gbox.addWidget(self.grid, 1)
        gbox.addWidget(self.grid_hint)
        self.stack.addWidget(view_page)
        self.stack.addWidget(grid_page)

        self.explore_action = QAction(window)
        self.explore_action.setObjectName("exploreAction")
        self.explore_action.setShortcut(QKeySequence("Ctrl+E"))
        self.finalize_action = QAction(window)
        self.finalize_action.setObjectName("finalizeAction")
        self.finalize_action.setShortcut(QKeySequence("Ctrl+Shift+F"))
        for action in (self.explore_action, self.finalize_action):
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            window.menus.job_menu.addAction(action)

        self.explore_button.clicked.connect(lambda _c=False: self.explore())
        self.explore_action.triggered.connect(lambda _c=False: self.explore())
        self.finalize_button.clicked.connect(lambda _c=False: self.finalize_current())
        self.finalize_action.triggered.connect(lambda _c=False: self.finalize_current())
        self.back_button.clicked.connect(lambda _c=False: self.show_grid())
        self.grid.picked.connect(self._on_picked)
        window.controller.engineEvent.connect(self.on_event)
        window.controller.preview.connect(self.on_preview)
        window.monitor.profileLoaded.connect(self._on_profile)
        window.imageShown.connect(lambda _path: self._update_bar())
        self.retranslate()
        self._update_bar()  # at start: no variations to go back to, nothing to finalize yet

    # ------------------------------------------------------------------ texts
    def retranslate(self) -> None:
        self.explore_button.setText(self.tr("Explore"))
        self.explore_button.setToolTip(self.tr("Make several variations at a small size (seed, seed+1, …) to pick "
                                           "one and finalize it (Ctrl+E)."))
        self.explore_button.setAccessibleName(self.tr("Explore"))
        self.explore_count.setAccessibleName(self.tr("Variations to explore"))
        self.explore_count.setToolTip(self.tr("How many variations Explore makes"))
        self.explore_action.setText(self.tr("Explore variations"))
        self.finalize_action.setText(self.tr("Finalize the chosen image…"))
        self.finalize_button.setText(self.tr("Finalize…"))
        self.finalize_button.setToolTip(self.tr("Refine or upscale this image to a larger size (Ctrl+Shift+F)"))
        self.back_button.setText(self.tr("◂ Variations"))
        self.back_button.setToolTip(self.tr("Back to the variations to pick another"))
        self.back_button.setAccessibleName(self.tr("Back to the variations"))
        self.grid_hint.setText(self.tr("Pick the variation to keep: click it, or use the arrow keys and Enter. "
                                   "Then finalize it."))
        self.stack.setAccessibleName(self.tr("Image area"))

    # ------------------------------------------------------------------ explore
    def explore(self) -> Job | None:
        """Submit a batch of N variations at the smallest preset predicted to fit this card."""
        w = self.window
        try:
            fits = w.advisor.preset_fits(self._profile, w.monitor.last, options_from_settings(w.settings))
        except Exception:  # a planner bug must not stop exploring: 512² is small anywhere
            log.exception("the memory planner failed; exploring at the default preset")
            fits = []
        request = explore_request(w.current_request(), explore_preset(fits), self.explore_count.value())
        try:
            for warning in validate(request):
                log.info("request warning: %s", warning)
        except RequestError as exc:
            w.params.show_message(texts.request_error(exc), exc.field_name)
            return None
        w.params.clear_message()
        job = w.controller.submit(request)
        self._explore_jobs[job.job_id] = request
        self.last_job = job
        return job

    def show_grid(self) -> None:
        if self.grid.cells:
            self.stack.setCurrentIndex(GRID_PAGE)
            self.grid.setFocus(Qt.FocusReason.OtherFocusReason)
        self._update_bar()

    def show_view(self) -> None:
        self.stack.setCurrentIndex(VIEW_PAGE)
        self._update_bar()

    @Slot(int)
    def _on_picked(self, index: int) -> None:
        cell = self.grid.cells[index]
        image = QImage(cell.path)
        if image.isNull():
            self.window.notice.show_message(self.tr("The image {0} cannot be read.").format(cell.path), "error")
            log.error("cannot read the picked variation %s", cell.path)
            return
        self.window.image_view.show_image(image, cell.path)
        params = self.window.params
        if not params.lock.isChecked():
            params.remember_seed(cell.seed)  # Lock now keeps the picked variation's seed
        self.window.statusBar().showMessage(self.tr("Picked the variation with seed {0}").format(cell.seed))
        if self.window.gallery is not None and cell.row_id is not None:
            self.window.gallery.select_id(cell.row_id)  # its details (and lineage) show below
        self.show_view()
        self.finalize_button.setFocus(Qt.FocusReason.OtherFocusReason)

    def chosen_path(self) -> str | None:
        """The image Finalize works on: the grid's current cell while the grid shows, else the result."""
        if self.stack.currentIndex() == GRID_PAGE:
            cells = self.grid.cells
            cell = cells[self.grid.current] if 0 <= self.grid.current < len(cells) else None
            return cell.path if cell is not None and cell.ready else None
        view = self.window.image_view
        return view.path if view.image is not None and not view.is_preview and view.path else None

    def _update_bar(self) -> None:
        self.back_button.setVisible(bool(self.grid.cells))
        has = self.chosen_path() is not None
        self.finalize_button.setEnabled(has)
        self.finalize_action.setEnabled(has)

    # ------------------------------------------------------------------ engine events
    @Slot(object)
    def on_event(self, event: WorkerEvent) -> None:
        explore = self._explore_jobs.get(getattr(event, "job_id", ""))
        match event:
            case JobStarted():
                if explore is None:
                    if event.index == 0:
                        self.show_view()  # any other job shows its preview in the single view
                    return
                if not self.grid.shows_job(event.job_id):
                    self.grid.begin(event.job_id, explore.seeds())
                    self.show_grid()
                self.grid.set_running(event.index)
            case ImageSaved() if explore is not None:
                image = pil_to_qimage(event.picture) if event.picture is not None else QImage(event.image.path)
                self.grid.set_image(event.image.index, image, event.image.path)
                self._update_bar()
            case ImageRecorded():
                self._rows[event.image.path] = event.row_id
                if explore is not None:
                    self.grid.set_row(event.image.index, event.row_id)
            case Finished() | Failed() | Cancelled():
                if explore is not None:
                    self._explore_jobs.pop(event.job_id, None)
                    if self.grid.shows_job(event.job_id):
                        self.grid.finish()
                self._update_bar()

    @Slot(str, int, int, QImage)
    def on_preview(self, job_id: str, index: int, step: int, image: QImage) -> None:
        if job_id in self._explore_jobs and self.grid.shows_job(job_id):
            self.grid.set_preview(index, image)

    @Slot(object)
    def _on_profile(self, profile: object) -> None:
        self._profile = profile if isinstance(profile, ModelProfile) else None

    # ------------------------------------------------------------------ finalize
    def finalize_current(self) -> FinalizeDialog | None:
        """Open the Finalize panel for the chosen image (the picked variation or the current result)."""
        path = self.chosen_path()
        if path is None:
            self.window.notice.show_message(self.tr("Make or pick an image first, then finalize it."), "info")
            return None
        row_id = self._rows.get(path)
        gallery = self.window.gallery
        row = gallery.store.get(row_id) if gallery is not None and row_id is not None else None
        if row is not None:
            return self.finalize_row(row)
        try:
            source = FinalizeSource.from_file(path, row_id, self.window.current_request())
        except ParamsError as exc:
            self.window.notice.show_message(str(exc), "error")
            log.error("cannot finalize %s: %s", path, exc)
            return None
        return self.open_dialog(source)

    @Slot(object)
    def finalize_row(self, row: HistoryRow) -> FinalizeDialog | None:
        """Open the Finalize panel for a history row (the gallery's "Finalize…")."""
        try:
            source = FinalizeSource.from_row(row)
        except (RequestError, TypeError, ValueError) as exc:
            self.window.notice.show_message(
                self.tr("The stored parameters of this image are unreadable ({0}).").format(exc), "error")
            log.error("cannot finalize row %s: %s", row.id, exc)
            return None
        return self.open_dialog(source)

    def open_dialog(self, source: FinalizeSource) -> FinalizeDialog:
        if self.dialog is not None:
            self.dialog.close()
        dialog = FinalizeDialog(source, self._fit, self.window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda d=dialog: self._submit(d))
        dialog.destroyed.connect(lambda _o=None, d=dialog: self._forget(d))
        self.dialog = dialog
        dialog.open()
        return dialog

    def _forget(self, dialog: FinalizeDialog) -> None:
        if self.dialog is dialog:
            self.dialog = None

    def _submit(self, dialog: FinalizeDialog) -> None:
        request = dialog.built
        if request is None:
            return
        job = self.window.controller.submit(request, parent_id=dialog.source.row_id)
        self.last_job = job
        log.info("finalize %s of %s submitted as job %s", request.finalize.method if request.finalize else "?",
                 dialog.source.path, job.job_id)

    def _fit(self, width: int, height: int) -> RefineFit | None:
        w = self.window
        try:
            return refine_fit(w.advisor, self._profile, w.monitor.last, width, height,
                              options_from_settings(w.settings))
        except Exception:
            log.exception("the memory planner failed; whole-image or tiled is unknown")
            return None
