"""Languages: the built ``.qm`` ships inside the package and is installed on the running app.

English is the source language (no file needed); ``zh_CN`` comes from
``zit_desktop/resources/translations/zit_desktop_zh_CN.qm`` (built from
``resources/translations/zit_desktop_zh_CN.ts``). ``"system"`` follows the system locale. Switching
is live: installing a translator sends ``LanguageChange`` to every widget, which retranslates itself.
"""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QTranslator

log = logging.getLogger(__name__)

LANGUAGES = ("system", "en", "zh_CN")
DOMAIN = "zit_desktop"

# Labels of Qt's own file dialog that Qt's qtbase_zh_CN.qm lacks (its .ui spells them with an
# accelerator, "&Look in:", while the catalogue has only "Look in:"), so they stayed English.
QT_GAPS: dict[str, dict[tuple[str, str], str]] = {
    "zh_CN": {
        ("QFileDialog", "&Look in:"): "查找范围(&L)：",
        ("QFileDialog", "Files of &type:"): "文件类型(&T)：",
        ("QFileDialog", "File &name:"): "文件名称(&N)：",
    },
}


class QtGapTranslator(QTranslator):
    """Fills :data:`QT_GAPS`: the few strings of Qt's own dialogs its shipped catalogue misses."""

    def __init__(self, language: str, parent: QCoreApplication) -> None:
        super().__init__(parent)
        self.table = QT_GAPS.get(language, {})

    def isEmpty(self) -> bool:  # noqa: N802 - Qt's name
        return not self.table

    def translate(
        self, context: str, source: str, disambiguation: str | None = None, n: int = -1
    ) -> str | None:
        # None is Qt's null string: "not mine", so the next translator is asked ("" would be an answer)
        return self.table.get((context, source))


def qm_file(language: str) -> Path:
    """The packaged ``.qm`` for ``language`` (a real file in a normal or editable install)."""
    return Path(
        str(resources.files("zit_desktop") / "resources" / "translations" / f"{DOMAIN}_{language}.qm")
    )


def resolve(setting: str, locale: QLocale | None = None) -> str:
    """``"en"`` or ``"zh_CN"`` for a setting of system / en / zh_CN."""
    if setting in ("en", "zh_CN"):
        return setting
    name = (locale or QLocale.system()).name()
    return "zh_CN" if name.startswith("zh") else "en"


class Translations:
    def __init__(self, app: QCoreApplication) -> None:
        self.app = app
        self.active = "en"
        self._installed: list[QTranslator] = []

    def apply(self, setting: str) -> str:
        """Install the translators for ``setting``; returns the language now shown."""
        language = resolve(setting)
        for tr in self._installed:
            self.app.removeTranslator(tr)
        self._installed.clear()
        if language != "en":
            ours = QTranslator(self.app)
            if ours.load(str(qm_file(language))):
                self._installed.append(ours)
            else:
                log.warning("translation file %s missing or unreadable; showing English", qm_file(language))
                language = "en"
            qt_base = QTranslator(self.app)  # Qt's own dialogs' buttons (OK, Cancel…)
            qt_dir = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
            if language != "en" and qt_base.load(f"qtbase_{language}", qt_dir):
                self._installed.append(qt_base)
            elif language != "en":
                log.warning("Qt's own translation qtbase_%s is not in %s; its dialogs stay English", language, qt_dir)
            if language in QT_GAPS:
                self._installed.append(QtGapTranslator(language, self.app))
        for tr in self._installed:
            self.app.installTranslator(tr)
        self.active = language
        return language


_shared: Translations | None = None


def translations_for(app: QCoreApplication) -> Translations:
    """One :class:`Translations` per application, so windows made in turn (tests) don't stack translators."""
    global _shared
    if _shared is None or _shared.app is not app:
        _shared = Translations(app)
    return _shared
