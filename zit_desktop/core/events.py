"""Typed events the engine emits through one plain callback, and the events of recording them.

Flow: the engine emits ``Loading``, ``JobStarted``, ``Step``, ``Preview``, ``Notice`` and ``ImageSaved``
while it runs and returns one terminal event (``Finished``, ``Failed`` or ``Cancelled``).
:func:`zit_desktop.core.jobs.run_and_record` adds ``ImageRecorded`` after each image is in the history
and passes the terminal event on last. The Qt worker forwards each object unchanged in one signal;
the CLI prints them; tests assert on lists of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Loading:
    """Model loading or moving; ``phase`` is a short machine name, ``message`` English text for logs
    and terminals, ``detail`` the values a translated text needs (``{"rung": ...}`` for "strategy")."""

    phase: str
    message: str = ""
    detail: dict[str, Any] = field(default_factory=dict)


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
    peak_ram_bytes: int | None = None  # peak RSS of the process sampled during the image (and the load)


@dataclass(frozen=True)
class ImageSaved:
    """One image of the request is on disk (sent before the next image starts).

    ``picture`` is the saved image still in memory (a ``PIL.Image``), so the window and the history
    thumbnail need not decode the PNG again; ``None`` where the engine does not have it.
    """

    job_id: str
    image: ImageResult
    picture: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class ImageRecorded:
    """``image`` is in the history as row ``row_id`` (sent right after its ``ImageSaved``)."""

    job_id: str
    row_id: int
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
    code: str = ""  # a known problem the window translates (AppError.code), with its values:
    facts: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Cancelled:
    job_id: str
    images: tuple[ImageResult, ...] = ()  # images of the batch finished before the cancel


Result = Finished | Failed | Cancelled
Event = Loading | JobStarted | Step | Preview | Notice | ImageSaved | ImageRecorded | Finished | Failed | Cancelled
EventCallback = Callable[[Event], None]


class CancelToken:
    """Thread-safe cancel flags: ``cancelled`` is checked by the engine at every step; ``stop_after_image``
    lets the running image finish and be saved, and stops the batch before its next image."""

    def __init__(self) -> None:
        import threading

        self._event = threading.Event()
        self._after_image = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def stop_after_image(self) -> None:
        self._after_image.set()

    def keep_going(self) -> None:
        """Withdraw :meth:`stop_after_image` (a cancel cannot be withdrawn)."""
        self._after_image.clear()

    def stops_before(self, index: int) -> bool:
        """Whether a batch must stop before starting image ``index``: cancelled, or asked to stop after
        the image in progress (image 0 always runs then: it is the one in progress during the load)."""
        return self.cancelled or (index > 0 and self._after_image.is_set())
