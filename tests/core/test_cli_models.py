"""``zit-desktop models …`` in subprocesses against the local Hub (``HF_ENDPOINT``, ``HF_HOME``): a
download killed halfway resumes in a new process and verifies; list, use, verify and remove."""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.core.hub_fixtures import BIG, UINT4
from tests.core.hub_server import HubServer
from zit_desktop.core.models import cache as layout
from zit_desktop.core.models import download as dl

ROOT = Path(__file__).resolve().parents[2]


def _cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "zit_desktop", "models", *args], capture_output=True, text=True,
                          env=env, timeout=timeout, check=False)  # fmt: skip


def test_a_download_killed_halfway_resumes_in_a_new_process_and_verifies(hub: HubServer, hf_cache: Path) -> None:
    big_size = len(hub.repos[UINT4].files[BIG].data)
    hub.delay = 0.02  # ≈ 1 s for the big file: time to kill the process in the middle of it
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "zit_desktop", "models", "download", "sdnq-uint4"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
    blobs = hf_cache / "models--Disty0--Z-Image-Turbo-SDNQ-uint4-svd-r32" / "blobs"
    deadline = time.monotonic() + 60
    partial_size = 0
    while time.monotonic() < deadline and proc.poll() is None:
        sizes = [p.stat().st_size for p in blobs.glob("*" + layout.PARTIAL_SUFFIX)] if blobs.exists() else []
        if any(s > big_size // 3 for s in sizes) and hub.ranges(BIG):
            partial_size = max(sizes)
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert partial_size > 0, proc.stderr.read() if proc.stderr else ""

    hub.delay = 0.0
    again = _cli("download", "sdnq-uint4")
    assert again.returncode == 0, again.stderr
    assert "resuming" in again.stderr and "Traceback" not in again.stderr
    [first, resumed] = hub.ranges(BIG)
    assert first == "" and resumed.startswith("bytes=") and int(resumed[6:-1]) >= partial_size
    check = _cli("verify", "sdnq-uint4", "--json")
    assert check.returncode == 0 and json.loads(check.stdout)["ok"] is True


def test_list_use_verify_and_remove_on_the_terminal(hub: HubServer, hf_cache: Path, data_dir: Path) -> None:
    got = _cli("download", "gguf-q4", "--json")
    assert got.returncode == 0, got.stderr
    lines = [json.loads(line) for line in got.stdout.splitlines()]
    assert lines[-1]["event"] == "result" and lines[-1]["ok"] is True
    assert any(e.get("phase") == "download" for e in lines)
    listed = {e["id"]: e for e in map(json.loads, _cli("list", "--json").stdout.splitlines())}
    assert listed["gguf-q4"]["state"] == "installed" and listed["bf16"]["state"] == "absent"
    assert "installed" in _cli("list").stdout

    used = _cli("use", "gguf-q4", "--json")
    assert used.returncode == 0, used.stderr
    settings = json.loads((data_dir / "settings.json").read_text(encoding="utf-8"))
    assert settings["variant"] == "gguf-q4" and settings["transformer"].endswith("Q4_K_M.gguf")

    missing = _cli("use", "bf16")
    assert missing.returncode == 1 and "download it first" in missing.stderr and "Traceback" not in missing.stderr
    assert _cli("remove", "gguf-q4").returncode == 0
    gone = _cli("verify", "gguf-q4")
    assert gone.returncode == 1 and "not installed" in gone.stderr and "Traceback" not in gone.stderr


def test_a_server_that_keeps_failing_gives_a_message_not_a_traceback(
    hub: HubServer, hf_cache: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from zit_desktop.cli.main import main

    monkeypatch.setattr(dl, "download", functools.partial(dl.download, backoff_s=0.01))  # in-process: no waiting
    hub.fail[f"{UINT4}/model_index.json"] = 1000
    assert main(["models", "download", "sdnq-uint4"]) == 1
    err = capsys.readouterr().err
    assert "The download stopped" in err and "run it again to continue" in err and "Traceback" not in err
