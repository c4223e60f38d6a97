"""Apply a start's arguments to the window: ``--model PATH`` and a PNG whose parameters to load.

The same for the first start and for a second start handed over by :mod:`single_instance`. A model
is used as if chosen in the settings (saved, handed to the engine, shown to the planner); a PNG goes
through the PNG drop's reuse path. Bad arguments give a notice in the window (and the log), never a
crash, and change nothing.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, Qt

from zit_desktop.core.settings import Settings
from zit_desktop.ui.startup.single_instance import LaunchArgs
from zit_desktop.ui.window.settings_dialog import model_folder_problem

if TYPE_CHECKING:
    from zit_desktop.ui.window.main_window import MainWindow

log = logging.getLogger(__name__)


def apply_launch_args(window: MainWindow, args: LaunchArgs) -> list[str]:
    """Use the model, load the PNG; returns the problems shown (empty when both applied)."""
    problems: list[str] = []
    if args.model:
        problem = model_folder_problem(args.model)
        if problem:
            problems.append(
                QCoreApplication.translate("Launch", "The model given with --model cannot be used (%1): %2 The current model stays.")
                .replace("%1", args.model)
                .replace("%2", problem)
            )
        else:
            window.model_choice.use(Settings(model=args.model, variant="custom", transformer=""))
    if args.png:
        problem = _load_png(window, Path(args.png))
        if problem:
            problems.append(problem)
    if problems:
        for text in problems:
            log.warning("start-up argument: %s", text)
        window.notice.show_message("\n".join(problems), "error")
    return problems


def _load_png(window: MainWindow, path: Path) -> str | None:
    if not path.is_file():
        return QCoreApplication.translate("Launch", "The picture %1 does not exist, so no parameters were loaded.").replace("%1", str(path))
    if window.png_drop is None:
        return QCoreApplication.translate("Launch", "Loading parameters from a picture is not available in this window.")
    rejected: list[str] = []

    def on_rejected(message: str) -> None:
        rejected.append(message)

    window.png_drop.rejected.connect(on_rejected)
    try:
        request = window.png_drop.load(path)
    finally:
        window.png_drop.rejected.disconnect(on_rejected)
    if request is not None:
        return None
    reason = rejected[-1] if rejected else ""
    return QCoreApplication.translate("Launch", "No parameters were loaded from %1. %2").replace("%1", path.name).replace("%2", reason)


def bring_to_front(window: MainWindow) -> None:
    """Show the running window above the others (a second start asked for it)."""
    if window.isMinimized():
        window.setWindowState(window.windowState() & ~Qt.WindowState.WindowMinimized)
    window.show()
    window.raise_()
    window.activateWindow()
