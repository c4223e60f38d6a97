"""Time and peak RAM of a refine and a tiled refine against plain text-to-image at the same target size.

Issue 11 (two-stage generation). Run::

    python benchmarks/refine.py                         # tiny model on the CPU, 512² target (seconds)
    python benchmarks/refine.py --size 1024 --tile 512  # larger
    python benchmarks/refine.py --model DIR             # any Z-Image pipeline folder (a GPU when present)

What it does, in one process through the app's own engine (``Engine.run``): load the model and warm up
once, make a source at half the target size (text-to-image), then per repeat and in turn:

* ``text-to-image`` at the target size (8 steps);
* ``refine`` of the source to the target, the whole image at once (change 0.35: 3 steps from σ = 0.35);
* ``tiled refine`` of the same, in ``--tile``-px tiles (default half the target: 2×2 tiles).

Per job it reports the wall time of ``Engine.run`` (median over ``--repeat``), the denoise and decode
seconds the engine measured, and the peak RSS of the process during the job (``RssSampler``, every
10 ms), and that peak minus the RSS before the job (``+RSS``: growth over what the process already
held; the allocator keeps freed blocks, so a job smaller than an earlier one adds about 0: compare the
peaks). On a CUDA device it also reports the allocator's peak (``peak_vram_bytes``). Output: human
lines, then ``JSON {...}``.

Measured here (tiny model, CPU, 2 shared cores, 2026-12): 512² target, 3 repeats: text-to-image 0.38 s /
peak RSS 916 MB, refine 0.36 s / 931 MB, tiled refine (3×3 tiles of 256 px) 0.92 s / 899 MB; 1024²
target, tiles of 512 px, 2 repeats: 2.69 s / 1117 MB, 2.10 s / 1135 MB, 7.91 s / 1008 MB.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from zit_desktop.core.engine import Engine  # noqa: E402
from zit_desktop.core.events import Finished  # noqa: E402
from zit_desktop.core.memory.rss import RssSampler, current_rss  # noqa: E402
from zit_desktop.core.paths import AppPaths  # noqa: E402
from zit_desktop.core.request import Finalize, GenerationRequest  # noqa: E402

MB = 1024**2


def measure(engine: Engine, request: GenerationRequest) -> dict[str, Any]:
    sampler = RssSampler(interval=0.01)
    before = current_rss() or 0
    sampler.start()
    sampler.take_peak()
    t0 = time.perf_counter()
    result = engine.run(request, lambda e: None)
    wall = time.perf_counter() - t0
    peak = sampler.take_peak() or before
    sampler.stop()
    if not isinstance(result, Finished):
        raise SystemExit(
            f"{request.finalize.method if request.finalize else 'text-to-image'} failed: {result}"
        )
    image = result.images[0]
    return {
        "wall_s": wall,
        "denoise_s": image.timings.get("denoise", 0.0),
        "decode_s": image.timings.get("decode", 0.0),
        "rss_added_mb": (peak - before) / MB,
        "peak_rss_mb": peak / MB,
        "peak_vram_mb": image.peak_vram_bytes / MB if image.peak_vram_bytes else None,
        "path": image.path,
        "layout": image.environment.get("finalize", {}).get("layout", "whole"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=512, help="target side in px (default 512)")
    parser.add_argument("--tile", type=int, help="tile side of the tiled refine (default half the target)")
    parser.add_argument("--model", help="a Z-Image pipeline folder (default: the tiny model, built now)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    side, tile = args.size, args.tile or args.size // 2
    work = Path(tempfile.mkdtemp(prefix="zit-refine-bench-"))
    model = args.model
    if model is None:
        from zit_desktop.core.engine.tiny_model import make_tiny_model

        model = str(make_tiny_model(work / "tiny"))
    engine = Engine(AppPaths(work / "home").ensure())
    base = GenerationRequest(prompt="一只橘色的猫 on a windowsill", seed=7, model=model, preset=None)
    source = GenerationRequest(**{**base.__dict__, "width": side // 2, "height": side // 2})
    first = engine.run(source, lambda e: None)  # loads the model and warms up
    assert isinstance(first, Finished), first
    src = first.images[0].path
    jobs = {
        "text-to-image": GenerationRequest(**{**base.__dict__, "width": side, "height": side}),
        "refine": GenerationRequest(**{**base.__dict__, "width": side, "height": side,
                                       "finalize": Finalize(src, tile=0)}),
        "tiled refine": GenerationRequest(**{**base.__dict__, "width": side, "height": side,
                                             "finalize": Finalize(src, tile=tile)}),
    }  # fmt: skip
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in jobs}
    for _ in range(args.repeat):
        for name, request in jobs.items():  # interleaved, so a busy machine slows all three alike
            runs[name].append(measure(engine, request))
    summary: dict[str, dict[str, Any]] = {}
    for name, rs in runs.items():
        summary[name] = {
            key: statistics.median(r[key] for r in rs)
            for key in ("wall_s", "denoise_s", "decode_s", "rss_added_mb", "peak_rss_mb")
        }
        summary[name]["layout"] = rs[0]["layout"]
        vram = [r["peak_vram_mb"] for r in rs if r["peak_vram_mb"] is not None]
        summary[name]["peak_vram_mb"] = max(vram) if vram else None
    t2i = summary["text-to-image"]["wall_s"]
    print(f"target {side}x{side} on {engine.device.type}, model {model}, median of {args.repeat}")
    print(
        f"{'job':<15}{'wall s':>8}{'× t2i':>7}{'denoise':>9}{'decode':>8}{'+RSS MB':>9}{'peak RSS MB':>13}  layout"
    )
    for name, s in summary.items():
        print(
            f"{name:<15}{s['wall_s']:>8.2f}{s['wall_s'] / t2i:>7.2f}{s['denoise_s']:>9.2f}{s['decode_s']:>8.2f}"
            f"{s['rss_added_mb']:>9.0f}{s['peak_rss_mb']:>13.0f}  {s['layout']}"
            + (f"  peak VRAM {s['peak_vram_mb']:.0f} MB" if s["peak_vram_mb"] else "")
        )
    print("JSON " + json.dumps({"size": side, "tile": tile, "device": engine.device.type, "jobs": summary}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
