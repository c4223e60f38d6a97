"""Typed events the engine emits through one plain callback.

The Qt worker is a thin adapter that re-emits them as signals; tests assert on lists of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Loading:
    """Model loading or moving; ``phase`` is a short machine name, ``message`` human text."""

    phase: str
    message: str = ""


@dataclass(frozen=True)
class JobStarted:
    job_id: str
    index: int  # image index within the request (0-based)
    total: int  # images in the request
    seed: int
    strategy: str


@dataclass(frozen=True)
class Step:
    job_id: str
    index: int
    step: int  # 1-based step just finished
    steps: int
    elapsed: float  # seconds since denoising began
    eta: float  # seconds left for this image, estimated


@dataclass(frozen=True)
class Preview:
    job_id: str
    index: int
    step: int
    width: int
    height: int
    rgb: bytes  # width*height*3 bytes, RGB888, row-major


@dataclass(frozen=True)
class Notice:
    """Something the user should know that is not a failure (OOM retry, truncation, slow driver)."""

    job_id: str
    kind: str  # "oom-retry", "prompt-truncated", "sysmem-fallback", "warning"
    message: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ImageResult:
    index: int
    seed: int
    path: str
    width: int
    height: int
    timings: dict[str, float]  # phase -> seconds: encode, denoise, decode, save, total
    strategy: str
    oom_retries: int
    peak_vram_bytes: int | None
    request: dict[str, Any]  # the single-image request (concrete seed, count=1)
    environment: dict[str, Any]


@dataclass(frozen=True)
class ImageSaved:
    """One image of the request is on disk (sent before the next image starts)."""

    job_id: str
    image: ImageResult


@dataclass(frozen=True)
class Finished:
    job_id: str
    images: tuple[ImageResult, ...]
    timings: dict[str, float]

    @property
    def paths(self) -> list[str]:
        return [im.path for im in self.images]


@dataclass(frozen=True)
class Failed:
    job_id: str
    kind: str  # see core.errors.ErrorKind
    message: str  # for the user: what happened and what to do
    detail: str = ""  # technical detail for the log
    images: tuple[ImageResult, ...] = ()  # images of the batch finished before the failure


@dataclass(frozen=True)
class Cancelled:
    job_id: str
    images: tuple[ImageResult, ...] = ()  # images of the batch finished before the cancel


Event = Loading | JobStarted | Step | Preview | Notice | ImageSaved | Finished | Failed | Cancelled
EventCallback = Callable[[Event], None]


class CancelToken:
    """Thread-safe cancel flag checked by the engine at every step."""

    def __init__(self) -> None:
        import threading

        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()
