"""A plan is a variant and a rung: RAM, VRAM and disk decide which catalogue variant this machine gets.
The doctor lines of issue 9's "Done when", monotonicity in RAM and VRAM, the CPU, disk, learning RSS."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from zit_desktop.core.memory.advisor import MemoryAdvisor
from zit_desktop.core.memory.peak_model import Calibration, PlanOptions
from zit_desktop.core.memory.profile import published_profile
from zit_desktop.core.memory.ram import predict_ram, ram_budget
from zit_desktop.core.memory.rungs import LADDER, Rung
from zit_desktop.core.memory.variants import VariantVerdict, variant_profile
from zit_desktop.core.memory.vram import GIB, DeviceInfo, simulated_cuda_device
from zit_desktop.core.models.cache import free_disk_bytes
from zit_desktop.core.models.catalogue import catalogue, variant

ORDER = [str(v.id) for v in catalogue()]  # best quality first
PLENTY_OF_DISK = 500 * 10**9


def doctor_json(*args: str, data_dir: Path) -> dict:  # type: ignore[type-arg]
    proc = subprocess.run(
        [sys.executable, "-m", "zit_desktop", "--data-dir", str(data_dir), "doctor", "--json", *args],
        check=False, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def recommended_row(report: dict) -> dict:  # type: ignore[type-arg]
    v = report["variants"]
    return next(r for r in v["table"] if r["variant"] == v["variant"])


# ---- issue 9, "Done when" -------------------------------------------------------------------------
def test_doctor_on_a_6_gb_16_gb_laptop_recommends_a_variant_within_12_gb_ram_and_5_5_gb_vram(
    tmp_path: Path,
) -> None:
    report = doctor_json("--simulate-vram", "6", "--simulate-ram", "16", "--simulate-disk", "200", data_dir=tmp_path)
    assert report["simulated"] and report["simulated_ram"]
    assert report["device"]["system_ram_bytes"] == 16 * GIB
    v = report["variants"]
    assert v["fits"] and v["variant"] == report["recommended_variant"]
    row = recommended_row(report)
    assert (row["width"], row["height"]) == (1024, 1024)
    assert 0 < row["predicted_ram_bytes"] <= 12e9
    assert 0 < row["predicted_vram_bytes"] <= 5.5e9
    assert row["verdict"] == "fits" and row["rung"] in LADDER
    # bf16 (20.5 GB of weights) and int8 do not fit 16 GB of RAM; the table says so for each
    verdicts = {r["variant"]: r["verdict"] for r in v["table"]}
    assert verdicts["bf16"] == verdicts["sdnq-int8"] == "needs-more-ram"
    assert set(verdicts) == set(ORDER) and all(r["presets"] and r["reasons"] for r in v["table"])


def test_doctor_on_a_24_gb_64_gb_machine_recommends_bf16(tmp_path: Path) -> None:
    # the disk too: bf16 is a 30.6 GiB download, more than a busy test machine may have free
    report = doctor_json("--simulate-vram", "24", "--simulate-ram", "64", "--simulate-disk", "200",
                         data_dir=tmp_path)
    assert report["recommended_variant"] == "bf16" and report["variants"]["fits"]
    assert recommended_row(report)["rung"] == "gpu"


def test_doctor_text_shows_the_variant_table_and_the_recommendation(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "zit_desktop", "--data-dir", str(tmp_path), "doctor",
         "--simulate-vram", "6", "--simulate-ram", "16", "--simulate-disk", "200"],
        check=False, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "Model variants" in proc.stdout and "needs-more-ram" in proc.stdout
    assert "Recommended variant: sdnq-uint4" in proc.stdout


@pytest.mark.parametrize("bad", ["abc", "0", "nan", "100000"])
def test_simulate_ram_is_validated_like_simulate_vram(bad: str, tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "zit_desktop", "--data-dir", str(tmp_path), "doctor", "--simulate-ram", bad],
        check=False, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2 and "--simulate-ram" in proc.stderr


# ---- monotonicity -----------------------------------------------------------------------------------
VRAMS = (2, 3, 4, 6, 8, 10, 12, 16, 24, 48, 80)
RAMS = (8, 12, 16, 24, 32, 48, 64, 128)


def recommend(advisor: MemoryAdvisor, vram: float, ram: float) -> tuple[int, int]:
    rec = advisor.recommend_variant(simulated_cuda_device(vram, ram_gib=ram), free_disk=PLENTY_OF_DISK)
    assert rec.variant is not None and rec.rung is not None
    return ORDER.index(rec.variant), LADDER.index(rec.rung)


def test_more_ram_never_recommends_a_lower_quality_variant() -> None:
    advisor = MemoryAdvisor(None)
    for vram in VRAMS:
        quality = [recommend(advisor, vram, ram)[0] for ram in RAMS]
        assert quality == sorted(quality, reverse=True), (vram, quality)
    assert recommend(advisor, 24, 8)[0] > recommend(advisor, 24, 64)[0] == 0  # it does change


def test_more_vram_never_recommends_a_slower_rung() -> None:
    advisor = MemoryAdvisor(None)
    for ram in RAMS:
        picks = [recommend(advisor, vram, ram) for vram in VRAMS]
        rungs = [r for _, r in picks]
        assert rungs == sorted(rungs, reverse=True), (ram, picks)
        quality = [q for q, _ in picks]
        assert quality == sorted(quality, reverse=True), (ram, picks)
    assert recommend(advisor, 4, 64)[1] > recommend(advisor, 48, 64)[1] == 0


def test_a_cpu_only_machine_gets_a_cpu_plan_sized_for_its_ram() -> None:
    advisor = MemoryAdvisor(None)
    cpu = DeviceInfo(kind="cpu", name="CPU", system_ram_bytes=32 * GIB, system_ram_available_bytes=24 * GIB)
    rec = advisor.recommend_variant(cpu, free_disk=PLENTY_OF_DISK)
    assert rec.fits and rec.rung == Rung.CPU
    # float32 on the CPU: bf16's 20.5 GB of weights double and do not fit 32 GB; 8-bit does
    assert rec.variant == "sdnq-int8" and rec.row("bf16").verdict == VariantVerdict.NEEDS_RAM  # type: ignore[union-attr]
    assert all(r.vram_bytes == 0 and r.rung == Rung.CPU for r in rec.table)
    assert all(p.vram_bytes == 0 for r in rec.table for p in r.presets)
    small = advisor.recommend_variant(replace(cpu, system_ram_bytes=8 * GIB), free_disk=PLENTY_OF_DISK)
    assert not small.fits and small.variant is not None and "nothing fits" in small.reasons[0]


# ---- disk --------------------------------------------------------------------------------------------
def test_a_variant_that_is_not_installed_must_fit_on_the_cache_drive() -> None:
    advisor = MemoryAdvisor(None)
    big = simulated_cuda_device(24, ram_gib=64)
    rec = advisor.recommend_variant(big, free_disk=8 * 10**9)
    assert rec.row("bf16").verdict == VariantVerdict.NEEDS_DISK  # type: ignore[union-attr]
    assert rec.variant == "sdnq-uint4"  # the best one whose download (7 GB) fits in 8 GB free
    installed = advisor.recommend_variant(big, free_disk=8 * 10**9, installed={"bf16": None})
    assert installed.variant == "bf16" and installed.row("bf16").download_bytes == 0  # type: ignore[union-attr]
    assert advisor.recommend_variant(big, free_disk=None).variant == "bf16"  # unknown: not checked


def test_free_disk_is_read_from_the_nearest_existing_folder(tmp_path: Path) -> None:
    free = free_disk_bytes(tmp_path / "not" / "yet" / "there")
    assert free is not None and free > 0


# ---- the RAM model -------------------------------------------------------------------------------
def test_ram_model_counts_pinned_copies_gguf_reads_and_fp32_widening() -> None:
    cal = Calibration()
    gpu = simulated_cuda_device(8, ram_gib=64)
    bf16 = variant_profile(variant("bf16"))
    assert bf16.total_bytes == published_profile().total_bytes
    weights = bf16.total_bytes
    model = predict_ram(bf16, Rung.MODEL_OFFLOAD, 1024, 1024, gpu)
    assert weights + cal.ram_baseline_bytes < model.bytes < weights + cal.ram_baseline_bytes + 0.2e9
    pinned = predict_ram(bf16, Rung.GROUP_OFFLOAD, 1024, 1024, gpu)
    on_demand = predict_ram(bf16, Rung.GROUP_OFFLOAD, 1024, 1024, gpu, pinned=False)
    streamed = bf16.transformer.bytes + bf16.text_encoder.bytes
    assert pinned.bytes - on_demand.bytes == pytest.approx((cal.pinned_ram_factor - 1) * streamed, rel=0.01)
    q4 = variant_profile(variant("gguf-q4"))
    q4_ram = predict_ram(q4, Rung.MODEL_OFFLOAD, 1024, 1024, gpu)
    assert q4_ram.breakdown["gguf_read_copy"] == variant("gguf-q4").weights["transformer"]
    assert q4_ram.bytes > q4.total_bytes + q4.transformer.bytes  # the file is read whole while loading
    # fp32 compute (the CPU) doubles plain weights; SDNQ ones keep their size plus the measured overhead
    uint4 = variant_profile(variant("sdnq-uint4"))
    cpu = predict_ram(uint4, Rung.CPU, 512, 512, None)
    assert cpu.breakdown["weights_transformer"] == int(uint4.transformer.bytes * cal.sdnq_resident_factor)
    assert q4_ram.breakdown["weights_transformer"] == q4.transformer.bytes  # a GGUF file: no SDNQ overhead
    cpu_only = DeviceInfo(kind="cpu", name="CPU", system_ram_bytes=32 * GIB)
    assert predict_ram(uint4, Rung.CPU, 512, 512, cpu_only).breakdown["baseline"] == cal.ram_baseline_cpu_bytes
    assert cpu.breakdown["weights_vae"] == 2 * uint4.vae.bytes
    assert ram_budget(simulated_cuda_device(6, ram_gib=16)) == pytest.approx(0.85 * 16 * GIB - 2.5 * GIB, abs=2)


def test_quantized_variants_shrink_vram_too() -> None:
    advisor = MemoryAdvisor(None)
    gpu = simulated_cuda_device(80, ram_gib=128)
    peaks = {
        str(v.id): advisor.plan(variant_profile(v), gpu, 1024, 1024).predicted_peak_bytes for v in catalogue()
    }
    assert peaks["bf16"] > peaks["sdnq-int8"] > peaks["sdnq-uint4"]
    assert peaks["gguf-q8"] > peaks["gguf-q4"] > peaks["sdnq-uint4"]
    # fp8 storage does not apply to a quantized transformer
    fp8 = advisor.plan(variant_profile(variant("sdnq-int8")), gpu, 1024, 1024, PlanOptions(fp8=True))
    assert fp8.predicted_peak_bytes == peaks["sdnq-int8"]


def test_the_engine_plans_with_the_requests_variant() -> None:
    advisor = MemoryAdvisor(None)
    assert advisor.planning_profile(None, "gguf-q4").transformer_file_bytes > 0
    assert advisor.planning_profile(None, "sdnq-uint4").total_bytes < 7e9
    assert advisor.planning_profile(None, "custom") == published_profile()
    assert advisor.planning_profile(None) == published_profile()


# ---- learning RSS --------------------------------------------------------------------------------
def test_measured_rss_corrects_ram_predictions_per_machine(tmp_path: Path) -> None:
    advisor = MemoryAdvisor(tmp_path)
    laptop = simulated_cuda_device(6, ram_gib=16)
    profile = variant_profile(variant("sdnq-uint4"))
    before = advisor.plan(profile, laptop, 1024, 1024)
    assert before.ram is not None
    for _ in range(3):
        rec = advisor.record_ram_peak(before, 1024, 1024, int(before.ram.bytes * 1.3), laptop)
        assert rec is not None and rec.kind == "ram"
    after = advisor.plan(profile, laptop, 1024, 1024)
    assert after.predicted_ram_bytes == pytest.approx(1.3 * before.predicted_ram_bytes, rel=0.01)
    assert after.predicted_peak_bytes == before.predicted_peak_bytes  # VRAM learns from VRAM only
    other = simulated_cuda_device(6, ram_gib=32)  # another machine: uncorrected
    assert advisor.plan(profile, other, 1024, 1024).ram.correction == 1.0  # type: ignore[union-attr]
    reread = MemoryAdvisor(tmp_path).plan(profile, laptop, 1024, 1024)
    assert reread.predicted_ram_bytes == after.predicted_ram_bytes  # persisted in peak_log.json
