"""One window per data folder: a second start hands its model and PNG to the first and exits 0 (1,
printing the first window's problems, when it could not use them);
a stale socket does not block a start; other data folders run side by side; the CLI beside a running
window sees the same history (SQLite WAL, one writer per process)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QDir

from zit_desktop.app import serve_second_starts
from zit_desktop.core.request import GenerationRequest
from zit_desktop.ui.startup.single_instance import HandOverReply, InstanceServer, LaunchArgs, server_name

from .gallery_support import request_dict, write_png

ROOT = Path(__file__).resolve().parents[2]


def start(*args: str, cwd: Path, probe: bool = False) -> subprocess.Popen[str]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", HF_HUB_OFFLINE="1")
    env.pop("ZIT_DESKTOP_HOME", None)
    if probe:
        env["ZIT_DESKTOP_STARTUP_PROBE"] = "1"
    return subprocess.Popen([sys.executable, "-m", "zit_desktop", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip


def finish(proc: subprocess.Popen[str], qtbot: Any, qtlog: Any, timeout_ms: int = 60_000) -> tuple[str, str]:
    """Wait for a second start while this process's event loop runs (the first window answers it).

    The offscreen platform has no window stacking: raising the window there is a Qt warning, not ours."""
    with qtlog.disabled():
        qtbot.waitUntil(lambda: proc.poll() is not None, timeout=timeout_ms)
    out, err = proc.communicate()
    return out, err


@pytest.fixture
def first_window(make_window: Any, fake_engine: Any, data_dir: Path) -> Any:
    window = make_window(engine=fake_engine)
    instance = InstanceServer(server_name(data_dir))
    assert instance.listen()
    serve_second_starts(window, instance)
    return window


def test_second_start_hands_its_model_and_png_to_the_running_window(
    first_window: Any, tiny_model: Path, qtbot: Any, qtlog: Any, data_dir: Path, tmp_path: Path
) -> None:
    write_png(
        tmp_path / "lighthouse.png", request_dict("a lighthouse at dusk", 4242, size=768, preset=None), 4242
    )
    # relative paths: they mean the second start's working folder, not the first window's
    proc = start("--data-dir", str(data_dir), "--model", str(tiny_model), "lighthouse.png", cwd=tmp_path)
    out, err = finish(proc, qtbot, qtlog)
    assert proc.returncode == 0, err
    assert "already open" in out
    w = first_window
    assert (w.settings.model, w.settings.variant) == (str(tiny_model), "custom")
    request = w.current_request()
    assert (request.prompt, request.seed, request.width) == ("a lighthouse at dusk", 4242, 768)
    saved = json.loads((data_dir / "settings.json").read_text(encoding="utf-8"))
    assert saved["model"] == str(tiny_model)  # as if chosen in the settings: saved too


def test_bad_arguments_of_a_second_start_show_a_notice_and_change_nothing(
    first_window: Any, qtbot: Any, qtlog: Any, data_dir: Path, tmp_path: Path
) -> None:
    (tmp_path / "notes.png").write_bytes(b"this is not a picture")
    before = first_window.settings.model
    proc = start(
        "--data-dir", str(data_dir), "gui", "--model", str(tmp_path / "nowhere"), "notes.png", cwd=tmp_path
    )
    out, err = finish(proc, qtbot, qtlog)
    # the second start says what the open window could not use, on stderr, and fails
    assert proc.returncode == 1, (out, err)
    assert "already open" in err and "could not use" in err and "given the model" not in out + err
    problems = err.split("could not use what this start gave it:", 1)[1]
    assert "nowhere" in problems and "does not exist" in problems and "notes.png" in problems
    notice = first_window.notice
    qtbot.waitUntil(notice.isVisible, timeout=2000)
    assert notice.level == "error"
    assert "nowhere" in notice.text() and "does not exist" in notice.text()
    assert "notes.png" in notice.text()
    assert first_window.settings.model == before


def test_a_stale_socket_of_a_crashed_window_does_not_block_a_start(data_dir: Path, tmp_path: Path) -> None:
    name = server_name(data_dir)
    path = Path(QDir.tempPath()) / name
    path.unlink(missing_ok=True)
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(path))  # bound, never listening: what a killed window leaves behind
    stale.close()
    try:
        proc = start("--data-dir", str(data_dir), cwd=tmp_path, probe=True)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert json.loads(out.strip().splitlines()[-1])["visible"]
    finally:
        path.unlink(missing_ok=True)


def test_other_data_folders_run_side_by_side(first_window: Any, data_dir: Path, tmp_path: Path) -> None:
    other = tmp_path / "other-home"
    assert server_name(other) != server_name(data_dir)
    assert server_name(data_dir / ".." / data_dir.name) == server_name(data_dir)  # resolved
    proc = start("--data-dir", str(other), cwd=tmp_path, probe=True)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert json.loads(out.strip().splitlines()[-1])["visible"]  # its own window, not a hand-over


def test_launch_args_keep_hub_ids_and_survive_json(tmp_path: Path) -> None:
    args = LaunchArgs("Tongyi-MAI/Z-Image-Turbo", "a.png").absolute(tmp_path)
    assert args.model == "Tongyi-MAI/Z-Image-Turbo" and args.png == str(tmp_path / "a.png")
    assert LaunchArgs.from_json(args.to_json()) == args
    with pytest.raises(ValueError):
        LaunchArgs.from_json(b"[1, 2]")


def test_the_reply_of_a_hand_over_is_json_with_the_problems() -> None:
    reply = HandOverReply(False, ("The picture a.png does not exist — so no parameters were loaded.",))
    line = reply.to_json()
    assert line.endswith(b"\n") and json.loads(line) == {"ok": False, "problems": list(reply.problems)}
    assert HandOverReply.from_json(line) == reply
    assert HandOverReply.from_json(HandOverReply(True).to_json()) == HandOverReply(True)
    assert HandOverReply.from_json(b"ok") == HandOverReply(True)  # a window of an earlier version
    assert HandOverReply.from_json(b'{"ok": true, "problems": ["x"]}') == HandOverReply(False, ("x",))
    for refused in (b"error", b"[1]", b'{"problems": []}', b"\xff"):
        assert HandOverReply.from_json(refused) is None


@pytest.mark.slow
def test_the_cli_beside_a_running_window_sees_the_same_history(
    make_window: Any, tiny_model: Path, qtbot: Any, qtlog: Any, data_dir: Path, tmp_path: Path
) -> None:
    w = make_window(model=str(tiny_model))
    w.params.prompt.setPlainText("a window image")
    w.params.choose_preset("512x512")
    w.params.steps.setValue(2)
    cli = start("--data-dir", str(data_dir), "generate", "--model", str(tiny_model), "--prompt", "a cli image",
                "--preset", "512x512", "--steps", "2", "--seed", "5", "--json", cwd=tmp_path)  # fmt: skip
    with qtbot.waitSignal(w.imageRecorded, timeout=180_000):
        w.generate()  # the window writes while the CLI loads and writes in its own process
    out, err = finish(cli, qtbot, qtlog, timeout_ms=180_000)
    assert cli.returncode == 0, err
    assert json.loads(out.splitlines()[-1])["seed"] == 5
    listed = subprocess.run([sys.executable, "-m", "zit_desktop", "--data-dir", str(data_dir), "history", "list",
                             "--json"], capture_output=True, text=True, timeout=60, cwd=tmp_path)  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    prompts = sorted(json.loads(line)["request"]["prompt"] for line in listed.stdout.splitlines())
    assert prompts == ["a cli image", "a window image"]
    gallery = w.gallery
    assert gallery is not None
    gallery.model.refresh()
    assert gallery.model.total == 2  # the window reads the CLI's row from the same WAL database
    assert GenerationRequest.from_dict(w.last_results[-1].request).prompt == "a window image"
