"""The visible job queue: the running job first, then the waiting ones (prompt, size, count).

A waiting job can be removed (Delete, or the context menu's "Remove") and moved (Ctrl+Up / Ctrl+Down,
or "Move up" / "Move down"); "Clear queue" removes every waiting job. The list only asks: it emits
``removeRequested``, ``moveRequested`` and ``clearRequested`` and shows whatever the window's
``set_queue`` gives it next, so the job controller stays the one owner of the queue.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from PySide6.QtCore import QEvent, QPoint, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QAbstractItemView, QListWidget, QListWidgetItem, QMenu, QWidget

from zit_desktop.core.request import GenerationRequest

JOB_ID_ROLE = Qt.ItemDataRole.UserRole
RUNNING_ROLE = Qt.ItemDataRole.UserRole + 1
SNIPPET = 40  # characters of the prompt shown in a row


class QueuedJob(Protocol):
    @property
    def job_id(self) -> str: ...

    @property
    def request(self) -> GenerationRequest: ...


class QueueList(QListWidget):
    removeRequested = Signal(str)  # job id of a waiting job
    moveRequested = Signal(str, int)  # job id, places to move (-1 sooner, +1 later)
    clearRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("queueList")
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._show_context_menu)
        self.remove_action = self._action("queueRemoveAction", [QKeySequence.StandardKey.Delete, "Backspace"])
        self.move_up_action = self._action("queueMoveUpAction", ["Ctrl+Up"])
        self.move_down_action = self._action("queueMoveDownAction", ["Ctrl+Down"])
        self.clear_action = QAction(self)
        self.clear_action.setObjectName("queueClearAction")
        self.remove_action.triggered.connect(self._remove_selected)
        self.move_up_action.triggered.connect(lambda: self._move_selected(-1))
        self.move_down_action.triggered.connect(lambda: self._move_selected(1))
        self.clear_action.triggered.connect(self.clearRequested)
        self.itemSelectionChanged.connect(self._update_actions)
        self._jobs: tuple[QueuedJob | None, list[QueuedJob]] = (None, [])
        self.retranslate()
        self._update_actions()

    def _action(self, name: str, keys: list[QKeySequence.StandardKey | str]) -> QAction:
        action = QAction(self)
        action.setObjectName(name)
        action.setShortcuts([QKeySequence(k) for k in keys])
        action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)  # only while the list has focus
        self.addAction(action)
        return action

    # ------------------------------------------------------------------ texts
    def retranslate(self) -> None:
        self.setAccessibleName(self.tr("Queue"))
        self.setToolTip(self.tr("Right-click a waiting job to remove or move it; Delete removes it."))
        self.remove_action.setText(self.tr("Remove"))
        self.move_up_action.setText(self.tr("Move up"))
        self.move_down_action.setText(self.tr("Move down"))
        self.clear_action.setText(self.tr("Clear queue"))
        self.set_queue(*self._jobs)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def row_text(self, job: QueuedJob, running: bool) -> str:
        r = job.request
        prompt = " ".join(r.prompt.split())
        if len(prompt) > SNIPPET:
            prompt = prompt[: SNIPPET - 1] + "…"
        state = self.tr("running") if running else self.tr("waiting")
        return self.tr("{0} · {1}×{2} ×{3} · {4}").format(state, r.width, r.height, r.count, prompt)

    # ------------------------------------------------------------------ content
    def set_queue(self, running: QueuedJob | None, waiting: Sequence[QueuedJob]) -> None:
        """Show ``running`` (if any) and then ``waiting`` in order; the selected job stays selected."""
        self._jobs = (running, list(waiting))
        selected = self.selected_job_id()
        self.blockSignals(True)
        self.clear()
        rows = ([(running, True)] if running is not None else []) + [(job, False) for job in waiting]
        for job, is_running in rows:
            item = QListWidgetItem(self.row_text(job, is_running))
            item.setData(JOB_ID_ROLE, job.job_id)
            item.setData(RUNNING_ROLE, is_running)
            item.setToolTip(job.request.prompt)
            if is_running:  # the running job is cancelled with Cancel, not removed here
                item.setFlags(Qt.ItemFlag.ItemIsEnabled)
            self.addItem(item)
            if job.job_id == selected and not is_running:
                item.setSelected(True)
                self.setCurrentItem(item)
        self.blockSignals(False)
        self._update_actions()

    def waiting_ids(self) -> list[str]:
        return [str(job.job_id) for job in self._jobs[1]]

    def selected_job_id(self) -> str | None:
        items = [i for i in self.selectedItems() if not i.data(RUNNING_ROLE)]
        return str(items[0].data(JOB_ID_ROLE)) if items else None

    def select_job(self, job_id: str) -> bool:
        for row in range(self.count()):
            item = self.item(row)
            if item.data(JOB_ID_ROLE) == job_id and not item.data(RUNNING_ROLE):
                self.setCurrentItem(item)
                item.setSelected(True)
                return True
        return False

    # ------------------------------------------------------------------ actions
    def _update_actions(self) -> None:
        job_id = self.selected_job_id()
        ids = self.waiting_ids()
        i = ids.index(job_id) if job_id in ids else -1
        self.remove_action.setEnabled(i >= 0)
        self.move_up_action.setEnabled(i > 0)
        self.move_down_action.setEnabled(0 <= i < len(ids) - 1)
        self.clear_action.setEnabled(bool(ids))

    def _remove_selected(self) -> None:
        job_id = self.selected_job_id()
        if job_id is not None:
            ids = self.waiting_ids()
            i = ids.index(job_id) if job_id in ids else -1
            self.removeRequested.emit(job_id)
            rest = self.waiting_ids()  # the window has refreshed the list by now (direct connection)
            if rest and i >= 0:  # keep a selection, so Delete can be pressed again
                self.select_job(rest[min(i, len(rest) - 1)])

    def _move_selected(self, delta: int) -> None:
        job_id = self.selected_job_id()
        if job_id is not None:
            self.moveRequested.emit(job_id, delta)
            self.select_job(job_id)

    def context_menu(self, pos: QPoint) -> QMenu:
        """The menu for the row at ``pos`` (selecting it): Remove, Move up, Move down, Clear queue."""
        item = self.itemAt(pos)
        if item is not None and not item.data(RUNNING_ROLE):
            self.setCurrentItem(item)
            item.setSelected(True)
        self._update_actions()
        menu = QMenu(self)
        menu.setObjectName("queueMenu")
        menu.addActions([self.remove_action, self.move_up_action, self.move_down_action])
        menu.addSeparator()
        menu.addAction(self.clear_action)
        return menu

    def _show_context_menu(self, pos: QPoint) -> None:
        menu = self.context_menu(pos)
        menu.exec(self.viewport().mapToGlobal(pos))
        menu.deleteLater()
