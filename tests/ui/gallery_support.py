"""Helpers for the gallery tests: a history filled with real PNGs (with our metadata) and rows."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, PngImagePlugin

from zit_desktop.core.events import ImageResult
from zit_desktop.core.history import HistoryStore
from zit_desktop.core.metadata.chunks import OUR_CHUNK

PROMPTS = [
    "a lighthouse at dusk, cinematic light",
    "一只橘色的猫，坐在窗台上，水彩画",
    "portrait of an astronaut, studio lighting",
    "雪山日出，电影感",
    "a red fox in the snow, film grain",
    "海边的灯塔，夜晚",
    "a robot tending a garden, oil painting",
    "古老的城堡，雨中",
]


def request_dict(prompt: str, seed: int, size: int = 512, preset: str | None = "512x512",
                 **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"prompt": prompt, "negative_prompt": "", "width": size, "height": size,
                            "steps": 8, "guidance": 0.0, "seed": seed, "count": 1,
                            "model": "Tongyi-MAI/Z-Image-Turbo", "preset": preset, "extra": {}}
    data.update(extra)
    return data


def pretty_image(seed: int, side: int = 256) -> Image.Image:
    """A colourful, recognisable picture (sky gradient, sun, hills) that differs per seed."""
    hue = (seed * 47) % 360
    top = _hsv(hue, 0.55, 0.95)
    bottom = _hsv((hue + 40) % 360, 0.8, 0.55)
    img = Image.new("RGB", (side, side))
    draw = ImageDraw.Draw(img)
    for y in range(side):
        t = y / (side - 1)
        draw.line([(0, y), (side, y)], fill=tuple(int(a + (b - a) * t) for a, b in zip(top, bottom, strict=False)))
    r = side // 8 + (seed % 5) * side // 40
    cx, cy = side // 4 + (seed * 13) % (side // 2), side // 4 + (seed * 7) % (side // 5)
    draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=_hsv((hue + 180) % 360, 0.35, 1.0))
    for layer in range(3):
        pts = [(0, side)]
        for x in range(0, side + 1, side // 16):
            y = side * (0.62 + 0.1 * layer) + side * 0.07 * math.sin(x / side * 6 + seed + layer * 2)
            pts.append((x, int(y)))
        pts.append((side, side))
        draw.polygon(pts, fill=_hsv((hue + 90 + 25 * layer) % 360, 0.6, 0.5 - 0.12 * layer))
    return img


def _hsv(h: float, s: float, v: float) -> tuple[int, int, int]:
    import colorsys

    r, g, b = colorsys.hsv_to_rgb(h / 360, s, v)
    return int(r * 255), int(g * 255), int(b * 255)


def write_png(path: Path, request: dict[str, Any], seed: int, side: int = 256) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = PngImagePlugin.PngInfo()
    payload = {"version": 1, "request": request, "environment": {"app": "zit-desktop", "test": True},
               "info": {"strategy": "model-offload", "oom_retries": 0, "peak_vram_bytes": 5 << 30}}
    meta.add_itxt(OUR_CHUNK, json.dumps(payload, ensure_ascii=False))
    pretty_image(seed, side).save(path, pnginfo=meta, compress_level=1)
    return path


def make_result(folder: Path, prompt: str, seed: int, *, write: bool = True, side: int = 256,
                preset: str | None = "512x512", **extra: Any) -> ImageResult:
    req = request_dict(prompt, seed, preset=preset, **extra)
    path = folder / f"img-{seed}.png"
    if write:
        write_png(path, req, seed, side)
    return ImageResult(
        index=0, seed=seed, path=str(path), width=req["width"], height=req["height"],
        timings={"encode": 0.4, "denoise": 7.9, "decode": 1.1, "save": 0.05, "total": 9.45},
        strategy="model-offload", oom_retries=1 if seed % 5 == 0 else 0,
        peak_vram_bytes=5_300_000_000, request=req, environment={"torch": "2.x", "device": "cpu"},
    )


def fill(store: HistoryStore, folder: Path, count: int, *, write: bool = True, start_seed: int = 1000,
         favorite_every: int = 0, created_start: float | None = None) -> list[int]:
    """Add ``count`` images (prompts cycling through :data:`PROMPTS`); return their ids (oldest first)."""
    ids: list[int] = []
    batch: list[ImageResult] = []
    for i in range(count):
        batch.append(make_result(folder, PROMPTS[i % len(PROMPTS)], start_seed + i, write=write))
        if len(batch) == 200 or i == count - 1:
            ids += store.add_results(batch)
            batch = []
    with store.transaction() as conn:
        if created_start is not None:
            conn.executemany("UPDATE images SET created_at = ? WHERE id = ?",
                             [(created_start + n * 60.0, rid) for n, rid in enumerate(ids)])
        if favorite_every:
            conn.executemany("UPDATE images SET favorite = 1 WHERE id = ?",
                             [(rid,) for n, rid in enumerate(ids) if n % favorite_every == 0])
    return ids
