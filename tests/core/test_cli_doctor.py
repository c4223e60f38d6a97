"""``zit-desktop doctor`` without a GPU: says so, exits 0, JSON too, and a simulated card."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from zit_desktop.cli import doctor as cli_doctor


def run_doctor(*args: str) -> subprocess.CompletedProcess[str]:
    code = (
        "import argparse, sys\nfrom zit_desktop.cli import doctor as cli_doctor\n"
        "p = argparse.ArgumentParser(); p.add_argument('--data-dir'); s = p.add_subparsers(dest='command')\n"
        "cli_doctor.add_doctor_command(s)\nargs = p.parse_args(sys.argv[1:])\n"
        "rc = args.handler(args)\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('torch', 'diffusers', 'PySide6')]\n"
        "sys.exit(rc if not bad else 99)\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code, "doctor", *args], check=False, capture_output=True, text=True, timeout=60
    )


def test_doctor_without_gpu_says_so_and_exits_0() -> None:
    proc = run_doctor()
    if "GPU:       none found" not in proc.stdout:  # pragma: no cover - a machine with a GPU
        pytest.skip("this machine has an NVIDIA GPU")
    assert proc.returncode == 0, proc.stderr  # and imported no torch
    assert "Images are generated on the CPU" in proc.stdout
    assert "1024x1024" in proc.stdout and "Recommended preset" in proc.stdout


def test_doctor_json_and_simulated_card() -> None:
    proc = run_doctor("--json", "--simulate-vram", "8")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["simulated"] and report["device"]["kind"] == "cuda"
    rungs = {p["preset"]: p["rung"] for p in report["presets"]}
    assert rungs["1024x1024"] == "group-offload"
    assert all(p["verdict"] == "offload" and p["why"] for p in report["presets"])
    assert report["recommended_preset"] == "1024x1024"
    text = cli_doctor.format_report(cli_doctor.gather("", 24))
    assert "fits" in text and "gpu" in text


def test_a_simulated_card_is_named_once_and_sized_in_gib_like_a_real_one() -> None:
    import re

    from zit_desktop.core.memory.vram import DeviceInfo, gb_text

    proc = run_doctor("--simulate-vram", "6")
    assert proc.returncode == 0, proc.stderr
    gpu_line = next(line for line in proc.stdout.splitlines() if line.startswith("GPU:"))
    assert proc.stdout.lower().count("simulated") == 1, gpu_line  # not "Simulated … GPU (simulated)"
    assert "6.0 GiB total" in gpu_line
    assert not re.search(r"\d GB\b", proc.stdout)  # one unit throughout: RAM, model, peaks, downloads
    # a real 6 GB card as NVML reports it (6144 MiB) reads the same as the simulated one
    real = DeviceInfo(kind="cuda", name="NVIDIA GeForce RTX 2060", total_bytes=6144 * 1024**2, source="nvml")
    assert gb_text(real.total_bytes) == "6.0 GiB"
    assert gb_text(16 * 1024**3) == "16.0 GiB" and gb_text(0) == "0.0 GiB"


def _cli(data: object, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "zit_desktop", "--data-dir", str(data), *args],
        check=False, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def _ram_by_variant(data: object) -> dict[str, int]:
    proc = _cli(data, "doctor", "--json")
    assert proc.returncode == 0, proc.stderr
    return {row["variant"]: row["predicted_ram_bytes"] for row in json.loads(proc.stdout)["variants"]["table"]}


def test_a_job_on_the_tiny_test_model_teaches_doctor_nothing_and_a_variant_learns_only_its_own(
    tiny_model: object, tmp_path: object
) -> None:
    """The new-user report: doctor, one 512² generate on the tiny model, doctor again predicted a
    third less RAM for every real variant (42.7 -> 28.6 GiB for bf16) and said "Learning: 1 measured
    jobs". Now the test model's job is not recorded, and a real measurement moves only its variant."""
    from pathlib import Path

    from zit_desktop.core.memory.advisor import MemoryAdvisor
    from zit_desktop.core.memory.vram import sample_device
    from zit_desktop.core.models.catalogue import variant

    data = Path(str(tmp_path)) / "data"
    before = _ram_by_variant(data)
    gen = _cli(data, "generate", "--model", str(tiny_model), "--preset", "512x512", "--steps", "1", "--prompt", "cat")
    assert gen.returncode == 0, gen.stderr
    assert _ram_by_variant(data) == before
    text = _cli(data, "doctor").stdout
    assert "Learning:" not in text and not (data / "cache" / "peak_log.json").exists()
    # a bf16 job measured 20% over its prediction on this machine: the bf16 row grows, no other
    advisor = MemoryAdvisor(data / "cache")
    device = sample_device()
    planned = advisor.plan(advisor.variant_sizes(variant("bf16"))[0], device, 1024, 1024)
    assert planned.model == "bf16" and planned.ram is not None
    assert advisor.record_ram_peak(planned, 1024, 1024, int(planned.ram.raw_bytes * 1.2), device) is not None
    after = _ram_by_variant(data)
    assert abs(after["bf16"] / before["bf16"] - 1.2) < 0.01
    assert {k: v for k, v in after.items() if k != "bf16"} == {k: v for k, v in before.items() if k != "bf16"}
    assert "Learning:  1 measured jobs correct the predictions of the model each measured (bf16: 1)" in _cli(
        data, "doctor"
    ).stdout
