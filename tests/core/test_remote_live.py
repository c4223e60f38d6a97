"""Opt-in: the same client against a real ComfyUI (``main.py --cpu``), when ``COMFYUI_DIR`` names a checkout.

    COMFYUI_DIR=~/src/ComfyUI [COMFYUI_PYTHON=~/src/ComfyUI/venv/bin/python] \
        ./run.sh test -m live_comfyui tests/core/test_remote_live.py

ComfyUI is not on PyPI and recognises Z-Image only at full size (a >10 GB random model), so CI
cannot run it; these tests run what a CPU can: a model-free graph for the success path (upload →
ImageInvert → SaveImage), placeholder model files for our Z-Image graph, which validates and then
fails at the first loader, and an empty models folder for the validator's 400. The ComfyUI checkout
needs its requirements installed in ``COMFYUI_PYTHON``'s environment (default: this venv).
"""

from __future__ import annotations

import io
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
from PIL import Image

from zit_desktop.core.remote.client import ComfyClient, ComfyRejected
from zit_desktop.core.remote.config import RemoteEngineConfig
from zit_desktop.core.remote.engine import check_server
from zit_desktop.core.remote.graph import ComfyModels, text_to_image_graph
from zit_desktop.core.request import GenerationRequest

COMFYUI_DIR = os.environ.get("COMFYUI_DIR", "")
COMFYUI_PYTHON = os.environ.get("COMFYUI_PYTHON", sys.executable)
pytestmark = [
    pytest.mark.live_comfyui,
    pytest.mark.skipif(not COMFYUI_DIR, reason="set COMFYUI_DIR to a ComfyUI checkout to run against a real server"),
]
PLACEHOLDER = b"placeholder - not a real model file\n"
FILES = {"diffusion_models": "z_image_turbo_bf16.safetensors", "text_encoders": "qwen_3_4b.safetensors",
         "vae": "ae.safetensors"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(base: Path) -> tuple[subprocess.Popen[bytes], str]:
    for folder in ("models", "input", "output", "custom_nodes"):  # the checkout's stock layout and markers
        shutil.copytree(Path(COMFYUI_DIR) / folder, base / folder, dirs_exist_ok=True)
    front = base / "front"
    front.mkdir(parents=True, exist_ok=True)
    (front / "index.html").write_text("<html>no frontend</html>")
    port = free_port()
    proc = subprocess.Popen(
        [COMFYUI_PYTHON, "main.py", "--cpu", "--listen", "127.0.0.1", "--port", str(port), "--front-end-root",
         str(front), "--disable-api-nodes", "--base-directory", str(base)],
        cwd=COMFYUI_DIR, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(360):  # 10 s on an idle machine; minutes on a busy one
        try:
            urllib.request.urlopen(url + "/system_stats", timeout=1).read()
            return proc, url
        except OSError:
            time.sleep(0.5)
    proc.kill()
    pytest.fail("ComfyUI did not start within 3 minutes")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("comfy-models")
    for folder, name in FILES.items():
        (base / "models" / folder).mkdir(parents=True)
        (base / "models" / folder / name).write_bytes(PLACEHOLDER)
    proc, url = start(base)
    yield url
    proc.terminate()
    proc.wait(30)


def wait_done(client: ComfyClient, prompt_id: str) -> dict:
    stream = client.connect()
    try:
        for _ in range(600):
            msg = stream.receive(timeout=0.5)
            if msg is not None and msg.type == "executing" and msg.data.get("node") is None \
                    and msg.prompt_id == prompt_id:
                break
    finally:
        stream.close()
    entry = client.history(prompt_id)
    assert entry is not None
    return entry


def test_check_finds_the_files_and_a_model_free_graph_succeeds(server):
    client = ComfyClient(server)
    ready = check_server(client, RemoteEngineConfig("live", server))
    assert ready.ok, ready.message
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 30, 30)).save(buf, format="PNG")
    name = client.upload_image("live_in.png", buf.getvalue())
    graph = {"1": {"inputs": {"image": name}, "class_type": "LoadImage"},
             "2": {"inputs": {"image": ["1", 0]}, "class_type": "ImageInvert"},
             "3": {"inputs": {"images": ["2", 0], "filename_prefix": "live"}, "class_type": "SaveImage"}}
    pid = str(uuid.uuid4())
    client.submit(graph, pid)
    entry = wait_done(client, pid)
    image = entry["outputs"]["3"]["images"][0]
    out = Image.open(io.BytesIO(client.view(image["filename"], image["subfolder"], image["type"])))
    pixel = out.convert("RGB").getpixel((0, 0))  # 255 - (200, 30, 30), as ComfyUI's float math rounds it
    assert all(abs(a - b) <= 1 for a, b in zip(pixel, (55, 225, 225), strict=True)), pixel


def test_our_zimage_graph_validates_then_fails_at_a_loader(server):
    client = ComfyClient(server)
    req = GenerationRequest(prompt="cat", seed=1, width=512, height=512, preset=None)
    pid = str(uuid.uuid4())
    client.submit(text_to_image_graph(req, ComfyModels()), pid)
    entry = wait_done(client, pid)
    assert entry["status"]["status_str"] == "error"
    assert any(m[0] == "execution_error" for m in entry["status"]["messages"])


def test_an_empty_models_folder_is_a_readable_400(tmp_path):
    proc, url = start(tmp_path / "empty")
    try:
        with pytest.raises(ComfyRejected) as err:
            ComfyClient(url).submit(text_to_image_graph(GenerationRequest(prompt="x", preset=None), ComfyModels()),
                                    str(uuid.uuid4()))
        assert any("UNETLoader" in p for p in err.value.problems)
    finally:
        proc.terminate()
        proc.wait(30)
