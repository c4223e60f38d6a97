"""Generation getting slower over a session because the card is hot or at its power cap. Pure logic.

:class:`ThrottleWatch` is fed every saved image (:class:`~zit_desktop.core.events.ImageResult`; the
engine records the card's temperature and throttle flags in its timings, see
:func:`zit_desktop.core.memory.gpu_probe.health_record`). Per image shape (width, height, memory
strategy, steps) it keeps the seconds per denoise step: the first image of a shape is a warm-up and
not counted, the median of the next ``baseline`` images is the baseline, the median of the latest
``recent`` images is "now". When now is ``factor`` x the baseline or more **and** one of those recent
images ran with thermal or power-cap throttling, :meth:`ThrottleWatch.observe` returns one
``Notice(kind="gpu-throttle")`` with what to do, once per watch (per session).

How this differs from the sysmem-fallback watch (``core/engine/lowvram.py`` ``SysmemWatch``): that
one looks inside one job for a single step several times slower than the others while VRAM is full
(the Windows driver paging to system RAM), and says how to turn the fallback off. This one looks
across images for a gradual rise, and only blames heat or power when the card itself reports it; a
rise without those reasons is not called throttling.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from zit_desktop.core.events import ImageResult, Notice

THROTTLE_ADVICE = (
    "Let the card cool: clean the fans and vents, give a laptop room to breathe (or a cooling pad), "
    "choose a quieter or lower power mode in the GPU or laptop control software, or pause between batches."
)


@dataclass
class _Series:
    per_step: list[float] = field(default_factory=list)
    flags: list[tuple[bool, bool]] = field(default_factory=list)  # (thermal, power) per image


def seconds_per_step(image: ImageResult) -> float | None:
    """The image's denoise seconds per step, or None when its timings do not say."""
    denoise = image.timings.get("denoise")
    steps = image.request.get("steps") if isinstance(image.request, dict) else None
    if not denoise or not isinstance(steps, int) or steps <= 0:
        return None
    return float(denoise) / steps


class ThrottleWatch:
    """See the module docstring. Not thread-safe: the window feeds it on the GUI thread."""

    def __init__(self, factor: float = 1.3, baseline: int = 2, recent: int = 3) -> None:
        self.factor = factor
        self.baseline = baseline
        self.recent = recent
        self.fired = False
        self._series: dict[tuple[int, int, str, int], _Series] = {}

    def observe(self, image: ImageResult, job_id: str = "") -> Notice | None:
        """Take one saved image; the notice the first time a throttled slowdown shows, else None."""
        per_step = seconds_per_step(image)
        if per_step is None:
            return None
        steps = int(image.request.get("steps", 0))
        key = (image.width, image.height, image.strategy, steps)
        series = self._series.setdefault(key, _Series())
        series.per_step.append(per_step)
        series.flags.append(
            (image.timings.get("gpu_thermal_throttle", 0.0) > 0, image.timings.get("gpu_power_throttle", 0.0) > 0)
        )
        keep = 1 + self.baseline + 4 * self.recent  # the warm-up, the baseline, a window to look at
        if len(series.per_step) > keep:  # bounded: a long session must not grow this list
            del series.per_step[1 + self.baseline], series.flags[1 + self.baseline]
        if self.fired or len(series.per_step) < 1 + self.baseline + self.recent:
            return None
        base = statistics.median(series.per_step[1 : 1 + self.baseline])
        now = statistics.median(series.per_step[-self.recent :])
        if base <= 0 or now < self.factor * base:
            return None
        recent_flags = series.flags[-self.recent :]
        thermal = any(t for t, _ in recent_flags)
        power = any(p for _, p in recent_flags)
        if not (thermal or power):
            return None  # slower, but the card does not say it is hot or capped: not ours to blame
        self.fired = True
        reason = "thermal" if thermal else "power"
        temp = image.timings.get("gpu_temp_c")
        why = "is throttling its clocks because it is hot" if thermal else "is held at its power limit"
        at = f" ({temp:.0f} °C)" if temp is not None else ""
        message = (
            f"Generation slowed from {base:.2f} to {now:.2f} s per step this session: the GPU {why}{at}. "
            + THROTTLE_ADVICE
        )
        detail: dict[str, object] = {
            "reason": reason,
            "baseline_s_per_step": round(base, 4),
            "recent_s_per_step": round(now, 4),
            "temperature_c": temp,
        }
        return Notice(job_id, "gpu-throttle", message, detail)
