"""The window's side of issue 13: the gauge names the other VRAM users and says when the chosen size
would fit at full speed without them; the throttling notice shows once and stays; "Free GPU memory"
unloads the model through the worker thread and the next Generate loads it again."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from PIL import Image

from zit_desktop.core.events import ImageResult, ImageSaved, JobStarted, Loading
from zit_desktop.core.memory.gpu_probe import GpuHealth, GpuProcess
from zit_desktop.core.memory.profile import published_profile
from zit_desktop.core.memory.vram import GIB, simulated_cuda_device
from zit_desktop.core.request import GenerationRequest
from zit_desktop.ui.widgets.vram_gauge import VramGauge
from zit_desktop.ui.window.worker import MemoryFreed

CHROME = GpuProcess(4_000_001, "Chrome", int(1.4 * GIB))
STEAM = GpuProcess(4_000_002, "Steam", int(0.3 * GIB))


def card(free_gib: float, procs: tuple[GpuProcess, ...], **health: Any) -> Any:
    base = simulated_cuda_device(32, free_gib=free_gib)
    return replace(base, source="nvml", health=GpuHealth(processes=procs, **health))


def test_gauge_names_other_programs_temperature_and_throttling(qtbot: Any) -> None:
    gauge = VramGauge()
    qtbot.addWidget(gauge)
    short = gauge.sizeHint().height()
    gauge.set_info(card(20, (CHROME, STEAM), temperature_c=83.0, throttle_mask=0x40))
    assert "Other programs using VRAM: Chrome 1.4 GB, Steam 0.3 GB" in gauge.others_text
    assert "83 °C" in gauge.text and "throttled: hot" in gauge.text
    assert gauge.sizeHint().height() > short  # a line more for them
    assert "Chrome" in gauge.toolTip() and "Chrome" in gauge.accessibleDescription()
    gauge.grab()  # paints without error
    # Windows WDDM: no figure per process, "other programs: X GB" from used minus ours
    wddm = card(20, (GpuProcess(7, "Windows desktop (dwm)", None),))
    wddm = replace(wddm, process_bytes=2 * GIB)
    gauge.set_info(wddm)
    others = f"{(wddm.used_bytes - 2 * GIB) / GIB:.1f}"
    assert gauge.others_text == f"Other programs: {others} GB (the driver does not say which)"
    # nobody else: no line
    gauge.set_info(card(20, ()))
    assert gauge.others_text == "" and gauge.sizeHint().height() == short
    assert "kill" not in gauge.toolTip().lower()


def _free_needed_for_full_speed(window: Any) -> float:
    """The least free GiB at which 1024x1024 fits entirely on the GPU, by the window's own advisor."""
    from zit_desktop.core.memory.fits import Verdict
    from zit_desktop.core.sizes import PRESETS_BY_NAME

    lo, hi = 0.0, 31.0
    while hi - lo > 0.02:
        mid = (lo + hi) / 2
        fit = window.advisor.fit(published_profile(), card(mid, ()), PRESETS_BY_NAME["1024x1024"])
        lo, hi = (lo, mid) if fit.verdict == Verdict.FITS else (mid, hi)
    return hi


def test_window_says_the_chosen_size_would_fit_if_chrome_were_closed(make_window: Any, fake_engine: Any) -> None:
    w = make_window(engine=fake_engine)
    w.params.choose_preset("1024x1024")
    w.on_profile_loaded(published_profile())
    need = _free_needed_for_full_speed(w)
    w.on_vram_sample(card(need - 0.9, (CHROME, STEAM)))  # short by 0.9 GiB: Chrome is enough
    assert "1024×1024 would fit at full speed if Chrome (1.4 GB) were closed" in w.gauge.others_text
    assert "Steam (" not in w.gauge.others_text
    w.on_vram_sample(card(need + 1, (CHROME, STEAM)))  # fits already: names them, no advice
    assert "would fit" not in w.gauge.others_text and "Chrome 1.4 GB" in w.gauge.others_text


def _png(path: Path) -> str:
    Image.new("RGB", (64, 64), (20, 40, 60)).save(path)
    return str(path)


def _result(tmp: Path, i: int, per_step: float, thermal: bool) -> ImageResult:
    timings = {"denoise": per_step * 8, "total": per_step * 8 + 0.5, "gpu_temp_c": 88.0,
               "gpu_thermal_throttle": float(thermal), "gpu_power_throttle": 0.0}  # fmt: skip
    return ImageResult(0, i, _png(tmp / f"im{i}.png"), 1024, 1024, timings, "gpu", 0, 9 * GIB,
                       GenerationRequest(prompt="a fox", seed=i, steps=8).to_dict(), {})  # fmt: skip


def test_throttling_notice_shows_once_and_stays_up(make_window: Any, fake_engine: Any, tmp_path: Path) -> None:
    w = make_window(engine=fake_engine)
    rise = [0.5, 0.40, 0.41, 0.45, 0.52, 0.58, 0.60]
    for i, s in enumerate(rise):
        w.on_event(ImageSaved(f"j{i}", _result(tmp_path, i, s, thermal=i >= 4)))
    assert w.notice.isVisibleTo(w)
    text = w.notice.text()
    assert "throttling its clocks" in text and "88 °C" in text and "pause between batches" in text
    assert w.notice.level == "warning"
    w.on_event(JobStarted("next", 0, 1, 5, "gpu"))  # a new job does not wipe it
    assert w.notice.text() == text
    w.notice.dismiss()
    for i in range(7, 12):
        w.on_event(ImageSaved(f"j{i}", _result(tmp_path, i, 0.7, thermal=True)))
    assert not w.notice.isVisibleTo(w)  # once per session


def test_free_gpu_memory_without_a_loaded_model(make_window: Any, fake_engine: Any, qtbot: Any) -> None:
    w = make_window(engine=fake_engine)
    with qtbot.waitSignal(w.controller.engineEvent, check_params_cb=lambda e: isinstance(e, MemoryFreed),
                          timeout=10_000) as blocker:  # fmt: skip
        w.menus.free_memory_action.trigger()
    assert blocker.args[0] == MemoryFreed(False)
    assert "No model was loaded" in w.notice.text()


def test_free_gpu_memory_unloads_through_the_worker_and_generate_reloads(
    make_window: Any, tiny_model: Path, qtbot: Any
) -> None:
    w = make_window(model=str(tiny_model))
    c = w.controller
    loads: list[str] = []
    c.engineEvent.connect(lambda e: loads.append(e.phase) if isinstance(e, Loading) and e.phase == "load" else None)
    request = GenerationRequest(prompt="a red fox", seed=5, model=str(tiny_model), width=128, height=128,
                                steps=2, preset=None)  # fmt: skip
    w.apply_request(request, lock_seed=True)
    with qtbot.waitSignal(c.jobFinished, timeout=120_000):
        w.generate()
    assert loads == ["load"]
    with qtbot.waitSignal(c.engineEvent, check_params_cb=lambda e: isinstance(e, MemoryFreed),
                          timeout=120_000) as blocker:  # fmt: skip
        w.menus.free_memory_action.trigger()
    assert blocker.args[0] == MemoryFreed(True)
    assert "model is unloaded" in w.notice.text()
    with qtbot.waitSignal(c.jobFinished, timeout=120_000) as done:
        w.generate()
    assert type(done.args[1]).__name__ == "Finished"
    assert loads == ["load", "load"]  # the next Generate loaded the model again
