"""Dropping PNGs of every supported tool on the main window fills the parameter panel; junk changes nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QWidget

from zit_desktop.core.metadata.chunks import A1111_CHUNK, COMFYUI_CHUNK, FOOOCUS_SCHEME_CHUNK, INVOKEAI_CHUNK
from zit_desktop.core.metadata.read import read_params
from zit_desktop.core.request import GenerationRequest
from zit_desktop.ui.startup import qtcompat
from zit_desktop.ui.window.png_drop import local_files, params_summary

from .gallery_support import request_dict, write_png

pytestmark = pytest.mark.filterwarnings("ignore:Function.*QDragEnterEvent:DeprecationWarning")

qtcompat.install()  # PySide6 6.12 + CPython 3.11 reference bug (the app does this at start)


def _png(path: Path, chunks: dict[str, str], size: tuple[int, int] = (64, 64)) -> Path:
    info = PngInfo()
    for key, value in chunks.items():
        info.add_text(key, value)
    Image.new("RGB", size, (10, 20, 30)).save(path, pnginfo=info)
    return path


COMFY_GRAPH = {
    "3": {"class_type": "KSampler", "inputs": {
        "seed": 1048203485927361, "steps": 9, "cfg": 1, "sampler_name": "res_multistep", "scheduler": "simple",
        "denoise": 1, "model": ["16", 0], "positive": ["6", 0], "negative": ["7", 0], "latent_image": ["13", 0]}},
    "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "一只橘色的猫, cinematic light", "clip": ["18", 0]}},
    "7": {"class_type": "ConditioningZeroOut", "inputs": {"conditioning": ["6", 0]}},
    "13": {"class_type": "EmptySD3LatentImage", "inputs": {"width": 1024, "height": 1280, "batch_size": 1}},
    "16": {"class_type": "UNETLoader", "inputs": {"unet_name": "z_image_turbo_bf16.safetensors",
                                                  "weight_dtype": "default"}},
    "18": {"class_type": "CLIPLoader", "inputs": {"clip_name": "qwen_3_4b.safetensors", "type": "lumina2"}},
}

# kind -> (chunks, expected prompt, negative, seed, steps, guidance, width, height)
FOREIGN: dict[str, tuple[dict[str, str], str, str, int, int, float, int, int]] = {
    "a1111": ({A1111_CHUNK: "a castle on a hill, golden hour\nNegative prompt: blurry, lowres\nSteps: 20, "
                            "Sampler: Euler a, CFG scale: 7, Seed: 12345, Size: 832x1216, Model: sdxl_base"},
              "a castle on a hill, golden hour", "blurry, lowres", 12345, 20, 7.0, 832, 1216),
    "comfyui": ({COMFYUI_CHUNK: json.dumps(COMFY_GRAPH)}, "一只橘色的猫, cinematic light", "",
                1048203485927361 % 2**32, 9, 1.0, 1024, 1280),
    "invokeai": ({INVOKEAI_CHUNK: json.dumps({
        "positive_prompt": "a misty forest, volumetric light", "negative_prompt": "text", "seed": 99,
        "width": 768, "height": 512, "steps": 30, "cfg_scale": 5.5, "model": {"name": "sdxl"}})},
        "a misty forest, volumetric light", "text", 99, 30, 5.5, 768, 512),
    "fooocus": ({A1111_CHUNK: json.dumps({
        "prompt": "雪山日出，电影感", "negative_prompt": "", "resolution": "(1024, 1024)", "steps": 30,
        "guidance_scale": 4.0, "seed": "777", "base_model": "juggernautXL"}), FOOOCUS_SCHEME_CHUNK: "fooocus"},
        "雪山日出，电影感", "", 777, 30, 4.0, 1024, 1024),
}


def drop(target: QWidget, path: Path) -> tuple[bool, bool]:
    """Drag ``path`` over ``target`` and drop it; returns (enter accepted, drop accepted)."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    pos = QPointF(10, 10)
    enter = QDragEnterEvent(pos.toPoint(), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(target, enter)
    event = QDropEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(target, event)
    return enter.isAccepted(), event.isAccepted()


def panel_request(window: Any) -> GenerationRequest:
    return window.params.request(window.settings.model)


@pytest.fixture
def window(make_window: Any, fake_engine: Any) -> Any:
    w = make_window(engine=fake_engine)
    w.params.prompt.setPlainText("what I was writing")
    return w


def test_our_png_restores_the_exact_request(window: Any, tmp_path: Path) -> None:
    req = request_dict("一只橘色的猫，坐在窗台上", 4242, size=768, preset="768x768", steps=10, guidance=1.5,
                       negative_prompt="模糊")
    path = write_png(tmp_path / "ours.png", req, 4242)
    assert drop(window, path) == (True, True)
    got = panel_request(window)
    assert (got.prompt, got.negative_prompt, got.seed, got.steps, got.guidance) == (
        "一只橘色的猫，坐在窗台上", "模糊", 4242, 10, 1.5)
    assert (got.width, got.height, got.preset) == (768, 768, "768x768")
    assert window.params.lock.isChecked()
    assert "ours.png" in window.statusBar().currentMessage()
    assert "ZIT Desktop" in window.statusBar().currentMessage()


@pytest.mark.parametrize("kind", sorted(FOREIGN))
def test_foreign_png_fills_the_panel(window: Any, tmp_path: Path, kind: str) -> None:
    chunks, prompt, negative, seed, steps, guidance, width, height = FOREIGN[kind]
    path = _png(tmp_path / f"{kind}.png", chunks)
    assert read_params(path).source == kind
    target = window.params.prompt.viewport()  # dropped onto the prompt box: still parameters, not text
    assert drop(target, path) == (True, True)
    got = panel_request(window)
    assert (got.prompt, got.negative_prompt, got.seed, got.steps) == (prompt, negative, seed, steps)
    assert got.guidance == pytest.approx(guidance)
    assert (got.width, got.height) == (width, height)
    assert got.model == window.settings.model  # what the file can't say stays ours
    assert window.params.lock.isChecked()


@pytest.mark.parametrize("junk", ["text", "jpeg", "no-params", "missing", "truncated"])
def test_junk_drop_changes_nothing_and_says_why(window: Any, tmp_path: Path, junk: str) -> None:
    path = tmp_path / f"{junk}.png"
    if junk == "text":
        path.write_text("not an image at all")
    elif junk == "jpeg":
        Image.new("RGB", (32, 32)).save(path, format="JPEG")
    elif junk == "no-params":
        Image.new("RGB", (32, 32)).save(path)
    elif junk == "truncated":
        _png(path, FOREIGN["a1111"][0])
        path.write_bytes(path.read_bytes()[:20])
    before = panel_request(window)
    lock = window.params.lock.isChecked()
    drop(window, path)
    assert panel_request(window) == before and window.params.lock.isChecked() == lock
    message = window.statusBar().currentMessage()
    assert message.startswith("Nothing was changed") and path.name in message


def test_text_drags_are_left_to_the_text_boxes(window: Any) -> None:
    mime = QMimeData()
    mime.setText("plain words")
    assert local_files(mime) == []
    enter = QDragEnterEvent(QPointF(5, 5).toPoint(), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    drop_filter = window.findChild(type(window.png_drop), "pngDropFilter")
    assert drop_filter is not None
    assert drop_filter.eventFilter(window.params.prompt.viewport(), enter) is False


def test_params_summary(tmp_path: Path) -> None:
    chunks = FOREIGN["comfyui"][0]
    summary = params_summary(read_params(_png(tmp_path / "c.png", chunks)))
    assert summary == "ComfyUI · seed 1048203485927361 · 1024×1280 · 9 steps · guidance 1"
