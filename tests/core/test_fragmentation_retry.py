"""The OOM ladder on a fragmented cache: when a planned rung runs out of memory while the allocator
holds many inactive split bytes, the engine frees the cache and retries the same rung once, then steps
leaner; the pixels stay those of a plain run. Also: the card's temperature and throttle state land in
each image's timings in the history."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from tests.core.test_lowvram_engine import make_engine, pixels, req
from zit_desktop.core.engine.lowvram import FRAGMENTED_BYTES
from zit_desktop.core.events import Event, Finished, JobStarted, Notice
from zit_desktop.core.history import HistoryStore
from zit_desktop.core.jobs import run_and_record
from zit_desktop.core.memory.gpu_probe import GpuHealth
from zit_desktop.core.memory.vram import simulated_cuda_device


@pytest.fixture(scope="module")
def reference(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    result = make_engine(tmp_path_factory.mktemp("ref")).run(req(tiny_model), lambda e: None)
    assert isinstance(result, Finished), result
    return pixels(result)


def oom_in_denoise(engine: Any, rung: str, times: int, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Denoise raises torch.OutOfMemoryError the first ``times`` times it runs on ``rung``."""
    original = engine.denoise
    hits: list[str] = []

    def flaky(*args: Any, **kwargs: Any) -> Any:
        on = engine._spec.rung if engine._spec else "?"
        if on == rung and len(hits) < times:
            hits.append(on)
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 1.20 GiB (injected)")
        return original(*args, **kwargs)

    monkeypatch.setattr(engine, "denoise", flaky)
    return hits


def fake_memory_stats(engine: Any, split: int, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """torch.cuda.memory_stats as a fragmented allocator answers it (the CPU has none)."""
    reads: list[int] = []

    def stats() -> dict[str, int]:
        reads.append(split)
        return {"inactive_split_bytes.all.current": split, "reserved_bytes.all.current": 6 * 1024**3}

    monkeypatch.setattr(engine.lowvram, "memory_stats", stats)
    return reads


def kinds(events: list[Event]) -> list[str]:
    """The notices' kinds, less "no-gpu" (this machine has none: said once per job)."""
    return [e.kind for e in events if isinstance(e, Notice) and e.kind != "no-gpu"]


def test_fragmented_oom_retries_the_same_rung_once_with_identical_pixels(
    tiny_model: Path, data_dir: Path, reference: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(data_dir, low_vram="gpu")
    hits = oom_in_denoise(engine, "gpu", 1, monkeypatch)
    reads = fake_memory_stats(engine, 2 * FRAGMENTED_BYTES, monkeypatch)
    events: list[Event] = []
    result = engine.run(req(tiny_model), events.append)
    assert isinstance(result, Finished), result
    assert hits == ["gpu"] and len(reads) == 1
    (image,) = result.images
    assert image.oom_retries == 1
    assert kinds(events) == ["oom-defrag"]  # the same rung again: no step down the ladder
    (notice,) = [e for e in events if isinstance(e, Notice) and e.kind == "oom-defrag"]
    assert notice.detail["rung"] == "gpu" and notice.detail["inactive_split_bytes"] == 2 * FRAGMENTED_BYTES
    assert len([e for e in events if isinstance(e, JobStarted)]) == 1
    assert np.array_equal(pixels(result), reference)
    # nothing was learned against this size: the next job plans the gpu rung again
    assert engine.choose_plan(req(tiny_model, seed=12)).rung == "gpu"


def test_fragmented_oom_twice_then_steps_leaner_with_identical_pixels(
    tiny_model: Path, data_dir: Path, reference: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(data_dir, low_vram="gpu")
    hits = oom_in_denoise(engine, "gpu", 2, monkeypatch)
    fake_memory_stats(engine, 2 * FRAGMENTED_BYTES, monkeypatch)
    events: list[Event] = []
    result = engine.run(req(tiny_model), events.append)
    assert isinstance(result, Finished), result
    assert hits == ["gpu", "gpu"]  # once more on the same rung, not a third time
    (image,) = result.images
    assert image.oom_retries == 2
    assert kinds(events) == ["oom-defrag", "oom-retry"]
    (step,) = [e for e in events if isinstance(e, Notice) and e.kind == "oom-retry"]
    assert (step.detail["from"], step.detail["to"]) == ("gpu", "model-offload")
    assert engine.choose_plan(req(tiny_model, seed=12)).rung == "model-offload"  # learned this time
    assert np.array_equal(pixels(result), reference)


def test_an_oom_without_fragmentation_steps_leaner_at_once(
    tiny_model: Path, data_dir: Path, reference: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(data_dir, low_vram="gpu")
    hits = oom_in_denoise(engine, "gpu", 1, monkeypatch)
    fake_memory_stats(engine, FRAGMENTED_BYTES // 4, monkeypatch)  # a little split memory is normal
    events: list[Event] = []
    result = engine.run(req(tiny_model), events.append)
    assert isinstance(result, Finished) and hits == ["gpu"]
    assert result.images[0].oom_retries == 1
    assert kinds(events) == ["oom-retry"]
    assert engine.choose_plan(req(tiny_model, seed=12)).rung == "model-offload"
    assert np.array_equal(pixels(result), reference)


def test_each_image_records_the_cards_temperature_and_throttling_in_the_history(
    tiny_model: Path, data_dir: Path
) -> None:
    engine = make_engine(data_dir)
    hot = replace(simulated_cuda_device(24), health=GpuHealth(temperature_c=86.0, sm_clock_mhz=1395,
                                                              throttle_mask=0x20 | 0x1))  # fmt: skip
    engine.lowvram.device_override = lambda: hot
    store = HistoryStore(data_dir / "history.sqlite3")
    try:
        result = run_and_record(engine, store, req(tiny_model, count=2), lambda e: None)
        assert isinstance(result, Finished), result
        rows = store.page(0, 10)
        assert len(rows) == 2
        for row in rows:
            assert row.timings["gpu_temp_c"] == 86.0
            assert row.timings["gpu_thermal_throttle"] == 1.0 and row.timings["gpu_power_throttle"] == 0.0
            assert row.environment["gpu_throttle"] == ["sw-thermal"]
    finally:
        store.close()
    # on the CPU (no NVML) nothing is made up
    cpu = make_engine(data_dir / "cpu").run(req(tiny_model), lambda e: None)
    assert isinstance(cpu, Finished) and "gpu_temp_c" not in cpu.images[0].timings
