"""Writing PNGs with their generation parameters (Qt-free, no torch).

Every image we save carries two UTF-8 iTXt chunks (:func:`png_text_chunks`; keys in :mod:`.chunks`):

- ``parameters``: the A1111/Forge text that civitai, A1111, Forge and most image viewers read
  (formatted by :mod:`.a1111`);
- ``zit-desktop``: a JSON record ``{"version", "request", "environment", "info"}`` of the exact
  request, the environment and run info, which is what "reuse" and "rebuild history from folder"
  read back (see :mod:`.read`).

A finalized image (refine or upscale: ``request.finalize``) says so in both: ``info["finalize"]``
holds :func:`finalize_info` (method, source file name, path, history id and seed, and what the
engine adds: change and sigmas, upscaler, tile layout), and the A1111 text gets ``Refined from`` /
``Upscaled from`` with the same facts (``Denoising strength`` is A1111's own key for the change).

Files are written atomically (:func:`write_png_atomic`): a hidden temp file in the same folder,
fsync, then ``os.replace``, so a crash or a full disk never leaves a half-written PNG where the
gallery would find it. Folder scans skip those temp files (:func:`is_temp_name`), and
:func:`remove_stale_temp_files` clears the ones a killed process left. Output names are
``<time>_s<seed>.png`` (:func:`unique_output_path`).
"""

from __future__ import annotations

import errno
import json
import os
import secrets
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from PIL import Image
from PIL.PngImagePlugin import PngInfo

from zit_desktop.core.errors import classify_os_error
from zit_desktop.core.metadata.a1111 import a1111_parameters
from zit_desktop.core.metadata.chunks import A1111_CHUNK, OUR_CHUNK
from zit_desktop.core.request import REFINE, Finalize, GenerationRequest

METADATA_VERSION = 1
TEMP_PREFIX = "."
TEMP_SUFFIX = ".tmp"
DEFAULT_COMPRESS_LEVEL = 4  # PNG stays lossless; 4 is much faster than PIL's 6 for ~2% more bytes


# ---- text chunks ------------------------------------------------------------------------------
def png_text_chunks(
    request: GenerationRequest, environment: dict[str, Any], info: dict[str, Any] | None = None
) -> dict[str, str]:
    """Both text chunks for one image. ``info`` holds run facts (strategy, timings, peak VRAM...)."""
    extra: dict[str, Any] = {}
    if request.finalize is not None:
        lineage = info.get("finalize") if info else None
        if not isinstance(lineage, dict):  # the upscale job: its facts are in info["upscale"]
            ran = info.get("upscale") if info else None
            lineage = finalize_info(request.finalize, ran if isinstance(ran, dict) else None)
        info = {**(info or {}), "finalize": lineage}
        extra.update(finalize_fields(lineage))
    if info and isinstance(info.get("strategy"), str):
        extra["Strategy"] = info["strategy"]
    if info and isinstance(info.get("engine"), str):  # a remote engine: "ComfyUI 0.18.1 at http://box:8188"
        extra["Engine"] = info["engine"]
        extra["Sampler"] = info.get("sampler")  # that engine's own sampler (None: keep ours)
    record = {
        "version": METADATA_VERSION,
        "request": request.to_dict(),
        "environment": environment,
        "info": info,
    }
    return {
        A1111_CHUNK: a1111_parameters(request, extra),
        OUR_CHUNK: json.dumps(record, ensure_ascii=False, sort_keys=True, default=str),
    }


def source_seed(path: str) -> int | None:
    """The seed the source image states in its metadata (ours or another tool's), if any."""
    from zit_desktop.core.metadata.read import ParamsError, read_params

    try:
        return read_params(path).seed
    except ParamsError:
        return None


def finalize_info(finalize: Finalize, facts: dict[str, Any] | None = None) -> dict[str, Any]:
    """The lineage record of a finalized image: what it was made from, plus the engine's ``facts``."""
    record: dict[str, Any] = {
        "method": finalize.method,
        "source": os.path.basename(finalize.source),
        "source_path": finalize.source,
        "source_id": finalize.source_id,
        "source_seed": source_seed(finalize.source),
        "upscaler": finalize.upscaler,
    }
    if finalize.method == REFINE:
        record["change"] = finalize.change
    else:
        record["scale"] = finalize.scale
    record.update(facts or {})
    return record


def finalize_fields(lineage: dict[str, Any]) -> dict[str, Any]:
    """The A1111 ``Key: value`` pairs of a lineage record (None values are left out by the writer)."""
    refine = lineage.get("method") == REFINE
    fields: dict[str, Any] = {
        "Refined from" if refine else "Upscaled from": lineage.get("source"),
        "Source seed": lineage.get("source_seed"),
    }
    if refine:
        fields["Denoising strength"] = lineage.get("change")
        sigmas = lineage.get("shifted_sigmas")
        if isinstance(sigmas, list) and sigmas:
            fields["Refine sigmas"] = " ".join(f"{float(x):.4g}" for x in sigmas)
    else:
        fields["Upscale"] = f"x{lineage.get('scale')}" if lineage.get("scale") else None
    fields["Upscaler"] = lineage.get("upscaler")
    grid = lineage.get("grid")  # an SR upscaler's tiles (the upscale job)
    if lineage.get("layout"):
        fields["Tiles"] = lineage["layout"]
    elif isinstance(grid, list) and len(grid) == 2 and lineage.get("tile"):
        fields["Tiles"] = (
            f"{grid[0]}x{grid[1]} tiles of {lineage['tile']} px, {lineage.get('overlap', 0)} px overlap"
        )
    return fields


# ---- file names -------------------------------------------------------------------------------
def output_filename(created: datetime, seed: int, index: int = 0) -> str:
    """``20261126-103012_s7.png``; ``index`` n > 0 gives the n+1-th name: ``..._s7_2.png``."""
    stem = f"{created:%Y%m%d-%H%M%S}_s{seed}"
    return f"{stem}.png" if index <= 0 else f"{stem}_{index + 1}.png"


def unique_output_path(folder: Path, created: datetime, seed: int) -> Path:
    """The first free name for this time and seed in ``folder``.

    Free at the time of the call: one writer (the engine's worker) must own the folder.
    """
    index = 0
    while True:
        candidate = Path(folder) / output_filename(created, seed, index)
        if not candidate.exists():
            return candidate
        index += 1


# ---- atomic write -----------------------------------------------------------------------------
def _open_temp(folder: Path, name: str) -> tuple[int, Path]:
    """Create a new hidden temp file next to the target; mode follows the umask like a plain open."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp = folder / f"{TEMP_PREFIX}{name}.{secrets.token_hex(4)}{TEMP_SUFFIX}"
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue


def _remove_quietly(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _fsync_folder(folder: Path) -> None:
    """Make the rename durable (POSIX); best effort, Windows can't open folders."""
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def is_temp_name(name: str) -> bool:
    """True for our in-progress files; folder scans (gallery, rebuild) must skip them."""
    return name.startswith(TEMP_PREFIX) and name.endswith(TEMP_SUFFIX)


def remove_stale_temp_files(folder: Path, older_than_s: float = 3600.0) -> int:
    """Delete temp files a killed process left behind in ``folder``; returns how many."""
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    cutoff = time.time() - older_than_s
    for entry in entries:
        try:
            if is_temp_name(entry.name) and entry.is_file() and entry.stat().st_mtime < cutoff:
                os.unlink(entry.path)
                removed += 1
        except OSError:
            continue
    return removed


def write_png_atomic(
    image: Image.Image,
    path: Path,
    text: dict[str, str],
    *,
    compress_level: int = DEFAULT_COMPRESS_LEVEL,
) -> Path:
    """Write ``image`` as a PNG at ``path`` with ``text`` as UTF-8 iTXt chunks, atomically.

    Either the complete file appears at ``path`` or nothing does (an existing file there is
    replaced only by a complete one). A full disk or an unwritable folder raises :class:`AppError`
    (``DISK_FULL`` / ``UNWRITABLE``); other exceptions propagate after the temp file is removed.
    """
    path = Path(path)
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError as exc:  # a file sits where the folder should be
        error = classify_os_error(OSError(errno.ENOTDIR, "Not a folder", str(folder)), "the image")
        raise error from exc
    except OSError as exc:
        raise classify_os_error(exc, "the image") from exc
    pnginfo = PngInfo()
    for key, value in text.items():
        pnginfo.add_itxt(key, value)  # uncompressed iTXt: readable by every tool, UTF-8 always
    tmp: Path | None = None
    try:
        fd, tmp = _open_temp(folder, path.name)
        with os.fdopen(fd, "wb") as fh:
            image.save(fh, format="PNG", pnginfo=pnginfo, compress_level=compress_level)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        if exc.errno is None:
            raise  # Pillow's own OSErrors (e.g. an image mode PNG can't hold) are bugs, not the disk
        raise classify_os_error(exc, "the image") from exc
    finally:
        if tmp is not None:
            _remove_quietly(tmp)
    _fsync_folder(folder)
    return path
