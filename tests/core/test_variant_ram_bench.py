"""The CPU variant-RAM benchmark's code runs here: ``--tiny`` end to end (tiny bf16 and sdnq-uint4
built, each loaded through the app's loader in a fresh subprocess, predicted vs measured in one JSON
line), so the full-size run cannot rot."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "variant_ram.py"


def load_bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("variant_ram", BENCH)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules["variant_ram"] = mod
    spec.loader.exec_module(mod)
    return mod


def test_tiny_mode_reports_predicted_and_measured(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bench = load_bench()
    assert bench.main(["--tiny", "--cache", str(tmp_path / "cache")]) == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith("JSON ")]
    assert len(lines) == 1, out
    data = json.loads(lines[0][len("JSON ") :])
    assert data["mode"] == "tiny" and data["svd"] is False and data["ram_total"] > 0
    assert set(data["variants"]) == {"bf16", "sdnq-uint4"}
    for name, v in data["variants"].items():
        assert v["mode"] == "whole" and v["sizes_from"] == "files"
        keys = ("predicted_load_bytes", "table_cpu_job_bytes", "measured_peak_rss", "measured_load_peak_rss",
                "measured_rss_after", "measured_rss_resident")  # fmt: skip
        for key in keys:
            assert isinstance(v[key], int) and v[key] > 0, (name, key)
        assert v["measured_peak_rss"] >= v["measured_rss_after"] * 0.99
        assert v["load_s"] > 0 and 0 < v["ratio_measured_over_predicted_load"] < 10
    assert data["variants"]["sdnq-uint4"]["measured"]["sdnq_modules"]  # really loaded quantized
    assert not data["variants"]["bf16"]["measured"]["sdnq_modules"]
    assert "predicted" in out and "measured" in out
