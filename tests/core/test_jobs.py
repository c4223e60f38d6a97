"""run_and_record: the one place where images enter the history, whatever ends the job."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from zit_desktop.core.events import (
    Cancelled,
    CancelToken,
    Event,
    EventCallback,
    Failed,
    Finished,
    ImageRecorded,
    ImageResult,
    ImageSaved,
    JobStarted,
    Notice,
    Result,
)
from zit_desktop.core.history import HistoryStore
from zit_desktop.core.jobs import run_and_record
from zit_desktop.core.paths import AppPaths
from zit_desktop.core.request import GenerationRequest

from .history_support import make_result


class ScriptedEngine:
    """Saves ``count`` real PNGs, then ends as told: finished, cancelled or failed after ``stop_after``."""

    def __init__(self, outputs: Path, end: str = "finished", stop_after: int | None = None,
                 announce: bool = True, raise_instead: bool = False, disk_colour: tuple[int, int, int] | None = None
                 ) -> None:
        self.outputs, self.end, self.stop_after = outputs, end, stop_after
        self.announce, self.raise_instead = announce, raise_instead
        self.disk_colour = disk_colour  # write another picture to disk than the one in memory

    def run(self, request: GenerationRequest, on_event: EventCallback, cancel: CancelToken, job_id: str) -> Result:
        if self.raise_instead:
            raise RuntimeError("a bug in the engine")
        done: list[ImageResult] = []
        last = request.count if self.stop_after is None else self.stop_after
        for index in range(last):
            on_event(JobStarted(job_id, index, request.count, 100 + index, "cpu"))
            result = make_result(self.outputs, request.prompt, seed=100 + index, index=index)
            picture = Image.new("RGB", (512, 512), (10 * index, 200, 30))
            (Image.new("RGB", (512, 512), self.disk_colour) if self.disk_colour else picture).save(result.path)
            done.append(result)
            if self.announce:
                on_event(ImageSaved(job_id, result, picture))
        images = tuple(done)
        final: Result
        if self.end == "cancelled":
            final = Cancelled(job_id, images)
        elif self.end == "failed":
            final = Failed(job_id, "out-of-memory", "Out of GPU memory.", "detail", images)
        else:
            final = Finished(job_id, images, {"total": 1.0})
        on_event(final)  # the real engine passes the terminal event to on_event too
        return final


@pytest.fixture
def paths(tmp_path: Path) -> AppPaths:
    return AppPaths(tmp_path / "data").ensure()


@pytest.fixture
def store(paths: AppPaths) -> Any:
    with HistoryStore.for_paths(paths) as s:
        yield s


def run(engine: ScriptedEngine, store: HistoryStore | None, count: int = 3,
        parent_id: int | None = None) -> tuple[Result, list[Event]]:
    events: list[Event] = []
    request = GenerationRequest(prompt="a red fox", count=count, seed=100)
    result = run_and_record(engine, store, request, events.append, parent_id=parent_id, job_id="job1")
    return result, events


@pytest.mark.parametrize("end", ["cancelled", "failed"])
def test_every_saved_image_of_an_unfinished_batch_gets_a_row(paths: AppPaths, store: HistoryStore,
                                                             end: str) -> None:
    result, events = run(ScriptedEngine(paths.outputs, end=end, stop_after=2), store, count=4)
    assert type(result).__name__ == end.capitalize() and len(result.images) == 2
    recorded = [e for e in events if isinstance(e, ImageRecorded)]
    assert [store.get(e.row_id).path for e in recorded] == [im.path for im in result.images]  # type: ignore[union-attr]
    assert store.count() == 2


def test_each_image_is_recorded_right_after_it_is_saved_and_the_end_comes_last(
        paths: AppPaths, store: HistoryStore) -> None:
    result, events = run(ScriptedEngine(paths.outputs), store, count=2)
    kinds = [type(e).__name__ for e in events]
    assert kinds == ["JobStarted", "ImageSaved", "ImageRecorded"] * 2 + ["Finished"]
    assert events[-1] is result  # exactly once, unchanged
    assert all(e.job_id == "job1" for e in events)


def test_images_only_listed_in_the_terminal_event_are_announced_and_recorded(
        paths: AppPaths, store: HistoryStore) -> None:
    result, events = run(ScriptedEngine(paths.outputs, announce=False), store, count=2)
    saved = [e.image.path for e in events if isinstance(e, ImageSaved)]
    assert saved == [im.path for im in result.images]
    assert [type(e).__name__ for e in events][-5:] == ["ImageSaved", "ImageRecorded"] * 2 + ["Finished"]
    assert store.count() == 2


def test_rows_carry_the_parent(paths: AppPaths, store: HistoryStore) -> None:
    parent = store.add_result(make_result(paths.outputs, "the original", seed=7, name="orig.png"))
    _, events = run(ScriptedEngine(paths.outputs), store, count=1, parent_id=parent)
    [recorded] = [e for e in events if isinstance(e, ImageRecorded)]
    assert store.get(recorded.row_id).parent_id == parent  # type: ignore[union-attr]


def test_the_thumbnail_comes_from_the_image_in_memory(paths: AppPaths, store: HistoryStore) -> None:
    """The PNG is not decoded again: with a blue file on disk, the thumbnail shows the green picture."""
    _, events = run(ScriptedEngine(paths.outputs, disk_colour=(0, 0, 255)), store, count=1)
    [recorded] = [e for e in events if isinstance(e, ImageRecorded)]
    thumb = store.thumbnail_path(recorded.row_id)
    assert thumb is not None and thumb.exists()
    with Image.open(thumb) as t:
        r, g, b = t.convert("RGB").getpixel((t.width // 2, t.height // 2))
    assert abs(r - 0) <= 3 and abs(g - 200) <= 3 and abs(b - 30) <= 3


class RefusingStore:
    """A history whose database can't be written (the real store raises AppError; a bug raises anything)."""

    def add_result(self, *args: Any, **kwargs: Any) -> int:
        raise sqlite3.OperationalError("no such table: images")


def test_a_history_that_fails_says_so_and_the_batch_goes_on(paths: AppPaths) -> None:
    result, events = run(ScriptedEngine(paths.outputs), RefusingStore(), count=2)  # type: ignore[arg-type]
    notices = [e for e in events if isinstance(e, Notice)]
    assert isinstance(result, Finished) and len(result.images) == 2
    assert [n.kind for n in notices] == ["history", "history"]
    assert all("the history could not record it" in n.message for n in notices)
    assert all("details are in the log file" in n.message and "OperationalError" not in n.message for n in notices)
    assert not any(isinstance(e, ImageRecorded) for e in events)


def test_no_store_records_nothing_but_still_passes_everything_on(paths: AppPaths) -> None:
    result, events = run(ScriptedEngine(paths.outputs), None, count=2)
    assert isinstance(result, Finished)
    assert [type(e).__name__ for e in events] == ["JobStarted", "ImageSaved"] * 2 + ["Finished"]


def test_an_engine_that_raises_becomes_an_internal_failure(paths: AppPaths, store: HistoryStore) -> None:
    result, events = run(ScriptedEngine(paths.outputs, raise_instead=True), store)
    assert isinstance(result, Failed) and result.kind == "internal"
    assert "RuntimeError: a bug in the engine" in result.detail
    assert events == [result]


class ReturnsNothing:
    def run(self, request: GenerationRequest, on_event: EventCallback, cancel: CancelToken, job_id: str) -> Any:
        return None


def test_an_engine_that_returns_no_result_becomes_an_internal_failure(store: HistoryStore) -> None:
    result, events = run(ReturnsNothing(), store)  # type: ignore[arg-type]
    assert isinstance(result, Failed) and result.kind == "internal" and "returned NoneType" in result.detail
    assert events == [result]


def test_a_caller_failing_on_an_image_does_not_cost_it_its_row(paths: AppPaths, store: HistoryStore) -> None:
    def on_event(event: Event) -> None:
        if isinstance(event, ImageSaved):
            raise OSError(5, "Input/output error")  # e.g. printing the path to a broken terminal

    request = GenerationRequest(prompt="a red fox", count=1, seed=100)
    result = run_and_record(ScriptedEngine(paths.outputs), store, request, on_event, job_id="job1")
    assert isinstance(result, Failed) and result.kind == "internal"  # the engine saw the callback fail
    [row] = store.page(0, 10)
    assert Path(row.path).exists() and row.path.endswith("img-100-0.png")


def test_images_listed_only_at_the_end_are_decoded_once_for_the_window(paths: AppPaths, store: HistoryStore) -> None:
    _, events = run(ScriptedEngine(paths.outputs, announce=False), store, count=1)
    [saved] = [e for e in events if isinstance(e, ImageSaved)]
    assert saved.picture is not None and saved.picture.size == (512, 512)
