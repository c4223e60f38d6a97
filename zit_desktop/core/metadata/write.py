"""Writing PNGs with their generation parameters (Qt-free, no torch).

Every image we save carries two UTF-8 iTXt chunks:

- ``parameters``: the A1111/Forge text that civitai, A1111, Forge and most image viewers read;
- ``zit-desktop``: a JSON record of the exact request, the environment and run info, which is what
  "reuse" and "rebuild history from folder" read back (see :mod:`zit_desktop.core.metadata.read`).

Files are written atomically: a hidden temp file in the same folder, fsync, then ``os.replace``, so
a crash or a full disk never leaves a half-written PNG where the gallery would find it.
"""

from __future__ import annotations

import errno
import json
import os
import re
import secrets
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from PIL import Image
from PIL.PngImagePlugin import PngInfo

from zit_desktop import __version__
from zit_desktop.core.errors import classify_os_error
from zit_desktop.core.request import GenerationRequest

A1111_KEY = "parameters"
ZIT_KEY = "zit-desktop"
METADATA_VERSION = 1
SAMPLER = "Euler"  # FlowMatchEulerDiscreteScheduler
SCHEDULE_TYPE = "Simple"
TEMP_PREFIX = "."
TEMP_SUFFIX = ".tmp"
DEFAULT_COMPRESS_LEVEL = 4  # PNG stays lossless; 4 is much faster than PIL's 6 for ~2% more bytes

_KEY_JUNK = re.compile(r"[^\w \-/]+")
# A1111's re_param: ``Key: value`` or ``Key: "json, quoted"`` separated by commas (keys bounded
# in length so junk lines can't make the scan quadratic).
_MAX_SETTINGS_LINE = 100_000
_PARAM_RE = re.compile(r'\s*(\w[\w \-/]{1,63}):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)')


# ---- the A1111 text -------------------------------------------------------------------------
def _quote(value: str) -> str:
    """Quote a value the way A1111 does, so commas and colons inside it survive parsing."""
    if "," not in value and "\n" not in value and ":" not in value and not value.startswith('"'):
        return value
    return json.dumps(value, ensure_ascii=False)


def _unquote(value: str) -> str:
    if len(value) < 2 or value[0] != '"' or value[-1] != '"':
        return value
    try:
        decoded = json.loads(value)
    except ValueError:
        return value
    return decoded if isinstance(decoded, str) else value


def parse_a1111_parameters(text: str) -> tuple[str, str, dict[str, str]] | None:
    """Split an A1111/Forge ``parameters`` text into (prompt, negative prompt, settings).

    Follows A1111's own parser: the last line is the settings line when it holds at least three
    ``Key: value`` pairs (values may be JSON-quoted); lines from ``Negative prompt:`` on are the
    negative prompt. ``None`` when there is nothing at all.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").strip().split("\n")
    settings: dict[str, str] = {}
    if len(lines[-1]) <= _MAX_SETTINGS_LINE and len(_PARAM_RE.findall(lines[-1])) >= 3:
        for key, value in _PARAM_RE.findall(lines.pop()):
            settings.setdefault(key.strip(), _unquote(value.strip()))
    prompt: list[str] = []
    negative: list[str] = []
    in_negative = False
    for line in lines:
        if not in_negative and line.startswith("Negative prompt:"):
            in_negative = True
            line = line[len("Negative prompt:"):].strip()
        (negative if in_negative else prompt).append(line)
    prompt_text = "\n".join(prompt).strip()
    negative_text = "\n".join(negative).strip()
    if not prompt_text and not negative_text and not settings:
        return None
    return prompt_text, negative_text, settings


def _format_value(value: Any) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def model_display_name(model: str) -> str:
    """``Tongyi-MAI/Z-Image-Turbo`` or ``C:\\models\\Z-Image-Turbo\\`` -> ``Z-Image-Turbo``."""
    parts = [p for p in re.split(r"[\\/]+", model.strip()) if p]
    return parts[-1] if parts else model


def a1111_parameters(request: GenerationRequest, extra: dict[str, Any] | None = None) -> str:
    """The A1111/Forge ``parameters`` text for ``request`` (one image: its concrete seed).

    ``extra`` entries (e.g. ``{"Strategy": "group-offload"}``) are appended as ``Key: value``;
    ``None`` values are skipped.
    """
    fields: list[tuple[str, Any]] = [
        ("Steps", request.steps),
        ("Sampler", SAMPLER),
        ("Schedule type", SCHEDULE_TYPE),
        ("CFG scale", float(request.guidance)),
        ("Seed", request.seed),
        ("Size", f"{request.width}x{request.height}"),
        ("Model", model_display_name(request.model)),
    ]
    for key, value in (extra or {}).items():
        clean_key = " ".join(_KEY_JUNK.sub(" ", str(key)).split())
        if value is not None and clean_key:
            fields.append((clean_key, value))
    fields.append(("Version", f"zit-desktop {__version__}"))
    settings = ", ".join(f"{key}: {_quote(_format_value(value))}" for key, value in fields)
    lines = [request.prompt]
    if request.negative_prompt.strip():
        lines.append(f"Negative prompt: {request.negative_prompt}")
    lines.append(settings)
    return "\n".join(lines)


def png_text_chunks(
    request: GenerationRequest, environment: dict[str, Any], info: dict[str, Any] | None = None
) -> dict[str, str]:
    """Both text chunks for one image. ``info`` holds run facts (strategy, timings, peak VRAM...)."""
    extra: dict[str, Any] = {}
    if info and isinstance(info.get("strategy"), str):
        extra["Strategy"] = info["strategy"]
    record = {
        "version": METADATA_VERSION,
        "request": request.to_dict(),
        "environment": environment,
        "info": info,
    }
    return {
        A1111_KEY: a1111_parameters(request, extra),
        ZIT_KEY: json.dumps(record, ensure_ascii=False, sort_keys=True, default=str),
    }


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
