"""Soak: many generations in a row through the real window and worker; does memory or speed drift?

    QT_QPA_PLATFORM=offscreen python benchmarks/soak.py [--images 300] [--side 256] [--steps 4]
    python benchmarks/soak.py --model /path/to/Z-Image-Turbo --images 100    # full size, on a CUDA GPU

The whole app as ``zit-desktop gui`` wires it (``app.create_main_window``: the ``JobController`` and its
engine-worker thread, the VRAM monitor, the history gallery with its thumbnails, live previews in the
image view) runs a fixed cycle of jobs until ``--images`` images are saved: several sizes, counts 1-3,
re-rolls (the same prompt with a new seed: the embedding cache), new prompts, and a cancel after the
first step of every seventh job. Without ``--model`` it uses the tiny offline Z-Image pipeline at
``--side``-sized images on the CPU; with a real model on a CUDA GPU it uses the size presets.

It prints RSS (and on CUDA reserved VRAM and the allocator's inactive split bytes) at the start, after
the warm-up (the first 10 % of the images, at least 10) and at the end; the RSS slope per 100 images
after the warm-up (least squares over one sample per image); seconds per image in the first and the
last decile after the warm-up; and the longest UI stall (a 10 ms QTimer heartbeat on the GUI thread,
lateness beyond its interval), also after the warm-up. Target (issue 13): RSS within 50 MB per 100
images after the warm-up, no slowdown beyond noise.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MB = 1e6
PROMPTS = ("a red fox in the snow", "一只橘色的猫", "a lighthouse at dusk, oil painting",
           "macro photo of a dew drop", "a city street in the rain, neon", "a bowl of ramen")  # fmt: skip
HEARTBEAT_MS = 10


@dataclass(frozen=True)
class JobSpec:
    width: int
    height: int
    count: int
    prompt: int  # index into PROMPTS
    cancel: bool = False


def job_cycle(sides: tuple[int, ...]) -> list[JobSpec]:
    """One cycle (repeated): every size, counts 1-3, re-rolls of a prompt, new prompts, one cancel."""
    a, b, c = (sides * 3)[:3]
    return [
        JobSpec(a, a, 1, 0),
        JobSpec(a, a, 2, 0),  # re-roll: same prompt, new seeds
        JobSpec(b, a, 1, 1),
        JobSpec(a, b, 3, 2),
        JobSpec(c, c, 1, 2),  # re-roll at another size
        JobSpec(a, a, 2, 3),
        JobSpec(b, b, 2, 4, cancel=True),  # cancelled after its first step
        JobSpec(a, c, 1, 5),
        JobSpec(a, a, 1, 0),
    ]


@dataclass
class Samples:
    rss: list[tuple[int, int]] = field(default_factory=list)  # (images saved so far, RSS bytes)
    vram: list[tuple[int, int, int]] = field(default_factory=list)  # (images, reserved, inactive split)
    seconds: list[float] = field(default_factory=list)  # per saved image: its timings["total"]
    phases: list[dict[str, float]] = field(default_factory=list)  # per saved image: its timings
    stalls: list[tuple[int, float]] = field(default_factory=list)  # (images, worst lateness in ms)


def _rss() -> int:
    import psutil

    return int(psutil.Process().memory_info().rss)


def _cuda() -> tuple[int, int] | None:
    torch = sys.modules.get("torch")
    if torch is None or not torch.cuda.is_available() or not torch.cuda.is_initialized():
        return None
    stats = torch.cuda.memory_stats()
    return int(torch.cuda.memory_reserved()), int(stats.get("inactive_split_bytes.all.current", 0))


def slope_per_100(points: list[tuple[int, int]]) -> float:
    """Least-squares slope of bytes over images, per 100 images (0 with fewer than 2 points)."""
    if len(points) < 2 or len({x for x, _ in points}) < 2:
        return 0.0
    xs = [float(x) for x, _ in points]
    ys = [float(y) for _, y in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    return 100 * sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx


def run_soak(images: int = 300, side: int = 256, steps: int = 4, model: str | None = None,
             data_dir: Path | None = None, warmup: int | None = None,
             on_image: Callable[[int], None] | None = None) -> dict[str, Any]:  # fmt: skip
    """Run the soak in this process and return its figures. ``on_image(n)`` runs on the GUI thread after
    the n-th image is recorded (a hook for finding what grows: tracemalloc, gc counts)."""
    from PySide6.QtCore import QElapsedTimer, QEventLoop, Qt, QTimer
    from PySide6.QtWidgets import QApplication

    from zit_desktop.app import create_main_window
    from zit_desktop.core.events import Cancelled, Failed, ImageRecorded, Step
    from zit_desktop.core.request import GenerationRequest

    app = QApplication.instance() or QApplication(sys.argv[:1])
    tmp = None
    if data_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="zit-soak-")
        data_dir = Path(tmp.name)
    if model is None:
        from zit_desktop.core.engine.tiny_model import make_tiny_model

        model = str(make_tiny_model(data_dir / "tiny-model"))
        sides: tuple[int, ...] = (side, side + 64, max(128, side - 64))
    else:
        sides = (1024, 768, 512)
    warm = warmup if warmup is not None else max(10, images // 10)
    window = create_main_window(str(data_dir / "home"), model=model)
    window.show()
    cycle = job_cycle(sides)
    samples = Samples()
    state: dict[str, Any] = {"saved": 0, "job": 0, "spec": None, "cancel_sent": False, "failed": []}
    rss_start = _rss()
    cuda_start = _cuda()
    loop = QEventLoop()

    clock = QElapsedTimer()
    beat = QTimer()
    beat.setTimerType(Qt.TimerType.PreciseTimer)
    beat.setInterval(HEARTBEAT_MS)
    last = [0]
    worst = [0.0]

    def on_beat() -> None:
        now = clock.elapsed()
        late = now - last[0] - HEARTBEAT_MS
        last[0] = now
        worst[0] = max(worst[0], float(late))

    beat.timeout.connect(on_beat)

    def submit() -> None:
        if state["saved"] >= images:
            loop.quit()
            return
        spec = cycle[state["job"] % len(cycle)]
        state["job"] += 1
        state["spec"], state["cancel_sent"] = spec, False
        request = GenerationRequest(prompt=PROMPTS[spec.prompt], seed=-1, model=model, width=spec.width,
                                    height=spec.height, steps=steps, count=spec.count, preset=None)  # fmt: skip
        window.apply_request(request, lock_seed=False)
        if window.generate() is None:
            raise SystemExit("the window refused the soak's request")

    def on_event(event: Any) -> None:
        spec = state["spec"]
        if isinstance(event, Step) and spec is not None and spec.cancel and not state["cancel_sent"]:
            state["cancel_sent"] = True
            window.cancel()
        elif isinstance(event, ImageRecorded):
            state["saved"] += 1
            samples.rss.append((state["saved"], _rss()))
            samples.seconds.append(float(event.image.timings.get("total", 0.0)))
            samples.phases.append(dict(event.image.timings))
            samples.stalls.append((state["saved"], worst[0]))
            worst[0] = 0.0
            cuda = _cuda()
            if cuda is not None:
                samples.vram.append((state["saved"], *cuda))
            if on_image is not None:
                on_image(state["saved"])
        elif isinstance(event, Failed):
            state["failed"].append(f"{event.kind}: {event.message}")
        elif isinstance(event, Cancelled) and spec is not None and not spec.cancel:
            state["failed"].append("a job was cancelled that the soak did not cancel")

    window.controller.engineEvent.connect(on_event)
    window.controller.idle.connect(lambda: QTimer.singleShot(0, submit))
    t0 = time.perf_counter()
    clock.start()
    beat.start()
    QTimer.singleShot(0, submit)
    loop.exec()
    beat.stop()
    wall = time.perf_counter() - t0
    window.close()
    app.processEvents()
    if tmp is not None:
        tmp.cleanup()
    return figures(samples, rss_start, cuda_start, warm, wall, state["failed"], len(samples.rss))


def figures(s: Samples, rss_start: int, cuda_start: tuple[int, int] | None, warm: int, wall: float,
            failed: list[str], saved: int) -> dict[str, Any]:  # fmt: skip
    after = [p for p in s.rss if p[0] > warm]
    rss_warm = next((y for x, y in s.rss if x >= warm), s.rss[-1][1] if s.rss else rss_start)
    secs = [t for i, t in enumerate(s.seconds, 1) if i > warm]
    decile = max(1, len(secs) // 10)
    out: dict[str, Any] = {
        "images": saved,
        "warmup_images": warm,
        "wall_s": round(wall, 1),
        "rss_start_mb": round(rss_start / MB, 1),
        "rss_after_warmup_mb": round(rss_warm / MB, 1),
        "rss_end_mb": round((s.rss[-1][1] if s.rss else rss_start) / MB, 1),
        "rss_slope_mb_per_100": round(slope_per_100(after) / MB, 1),
        "s_per_image_first_decile": round(statistics.median(secs[:decile]), 3) if secs else None,
        "s_per_image_last_decile": round(statistics.median(secs[-decile:]), 3) if secs else None,
        "longest_stall_ms": round(max((w for _, w in s.stalls), default=0.0), 1),
        "longest_stall_after_warmup_ms": round(max((w for i, w in s.stalls if i > warm), default=0.0), 1),
        "failures": failed,
        "phases_first_vs_last_decile_s": _phases(s.phases[warm:]),
    }
    if s.vram:
        v_after = [(i, r) for i, r, _ in s.vram if i > warm]
        out.update(
            reserved_start_mb=round((cuda_start or (0, 0))[0] / MB, 1),
            reserved_after_warmup_mb=round(next((r for i, r, _ in s.vram if i >= warm), 0) / MB, 1),
            reserved_end_mb=round(s.vram[-1][1] / MB, 1),
            reserved_slope_mb_per_100=round(slope_per_100(v_after) / MB, 1),
            inactive_split_end_mb=round(s.vram[-1][2] / MB, 1),
        )
    return out


def _phases(timings: list[dict[str, float]]) -> dict[str, tuple[float, float]]:
    """Per phase (encode, denoise, decode, save): median seconds in the first and the last decile."""
    decile = max(1, len(timings) // 10)
    out = {}
    for phase in ("encode", "denoise", "decode", "save"):
        first = [t[phase] for t in timings[:decile] if phase in t]
        last = [t[phase] for t in timings[-decile:] if phase in t]
        if first and last:
            out[phase] = (round(statistics.median(first), 4), round(statistics.median(last), 4))
    return out


def report(r: dict[str, Any]) -> str:
    lines = [
        f"soak: {r['images']} images in {r['wall_s']} s (warm-up: the first {r['warmup_images']})",
        f"RSS:        start {r['rss_start_mb']} MB, after warm-up {r['rss_after_warmup_mb']} MB, "
        f"end {r['rss_end_mb']} MB",
        f"RSS slope:  {r['rss_slope_mb_per_100']:+.1f} MB per 100 images after the warm-up (target within ±50)",
    ]
    if "reserved_end_mb" in r:
        lines.append(
            f"VRAM:       reserved start {r['reserved_start_mb']} MB, after warm-up {r['reserved_after_warmup_mb']} "
            f"MB, end {r['reserved_end_mb']} MB; slope {r['reserved_slope_mb_per_100']:+.1f} MB per 100; "
            f"inactive split at the end {r['inactive_split_end_mb']} MB"
        )
    first, last = r["s_per_image_first_decile"], r["s_per_image_last_decile"]
    if first is not None and last is not None:
        lines.append(f"s/image:    first decile {first} s, last decile {last} s (×{last / first:.2f})")
    if r.get("phases_first_vs_last_decile_s"):
        lines.append("phases:     " + ", ".join(f"{k} {a} → {b} s" for k, (a, b) in r["phases_first_vs_last_decile_s"].items()))
    lines.append(
        f"UI stall:   longest {r['longest_stall_ms']} ms, after the warm-up {r['longest_stall_after_warmup_ms']} ms"
    )
    if r["failures"]:
        lines.append(f"FAILURES:   {len(r['failures'])}: {r['failures'][:3]}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=300)
    ap.add_argument("--side", type=int, default=256, help="tiny model: the main image side (multiple of 64)")
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--model", help="a real model folder (full size; on a CUDA GPU)")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args(argv)
    result = run_soak(args.images, args.side, args.steps, args.model)
    print(report(result), flush=True)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 1 if result["failures"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
