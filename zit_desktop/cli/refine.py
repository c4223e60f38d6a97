"""``zit-desktop refine FILE.png --size WxH``: the second stage in the terminal.

The source's prompt, negative prompt, seed, steps and guidance come from its metadata (ours, or
A1111/ComfyUI/InvokeAI/Fooocus), unless given here; the model is the source's (or ``--model``).
The refined image is recorded in the history as a child of the source's row when the source is in
it. Prints the new image's path, or with ``--json`` the same object as ``generate --json``.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from zit_desktop.cli.common import (
    Exit,
    ResultLines,
    error,
    job_exit,
    job_setup,
    note,
    open_store,
    run_in_terminal,
)
from zit_desktop.cli.generate import _size, image_json
from zit_desktop.core.events import CancelToken, Event, ImageSaved
from zit_desktop.core.history import HistoryStore
from zit_desktop.core.memory.rungs import LOW_VRAM_MODES
from zit_desktop.core.metadata.read import ParamsError, read_params, request_from_params
from zit_desktop.core.request import (
    DEFAULT_CHANGE,
    LANCZOS,
    REFINE,
    Finalize,
    GenerationRequest,
    RequestError,
    validate,
)
from zit_desktop.core.settings import Settings
from zit_desktop.core.sizes import preset_for_size


def _change(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number from 0 to 1") from None
    return value


def add_refine_command(subparsers: Any) -> None:
    ref = subparsers.add_parser(
        "refine",
        help="refine an image at a larger size (upscale, then image-to-image; keeps the composition)",
    )
    ref.add_argument("file", metavar="FILE.png", help="the image to refine (usually one of ours)")
    ref.add_argument(
        "--size",
        type=_size,
        required=True,
        metavar="WxH",
        help="target size, multiples of 16, e.g. 1024x1024",
    )
    ref.add_argument(
        "--strength", type=_change, default=DEFAULT_CHANGE, metavar="S",
        help=f"how much may change, 0 (nothing) to 1 (repaint); the first step starts at this noise level (default {DEFAULT_CHANGE:g})",
    )  # fmt: skip
    ref.add_argument("--seed", type=int, help="seed (default: the source's, so the noise matches)")
    ref.add_argument("--prompt", help="prompt (default: the source's)")
    ref.add_argument(
        "--steps", type=int, help="steps of a full generation; a refine runs the share --strength of them"
    )
    ref.add_argument("--upscaler", default=LANCZOS, help="lanczos (default), an upscaler id or a model file")
    ref.add_argument(
        "--tile", type=int, help="tile size in px (default: the planner decides; 0: the whole image)"
    )
    ref.add_argument("--model", help="model folder or Hub id in the local cache (default: the source image's model)")
    ref.add_argument("--low-vram", choices=list(LOW_VRAM_MODES), help="memory strategy (default auto)")
    ref.add_argument("--json", action="store_true", help="print the new image as one JSON object on stdout")
    ref.set_defaults(handler=cmd_refine)


def refine_request(
    args: argparse.Namespace, settings: Settings, store: HistoryStore | None
) -> GenerationRequest:
    """The refine request for ``args.file``; RequestError when it can't be made."""
    source = Path(args.file).expanduser().absolute()
    width, height = args.size
    base = GenerationRequest(prompt=args.prompt or "", model=settings.model)
    try:
        params = read_params(source)
        made = request_from_params(params, base)
        own = params.request or {}  # our own PNG: the model (variant, transformer file) that made it
        if isinstance(own.get("model"), str) and own["model"]:
            made = replace(made, model=own["model"], variant=str(own.get("variant") or "custom"),
                           transformer=str(own.get("transformer") or ""))
    except ParamsError as exc:
        if not source.is_file() or not args.prompt:
            hint = "" if not source.is_file() else " Or give the prompt with --prompt."
            raise RequestError(f"{exc}{hint}", "finalize") from None
        made = base
    parent = store.id_for_path(source) if store is not None else None
    finalize = Finalize(
        source=str(source), method=REFINE, source_id=parent, change=args.strength, upscaler=args.upscaler,
        tile=args.tile,
    )  # fmt: skip
    return replace(
        made,
        prompt=args.prompt or made.prompt,
        width=width,
        height=height,
        preset=preset_for_size(width, height),
        steps=made.steps if args.steps is None else args.steps,
        seed=made.seed if args.seed is None else args.seed,
        count=1,
        # the source's own model (as the window's Finalize does), unless --model names another
        model=args.model or made.model,
        variant="custom" if args.model else made.variant,
        transformer="" if args.model else made.transformer,
        finalize=finalize,
        extra={},
    )


def cmd_refine(args: argparse.Namespace) -> int:
    app, settings = job_setup(args)
    store = open_store(app, required=False)
    cancel = CancelToken()
    lines = ResultLines(on_close=cancel.cancel)  # printed from the engine's callback
    try:
        try:
            request = refine_request(args, settings, store)
            for warning in validate(request):
                note(warning)
        except RequestError as exc:
            error(str(exc))
            return Exit.USAGE

        def on_event(event: Event) -> None:
            if isinstance(event, ImageSaved):
                im = event.image
                out = {
                    **image_json(im),
                    "refined_from": request.finalize.source if request.finalize else None,
                }
                lines(json.dumps(out, ensure_ascii=False) if args.json else im.path)

        result = run_in_terminal(app, settings, request, store, on_event, cancel=cancel)  # where the setting says
    finally:
        if store is not None:
            store.close()
    return job_exit(result, lines, request.model)
