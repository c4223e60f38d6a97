"""What the window shows reaches the log file (the app's handler from earlyinit.init_logging), once,
with its kind and detail; Qt's own dialogs and the CPU-mode reason are translated."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication, QTranslator

from zit_desktop.core.events import Failed, Notice
from zit_desktop.core.memory.vram import CpuReason, cpu_device
from zit_desktop.core.paths import app_paths
from zit_desktop.ui.startup import earlyinit


@pytest.fixture
def log_file(data_dir: Path) -> Iterator[Path]:
    """The app's own rotating log file, as run_gui installs it; removed again after the test."""
    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    path = app_paths(data_dir).ensure().log_file
    earlyinit.init_logging(path)
    yield path
    for handler in [h for h in root.handlers if h not in before]:
        root.removeHandler(handler)
        handler.close()
    root.setLevel(level)


def run_one(w: Any, qtbot: Any) -> Any:
    w.params.prompt.setPlainText("a cat")
    with qtbot.waitSignal(w.controller.jobFinished, timeout=120_000) as blocker:
        w.generate()
    return blocker.args[1]


def test_model_failures_shown_in_the_window_are_in_the_log_with_kind_and_detail(
    make_window: Any, qtbot: Any, log_file: Path, tiny_model: Path, tmp_path: Path
) -> None:
    missing = tmp_path / "nowhere"
    w = make_window(model=str(missing))  # the real engine: torch loads on the worker thread
    result = run_one(w, qtbot)
    assert isinstance(result, Failed) and result.kind == "model-missing"
    assert w.notice.level == "error"
    broken = tmp_path / "broken"
    shutil.copytree(tiny_model, broken)
    weights = broken / "transformer" / "diffusion_pytorch_model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    w.settings.model = str(broken)
    w.controller.update_engine_settings(w.settings)
    result = run_one(w, qtbot)
    assert isinstance(result, Failed) and result.kind == "model-corrupt"
    text = log_file.read_text(encoding="utf-8")
    assert text.count("generation failed (model-missing)") == 1 and str(missing) in text
    assert text.count("generation failed (model-corrupt)") == 1 and "truncated" in text
    assert result.detail and result.detail.splitlines()[0] in text  # the technical detail, for reports


def test_notices_shown_in_the_window_are_in_the_log_once(make_window: Any, fake_engine: Any, log_file: Path) -> None:
    w = make_window(engine=fake_engine)
    w.on_event(Notice("j1", "sysmem-fallback", "Generation slowed down sharply while video memory is full."))
    w.on_event(Notice("j2", "no-gpu", "The 'gpu' memory strategy needs an NVIDIA GPU.",
                      {"requested": "gpu", "used": "cpu"}))  # fmt: skip
    assert w.notice.isVisible()
    lines = log_file.read_text(encoding="utf-8").splitlines()
    sysmem = [line for line in lines if "notice shown (sysmem-fallback)" in line]
    assert len(sysmem) == 1 and "WARNING" in sysmem[0] and "video memory is full" in sysmem[0]
    nogpu = [line for line in lines if "notice shown (no-gpu)" in line]
    assert len(nogpu) == 1 and "'requested': 'gpu'" in nogpu[0]


def test_qt_file_dialog_strings_follow_the_language(make_window: Any, fake_engine: Any) -> None:
    from PySide6.QtWidgets import QApplication

    from zit_desktop.ui.startup.i18n import translations_for

    make_window(engine=fake_engine)
    translations = translations_for(QApplication.instance())
    try:
        assert translations.apply("zh_CN") == "zh_CN"
        assert QCoreApplication.translate("QFileDialog", "Open") == "打开"  # Qt's qtbase_zh_CN.qm
        assert QCoreApplication.translate("QFileDialog", "&Look in:") == "查找范围(&L)："  # a gap in it
        assert QCoreApplication.translate("QFileDialog", "Files of &type:") == "文件类型(&T)："
    finally:
        translations.apply("en")
    assert QCoreApplication.translate("QFileDialog", "Open") == "Open"
    assert QCoreApplication.translate("QFileDialog", "&Look in:") == "&Look in:"


class _Chinese(QTranslator):
    """Stands in for the lead's rebuilt .qm: answers one "Messages" string."""

    def isEmpty(self) -> bool:  # noqa: N802 - Qt's name; an empty translator is skipped
        return False

    def translate(  # type: ignore[override]
        self, context: str, source: str, disambiguation: str | None = None, n: int = -1
    ) -> str | None:
        if (context, source) == ("Messages", "No NVIDIA graphics card or driver was found."):
            return "未找到 NVIDIA 显卡或驱动。"
        return None  # not this one: the next translator, or the source text


def test_the_cpu_mode_reason_is_translated_by_its_kind(make_window: Any, fake_engine: Any) -> None:
    from PySide6.QtWidgets import QApplication

    w = make_window(engine=fake_engine)
    app = QApplication.instance()
    english = "no NVIDIA GPU or driver (NVML Shared Library Not Found)"  # core's words, for the CLI/log
    w.gauge.set_info(cpu_device(english, (16 * 1024**3, 8 * 1024**3), CpuReason.NO_DRIVER))
    assert "No NVIDIA graphics card or driver was found." in w.gauge.toolTip()
    chinese = _Chinese(app)
    app.installTranslator(chinese)  # LanguageChange: the gauge retranslates
    try:
        QCoreApplication.processEvents()
        tip = w.gauge.toolTip()
        assert "未找到 NVIDIA 显卡或驱动。" in tip and "NVML" not in tip and english not in tip
    finally:
        app.removeTranslator(chinese)
    # a reason of no known kind still shows core's words rather than nothing
    w.gauge.set_info(cpu_device("something new"))
    assert "something new" in w.gauge.toolTip()
