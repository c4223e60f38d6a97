"""What every terminal command shares: exit codes, the history store, and running a job with a
progress line. Expected failures print a message on stderr and return a non-zero code."""

from __future__ import annotations

import sys
from enum import IntEnum
from typing import TextIO

from zit_desktop.core import paths as paths_mod
from zit_desktop.core.errors import AppError, ErrorKind
from zit_desktop.core.events import CancelToken, Event, EventCallback, Failed, Loading, Notice, Result, Step
from zit_desktop.core.history import HistoryStore
from zit_desktop.core.jobs import run_and_record
from zit_desktop.core.request import GenerationRequest
from zit_desktop.core.settings import Settings


class Exit(IntEnum):
    OK = 0
    FAILED = 1
    USAGE = 2
    INTERRUPTED = 130


def error(text: str) -> None:
    print(f"error: {text}", file=sys.stderr)


MODEL_HINT = (
    "get a model with `zit-desktop models download VARIANT` (`zit-desktop doctor` shows which fits this "
    "computer), or with the Hugging Face CLI: `.venv/bin/hf download Tongyi-MAI/Z-Image-Turbo` (Windows: "
    "`.venv\\Scripts\\hf download Tongyi-MAI/Z-Image-Turbo`); the window offers the same in Settings → "
    "Set up the model…"
)


def report_failure(result: Failed) -> None:
    """A failed job on stderr: the engine's message, and for a missing model how to get one."""
    error(result.message)
    if result.kind == ErrorKind.MODEL_MISSING:
        note(MODEL_HINT)


def note(text: str) -> None:
    print(f"note: {text}", file=sys.stderr)


def open_store(app: paths_mod.AppPaths, *, required: bool) -> HistoryStore | None:
    """The history store, or None after saying why (an error when ``required``, else a note)."""
    try:
        store = HistoryStore.for_paths(app)
    except AppError as exc:
        (error if required else note)(f"{exc}" if required else f"history not recorded: {exc}")
        return None
    if store.recovered is not None:
        note(store.recovered.message)
    return store


class TerminalProgress:
    """A one-line progress bar on stderr (plain lines when stderr is not a terminal)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()

    def __call__(self, event: Event) -> None:
        if isinstance(event, Loading):
            self._line(f"{event.message}…")
        elif isinstance(event, Step):
            width = 24
            filled = round(width * event.step / event.steps)
            bar = "█" * filled + "·" * (width - filled)
            rate = event.step / event.elapsed if event.elapsed > 0 else 0.0
            text = (
                f"image {event.index + 1} [{bar}] {event.step}/{event.steps} "
                f"{rate:.2f} it/s ETA {event.eta:.1f}s"
            )
            if self.tty:
                self.stream.write("\r" + text)
                if event.step == event.steps:
                    self.stream.write("\n")
                self.stream.flush()
            else:
                self._line(text)
        elif isinstance(event, Notice):
            self._line(f"note: {event.message}")

    def _line(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()


def run_in_terminal(
    app: paths_mod.AppPaths,
    settings: Settings,
    request: GenerationRequest,
    store: HistoryStore | None,
    on_event: EventCallback,
    *,
    parent_id: int | None = None,
    cancel: CancelToken | None = None,
    engine_target: str | None = None,
) -> Result:
    """Build the engine (``engine_target``, else the setting: this computer, a server or the pool) and
    run ``request`` through :func:`run_and_record`, with a progress line."""
    from zit_desktop.core.jobs import EngineLike
    from zit_desktop.core.remote.factory import build_engine

    def local() -> EngineLike:
        print("Loading the engine (torch, diffusers)…", file=sys.stderr)
        from zit_desktop.core.engine import Engine

        return Engine(app, settings)

    try:
        engine = build_engine(app, settings, engine_target or settings.engine, local)
    except AppError as exc:
        return Failed("cli", exc.kind.value, exc.message, exc.detail)
    progress = TerminalProgress(sys.stderr)

    def handle(event: Event) -> None:
        progress(event)
        on_event(event)

    return run_and_record(engine, store, request, handle, parent_id=parent_id, cancel=cancel)
