"""A damaged peak log (hand-edited, half-written) loses only its bad records, never the planner."""

from __future__ import annotations

import json
from pathlib import Path

from zit_desktop.core.memory.advisor import MemoryAdvisor
from zit_desktop.core.memory.peak_log import PeakLog, peak_log_path
from zit_desktop.core.memory.profile import published_profile
from zit_desktop.core.memory.vram import simulated_cuda_device


def test_records_with_wrong_types_are_dropped_and_fits_still_answer(tmp_path: Path) -> None:
    good = {"rung": "gpu", "width": 1024, "height": 1024, "measured_bytes": 9_000_000_000,
            "predicted_bytes": 8_000_000_000, "device": "x|8192", "when": 1.0}
    records = [good, {**good, "measured_bytes": "5e9"}, {**good, "width": True}, "junk", {"rung": "gpu"}]
    peak_log_path(tmp_path).write_text(json.dumps({"version": 1, "records": records}), encoding="utf-8")
    log = PeakLog(peak_log_path(tmp_path))
    assert [r.measured_bytes for r in log.records] == [9_000_000_000]
    fits = MemoryAdvisor(tmp_path).preset_fits(published_profile(), simulated_cuda_device(8.0))
    assert fits and all(f.predicted_peak_bytes for f in fits)
