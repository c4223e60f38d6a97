"""The PySide6 reference work-around: signals and processEvents no longer eat references to True/None."""

from __future__ import annotations

import sys
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, QSize, Signal, Slot

from zit_desktop.ui.startup import qtcompat


class Emitter(QObject):
    value = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.seen = 0

    @Slot(object)
    def on_value(self, _v: object) -> None:
        self.seen += 1


def test_many_emits_and_event_loop_turns_keep_refcounts(qapp: Any) -> None:
    qtcompat.install()
    e = Emitter()
    e.value.connect(e.on_value)
    true_before, none_before = sys.getrefcount(True), sys.getrefcount(None)
    size = QSize()
    for _ in range(6000):  # unpatched PySide6 6.12 on CPython 3.11 aborts well before this
        e.value.emit(None)
        size.setWidth(1)
        QCoreApplication.processEvents()
    assert e.seen == 6000
    assert sys.getrefcount(True) >= true_before - 5
    # None still loses a reference per void call, but can no longer reach zero (as on CPython 3.12+)
    assert (
        sys.version_info >= (3, 12)
        or sys.getrefcount(None) > 1 << 40
        or sys.getrefcount(None) >= none_before - 50
    )
