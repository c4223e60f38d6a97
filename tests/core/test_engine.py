"""End-to-end engine tests on the tiny real Z-Image pipeline (random weights, real classes)."""

from __future__ import annotations

import errno
import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from zit_desktop.core.engine import Engine
from zit_desktop.core.events import (
    Cancelled,
    CancelToken,
    Event,
    Failed,
    Finished,
    JobStarted,
    Loading,
    Notice,
    Preview,
    Step,
)
from zit_desktop.core.metadata.chunks import A1111_CHUNK, OUR_CHUNK
from zit_desktop.core.paths import app_paths
from zit_desktop.core.request import GenerationRequest


def direct_pixels(model: Path, **kw: Any) -> np.ndarray:
    """A plain diffusers call, the reference the engine must match pixel for pixel."""
    import torch
    from diffusers import ZImagePipeline

    pipe = ZImagePipeline.from_pretrained(str(model), dtype=torch.float32)
    pipe.set_progress_bar_config(disable=True)
    seed = kw.pop("seed")
    image = pipe(**kw, generator=torch.Generator("cpu").manual_seed(seed)).images[0]
    return np.asarray(image)


@pytest.fixture
def engine(data_dir: Path) -> Engine:
    return Engine(app_paths(data_dir).ensure())


def req(model: Path, **kw: Any) -> GenerationRequest:
    base: dict[str, Any] = {"prompt": "一只橘色的猫", "seed": 7, "model": str(model)}
    base.update(kw)
    if "width" in kw and "preset" not in kw:
        base["preset"] = None
    return GenerationRequest(**base)


def run(engine: Engine, request: GenerationRequest, cancel: CancelToken | None = None) -> tuple[Any, list[Event]]:
    events: list[Event] = []
    result = engine.run(request, events.append, cancel)
    return result, events


def outputs(engine: Engine) -> list[Path]:
    return sorted(p for p in engine.paths.outputs.rglob("*") if p.is_file())


def test_image_equals_direct_pipeline_call(engine: Engine, tiny_model: Path) -> None:
    result, events = run(engine, req(tiny_model, width=512, height=512))
    assert isinstance(result, Finished), result
    (image,) = result.images
    ours = np.asarray(Image.open(image.path).convert("RGB"))
    ref = direct_pixels(
        tiny_model, prompt="一只橘色的猫", height=512, width=512, num_inference_steps=8, guidance_scale=0.0, seed=7
    )
    assert ours.shape == (512, 512, 3)
    assert np.array_equal(ours, ref)
    kinds = [type(e).__name__ for e in events]
    assert kinds[0] == "Loading" and kinds[-1] == "Finished"
    steps = [e for e in events if isinstance(e, Step)]
    assert [s.step for s in steps] == list(range(1, 9)) and all(s.steps == 8 for s in steps)
    assert all(s.eta >= 0 for s in steps) and steps[-1].eta == 0
    previews = [e for e in events if isinstance(e, Preview)]
    assert previews and all(len(p.rgb) == p.width * p.height * 3 for p in previews)
    assert (previews[0].width, previews[0].height) == (64, 64)
    assert set(image.timings) >= {"encode", "denoise", "decode", "save", "total"}


def test_cfg_with_negative_prompt_matches_direct_call(engine: Engine, tiny_model: Path) -> None:
    request = req(tiny_model, prompt="cat", negative_prompt="dog", guidance=2.5, seed=3, width=256, height=256)
    result, _ = run(engine, request)
    assert isinstance(result, Finished)
    ref = direct_pixels(
        tiny_model, prompt="cat", negative_prompt="dog", height=256, width=256, num_inference_steps=8,
        guidance_scale=2.5, seed=3,
    )
    assert np.array_equal(np.asarray(Image.open(result.images[0].path).convert("RGB")), ref)


def test_same_seed_same_pixels_and_batch_seeds(engine: Engine, tiny_model: Path) -> None:
    first, _ = run(engine, req(tiny_model, width=256, height=256, seed=11, count=2))
    second, _ = run(engine, req(tiny_model, width=256, height=256, seed=12))
    assert isinstance(first, Finished) and isinstance(second, Finished)
    assert [im.seed for im in first.images] == [11, 12]
    a = np.asarray(Image.open(first.images[1].path))
    b = np.asarray(Image.open(second.images[0].path))
    assert np.array_equal(a, b)
    c = np.asarray(Image.open(first.images[0].path))
    assert not np.array_equal(a, c)


def test_random_seed_is_resolved_and_recorded(engine: Engine, tiny_model: Path) -> None:
    result, events = run(engine, req(tiny_model, width=256, height=256, seed=-1))
    assert isinstance(result, Finished)
    seed = result.images[0].seed
    assert seed >= 0
    assert [e.seed for e in events if isinstance(e, JobStarted)] == [seed]
    meta = json.loads(Image.open(result.images[0].path).text[OUR_CHUNK])
    assert meta["request"]["seed"] == seed


@pytest.mark.parametrize("cancel_at", [1, 4, 8])
def test_cancel_writes_nothing_and_engine_stays_usable(engine: Engine, tiny_model: Path, cancel_at: int) -> None:
    token = CancelToken()
    events: list[Event] = []

    def on_event(event: Event) -> None:
        events.append(event)
        if isinstance(event, Step) and event.step == cancel_at:
            token.cancel()

    result = engine.run(req(tiny_model, width=256, height=256), on_event, token)
    assert isinstance(result, Cancelled)
    assert outputs(engine) == []
    assert max(e.step for e in events if isinstance(e, Step)) == cancel_at
    again, _ = run(engine, req(tiny_model, width=256, height=256))
    assert isinstance(again, Finished) and len(outputs(engine)) == 1


def test_metadata_round_trip_with_chinese_prompt(engine: Engine, tiny_model: Path) -> None:
    from zit_desktop.core.metadata.read import read_params

    result, _ = run(engine, req(tiny_model, prompt="一只橘色的猫，坐在窗台上", width=256, height=256, seed=42))
    assert isinstance(result, Finished)
    path = result.images[0].path
    params = read_params(path)
    assert params.source == "zit-desktop"
    assert (params.prompt, params.seed, params.width, params.height, params.steps) == (
        "一只橘色的猫，坐在窗台上", 42, 256, 256, 8,
    )
    text = Image.open(path).text
    assert "一只橘色的猫，坐在窗台上" in text[A1111_CHUNK] and "Seed: 42" in text[A1111_CHUNK]
    env = json.loads(text[OUR_CHUNK])["environment"]
    assert {"app", "diffusers", "torch", "device", "dtype"} <= set(env)
    assert Path(path).name.endswith("_s42.png")


def test_missing_invalid_and_corrupt_models_fail_with_advice(engine: Engine, tmp_path: Path, tiny_model: Path) -> None:
    missing, _ = run(engine, req(tmp_path / "nope"))
    assert isinstance(missing, Failed) and missing.kind == "model-missing" and "download" in missing.message.lower()

    not_a_model = tmp_path / "pictures"
    not_a_model.mkdir()
    invalid, _ = run(engine, req(not_a_model))
    assert isinstance(invalid, Failed) and invalid.kind == "model-invalid" and "model_index.json" in invalid.message

    other = tmp_path / "sdxl"
    other.mkdir()
    (other / "model_index.json").write_text(json.dumps({"_class_name": "StableDiffusionXLPipeline"}))
    wrong, _ = run(engine, req(other))
    assert isinstance(wrong, Failed) and wrong.kind == "model-invalid" and "StableDiffusionXLPipeline" in wrong.message

    broken = tmp_path / "broken"
    shutil.copytree(tiny_model, broken)
    weights = broken / "transformer" / "diffusion_pytorch_model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    corrupt, _ = run(engine, req(broken))
    assert isinstance(corrupt, Failed) and corrupt.kind == "model-corrupt"
    assert "download" in corrupt.message.lower()

    not_cached, _ = run(engine, req(Path("Someone/Not-Downloaded")))
    assert isinstance(not_cached, Failed) and not_cached.kind == "model-missing"

    ok, _ = run(engine, req(tiny_model, width=256, height=256))
    assert isinstance(ok, Finished)


def test_bad_request_is_a_failed_event_not_an_exception(engine: Engine, tiny_model: Path) -> None:
    result, events = run(engine, req(tiny_model, width=300, height=256))
    assert isinstance(result, Failed) and result.kind == "bad-input" and "Try 304" in result.message
    assert not any(isinstance(e, Loading) for e in events)


def test_negative_prompt_without_guidance_warns(engine: Engine, tiny_model: Path) -> None:
    result, events = run(engine, req(tiny_model, negative_prompt="模糊", width=256, height=256))
    assert isinstance(result, Finished)
    assert any(isinstance(e, Notice) and "no effect" in e.message for e in events)


def test_long_prompt_warns_about_truncation(engine: Engine, tiny_model: Path) -> None:
    result, events = run(engine, req(tiny_model, prompt="a cat sitting on a red chair " * 120, width=256, height=256))
    assert isinstance(result, Finished)
    assert any(isinstance(e, Notice) and e.kind == "prompt-truncated" for e in events)


def test_disk_full_and_unwritable_output_leave_no_file(
    engine: Engine, tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_replace = os.replace

    def full(src: str, dst: str) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", full)
    result, _ = run(engine, req(tiny_model, width=256, height=256))
    assert isinstance(result, Failed) and result.kind == "disk-full" and "Free some space" in result.message
    assert outputs(engine) == []
    monkeypatch.setattr(os, "replace", real_replace)

    engine.paths.outputs.rmdir()
    engine.paths.outputs.write_text("a file where the folder should be")
    result, _ = run(engine, req(tiny_model, width=256, height=256))
    assert isinstance(result, Failed) and result.kind == "unwritable"
    engine.paths.outputs.unlink()
    result, _ = run(engine, req(tiny_model, width=256, height=256))
    assert isinstance(result, Finished)


def test_each_image_of_a_batch_is_announced_as_soon_as_it_is_saved(engine: Engine, tiny_model: Path) -> None:
    from zit_desktop.core.events import ImageSaved

    result, events = run(engine, req(tiny_model, width=256, height=256, seed=5, count=2))
    assert isinstance(result, Finished)
    kinds = [(type(e).__name__, getattr(e, "index", None)) for e in events if isinstance(e, (JobStarted, ImageSaved))]
    assert kinds == [("JobStarted", 0), ("ImageSaved", None), ("JobStarted", 1), ("ImageSaved", None)]
    saved = [e.image for e in events if isinstance(e, ImageSaved)]
    assert saved == list(result.images) and all(Path(im.path).is_file() for im in saved)
