"""Work-arounds for PySide6 bugs that would crash the app, each detected at run time, not assumed.

PySide6 6.12.0 on CPython < 3.12 returns borrowed references from ``SignalInstance.emit`` (``True`` /
``False``) and ``QCoreApplication.processEvents`` (``None``): every call steals one reference, and once
the count of ``True`` (about 600 in a fresh interpreter) or ``None`` reaches zero the interpreter aborts
with "Fatal Python error: bool_dealloc / none_dealloc". The VRAM monitor alone emits four signals a
second, so an idle window would die within minutes. CPython 3.12+ makes these objects immortal and is
not affected.

:func:`install` probes both calls and, only where a reference really goes missing, wraps them to add
the reference back. Idempotent; returns the names it patched.
"""

from __future__ import annotations

import ctypes
import logging
import sys
from typing import Any, Callable

log = logging.getLogger(__name__)

_PROBES = 32
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
    from PySide6.QtCore import QCoreApplication, QObject, Signal, SignalInstance

    class _Probe(QObject):
        ping = Signal()

    probe = _Probe()
    if _steals(lambda: probe.ping.emit(), True):
        original_emit = SignalInstance.emit

        def emit(self: Any, *args: Any) -> Any:
            result = original_emit(self, *args)
            _incref(result)
            return result

        SignalInstance.emit = emit
        _installed.append("SignalInstance.emit")
    if QCoreApplication.instance() is not None and _steals(QCoreApplication.processEvents, None):
        original_process = QCoreApplication.processEvents

        def process_events(*args: Any) -> None:
            original_process(*args)
            _incref(None)

        QCoreApplication.processEvents = staticmethod(process_events)  # type: ignore[assignment]
        _installed.append("QCoreApplication.processEvents")
    if _installed:
        log.info("PySide6 reference-count work-arounds installed: %s", ", ".join(_installed))
    return _installed
