"""PNG text chunks: the on-disk key names, written once, and the chunk walker. No Qt, no torch."""

from __future__ import annotations

import ast
import io
import zlib
from pathlib import Path

from PIL import Image
from PIL.PngImagePlugin import PngInfo

import zit_desktop
from zit_desktop.core.metadata import chunks
from zit_desktop.core.metadata.chunks import (
    A1111_CHUNK,
    COMFYUI_CHUNK,
    FOOOCUS_SCHEME_CHUNK,
    INVOKEAI_CHUNK,
    OUR_CHUNK,
    PNG_SIGNATURE,
    scan_png,
)

CORE = Path(zit_desktop.__file__).parent / "core"


def test_keys_are_the_names_other_tools_and_our_old_files_use() -> None:
    # Renaming one would orphan every image already written and every tool that reads it.
    assert (OUR_CHUNK, A1111_CHUNK) == ("zit-desktop", "parameters")
    assert (COMFYUI_CHUNK, INVOKEAI_CHUNK, FOOOCUS_SCHEME_CHUNK) == ("prompt", "invokeai_metadata", "fooocus_scheme")


def _string_constants(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value) for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef)) and ast.get_docstring(node) is not None
        and isinstance(node.body[0], ast.Expr)
    }
    return {n.value for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings}


def test_the_core_spells_our_and_the_a1111_chunk_key_only_in_chunks_py() -> None:
    allowed = {
        "metadata/chunks.py": {OUR_CHUNK, A1111_CHUNK},
        "metadata/params.py": {OUR_CHUNK},  # Source.OURS: the source name, which happens to be the same
        "paths.py": {OUR_CHUNK},  # the app's folder name
    }
    found = {}
    for path in sorted(CORE.rglob("*.py")):
        rel = path.relative_to(CORE).as_posix()
        literals = _string_constants(path) & {OUR_CHUNK, A1111_CHUNK}
        if literals - allowed.get(rel, set()):
            found[rel] = sorted(literals)
    assert found == {}


def _png_bytes(text: dict[str, str], size: tuple[int, int] = (20, 10)) -> bytes:
    info = PngInfo()
    info.add_text("plain", text["plain"])
    info.add_text("zipped", text["zipped"], zip=True)
    info.add_itxt("utf8", text["utf8"])
    info.add_itxt("utf8-zipped", text["utf8-zipped"], zip=True)
    info.add_text("plain", "a second chunk with the same key")
    buf = io.BytesIO()
    Image.new("RGB", size).save(buf, format="PNG", pnginfo=info)
    return buf.getvalue()


TEXT = {"plain": "latin-1 é", "zipped": "z" * 1000, "utf8": "一只橘色的猫", "utf8-zipped": "灯塔 " * 200}


def test_scan_reads_every_kind_of_text_chunk_and_the_size() -> None:
    fh = io.BytesIO(_png_bytes(TEXT))
    assert fh.read(len(PNG_SIGNATURE)) == PNG_SIGNATURE
    scan = scan_png(fh)
    assert scan.text == TEXT  # the first chunk of a key wins
    assert scan.size == (20, 10) and scan.complete


def test_scan_skips_a_chunk_with_a_bad_crc_and_stops_at_truncation() -> None:
    data = bytearray(_png_bytes(TEXT))
    pos = data.index("一只".encode())
    data[pos] ^= 0xFF
    scan = scan_png(io.BytesIO(bytes(data[len(PNG_SIGNATURE):])))
    assert "utf8" not in scan.text and scan.text["plain"] == TEXT["plain"] and scan.complete
    cut = scan_png(io.BytesIO(bytes(data[len(PNG_SIGNATURE):pos])))
    assert set(cut.text) == {"plain", "zipped"} and cut.size == (20, 10) and not cut.complete


def test_scan_bounds_decompression() -> None:
    body = b"bomb\x00\x00" + zlib.compress(b"a" * (chunks.MAX_TEXT_BYTES + 1000), 9)
    chunk = len(body).to_bytes(4, "big") + b"zTXt" + body + zlib.crc32(b"zTXt" + body).to_bytes(4, "big")
    scan = scan_png(io.BytesIO(chunk))
    assert len(scan.text["bomb"]) == chunks.MAX_TEXT_BYTES and scan.size is None and not scan.complete
