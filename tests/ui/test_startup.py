"""Start-up and safety nets: the window is up before torch loads; crashes reach a reporter and the log."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from zit_desktop.ui.startup import earlyinit

ROOT = Path(__file__).resolve().parents[2]


def test_window_shows_before_torch_is_imported(tmp_path: Path) -> None:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", ZIT_DESKTOP_STARTUP_PROBE="1")
    start = time.time()
    out = subprocess.run(
        [sys.executable, "-m", "zit_desktop", "--data-dir", str(tmp_path / "home"), "gui"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["visible"] and not report["torch_loaded"]
    assert report["shown_at"] - start < 5.0  # the benchmark holds the 1.0 s target; CI machines vary
    assert (tmp_path / "home" / "logs" / "zit-desktop.log").exists()


def test_excepthooks_log_and_report(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    reports: list[tuple[str, str]] = []
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)
    earlyinit.install_excepthooks()
    earlyinit.set_reporter(lambda title, text: reports.append((title, text)))
    try:
        with caplog.at_level(logging.CRITICAL):
            try:
                raise ValueError("gui bug")
            except ValueError as exc:
                sys.excepthook(type(exc), exc, exc.__traceback__)
            t = threading.Thread(target=lambda: 1 / 0)
            t.start()
            t.join()
    finally:
        earlyinit.set_reporter(None)
    assert [r[0] for r in reports] == ["ValueError: gui bug", "ZeroDivisionError: division by zero"]
    assert "Traceback" in reports[0][1] and "uncaught exception" in caplog.text


def test_fatal_error_without_qt_or_tk_goes_to_stderr(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "PySide6.QtWidgets", None)
    monkeypatch.setitem(sys.modules, "tkinter", None)
    earlyinit.fatal_error("Cannot start", "Qt is broken")
    assert "Cannot start\nQt is broken" in capsys.readouterr().err


def test_check_qt_reports_a_broken_install(monkeypatch: pytest.MonkeyPatch) -> None:
    shown: list[tuple[str, str]] = []
    monkeypatch.setitem(sys.modules, "PySide6.QtWidgets", None)
    monkeypatch.setattr(earlyinit, "fatal_error", lambda title, msg: shown.append((title, msg)))
    assert earlyinit.check_qt() is False
    assert "PySide6" in shown[0][1]


def test_native_crash_dump_is_reported_once(tmp_path: Path) -> None:
    (tmp_path / earlyinit.NATIVE_CRASH_FILE).write_text("Fatal Python error: Segmentation fault\n")
    kept = earlyinit.previous_native_crash(tmp_path)
    assert kept is not None and "Segmentation" in kept.read_text()
    assert earlyinit.previous_native_crash(tmp_path) is None


def test_crash_dialog_is_non_modal_and_names_the_log(qtbot: Any, tmp_path: Path) -> None:
    from PySide6.QtWidgets import QMessageBox

    from zit_desktop.ui.startup.crash import CrashReporter

    reporter = CrashReporter(tmp_path / "zit-desktop.log")
    reporter.install()
    try:
        earlyinit.report_bug("KeyError: 'x'", "Traceback ...")
        qtbot.waitUntil(lambda: reporter._open is not None and reporter._open.isVisible(), timeout=2000)
        box: QMessageBox = reporter._open  # type: ignore[assignment]
        assert not box.isModal() and str(tmp_path / "zit-desktop.log") in box.text()
        box.close()
    finally:
        earlyinit.set_reporter(None)
