"""Translations: the committed .qm is built from the committed .ts, every UI string has a zh_CN
translation, the packaged file loads, and switching language retranslates the window live.

To update after changing UI strings (then fill the new <translation> entries)::

    pyside6-lupdate zit_desktop/app.py $(find zit_desktop/ui -name '*.py' | sort) -source-language en \
        -target-language zh_CN -no-obsolete -locations none -ts resources/translations/zit_desktop_zh_CN.ts
    pyside6-lrelease resources/translations/zit_desktop_zh_CN.ts \
        -qm zit_desktop/resources/translations/zit_desktop_zh_CN.qm
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QLocale, QTranslator
from PySide6.QtWidgets import QPushButton, QToolButton

from zit_desktop.ui.startup import i18n

ROOT = Path(__file__).resolve().parents[2]
TS = ROOT / "resources" / "translations" / "zit_desktop_zh_CN.ts"
QM = ROOT / "zit_desktop" / "resources" / "translations" / "zit_desktop_zh_CN.qm"


def tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        pytest.skip(f"{name} not installed")
    return found


def sources() -> list[str]:
    files = [ROOT / "zit_desktop" / "app.py", *sorted((ROOT / "zit_desktop" / "ui").rglob("*.py"))]
    return [str(f) for f in files]


def untranslated(ts_file: Path) -> list[str]:
    bad = []
    for msg in ET.parse(ts_file).iter("message"):
        tr = msg.find("translation")
        text = "".join(tr.itertext()).strip() if tr is not None else ""
        if tr is None or tr.get("type") in ("unfinished", "vanished", "obsolete") or not text:
            bad.append(msg.findtext("source") or "")
    return bad


def test_committed_qm_is_built_from_the_committed_ts(tmp_path: Path) -> None:
    out = tmp_path / "check.qm"
    subprocess.run([tool("pyside6-lrelease"), str(TS), "-qm", str(out)], check=True, capture_output=True)
    assert out.read_bytes() == QM.read_bytes(), "run pyside6-lrelease (see this module's docstring)"


def test_every_source_string_has_a_chinese_translation(tmp_path: Path) -> None:
    assert untranslated(TS) == []
    fresh = tmp_path / "fresh.ts"
    shutil.copy(TS, fresh)
    subprocess.run(
        [
            tool("pyside6-lupdate"),
            *sources(),
            "-source-language",
            "en",
            "-target-language",
            "zh_CN",
            "-no-obsolete",
            "-locations",
            "none",
            "-ts",
            str(fresh),
        ],
        check=True,
        capture_output=True,
    )
    missing = untranslated(fresh)
    assert missing == [], f"UI strings without a zh_CN translation (update the .ts): {missing[:10]}"


def test_packaged_qm_loads() -> None:
    path = i18n.qm_file("zh_CN")
    assert path.is_file() and path.resolve() == QM.resolve()
    assert QTranslator().load(str(path))


def test_system_locale_is_followed() -> None:
    assert i18n.resolve("system", QLocale("zh_CN")) == "zh_CN"
    assert i18n.resolve("system", QLocale("zh_TW")) == "zh_CN"
    assert i18n.resolve("system", QLocale("en_US")) == "en"
    assert i18n.resolve("en", QLocale("zh_CN")) == "en"


def test_language_switch_retranslates_live(make_window: Any, data_dir: Path, qtbot: Any) -> None:
    from tests.ui.conftest import FakeEngine

    w = make_window(engine=FakeEngine(data_dir / "outputs"))
    generate = w.findChild(QPushButton, "generateButton")
    landscape = w.findChild(QToolButton, "presetLandscape")
    try:
        w.set_language("zh_CN")
        qtbot.waitUntil(lambda: generate.text() == "生成", timeout=2000)  # LanguageChange is posted
        assert landscape.text() == "横版 16:9"
        assert w.findChild(QToolButton, "presetPortrait").text() == "竖版 9:16"
        assert w.params.labels["prompt"].text() == "提示词(&P)"
        assert w.menus.file_menu.title() == "文件(&F)"  # the menus, built in their own module
        assert "CPU" in w.gauge.text or "显存" in w.gauge.text
        assert w.windowTitle().startswith("ZIT Desktop")
        assert w.settings.language == "zh_CN"
        w.set_language("en")
        qtbot.waitUntil(lambda: generate.text() == "Generate", timeout=2000)
        assert landscape.text() == "Landscape 16:9"
    finally:
        w.set_language("system")


def test_engine_messages_the_window_shows_are_translated(make_window: Any, data_dir: Path, qtbot: Any) -> None:
    """The strategy switch and the OOM retry come from the engine in English; the window shows them in
    Chinese, with the rung names the engine reported."""
    from tests.ui.conftest import FakeEngine
    from zit_desktop.core.events import Loading, Notice

    w = make_window(engine=FakeEngine(data_dir / "outputs"))
    generate = w.findChild(QPushButton, "generateButton")
    try:
        w.set_language("zh_CN")
        qtbot.waitUntil(lambda: generate.text() == "生成", timeout=2000)
        w.on_event(Loading("strategy", "Reloading the model to switch to the 'sequential' memory strategy",
                           {"rung": "sequential"}))
        assert w.progress.label.text() == "正在重新加载模型以切换到“sequential”显存策略…"
        w.on_event(Notice("j", "oom-retry", "Out of video memory during denoise with 'gpu'; retrying…",
                          {"from": "gpu", "to": "group-offload", "phase": "denoise", "retry": 1}))
        text = w.notice.text()
        assert "显存不足" in text and "去噪" in text and "“gpu”" in text and "“group-offload”" in text
        assert "Out of video memory" not in text
    finally:
        w.set_language("system")
