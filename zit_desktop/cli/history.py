"""``zit-desktop history ...``: the image history in a terminal.

    history list [--limit N] [--offset N] [--favorites] [--preset NAME] [--json]
    history search TEXT [--limit N] [--json]
    history show ID [--json]
    history rerun ID [--seed S] [--model M] [--json]

With ``--json`` every image is one JSON object on its own line (the same objects as
:meth:`HistoryRow.to_json_dict`); ``rerun`` prints the new image's object. Expected failures print
a message on stderr and exit non-zero.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from zit_desktop.cli.common import Exit, ResultLines, error, note, open_store, report_failure, run_in_terminal
from zit_desktop.core import paths as paths_mod
from zit_desktop.core.errors import AppError
from zit_desktop.core.events import Event, Failed, Finished, ImageRecorded, ImageSaved
from zit_desktop.core.history import HistoryFilter, HistoryRow, HistoryStore
from zit_desktop.core.request import RequestError, validate
from zit_desktop.core.sizes import PRESETS_BY_NAME

Handler = Callable[[argparse.Namespace], int]


def add_history_commands(subparsers: Any) -> None:
    """Register ``history`` and its sub-commands on the main parser's subparsers."""
    hist = subparsers.add_parser("history", help="list, search, show and re-run images of the history")
    hist.set_defaults(handler=_usage(hist))
    sub = hist.add_subparsers(dest="history_command", metavar="ACTION")

    ls = sub.add_parser("list", help="the newest images")
    ls.add_argument("--limit", type=_positive, default=20, help="how many (default 20)")
    ls.add_argument("--offset", type=_non_negative, default=0, help="skip the newest N")
    ls.add_argument("--favorites", action="store_true", help="favourites only")
    ls.add_argument("--preset", choices=list(PRESETS_BY_NAME), help="one size preset only")
    ls.add_argument("--json", action="store_true", help="one JSON object per image")
    ls.set_defaults(handler=cmd_history_list)

    se = sub.add_parser("search", help="images whose prompt contains every word of TEXT (Chinese too)")
    se.add_argument("text", metavar="TEXT")
    se.add_argument("--limit", type=_positive, default=50, help="how many (default 50)")
    se.add_argument("--json", action="store_true", help="one JSON object per image")
    se.set_defaults(handler=cmd_history_search)

    sh = sub.add_parser("show", help="everything the history knows about one image")
    sh.add_argument("id", type=_image_id, metavar="ID")
    sh.add_argument("--json", action="store_true", help="print it as a JSON object")
    sh.set_defaults(handler=cmd_history_show)

    rr = sub.add_parser("rerun", help="generate an image again from its stored parameters")
    rr.add_argument("id", type=_image_id, metavar="ID")
    rr.add_argument("--seed", type=int, help="another seed (-1: random); default: the same image again")
    rr.add_argument("--model", help="model folder or Hub id, if the stored one moved")
    rr.add_argument("--json", action="store_true", help="print the new image as a JSON object")
    rr.set_defaults(handler=cmd_history_rerun)


def _usage(parser: argparse.ArgumentParser) -> Handler:
    def handler(args: argparse.Namespace) -> int:
        parser.print_help(sys.stderr)
        return Exit.USAGE

    return handler


_MAX_ROW = 2**63 - 1  # SQLite's INTEGER range


def _whole_number(what: str, low: int, example: int) -> Callable[[str], int]:
    """An argparse type: a whole number from ``low`` to SQLite's largest, with a readable error
    (argparse's own would be "invalid _positive value")."""
    kind = "positive whole number" if low == 1 else "whole number, 0 or more"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} must be a {kind}, such as {example} (not {text!r})") from None
        if not low <= value <= _MAX_ROW:
            raise argparse.ArgumentTypeError(f"{what} must be between {low} and {_MAX_ROW}, such as {example}")
        return value

    return parse


_image_id = _whole_number("the image id", 1, 12)
_positive = _whole_number("the number of images", 1, 20)
_non_negative = _whole_number("the number of images to skip", 0, 40)


def _open_store(args: argparse.Namespace) -> HistoryStore | None:
    return open_store(paths_mod.app_paths(getattr(args, "data_dir", None)), required=True)


def _print_rows(rows: list[HistoryRow], as_json: bool) -> None:
    for row in rows:
        if as_json:
            print(json.dumps(row.to_json_dict(), ensure_ascii=False), flush=True)
        else:
            print(_one_line(row), flush=True)


def _one_line(row: HistoryRow) -> str:
    flags = ("★" if row.favorite else " ") + ("!" if row.missing else " ")
    prompt = " ".join(row.prompt.split())
    if len(prompt) > 60:
        prompt = prompt[:59] + "…"
    size = f"{row.width}x{row.height}"
    return f"{row.id:>6} {flags} {row.created_iso[:16].replace('T', ' ')}  seed {row.seed:<10} {size:>9}  {prompt}"


def _run_query(args: argparse.Namespace, query: Callable[[HistoryStore], list[HistoryRow]]) -> int:
    store = _open_store(args)
    if store is None:
        return Exit.FAILED
    try:
        rows = query(store)
    except AppError as exc:
        error(f"{exc}")
        return Exit.FAILED
    finally:
        store.close()
    _print_rows(rows, args.json)
    if not rows and not args.json:
        print("no images", file=sys.stderr)
    return Exit.OK


def cmd_history_list(args: argparse.Namespace) -> int:
    filters = HistoryFilter(favorites_only=args.favorites, preset=args.preset)
    return _run_query(args, lambda s: s.page(args.offset, args.limit, filters))


def cmd_history_search(args: argparse.Namespace) -> int:
    return _run_query(args, lambda s: s.search(args.text, args.limit))


def _get_row(store: HistoryStore, image_id: int) -> HistoryRow | None:
    row = store.get(image_id)
    if row is None:
        error(f"there is no image {image_id} in the history. `zit-desktop history list` shows the ids.")
    return row


def cmd_history_show(args: argparse.Namespace) -> int:
    store = _open_store(args)
    if store is None:
        return Exit.FAILED
    try:
        row = _get_row(store, args.id)
    finally:
        store.close()
    if row is None:
        return Exit.FAILED
    data = row.to_json_dict()
    if args.json:
        print(json.dumps(data, ensure_ascii=False), flush=True)
        return Exit.OK
    for key in ("id", "created_at", "prompt", "negative_prompt", "seed", "width", "height", "preset", "steps",
                "guidance", "model", "variant", "strategy", "oom_retries", "peak_vram_bytes", "timings", "path",
                "thumbnail", "favorite", "parent_id", "missing", "trashed"):
        value = data[key]
        if isinstance(value, dict):
            value = ", ".join(f"{k} {v}" for k, v in value.items()) or "-"
        print(f"{key:>16}: {value}")
    if row.missing:
        note(f"the image file is missing: {row.path}")
    return Exit.OK


def cmd_history_rerun(args: argparse.Namespace) -> int:
    """Generate the stored request again (same seed unless ``--seed``); record it as a child."""
    store = _open_store(args)
    if store is None:
        return Exit.FAILED
    try:
        return _rerun(args, store)
    finally:
        store.close()


def _rerun(args: argparse.Namespace, store: HistoryStore) -> int:
    row = _get_row(store, args.id)
    if row is None:
        return Exit.FAILED
    try:
        request = row.request()
        if args.seed is not None:
            request = replace(request, seed=args.seed)  # validate() below checks its range
        if args.model:
            request = replace(request, model=args.model)
        request = replace(request, count=1)
        for warning in validate(request):
            note(f"{warning}")
    except RequestError as exc:
        error(f"the stored request of image {row.id} can't be used: {exc}")
        return Exit.USAGE

    from zit_desktop.core.settings import load_settings

    app = paths_mod.app_paths(getattr(args, "data_dir", None)).ensure()
    saved: list[str] = []
    recorded: set[str] = set()
    lines = ResultLines()  # printed from the engine's callback: a closed pipe must not fail the job

    def on_event(event: Event) -> None:
        if isinstance(event, ImageSaved):
            saved.append(event.image.path)
        elif isinstance(event, ImageRecorded):
            recorded.add(event.image.path)
            new = store.get(event.row_id)
            assert new is not None
            lines(json.dumps(new.to_json_dict(), ensure_ascii=False) if args.json else new.path)

    result = run_in_terminal(app, load_settings(app.settings_file), request, store, on_event, parent_id=row.id)
    for path in saved:
        if path not in recorded:  # on disk, but the history could not take it: the note said why
            lines(path)
    if isinstance(result, Failed):
        report_failure(result, request.model)
        return Exit.FAILED
    if not isinstance(result, Finished):
        error("cancelled")
        return Exit.FAILED
    return Exit.OK if len(recorded) == len(saved) else Exit.FAILED
