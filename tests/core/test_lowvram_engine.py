"""Low-VRAM engine on the tiny model (CPU): OOM recovery in every phase, the clean failure after the
last rung, the prompt-embedding cache, NaN detection, sysmem-fallback detection, strategy specs."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from zit_desktop.core.engine import Engine, strategies
from zit_desktop.core.engine.embed_cache import EmbedCache, cache_key, text_encoder_identity
from zit_desktop.core.engine.lowvram import SysmemWatch, check_latents
from zit_desktop.core.errors import AppError, ErrorKind
from zit_desktop.core.events import Event, Failed, Finished, JobStarted, Notice
from zit_desktop.core.memory.peak_log import model_key
from zit_desktop.core.memory.rungs import LADDER
from zit_desktop.core.memory.vram import GIB, DeviceInfo, simulated_cuda_device
from zit_desktop.core.paths import app_paths
from zit_desktop.core.request import GenerationRequest
from zit_desktop.core.settings import Settings

SIDE = 256


def make_engine(data_dir: Path, **settings: Any) -> Engine:
    return Engine(app_paths(data_dir).ensure(), Settings(**settings))


def req(model: Path, **kw: Any) -> GenerationRequest:
    base: dict[str, Any] = {"prompt": "一只橘色的猫", "seed": 11, "model": str(model), "width": SIDE,
                            "height": SIDE, "preset": None}  # fmt: skip
    base.update(kw)
    return GenerationRequest(**base)


def pixels(result: Finished) -> np.ndarray:
    return np.asarray(Image.open(result.images[0].path).convert("RGB"))


def inject_oom(engine: Engine, phase: str, on_rungs: set[str], monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make ``phase`` raise torch.OutOfMemoryError while the engine is on one of ``on_rungs``."""
    method = {"encode": "encode", "denoise": "denoise", "decode": "decode"}[phase]
    original = getattr(engine, method)
    hits: list[str] = []

    def flaky(*args: Any, **kwargs: Any) -> Any:
        rung = engine._spec.rung if engine._spec else "?"
        if rung in on_rungs:
            hits.append(rung)
            raise torch.OutOfMemoryError(f"CUDA out of memory. Tried to allocate 2.00 GiB (injected, {rung})")
        return original(*args, **kwargs)

    monkeypatch.setattr(engine, method, flaky)
    return hits


@pytest.fixture(scope="module")
def reference(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    engine = make_engine(tmp_path_factory.mktemp("ref"))
    result = engine.run(req(tiny_model), lambda e: None)
    assert isinstance(result, Finished), result
    return pixels(result)


@pytest.mark.parametrize("phase", ["encode", "denoise", "decode"])
def test_oom_in_each_phase_retries_one_rung_leaner_with_identical_pixels(
    phase: str, tiny_model: Path, data_dir: Path, reference: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(data_dir, low_vram="gpu")  # no GPU here: a forced rung keeps the ladder
    hits = inject_oom(engine, phase, {"gpu"}, monkeypatch)
    events: list[Event] = []
    result = engine.run(req(tiny_model), events.append)
    assert isinstance(result, Finished), result
    assert hits == ["gpu"]
    (image,) = result.images
    assert (image.strategy, image.oom_retries) == ("cpu", 1)  # what ran here; the ladder stepped once
    notices = [e for e in events if isinstance(e, Notice) and e.kind == "oom-retry"]
    assert len(notices) == 1
    assert notices[0].detail == {"from": "gpu", "to": "model-offload", "phase": phase, "retry": 1}
    assert [e.strategy for e in events if isinstance(e, JobStarted)] == ["cpu"]
    assert np.array_equal(pixels(result), reference)  # same seed, same image

    # the engine remembers: the next job of this size starts on the rung that worked
    assert engine.choose_plan(req(tiny_model, seed=12)).rung == "model-offload"
    result2 = engine.run(req(tiny_model, seed=12), lambda e: None)
    assert isinstance(result2, Finished) and result2.images[0].strategy == "cpu"
    assert result2.images[0].oom_retries == 0


def test_oom_on_every_rung_fails_cleanly_then_the_next_job_works(
    tiny_model: Path, data_dir: Path, reference: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(data_dir, low_vram="gpu")
    hits = inject_oom(engine, "denoise", set(LADDER), monkeypatch)
    events: list[Event] = []
    result = engine.run(req(tiny_model), events.append)
    assert isinstance(result, Failed), result
    assert result.kind == ErrorKind.OUT_OF_MEMORY.value == "out-of-memory"
    assert hits == list(LADDER)
    assert "Out of system memory (RAM) at 256×256 on the CPU" in result.message  # no GPU here
    assert "Close other programs" in result.message  # a suggestion, never a traceback
    assert "OutOfMemoryError during denoise on 'sequential'" in result.detail
    retries = [e.detail["to"] for e in events if isinstance(e, Notice) and e.kind == "oom-retry"]
    assert retries == list(LADDER[1:])
    monkeypatch.undo()  # the card has memory again
    ok = engine.run(req(tiny_model), lambda e: None)
    assert isinstance(ok, Finished) and np.array_equal(pixels(ok), reference)


def test_oom_failure_names_the_largest_preset_that_fits(tiny_model: Path, data_dir: Path) -> None:
    engine = make_engine(data_dir)
    engine.lowvram.device_override = lambda: simulated_cuda_device(6)
    err = engine.lowvram.out_of_memory(req(tiny_model, width=2048, height=2048), None, "detail")
    assert isinstance(err, AppError) and err.kind is ErrorKind.OUT_OF_MEMORY
    assert "1024×1024" in err.message
    engine.lowvram.device_override = lambda: simulated_cuda_device(0.5)
    assert "No size smaller than 256×256" in engine.lowvram.out_of_memory(req(tiny_model), None, "").message


def test_second_job_with_the_same_prompt_skips_the_text_encoder(
    tiny_model: Path, data_dir: Path, reference: np.ndarray
) -> None:
    engine = make_engine(data_dir)
    assert isinstance(engine.run(req(tiny_model, seed=3), lambda e: None), Finished)
    calls: list[int] = []
    handle = engine.pipeline.text_encoder.register_forward_hook(lambda *a: calls.append(1))
    cached = engine.run(req(tiny_model), lambda e: None)
    assert isinstance(cached, Finished)
    assert calls == []  # zero text-encoder forwards
    assert np.array_equal(pixels(cached), reference)  # identical to an uncached run
    engine.run(req(tiny_model, prompt="a different prompt"), lambda e: None)
    assert len(calls) == 1
    handle.remove()

    # the disk tier survives a new engine (a new session)
    fresh = make_engine(data_dir)
    fresh.load(str(tiny_model), lambda e: None)
    calls2: list[int] = []
    fresh.pipeline.text_encoder.register_forward_hook(lambda *a: calls2.append(1))
    again = fresh.run(req(tiny_model), lambda e: None)
    assert isinstance(again, Finished) and calls2 == [] and np.array_equal(pixels(again), reference)
    assert fresh._embed_cache.disk_hits == 1


def test_embed_cache_lru_keys_and_corrupt_files(tmp_path: Path, tiny_model: Path) -> None:
    a, b = [torch.randn(5, 4)], [torch.randn(3, 4)]
    cache = EmbedCache(capacity=2, disk_dir=tmp_path / "emb", disk_capacity=2)
    enc = text_encoder_identity(tiny_model, torch.float32)
    assert (
        enc == text_encoder_identity(tiny_model, torch.float32) != text_encoder_identity(tiny_model, "bf16")
    )
    keys = [cache_key(f"p{i}", "neg", enc, 512, False) for i in range(3)]
    assert cache_key("p", "x", enc, 512, False) == cache_key("p", "y", enc, 512, False)  # no CFG: neg unused
    assert cache_key("p", "x", enc, 512, True) != cache_key("p", "y", enc, 512, True)
    assert cache_key("p", "", enc, 512, False) != cache_key("p", "", enc, 256, False)
    for k in keys:
        cache.put(k, a, b)
    assert len(cache) == 2 and len(list((tmp_path / "emb").glob("*.safetensors"))) == 2
    got = cache.get(keys[2])
    assert got is not None and torch.equal(got[0][0], a[0]) and torch.equal(got[1][0], b[0])
    got[0][0].add_(1)  # callers get copies
    assert torch.equal(cache.get(keys[2])[0][0], a[0])  # type: ignore[index]
    cache.clear()
    (tmp_path / "emb" / f"{keys[2]}.safetensors").write_bytes(b"garbage")
    assert cache.get(keys[2]) is None and not (tmp_path / "emb" / f"{keys[2]}.safetensors").exists()


def test_nan_latents_fail_with_the_fix(
    tiny_model: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(data_dir)
    original = engine.denoise
    monkeypatch.setattr(engine, "denoise", lambda *a, **k: original(*a, **k) * float("nan"))
    before = set(engine.paths.outputs.rglob("*.png"))
    result = engine.run(req(tiny_model), lambda e: None)
    assert isinstance(result, Failed) and result.kind == "numerical-overflow"
    assert "black" in result.message and "fp8" in result.message
    assert set(engine.paths.outputs.rglob("*.png")) == before  # nothing saved
    with pytest.raises(AppError):
        check_latents(torch.tensor([1.0, float("inf")]))
    check_latents(torch.zeros(3))


def test_sysmem_fallback_watch() -> None:
    full = replace(simulated_cuda_device(8), used_bytes=int(7.9 * GIB), free_bytes=int(0.1 * GIB))
    roomy = simulated_cuda_device(8, free_gib=4)
    watch = SysmemWatch(lambda: full)
    assert [watch.observe(s) for s in (3.0, 1.0, 1.1, 0.9)] == [False] * 4  # step 1 is warm-up
    assert watch.observe(4.5) is True  # >= 4x the median step with VRAM full
    assert watch.observe(9.0) is False  # once per job
    calm = SysmemWatch(lambda: roomy)
    assert not any(calm.observe(s) for s in (1.0, 1.0, 1.0, 10.0))  # slow but VRAM not full
    cpu = SysmemWatch(lambda: DeviceInfo(kind="cpu", name="CPU"))
    assert not any(cpu.observe(s) for s in (1.0, 1.0, 1.0, 10.0))


def test_strategy_specs_and_undo_rules() -> None:
    class P:
        rung, fp8, vae_tiling, text_encoder_on_cpu, group_offload_low_cpu_mem = (
            "group-offload",
            True,
            True,
            False,
            True,
        )

    spec = strategies.StrategySpec.from_plan(P())
    assert spec == strategies.StrategySpec("group-offload", True, True, False, True)
    cpu = spec.effective(torch.device("cpu"))
    assert cpu == strategies.StrategySpec("group-offload", device="cpu")  # plain CPU execution
    assert strategies.can_undo_in_place(cpu)
    assert not strategies.can_undo_in_place(spec)
    assert strategies.needs_reload(spec, strategies.StrategySpec("gpu"))
    assert not strategies.needs_reload(
        strategies.StrategySpec("gpu"), strategies.StrategySpec("model-offload")
    )
    assert strategies.needs_reload(strategies.StrategySpec("gpu", fp8=True), strategies.StrategySpec("gpu"))
    mo = strategies.StrategySpec("model-offload", text_encoder_on_cpu=True).effective(torch.device("cuda"))
    assert not mo.text_encoder_on_cpu


def test_fp8_storage_keeps_sensitive_layers_and_vae_tiling(tiny_model: Path) -> None:
    from diffusers import ZImagePipeline

    pipe = ZImagePipeline.from_pretrained(str(tiny_model), dtype=torch.float32)
    strategies.enable_fp8(pipe.transformer, torch.float32)
    t = pipe.transformer
    assert t.layers[0].attention.to_q.weight.dtype == strategies.FP8_DTYPE
    assert t.layers[0].feed_forward.w1.weight.dtype == strategies.FP8_DTYPE
    assert t.layers[0].adaLN_modulation[0].weight.dtype == torch.float32
    assert next(iter(t.all_final_layer.values())).linear.weight.dtype == torch.float32
    assert t.t_embedder.mlp[0].weight.dtype == torch.float32
    assert t.cap_embedder[1].weight.dtype == torch.float32
    assert next(iter(t.all_x_embedder.values())).weight.dtype == torch.float32
    assert t.layers[0].attention_norm1.weight.dtype == torch.float32
    # it still runs (upcast per layer)
    with torch.no_grad():
        out = pipe(prompt="cat", height=256, width=256, num_inference_steps=2, guidance_scale=0.0,
                   generator=torch.Generator("cpu").manual_seed(0), output_type="latent").images  # fmt: skip
    assert torch.isfinite(out).all()
    strategies._set_vae_tiling(pipe, True)
    assert pipe.vae.use_tiling and pipe.vae.tile_latent_min_size == 64
    strategies._set_vae_tiling(pipe, False)
    assert not pipe.vae.use_tiling and pipe.vae.tile_sample_min_size == 1024


def test_each_image_measures_peak_rss_and_the_advisor_learns_it_for_a_real_model_only(
    tiny_model: Path, data_dir: Path, tmp_path: Path
) -> None:
    engine = make_engine(data_dir)
    result = engine.run(req(tiny_model, count=2), lambda e: None)
    assert isinstance(result, Finished), result
    first, second = (im.peak_ram_bytes for im in result.images)
    assert first is not None and second is not None and first >= 50 * 1024**2  # python + torch + the model
    # the tiny model says it is a test model: its peaks (mostly Python and torch) would teach every
    # real model's predictions a ratio that has nothing to do with them
    assert engine.lowvram.advisor.peak_records() == ()
    assert not (data_dir / "cache" / "peak_log.json").exists()
    from zit_desktop.core.history.files import read_our_metadata, result_from_record

    record = read_our_metadata(Path(result.images[0].path))  # the PNG's JSON record carries it too
    assert record is not None and record.info["peak_ram_bytes"] == first
    assert result_from_record(record, result.images[0].path).peak_ram_bytes == first
    # the same files without the marker are a model the engine learns from, named by what it planned
    import shutil

    from zit_desktop.core.engine.tiny_model import TEST_MODEL_MARKER

    unmarked = shutil.copytree(tiny_model, tmp_path / "own-model", ignore=shutil.ignore_patterns(TEST_MODEL_MARKER))
    result = engine.run(req(unmarked, count=2, variant="custom"), lambda e: None)
    assert isinstance(result, Finished), result
    ram = [r for r in engine.lowvram.advisor.peak_records() if r.kind == "ram"]
    assert len(ram) == 2 and all(r.rung == "cpu" and r.measured_bytes > 0 and r.predicted_bytes > 0 for r in ram)
    key = model_key(engine.lowvram.profile(unmarked, req(unmarked, variant="custom")))
    assert key.startswith("custom:") and {r.model for r in ram} == {key}


def test_rss_sampler_keeps_the_peak_of_each_stretch() -> None:
    from zit_desktop.core.memory.rss import RssSampler, current_rss

    now = current_rss()
    assert now is not None and now > 0
    sampler = RssSampler(interval=0.01).start()
    blob = bytearray(64 * 1024**2)  # 64 MiB touched while sampling
    blob[::4096] = b"x" * len(blob[::4096])
    import time

    time.sleep(0.1)
    del blob
    peak = sampler.take_peak()
    assert peak is not None and peak >= now + 48 * 1024**2
    later = sampler.stop()
    assert later is not None and later < peak  # a new stretch after take_peak
