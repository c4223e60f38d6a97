"""Gallery at scale, part 1 (core): a history of 10,000 images with thumbnails.

Builds the history through the real store (``add_results`` with real PNG files and thumbnails),
then times what the gallery does: open the store (with its integrity check), count and read the
first page, page deep, filter, and search prompts in English and Chinese (FTS trigram, and the
LIKE fallback for 1-2 character queries). Prints the figures; ``--json`` prints them as JSON.

    .venv/bin/python benchmarks/gallery_scale.py [--rows 10000] [--data-dir DIR] [--json]

With ``--data-dir`` the history is kept there (and reused when it already has the rows), so the
Qt part of the benchmark (phase 2) can open the same gallery.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from zit_desktop.core.events import ImageResult  # noqa: E402
from zit_desktop.core.history import HistoryFilter, HistoryStore  # noqa: E402
from zit_desktop.core.paths import AppPaths  # noqa: E402

PAGE = 100  # rows the gallery asks for at a time
EN = ["cat", "dog", "lighthouse", "mountain", "astronaut", "portrait", "forest", "city", "robot", "river",
      "sunset", "castle", "dragon", "flower", "ocean", "train", "garden", "desert", "snow", "market"]
STYLE = ["cinematic", "watercolor", "photo", "soft light", "4k", "oil painting", "studio lighting",
         "wide angle", "highly detailed", "film grain"]
ZH = ["一只橘色的猫", "山间日落", "宇航员的肖像", "雨中的城市", "古老的城堡", "海边的灯塔", "森林里的小屋",
      "雪山", "电影感", "水彩画"]
PRESETS = ["512x512", "768x768", "1024x1024", "landscape", "portrait"]


def _prompt(rng: random.Random) -> str:
    if rng.random() < 0.3:
        return f"{rng.choice(ZH)}，{rng.choice(ZH)}，{rng.choice(STYLE)}"
    return f"a {rng.choice(EN)} and a {rng.choice(EN)} by the {rng.choice(EN)}, {rng.choice(STYLE)}, " \
           f"{rng.choice(STYLE)}"


def _sources(folder: Path, size: int, n: int = 16) -> list[Path]:
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        p = folder / f"src-{i}.png"
        img = Image.linear_gradient("L").resize((size, size)).convert("RGB")
        img = Image.merge("RGB", (img.getchannel(0), img.getchannel(1).rotate(90 * (i % 4)),
                                  Image.new("L", (size, size), 16 * i)))
        img.save(p, compress_level=1)
        out.append(p)
    return out


def build(paths: AppPaths, rows: int, source_size: int, seed: int = 0) -> dict[str, float]:
    """Fill the history with ``rows`` images (files hard-linked from a few sources) and thumbnails."""
    rng = random.Random(seed)
    sources = _sources(paths.cache / "bench-sources", source_size)
    files_t = 0.0
    insert_t = 0.0
    t_start = time.perf_counter()
    base_time = time.time() - rows * 60
    with HistoryStore.for_paths(paths) as store:
        have = store.count()
        for start in range(have, rows, 50):
            results = []
            t0 = time.perf_counter()
            for i in range(start, min(rows, start + 50)):
                path = paths.outputs / f"{i // 1000:02d}" / f"bench-{i:05d}.png"
                path.parent.mkdir(parents=True, exist_ok=True)
                if not path.exists():
                    try:
                        os.link(sources[i % len(sources)], path)
                    except OSError:
                        shutil.copyfile(sources[i % len(sources)], path)
                preset = rng.choice(PRESETS)
                req = {"prompt": _prompt(rng), "negative_prompt": "", "width": 512, "height": 512,
                       "steps": 8, "guidance": 0.0, "seed": i, "count": 1, "preset": preset,
                       "model": "Tongyi-MAI/Z-Image-Turbo", "extra": {}}
                results.append(ImageResult(
                    index=0, seed=i, path=str(path), width=512, height=512,
                    timings={"encode": 0.5, "denoise": 8.0, "decode": 1.0, "save": 0.1, "total": 9.6},
                    strategy="model-offload", oom_retries=0, peak_vram_bytes=6 << 30, request=req,
                    environment={"bench": True}))
            t1 = time.perf_counter()
            store.add_results(results)
            t2 = time.perf_counter()
            files_t += t1 - t0
            insert_t += t2 - t1
        with store.transaction() as conn:  # spread creation times over the past and favourite some
            conn.execute("UPDATE images SET created_at = ? + id * 60, favorite = (id % 37 = 0)", (base_time,))
    added = rows - have
    return {"rows_added": added, "build_s": time.perf_counter() - t_start,
            "add_results_ms_per_image": 1000 * insert_t / max(1, added)}


def _best(fn: Callable[[], Any], repeat: int = 7) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), result


def measure(paths: AppPaths) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    t0 = time.perf_counter()
    store = HistoryStore.for_paths(paths)
    figures["open_with_quick_check_ms"] = (time.perf_counter() - t0) * 1000
    try:
        t0 = time.perf_counter()
        n = store.count()
        first = store.page(0, PAGE)
        figures["first_page_cold_ms"] = (time.perf_counter() - t0) * 1000
        figures["rows"] = n
        figures["count_ms"], _ = _best(store.count)
        figures["first_page_ms"], _ = _best(lambda: store.page(0, PAGE))
        figures["last_page_ms"], _ = _best(lambda: store.page(n - PAGE, PAGE))
        figures["favourites_page_ms"], _ = _best(lambda: store.page(0, PAGE, HistoryFilter(favorites_only=True)))
        figures["preset_filter_page_ms"], _ = _best(lambda: store.page(0, PAGE, HistoryFilter(preset="landscape")))
        week = time.time() - 7 * 86400
        figures["date_filter_page_ms"], _ = _best(lambda: store.page(0, PAGE, HistoryFilter(since=week)))
        for label, text in [("search_en_ms", "lighthouse"), ("search_en_2terms_ms", "castle cinematic"),
                            ("search_zh_ms", "灯塔"), ("search_zh_3plus_ms", "海边的灯塔"),
                            ("search_1char_like_ms", "猫"), ("search_none_ms", "zebra")]:
            ms, hits = _best(lambda t=text: store.search(t, PAGE))  # type: ignore[misc]
            cnt_ms, total = _best(lambda t=text: store.count(HistoryFilter(text=t)))  # type: ignore[misc]
            figures[label] = ms
            figures[label.replace("_ms", "_hits")] = total
            figures[label.replace("_ms", "_count_ms")] = cnt_ms
        thumbs = [Path(r.thumbnail) for r in first if r.thumbnail]
        figures["thumbnails_in_first_page"] = len(thumbs)
        sizes = [p.stat().st_size for p in paths.thumbnails.glob("*.jpg")]
        figures["thumbnail_files"] = len(sizes)
        figures["thumbnail_mean_kib"] = statistics.mean(sizes) / 1024 if sizes else 0.0
        figures["thumbnails_total_mib"] = sum(sizes) / 2**20
        figures["db_mib"] = sum(p.stat().st_size for p in paths.root.glob("history.sqlite3*")) / 2**20
        # every row read with its file stat'ed (a row's "missing" is asked of the disk, not stored)
        figures["missing_check_all_ms"], _ = _best(lambda: sum(r.missing for r in store.page(0, n)), repeat=3)
    finally:
        store.close()
    return figures


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--source-size", type=int, default=512, help="side of the generated PNGs (px)")
    ap.add_argument("--data-dir", type=Path, help="keep (and reuse) the history here")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)

    tmp = None
    if args.data_dir is None:
        tmp = tempfile.mkdtemp(prefix="zit-gallery-bench-")
        root = Path(tmp)
    else:
        root = args.data_dir
    paths = AppPaths(root.resolve()).ensure()
    try:
        built = build(paths, args.rows, args.source_size)
        figures = {**built, **measure(paths)}
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        print(f"gallery_scale (core): {figures['rows']} rows, data in {root}")
        for key, value in figures.items():
            print(f"  {key:34s} {value:10.2f}" if isinstance(value, float) else f"  {key:34s} {value:10}")
        print("  targets: first page <= 300 ms (gallery painted, phase 2), search <= 50 ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
