"""The Finalize panel: take one image to a larger size by refine (upscale, then img2img) or upscale only.

A compact dialog: the source, the method, the target, the upscaler and, for refine, how much may
change. It builds the request (``build.finalize_request``) and checks it before it closes; the
caller submits it. Whether the card can refine the target whole or only in tiles comes from a
``fit`` callback (the window's memory advisor).
"""

from __future__ import annotations

import os
from collections.abc import Callable

from PySide6.QtCore import QEvent, QSize, Qt
from PySide6.QtGui import QImageReader, QPixmap
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QRadioButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from zit_desktop.core.memory.vram import gb_text
from zit_desktop.core.request import (
    DEFAULT_CHANGE,
    LANCZOS,
    MAX_REFINE_SIDE,
    REFINE,
    UPSCALE,
    GenerationRequest,
    RequestError,
    validate,
)
from zit_desktop.core.sizes import PRESETS
from zit_desktop.ui.finalize.build import (
    DEFAULT_TARGET,
    DOUBLE,
    REALESR_GENERAL,
    SCALES,
    FinalizeChoice,
    FinalizeSource,
    RefineFit,
    finalize_request,
    target_size,
)
from zit_desktop.ui.window import texts

FitCheck = Callable[[int, int], RefineFit | None]
OWN_FILE = "own-file"  # the upscaler combo's "a file of my own…" entry
THUMB = 96


class FinalizeDialog(QDialog):
    def __init__(self, source: FinalizeSource, fit: FitCheck | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("finalizeDialog")
        self.source = source
        self.fit = fit
        self.own_file = ""
        self.built: GenerationRequest | None = None

        self.thumb = QLabel(self)
        self.thumb.setObjectName("finalizeSourceThumb")
        self.thumb.setFixedSize(THUMB, THUMB)
        self.thumb.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.thumb.setPixmap(_thumbnail(source.path))
        self.source_label = QLabel(self)
        self.source_label.setObjectName("finalizeSource")
        self.source_label.setWordWrap(True)
        self.refine_radio = QRadioButton(self)
        self.refine_radio.setObjectName("finalizeRefine")
        self.upscale_radio = QRadioButton(self)
        self.upscale_radio.setObjectName("finalizeUpscale")
        self.methods = QButtonGroup(self)
        self.methods.addButton(self.refine_radio)
        self.methods.addButton(self.upscale_radio)
        self.refine_radio.setChecked(True)
        self.target = QComboBox(self)
        self.target.setObjectName("finalizeTarget")
        self.scale = QComboBox(self)
        self.scale.setObjectName("finalizeScale")
        self.upscaler = QComboBox(self)
        self.upscaler.setObjectName("finalizeUpscaler")
        self.change = QSlider(Qt.Orientation.Horizontal, self)
        self.change.setObjectName("finalizeChange")
        self.change.setRange(0, 100)
        self.change.setSingleStep(5)
        self.change.setPageStep(10)
        self.change.setTickInterval(10)
        self.change.setTickPosition(QSlider.TickPosition.TicksBelow)
        self.change.setValue(round(DEFAULT_CHANGE * 100))
        self.change_value = QLabel(self)
        self.change_value.setObjectName("finalizeChangeValue")
        self.change_value.setMinimumWidth(self.fontMetrics().horizontalAdvance("0.00") + 6)
        self.keep_label = QLabel(self)
        self.repaint_label = QLabel(self)
        self.change_hint = QLabel(self)
        self.change_hint.setObjectName("finalizeChangeHint")
        self.change_hint.setWordWrap(True)
        self.result_label = QLabel(self)
        self.result_label.setObjectName("finalizeResult")
        self.result_label.setWordWrap(True)
        self.fit_label = QLabel(self)
        self.fit_label.setObjectName("finalizeFit")
        self.fit_label.setWordWrap(True)
        self.message = QLabel(self)
        self.message.setObjectName("finalizeMessage")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #c0392b;")
        self.message.hide()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel,
                                        self)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setObjectName("finalizeSubmit")
        self._build_layout()
        self._fill_combos()
        self.methods.buttonToggled.connect(lambda *_: self._update())
        self.target.currentIndexChanged.connect(lambda _i: self._update())
        self.scale.currentIndexChanged.connect(lambda _i: self._update())
        self.upscaler.activated.connect(self._on_upscaler_activated)
        self.change.valueChanged.connect(lambda _v: self._update())
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.retranslate()

    def _build_layout(self) -> None:
        head = QHBoxLayout()
        head.addWidget(self.thumb)
        head.addWidget(self.source_label, 1)
        methods = QHBoxLayout()
        methods.addWidget(self.refine_radio)
        methods.addWidget(self.upscale_radio)
        methods.addStretch(1)
        slider = QHBoxLayout()
        slider.addWidget(self.keep_label)
        slider.addWidget(self.change, 1)
        slider.addWidget(self.repaint_label)
        slider.addWidget(self.change_value)
        self.form = QFormLayout()
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.method_title = QLabel(self)
        self.target_title = QLabel(self)
        self.scale_title = QLabel(self)
        self.upscaler_title = QLabel(self)
        self.change_title = QLabel(self)
        self.target_title.setBuddy(self.target)
        self.scale_title.setBuddy(self.scale)
        self.upscaler_title.setBuddy(self.upscaler)
        self.change_title.setBuddy(self.change)
        self.form.addRow(self.method_title, methods)
        self.form.addRow(self.target_title, self.target)
        self.form.addRow(self.scale_title, self.scale)
        self.form.addRow(self.upscaler_title, self.upscaler)
        self.form.addRow(self.change_title, slider)
        self.form.addRow("", self.change_hint)
        box = QVBoxLayout(self)
        box.addLayout(head)
        box.addLayout(self.form)
        box.addWidget(self.result_label)
        box.addWidget(self.fit_label)
        box.addWidget(self.message)
        box.addWidget(self.buttons)

    def _fill_combos(self) -> None:
        for p in PRESETS:
            self.target.addItem("", p.name)
        self.target.addItem("", DOUBLE)
        self.target.setCurrentIndex(max(0, self.target.findData(DEFAULT_TARGET)))
        for s in SCALES:
            self.scale.addItem("", s)
        for value in (LANCZOS, REALESR_GENERAL, OWN_FILE):
            self.upscaler.addItem("", value)

    # ------------------------------------------------------------------ texts
    def retranslate(self) -> None:
        self.setWindowTitle(self.tr("Finalize"))
        s = self.source
        self.source_label.setText(self.tr("From {0}\n{1}×{2} · seed {3}\n{4}").format(
            s.name, s.width, s.height, s.request.seed, _short(s.request.prompt)))
        self.thumb.setAccessibleName(self.tr("Source image"))
        self.method_title.setText(self.tr("Method:"))
        self.refine_radio.setText(self.tr("Refine"))
        self.refine_radio.setToolTip(self.tr("Upscale, then redraw the details at the target size with the "
                                             "same prompt and seed. Keeps the composition."))
        self.upscale_radio.setText(self.tr("Upscale only"))
        self.upscale_radio.setToolTip(self.tr("Enlarge without redrawing: fast, no diffusion."))
        self.target_title.setText(self.tr("Target:"))
        self.target.setAccessibleName(self.tr("Target size"))
        for i in range(self.target.count()):
            data = self.target.itemData(i)
            if data == DOUBLE:
                self.target.setItemText(i, self.tr("×2 of the source ({0}×{1})").format(s.width * 2, s.height * 2))
            else:
                p = next(p for p in PRESETS if p.name == data)
                self.target.setItemText(i, f"{p.width}×{p.height}")
        self.scale_title.setText(self.tr("Scale:"))
        self.scale.setAccessibleName(self.tr("Scale"))
        for i in range(self.scale.count()):
            n = int(self.scale.itemData(i))
            self.scale.setItemText(i, self.tr("×{0} ({1}×{2})").format(n, s.width * n, s.height * n))
        self.upscaler.setAccessibleName(self.tr("Upscaler"))
        self.upscaler.setItemText(0, self.tr("Lanczos (built in, fastest)"))
        self.upscaler.setItemText(1, self.tr("Real-ESRGAN general x4v3 (5 MB, downloaded on first use)"))
        own = os.path.basename(self.own_file) if self.own_file else ""
        self.upscaler.setItemText(2, self.tr("My own file: {0}").format(own) if own
                                  else self.tr("A file of my own…"))
        self.change_title.setText(self.tr("How much may change:"))
        self.change.setAccessibleName(self.tr("How much may change"))
        self.keep_label.setText(self.tr("keep"))
        self.repaint_label.setText(self.tr("repaint"))
        self.change_hint.setText(self.tr("Low values keep the picture and sharpen its details; high values "
                                         "let the model repaint it (the default is {0:.2f}).").format(DEFAULT_CHANGE))
        self.ok_button.setText(self.tr("Finalize"))
        self._update()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    # ------------------------------------------------------------------ state
    def choice(self) -> FinalizeChoice:
        refine = self.refine_radio.isChecked()
        data = self.upscaler.currentData()
        upscaler = self.own_file if data == OWN_FILE else str(data)
        return FinalizeChoice(
            method=REFINE if refine else UPSCALE, target=str(self.target.currentData()),
            scale=int(self.scale.currentData()), upscaler=upscaler, change=self.change.value() / 100,
        )  # fmt: skip

    def _on_upscaler_activated(self, index: int) -> None:
        if self.upscaler.itemData(index) == OWN_FILE:
            start = os.path.dirname(self.own_file) if self.own_file else ""
            path, _filter = QFileDialog.getOpenFileName(self, self.tr("Choose an upscaler model"), start,
                                                        self.tr("Upscaler models (*.pth *.safetensors)"))
            if path:
                self.set_own_file(path)
            elif not self.own_file:
                self.upscaler.setCurrentIndex(0)
        self._update()

    def set_own_file(self, path: str) -> None:
        """Use the user's own upscaler model file (also what the file dialog does)."""
        self.own_file = path
        self.upscaler.setCurrentIndex(self.upscaler.findData(OWN_FILE))
        self.retranslate()

    def _update(self) -> None:
        refine = self.refine_radio.isChecked()
        for widget in (self.target_title, self.target, self.change_title, self.change, self.change_value,
                       self.keep_label, self.repaint_label, self.change_hint):
            widget.setVisible(refine)
        self.scale_title.setVisible(not refine)
        self.scale.setVisible(not refine)
        self.upscaler_title.setText(self.tr("Upscale first with:") if refine else self.tr("Upscaler:"))
        self.change_value.setText(f"{self.change.value() / 100:.2f}")
        self.change.setToolTip(self.tr("How much may change: {0:.2f} (0 keeps the picture, 1 repaints it)")
                               .format(self.change.value() / 100))
        choice = self.choice()
        w, h = target_size(self.source, choice)
        verb = self.tr("Refine") if refine else self.tr("Upscale")
        self.result_label.setText(self.tr("Result: {0}×{1} · {2} · seed {3}").format(w, h, verb,
                                                                                    self.source.request.seed))
        self._update_fit(refine, w, h)
        self.message.hide()
        self.adjustSize()

    def _update_fit(self, refine: bool, w: int, h: int) -> None:
        fit = self.fit(w, h) if refine and self.fit is not None else None
        self.fit_label.setVisible(fit is not None)
        if fit is None:
            self.fit_label.clear()
            return
        if fit.tiled:
            text = self.tr("Tiled: {0}×{1} does not fit whole on this card, so it is refined in overlapping "
                           "{4}-px tiles (about {2} per tile, {3} free).")
        else:
            text = self.tr("Whole image: about {2} predicted for {0}×{1} ({3} free).")
        self.fit_label.setText(text.format(w, h, gb_text(fit.predicted_peak_bytes), gb_text(fit.available_bytes),
                                           fit.tile))
        self.fit_label.setProperty("tiled", fit.tiled)

    # ------------------------------------------------------------------ result
    def request(self) -> GenerationRequest:
        """The finalize request; raises :class:`RequestError` with a message for the user."""
        choice = self.choice()
        if not os.path.isfile(self.source.path):
            raise RequestError(self.tr("The source image {0} is missing: it was moved or deleted.")
                               .format(self.source.path), "finalize")
        if self.upscaler.currentData() == OWN_FILE and not os.path.isfile(choice.upscaler):
            raise RequestError(self.tr("Choose your upscaler model file (.pth or .safetensors), or pick "
                                       "Lanczos or Real-ESRGAN."), "upscaler")
        w, h = target_size(self.source, choice)
        if choice.method == REFINE and max(w, h) > MAX_REFINE_SIDE:
            raise RequestError(self.tr("{0}×{1} is larger than {2} pixels a side, the most a refine can make. "
                                       "Choose a preset, or use “Upscale only” for larger images.")
                               .format(w, h, MAX_REFINE_SIDE), "width")
        try:
            request = finalize_request(self.source, choice)
            validate(request)
        except RequestError as exc:  # the source's own request is unusable (a foreign PNG, say)
            raise RequestError(texts.request_error(exc), exc.field_name) from None
        return request

    def accept(self) -> None:
        try:
            self.built = self.request()
        except RequestError as exc:
            self.message.setText(str(exc))
            self.message.show()
            return
        super().accept()


def _short(prompt: str, limit: int = 90) -> str:
    return prompt if len(prompt) <= limit else prompt[: limit - 1] + "…"


def _thumbnail(path: str) -> QPixmap:
    reader = QImageReader(path)
    size = reader.size()
    if size.isValid():
        reader.setScaledSize(size.scaled(QSize(THUMB, THUMB), Qt.AspectRatioMode.KeepAspectRatio))
    image = reader.read()
    return QPixmap.fromImage(image) if not image.isNull() else QPixmap()
