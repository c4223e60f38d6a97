"""What every reader returns: :class:`ImageParams`, the parameters read from one image file.

Qt-free, stdlib only. One shape for all sources (ours, A1111/Forge, ComfyUI, InvokeAI, Fooocus), so
the CLI, "drop a PNG" and the history see the same fields whoever wrote the file. A field the file
does not state is ``None``; :func:`zit_desktop.core.metadata.read.read_params` fills the size from
the PNG header and adds ``raw`` and ``file``.

The converters below are lenient on purpose: values come from other tools' text and JSON, where a
seed may be a string, a step count a float and a size ``"(896, 1152)"``. What can't be read exactly
becomes ``None``, never an exception and never a guess (``7.5`` steps is not 7).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Source(StrEnum):
    """The tool whose metadata the parameters came from (``zit-desktop params --json`` prints it)."""

    OURS = "zit-desktop"
    A1111 = "a1111"
    COMFYUI = "comfyui"
    INVOKEAI = "invokeai"
    FOOOCUS = "fooocus"


@dataclass(frozen=True)
class ImageParams:
    prompt: str
    negative_prompt: str
    seed: int | None
    width: int | None
    height: int | None
    steps: int | None
    guidance: float | None
    source: Source
    model: str | None = None
    request: dict[str, Any] | None = None  # ours: the full stored request
    finalize: dict[str, Any] | None = None  # a refined or upscaled image: see :func:`finalize_summary`
    raw: dict[str, str] = field(default_factory=dict)  # every text chunk of the file
    file: str = ""


def as_int(value: Any) -> int | None:
    """An int from an int, an integral float, or a string of either; else ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value == int(value):
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            number = as_float(value)
            return int(number) if number is not None and number == int(number) else None
    return None


def as_float(value: Any) -> float | None:
    """A finite float from a number or a numeric string; else ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        try:
            number = float(value)
        except OverflowError:  # an int JSON number too big for a float
            return None
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def as_str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def size_pair(text: Any) -> tuple[int | None, int | None]:
    """``"(1024, 1024)"``, ``"1024x768"``, ``"1024*768"`` or ``[1024, 768]`` -> (width, height)."""
    if isinstance(text, (list, tuple)) and len(text) == 2:
        return as_int(text[0]), as_int(text[1])
    if not isinstance(text, str):
        return None, None
    cleaned = text.strip().strip("()[]")
    for sep in (",", "x", "X", "*", "×"):
        if sep in cleaned:
            left, _, right = cleaned.partition(sep)
            return as_int(left), as_int(right.split()[0] if right.split() else right)
    return None, None


FINALIZE_KEYS = ("method", "source", "source_seed", "scale", "upscaler", "strength", "tiles")


def finalize_summary(lineage: dict[str, Any] | None) -> dict[str, Any] | None:
    """What a refined or upscaled image was made from, in one shape whoever wrote it: ``method``
    (``refine``/``upscale``), ``source`` (file name), ``source_seed``, ``scale`` (upscale),
    ``upscaler``, ``strength`` (refine's change) and ``tiles``; ``None`` when there is no method."""
    if not isinstance(lineage, dict) or lineage.get("method") not in ("refine", "upscale"):
        return None
    source = as_str(lineage.get("source"))
    tiles = lineage.get("layout") or lineage.get("tiles")
    if isinstance(tiles, int) and tiles <= 1:
        tiles = None  # the whole image in one piece
    summary = {
        "method": lineage["method"],
        "source": source.replace("\\", "/").rsplit("/", 1)[-1] or None,
        "source_seed": as_int(lineage.get("source_seed")),
        "scale": as_float(lineage.get("scale")) if lineage["method"] == "upscale" else None,
        "upscaler": as_str(lineage.get("upscaler")) or None,
        "strength": as_float(lineage.get("change")) if lineage["method"] == "refine" else None,
        "tiles": tiles if isinstance(tiles, (str, int)) and not isinstance(tiles, bool) else None,
    }
    scale = summary["scale"]
    if isinstance(scale, float) and scale == int(scale):
        summary["scale"] = int(scale)
    return summary
