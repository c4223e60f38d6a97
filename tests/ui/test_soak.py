"""The soak benchmark in a short form: 30 images in a row through the real window, worker and tiny
engine (sizes, counts, re-rolls, a cancel), with RSS flat after the warm-up within a generous bound."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

pytestmark = pytest.mark.slow
SOAK = Path(__file__).resolve().parents[2] / "benchmarks" / "soak.py"
SLOPE_BOUND_MB = 150.0  # per 100 images; the benchmark's own target is 50 over 300 images


def load_soak() -> ModuleType:
    spec = importlib.util.spec_from_file_location("soak", SOAK)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules["soak"] = mod
    spec.loader.exec_module(mod)
    return mod


def test_slope_is_least_squares_per_100_images() -> None:
    soak = load_soak()
    assert soak.slope_per_100([(1, 1000), (2, 1010), (3, 1020)]) == pytest.approx(1000)
    assert soak.slope_per_100([(1, 5), (2, 5)]) == 0
    assert soak.slope_per_100([(1, 5)]) == 0


def test_short_soak_keeps_rss_flat(qapp: Any, tmp_path: Path) -> None:
    soak = load_soak()
    r = soak.run_soak(images=30, side=128, steps=2, data_dir=tmp_path, warmup=10)
    print(soak.report(r))
    assert r["failures"] == []
    assert r["images"] >= 30
    assert abs(r["rss_slope_mb_per_100"]) < SLOPE_BOUND_MB, soak.report(r)
    assert r["s_per_image_first_decile"] and r["s_per_image_last_decile"]


def test_a_worker_threads_history_connections_do_not_pile_up(qtbot: Any, tmp_path: Path) -> None:
    """The leak the soak found: every queued slot on a QThread runs with a fresh Python thread state (an
    empty threading.local), so the store opened a connection per job and kept them all open."""
    from PySide6.QtCore import QMetaObject, QObject, Qt, QThread, Signal, Slot

    from zit_desktop.core.history import HistoryStore
    from zit_desktop.ui.window.worker import start_thread

    store = HistoryStore(tmp_path / "history.sqlite3")

    class Reader(QObject):  # lives on the thread, like EngineWorker
        done = Signal(int)

        @Slot()
        def read(self) -> None:
            store.presets_used()  # a query on this thread
            self.done.emit(len(list(store._connections)))

    class Relay(QObject):  # lives on the GUI thread: the counts arrive queued, like JobController's
        def __init__(self) -> None:
            super().__init__()
            self.counts: list[int] = []

        @Slot(int)
        def take(self, n: int) -> None:
            self.counts.append(n)

    thread = QThread()
    reader, relay = Reader(), Relay()
    reader.moveToThread(thread)
    reader.done.connect(relay.take)
    start_thread(thread)
    try:
        for i in range(12):  # twelve "jobs", each a queued call like EngineWorker.run_job
            QMetaObject.invokeMethod(reader, "read", Qt.ConnectionType.QueuedConnection)
            qtbot.waitUntil(lambda i=i: len(relay.counts) == i + 1, timeout=5000)
        assert max(relay.counts) <= 2, relay.counts  # this thread's and the opening one's, not one per job
    finally:
        thread.quit()
        thread.wait()
        store.close()
    assert list(store._connections) == []
