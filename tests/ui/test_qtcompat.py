"""The PySide6 reference work-around: signals and processEvents no longer eat references to True/None."""

from __future__ import annotations

import sys
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, Signal, Slot

from zit_desktop.ui import qtcompat


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
    for _ in range(3000):  # unpatched PySide6 6.12 on CPython 3.11 aborts well before this
        e.value.emit(None)
        QCoreApplication.processEvents()
    assert e.seen == 3000
    assert sys.getrefcount(True) >= true_before - 5
    assert sys.getrefcount(None) >= none_before - 50
