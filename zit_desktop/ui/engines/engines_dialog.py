"""Settings → Engines…: the ComfyUI servers this window can send jobs to.

Add, test and remove servers. A test connects in the background and shows the server's ComfyUI
version, device, VRAM and queue, and either "ready" or what is missing and where to install it.
Secrets go to the OS keyring (core.remote.secrets), never into the settings file.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QCoreApplication, QObject, QRunnable, Qt, QThreadPool, Signal, Slot
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
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from zit_desktop.core.errors import AppError, ErrorKind
from zit_desktop.core.paths import AppPaths
from zit_desktop.core.remote.config import (
    RemoteEngineConfig,
    add_engine,
    check_config,
    engines_of,
    remove_engine,
)
from zit_desktop.core.remote.secrets import delete_secret, load_secret, store_secret
from zit_desktop.core.settings import Settings
from zit_desktop.ui.window import texts

log = logging.getLogger(__name__)


def device_name(device: str) -> str:
    """ComfyUI's "cuda:0 NVIDIA GeForce RTX 4090 : cudaMallocAsync" as "NVIDIA GeForce RTX 4090"."""
    return re.sub(r"^(cuda|xpu|mps|npu):\d+\s+", "", device.split(" : ")[0]).strip() or device


@dataclass(frozen=True)
class TestOutcome:
    name: str
    ok: bool
    text: str


# The last test of each engine in this session (by name): the ✓/✗ and the text survive closing and
# reopening the dialog. Forgotten when the engine is removed or when the app quits.
LAST_TESTS: dict[str, TestOutcome] = {}


def ask_remove(parent: QWidget, name: str) -> bool:
    """Asks before an engine (and its stored token or password) goes; tests put their own answer."""
    answer = QMessageBox.question(
        parent, QCoreApplication.translate("EnginesDialog", "Remove engine"),
        QCoreApplication.translate(
            "EnginesDialog", "Remove the engine “{0}” and its stored token or password?"
        ).format(name),
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No,
    )
    return answer == QMessageBox.StandardButton.Yes


class _Relay(QObject):
    """Lives on the GUI thread; the background test emits through it (a queued connection)."""

    finished = Signal(object)


class _TestTask(QRunnable):
    def __init__(self, paths: AppPaths, config: RemoteEngineConfig, secret: str, relay: _Relay) -> None:
        super().__init__()
        self.paths, self.config, self.secret, self.relay = paths, config, secret, relay

    def run(self) -> None:
        from zit_desktop.core.remote.client import Credentials
        from zit_desktop.core.remote.engine import ComfyEngine

        creds = Credentials()
        if self.config.auth == "bearer":
            creds = Credentials(token=self.secret)
        elif self.config.auth == "basic":
            creds = Credentials(username=self.config.username, password=self.secret)
        try:
            ready = ComfyEngine(self.paths, self.config, creds, timeout=10).check()
        except AppError as exc:
            log.warning("engine test %s: %s", self.config.name, exc)
            text = texts.remote_problem(exc.code, exc.facts) or str(exc)  # translated when the problem is known
            self.relay.finished.emit(TestOutcome(self.config.name, False, text))
            return
        except Exception:  # noqa: BLE001 - a bug must still end the test in the dialog
            log.exception("engine test %s failed", self.config.name)
            self.relay.finished.emit(TestOutcome(
                self.config.name, False, QCoreApplication.translate("EnginesDialog", "The test failed; see the log file.")))
            return
        vram = f", {ready.vram_total / 2**30:.1f} GiB" if ready.vram_total else ""
        head = f"ComfyUI {ready.version or '?'} · {device_name(ready.device) or '?'}{vram}"
        if ready.ok:
            ok = QCoreApplication.translate("EnginesDialog", "ready")
            self.relay.finished.emit(TestOutcome(self.config.name, True, f"{head} · {ok}"))
        else:
            log.warning("engine test %s: %s", self.config.name, ready.message)
            problem = texts.remote_problem(ready.code, ready.facts) or ready.message
            self.relay.finished.emit(TestOutcome(self.config.name, False, f"{head}\n{problem}"))


class EnginesDialog(QDialog):
    """Edits ``settings.engines`` (and the pool option) in place; the caller saves and applies."""

    def __init__(self, paths: AppPaths, settings: Settings, parent: QWidget | None = None,
                 confirm_remove: Callable[[QWidget, str], bool] = ask_remove) -> None:
        super().__init__(parent)
        self.paths = paths
        self.settings = settings
        self.confirm_remove = confirm_remove
        self.pool = QThreadPool(self)
        self.relay = _Relay(self)
        self.relay.finished.connect(self._on_tested)
        self.status = LAST_TESTS  # shared with the next opening of the dialog

        self.list = QListWidget()
        self.list.currentItemChanged.connect(self._on_selected)
        self.name = QLineEdit()
        self.url = QLineEdit()
        self.url.setPlaceholderText("http://192.168.1.20:8188")
        self.auth = QComboBox()
        for code in ("", "bearer", "basic"):
            self.auth.addItem("", code)
        self.auth.currentIndexChanged.connect(self._on_auth_changed)
        self.username = QLineEdit()
        self.secret = QLineEdit()
        self.secret.setEchoMode(QLineEdit.EchoMode.Password)
        self.ca_file = QLineEdit()
        self.ca_browse = QPushButton()
        self.ca_browse.clicked.connect(self._browse_ca)
        ca_row = QHBoxLayout()
        ca_row.addWidget(self.ca_file, 1)
        ca_row.addWidget(self.ca_browse)
        self.form = QFormLayout()
        # Real labels (QFormLayout.addRow("", ...) makes none): retranslate sets their texts.
        self.form_labels = [QLabel() for _ in range(6)]
        for label, field in zip(self.form_labels, (self.name, self.url, self.auth, self.username, self.secret),
                                strict=False):
            label.setBuddy(field)
            self.form.addRow(label, field)
        self.form_labels[-1].setBuddy(self.ca_file)
        self.form.addRow(self.form_labels[-1], ca_row)
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.save_button = QPushButton()
        self.save_button.clicked.connect(self.save_entry)
        self.test_button = QPushButton()
        self.test_button.clicked.connect(self.test_entry)
        self.remove_button = QPushButton()
        self.remove_button.clicked.connect(self.remove_entry)
        self.new_button = QPushButton()
        self.new_button.clicked.connect(self.new_entry)
        buttons_row = QHBoxLayout()
        for b in (self.new_button, self.save_button, self.test_button, self.remove_button):
            buttons_row.addWidget(b)
        buttons_row.addStretch(1)
        self.include_local = QCheckBox()
        self.include_local.setChecked(settings.pool_includes_local)
        self.include_local.toggled.connect(self._on_include_local)
        self.help = QLabel()
        self.help.setWordWrap(True)
        self.help.setOpenExternalLinks(False)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        close.accepted.connect(self.accept)

        right = QVBoxLayout()
        right.addLayout(self.form)
        right.addLayout(buttons_row)
        right.addWidget(self.status_label)
        right.addStretch(1)
        top = QHBoxLayout()
        top.addWidget(self.list, 1)
        top.addLayout(right, 2)
        layout = QVBoxLayout(self)
        layout.addWidget(self.help)
        layout.addLayout(top, 1)
        layout.addWidget(self.include_local)
        layout.addWidget(close)
        self.retranslate()
        self.reload()
        self.resize(760, 420)

    # ---- texts ---------------------------------------------------------------------------------
    def retranslate(self) -> None:
        self.setWindowTitle(self.tr("Engines"))
        self.help.setText(self.tr(
            "Send jobs to ComfyUI servers when this computer is not enough: a GPU box at home, a rented cloud "
            "GPU. Run ComfyUI there with the Z-Image-Turbo files, reach it over your LAN, a VPN or an https "
            "reverse proxy (never a raw port-forward), and add it here."))
        labels = (self.tr("Name"), self.tr("Address"), self.tr("Sign-in"), self.tr("User name"),
                  self.tr("Token or password"), self.tr("CA certificate"))
        for label, text in zip(self.form_labels, labels, strict=True):
            label.setText(text)
        self.auth.setItemText(0, self.tr("None"))
        self.auth.setItemText(1, self.tr("Bearer token"))
        self.auth.setItemText(2, self.tr("User name and password (Basic)"))
        self.ca_file.setPlaceholderText(self.tr("only for a server with its own certificate"))
        self.ca_browse.setText(self.tr("Choose…"))
        self.name.setPlaceholderText(self.tr("studio"))
        self.new_button.setText(self.tr("New"))
        self.save_button.setText(self.tr("Save"))
        self.test_button.setText(self.tr("Test"))
        self.remove_button.setText(self.tr("Remove"))
        self.include_local.setText(self.tr("The pool also uses this computer"))

    # ---- list ----------------------------------------------------------------------------------
    def reload(self, select: str = "") -> None:
        self.list.clear()
        for config in engines_of(self.settings):
            item = QListWidgetItem(self._item_text(config))
            item.setData(Qt.ItemDataRole.UserRole, config.name)
            self.list.addItem(item)
            if config.name == select:
                self.list.setCurrentItem(item)
        if not self.list.count():
            self.new_entry()
        elif self.list.currentItem() is None:
            self.list.setCurrentRow(0)

    def _item_text(self, config: RemoteEngineConfig) -> str:
        outcome = self.status.get(config.name)
        mark = "" if outcome is None else ("✓ " if outcome.ok else "✗ ")
        return f"{mark}{config.name}\n{config.url}"

    def selected(self) -> RemoteEngineConfig | None:
        item = self.list.currentItem()
        if item is None:
            return None
        name = item.data(Qt.ItemDataRole.UserRole)
        return next((c for c in engines_of(self.settings) if c.name == name), None)

    @Slot()
    def _on_selected(self) -> None:
        config = self.selected()
        if config is None:
            return
        self.name.setText(config.name)
        self.url.setText(config.url)
        self.auth.setCurrentIndex(max(0, self.auth.findData(config.auth)))
        self.username.setText(config.username)
        self.secret.setText(load_secret(config.name) if config.auth else "")
        self.ca_file.setText(config.ca_file)
        outcome = self.status.get(config.name)
        self.status_label.setText("" if outcome is None else outcome.text)
        self._on_auth_changed()

    @Slot()
    def _on_auth_changed(self) -> None:
        auth = self.auth.currentData()
        self.username.setEnabled(auth == "basic")
        self.secret.setEnabled(bool(auth))

    @Slot(bool)
    def _on_include_local(self, on: bool) -> None:
        self.settings.pool_includes_local = on

    @Slot()
    def _browse_ca(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, self.tr("The server's CA certificate"), "",
                                              self.tr("Certificates (*.pem *.crt *.cer);;All files (*)"))
        if path:
            self.ca_file.setText(path)

    def form_config(self) -> RemoteEngineConfig:
        return RemoteEngineConfig(
            self.name.text().strip(), self.url.text().strip().rstrip("/"), auth=str(self.auth.currentData() or ""),
            username=self.username.text().strip(), ca_file=self.ca_file.text().strip(),
        )

    @Slot()
    def new_entry(self) -> None:
        self.list.clearSelection()
        self.list.setCurrentRow(-1)
        for field in (self.name, self.url, self.username, self.secret, self.ca_file):
            field.clear()
        self.auth.setCurrentIndex(0)
        self.status_label.clear()
        self.name.setFocus()

    @Slot()
    def save_entry(self) -> bool:
        return self._save(announce=True)

    def _save(self, announce: bool) -> bool:
        config = self.form_config()
        try:
            check_config(config)
            if config.auth and not self.secret.text():
                raise AppError(ErrorKind.BAD_INPUT,
                               "Enter the token or password, or choose no sign-in.")
        except AppError as exc:
            self._show(False, str(exc))
            return False
        previous = self.selected()
        stored = next((c for c in engines_of(self.settings) if c.name.lower() == config.name.lower()), None)
        if previous is not None and previous.name != config.name:
            remove_engine(self.settings, previous.name)
            delete_secret(previous.name)
        add_engine(self.settings, config)
        kept = True
        if config.auth:
            kept = store_secret(config.name, self.secret.text())
        if previous is not None and previous.name != config.name:
            self.status.pop(previous.name, None)
        if stored != config:  # a new or changed entry: an earlier test no longer says anything about it
            self.status.pop(config.name, None)
        self.reload(select=config.name)
        if not announce:
            return True
        if not kept:
            self._show(True, self.tr("Saved. This computer has no keyring, so the token or password is kept only "
                                     "until the app closes."))
        else:
            self._show(True, self.tr("Saved."))
        return True

    @Slot()
    def test_entry(self) -> None:
        if not self._save(announce=False):
            return
        config = self.form_config()
        self.test_button.setEnabled(False)
        self._show(True, self.tr("Saved and testing: connecting to {0}…").format(config.url))
        self.pool.start(_TestTask(self.paths, config, self.secret.text(), self.relay))

    @Slot(object)
    def _on_tested(self, outcome: TestOutcome) -> None:
        self.status[outcome.name] = outcome
        self.test_button.setEnabled(True)
        self.reload(select=outcome.name)
        current = self.selected()
        if current is not None and current.name == outcome.name:
            self._show(outcome.ok, outcome.text)

    @Slot()
    def remove_entry(self) -> None:
        config = self.selected()
        if config is None or not self.confirm_remove(self, config.name):
            return
        remove_engine(self.settings, config.name)
        delete_secret(config.name)
        self.status.pop(config.name, None)
        self.reload()

    def _show(self, ok: bool, text: str) -> None:
        self.status_label.setText(text)
        self.status_label.setStyleSheet("" if ok else "color: #b00020;")

    def done(self, result: int) -> None:
        self.pool.waitForDone(15000)  # a test still connecting finishes before the dialog goes
        super().done(result)
