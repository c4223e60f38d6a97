"""The engine's low-VRAM side: plan a job, remember what ran out of memory, learn measured peaks,
spot NaN latents and the Windows "sysmem fallback" slowdown.

The runner owns one :class:`LowVram`. Every planning question (model sizes, rung, fits, learned
peaks) goes to the torch-free :class:`~zit_desktop.core.memory.advisor.MemoryAdvisor`; what stays
here needs torch: the device as torch's allocator sees it, OOM detection, the sysmem watch, NaN checks.
"""

from __future__ import annotations

import logging
import statistics
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from zit_desktop.core.engine.tiny_model import is_test_model
from zit_desktop.core.errors import AppError, ErrorKind
from zit_desktop.core.memory.advisor import MemoryAdvisor
from zit_desktop.core.memory.fits import Verdict
from zit_desktop.core.memory.gpu_probe import GpuHealth
from zit_desktop.core.memory.peak_model import Calibration, PlanOptions
from zit_desktop.core.memory.plan import Plan, options_from_settings
from zit_desktop.core.memory.profile import ModelProfile
from zit_desktop.core.memory.refine import RefinePlan
from zit_desktop.core.memory.rungs import LADDER, Rung
from zit_desktop.core.memory.vram import CpuReason, DeviceInfo, cpu_device, default_probe
from zit_desktop.core.paths import AppPaths
from zit_desktop.core.request import REFINE, GenerationRequest
from zit_desktop.core.settings import Settings
from zit_desktop.core.sizes import PRESETS_BY_NAME

log = logging.getLogger(__name__)

def _python_program() -> str:
    """The interpreter that really runs (a venv's python.exe on Windows only launches the base one)."""
    import sys

    base = Path(getattr(sys, "_base_executable", "") or sys.executable)
    return str(base.with_name("pythonw.exe") if base.name.lower() == "python.exe" else base)


SYSMEM_ADVICE = (
    "Generation slowed down sharply while video memory is full: the NVIDIA driver is probably spilling "
    'into system RAM ("sysmem fallback"), which makes every step crawl instead of reporting out of '
    "memory. Fix: NVIDIA Control Panel → Manage 3D settings → Program Settings → add "
    f"{_python_program()} (and python.exe beside it) → \"CUDA - Sysmem Fallback Policy\" → "
    '"Prefer No Sysmem Fallback". ZIT Desktop then gets a real out-of-memory error and retries with '
    "a leaner memory strategy."
)
FRAGMENTED_RETRY = (
    "Out of video memory on '{rung}' while {gb:.1f} GB of the cache sat in fragments; freed the cache "
    "and retrying the same image on the same strategy once before stepping leaner."
)
# Inactive split blocks (memory_stats "inactive_split_bytes"): cached pieces too small to reuse. At
# least this much when an allocation fails means fragmentation, not a too-large job.
FRAGMENTED_BYTES = 256 * 1024**2
NUMERICAL_MESSAGE = (
    "The image came out as invalid numbers (NaN/inf) — it would have been a black picture, so it was not "
    "saved. This is a numerical overflow. Fix: turn off fp8 in Settings if it is on, and use the original "
    "bf16 model files (an fp16 conversion overflows on this model). GPUs older than the RTX 30 series have no "
    "bf16; ZIT Desktop computes in float32 there — update the NVIDIA driver if it still happens."
)


def check_latents(latents: torch.Tensor) -> None:
    """Raise the numerical-overflow AppError when the denoised latents hold NaN or inf."""
    if not bool(torch.isfinite(latents).all()):
        bad = int((~torch.isfinite(latents)).sum())
        raise AppError(
            ErrorKind.NUMERICAL, NUMERICAL_MESSAGE, f"{bad} of {latents.numel()} latent values not finite"
        )


class SysmemWatch:
    """A step ``factor``x slower than the median of the earlier steps (step 1, the warm-up, excluded)
    while VRAM is >= ``full`` used: the driver is paging to system RAM. Fires once per job."""

    def __init__(
        self, sample: Callable[[], DeviceInfo] | None = None, factor: float = 4.0, full: float = 0.95
    ) -> None:
        self.sample = sample or default_probe().sample
        self.factor = factor
        self.full = full
        self.reset()

    def reset(self) -> None:
        self._steps: list[float] = []
        self.fired = False

    def observe(self, seconds: float) -> bool:
        self._steps.append(seconds)
        base = self._steps[1:-1]
        if self.fired or len(base) < 2:
            return False
        if seconds < self.factor * statistics.median(base):
            return False
        dev = self.sample()
        if dev.is_cuda and dev.total_bytes and dev.used_bytes >= self.full * dev.total_bytes:
            self.fired = True
            return True
        return False


class LowVram:
    """The engine's memory side. Every planning question goes to the :class:`MemoryAdvisor` (shared with
    the window when the app passes one in); this class adds what needs torch or lives only as long as
    the engine: the device seen through torch's allocator, and the sizes that ran out of memory."""

    def __init__(
        self, paths: AppPaths, settings: Settings, device: torch.device, advisor: MemoryAdvisor | None = None
    ) -> None:
        self.paths = paths
        self.settings = settings
        self.device = device
        self.advisor = advisor if advisor is not None else MemoryAdvisor(paths.cache)
        self.device_override: Callable[[], DeviceInfo] | None = None  # benchmarks: a capped device
        self.profile_override: ModelProfile | None = None  # benchmarks: a model that is not on disk
        self._floors: dict[bool, list[tuple[int, int]]] = {}  # cfg -> [(pixels, rung index that worked)]

    @property
    def calibration(self) -> Calibration:
        return self.advisor.calibration

    # ---- inputs ---------------------------------------------------------------------------------
    def device_info(self) -> DeviceInfo:
        if self.device_override is not None:
            return self.device_override()
        if self.device.type != "cuda":
            return cpu_device("running on the CPU", kind=CpuReason.ENGINE)
        info = default_probe().sample()
        if info.is_cuda and torch.cuda.is_initialized():
            # NVML may not report per-process usage (Windows WDDM): count what our allocator holds.
            own = int(torch.cuda.memory_reserved(self.device))
            if info.process_bytes < own:
                info = replace(info, process_bytes=own + self.calibration.cuda_context_bytes)
        return info

    def health(self) -> GpuHealth | None:
        """The card's temperature, clocks and throttle reasons now (None on the CPU or without NVML)."""
        if self.device_override is not None:
            return self.device_override().health
        return default_probe().sample().health if self.device.type == "cuda" else None

    def memory_stats(self) -> dict[str, Any]:
        """torch's allocator statistics for this device ({} on the CPU)."""
        if self.device.type != "cuda":
            return {}
        return dict(torch.cuda.memory_stats(self.device))

    def fragmented_bytes(self) -> int:
        """The allocator's inactive split bytes when they are enough to call the cache fragmented
        (:data:`FRAGMENTED_BYTES`), else 0. Read it before emptying the cache."""
        try:
            split = int(self.memory_stats().get("inactive_split_bytes.all.current", 0))
        except Exception:  # noqa: BLE001 - statistics are advice; never turn an OOM into a crash
            log.debug("memory_stats failed", exc_info=True)
            return 0
        return split if split >= FRAGMENTED_BYTES else 0

    def profile(self, model_dir: Path | None, req: GenerationRequest | None = None) -> ModelProfile:
        """The sizes to plan with: the request's variant (its files, else the catalogue's numbers)."""
        if self.profile_override is not None:
            return self.profile_override
        prof = self.advisor.planning_profile(model_dir, req.variant if req is not None else None)
        single = Path(req.transformer) if req is not None and req.transformer else None
        if single is not None and single.suffix.lower() == ".gguf" and single.is_file():
            prof = replace(prof, transformer_file_bytes=single.stat().st_size)  # read whole while loading
        return prof

    def options(self, req: GenerationRequest, embeddings_cached: bool) -> PlanOptions:
        return options_from_settings(
            self.settings, cfg=req.uses_cfg, embeddings_cached=embeddings_cached, image_to_image=is_refine(req)
        )

    # ---- planning -------------------------------------------------------------------------------
    def plan(self, req: GenerationRequest, model_dir: Path | None, embeddings_cached: bool = False) -> Plan:
        """The rung plan of one pipeline call of ``req``: the image, or one tile of a tiled refine."""
        opts = self.options(req, embeddings_cached)
        width, height = planning_size(req)
        p = self.advisor.plan(self.profile(model_dir, req), self.device_info(), width, height, opts)
        floor = self._floor(req)
        while p.rung in LADDER and LADDER.index(p.rung) < floor:  # forced rungs too: it ran out
            nxt = p.next_rung()
            if nxt is None:
                break
            why = "out of memory earlier this session at this size: starting leaner"
            p = replace(nxt, oom_retries=0, reasons=(why, *nxt.reasons[1:]))
        return p

    def refine_plan(self, req: GenerationRequest, model_dir: Path | None) -> RefinePlan:
        """Whole or tiled for the refine ``req`` (``core/memory/refine.py``)."""
        return self.advisor.refine_plan(
            self.profile(model_dir, req), self.device_info(), req.width, req.height, self.options(req, False)
        )

    def tight(self, p: Plan | None) -> bool:
        """On the ``gpu`` rung with under 2 GiB of headroom: park the text encoder after encoding."""
        if p is None or p.rung != Rung.GPU or self.device.type != "cuda":
            return False
        return p.available_bytes - p.predicted_peak_bytes < 2 * 1024**3

    def _floor(self, req: GenerationRequest) -> int:
        width, height = planning_size(req)
        pixels = width * height
        return max((r for px, r in self._floors.get(req.uses_cfg, []) if pixels >= px), default=0)

    def remember_oom(self, req: GenerationRequest, worked_rung: str) -> None:
        """A job of this size ran out of memory above ``worked_rung``: start there next time."""
        if worked_rung in LADDER:
            width, height = planning_size(req)
            self._floors.setdefault(req.uses_cfg, []).append((width * height, LADDER.index(worked_rung)))

    def record_peak(
        self,
        p: Plan,
        req: GenerationRequest,
        measured_reserved: int | None,
        measured_rss: int | None = None,
        model_dir: Path | None = None,
    ) -> None:
        """Teach the advisor the allocator peak a GPU job measured and the peak RSS any job sampled
        (the window's badges and doctor see them too), against the model ``p`` was planned for. Nothing
        is learned from a test model (``model_dir`` holds the tiny model's marker file): its ratio of
        measured to predicted would skew every real model's predictions."""
        if is_test_model(model_dir):
            log.debug("not learning peaks of the test model in %s", model_dir)
            return
        info = self.device_info()
        width, height = p.size or planning_size(req)  # a tiled refine's peak is one tile's
        if measured_rss:
            self.advisor.record_ram_peak(p, width, height, measured_rss, info)
        if measured_reserved is None or self.device.type != "cuda":
            return
        self.advisor.record_peak(p, width, height, measured_reserved, info)

    def out_of_memory(self, req: GenerationRequest, model_dir: Path | None, detail: str) -> AppError:
        """The clean failure after the last rung: on a GPU it speaks of video memory, on the CPU of
        system RAM, and it only ever suggests a preset smaller than the size that failed."""
        device = self.device_info()
        failed = req.width * req.height
        smaller = [
            f
            for f in self.advisor.preset_fits(self.profile(model_dir, req), device, self.options(req, False))
            if f.width * f.height < failed and f.verdict != Verdict.TOO_BIG
        ]
        # the largest smaller preset (ties: PRESETS order), sequential offload only when nothing faster fits
        faster = [f for f in smaller if f.rung != Rung.SEQUENTIAL]
        best = max(faster or smaller, key=lambda f: f.width * f.height, default=None)
        if not device.is_cuda:
            hint = (
                f"try a smaller size such as {PRESETS_BY_NAME[best.preset].label} ({best.width}×{best.height}), "
                if best is not None
                else "try a smaller size, "
            )
            return AppError(
                ErrorKind.OUT_OF_MEMORY,
                f"Out of system memory (RAM) at {req.width}×{req.height} on the CPU. Close other programs that "
                f"use a lot of memory, {hint}or a smaller model variant (`zit-desktop doctor` shows which "
                "fits this computer's RAM).",
                detail,
            )
        if best is None:
            advice = (
                f"No size smaller than {req.width}×{req.height} is predicted to fit right now: close other "
                "programs that use the GPU (games, browsers, other AI tools) and try again."
            )
        else:
            label = PRESETS_BY_NAME[best.preset].label
            advice = (
                f"The largest smaller size predicted to fit is {label} ({best.width}×{best.height}): choose it, "
                "or close other programs that use the GPU and try again."
            )
        return AppError(
            ErrorKind.OUT_OF_MEMORY,
            f"Out of video memory at {req.width}×{req.height}, even with the leanest memory strategy. {advice}",
            detail,
        )


def is_refine(req: GenerationRequest) -> bool:
    return req.finalize is not None and req.finalize.method == REFINE


def planning_size(req: GenerationRequest) -> tuple[int, int]:
    """The size of one pipeline call of ``req``: a tiled refine's tile, else the image."""
    f = req.finalize
    if f is not None and f.method == REFINE and f.tile:
        return min(f.tile, req.width), min(f.tile, req.height)
    return req.width, req.height


def is_oom(exc: BaseException) -> bool:
    if isinstance(exc, torch.OutOfMemoryError):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and ("out of memory" in text or "cublas_status_alloc_failed" in text)
