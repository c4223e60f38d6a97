"""Headless commands over the same core the window uses.

``zit-desktop`` with no command opens the window; ``zit-desktop generate|params|make-tiny-model|...``
work in a terminal. Expected failures print a message and exit non-zero, never a traceback.
"""

from __future__ import annotations

import argparse
import errno
import logging
import os
import sys
from collections.abc import Callable

from zit_desktop import __version__
from zit_desktop.cli import doctor, engines, generate, history, models, params, refine, upscale
from zit_desktop.cli.common import Exit, error, silence_stdout
from zit_desktop.core import paths as paths_mod
from zit_desktop.core.errors import AppError

log = logging.getLogger(__name__)


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

    gui = sub.add_parser(
        "gui",
        help="open the window (the default: `zit-desktop --model DIR` and `zit-desktop picture.png` mean gui)",
        description="Open the window. When it is already open on this data folder, bring it to the front "
        "and hand it the model and the picture (exit status 1, with the reasons, when it cannot use them).",
    )
    gui.add_argument("--model", metavar="PATH", help="use this model folder (or Hub id in the local cache), "
                     "as if chosen in Settings")  # fmt: skip
    gui.add_argument("png", nargs="?", metavar="PICTURE.png", help="load the generation parameters of this PNG")
    gui.set_defaults(handler=cmd_gui)

    generate.add_generate_command(sub)
    refine.add_refine_command(sub)
    upscale.add_upscale_command(sub)
    params.add_params_command(sub)
    history.add_history_commands(sub)
    doctor.add_doctor_command(sub)
    models.add_models_command(sub)
    engines.add_engines_command(sub)
    tiny = sub.add_parser("make-tiny-model", help="build a tiny random-weight test model (offline, seconds)")
    tiny.add_argument("directory", metavar="DIR")
    tiny.add_argument(
        "--variant",
        default="bf16",
        choices=("bf16", "sdnq-int8", "sdnq-uint4", "gguf-q8", "gguf-q4"),
        help="which variant to build (SDNQ and GGUF use the real quantizers; gguf-q4 is Q4_0)",
    )
    tiny.set_defaults(handler=cmd_make_tiny_model)
    return parser


def _command_names(parser: argparse.ArgumentParser) -> set[str]:
    for action in parser._actions:  # noqa: SLF001 - argparse keeps the commands nowhere public
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            return set(action.choices)
    return set()


def cmd_make_tiny_model(args: argparse.Namespace) -> int:
    from zit_desktop.core.engine.tiny_variants import make_tiny_variant

    try:
        tiny = make_tiny_variant(args.directory, args.variant)
    except OSError as exc:
        error(f"cannot write {args.directory}: {exc.strerror or exc}")
        return Exit.FAILED
    print(tiny.model)  # the model folder (request.model) first, as before
    if tiny.transformer:
        print(tiny.transformer)  # the transformer file (request.transformer)
    return Exit.OK


def cmd_gui(args: argparse.Namespace) -> int:
    from zit_desktop.app import run_gui

    return run_gui(args.data_dir, model=getattr(args, "model", None), png=getattr(args, "png", None))


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


def _default_to_gui(argv: list[str], commands: set[str]) -> list[str]:
    """``zit-desktop --model DIR`` and ``zit-desktop picture.png`` mean ``gui``: insert the command.

    ``argv`` has ``--data-dir`` first (hoisted). Anything else that is not a command (a typo) is left
    for argparse to reject with its list of commands."""
    rest = [i for i, arg in enumerate(argv) if not (arg == "--data-dir" or arg.startswith("--data-dir="))]
    skip = {i + 1 for i, arg in enumerate(argv) if arg == "--data-dir"}
    rest = [i for i in rest if i not in skip]
    if not rest:
        return argv
    first = rest[0]
    arg = argv[first]
    if arg in commands or arg in ("-h", "--help", "--version"):
        return argv
    if arg == "--model" or arg.startswith("--model=") or arg.lower().endswith(".png"):
        return [*argv[:first], "gui", *argv[first:]]
    return argv


def _log_to_file(app: paths_mod.AppPaths) -> None:
    """Terminal commands log to the same file as the window (errors' details land there)."""
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
        # a failed job is reported on the terminal by the command itself (once, without the detail)
        console.addFilter(lambda record: record.name != "zit_desktop.core.jobs")
        console._zit_cli_console = True  # type: ignore[attr-defined]
        root.addHandler(console)


def main(argv: list[str] | None = None) -> int:
    _utf8_streams()
    parser = build_parser()
    argv = _hoist_data_dir(list(sys.argv[1:] if argv is None else argv))
    args = parser.parse_args(_default_to_gui(argv, _command_names(parser)))
    if args.data_dir:
        paths_mod.set_data_dir(args.data_dir)
        os.environ[paths_mod.ENV_HOME] = str(paths_mod.data_dir())
    handler: Callable[[argparse.Namespace], int] = getattr(args, "handler", None) or cmd_gui
    if args.command not in (None, "gui", "make-tiny-model"):  # the window sets up its own logging
        try:
            _log_to_file(paths_mod.app_paths(args.data_dir))
        except OSError:
            pass
    try:
        code = handler(args)
        sys.stdout.flush()  # here, not at exit: a reader that has gone is handled below
        return code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return Exit.INTERRUPTED
    except AppError as exc:
        error(exc.message)
        return Exit.FAILED
    except OSError as exc:  # an unusable data folder, a full disk; or stdout's reader has gone
        if isinstance(exc, BrokenPipeError) or exc.errno == errno.EPIPE:
            # `… | head -1`: the reader got what it wanted; not a failure, and not the data folder
            silence_stdout()
            return Exit.OK
        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        error(
            f"{exc.strerror or exc}{where}. Check that the data folder (--data-dir or "
            f"{paths_mod.ENV_HOME}) is a folder you can write to."
        )
        return Exit.FAILED
