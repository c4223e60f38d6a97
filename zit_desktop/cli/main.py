"""Headless commands over the same core the window uses.

``zit-desktop`` with no command opens the window; ``zit-desktop generate|params|make-tiny-model|...``
work in a terminal. Expected failures print a message and exit non-zero, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from zit_desktop import __version__
from zit_desktop.core import paths as paths_mod
from zit_desktop.core.events import CancelToken, Event, Failed, Finished, ImageSaved, Loading, Notice, Step
from zit_desktop.core.memory.rungs import LOW_VRAM_MODES
from zit_desktop.core.request import GenerationRequest, RequestError, validate
from zit_desktop.core.sizes import (
    DEFAULT_GUIDANCE,
    DEFAULT_PRESET,
    DEFAULT_STEPS,
    PRESETS_BY_NAME,
    preset_for_size,
)

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
log = logging.getLogger(__name__)


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = text.lower().replace("×", "x").split("x")
        return int(w), int(h)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size like 768x768") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zit-desktop",
        description="Z-Image-Turbo on your own GPU. With no command, opens the window.",
    )
    parser.add_argument("--version", action="version", version=f"zit-desktop {__version__}")
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        help=f"where outputs, history, settings, logs and caches live (env {paths_mod.ENV_HOME})",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    sub.add_parser("gui", help="open the window (the default)")

    gen = sub.add_parser("generate", help="generate images in the terminal")
    gen.add_argument("--prompt", required=True, help="what to draw (Chinese and English both work)")
    gen.add_argument("--negative", default="", help="negative prompt (only used when guidance > 0)")
    size = gen.add_mutually_exclusive_group()
    size.add_argument("--preset", choices=list(PRESETS_BY_NAME), help=f"size preset (default {DEFAULT_PRESET})")
    size.add_argument("--size", type=_size, metavar="WxH", help="custom size, multiples of 16, e.g. 832x1216")
    gen.add_argument("--steps", type=int, default=DEFAULT_STEPS, help=f"denoising steps (default {DEFAULT_STEPS})")
    gen.add_argument("--guidance", type=float, default=DEFAULT_GUIDANCE, help="guidance scale (default 0)")
    gen.add_argument("--seed", type=int, default=-1, help="seed, -1 for random (default)")
    gen.add_argument("--count", type=int, default=1, help="images, with seeds seed, seed+1, ...")
    gen.add_argument("--model", help="model folder or Hub id in the local cache (default: the setting)")
    gen.add_argument(
        "--low-vram",
        choices=list(LOW_VRAM_MODES),
        help="memory strategy (default auto: the planner picks)",
    )
    gen.add_argument("--json", action="store_true", help="print one JSON object per image on stdout")

    par = sub.add_parser("params", help="read generation parameters back from PNG files")
    par.add_argument("files", nargs="+", metavar="FILE")
    par.add_argument("--json", action="store_true", help="print one JSON object per file")

    tiny = sub.add_parser("make-tiny-model", help="build a tiny random-weight test model (offline, seconds)")
    tiny.add_argument("directory", metavar="DIR")

    for name in ("add_history_commands", "add_doctor_command", "add_setup_commands"):
        hook = _optional_hook(name)
        if hook is not None:
            hook(sub)
    return parser


def _optional_hook(name: str) -> Callable[[Any], None] | None:
    module = {
        "add_history_commands": "zit_desktop.cli.history",
        "add_doctor_command": "zit_desktop.cli.doctor",
        "add_setup_commands": "zit_desktop.cli_setup",
    }[name]
    import importlib

    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name == module:
            return None
        raise
    hook: Callable[[Any], None] = getattr(mod, name)
    return hook


# ---------------------------------------------------------------------------- generate
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


def request_from_args(args: argparse.Namespace, default_model: str) -> GenerationRequest:
    if args.size:
        width, height = args.size
        preset = preset_for_size(width, height)
    else:
        p = PRESETS_BY_NAME[args.preset or DEFAULT_PRESET]
        width, height, preset = p.width, p.height, p.name
    return GenerationRequest(
        prompt=args.prompt,
        negative_prompt=args.negative,
        width=width,
        height=height,
        steps=args.steps,
        guidance=args.guidance,
        seed=args.seed,
        count=args.count,
        model=args.model or default_model,
        preset=preset,
    )


def image_json(im: Any) -> dict[str, Any]:
    return {
        "path": im.path,
        "seed": im.seed,
        "width": im.width,
        "height": im.height,
        "steps": im.request["steps"],
        "guidance": im.request["guidance"],
        "prompt": im.request["prompt"],
        "strategy": im.strategy,
        "oom_retries": im.oom_retries,
        "peak_vram_bytes": im.peak_vram_bytes,
        "timings": im.timings,
    }


def cmd_generate(args: argparse.Namespace) -> int:
    from zit_desktop.core.metadata.write import remove_stale_temp_files
    from zit_desktop.core.settings import load_settings

    app = paths_mod.app_paths(args.data_dir).ensure()
    remove_stale_temp_files(app.outputs)
    settings = load_settings(app.settings_file)
    if args.low_vram:
        settings.low_vram = args.low_vram
    try:
        request = request_from_args(args, settings.model)
        for warning in validate(request):
            print(f"note: {warning}", file=sys.stderr)
    except RequestError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print("Loading the engine (torch, diffusers)…", file=sys.stderr)
    from zit_desktop.core.engine import Engine

    engine = Engine(app, settings)
    progress = TerminalProgress(sys.stderr)
    recorder = _history_recorder(app)

    cancel = CancelToken()

    def on_event(event: Event) -> None:
        progress(event)
        if isinstance(event, ImageSaved):  # each image as soon as it is on disk
            im = event.image
            if recorder is not None:
                recorder(im)
            try:
                if args.json:
                    print(json.dumps(image_json(im), ensure_ascii=False), flush=True)
                else:
                    print(im.path, flush=True)
            except BrokenPipeError:  # `... | head -1`: the reader is gone, stop after this image
                cancel.cancel()
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, sys.stdout.fileno())  # no second error when Python flushes at exit

    result = engine.run(request, on_event, cancel)
    if isinstance(result, Failed):
        log.error("generation failed (%s): %s\n%s", result.kind, result.message, result.detail)
        print(f"error: {result.message}", file=sys.stderr)
        return EXIT_FAILED
    if not isinstance(result, Finished):
        print("cancelled", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _history_recorder(app: paths_mod.AppPaths) -> Callable[[Any], None] | None:
    """Record images in the history database when the history module exists."""
    try:
        from zit_desktop.core.history import HistoryStore
    except ModuleNotFoundError:
        return None
    from zit_desktop.core.errors import AppError

    try:
        store = HistoryStore(app.history_db)
    except AppError as exc:
        print(f"note: history not recorded: {exc}", file=sys.stderr)
        return None

    def record(im: Any) -> None:
        try:
            store.add_result(im)
        except AppError as exc:
            print(f"note: history not recorded: {exc}", file=sys.stderr)

    return record


# ---------------------------------------------------------------------------- params
def cmd_params(args: argparse.Namespace) -> int:
    from zit_desktop.core.metadata.read import ParamsError, params_to_json, read_params

    status = EXIT_OK
    for name in args.files:
        try:
            params = read_params(Path(name))
        except ParamsError as exc:
            status = EXIT_FAILED
            if args.json:
                print(json.dumps({"file": name, "error": str(exc)}, ensure_ascii=False), flush=True)
            else:
                print(f"{name}: error: {exc}", file=sys.stderr)
            continue
        data = params_to_json(params)
        data["file"] = name
        if args.json:
            print(json.dumps(data, ensure_ascii=False), flush=True)
        else:
            print(f"{name}  [{data['source']}]")
            for key in ("prompt", "negative_prompt", "seed", "width", "height", "steps", "guidance"):
                print(f"  {key}: {data.get(key)}")
    return status


def cmd_make_tiny_model(args: argparse.Namespace) -> int:
    from zit_desktop.core.engine.tiny_model import make_tiny_model

    try:
        out = make_tiny_model(args.directory)
    except OSError as exc:
        print(f"error: cannot write {args.directory}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_FAILED
    print(out)
    return EXIT_OK


def cmd_gui(args: argparse.Namespace) -> int:
    from zit_desktop.app import run_gui

    return run_gui(args.data_dir)


def _utf8_streams() -> None:
    """Chinese prompts and paths print on any console or pipe (Windows pipes default to the ANSI code page)."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if callable(reconfigure) and (getattr(stream, "encoding", "") or "").lower().replace("-", "") != "utf8":
            try:
                reconfigure(encoding="utf-8", errors="replace")
            except (ValueError, OSError):
                pass


def _hoist_data_dir(argv: list[str]) -> list[str]:
    """Accept ``--data-dir DIR`` after the command too (``generate --data-dir X``): move it first."""
    out: list[str] = []
    hoisted: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--data-dir" and i + 1 < len(argv):
            hoisted += argv[i : i + 2]
            i += 2
            continue
        if arg.startswith("--data-dir="):
            hoisted.append(arg)
        else:
            out.append(arg)
        i += 1
    return hoisted + out


def _log_to_file(app: paths_mod.AppPaths) -> None:
    """Terminal commands log to the same file as the window (errors' details land there)."""
    import logging
    import logging.handlers

    root = logging.getLogger()
    target = str(app.log_file.resolve())
    for old in [h for h in root.handlers if getattr(h, "_zit_cli", False)]:
        if getattr(old, "baseFilename", None) == target:
            return  # already logging there (main() called again in one process)
        root.removeHandler(old)
        old.close()
    try:
        app.logs.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(target, maxBytes=2_000_000, backupCount=3, encoding="utf-8")
    except OSError:
        return
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s [cli] %(message)s"))
    handler._zit_cli = True  # type: ignore[attr-defined]
    root.setLevel(logging.INFO)
    root.addHandler(handler)
    if not any(getattr(h, "_zit_cli_console", False) for h in root.handlers):
        console = logging.StreamHandler()  # warnings still reach the terminal, as before
        console.setLevel(logging.WARNING)
        console.setFormatter(logging.Formatter("note: %(message)s"))
        console._zit_cli_console = True  # type: ignore[attr-defined]
        root.addHandler(console)


def main(argv: list[str] | None = None) -> int:
    _utf8_streams()
    parser = build_parser()
    args = parser.parse_args(_hoist_data_dir(list(sys.argv[1:] if argv is None else argv)))
    if args.data_dir:
        paths_mod.set_data_dir(args.data_dir)
        os.environ[paths_mod.ENV_HOME] = str(paths_mod.data_dir())
    handlers: dict[str | None, Callable[[argparse.Namespace], int]] = {
        None: cmd_gui,
        "gui": cmd_gui,
        "generate": cmd_generate,
        "params": cmd_params,
        "make-tiny-model": cmd_make_tiny_model,
    }
    handler = getattr(args, "handler", None) or handlers.get(args.command)
    if handler is None:
        parser.print_help()
        return EXIT_USAGE
    if args.command not in (None, "gui", "make-tiny-model"):  # the window sets up its own logging
        try:
            _log_to_file(paths_mod.app_paths(args.data_dir))
        except OSError:
            pass
    from zit_desktop.core.errors import AppError

    try:
        return handler(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except AppError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return EXIT_FAILED
    except OSError as exc:  # an unusable data folder, a full disk
        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        print(
            f"error: {exc.strerror or exc}{where}. Check that the data folder (--data-dir or "
            f"{paths_mod.ENV_HOME}) is a folder you can write to.",
            file=sys.stderr,
        )
        return EXIT_FAILED
