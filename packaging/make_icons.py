"""Render the app icon's PNG sizes and the Windows .ico from the SVG source.

    python packaging/make_icons.py          # rewrites zit_desktop/resources/icons/*.png and *.ico
    python packaging/make_icons.py --check  # exit 1 when the committed files differ from a fresh render

The SVG (``zit_desktop/resources/icons/zit-desktop.svg``) is the one drawing. PySide6's QSvgRenderer
(QtSvg ships in PySide6-Essentials, an app dependency) renders each size directly, so small sizes are
drawn at their own resolution rather than scaled down from 256 px. Pillow (also an app dependency)
packs the rendered PNGs into the .ico unchanged, one image per size.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from pathlib import Path

ICON_DIR = Path(__file__).resolve().parents[1] / "zit_desktop" / "resources" / "icons"
SVG = ICON_DIR / "zit-desktop.svg"
SIZES = (16, 24, 32, 48, 64, 128, 256)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)  # what Explorer, the taskbar and Alt+Tab ask for


def png_path(size: int) -> Path:
    return ICON_DIR / f"zit-desktop-{size}.png"


ICO = ICON_DIR / "zit-desktop.ico"


def render_png(size: int) -> bytes:
    """The SVG drawn at size×size, as PNG bytes (straight alpha, no metadata that changes per run)."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer
    from PySide6.QtWidgets import QApplication

    _ = QApplication.instance() or QApplication(["make_icons"])  # a QApplication: the tests share it
    renderer = QSvgRenderer(str(SVG))
    if not renderer.isValid():
        raise SystemExit(f"cannot read {SVG}")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(0)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.convertToFormat(QImage.Format.Format_ARGB32).save(buffer, "PNG")  # type: ignore[call-overload]  # the stub wants bytes, the binding a str
    buffer.close()
    return bytes(data.data())


def build_ico(pngs: dict[int, bytes]) -> bytes:
    from PIL import Image

    images = [Image.open(io.BytesIO(pngs[size])).convert("RGBA") for size in ICO_SIZES]
    out = io.BytesIO()
    largest = images[-1]
    largest.save(out, format="ICO", sizes=[(s, s) for s in ICO_SIZES], append_images=images[:-1])
    return out.getvalue()


def render_all() -> dict[Path, bytes]:
    pngs = {size: render_png(size) for size in SIZES}
    files = {png_path(size): data for size, data in pngs.items()}
    files[ICO] = build_ico(pngs)
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="compare with the committed files, write nothing"
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    files = render_all()
    if args.check:
        stale = [p.name for p, data in files.items() if not p.is_file() or p.read_bytes() != data]
        if stale:
            print("out of date (run python packaging/make_icons.py): " + ", ".join(stale), file=sys.stderr)
            return 1
        return 0
    for path, data in files.items():
        path.write_bytes(data)
        print(f"wrote {path.relative_to(ICON_DIR.parents[2])} ({len(data)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
