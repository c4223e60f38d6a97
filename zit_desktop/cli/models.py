"""``zit-desktop models list|download|use|verify|remove``: the variants in the Hugging Face cache.

``download`` resumes what an earlier run (even a killed one) left, shows a progress bar on stderr and
ends by verifying; ``--json`` prints one JSON object per line on stdout (progress events, then a
result). Expected failures print a message and exit 1, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from zit_desktop.cli.common import Exit, error, note
from zit_desktop.core.models.catalogue import VariantId

VARIANT_IDS = [str(v) for v in VariantId]


def add_models_command(subparsers: Any) -> None:
    models = subparsers.add_parser("models", help="list, download, verify, remove or choose model variants")
    sub = models.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    for name, helptext, handler in (
        ("list", "each variant, its size and whether it is installed", cmd_list),
        ("download", "download a variant (resumes an interrupted download)", cmd_download),
        ("use", "make an installed variant, a folder or a transformer file the model in use", cmd_use),
        ("verify", "re-hash an installed variant's files against the Hub's hashes", cmd_verify),
        ("remove", "delete a variant's files that no other installed variant uses", cmd_remove),
    ):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("--json", action="store_true", help="one JSON object per line on stdout")
        if name == "use":
            p.add_argument("variant", nargs="?", choices=VARIANT_IDS, help="an installed variant")
            p.add_argument("--folder", metavar="DIR", help="a diffusers pipeline folder you already have")
            p.add_argument("--transformer", metavar="FILE", help="a .gguf or .safetensors transformer (with --folder)")
        elif name != "list":
            p.add_argument("variant", choices=VARIANT_IDS)
        p.set_defaults(handler=handler)


def _emit(args: argparse.Namespace, obj: dict[str, Any]) -> None:
    if args.json:
        print(json.dumps(obj), flush=True)


def _gb(n: float) -> str:
    return f"{n / 1024**3:.2f} GiB"  # the app's one unit (memory.vram.gb_text), with two decimals


def cmd_list(args: argparse.Namespace) -> int:
    from zit_desktop.core.models import install
    from zit_desktop.core.models.catalogue import catalogue

    for v in catalogue():
        st = install.status(v)
        if args.json:
            _emit(args, {"id": str(v.id), "label": v.label, "state": str(st.state), "total_bytes": st.total_bytes,
                         "present_bytes": st.present_bytes, "estimate": st.state == install.InstallState.ABSENT
                         and v.download_estimate})  # fmt: skip
        else:
            size = ("≈ " if st.state == install.InstallState.ABSENT and v.download_estimate else "") + _gb(st.total_bytes)
            print(f"{v.id:<11} {size:>10}  {st.state:<9} {v.label}")
    return Exit.OK


class _Bar:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.tty = sys.stderr.isatty()
        self.last = 0.0

    def __call__(self, e: Any) -> None:
        from zit_desktop.core.models.download import DownloadPhase

        _emit(self.args, {"event": "progress", "phase": str(e.phase), "file": e.file, "file_done": e.file_done,
                          "file_total": e.file_total, "done": e.done, "total": e.total, "speed": round(e.speed),
                          "eta": None if e.eta is None else round(e.eta, 1), "files_done": e.files_done,
                          "files_total": e.files_total})  # fmt: skip
        now = time.monotonic()
        if e.phase == DownloadPhase.DOWNLOAD and now - self.last < (0.2 if self.tty else 5.0):
            return
        self.last = now
        frac = e.done / e.total if e.total else 1.0
        bar = "█" * round(24 * frac) + "·" * (24 - round(24 * frac))
        eta = f" ETA {e.eta:.0f}s" if e.eta is not None else ""
        name = e.file.rsplit("/", 1)[-1][:32]
        text = f"[{bar}] {_gb(e.done)}/{_gb(e.total)} {e.speed / 1024**2:.1f} MiB/s{eta} {e.phase} {name}"
        sys.stderr.write(("\r" + text.ljust(100)) if self.tty else text + "\n")
        if self.tty and e.phase == DownloadPhase.DONE:
            sys.stderr.write("\n")
        sys.stderr.flush()


def cmd_download(args: argparse.Namespace) -> int:
    from zit_desktop.core.events import CancelToken
    from zit_desktop.core.models import download as dl
    from zit_desktop.core.models import install
    from zit_desktop.core.models.catalogue import variant

    v = variant(args.variant)
    plan = dl.plan(v)
    present = plan.present_bytes()
    if present:
        note(f"resuming: {_gb(present)} of {_gb(plan.total_bytes)} already here")
    token = CancelToken()
    try:
        outcome = dl.download(plan, _Bar(args), token)
    except KeyboardInterrupt:
        note("stopped; run the same command again to continue")
        return Exit.INTERRUPTED
    if outcome.cancelled:
        return Exit.INTERRUPTED
    report = install.verify(v)
    _emit(args, {"event": "result", "variant": str(v.id), "ok": report.ok, "fetched_bytes": outcome.fetched_bytes,
                 "total_bytes": plan.total_bytes, "corrupt": list(report.corrupt), "missing": list(report.missing)})  # fmt: skip
    if not report.ok:
        error(f"{v.label}: damaged files {', '.join(report.corrupt + report.missing)}; run the download again")
        return Exit.FAILED
    note(f"{v.label} is installed and verified ({_gb(plan.total_bytes)}). Use it: zit-desktop models use {v.id}")
    return Exit.OK


def cmd_verify(args: argparse.Namespace) -> int:
    from zit_desktop.core.models import install
    from zit_desktop.core.models.catalogue import variant

    report = install.verify(variant(args.variant), on_file=None if args.json else lambda n: note(f"checking {n}"))
    _emit(args, {"variant": args.variant, "ok": report.ok, "missing": list(report.missing),
                 "corrupt": list(report.corrupt)})  # fmt: skip
    for name in report.missing:
        error(f"missing: {name}")
    for name in report.corrupt:
        error(f"damaged (hash does not match the Hub's): {name}")
    if report.ok:
        note(f"{args.variant}: every file matches the Hub's hashes")
        return Exit.OK
    note(f"run `zit-desktop models download {args.variant}` to fetch them again")
    return Exit.FAILED


def cmd_remove(args: argparse.Namespace) -> int:
    from zit_desktop.core.models import install
    from zit_desktop.core.models.catalogue import variant

    freed = install.remove(variant(args.variant))
    _emit(args, {"variant": args.variant, "freed_bytes": freed})
    note(f"{args.variant}: freed {_gb(freed)} (files other installed variants use are kept)")
    return Exit.OK


def cmd_use(args: argparse.Namespace) -> int:
    from zit_desktop.core import paths as paths_mod
    from zit_desktop.core.models import install
    from zit_desktop.core.models.catalogue import variant
    from zit_desktop.core.settings import load_settings, save_settings

    app = paths_mod.app_paths()
    settings = load_settings(app.settings_file)
    if args.variant:
        install.use(variant(args.variant), settings)
    elif args.transformer and args.folder:
        install.use_files(Path(args.transformer), Path(args.folder), settings)
    elif args.folder:
        install.use_folder(Path(args.folder), settings)
    else:
        error("give a variant, or --folder DIR (with --transformer FILE for your own transformer file)")
        return Exit.USAGE
    save_settings(app.settings_file, settings)
    _emit(args, {"model": settings.model, "variant": settings.variant, "transformer": settings.transformer})
    note(f"now using {settings.variant}: {settings.model}" + (f" + {settings.transformer}" if settings.transformer else ""))
    return Exit.OK
