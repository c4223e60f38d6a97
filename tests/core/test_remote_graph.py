"""The ComfyUI graph builder against the graphs and node schemas recorded from a real ComfyUI 0.18.1."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from zit_desktop.core.remote.graph import (
    REQUIRED_NODES,
    ComfyModels,
    comfy_cfg,
    graph_problems,
    image_to_image_graph,
    text_to_image_graph,
)
from zit_desktop.core.request import GenerationRequest

RECORDINGS = Path(__file__).resolve().parents[1] / "fixtures" / "comfyui-0.18.1"


def load(name: str) -> dict:
    return json.loads((RECORDINGS / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def object_info() -> dict:
    return load("object_info_subset.json")


TEMPLATE_PROMPT = (
    "Latina female with thick wavy hair, harbor boats and pastel houses behind. Breezy seaside light, "
    "warm tones, cinematic close-up. "
)


def template_request(**kw) -> GenerationRequest:
    base = dict(prompt=TEMPLATE_PROMPT, seed=0, width=1024, height=1024, preset=None, guidance=0.0, steps=8)
    base.update(kw)
    return GenerationRequest(**base)


def without_titles(graph: dict) -> dict:
    """The graph without display titles (the server ignores them) and with our output prefix."""
    out = {k: {kk: copy.deepcopy(vv) for kk, vv in v.items() if kk != "_meta"} for k, v in graph.items()}
    out["9"]["inputs"]["filename_prefix"] = "zit-desktop"
    return out


def test_text_to_image_equals_the_official_template_graph():
    built = text_to_image_graph(template_request(), ComfyModels())
    recorded = load("zimage_t2i_api.json")
    assert without_titles(json.loads(json.dumps(built))) == without_titles(recorded)


def test_image_to_image_is_the_recorded_graph_plus_a_scale_to_the_target(object_info):
    built = image_to_image_graph(template_request(), ComfyModels(), "example.png", denoise=0.4)
    recorded = load("zimage_i2i_api.json")
    # Ours scales the source to the target size first (ComfyUI's VAEEncode takes what it is given).
    assert built["64"]["class_type"] == "ImageScale"
    assert built["63"]["inputs"]["pixels"] == ["64", 0]
    assert built["64"]["inputs"]["image"] == ["62", 0]
    rest = copy.deepcopy(built)
    del rest["64"]
    rest["63"]["inputs"]["pixels"] = ["62", 0]
    assert without_titles(json.loads(json.dumps(rest))) == without_titles(recorded)


@pytest.mark.parametrize("graph_of", ["t2i", "i2i"])
def test_built_graphs_pass_the_recorded_node_schemas(object_info, graph_of):
    req = template_request(prompt="一只橘色的猫", seed=123456, width=768, height=1344, guidance=1.5,
                           negative_prompt="blurry")
    graph = (text_to_image_graph(req, ComfyModels()) if graph_of == "t2i"
             else image_to_image_graph(req, ComfyModels(), "example.png", 0.35))
    assert graph_problems(graph, object_info) == []
    assert {n["class_type"] for n in graph.values()} <= set(REQUIRED_NODES)


def test_problems_name_the_node_and_input(object_info):
    graph = text_to_image_graph(template_request(), ComfyModels(unet="missing.safetensors"))
    graph["3"]["inputs"]["steps"] = 0
    del graph["29"]["inputs"]["vae_name"]
    graph["99"] = {"class_type": "NoSuchNodeType", "inputs": {}}
    problems = graph_problems(graph, object_info)
    assert any("node 28 (UNETLoader) input 'unet_name'" in p and "missing.safetensors" in p for p in problems)
    assert any("node 3 (KSampler) input 'steps'" in p and "outside 1..10000" in p for p in problems)
    assert any("node 29 (VAELoader): required input 'vae_name' is missing" in p for p in problems)
    assert any("NoSuchNodeType" in p for p in problems)


def test_guidance_maps_to_cfg_and_a_negative_prompt_gets_its_own_encoder():
    assert comfy_cfg(0.0) == 1.0 and comfy_cfg(2.5) == 3.5
    turbo = text_to_image_graph(template_request(negative_prompt="blurry"), ComfyModels())
    assert turbo["33"]["class_type"] == "ConditioningZeroOut"  # no CFG pass: the negative is unused
    guided = text_to_image_graph(template_request(negative_prompt="blurry", guidance=2.0), ComfyModels())
    assert guided["33"]["class_type"] == "CLIPTextEncode" and guided["33"]["inputs"]["text"] == "blurry"
    assert guided["3"]["inputs"]["cfg"] == 3.0


def test_each_image_of_a_batch_has_its_own_seed():
    req = template_request(seed=41, count=3)
    seeds = [text_to_image_graph(req, ComfyModels(), seed)["3"]["inputs"]["seed"] for seed in req.seeds()]
    assert seeds == [41, 42, 43]


@pytest.mark.parametrize("name", ["zimage_t2i_api.json", "zimage_i2i_api.json"])
def test_the_checker_accepts_what_the_real_validator_accepted(object_info, name):
    assert graph_problems(load(name), object_info) == []


def test_comfy_denoise_starts_at_the_noise_level_the_user_chose():
    from zit_desktop.core.remote.graph import SHIFT, comfy_denoise

    for change in (0.1, 0.35, 0.5, 0.9):
        d = comfy_denoise(change)
        assert abs(SHIFT * d / (1 + (SHIFT - 1) * d) - change) < 1e-3  # ComfyUI's shifted start sigma
    assert comfy_denoise(0.0) == 0.0 and comfy_denoise(1.0) == 1.0
