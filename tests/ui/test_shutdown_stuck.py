"""Closing while the engine is stuck in something it cannot interrupt (a model load) ends the process
instead of leaving it running without a window."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

SCRIPT = textwrap.dedent(
    """
    import sys, time
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication
    from zit_desktop.ui.startup import qtcompat
    app = QApplication([]); qtcompat.install()
    from zit_desktop.app import create_main_window
    from zit_desktop.core.events import Loading

    class StuckEngine:
        def update_settings(self, settings):
            pass

        def run(self, request, on_event, cancel, job_id):
            on_event(Loading("load", "Loading model"))
            time.sleep(60)  # like from_pretrained of 20 GB: no cancel check inside

    w = create_main_window(sys.argv[1], engine_factory=StuckEngine)
    w.shutdown_timeout_ms = 500
    from zit_desktop.ui.window.quit_dialog import QuitChoice
    w.ask_quit = lambda: QuitChoice.QUIT_NOW  # the user chose "Quit now" in the quit question
    w.show()
    w.params.prompt.setPlainText("cat")
    QTimer.singleShot(300, w.generate)
    QTimer.singleShot(1500, w.close)
    app.exec()
    print("event loop returned")  # not reached: the process ends inside close()
    """
)


def test_close_during_an_uninterruptible_load_exits(tmp_path: Path) -> None:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    t0 = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "home")], capture_output=True, text=True, timeout=60, env=env
    )
    elapsed = time.monotonic() - t0
    assert proc.returncode == 0, proc.stderr
    assert "event loop returned" not in proc.stdout
    assert elapsed < 30  # far less than the 60 s the stuck engine would take
    assert (tmp_path / "home" / "settings.json").exists()  # settings were saved before exiting
