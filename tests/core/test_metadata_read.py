"""Reading parameters back: ours and hand-made PNGs of other tools; junk input. No Qt, no torch."""

from __future__ import annotations

import json
import random
import zlib
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from zit_desktop.core.metadata.chunks import (
    A1111_CHUNK,
    COMFYUI_CHUNK,
    FOOOCUS_SCHEME_CHUNK,
    INVOKEAI_CHUNK,
    OUR_CHUNK,
)
from zit_desktop.core.metadata.params import ImageParams
from zit_desktop.core.metadata.read import ParamsError, params_to_json, read_params, request_from_params
from zit_desktop.core.metadata.write import png_text_chunks, write_png_atomic
from zit_desktop.core.request import MAX_SEED, GenerationRequest, validate

BASE = GenerationRequest(prompt="keep me", negative_prompt="old negative", seed=1, count=3, model="/m/tiny")


def _png(path: Path, chunks: dict[str, str], *, size: tuple[int, int] = (64, 64), kind: str = "text") -> Path:
    info = PngInfo()
    for key, value in chunks.items():
        if kind == "itxt":
            info.add_itxt(key, value)
        elif kind == "ztxt":
            info.add_text(key, value, zip=True)
        else:
            info.add_text(key, value)
    Image.new("RGB", size, (10, 20, 30)).save(path, pnginfo=info)
    return path


# ---- A1111 / Forge -----------------------------------------------------------------------------
A1111_TEXT = (
    "masterpiece, best quality, 1girl, (red scarf:1.2), snowy street,\n"
    "<lora:detail_tweaker:0.5>, night\n"
    "Negative prompt: lowres, bad anatomy, (worst quality:1.4)\n"
    "Steps: 28, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 6.5, Seed: 3851215938, "
    "Size: 832x1216, Model hash: 1449e5b0b9, Model: animagineXLV31_v31, Denoising strength: 0.35, "
    'Hires upscale: 1.5, Hires upscaler: 4x-UltraSharp, Lora hashes: "detail_tweaker: 7c6e6b2a4d7e, '
    'add_more: 0a1b2c3d", TI hashes: "easynegative: c74b4e810b03", Version: f2.0.1v1.10.1-previous-313'
)


def test_a1111_forge_text(tmp_path: Path) -> None:
    params = read_params(_png(tmp_path / "a.png", {A1111_CHUNK: A1111_TEXT}))
    assert params.source == "a1111"
    assert params.prompt == (
        "masterpiece, best quality, 1girl, (red scarf:1.2), snowy street,\n<lora:detail_tweaker:0.5>, night"
    )
    assert params.negative_prompt == "lowres, bad anatomy, (worst quality:1.4)"
    assert (params.seed, params.steps, params.guidance) == (3851215938, 28, 6.5)
    assert (params.width, params.height) == (832, 1216)
    assert params.model == "animagineXLV31_v31"
    assert params.raw == {A1111_CHUNK: A1111_TEXT}


def test_a1111_without_negative_or_settings(tmp_path: Path) -> None:
    text = "a photo of a lighthouse\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 5, Size: 512x768"
    params = read_params(_png(tmp_path / "a.png", {A1111_CHUNK: text}, kind="ztxt"))
    assert (params.prompt, params.negative_prompt, params.seed, params.height) == (
        "a photo of a lighthouse", "", 5, 768)
    only_prompt = read_params(_png(tmp_path / "b.png", {A1111_CHUNK: "just a prompt"}, size=(80, 96)))
    assert only_prompt.prompt == "just a prompt" and only_prompt.steps is None
    assert (only_prompt.width, only_prompt.height) == (80, 96)  # from the image itself


def test_fooocus_a1111_scheme(tmp_path: Path) -> None:
    text = ("a cat\nNegative prompt: \n"
            "Steps: 30, Sampler: DPM++ 2M SDE Karras, Seed: 9, Version: Fooocus v2.5.5")
    params = read_params(_png(tmp_path / "f.png", {A1111_CHUNK: text, FOOOCUS_SCHEME_CHUNK: "a1111"}))
    assert params.source == "fooocus" and params.seed == 9 and params.negative_prompt == ""


# ---- ComfyUI ------------------------------------------------------------------------------------
def _comfy_zimage_graph() -> dict[str, Any]:
    """The API graph ComfyUI's Z-Image-Turbo template saves (negative = zeroed positive)."""
    return {
        "3": {"class_type": "KSampler", "inputs": {
            "seed": 1048203485927361, "steps": 9, "cfg": 1, "sampler_name": "res_multistep",
            "scheduler": "simple", "denoise": 1, "model": ["11", 0], "positive": ["6", 0],
            "negative": ["7", 0], "latent_image": ["13", 0]}},
        "6": {"class_type": "CLIPTextEncode",
              "inputs": {"text": "一只橘色的猫, cinematic light", "clip": ["18", 0]}},
        "7": {"class_type": "ConditioningZeroOut", "inputs": {"conditioning": ["6", 0]}},
        "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["17", 0]}},
        "9": {"class_type": "SaveImage", "inputs": {"filename_prefix": "z-image", "images": ["8", 0]}},
        "11": {"class_type": "ModelSamplingAuraFlow", "inputs": {"shift": 3, "model": ["16", 0]}},
        "13": {"class_type": "EmptySD3LatentImage",
               "inputs": {"width": 1024, "height": 1280, "batch_size": 1}},
        "16": {"class_type": "UNETLoader", "inputs": {"unet_name": "z_image_turbo_bf16.safetensors",
                                                      "weight_dtype": "default"}},
        "17": {"class_type": "VAELoader", "inputs": {"vae_name": "ae.safetensors"}},
        "18": {"class_type": "CLIPLoader",
               "inputs": {"clip_name": "qwen_3_4b.safetensors", "type": "lumina2"}},
    }


def test_comfyui_zimage_graph(tmp_path: Path) -> None:
    graph = _comfy_zimage_graph()
    workflow = {"last_node_id": 18, "nodes": [{"id": 3, "type": "KSampler"}], "links": []}
    chunks = {COMFYUI_CHUNK: json.dumps(graph), "workflow": json.dumps(workflow)}
    params = read_params(_png(tmp_path / "c.png", chunks))
    assert params.source == "comfyui"
    assert params.prompt == "一只橘色的猫, cinematic light"
    assert params.negative_prompt == ""  # not the positive text the zero-out node points at
    assert (params.seed, params.steps, params.guidance) == (1048203485927361, 9, 1.0)
    assert (params.width, params.height) == (1024, 1280)
    assert params.model == "z_image_turbo_bf16.safetensors"


def test_comfyui_sdxl_hires_graph_with_primitives_and_odd_links(tmp_path: Path) -> None:
    graph = {
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sd_xl_base_1.0.safetensors"}},
        "5": {"class_type": "EmptyLatentImage",
              "inputs": {"width": ["30", 0], "height": 1024, "batch_size": 1}},
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": ["31", 0], "clip": ["40", 1]}},
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "blurry, lowres", "clip": ["40", 1]}},
        "10": {"class_type": "KSampler", "inputs": {  # second pass, listed first on purpose
            "seed": 1, "steps": 12, "cfg": 5, "sampler_name": "euler", "scheduler": "normal", "denoise": 0.4,
            "model": ["40", 0], "positive": ["20", 0], "negative": ["7", 0], "latent_image": ["12", 0]}},
        "12": {"class_type": "LatentUpscale", "inputs": {
            "samples": ["21", 0], "upscale_method": "nearest-exact", "width": 1536, "height": 1536,
            "crop": "disabled"}},
        "20": {"class_type": "ControlNetApplyAdvanced", "inputs": {
            "positive": ["6", 0], "negative": ["7", 0], "control_net": ["99", 0], "image": ["98", 0],
            "strength": 0.8, "start_percent": 0, "end_percent": 1}},
        "21": {"class_type": "KSamplerAdvanced", "inputs": {
            "add_noise": "enable", "noise_seed": ["32", 0], "steps": 30, "cfg": 7.5,
            "sampler_name": "dpmpp_2m", "scheduler": "karras", "start_at_step": 0, "end_at_step": 10000,
            "return_with_leftover_noise": "disable",
            "model": ["40", 0], "positive": ["20", 0], "negative": ["20", 1], "latent_image": ["5", 0]}},
        "30": {"class_type": "PrimitiveInt", "inputs": {"value": 896}},
        "31": {"class_type": "Text Multiline", "inputs": {"text": "a red fox in the snow, by John Doe"}},
        "32": {"class_type": "Seed (rgthree)", "inputs": {"seed": 424242}},
        "40": {"class_type": "LoraLoader", "inputs": {"lora_name": "fox.safetensors", "strength_model": 1,
                                                      "model": ["4", 0], "clip": ["4", 1]}},
        "50": {"class_type": "Note", "inputs": "not a dict"},
        "51": ["junk"],
    }
    params = read_params(_png(tmp_path / "c.png", {COMFYUI_CHUNK: json.dumps(graph)}, kind="itxt"))
    assert params.prompt == "a red fox in the snow, by John Doe"
    assert params.negative_prompt == "blurry, lowres"
    assert (params.seed, params.steps, params.guidance) == (424242, 30, 7.5)
    assert (params.width, params.height) == (896, 1024)
    assert params.model == "sd_xl_base_1.0.safetensors"


def test_comfyui_sampler_custom_advanced(tmp_path: Path) -> None:
    graph = {
        "13": {"class_type": "SamplerCustomAdvanced", "inputs": {
            "noise": ["25", 0], "guider": ["22", 0], "sampler": ["16", 0], "sigmas": ["17", 0],
            "latent_image": ["27", 0]}},
        "16": {"class_type": "KSamplerSelect", "inputs": {"sampler_name": "euler"}},
        "17": {"class_type": "BasicScheduler", "inputs": {"scheduler": "simple", "steps": 20, "denoise": 1,
                                                          "model": ["12", 0]}},
        "22": {"class_type": "BasicGuider", "inputs": {"model": ["12", 0], "conditioning": ["26", 0]}},
        "25": {"class_type": "RandomNoise", "inputs": {"noise_seed": 77}},
        "26": {"class_type": "FluxGuidance", "inputs": {"guidance": 3.5, "conditioning": ["6", 0]}},
        "6": {"class_type": "CLIPTextEncodeFlux", "inputs": {
            "clip_l": "a lighthouse", "t5xxl": "a lighthouse at dusk", "guidance": 3.5, "clip": ["11", 0]}},
        "12": {"class_type": "UNETLoader",
               "inputs": {"unet_name": "flux1-dev.safetensors", "weight_dtype": "fp8"}},
        "27": {"class_type": "EmptySD3LatentImage",
               "inputs": {"width": 1024, "height": 768, "batch_size": 1}},
    }
    params = read_params(_png(tmp_path / "c.png", {COMFYUI_CHUNK: json.dumps(graph)}))
    assert params.prompt == "a lighthouse at dusk"
    assert (params.seed, params.steps, params.guidance) == (77, 20, 1.0)
    assert (params.width, params.height, params.model) == (1024, 768, "flux1-dev.safetensors")


def test_comfyui_cyclic_and_dangling_links_do_not_hang(tmp_path: Path) -> None:
    graph: dict[str, Any] = {
        "1": {"class_type": "KSampler", "inputs": {"seed": ["2", 0], "steps": ["1", 0], "cfg": "x",
                                                   "positive": ["3", 0], "negative": ["404", 0],
                                                   "latent_image": ["1", 0], "model": ["3", 0]}},
        "2": {"class_type": "Loop", "inputs": {"value": ["2", 0]}},
    }
    names = ["conditioning", "conditioning_1", "conditioning_to", "text", "positive", "model", "samples"]
    for i in range(3, 300):  # a dense web: every node links to the next ones under every name
        graph[str(i)] = {"class_type": "Web", "inputs": {n: [str(i + k), 0] for k, n in enumerate(names, 1)}}
    path = _png(tmp_path / "c.png", {COMFYUI_CHUNK: json.dumps(graph)}, size=(96, 64))
    with pytest.raises(ParamsError, match="no generation parameters"):
        read_params(path)  # a sampler, but nothing in it leads anywhere
    graph["1"]["inputs"]["cfg"] = 2.5
    graph["1"]["inputs"]["steps"] = ["250", 0]
    graph["250"]["inputs"]["steps"] = 6
    params = read_params(_png(tmp_path / "c.png", {COMFYUI_CHUNK: json.dumps(graph)}, size=(96, 64)))
    assert params.source == "comfyui"
    assert (params.prompt, params.seed, params.steps, params.guidance) == ("", None, 6, 2.5)
    assert (params.width, params.height) == (96, 64)


def test_comfyui_numbers_typed_as_text_are_read(tmp_path: Path) -> None:
    graph = _comfy_zimage_graph()
    graph["3"]["inputs"].update(seed="4242", steps="8.0", cfg="2.5")
    graph["13"]["inputs"].update(width="768", height=" 1024 ")
    params = read_params(_png(tmp_path / "c.png", {COMFYUI_CHUNK: json.dumps(graph)}))
    assert (params.seed, params.steps, params.guidance, params.width, params.height) == (4242, 8, 2.5, 768, 1024)
    graph["3"]["inputs"].update(steps="7.5", cfg="a lot")
    params = read_params(_png(tmp_path / "c.png", {COMFYUI_CHUNK: json.dumps(graph)}))
    assert (params.steps, params.guidance) == (None, None)  # not a whole number / not a number: unknown


# ---- InvokeAI / Fooocus -------------------------------------------------------------------------
def test_invokeai_metadata(tmp_path: Path) -> None:
    meta = {
        "generation_mode": "sdxl_txt2img", "positive_prompt": "a cozy cabin, 雪",
        "negative_prompt": "people",
        "width": 1152, "height": 896, "seed": 2212880121, "rand_device": "cpu", "cfg_scale": 5.5,
        "cfg_rescale_multiplier": 0, "steps": 32, "scheduler": "dpmpp_2m_k",
        "model": {"key": "8c3e", "hash": "blake3:ab12", "name": "Juggernaut XL v9", "base": "sdxl",
                  "type": "main"},
        "positive_style_prompt": "", "app_version": "5.4.3",
    }
    graph = {"id": "sdxl_graph", "nodes": {}, "edges": []}
    params = read_params(_png(tmp_path / "i.png", {
        INVOKEAI_CHUNK: json.dumps(meta), "invokeai_graph": json.dumps(graph)}, kind="itxt"))
    assert params.source == "invokeai"
    assert (params.prompt, params.negative_prompt) == ("a cozy cabin, 雪", "people")
    assert (params.seed, params.width, params.height, params.steps, params.guidance) == (
        2212880121, 1152, 896, 32, 5.5)
    assert params.model == "Juggernaut XL v9"


def test_fooocus_json(tmp_path: Path) -> None:
    meta = {
        "adm_guidance": "(1.5, 0.8, 0.3)", "base_model": "juggernautXL_v8Rundiffusion",
        "base_model_hash": "aeb7e9e689", "full_negative_prompt": ["(worst quality, low quality:1.4)"],
        "full_prompt": ["a portrait of an old sailor, detailed"], "guidance_scale": 4,
        "loras": [["sd_xl_offset_example-lora_1.0.safetensors", 0.1, "4852686128"]],
        "metadata_scheme": "fooocus", "negative_prompt": "cartoon, 3d", "performance": "Speed",
        "prompt": "a portrait of an old sailor", "prompt_expansion": "a portrait of an old sailor, detailed",
        "refiner_model": "None", "refiner_switch": 0.5, "resolution": "(896, 1152)",
        "sampler": "dpmpp_2m_sde_gpu",
        "scheduler": "karras", "seed": "3185734227465911218", "sharpness": 2, "steps": 30,
        "styles": "['Fooocus V2', 'Fooocus Enhance']", "vae": "Default (model)", "version": "Fooocus v2.5.5",
    }
    chunks = {A1111_CHUNK: json.dumps(meta), FOOOCUS_SCHEME_CHUNK: "fooocus"}
    params = read_params(_png(tmp_path / "f.png", chunks))
    assert params.source == "fooocus"
    assert (params.prompt, params.negative_prompt) == ("a portrait of an old sailor", "cartoon, 3d")
    assert (params.seed, params.width, params.height, params.steps, params.guidance) == (
        3185734227465911218, 896, 1152, 30, 4.0)
    assert params.model == "juggernautXL_v8Rundiffusion"


# ---- ours preferred; damaged ours ---------------------------------------------------------------
def test_ours_preferred_and_broken_record_falls_back(tmp_path: Path) -> None:
    req = GenerationRequest(prompt="一只橘色的猫", seed=7)
    chunks = png_text_chunks(req, {"app": "0.1.0"})
    ours = write_png_atomic(Image.new("RGB", (8, 8)), tmp_path / "o.png", chunks)
    assert read_params(ours).source == "zit-desktop"
    chunks[OUR_CHUNK] = '{"version": 1, "request": ['
    params = read_params(write_png_atomic(Image.new("RGB", (8, 8)), tmp_path / "b.png", chunks))
    assert params.source == "a1111" and params.prompt == "一只橘色的猫" and params.seed == 7


# ---- junk ---------------------------------------------------------------------------------------
def test_missing_and_folder(tmp_path: Path) -> None:
    with pytest.raises(ParamsError, match="does not exist"):
        read_params(tmp_path / "nope.png")
    with pytest.raises(ParamsError, match="is not a file"):
        read_params(tmp_path)


def test_png_without_parameters(tmp_path: Path) -> None:
    path = _png(tmp_path / "plain.png", {"Software": "GIMP 2.10", A1111_CHUNK: "", COMFYUI_CHUNK: "{}"})
    with pytest.raises(ParamsError, match="this PNG carries no generation parameters") as info:
        read_params(path)
    assert info.value.path == path


def test_jpeg_and_text_files(tmp_path: Path) -> None:
    jpeg = tmp_path / "photo.jpg"
    Image.new("RGB", (16, 16)).save(jpeg, format="JPEG")
    with pytest.raises(ParamsError, match="JPEG image, not a PNG"):
        read_params(jpeg)
    text = tmp_path / "notes.png"
    text.write_text("hello")
    with pytest.raises(ParamsError, match="not a valid image"):
        read_params(text)
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(ParamsError, match="not a valid image"):
        read_params(empty)


def test_truncated_png_keeps_early_chunks(tmp_path: Path) -> None:
    full = _png(tmp_path / "full.png", {A1111_CHUNK: A1111_TEXT}, size=(256, 256)).read_bytes()
    cut = tmp_path / "cut.png"
    cut.write_bytes(full[: len(full) - 200])
    assert read_params(cut).seed == 3851215938  # parameters come before the pixels
    plain = (_png(tmp_path / "p.png", {}, size=(256, 256))).read_bytes()
    cut.write_bytes(plain[: len(plain) // 2])
    with pytest.raises(ParamsError, match="truncated or damaged"):
        read_params(cut)
    cut.write_bytes(plain[:20])  # signature and half a header
    with pytest.raises(ParamsError, match="not a valid image"):
        read_params(cut)


@pytest.mark.parametrize("payload", [
    "{", "[]", "null", '"text"', '{"prompt": 5}', '{"3": {"class_type": "KSampler", "inputs": []}}',
    '{"positive_prompt": ["x"]}', "\x00\x01\x02", '{"a": ' * 5000 + "1" + "}" * 5000,
    "Steps: x, Seed: y, Size: zebra", "a" * 200_000,
])
def test_garbage_chunks_never_crash(tmp_path: Path, payload: str) -> None:
    keys = (OUR_CHUNK, INVOKEAI_CHUNK, COMFYUI_CHUNK, A1111_CHUNK)
    path = _png(tmp_path / "g.png", {k: payload for k in keys}, kind="itxt")
    try:
        params = read_params(path)
    except ParamsError:
        return
    assert isinstance(params, ImageParams)
    json.dumps(params_to_json(params))


def test_numbers_too_big_for_a_float_are_unknown_not_a_crash(tmp_path: Path) -> None:
    big = "1" + "0" * 400  # valid JSON; float() of it raises OverflowError
    invokeai = f'{{"positive_prompt": "x", "seed": {big}, "cfg_scale": {big}, "steps": {big}}}'
    params = read_params(_png(tmp_path / "i.png", {INVOKEAI_CHUNK: invokeai}))
    assert (params.source, params.seed, params.guidance) == ("invokeai", int(big), None)
    comfy = _comfy_zimage_graph()
    comfy["3"]["inputs"]["cfg"] = int(big)
    params = read_params(_png(tmp_path / "c.png", {COMFYUI_CHUNK: json.dumps(comfy)}))
    assert (params.source, params.guidance, params.steps) == ("comfyui", None, 9)
    request_from_params(read_params(tmp_path / "i.png"), BASE)  # huge seed and steps still map


def test_fuzz_random_bytes_and_mutations(tmp_path: Path) -> None:
    rng = random.Random(1234)
    good = _png(tmp_path / "good.png", {A1111_CHUNK: A1111_TEXT}, kind="ztxt").read_bytes()
    path = tmp_path / "fuzz.png"
    for i in range(400):
        if i % 4 == 0:
            data = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 300)))
        elif i % 4 == 1:
            data = b"\x89PNG\r\n\x1a\n" + bytes(rng.randrange(256) for _ in range(rng.randrange(0, 300)))
        else:
            buf = bytearray(good)
            for _ in range(rng.randrange(1, 8)):
                buf[rng.randrange(len(buf))] = rng.randrange(256)
            data = bytes(buf[: rng.randrange(8, len(buf) + 1)])
        path.write_bytes(data)
        try:
            read_params(path)
        except ParamsError as exc:
            assert str(exc)


def test_chunk_with_bad_crc_is_ignored(tmp_path: Path) -> None:
    data = bytearray(_png(tmp_path / "a.png", {A1111_CHUNK: A1111_TEXT}).read_bytes())
    pos = data.index(b"Seed: 3851215938") + len("Seed: ")
    data[pos] = ord("9")  # bit rot inside the text chunk
    (tmp_path / "a.png").write_bytes(bytes(data))
    with pytest.raises(ParamsError, match="no generation parameters"):
        read_params(tmp_path / "a.png")


def test_zip_bomb_chunk_is_bounded(tmp_path: Path) -> None:
    path = _png(tmp_path / "bomb.png", {})
    data = path.read_bytes()
    body = A1111_CHUNK.encode() + b"\x00\x00" + zlib.compress(b"a" * (64 * 1024 * 1024), 9)
    chunk = len(body).to_bytes(4, "big") + b"zTXt" + body + zlib.crc32(b"zTXt" + body).to_bytes(4, "big")
    path.write_bytes(data[:33] + chunk + data[33:])  # after IHDR
    params = read_params(path)
    assert len(params.prompt) <= 16 * 1024 * 1024


# ---- request_from_params -------------------------------------------------------------------------
def _foreign(**kw: Any) -> ImageParams:
    fields: dict[str, Any] = dict(prompt="a fox", negative_prompt="blurry", seed=42, width=832, height=1216,
                                  steps=28, guidance=6.5, source="a1111")
    fields.update(kw)
    return ImageParams(**fields)


def test_request_from_foreign_snaps_and_clamps() -> None:
    req = request_from_params(_foreign(width=1010, height=570, steps=150, guidance=30.0), BASE)
    assert (req.prompt, req.negative_prompt, req.seed) == ("a fox", "blurry", 42)
    assert (req.width, req.height, req.preset) == (1008, 576, None)
    assert (req.steps, req.guidance) == (100, 20.0)
    assert (req.count, req.model) == (BASE.count, BASE.model)
    assert validate(req) == []  # valid, and guidance > 0 so the negative prompt counts


def test_request_from_foreign_picks_preset_and_limits() -> None:
    req = request_from_params(_foreign(width=1020, height=580, steps=0, guidance=-1.0), BASE)
    assert (req.width, req.height, req.preset) == (1024, 576, "landscape")
    assert (req.steps, req.guidance) == (1, 0.0)
    tiny = request_from_params(_foreign(width=64, height=9000), BASE)
    assert (tiny.width, tiny.height) == (256, 2048)
    validate(tiny)


def test_request_from_foreign_seed_and_missing_fields() -> None:
    big = request_from_params(_foreign(seed=1048203485927361), BASE)
    assert 0 <= big.seed <= MAX_SEED and big.seed == 1048203485927361 % 2**32
    assert request_from_params(_foreign(seed=-1), BASE).seed == -1
    sparse = request_from_params(
        _foreign(prompt="", seed=None, width=None, height=None, steps=None, guidance=None), BASE)
    assert sparse.prompt == BASE.prompt
    assert (sparse.seed, sparse.width, sparse.height, sparse.steps, sparse.guidance) == (
        BASE.seed, BASE.width, BASE.height, BASE.steps, BASE.guidance)
    assert sparse.preset == "768x768"


def test_request_from_ours_is_exact(tmp_path: Path) -> None:
    req = GenerationRequest(prompt="一只橘色的猫", negative_prompt="负面提示", width=576, height=1024,
                            seed=9, guidance=2.0, preset="portrait", model="/m/zit", count=2)
    path = write_png_atomic(Image.new("RGB", (8, 8)), tmp_path / "o.png", png_text_chunks(req, {}))
    assert request_from_params(read_params(path), BASE) == req


def test_params_to_json(tmp_path: Path) -> None:
    path = _png(tmp_path / "a.png", {A1111_CHUNK: A1111_TEXT})
    out = params_to_json(read_params(path))
    assert out["file"] == str(path)
    assert {k: out[k] for k in ("source", "seed", "width", "height", "steps", "guidance")} == {
        "source": "a1111", "seed": 3851215938, "width": 832, "height": 1216, "steps": 28, "guidance": 6.5}
    assert json.loads(json.dumps(out, ensure_ascii=False)) == out
    assert all(type(v) in (str, int, float, type(None)) for v in out.values())  # plain values, no Source enum
