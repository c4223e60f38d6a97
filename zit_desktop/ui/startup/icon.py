"""The app icon: the SVG plus the PNG sizes rendered from it (``packaging/make_icons.py``).

``app_icon()`` gives Qt every size, so the title bar (16/24 px), the taskbar and Alt+Tab (32-64 px)
each get a picture drawn for that size instead of one scaled on the fly. The same files are what the
Linux desktop entry installs into the hicolor theme and what the Windows shortcut points at (.ico).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize
from PySide6.QtGui import QIcon

ICON_DIR = Path(__file__).resolve().parents[2] / "resources" / "icons"
ICON_NAME = "zit-desktop"  # the freedesktop icon name (hicolor theme) and the file stem
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256)


def icon_files() -> dict[int, Path]:
    """The packaged PNG for each size."""
    return {size: ICON_DIR / f"{ICON_NAME}-{size}.png" for size in PNG_SIZES}


def app_icon() -> QIcon:
    """The window and application icon, every size, with the SVG for sizes in between."""
    icon = QIcon()
    for size, path in icon_files().items():
        icon.addFile(str(path), QSize(size, size))
    icon.addFile(str(ICON_DIR / f"{ICON_NAME}.svg"))
    return icon
