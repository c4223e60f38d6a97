"""ComfyEngine and its client against the recorded frames and a fake ComfyUI that replays their behaviour."""

from __future__ import annotations

import json
import ssl
import subprocess
import threading
import time
from pathlib import Path

import pytest
from PIL import Image

from tests.core.comfy_fake import FIXTURES, FakeComfy
from zit_desktop.core.events import (
    Cancelled,
    CancelToken,
    Failed,
    Finished,
    ImageRecorded,
    ImageSaved,
    JobStarted,
    Preview,
    Step,
)
from zit_desktop.core.history.store import HistoryStore
from zit_desktop.core.jobs import run_and_record
from zit_desktop.core.metadata.chunks import A1111_CHUNK, OUR_CHUNK
from zit_desktop.core.metadata.read import read_params
from zit_desktop.core.paths import app_paths
from zit_desktop.core.remote.client import (
    ComfyClient,
    ComfyRejected,
    Credentials,
    parse_binary_frame,
    parse_text_frame,
    rejection_problems,
)
from zit_desktop.core.remote.engine import ComfyEngine, RemoteEngineConfig, check_server
from zit_desktop.core.remote.graph import comfy_denoise
from zit_desktop.core.request import Finalize, GenerationRequest


def record_of(path) -> tuple[dict, str]:
    """Our JSON record and the A1111 text of a PNG."""
    raw = read_params(path).raw
    return json.loads(raw[OUR_CHUNK]), raw[A1111_CHUNK]


def transcript(name: str) -> list[dict]:
    return [json.loads(line) for line in (FIXTURES / name).read_text(encoding="utf-8").splitlines()]


# ---- the wire format, from the real server's bytes -----------------------------------------------

def test_both_recorded_preview_frame_formats_parse():
    modern = parse_binary_frame((FIXTURES / "success_invert.frame01.bin").read_bytes())
    legacy = parse_binary_frame((FIXTURES / "success_invert_legacy_frames.frame01.bin").read_bytes())
    for msg in (modern, legacy):
        assert msg.type == "preview" and msg.image_type == "image/png"
        assert Image.open(__import__("io").BytesIO(msg.image)).size == (64, 64)
    assert modern.prompt_id == "00000001-0000-4000-8000-000000000001" and legacy.prompt_id is None


@pytest.mark.parametrize("frame", [b"", b"\x00\x00\x00\x04\x00\x00\xff\xff{}", b"\x00\x00\x00\x04\x00\x00\x00\x02[]x",
                                   b"\x00\x00\x00\x04\x00\x00\x00\x03\xff\xfe\xfdIMG"])
def test_malformed_frames_are_reported_not_raised(frame):
    msg = parse_binary_frame(frame)
    assert msg.type in ("malformed", "preview")
    assert parse_text_frame("not json").type == "malformed"
    assert parse_text_frame('{"data": {}}').type == "malformed"


def test_recorded_400s_become_readable_problems():
    bodies = {}
    for name in ("validation_error.jsonl", "missing_node.jsonl"):
        for line in transcript(name):
            if line.get("kind") == "http" and line.get("status") == 400:
                bodies[name] = line["response_json"]
    problems = rejection_problems(bodies["validation_error.jsonl"])
    assert any(p.startswith("node 28 (UNETLoader) input 'unet_name'") and "z_image_turbo_bf16" in p for p in problems)
    assert len(problems) == 3
    assert rejection_problems(bodies["missing_node.jsonl"]) == [
        "Node 'NoSuchNodeType' not found. The custom node may not be installed.: NoSuchNodeType (node 2)"]


# ---- against the fake server --------------------------------------------------------------------

@pytest.fixture
def fake():
    server = FakeComfy().start()
    yield server
    server.stop()


@pytest.fixture
def paths(tmp_path):
    return app_paths(tmp_path / "data").ensure()


def engine_for(server: FakeComfy, paths, **kw) -> ComfyEngine:
    creds = kw.pop("credentials", None)
    config = RemoteEngineConfig("box", server.url, **kw)
    return ComfyEngine(paths, config, creds, timeout=5, reconnect_delays=(0.05, 0.1, 0.2, 0.4, 0.8, 1.0, 2.0))


def run(engine, request, cancel=None):
    events = []
    result = engine.run(request, events.append, cancel or CancelToken(), "job-1")
    return result, events


REQ = GenerationRequest(prompt="一只橘色的猫", seed=7, width=256, height=256, preset=None, steps=4)


def test_check_reports_ready_with_version_device_and_files(fake, paths):
    ready = check_server(ComfyClient(fake.url), RemoteEngineConfig("box", fake.url))
    assert ready.ok and ready.message == "ready" and ready.version == "0.18.1" and ready.device == "cpu"
    assert ready.models is not None and ready.models.unet == "z_image_turbo_bf16.safetensors"
    assert ready.vram_total == 25276059648


def test_check_says_what_is_missing_and_where(paths):
    server = FakeComfy(models={"unet_name": [], "clip_name": ["qwen_3_4b.safetensors"],
                               "vae_name": ["pixel_space"]}).start()
    try:
        ready = check_server(ComfyClient(server.url), RemoteEngineConfig("box", server.url))
    finally:
        server.stop()
    assert not ready.ok
    assert "models/diffusion_models" in ready.message and "models/vae" in ready.message
    assert "text_encoders" not in ready.message


def test_check_rejects_an_old_comfyui_and_missing_nodes():
    old = FakeComfy(version="0.3.40").start()
    bare = FakeComfy(missing_nodes=("ModelSamplingAuraFlow",)).start()
    try:
        assert "0.3.75 or newer" in check_server(ComfyClient(old.url), RemoteEngineConfig("o", old.url)).message
        msg = check_server(ComfyClient(bare.url), RemoteEngineConfig("b", bare.url)).message
        assert "ModelSamplingAuraFlow" in msg
    finally:
        old.stop()
        bare.stop()


def test_a_batch_runs_one_prompt_per_seed_with_progress_previews_and_our_metadata(fake, paths):
    engine = engine_for(fake, paths)
    result, events = run(engine, REQ.__class__(**{**REQ.to_dict(), "count": 2, "finalize": None}))
    assert isinstance(result, Finished), result
    assert [e.seed for e in events if isinstance(e, JobStarted)] == [7, 8]
    steps = [e.step for e in events if isinstance(e, Step)]
    assert steps == [1, 2, 3, 4, 1, 2, 3, 4]
    assert any(isinstance(e, Preview) and e.width == 32 for e in events)
    saved = [e for e in events if isinstance(e, ImageSaved)]
    assert len(saved) == 2 and len(fake.executed) == 2
    first = Path(saved[0].image.path)
    assert Image.open(first).size == (256, 256)
    record, a1111 = record_of(first)
    assert record["request"]["seed"] == 7 and record["request"]["prompt"] == REQ.prompt
    assert record["environment"]["server"] == fake.url and record["environment"]["comfyui_version"] == "0.18.1"
    assert record["info"]["graph"]["3"]["inputs"]["seed"] == 7
    assert 'Engine: "ComfyUI 0.18.1 at' in a1111 and "Sampler: res_multistep" in a1111
    # different seeds, different pictures
    assert Image.open(first).getpixel((0, 0)) != Image.open(saved[1].image.path).getpixel((0, 0))


def test_legacy_frames_without_feature_flags_still_preview(fake, paths, monkeypatch):
    fake.state.metadata_clients.clear()
    engine = engine_for(fake, paths)
    engine._open()
    fake.state.metadata_clients.clear()  # as a server that never got the flag
    result, events = run(engine, REQ)
    assert isinstance(result, Finished)
    assert any(isinstance(e, Preview) for e in events)


def test_run_and_record_puts_remote_images_in_the_history(fake, paths):
    store = HistoryStore(paths.history_db)
    events = []
    result = run_and_record(engine_for(fake, paths), store, REQ, events.append, job_id="j")
    assert isinstance(result, Finished)
    row = store.get(next(e.row_id for e in events if isinstance(e, ImageRecorded)))
    assert row.environment["server"] == fake.url and row.strategy == "comfyui"
    store.close()


def test_a_rejected_graph_names_node_and_input(paths):
    server = FakeComfy(models={"unet_name": ["other.safetensors"], "clip_name": ["qwen_3_4b.safetensors"],
                               "vae_name": ["ae.safetensors"]}).start()
    try:
        ready = engine_for(server, paths, unet="z_image_turbo_bf16.safetensors").check()
        assert not ready.ok and "models/diffusion_models" in ready.message  # other.safetensors is not Z-Image
        client = ComfyClient(server.url)
        from zit_desktop.core.remote.graph import ComfyModels, text_to_image_graph

        with pytest.raises(ComfyRejected) as err:
            client.submit(text_to_image_graph(REQ, ComfyModels()), "p-1")
        assert "node 28 (UNETLoader) input 'unet_name'" in str(err.value)
    finally:
        server.stop()


def test_an_execution_error_fails_clearly(fake, paths):
    fake.fail_next = True
    result, _ = run(engine_for(fake, paths), REQ)
    assert isinstance(result, Failed) and result.kind == "remote"
    assert "node 29 (VAELoader)" in result.message and "header too large" in result.message
    assert "execution.py" in result.detail


def test_cancel_interrupts_a_running_job(paths):
    server = FakeComfy(step_delay=0.2).start()
    try:
        engine, cancel = engine_for(server, paths), CancelToken()
        events = []

        def on_event(e):
            events.append(e)
            if isinstance(e, Step) and e.step == 2:
                cancel.cancel()

        result = engine.run(GenerationRequest(**{**REQ.to_dict(), "steps": 20, "finalize": None}), on_event, cancel, "j")
        assert isinstance(result, Cancelled)
        assert max(e.step for e in events if isinstance(e, Step)) < 20
        assert server.executed == [] and ("POST", "/interrupt") in [(m, p) for m, p, _ in server.requests]
    finally:
        server.stop()


def test_cancel_deletes_a_job_still_waiting_in_the_servers_queue(paths):
    server = FakeComfy(step_delay=0.3).start()
    try:
        # Someone else's long job holds the server.
        other = ComfyClient(server.url)
        from zit_desktop.core.remote.graph import ComfyModels, text_to_image_graph

        other.submit(text_to_image_graph(GenerationRequest(**{**REQ.to_dict(), "steps": 10, "finalize": None}),
                                         ComfyModels()), "someone-else")
        cancel = CancelToken()
        threading.Timer(0.6, cancel.cancel).start()
        started = time.monotonic()
        result, _ = run(engine_for(server, paths), REQ, cancel)
        assert isinstance(result, Cancelled)
        assert time.monotonic() - started < 2.5  # did not wait for the other job
        assert ("POST", "/queue") in [(m, p) for m, p, _ in server.requests]
        time.sleep(3.5)
        assert server.executed == ["someone-else"]  # ours never ran
    finally:
        server.stop()


def test_a_dropped_connection_reconnects_and_finishes_from_the_history(paths):
    server = FakeComfy(step_delay=0.15).start()
    try:
        engine = engine_for(server, paths)
        dropped = []

        def on_event(e):
            if isinstance(e, Step) and e.step == 2 and not dropped:
                dropped.append(1)
                server.drop_sockets()

        result = engine.run(GenerationRequest(**{**REQ.to_dict(), "steps": 8, "finalize": None}), on_event,
                            CancelToken(), "j")
        assert isinstance(result, Finished) and len(result.images) == 1
        assert len(server.executed) == 1  # not submitted twice
        assert len(server.ws_opens) >= 2  # it came back with the same clientId
    finally:
        server.stop()


def test_a_server_restart_mid_job_resubmits_once(paths):
    server = FakeComfy(step_delay=0.15).start()
    try:
        engine = engine_for(server, paths)
        restarted = []

        def on_event(e):
            if isinstance(e, Step) and e.step == 2 and not restarted:
                restarted.append(1)
                threading.Thread(target=server.restart, args=(0.3,)).start()

        result = engine.run(GenerationRequest(**{**REQ.to_dict(), "steps": 6, "finalize": None}), on_event,
                            CancelToken(), "j")
        assert isinstance(result, Finished), result
        assert len(server.executed) == 1 and len(result.images) == 1
    finally:
        server.stop()


def test_a_server_that_stays_down_fails_clearly(paths):
    server = FakeComfy(step_delay=0.15).start()
    engine = engine_for(server, paths)

    def on_event(e):
        if isinstance(e, Step) and e.step == 1:
            threading.Thread(target=server.stop).start()

    result = engine.run(GenerationRequest(**{**REQ.to_dict(), "steps": 6, "finalize": None}), on_event,
                        CancelToken(), "j")
    assert isinstance(result, Failed) and result.kind == "network"
    assert "lost" in result.message or "Cannot reach" in result.message


def test_unreachable_server_is_a_network_failure(paths):
    engine = ComfyEngine(paths, RemoteEngineConfig("gone", "http://127.0.0.1:9"), timeout=2)
    result, _ = run(engine, REQ)
    assert isinstance(result, Failed) and result.kind == "network" and "Cannot reach" in result.message


def test_refine_uploads_the_source_and_runs_image_to_image(fake, paths, tmp_path):
    source = tmp_path / "small.png"
    Image.new("RGB", (128, 128), (200, 10, 10)).save(source)
    req = GenerationRequest(prompt="cat", seed=3, width=256, height=256, preset=None, steps=4,
                            finalize=Finalize(str(source), change=0.4))
    result, events = run(engine_for(fake, paths), req)
    assert isinstance(result, Finished), result
    assert list(fake.state.uploads.values())[0] == source.read_bytes()
    graph = record_of(Path(result.images[0].path))[0]["info"]["graph"]
    # the same starting noise level as the local refine: σ = 0.4 through ComfyUI's shift of 3
    assert graph["3"]["inputs"]["denoise"] == comfy_denoise(0.4) == 0.1818
    assert graph["62"]["inputs"]["image"] in fake.state.uploads


def test_bearer_token_is_sent_on_http_and_websocket(paths):
    server = FakeComfy(token="s3cret").start()
    try:
        bad = engine_for(server, paths)
        result, _ = run(bad, REQ)
        assert isinstance(result, Failed) and "refused the credentials" in result.message
        good = engine_for(server, paths, credentials=Credentials(token="s3cret"))
        result, _ = run(good, REQ)
        assert isinstance(result, Finished)
        assert all(h.get("Authorization") == "Bearer s3cret" for h in server.ws_opens)
    finally:
        server.stop()


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


def test_tls_with_a_self_signed_certificate_needs_its_ca_file(paths, self_signed):
    cert, key = self_signed
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    server = FakeComfy(ssl_context=ctx).start()
    try:
        assert server.url.startswith("https://")
        result, _ = run(engine_for(server, paths), REQ)
        assert isinstance(result, Failed) and "CA file" in result.message
        result, _ = run(engine_for(server, paths, ca_file=str(cert)), REQ)
        assert isinstance(result, Finished), result
    finally:
        server.stop()
