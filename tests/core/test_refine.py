"""Refine (two-stage generation, second stage) on the tiny real Z-Image pipeline, CPU, small sizes."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from zit_desktop.core.engine import Engine
from zit_desktop.core.engine.refine import img2img_pipeline, refine_sigmas, shifted_sigmas
from zit_desktop.core.events import Cancelled, CancelToken, Event, Finished, ImageRecorded, Notice, Step
from zit_desktop.core.history import HistoryStore
from zit_desktop.core.jobs import run_and_record
from zit_desktop.core.metadata.a1111 import parse_a1111_parameters
from zit_desktop.core.metadata.chunks import A1111_CHUNK, OUR_CHUNK
from zit_desktop.core.paths import app_paths
from zit_desktop.core.request import Finalize, GenerationRequest
from zit_desktop.core.settings import Settings

PROMPT = "一只橘色的猫"


def smooth_source(path: Path, side: int = 128, seed: int = 0) -> Path:
    """A smooth synthetic picture (gradients and blobs), saved as a plain PNG."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:side, 0:side] / side
    rgb = np.stack([x, y, 0.5 + 0.5 * np.sin(6 * x + 4 * y)], axis=-1)
    for _ in range(4):
        cx, cy, r = rng.uniform(0.2, 0.8, 3)
        rgb += 0.4 * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (0.05 * r))[..., None] * rng.uniform(-1, 1, 3)
    Image.fromarray((np.clip(rgb, 0, 1) * 255).astype(np.uint8)).save(path)
    return path


def refine_req(model: Path, source: Path, side: int = 256, **finalize: Any) -> GenerationRequest:
    f: dict[str, Any] = {"tile": 0}
    f.update(finalize)
    return GenerationRequest(
        prompt=PROMPT, seed=5, model=str(model), width=side, height=side, preset=None,
        finalize=Finalize(source=str(source), **f),
    )  # fmt: skip


def pixels(path: str | Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def run(
    engine: Engine, request: GenerationRequest, cancel: CancelToken | None = None
) -> tuple[Any, list[Event]]:
    events: list[Event] = []
    return engine.run(request, events.append, cancel), events


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    return Engine(app_paths(tmp_path_factory.mktemp("refine-home")).ensure())


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return smooth_source(tmp_path_factory.mktemp("src") / "source.png")


@pytest.fixture(scope="module")
def whole(engine: Engine, tiny_model: Path, source: Path) -> Finished:
    result, _ = run(engine, refine_req(tiny_model, source))
    assert isinstance(result, Finished), result
    return result


# ---- the schedule ----------------------------------------------------------------------------------
@pytest.mark.parametrize("change", [0.1, 0.35, 0.5, 0.8, 1.0])
def test_change_is_the_noise_level_the_first_step_really_starts_from(change: float) -> None:
    from diffusers import FlowMatchEulerDiscreteScheduler

    sched = FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=3.0, use_dynamic_shifting=False)
    sigmas = refine_sigmas(change, 8, 3.0)
    really = shifted_sigmas(sched, sigmas)
    assert really[0] == pytest.approx(change, abs=1e-6)
    assert len(really) == int(np.ceil(8 * change - 1e-9))
    assert all(a > b for a, b in zip(really, really[1:], strict=False))  # strictly decreasing to 0
    if change == 1.0:  # repaint: exactly the text-to-image schedule
        assert sigmas == pytest.approx(torch.linspace(1.0, 1 / 8, 8).tolist())
    assert refine_sigmas(0.0, 8, 3.0) == []


# ---- the image ------------------------------------------------------------------------------------
def test_refine_gives_the_target_size_and_equals_a_direct_img2img_call(
    whole: Finished, tiny_model: Path, source: Path
) -> None:
    from diffusers import ZImageImg2ImgPipeline, ZImagePipeline

    (image,) = whole.images
    ours = pixels(image.path)
    assert ours.shape == (256, 256, 3) and (image.width, image.height) == (256, 256)
    pipe = ZImagePipeline.from_pretrained(str(tiny_model), dtype=torch.float32)
    direct = ZImageImg2ImgPipeline(**pipe.components)
    direct.set_progress_bar_config(disable=True)
    sigmas = refine_sigmas(0.35, 8, 3.0)
    ref = direct(
        prompt=PROMPT, image=Image.open(source).convert("RGB").resize((256, 256), Image.Resampling.LANCZOS),
        strength=1.0, sigmas=sigmas, height=256, width=256, guidance_scale=0.0,
        generator=torch.Generator("cpu").manual_seed(5),
    ).images[0]  # fmt: skip
    assert np.array_equal(ours, np.asarray(ref))
    facts = image.environment["finalize"]
    assert facts["steps"] == 3 and facts["start_sigma"] == pytest.approx(0.35, abs=1e-6)
    assert set(image.timings) >= {"encode", "upscale", "denoise", "decode", "save"}


def test_same_seed_same_pixels_other_seed_other_pixels(
    engine: Engine, whole: Finished, tiny_model: Path, source: Path
) -> None:
    again, events = run(engine, refine_req(tiny_model, source))
    assert isinstance(again, Finished)
    assert np.array_equal(pixels(again.images[0].path), pixels(whole.images[0].path))
    assert [e.step for e in events if isinstance(e, Step)] == [1, 2, 3]
    other, _ = run(engine, replace(refine_req(tiny_model, source), seed=6))
    assert isinstance(other, Finished)
    assert not np.array_equal(pixels(other.images[0].path), pixels(whole.images[0].path))


def test_nothing_may_change_gives_the_lanczos_upscale(engine: Engine, tiny_model: Path, source: Path) -> None:
    result, events = run(engine, refine_req(tiny_model, source, change=0.0))
    assert isinstance(result, Finished), result
    expected = np.asarray(Image.open(source).convert("RGB").resize((256, 256), Image.Resampling.LANCZOS))
    assert np.array_equal(pixels(result.images[0].path), expected)
    assert not [e for e in events if isinstance(e, Step)]


def test_text_to_image_keeps_its_dtype_modules_and_pixels_after_img2img(
    engine: Engine, whole: Finished, tiny_model: Path
) -> None:
    t2i = GenerationRequest(prompt=PROMPT, seed=9, model=str(tiny_model), width=256, height=256, preset=None)
    pipe = ZImagePipelineBf16.load(tiny_model)
    before = {n: p.dtype for n, p in pipe.transformer.named_parameters()}
    i2i = img2img_pipeline(pipe)
    assert i2i is img2img_pipeline(pipe)  # built once per loaded pipeline
    for name in ("transformer", "vae", "text_encoder"):
        assert getattr(i2i, name) is getattr(pipe, name)  # shared, not copied
    assert {n: p.dtype for n, p in pipe.transformer.named_parameters()} == before
    assert (
        {p.dtype for p in pipe.vae.parameters()}
        == {p.dtype for p in pipe.text_encoder.parameters()}
        == {torch.bfloat16}
    )
    # the engine: text-to-image before and after a refine on the same loaded pipeline
    first, _ = run(engine, t2i)
    assert engine.pipeline._zit_img2img is not None  # the refine above built it on this pipeline
    refined, _ = run(engine, refine_req(tiny_model, Path(first.images[0].path), side=320))
    assert isinstance(refined, Finished)
    second, _ = run(engine, t2i)
    assert np.array_equal(pixels(first.images[0].path), pixels(second.images[0].path))


class ZImagePipelineBf16:
    @staticmethod
    def load(model: Path) -> Any:
        from diffusers import ZImagePipeline

        return ZImagePipeline.from_pretrained(str(model), dtype=torch.bfloat16)


# ---- history and metadata ---------------------------------------------------------------------------
def test_the_refined_image_is_a_child_of_its_source_and_says_so(tiny_model: Path, data_dir: Path) -> None:
    paths = app_paths(data_dir).ensure()
    engine = Engine(paths)
    store = HistoryStore.for_paths(paths)
    events: list[Event] = []
    first = run_and_record(
        engine, store, GenerationRequest(prompt=PROMPT, seed=4, model=str(tiny_model), width=256, height=256,
                                         preset=None), events.append)  # fmt: skip
    assert isinstance(first, Finished)
    (src_id,) = [e.row_id for e in events if isinstance(e, ImageRecorded)]
    src = first.images[0].path
    events.clear()
    request = GenerationRequest(
        prompt=PROMPT, seed=4, model=str(tiny_model), width=384, height=384, preset=None,
        finalize=Finalize(source=src, source_id=src_id),
    )  # fmt: skip
    refined = run_and_record(engine, store, request, events.append)  # no parent_id: it comes from the request
    assert isinstance(refined, Finished), refined
    (child_id,) = [e.row_id for e in events if isinstance(e, ImageRecorded)]
    assert [r.id for r in store.children(src_id)] == [child_id]
    assert [r.id for r in store.ancestors(child_id)] == [src_id]
    assert store.id_for_path(src) == src_id
    row = store.get(child_id)
    assert row is not None and row.parent_id == src_id
    lineage = row.environment["finalize"]
    assert (lineage["method"], lineage["source_id"], lineage["upscaler"]) == ("refine", src_id, "lanczos")
    assert lineage["change"] == 0.35 and lineage["source_seed"] == 4 and lineage["tiles"] >= 1
    png = Image.open(refined.images[0].path)
    text = png.text[A1111_CHUNK]
    parsed = parse_a1111_parameters(text)
    assert parsed is not None
    settings = parsed[2]
    assert settings["Refined from"] == Path(src).name
    assert (settings["Source seed"], settings["Denoising strength"], settings["Upscaler"]) == (
        "4",
        "0.35",
        "lanczos",
    )
    assert settings["Refine sigmas"].split()[0] == "0.35"
    record = json.loads(png.text[OUR_CHUNK])
    assert record["request"]["finalize"]["source_id"] == src_id
    assert record["request"]["finalize"]["tile"] in (0, 1024, 768, 512)  # the planner's choice, stored
    assert record["info"]["finalize"]["shifted_sigmas"][0] == pytest.approx(0.35)
    # the history rebuilt from the files keeps the lineage facts of the row
    store.close()
    rebuilt = HistoryStore(data_dir / "rebuilt.sqlite3", outputs_dir=paths.outputs)
    assert rebuilt.rebuild_from_folder(paths.outputs) == 2
    rows = {Path(r.path).name: r for r in rebuilt.page(0, 10)}
    assert rows[Path(refined.images[0].path).name].environment["finalize"]["method"] == "refine"
    rebuilt.close()


# ---- cancel and out of memory -----------------------------------------------------------------------
def test_cancel_during_the_refine_saves_nothing(engine: Engine, tiny_model: Path, source: Path) -> None:
    cancel = CancelToken()
    before = set(engine.paths.outputs.glob("*.png"))
    events: list[Event] = []

    def on_event(event: Event) -> None:
        events.append(event)
        if isinstance(event, Step) and event.step == 1:
            cancel.cancel()

    result = engine.run(refine_req(tiny_model, source, tile=256, change=0.5), on_event, cancel)
    assert isinstance(result, Cancelled) and result.images == ()
    assert [e.step for e in events if isinstance(e, Step)] == [1]  # the other tiles never start
    assert set(engine.paths.outputs.glob("*.png")) == before


@pytest.mark.parametrize("phase", ["encode", "denoise", "decode"])
def test_oom_in_a_refine_retries_one_rung_leaner_with_identical_pixels(
    phase: str,
    whole: Finished,
    tiny_model: Path,
    source: Path,
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    engine = Engine(app_paths(data_dir).ensure(), Settings(low_vram="gpu"))
    original = getattr(engine, phase)
    hits: list[str] = []

    def flaky(*args: Any, **kwargs: Any) -> Any:
        rung = engine._spec.rung if engine._spec else "?"
        if rung == "gpu":
            hits.append(rung)
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB (injected)")
        return original(*args, **kwargs)

    monkeypatch.setattr(engine, phase, flaky)
    result, events = run(engine, refine_req(tiny_model, source))
    assert isinstance(result, Finished), result
    (image,) = result.images
    assert hits == ["gpu"] and (image.strategy, image.oom_retries) == ("cpu", 1)  # what ran; one step down
    notices = [e for e in events if isinstance(e, Notice) and e.kind == "oom-retry"]
    assert len(notices) == 1
    assert notices[0].detail == {"from": "gpu", "to": "model-offload", "phase": phase, "retry": 1}
    assert engine.choose_plan(refine_req(tiny_model, source)).rung == "model-offload"  # remembered
    assert np.array_equal(pixels(image.path), pixels(whole.images[0].path))  # same seed, same picture


def test_img2img_runs_under_the_offload_hooks_of_the_text_to_image_pipeline(
    tiny_model: Path, source: Path
) -> None:
    """The strategies hook modules, not pipelines, so the img2img pipeline built over the same modules
    runs under them. Group / leaf offload (diffusers hooks; onloading to the CPU here): identical pixels.
    Model CPU offload (accelerate hooks): the same pixels up to 1 LSB, the deviation text-to-image itself
    shows under model offload on the CPU (accelerate's hooks change the kernels' summation order)."""
    from diffusers import ZImagePipeline
    from diffusers.hooks.group_offloading import apply_group_offloading

    def load() -> Any:
        pipe = ZImagePipeline.from_pretrained(str(tiny_model), dtype=torch.float32)
        pipe.set_progress_bar_config(disable=True)
        return pipe

    image = Image.open(source).convert("RGB").resize((256, 256), Image.Resampling.LANCZOS)

    def refine(pipe: Any) -> np.ndarray:
        out = img2img_pipeline(pipe)(
            prompt=PROMPT, image=image, strength=1.0, sigmas=refine_sigmas(0.35, 8, 3.0), height=256, width=256,
            guidance_scale=0.0, generator=torch.Generator("cpu").manual_seed(5),
        ).images[0]  # fmt: skip
        return np.asarray(out).astype(int)

    plain = refine(load())
    cpu = torch.device("cpu")
    grouped = load()
    for module in (grouped.transformer, grouped.text_encoder):
        apply_group_offloading(module, onload_device=cpu, offload_device=cpu, offload_type="leaf_level")
    assert img2img_pipeline(grouped).transformer._diffusers_hook is not None
    assert np.array_equal(refine(grouped), plain)
    offloaded = load()
    offloaded.enable_model_cpu_offload(device="cpu")
    i2i = img2img_pipeline(offloaded)
    assert all(hasattr(getattr(i2i, n), "_hf_hook") for n in ("transformer", "vae", "text_encoder"))
    first = refine(offloaded)
    assert np.abs(first - plain).max() <= 1 and np.array_equal(refine(offloaded), first)


def test_refine_through_an_sr_upscaler_model_file(
    engine: Engine, whole: Finished, tiny_model: Path, source: Path, tmp_path: Path
) -> None:
    from tests.core.upscaler_models import save_compact

    model_file = save_compact(tmp_path / "compact-x4.pth", scale=4)
    result, _ = run(engine, refine_req(tiny_model, source, upscaler=str(model_file)))
    assert isinstance(result, Finished), result
    (image,) = result.images
    assert (image.width, image.height) == (256, 256)
    ran = image.environment["finalize"]["upscale"]
    assert (ran["scale"], ran["model_scale"], ran["passes"]) == (2, 4, 1)  # x4 once, Lanczos down to x2
    assert ran["device"] == "cpu" and ran["tiles"] >= 1
    assert not np.array_equal(pixels(image.path), pixels(whole.images[0].path))  # another start than Lanczos
    assert f"Upscaler: {model_file}" in Image.open(image.path).text[A1111_CHUNK]
