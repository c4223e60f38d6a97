"""The main window: parameters on the left; VRAM gauge, image, progress and messages on the right.

All worker traffic arrives through :class:`JobController` signals, delivered to slots of this window
on the GUI thread. Engine messages are English; the window puts a translated headline in front.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import replace
from itertools import pairwise
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QEvent, Qt, QTimer, QUrl, Signal, Slot
from PySide6.QtGui import QAction, QCloseEvent, QDesktopServices, QGuiApplication, QImage, QShowEvent
from PySide6.QtWidgets import (
    QDockWidget,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from zit_desktop.core.errors import ErrorKind
from zit_desktop.core.events import (
    Cancelled,
    Failed,
    Finished,
    ImageRecorded,
    ImageResult,
    ImageSaved,
    JobStarted,
    Loading,
    Notice,
    Preview,
    Result,
    Step,
)
from zit_desktop.core.memory.advisor import MemoryAdvisor
from zit_desktop.core.memory.other_users import closing_advice
from zit_desktop.core.memory.peak_model import PlanOptions
from zit_desktop.core.memory.plan import options_from_settings
from zit_desktop.core.memory.profile import ModelProfile
from zit_desktop.core.memory.throttle import ThrottleWatch
from zit_desktop.core.memory.vram import DeviceInfo
from zit_desktop.core.paths import AppPaths
from zit_desktop.core.request import GenerationRequest, RequestError, validate
from zit_desktop.core.settings import Settings, save_settings
from zit_desktop.ui.engines.hookup import REMOTE_PHASES, EnginesHookup
from zit_desktop.ui.finalize.hookup import FinalizeHookup
from zit_desktop.ui.setup.model_choice import ModelChoice
from zit_desktop.ui.startup.i18n import Translations
from zit_desktop.ui.widgets.image_view import ImageView, pil_to_qimage
from zit_desktop.ui.widgets.notice_bar import NoticeBar
from zit_desktop.ui.widgets.params_panel import ParamsPanel, Reuse
from zit_desktop.ui.widgets.progress_panel import ProgressPanel
from zit_desktop.ui.widgets.queue_list import QueueList
from zit_desktop.ui.widgets.vram_gauge import VramGauge
from zit_desktop.ui.window import geometry as window_geometry
from zit_desktop.ui.window import texts
from zit_desktop.ui.window.menus import WindowMenus
from zit_desktop.ui.window.quit_dialog import QuitChoice, ask_quit
from zit_desktop.ui.window.vram_monitor import VramMonitor
from zit_desktop.ui.window.worker import EngineStarted, Job, JobController, MemoryFreed, WorkerEvent

if TYPE_CHECKING:
    from zit_desktop.ui.gallery.view import GalleryPanel
    from zit_desktop.ui.gallery.wiring import GalleryHookup
    from zit_desktop.ui.setup.setup_dialog import ModelSetupDialog
    from zit_desktop.ui.window.png_drop import PngDropFilter
    from zit_desktop.ui.window.recipes_menu import RecipesMenu

log = logging.getLogger(__name__)


class MainWindow(QMainWindow):
    imageRecorded = Signal(int)  # history row id, for the gallery to refresh
    closed = Signal()  # after the window closed and the worker stopped: the app quits
    shutdown_timeout_ms = 20_000  # how long closing waits for the running step or model load
    imageShown = Signal(str)  # path of the finished image now in the view

    def __init__(
        self,
        paths: AppPaths,
        settings: Settings,
        controller: JobController,
        monitor: VramMonitor,
        translations: Translations | None = None,
        advisor: MemoryAdvisor | None = None,
    ) -> None:
        super().__init__()
        self.setObjectName("mainWindow")
        self.paths, self.settings, self.controller, self.monitor = paths, settings, controller, monitor
        self.translations = translations
        # the app's one memory advisor (the engine records its measured peaks there)
        self.advisor = advisor if advisor is not None else MemoryAdvisor(paths.cache)
        self._profile: ModelProfile | None = None  # the model's sizes, read on the probe thread
        self.last_results: list[ImageResult] = []
        self.reuse_parent: int | None = None
        # set by app.create_main_window once the history opened (the window works without them)
        self.gallery: GalleryPanel | None = None
        self.gallery_hookup: GalleryHookup | None = None
        self.recipes_menu: RecipesMenu | None = None
        self.png_drop: PngDropFilter | None = None
        self._sizes: dict[str, tuple[int, int]] = {}  # job id -> final image size, for the preview frame
        self._first_run_pending = not settings.first_run_done and not settings.last_request
        self._closed = False
        self.throttle_watch = ThrottleWatch()  # step time over the session vs the card's throttle reasons
        self._throttle_text = ""
        # closing during a job asks first (tests put their answer here); "finish" closes again once idle
        self.ask_quit: Callable[[], QuitChoice] = lambda: ask_quit(
            self, len(self.controller.pending), self._image_at, self.controller.idle)
        self._image_at: tuple[int, int] | None = None  # (index, count) of the image being made
        self.quit_after_image = False
        self.model_choice = ModelChoice(self)
        self._build()
        self._connect()
        self.retranslate()
        self._restore()
        monitor.start()

    # ------------------------------------------------------------------ construction
    def _build(self) -> None:
        self.params = ParamsPanel(self)
        self.generate_button = QPushButton(self)
        self.generate_button.setObjectName("generateButton")
        self.generate_button.setDefault(True)
        self.cancel_button = QPushButton(self)
        self.cancel_button.setObjectName("cancelButton")
        self.cancel_button.setEnabled(False)
        self.queue_label = QLabel(self)
        self.queue_list = QueueList(self)
        self.queue_list.setMaximumHeight(self.fontMetrics().lineSpacing() * 4 + 8)
        self.queue_label.setBuddy(self.queue_list)
        self.clear_queue_button = QPushButton(self)
        self.clear_queue_button.setObjectName("clearQueueButton")
        self.clear_queue_button.setEnabled(False)
        buttons = QHBoxLayout()
        buttons.addWidget(self.generate_button, 2)
        buttons.addWidget(self.cancel_button, 1)
        queue_head = QHBoxLayout()
        queue_head.addWidget(self.queue_label, 1)
        queue_head.addWidget(self.clear_queue_button)
        # The parameters scroll; the jobs part under them (Run on, Generate, Cancel, the queue) does
        # not, so the queued jobs stay in view on a 1366×768 laptop whatever the parameters need
        # (a "Run on:" row, a hint, longer translations).
        params_page = QWidget(self)
        pbox = QVBoxLayout(params_page)
        pbox.setContentsMargins(9, 9, 9, 0)
        pbox.addWidget(self.params)
        pbox.addStretch(1)
        jobs = QWidget(self)
        jobs.setObjectName("jobsSection")
        lbox = QVBoxLayout(jobs)
        lbox.setContentsMargins(9, 6, 9, 9)
        lbox.addLayout(buttons)
        lbox.addLayout(queue_head)
        lbox.addWidget(self.queue_list)
        self.jobs_section = jobs
        self.gauge = VramGauge(self)
        self.image_view = ImageView(self)
        self.progress = ProgressPanel(self)
        self.notice = NoticeBar(self)
        right = QWidget(self)
        rbox = QVBoxLayout(right)
        rbox.addWidget(self.gauge)
        rbox.addWidget(self.image_view, 1)
        rbox.addWidget(self.progress)
        rbox.addWidget(self.notice)
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.setObjectName("mainSplitter")
        # The parameters scroll on a short screen instead of forcing the window taller than it
        # (1366×768 laptops): the column's own minimum height no longer sets the window's.
        self.left_scroll = QScrollArea(self)
        self.left_scroll.setObjectName("paramsScroll")
        self.params_column = params_page
        self.left_scroll.setWidget(params_page)
        self.left_scroll.setWidgetResizable(True)
        self.left_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.left_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        bar = self.left_scroll.verticalScrollBar().sizeHint().width()
        self.left_scroll.setMinimumWidth(params_page.minimumSizeHint().width() + bar)
        left = QWidget(self)
        left.setObjectName("leftColumn")
        column = QVBoxLayout(left)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.left_scroll, 1)
        column.addWidget(jobs)
        self.splitter.addWidget(left)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setChildrenCollapsible(False)
        self.setCentralWidget(self.splitter)
        self.gallery_dock = QDockWidget(self)
        self.gallery_dock.setObjectName("galleryDock")
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.gallery_dock)
        self.gallery_dock.hide()
        self.status_label = QLabel(self)
        self.status_label.setObjectName("lastJobStatus")
        self.statusBar().addPermanentWidget(self.status_label)
        self.menus = WindowMenus(self, self.gallery_dock.toggleViewAction())
        order = [
            self.params.count,
            self.generate_button,
            self.cancel_button,
            self.clear_queue_button,
            self.queue_list,
            self.gauge,
            self.image_view,
        ]
        for a, b in pairwise(order):
            QWidget.setTabOrder(a, b)
        self.finalize = FinalizeHookup(self, buttons, rbox)  # Explore beside Generate; the variations grid
        self.engines = EnginesHookup(self, lbox, buttons)  # Settings → Engines…, "Run on:" above Generate

    def _connect(self) -> None:
        self.generate_button.clicked.connect(self.generate)
        self.cancel_button.clicked.connect(self.cancel)
        self.menus.generate_action.triggered.connect(self.generate)
        self.menus.cancel_action.triggered.connect(self.cancel)
        self.menus.clear_queue_action.triggered.connect(self.clear_queue)
        self.clear_queue_button.clicked.connect(self.clear_queue)
        self.queue_list.clearRequested.connect(self.clear_queue)
        self.queue_list.removeRequested.connect(self.controller.remove)
        self.queue_list.moveRequested.connect(self.controller.move)
        self.menus.reuse_action.triggered.connect(self.reuse_last)
        self.menus.free_memory_action.triggered.connect(self.free_gpu_memory)
        self.params.submitRequested.connect(self.generate)
        self.params.sizeChanged.connect(self._update_prediction)
        self.menus.open_outputs_action.triggered.connect(self.open_outputs)
        self.menus.open_log_action.triggered.connect(self.open_log)
        self.menus.quit_action.triggered.connect(self.close)
        self.menus.language_group.triggered.connect(self._on_language_action)
        self.menus.preferences_action.triggered.connect(self.edit_preferences)
        self.menus.setup_action.triggered.connect(self.model_choice.open_setup)
        self.notice.actionRequested.connect(self.model_choice.open_setup)
        self.controller.engineEvent.connect(self.on_event)
        self.controller.preview.connect(self.on_preview)
        self.controller.queueChanged.connect(self.refresh_queue)
        self.controller.idle.connect(self._quit_if_finishing)
        self.monitor.sampled.connect(self.on_vram_sample)
        self.monitor.profileLoaded.connect(self.on_profile_loaded)

    # ------------------------------------------------------------------ language
    def retranslate(self) -> None:
        self.setWindowTitle(self.tr("ZIT Desktop — Z-Image-Turbo"))
        self.generate_button.setText(self.tr("Generate"))
        self.generate_button.setToolTip(
            self.tr("Generate (Ctrl+Enter). While a job runs, this adds to the queue.")
        )
        self.generate_button.setAccessibleName(self.tr("Generate"))
        self.cancel_button.setText(self.tr("Cancel"))
        self.cancel_button.setToolTip(
            self.tr("Cancel the running job; the waiting jobs stay in the queue (Esc)")
        )
        self.cancel_button.setAccessibleName(self.tr("Cancel"))
        self.clear_queue_button.setText(self.tr("Clear queue"))
        self.clear_queue_button.setToolTip(
            self.tr("Remove every waiting job; the running job goes on (Shift+Esc)")
        )
        self.clear_queue_button.setAccessibleName(self.tr("Clear queue"))
        self.menus.retranslate()
        self.gallery_dock.setWindowTitle(self.tr("History"))
        self.gallery_dock.toggleViewAction().setText(self.tr("History"))
        self.refresh_queue()
        self._update_status()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    @Slot(QAction)
    def _on_language_action(self, action: QAction) -> None:
        self.set_language(str(action.data()))

    def set_language(self, code: str) -> None:
        """Switch language live (every widget retranslates itself) and remember it."""
        self.settings.language = code
        self.menus.language_actions[code].setChecked(True)
        if self.translations is not None:
            self.translations.apply(code)
        self.save_settings()

    @Slot()
    def edit_preferences(self) -> None:
        """Model and memory settings; they apply from the next job."""
        from zit_desktop.ui.window.settings_dialog import edit_preferences

        choices = edit_preferences(self.settings, self)
        if choices is None:
            return
        model_changed = choices.model != self.settings.model
        choices.apply_to(self.settings)
        self.save_settings()
        self.controller.update_engine_settings(self.settings)
        if model_changed:
            self.monitor.set_model(choices.model, self.settings.variant)
        self._update_prediction()

    def open_model_setup(self) -> ModelSetupDialog:
        """The model setup (also at start, from the menu and from the model-missing banner)."""
        return self.model_choice.open_setup()

    def open_setup_if_needed(self) -> ModelSetupDialog | None:
        """At start: the setup opens when the model in the settings is not on this disk."""
        return self.model_choice.open_setup_if_needed()

    # ------------------------------------------------------------------ actions
    @Slot()
    def generate(self) -> Job | None:
        request = self.current_request()
        try:
            for warning in validate(request):
                log.info("request warning: %s", warning)
        except RequestError as exc:
            self.params.show_message(texts.request_error(exc), exc.field_name)
            return None
        self.params.clear_message()
        job = self.controller.submit(request, parent_id=self.reuse_parent)
        self.reuse_parent = None
        self._sizes[job.job_id] = (request.width, request.height)
        self.settings.last_request = request.to_dict()
        self.save_settings()
        return job

    @Slot()
    def cancel(self) -> None:
        """Stop the running job only; the next waiting job then starts."""
        if self.controller.busy:
            self.progress.busy(self.tr("Cancelling…"))
        self.controller.cancel_current()

    @Slot()
    def clear_queue(self) -> None:
        """Remove the waiting jobs; the running one goes on."""
        self.controller.clear_queue()

    @Slot()
    def reuse_last(self) -> None:
        if self.last_results:
            self.apply_reuse(Reuse(GenerationRequest.from_dict(self.last_results[-1].request)))

    @Slot()
    def free_gpu_memory(self) -> None:
        """Unload the model on the worker thread (after a running job); the next Generate reloads it."""
        self.controller.free_gpu_memory()

    def current_request(self) -> GenerationRequest:
        """What Generate would submit now (the panel's parameters and the model settings)."""
        s = self.settings
        return replace(self.params.request(s.model), variant=s.variant, transformer=s.transformer)

    @Slot(object)
    def apply_reuse(self, reuse: Reuse) -> None:
        """The one reuse entry (gallery, recipes, PNG drop, last image): fill the panel; a
        ``parent_id`` links the next image to the row it came from."""
        lock = self.params.lock.isChecked() if reuse.lock_seed is None else reuse.lock_seed
        self.params.apply_request(reuse.request, lock)
        self.reuse_parent = reuse.parent_id
        self.model_choice.follow(reuse.request)

    def apply_request(self, request: GenerationRequest, lock_seed: bool, parent_id: int | None = None) -> None:
        self.apply_reuse(Reuse(request, lock_seed, parent_id))

    def set_gallery_widget(self, widget: QWidget) -> None:
        """Embed the history gallery (``galleryView``) in the bottom dock."""
        self.gallery_dock.setWidget(widget)
        self.gallery_dock.show()

    def open_outputs(self) -> None:
        self.paths.outputs.mkdir(parents=True, exist_ok=True)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.paths.outputs)))

    def open_log(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.paths.log_file)))

    # ------------------------------------------------------------------ worker slots
    @Slot()
    def refresh_queue(self) -> None:
        c = self.controller
        self.queue_list.set_queue(c.current, c.pending)
        self.queue_label.setText(self.tr("Queue ({0} waiting)").format(len(c.pending)))
        self.cancel_button.setEnabled(c.busy)
        self.clear_queue_button.setEnabled(bool(c.pending))
        self.menus.clear_queue_action.setEnabled(bool(c.pending))

    @Slot(object)
    def on_event(self, event: WorkerEvent) -> None:
        """The one entry for the worker's events (core.events and EngineStarted), in order."""
        self.engines.on_event(event)  # first: which server this event's image is made on
        match event:
            case Loading():
                if not (event.phase in REMOTE_PHASES and self.progress.stepping):  # a pool member joining
                    self.progress.busy(texts.loading_phase(event))
            case MemoryFreed():
                self.notice.show_message(texts.memory_freed(event.unloaded), "info")
            case EngineStarted():
                if not self.controller.busy:  # the background warm-up finished: nothing is running
                    self.progress.idle()
            case JobStarted():
                self._on_job_started(event)
            case Step():
                total = self.controller.current.request.count if self.controller.current else 1
                self.progress.step(event.index, total, event.step, event.steps, event.elapsed, event.eta,
                                   self.engines.where(event.index))
            case Notice():
                text, level = texts.notice(event)
                # what the window shows reaches the log once (a Failed is logged by run_and_record)
                log.log(logging.WARNING if level != "info" else logging.INFO, "notice shown (%s): %s %s",
                        event.kind, event.message, event.detail or "")  # fmt: skip
                if text:
                    self.notice.show_message(text, level)
            case ImageSaved():
                self._on_image_saved(event)
            case ImageRecorded():
                self.imageRecorded.emit(event.row_id)
            case Finished() | Failed() | Cancelled():
                self._on_job_finished(event)
            case Preview():
                pass  # previews arrive as QImages through on_preview

    def _on_job_started(self, event: JobStarted) -> None:
        self._image_at = (event.index, event.total)
        if event.index == 0:
            if self.notice.level != "error" and self.notice.text() != self._throttle_text:
                self.notice.dismiss()
            self.gauge.begin_job()
        self.params.show_used_seed(event.seed)
        where = self.engines.where(event.index)
        if where:
            self.progress.busy(self.tr("Image {0}/{1} on {2}…").format(event.index + 1, event.total, where))
        else:
            self.progress.busy(self.tr("Image {0}/{1}: encoding the prompt…").format(event.index + 1, event.total))

    @Slot(str, int, int, QImage)
    def on_preview(self, job_id: str, index: int, step: int, image: QImage) -> None:
        self.image_view.show_preview(image, step, self._sizes.get(job_id))

    def _on_image_saved(self, event: ImageSaved) -> None:
        result = event.image
        image = pil_to_qimage(event.picture) if event.picture is not None else QImage(result.path)
        if image.isNull():
            log.warning("cannot read back the image %s", result.path)
        else:
            self.image_view.show_image(image, result.path)
            self.imageShown.emit(result.path)
        self.last_results.append(result)
        self.last_results = self.last_results[-50:]
        throttled = self.throttle_watch.observe(result, event.job_id)  # once a session at most
        if throttled is not None:  # stays up across the next jobs, like an error, until dismissed
            self._throttle_text, level = texts.notice(throttled)
            self.notice.show_message(self._throttle_text, level)
        self.menus.reuse_action.setEnabled(True)

    def _on_job_finished(self, result: Result) -> None:
        self._sizes.pop(result.job_id, None)
        peaks = [im.peak_vram_bytes for im in result.images if im.peak_vram_bytes]
        self.gauge.end_job(max(peaks) if peaks else None)
        match result:
            case Finished():
                self.progress.idle(self.tr("Done: {0} image(s)").format(len(result.images)))
            case Cancelled():
                self.progress.idle(self.tr("Cancelled"))
                if self.image_view.is_preview:
                    self.image_view.clear()
            case Failed():
                self.progress.idle(self.tr("Failed"))
                remote = self.engines.ran_remote  # a server's problem: the model setup here cannot fix it
                action = self.tr("Set up the model…") if result.kind in texts.MODEL_PROBLEMS and not remote else ""
                self.notice.show_message(texts.failure(result.kind, texts.failed_message(result), remote), "error",
                                        action)
                if result.kind == ErrorKind.INTERNAL:
                    from zit_desktop.ui.startup import earlyinit

                    earlyinit.report_bug(result.message, result.detail)
        self._update_status()

    def _update_status(self) -> None:
        if not self.last_results:
            self.status_label.setText(self.tr("No image yet"))
            return
        im = self.last_results[-1]
        peak = f"{im.peak_vram_bytes / 1024**3:.1f} GB" if im.peak_vram_bytes else self.tr("n/a (CPU)")
        if im.environment.get("engine_name"):  # made on a server: its peak is not measured here
            peak = self.tr("n/a (made on {0})").format(im.environment["engine_name"])
        seed = self.tr("Seed {0}").format(im.seed)  # "random" stays in the seed field: the used one is here
        last = self.tr("Last image: {0:.1f} s · strategy {1} · peak VRAM {2}").format(
            float(im.timings.get("total", 0.0)), texts.strategy_name(im.strategy), peak
        )
        self.status_label.setText(f"{seed} · {last}")
        self.status_label.setToolTip(texts.strategy_with_id(im.strategy))  # the id the log and PNG use

    # ------------------------------------------------------------------ VRAM
    @Slot(object)
    def on_vram_sample(self, info: DeviceInfo | None) -> None:
        self.gauge.set_info(info)
        if self.controller.busy:
            return  # our own job fills the card: fits are judged when idle
        try:
            fits = self.advisor.preset_fits(self._profile, info, self._plan_options())
        except Exception:  # a planner bug (or a damaged calibration file) must not break the probe tick
            log.exception("the memory planner failed; preset fits are unknown")
            return
        self.params.presets.set_fits(fits)
        self._update_prediction()
        p = self.params
        try:  # "would fit at full speed if Chrome (1.4 GB) were closed", for the chosen size
            advice = closing_advice(self.advisor, self._profile, info, p.width_spin.value(),
                                    p.height_spin.value(), self._plan_options(p.guidance.value()))  # fmt: skip
        except Exception:
            log.exception("the memory planner failed; no advice about other programs")
            advice = None
        self.gauge.set_advice(advice)
        on_gpu = info is not None and info.is_cuda
        if self._first_run_pending and (self._profile is not None or not on_gpu):
            self._first_run_pending = False
            # on the CPU the default preset stays (the window has never chosen one there)
            best = self.advisor.recommended_preset(self._profile, info, self._plan_options())
            if best is not None and on_gpu:
                self.params.choose_preset(best.preset)
            self.settings.first_run_done = True

    @Slot(object)
    def on_profile_loaded(self, profile: object) -> None:
        self._profile = profile if isinstance(profile, ModelProfile) else None
        if self.monitor.last is not None:
            self.on_vram_sample(self.monitor.last)

    def _plan_options(self, guidance: float = 0.0) -> PlanOptions:
        return options_from_settings(self.settings, cfg=guidance > 0)

    def _update_prediction(self, *_: int) -> None:
        p = self.params
        try:
            peak = self.advisor.predicted_peak(
                self._profile, self.monitor.last, p.width_spin.value(), p.height_spin.value(),
                self._plan_options(p.guidance.value()), count=p.count.value(),
            )  # fmt: skip
        except Exception:
            log.exception("the memory planner failed; no predicted peak")
            peak = None
        self.gauge.set_predicted(peak)

    # ------------------------------------------------------------------ persistence
    def _restore(self) -> None:
        code = self.settings.language if self.settings.language in self.menus.language_actions else "system"
        self.menus.language_actions[code].setChecked(True)
        if self.settings.last_request:
            try:
                self.params.apply_request(
                    GenerationRequest.from_dict(self.settings.last_request), lock_seed=False
                )
            except (RequestError, TypeError, ValueError):
                log.warning("the saved parameters are unreadable; using defaults")

    def restore_window_state(self) -> None:
        """Geometry and dock layout; call once every dock (the gallery) exists, or restoreState
        has nothing to put back and the window is sized without them."""
        geometry = self.settings.window.get("geometry")
        restored = isinstance(geometry, str) and bool(geometry) and self.restoreGeometry(
            QByteArray.fromBase64(str(geometry).encode("ascii")))  # fmt: skip
        state = self.settings.window.get("state")
        if isinstance(state, str) and state:
            self.restoreState(QByteArray.fromBase64(state.encode("ascii")))
        self._share_height = not (isinstance(state, str) and state)  # no saved dock layout yet
        if not restored:  # first start: sized from the screen (a 1366×768 laptop included), centred
            screen = self.screen() or QGuiApplication.primaryScreen()
            available = screen.availableGeometry()
            size = window_geometry.first_start_size(available)
            self.resize(size)
            self.move(window_geometry.centred(size, available))
        self._fit_pending = True  # once shown (the frame is known then): clamp onto a visible screen

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if getattr(self, "_fit_pending", False):
            self._fit_pending = False
            QTimer.singleShot(0, self._settle_geometry)

    def _settle_geometry(self) -> None:
        """Once the frame is known: on a visible screen; at the first start the history dock leaves
        the parameters and the jobs part under them their full height when the screen allows."""
        window_geometry.fit_onto_screen(self)
        if self._share_height and self.gallery_dock.isVisible():
            self._share_height = False
            column = self.params_column.minimumSizeHint().height() + self.jobs_section.sizeHint().height()
            spare = self.splitter.height() + self.gallery_dock.height() - column
            height = max(self.gallery_dock.minimumSizeHint().height(), min(spare, self.gallery_dock.sizeHint().height()))
            self.resizeDocks([self.gallery_dock], [height], Qt.Orientation.Vertical)

    def save_settings(self) -> None:
        self.settings.window = {
            "geometry": bytes(self.saveGeometry().toBase64().data()).decode("ascii"),
            "state": bytes(self.saveState().toBase64().data()).decode("ascii"),
        }
        request = self.current_request()
        self.settings.last_request = request.to_dict()
        try:
            save_settings(self.paths.settings_file, self.settings)
        except OSError as exc:
            log.warning("cannot save settings: %s", exc)

    @Slot()
    def shutdown(self) -> None:
        """Save, cancel the running job, wait for the worker and probe threads. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self.save_settings()
        self.hide()
        if not self.controller.shutdown(timeout_ms=self.shutdown_timeout_ms):
            # Still inside a step or a model load (minutes for 20 GB) that cannot be interrupted. The
            # user asked to quit: nothing is being written (cancelled jobs write nothing; SQLite's WAL
            # survives), so end the process rather than linger invisibly holding RAM and VRAM.
            log.warning("the engine did not stop within %d ms; exiting now", self.shutdown_timeout_ms)
            self.monitor.shutdown(timeout_ms=2000)
            logging.shutdown()
            os._exit(0)
        self.monitor.shutdown()

    @Slot()
    def _quit_if_finishing(self) -> None:
        if self.quit_after_image and not self.controller.busy and not self._closed:
            QTimer.singleShot(0, self.close)  # after the controller's slot returns

    def _confirm_close(self) -> bool:
        """During a job, ask: finish the image then quit (False now, closes once saved), quit now, or
        keep working. True when the window may close now."""
        if self._closed or not self.controller.busy:
            return True
        choice = self.ask_quit()
        if not self.controller.busy:  # the job ended while the question was open: nothing left to stop
            return choice != QuitChoice.KEEP_WORKING
        if choice == QuitChoice.QUIT_NOW:
            return True
        if choice == QuitChoice.FINISH_IMAGE:
            self.quit_after_image = True
            self.controller.finish_current_image()
            self.notice.show_message(self.tr("Quitting once the current image is saved…"), "info")
        elif self.quit_after_image:  # keep working after all: the batch and the queue go on
            self.quit_after_image = False
            self.controller.resume()
            self.notice.dismiss()
        return False

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._confirm_close():
            event.ignore()
            return
        self.shutdown()
        super().closeEvent(event)
        self.closed.emit()
