"""What the explore and finalize UI submits, built without widgets: the explore batch, the source of a
finalize step (its own request, from its history row or its PNG's metadata) and the finalize request.

No Qt here, so the rules are plain functions the tests can call; the widgets only collect choices.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from zit_desktop.core.history import HistoryRow
from zit_desktop.core.memory.advisor import MemoryAdvisor
from zit_desktop.core.memory.fits import PresetFit, Verdict
from zit_desktop.core.memory.peak_model import PlanOptions
from zit_desktop.core.memory.profile import ModelProfile
from zit_desktop.core.memory.vram import DeviceInfo
from zit_desktop.core.metadata.read import read_params, request_from_params
from zit_desktop.core.request import (
    DEFAULT_CHANGE,
    LANCZOS,
    MAX_REFINE_SIDE,
    REFINE,
    UPSCALE,
    Finalize,
    GenerationRequest,
    RequestError,
)
from zit_desktop.core.sizes import PRESETS, SizePreset, get_preset, preset_for_size

EXPLORE_DEFAULT, EXPLORE_MIN, EXPLORE_MAX = 4, 2, 9
EXPLORE_FALLBACK_PRESET = "512x512"
REALESR_GENERAL = "realesr-general-x4v3"  # the upscaler catalogue id the engine downloads on first use
DEFAULT_TARGET = "1024x1024"
DOUBLE = "x2"  # the target choice "twice the source's size"
SCALES = (2, 4)


# ---- explore ------------------------------------------------------------------------------------
def explore_preset(fits: Iterable[PresetFit]) -> SizePreset:
    """The smallest preset predicted to fit this card (any rung but "too big"); 512×512 when the
    planner cannot say (no GPU reading, unknown model sizes) or nothing fits."""
    known = [f for f in fits if f.verdict in (Verdict.FITS, Verdict.OFFLOAD)]
    if not known:
        return get_preset(EXPLORE_FALLBACK_PRESET)
    best = min(known, key=lambda f: (f.width * f.height, [p.name for p in PRESETS].index(f.preset)))
    return get_preset(best.preset)


def explore_request(base: GenerationRequest, preset: SizePreset, count: int) -> GenerationRequest:
    """A normal batch at ``preset``: ``count`` images with seeds seed, seed+1, … (a concrete seed, so
    the grid can name each cell's seed before it arrives)."""
    count = max(EXPLORE_MIN, min(EXPLORE_MAX, int(count)))
    return replace(base, count=count, finalize=None).with_preset(preset.name).resolved()


def grid_shape(count: int) -> tuple[int, int]:
    """(columns, rows) for ``count`` cells: 2×2 for 4, 3×3 for 9, 3×2 for 6."""
    cols = max(1, math.ceil(math.sqrt(count)))
    return cols, max(1, math.ceil(count / cols))


# ---- finalize -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class FinalizeSource:
    """The image to finalize: its file, its history row (None: not in the history) and the request
    that made it (concrete seed, one image)."""

    path: str
    row_id: int | None
    request: GenerationRequest
    width: int
    height: int

    @classmethod
    def from_row(cls, row: HistoryRow) -> FinalizeSource:
        return cls(row.path, row.id, row.request(), row.width, row.height)

    @classmethod
    def from_file(cls, path: str, row_id: int | None, base: GenerationRequest) -> FinalizeSource:
        """From the PNG's own metadata (ours, or another tool's: what it lacks comes from ``base``);
        raises :class:`~zit_desktop.core.metadata.read.ParamsError` with a message for the user."""
        params = read_params(path)
        request = replace(request_from_params(params, base), count=1)
        width, height = params.width or request.width, params.height or request.height
        return cls(str(path), row_id, request, int(width), int(height))

    @property
    def name(self) -> str:
        return Path(self.path).name


@dataclass(frozen=True)
class FinalizeChoice:
    """What the finalize panel collected."""

    method: str = REFINE
    target: str = DEFAULT_TARGET  # refine: a preset name or DOUBLE
    scale: int = 2  # upscale only
    upscaler: str = LANCZOS  # LANCZOS, REALESR_GENERAL or the path of the user's model file
    change: float = DEFAULT_CHANGE


def target_size(source: FinalizeSource, choice: FinalizeChoice) -> tuple[int, int]:
    """The size of the finished image."""
    if choice.method == UPSCALE:
        return source.width * choice.scale, source.height * choice.scale
    if choice.target == DOUBLE:
        return source.width * 2, source.height * 2
    p = get_preset(choice.target)
    return p.width, p.height


def finalize_request(source: FinalizeSource, choice: FinalizeChoice) -> GenerationRequest:
    """The source's own request (prompt, seed, steps, model, variant) with ``finalize`` set.

    Refine: width×height are the target. Upscale: they stay the source's (the engine multiplies by
    ``scale``). Raises :class:`RequestError` for a target the engine cannot make.
    """
    if choice.method not in (REFINE, UPSCALE):
        raise RequestError(f"Unknown finalize method {choice.method!r}.", "finalize")
    step = Finalize(
        source=source.path, method=choice.method, source_id=source.row_id,
        change=round(float(choice.change), 2), upscaler=choice.upscaler, scale=int(choice.scale),
    )  # fmt: skip
    base = replace(source.request, count=1, finalize=step)
    if choice.method == UPSCALE:
        return replace(base, width=source.width, height=source.height,
                       preset=preset_for_size(source.width, source.height))
    width, height = target_size(source, choice)
    if max(width, height) > MAX_REFINE_SIDE:
        raise RequestError(
            f"{width}×{height} is larger than {MAX_REFINE_SIDE} pixels a side, the most a refine can make. "
            "Choose a preset, or use “Upscale only” for larger images.", "width",
        )  # fmt: skip
    return replace(base, width=width, height=height, preset=preset_for_size(width, height))


@dataclass(frozen=True)
class RefineFit:
    """Whether a refine at a size is predicted to run on the whole image or in tiles."""

    tiled: bool
    predicted_peak_bytes: int  # of the largest call: the whole image, or one tile
    available_bytes: int
    tile: int = 0  # the tile side when tiled


def refine_fit(
    advisor: MemoryAdvisor,
    profile: ModelProfile | None,
    device: DeviceInfo | None,
    width: int,
    height: int,
    options: PlanOptions | None = None,
) -> RefineFit | None:
    """Whole or tiled, as the engine's refine planner will decide (VAE encode + denoise at the target
    size; tiles when no strategy fits the whole image). None when it cannot be known (the CPU, no GPU
    reading, unknown model sizes)."""
    if profile is None or device is None or not device.is_cuda:
        return None
    planned = advisor.refine_plan(profile, device, width, height, options)
    return RefineFit(planned.tiled, planned.plan.predicted_peak_bytes, planned.plan.available_bytes, planned.tile)
