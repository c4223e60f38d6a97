"""The upscale job through the real Engine and run_and_record, and ``zit-desktop upscale`` as users
run it: the output is source × scale, saved with metadata, recorded as a child of the source, with
per-tile progress and no diffusion pipeline loaded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.core.upscaler_models import save_compact
from zit_desktop.core.engine.upscale import load_model_file
from zit_desktop.core.events import (
    CancelToken,
    Event,
    Failed,
    Finished,
    ImageRecorded,
    ImageResult,
    Step,
)
from zit_desktop.core.history import HistoryStore
from zit_desktop.core.history.files import read_our_metadata
from zit_desktop.core.jobs import run_and_record
from zit_desktop.core.metadata.write import png_text_chunks, write_png_atomic
from zit_desktop.core.paths import AppPaths
from zit_desktop.core.request import UPSCALE, Finalize, GenerationRequest


def make_source(paths: AppPaths, store: HistoryStore, size: tuple[int, int] = (96, 64)) -> tuple[Path, int, GenerationRequest]:
    """A generated-looking PNG of ours in the outputs folder, with its history row."""
    request = GenerationRequest(prompt="一只橘色的猫", width=512, height=512, preset="512x512", seed=7)
    pixels = np.random.default_rng(1).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    path = write_png_atomic(Image.fromarray(pixels), paths.outputs / "source_s7.png",
                            png_text_chunks(request, {"device": "cpu"}, {"strategy": "gpu"}))  # fmt: skip
    result = ImageResult(0, 7, str(path), size[0], size[1], {"total": 1.0}, "gpu", 0, None, request.to_dict(), {})
    return path, store.add_result(result), request


def upscale_request(base: GenerationRequest, path: Path, row: int | None, upscaler: str, scale: int = 2) -> GenerationRequest:
    return GenerationRequest(**{**base.__dict__, "finalize": Finalize(str(path), UPSCALE, row, upscaler=upscaler, scale=scale)})


@pytest.fixture
def app(tmp_path: Path) -> AppPaths:
    return AppPaths(tmp_path / "data").ensure()


def test_an_upscale_job_saves_source_times_scale_as_a_child_with_tile_progress(app: AppPaths, tmp_path: Path) -> None:
    from zit_desktop.core.engine import Engine

    model = save_compact(tmp_path / "my-x2.pth", scale=2)
    with HistoryStore.for_paths(app) as store:
        src, row, base = make_source(app, store)
        engine = Engine(app, device="cpu")
        events: list[Event] = []
        result = run_and_record(engine, store, upscale_request(base, src, row, str(model)), events.append, parent_id=row)
        assert isinstance(result, Finished), result
        [image] = result.images
        assert (image.width, image.height) == (192, 128) and Image.open(image.path).size == (192, 128)
        assert engine.pipeline is None  # no diffusion model was loaded
        kinds = [type(e).__name__ for e in events]
        assert kinds[:2] == ["Loading", "JobStarted"] and kinds[-3:] == ["ImageSaved", "ImageRecorded", "Finished"]
        steps = [e for e in events if isinstance(e, Step)]
        assert [(s.step, s.steps) for s in steps] == [(1, 1)]  # 96×64 fits one 512-px tile
        recorded = next(e for e in events if isinstance(e, ImageRecorded))
        [child] = store.children(row)
        assert child.id == recorded.row_id and child.path == image.path and (child.width, child.height) == (192, 128)

        expected = load_model_file(model, "m").upscale(Image.open(src).convert("RGB"), device="cpu")
        assert np.array_equal(np.asarray(Image.open(image.path).convert("RGB")), np.asarray(expected))
        record = read_our_metadata(Path(image.path))
        assert record is not None
        assert record.request["prompt"] == "一只橘色的猫" and record.request["finalize"]["method"] == "upscale"
        assert (record.request["width"], record.request["height"], record.request["preset"]) == (192, 128, None)
        assert record.info["upscale"]["upscaler"] == "my-x2.pth" and record.info["upscale"]["device"] == "cpu"
        assert record.info["upscale"]["tiles"] == 1 and record.info["strategy"] == "upscale-cpu"

        cached = engine.upscalers._upscaler
        again = run_and_record(engine, store, upscale_request(base, src, row, str(model)), lambda _e: None, parent_id=row)
        assert isinstance(again, Finished) and engine.upscalers._upscaler is cached  # loaded once
        assert len(store.children(row)) == 2


def test_lanczos_x4_and_an_output_over_8192_px_is_refused_clearly(app: AppPaths) -> None:
    from zit_desktop.core.engine import Engine

    with HistoryStore.for_paths(app) as store:
        src, row, base = make_source(app, store, size=(40, 30))
        engine = Engine(app, device="cpu")
        done = engine.run(upscale_request(base, src, row, "lanczos", 4), lambda _e: None)
        assert isinstance(done, Finished) and (done.images[0].width, done.images[0].height) == (160, 120)
        big = app.outputs / "big.png"
        Image.new("RGB", (2100, 1000)).save(big)
        failed = engine.run(upscale_request(base, big, None, "lanczos", 4), lambda _e: None)
        assert isinstance(failed, Failed) and failed.kind == "bad-input"
        assert "8400×4000" in failed.message and "8192" in failed.message and "×2" in failed.message


def test_a_missing_or_unreadable_source_and_a_bad_model_file_are_clear_failures(app: AppPaths, tmp_path: Path) -> None:
    from zit_desktop.core.engine import Engine

    engine = Engine(app, device="cpu")
    base = GenerationRequest(prompt="x")
    missing = engine.run(upscale_request(base, tmp_path / "gone.png", None, "lanczos"), lambda _e: None)
    assert isinstance(missing, Failed) and missing.kind == "bad-input" and "does not exist" in missing.message
    junk = tmp_path / "junk.png"
    junk.write_text("not a picture")
    unreadable = engine.run(upscale_request(base, junk, None, "lanczos"), lambda _e: None)
    assert isinstance(unreadable, Failed) and "cannot be read as an image" in unreadable.message
    Image.new("RGB", (32, 32)).save(tmp_path / "ok.png")
    notes = tmp_path / "notes.pth"
    notes.write_text("hello")
    bad = engine.run(upscale_request(base, tmp_path / "ok.png", None, str(notes)), lambda _e: None)
    assert isinstance(bad, Failed) and bad.kind == "model-invalid" and "not a model" in bad.message


def test_cancel_between_tiles_ends_the_job_cancelled_with_no_image(app: AppPaths, tmp_path: Path) -> None:
    from zit_desktop.core.engine import Engine, upscale_job

    model = save_compact(tmp_path / "x4.pth", scale=4)
    src = tmp_path / "wide.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 1100, 3), dtype=np.uint8)).save(src)
    token = CancelToken()

    def on_event(event: Event) -> None:
        if isinstance(event, Step):
            token.cancel()

    assert upscale_job.TILE == 512  # 1100 px wide: three tiles
    result = Engine(app, device="cpu").run(
        upscale_request(GenerationRequest(prompt=""), src, None, str(model), 4), on_event, token
    )
    assert type(result).__name__ == "Cancelled" and not list(app.outputs.glob("*.png"))


def zit(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, ZIT_DESKTOP_HOME=str(data_dir), HF_HUB_OFFLINE="1")
    return subprocess.run([sys.executable, "-m", "zit_desktop", *args], capture_output=True, text=True,
                          timeout=300, env=env)  # fmt: skip


def test_the_cli_prints_the_json_of_generate_and_records_a_child(tmp_path: Path) -> None:
    app = AppPaths(tmp_path / "home").ensure()
    model = save_compact(tmp_path / "x2.pth", scale=2)
    with HistoryStore.for_paths(app) as store:
        src, row, _base = make_source(app, store, size=(48, 32))
    run = zit("upscale", str(src), "--scale", "2", "--upscaler", str(model), "--json", data_dir=app.root)
    assert run.returncode == 0, run.stderr
    [line] = run.stdout.splitlines()
    printed = json.loads(line)
    assert set(printed) == {"path", "seed", "width", "height", "steps", "guidance", "prompt", "strategy",
                            "oom_retries", "peak_vram_bytes", "timings", "engine"}  # fmt: skip
    assert (printed["width"], printed["height"], printed["seed"], printed["prompt"]) == (96, 64, 7, "一只橘色的猫")
    assert "1/1" in run.stderr  # the progress line counts tiles
    with HistoryStore.for_paths(app) as store:
        [child] = store.children(row)
    assert child.path == printed["path"]

    bad = zit("upscale", str(src), "--upscaler", str(tmp_path / "none.pth"), data_dir=app.root)
    assert bad.returncode == 1 and "does not exist" in bad.stderr and "Traceback" not in bad.stderr
    known = zit("upscale", "--download", "4x-UltraSharp", data_dir=app.root)
    assert known.returncode == 2 and "realesr-general-x4v3" in known.stderr
