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


def _gui(
    data: Path, env_changes: dict[str, str | None], *args: str, timeout: int = 60
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("ZIT_DESKTOP_HOME", None)
    for key, value in env_changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return subprocess.run([sys.executable, "-m", "zit_desktop", "--data-dir", str(data), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)  # fmt: skip


def test_no_display_exits_1_with_the_cause_and_no_crash_report_next_time(tmp_path: Path) -> None:
    home = tmp_path / "home"
    out = _gui(home, {"DISPLAY": None, "WAYLAND_DISPLAY": None, "QT_QPA_PLATFORM": None}, "gui")
    assert out.returncode == 1, out.stderr  # not 134 (SIGABRT)
    assert "There is no display" in out.stderr
    assert (
        "DISPLAY=(unset)" in out.stderr
        and "QT_QPA_PLATFORM=offscreen" in out.stderr
        and "ssh -X" in out.stderr
    )
    assert out.stderr.count("There is no display") == 1  # once, not again through the log's console
    dump = home / "logs" / earlyinit.NATIVE_CRASH_FILE
    assert not dump.exists() or dump.stat().st_size == 0
    again = _gui(home, {"QT_QPA_PLATFORM": "offscreen", "ZIT_DESKTOP_STARTUP_PROBE": "1"})
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout.strip().splitlines()[-1])
    assert report["visible"] and not report["previous_crash_shown"]
    assert not dump.exists()  # the clean exit removed its empty dump file


def test_an_unreachable_x_server_is_not_called_a_missing_library(tmp_path: Path) -> None:
    out = _gui(tmp_path / "home", {"DISPLAY": ":97", "WAYLAND_DISPLAY": None, "QT_QPA_PLATFORM": None})
    assert out.returncode == 1, out.stderr
    assert (
        "Cannot connect to the X server DISPLAY=:97" in out.stderr and "not a missing library" in out.stderr
    )


def test_display_check_tells_no_server_from_a_missing_library() -> None:
    from zit_desktop.ui.startup.desktop import Problem, check_display

    def no_cursor(lib: str) -> bool:
        return lib != "libxcb-cursor.so.0"

    x_ok = {"DISPLAY": ":0"}
    missing = check_display(dict(x_ok), "linux", loads=no_cursor, x_connect=lambda d: True)
    assert missing is not None and missing.kind == Problem.LIBRARY_MISSING
    assert "libxcb-cursor.so.0" in missing.message and "apt install libxcb-cursor0" in missing.message
    down = check_display(dict(x_ok), "linux", loads=no_cursor, x_connect=lambda d: False)
    assert (
        down is not None and down.kind == Problem.X_UNREACHABLE
    )  # the server first: the library is not the cause
    assert check_display(dict(x_ok), "linux", loads=lambda lib: True, x_connect=lambda d: True) is None
    assert check_display({"QT_QPA_PLATFORM": "offscreen"}, "linux", x_connect=lambda d: False) is None
    assert check_display({}, "win32") is None
    explicit = check_display({"QT_QPA_PLATFORM": "xcb"}, "linux", x_connect=lambda d: True)
    assert (
        explicit is not None
        and explicit.kind == Problem.NO_DISPLAY
        and "QT_QPA_PLATFORM=xcb" in explicit.message
    )


def test_wayland_without_xwayland_is_used_or_named(tmp_path: Path) -> None:
    import socket as sockets

    from zit_desktop.ui.startup.desktop import Problem, check_display

    env: dict[str, str] = {"WAYLAND_DISPLAY": "wayland-7", "XDG_RUNTIME_DIR": str(tmp_path)}
    gone = check_display(dict(env), "linux", loads=lambda lib: True, x_connect=lambda d: True)
    assert gone is not None and gone.kind == Problem.WAYLAND_UNREACHABLE and "wayland-7" in gone.message
    server = sockets.socket(sockets.AF_UNIX, sockets.SOCK_STREAM)
    server.bind(str(tmp_path / "wayland-7"))
    try:
        assert check_display(env, "linux", loads=lambda lib: True, x_connect=lambda d: False) is None
        assert env["QT_QPA_PLATFORM"] == "wayland"  # outside a Wayland session Qt would try only xcb
    finally:
        server.close()


def test_windows_taskbar_id_is_set_only_on_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    import ctypes

    from zit_desktop import APP_USER_MODEL_ID
    from zit_desktop.ui.startup import desktop

    assert desktop.set_windows_app_id(APP_USER_MODEL_ID, "linux") is False
    calls: list[str] = []

    class Shell32:
        def SetCurrentProcessExplicitAppUserModelID(self, app_id: ctypes.c_wchar_p) -> int:  # noqa: N802
            calls.append(str(app_id.value))
            return 0

    monkeypatch.setattr(ctypes, "windll", type("WinDLL", (), {"shell32": Shell32()})(), raising=False)
    assert desktop.set_windows_app_id(APP_USER_MODEL_ID, "win32") is True
    assert calls == ["ZITDesktop.ZITDesktop"]


@pytest.mark.parametrize(
    ("argv", "model", "png"),
    [
        (["--model", "/m"], "/m", None),
        (["--data-dir", "D", "picture.png"], None, "picture.png"),
        (["gui", "--model", "/m", "picture.png"], "/m", "picture.png"),
    ],
)
def test_model_and_png_arguments_open_the_window(argv: list[str], model: str | None, png: str | None) -> None:
    from zit_desktop.cli.main import _command_names, _default_to_gui, _hoist_data_dir, build_parser

    parser = build_parser()
    args = parser.parse_args(_default_to_gui(_hoist_data_dir(argv), _command_names(parser)))
    assert (args.command, args.model, args.png) == ("gui", model, png)


def test_a_mistyped_command_is_still_a_usage_error(tmp_path: Path) -> None:
    out = _gui(tmp_path / "home", {}, "genrate")
    assert out.returncode == 2 and "invalid choice" in out.stderr


def test_first_start_fits_a_1366x768_laptop_with_its_status_bar(tmp_path: Path) -> None:
    config = tmp_path / "screen.json"  # the offscreen platform's screen: 768 less a 40 px taskbar
    config.write_text(json.dumps({"screens": [{"name": "laptop", "x": 0, "y": 0, "width": 1366, "height": 728,
                                               "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}]}))  # fmt: skip
    env = {"QT_QPA_PLATFORM": f"offscreen:configfile={config}", "ZIT_DESKTOP_STARTUP_PROBE": "1"}
    home = tmp_path / "home"
    out = _gui(home, env)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout.strip().splitlines()[-1])
    x, y, w, h = report["frame"]
    assert report["available"] == [0, 0, 1366, 728]
    assert x >= 0 and y >= 0 and x + w <= 1366 and y + h <= 728, report
    assert w >= 1000 and report["status_bar_visible"]
    assert report["generate_visible"] and report["queue_visible"]  # outside the scrolling parameters
    assert abs(x - (1366 - w - x)) <= 16  # centred


@pytest.mark.parametrize("language", ["en", "zh_CN"])
def test_the_window_fits_under_a_taskbar_and_a_title_bar_in_every_language(tmp_path: Path, language: str) -> None:
    """728 px under a taskbar, less a 25 px title bar that the offscreen platform does not draw: 703.
    Chinese labels wrap differently, so its minimum height is not the English one (it was 725)."""
    config = tmp_path / "screen.json"
    config.write_text(json.dumps({"screens": [{"name": "laptop", "x": 0, "y": 0, "width": 1366, "height": 703,
                                               "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}]}))  # fmt: skip
    home = tmp_path / "home"
    home.mkdir()
    (home / "settings.json").write_text(json.dumps({"schema_version": 1, "language": language}))
    out = _gui(home, {"QT_QPA_PLATFORM": f"offscreen:configfile={config}", "ZIT_DESKTOP_STARTUP_PROBE": "1"})
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout.strip().splitlines()[-1])
    x, y, w, h = report["frame"]
    assert y >= 0 and y + h <= 703, report
    assert report["status_bar_visible"] and report["generate_visible"] and report["queue_visible"]


def test_a_saved_geometry_larger_than_the_screen_is_clamped_onto_it(tmp_path: Path) -> None:
    from zit_desktop.core.settings import load_settings

    home = tmp_path / "home"
    config = tmp_path / "screen.json"
    config.write_text(json.dumps({"screens": [{"name": "big", "x": 0, "y": 0, "width": 2560, "height": 1440,
                                               "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}]}))  # fmt: skip
    probe = {"QT_QPA_PLATFORM": f"offscreen:configfile={config}", "ZIT_DESKTOP_STARTUP_PROBE": "1"}
    assert _gui(home, probe).returncode == 0
    assert load_settings(home / "settings.json").window.get("geometry")  # 1180×808, centred on 2560×1440
    # back on the laptop screen: the saved place lies partly off it, the saved height does not fit
    config.write_text(json.dumps({"screens": [{"name": "laptop", "x": 0, "y": 0, "width": 1366, "height": 728,
                                               "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}]}))  # fmt: skip
    out = _gui(home, probe)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout.strip().splitlines()[-1])
    x, y, w, h = report["frame"]
    assert x >= 0 and y >= 0 and x + w <= 1366 and y + h <= 728, report
    assert report["status_bar_visible"]


def test_a_real_x_server_shows_the_window_on_a_1366x768_screen(tmp_path: Path) -> None:
    import shutil

    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        pytest.skip("Xvfb is not installed (apt-get install xvfb libxcb-cursor0)")
    read_fd, write_fd = os.pipe()
    server = subprocess.Popen([xvfb, "-displayfd", str(write_fd), "-screen", "0", "1366x768x24", "-nolisten", "tcp"],
                              pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    os.close(write_fd)
    try:
        with os.fdopen(read_fd) as chosen:
            display = ":" + chosen.readline().strip()  # Xvfb picked a free display and is ready
        out = _gui(tmp_path / "home", {"DISPLAY": display, "WAYLAND_DISPLAY": None, "QT_QPA_PLATFORM": None,
                                        "ZIT_DESKTOP_STARTUP_PROBE": "1"})  # fmt: skip
        assert out.returncode == 0, out.stderr
        report = json.loads(out.stdout.strip().splitlines()[-1])
        assert report["platform"] == "xcb" and report["visible"] and report["status_bar_visible"]
        assert report["generate_visible"] and report["queue_visible"]
        x, y, w, h = report["frame"]
        assert x >= 0 and y >= 0 and x + w <= 1366 and y + h <= 768, report
    finally:
        server.terminate()
        server.wait(timeout=10)
