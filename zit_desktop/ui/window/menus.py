"""The main window's menu bar (File, Generate, Settings, View) and its actions.

``WindowMenus`` only builds and names them; :class:`MainWindow` connects them. Texts are translated in
the ``MainWindow`` context, where they have always been.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMainWindow

LANGUAGES = ("system", "en", "zh_CN")


class WindowMenus:
    def __init__(self, window: QMainWindow, history_toggle: QAction) -> None:
        bar = window.menuBar()
        self.file_menu = bar.addMenu("")
        self.open_outputs_action = self.file_menu.addAction("")
        self.open_log_action = self.file_menu.addAction("")
        self.file_menu.addSeparator()
        self.quit_action = self.file_menu.addAction("")
        self.quit_action.setShortcut(QKeySequence("Ctrl+Q"))  # StandardKey.Quit is unset on Windows
        self.quit_action.setMenuRole(QAction.MenuRole.QuitRole)
        self.job_menu = bar.addMenu("")
        self.generate_action = QAction(window)
        self.generate_action.setShortcuts([QKeySequence("Ctrl+Return"), QKeySequence("Ctrl+Enter")])
        self.cancel_action = QAction(window)
        self.cancel_action.setShortcut(QKeySequence(Qt.Key.Key_Escape))
        self.clear_queue_action = QAction(window)
        self.clear_queue_action.setObjectName("clearQueueAction")
        self.clear_queue_action.setShortcut(QKeySequence("Shift+Escape"))
        self.clear_queue_action.setEnabled(False)
        self.reuse_action = QAction(window)
        self.reuse_action.setShortcut(QKeySequence("Ctrl+R"))
        self.reuse_action.setEnabled(False)
        for action in (self.generate_action, self.cancel_action, self.clear_queue_action, self.reuse_action):
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            self.job_menu.addAction(action)
        self.job_menu.addSeparator()
        self.free_memory_action = self.job_menu.addAction("")
        self.free_memory_action.setObjectName("freeGpuMemoryAction")
        self.settings_menu = bar.addMenu("")
        self.language_menu = self.settings_menu.addMenu("")
        self.language_group = QActionGroup(window)
        self.language_actions: dict[str, QAction] = {}
        for code in LANGUAGES:
            action = self.language_menu.addAction("")
            action.setCheckable(True)
            action.setData(code)
            self.language_group.addAction(action)
            self.language_actions[code] = action
        self.settings_menu.addSeparator()
        self.setup_action = self.settings_menu.addAction("")
        self.preferences_action = self.settings_menu.addAction("")
        self.preferences_action.setShortcut(QKeySequence("Ctrl+,"))  # the platform key is unset on Windows
        self.preferences_action.setMenuRole(QAction.MenuRole.PreferencesRole)
        self.engines_action = self.settings_menu.addAction("")  # ComfyUI servers (ui/engines)
        self.engines_action.setObjectName("enginesAction")
        self.view_menu = bar.addMenu("")
        self.view_menu.addAction(history_toggle)

    def retranslate(self) -> None:
        self.file_menu.setTitle(QCoreApplication.translate("MainWindow", "&File"))
        self.open_outputs_action.setText(QCoreApplication.translate("MainWindow", "Open the output folder"))
        self.open_log_action.setText(QCoreApplication.translate("MainWindow", "Open the log file"))
        self.quit_action.setText(QCoreApplication.translate("MainWindow", "&Quit"))
        self.job_menu.setTitle(QCoreApplication.translate("MainWindow", "&Generate"))
        self.generate_action.setText(QCoreApplication.translate("MainWindow", "Generate"))
        self.cancel_action.setText(QCoreApplication.translate("MainWindow", "Cancel the running job"))
        self.clear_queue_action.setText(QCoreApplication.translate("MainWindow", "Clear the queue"))
        self.reuse_action.setText(QCoreApplication.translate("MainWindow", "Reuse the last image's parameters and seed"))
        self.free_memory_action.setText(QCoreApplication.translate("MainWindow", "Free GPU memory"))
        self.free_memory_action.setToolTip(
            QCoreApplication.translate(
                "MainWindow", "Unload the model to give its memory back; it loads again with the next Generate"
            )
        )
        self.settings_menu.setTitle(QCoreApplication.translate("MainWindow", "&Settings"))
        self.language_menu.setTitle(QCoreApplication.translate("MainWindow", "Language"))
        self.setup_action.setText(QCoreApplication.translate("MainWindow", "Set up the model…"))
        self.preferences_action.setText(QCoreApplication.translate("MainWindow", "Model and memory…"))
        self.engines_action.setText(QCoreApplication.translate("MainWindow", "Engines…"))
        self.language_actions["system"].setText(QCoreApplication.translate("MainWindow", "Follow the system"))
        self.language_actions["en"].setText("English")
        self.language_actions["zh_CN"].setText("简体中文")
        self.view_menu.setTitle(QCoreApplication.translate("MainWindow", "&View"))

