"""Who else holds VRAM, through the real probe code with a fake NVML: per-process memory, names from
psutil (a real child process) or NVML, WDDM-like "not available" answers, and the advice "would fit
at full speed if Chrome (1.4 GB) were closed" from the memory advisor's own fit logic."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import pytest

from zit_desktop.cli.doctor import _gpu_users_lines, gpu_users
from zit_desktop.core.memory.advisor import MemoryAdvisor
from zit_desktop.core.memory.fits import Verdict
from zit_desktop.core.memory.gpu_probe import (
    NVML_VALUE_NOT_AVAILABLE,
    GpuHealth,
    GpuProcess,
    Throttle,
    friendly_name,
    health_record,
)
from zit_desktop.core.memory.other_users import closing_advice, other_users, users_text
from zit_desktop.core.memory.profile import published_profile
from zit_desktop.core.memory.vram import GIB, DeviceInfo, VramProbe, simulated_cuda_device
from zit_desktop.core.sizes import PRESETS_BY_NAME

GB = 10**9
GONE_PID = 4_000_000  # above Linux's pid_max: no such process, psutil cannot name it


class FakeNvml:
    """The pynvml functions the probe calls, answering like a driver would."""

    def __init__(self, procs: list[tuple[int, Any]], graphics: list[tuple[int, Any]] | None = None,
                 names: dict[int, bytes] | None = None, used: int = 6 * GB, total: int = 8 * GB,
                 throttle: int = 0, temperature: int = 64) -> None:  # fmt: skip
        self.procs, self.graphics, self.names = procs, graphics or [], names or {}
        self.used, self.total, self.throttle, self.temperature = used, total, throttle, temperature

    def nvmlInit(self) -> None: ...
    def nvmlShutdown(self) -> None: ...
    def nvmlDeviceGetCount(self) -> int: return 1
    def nvmlDeviceGetHandleByIndex(self, i: int) -> str: return f"h{i}"
    def nvmlDeviceGetName(self, h: str) -> bytes: return b"NVIDIA GeForce RTX 4060 Laptop GPU"
    def nvmlDeviceGetCudaComputeCapability(self, h: str) -> tuple[int, int]: return (8, 9)
    def nvmlSystemGetDriverVersion(self) -> str: return "560.94"

    def nvmlDeviceGetMemoryInfo(self, h: str) -> Any:
        return SimpleNamespace(total=self.total, used=self.used, free=self.total - self.used)

    @staticmethod
    def _list(entries: list[tuple[int, Any]]) -> list[Any]:
        return [SimpleNamespace(pid=pid, usedGpuMemory=used) for pid, used in entries]

    def nvmlDeviceGetComputeRunningProcesses(self, h: str) -> list[Any]: return self._list(self.procs)
    def nvmlDeviceGetGraphicsRunningProcesses(self, h: str) -> list[Any]: return self._list(self.graphics)

    def nvmlSystemGetProcessName(self, pid: int) -> bytes:
        if pid not in self.names:
            raise RuntimeError("NVML_ERROR_NOT_FOUND")
        return self.names[pid]

    def nvmlDeviceGetTemperature(self, h: str, sensor: int) -> int: return self.temperature
    def nvmlDeviceGetClockInfo(self, h: str, clock: int) -> int: return 1500 if self.throttle else 2400
    def nvmlDeviceGetMaxClockInfo(self, h: str, clock: int) -> int: return 2460
    def nvmlDeviceGetPowerUsage(self, h: str) -> int: return 80_500
    def nvmlDeviceGetEnforcedPowerLimit(self, h: str) -> int: return 115_000
    def nvmlDeviceGetCurrentClocksThrottleReasons(self, h: str) -> int: return self.throttle


@pytest.fixture
def child() -> Iterator[int]:
    """A real other process (named by psutil), ended after the test."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield proc.pid
    proc.kill()
    proc.wait()


@pytest.fixture(autouse=True)
def visible_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)


def test_process_list_names_every_other_program_with_its_memory(child: int) -> None:
    me = os.getpid()
    chrome = b"C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe"
    nv = FakeNvml(
        procs=[(me, 3 * GB), (child, 500_000_000)],
        graphics=[(me, 3 * GB), (GONE_PID, int(0.9 * GIB)), (GONE_PID + 1, int(0.5 * GIB))],  # two Chrome pids
        names={GONE_PID: chrome, GONE_PID + 1: chrome},
    )
    info = VramProbe(nvml=nv).sample()
    assert info.source == "nvml" and info.process_bytes == 3 * GB  # ours, counted once from both lists
    health = info.health
    assert health is not None and health.per_process_known
    by_pid = {p.pid: p for p in health.processes}
    assert set(by_pid) == {child, GONE_PID, GONE_PID + 1}  # not us
    assert by_pid[child].name.startswith("python")  # psutil read the real child's name
    assert by_pid[GONE_PID].name == "Chrome"  # psutil cannot: NVML's name, made friendly
    users = other_users(info)
    assert users is not None and users.per_process
    assert [(u.name, u.used_bytes) for u in users.users][0] == ("Chrome", int(0.9 * GIB) + int(0.5 * GIB))
    assert users.total_bytes == int(0.9 * GIB) + int(0.5 * GIB) + 500_000_000
    assert users_text(users).startswith("Chrome 1.4 GiB, python")
    assert (health.temperature_c, health.sm_clock_mhz, health.power_w) == (64.0, 2400, 80.5)


@pytest.mark.parametrize("unknown", [None, NVML_VALUE_NOT_AVAILABLE])
def test_wddm_like_answers_count_other_programs_as_used_minus_ours(unknown: Any) -> None:
    me = os.getpid()
    nv = FakeNvml(procs=[(me, unknown)], graphics=[(GONE_PID, unknown), (me, unknown)],
                  names={GONE_PID: b"dwm.exe"}, used=6 * GB)  # fmt: skip
    info = VramProbe(nvml=nv).sample()
    assert info.health is not None and not info.health.per_process_known
    assert [p.used_bytes for p in info.health.processes] == [None]
    assert info.process_bytes == 0  # the driver does not say, and torch holds nothing here
    ours = replace(info, process_bytes=2 * GIB)  # what the engine's allocator reports (LowVram.device_info)
    users = other_users(ours)
    assert users is not None and not users.per_process
    assert users.total_bytes == 6 * GB - 2 * GIB
    assert users_text(users) == f"other programs: {(6 * GB - 2 * GIB) / GIB:.1f} GiB (Windows desktop (dwm))"


def test_no_nvml_process_lists_is_not_a_guess() -> None:
    assert other_users(simulated_cuda_device(8)) is None  # no health: nothing to say
    assert other_users(None) is None


def _threshold_free(advisor: MemoryAdvisor, device: DeviceInfo, side: int) -> int:
    """The least free VRAM with which ``side``² fits entirely on the GPU (binary search over the advisor)."""
    size = PRESETS_BY_NAME["1024x1024"] if side == 1024 else replace(PRESETS_BY_NAME["1024x1024"], width=side, height=side)
    lo, hi = 0, device.total_bytes
    assert advisor.fit(published_profile(), replace(device, free_bytes=hi), size).verdict == Verdict.FITS
    while hi - lo > 16 * 1024**2:
        mid = (lo + hi) // 2
        if advisor.fit(published_profile(), replace(device, free_bytes=mid), size).verdict == Verdict.FITS:
            hi = mid
        else:
            lo = mid
    return hi


def _card_with(free: int, total: int, procs: tuple[GpuProcess, ...]) -> DeviceInfo:
    base = simulated_cuda_device(total / GIB, free_gib=free / GIB)
    return replace(base, source="nvml", health=GpuHealth(temperature_c=60.0, processes=procs))


def test_would_fit_at_full_speed_if_chrome_were_closed(tmp_path: Any) -> None:
    advisor = MemoryAdvisor(tmp_path)
    total = 32 * GIB
    need = _threshold_free(advisor, simulated_cuda_device(32), 1024)
    free = need - GIB  # 1 GiB short: offload now
    procs = (GpuProcess(11, "Chrome", int(1.4 * GIB)), GpuProcess(12, "Steam", int(0.3 * GIB)))
    device = _card_with(free, total, procs)
    advice = closing_advice(advisor, published_profile(), device, 1024, 1024)
    assert advice is not None
    assert advice.now.verdict != Verdict.FITS and advice.fit.verdict == Verdict.FITS
    assert [u.name for u in advice.users] == ["Chrome"]  # the fewest programs: Steam stays
    assert advice.english() == "1024×1024 would fit at full speed if Chrome (1.4 GiB) were closed"
    # the same answer in doctor, from the same advisor
    report = gpu_users(advisor, published_profile(), device, None)
    assert report is not None
    assert any(a["preset"] == "1024x1024" and a["close"] == ["Chrome"] for a in report["advice"])
    text = "\n".join(_gpu_users_lines({"gpu_users": report}))
    assert "Chrome" in text and "1.4 GiB" in text and "would fit at full speed if Chrome (1.4 GiB) were closed" in text
    assert "kill" not in text.lower()


def test_no_advice_when_it_fits_already_or_closing_would_not_be_enough(tmp_path: Any) -> None:
    advisor = MemoryAdvisor(tmp_path)
    need = _threshold_free(advisor, simulated_cuda_device(32), 1024)
    procs = (GpuProcess(11, "Chrome", GIB // 2),)
    assert closing_advice(advisor, published_profile(), _card_with(need + GIB, 32 * GIB, procs), 1024, 1024) is None
    assert closing_advice(advisor, published_profile(), _card_with(need - 2 * GIB, 32 * GIB, procs), 1024, 1024) is None
    # WDDM-like: nothing named, but the other programs together would free enough
    unknown = (GpuProcess(13, "Windows desktop (dwm)", None),)
    device = replace(_card_with(need - GIB, 32 * GIB, unknown), process_bytes=0)
    device = replace(device, used_bytes=device.total_bytes - device.free_bytes)
    advice = closing_advice(advisor, published_profile(), device, 1024, 1024)
    assert advice is not None and advice.users == ()
    assert advice.english().startswith("1024×1024 would fit at full speed if other programs (")


def test_throttle_reasons_and_the_per_image_record() -> None:
    health = GpuHealth(temperature_c=87.0, sm_clock_mhz=1200, throttle_mask=0x40 | 0x4 | 0x1)
    assert health.throttle == (Throttle.IDLE, Throttle.POWER_CAP, Throttle.HW_THERMAL)
    assert health.thermal_throttled and health.power_throttled
    timings, env = health_record(health)
    assert timings == {"gpu_temp_c": 87.0, "gpu_sm_clock_mhz": 1200.0,
                       "gpu_thermal_throttle": 1.0, "gpu_power_throttle": 1.0}  # fmt: skip
    assert env == {"gpu_throttle": ["power-cap", "hw-thermal"]}
    assert health_record(GpuHealth(temperature_c=50.0, throttle_mask=0))[0]["gpu_thermal_throttle"] == 0.0
    assert health_record(None) == ({}, {})


def test_friendly_names() -> None:
    assert friendly_name("/usr/bin/steam") == "Steam"
    assert friendly_name("C:\\Windows\\System32\\dwm.exe") == "Windows desktop (dwm)"
    assert friendly_name("comfyui-server") == "comfyui-server"


def test_only_us_on_the_card_is_nobody_else_and_unsupported_lists_fall_back_to_used_minus_ours() -> None:
    nv = FakeNvml(procs=[(os.getpid(), 3 * GB)], used=3_300_000_000)  # the rest is the driver's own
    users = other_users(VramProbe(nvml=nv).sample())
    assert users is not None and users.per_process and users.total_bytes == 0 and not users.significant

    class NoLists(FakeNvml):
        def nvmlDeviceGetComputeRunningProcesses(self, h: str) -> list[Any]:
            raise RuntimeError("NVML_ERROR_NOT_SUPPORTED")

        def nvmlDeviceGetGraphicsRunningProcesses(self, h: str) -> list[Any]:
            raise RuntimeError("NVML_ERROR_NOT_SUPPORTED")

    info = VramProbe(nvml=NoLists(procs=[], used=5 * GB)).sample()
    users = other_users(info)
    assert users is not None and not users.per_process and users.total_bytes == 5 * GB
