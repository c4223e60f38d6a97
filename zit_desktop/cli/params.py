"""``zit-desktop params FILE...``: the generation parameters stored in PNG files (ours, A1111/Forge,
ComfyUI, InvokeAI, Fooocus). A file that can't be read is reported and the rest are still read."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from zit_desktop.cli.common import Exit
from zit_desktop.core.metadata.read import ParamsError, params_to_json, read_params


def add_params_command(subparsers: Any) -> None:
    par = subparsers.add_parser("params", help="read generation parameters back from PNG files")
    par.add_argument("files", nargs="+", metavar="FILE")
    par.add_argument("--json", action="store_true", help="print one JSON object per file")
    par.set_defaults(handler=cmd_params)


def cmd_params(args: argparse.Namespace) -> int:
    status = Exit.OK
    for name in args.files:
        try:
            params = read_params(Path(name))
        except ParamsError as exc:
            status = Exit.FAILED
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
            if params.finalize:
                print(f"  finalize: {describe_finalize(params.finalize)}")
    return status


def describe_finalize(summary: dict[str, Any]) -> str:
    """One line for a :func:`~zit_desktop.core.metadata.params.finalize_summary`, e.g.
    ``upscale x2 with lanczos, from 20261202-025231_s5.png (seed 5)``."""
    if summary.get("method") == "upscale":
        parts = ["upscale" + (f" x{summary['scale']}" if summary.get("scale") else "")]
        if summary.get("upscaler"):
            parts[0] += f" with {summary['upscaler']}"
    else:
        parts = ["refine" + (f" at strength {summary['strength']:g}" if summary.get("strength") is not None else "")]
        if summary.get("upscaler"):
            parts[0] += f" (resized with {summary['upscaler']})"
    if summary.get("tiles"):
        parts.append(f"tiles {summary['tiles']}")
    if summary.get("source"):
        seed = f" (seed {summary['source_seed']})" if summary.get("source_seed") is not None else ""
        parts.append(f"from {summary['source']}{seed}")
    return ", ".join(parts)
