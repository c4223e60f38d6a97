"""File work for the history store: thumbnails, reading our PNG metadata, moving files safely.

Qt-free (Pillow only), so thumbnails can be made on any thread and in the CLI.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zit_desktop.core.events import ImageResult
from zit_desktop.core.jsonobj import json_object, object_or_empty
from zit_desktop.core.metadata.chunks import OUR_CHUNK
from zit_desktop.core.metadata.params import Source
from zit_desktop.core.metadata.read import read_params

if TYPE_CHECKING:
    from PIL import Image

log = logging.getLogger(__name__)

THUMBNAIL_SIDE = 256  # longest side, pixels
THUMBNAIL_QUALITY = 85


def thumbnail_name(image_path: str | os.PathLike[str]) -> str:
    """A stable file name for the thumbnail of ``image_path`` (two-level fan-out avoided: 10k is fine)."""
    digest = hashlib.sha1(os.fsencode(os.path.abspath(image_path))).hexdigest()[:20]
    return f"{digest}.jpg"


def make_thumbnail(
    image_path: str | os.PathLike[str], thumbnails_dir: Path, side: int = THUMBNAIL_SIDE, *,
    image: Image.Image | None = None,
) -> str | None:
    """Write a JPEG thumbnail of ``image_path`` into ``thumbnails_dir``; return its file name.

    ``image``: the picture already in memory (what the engine just saved as ``image_path``); the
    thumbnail is made from it and the file is not read at all. It is left unchanged. The file name
    is the same either way (:func:`thumbnail_name` of the path), and so are the pixels when
    ``image`` is what the file holds (PNG is lossless).

    Returns None (and logs) when the image can't be read: the history row is kept without one and
    the gallery draws a placeholder.
    """
    from PIL import Image

    name = thumbnail_name(image_path)
    dest = thumbnails_dir / name
    try:
        thumbnails_dir.mkdir(parents=True, exist_ok=True)
        if image is not None:
            rgb = _shrink(image.copy(), side)  # Image.thumbnail() works in place: not on the caller's
        else:
            with Image.open(image_path) as im:
                im.draft("RGB", (side, side))  # cheap downscale for JPEG sources; no-op for PNG
                rgb = _shrink(im, side)
        tmp = dest.with_name(f".{name}.{os.getpid()}.tmp")
        rgb.save(tmp, "JPEG", quality=THUMBNAIL_QUALITY, optimize=False)
        os.replace(tmp, dest)
    except (OSError, ValueError) as exc:  # missing, unreadable, truncated, disk full
        log.warning("no thumbnail for %s: %s", image_path, exc)
        return None
    return name


def _shrink(im: Image.Image, side: int) -> Image.Image:
    """``im`` shrunk in place to fit ``side`` × ``side``, as an RGB copy (JPEG has no alpha)."""
    from PIL import Image

    im.thumbnail((side, side), Image.Resampling.BILINEAR, reducing_gap=2.0)
    return im.convert("RGB")


@dataclass(frozen=True)
class PngRecord:
    """What an image file says about how it was made (our own metadata only)."""

    request: dict[str, Any]
    environment: dict[str, Any] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)


def read_our_metadata(path: Path) -> PngRecord | None:
    """The ``zit-desktop`` metadata of a PNG, or None if it is not ours or can't be read."""
    try:
        parsed = read_params(path)  # reads chunks without decoding pixels
    except Exception as exc:  # noqa: BLE001 - any unreadable file is just "not ours"
        log.info("skipping %s: %s", path, exc)
        return None
    if parsed.source != Source.OURS:
        return None
    raw = json_object(parsed.raw.get(OUR_CHUNK))
    if raw is None or not isinstance(raw.get("request"), dict) or "prompt" not in raw["request"]:
        return None
    return PngRecord(raw["request"], object_or_empty(raw.get("environment")), object_or_empty(raw.get("info")))


def free_name(target: Path) -> Path:
    """``target`` itself if free, else ``stem (2).ext``, ``stem (3).ext``, ..."""
    if not target.exists():
        return target
    n = 2
    while True:
        candidate = target.with_name(f"{target.stem} ({n}){target.suffix}")
        if not candidate.exists():
            return candidate
        n += 1


def move_file(src: Path, dest: Path) -> Path:
    """Move ``src`` to ``dest`` (or a free name next to it), across file systems; return where."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest = free_name(dest)
    shutil.move(os.fspath(src), os.fspath(dest))
    return dest


def canonical_request(request_json: str) -> str:
    try:
        return json.dumps(json.loads(request_json), sort_keys=True, ensure_ascii=False, default=str)
    except ValueError:
        return request_json


def created_at_of(record: PngRecord, png: Path) -> float:
    value = record.info.get("created_at")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value).timestamp()
        except ValueError:
            pass
    try:
        return png.stat().st_mtime
    except OSError:
        return time.time()


def result_from_record(record: PngRecord, path: str) -> ImageResult:
    req, info = record.request, record.info
    timings = info.get("timings")
    peak = info.get("peak_vram_bytes")
    return ImageResult(
        index=int(info.get("index", 0) or 0),
        seed=int(req.get("seed", -1)),
        path=path,
        width=int(req.get("width", 0)),
        height=int(req.get("height", 0)),
        timings=dict(timings) if isinstance(timings, dict) else {},
        strategy=str(info.get("strategy") or ""),
        oom_retries=int(info.get("oom_retries", 0) or 0),
        peak_vram_bytes=int(peak) if isinstance(peak, int) else None,
        request=dict(req),
        # a finalized image's lineage facts (info["finalize"]) live in the row's environment
        environment={**record.environment, **({"finalize": fin} if isinstance(fin := info.get("finalize"), dict) else {})},
        peak_ram_bytes=int(ram) if isinstance(ram := info.get("peak_ram_bytes"), int) else None,
    )
