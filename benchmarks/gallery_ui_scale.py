"""Gallery at scale, part 2 (Qt): the real gallery panel over a 10,000-image history.

Builds (or reuses, with ``--data-dir``) the history of part 1 (``benchmarks/gallery_scale.py``:
real PNGs and thumbnails through the store), then times, offscreen:

* opening the gallery: store open + ``GalleryPanel`` + show, until the grid's first paint, and until
  every thumbnail on screen is decoded and painted (target: first painted page <= 300 ms);
* a prompt search through the model (count + first page + reset), English, Chinese, and a 1-2
  character Chinese query that takes the LIKE path (target <= 50 ms);
* memory (RSS) while scrolling the whole list, screen by screen, waiting at each screen for its
  thumbnails: rows are paged in, pixmaps evicted past the cache budget, so RSS stays bounded.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/gallery_ui_scale.py [--rows 10000]
        [--data-dir DIR] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import psutil
from gallery_scale import build

from zit_desktop.core.history import HistoryFilter, HistoryStore
from zit_desktop.core.paths import AppPaths

MIB = 2**20


def _rss() -> float:
    return float(psutil.Process().memory_info().rss) / MIB


def _wait(app: Any, done: Any, timeout: float = 10.0) -> float:
    t0 = time.perf_counter()
    while not done():
        app.processEvents()
        if time.perf_counter() - t0 > timeout:
            raise TimeoutError("the gallery did not settle")
        time.sleep(0.0005)
    return time.perf_counter() - t0


def _on_screen_loaded(panel: Any) -> bool:
    model = panel.model
    first, last = panel.visible_rows(pad=False)
    return model.loader.pending() == 0 and all(
        model.row_at(r) is not None and model.row_at(r).id in model.cache  # type: ignore[union-attr]
        or model.row_at(r).id in model._failed  # type: ignore[union-attr]
        for r in range(first, last + 1))


def measure(paths: AppPaths, width: int, height: int) -> dict[str, Any]:
    from PySide6.QtCore import QEvent, QObject
    from PySide6.QtWidgets import QApplication

    from zit_desktop.ui.startup import qtcompat

    qtcompat.install()
    app = QApplication.instance() or QApplication([])
    from zit_desktop.ui.gallery.view import GalleryPanel

    class PaintSpy(QObject):
        painted: float | None = None

        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint and self.painted is None:
                self.painted = time.perf_counter()
            return False

    fig: dict[str, Any] = {"rss_before_open_mib": _rss()}
    t0 = time.perf_counter()
    store = HistoryStore.for_paths(paths)
    panel = GalleryPanel(store)
    spy = PaintSpy()
    panel.view.viewport().installEventFilter(spy)
    panel.resize(width, height)
    panel.show()
    _wait(app, lambda: spy.painted is not None)
    fig["open_to_first_paint_ms"] = (spy.painted - t0) * 1000  # type: ignore[operator]
    _wait(app, lambda: _on_screen_loaded(panel))
    app.processEvents()
    fig["open_to_thumbnails_painted_ms"] = (time.perf_counter() - t0) * 1000
    model = panel.model
    first, last = panel.visible_rows(pad=False)
    fig["rows"] = model.total
    fig["items_on_screen"] = min(last, model.rowCount() - 1) - first + 1
    fig["rss_after_open_mib"] = _rss()

    for label, text in [("search_en_ms", "lighthouse"), ("search_en_2terms_ms", "castle cinematic"),
                        ("search_zh_ms", "海边的灯塔"), ("search_zh_2char_like_ms", "灯塔"),
                        ("search_none_ms", "zebra")]:
        times = []
        for _ in range(7):
            model.set_filter(HistoryFilter())
            t1 = time.perf_counter()
            model.set_filter(HistoryFilter(text=text))
            times.append((time.perf_counter() - t1) * 1000)
        fig[label] = statistics.median(times)
        fig[label.replace("_ms", "_hits")] = model.total
    model.set_filter(HistoryFilter())

    bar = panel.view.verticalScrollBar()
    step = max(1, panel.view.viewport().height())
    rss_peak = _rss()
    t2 = time.perf_counter()
    screens = 0
    while True:
        bar.setValue(min(bar.value() + step, bar.maximum()))
        app.processEvents()
        _wait(app, lambda: _on_screen_loaded(panel), timeout=30)
        screens += 1
        rss_peak = max(rss_peak, _rss())
        if bar.value() >= bar.maximum() and not model.canFetchMore():
            break
    rss_first_pass = _rss()
    while bar.value() > 0:  # and back up: a second pass over rows already loaded must not grow
        bar.setValue(max(0, bar.value() - step))
        app.processEvents()
        _wait(app, lambda: _on_screen_loaded(panel), timeout=30)
        rss_peak = max(rss_peak, _rss())
    fig["rss_after_first_pass_mib"] = rss_first_pass
    fig["rss_after_second_pass_mib"] = _rss()
    fig["scroll_screens"] = screens
    fig["scroll_both_ways_s"] = time.perf_counter() - t2
    fig["rows_loaded_after_scroll"] = model.rowCount()
    fig["thumbnail_requests"] = model.loader.requests
    fig["pixmap_cache_mib"] = model.cache.bytes / MIB
    fig["pixmap_cache_budget_mib"] = model.cache.budget_bytes / MIB
    fig["pixmaps_cached"] = len(model.cache)
    fig["pixmap_evictions"] = model.cache.evictions
    fig["rss_peak_while_scrolling_mib"] = rss_peak
    panel.shutdown()
    store.close()
    panel.deleteLater()
    app.processEvents()
    return fig


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--source-size", type=int, default=512, help="side of the generated PNGs (px)")
    ap.add_argument("--data-dir", type=Path, help="keep (and reuse) the history here")
    ap.add_argument("--size", default="1000x700", help="gallery panel size, WxH")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))
    tmp = None if args.data_dir else tempfile.mkdtemp(prefix="zit-gallery-ui-bench-")
    root = Path(tmp) if tmp else args.data_dir
    paths = AppPaths(root.resolve()).ensure()
    try:
        built = build(paths, args.rows, args.source_size)
        figures = {**built, **measure(paths, width, height)}
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print(f"gallery_ui_scale (Qt, offscreen): {figures['rows']} rows, panel {width}x{height}, data in {root}")
    for key, value in figures.items():
        print(f"  {key:34s} {value:10.2f}" if isinstance(value, float) else f"  {key:34s} {value:10}")
    print("  targets: open to first painted page <= 300 ms, search <= 50 ms, RSS bounded while scrolling")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
