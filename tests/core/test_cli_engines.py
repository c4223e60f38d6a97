"""``zit-desktop engines …`` and ``generate --engine`` as users run them, against fake ComfyUI servers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.core.comfy_fake import FakeComfy


def zit(*args: str, data_dir: Path, env: dict | None = None, timeout: int = 120) -> subprocess.CompletedProcess[str]:
    full = dict(os.environ, ZIT_DESKTOP_HOME=str(data_dir), HF_HUB_OFFLINE="1", **(env or {}))
    return subprocess.run([sys.executable, "-m", "zit_desktop", *args], capture_output=True, text=True,
                          timeout=timeout, env=full, stdin=subprocess.DEVNULL)


@pytest.fixture
def server():
    s = FakeComfy().start()
    yield s
    s.stop()


def test_add_test_list_generate_and_remove(tmp_path, server):
    data = tmp_path / "data"
    added = zit("engines", "add", "studio", server.url, data_dir=data)
    assert added.returncode == 0, added.stderr
    assert added.stdout.startswith("added studio")
    again = zit("engines", "add", "Studio", server.url, data_dir=data)  # names are case-insensitive
    assert again.returncode == 0 and again.stdout.startswith("replaced Studio"), again.stdout
    again = zit("engines", "add", "studio", server.url, data_dir=data)
    assert again.stdout.startswith("replaced studio")
    tested = zit("engines", "test", "studio", "--json", data_dir=data)
    assert tested.returncode == 0, tested.stderr
    info = json.loads(tested.stdout)
    assert info["ok"] and info["version"] == "0.18.1" and info["models"]["unet"] == "z_image_turbo_bf16.safetensors"
    listed = json.loads(zit("engines", "list", "--json", data_dir=data).stdout)
    assert listed["in_use"] == "local" and [e["name"] for e in listed["engines"]] == ["studio"]

    gen = zit("generate", "--engine", "studio", "--prompt", "一只橘色的猫", "--size", "256x256", "--seed", "5",
              "--count", "2", "--json", data_dir=data)
    assert gen.returncode == 0, gen.stderr
    lines = [json.loads(line) for line in gen.stdout.splitlines()]
    assert [d["seed"] for d in lines] == [5, 6] and {d["engine"] for d in lines} == {"studio"}
    assert "torch" not in gen.stderr.lower() or "Loading the engine" not in gen.stderr
    assert all(Path(d["path"]).is_file() for d in lines)
    rows = [json.loads(line) for line in zit("history", "list", "--json", data_dir=data).stdout.splitlines()]
    assert len(rows) == 2 and {r["strategy"] for r in rows} == {"comfyui"}

    removed = zit("engines", "remove", "studio", data_dir=data)
    assert removed.returncode == 0
    assert json.loads(zit("engines", "list", "--json", data_dir=data).stdout)["engines"] == []
    assert "studio" not in (data / "settings.json").read_text()


def test_secrets_never_reach_the_settings_file_and_bad_input_is_explained(tmp_path, server):
    data = tmp_path / "data"
    ok = zit("engines", "add", "proxy", "https://gpu.example.org", "--token-env", "ZIT_TOKEN", data_dir=data,
             env={"ZIT_TOKEN": "very-secret-token"})
    assert ok.returncode == 0, ok.stderr
    assert "very-secret-token" not in (data / "settings.json").read_text()
    plain = zit("engines", "add", "lan", "http://192.168.1.20:8188", "--token-env", "ZIT_TOKEN", data_dir=data,
                env={"ZIT_TOKEN": "x"})
    assert plain.returncode == 2 and "unencrypted" in plain.stderr
    bad = zit("engines", "add", "pool", server.url, data_dir=data)
    assert bad.returncode == 2 and "cannot be an engine name" in bad.stderr
    unknown = zit("generate", "--engine", "nowhere", "--prompt", "x", data_dir=data)
    assert unknown.returncode == 1 and "no engine called 'nowhere'" in unknown.stderr
    assert "Traceback" not in unknown.stderr + bad.stderr + plain.stderr


def test_test_says_what_is_missing(tmp_path):
    bare = FakeComfy(models={"unet_name": [], "clip_name": [], "vae_name": ["pixel_space"]}).start()
    try:
        data = tmp_path / "data"
        zit("engines", "add", "bare", bare.url, data_dir=data)
        tested = zit("engines", "test", "bare", data_dir=data)
        assert tested.returncode == 1
        assert "models/diffusion_models" in tested.stdout and "models/text_encoders" in tested.stdout
    finally:
        bare.stop()
