"""Download a catalogue variant into the standard Hugging Face cache, resumably and verified.

Contract:

- :func:`plan` asks the Hub (``HfApi().model_info(repo, revision, files_metadata=True)``) for every
  source of the variant: the resolved commit, and each file's size, git blob id and, for LFS files,
  sha256. Files are filtered by the source's ``allow_patterns``. It writes the Hub's file list to
  ``<repo folder>/zit-manifests/<commit>.json`` (the manifest :mod:`.install` reads offline) and
  ``refs/<revision>``.
- :func:`download` fetches what is missing into ``<cache>/models--owner--name/`` in huggingface_hub's
  own layout: ``blobs/<etag>`` (etag = sha256 for LFS files, the git blob id otherwise), a relative
  symlink ``snapshots/<commit>/<path>`` (a copy where symlinks are not allowed) and ``refs/<revision>``,
  so ``snapshot_download(..., local_files_only=True)`` finds it. The cache is huggingface_hub's
  (``HF_HOME``/``HF_HUB_CACHE``), the endpoint ``HF_ENDPOINT``, the token ``HF_TOKEN``, and requests go
  through huggingface_hub's own session (proxy variables honoured).
- Resume across process restarts: a file in flight lives at ``blobs/<etag>.zit-partial`` (a stable
  name, unlike huggingface_hub's ``<etag>.<uuid>.incomplete``); the next run continues it with an HTTP
  ``Range`` request. A cancel (the token), a crash, a lost connection or a full disk keeps it.
- Every file is verified before it enters the cache: sha256 for LFS files, the git blob sha1 for the
  others, and the size for both. A mismatch deletes the partial and fetches the file once more; a
  second mismatch is an :class:`AppError` (``MODEL_CORRUPT``) naming the file.
- Free disk on the cache drive is checked against the remaining bytes before anything is fetched.
  Connection losses and server errors are retried with backoff, then reported as ``NETWORK`` errors
  that say to run the download again to continue. Expected failures are always :class:`AppError`.
- Progress is a :class:`DownloadProgress` through a plain callback (per file and in total: bytes,
  speed, ETA). Torch-free and Qt-free.
"""

from __future__ import annotations

import functools
import os
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from zit_desktop.core.errors import AppError, ErrorKind, classify_os_error
from zit_desktop.core.models.cache import (
    CHUNK,
    PARTIAL_SUFFIX,
    RemoteFile,
    blob_path,
    file_size,
    free_disk_bytes,
    hub_cache_dir,
    link_snapshot,
    matches,
    partial_path,
    verify_file,
    write_manifest,
    write_refs,
)
from zit_desktop.core.models.catalogue import Source, Variant

__all__ = [
    "CHUNK", "PARTIAL_SUFFIX", "Cancelled", "DownloadOutcome", "DownloadPhase", "DownloadPlan", "DownloadProgress",
    "HttpSource", "ProgressCallback", "RemoteFile", "ResolvedSource", "check_disk", "download", "download_url",
    "fetch_verified", "plan", "require_free_disk", "verify_file",
]

DISK_MARGIN = 64 * 1024 * 1024  # keep a little room for the manifest, logs and the history


class Cancelled(Protocol):
    @property
    def cancelled(self) -> bool: ...


class DownloadPhase(StrEnum):
    DOWNLOAD = "download"
    VERIFY = "verify"
    DONE = "done"


@dataclass(frozen=True)
class ResolvedSource:
    source: Source
    commit: str
    files: tuple[RemoteFile, ...]


@dataclass(frozen=True)
class DownloadPlan:
    variant: Variant
    cache_dir: Path
    sources: tuple[ResolvedSource, ...]

    @property
    def files(self) -> tuple[RemoteFile, ...]:
        return tuple(f for s in self.sources for f in s.files)

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    def present_bytes(self) -> int:
        """Bytes already in the cache or in partial files (what a resumed download need not fetch)."""
        done = 0
        for f in self.files:
            blob = blob_path(self.cache_dir, f)
            if blob.exists():
                done += f.size
            else:
                done += min(file_size(partial_path(self.cache_dir, f)), f.size)
        return done

    @property
    def remaining_bytes(self) -> int:
        return self.total_bytes - self.present_bytes()


@dataclass(frozen=True)
class DownloadProgress:
    phase: DownloadPhase
    file: str  # "repo/path" of the file in flight ("" once done)
    file_done: int
    file_total: int
    done: int  # bytes of the whole variant present, resumed ones included
    total: int
    speed: float  # bytes per second over the last seconds
    eta: float | None  # seconds left, None while the speed is unknown
    files_done: int
    files_total: int


ProgressCallback = Callable[[DownloadProgress], None]


@dataclass(frozen=True)
class DownloadOutcome:
    plan: DownloadPlan
    cancelled: bool
    fetched_bytes: int  # bytes transferred by this run


# --- planning ------------------------------------------------------------------------------------


def plan(variant: Variant, *, cache_dir: Path | None = None, token: str | None = None) -> DownloadPlan:
    """Ask the Hub what the variant's files are (sizes, hashes, commits); see the module docstring."""
    cache = cache_dir or hub_cache_dir()
    resolved = []
    for source in variant.sources:
        commit, files = _with_retries(functools.partial(_repo_files, source, token), f"listing {source.repo}")
        try:
            write_manifest(cache, source.repo, source.revision, commit, files)
            write_refs(cache, source.repo, source.revision, commit)
        except OSError as exc:
            raise classify_os_error(exc, f"the model cache ({cache})") from None
        chosen = tuple(f for f in files if matches(f.path, source.allow_patterns))
        if not chosen:
            raise AppError(
                ErrorKind.MODEL_MISSING,
                f"{source.repo} at {source.revision} has no files matching {', '.join(source.allow_patterns)}.",
            )
        resolved.append(ResolvedSource(source, commit, chosen))
    return DownloadPlan(variant, cache, tuple(resolved))


def _repo_files(source: Source, token: str | None) -> tuple[str, list[RemoteFile]]:
    from huggingface_hub import HfApi, constants

    info = HfApi(endpoint=constants.ENDPOINT, token=token).model_info(
        source.repo, revision=source.revision, files_metadata=True
    )
    if not info.sha:
        raise AppError(ErrorKind.MODEL_INVALID, f"The Hub gave no commit for {source.repo}@{source.revision}.")
    files = [
        RemoteFile(
            source.repo, info.sha, s.rfilename,
            int(s.lfs.size if s.lfs else (s.size or 0)),
            str(s.lfs.sha256) if s.lfs else None, s.blob_id,
        )  # fmt: skip
        for s in info.siblings or ()
    ]
    return info.sha, files


# --- errors and retries --------------------------------------------------------------------------


class _Transient(Exception):
    """A failure worth retrying: a lost connection, a timeout, a 5xx/408/429 answer."""


class _Stop(Exception):
    """The cancel token was set."""


def _http_error(exc: Exception, what: str, server: str = "The Hub") -> Exception:
    """Sort a huggingface_hub/httpx failure into a retryable one or a final AppError (``server``
    names who answered, for the message)."""
    import httpx2
    from huggingface_hub import errors as hf_errors

    if isinstance(exc, hf_errors.OfflineModeIsEnabled):
        return AppError(ErrorKind.NETWORK, "Downloads are off: HF_HUB_OFFLINE is set. Unset it to download.")
    if isinstance(exc, hf_errors.GatedRepoError | hf_errors.RepositoryNotFoundError):
        return AppError(
            ErrorKind.NETWORK,
            f"The Hub refused {what}: the repository is missing, private or gated. If it needs a login, "
            "accept its terms on huggingface.co and set HF_TOKEN.",
            repr(exc),
        )
    if isinstance(exc, hf_errors.RevisionNotFoundError | hf_errors.EntryNotFoundError):
        return AppError(ErrorKind.MODEL_MISSING, f"The Hub has no such revision or file ({what}).", repr(exc))
    status = getattr(getattr(exc, "response", None), "status_code", None)
    if isinstance(exc, httpx2.TransportError | TimeoutError | ConnectionError) or (
        status is not None and (status >= 500 or status in (408, 429))
    ):
        return _Transient(f"{exc.__class__.__name__}: {exc}".splitlines()[0])
    return AppError(ErrorKind.NETWORK, f"{server} answered {status or 'an error'} to {what}.", repr(exc))


def _with_retries(call: Callable[[], Any], what: str, retries: int = 3, backoff_s: float = 1.0) -> Any:
    import httpx2
    from huggingface_hub import errors as hf_errors

    for attempt in range(retries + 1):
        try:
            return call()
        except (hf_errors.HfHubHTTPError, hf_errors.OfflineModeIsEnabled, httpx2.HTTPError, OSError) as exc:
            if not isinstance(exc, hf_errors.HfHubHTTPError | httpx2.HTTPError | ConnectionError | TimeoutError):
                raise  # a local OSError (the cache folder): not the network's fault
            sorted_exc = _http_error(exc, what)
            if isinstance(sorted_exc, AppError):
                raise sorted_exc from None
            if attempt == retries:
                raise _stopped(str(sorted_exc)) from None
            time.sleep(backoff_s * 2**attempt)
    raise AssertionError("unreachable")


def _stopped(reason: str, server: str = "the Hugging Face Hub") -> AppError:
    return AppError(
        ErrorKind.NETWORK,
        f"The download stopped: {server} could not be reached, or kept failing. Check the "
        "connection and run it again to continue; whatever was downloaded already is kept.",
        reason,
    )


# --- downloading ---------------------------------------------------------------------------------


def check_disk(p: DownloadPlan) -> None:
    """Raise DISK_FULL when the cache drive cannot hold what is left to fetch (said in GB)."""
    require_free_disk(p.cache_dir, p.remaining_bytes, p.variant.label, "or point HF_HOME at a bigger drive")


def require_free_disk(folder: Path, need: int, label: str, advice: str) -> None:
    """Raise DISK_FULL when the drive of ``folder`` cannot hold ``need`` more bytes (and a margin)."""
    if need <= 0:
        return
    free = free_disk_bytes(folder)
    if free is not None and free < need + DISK_MARGIN:  # unreadable: the write itself reports a full disk
        raise AppError(
            ErrorKind.DISK_FULL,
            f"{label} needs {_gb(need)} more on the drive of {folder}, which has {_gb(free)} "
            f"free. Free {_gb(need + DISK_MARGIN - free)} {advice}.",
        )


def _gb(n: float) -> str:
    """Sizes in the app's one unit (``memory.vram.gb_text``: binary, labelled GiB), small ones in MiB."""
    return f"{n / 1024**3:.1f} GiB" if n >= 100 * 1024**2 else f"{n / 1024**2:.1f} MiB"


@dataclass
class _Meter:
    """Totals and a sliding-window speed for the progress events."""

    total: int
    files_total: int
    done: int = 0
    files_done: int = 0
    fetched: int = 0
    last_emit: float = 0.0
    window: deque[tuple[float, int]] = field(default_factory=deque)

    def add(self, n: int) -> None:
        self.done += n
        self.fetched += n
        now = time.monotonic()
        self.window.append((now, self.fetched))
        while len(self.window) > 2 and now - self.window[0][0] > 5.0:
            self.window.popleft()

    @property
    def speed(self) -> float:
        if len(self.window) < 2:
            return 0.0
        (t0, b0), (t1, b1) = self.window[0], self.window[-1]
        return (b1 - b0) / (t1 - t0) if t1 > t0 else 0.0

    def event(self, phase: DownloadPhase, f: RemoteFile | None, file_done: int) -> DownloadProgress:
        speed = self.speed
        eta = (self.total - self.done) / speed if speed > 0 else None
        return DownloadProgress(
            phase, f.name if f else "", file_done, f.size if f else 0, self.done, self.total,
            speed, eta, self.files_done, self.files_total,
        )  # fmt: skip


def download(
    p: DownloadPlan,
    on_progress: ProgressCallback | None = None,
    cancel: Cancelled | None = None,
    *,
    retries: int = 4,
    backoff_s: float = 1.0,
    token: str | None = None,
) -> DownloadOutcome:
    """Fetch every missing file of the plan; returns with ``cancelled`` set when the token stops it."""
    emit = on_progress or (lambda _e: None)
    check_disk(p)
    meter = _Meter(p.total_bytes, len(p.files), done=p.present_bytes())
    counted = {f.etag for f in p.files if blob_path(p.cache_dir, f).exists()}
    try:
        for f in p.files:
            if not blob_path(p.cache_dir, f).exists():
                _fetch_verified(p.cache_dir, f, meter, emit, cancel, retries, backoff_s, token)
            elif f.etag not in counted:  # the same content as a file fetched earlier in this run
                meter.done += f.size
            try:
                link_snapshot(p.cache_dir, f)
            except OSError as exc:
                raise classify_os_error(exc, f"the model cache ({p.cache_dir})") from None
            meter.files_done += 1
            emit(meter.event(DownloadPhase.DOWNLOAD, f, f.size))
    except _Stop:
        return DownloadOutcome(p, cancelled=True, fetched_bytes=meter.fetched)
    emit(meter.event(DownloadPhase.DONE, None, 0))
    return DownloadOutcome(p, cancelled=False, fetched_bytes=meter.fetched)


def _fetch_verified(
    cache: Path, f: RemoteFile, meter: _Meter, emit: ProgressCallback,
    cancel: Cancelled | None, retries: int, backoff_s: float, token: str | None,
) -> None:  # fmt: skip
    """Fetch one Hub file (resuming its partial), verify it, and move it to ``blobs/<etag>``."""
    from urllib.parse import quote

    from huggingface_hub import constants
    from huggingface_hub.utils._headers import build_hf_headers

    # Not hf_hub_url(): it formats a template fixed when huggingface_hub was imported.
    url = f"{constants.ENDPOINT}/{f.repo}/resolve/{f.commit}/{quote(f.path)}"
    source = HttpSource(url, build_hf_headers(token=token))
    try:
        partial_path(cache, f).parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise classify_os_error(exc, f"the model cache ({cache})") from None
    fetch_verified(source, f, partial_path(cache, f), blob_path(cache, f), meter, emit, cancel, retries, backoff_s)


@dataclass(frozen=True)
class HttpSource:
    """Where a file's bytes come from: ``url`` with ``headers``; ``server`` names it in messages
    (``"The Hub"``); ``session`` is huggingface_hub's shared client when None (Hub downloads)."""

    url: str
    headers: dict[str, str]
    server: str = "The Hub"
    unreachable: str = "the Hugging Face Hub"
    session: Any = None


def fetch_verified(
    source: HttpSource, f: RemoteFile, partial: Path, final: Path, meter: _Meter, emit: ProgressCallback,
    cancel: Cancelled | None, retries: int, backoff_s: float,
) -> None:  # fmt: skip
    """Fetch ``f`` into ``partial`` (resuming it with a Range request), verify its size and hash, and
    move it to ``final``. Lost connections are retried with backoff; a mismatch deletes the partial
    and fetches once more, a second one is ``MODEL_CORRUPT``. The folder of ``partial`` must exist."""
    refetched = False
    failures = 0
    while True:
        if cancel is not None and cancel.cancelled:
            raise _Stop
        before = meter.fetched
        try:
            _transfer(source, f, partial, meter, emit, cancel)
        except _Transient as exc:
            failures = 0 if meter.fetched > before else failures + 1
            if failures > retries:
                raise _stopped(f"{exc} while fetching {f.name}", source.unreachable) from None
            _sleep(backoff_s * 2 ** max(failures - 1, 0), cancel)
            continue
        emit(meter.event(DownloadPhase.VERIFY, f, f.size))
        problem = verify_file(partial, f)
        if problem is None:
            os.replace(partial, final)
            return
        partial.unlink(missing_ok=True)
        meter.done -= f.size
        if refetched:
            raise AppError(
                ErrorKind.MODEL_CORRUPT,
                f"{f.name} arrived damaged twice ({problem}). Try again later; if it keeps happening, the "
                "file on the server or a proxy in between may be at fault.",
            )
        refetched = True


def _sleep(seconds: float, cancel: Cancelled | None) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if cancel is not None and cancel.cancelled:
            raise _Stop
        time.sleep(min(0.05, max(end - time.monotonic(), 0)))


def _transfer(
    source: HttpSource, f: RemoteFile, partial: Path, meter: _Meter, emit: ProgressCallback, cancel: Cancelled | None
) -> None:
    """Append the rest of the file to ``partial`` (a Range request when some of it is there)."""
    import httpx2
    from huggingface_hub import constants, get_session

    have = file_size(partial)
    if have > f.size:
        partial.unlink()
        meter.done -= have
        have = 0
    if have == f.size:
        return
    headers = dict(source.headers)
    headers["Accept-Encoding"] = "identity"
    if have:
        headers["Range"] = f"bytes={have}-"
    session = source.session if source.session is not None else get_session()
    try:
        with session.stream(
            "GET", source.url, headers=headers, timeout=httpx2.Timeout(constants.HF_HUB_DOWNLOAD_TIMEOUT)
        ) as response:
            if response.status_code == 416:  # the server does not know our offset: start over
                partial.unlink(missing_ok=True)
                meter.done -= have
                raise _Transient("the server refused to resume (416)")
            if response.status_code >= 400:
                response.read()
                response.raise_for_status()
            mode = "ab" if have and response.status_code == 206 else "wb"
            if mode == "wb" and have:  # the server ignored the Range: count the old part out
                meter.done -= have
                have = 0
            with _open(partial, mode, f) as out:
                for chunk in response.iter_bytes():  # as received: a chunk_size would buffer, and lose on a cut
                    if cancel is not None and cancel.cancelled:
                        raise _Stop
                    _write(out, chunk, f)
                    have += len(chunk)
                    meter.add(len(chunk))
                    if time.monotonic() - meter.last_emit > 0.1:
                        meter.last_emit = time.monotonic()
                        emit(meter.event(DownloadPhase.DOWNLOAD, f, have))
    except (httpx2.HTTPError, ConnectionError, TimeoutError) as exc:
        sorted_exc = _http_error(exc, f.name, source.server)
        raise sorted_exc from None
    if have < f.size:
        raise _Transient(f"the connection closed after {have} of {f.size} bytes")


def _open(path: Path, mode: str, f: RemoteFile) -> BinaryIO:
    try:
        return path.open(mode)  # type: ignore[return-value]
    except OSError as exc:
        raise _disk_error(exc, f) from None


def _write(out: BinaryIO, chunk: bytes, f: RemoteFile) -> None:
    try:
        out.write(chunk)
    except OSError as exc:
        raise _disk_error(exc, f) from None


def _disk_error(exc: OSError, f: RemoteFile) -> AppError:
    err = classify_os_error(exc, f"the download of {f.name}")
    return AppError(err.kind, f"{err.message} The part downloaded so far is kept; the next download continues it.",
                    err.detail)  # fmt: skip


# --- one file from a plain URL -------------------------------------------------------------------


def download_url(
    source: HttpSource,
    f: RemoteFile,
    target: Path,
    on_progress: ProgressCallback | None = None,
    cancel: Cancelled | None = None,
    *,
    label: str,
    retries: int = 4,
    backoff_s: float = 1.0,
) -> bool:
    """Fetch one file that is not on the Hub (``f`` gives its size and sha256) to ``target``, with
    the same resume (``<target>.zit-partial``), verification, retries, disk check and progress as
    :func:`download`. True when the file is in place (fetched or there already), False when the
    cancel token stopped it (the partial file is kept for the next run)."""
    emit = on_progress or (lambda _e: None)
    if verify_file(target, f) is None:
        return True
    partial = target.with_name(target.name + PARTIAL_SUFFIX)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise classify_os_error(exc, f"the models folder ({target.parent})") from None
    have = min(file_size(partial), f.size)
    require_free_disk(target.parent, f.size - have, label, "or choose another data folder")
    meter = _Meter(f.size, 1, done=have)
    try:
        fetch_verified(source, f, partial, target, meter, emit, cancel, retries, backoff_s)
    except _Stop:
        return False
    meter.files_done = 1
    emit(meter.event(DownloadPhase.DONE, None, 0))
    return True
