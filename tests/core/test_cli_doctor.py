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
