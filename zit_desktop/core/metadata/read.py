"""Reading generation parameters back from a PNG: ours and those of other popular tools.

Qt-free, no torch. Used by ``zit-desktop params``, "drop a PNG" and "rebuild history from folder"::

    params = read_params(path)                   # ImageParams, or raises ParamsError
    request = request_from_params(params, base)  # a valid GenerationRequest for our app
    params_to_json(params)                       # what ``zit-desktop params --json`` prints

The chunks are walked without decoding pixels (:mod:`.chunks`), so a huge or damaged file is cheap
and safe to read; junk input of any kind ends in :class:`ParamsError` with a message for the user,
never in a traceback. Sizes the metadata does not state come from the PNG header.

This module picks the source; the formats have their own modules (:mod:`.a1111`, :mod:`.comfy`)
except ours, InvokeAI's and Fooocus' JSON, which are a few ``dict.get`` calls each. In order of
preference: our JSON chunk, InvokeAI's, Fooocus' JSON in ``parameters``, an A1111/Forge text that
states its steps, a ComfyUI ``prompt`` graph, and last any other A1111 text (e.g. just a prompt).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from zit_desktop.core.jsonobj import json_object
from zit_desktop.core.metadata.a1111 import params_from_a1111
from zit_desktop.core.metadata.chunks import (
    A1111_CHUNK,
    COMFYUI_CHUNK,
    FOOOCUS_SCHEME_CHUNK,
    INVOKEAI_CHUNK,
    OUR_CHUNK,
    PNG_SIGNATURE,
    scan_png,
)
from zit_desktop.core.metadata.comfy import parse_comfy_graph
from zit_desktop.core.metadata.params import (
    ImageParams,
    Source,
    as_float,
    as_int,
    as_str,
    finalize_summary,
    size_pair,
)
from zit_desktop.core.request import (
    MAX_GUIDANCE,
    MAX_SEED,
    MAX_STEPS,
    MIN_GUIDANCE,
    MIN_STEPS,
    RANDOM_SEED,
    GenerationRequest,
    RequestError,
    nearest_valid_side,
)
from zit_desktop.core.sizes import preset_for_size

_SUPPORTED = "ZIT Desktop, A1111/Forge, ComfyUI, InvokeAI or Fooocus"


class ParamsError(ValueError):
    """The file has no parameters we can read. ``str(err)`` tells the user what to do."""

    def __init__(self, message: str, path: Path | None = None) -> None:
        super().__init__(message)
        self.path = path


# ---- file kinds -------------------------------------------------------------------------------
def _non_png_description(head: bytes) -> str | None:
    if head.startswith(b"\xff\xd8\xff"):
        return "a JPEG image"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "a WebP image"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "a GIF image"
    if head[:2] == b"BM":
        return "a BMP image"
    if head[:4] in (b"II*\0", b"MM\0*"):
        return "a TIFF image"
    return None


# ---- formats ----------------------------------------------------------------------------------
def _from_ours(chunk: str | None) -> ImageParams | None:
    record = json_object(chunk)
    request = record.get("request") if record else None
    if not isinstance(request, dict) or not isinstance(request.get("prompt"), str):
        return None
    guidance = as_float(request.get("guidance"))
    model = request.get("model")
    info = record.get("info") if record else None
    ran = info.get("finalize") if isinstance(info, dict) else None  # what ran; else what was asked
    lineage = ran if isinstance(ran, dict) else request.get("finalize")
    return ImageParams(
        prompt=request["prompt"],
        negative_prompt=as_str(request.get("negative_prompt")),
        seed=as_int(request.get("seed")),
        width=as_int(request.get("width")),
        height=as_int(request.get("height")),
        steps=as_int(request.get("steps")),
        guidance=guidance,
        source=Source.OURS,
        model=model if isinstance(model, str) else None,
        request=request,
        finalize=finalize_summary(lineage if isinstance(lineage, dict) else None),
    )


def _from_invokeai(chunk: str | None) -> ImageParams | None:
    meta = json_object(chunk)
    if meta is None:
        return None
    prompt = meta.get("positive_prompt", meta.get("prompt"))
    if not isinstance(prompt, str):
        return None
    model = meta.get("model")
    model_name: str | None = None
    if isinstance(model, dict):
        name = model.get("name", model.get("model_name"))
        model_name = name if isinstance(name, str) else None
    elif isinstance(model, str):
        model_name = model
    return ImageParams(
        prompt=prompt,
        negative_prompt=as_str(meta.get("negative_prompt")),
        seed=as_int(meta.get("seed")),
        width=as_int(meta.get("width")),
        height=as_int(meta.get("height")),
        steps=as_int(meta.get("steps")),
        guidance=as_float(meta.get("cfg_scale")),
        source=Source.INVOKEAI,
        model=model_name,
    )


def _from_fooocus(meta: dict[str, Any]) -> ImageParams | None:
    prompt = meta.get("prompt")
    if not isinstance(prompt, str):
        return None
    width, height = size_pair(meta.get("resolution"))
    model = meta.get("base_model")
    return ImageParams(
        prompt=prompt,
        negative_prompt=as_str(meta.get("negative_prompt")),
        seed=as_int(meta.get("seed")),
        width=width,
        height=height,
        steps=as_int(meta.get("steps")),
        guidance=as_float(meta.get("guidance_scale", meta.get("cfg_scale"))),
        source=Source.FOOOCUS,
        model=model if isinstance(model, str) else None,
    )


def _from_comfy(chunk: str | None) -> ImageParams | None:
    graph = json_object(chunk)
    if graph is None:
        return None
    try:
        return parse_comfy_graph(graph)
    except RecursionError:
        return None


def _params_from_text(text: dict[str, str]) -> ImageParams | None:
    found = _from_ours(text.get(OUR_CHUNK)) or _from_invokeai(text.get(INVOKEAI_CHUNK))
    if found is not None:
        return found
    parameters = text.get(A1111_CHUNK)
    fooocus_json = json_object(parameters)
    if fooocus_json is not None:
        found = _from_fooocus(fooocus_json)
        if found is not None:
            return found
    a1111: ImageParams | None = None
    if parameters and fooocus_json is None:
        a1111 = params_from_a1111(parameters)
        if a1111 is not None and FOOOCUS_SCHEME_CHUNK in text:
            a1111 = replace(a1111, source=Source.FOOOCUS)
        if a1111 is not None and a1111.steps is not None:
            return a1111
    # A parameters text without a settings line is weaker evidence than a ComfyUI graph.
    return _from_comfy(text.get(COMFYUI_CHUNK)) or a1111


# ---- public API -------------------------------------------------------------------------------
def read_params(path: Path | str) -> ImageParams:
    """The generation parameters stored in the PNG at ``path``; raises :class:`ParamsError`."""
    path = Path(path)
    name = path.name or str(path)
    try:
        if not path.is_file():
            what = "does not exist" if not path.exists() else "is not a file"
            raise ParamsError(f"{name} {what}. Choose a PNG image made by {_SUPPORTED}.", path)
        with path.open("rb") as fh:
            head = fh.read(len(PNG_SIGNATURE))
            if head != PNG_SIGNATURE:
                head += fh.read(8)
                kind = _non_png_description(head)
                if kind:
                    message = (f"{name} is {kind}, not a PNG. Only PNG files carry the generation "
                               f"parameters we read; choose the PNG that {_SUPPORTED} saved.")
                else:
                    message = f"{name} is not a valid image. Choose a PNG image made by {_SUPPORTED}."
                raise ParamsError(message, path)
            scan = scan_png(fh)
    except OSError as exc:
        raise ParamsError(f"{name} could not be read ({exc.strerror or exc}). "
                          "Check that the file is still there and that you may read it.", path) from None
    if scan.size is None:
        raise ParamsError(f"{name} is not a valid image (its PNG header is damaged).", path)
    found = _params_from_text(scan.text)
    if found is None:
        damaged = "" if scan.complete else " (and it looks truncated or damaged)"
        raise ParamsError(
            f"{name}: this PNG carries no generation parameters{damaged}. Choose a PNG saved by "
            f"{_SUPPORTED} with its metadata kept; images re-saved by editors or sites often lose it.",
            path,
        )
    width = found.width if found.width and found.width > 0 else scan.size[0]
    height = found.height if found.height and found.height > 0 else scan.size[1]
    return replace(found, width=width, height=height, raw=dict(scan.text), file=str(path))


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def request_from_params(params: ImageParams, base: GenerationRequest) -> GenerationRequest:
    """A request for our app from ``params``; what the file does not say comes from ``base``.

    Ours: the stored request, exactly. Foreign: prompt, negative prompt, seed, steps and guidance
    from the file (clamped into our ranges; seeds beyond 32 bits wrap), the size snapped to the
    nearest valid one with its preset when one matches; model and count stay those of ``base``.
    """
    if params.source == Source.OURS and params.request is not None:
        try:
            return GenerationRequest.from_dict(params.request)
        except (RequestError, TypeError):
            pass  # a damaged record: fall back to the flat fields below
    seed = base.seed
    if params.seed is not None:
        seed = params.seed % (MAX_SEED + 1) if params.seed >= 0 else RANDOM_SEED
    steps = base.steps if params.steps is None else int(_clamp(params.steps, MIN_STEPS, MAX_STEPS))
    guidance = base.guidance
    if params.guidance is not None:
        guidance = _clamp(float(params.guidance), MIN_GUIDANCE, MAX_GUIDANCE)
    width = nearest_valid_side(params.width) if params.width else base.width
    height = nearest_valid_side(params.height) if params.height else base.height
    return replace(
        base,
        prompt=params.prompt if params.prompt.strip() else base.prompt,
        negative_prompt=params.negative_prompt,
        seed=seed,
        steps=steps,
        guidance=guidance,
        width=width,
        height=height,
        preset=preset_for_size(width, height),
    )


def params_to_json(params: ImageParams) -> dict[str, Any]:
    """The object ``zit-desktop params --json`` prints for one file."""
    return {
        "file": params.file,
        "source": str(params.source),
        "prompt": params.prompt,
        "negative_prompt": params.negative_prompt,
        "seed": params.seed,
        "width": params.width,
        "height": params.height,
        "steps": params.steps,
        "guidance": params.guidance,
        "model": params.model,
        "finalize": params.finalize,  # null for a generated image; see finalize_summary
    }
