"""Helpers for the history tests: real PNGs with our metadata chunk, and ImageResults for them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from PIL import Image, PngImagePlugin

from zit_desktop.core.events import ImageResult
from zit_desktop.core.metadata.chunks import OUR_CHUNK


def request_dict(prompt: str, seed: int = 1, preset: str | None = "512x512", size: int = 512,
                 **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "prompt": prompt, "negative_prompt": "", "width": size, "height": size, "steps": 8,
        "guidance": 0.0, "seed": seed, "count": 1, "model": "Tongyi-MAI/Z-Image-Turbo",
        "preset": preset, "extra": {},
    }
    data.update(extra)
    return data


def write_png(path: Path, request: dict[str, Any], *, size: tuple[int, int] = (64, 48),
              info: dict[str, Any] | None = None, color: tuple[int, int, int] = (200, 80, 20)) -> Path:
    """A real PNG carrying a ``zit-desktop`` iTXt chunk like the engine writes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = PngImagePlugin.PngInfo()
    payload = {"version": 1, "request": request, "environment": {"app": "zit-desktop", "test": True},
               "info": info or {"strategy": "gpu", "oom_retries": 0, "peak_vram_bytes": 123}}
    meta.add_itxt(OUR_CHUNK, json.dumps(payload, ensure_ascii=False))
    Image.new("RGB", size, color).save(path, pnginfo=meta)
    return path


def make_result(folder: Path, prompt: str, seed: int = 1, *, index: int = 0, preset: str | None = "512x512",
                write: bool = True, name: str | None = None, **extra: Any) -> ImageResult:
    size = 512
    req = request_dict(prompt, seed, preset, size, **extra)
    path = folder / (name or f"img-{seed}-{index}.png")
    if write:
        write_png(path, req)
    return ImageResult(
        index=index, seed=seed, path=str(path), width=size, height=size,
        timings={"encode": 0.1, "denoise": 1.0, "decode": 0.2, "save": 0.01, "total": 1.31},
        strategy="model-offload", oom_retries=1, peak_vram_bytes=5_000_000_000, request=req,
        environment={"torch": "2.x", "device": "cpu"},
    )
