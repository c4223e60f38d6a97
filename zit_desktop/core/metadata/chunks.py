"""The PNG text chunks: what each tool calls its chunk, and a reader that finds them cheaply.

Qt-free, stdlib only. The keys below are on-disk names other programs and older files depend on:
each is written here once, and the writer, the readers and the history import it.

:func:`scan_png` walks the chunks of an open PNG without decoding pixels: every ``tEXt``, ``zTXt``
and ``iTXt`` chunk (decompressed up to :data:`MAX_TEXT_BYTES`), the size from ``IHDR``, and whether
``IEND`` was reached. A chunk whose CRC does not match is skipped; a damaged or truncated file ends
the walk quietly with what was read so far, never with an exception.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from typing import BinaryIO

OUR_CHUNK = "zit-desktop"  # our JSON record: request, environment, run info
A1111_CHUNK = "parameters"  # A1111/Forge text (we write it too); Fooocus puts its JSON here
COMFYUI_CHUNK = "prompt"  # ComfyUI's API-format graph (its "workflow" chunk is the UI graph)
INVOKEAI_CHUNK = "invokeai_metadata"
FOOOCUS_SCHEME_CHUNK = "fooocus_scheme"  # "fooocus" (JSON) or "a1111" (text) in A1111_CHUNK

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_TEXT_BYTES = 16 * 1024 * 1024  # per chunk, after decompression
MAX_CHUNKS = 100_000


@dataclass
class PngScan:
    """The text chunks and the size a PNG's header states, found without decoding pixels."""

    text: dict[str, str]
    size: tuple[int, int] | None
    complete: bool  # reached IEND with sane chunks


def _decompress(data: bytes) -> str | None:
    try:
        out = zlib.decompressobj().decompress(data, MAX_TEXT_BYTES)
    except zlib.error:
        return None
    return out.decode("utf-8", "replace")


def _text_chunk(ctype: bytes, data: bytes) -> tuple[str, str] | None:
    key_bytes, sep, rest = data.partition(b"\0")
    if not sep or not key_bytes:
        return None
    key = key_bytes.decode("latin-1")
    if ctype == b"tEXt":
        return key, rest.decode("latin-1")
    if ctype == b"zTXt":
        value = _decompress(rest[1:])
        return None if value is None else (key, value)
    # iTXt: compression flag, method, language\0, translated keyword\0, UTF-8 text
    if len(rest) < 2:
        return None
    flag = rest[0]
    parts = rest[2:].split(b"\0", 2)
    if len(parts) != 3:
        return None
    body = parts[2]
    if flag:
        value = _decompress(body)
        return None if value is None else (key, value)
    return key, body.decode("utf-8", "replace")


def scan_png(fh: BinaryIO) -> PngScan:
    """Walk the chunks after the signature; stop quietly at the first sign of damage.

    ``fh`` is positioned just after :data:`PNG_SIGNATURE`. The first chunk of each key wins.
    """
    text: dict[str, str] = {}
    size: tuple[int, int] | None = None
    for _ in range(MAX_CHUNKS):
        header = fh.read(8)
        if len(header) < 8:
            break
        length, ctype = struct.unpack(">I4s", header)
        if length > 0x7FFFFFFF or not ctype.isalpha():
            break
        if ctype == b"IEND":
            return PngScan(text, size, size is not None)
        if ctype in (b"tEXt", b"zTXt", b"iTXt", b"IHDR") and length <= MAX_TEXT_BYTES:
            data = fh.read(length)
            crc = fh.read(4)
            if len(crc) < 4:
                break
            if zlib.crc32(ctype + data) != int.from_bytes(crc, "big"):
                continue  # a damaged chunk: ignore it rather than trust its bytes
            if ctype == b"IHDR":
                if length >= 8:
                    width, height = struct.unpack(">II", data[:8])
                    size = (width, height) if width and height else None
            else:
                item = _text_chunk(ctype, data)
                if item is not None:
                    text.setdefault(item[0], item[1])
        else:
            fh.seek(length + 4, 1)
    return PngScan(text, size, False)
