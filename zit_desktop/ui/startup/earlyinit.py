"""Safety nets installed before anything heavy loads (qutebrowser ``earlyinit`` style).

Nothing here imports Qt at module level: :func:`fatal_error` must work even when PySide6 itself
fails to import (it falls back to a tkinter message box, then to stderr). A double-clicked app has
no console, so an error nobody sees is a bug.

* :func:`init_logging` — a rotating log file in the data dir's ``logs`` folder.
* :func:`init_faulthandler` — hard crashes (segfaults in native code) are dumped to
  ``logs/crash-native.log``; :func:`previous_native_crash` finds a dump left by the last run so the
  window can show it at the next start.
* :func:`install_excepthooks` — ``sys.excepthook`` and ``threading.excepthook`` log the traceback and
  hand it to a reporter (the crash dialog, once Qt is up).
"""

from __future__ import annotations

import faulthandler
import logging
import logging.handlers
import sys
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import IO

log = logging.getLogger("zit_desktop")

NATIVE_CRASH_FILE = "crash-native.log"
LOG_MAX_BYTES = 2 * 1024 * 1024
LOG_BACKUPS = 3
SHOWN_TO_USER = "zit_shown_to_user"  # a log record's extra: the user already sees this message

# Called with (title, traceback text); set by the GUI once a crash dialog can be shown.
Reporter = Callable[[str, str], None]
_reporter: Reporter | None = None
_fault_file: IO[str] | None = None


def init_logging(log_file: Path, level: int = logging.INFO) -> logging.Handler | None:
    """Log to a rotating file (and stderr when there is one). Never raises."""
    root = logging.getLogger()
    root.setLevel(level)
    fmt = logging.Formatter("%(asctime)s %(levelname)-7s %(name)s [%(threadName)s] %(message)s")
    handler: logging.Handler | None = None
    try:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(
            log_file, maxBytes=LOG_MAX_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8"
        )
        handler.setFormatter(fmt)
        root.addHandler(handler)
    except OSError as exc:
        print(f"zit-desktop: cannot write the log file {log_file}: {exc}", file=sys.stderr)
    if sys.stderr is not None:  # pythonw on Windows has no stderr
        console = logging.StreamHandler()
        console.setLevel(logging.WARNING)
        console.setFormatter(fmt)
        # fatal_error prints its message itself, plainly: not a second time with a timestamp
        console.addFilter(lambda record: not getattr(record, SHOWN_TO_USER, False))
        root.addHandler(console)
    return handler


def previous_native_crash(log_dir: Path) -> Path | None:
    """A native-crash dump left by the previous run, moved aside so it is reported once."""
    path = log_dir / NATIVE_CRASH_FILE
    try:
        if path.stat().st_size == 0:
            return None
    except OSError:
        return None
    kept = log_dir / "crash-native.previous.log"
    try:
        path.replace(kept)
    except OSError:
        return None
    return kept


def init_faulthandler(log_dir: Path) -> Path | None:
    """Dump tracebacks of all threads to ``logs/crash-native.log`` on a fatal signal."""
    global _fault_file
    path = log_dir / NATIVE_CRASH_FILE
    try:
        log_dir.mkdir(parents=True, exist_ok=True)
        _fault_file = open(path, "w", encoding="utf-8")  # noqa: SIM115 - open for the process lifetime
        faulthandler.enable(file=_fault_file, all_threads=True)
        return path
    except OSError:
        if sys.stderr is not None:
            faulthandler.enable(all_threads=True)
        return None


def close_faulthandler() -> None:
    """At a clean exit: stop the dump and remove its file when nothing was written, so only a real
    crash leaves ``crash-native.log`` for the next start to report."""
    global _fault_file
    fault_file, _fault_file = _fault_file, None
    if fault_file is None:
        return
    faulthandler.disable()
    path = Path(fault_file.name)
    try:
        fault_file.close()
        if path.stat().st_size == 0:
            path.unlink()
    except OSError:
        pass


def set_reporter(reporter: Reporter | None) -> None:
    global _reporter
    _reporter = reporter


def _report(title: str, text: str) -> None:
    reporter = _reporter
    if reporter is None:
        return
    try:
        reporter(title, text)
    except Exception:
        log.exception("the crash reporter failed")


def report_bug(title: str, text: str) -> None:
    """Show a bug (an internal error caught elsewhere) in the crash dialog, if one is installed."""
    _report(title, text)


def _excepthook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    if issubclass(exc_type, KeyboardInterrupt):
        sys.__excepthook__(exc_type, exc, tb)
        return
    text = "".join(traceback.format_exception(exc_type, exc, tb))
    log.critical("uncaught exception (a bug):\n%s", text)
    _report(f"{exc_type.__name__}: {exc}", text)


def _thread_excepthook(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit:
        return
    exc = args.exc_value if args.exc_value is not None else args.exc_type()
    text = "".join(traceback.format_exception(args.exc_type, exc, args.exc_traceback))
    name = args.thread.name if args.thread is not None else "?"
    log.critical("uncaught exception in thread %s (a bug):\n%s", name, text)
    _report(f"{args.exc_type.__name__}: {args.exc_value}", text)


def install_excepthooks() -> None:
    sys.excepthook = _excepthook
    threading.excepthook = _thread_excepthook


def fatal_error(title: str, message: str, *, use_qt: bool = True) -> None:
    """Tell the user about an error that stops the app, without needing Qt.

    ``use_qt=False`` when Qt cannot open a window (no display): creating a QApplication there aborts."""
    log.critical("%s: %s", title, message, extra={SHOWN_TO_USER: True})
    qt_shown = False
    try:
        if not use_qt:
            raise RuntimeError("Qt not usable here")
        from PySide6.QtWidgets import QApplication, QMessageBox

        app = QApplication.instance() or QApplication(sys.argv[:1])
        QMessageBox.critical(None, title, message)
        qt_shown = app is not None
    except Exception:  # noqa: BLE001 - Qt itself may be what is broken
        qt_shown = False
    if qt_shown:
        return
    try:
        import tkinter
        from tkinter import messagebox

        root = tkinter.Tk()
        root.withdraw()
        messagebox.showerror(title, message)
        root.destroy()
        return
    except Exception:  # noqa: BLE001 - no display, no tkinter
        pass
    if sys.stderr is not None:
        print(f"{title}\n{message}", file=sys.stderr)


def check_qt() -> bool:
    """Import PySide6's widgets; on failure show a fatal error that names the fix."""
    try:
        import PySide6.QtWidgets  # noqa: F401
    except Exception as exc:  # noqa: BLE001 - ImportError, missing system libraries (OSError)
        fatal_error(
            "ZIT Desktop cannot start",
            "The Qt library (PySide6) could not be loaded:\n"
            f"{exc}\n\nRun the set-up again (run.sh / run.bat) to repair the installation. "
            "On Linux, the system may also need the package libxcb-cursor0.",
        )
        return False
    return True
