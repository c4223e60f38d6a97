"""PNG writing: both text chunks, round trips, atomic writes, temp files, file names. No Qt, no torch."""

from __future__ import annotations

import errno
import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from zit_desktop.core.errors import AppError, ErrorKind
from zit_desktop.core.metadata import write
from zit_desktop.core.metadata.chunks import A1111_CHUNK, OUR_CHUNK
from zit_desktop.core.metadata.read import read_params, request_from_params
from zit_desktop.core.metadata.write import (
    is_temp_name,
    output_filename,
    png_text_chunks,
    remove_stale_temp_files,
    unique_output_path,
    write_png_atomic,
)
from zit_desktop.core.request import GenerationRequest

ENV = {"app": "0.1.0", "diffusers": "0.42.1", "torch": "2.13.0", "device": "cpu", "dtype": "float32"}
CAT = "一只橘色的猫, sitting on a windowsill: golden hour"


def _request(**kw: Any) -> GenerationRequest:
    base: dict[str, Any] = dict(prompt=CAT, negative_prompt="负面提示", seed=7, width=768, height=768)
    base.update(kw)
    return GenerationRequest(**base)


def _image(size: tuple[int, int] = (64, 48)) -> Image.Image:
    return Image.new("RGB", size, (200, 120, 40))


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# ---- text chunks ------------------------------------------------------------------------------
def test_png_text_chunks_json_record() -> None:
    req = _request()
    chunks = png_text_chunks(req, ENV, {"strategy": "full-gpu", "timings": {"denoise": 1.5}})
    assert set(chunks) == {A1111_CHUNK, OUR_CHUNK}
    record = json.loads(chunks[OUR_CHUNK])
    assert record["version"] == 1
    assert record["request"] == req.to_dict()
    assert record["environment"] == ENV
    assert record["info"]["timings"] == {"denoise": 1.5}
    assert "Strategy: full-gpu" in chunks[A1111_CHUNK]
    assert "一只橘色的猫" in chunks[OUR_CHUNK]  # UTF-8, not \u escapes
    assert json.loads(png_text_chunks(req, ENV)[OUR_CHUNK])["info"] is None


# ---- round trip -------------------------------------------------------------------------------
def test_round_trip_chinese_prompt(tmp_path: Path) -> None:
    req = _request(guidance=1.5, preset=None, width=1024, height=576)
    path = write_png_atomic(_image(), tmp_path / "out.png", png_text_chunks(req, ENV))
    assert path == tmp_path / "out.png"
    with Image.open(path) as im:
        im.load()
        assert im.size == (64, 48)
        assert im.text[A1111_CHUNK].startswith(CAT + "\nNegative prompt: 负面提示\n")
        chunk_types = [c for c in _chunk_types(path)]
    assert chunk_types.count(b"iTXt") == 2 and b"tEXt" not in chunk_types
    params = read_params(path)
    assert params.source == "zit-desktop"
    assert (params.prompt, params.negative_prompt, params.seed) == (CAT, "负面提示", 7)
    assert (params.width, params.height, params.steps, params.guidance) == (1024, 576, 8, 1.5)
    assert request_from_params(params, GenerationRequest(prompt="other")) == req


def _chunk_types(path: Path) -> list[bytes]:
    data = path.read_bytes()
    pos, types = 8, []
    while pos < len(data):
        length = int.from_bytes(data[pos:pos + 4], "big")
        types.append(data[pos + 4:pos + 8])
        pos += 12 + length
    return types


def test_a1111_chunk_alone_is_read_like_a1111(tmp_path: Path) -> None:
    req = _request()
    text = {A1111_CHUNK: png_text_chunks(req, ENV)[A1111_CHUNK]}
    params = read_params(write_png_atomic(_image(), tmp_path / "a.png", text))
    assert params.source == "a1111"
    assert (params.prompt, params.negative_prompt, params.seed) == (CAT, "负面提示", 7)
    assert (params.width, params.height, params.steps, params.guidance) == (768, 768, 8, 0.0)
    assert params.model == "Z-Image-Turbo"


# ---- atomic write -----------------------------------------------------------------------------
def test_write_creates_missing_folder(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "x.png"
    write_png_atomic(_image(), target, {"k": "v"})
    assert _leftovers(target.parent) == ["x.png"]


def test_failed_write_keeps_existing_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "x.png"
    target.write_bytes(b"old")

    def boom(self: Image.Image, fp: Any, *args: Any, **kwargs: Any) -> None:
        fp.write(b"\x89PNG partial")
        raise RuntimeError("encoder crashed")

    monkeypatch.setattr(Image.Image, "save", boom)
    with pytest.raises(RuntimeError):
        write_png_atomic(_image(), target, {"k": "v"})
    assert target.read_bytes() == b"old"
    assert _leftovers(tmp_path) == ["x.png"]


def test_failure_mid_save_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_save = Image.Image.save

    def disk_full_midway(self: Image.Image, fp: Any, *args: Any, **kwargs: Any) -> None:
        class Limited:  # the real file, filling up after 100 bytes
            def __init__(self) -> None:
                self.written = 0

            def write(self, data: bytes) -> int:
                self.written += len(data)
                if self.written > 100:
                    raise OSError(errno.ENOSPC, "No space left on device")
                return fp.write(data)

            def flush(self) -> None:
                fp.flush()

        real_save(self, Limited(), *args, **kwargs)

    monkeypatch.setattr(Image.Image, "save", disk_full_midway)
    with pytest.raises(AppError) as info:
        write_png_atomic(_image((256, 256)), tmp_path / "x.png", {A1111_CHUNK: "a cat"})
    assert info.value.kind is ErrorKind.DISK_FULL
    assert "disk is full" in info.value.message
    assert _leftovers(tmp_path) == []


def test_enospc_at_fsync_gives_disk_full(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_space(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(write.os, "fsync", no_space)
    with pytest.raises(AppError) as info:
        write_png_atomic(_image(), tmp_path / "x.png", {})
    assert info.value.kind is ErrorKind.DISK_FULL
    assert _leftovers(tmp_path) == []


def test_rename_refused_gives_unwritable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(src: Any, dst: Any) -> None:
        assert Path(src).name.startswith(".") and Path(src).name.endswith(".tmp")
        assert Path(src).parent == Path(dst).parent
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(write.os, "replace", refuse)
    with pytest.raises(AppError) as info:
        write_png_atomic(_image(), tmp_path / "x.png", {})
    assert info.value.kind is ErrorKind.UNWRITABLE
    assert "could not be written" in info.value.message
    assert _leftovers(tmp_path) == []


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs POSIX permissions, not root")
def test_unwritable_folder(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(AppError) as info:
            write_png_atomic(_image(), locked / "x.png", {})
        assert info.value.kind is ErrorKind.UNWRITABLE
        with pytest.raises(AppError):
            write_png_atomic(_image(), locked / "sub" / "x.png", {})
    finally:
        locked.chmod(0o700)
    assert _leftovers(locked) == []


def test_folder_path_is_a_file(tmp_path: Path) -> None:
    blocker = tmp_path / "outputs"
    blocker.write_text("not a folder")
    with pytest.raises(AppError) as info:
        write_png_atomic(_image(), blocker / "x.png", {})
    assert info.value.kind is ErrorKind.UNWRITABLE
    assert "Not a folder" in info.value.message


def test_temp_file_refused_gives_unwritable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> int:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(write.os, "open", refuse)
    with pytest.raises(AppError) as info:
        write_png_atomic(_image(), tmp_path / "x.png", {})
    assert info.value.kind is ErrorKind.UNWRITABLE
    assert _leftovers(tmp_path) == []


def test_pillow_own_errors_are_bugs_not_disk_errors(tmp_path: Path) -> None:
    with pytest.raises(OSError) as info:  # PNG can't hold CMYK: a programming error, not the disk
        write_png_atomic(Image.new("CMYK", (8, 8)), tmp_path / "x.png", {})
    assert not isinstance(info.value, AppError)
    assert _leftovers(tmp_path) == []


def test_written_file_mode_follows_umask(tmp_path: Path) -> None:
    if os.name != "posix":
        pytest.skip("POSIX modes")
    path = write_png_atomic(_image(), tmp_path / "x.png", {})
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


# ---- names ------------------------------------------------------------------------------------
def test_output_filename() -> None:
    created = datetime(2026, 11, 26, 10, 30, 12)
    assert output_filename(created, 7) == "20261126-103012_s7.png"
    assert output_filename(created, 7, 1) == "20261126-103012_s7_2.png"
    assert output_filename(created, 4294967295, 2) == "20261126-103012_s4294967295_3.png"


def test_unique_output_path_skips_taken_names(tmp_path: Path) -> None:
    created = datetime(2026, 11, 26, 10, 30, 12)
    first = unique_output_path(tmp_path, created, 7)
    assert first.name == "20261126-103012_s7.png"
    first.touch()
    second = unique_output_path(tmp_path, created, 7)
    assert second.name == "20261126-103012_s7_2.png"
    second.touch()
    assert unique_output_path(tmp_path, created, 7).name == "20261126-103012_s7_3.png"
    assert unique_output_path(tmp_path / "new", created, 8).name == "20261126-103012_s8.png"


def test_stale_temp_files_are_cleaned(tmp_path: Path) -> None:
    old = tmp_path / ".x.png.1a2b3c4d.tmp"
    fresh = tmp_path / ".y.png.5e6f7a8b.tmp"
    keep = tmp_path / "20261126-103012_s7.png"
    for p in (old, fresh, keep):
        p.write_bytes(b"x")
    os.utime(old, (1_000_000, 1_000_000))
    assert is_temp_name(old.name) and not is_temp_name(keep.name)
    assert remove_stale_temp_files(tmp_path) == 1
    assert _leftovers(tmp_path) == sorted([fresh.name, keep.name])
    assert remove_stale_temp_files(tmp_path / "missing") == 0
