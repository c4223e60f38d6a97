"""The upscale-only job: ``GenerationRequest.finalize.method == "upscale"``, no diffusion at all.

What :meth:`Engine.run` does for such a request (it never loads the diffusion pipeline):

1. check what the upscale needs (not the text-to-image ``validate``: the output may be larger than
   a generation): the source image exists and reads, the scale is 2 or 4, the output is at most
   8192 px a side. Bad input is ``Failed(kind="bad-input")`` with a message that says what to do;
2. a catalogue upscaler that is not on disk yet is **downloaded on first use** into
   ``<data>/models/upscalers`` (``Loading("download", …)`` events carry the progress; the cancel
   token stops it and keeps the partial file, which the next run continues). ``zit-desktop upscale
   --download`` fetches it ahead of time;
3. ``JobStarted``, then one ``Step`` per tile (``step``/``steps`` count tiles over all passes) and a
   ``Preview`` of the output so far at most every half second; cancel is checked between tiles;
4. the picture is saved through the engine's save path (PNG metadata: the request with the output
   size and its ``finalize``, and ``info["upscale"]``: upscaler, scale, passes, device, precision,
   tile, overlap, grid), then ``ImageSaved`` and ``Finished``. ``run_and_record`` records the row
   with the ``parent_id`` its caller passes (the source's row).

The loaded upscaler stays cached on the engine between jobs.
"""

from __future__ import annotations

import platform
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from PIL import Image

from zit_desktop import __version__
from zit_desktop.core.engine.upscale import UpscaleCancelled, Upscaler, upscale_by
from zit_desktop.core.errors import AppError, ErrorKind
from zit_desktop.core.events import (
    Cancelled,
    CancelToken,
    EventCallback,
    Failed,
    Finished,
    ImageResult,
    ImageSaved,
    JobStarted,
    Loading,
    Preview,
    Result,
    Step,
)
from zit_desktop.core.jobs import internal_failure
from zit_desktop.core.models import upscalers as catalogue
from zit_desktop.core.models.download import DownloadProgress
from zit_desktop.core.request import RANDOM_SEED, GenerationRequest, RequestError

if TYPE_CHECKING:
    from zit_desktop.core.engine.runner import Engine

UPSCALE_SCALES = (2, 4)
MAX_UPSCALE_SIDE = 8192
TILE, OVERLAP = 512, 32
PREVIEW_SIDE = 512
PREVIEW_EVERY_S = 0.5


def read_source(path: str) -> Image.Image:
    """The source picture, decoded; RequestError (with what to do) when it is missing or unreadable."""
    try:
        with Image.open(path) as im:
            im.load()
            return im.convert("RGBA" if im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info else "RGB")
    except FileNotFoundError:
        raise RequestError(f"The image to upscale, {path}, does not exist. Check the path.", "finalize") from None
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise RequestError(
            f"{path} cannot be read as an image ({exc}). Choose a PNG, JPEG or WebP file.", "finalize"
        ) from None


def check_upscale(request: GenerationRequest, source: Image.Image) -> tuple[int, int]:
    """The output size; RequestError when the scale or the size is not possible."""
    fin = request.finalize
    assert fin is not None
    if fin.scale not in UPSCALE_SCALES:
        raise RequestError(f"The scale must be 2 or 4, not {fin.scale}.", "scale")
    width, height = source.width * fin.scale, source.height * fin.scale
    if max(width, height) > MAX_UPSCALE_SIDE:
        raise RequestError(
            f"×{fin.scale} of a {source.width}×{source.height} image would be {width}×{height}; the largest "
            f"output is {MAX_UPSCALE_SIDE} px a side. Choose ×2, or upscale a smaller image.",
            "scale",
        )
    return width, height


def ensure_upscaler_file(engine: Engine, spec: str, emit: EventCallback, cancel: CancelToken) -> bool:
    """Download a catalogue upscaler that is not on disk yet (progress as ``Loading("download")``).
    False when the cancel token stopped it. Files and "lanczos" need nothing."""
    entry = catalogue.find(spec)
    if entry is None or catalogue.is_downloaded(engine.paths, entry):
        return True
    emit(Loading("download", f"Downloading the upscaler {entry.id} ({entry.size_text}), once", {"upscaler": entry.id}))
    last = [0.0]

    def progress(p: DownloadProgress) -> None:
        now = time.monotonic()
        if now - last[0] >= 0.25 or p.done >= p.total:
            last[0] = now
            emit(Loading(
                "download", f"Downloading the upscaler {entry.id}: {p.done / 1e6:.1f} of {p.total / 1e6:.1f} MB",
                {"upscaler": entry.id, "done": p.done, "total": p.total, "speed": p.speed, "eta": p.eta},
            ))  # fmt: skip

    return catalogue.download(engine.paths, entry, progress, cancel)


def run_upscale(
    engine: Engine, request: GenerationRequest, emit: EventCallback, cancel: CancelToken, job_id: str
) -> Result:
    """The whole job (see the module docstring); returns the terminal event without emitting it."""
    try:
        return _run(engine, request, emit, cancel, job_id)
    except (UpscaleCancelled, _Stopped):
        return Cancelled(job_id)
    except RequestError as exc:
        return Failed(job_id, ErrorKind.BAD_INPUT.value, str(exc))
    except AppError as exc:
        return Failed(job_id, exc.kind.value, exc.message, exc.detail)
    except Exception:  # a bug: a failure with the traceback, the worker lives on
        return internal_failure(job_id, "while upscaling")
    finally:
        engine.free_memory()


class _Stopped(Exception):
    """The cancel token stopped the download."""


def _run(engine: Engine, request: GenerationRequest, emit: EventCallback, cancel: CancelToken, job_id: str) -> Result:
    fin = request.finalize
    assert fin is not None
    t0 = time.perf_counter()
    source = read_source(fin.source)
    width, height = check_upscale(request, source)
    if not ensure_upscaler_file(engine, fin.upscaler, emit, cancel):
        raise _Stopped
    if cancel.cancelled:
        return Cancelled(job_id)
    emit(Loading("upscaler", f"Loading the upscaler {fin.upscaler}", {"upscaler": fin.upscaler}))
    upscaler = engine.upscalers.get(fin.upscaler, engine.paths, fin.scale)
    load_s = time.perf_counter() - t0
    seed = request.seed if request.seed != RANDOM_SEED else 0  # an upscale has no seed of its own
    emit(JobStarted(job_id, 0, 1, seed, "upscale"))
    cuda = torch.cuda.is_available()
    if cuda:
        engine.free_memory()
        torch.cuda.reset_peak_memory_stats()
    t1 = time.perf_counter()
    picture, passes = upscale_by(
        upscaler, source, fin.scale, tile=TILE, overlap=OVERLAP, cancel=cancel,
        on_progress=_steps(job_id, emit, t1), on_partial=_previews(job_id, emit, upscaler),
    )  # fmt: skip
    upscale_s = time.perf_counter() - t1
    if cancel.cancelled:
        return Cancelled(job_id)
    described = {**upscaler.describe(), "scale": fin.scale, "model_scale": upscaler.scale, "passes": passes}
    strategy = f"upscale-{described.get('device', 'cpu')}"
    peak = int(torch.cuda.max_memory_reserved()) if cuda and described.get("device") == "cuda" else None
    peak_ram = engine._rss.take_peak()
    single = replace(request, width=width, height=height, preset=None, count=1, seed=seed)
    environment = _environment(strategy, described)
    info = {"strategy": strategy, "oom_retries": 0, "peak_vram_bytes": peak, "peak_ram_bytes": peak_ram,
            "upscale": described}  # fmt: skip
    t2 = time.perf_counter()
    path = engine.save(picture, single, environment, info)
    timings = {"load": load_s, "upscale": upscale_s, "save": time.perf_counter() - t2, "total": time.perf_counter() - t0}
    result = ImageResult(
        index=0, seed=seed, path=str(path), width=width, height=height,
        timings={k: round(v, 4) for k, v in timings.items()}, strategy=strategy, oom_retries=0,
        peak_vram_bytes=peak, request=single.to_dict(), environment=environment, peak_ram_bytes=peak_ram,
    )  # fmt: skip
    emit(ImageSaved(job_id, result, picture))
    return Finished(job_id, (result,), {"total": result.timings["total"], "load": result.timings["load"]})


def _steps(job_id: str, emit: EventCallback, start: float) -> Any:
    def on_progress(done: int, total: int) -> None:
        elapsed = time.perf_counter() - start
        emit(Step(job_id, 0, done, total, elapsed, elapsed / done * (total - done)))

    return on_progress


def _previews(job_id: str, emit: EventCallback, upscaler: Upscaler) -> Any:
    last = [time.monotonic()]
    count = [0]

    def on_partial(pixels: np.ndarray) -> None:
        count[0] += 1
        now = time.monotonic()
        if now - last[0] < PREVIEW_EVERY_S:
            return
        last[0] = now
        step = max(1, -(-max(pixels.shape[:2]) // PREVIEW_SIDE))  # a strided view: no copy of the whole
        small = np.ascontiguousarray(pixels[::step, ::step])
        emit(Preview(job_id, 0, count[0], small.shape[1], small.shape[0], small.tobytes()))

    return on_partial


def _environment(strategy: str, described: dict[str, Any]) -> dict[str, Any]:
    import spandrel

    env: dict[str, Any] = {
        "app": __version__, "torch": torch.__version__, "spandrel": spandrel.__version__,
        "python": platform.python_version(), "os": platform.platform(terse=True),
        "device": described.get("device", "cpu"), "dtype": described.get("dtype", "float32"), "strategy": strategy,
    }  # fmt: skip
    if env["device"] == "cuda":
        env["gpu"] = torch.cuda.get_device_name()
    return env
