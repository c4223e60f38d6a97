"""Offscreen screenshots of the window in English and Chinese, with a tiny-model image shown.

    QT_QPA_PLATFORM=offscreen python benchmarks/screenshots.py [--out docs]

Writes ``screenshot-en.png`` and ``screenshot-zh.png``. CJK text needs a CJK font (Debian:
``fonts-noto-cjk``). The tiny model has random weights, so the "image" is coloured noise; the window
around it is what these pictures are for.
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


def wait(predicate: object, timeout: float = 300) -> None:
    from PySide6.QtCore import QCoreApplication, QEventLoop

    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise SystemExit("timed out")
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs"))
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    from PySide6.QtGui import QFont
    from PySide6.QtWidgets import QApplication

    from zit_desktop.app import create_main_window
    from zit_desktop.core.engine.tiny_model import make_tiny_model

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setFont(QFont("Noto Sans CJK SC", 10))
    with tempfile.TemporaryDirectory(prefix="zit-shots-") as tmp:
        model = make_tiny_model(Path(tmp) / "tiny")
        window = create_main_window(Path(tmp) / "data", model=str(model))
        window.resize(1280, 820)
        window.show()
        p = window.params
        p.prompt.setPlainText(
            "一只橘色的猫在窗台上晒太阳，清晨的柔光，胶片质感 / an orange cat on a sunny windowsill"
        )
        p.choose_preset("1024x1024")
        p.set_seed(20240611, lock=True)
        done: list[object] = []
        window.controller.jobFinished.connect(lambda _j, r: done.append(r))
        window.generate()
        wait(lambda: bool(done))
        wait(lambda: not window.image_view.is_preview and window.image_view.image is not None)
        for language, name in (("en", "screenshot-en.png"), ("zh_CN", "screenshot-zh.png")):
            window.set_language(language)
            wait(lambda: True, 1)
            settle = time.monotonic() + 0.3
            wait(lambda s=settle: time.monotonic() > s)
            window.grab().save(str(out / name))
            print(out / name)
        window.set_language("system")
        window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
