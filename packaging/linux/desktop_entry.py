"""Put ZIT Desktop into the Linux app menu, or take it out again (``run.sh --install-desktop-entry``
and ``--remove-desktop-entry`` call this; standard library only).

    python packaging/linux/desktop_entry.py install|remove|print

install writes, under ``$XDG_DATA_HOME`` (default ``~/.local/share``):
  applications/zit-desktop.desktop             from packaging/linux/zit-desktop.desktop.in
  icons/hicolor/NxN/apps/zit-desktop.png       N = 16 … 256, from zit_desktop/resources/icons
  icons/hicolor/scalable/apps/zit-desktop.svg
The entry's Exec is the absolute path of packaging/linux/zit-desktop-launch in this checkout, so it
starts this checkout's venv with no terminal. remove deletes exactly those files (whichever checkout
wrote them) and the folders that are left empty by that, never a folder that still holds anything.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = Path(__file__).resolve().parent / "zit-desktop.desktop.in"
LAUNCHER = Path(__file__).resolve().parent / "zit-desktop-launch"
ICON_DIR = ROOT / "zit_desktop" / "resources" / "icons"
APP_ID = "zit-desktop"  # the entry's file name, the icon name and QApplication.desktopFileName()
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256)


def data_home() -> Path:
    """``$XDG_DATA_HOME``; the spec says to ignore it when unset, empty or not absolute."""
    value = os.environ.get("XDG_DATA_HOME", "")
    return Path(value) if os.path.isabs(value) else Path.home() / ".local" / "share"


def exec_quote(path: str) -> str:
    """One Exec argument: always in double quotes, with ``" ` $ \\`` escaped inside them; ``%`` is a
    field code there, so it is doubled. Then the desktop-file string escape doubles every backslash."""
    quoted = '"' + re.sub(r'([`"$\\])', r"\\\1", path).replace("%", "%%") + '"'
    return string_escape(quoted)


def string_escape(value: str) -> str:
    """The desktop-file escape for a string value (backslash, newline, tab, carriage return)."""
    if any(ord(c) < 32 and c not in "\n\t\r" for c in value):
        raise ValueError(f"a control character cannot go into a desktop entry: {value!r}")
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")


def render(root: Path = ROOT) -> str:
    launcher = root / LAUNCHER.relative_to(ROOT)
    text = TEMPLATE.read_text(encoding="utf-8")
    for key, value in {
        "@EXEC@": exec_quote(str(launcher)),
        "@TRYEXEC@": string_escape(str(launcher)),
        "@ICON@": APP_ID,
        "@CHECKOUT@": string_escape(str(root)),
    }.items():
        text = text.replace(key, value)
    return text


def installed_files(home: Path) -> dict[Path, Path | None]:
    """Each file install writes, with its source (None: the rendered entry)."""
    icons = home / "icons" / "hicolor"
    files: dict[Path, Path | None] = {home / "applications" / f"{APP_ID}.desktop": None}
    for size in PNG_SIZES:
        files[icons / f"{size}x{size}" / "apps" / f"{APP_ID}.png"] = ICON_DIR / f"{APP_ID}-{size}.png"
    files[icons / "scalable" / "apps" / f"{APP_ID}.svg"] = ICON_DIR / f"{APP_ID}.svg"
    return files


def install(home: Path) -> list[Path]:
    written = []
    for target, source in installed_files(home).items():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        if source is None:
            tmp.write_text(render(), encoding="utf-8")
            tmp.chmod(0o755)  # some desktops (GNOME's "trusted launcher") want the entry executable
        else:
            shutil.copyfile(source, tmp)
        tmp.replace(target)
        written.append(target)
    refresh_caches(home)
    return written


def remove(home: Path) -> list[Path]:
    removed = []
    for target in installed_files(home):
        try:
            target.unlink()
        except FileNotFoundError:
            continue
        removed.append(target)
        folder = target.parent
        while folder != home and folder.is_relative_to(home):
            try:
                folder.rmdir()  # only when empty: another app's icons keep the folder
            except OSError:
                break
            folder = folder.parent
    refresh_caches(home)
    return removed


def refresh_caches(home: Path) -> None:
    """Bump the theme folder's time so icon caches look again (what xdg-icon-resource does). No
    update-desktop-database or gtk-update-icon-cache: they leave cache files of their own behind,
    and the menu picks up a new entry in applications/ by itself."""
    theme = home / "icons" / "hicolor"
    if theme.is_dir():
        os.utime(theme)


def main(argv: list[str]) -> int:
    if argv not in (["install"], ["remove"], ["print"]):
        print(__doc__, file=sys.stderr)
        return 2
    home = data_home()
    if argv[0] == "print":
        sys.stdout.write(render())
    elif argv[0] == "install":
        files = install(home)
        print(f"[zit-desktop] added ZIT Desktop to the app menu ({files[0]}) with its icon.")
        print(
            f"[zit-desktop] it starts {LAUNCHER}; set-up and start problems go to "
            "~/.cache/zit-desktop/launcher.log. Undo with: ./run.sh --remove-desktop-entry"
        )
    else:
        files = remove(home)
        if files:
            print(f"[zit-desktop] removed ZIT Desktop from the app menu ({len(files)} files under {home}).")
        else:
            print(f"[zit-desktop] no ZIT Desktop menu entry was installed under {home}.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
