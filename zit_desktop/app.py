"""Start the window: safety nets first, then Qt, then the window; torch loads later, on the worker thread.

``run_gui`` is what ``zit-desktop`` / ``zit-desktop gui`` call. ``create_main_window`` is the test and
embedding seam: the fully wired window (engine worker, VRAM monitor, settings, history, translations)
inside an existing ``QApplication``.
"""

from __future__ import annotations

import copy
import json
import os
import sys
import time
from typing import TYPE_CHECKING

from zit_desktop.core.memory.advisor import MemoryAdvisor
from zit_desktop.core.paths import AppPaths, app_paths
from zit_desktop.core.settings import Settings, load_settings
from zit_desktop.ui.startup import earlyinit

if TYPE_CHECKING:
    from zit_desktop.ui.window.main_window import MainWindow
    from zit_desktop.ui.window.worker import EngineFactory

STARTUP_PROBE_ENV = "ZIT_DESKTOP_STARTUP_PROBE"  # benchmarks/tests: print when shown, then quit
WARM_UP_DELAY_MS = 250


def default_engine_factory(paths: AppPaths, settings: Settings, advisor: MemoryAdvisor) -> EngineFactory:
    """Builds the real engine; called on the worker thread, so torch is imported there. ``advisor`` is
    the window's own: the peaks the engine measures reach the preset badges (it is thread-safe)."""
    engine_settings = copy.deepcopy(settings)  # the worker gets its own copy: no cross-thread mutation

    def make() -> object:
        from zit_desktop.core.engine.runner import Engine

        return Engine(paths, engine_settings, advisor=advisor)

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
    monitor = VramMonitor(settings.model, advisor)
    window = MainWindow(paths, settings, controller, monitor, translations, advisor)
    controller.setParent(window)
    monitor.setParent(window)
    attach_gallery(window, paths)  # history gallery in the dock, recipes menu
    window.png_drop = install_png_drop(window, window.apply_reuse, window.current_request)
    window.restore_window_state()  # after the docks exist, so their layout comes back too
    return window


def run_gui(data_dir: str | None) -> int:
    """Open the window and run the event loop; returns the exit status."""
    try:
        paths = app_paths(data_dir).ensure()
    except OSError as exc:
        earlyinit.fatal_error(
            "ZIT Desktop cannot start",
            f"The data folder cannot be created ({exc}). Choose another one with --data-dir.",
        )
        return 1
    earlyinit.init_logging(paths.log_file)
    from zit_desktop.core.metadata.write import remove_stale_temp_files

    remove_stale_temp_files(paths.outputs)  # half-written images of a process that was killed
    previous_crash = earlyinit.previous_native_crash(paths.logs)
    earlyinit.init_faulthandler(paths.logs)
    earlyinit.install_excepthooks()
    if not earlyinit.check_qt():
        return 1
    from zit_desktop.ui.startup import qtcompat

    qtcompat.install()  # before the first Qt call

    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtWidgets import QApplication

    from zit_desktop.ui.startup.crash import CrashReporter, route_qt_messages

    route_qt_messages()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("ZIT Desktop")
    app.setOrganizationName("zit-desktop")
    QApplication.setDesktopFileName("zit-desktop")
    window = create_main_window(str(paths.root))
    reporter = CrashReporter(paths.log_file, window)
    reporter.parent_widget = window
    reporter.install()
    app.aboutToQuit.connect(window.shutdown)
    # Quit when the main window closes, even if a dialog (a crash report, say) is still open.
    window.closed.connect(app.quit, Qt.ConnectionType.QueuedConnection)
    window.show()
    if previous_crash is not None:
        reporter.show_previous_native_crash(previous_crash)
    if os.environ.get(STARTUP_PROBE_ENV):
        QTimer.singleShot(0, lambda: _report_startup(window))
    else:
        QTimer.singleShot(WARM_UP_DELAY_MS, window.controller.warm_up)
        QTimer.singleShot(0, window.open_setup_if_needed)  # no model on this disk yet: the setup first
    try:
        return int(app.exec())
    finally:
        window.shutdown()
        earlyinit.set_reporter(None)


def _report_startup(window: MainWindow) -> None:
    """Print when the window is on screen (and whether torch was loaded by then), then quit."""
    from PySide6.QtWidgets import QApplication

    print(
        json.dumps(
            {"shown_at": time.time(), "visible": window.isVisible(), "torch_loaded": "torch" in sys.modules}
        ),
        flush=True,
    )
    QApplication.quit()
