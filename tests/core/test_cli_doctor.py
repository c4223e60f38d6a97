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
