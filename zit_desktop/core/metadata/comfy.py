"""Generation parameters from a ComfyUI ``prompt`` chunk (the API-format graph).

Qt-free, stdlib only. :func:`parse_comfy_graph` takes the decoded graph and returns an
:class:`~zit_desktop.core.metadata.params.ImageParams` (source ``comfyui``) or ``None`` when no
sampler in it leads to a prompt, a seed or a step count.

The graph maps node ids to ``{"class_type": ..., "inputs": {...}}``; an input is either a literal
or a link ``[node_id, output_index]``. We pick the sampler that starts from an empty latent, then
follow its links: positive/negative conditioning to the text encoders, the latent to its size,
the model to its loader, and links on seed/steps/cfg to the primitive nodes that hold them.
Every walk is bounded and tolerates links to missing or unexpected nodes.
"""

from __future__ import annotations

from typing import Any

from zit_desktop.core.metadata.params import ImageParams, Source, as_float, as_int

MAX_VISITS = 400  # nodes per walk; this also bounds the recursion depth

SAMPLER_TYPES = (
    "KSampler", "KSamplerAdvanced", "SamplerCustom", "SamplerCustomAdvanced",
    "KSampler (Efficient)", "KSampler Adv. (Efficient)",
)
# Inputs that hold text on encoder / string nodes, most specific first.
TEXT_KEYS = ("text", "text_g", "t5xxl", "clip_l", "text_l", "prompt", "string", "value", "Text")
# Inputs through which conditioning passes unchanged (combine, area, controlnet, guidance...).
CONDITIONING_KEYS = ("conditioning", "conditioning_1", "conditioning_to", "conditioning_from", "cond")
VALUE_KEYS = ("value", "seed", "noise_seed", "int", "float", "number", "Value", "steps", "cfg")
MODEL_NAME_KEYS = ("ckpt_name", "unet_name", "model_name", "model_path")


def _is_link(value: Any) -> bool:
    return (
        isinstance(value, list)
        and len(value) == 2
        and isinstance(value[0], (str, int))
        and not isinstance(value[0], bool)
    )


class _Graph:
    """Walks over the graph; each walk visits a node at most once (graphs from files may loop)."""

    def __init__(self, nodes: dict[str, Any]) -> None:
        self.nodes = nodes

    def node(self, link: Any, seen: set[str]) -> tuple[str, dict[str, Any]] | None:
        """The (class_type, inputs) of the unvisited, sane node a link points at."""
        if not _is_link(link) or len(seen) > MAX_VISITS:
            return None
        node_id = str(link[0])
        node = self.nodes.get(node_id)
        if node_id in seen or not isinstance(node, dict):
            return None
        seen.add(node_id)
        inputs = node.get("inputs")
        class_type = node.get("class_type")
        return (class_type if isinstance(class_type, str) else "", inputs if isinstance(inputs, dict) else {})

    def scalar(self, value: Any, keys: tuple[str, ...], seen: set[str] | None = None) -> Any:
        """A literal, or the literal a chain of primitive nodes ends in."""
        seen = set() if seen is None else seen
        if not _is_link(value):
            return value
        target = self.node(value, seen)
        if target is None:
            return None
        inputs = target[1]
        for key in keys + VALUE_KEYS:
            if key in inputs:
                return self.scalar(inputs[key], keys, seen)
        return None

    def text(self, value: Any, role: str, seen: set[str] | None = None) -> str | None:
        """The prompt text a conditioning (or string) input comes from."""
        seen = set() if seen is None else seen
        if isinstance(value, str):
            return value
        target = self.node(value, seen)
        if target is None:
            return None
        class_type, inputs = target
        if "ZeroOut" in class_type:
            return ""  # Z-Image / Flux workflows feed zeroed positive conditioning as the negative
        for key in TEXT_KEYS + (role,) + CONDITIONING_KEYS:
            if key in inputs:
                found = self.text(inputs[key], role, seen)
                if found is not None:
                    return found
        return None

    def size(self, link: Any, seen: set[str] | None = None) -> tuple[int | None, int | None]:
        seen = set() if seen is None else seen
        target = self.node(link, seen)
        if target is None:
            return None, None
        _, inputs = target
        if "width" in inputs and "height" in inputs:
            width = as_int(self.scalar(inputs["width"], ("width",)))
            height = as_int(self.scalar(inputs["height"], ("height",)))
            return width, height
        for key in ("samples", "latent", "latent_image", "pixels", "image"):
            if key in inputs:
                return self.size(inputs[key], seen)
        return None, None

    def model_name(self, link: Any, seen: set[str] | None = None) -> str | None:
        seen = set() if seen is None else seen
        target = self.node(link, seen)
        if target is None:
            return None
        _, inputs = target
        for key in MODEL_NAME_KEYS:
            name = inputs.get(key)
            if isinstance(name, str) and name:
                return name
        return self.model_name(inputs.get("model"), seen)

    def reaches_empty_latent(self, link: Any, seen: set[str] | None = None) -> bool:
        seen = set() if seen is None else seen
        target = self.node(link, seen)
        if target is None:
            return False
        class_type, inputs = target
        if class_type.startswith("Empty") and "Latent" in class_type:
            return True
        return any(self.reaches_empty_latent(inputs.get(k), seen) for k in ("samples", "latent"))


def _sort_key(node_id: str) -> tuple[int, str]:
    return (int(node_id), "") if node_id.isdigit() else (1 << 62, node_id)


def parse_comfy_graph(nodes: dict[str, Any]) -> ImageParams | None:
    """Parameters of the main sampler in a ComfyUI API graph, or ``None`` if there is none."""
    graph = _Graph(nodes)
    samplers: list[tuple[str, dict[str, Any]]] = []
    for node_id in sorted((k for k in nodes if isinstance(k, str)), key=_sort_key):
        node = nodes[node_id]
        if not isinstance(node, dict) or not isinstance(node.get("inputs"), dict):
            continue
        class_type = node.get("class_type")
        if not isinstance(class_type, str):
            continue
        custom_ksampler = class_type.startswith("KSampler") and "positive" in node["inputs"]
        if class_type in SAMPLER_TYPES or custom_ksampler:
            samplers.append((class_type, node["inputs"]))
    if not samplers:
        return None
    # The first pass of a hires-fix workflow is the one that starts from an empty latent.
    first = [s for s in samplers if graph.reaches_empty_latent(s[1].get("latent_image"))]
    _, inputs = (first or samplers)[0]

    guider = graph.node(inputs.get("guider"), set())  # SamplerCustomAdvanced: CFGGuider / BasicGuider
    cond_source = guider[1] if guider else inputs
    positive = graph.text(cond_source.get("positive", cond_source.get("conditioning")), "positive")
    negative = graph.text(cond_source.get("negative"), "negative")

    seed_value = inputs.get("seed", inputs.get("noise_seed"))
    if seed_value is None and "noise" in inputs:  # SamplerCustomAdvanced: RandomNoise node
        seed_value = inputs["noise"]
    seed = as_int(graph.scalar(seed_value, ("noise_seed", "seed")))

    steps_value = inputs.get("steps")
    if steps_value is None and "sigmas" in inputs:  # SamplerCustom*: BasicScheduler and friends
        steps_value = inputs["sigmas"]
    steps = as_int(graph.scalar(steps_value, ("steps",)))

    cfg_value = cond_source.get("cfg")
    if cfg_value is None and guider is None:
        cfg_value = inputs.get("cfg")
    guidance = as_float(graph.scalar(cfg_value, ("cfg",)))
    if guidance is None and guider is not None and "cfg" not in guider[1]:
        guidance = 1.0  # BasicGuider: no classifier-free guidance

    width, height = graph.size(inputs.get("latent_image"))
    model_link = inputs.get("model", guider[1].get("model") if guider else None)
    if positive is None and seed is None and steps is None:
        return None
    return ImageParams(
        prompt=positive or "",
        negative_prompt=negative or "",
        seed=seed,
        width=width,
        height=height,
        steps=steps,
        guidance=guidance,
        source=Source.COMFYUI,
        model=graph.model_name(model_link),
    )
