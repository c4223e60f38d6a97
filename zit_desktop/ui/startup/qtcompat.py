"""Work-arounds for PySide6 bugs that would crash the app, each detected at run time, not assumed.

PySide6 6.12.0 on CPython < 3.12 returns borrowed references from ``SignalInstance.emit`` (``True`` /
``False``) and from every ``void`` Qt method (``None``: ``setText``, ``setValue``, ``processEvents``...):
each call steals one reference, and once the count of ``True`` (about 600 in a fresh interpreter) or
``None`` (about 5,000) reaches zero the interpreter aborts with "Fatal Python error: bool_dealloc /
none_dealloc". The VRAM monitor alone emits four signals a second, so an idle window would die within
minutes. CPython 3.12+ makes these objects immortal and is not affected.

:func:`install` probes both and, only where a reference really goes missing, wraps ``emit`` to add the
reference back, and gives ``None`` a reference count so large it can never reach zero (what 3.12 does
by design; ``void`` methods are too many to wrap). Idempotent; returns what it changed.
"""

from __future__ import annotations

import ctypes
import logging
import sys
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

_PROBES = 32
_NONE_BALLAST = 1 << 48
_installed: list[str] | None = None
_incref = ctypes.pythonapi.Py_IncRef
_incref.argtypes = [ctypes.py_object]
_incref.restype = None


def _steals(call: Callable[[], Any], obj: object) -> bool:
    before = sys.getrefcount(obj)
    for _ in range(_PROBES):
        call()
    lost = before - sys.getrefcount(obj)
    if lost > 0:  # put back what the probe took
        for _ in range(lost):
            _incref(obj)
    return lost >= _PROBES


def install() -> list[str]:
    global _installed
    if _installed is not None:
        return _installed
    _installed = []
    if sys.version_info >= (3, 12):
        return _installed
    from PySide6.QtCore import QObject, QSize, Signal, SignalInstance

    class _Probe(QObject):
        ping = Signal()

    probe = _Probe()
    if _steals(lambda: probe.ping.emit(), True):
        original_emit = SignalInstance.emit

        def emit(self: Any, *args: Any) -> Any:
            result = original_emit(self, *args)
            _incref(result)
            return result

        SignalInstance.emit = emit  # type: ignore[method-assign]
        _installed.append("SignalInstance.emit")
    size = QSize()
    if _steals(lambda: size.setWidth(1), None) and not hasattr(sys, "gettotalrefcount"):
        ctypes.c_ssize_t.from_address(id(None)).value += _NONE_BALLAST
        _installed.append("None made immortal")
    if _installed:
        log.info("PySide6 reference-count work-arounds installed: %s", ", ".join(_installed))
    return _installed
