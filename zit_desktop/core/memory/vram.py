"""VRAM probe: what the GPU has, what is free, what this process uses. Qt-free and torch-free.

``VramProbe.sample()`` is cheap enough for a 2 Hz gauge (one NVML memory query, one process-list
query, one ``psutil.virtual_memory()``), thread-safe, and never raises: without an NVIDIA GPU or
driver it returns a CPU-mode :class:`DeviceInfo` whose ``reason`` says why.

Sources, in order:

1. NVML (``pynvml`` from ``nvidia-ml-py``), initialised once, lazily;
2. ``torch.cuda.mem_get_info`` — only if torch is *already imported* and CUDA already initialised by
   the engine (this module never imports torch and never creates a CUDA context);
3. CPU mode.

The device is the first entry of ``CUDA_VISIBLE_DEVICES`` when it is a number (or an NVML UUID),
so the probe watches the same card torch will use.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import threading
from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from typing import Any

from zit_desktop.core.memory.gpu_probe import GpuHealth, read_health

GIB = 1024**3
MIB = 1024**2


def gb_text(n: float) -> str:
    """Bytes for people, in the one unit the app uses for memory and files: binary gigabytes,
    labelled so (``"8.0 GiB"``). Cards and RAM are built in binary sizes, so an "8 GB" card (8192 MiB,
    as nvidia-smi says) reads 8.0 GiB, not 8.6 GB; the simulated ones read exactly what was asked for."""
    return f"{n / GIB:.1f} GiB"


log = logging.getLogger(__name__)


class CpuReason(StrEnum):
    """Why a device is the CPU, as a closed set: the window translates by this, while ``reason``
    keeps the English words (with the driver's own message) for the terminal and the log."""

    NONE = ""  # a GPU, or a reason nobody classified
    NO_DRIVER = "no-driver"  # no NVIDIA GPU, or no driver (NVML does not load)
    HIDDEN = "hidden"  # CUDA_VISIBLE_DEVICES hides every GPU
    NO_BINDINGS = "no-bindings"  # nvidia-ml-py is not installed
    UNUSABLE = "unusable"  # NVML loads but the GPU cannot be used
    STOPPED = "stopped"  # the GPU stopped answering
    PROBE_FAILED = "probe-failed"  # the probe itself failed (a bug or an odd driver)
    ENGINE = "engine"  # the engine runs on the CPU (torch sees no CUDA device)


@dataclass(frozen=True)
class DeviceInfo:
    kind: str  # "cuda" or "cpu"
    name: str
    total_bytes: int = 0
    used_bytes: int = 0
    free_bytes: int = 0
    process_bytes: int = 0  # VRAM held by this process (0 when unknown or none)
    bf16_supported: bool = False
    compute_capability: tuple[int, int] | None = None
    system_ram_bytes: int = 0
    system_ram_available_bytes: int = 0
    driver_version: str = ""
    reason: str = ""  # why CPU mode (empty on a GPU)
    index: int = 0
    source: str = "none"  # "nvml", "torch", "none" or "simulated"
    # temperature, clocks, throttle reasons and the other processes on the card (NVML only)
    health: GpuHealth | None = None
    reason_kind: str = CpuReason.NONE  # a CpuReason: why CPU mode, for translated texts

    @property
    def is_cuda(self) -> bool:
        return self.kind == "cuda"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["compute_capability"] = list(self.compute_capability) if self.compute_capability else None
        return data

    def with_cap(self, cap_bytes: int) -> DeviceInfo:
        """This device as seen under a per-process VRAM cap (benchmarks: set_per_process_memory_fraction)."""
        total = min(self.total_bytes, cap_bytes) if self.total_bytes else cap_bytes
        used = min(self.process_bytes, total)
        return replace(self, total_bytes=total, used_bytes=used, free_bytes=max(0, total - used))


def simulated_cuda_device(
    total_gib: float,
    *,
    free_gib: float | None = None,
    bf16: bool = True,
    ram_gib: float = 32.0,
    ram_available_gib: float | None = None,
    name: str | None = None,
    process_bytes: int = 0,
) -> DeviceInfo:
    """A made-up CUDA device for tests, benchmarks and "what if" questions."""
    total = int(total_gib * GIB)
    free = int((free_gib if free_gib is not None else total_gib * 0.95) * GIB)
    ram = int(ram_gib * GIB)
    return DeviceInfo(
        kind="cuda",
        name=name or f"Simulated {total_gib:g} GiB GPU",
        total_bytes=total,
        used_bytes=total - free,
        free_bytes=free,
        process_bytes=process_bytes,
        bf16_supported=bf16,
        compute_capability=(8, 6) if bf16 else (7, 5),
        system_ram_bytes=ram,
        system_ram_available_bytes=int(
            (ram_available_gib if ram_available_gib is not None else ram_gib * 0.75) * GIB
        ),
        source="simulated",
    )


def system_ram() -> tuple[int, int]:
    """(total, available) bytes of system RAM; (0, 0) when unknown. Never raises."""
    try:
        import psutil

        vm = psutil.virtual_memory()
        return int(vm.total), int(vm.available)
    except Exception:  # noqa: BLE001 - telemetry must never raise
        return 0, 0


def _as_str(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def cpu_device(
    reason: str, ram: tuple[int, int] | None = None, kind: CpuReason = CpuReason.NONE
) -> DeviceInfo:
    """The CPU as a device: no VRAM, the system RAM (measured now unless given), and why no GPU
    (``reason`` in English words, ``kind`` the same as a :class:`CpuReason`)."""
    total, available = ram if ram is not None else system_ram()
    return DeviceInfo(
        kind="cpu", name="CPU", system_ram_bytes=total, system_ram_available_bytes=available, reason=reason,
        reason_kind=str(kind),
    )


def _visible_device() -> tuple[str | int | None, str]:
    """(index or UUID to probe, reason if CUDA_VISIBLE_DEVICES hides every GPU)."""
    raw = os.environ.get("CUDA_VISIBLE_DEVICES")
    if raw is None:
        return 0, ""
    first = raw.split(",")[0].strip()
    if first == "" or first.startswith("-"):
        return None, f"CUDA_VISIBLE_DEVICES={raw!r} hides every GPU"
    if first.isdigit():
        return int(first), ""
    if first.upper().startswith(("GPU-", "MIG-")):
        return first, ""
    return 0, ""


class VramProbe:
    """Lazily initialised NVML probe. One per process is enough; ``sample()`` is thread-safe.

    ``nvml``: the NVML bindings to use (default: ``import pynvml``); tests pass a fake with the same
    functions. ``name_of``: pid -> process name (default: psutil)."""

    def __init__(self, nvml: Any = None, name_of: Any = None) -> None:
        self._lock = threading.Lock()
        self._initialised = False
        self._bindings: Any = nvml
        self._name_of = name_of
        self._nvml: Any = None
        self._handle: Any = None
        self._static: dict[str, Any] = {}
        self._nvml_error = ""
        self._nvml_kind = CpuReason.NONE
        self._pid = os.getpid()

    # ---- NVML -----------------------------------------------------------------------------
    def _init_nvml(self) -> None:
        self._initialised = True
        target, hidden = _visible_device()
        if target is None:
            self._nvml_error, self._nvml_kind = hidden, CpuReason.HIDDEN
            return
        pynvml: Any = self._bindings
        if pynvml is None:
            try:
                pynvml = importlib.import_module("pynvml")
            except ImportError:
                self._nvml_error = "NVML bindings (nvidia-ml-py) are not installed"
                self._nvml_kind = CpuReason.NO_BINDINGS
                return
        try:
            pynvml.nvmlInit()
        except Exception as exc:  # noqa: BLE001 - NVMLError_LibraryNotFound, DriverNotLoaded, ...
            self._nvml_error = f"no NVIDIA GPU or driver ({_nvml_message(exc)})"
            self._nvml_kind = CpuReason.NO_DRIVER
            return
        try:
            if isinstance(target, str):
                handle = pynvml.nvmlDeviceGetHandleByUUID(target)
                index = int(pynvml.nvmlDeviceGetIndex(handle))
            else:
                if pynvml.nvmlDeviceGetCount() <= target:
                    raise LookupError(f"GPU {target} not present")
                handle = pynvml.nvmlDeviceGetHandleByIndex(target)
                index = target
            cc: tuple[int, int] | None
            try:
                major, minor = pynvml.nvmlDeviceGetCudaComputeCapability(handle)
                cc = (int(major), int(minor))
            except Exception:  # noqa: BLE001
                cc = None
            try:
                driver = _as_str(pynvml.nvmlSystemGetDriverVersion())
            except Exception:  # noqa: BLE001
                driver = ""
            self._static = {
                "name": _as_str(pynvml.nvmlDeviceGetName(handle)),
                "index": index,
                "cc": cc,
                "driver": driver,
            }
        except Exception as exc:  # noqa: BLE001
            self._nvml_error = f"no usable NVIDIA GPU ({_nvml_message(exc)})"
            self._nvml_kind = CpuReason.UNUSABLE
            _shutdown(pynvml)
            return
        self._nvml = pynvml
        self._handle = handle

    def _health(self) -> GpuHealth:
        if self._name_of is not None:
            return read_health(self._nvml, self._handle, self._pid, self._name_of)
        return read_health(self._nvml, self._handle, self._pid)

    def _sample_nvml(self, ram: tuple[int, int]) -> DeviceInfo:
        mem = self._nvml.nvmlDeviceGetMemoryInfo(self._handle)
        cc = self._static["cc"]
        health = self._health()
        own = health.own_bytes
        if own is None:  # WDDM: no per-process figure; what our allocator holds, if the engine runs here
            own = _torch_reserved()
        return DeviceInfo(
            kind="cuda",
            name=self._static["name"],
            total_bytes=int(mem.total),
            used_bytes=int(mem.used),
            free_bytes=int(mem.free),
            process_bytes=int(own or 0),
            bf16_supported=bool(cc and cc >= (8, 0)),
            compute_capability=cc,
            system_ram_bytes=ram[0],
            system_ram_available_bytes=ram[1],
            driver_version=self._static["driver"],
            index=self._static["index"],
            source="nvml",
            health=health,
        )

    # ---- torch fallback ---------------------------------------------------------------------
    @staticmethod
    def _sample_torch(ram: tuple[int, int]) -> DeviceInfo | None:
        torch = sys.modules.get("torch")
        if torch is None:
            return None
        try:
            cuda = torch.cuda
            # Only when the engine already made a CUDA context: mem_get_info would create one.
            if not (cuda.is_available() and cuda.is_initialized()):
                return None
            dev = cuda.current_device()
            free, total = cuda.mem_get_info(dev)
            cc = tuple(int(x) for x in cuda.get_device_capability(dev))
            return DeviceInfo(
                kind="cuda",
                name=str(cuda.get_device_name(dev)),
                total_bytes=int(total),
                used_bytes=int(total - free),
                free_bytes=int(free),
                process_bytes=int(cuda.memory_reserved(dev)),
                bf16_supported=cc >= (8, 0),
                compute_capability=(cc[0], cc[1]),
                system_ram_bytes=ram[0],
                system_ram_available_bytes=ram[1],
                index=int(dev),
                source="torch",
            )
        except Exception:  # noqa: BLE001
            return None

    # ---- public -----------------------------------------------------------------------------
    def sample(self) -> DeviceInfo:
        """The device now. Never raises."""
        ram = system_ram()
        with self._lock:
            try:
                if not self._initialised:
                    self._init_nvml()
                if self._nvml is not None:
                    try:
                        return self._sample_nvml(ram)
                    except Exception as exc:  # noqa: BLE001 - GPU lost, driver reset...
                        self._nvml_error = f"NVIDIA GPU stopped answering ({_nvml_message(exc)})"
                        self._nvml_kind = CpuReason.STOPPED
                        self._nvml = None
                reason = self._nvml_error or "no NVIDIA GPU"
                kind = self._nvml_kind if self._nvml_error else CpuReason.NO_DRIVER
            except Exception as exc:  # noqa: BLE001 - never raise from telemetry
                reason, kind = f"GPU probe failed ({exc!r})", CpuReason.PROBE_FAILED
        info = self._sample_torch(ram)
        if info is not None:
            return info
        return cpu_device(reason, ram, kind)

    def reset(self) -> None:
        """Forget the NVML state; the next ``sample()`` initialises again (e.g. after a driver install)."""
        with self._lock:
            if self._nvml is not None:
                _shutdown(self._nvml)
            self._initialised = False
            self._nvml = None
            self._handle = None
            self._nvml_error = ""
            self._nvml_kind = CpuReason.NONE
            self._static = {}


def _torch_reserved() -> int | None:
    """What torch's allocator reserves in this process, only if the engine already uses CUDA here
    (never imports torch, never creates a CUDA context)."""
    torch = sys.modules.get("torch")
    if torch is None:
        return None
    try:
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            return int(torch.cuda.memory_reserved())
    except Exception:  # noqa: BLE001 - telemetry must never raise
        return None
    return None


def _shutdown(nvml: Any) -> None:
    try:
        nvml.nvmlShutdown()
    except Exception as exc:  # noqa: BLE001
        log.debug("nvmlShutdown failed: %s", exc)


def _nvml_message(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text.strip()


_default_probe: VramProbe | None = None
_default_lock = threading.Lock()


def default_probe() -> VramProbe:
    """The process-wide probe (NVML is initialised once)."""
    global _default_probe
    with _default_lock:
        if _default_probe is None:
            _default_probe = VramProbe()
        return _default_probe


def sample_device() -> DeviceInfo:
    return default_probe().sample()
