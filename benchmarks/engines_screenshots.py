"""Offscreen screenshots of Settings → Engines… and of the window running a job on a server.

    QT_QPA_PLATFORM=offscreen python benchmarks/engines_screenshots.py [--out docs]

Writes ``engines-en.png`` (the dialog with two tested servers) and ``engines-window-en.png`` (the window
mid-batch on the pool: "Run on:", the server's card in the VRAM gauge, the progress naming the server).
The servers are the tests' fake ComfyUI (tests/core/comfy_fake.py) on 127.0.0.1, reporting a 24 GB
card; their "images" are flat colours from the seed.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

GIB = 1024**3


def wait(predicate: Any, timeout: float = 60) -> None:
    from PySide6.QtCore import QCoreApplication, QEventLoop

    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit("timed out")
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)


def gpu_server(card: str, step_delay: float) -> Any:
    from aiohttp import web

    from tests.core.comfy_fake import FakeComfy, fixture

    class GpuComfy(FakeComfy):
        async def _system_stats(self, request: web.Request) -> web.Response:
            stats = fixture("system_stats.json")
            stats["system"]["comfyui_version"] = self.version
            stats["devices"] = [{"name": card, "type": "cuda", "index": 0, "vram_total": 24 * GIB,
                                 "vram_free": int(21.4 * GIB)}]
            return web.json_response(stats)

    return GpuComfy(step_delay=step_delay).start()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs"))
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    from PySide6.QtGui import QFont
    from PySide6.QtWidgets import QApplication

    from zit_desktop.app import create_main_window
    from zit_desktop.core.events import Step

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setFont(QFont("Noto Sans", 10))
    studio = gpu_server("cuda:0 NVIDIA GeForce RTX 4090 : cudaMallocAsync", 0.25)
    attic = gpu_server("cuda:0 NVIDIA GeForce RTX 3090 : cudaMallocAsync", 0.4)
    try:
        with tempfile.TemporaryDirectory(prefix="zit-shots-") as tmp:
            window = create_main_window(Path(tmp) / "data")
            window.set_language("en")
            window.resize(1280, 820)
            window.show()
            dialog = window.engines.open_dialog()
            for name, server in (("studio", studio), ("attic", attic)):
                dialog.new_entry()
                dialog.name.setText(name)
                dialog.url.setText(server.url)
                dialog.test_entry()
                wait(lambda n=name: n in dialog.status and dialog.test_button.isEnabled())
            dialog.include_local.setChecked(False)
            dialog.list.setCurrentRow(0)
            wait(lambda: True, 0.3)
            dialog.grab().save(str(out / "engines-en.png"))
            print(out / "engines-en.png")
            dialog.reject()
            wait(lambda: window.engines.dialog is None)
            combo = window.engines.picker.combo
            combo.setCurrentIndex(combo.findData("pool"))
            combo.activated.emit(combo.currentIndex())  # as a user's choice: saved, handed to the worker
            p = window.params
            p.prompt.setPlainText("a lighthouse at dusk, long exposure, film grain")
            p.choose_preset("1024x1024")
            p.count.setValue(4)
            steps: list[Step] = []
            window.controller.engineEvent.connect(lambda e: steps.append(e) if isinstance(e, Step) else None)
            done: list[object] = []
            window.controller.jobFinished.connect(lambda _j, r: done.append(r))
            window.generate()
            wait(lambda: any(s.index == 1 and s.step >= 5 for s in steps) or bool(done))
            window.grab().save(str(out / "engines-window-en.png"))
            print(out / "engines-window-en.png")
            wait(lambda: bool(done))
            window.close()
    finally:
        studio.stop()
        attic.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
