"""What every terminal command shares: exit codes, the history store, and running a job with a
progress line. Expected failures print a message on stderr and return a non-zero code."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from enum import IntEnum
from pathlib import Path
from typing import Any, TextIO

from zit_desktop.core import paths as paths_mod
from zit_desktop.core.errors import AppError, ErrorKind
from zit_desktop.core.events import (
    CancelToken,
    Event,
    EventCallback,
    Failed,
    Finished,
    Loading,
    Notice,
    Result,
    Step,
)
from zit_desktop.core.history import HistoryStore
from zit_desktop.core.jobs import run_and_record
from zit_desktop.core.request import GenerationRequest
from zit_desktop.core.settings import Settings
from zit_desktop.core.sizes import DEFAULT_MODEL


class Exit(IntEnum):
    OK = 0
    FAILED = 1
    USAGE = 2
    INTERRUPTED = 130


def error(text: str) -> None:
    print(f"error: {text}", file=sys.stderr)


def silence_stdout() -> None:
    """The reader of stdout is gone (``… | head -1``): send the rest, and Python's flush at exit, to
    the null device, so neither raises BrokenPipeError again (the standard recipe)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # no file descriptor behind sys.stdout (embedded, tests)
        pass


class ResultLines:
    """Result lines on stdout, one per call, flushed. Once the reader has gone (``… | head -1``)
    ``closed`` is True, later lines are dropped and ``on_close`` (cancel the rest of a job) runs once.
    For lines printed from an engine callback, where a raised BrokenPipeError would end the job as
    an internal error; elsewhere the top level handles a closed pipe."""

    def __init__(self, on_close: Callable[[], None] | None = None) -> None:
        self.closed = False
        self._on_close = on_close

    def __call__(self, text: str) -> None:
        if self.closed:
            return
        try:
            print(text, flush=True)
        except BrokenPipeError:
            self.closed = True
            silence_stdout()
            if self._on_close is not None:
                self._on_close()


MODEL_OPTION = (
    "`--model PATH_OR_HUB_ID` uses a model you already have (a folder that holds model_index.json, or a "
    "Hub id already downloaded)"
)
DOWNLOAD_HINT = (
    "`zit-desktop models download VARIANT` downloads one (`zit-desktop doctor` shows which variant fits "
    "this computer)"
)
DEFAULT_MODEL_HINT = (
    f"get it with `zit-desktop models download bf16`, or a smaller variant (`zit-desktop doctor` shows "
    f"which fits this computer), or with the Hugging Face CLI: `hf download {DEFAULT_MODEL}` (hf is in "
    f".venv/bin, on Windows in .venv\\Scripts); or {MODEL_OPTION}"
)
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def model_hint(kind: str, model: str) -> str | None:
    """What to do on the terminal about a model failure (``--model``, ``models download``), or None.

    Only the default model's id gets the advice to download the default model: for another Hub id
    that is not here, it says how to fetch that one, never a different model."""
    if kind == ErrorKind.MODEL_MISSING:
        if model == DEFAULT_MODEL:
            return DEFAULT_MODEL_HINT
        if _HUB_ID.match(model) and not Path(model).expanduser().exists():
            return (
                f"if {model} is a model on the Hugging Face Hub, download it first (`hf download {model}`); "
                f"if it is not found there, check the id. Or {MODEL_OPTION}, or {DOWNLOAD_HINT}"
            )
        return f"{MODEL_OPTION}; or {DOWNLOAD_HINT}"
    if kind in (ErrorKind.MODEL_INVALID, ErrorKind.MODEL_CORRUPT):
        return (
            f"{MODEL_OPTION}; for a variant this app downloaded, `zit-desktop models verify VARIANT` "
            "finds the damaged files and `zit-desktop models download VARIANT` fetches them again"
        )
    return None


def report_failure(result: Failed, model: str = "") -> None:
    """A failed job on stderr, once: the engine's message, and for a model problem what to do."""
    error(result.message)
    hint = model_hint(result.kind, model)
    if hint:
        note(hint)


def job_setup(args: Any) -> tuple[paths_mod.AppPaths, Settings]:
    """The data folder and settings of a command that runs a job: half-written images of a killed run
    removed first, and ``--low-vram`` (where the command has it) applied to the settings."""
    from zit_desktop.core.metadata.write import remove_stale_temp_files
    from zit_desktop.core.settings import load_settings

    app = paths_mod.app_paths(args.data_dir).ensure()
    remove_stale_temp_files(app.outputs)
    settings = load_settings(app.settings_file)
    if getattr(args, "low_vram", None):
        settings.low_vram = args.low_vram
    return app, settings


def job_exit(result: Result, lines: ResultLines, model: str) -> int:
    """The exit status of a command that ran a job: a failure is reported (with its model hint), a
    cancel is one, and a reader that closed the pipe (``… | head -1``) got what it asked for."""
    if isinstance(result, Failed):
        report_failure(result, model)
        return Exit.FAILED
    if not isinstance(result, Finished):
        if lines.closed:
            return Exit.OK
        print("cancelled", file=sys.stderr)
        return Exit.FAILED
    return Exit.OK


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
