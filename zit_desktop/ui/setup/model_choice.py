"""Which model the window uses: the setup dialog opens from here (at start when no model is on this
disk, from the menu, from the model-missing banner), a chosen model is applied here, and reusing an
image follows its variant here. Texts are translated in the ``MainWindow`` context."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, QObject, Qt, Slot

from zit_desktop.core.errors import AppError
from zit_desktop.core.memory.vram import sample_device
from zit_desktop.core.models import install
from zit_desktop.core.models.catalogue import variant
from zit_desktop.core.request import GenerationRequest
from zit_desktop.core.settings import Settings
from zit_desktop.ui.setup.setup_dialog import ModelSetupDialog

if TYPE_CHECKING:
    from zit_desktop.ui.window.main_window import MainWindow

log = logging.getLogger(__name__)


class ModelChoice(QObject):
    """Lives on the GUI thread with the window."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window

    @Slot()
    def open_setup(self) -> ModelSetupDialog:
        w = self.window
        dialog = ModelSetupDialog(w.settings, w.advisor, w.monitor.last or sample_device(), w)
        dialog.modelChosen.connect(self.use)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def open_setup_if_needed(self) -> ModelSetupDialog | None:
        problem = install.model_problem(self.window.settings)
        if problem is None:
            return None
        log.info("no usable model (%s): opening the model setup", problem)
        return self.open_setup()

    @Slot(object)
    def use(self, chosen: Settings) -> None:
        """Use this model: saved, handed to the engine, shown to the planner."""
        w = self.window
        s = w.settings
        s.model, s.variant, s.transformer = chosen.model, chosen.variant, chosen.transformer
        w.save_settings()
        w.controller.update_engine_settings(s)
        w.monitor.set_model(s.model)
        if w.notice.level == "error":
            w.notice.dismiss()
        w.statusBar().showMessage(QCoreApplication.translate("MainWindow", "The model is ready. Press Generate."), 10_000)
        log.info("model in use: %s (variant %s%s)", s.model, s.variant, f", transformer {s.transformer}" if s.transformer else "")

    def follow(self, request: GenerationRequest) -> None:
        """Reuse means the same model too: switch to the image's variant when it is here, else say so."""
        s = self.window.settings
        if (request.variant, request.model, request.transformer) == (s.variant, s.model, s.transformer):
            return
        wanted = Settings(model=request.model, variant=request.variant, transformer=request.transformer)
        if install.model_problem(wanted) is not None:  # the stored files moved: is the variant installed?
            try:
                install.use(variant(request.variant), wanted)
            except (AppError, ValueError):
                self.window.notice.show_message(
                    QCoreApplication.translate(
                        "MainWindow",
                        "This image was made with the model variant “%1”, which is not on this computer. "
                        "Generating now uses the current model.",
                    ).replace("%1", request.variant),
                    "warning",
                    QCoreApplication.translate("MainWindow", "Set up the model…"),
                )
                return
        self.use(wanted)
