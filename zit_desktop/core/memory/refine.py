"""Whole or tiled: how a refine (image-to-image at the target size) is planned. Pure, no torch.

A refine encodes the upscaled source with the VAE, denoises it at the target size and decodes it
(``PlanOptions.image_to_image`` adds the encode to the peak model). When no rung is predicted to
fit that whole, or the target is larger than the transformer denoises in one piece (``MAX_SIDE``),
the image is refined in overlapping tiles: each tile is encoded, denoised and decoded alone, so the
peak is a tile's. Tiles are :data:`TILE_SIDES` px (InvokeAI's Z-Image tiled upscale uses 1024-px
tiles with 128 px of overlap), the largest one that fits.

Contract: :func:`plan_refine` takes ``plan_at(width, height) -> Plan`` (the planner for one pipeline
call of that size, with image-to-image options) and returns a :class:`RefinePlan`: ``tile`` 0 for the
whole image, else the tile side; ``plan`` is the rung plan for one call (the whole image or one
tile). Whole is preferred whenever it fits: tiles cost overlap work and may show faint seams.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from zit_desktop.core.memory.plan import Plan
from zit_desktop.core.memory.rungs import Rung
from zit_desktop.core.request import MAX_SIDE, SIDE_MULTIPLE

TILE_SIDES = (1024, 768, 512)


def tile_overlap(tile: int) -> int:
    """Pixels two neighbouring tiles share: 1/8 of the tile (1024 -> 128), at least 64, on the 16-px grid."""
    return max(64, tile // 8 // SIDE_MULTIPLE * SIDE_MULTIPLE)


@dataclass(frozen=True)
class RefinePlan:
    tile: int  # 0: the whole image in one call; N: overlapping N-px tiles
    plan: Plan  # the rung plan of one pipeline call (the whole image, or one tile)
    reasons: tuple[str, ...]

    @property
    def tiled(self) -> bool:
        return self.tile > 0

    @property
    def overlap(self) -> int:
        return tile_overlap(self.tile) if self.tile else 0


def plan_refine(plan_at: Callable[[int, int], Plan], width: int, height: int) -> RefinePlan:
    """Whole when a rung fits the whole target (and it is at most ``MAX_SIDE`` per side), else the
    largest tile side that fits, else the smallest tile side on the leanest rung (on the CPU: whole)."""
    longest = max(width, height)
    whole: Plan | None = None
    if longest <= MAX_SIDE:
        whole = plan_at(width, height)
        if whole.fits and whole.ram_fits:
            return RefinePlan(0, whole, (f"the whole {width}×{height} image fits on '{whole.rung}'",))
        why = f"the whole {width}×{height} image is predicted not to fit on any memory strategy"
    else:
        why = f"{width}×{height} is larger than the {MAX_SIDE} px the model denoises in one piece"
    sides = [t for t in TILE_SIDES if t < longest] or [TILE_SIDES[-1]]
    last: RefinePlan | None = None
    for side in sides:
        p = plan_at(min(side, width), min(side, height))
        last = RefinePlan(
            side, p, (why, f"refined in {side}-px tiles with {tile_overlap(side)} px of overlap")
        )
        if p.fits and p.ram_fits:
            return last
    assert last is not None
    if whole is not None and whole.rung == Rung.CPU:
        # no GPU: the weights fill the RAM whatever the tile size, so tiles would only add seams
        return RefinePlan(0, whole, (why, "tiles do not fit either; refining the whole image"))
    return RefinePlan(
        last.tile, last.plan, (*last.reasons, "no tile size is predicted to fit; trying the smallest")
    )
