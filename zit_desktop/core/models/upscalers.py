"""The upscaler catalogue: super-resolution models the app offers to download, and downloading them.

Only models whose licence allows it are listed: the official Real-ESRGAN release files (BSD-3-Clause,
github.com/xinntao/Real-ESRGAN). Community models such as 4x-UltraSharp are non-commercial: the user
may choose such a file, the app does not fetch it. Files live in ``<data>/models/upscalers/`` under
their release name; :func:`download` fetches one resumably (``<name>.zit-partial`` and an HTTP
``Range`` request), checks the free disk first, reports progress, stops on the cancel token and
verifies size and sha256 before the file takes its name (a mismatch deletes it and says so).
Torch-free and Qt-free.

The pinned sha256 values: the release assets carry no published checksum, so these are the values
that many independent public model lists agree on (each with the same byte size), among them
Hugging Face mirrors that address the file by this LFS sha256 (e.g. ``jhj0517/realesr-general-x4v3``,
``cdn-lfs.huggingface.co/.../sha256/8dc7edb9…``) and download scripts that assert it after fetching
from the release URL.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zit_desktop.core.models.cache import RemoteFile
from zit_desktop.core.models.download import Cancelled, DownloadProgress, HttpSource, download_url
from zit_desktop.core.paths import AppPaths

RELEASES = "https://github.com/xinntao/Real-ESRGAN/releases/download"
USER_AGENT = "zit-desktop (upscaler download)"


@dataclass(frozen=True)
class UpscalerEntry:
    id: str  # what --upscaler and Finalize.upscaler say
    filename: str
    url: str
    size: int  # bytes
    sha256: str
    scale: int
    label: str
    licence: str = "BSD-3-Clause"

    @property
    def size_text(self) -> str:
        return f"{self.size / 1e6:.1f} MB"

    def remote_file(self) -> RemoteFile:
        """The file as the downloader's verifier sees it (size and sha256)."""
        return RemoteFile("xinntao/Real-ESRGAN", "release", self.filename, self.size, self.sha256, None)


UPSCALERS: tuple[UpscalerEntry, ...] = (
    UpscalerEntry(
        "realesr-general-x4v3",
        "realesr-general-x4v3.pth",
        f"{RELEASES}/v0.2.5.0/realesr-general-x4v3.pth",
        4_885_111,
        "8dc7edb9ac80ccdc30c3a5dca6616509367f05fbc184ad95b731f05bece96292",
        4,
        "Real-ESRGAN general x4 v3 (small, fast)",
    ),
    UpscalerEntry(
        "RealESRGAN_x4plus",
        "RealESRGAN_x4plus.pth",
        f"{RELEASES}/v0.1.0/RealESRGAN_x4plus.pth",
        67_040_989,
        "4fa0d38905f75ac06eb49a7951b426670021be3018265fd191d2125df9d682f1",
        4,
        "Real-ESRGAN x4plus (larger, slower, sharper)",
    ),
)
DEFAULT_UPSCALER = UPSCALERS[0].id
_BY_ID = {e.id.lower(): e for e in UPSCALERS}


def find(spec: str) -> UpscalerEntry | None:
    """The entry for an id (any case; the file name works too), or None."""
    key = (spec or "").strip().lower()
    return _BY_ID.get(key) or _BY_ID.get(key.removesuffix(".pth"))


def upscalers_dir(paths: AppPaths) -> Path:
    return paths.models / "upscalers"


def model_path(paths: AppPaths, entry: UpscalerEntry) -> Path:
    return upscalers_dir(paths) / entry.filename


def is_downloaded(paths: AppPaths, entry: UpscalerEntry) -> bool:
    """The file is there with the catalogue's size (the sha256 was checked when it was fetched)."""
    try:
        return model_path(paths, entry).stat().st_size == entry.size
    except OSError:
        return False


def download(
    paths: AppPaths,
    entry: UpscalerEntry,
    on_progress: Callable[[DownloadProgress], None] | None = None,
    cancel: Cancelled | None = None,
    *,
    retries: int = 4,
    backoff_s: float = 1.0,
    session: Any = None,
) -> bool:
    """Fetch ``entry`` into :func:`upscalers_dir` (see the module docstring); True when the file is
    in place, False when cancelled (the partial is kept). Raises AppError: NETWORK, DISK_FULL,
    MODEL_CORRUPT (twice a wrong sha256: the file is deleted), UNWRITABLE.

    ``entry`` is any :class:`UpscalerEntry`, so a test can point one at a local server with its own
    size and sha256. ``session``: an ``httpx2.Client``; None uses a fresh one that follows redirects
    (GitHub answers a release URL with a redirect) and honours the proxy variables."""
    import httpx2

    client: Any = session if session is not None else httpx2.Client(follow_redirects=True, trust_env=True)
    source = HttpSource(
        entry.url, {"User-Agent": USER_AGENT}, server=_host(entry.url), unreachable=_host(entry.url), session=client,
    )  # fmt: skip
    try:
        return download_url(
            source, entry.remote_file(), model_path(paths, entry), on_progress, cancel,
            label=entry.label, retries=retries, backoff_s=backoff_s,
        )  # fmt: skip
    finally:
        if session is None:
            client.close()


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).hostname or url
