"""What the desktop must give us before Qt starts: a usable display (Linux and other X11/Wayland
systems) and the taskbar identity (Windows).

Nothing here imports Qt. Without a display, Qt's xcb plugin aborts the process (SIGABRT) with a
message about ``libxcb-cursor0`` even when that library is installed, because it cannot tell "no X
server" from "a library is missing". :func:`check_display` tells them apart first, with ctypes, so the
user reads the real cause and the process exits 1 instead of aborting (an abort would also leave a
native-crash dump behind, and the next start would say "closed unexpectedly").

* :func:`check_display` — None when Qt can open a window; else a :class:`DisplayProblem`. When
  ``QT_QPA_PLATFORM`` is unset and the X server is not usable but a Wayland compositor is, it sets
  ``QT_QPA_PLATFORM=wayland`` (Qt would otherwise try only xcb outside a Wayland session).
* :func:`set_windows_app_id` — the taskbar groups the window with its Start-menu shortcut.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import sys
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

log = logging.getLogger(__name__)

# Libraries Qt's xcb plugin (libqxcb.so, libQt6XcbQpa.so.6) needs from the system, with the Debian /
# Ubuntu package that ships each. libxcb-cursor0 is the one Qt names in its abort message.
XCB_LIBRARIES: tuple[tuple[str, str], ...] = (
    ("libxcb.so.1", "libxcb1"),
    ("libX11-xcb.so.1", "libx11-xcb1"),
    ("libxcb-cursor.so.0", "libxcb-cursor0"),
    ("libxcb-icccm.so.4", "libxcb-icccm4"),
    ("libxcb-image.so.0", "libxcb-image0"),
    ("libxcb-keysyms.so.1", "libxcb-keysyms1"),
    ("libxcb-render-util.so.0", "libxcb-render-util0"),
    ("libxcb-shape.so.0", "libxcb-shape0"),
    ("libxcb-xkb.so.1", "libxcb-xkb1"),
    ("libxkbcommon-x11.so.0", "libxkbcommon-x11-0"),
)
WAYLAND_LIBRARIES: tuple[tuple[str, str], ...] = (
    ("libwayland-client.so.0", "libwayland-client0"),
    ("libwayland-cursor.so.0", "libwayland-cursor0"),
)
# Platforms that need no display server: nothing to check.
HEADLESS_PLATFORMS = frozenset(
    {"offscreen", "minimal", "minimalegl", "vnc", "eglfs", "linuxfb", "vkkhrdisplay"}
)

TITLE = "ZIT Desktop cannot open its window"


class Problem(StrEnum):
    NO_DISPLAY = "no-display"  # neither DISPLAY nor WAYLAND_DISPLAY
    X_UNREACHABLE = "x-unreachable"  # DISPLAY names a server we cannot connect to
    WAYLAND_UNREACHABLE = "wayland-unreachable"  # WAYLAND_DISPLAY names no compositor socket
    LIBRARY_MISSING = "library-missing"  # the display works, a system library of Qt's plugin is missing


@dataclass(frozen=True)
class DisplayProblem:
    kind: Problem
    message: str


LibraryCheck = Callable[[str], bool]
XConnect = Callable[[str], bool]


def library_loads(name: str) -> bool:
    try:
        ctypes.CDLL(name)
    except OSError:
        return False
    return True


def x_server_reachable(display: str) -> bool:
    """Connect to the X server ``display`` names (as Qt's xcb plugin will), then disconnect."""
    for name in ("libxcb.so.1", ctypes.util.find_library("xcb")):
        if not name:
            continue
        try:
            xcb = ctypes.CDLL(name)
        except OSError:
            continue
        xcb.xcb_connect.restype = ctypes.c_void_p
        xcb.xcb_connect.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_int)]
        xcb.xcb_connection_has_error.argtypes = [ctypes.c_void_p]
        xcb.xcb_disconnect.argtypes = [ctypes.c_void_p]
        conn = xcb.xcb_connect(display.encode(), None)
        try:
            return bool(conn) and xcb.xcb_connection_has_error(conn) == 0
        finally:
            if conn:
                xcb.xcb_disconnect(conn)  # also frees the error object of a failed connect
    try:  # no libxcb at all: libX11 (which sits on top of it) is the last try
        x11 = ctypes.CDLL(ctypes.util.find_library("X11") or "libX11.so.6")
    except OSError:
        return False
    x11.XOpenDisplay.restype = ctypes.c_void_p
    x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
    x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
    dpy = x11.XOpenDisplay(display.encode())
    if not dpy:
        return False
    x11.XCloseDisplay(dpy)
    return True


def wayland_socket(env: Mapping[str, str]) -> Path | None:
    """The compositor socket WAYLAND_DISPLAY names, when it exists."""
    name = env.get("WAYLAND_DISPLAY", "")
    if not name:
        return None
    path = Path(name)
    if not path.is_absolute():
        runtime = env.get("XDG_RUNTIME_DIR", "")
        if not runtime:
            return None
        path = Path(runtime) / name
    return path if path.exists() else None


def _missing(libraries: tuple[tuple[str, str], ...], loads: LibraryCheck) -> list[tuple[str, str]]:
    return [(lib, package) for lib, package in libraries if not loads(lib)]


def _platforms(env: Mapping[str, str]) -> tuple[list[str], bool]:
    """The platform plugins Qt will try, in order, and whether the user chose them."""
    chosen = env.get("QT_QPA_PLATFORM", "").strip()
    if chosen:
        return [p.split(":", 1)[0].strip() for p in chosen.split(";") if p.strip()], True
    if env.get("XDG_SESSION_TYPE", "") == "wayland":
        return ["wayland", "xcb"], False  # Qt's own order inside a Wayland session
    return ["xcb", "wayland"], False  # Qt tries xcb only; we fall back to wayland ourselves


def _env_line(env: Mapping[str, str]) -> str:
    shown = [
        f"{key}={env.get(key) or '(unset)'}" for key in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    ]
    return ", ".join(shown)


def check_display(
    env: MutableMapping[str, str] | None = None,
    platform: str = sys.platform,
    *,
    loads: LibraryCheck = library_loads,
    x_connect: XConnect = x_server_reachable,
) -> DisplayProblem | None:
    """None when Qt can open a window here; otherwise what is wrong and what to do about it."""
    if env is None:
        env = os.environ
    if platform.startswith(("win", "darwin", "cygwin")):
        return None
    platforms, chosen = _platforms(env)
    problems: dict[str, DisplayProblem] = {}
    for name in platforms:
        if name in HEADLESS_PLATFORMS or name not in ("xcb", "wayland"):
            return None  # needs no display server (or a plugin we know nothing about: Qt decides)
        problem = _check_xcb(env, loads, x_connect) if name == "xcb" else _check_wayland(env, loads)
        if problem is None:
            if not chosen and name == "wayland" and platforms[0] != "wayland":
                env["QT_QPA_PLATFORM"] = "wayland"  # outside a Wayland session Qt would try xcb only
                log.info("no usable X server; using the Wayland compositor %s", env.get("WAYLAND_DISPLAY"))
            return None
        problems[name] = problem
    # Report the most useful problem: a missing library of a working display, else the display.
    for problem in problems.values():
        if problem.kind == Problem.LIBRARY_MISSING:
            return problem
    if not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
        return DisplayProblem(Problem.NO_DISPLAY, _no_display_message(env, problems))
    first = next(iter(problems.values()))
    if env.get("DISPLAY") and "xcb" in problems:
        first = problems["xcb"]  # DISPLAY is set: the X server is what the user meant to use
    elif env.get("WAYLAND_DISPLAY") and "wayland" in problems:
        first = problems["wayland"]  # Wayland without XWayland
    others = [p.message for p in problems.values() if p is not first and p.kind != Problem.NO_DISPLAY]
    return DisplayProblem(first.kind, "\n\n".join([first.message, *others]))


def _no_display_message(env: Mapping[str, str], problems: dict[str, DisplayProblem]) -> str:
    text = (
        f"There is no display to open the window on ({_env_line(env)}).\n"
        "This happens in an SSH session, a container, or a service without a desktop. Either:\n"
        "  - start ZIT Desktop from the desktop session itself (a terminal there sets DISPLAY),\n"
        "  - connect with `ssh -X` (or `ssh -Y`) so the window opens on your own screen,\n"
        "  - or set QT_QPA_PLATFORM=offscreen for a test run (no window is shown).\n"
        "For images without a window, use the command line: `zit-desktop generate --help`."
    )
    if platform_chosen := env.get("QT_QPA_PLATFORM"):
        text += f"\nQT_QPA_PLATFORM={platform_chosen} was set: unset it to let Qt choose."
    return text


def _check_xcb(env: Mapping[str, str], loads: LibraryCheck, x_connect: XConnect) -> DisplayProblem | None:
    display = env.get("DISPLAY", "")
    if not display:
        return DisplayProblem(Problem.NO_DISPLAY, f"DISPLAY is not set ({_env_line(env)}).")
    if not x_connect(display):
        return DisplayProblem(
            Problem.X_UNREACHABLE,
            f"Cannot connect to the X server DISPLAY={display} ({_env_line(env)}).\n"
            "The X server is not running, or this user may not use it (over SSH, connect with "
            "`ssh -X`; under sudo, the root user has no access to your X server). This is not a "
            "missing library, whatever Qt says about libxcb-cursor0.\n"
            "Set QT_QPA_PLATFORM=offscreen for a test run without a window.",
        )
    missing = _missing(XCB_LIBRARIES, loads)
    if missing:
        return _library_problem("X11 (xcb)", missing)
    return None


def _check_wayland(env: Mapping[str, str], loads: LibraryCheck) -> DisplayProblem | None:
    name = env.get("WAYLAND_DISPLAY", "")
    if not name:
        return DisplayProblem(Problem.NO_DISPLAY, f"WAYLAND_DISPLAY is not set ({_env_line(env)}).")
    if wayland_socket(env) is None:
        return DisplayProblem(
            Problem.WAYLAND_UNREACHABLE,
            f"No Wayland compositor at WAYLAND_DISPLAY={name} (XDG_RUNTIME_DIR="
            f"{env.get('XDG_RUNTIME_DIR') or '(unset)'}): the socket does not exist. Start the app "
            "from the desktop session, or enable XWayland so DISPLAY is set.",
        )
    missing = _missing(WAYLAND_LIBRARIES, loads)
    if missing:
        return _library_problem("Wayland", missing)
    return None


def _library_problem(what: str, missing: list[tuple[str, str]]) -> DisplayProblem:
    libs = ", ".join(lib for lib, _ in missing)
    packages = " ".join(package for _, package in missing)
    return DisplayProblem(
        Problem.LIBRARY_MISSING,
        f"The display works, but Qt's {what} support needs system libraries that are missing: {libs}.\n"
        f"Install them: `sudo apt install {packages}` (Debian/Ubuntu; on Fedora `sudo dnf install "
        "xcb-util-cursor xcb-util-wm xcb-util-keysyms xcb-util-image xcb-util-renderutil libxkbcommon-x11`).",
    )


def has_console() -> bool:
    """Whether a person can read stderr (not pythonw, not a desktop launcher writing to nowhere)."""
    stream = sys.stderr
    if stream is None:
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError, OSError):
        return False


def set_windows_app_id(app_id: str, platform: str = sys.platform) -> bool:
    """Windows: name this process for the taskbar, so it groups with the shortcut that has the same id.

    Must run before the first window exists. Elsewhere a no-op (False)."""
    if platform != "win32":
        return False
    try:
        shell32 = ctypes.windll.shell32  # type: ignore[attr-defined]
        result = shell32.SetCurrentProcessExplicitAppUserModelID(ctypes.c_wchar_p(app_id))
    except (AttributeError, OSError) as exc:
        log.warning("cannot set the Windows AppUserModelID: %s", exc)
        return False
    if result != 0:  # an HRESULT: S_OK is 0
        log.warning("SetCurrentProcessExplicitAppUserModelID failed (HRESULT %#x)", result & 0xFFFFFFFF)
        return False
    return True
