"""A small engine for the two-stage UI tests: real PNGs of the requested size, no torch.

Text-to-image draws a picture per seed; a finalize request opens its source and resizes it with
Lanczos to the target (refine: the request's width×height; upscale: the source × scale). Every file
carries our metadata, so the history, the gallery and the PNG reader see what the real engine
writes. It honours :class:`zit_desktop.core.jobs.EngineLike` and emits the same events; it is an
honest seam for the window, not a stand-in for the refine itself (tested in tests/core).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from PIL import Image

from tests.ui.gallery_support import pretty_image
from zit_desktop.core.events import (
    Cancelled,
    CancelToken,
    EventCallback,
    Finished,
    ImageResult,
    ImageSaved,
    JobStarted,
    Preview,
    Result,
    Step,
)
from zit_desktop.core.metadata.write import png_text_chunks, write_png_atomic
from zit_desktop.core.request import UPSCALE, GenerationRequest


class StageEngine:
    def __init__(self, outputs: Path, steps: int = 2, step_delay: float = 0.0) -> None:
        self.outputs = outputs
        self.steps = steps
        self.step_delay = step_delay
        self.calls: list[GenerationRequest] = []

    def update_settings(self, settings: Any) -> None:
        self.settings = settings

    def _picture(self, single: GenerationRequest) -> Image.Image:
        step = single.finalize
        if step is None:
            return pretty_image(single.seed, 64).resize((single.width, single.height), Image.Resampling.BICUBIC)
        with Image.open(step.source) as src:
            source = src.convert("RGB")
        if step.method == UPSCALE:
            size = (source.width * step.scale, source.height * step.scale)
        else:
            size = (single.width, single.height)
        return source.resize(size, Image.Resampling.LANCZOS)

    def run(self, request: GenerationRequest, on_event: EventCallback, cancel: CancelToken,
            job_id: str = "stage") -> Result:
        self.calls.append(request)
        req = request.resolved()
        images: list[ImageResult] = []
        for index in range(req.count):
            single = req.single(index)
            on_event(JobStarted(job_id, index, req.count, single.seed, "cpu"))
            t0 = time.perf_counter()
            for step in range(1, self.steps + 1):
                time.sleep(self.step_delay)
                on_event(Step(job_id, index, step, self.steps, time.perf_counter() - t0, 0.0))
                if cancel.cancelled:
                    result: Result = Cancelled(job_id, tuple(images))
                    on_event(result)
                    return result
                on_event(Preview(job_id, index, step, 8, 8, bytes([40 * step % 256, 90, 160]) * 64))
            picture = self._picture(single)
            kind = single.finalize.method if single.finalize else "t2i"
            path = self.outputs / f"{kind}-{single.seed}-{len(self.calls)}-{index}.png"
            info = {"strategy": "cpu", "oom_retries": 0}
            write_png_atomic(picture, path, png_text_chunks(single, {"app": "zit-desktop", "test": True}, info))
            image = ImageResult(index, single.seed, str(path), picture.width, picture.height, {"total": 0.01},
                                "cpu", 0, None, single.to_dict(), {})
            images.append(image)
            on_event(ImageSaved(job_id, image, picture))
        result = Finished(job_id, tuple(images), {"total": 0.01})
        on_event(result)
        return result
