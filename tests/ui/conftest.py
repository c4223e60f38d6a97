"""UI fixtures: windows wired like the app (fake or tiny real engine), and no thread outliving a test."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from zit_desktop.core.events import (
    Cancelled,
    CancelToken,
    EventCallback,
    Failed,
    Finished,
    ImageResult,
    JobStarted,
    Loading,
    Preview,
    Step,
)
from zit_desktop.core.request import GenerationRequest


class FakeEngine:
    """Emits the engine's events with small sleeps and writes a tiny PNG; no torch."""

    def __init__(self, outputs: Path, step_delay: float = 0.01, fail_kind: str | None = None) -> None:
        self.outputs = outputs
        self.step_delay = step_delay
        self.fail_kind = fail_kind
        self.loaded = False
        self.calls: list[GenerationRequest] = []

    def update_settings(self, settings: Any) -> None:
        self.settings = settings

    def run(self, request: GenerationRequest, on_event: EventCallback, cancel: CancelToken,
            job_id: str = "fake") -> Any:
        from PIL import Image

        self.calls.append(request)
        req = request.resolved()
        job = job_id
        if not self.loaded:
            on_event(Loading("load", "Loading model"))
            on_event(Loading("ready", "Model ready"))
            self.loaded = True
        if self.fail_kind:
            result: Any = Failed(job, self.fail_kind, "The model folder does not exist. Choose another.")
            on_event(result)
            return result
        images = []
        for index in range(req.count):
            if cancel.stops_before(index):  # as the real engine does between images
                result = Cancelled(job, tuple(images))
                on_event(result)
                return result
            single = req.single(index)
            on_event(JobStarted(job, index, req.count, single.seed, "cpu"))
            t0 = time.perf_counter()
            for step in range(1, req.steps + 1):
                time.sleep(self.step_delay)
                on_event(Step(job, index, step, req.steps, time.perf_counter() - t0, 0.1))
                if cancel.cancelled:
                    result = Cancelled(job, tuple(images))
                    on_event(result)
                    return result
                if step < req.steps:
                    on_event(Preview(job, index, step, 8, 8, bytes([step * 20 % 256]) * 192))
            self.outputs.mkdir(parents=True, exist_ok=True)
            path = self.outputs / f"fake-{single.seed}-{len(self.calls)}-{index}.png"
            Image.new("RGB", (req.width // 8, req.height // 8), (200, 100, 50)).save(path)
            images.append(
                ImageResult(
                    index,
                    single.seed,
                    str(path),
                    req.width,
                    req.height,
                    {"total": 0.1},
                    "cpu",
                    0,
                    None,
                    single.to_dict(),
                    {},
                )
            )
        result = Finished(job, tuple(images), {"total": 0.1})
        on_event(result)
        return result


@pytest.fixture(autouse=True)
def no_thread_outlives_test() -> Iterator[None]:
    """Fail a test that leaves a QThread (or a stray Python thread of ours) running."""
    from zit_desktop.ui.window.worker import running_threads

    before = {t.ident for t in threading.enumerate()}
    yield
    leftover = [t.objectName() for t in running_threads()]
    assert not leftover, f"QThreads still running after the test: {leftover}"
    stray = [t.name for t in threading.enumerate() if t.ident not in before and t.is_alive() and not t.daemon]
    assert not stray, f"threads still running after the test: {stray}"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The offscreen platform warns on any size-constraint change of a top-level window: not ours."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints"))


WindowFactory = Callable[..., Any]


@pytest.fixture
def make_window(qtbot: Any, data_dir: Path) -> Iterator[WindowFactory]:
    """Build (and at teardown close) main windows on ``data_dir``; ``fake=True`` uses FakeEngine.

    Closing one during a job answers the quit question with "Quit now" (no modal box in a test);
    tests of that question set ``window.ask_quit`` themselves or drive the real box."""
    from zit_desktop.app import create_main_window
    from zit_desktop.ui.window.quit_dialog import QuitChoice

    windows: list[Any] = []

    def make(model: str | None = None, engine: Any = None, show: bool = True) -> Any:
        factory = (lambda: engine) if engine is not None else None
        window = create_main_window(data_dir, model=model, engine_factory=factory)
        qtbot.addWidget(window)
        window.ask_quit = lambda: QuitChoice.QUIT_NOW
        if show:
            window.show()
            qtbot.waitExposed(window)
            window.activateWindow()
            qtbot.waitUntil(window.isActiveWindow, timeout=2000)
        windows.append(window)
        return window

    yield make
    for w in windows:
        w.close()


@pytest.fixture
def fake_engine(data_dir: Path) -> FakeEngine:
    return FakeEngine(data_dir / "outputs")


class DictTranslator:
    """Installs a QTranslator that knows exactly ``table`` ((context, source) -> text): a wrong or raw
    source text stays English, so a test of translated output can fail."""

    def __init__(self, table: dict[tuple[str, str], str]) -> None:
        from PySide6.QtCore import QTranslator

        class _Translator(QTranslator):
            def translate(self, context: str, source: str, disambiguation: str | None = None, n: int = -1) -> str:
                return table.get((context, source), "")

        self.translator = _Translator()

    @contextmanager
    def installed(self) -> Iterator[None]:
        from PySide6.QtCore import QCoreApplication

        QCoreApplication.installTranslator(self.translator)
        try:
            yield
        finally:
            QCoreApplication.removeTranslator(self.translator)

