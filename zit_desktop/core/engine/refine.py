"""Refine: upscale a chosen image to the target size, then image-to-image there (whole or in tiles).

Steps of one refined image (the runner's ``_attempt`` calls :func:`render` between its encode and
save phases, so progress, preview, cancel, the OOM ladder and the planner are text-to-image's):

1. **Upscale** the source to the exact target (a multiple of 16): Lanczos, or an SR model through
   ``core.engine.upscale.load_upscaler`` when ``finalize.upscaler`` names one (then Lanczos to the
   exact size when the model's factor overshoots).
2. **Image-to-image** with ``ZImageImg2ImgPipeline`` built from the loaded pipeline's own components
   (:func:`img2img_pipeline`: no second copy in memory, and never ``from_pipe``, which casts shared
   modules to float32 in place, diffusers#12754). Offload hooks live on the modules (accelerate's
   ``_hf_hook``, diffusers' group-offload hooks), so the new pipeline runs under the same strategy;
   decoding goes through the text-to-image pipeline, whose ``maybe_free_model_hooks`` re-arms model
   offload. The prompt embeddings are the cached ones of the first stage (identical pixels).
3. **Decode** as text-to-image does; a tiled refine blends the decoded tiles (:meth:`TileGrid.weights`).

"How much may change" → sigmas (:func:`refine_sigmas`), exactly: ``change`` is the noise level the
first step starts from. The latent that enters the first step is ``(1 - change)·image + change·noise``
(flow matching), so 0 keeps the picture and 1 is text-to-image from pure noise. The pipeline runs
with ``strength=1.0`` and custom sigmas, which the scheduler shifts (``σ' = s·σ / (1 + (s-1)·σ)``,
s = 3 for Z-Image-Turbo), so we pass the inverse-shifted values: ``u0 = c / (s - (s-1)·c)``, then
``n = ceil(steps · change)`` steps evenly spaced ``linspace(u0, u0/n, n)`` (the text-to-image
schedule ``linspace(1, 1/steps, steps)`` squeezed under ``u0``), and the scheduler appends 0. For the
default 0.35 with 8 steps: 3 steps at σ' = 0.35, 0.25, 0.14. ``start_sigma`` in the metadata is read
back from the scheduler after it applied its shift, not computed here. (Diffusers' own ``strength``
keeps the shifted default schedule: strength 0.3 starts at σ' ≈ 0.64.)

Tiled refine (targets the card cannot denoise whole, or larger than ``MAX_SIDE``): overlapping tiles
(:class:`TileGrid`), each encoded, denoised with the same seed and the same prompt embeddings, and
decoded alone; in the overlaps the tiles are cross-faded with linear ramps normalised to sum to 1.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
from PIL import Image

from zit_desktop.core.engine.lowvram import check_latents
from zit_desktop.core.errors import AppError, ErrorKind
from zit_desktop.core.events import CancelToken, EventCallback, Notice
from zit_desktop.core.memory.refine import tile_overlap
from zit_desktop.core.metadata.write import finalize_info
from zit_desktop.core.request import LANCZOS, REFINE, GenerationRequest

log = logging.getLogger(__name__)

SR_TILE, SR_OVERLAP = 512, 32  # tiles of an SR upscaler's own pass (the upscaler module blends them)


# ---- the schedule -------------------------------------------------------------------------------
def unshift(sigma: float, shift: float) -> float:
    """The unshifted sigma the scheduler turns into ``sigma`` (inverse of ``s·u / (1 + (s-1)·u)``)."""
    return sigma / (shift - (shift - 1.0) * sigma)


def refine_steps(change: float, steps: int) -> int:
    """Denoising steps of a refine: the share ``change`` of the text-to-image steps, at least 1 (0: none)."""
    if change <= 0:
        return 0
    return max(1, math.ceil(steps * change - 1e-9))


def refine_sigmas(change: float, steps: int, shift: float) -> list[float]:
    """Unshifted sigmas to pass with ``strength=1.0`` so the first step starts at noise level ``change``."""
    n = refine_steps(change, steps)
    if n == 0:
        return []
    u0 = unshift(min(1.0, float(change)), shift)
    return [float(u) for u in np.linspace(u0, u0 / n, n)]


def shifted_sigmas(scheduler: Any, sigmas: list[float], device: Any = "cpu") -> list[float]:
    """The sigmas ``scheduler`` really steps through for ``sigmas`` (a copy is set; ``scheduler`` is not
    touched). The first is the noise level the refine starts from."""
    if not sigmas:
        return []
    copy = type(scheduler).from_config(scheduler.config)
    kwargs: dict[str, Any] = {"mu": 0.0} if getattr(copy.config, "use_dynamic_shifting", False) else {}
    copy.set_timesteps(sigmas=sigmas, device=device, **kwargs)
    return [round(float(s), 6) for s in copy.sigmas[:-1]]


# ---- the pipeline ---------------------------------------------------------------------------------
def img2img_pipeline(pipe: Any) -> Any:
    """A ``ZImageImg2ImgPipeline`` over ``pipe``'s own components (the same module objects, hooks and
    dtypes), made once per loaded pipeline. ``from_pipe(pipe)`` is not used: it casts the shared
    modules to float32 in place (diffusers#12754)."""
    cached = getattr(pipe, "_zit_img2img", None)
    if cached is not None:
        return cached
    from diffusers import ZImageImg2ImgPipeline

    i2i = ZImageImg2ImgPipeline(**pipe.components)
    i2i.set_progress_bar_config(disable=True)  # type: ignore[attr-defined]
    pipe._zit_img2img = i2i
    return i2i


# ---- the source -----------------------------------------------------------------------------------
def load_source(path: str) -> Image.Image:
    try:
        with Image.open(path) as im:
            return im.convert("RGB")
    except FileNotFoundError:
        raise AppError(
            ErrorKind.BAD_INPUT,
            f"The source image {path} is gone. Choose an image that is still on the disk.",
        ) from None
    except (OSError, ValueError) as exc:
        raise AppError(
            ErrorKind.BAD_INPUT, f"The source image {path} can't be read. Choose another picture.", repr(exc)
        ) from None


def upscale_to(
    engine: Any,
    image: Image.Image,
    width: int,
    height: int,
    upscaler: str,
    emit: EventCallback,
    cancel: CancelToken,
    stop: Callable[[], None],
) -> tuple[Image.Image, dict[str, Any]]:
    """``image`` at exactly ``width`` x ``height`` and what ran: Lanczos, or first the SR model
    ``upscaler`` (a catalogue id, downloaded on first use, or a model file; the engine's cached one)
    by ×2 or ×4, whichever reaches the target, then Lanczos to the exact size."""
    ran: dict[str, Any] = {"upscaler": upscaler}
    if upscaler != LANCZOS and (image.width < width or image.height < height):
        from zit_desktop.core.engine.upscale import UpscaleCancelled, upscale_by
        from zit_desktop.core.engine.upscale_job import ensure_upscaler_file

        factor = 2 if max(width / image.width, height / image.height) <= 2 else 4
        if not ensure_upscaler_file(engine, upscaler, emit, cancel):
            stop()
        model = engine.upscalers.get(upscaler, engine.paths, factor)
        try:
            image, passes = upscale_by(model, image, factor, tile=SR_TILE, overlap=SR_OVERLAP, cancel=cancel)
        except UpscaleCancelled:
            stop()
            raise
        ran.update(model.describe(), scale=factor, model_scale=model.scale, passes=passes)
    if image.size != (width, height):
        image = image.resize((width, height), Image.Resampling.LANCZOS)
    return image, ran


# ---- tiles ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Tile:
    x: int
    y: int
    width: int
    height: int

    @property
    def box(self) -> tuple[int, int, int, int]:
        return self.x, self.y, self.x + self.width, self.y + self.height


def tile_spans(length: int, tile: int, overlap: int, grid: int = 16) -> list[int]:
    """Start offsets of tiles of ``tile`` px covering ``length`` px, neighbours sharing at least
    ``overlap`` px, spread evenly on the ``grid``. One tile when ``length <= tile``."""
    if length <= tile:
        return [0]
    last = length - tile  # on the grid: both are multiples of it
    n = max(2, math.ceil((length - overlap) / (tile - overlap)))
    while True:
        starts = sorted({round(i * last / (n - 1) / grid) * grid for i in range(n)})
        if all(b - a <= tile - overlap for a, b in zip(starts, starts[1:], strict=False)):
            return starts
        n += 1  # grid rounding widened a gap past the overlap: one tile more


@dataclass(frozen=True)
class TileGrid:
    """Tiles of ``tile_w`` x ``tile_h`` at the column starts ``xs`` and row starts ``ys``."""

    width: int
    height: int
    tile_w: int
    tile_h: int
    xs: tuple[int, ...]
    ys: tuple[int, ...]

    @classmethod
    def of(cls, width: int, height: int, tile: int, overlap: int) -> TileGrid:
        tw, th = min(tile, width), min(tile, height)
        return cls(
            width,
            height,
            tw,
            th,
            tuple(tile_spans(width, tile, overlap)),
            tuple(tile_spans(height, tile, overlap)),
        )

    @property
    def tiles(self) -> list[Tile]:
        """Row-major."""
        return [Tile(x, y, self.tile_w, self.tile_h) for y in self.ys for x in self.xs]

    def weights(self) -> list[np.ndarray]:
        """Per tile (row-major), its (h, w) blend weights: the outer product of the two axes' weights,
        each of which sums to 1 along its axis, so over the image the maps sum to 1."""
        wy = axis_weights(self.ys, self.tile_h, self.height)
        wx = axis_weights(self.xs, self.tile_w, self.width)
        return [np.outer(a, b) for a in wy for b in wx]

    @property
    def min_overlap(self) -> int:
        """The narrowest overlap between neighbours (0 for one tile)."""
        gaps = [
            size - (b - a)
            for starts, size in ((self.xs, self.tile_w), (self.ys, self.tile_h))
            for a, b in zip(starts, starts[1:], strict=False)
        ]
        return min(gaps, default=0)

    @property
    def text(self) -> str:
        return f"{len(self.xs)}x{len(self.ys)} tiles of {self.tile_w}x{self.tile_h} px, overlap ≥ {self.min_overlap} px"


def axis_weights(starts: tuple[int, ...] | list[int], size: int, length: int) -> list[np.ndarray]:
    """1-D blend weights of tiles of ``size`` px at ``starts``: a linear cross-fade over each actual
    overlap with a neighbour (the rising and the falling ramp add up to 1 at every pixel centre), 1
    elsewhere, then normalised so they sum to exactly 1 where more than two tiles meet."""
    pos = np.arange(size, dtype=np.float64) + 0.5
    raw = []
    for k, s in enumerate(starts):
        w = np.ones(size, dtype=np.float64)
        if k > 0:
            w = np.minimum(w, pos / (starts[k - 1] + size - s))
        if k + 1 < len(starts):
            w = np.minimum(w, (size - pos) / (s + size - starts[k + 1]))
        raw.append(w)
    total = np.zeros(length, dtype=np.float64)
    for s, w in zip(starts, raw, strict=True):
        total[s : s + size] += w
    return [w / total[s : s + size] for s, w in zip(starts, raw, strict=True)]


# ---- planning -------------------------------------------------------------------------------------
def resolve_tile(engine: Any, req: GenerationRequest, job_id: str, emit: EventCallback) -> GenerationRequest:
    """``req`` with the planner's whole-or-tiled choice written into ``finalize.tile`` (kept when the
    request already says), so the saved request reproduces the same pixels."""
    f = req.finalize
    assert f is not None and f.method == REFINE
    if f.tile is not None:
        return req
    choice = engine.lowvram.refine_plan(req, engine._model_dir)
    log.info("refine %dx%d: %s", req.width, req.height, "; ".join(choice.reasons))
    if choice.tiled:
        emit(Notice(job_id, "refine-tiled", f"Refining in tiles: {'; '.join(choice.reasons)}.",
                    {"tile": choice.tile, "overlap": choice.overlap}))  # fmt: skip
    return replace(req, finalize=replace(f, tile=choice.tile))


# ---- one refined image ----------------------------------------------------------------------------
def render(
    engine: Any,
    pipe: Any,
    req: GenerationRequest,
    embeds: tuple[list[torch.Tensor], list[torch.Tensor]],
    index: int,
    job_id: str,
    emit: EventCallback,
    cancel: CancelToken,
    timings: dict[str, float],
    stop: Callable[[], None],
) -> tuple[Image.Image, dict[str, Any]]:
    """The refined picture of ``req`` (its finalize set, tile resolved) and the facts for its metadata.
    Sets ``engine._phase`` as it goes (named in out-of-memory notices). ``stop`` raises when cancelled."""
    f = req.finalize
    assert f is not None
    pos, neg = embeds
    t0 = time.perf_counter()
    engine._phase = "upscale"
    source = load_source(f.source)
    big, upscaled = upscale_to(engine, source, req.width, req.height, f.upscaler, emit, cancel, stop)
    timings["upscale"] = time.perf_counter() - t0
    stop()
    i2i = img2img_pipeline(pipe)
    sigmas = refine_sigmas(float(f.change), req.steps, float(i2i.scheduler.config.shift))
    really = shifted_sigmas(i2i.scheduler, sigmas)
    n = len(sigmas)
    tile = int(f.tile or 0)
    overlap = tile_overlap(tile) if tile else 0
    grid = TileGrid.of(req.width, req.height, tile or max(req.width, req.height), overlap)
    tiles = grid.tiles
    facts: dict[str, Any] = {
        "change": float(f.change),
        "steps": n,
        "sigmas": [round(s, 6) for s in sigmas],  # as passed (unshifted)
        "shifted_sigmas": really,  # as the scheduler steps through them
        "start_sigma": really[0] if really else 0.0,
        "upscaler": f.upscaler,
        "upscale": upscaled,  # what brought the source to the target (an SR model's device, tiles, passes)
        "tile": tile,
        "overlap": grid.min_overlap,
        "tiles": len(tiles),
    }
    if tile:
        facts["layout"] = grid.text
    if n == 0:  # nothing may change: the upscaled picture is the result
        return big, finalize_info(f, facts)
    timings["denoise"] = timings["decode"] = 0.0
    if not tile:
        image = _refine_one(engine, pipe, i2i, req, pos, neg, big, (req.width, req.height), sigmas, index, job_id,
                            emit, cancel, timings, (0, n, time.perf_counter()))  # fmt: skip
        return image, finalize_info(f, facts)
    acc = np.zeros((req.height, req.width, 3), dtype=np.float64)
    weights = grid.weights()
    began = time.perf_counter()
    for i, (t, w) in enumerate(zip(tiles, weights, strict=True)):
        stop()
        crop = big.crop(t.box)
        out = _refine_one(engine, pipe, i2i, req, pos, neg, crop, (t.width, t.height), sigmas, index, job_id, emit,
                          cancel, timings, (i * n, len(tiles) * n, began))  # fmt: skip
        acc[t.y : t.y + t.height, t.x : t.x + t.width] += w[..., None] * np.asarray(out, dtype=np.float64)
    image = Image.fromarray(np.clip(np.rint(acc), 0, 255).astype(np.uint8), "RGB")
    return image, finalize_info(f, facts)


def _refine_one(
    engine: Any,
    pipe: Any,
    i2i: Any,
    req: GenerationRequest,
    pos: list[torch.Tensor],
    neg: list[torch.Tensor],
    image: Image.Image,
    size: tuple[int, int],
    sigmas: list[float],
    index: int,
    job_id: str,
    emit: EventCallback,
    cancel: CancelToken,
    timings: dict[str, float],
    progress: tuple[int, int, float],
) -> Image.Image:
    """Image-to-image of one picture (the whole image or a tile) through the runner's phases."""
    t1 = time.perf_counter()
    engine._phase = "denoise"
    latents = engine.denoise(
        i2i, req, pos, neg, index, job_id, emit, cancel, size=size, progress=progress,
        image=image, strength=1.0, sigmas=sigmas,
    )  # fmt: skip
    check_latents(latents)
    t2 = time.perf_counter()
    timings["denoise"] += t2 - t1
    engine._phase = "decode"
    out: Image.Image = engine.decode(pipe, latents)
    timings["decode"] += time.perf_counter() - t2
    return out
