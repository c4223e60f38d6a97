"""Engine overhead vs a bare ZImagePipeline call, on the tiny model (CPU).

Prints, for 512x512 and 1024x1024, the median of several runs in one process:
  generation ratio = engine (encode + denoise + decode, with step events and previews) / bare call
  end-to-end ratio = engine request-to-PNG-on-disk / bare call
Targets: generation <= 1.05, end-to-end <= 1.15. Runs alternate engine/bare so drift hits both.

    python benchmarks/engine_overhead.py [--runs 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--sizes", default="512,1024")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()

    import torch
    from diffusers import ZImagePipeline

    from zit_desktop.core.engine import Engine
    from zit_desktop.core.engine.tiny_model import make_tiny_model
    from zit_desktop.core.events import Finished
    from zit_desktop.core.paths import app_paths
    from zit_desktop.core.request import GenerationRequest

    torch.set_num_threads(max(1, torch.get_num_threads()))
    work = Path(tempfile.mkdtemp(prefix="zit-bench-"))
    model = make_tiny_model(work / "model")
    engine = Engine(app_paths(work / "home").ensure())
    bare = ZImagePipeline.from_pretrained(str(model), dtype=torch.float32)
    bare.set_progress_bar_config(disable=True)

    report: dict[str, dict[str, float]] = {}
    for size in (int(s) for s in args.sizes.split(",")):
        gen_ratios, e2e_ratios, bare_s = [], [], []
        for i in range(args.runs + 1):  # run 0 warms up both paths
            prompt = f"a cat on a red chair, variation {size}-{i}"  # fresh prompt: no embedding-cache hits
            request = GenerationRequest(prompt=prompt, width=size, height=size, seed=i, model=str(model), preset=None)
            t = time.perf_counter()
            result = engine.run(request, lambda e: None)
            engine_total = time.perf_counter() - t
            assert isinstance(result, Finished), result
            timings = result.images[0].timings
            engine_gen = timings["encode"] + timings["denoise"] + timings["decode"]
            t = time.perf_counter()
            bare(
                prompt=prompt, height=size, width=size, num_inference_steps=8, guidance_scale=0.0,
                generator=torch.Generator("cpu").manual_seed(i),
            ).images[0]
            bare_total = time.perf_counter() - t
            if i == 0:
                continue
            gen_ratios.append(engine_gen / bare_total)
            e2e_ratios.append(engine_total / bare_total)
            bare_s.append(bare_total)
        report[f"{size}x{size}"] = {
            "bare_median_s": round(statistics.median(bare_s), 3),
            "generation_ratio": round(statistics.median(gen_ratios), 3),
            "end_to_end_ratio": round(statistics.median(e2e_ratios), 3),
        }
    print(f"{'size':>10} {'bare s':>8} {'gen ratio':>10} {'e2e ratio':>10}   (targets: <= 1.05, <= 1.15)")
    for size, row in report.items():
        print(f"{size:>10} {row['bare_median_s']:>8.3f} {row['generation_ratio']:>10.3f} {row['end_to_end_ratio']:>10.3f}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
