"""Z-Image-Turbo as a ComfyUI API-format graph, from core nodes only.

The shape is Comfy-Org's official template (``image_z_image_turbo.json``, flattened): ``UNETLoader`` →
``ModelSamplingAuraFlow(shift=3)`` → ``KSampler(res_multistep, simple)``, ``CLIPLoader(type="lumina2")``,
``VAELoader``, ``EmptySD3LatentImage`` and ``ConditioningZeroOut`` as the negative. Image-to-image
(the refine of two-stage generation) replaces the empty latent with ``LoadImage`` → ``ImageScale`` →
``VAEEncode`` and samples with ``denoise`` < 1. The node ids are the template's, so a graph can be
compared with the recordings in ``shared/comfyui-0.18.1``.

How our request maps, honestly:

* ``seed``, ``steps``, width and height are passed as they are. One prompt is one image: a batch of
  *n* is *n* prompts with seeds seed, seed+1, ... as the local engine makes them (ComfyUI's own
  ``batch_size`` shares one seed and lays the noise out differently).
* diffusers' guidance *g* computes ``pos + g·(pos − neg)``; ComfyUI's cfg *c* computes
  ``neg + c·(pos − neg)``. So ``cfg = g + 1``, and Turbo's *g* = 0 is cfg 1 (no negative pass).
* An empty negative prompt is ``ConditioningZeroOut`` (the template's), a non-empty one its own
  ``CLIPTextEncode``.
* The pixels are not the local engine's for the same seed: ComfyUI draws its noise on the CPU with
  its own generator and samples with ``res_multistep``, where diffusers uses the flow-matching Euler
  scheduler.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from zit_desktop import APP_ID
from zit_desktop.core.request import GenerationRequest

OUTPUT_NODE = "9"  # SaveImage: the node whose images are the result
SAMPLER_NODE = "3"
OUTPUT_PREFIX = APP_ID  # the file name prefix of our images on the server
SHIFT = 3.0
SAMPLER, SCHEDULER = "res_multistep", "simple"

# The node classes a server must have (all are ComfyUI core nodes).
TEXT_TO_IMAGE_NODES = (
    "UNETLoader", "CLIPLoader", "VAELoader", "ModelSamplingAuraFlow", "EmptySD3LatentImage",
    "CLIPTextEncode", "ConditioningZeroOut", "KSampler", "VAEDecode", "SaveImage",
)
IMAGE_TO_IMAGE_NODES = ("LoadImage", "ImageScale", "VAEEncode")
REQUIRED_NODES = TEXT_TO_IMAGE_NODES + IMAGE_TO_IMAGE_NODES


@dataclass(frozen=True)
class ComfyModels:
    """The file names the server's loaders offer (its combo lists), as chosen for this engine."""

    unet: str = "z_image_turbo_bf16.safetensors"
    clip: str = "qwen_3_4b.safetensors"
    vae: str = "ae.safetensors"


def comfy_cfg(guidance: float) -> float:
    """ComfyUI's cfg for diffusers' guidance (see the module docstring)."""
    return round(float(guidance) + 1.0, 4)


def comfy_denoise(change: float, shift: float = SHIFT) -> float:
    """KSampler's ``denoise`` for our "how much may change" (the noise level σ the redraw starts from).

    ComfyUI's ``simple`` schedule over ``ModelSamplingAuraFlow(shift)`` starts a ``denoise = d`` run at
    σ = s·d / (1 + (s−1)·d), so σ = change needs d = change / (s − (s−1)·change): the same inversion as
    the local refine's sigmas. Passing *change* itself would start far hotter (0.35 → σ ≈ 0.62).
    """
    c = min(1.0, max(0.0, float(change)))
    return round(c / (shift - (shift - 1.0) * c), 4)


def _node(class_type: str, title: str, **inputs: Any) -> dict[str, Any]:
    return {"inputs": inputs, "class_type": class_type, "_meta": {"title": title}}


def text_to_image_graph(req: GenerationRequest, models: ComfyModels, seed: int | None = None) -> dict[str, Any]:
    """The API-format graph of one image of ``req`` (``seed``: this image's; default the request's)."""
    graph: dict[str, Any] = {
        SAMPLER_NODE: _node(
            "KSampler", "KSampler", model=["11", 0], seed=int(req.seed if seed is None else seed),
            steps=int(req.steps), cfg=comfy_cfg(req.guidance), sampler_name=SAMPLER, scheduler=SCHEDULER,
            positive=["27", 0], negative=["33", 0], latent_image=["13", 0], denoise=1,
        ),
        "8": _node("VAEDecode", "VAE Decode", samples=[SAMPLER_NODE, 0], vae=["29", 0]),
        OUTPUT_NODE: _node("SaveImage", "Save Image", images=["8", 0], filename_prefix=OUTPUT_PREFIX),
        "11": _node("ModelSamplingAuraFlow", "ModelSamplingAuraFlow", model=["28", 0], shift=SHIFT),
        "13": _node("EmptySD3LatentImage", "EmptySD3LatentImage", width=int(req.width), height=int(req.height),
                    batch_size=1),
        "27": _node("CLIPTextEncode", "CLIP Text Encode (Prompt)", text=req.prompt, clip=["30", 0]),
        "28": _node("UNETLoader", "Load Diffusion Model", unet_name=models.unet, weight_dtype="default"),
        "29": _node("VAELoader", "Load VAE", vae_name=models.vae),
        "30": _node("CLIPLoader", "Load CLIP", clip_name=models.clip, type="lumina2", device="default"),
        "33": _node("ConditioningZeroOut", "ConditioningZeroOut", conditioning=["27", 0]),
    }
    if req.negative_prompt.strip() and req.uses_cfg:
        graph["33"] = _node("CLIPTextEncode", "CLIP Text Encode (Negative)", text=req.negative_prompt,
                            clip=["30", 0])
    return graph


def image_to_image_graph(
    req: GenerationRequest, models: ComfyModels, image_name: str, denoise: float, seed: int | None = None
) -> dict[str, Any]:
    """Refine: the uploaded ``image_name`` scaled to the request's size, encoded, and sampled from
    ``denoise`` (ComfyUI's own schedule: it runs the last ``steps`` of ``steps / denoise``)."""
    graph = text_to_image_graph(req, models, seed)
    del graph["13"]
    graph["62"] = _node("LoadImage", "Load Image", image=image_name)
    graph["64"] = _node("ImageScale", "Upscale Image", image=["62", 0], upscale_method="lanczos",
                        width=int(req.width), height=int(req.height), crop="disabled")
    graph["63"] = _node("VAEEncode", "VAE Encode", pixels=["64", 0], vae=["29", 0])
    sampler = graph[SAMPLER_NODE]["inputs"]
    sampler["latent_image"] = ["63", 0]
    sampler["denoise"] = round(min(1.0, max(0.01, float(denoise))), 4)
    return graph


# ---- checking a graph against a server's /object_info ------------------------------------------

def graph_problems(graph: Mapping[str, Any], object_info: Mapping[str, Any]) -> list[str]:
    """What a server with ``object_info`` would reject in ``graph``, in words (empty: none).

    Checks what ComfyUI's validator checks first: known classes, every required input present, links
    to existing nodes, numbers of the right type within min/max, combo values among the choices.
    """
    problems: list[str] = []
    for node_id, node in graph.items():
        cls = node.get("class_type")
        info = object_info.get(cls)
        if info is None:
            problems.append(f"node {node_id}: the server has no node type {cls!r}")
            continue
        inputs = node.get("inputs", {})
        required = info.get("input", {}).get("required", {})
        optional = info.get("input", {}).get("optional", {})
        for name in required:
            if name not in inputs:
                problems.append(f"node {node_id} ({cls}): required input {name!r} is missing")
        for name, value in inputs.items():
            spec = required.get(name) or optional.get(name)
            if spec is None:
                continue  # the server ignores unknown inputs
            problems.extend(_input_problems(graph, node_id, cls, name, value, spec))
    return problems


def _input_problems(
    graph: Mapping[str, Any], node_id: str, cls: str, name: str, value: Any, spec: list[Any]
) -> list[str]:
    kind = spec[0]
    options = spec[1] if len(spec) > 1 and isinstance(spec[1], dict) else {}
    where = f"node {node_id} ({cls}) input {name!r}"
    if isinstance(value, list) and len(value) == 2 and isinstance(value[0], str) and isinstance(value[1], int):
        if value[0] not in graph:
            return [f"{where}: links to node {value[0]}, which is not in the graph"]
        return []
    if isinstance(kind, list):  # a combo: the value must be one of the choices
        return [] if value in kind else [f"{where}: {value!r} is not one of {kind}"]
    if kind == "COMBO":
        choices = options.get("options", [])
        return [] if value in choices else [f"{where}: {value!r} is not one of {choices}"]
    if kind in ("INT", "FLOAT"):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind == "INT" and not isinstance(value, int)):
            return [f"{where}: {value!r} is not a {kind}"]
        low, high = options.get("min"), options.get("max")
        if low is not None and value < low or high is not None and value > high:
            return [f"{where}: {value} is outside {low}..{high}"]
        return []
    if kind in ("STRING",):
        return [] if isinstance(value, str) else [f"{where}: {value!r} is not text"]
    if kind == "BOOLEAN":
        return [] if isinstance(value, bool) else [f"{where}: {value!r} is not true/false"]
    return []
