"""Expected failures, sorted by blame (qutebrowser style).

An :class:`AppError` is an expected condition with a user message that says what to do; anything
else that escapes is a bug and goes to the crash handler.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorKind(StrEnum):
    BAD_INPUT = "bad-input"
    MODEL_MISSING = "model-missing"
    MODEL_INVALID = "model-invalid"
    MODEL_CORRUPT = "model-corrupt"
    OUT_OF_MEMORY = "out-of-memory"
    NUMERICAL = "numerical-overflow"
    DISK_FULL = "disk-full"
    NETWORK = "network"  # a download could not reach the Hub or stopped; a remote engine is unreachable
    REMOTE = "remote"  # a remote engine (a ComfyUI server) failed the job on its side
    UNWRITABLE = "unwritable"
    DATABASE = "database"
    INTERNAL = "internal"


class AppError(Exception):
    """``message`` is English, for the terminal and the log. ``code`` and ``facts`` name a known
    problem (e.g. :class:`zit_desktop.core.remote.client.RemoteProblem`) and its values, so the window
    can say the same thing translated; an empty code means only the message exists."""

    def __init__(self, kind: ErrorKind, message: str, detail: str = "", *, code: str = "",
                 facts: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.detail = detail
        self.code = code
        self.facts: dict[str, Any] = dict(facts or {})

    def __str__(self) -> str:
        return self.message


def classify_os_error(exc: OSError, what: str) -> AppError:
    """Turn an OSError from writing ``what`` into an AppError with advice."""
    import errno

    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return AppError(
            ErrorKind.DISK_FULL,
            f"The disk is full, so {what} could not be written. Free some space and try again.",
            repr(exc),
        )
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR, errno.ENOENT, errno.EISDIR):
        return AppError(
            ErrorKind.UNWRITABLE,
            f"{what[:1].upper()}{what[1:]} could not be written ({exc.strerror}). "
            "Choose a folder you can write to, or check its permissions.",
            repr(exc),
        )
    return AppError(ErrorKind.UNWRITABLE, f"Writing {what} failed: {exc.strerror or exc}.", repr(exc))
