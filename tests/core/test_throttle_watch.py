"""The throttling notice: a step-time rise over a session with the card reporting thermal or power
throttling gives one notice with what to do; a rise without those reasons gives none; and it is told
apart from the sysmem-fallback watch (one job, one step several times slower, VRAM full)."""

from __future__ import annotations

from zit_desktop.core.engine.lowvram import SysmemWatch
from zit_desktop.core.events import ImageResult
from zit_desktop.core.memory.throttle import ThrottleWatch
from zit_desktop.core.memory.vram import GIB, simulated_cuda_device

STEPS = 8


def image(per_step: float, *, thermal: bool = False, power: bool = False, temp: float = 70.0,
          side: int = 1024, strategy: str = "gpu") -> ImageResult:  # fmt: skip
    timings = {"encode": 0.1, "denoise": per_step * STEPS, "decode": 0.3, "gpu_temp_c": temp,
               "gpu_thermal_throttle": float(thermal), "gpu_power_throttle": float(power)}  # fmt: skip
    return ImageResult(0, 1, "x.png", side, side, timings, strategy, 0, 5 * GIB,
                       {"steps": STEPS, "width": side, "height": side}, {})  # fmt: skip


# a session heating up: warm-up, then 0.40 s/step, creeping to 0.58 s/step
RISE = [0.55, 0.40, 0.41, 0.44, 0.50, 0.56, 0.58, 0.58]


def feed(watch: ThrottleWatch, images: list[ImageResult]) -> list[object]:
    return [n for im in images if (n := watch.observe(im, "job")) is not None]


def test_a_rise_with_thermal_throttling_gives_one_notice_with_what_to_do() -> None:
    images = [image(s, thermal=i >= 4, temp=70 + 3 * i) for i, s in enumerate(RISE)]
    images += [image(0.6, thermal=True, temp=90)] * 5
    notices = feed(ThrottleWatch(), images)
    assert len(notices) == 1  # once, not at every image after
    (notice,) = notices
    assert notice.kind == "gpu-throttle" and notice.detail["reason"] == "thermal"
    assert notice.detail["baseline_s_per_step"] < 0.42 < notice.detail["recent_s_per_step"]
    assert "hot" in notice.message and "cool" in notice.message and "pause between batches" in notice.message


def test_a_rise_at_the_power_limit_says_power() -> None:
    images = [image(s, power=i >= 5) for i, s in enumerate(RISE)]
    (notice,) = feed(ThrottleWatch(), images)
    assert notice.detail["reason"] == "power"
    assert "power limit" in notice.message


def test_a_rise_without_throttle_reasons_gives_no_notice() -> None:
    assert feed(ThrottleWatch(), [image(s) for s in RISE * 3]) == []


def test_throttling_without_a_slowdown_gives_no_notice() -> None:
    assert feed(ThrottleWatch(), [image(0.4, thermal=True) for _ in range(20)]) == []


def test_sizes_are_not_mixed_and_the_series_stays_bounded() -> None:
    watch = ThrottleWatch()
    # alternating a small and a large size: each is slower than the other, none is a rise
    images = [image(0.1, side=512, thermal=True) if i % 2 else image(0.4, thermal=True) for i in range(40)]
    assert feed(watch, images) == []
    assert all(len(s.per_step) <= 1 + watch.baseline + 4 * watch.recent for s in watch._series.values())


def test_told_apart_from_the_sysmem_fallback_watch() -> None:
    full = simulated_cuda_device(8, free_gib=0.1)
    roomy = simulated_cuda_device(8, free_gib=4.0)
    # sysmem fallback: inside one job a step 5x slower with VRAM full; the card reports no throttling
    sysmem = SysmemWatch(sample=lambda: full)
    fired = [sysmem.observe(s) for s in (0.9, 0.4, 0.4, 0.4, 2.0)]
    assert fired[-1] is True
    per_step = sum((0.9, 0.4, 0.4, 0.4, 2.0)) / 5
    spiky_session = [image(0.4)] * 4 + [image(per_step)] * 3  # those slow images, no throttle reasons
    assert feed(ThrottleWatch(), spiky_session) == []
    # heat: steps creep up 1.5x over the session, VRAM has room: the sysmem watch stays quiet...
    thermal_watch = SysmemWatch(sample=lambda: roomy)
    assert not any(thermal_watch.observe(s) for s in RISE)
    # ...and the throttle watch speaks
    assert len(feed(ThrottleWatch(), [image(s, thermal=i >= 4) for i, s in enumerate(RISE)])) == 1
