"""The memory advisor: one object the engine, the window and doctor share. Profile resolution (folder,
Hub id in the local cache, the packaged published sizes for the default model, unknown otherwise),
calibration from the cache dir, and peaks the engine records reaching every later answer, across threads."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from zit_desktop.core.memory.advisor import MemoryAdvisor, resolve_profile
from zit_desktop.core.memory.fits import Verdict
from zit_desktop.core.memory.peak_model import PlanOptions, calibration_path
from zit_desktop.core.memory.profile import published_profile
from zit_desktop.core.memory.rungs import Rung
from zit_desktop.core.memory.vram import GIB, DeviceInfo, simulated_cuda_device
from zit_desktop.core.paths import app_paths
from zit_desktop.core.request import GenerationRequest
from zit_desktop.core.settings import Settings
from zit_desktop.core.sizes import DEFAULT_MODEL, PRESETS

GPU8 = simulated_cuda_device(8, ram_gib=64)
CPU = DeviceInfo(kind="cpu", name="CPU", system_ram_bytes=32 * GIB, system_ram_available_bytes=24 * GIB)


def fits_by_name(advisor: MemoryAdvisor, device: DeviceInfo = GPU8) -> dict[str, int]:
    return {f.preset: f.predicted_peak_bytes for f in advisor.preset_fits(published_profile(), device)}


@pytest.fixture
def hub_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty local Hugging Face cache for this test."""
    from huggingface_hub import constants

    cache = tmp_path / "hf-cache"
    cache.mkdir()
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    return cache


def put_in_hub_cache(cache: Path, repo_id: str, model: Path) -> Path:
    """Lay ``model`` out as ``snapshot_download`` leaves a download in the cache."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    sha = "0123456789abcdef0123456789abcdef01234567"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(sha)
    snapshot = repo / "snapshots" / sha
    shutil.copytree(model, snapshot)
    return snapshot


# ---- model sizes ---------------------------------------------------------------------------------
def test_a_folder_is_sized_from_its_files_and_cached(tiny_model: Path) -> None:
    advisor = MemoryAdvisor(None)
    first = advisor.resolve(str(tiny_model))
    assert first.from_files and first.folder == tiny_model and str(tiny_model) in first.source
    assert first.profile is not None and first.profile.source == "weights" and first.profile.n_layers == 2
    assert advisor.resolve(str(tiny_model)) is first  # read once


def test_a_hub_id_is_sized_from_the_local_cache_and_the_default_model_before_download(
    tiny_model: Path, hub_cache: Path
) -> None:
    advisor = MemoryAdvisor(None)
    before = advisor.resolve(DEFAULT_MODEL)
    assert before.profile == published_profile() and "published sizes" in before.source
    assert not before.from_files
    snapshot = put_in_hub_cache(hub_cache, DEFAULT_MODEL, tiny_model)
    after = advisor.resolve(DEFAULT_MODEL)  # the stand-in was not cached: now it is read from the download
    assert after.folder == Path(snapshot) and after.profile is not None and after.profile.n_layers == 2


def test_another_model_not_on_disk_is_unknown_and_every_answer_says_so(hub_cache: Path) -> None:
    advisor = MemoryAdvisor(None)
    resolved = resolve_profile("someone/other-model")
    assert resolved.profile is None and "not on this disk" in resolved.source
    assert advisor.profile("someone/other-model") is None
    assert {f.verdict for f in advisor.preset_fits(None, GPU8)} == {Verdict.UNKNOWN}
    assert {f.rung for f in advisor.preset_fits(None, CPU)} == {Rung.CPU}  # where it runs is known
    assert [f.preset for f in advisor.preset_fits(None, None)] == [p.name for p in PRESETS]
    assert advisor.recommended_preset(None, GPU8) is None
    assert advisor.predicted_peak(None, GPU8, 1024, 1024) is None
    # the engine must still choose a rung: it plans with the published sizes (not named bf16: the
    # bf16 variant's learned peaks do not apply to a model that only borrows its sizes)
    assert advisor.planning_profile("someone/other-model") == replace(published_profile(), variant="")
    assert advisor.planning_profile(None) == published_profile()


def test_a_broken_folder_falls_back_to_unknown_not_an_error(tmp_path: Path) -> None:
    (tmp_path / "transformer").mkdir()
    resolved = resolve_profile(tmp_path)
    assert resolved.profile is None and "could not size" in resolved.source


# ---- calibration and learning -------------------------------------------------------------------
def test_calibration_comes_from_the_cache_dir(tmp_path: Path) -> None:
    calibration_path(tmp_path).write_text(json.dumps({"cuda_context_bytes": 123}))
    calibrated = MemoryAdvisor(tmp_path)
    assert calibrated.calibration.cuda_context_bytes == 123
    default = MemoryAdvisor(None)
    assert fits_by_name(default)["512x512"] - fits_by_name(calibrated)["512x512"] == (
        default.calibration.cuda_context_bytes - 123
    )


def test_a_peak_the_engine_records_shows_in_the_window_fits(data_dir: Path) -> None:
    """One advisor: the engine's LowVram records a measured peak (worker thread), the window's fit
    query (GUI thread) sees the corrected prediction at its next refresh, and a new session too."""
    import torch  # the engine side; the advisor itself never imports torch

    from zit_desktop.core.engine.lowvram import LowVram

    paths = app_paths(data_dir).ensure()
    advisor = MemoryAdvisor(paths.cache)
    engine_side = LowVram(paths, Settings(), torch.device("cuda"), advisor)  # no CUDA call is made
    engine_side.device_override = lambda: GPU8
    assert engine_side.advisor is advisor and engine_side.calibration is advisor.calibration
    before = fits_by_name(advisor)["1024x1024"]
    req = GenerationRequest(prompt="cat", width=1024, height=1024, seed=1, preset=None)
    planned = engine_side.plan(req, None)
    assert planned.prediction is not None and planned.predicted_peak_bytes == before
    measured = int(planned.prediction.allocator_bytes * 1.3)
    worker = threading.Thread(target=engine_side.record_peak, args=(planned, req, measured))
    worker.start()
    worker.join()
    assert advisor.measured_jobs == 1
    assert abs(advisor.correction(planned.rung, GPU8, published_profile()) - 1.3) < 1e-6
    after = fits_by_name(advisor)["1024x1024"]
    ctx = advisor.calibration.cuda_context_bytes
    assert abs((after - ctx) / (before - ctx) - 1.3) < 0.01
    assert advisor.predicted_peak(published_profile(), GPU8, 1024, 1024) == after
    assert fits_by_name(MemoryAdvisor(paths.cache))["1024x1024"] == after  # persisted in the cache dir
    # the OOM advice after the last rung reads the same learned peaks
    assert "1024×1024" in engine_side.out_of_memory(req, None, "").message


def test_recording_and_reading_from_several_threads(tmp_path: Path) -> None:
    advisor = MemoryAdvisor(tmp_path)
    planned = advisor.plan(published_profile(), GPU8, 1024, 1024)
    assert planned.prediction is not None
    measured = planned.prediction.allocator_bytes
    errors: list[BaseException] = []

    def record() -> None:
        try:
            for i in range(10):
                advisor.record_peak(planned, 1024, 1024, measured + i, GPU8)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    def read() -> None:
        try:
            for _ in range(20):
                assert len(advisor.preset_fits(published_profile(), GPU8)) == len(PRESETS)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=record) for _ in range(4)] + [threading.Thread(target=read)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert advisor.measured_jobs == 40 and len(MemoryAdvisor(tmp_path).peak_records()) == 40


def test_learning_off_records_nothing(tmp_path: Path) -> None:
    advisor = MemoryAdvisor(tmp_path, learn=False)
    planned = advisor.plan(published_profile(), GPU8, 1024, 1024, PlanOptions())
    assert advisor.record_peak(planned, 1024, 1024, 10 * planned.predicted_peak_bytes, GPU8) is None
    assert advisor.measured_jobs == 0 and not (tmp_path / "peak_log.json").exists()
    cpu_plan = advisor.plan(published_profile(), CPU, 512, 512)
    assert MemoryAdvisor(tmp_path).record_peak(cpu_plan, 512, 512, 1, CPU) is None  # no GPU rung: nothing


def test_recommended_preset_and_predicted_peak_on_devices() -> None:
    advisor = MemoryAdvisor(None)
    best = advisor.recommended_preset(published_profile(), GPU8)
    assert best is not None and best.preset == "1024x1024" and best.rung == Rung.GROUP_OFFLOAD
    on_cpu = advisor.recommended_preset(published_profile(), CPU)
    assert on_cpu is not None and on_cpu.preset == "512x512"
    assert advisor.predicted_peak(published_profile(), CPU, 512, 512) is None  # no VRAM on the CPU
    forced = PlanOptions(forced_rung=Rung.SEQUENTIAL)
    lean = advisor.predicted_peak(published_profile(), GPU8, 1024, 1024, forced)
    auto = advisor.predicted_peak(published_profile(), GPU8, 1024, 1024)
    assert lean is not None and auto is not None and lean < auto


def test_the_advisor_answers_without_torch_or_qt() -> None:
    code = (
        "import sys\nfrom zit_desktop.core.memory.advisor import MemoryAdvisor\n"
        "from zit_desktop.core.memory.vram import simulated_cuda_device\n"
        "a = MemoryAdvisor(None)\np = a.profile('Tongyi-MAI/Z-Image-Turbo')\n"
        "assert len(a.preset_fits(p, simulated_cuda_device(8))) == 5\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in {'torch', 'diffusers', 'PySide6'})\n"
        "print(bad); sys.exit(1 if bad else 0)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
