"""The engine pool against two or three fake ComfyUI servers: split, failover, no lost or doubled image."""

from __future__ import annotations

import threading

import pytest

from tests.core.comfy_fake import FakeComfy
from zit_desktop.core.events import (
    CancelToken,
    Failed,
    Finished,
    ImageRecorded,
    ImageSaved,
    JobStarted,
    Notice,
    Step,
)
from zit_desktop.core.history.store import HistoryStore
from zit_desktop.core.jobs import run_and_record
from zit_desktop.core.paths import app_paths
from zit_desktop.core.remote.config import RemoteEngineConfig
from zit_desktop.core.remote.engine import ComfyEngine
from zit_desktop.core.remote.pool import EnginePool
from zit_desktop.core.request import GenerationRequest

REQ = GenerationRequest(prompt="a lighthouse", seed=100, width=256, height=256, preset=None, steps=4, count=4)
NO_UNET = {"unet_name": [], "clip_name": ["qwen_3_4b.safetensors"], "vae_name": ["ae.safetensors"]}


@pytest.fixture
def paths(tmp_path):
    return app_paths(tmp_path / "data").ensure()


@pytest.fixture
def servers():
    started: list[FakeComfy] = []

    def make(**kw) -> FakeComfy:
        server = FakeComfy(**kw).start()
        started.append(server)
        return server

    yield make
    for s in started:
        s.stop()


def member(paths, name, server):
    return name, ComfyEngine(paths, RemoteEngineConfig(name, server.url), timeout=3,
                             reconnect_delays=(0.05, 0.1, 0.2))


def run(pool, request=REQ, on_event=None):
    events = []

    def handle(e):
        events.append(e)
        if on_event:
            on_event(e)

    return pool.run(request, handle, CancelToken(), "job"), events


def test_a_batch_is_split_across_servers_and_comes_back_in_order(paths, servers):
    a, b = servers(step_delay=0.05), servers(step_delay=0.05)
    pool = EnginePool([member(paths, "a", a), member(paths, "b", b)])
    result, events = run(pool)
    assert isinstance(result, Finished)
    assert [im.seed for im in result.images] == [100, 101, 102, 103]
    assert [im.index for im in result.images] == [0, 1, 2, 3]
    assert a.executed and b.executed and len(a.executed) + len(b.executed) == 4
    where = {e.index: e.strategy for e in events if isinstance(e, JobStarted)}
    assert set(where.values()) == {"comfyui@a", "comfyui@b"}
    servers_of = {im.environment["engine_name"] for im in result.images}
    assert servers_of == {"a", "b"}


def test_a_server_without_the_model_is_left_out(paths, servers):
    good, bare = servers(), servers(models=NO_UNET)
    result, events = run(EnginePool([member(paths, "bare", bare), member(paths, "good", good)]))
    assert isinstance(result, Finished) and len(good.executed) == 4 and not bare.executed
    assert any(isinstance(e, Notice) and "bare is left out" in e.message for e in events)


def test_a_server_killed_mid_job_hands_its_images_on_without_loss_or_doubles(paths, servers):
    steady, doomed = servers(step_delay=0.05), servers(step_delay=0.15)
    store = HistoryStore(paths.history_db)
    killed = []

    def kill(e):
        if isinstance(e, Step) and e.step == 2 and not killed and "doomed" in strategy_of.get(e.index, ""):
            killed.append(e.index)
            threading.Thread(target=doomed.stop).start()

    strategy_of: dict[int, str] = {}

    def on_event(e):
        if isinstance(e, JobStarted):
            strategy_of[e.index] = e.strategy
        kill(e)

    events = []

    def handle(e):
        events.append(e)
        on_event(e)

    pool = EnginePool([member(paths, "doomed", doomed), member(paths, "steady", steady)])
    result = run_and_record(pool, store, GenerationRequest(**{**REQ.to_dict(), "count": 4}), handle, job_id="j")
    assert killed, "the doomed server never ran a job"
    assert isinstance(result, Finished), result
    seeds = sorted(im.seed for im in result.images)
    assert seeds == [100, 101, 102, 103]
    rows = [store.get(e.row_id) for e in events if isinstance(e, ImageRecorded)]
    assert sorted(r.seed for r in rows) == seeds  # each image once in the history
    assert all(r.environment["engine_name"] in ("doomed", "steady") for r in rows)
    assert any(isinstance(e, Notice) and "doomed failed" in e.message for e in events)
    store.close()


def test_when_every_server_is_gone_the_job_fails_with_what_was_made(paths, servers):
    only = servers(step_delay=0.1)

    def kill(e):
        if isinstance(e, ImageSaved) and e.image.index == 0:
            threading.Thread(target=only.stop).start()

    result, _ = run(EnginePool([member(paths, "only", only)]), on_event=kill)
    assert isinstance(result, Failed) and result.kind == "network"
    assert [im.seed for im in result.images] == [100]


def test_an_empty_or_dead_pool_says_so(paths):
    result, _ = run(EnginePool([]))
    assert isinstance(result, Failed) and "No engine of the pool is ready" in result.message
    dead = ComfyEngine(paths, RemoteEngineConfig("dead", "http://127.0.0.1:9"), timeout=1)
    result, _ = run(EnginePool([("dead", dead)]))
    assert isinstance(result, Failed) and "dead:" in result.message
