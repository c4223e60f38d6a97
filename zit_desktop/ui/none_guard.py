"""Work around a reference-count bug of PySide6 6.12 (abi3 wheel) on Python 3.11.

Every call of a ``void`` Qt method from Python (``QSize.setWidth``, ``QObject.setObjectName``,
``QRunnable.setAutoDelete``...) and every ``None`` returned from a Python ``data()`` override
drops one reference to ``None`` that was never taken. On Python 3.12+ ``None`` is immortal and
nothing happens; on 3.11 its count (about 4,500 at start) reaches zero after a few thousand calls
and the interpreter aborts with "Fatal Python error: none_dealloc". Reproduce with::

    import sys; from PySide6.QtCore import QSize
    s = QSize(); b = sys.getrefcount(None); [s.setWidth(1) for _ in range(1000)]
    print(sys.getrefcount(None) - b)   # -1000 with the bug, 0 without

:func:`protect_none` gives ``None`` a reference count so large that it can never reach zero — what
3.12 does by design. Call it before the first Qt call (idempotent, no-op where not needed).
"""

from __future__ import annotations

import sys

_BALLAST = 1 << 48
_done = False


def protect_none() -> bool:
    """Make ``None`` effectively immortal on CPython < 3.12; True when it was applied now."""
    global _done
    if _done or sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return False
    if hasattr(sys, "gettotalrefcount"):  # debug build: the object header has extra fields
        return False
    import ctypes

    ctypes.c_ssize_t.from_address(id(None)).value += _BALLAST
    _done = True
    return True


protect_none()
