"""JSON objects out of text we did not write ourselves (Qt-free, stdlib only).

PNG chunks of other tools and JSON columns of an old or damaged history database hold anything: a
JSON object, an array, a bare number, junk, nothing at all. Callers want the object or nothing, and
never an exception::

    json_object('{"seed": 7}')   # {'seed': 7}
    json_object("[1, 2]")        # None (an array), also for junk, "", None and nesting too deep
    json_object(text) or {}      # where an empty object is the natural default
    object_or_empty(record.get("info"))  # a value already decoded: the dict (a copy) or {}
"""

from __future__ import annotations

import json
from typing import Any


def json_object(text: str | bytes | bytearray | None) -> dict[str, Any] | None:
    """The JSON object ``text`` holds, or ``None`` when it holds anything else or nothing."""
    if not text or not isinstance(text, (str, bytes, bytearray)):
        return None
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):  # junk, bad UTF-8 in bytes; nesting deeper than the parser's stack
        return None
    return value if isinstance(value, dict) else None


def object_or_empty(value: object) -> dict[str, Any]:
    """``value`` (a shallow copy) when it is a decoded JSON object, else an empty dict."""
    return dict(value) if isinstance(value, dict) else {}
