"""Offscreen screenshots of the main window with the history gallery filled, in English and Chinese.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/gallery_screenshots.py [--out docs]

Writes ``screenshot-gallery-en.png`` and ``screenshot-gallery-zh.png``. The history holds synthetic
pictures (no model needed) with real metadata, favourites, and one file deleted behind the app's
back (shown as missing). CJK text needs a CJK font (Debian: ``fonts-noto-cjk``).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def settle(seconds: float) -> None:
    from PySide6.QtCore import QCoreApplication, QEventLoop

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs"))
    parser.add_argument("--images", type=int, default=48)
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QFont
    from PySide6.QtWidgets import QApplication

    from tests.ui.gallery_support import fill
    from zit_desktop.app import create_main_window
    from zit_desktop.core.history import HistoryStore
    from zit_desktop.core.paths import AppPaths
    from zit_desktop.ui.startup import qtcompat

    qtcompat.install()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setFont(QFont("Noto Sans CJK SC", 10))
    with tempfile.TemporaryDirectory(prefix="zit-gallery-shots-") as tmp:
        paths = AppPaths(Path(tmp) / "data").ensure()
        with HistoryStore.for_paths(paths) as store:
            ids = fill(store, paths.outputs, args.images, favorite_every=5, created_start=time.time() - 86400)
            gone = store.get(ids[-4])
            assert gone is not None
            os.remove(gone.path)  # deleted behind the app's back: shown as missing
        window = create_main_window(paths.root)
        window.resize(1360, 1000)
        window.show()
        window.resizeDocks([window.gallery_dock], [560], Qt.Orientation.Vertical)
        gallery = window.gallery
        settle(0.5)
        gallery.select_id(ids[-2])
        gallery.reuse_all()
        gallery.view.setFocus()
        settle(1.0)
        for language, name in (("en", "screenshot-gallery-en.png"), ("zh_CN", "screenshot-gallery-zh.png")):
            window.set_language(language)
            settle(0.8)
            window.grab().save(str(out / name))
            print(out / name)
        window.set_language("system")
        window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
