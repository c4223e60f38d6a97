"""Where the main window goes: sized from the screen at the first start, the user's own size and
place after, and always on a visible screen.

1366×768 is the commonest laptop screen: with a taskbar ≈ 728 px are available, so the preferred
size shrinks to fit, the window is centred, and the status bar stays on screen. A saved geometry
from a larger (or disconnected) monitor is clamped onto the screen the window lands on.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, QSize
from PySide6.QtGui import QGuiApplication, QScreen
from PySide6.QtWidgets import QWidget

PREFERRED = QSize(1180, 808)
# Title bar and borders the window manager adds; unknown until the window is shown, so first
# guessed (generous), then corrected by fit_onto_screen once the frame is known.
FRAME_GUESS = QSize(16, 48)


def first_start_size(available: QRect, preferred: QSize = PREFERRED, frame: QSize = FRAME_GUESS) -> QSize:
    """The client size: the preferred one, no larger than the available area less the frame."""
    return QSize(min(preferred.width(), available.width() - frame.width()),
                 min(preferred.height(), available.height() - frame.height()))  # fmt: skip


def centred(size: QSize, available: QRect, frame: QSize = FRAME_GUESS) -> QPoint:
    """Where the frame's top-left corner goes (``QWidget.move``) to centre the window."""
    return QPoint(available.x() + max(0, available.width() - size.width() - frame.width()) // 2,
                  available.y() + max(0, available.height() - size.height() - frame.height()) // 2)  # fmt: skip


def clamp_frame(frame: QRect, available: QRect) -> QRect:
    """``frame`` made to fit inside ``available``: shrunk to its size if larger, then moved in."""
    width = min(frame.width(), available.width())
    height = min(frame.height(), available.height())
    x = min(max(frame.x(), available.x()), available.x() + available.width() - width)
    y = min(max(frame.y(), available.y()), available.y() + available.height() - height)
    return QRect(x, y, width, height)


def screen_for(widget: QWidget) -> QScreen | None:
    """The screen under the window's centre, else the primary screen (its monitor is gone)."""
    return QGuiApplication.screenAt(widget.frameGeometry().center()) or QGuiApplication.primaryScreen()


def fit_onto_screen(widget: QWidget) -> bool:
    """Move and shrink ``widget`` so its whole frame is on a screen; True when it had to change."""
    screen = screen_for(widget)
    if screen is None:
        return False
    available = screen.availableGeometry()
    frame = widget.frameGeometry()
    target = clamp_frame(frame, available)
    if target == frame:
        return False
    extra = QSize(frame.width() - widget.width(), frame.height() - widget.height())
    size = QSize(max(target.width() - extra.width(), widget.minimumWidth()),
                 max(target.height() - extra.height(), widget.minimumHeight()))  # fmt: skip
    widget.resize(size)
    widget.move(QPoint(target.x(), target.y()))  # move() places the frame's top-left corner
    return True
