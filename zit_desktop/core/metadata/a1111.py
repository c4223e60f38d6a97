"""The A1111/Forge ``parameters`` text, both ways (Qt-free, no torch).

The text civitai, A1111, Forge, Fooocus (in its "a1111" scheme) and most image viewers read::

    a cat on a windowsill                      <- prompt (any number of lines)
    Negative prompt: blurry                    <- optional, up to the settings line
    Steps: 8, Sampler: Euler, CFG scale: 0, Seed: 7, Size: 768x768, Model: Z-Image-Turbo, ...

- :func:`a1111_parameters` formats it for one of our images (the writer puts it in the
  ``parameters`` chunk); values holding ``,`` ``:`` or a newline are JSON-quoted as A1111 does.
- :func:`parse_a1111_parameters` splits any such text into prompt, negative prompt and settings,
  following A1111's own parser; :func:`params_from_a1111` turns that into :class:`ImageParams`.

Formatting then parsing gives back the prompt, the negative prompt (without surrounding blanks) and
every setting, unless a prompt line itself starts with ``Negative prompt:`` (A1111's own ambiguity).
"""

from __future__ import annotations

import json
import re
from typing import Any

from zit_desktop import __version__
from zit_desktop.core.metadata.params import (
    ImageParams,
    Source,
    as_float,
    as_int,
    finalize_summary,
    size_pair,
)
from zit_desktop.core.request import GenerationRequest

SAMPLER = "Euler"  # FlowMatchEulerDiscreteScheduler
SCHEDULE_TYPE = "Simple"
NEGATIVE_PREFIX = "Negative prompt:"

_KEY_JUNK = re.compile(r"[^\w \-/]+")
# A1111's re_param: ``Key: value`` or ``Key: "json, quoted"`` separated by commas (keys bounded
# in length so junk lines can't make the scan quadratic).
_MAX_SETTINGS_LINE = 100_000
_PARAM_RE = re.compile(r'\s*(\w[\w \-/]{1,63}):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)')


# ---- quoting ----------------------------------------------------------------------------------
def _quote(value: str) -> str:
    """Quote a value the way A1111 does, so commas and colons inside it survive parsing."""
    if "," not in value and "\n" not in value and ":" not in value and not value.startswith('"'):
        return value
    return json.dumps(value, ensure_ascii=False)


def _unquote(value: str) -> str:
    if len(value) < 2 or value[0] != '"' or value[-1] != '"':
        return value
    try:
        decoded = json.loads(value)
    except ValueError:
        return value
    return decoded if isinstance(decoded, str) else value


# ---- formatting -------------------------------------------------------------------------------
def _format_value(value: Any) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def model_display_name(model: str) -> str:
    """``Tongyi-MAI/Z-Image-Turbo`` or ``C:\\models\\Z-Image-Turbo\\`` -> ``Z-Image-Turbo``."""
    parts = [p for p in re.split(r"[\\/]+", model.strip()) if p]
    return parts[-1] if parts else model


def a1111_parameters(request: GenerationRequest, extra: dict[str, Any] | None = None) -> str:
    """The A1111/Forge ``parameters`` text for ``request`` (one image: its concrete seed).

    ``extra`` entries (e.g. ``{"Strategy": "group-offload"}``) are appended as ``Key: value``;
    ``None`` values are skipped.
    """
    fields: list[tuple[str, Any]] = [
        ("Steps", request.steps),
        ("Sampler", SAMPLER),
        ("Schedule type", SCHEDULE_TYPE),
        ("CFG scale", float(request.guidance)),
        ("Seed", request.seed),
        ("Size", f"{request.width}x{request.height}"),
        ("Model", model_display_name(request.model)),
        ("Variant", request.variant),
    ]
    if request.transformer:  # the single file that replaced the model's transformer (GGUF, ComfyUI's)
        fields.append(("Transformer", model_display_name(request.transformer)))
    for key, value in (extra or {}).items():
        clean_key = " ".join(_KEY_JUNK.sub(" ", str(key)).split())
        if value is None or not clean_key:
            continue
        known = [i for i, (name, _) in enumerate(fields) if name == clean_key]
        if known:  # another engine's own value for a field we write (a remote sampler, say)
            fields[known[0]] = (clean_key, value)
        else:
            fields.append((clean_key, value))
    fields.append(("Version", f"zit-desktop {__version__}"))
    settings = ", ".join(f"{key}: {_quote(_format_value(value))}" for key, value in fields)
    lines = [request.prompt]
    if request.negative_prompt.strip():
        lines.append(f"{NEGATIVE_PREFIX} {request.negative_prompt}")
    lines.append(settings)
    return "\n".join(lines)


# ---- parsing ----------------------------------------------------------------------------------
def parse_a1111_parameters(text: str) -> tuple[str, str, dict[str, str]] | None:
    """Split an A1111/Forge ``parameters`` text into (prompt, negative prompt, settings).

    Follows A1111's own parser: the last line is the settings line when it holds at least three
    ``Key: value`` pairs (values may be JSON-quoted); lines from ``Negative prompt:`` on are the
    negative prompt. ``None`` when there is nothing at all.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").strip().split("\n")
    settings: dict[str, str] = {}
    if len(lines[-1]) <= _MAX_SETTINGS_LINE and len(_PARAM_RE.findall(lines[-1])) >= 3:
        for key, value in _PARAM_RE.findall(lines.pop()):
            settings.setdefault(key.strip(), _unquote(value.strip()))
    prompt: list[str] = []
    negative: list[str] = []
    in_negative = False
    for line in lines:
        if not in_negative and line.startswith(NEGATIVE_PREFIX):
            in_negative = True
            line = line[len(NEGATIVE_PREFIX):].strip()
        (negative if in_negative else prompt).append(line)
    prompt_text = "\n".join(prompt).strip()
    negative_text = "\n".join(negative).strip()
    if not prompt_text and not negative_text and not settings:
        return None
    return prompt_text, negative_text, settings


def params_from_a1111(text: str) -> ImageParams | None:
    """The parameters an A1111-style text states; source ``fooocus`` when its Version says so."""
    parsed = parse_a1111_parameters(text)
    if parsed is None:
        return None
    prompt, negative, settings = parsed
    width, height = size_pair(settings.get("Size"))
    return ImageParams(
        prompt=prompt,
        negative_prompt=negative,
        seed=as_int(settings.get("Seed")),
        width=width,
        height=height,
        steps=as_int(settings.get("Steps")),
        guidance=as_float(settings.get("CFG scale")),
        source=Source.FOOOCUS if "Fooocus" in settings.get("Version", "") else Source.A1111,
        model=settings.get("Model"),
        finalize=_finalize_from_settings(settings),
    )


def _finalize_from_settings(settings: dict[str, str]) -> dict[str, Any] | None:
    """The lineage our writer states (``Refined from`` / ``Upscaled from``, see ``write.finalize_fields``)."""
    refined, upscaled = settings.get("Refined from"), settings.get("Upscaled from")
    if refined is None and upscaled is None:
        return None
    scale = settings.get("Upscale", "")
    return finalize_summary({
        "method": "refine" if refined is not None else "upscale",
        "source": refined if refined is not None else upscaled,
        "source_seed": settings.get("Source seed"),
        "scale": scale.removeprefix("x") or None,
        "upscaler": settings.get("Upscaler"),
        "change": settings.get("Denoising strength"),
        "layout": settings.get("Tiles"),
    })
