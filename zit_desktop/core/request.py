"""The generation request: everything that affects the image, frozen and JSON-serialisable.

What the history stores and what "reuse" restores. Validation lives here too, so the CLI, the
window and the engine all give the same messages.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from zit_desktop.core.sizes import DEFAULT_GUIDANCE, DEFAULT_MODEL, DEFAULT_STEPS, get_preset

MIN_SIDE, MAX_SIDE, SIDE_MULTIPLE = 256, 2048, 16
MIN_STEPS, MAX_STEPS = 1, 100
MIN_GUIDANCE, MAX_GUIDANCE = 0.0, 20.0
MAX_SEED = 2**32 - 1
RANDOM_SEED = -1
MIN_COUNT, MAX_COUNT = 1, 16


class RequestError(ValueError):
    """Bad input. ``str(err)`` is a message for the user that says what to do."""

    def __init__(self, message: str, field_name: str | None = None) -> None:
        super().__init__(message)
        self.field_name = field_name


REFINE, UPSCALE = "refine", "upscale"
FINALIZE_METHODS = (REFINE, UPSCALE)
LANCZOS = "lanczos"
DEFAULT_CHANGE = 0.35
UPSCALE_SCALES = (2, 4)
MAX_REFINE_SIDE = 4096  # beyond MAX_SIDE a refine runs in tiles (the transformer denoises at most MAX_SIDE)
MAX_UPSCALE_SIDE = 8192
MIN_TILE = 256


@dataclass(frozen=True)
class Finalize:
    """The second stage of two-stage generation: take an existing image to a larger size.

    ``refine``: upscale ``source`` to the request's width×height (Lanczos or an SR model), then run
    image-to-image there with the request's seed, prompt and steps; ``change`` (0..1) is how much may
    change, which the engine maps to its sigmas. ``upscale``: the upscaler only, no diffusion; the
    target is the source size × ``scale``. The new image's history row is a child of ``source_id``.
    """

    source: str  # path of the source image (a PNG, usually one of ours)
    method: str = REFINE  # one of FINALIZE_METHODS
    source_id: int | None = None  # the history row of the source, when it has one (the parent)
    change: float = DEFAULT_CHANGE  # refine only: 0 keeps the picture, 1 repaints it
    upscaler: str = LANCZOS  # "lanczos", an upscaler catalogue id, or the path of a model file
    scale: int = 2  # upscale only: 2 or 4
    # refine only: None lets the planner choose; 0 denoises the whole image at once; N > 0 denoises
    # overlapping N-px tiles. The engine stores its choice, so a rerun gives the same pixels.
    tile: int | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finalize:
        known = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in known}
        if "source" not in kwargs:
            raise RequestError("The stored finalize step has no source image.", "finalize")
        return cls(**kwargs)


@dataclass(frozen=True)
class GenerationRequest:
    prompt: str
    negative_prompt: str = ""
    width: int = 768
    height: int = 768
    steps: int = DEFAULT_STEPS
    guidance: float = DEFAULT_GUIDANCE
    seed: int = RANDOM_SEED
    count: int = 1
    model: str = DEFAULT_MODEL  # pipeline folder or Hub id (text encoder, VAE, tokenizer, scheduler)
    preset: str | None = "768x768"
    variant: str = "bf16"  # the catalogue id (core.models.catalogue) or "custom" for the user's own files
    transformer: str = ""  # a single-file transformer (.gguf / .safetensors) used instead of model's own
    finalize: Finalize | None = None  # set: refine or upscale an existing image instead of text-to-image
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    # ---- serialisation -------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GenerationRequest:
        known = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in known}
        if "prompt" not in kwargs:
            raise RequestError("The stored request has no prompt.", "prompt")
        if isinstance(kwargs.get("finalize"), dict):
            kwargs["finalize"] = Finalize.from_dict(kwargs["finalize"])
        return cls(**kwargs)

    @classmethod
    def from_json(cls, text: str) -> GenerationRequest:
        return cls.from_dict(json.loads(text))

    # ---- derived ---------------------------------------------------------------------------
    def with_preset(self, name: str) -> GenerationRequest:
        p = get_preset(name)
        return replace(self, width=p.width, height=p.height, preset=p.name)

    def resolved(self) -> GenerationRequest:
        """The same request with a random seed (-1) replaced by a concrete one."""
        if self.seed != RANDOM_SEED:
            return self
        return replace(self, seed=secrets.randbelow(MAX_SEED - MAX_COUNT))

    def seeds(self) -> list[int]:
        """Seeds of the images of this request: seed, seed+1, ... (wrapping at 2^32)."""
        if self.seed == RANDOM_SEED:
            raise RequestError("Resolve the random seed before asking for seeds.", "seed")
        return [(self.seed + i) % (MAX_SEED + 1) for i in range(self.count)]

    def single(self, index: int) -> GenerationRequest:
        """The one-image request for image ``index`` of this batch."""
        return replace(self, seed=self.seeds()[index], count=1)

    @property
    def uses_cfg(self) -> bool:
        return self.guidance > 0


def nearest_valid_side(value: int) -> int:
    v = int(round(value / SIDE_MULTIPLE)) * SIDE_MULTIPLE
    return max(MIN_SIDE, min(MAX_SIDE, v))


def validate(req: GenerationRequest) -> list[str]:
    """Raise :class:`RequestError` for bad input; return warnings (strings) for dubious input."""
    upscale_only = req.finalize is not None and req.finalize.method == UPSCALE
    if not upscale_only and (not isinstance(req.prompt, str) or not req.prompt.strip()):
        raise RequestError("The prompt is empty. Describe the image you want, e.g. “一只橘色的猫”.", "prompt")
    warnings: list[str] = []
    if req.finalize is not None:
        warnings += validate_finalize(req)
    else:
        _check_sides(req, MAX_SIDE)
    if not isinstance(req.steps, int) or not MIN_STEPS <= req.steps <= MAX_STEPS:
        raise RequestError(
            f"Steps must be between {MIN_STEPS} and {MAX_STEPS} (Z-Image-Turbo is made for {DEFAULT_STEPS}).",
            "steps",
        )
    if not isinstance(req.guidance, (int, float)) or not MIN_GUIDANCE <= float(req.guidance) <= MAX_GUIDANCE:
        raise RequestError(
            f"Guidance must be between {MIN_GUIDANCE:g} and {MAX_GUIDANCE:g} (Z-Image-Turbo is made for 0).",
            "guidance",
        )
    if not isinstance(req.seed, int) or not (req.seed == RANDOM_SEED or 0 <= req.seed <= MAX_SEED):
        raise RequestError(f"The seed must be -1 (random) or a whole number from 0 to {MAX_SEED}.", "seed")
    if not isinstance(req.count, int) or not MIN_COUNT <= req.count <= MAX_COUNT:
        raise RequestError(f"Count must be between {MIN_COUNT} and {MAX_COUNT} images.", "count")
    if not isinstance(req.model, str) or not req.model.strip():
        raise RequestError("No model is set. Choose the Z-Image-Turbo folder or Hub id.", "model")
    if req.preset is not None:
        try:
            preset = get_preset(req.preset)
        except ValueError as exc:
            raise RequestError(str(exc), "preset") from None
        if (preset.width, preset.height) != (req.width, req.height):
            raise RequestError(
                f"The size {req.width}×{req.height} does not match preset {req.preset} "
                f"({preset.width}×{preset.height}).",
                "preset",
            )
    if req.negative_prompt.strip() and not req.uses_cfg:
        warnings.append(
            "The negative prompt has no effect while guidance is 0 (Turbo's setting). "
            "Raise guidance above 0 to use it; that doubles the work per step."
        )
    return warnings


def _check_sides(req: GenerationRequest, max_side: int) -> None:
    for name in ("width", "height"):
        value = getattr(req, name)
        if not isinstance(value, int) or isinstance(value, bool):
            raise RequestError(f"The {name} must be a whole number of pixels.", name)
        if value % SIDE_MULTIPLE or not MIN_SIDE <= value <= max_side:
            suggestion = max(MIN_SIDE, min(max_side, int(round(value / SIDE_MULTIPLE)) * SIDE_MULTIPLE))
            raise RequestError(
                f"The {name} {value} is not allowed: it must be a multiple of {SIDE_MULTIPLE} between "
                f"{MIN_SIDE} and {max_side}. Try {suggestion}.",
                name,
            )


def source_size(path: str) -> tuple[int, int]:
    """The pixel size of the source image (reads the header only); RequestError when unreadable."""
    from PIL import Image, UnidentifiedImageError

    name = os.path.basename(path) or path
    if not os.path.isfile(path):
        what = "does not exist" if not os.path.exists(path) else "is not a file"
        raise RequestError(f"The source image {path} {what}. Choose an image that is still on the disk.", "finalize")
    try:
        with Image.open(path) as im:
            return int(im.width), int(im.height)
    except (UnidentifiedImageError, OSError, ValueError):
        raise RequestError(
            f"{name} is not an image that can be read. Choose a PNG or JPEG picture to finalize.", "finalize"
        ) from None


def validate_finalize(req: GenerationRequest) -> list[str]:
    """The checks of a refine or upscale request (its width×height is the target size); raises
    :class:`RequestError`, returns warnings. Reads the source image's header."""
    f = req.finalize
    assert f is not None
    if f.method not in FINALIZE_METHODS:
        raise RequestError(f"Unknown finalize method {f.method!r}: use refine or upscale.", "finalize")
    if not isinstance(f.upscaler, str) or not f.upscaler.strip():
        raise RequestError("No upscaler is set. Use lanczos, a downloaded upscaler or a model file.", "upscaler")
    sw, sh = source_size(f.source)
    warnings: list[str] = []
    if f.method == UPSCALE:
        if f.scale not in UPSCALE_SCALES or isinstance(f.scale, bool):
            raise RequestError(f"The upscale factor must be 2 or 4, not {f.scale}.", "scale")
        if max(sw, sh) * f.scale > MAX_UPSCALE_SIDE:
            raise RequestError(
                f"×{f.scale} of {sw}×{sh} would be {sw * f.scale}×{sh * f.scale}, larger than {MAX_UPSCALE_SIDE} px "
                f"per side. Choose ×2 or a smaller image.",
                "scale",
            )
        return warnings
    _check_sides(req, MAX_REFINE_SIDE)
    change = f.change
    if isinstance(change, bool) or not isinstance(change, (int, float)) or not 0.0 <= float(change) <= 1.0:
        raise RequestError(
            f"How much may change must be between 0 (keep the picture) and 1 (repaint it), not {change!r}; "
            f"{DEFAULT_CHANGE:g} is a good start.",
            "change",
        )
    tile = f.tile
    if tile is not None and (
        isinstance(tile, bool) or not isinstance(tile, int)
        or (tile != 0 and (tile % SIDE_MULTIPLE or not MIN_TILE <= tile <= MAX_SIDE))
    ):
        raise RequestError(
            f"The refine tile size {tile!r} is not allowed: leave it empty (the planner decides), 0 for the "
            f"whole image, or a multiple of {SIDE_MULTIPLE} between {MIN_TILE} and {MAX_SIDE}.",
            "tile",
        )
    if tile == 0 and max(req.width, req.height) > MAX_SIDE:
        raise RequestError(
            f"{req.width}×{req.height} is too large to refine in one piece (at most {MAX_SIDE} px per side): "
            "let the planner choose tiles.",
            "tile",
        )
    if (req.width, req.height) == (sw, sh) and f.change == 0:
        warnings.append("Nothing changes: the target is the source's size and nothing may change.")
    if abs(req.width / req.height - sw / sh) > 0.01 * (sw / sh):
        warnings.append(
            f"The target {req.width}×{req.height} has another shape than the source ({sw}×{sh}): the picture "
            "is stretched to fit. Choose a size with the source's proportions to avoid that."
        )
    if req.width < sw or req.height < sh:
        warnings.append(f"The target {req.width}×{req.height} is smaller than the source ({sw}×{sh}).")
    return warnings


def prompt_token_warning(token_count: int, limit: int) -> str | None:
    if token_count > limit:
        return (
            f"The prompt is {token_count} tokens long; only the first {limit} are used. "
            "Shorten it to keep the end of it."
        )
    return None
