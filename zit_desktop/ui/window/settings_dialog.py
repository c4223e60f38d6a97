"""Model and memory (the Settings menu's "Model and memory…"): which model to use and how to fit it in video memory.

The choices take effect for the next job: the window passes a copy of the settings to the engine
worker (queued, so a running job finishes with what it started with) and re-reads the model's sizes
for the preset fit badges.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from zit_desktop.core.memory.rungs import AUTO, LOW_VRAM_MODES
from zit_desktop.core.settings import Settings
from zit_desktop.core.sizes import DEFAULT_MODEL
from zit_desktop.ui.window import texts


@dataclass(frozen=True)
class EngineChoices:
    model: str
    low_vram: str
    fp8: bool
    vae_tiling: str
    text_encoder_on_cpu: bool

    @classmethod
    def of(cls, s: Settings) -> EngineChoices:
        return cls(s.model, s.low_vram, s.fp8, s.vae_tiling, s.text_encoder_on_cpu)

    def apply_to(self, s: Settings) -> None:
        s.model, s.low_vram, s.fp8 = self.model, self.low_vram, self.fp8
        s.vae_tiling, s.text_encoder_on_cpu = self.vae_tiling, self.text_encoder_on_cpu


def model_folder_problem(text: str) -> str | None:
    """None when ``text`` may name a model (a Hub id, or a folder holding a Z-Image pipeline);
    otherwise what is wrong, for the user. The engine checks again when it loads."""
    ref = text.strip()
    if not ref:
        return QCoreApplication.translate("SettingsDialog", "Enter a model folder or a Hugging Face id.")
    path = Path(ref).expanduser()
    looks_like_path = path.is_absolute() or ref.startswith((".", "~")) or "\\" in ref or path.exists()
    if not looks_like_path:
        return None  # a Hub id such as Tongyi-MAI/Z-Image-Turbo: found in the local cache at load time
    if not path.is_dir():
        return QCoreApplication.translate("SettingsDialog", "This folder does not exist.")
    index = path / "model_index.json"
    try:
        cls = json.loads(index.read_text(encoding="utf-8")).get("_class_name")
    except (OSError, ValueError, AttributeError):
        return QCoreApplication.translate("SettingsDialog", "This folder holds no model_index.json: choose the Z-Image-Turbo folder itself.")
    if cls != "ZImagePipeline":
        return QCoreApplication.translate("SettingsDialog", "This folder holds a %1 model, not Z-Image.").replace("%1", str(cls))
    return None


class SettingsDialog(QDialog):
    """Model and memory settings. ``choices()`` gives what the user picked."""

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("settingsDialog")
        self.setWindowTitle(self.tr("Model and memory"))  # as the menu item that opens it
        self.setMinimumWidth(560)

        self.model_edit = QLineEdit(settings.model)
        self.model_edit.setObjectName("modelEdit")
        self.model_edit.setAccessibleName(self.tr("Model folder or Hugging Face id"))
        self.browse_button = QPushButton(self.tr("Browse…"))
        self.browse_button.setAccessibleName(self.tr("Choose the model folder"))
        self.default_button = QPushButton(self.tr("Default"))
        self.default_button.setAccessibleName(self.tr("Use the default model"))
        model_row = QHBoxLayout()
        model_row.addWidget(self.model_edit, 1)
        model_row.addWidget(self.browse_button)
        model_row.addWidget(self.default_button)
        self.model_problem = QLabel()
        self.model_problem.setObjectName("modelProblem")
        self.model_problem.setWordWrap(True)
        self.model_problem.setStyleSheet("color: #b3261e;")

        self.strategy_combo = QComboBox()
        self.strategy_combo.setObjectName("strategyCombo")
        self.strategy_combo.setAccessibleName(self.tr("Memory strategy"))
        for code in LOW_VRAM_MODES:  # item data: the plain string stored in the settings file
            label = self.tr("Auto: the fastest that fits (recommended)") if code == AUTO else texts.strategy_choice(code)
            self.strategy_combo.addItem(label, str(code))
        self.strategy_combo.setCurrentIndex(max(0, self.strategy_combo.findData(settings.low_vram)))

        self.tiling_combo = QComboBox()
        self.tiling_combo.setObjectName("vaeTilingCombo")
        self.tiling_combo.setAccessibleName(self.tr("VAE tiling"))
        for code, label in (
            ("auto", self.tr("Auto")),
            ("on", self.tr("On (less memory when decoding)")),
            ("off", self.tr("Off")),
        ):
            self.tiling_combo.addItem(label, code)
        self.tiling_combo.setCurrentIndex(max(0, self.tiling_combo.findData(settings.vae_tiling)))

        self.fp8_check = QCheckBox(self.tr("Store the transformer in fp8 (half its memory; experimental)"))
        self.fp8_check.setObjectName("fp8Check")
        self.fp8_check.setChecked(settings.fp8)
        self.te_cpu_check = QCheckBox(self.tr("Encode prompts on the CPU (saves video memory, slower)"))
        self.te_cpu_check.setObjectName("textEncoderCpuCheck")
        self.te_cpu_check.setChecked(settings.text_encoder_on_cpu)
        note = QLabel(self.tr("Changes apply from the next image. Out of memory is retried one step leaner."))
        note.setWordWrap(True)
        note.setEnabled(False)

        form = QFormLayout()
        form.addRow(self.tr("Model:"), model_row)
        form.addRow("", self.model_problem)
        form.addRow(self.tr("Memory strategy:"), self.strategy_combo)
        form.addRow(self.tr("VAE tiling:"), self.tiling_combo)
        form.addRow("", self.fp8_check)
        form.addRow("", self.te_cpu_check)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(self.buttons)

        self.browse_button.clicked.connect(self.browse)
        self.default_button.clicked.connect(lambda: self.model_edit.setText(DEFAULT_MODEL))
        self.model_edit.textChanged.connect(self._check_model)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self._check_model()

    def browse(self) -> None:
        start = self.model_edit.text().strip()
        folder = QFileDialog.getExistingDirectory(
            self, self.tr("Choose the Z-Image-Turbo folder (it holds model_index.json)"),
            start if Path(start).expanduser().is_dir() else str(Path.home()),
        )  # fmt: skip
        if folder:
            self.model_edit.setText(folder)

    def _check_model(self) -> None:
        problem = model_folder_problem(self.model_edit.text())
        self.model_problem.setText(problem or "")
        self.model_problem.setVisible(bool(problem))
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(problem is None)

    def choices(self) -> EngineChoices:
        return EngineChoices(
            model=self.model_edit.text().strip(),
            low_vram=str(self.strategy_combo.currentData()),
            fp8=self.fp8_check.isChecked(),
            vae_tiling=str(self.tiling_combo.currentData()),
            text_encoder_on_cpu=self.te_cpu_check.isChecked(),
        )


def edit_preferences(settings: Settings, parent: QWidget | None = None) -> EngineChoices | None:
    """Show the dialog; the new choices when the user pressed OK and changed something, else None."""
    dialog = SettingsDialog(settings, parent)
    dialog.setWindowModality(Qt.WindowModality.WindowModal)
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return None
    new = dialog.choices()
    return None if new == EngineChoices.of(settings) else new
