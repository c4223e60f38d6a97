"""A damaged peak log (hand-edited, half-written) loses only its bad records, never the planner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from zit_desktop.core.memory.advisor import MemoryAdvisor
from zit_desktop.core.memory.peak_log import PeakLog, device_key, peak_log_path
from zit_desktop.core.memory.profile import published_profile
from zit_desktop.core.memory.vram import simulated_cuda_device


def test_records_with_wrong_types_are_dropped_and_fits_still_answer(tmp_path: Path) -> None:
    good = {"rung": "gpu", "width": 1024, "height": 1024, "measured_bytes": 9_000_000_000,
            "predicted_bytes": 8_000_000_000, "device": "x|8192", "when": 1.0, "model": "bf16"}
    records = [good, {**good, "measured_bytes": "5e9"}, {**good, "width": True}, "junk", {"rung": "gpu"}]
    peak_log_path(tmp_path).write_text(json.dumps({"version": 2, "records": records}), encoding="utf-8")
    log = PeakLog(peak_log_path(tmp_path))
    assert [r.measured_bytes for r in log.records] == [9_000_000_000]
    fits = MemoryAdvisor(tmp_path).preset_fits(published_profile(), simulated_cuda_device(8.0))
    assert fits and all(f.predicted_peak_bytes for f in fits)


def test_records_from_before_they_named_their_model_load_and_are_left_out(tmp_path: Path) -> None:
    """A version-1 log (no ``model`` field: maybe the tiny test model's) still opens; its records
    correct nothing and the next save drops them, while named records keep their correction."""
    dev = simulated_cuda_device(8.0)
    old = {"rung": "cpu", "width": 512, "height": 512, "measured_bytes": 916_639_744,
           "predicted_bytes": 1_496_380_498, "device": "CPU|0|ram24105", "when": 1.0, "kind": "ram"}
    named = {"rung": "gpu", "width": 1024, "height": 1024, "measured_bytes": 13_000_000_000,
             "predicted_bytes": 10_000_000_000, "device": device_key(dev), "when": 2.0, "model": "bf16"}
    path = peak_log_path(tmp_path)
    path.write_text(json.dumps({"version": 1, "records": [old, {**named, "model": ""}, named]}), encoding="utf-8")
    log = PeakLog(path)
    assert [(r.model, r.measured_bytes) for r in log.records] == [("bf16", 13_000_000_000)]
    assert abs(log.correction("gpu", dev, "bf16") - 1.3) < 1e-9
    assert log.correction("gpu", dev, "sdnq-int8") == 1.0  # another variant: its own records only
    log.record("gpu", 1024, 1024, 9, 10, dev, model="sdnq-int8")
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert saved["version"] == 2 and [r["model"] for r in saved["records"]] == ["bf16", "sdnq-int8"]


def test_a_record_must_name_its_model(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="model"):
        PeakLog(None).record("gpu", 1024, 1024, 9, 10, simulated_cuda_device(8.0), model="")
