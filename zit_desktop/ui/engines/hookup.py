"""Remote engines in the main window: Settings → Engines…, the "Run on:" picker above Generate, and
what the window shows while a job runs on a ComfyUI server (that server's card in the VRAM gauge, its
name in the progress text, server-side failure headlines).

One object, made at the end of ``MainWindow._build``. The window hands it every worker event first
(:meth:`on_event`), so when the window's own handlers run, :meth:`where` and :attr:`ran_remote`
already describe the event's job. The picker and the dialog edit the window's settings in place;
this object saves them and hands the worker its copy.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Slot
from PySide6.QtWidgets import QBoxLayout, QLayout

from zit_desktop.core.events import Cancelled, Failed, Finished, JobStarted, Loading, Step
from zit_desktop.core.remote.config import LOCAL
from zit_desktop.ui.engines.engine_picker import EnginePicker
from zit_desktop.ui.engines.engines_dialog import EnginesDialog, device_name
from zit_desktop.ui.window.worker import WorkerEvent

if TYPE_CHECKING:
    from zit_desktop.ui.window.main_window import MainWindow

log = logging.getLogger(__name__)

REMOTE_PHASES = ("engine-target", "connect", "remote")  # Loading phases of a job sent to a server
REMOTE_STRATEGY = "comfyui"  # ComfyEngine's strategy; the pool appends "@NAME" of the member


class EnginesHookup(QObject):
    def __init__(self, window: MainWindow, column: QBoxLayout, buttons: QLayout) -> None:
        super().__init__(window)
        self.setObjectName("enginesHookup")
        self.window = window
        self.dialog: EnginesDialog | None = None
        self.ran_remote = False  # the current (or last finished) job went to a server
        self._cards: dict[str, dict[str, Any]] = {}  # server name -> its card (Loading "remote" detail)
        self._last_remote = ""
        self._where: dict[int, str] = {}  # image index -> server name ("" = this computer)
        self._job_over = False

        # Its own row right above Generate: the Generate row already holds Explore ×N and Cancel,
        # and a combo there would squeeze all four on a 1366-wide screen.
        self.picker = EnginePicker(window.settings, window)
        self.picker.setObjectName("enginePicker")
        self.picker.combo.setObjectName("engineCombo")
        at = next((i for i in range(column.count()) if (item := column.itemAt(i)) is not None
                   and item.layout() is buttons), 1)
        column.insertWidget(at, self.picker)
        self.picker.targetChanged.connect(self._on_target_changed)
        window.menus.engines_action.triggered.connect(lambda _c=False: self.open_dialog())

    # ------------------------------------------------------------------ settings
    def open_dialog(self) -> EnginesDialog:
        """Settings → Engines…: window-modal; on close the settings are saved and applied."""
        if self.dialog is not None:
            self.dialog.raise_()
            return self.dialog
        dialog = EnginesDialog(self.window.paths, self.window.settings, self.window)
        dialog.setObjectName("enginesDialog")
        dialog.finished.connect(self._on_dialog_closed)
        self.dialog = dialog
        dialog.open()
        return dialog

    @Slot(int)
    def _on_dialog_closed(self, _result: int) -> None:
        dialog, self.dialog = self.dialog, None
        before = self.picker.target()
        self.picker.refresh()  # a removed engine in use falls back to this computer
        self._apply()
        if self.picker.target() != before:
            log.info("the engine in use is gone; jobs run on %s now", self.picker.target())
        if dialog is not None:
            dialog.deleteLater()

    @Slot(str)
    def _on_target_changed(self, target: str) -> None:
        w = self.window
        if target != LOCAL and not w.settings.remote_sampler_noted:
            w.settings.remote_sampler_noted = True  # said once, then the picker's tooltip keeps saying it
            w.notice.show_message(self.tr(
                "ComfyUI samples differently: the same seed gives a different picture there."), "info")
        self._apply()

    def _apply(self) -> None:
        self.window.save_settings()
        self.window.controller.update_engine_settings(self.window.settings)

    # ------------------------------------------------------------------ the running job
    def on_event(self, event: WorkerEvent) -> None:
        """Called by the window before it handles ``event`` itself."""
        terminal = isinstance(event, (Finished, Failed, Cancelled))
        if self._job_over and not terminal:  # the first event of the next job
            self._job_over, self.ran_remote = False, False
            self._where.clear()
        if isinstance(event, Loading) and event.phase in REMOTE_PHASES:
            self.ran_remote = True
            if event.phase == "remote":
                name = str(event.detail.get("engine", ""))
                self._cards[name] = dict(event.detail)
                self._last_remote = name
        elif isinstance(event, JobStarted):
            where = self.engine_of(event.strategy)
            self._where[event.index] = where
            self.ran_remote = self.ran_remote or bool(where)
            self._show_card(where)
        elif isinstance(event, Step):  # in the pool, the gauge follows the image the progress shows
            self._show_card(self.where(event.index))
        elif terminal:
            self._job_over = True
            self.window.gauge.show_local()

    def _show_card(self, where: str) -> None:
        gauge = self.window.gauge
        if not where:
            gauge.show_local()
        elif gauge.remote is None or gauge.remote.name != where:
            card = self._cards.get(where, {})
            gauge.show_remote(where, device_name(str(card.get("device") or "")), _bytes(card.get("vram_total")),
                              _bytes(card.get("vram_free")))

    def engine_of(self, strategy: str) -> str:
        """The server an image with this ``JobStarted.strategy`` is made on; "" for this computer."""
        if "@" in strategy:
            name = strategy.rsplit("@", 1)[1]
            return "" if name == LOCAL else name
        return self._last_remote if strategy == REMOTE_STRATEGY else ""

    def where(self, index: int) -> str:
        """The server image ``index`` of the current job is made on ("" for this computer)."""
        return self._where.get(index, "")


def _bytes(value: object) -> int | None:
    return int(value) if isinstance(value, (int, float)) and value > 0 else None
