"""``zit-desktop upscale``: make an image ×2 or ×4 larger with Real-ESRGAN (or Lanczos), no diffusion.

``zit-desktop upscale FILE.png [--scale 2|4] [--upscaler realesr-general-x4v3|RealESRGAN_x4plus|lanczos|MODEL.pth]
[--json]`` runs through :func:`zit_desktop.core.jobs.run_and_record` like ``generate``: the new image
is recorded in the history as a child of the source's row (when the source is in the history), and
``--json`` prints its object exactly as ``generate --json`` does. A catalogue model is downloaded on
first use; ``zit-desktop upscale --download [ID]`` fetches it ahead of time (no image needed). When
that download fails on the network, the message names ``--upscaler lanczos``, which needs no download.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from zit_desktop.cli.common import Exit, ResultLines, error, note, open_store, run_in_terminal
from zit_desktop.cli.generate import image_json
from zit_desktop.core import paths as paths_mod
from zit_desktop.core.errors import AppError, ErrorKind
from zit_desktop.core.events import CancelToken, Event, Failed, Finished, ImageSaved
from zit_desktop.core.models import upscalers as catalogue
from zit_desktop.core.models.download import DownloadProgress
from zit_desktop.core.request import UPSCALE, Finalize, GenerationRequest, RequestError


def add_upscale_command(subparsers: Any) -> None:
    ids = ", ".join(e.id for e in catalogue.UPSCALERS)
    up = subparsers.add_parser(
        "upscale",
        help="make an image ×2 or ×4 larger with Real-ESRGAN (no diffusion)",
        description=f"Upscale an image. Models offered for download: {ids} (BSD-3-Clause). Your own "
        ".pth/.safetensors super-resolution file works too; lanczos needs no model.",
    )
    up.add_argument("file", nargs="?", metavar="FILE", help="the image to upscale (PNG, JPEG, WebP)")
    up.add_argument("--scale", type=int, choices=(2, 4), default=2, help="how much larger (default 2)")
    up.add_argument(
        "--upscaler",
        default=catalogue.DEFAULT_UPSCALER,
        metavar="NAME|FILE",
        help=f"{ids}, lanczos, or a model file (default {catalogue.DEFAULT_UPSCALER}, downloaded on first use)",
    )
    up.add_argument(
        "--download",
        nargs="?",
        const=catalogue.DEFAULT_UPSCALER,
        metavar="ID",
        help=f"download an upscaler model now ({ids}; default {catalogue.DEFAULT_UPSCALER}) and exit",
    )
    up.add_argument("--json", action="store_true", help="print the new image's JSON object on stdout")
    up.set_defaults(handler=cmd_upscale)


OFFLINE_HINT = "To upscale without downloading anything, use `--upscaler lanczos` (no model needed; works offline)."


def with_offline_hint(message: str, kind: str, spec: str) -> str:
    """``message`` of a failure, plus :data:`OFFLINE_HINT` when it is a network failure of a catalogue
    upscaler's download (``spec`` names one): lanczos is the choice that works without the network."""
    if kind != ErrorKind.NETWORK or catalogue.find(spec) is None:
        return message
    return f"{message} {OFFLINE_HINT}"


def source_request(path: str, upscaler: str, scale: int, source_id: int | None) -> GenerationRequest:
    """The upscale request for ``path``: the source's own request when it is one of ours (so the
    history and "reuse" keep its prompt, seed and model), else a bare one with what its metadata says."""
    from zit_desktop.core.history.files import read_our_metadata
    from zit_desktop.core.metadata.read import ParamsError, read_params

    finalize = Finalize(source=path, method=UPSCALE, source_id=source_id, upscaler=upscaler, scale=scale)
    record = read_our_metadata(Path(path))
    if record is not None:
        try:
            base = GenerationRequest.from_dict(record.request)
            return replace(base, count=1, finalize=finalize)
        except (RequestError, TypeError, ValueError):
            pass
    prompt = ""
    try:
        prompt = read_params(path).prompt or ""
    except (ParamsError, OSError):
        pass
    return GenerationRequest(prompt=prompt, preset=None, seed=0, finalize=finalize)


def cmd_download(app: paths_mod.AppPaths, spec: str) -> int:
    entry = catalogue.find(spec)
    if entry is None:
        error(f"“{spec}” is not an upscaler this app downloads. Choose one of "
              f"{', '.join(e.id for e in catalogue.UPSCALERS)}.")  # fmt: skip
        return Exit.USAGE
    target = catalogue.model_path(app, entry)
    if catalogue.is_downloaded(app, entry):
        print(target)
        return Exit.OK
    tty = sys.stderr.isatty()
    last = [-1]

    def progress(p: DownloadProgress) -> None:
        percent = int(100 * p.done / p.total) if p.total else 100
        if percent != last[0] and (tty or percent % 10 == 0):
            last[0] = percent
            text = f"{entry.id}: {percent}% of {entry.size_text}"
            sys.stderr.write("\r" + text if tty else text + "\n")
            sys.stderr.flush()

    try:
        done = catalogue.download(app, entry, progress)
    except AppError as exc:
        if tty:
            sys.stderr.write("\n")
        error(with_offline_hint(exc.message, exc.kind, spec))
        return Exit.FAILED
    if tty:
        sys.stderr.write("\n")
    if not done:
        print("cancelled", file=sys.stderr)
        return Exit.FAILED
    print(target)
    return Exit.OK


def cmd_upscale(args: argparse.Namespace) -> int:
    from zit_desktop.core.metadata.write import remove_stale_temp_files
    from zit_desktop.core.settings import load_settings

    app = paths_mod.app_paths(args.data_dir).ensure()
    if args.download is not None:
        return cmd_download(app, args.download)
    if not args.file:
        error("Name the image to upscale, e.g. `zit-desktop upscale image.png --scale 2`.")
        return Exit.USAGE
    path = os.path.abspath(args.file)
    if not os.path.isfile(path):
        error(f"{args.file} does not exist. Check the path.")
        return Exit.USAGE
    remove_stale_temp_files(app.outputs)
    settings = load_settings(app.settings_file)
    store = open_store(app, required=False)
    source_id = store.id_for_path(path) if store is not None else None
    if store is not None and source_id is None:
        note("the source is not in the history: the new image is recorded without a parent")
    request = source_request(path, args.upscaler, args.scale, source_id)
    cancel = CancelToken()
    lines = ResultLines(on_close=cancel.cancel)  # printed from the engine's callback

    def on_event(event: Event) -> None:
        if isinstance(event, ImageSaved):
            im = event.image
            lines(json.dumps(image_json(im), ensure_ascii=False) if args.json else im.path)

    try:
        # upscaling runs on this computer even when images are made on a server
        result = run_in_terminal(app, settings, request, store, on_event, parent_id=source_id, cancel=cancel,
                                 engine_target="local")
    finally:
        if store is not None:
            store.close()
    if isinstance(result, Failed):
        # not report_failure: its hint is about the diffusion model
        error(with_offline_hint(result.message, result.kind, args.upscaler))
        return Exit.FAILED
    if not isinstance(result, Finished):
        print("cancelled", file=sys.stderr)
        return Exit.FAILED
    return Exit.OK
