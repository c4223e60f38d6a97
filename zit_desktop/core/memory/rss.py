"""Peak resident memory of this process over a stretch of work (a job, one image). Torch-free.

Why sampling: ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` is the high-water mark of the whole
process life (and in KiB on Linux, bytes on macOS, absent on Windows), so after the first job it no
longer says what *this* job took. :class:`RssSampler` instead polls ``psutil.Process().memory_info().rss``
on a daemon thread every ``interval`` seconds (one /proc read: negligible next to a denoise step) and
keeps the maximum; :meth:`take_peak` returns the peak since the last take and starts a new stretch,
so a job's first image includes the model load. Short spikes between two samples can be missed:
the figure is a lower bound of the true peak, within about ``interval`` of allocation time.
Never raises: without psutil the peak is None.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

log = logging.getLogger(__name__)


def current_rss() -> int | None:
    """This process's resident set size in bytes now, or None when it cannot be read."""
    try:
        import psutil

        return int(psutil.Process().memory_info().rss)
    except Exception:  # noqa: BLE001 - telemetry must never raise
        return None


class RssSampler:
    """Polls this process's RSS on a daemon thread and keeps the peak (see the module docstring)."""

    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval
        self._peak: int | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def sample(self) -> None:
        """Take one sample now (also called by the thread)."""
        rss = current_rss()
        if rss is None:
            return
        with self._lock:
            self._peak = rss if self._peak is None else max(self._peak, rss)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def start(self) -> RssSampler:
        if self._thread is None:
            self.sample()
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> int | None:
        """Stop the thread; the peak since the last :meth:`take_peak`."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1.0)
            self._thread = None
        self.sample()
        with self._lock:
            return self._peak

    def take_peak(self) -> int | None:
        """The peak RSS since the last take (or the start), and start a new stretch from now."""
        self.sample()
        with self._lock:
            peak, self._peak = self._peak, None
        self.sample()
        return peak

    def __enter__(self) -> RssSampler:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def __del__(self) -> None:
        self._stop.set()

