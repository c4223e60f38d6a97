"""The Recipes menu: saved parameter sets ("Portrait, 12 steps") kept in the history database.

A recipe is a whole parameter set ("preset" means a size preset only). Applying a recipe sets every
parameter but keeps the prompt you are typing (when there is one) and your seed (locked or not);
saving stores the panel as it is. Rename and delete live in a small manager dialog. Names are
case-insensitive; an existing name is overwritten only after asking.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QInputDialog,
    QListWidget,
    QMenu,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from zit_desktop.core.errors import AppError
from zit_desktop.core.history import HistoryStore
from zit_desktop.ui.widgets.params_panel import Reuse

if TYPE_CHECKING:
    from zit_desktop.ui.window.main_window import MainWindow

log = logging.getLogger(__name__)


class RecipesMenu(QObject):
    """Owns the window's Recipes menu; reads and writes recipes through the GUI thread's store."""

    def __init__(self, window: MainWindow, store: HistoryStore) -> None:
        super().__init__(window)
        self.window, self.store = window, store
        self.menu = QMenu(window)
        self.menu.setObjectName("recipesMenu")
        window.menuBar().insertMenu(window.menus.view_menu.menuAction(), self.menu)
        self.save_action = QAction(self)
        self.manage_action = QAction(self)
        self.menu.aboutToShow.connect(self.rebuild)
        self.save_action.triggered.connect(self.save_current)
        self.manage_action.triggered.connect(self.manage)
        window.installEventFilter(self)
        self.retranslate()
        self.rebuild()

    def retranslate(self) -> None:
        self.menu.setTitle(self.tr("&Recipes"))
        self.save_action.setText(self.tr("Save the current parameters as…"))
        self.manage_action.setText(self.tr("Rename or delete recipes…"))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.window and event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        return False

    def _error(self, exc: AppError) -> None:
        self.window.statusBar().showMessage(exc.message, 10_000)

    @Slot()
    def rebuild(self) -> None:
        self.menu.clear()
        self.menu.addAction(self.save_action)
        try:
            recipes = self.store.recipes.list()
        except AppError as exc:
            self._error(exc)
            recipes = []
        if recipes:
            self.menu.addSeparator()
        for recipe in recipes:
            action = self.menu.addAction(recipe.name)
            action.setToolTip(self.tr("Apply all its parameters; your prompt and seed stay"))
            action.triggered.connect(lambda _=False, name=recipe.name: self.apply(name))
        self.menu.addSeparator()
        self.menu.addAction(self.manage_action)
        self.manage_action.setEnabled(bool(recipes))

    def apply(self, name: str) -> bool:
        try:
            recipe = self.store.recipes.get(name)
            if recipe is None:
                return False
            stored = recipe.to_request()
        except (AppError, TypeError, ValueError) as exc:
            self.window.statusBar().showMessage(str(exc), 10_000)
            return False
        current = self.window.current_request()
        request = replace(
            stored,
            prompt=current.prompt if current.prompt.strip() else stored.prompt,
            seed=current.seed,
            model=current.model,  # a recipe is parameters: the model in use stays
            variant=current.variant,
            transformer=current.transformer,
        )
        self.window.apply_reuse(Reuse(request, lock_seed=None))  # the seed lock stays as it is
        self.window.statusBar().showMessage(self.tr("Recipe “%1” applied.").replace("%1", recipe.name), 5000)
        return True

    @Slot()
    def save_current(self) -> str | None:
        name, ok = QInputDialog.getText(self.window, self.tr("Save recipe"), self.tr("Name of the recipe:"))
        name = " ".join(name.split())
        if not ok or not name:
            return None
        try:
            if self.store.recipes.get(name) is not None:
                answer = QMessageBox.question(
                    self.window, self.tr("Save recipe"),
                    self.tr("A recipe named “%1” exists. Replace it?").replace("%1", name),
                )  # fmt: skip
                if answer != QMessageBox.StandardButton.Yes:
                    return None
            saved = self.store.recipes.save(name, self.window.current_request())
        except AppError as exc:
            self._error(exc)
            return None
        self.window.statusBar().showMessage(self.tr("Recipe “%1” saved.").replace("%1", saved.name), 5000)
        self.rebuild()
        return saved.name

    @Slot()
    def manage(self) -> None:
        RecipeManager(self.store, self.window).exec()
        self.rebuild()


class RecipeManager(QDialog):
    """Rename and delete saved recipes."""

    def __init__(self, store: HistoryStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.setObjectName("recipeManager")
        self.setWindowTitle(self.tr("Recipes"))
        self.list = QListWidget()
        self.list.setAccessibleName(self.tr("Saved recipes"))
        self.rename_button = QPushButton(self.tr("Rename…"))
        self.delete_button = QPushButton(self.tr("Delete"))
        buttons = QHBoxLayout()
        buttons.addWidget(self.rename_button)
        buttons.addWidget(self.delete_button)
        buttons.addStretch(1)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.list)
        layout.addLayout(buttons)
        layout.addWidget(close)
        close.rejected.connect(self.reject)
        self.rename_button.clicked.connect(self.rename_selected)
        self.delete_button.clicked.connect(self.delete_selected)
        self.list.currentRowChanged.connect(self._update_buttons)
        self.reload()

    def reload(self) -> None:
        self.list.clear()
        try:
            self.list.addItems([r.name for r in self.store.recipes.list()])
        except AppError as exc:
            QMessageBox.warning(self, self.tr("Recipes"), exc.message)
        if self.list.count():
            self.list.setCurrentRow(0)
        self._update_buttons()

    def _update_buttons(self) -> None:
        has = self.list.currentItem() is not None
        self.rename_button.setEnabled(has)
        self.delete_button.setEnabled(has)

    def selected_name(self) -> str | None:
        item = self.list.currentItem()
        return item.text() if item is not None else None

    @Slot()
    def rename_selected(self) -> None:
        old = self.selected_name()
        if old is None:
            return
        new, ok = QInputDialog.getText(self, self.tr("Rename recipe"), self.tr("New name:"), text=old)
        if not ok or not new.strip() or new.strip() == old:
            return
        try:
            self.store.recipes.rename(old, new)
        except AppError as exc:
            QMessageBox.warning(self, self.tr("Rename recipe"), exc.message)
            return
        self.reload()

    @Slot()
    def delete_selected(self) -> None:
        name = self.selected_name()
        if name is None:
            return
        answer = QMessageBox.question(
            self, self.tr("Delete recipe"), self.tr("Delete the recipe “%1”?").replace("%1", name)
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        try:
            self.store.recipes.delete(name)
        except AppError as exc:
            QMessageBox.warning(self, self.tr("Delete recipe"), exc.message)
            return
        self.reload()
