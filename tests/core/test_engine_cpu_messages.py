"""What the engine says and records on a machine without a GPU: the strategy that really ran, and
out-of-memory advice in terms of system RAM that never suggests a size as large as the one that failed."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from PIL import Image

from zit_desktop.core.engine import Engine
from zit_desktop.core.errors import ErrorKind
from zit_desktop.core.events import Event, Finished, JobStarted, Notice
from zit_desktop.core.history import HistoryStore
from zit_desktop.core.jobs import run_and_record
from zit_desktop.core.memory.vram import simulated_cuda_device
from zit_desktop.core.metadata.chunks import OUR_CHUNK
from zit_desktop.core.paths import app_paths
from zit_desktop.core.request import GenerationRequest
from zit_desktop.core.settings import Settings


def req(model: Path, side: int = 256, **kw: Any) -> GenerationRequest:
    return GenerationRequest(prompt="a cat", seed=3, model=str(model), width=side, height=side, preset=None, **kw)


def sizes_offered(text: str, side: int) -> list[int]:
    """The pixel counts of the sizes a message names, other than the one that failed."""
    return [int(w) * int(h) for w, h in re.findall(r"(\d+)×(\d+)", text.replace(f"{side}×{side}", ""))]


def test_a_gpu_rung_forced_on_the_cpu_is_recorded_as_cpu_and_said_once(tiny_model: Path, data_dir: Path) -> None:
    paths = app_paths(data_dir).ensure()
    engine = Engine(paths, Settings(low_vram="gpu"))  # `generate --low-vram gpu` on this CPU-only machine
    events: list[Event] = []
    with HistoryStore.for_paths(paths) as store:
        result = run_and_record(engine, store, req(tiny_model, steps=2, count=2), events.append)
        assert isinstance(result, Finished), result
        rows = store.page(0, 10)
    assert [im.strategy for im in result.images] == ["cpu", "cpu"]
    assert {row.strategy for row in rows} == {"cpu"} and len(rows) == 2
    assert all(im.environment["strategy"] == "cpu" for im in result.images)
    assert [e.strategy for e in events if isinstance(e, JobStarted)] == ["cpu", "cpu"]
    told = [e for e in events if isinstance(e, Notice) and e.kind == "no-gpu"]
    assert len(told) == 1 and told[0].detail == {"requested": "gpu", "used": "cpu"}
    assert "needs an NVIDIA GPU" in told[0].message and "on the CPU" in told[0].message
    with Image.open(result.images[0].path) as png:
        stored = json.loads(png.text[OUR_CHUNK])
    assert stored["info"]["strategy"] == "cpu" and stored["environment"]["strategy"] == "cpu"


def test_out_of_memory_on_the_cpu_speaks_of_ram_and_suggests_only_smaller_sizes(
    tiny_model: Path, data_dir: Path
) -> None:
    engine = Engine(app_paths(data_dir).ensure(), Settings())
    err = engine.lowvram.out_of_memory(req(tiny_model, 256), None, "detail")
    assert err.kind is ErrorKind.OUT_OF_MEMORY
    assert "Out of system memory (RAM) at 256×256 on the CPU" in err.message
    assert "video memory" not in err.message and "GPU" not in err.message
    assert sizes_offered(err.message, 256) == []  # no preset is smaller than 256²: none is offered
    big = engine.lowvram.out_of_memory(req(tiny_model, 1024), None, "").message
    assert "RAM" in big and "768×768" in big
    assert all(px < 1024 * 1024 for px in sizes_offered(big, 1024))


def test_out_of_memory_on_a_gpu_speaks_of_video_memory_and_suggests_only_smaller_sizes(
    tiny_model: Path, data_dir: Path
) -> None:
    engine = Engine(app_paths(data_dir).ensure(), Settings())
    for card, side in ((6, 2048), (6, 768), (6, 512), (0.5, 256), (24, 1024)):
        engine.lowvram.device_override = lambda card=card: simulated_cuda_device(card)
        message = engine.lowvram.out_of_memory(req(tiny_model, side), None, "").message
        assert message.startswith(f"Out of video memory at {side}×{side}"), message
        assert "RAM" not in message
        offered = sizes_offered(message, side)
        assert all(px < side * side for px in offered), (card, side, message)
        if not offered:
            assert f"No size smaller than {side}×{side}" in message
    engine.lowvram.device_override = lambda: simulated_cuda_device(6)
    assert "1024×1024" in engine.lowvram.out_of_memory(req(tiny_model, 2048), None, "").message
