"""The preset badges read the app's one memory advisor: the same object the engine records its measured
peaks in, so a peak measured while the app runs changes the badges at the next refresh."""

from __future__ import annotations

from typing import Any

import torch

from zit_desktop.core.engine.lowvram import LowVram
from zit_desktop.core.memory.fits import Verdict
from zit_desktop.core.memory.profile import published_profile
from zit_desktop.core.memory.rungs import Rung
from zit_desktop.core.memory.vram import DeviceInfo, simulated_cuda_device
from zit_desktop.core.request import GenerationRequest
from zit_desktop.core.settings import Settings
from zit_desktop.ui.widgets.preset_bar import badge_status
from zit_desktop.ui.window.worker import EngineStarted

GPU8 = simulated_cuda_device(8, ram_gib=64)


def test_the_window_hands_its_advisor_to_the_engine(make_window: Any, qtbot: Any) -> None:
    w = make_window(show=False)  # the real engine factory of the app
    started = lambda e: isinstance(e, EngineStarted)  # noqa: E731
    with qtbot.waitSignal(w.controller.engineEvent, check_params_cb=started, timeout=60_000):
        w.controller.warm_up()  # builds the Engine on the worker thread (no model is loaded)
    routing = w.controller._worker._engine  # the window's RoutingEngine; the warm-up built the local one
    assert routing is not None and routing._local is not None
    assert routing._local.lowvram.advisor is w.advisor


def test_badges_show_a_peak_the_engine_recorded(make_window: Any, fake_engine: Any, qtbot: Any) -> None:
    w = make_window(engine=fake_engine, show=False)
    w.on_profile_loaded(published_profile())  # what the probe thread reads for the default model
    w.on_vram_sample(GPU8)
    bar = w.params.presets
    before = bar.fits["1024x1024"]
    assert before.verdict == Verdict.OFFLOAD and before.rung == Rung.GROUP_OFFLOAD
    tip_before = bar.buttons["1024x1024"].toolTip()

    engine_side = LowVram(w.paths, Settings(), torch.device("cuda"), w.advisor)  # the engine's recorder
    engine_side.device_override = lambda: GPU8
    req = GenerationRequest(prompt="cat", width=1024, height=1024, seed=1, preset=None)
    planned = engine_side.plan(req, None)
    assert planned.prediction is not None and planned.predicted_peak_bytes == before.predicted_peak_bytes
    engine_side.record_peak(planned, req, int(planned.prediction.allocator_bytes * 1.5))

    w.on_vram_sample(GPU8)  # the next probe tick
    after = bar.fits["1024x1024"]
    assert after.predicted_peak_bytes > before.predicted_peak_bytes * 1.4
    assert bar.buttons["1024x1024"].toolTip() != tip_before
    assert f"{after.predicted_peak_bytes / 1024**3:.1f} GB" in bar.buttons["1024x1024"].toolTip()


def test_badges_before_an_answer_and_on_the_cpu(make_window: Any, fake_engine: Any) -> None:
    w = make_window(engine=fake_engine, show=False)
    w.on_profile_loaded(None)  # a model whose sizes are unknown
    w.on_vram_sample(GPU8)
    bar = w.params.presets
    assert {badge_status(f) for f in bar.fits.values()} == {Verdict.UNKNOWN}
    assert "Fit unknown" in bar.buttons["512x512"].toolTip()
    w.on_vram_sample(DeviceInfo(kind="cpu", name="CPU", reason="no driver"))
    assert {badge_status(f) for f in bar.fits.values()} == {Rung.CPU}
    assert "runs on the CPU" in bar.buttons["512x512"].toolTip()
    w.on_profile_loaded(published_profile())
    w.on_vram_sample(simulated_cuda_device(48))
    assert {badge_status(f) for f in bar.fits.values()} == {Verdict.FITS}
    assert "Memory strategy: Everything on the GPU (gpu)" in bar.buttons["512x512"].toolTip()
