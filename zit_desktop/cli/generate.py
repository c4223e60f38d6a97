"""``zit-desktop generate``: images in the terminal, each recorded in the history like the window's.

Prints one line per image as soon as it is on disk (its path, or a JSON object with ``--json``);
the progress bar and notes go to stderr. ``… | head -1`` stops after the first image.
"""

from __future__ import annotations

import argparse
import json
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
from zit_desktop.core.events import CancelToken, Event, ImageResult, ImageSaved
from zit_desktop.core.memory.rungs import LOW_VRAM_MODES
from zit_desktop.core.request import GenerationRequest, RequestError, validate
from zit_desktop.core.settings import Settings
from zit_desktop.core.sizes import (
    DEFAULT_GUIDANCE,
    DEFAULT_PRESET,
    DEFAULT_STEPS,
    PRESETS_BY_NAME,
    preset_for_size,
)


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = text.lower().replace("×", "x").split("x")
        return int(w), int(h)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size like 768x768") from None


def add_generate_command(subparsers: Any) -> None:
    gen = subparsers.add_parser("generate", help="generate images in the terminal")
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
    gen.add_argument("--engine", metavar="NAME",
                     help="where to make the images: local, a server from `zit-desktop engines list`, or pool "
                          "(default: the setting)")
    gen.add_argument("--json", action="store_true", help="print one JSON object per image on stdout")
    gen.set_defaults(handler=cmd_generate)


def request_from_args(args: argparse.Namespace, settings: Settings) -> GenerationRequest:
    """The request of ``generate``: the model in use (variant, transformer file) unless ``--model``."""
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
        model=args.model or settings.model,
        preset=preset,
        variant="custom" if args.model else settings.variant,
        transformer="" if args.model else settings.transformer,
    )


def image_json(im: ImageResult) -> dict[str, Any]:
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
        "engine": im.environment.get("engine_name", "local"),
    }


def cmd_generate(args: argparse.Namespace) -> int:
    app, settings = job_setup(args)
    try:
        request = request_from_args(args, settings)
        for warning in validate(request):
            note(warning)
    except RequestError as exc:
        error(str(exc))
        return Exit.USAGE
    store = open_store(app, required=False)
    cancel = CancelToken()
    lines = ResultLines(on_close=cancel.cancel)  # a closed pipe (`… | head -1`) stops after this image

    def on_event(event: Event) -> None:
        if isinstance(event, ImageSaved):  # each image as soon as it is on disk
            im = event.image
            lines(json.dumps(image_json(im), ensure_ascii=False) if args.json else im.path)

    try:
        result = run_in_terminal(app, settings, request, store, on_event, cancel=cancel, engine_target=args.engine)
    finally:
        if store is not None:
            store.close()
    return job_exit(result, lines, request.model)
