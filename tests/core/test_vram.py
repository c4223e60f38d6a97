"""The VRAM probe: never raises, CPU mode without a driver, NVML and torch paths with fakes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import types
from dataclasses import dataclass
from typing import Any

import pytest

from zit_desktop.core.memory.vram import GIB, DeviceInfo, VramProbe, simulated_cuda_device


def test_probe_without_nvidia_driver_is_cpu_mode_and_fast() -> None:
    probe = VramProbe()
    start = time.perf_counter()
    infos = [probe.sample() for _ in range(100)]
    elapsed = time.perf_counter() - start
    info = infos[-1]
    if info.kind == "cuda":  # pragma: no cover - only on a machine with a GPU
        pytest.skip("this machine has an NVIDIA GPU")
    assert info.kind == "cpu" and not info.is_cuda
    assert info.reason  # says why: "no NVIDIA GPU or driver (...)"
    assert info.total_bytes == info.free_bytes == 0
    assert info.system_ram_bytes > 0 and 0 < info.system_ram_available_bytes <= info.system_ram_bytes
    assert elapsed < 2.0, f"100 samples took {elapsed:.2f}s; the gauge polls at 2 Hz"


def test_probe_never_imports_torch() -> None:
    code = (
        "import sys\nfrom zit_desktop.core.memory.vram import VramProbe\nVramProbe().sample()\n"
        "import zit_desktop.core.memory.plan\nsys.exit(1 if 'torch' in sys.modules else 0)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_cuda_visible_devices_hiding_every_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    info = VramProbe().sample()
    assert info.kind == "cpu" and "CUDA_VISIBLE_DEVICES" in info.reason


# ---- a fake NVML --------------------------------------------------------------------------------
@dataclass
class _Mem:
    total: int
    used: int
    free: int


@dataclass
class _Proc:
    pid: int
    usedGpuMemory: int | None


def _fake_nvml(
    gpus: list[dict[str, Any]], *, init_error: Exception | None = None, procs: list[_Proc] | None = None
) -> types.ModuleType:
    nv = types.ModuleType("pynvml")
    state: dict[str, Any] = {"mem_error": None, "calls": 0}

    def init() -> None:
        if init_error is not None:
            raise init_error

    nv.nvmlInit = init  # type: ignore[attr-defined]
    nv.nvmlShutdown = lambda: None  # type: ignore[attr-defined]
    nv.nvmlDeviceGetCount = lambda: len(gpus)  # type: ignore[attr-defined]
    nv.nvmlDeviceGetHandleByIndex = lambda i: i  # type: ignore[attr-defined]
    nv.nvmlDeviceGetName = lambda h: gpus[h]["name"].encode()  # type: ignore[attr-defined]
    nv.nvmlSystemGetDriverVersion = lambda: "555.42"  # type: ignore[attr-defined]
    nv.nvmlDeviceGetCudaComputeCapability = lambda h: gpus[h]["cc"]  # type: ignore[attr-defined]

    def mem(h: int) -> _Mem:
        state["calls"] += 1
        if state["mem_error"] is not None:
            raise state["mem_error"]
        g = gpus[h]
        return _Mem(g["total"], g["total"] - g["free"], g["free"])

    nv.nvmlDeviceGetMemoryInfo = mem  # type: ignore[attr-defined]
    nv.nvmlDeviceGetComputeRunningProcesses = lambda h: list(procs or [])  # type: ignore[attr-defined]

    def graphics(h: int) -> list[_Proc]:
        raise RuntimeError("not supported")

    nv.nvmlDeviceGetGraphicsRunningProcesses = graphics  # type: ignore[attr-defined]
    nv._state = state  # type: ignore[attr-defined]
    return nv


GPUS = [
    {"name": "NVIDIA GeForce RTX 2060", "total": 6 * GIB, "free": 5 * GIB, "cc": (7, 5)},
    {"name": "NVIDIA GeForce RTX 3060 Ti", "total": 8 * GIB, "free": 7 * GIB, "cc": (8, 6)},
]


@pytest.mark.parametrize(
    "visible, name, bf16",
    [(None, "NVIDIA GeForce RTX 2060", False), ("1,0", "NVIDIA GeForce RTX 3060 Ti", True)],
)
def test_nvml_path(monkeypatch: pytest.MonkeyPatch, visible: str | None, name: str, bf16: bool) -> None:
    if visible is None:
        monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    else:
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", visible)
    nv = _fake_nvml(GPUS, procs=[_Proc(os.getpid(), 3 * GIB), _Proc(1, GIB)])
    monkeypatch.setitem(sys.modules, "pynvml", nv)
    info = VramProbe().sample()
    assert info.kind == "cuda" and info.source == "nvml" and info.name == name
    assert info.bf16_supported is bf16
    assert info.process_bytes == 3 * GIB  # only this process
    assert info.free_bytes + info.used_bytes == info.total_bytes
    assert info.driver_version == "555.42"


def test_nvml_init_failure_and_lost_gpu_never_raise(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setitem(sys.modules, "pynvml", _fake_nvml(GPUS, init_error=RuntimeError("Driver Not Loaded")))
    info = VramProbe().sample()
    assert info.kind == "cpu" and "Driver Not Loaded" in info.reason

    nv = _fake_nvml(GPUS)
    monkeypatch.setitem(sys.modules, "pynvml", nv)
    probe = VramProbe()
    assert probe.sample().kind == "cuda"
    nv._state["mem_error"] = RuntimeError("GPU is lost")  # type: ignore[attr-defined]
    info = probe.sample()
    assert info.kind == "cpu" and "GPU is lost" in info.reason
    assert probe.sample().kind == "cpu"  # stays down until reset(), no retry storm


def test_torch_fallback_only_when_cuda_already_initialised(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setitem(sys.modules, "pynvml", _fake_nvml(GPUS, init_error=RuntimeError("no NVML")))
    cuda = types.SimpleNamespace(
        initialised=False,
        is_available=lambda: True,
        current_device=lambda: 0,
        mem_get_info=lambda d: (3 * GIB, 4 * GIB),
        get_device_capability=lambda d: (8, 9),
        get_device_name=lambda d: "Fake Ada",
        memory_reserved=lambda d: GIB // 2,
    )
    cuda.is_initialized = lambda: cuda.initialised
    monkeypatch.setitem(sys.modules, "torch", types.SimpleNamespace(cuda=cuda))
    assert VramProbe().sample().kind == "cpu"  # would create a CUDA context: not allowed
    cuda.initialised = True
    info = VramProbe().sample()
    assert info.kind == "cuda" and info.source == "torch" and info.bf16_supported
    assert (info.total_bytes, info.free_bytes, info.process_bytes) == (4 * GIB, 3 * GIB, GIB // 2)


def test_device_info_helpers() -> None:
    dev = simulated_cuda_device(24, bf16=True)
    capped = dev.with_cap(6 * GIB)
    assert capped.total_bytes == 6 * GIB and capped.free_bytes == 6 * GIB
    d = dev.to_dict()
    assert d["kind"] == "cuda" and d["compute_capability"] == [8, 6]
    assert DeviceInfo(kind="cpu", name="CPU").is_cuda is False
