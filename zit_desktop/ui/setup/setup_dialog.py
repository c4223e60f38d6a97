"""First-run model setup: this machine, the variant that fits it and why, and three ways to get a model.

The dialog shows the GPU, its VRAM, the RAM and the free disk where the Hugging Face cache lives; the
memory advisor's table of variants (download size, predicted peak RAM and VRAM at 1024², verdict) with
the recommended one selected; and

- **Download and use**: a resumable, verified download through huggingface_hub (progress per file and
  in total, speed, time left; Pause keeps the partial files and Download continues them, also after a
  restart or a lost connection);
- **Use a folder I already have**: a diffusers pipeline folder, checked, naming what is missing;
- **Use model files I already have**: a GGUF or safetensors transformer plus a pipeline folder for the
  text encoder and VAE, each file checked and explained.

When a model is in use it emits ``modelChosen(settings)``; the window saves and applies them.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QEvent, Qt, Signal, Slot
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from zit_desktop.core.errors import AppError
from zit_desktop.core.memory.advisor import MemoryAdvisor
from zit_desktop.core.memory.variants import VariantFit, VariantRecommendation
from zit_desktop.core.memory.vram import DeviceInfo, gb_text
from zit_desktop.core.models import download as dl
from zit_desktop.core.models import install
from zit_desktop.core.models.cache import free_disk_bytes, hub_cache_dir
from zit_desktop.core.models.catalogue import Variant, catalogue, variant
from zit_desktop.core.settings import Settings
from zit_desktop.ui.setup.download_task import DownloadTask
from zit_desktop.ui.setup.variant_texts import variant_text

log = logging.getLogger(__name__)


def installed_refs() -> dict[str, str]:
    """Installed catalogue variants -> their pipeline folder (for sizes read from their own files)."""
    refs = {}
    for v in catalogue():
        try:
            refs[str(v.id)] = install.use(v, Settings()).model
        except AppError:
            continue
    return refs


class ModelSetupDialog(QDialog):
    modelChosen = Signal(object)  # Settings with model, variant and transformer set

    def __init__(self, settings: Settings, advisor: MemoryAdvisor, device: DeviceInfo,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("modelSetupDialog")
        self.settings = copy.deepcopy(settings)
        self.advisor, self.device = advisor, device
        self.task: DownloadTask | None = None
        self.recommendation: VariantRecommendation | None = None
        self._build()
        self.retranslate()
        self.refresh()

    # ------------------------------------------------------------------ construction
    def _build(self) -> None:
        self.machine_label = QLabel(self)
        self.machine_label.setObjectName("setupMachine")
        self.machine_label.setWordWrap(True)
        self.recommend_label = QLabel(self)
        self.recommend_label.setObjectName("setupRecommendation")
        self.recommend_label.setWordWrap(True)
        self.table = QTableWidget(0, 6, self)
        self.table.setObjectName("variantTable")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._on_selection)
        self.details_label = QLabel(self)
        self.details_label.setObjectName("variantDetails")
        self.details_label.setWordWrap(True)
        self.details_label.setOpenExternalLinks(True)
        self.progress_bar = QProgressBar(self)
        self.progress_bar.setObjectName("downloadProgress")
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.hide()  # shown once a download starts
        self.progress_label = QLabel(self)
        self.progress_label.setObjectName("downloadProgressText")
        self.progress_label.setWordWrap(True)
        self.message_label = QLabel(self)
        self.message_label.setObjectName("setupMessage")
        self.message_label.setWordWrap(True)
        self.message_label.setStyleSheet("color: #a33;")
        self.download_button = QPushButton(self)
        self.download_button.setObjectName("downloadButton")
        self.download_button.setDefault(True)
        self.pause_button = QPushButton(self)
        self.pause_button.setObjectName("pauseButton")
        self.folder_button = QPushButton(self)
        self.folder_button.setObjectName("useFolderButton")
        self.files_button = QPushButton(self)
        self.files_button.setObjectName("useFilesButton")
        self.close_button = QPushButton(self)
        self.close_button.setObjectName("setupCloseButton")
        self.download_button.clicked.connect(self.start_download)
        self.pause_button.clicked.connect(self.pause_download)
        self.folder_button.clicked.connect(self.choose_folder)
        self.files_button.clicked.connect(self.choose_files)
        self.close_button.clicked.connect(self.close)
        buttons = QHBoxLayout()
        for b in (self.download_button, self.pause_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        for b in (self.folder_button, self.files_button, self.close_button):
            buttons.addWidget(b)
        box = QVBoxLayout(self)
        box.addWidget(self.machine_label)
        box.addWidget(self.recommend_label)
        box.addWidget(self.table, 1)
        widgets: tuple[QWidget, ...] = (self.details_label, self.progress_bar, self.progress_label, self.message_label)
        for w in widgets:
            box.addWidget(w)
        box.addLayout(buttons)
        self._set_busy(False)
        self.resize(860, 560)

    def retranslate(self) -> None:
        self.setWindowTitle(self.tr("Set up the model"))
        self.table.setHorizontalHeaderLabels([
            self.tr("Variant"), self.tr("Download"), self.tr("Peak RAM"), self.tr("Peak VRAM"),
            self.tr("On this computer"), self.tr("Installed"),
        ])  # fmt: skip
        self.download_button.setText(self.tr("Download and use"))
        self.pause_button.setText(self.tr("Pause"))
        self.pause_button.setToolTip(self.tr("Stop now; Download continues where it stopped, also after a restart"))
        self.folder_button.setText(self.tr("Use a folder I already have…"))
        self.files_button.setText(self.tr("Use model files I already have…"))
        self.close_button.setText(self.tr("Close"))
        self._describe_machine()
        if self.recommendation is not None:
            self._fill_table(self.recommendation)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    # ------------------------------------------------------------------ the machine and the table
    def _describe_machine(self) -> None:
        d = self.device
        gpu = (self.tr("%1 with %2 of video memory").replace("%1", d.name).replace("%2", gb_text(d.total_bytes))
               if d.is_cuda else self.tr("no NVIDIA GPU (images are made on the processor, slowly)"))
        ram = gb_text(d.system_ram_bytes) if d.system_ram_bytes else self.tr("unknown")
        free = free_disk_bytes()
        disk = (self.tr("%1 free for models in %2").replace("%1", gb_text(free)).replace("%2", str(hub_cache_dir()))
                if free is not None else self.tr("free disk space unknown"))
        self.machine_label.setText(self.tr("This computer: %1 · %2 of RAM · %3").replace("%1", gpu)
                                   .replace("%2", ram).replace("%3", disk))

    def refresh(self) -> None:
        """Plan every variant for this machine again (after a download or a change of files)."""
        try:
            rec = self.advisor.recommend_variant(
                self.device, free_disk=free_disk_bytes(), installed=installed_refs())
        except Exception:  # a planner bug must not hide the ways to get a model
            log.exception("planning the variants failed")
            self.recommend_label.setText(self.tr("The memory planner could not rate the variants; "
                                                 "the details are in the log file."))
            return
        self.recommendation = rec
        self._fill_table(rec)

    def _fill_table(self, rec: VariantRecommendation) -> None:
        self.table.setRowCount(len(rec.table))
        for row, fit in enumerate(rec.table):
            cells = [
                variant_text(variant(fit.variant).label),
                (self.tr("installed") if fit.installed else
                 ("≈ " if fit.download_estimate else "") + gb_text(fit.download_bytes)),
                gb_text(fit.ram_bytes),
                gb_text(fit.vram_bytes) if fit.vram_bytes else "—",
                self._verdict(fit),
                self.tr("yes") if fit.installed else self.tr("no"),
            ]  # fmt: skip
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, fit.variant)
                item.setToolTip("\n".join(fit.reasons))
                self.table.setItem(row, col, item)
        chosen = rec.variant
        best = rec.row(chosen) if chosen is not None else None
        if chosen is not None and best is not None:
            label = variant_text(variant(chosen).label)
            head = (self.tr("Recommended for this computer: %1.") if rec.fits
                    else self.tr("Nothing fits comfortably; the least demanding choice is %1.")).replace("%1", label)
            vram = gb_text(best.vram_bytes) if best.vram_bytes else self.tr("none (processor)")
            numbers = (self.tr("Predicted at 1024×1024: %1 of RAM (this computer can spare %2), video memory %3.")
                       .replace("%1", gb_text(best.ram_bytes)).replace("%2", gb_text(rec.ram_budget_bytes)).replace("%3", vram))
            self.recommend_label.setText(f"{head} {numbers}")
            self.recommend_label.setToolTip("\n".join(rec.reasons))
            self.select_variant(chosen)

    def _verdict(self, fit: VariantFit) -> str:
        texts = {
            "fits": self.tr("fits"), "needs-more-ram": self.tr("needs more RAM"),
            "needs-more-vram": self.tr("needs more video memory"), "needs-more-disk": self.tr("needs more disk space"),
        }  # fmt: skip
        return texts.get(str(fit.verdict), str(fit.verdict))

    def select_variant(self, variant_id: str) -> None:
        for row in range(self.table.rowCount()):
            item = self.table.item(row, 0)
            if item is not None and item.data(Qt.ItemDataRole.UserRole) == variant_id:
                self.table.selectRow(row)
                return

    def selected_variant(self) -> Variant | None:
        items = self.table.selectedItems()
        return variant(str(items[0].data(Qt.ItemDataRole.UserRole))) if items else None

    @Slot()
    def _on_selection(self) -> None:
        v = self.selected_variant()
        if v is None:
            self.details_label.clear()
            return
        self.details_label.setText(
            self.tr("%1 — licence: %2").replace("%1", variant_text(v.quality))
            .replace("%2", f'<a href="{v.licence_url}">{v.licence}</a>')
        )

    # ------------------------------------------------------------------ download
    @Slot()
    def start_download(self) -> None:
        v = self.selected_variant()
        if v is None or (self.task is not None and self.task.running):
            return
        self.message_label.clear()
        self.task = DownloadTask(v, self)
        self.task.progress.connect(self._on_progress)
        self.task.done.connect(self._on_done)
        self.task.failed.connect(self._on_failed)
        self._set_busy(True)
        self.progress_bar.show()
        self.progress_label.setText(self.tr("Asking the Hugging Face Hub for the files of %1…").replace("%1", variant_text(v.label)))
        self.task.start()

    @Slot()
    def pause_download(self) -> None:
        if self.task is not None:
            self.task.pause()
            self.progress_label.setText(self.tr("Pausing…"))

    @Slot(object)
    def _on_progress(self, p: dl.DownloadProgress) -> None:
        self.progress_bar.setValue(int(1000 * p.done / p.total) if p.total else 0)
        speed = f"{p.speed / 1e6:.1f} MB/s" if p.speed else "—"
        left = self.tr("%1 min left").replace("%1", f"{p.eta / 60:.0f}") if p.eta is not None else ""
        name = p.file.rsplit("/", 1)[-1]
        self.progress_label.setText(
            self.tr("File %1 of %2: %3 · %4 of %5 in total · %6 %7")
            .replace("%1", str(min(p.files_done + 1, p.files_total))).replace("%2", str(p.files_total))
            .replace("%3", name).replace("%4", gb_text(p.done)).replace("%5", gb_text(p.total))
            .replace("%6", speed).replace("%7", left).strip()
        )

    @Slot(bool)
    def _on_done(self, complete: bool) -> None:
        self._set_busy(False)
        v = self.task.variant if self.task is not None else None
        if not complete or v is None:
            self.progress_label.setText(self.tr("Paused. “Download and use” continues where it stopped."))
            return
        self.progress_bar.setValue(1000)
        self.progress_label.setText(self.tr("%1 is downloaded and verified.").replace("%1", variant_text(v.label)))
        self._use(lambda s: install.use(v, s))

    @Slot(str, str)
    def _on_failed(self, kind: str, message: str) -> None:
        self._set_busy(False)
        heads = {
            "network": self.tr("The Hugging Face Hub could not be reached, or kept failing. Check the internet "
                               "connection and press “Download and use” again: it continues where it stopped."),
            "disk-full": self.tr("The disk is full. Free some space and press “Download and use” again: it "
                                 "continues where it stopped."),
            "internal": self.tr("The download stopped because of an internal error; the details are in the log "
                                "file. Press “Download and use” again to continue where it stopped."),
        }  # fmt: skip
        head = heads.get(kind, self.tr("The download stopped."))
        # the engine-side message is English detail: shown under the headline, except for the known kinds
        self.message_label.setText(head if kind in heads else f"{head}\n{message}")
        self.message_label.setToolTip(message)
        self.progress_label.setText(self.tr("Or use a folder or model files you already have."))

    def _set_busy(self, busy: bool) -> None:
        self.download_button.setEnabled(not busy)
        self.pause_button.setEnabled(busy)
        self.folder_button.setEnabled(not busy)
        self.files_button.setEnabled(not busy)
        self.table.setEnabled(not busy)

    # ------------------------------------------------------------------ files the user has
    @Slot()
    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("Choose a Z-Image-Turbo pipeline folder"))
        if folder:
            self.use_folder(Path(folder))

    def use_folder(self, folder: Path) -> bool:
        return self._use(lambda s: install.use_folder(folder, s))

    @Slot()
    def choose_files(self) -> None:
        name, _ = QFileDialog.getOpenFileName(
            self, self.tr("Choose a transformer file (.gguf or .safetensors)"), "",
            self.tr("Model files (*.gguf *.safetensors)"))  # fmt: skip
        if not name:
            return
        check = install.check_file(Path(name))
        if not check.usable:
            self.message_label.setText(self.tr("%1 cannot be used: %2.").replace("%1", Path(name).name)
                                       .replace("%2", check.reason))
            return
        # A second dialog: a transformer file alone is not a model. Its title says why it opened.
        folder = QFileDialog.getExistingDirectory(self, self.tr("Now choose the folder with the text encoder and VAE"))
        if folder:
            self.use_files(Path(name), Path(folder))
        else:
            self.message_label.setText(self.tr(
                "%1 holds only the transformer. The text encoder and VAE come from a pipeline folder (for example "
                "a downloaded variant): choose the file again, then that folder.").replace("%1", Path(name).name))

    def use_files(self, transformer: Path, pipeline: Path) -> bool:
        return self._use(lambda s: install.use_files(transformer, pipeline, s))

    def _use(self, apply: Callable[[Settings], Settings]) -> bool:
        try:
            chosen = apply(copy.deepcopy(self.settings))
        except AppError as exc:
            log.error("model setup: %s", exc.message)
            self.message_label.setText(exc.message)
            return False
        self.settings = chosen
        self.message_label.clear()
        self.modelChosen.emit(copy.deepcopy(chosen))
        self.accept()
        return True

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.task is not None and self.task.running:
            self.task.wait()  # pause: the partial files stay for the next start
        super().closeEvent(event)

    def reject(self) -> None:
        if self.task is not None and self.task.running:
            self.task.wait()
        super().reject()
