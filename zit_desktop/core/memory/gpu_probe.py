"""Who else holds the card, how hot it is and why its clocks are down: read from NVML. Torch-free, Qt-free.

:func:`read_health` asks an NVML object (the ``pynvml`` module from ``nvidia-ml-py``, or a fake with
the same functions in tests) about one device handle and returns a :class:`GpuHealth`:

* the **other processes** holding memory on it (``nvmlDeviceGetComputeRunningProcesses`` and
  ``nvmlDeviceGetGraphicsRunningProcesses``, one entry per pid, names from psutil, else NVML's own
  ``nvmlSystemGetProcessName``). Where the driver cannot tell memory per process (Windows WDDM answers
  ``usedGpuMemory=None`` or ``NVML_VALUE_NOT_AVAILABLE``) an entry's ``used_bytes`` is ``None``;
  :func:`zit_desktop.core.memory.other_users.other_users` then counts "other programs" as used minus ours;
* the **temperature**, the SM clock against its maximum, the power draw against its limit;
* the **clock-throttle reasons** bit mask, decoded into :class:`Throttle` names (thermal, power cap…).

Every query is optional: a driver that does not support one leaves that field ``None``. Nothing here
raises for a missing answer, and nothing here ever ends another process: the app only names them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

log = logging.getLogger(__name__)

# NVML's sentinel for "not available" in 64-bit fields (pynvml turns it into None in newer versions).
NVML_VALUE_NOT_AVAILABLE = 2**64 - 1
NVML_TEMPERATURE_GPU = 0
NVML_CLOCK_SM = 1


class Throttle(StrEnum):
    """Why the clocks are below their maximum (NVML's ``nvmlClocksThrottleReason*`` bits)."""

    IDLE = "idle"
    APP_CLOCKS = "application-clocks"
    POWER_CAP = "power-cap"
    HW_SLOWDOWN = "hw-slowdown"
    SYNC_BOOST = "sync-boost"
    SW_THERMAL = "sw-thermal"
    HW_THERMAL = "hw-thermal"
    POWER_BRAKE = "hw-power-brake"
    DISPLAY_CLOCKS = "display-clocks"


THROTTLE_BITS: tuple[tuple[int, Throttle], ...] = (
    (0x0001, Throttle.IDLE),
    (0x0002, Throttle.APP_CLOCKS),
    (0x0004, Throttle.POWER_CAP),
    (0x0008, Throttle.HW_SLOWDOWN),
    (0x0010, Throttle.SYNC_BOOST),
    (0x0020, Throttle.SW_THERMAL),
    (0x0040, Throttle.HW_THERMAL),
    (0x0080, Throttle.POWER_BRAKE),
    (0x0100, Throttle.DISPLAY_CLOCKS),
)
THERMAL = frozenset({Throttle.SW_THERMAL, Throttle.HW_THERMAL, Throttle.HW_SLOWDOWN})
POWER = frozenset({Throttle.POWER_CAP, Throttle.POWER_BRAKE})

# Process names as people know them (lower-case executable stem -> name); others keep their own.
FRIENDLY_NAMES = {
    "chrome": "Chrome",
    "msedge": "Edge",
    "firefox": "Firefox",
    "brave": "Brave",
    "opera": "Opera",
    "steam": "Steam",
    "steamwebhelper": "Steam",
    "dockerd": "Docker",
    "containerd": "Docker",
    "com.docker.backend": "Docker",
    "wine": "Wine",
    "wine64": "Wine",
    "wineserver": "Wine",
    "wine64-preloader": "Wine",
    "discord": "Discord",
    "obs64": "OBS",
    "obs": "OBS",
    "code": "VS Code",
    "dwm": "Windows desktop (dwm)",
    "xorg": "Xorg",
    "gnome-shell": "GNOME Shell",
    "kwin_x11": "KWin",
    "kwin_wayland": "KWin",
    "blender": "Blender",
    "vlc": "VLC",
}


def decode_throttle(mask: int | None) -> tuple[Throttle, ...]:
    """The reasons in NVML's bit mask, in bit order; () for None or 0."""
    if not mask:
        return ()
    return tuple(reason for bit, reason in THROTTLE_BITS if mask & bit)


def friendly_name(raw: str) -> str:
    """``"C:\\...\\chrome.exe"`` -> ``"Chrome"``; unknown programs keep their executable name."""
    base = raw.replace("\\", "/").rsplit("/", 1)[-1].strip()
    stem = base[:-4] if base.lower().endswith(".exe") else base
    return FRIENDLY_NAMES.get(stem.lower(), stem or raw)


@dataclass(frozen=True)
class GpuProcess:
    """Another process holding memory on the card. ``used_bytes`` None: the driver does not say."""

    pid: int
    name: str
    used_bytes: int | None


@dataclass(frozen=True)
class GpuHealth:
    """What NVML says about the card besides its memory totals (any field None: not supported)."""

    temperature_c: float | None = None
    sm_clock_mhz: int | None = None
    max_sm_clock_mhz: int | None = None
    power_w: float | None = None
    power_limit_w: float | None = None
    throttle_mask: int | None = None
    processes: tuple[GpuProcess, ...] = ()  # the OTHER processes on the card (not this one)
    own_bytes: int | None = None  # this process's entry, when the driver reports it per process
    # the driver listed the processes with a figure each (False: WDDM-like answers, or no lists at all)
    per_process_reported: bool = True

    @property
    def throttle(self) -> tuple[Throttle, ...]:
        return decode_throttle(self.throttle_mask)

    @property
    def thermal_throttled(self) -> bool:
        return any(r in THERMAL for r in self.throttle)

    @property
    def power_throttled(self) -> bool:
        return any(r in POWER for r in self.throttle)

    @property
    def per_process_known(self) -> bool:
        """True when the driver reports memory per process (an empty list then means: nobody else)."""
        return self.per_process_reported and all(p.used_bytes is not None for p in self.processes)


def _used(raw: Any) -> int | None:
    if raw is None:
        return None
    try:
        value = int(raw)
    except (TypeError, ValueError):
        return None
    return None if value < 0 or value >= NVML_VALUE_NOT_AVAILABLE else value


def _psutil_name(pid: int) -> str | None:
    try:
        import psutil

        return str(psutil.Process(pid).name()) or None
    except Exception:  # noqa: BLE001 - gone, not ours to see (another user), no psutil
        return None


def _call(nvml: Any, name: str, *args: Any) -> Any:
    """``nvml.<name>(*args)``, or None when the function is missing or the driver says no."""
    fn = getattr(nvml, name, None)
    if fn is None:
        return None
    try:
        return fn(*args)
    except Exception as exc:  # noqa: BLE001 - NVMLError_NotSupported, NoPermission, ...
        log.debug("%s failed: %s", name, exc)
        return None


def _process_name(nvml: Any, pid: int, name_of: Callable[[int], str | None]) -> str:
    name = name_of(pid)
    if not name:
        raw = _call(nvml, "nvmlSystemGetProcessName", pid)
        name = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else (str(raw) if raw else "")
    return friendly_name(name) if name else f"PID {pid}"


def read_processes(
    nvml: Any, handle: Any, own_pid: int, name_of: Callable[[int], str | None] = _psutil_name
) -> tuple[tuple[GpuProcess, ...], int | None, bool]:
    """(the other processes on the card, this process's own bytes or None, whether the driver gave a
    figure for every process it listed). A process in both the compute and the graphics list counts
    once, with the larger known figure."""
    seen: dict[int, int | None] = {}
    listed = False
    for getter in ("nvmlDeviceGetComputeRunningProcesses", "nvmlDeviceGetGraphicsRunningProcesses"):
        entries = _call(nvml, getter, handle)
        listed = listed or entries is not None
        for p in entries or ():
            pid = int(getattr(p, "pid", -1))
            if pid < 0:
                continue
            used = _used(getattr(p, "usedGpuMemory", None))
            if pid not in seen or (used is not None and (seen[pid] or 0) < used):
                seen[pid] = used
    reported = listed and all(used is not None for used in seen.values())
    own = seen.pop(own_pid, None)
    others = tuple(
        GpuProcess(pid, _process_name(nvml, pid, name_of), used)
        for pid, used in sorted(seen.items(), key=lambda kv: (-(kv[1] or 0), kv[0]))
    )
    return others, own, reported


def read_health(
    nvml: Any, handle: Any, own_pid: int, name_of: Callable[[int], str | None] = _psutil_name
) -> GpuHealth:
    """Everything :class:`GpuHealth` holds, from one NVML handle. Never raises for a missing answer."""
    processes, own, reported = read_processes(nvml, handle, own_pid, name_of)
    temp = _call(nvml, "nvmlDeviceGetTemperature", handle, NVML_TEMPERATURE_GPU)
    clock = _call(nvml, "nvmlDeviceGetClockInfo", handle, NVML_CLOCK_SM)
    max_clock = _call(nvml, "nvmlDeviceGetMaxClockInfo", handle, NVML_CLOCK_SM)
    power = _call(nvml, "nvmlDeviceGetPowerUsage", handle)  # milliwatts
    limit = _call(nvml, "nvmlDeviceGetEnforcedPowerLimit", handle)
    mask = _call(nvml, "nvmlDeviceGetCurrentClocksEventReasons", handle)  # the newer name
    if mask is None:
        mask = _call(nvml, "nvmlDeviceGetCurrentClocksThrottleReasons", handle)
    return GpuHealth(
        temperature_c=float(temp) if temp is not None else None,
        sm_clock_mhz=int(clock) if clock is not None else None,
        max_sm_clock_mhz=int(max_clock) if max_clock is not None else None,
        power_w=round(float(power) / 1000, 1) if power is not None else None,
        power_limit_w=round(float(limit) / 1000, 1) if limit is not None else None,
        throttle_mask=int(mask) if mask is not None else None,
        processes=processes,
        own_bytes=own,
        per_process_reported=reported,
    )


def health_record(health: GpuHealth | None) -> tuple[dict[str, float], dict[str, Any]]:
    """What one image keeps of the card's state: (timings numbers, environment values). Empty on the CPU.

    Timings get ``gpu_temp_c``, ``gpu_sm_clock_mhz``, ``gpu_thermal_throttle`` and ``gpu_power_throttle``
    (1.0 or 0.0); the environment gets ``gpu_throttle`` (the reason names, ``[]`` for none)."""
    if health is None:
        return {}, {}
    timings: dict[str, float] = {}
    if health.temperature_c is not None:
        timings["gpu_temp_c"] = float(health.temperature_c)
    if health.sm_clock_mhz is not None:
        timings["gpu_sm_clock_mhz"] = float(health.sm_clock_mhz)
    env: dict[str, Any] = {}
    if health.throttle_mask is not None:
        timings["gpu_thermal_throttle"] = 1.0 if health.thermal_throttled else 0.0
        timings["gpu_power_throttle"] = 1.0 if health.power_throttled else 0.0
        env["gpu_throttle"] = [str(r) for r in health.throttle if r != Throttle.IDLE]
    return timings, env
