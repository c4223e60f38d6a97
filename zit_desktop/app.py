"""Start the window: safety nets first, then Qt, then the window; torch loads later, on the worker thread.

``run_gui`` is what ``zit-desktop`` / ``zit-desktop gui`` call. ``create_main_window`` is the test and
embedding seam: the fully wired window (engine worker, VRAM monitor, settings, history, translations)
inside an existing ``QApplication``.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import sys
import time
from typing import TYPE_CHECKING

from zit_desktop.core.memory.advisor import MemoryAdvisor
from zit_desktop.core.paths import AppPaths, app_paths
from zit_desktop.core.settings import Settings, load_settings
from zit_desktop.ui.startup import earlyinit

if TYPE_CHECKING:
    from pathlib import Path

    from PySide6.QtWidgets import QWidget

    from zit_desktop.ui.startup.single_instance import HandOverReply, InstanceServer, LaunchArgs
    from zit_desktop.ui.window.main_window import MainWindow
    from zit_desktop.ui.window.worker import EngineFactory

log = logging.getLogger(__name__)

STARTUP_PROBE_ENV = "ZIT_DESKTOP_STARTUP_PROBE"  # benchmarks/tests: print when shown, then quit
WARM_UP_DELAY_MS = 250


def default_engine_factory(paths: AppPaths, settings: Settings, advisor: MemoryAdvisor) -> EngineFactory:
    """Builds the window's engine on the worker thread: a :class:`RoutingEngine` that sends each job to
    this computer, a server or the pool, and builds the local engine (importing torch) only when a job
    or the warm-up needs it. ``advisor`` is the window's own: the peaks the local engine measures reach
    the preset badges (it is thread-safe)."""
    engine_settings = copy.deepcopy(settings)  # the worker gets its own copy: no cross-thread mutation

    def make_local() -> object:
        from zit_desktop.core.engine.runner import Engine

        return Engine(paths, engine_settings, advisor=advisor)

    def make() -> object:
        from zit_desktop.core.remote.routing import RoutingEngine

        return RoutingEngine(paths, engine_settings, local=make_local)  # type: ignore[arg-type]

    return make  # type: ignore[return-value]


def create_main_window(
    data_dir: str | os.PathLike[str] | None,
    model: str | None = None,
    *,
    engine_factory: EngineFactory | None = None,
) -> MainWindow:
    """The fully wired main window, not yet shown. Needs a running ``QApplication``."""
    from PySide6.QtWidgets import QApplication

    from zit_desktop.ui.gallery.wiring import attach_gallery
    from zit_desktop.ui.startup import qtcompat
    from zit_desktop.ui.startup.i18n import translations_for
    from zit_desktop.ui.window.main_window import MainWindow
    from zit_desktop.ui.window.png_drop import install_png_drop
    from zit_desktop.ui.window.vram_monitor import VramMonitor
    from zit_desktop.ui.window.worker import JobController

    app = QApplication.instance()
    if app is None:
        raise RuntimeError("create_main_window needs a QApplication")
    qtcompat.install()  # before the first signal: PySide6 6.12 + CPython 3.11 reference bug
    paths = app_paths(data_dir).ensure()
    settings = load_settings(paths.settings_file)
    if model:
        settings.model = model
    translations = translations_for(app)
    translations.apply(settings.language)
    advisor = MemoryAdvisor(paths.cache)  # one per app: engine, probe thread and window share it
    factory = engine_factory or default_engine_factory(paths, settings, advisor)
    controller = JobController(factory, paths.history_db)
    monitor = VramMonitor(settings.model, advisor, variant=settings.variant)
    window = MainWindow(paths, settings, controller, monitor, translations, advisor)
    controller.setParent(window)
    monitor.setParent(window)
    attach_gallery(window, paths)  # history gallery in the dock, recipes menu
    window.png_drop = install_png_drop(window, window.apply_reuse, window.current_request)
    window.restore_window_state()  # after the docks exist, so their layout comes back too
    return window


def serve_second_starts(window: MainWindow, instance: InstanceServer) -> None:
    """A later start on this data folder raises ``window`` and hands it its model and PNG."""
    from zit_desktop.ui.startup.launch import apply_launch_args, bring_to_front

    instance.setParent(window)

    def on_second_start(args: LaunchArgs) -> list[str]:
        bring_to_front(window)
        return apply_launch_args(window, args)  # the problems: the second start prints them

    instance.handler = on_second_start


def _report_hand_over(root: Path, reply: HandOverReply, model: str | None, png: str | None) -> int:
    """What a second start says after handing over: 0 when the open window used everything, else 1
    with the problems it found (the texts of its notice) on stderr."""
    where = f"ZIT Desktop is already open on the data folder {root}: its window was brought to the front"
    if reply.problems:
        print(f"{where}, but it could not use what this start gave it:", file=sys.stderr)
        for problem in reply.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    given = " and ".join(part for part, on in (("the model", model), ("the picture", png)) if on)
    print(where + (f" and given {given}." if given else "."))
    return 0


def run_gui(data_dir: str | None, model: str | None = None, png: str | None = None) -> int:
    """Open the window and run the event loop; returns the exit status.

    ``model`` (``--model``) and ``png`` (a picture whose parameters to load) apply to the window, or
    are handed to the window already open on this data folder (then this process exits 0, or 1 after
    printing the problems that window found with them)."""
    try:
        paths = app_paths(data_dir).ensure()
    except OSError as exc:
        earlyinit.fatal_error(
            "ZIT Desktop cannot start",
            f"The data folder cannot be created ({exc}). Choose another one with --data-dir.",
        )
        return 1
    earlyinit.init_logging(paths.log_file)
    earlyinit.install_excepthooks()
    from zit_desktop import APP_USER_MODEL_ID
    from zit_desktop.ui.startup import desktop

    problem = desktop.check_display()
    if problem is not None:  # before Qt: without a display its xcb plugin aborts the process
        log.error("no usable display (%s): %s", problem.kind, problem.message,
                  extra={earlyinit.SHOWN_TO_USER: True})
        if desktop.has_console():
            print(f"{desktop.TITLE}.\n{problem.message}", file=sys.stderr)
        else:  # a desktop launcher: nobody reads stderr (tkinter, if it can, shows it)
            earlyinit.fatal_error(desktop.TITLE, problem.message, use_qt=False)
        return 1
    desktop.set_windows_app_id(APP_USER_MODEL_ID)  # before the first window, for taskbar grouping
    if not earlyinit.check_qt():
        return 1
    from zit_desktop.ui.startup import qtcompat

    qtcompat.install()  # before the first Qt call

    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtWidgets import QApplication

    from zit_desktop.ui.startup.crash import CrashReporter, route_qt_messages
    from zit_desktop.ui.startup.icon import app_icon
    from zit_desktop.ui.startup.launch import apply_launch_args
    from zit_desktop.ui.startup.single_instance import InstanceServer, LaunchArgs, hand_over, server_name

    route_qt_messages()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("ZIT Desktop")
    app.setOrganizationName("zit-desktop")
    QApplication.setDesktopFileName("zit-desktop")
    QApplication.setWindowIcon(app_icon())
    launch = LaunchArgs(model, png).absolute()
    name = server_name(paths.root)
    instance: InstanceServer | None = None
    reply = hand_over(name, launch)
    if reply is None:
        instance = InstanceServer(name)
        if not instance.listen() and (reply := hand_over(name, launch)) is not None:  # another start won
            instance = None
        elif not instance.server.isListening():
            log.warning("no single-instance server: a second start will open a second window")
    if instance is None:
        assert reply is not None
        return _report_hand_over(paths.root, reply, model, png)
    # Only now, as the one window on this data folder: the crash dump of the last run, a fresh dump
    # file, and the clean-up of half-written images (a running window may be writing one).
    from zit_desktop.core.metadata.write import remove_stale_temp_files

    remove_stale_temp_files(paths.outputs)  # half-written images of a process that was killed
    previous_crash = earlyinit.previous_native_crash(paths.logs)
    earlyinit.init_faulthandler(paths.logs)
    window = create_main_window(str(paths.root))
    serve_second_starts(window, instance)
    reporter = CrashReporter(paths.log_file, window)
    reporter.parent_widget = window
    reporter.install()
    app.aboutToQuit.connect(window.shutdown)
    # Quit when the main window closes, even if a dialog (a crash report, say) is still open.
    window.closed.connect(app.quit, Qt.ConnectionType.QueuedConnection)
    window.show()
    if previous_crash is not None:
        reporter.show_previous_native_crash(previous_crash)
    if launch.model or launch.png:
        apply_launch_args(window, launch)  # before the model check, so a good --model skips the setup
    if os.environ.get(STARTUP_PROBE_ENV):
        QTimer.singleShot(0, lambda: _report_startup(window, previous_crash is not None))
    else:
        QTimer.singleShot(WARM_UP_DELAY_MS, window.controller.warm_up)
        QTimer.singleShot(0, window.open_setup_if_needed)  # no model on this disk yet: the setup first
    try:
        return int(app.exec())
    finally:
        window.shutdown()
        instance.close()
        earlyinit.set_reporter(None)
        earlyinit.close_faulthandler()  # a clean exit leaves no dump for the next start to report


def _wholly_shown(widget: QWidget) -> bool:
    """Shown and not clipped by a scroll area or the window's edge."""
    return widget.isVisible() and widget.visibleRegion().boundingRect().size() == widget.size()


def _report_startup(window: MainWindow, previous_crash: bool = False) -> None:
    """Print when the window is on screen (whether torch was loaded by then, the window's frame and
    its screen's available area, the model in use, a previous-crash report shown), then quit."""
    from PySide6.QtWidgets import QApplication

    shown_at = time.time()
    QApplication.processEvents()  # the window's own first-show layout (geometry, dock height) settles
    frame, screen = window.frameGeometry(), window.screen().availableGeometry()
    status = window.statusBar()
    button, queue = window.generate_button, window.queue_list
    print(
        json.dumps(
            {
                "shown_at": shown_at,
                "visible": window.isVisible(),
                "torch_loaded": "torch" in sys.modules,
                "frame": [frame.x(), frame.y(), frame.width(), frame.height()],
                "available": [screen.x(), screen.y(), screen.width(), screen.height()],
                "status_bar_visible": status.isVisible() and status.geometry().bottom() < window.height(),
                "generate_visible": _wholly_shown(button),
                "queue_visible": _wholly_shown(queue),
                "model": window.settings.model,
                "notice": window.notice.text() if window.notice.isVisible() else "",
                "previous_crash_shown": previous_crash,
                "platform": QApplication.platformName(),
            }
        ),
        flush=True,
    )
    QApplication.quit()
