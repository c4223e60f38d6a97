"""Engine credentials: in the OS keyring where there is one, else only in memory for this session.

Never in the settings file. ``keyring`` picks the platform's store (Windows Credential Manager,
macOS Keychain, Secret Service on a Linux desktop). Where none is available (a headless Linux box,
or keyring itself missing) :func:`store_secret` says so, and the secret lives until the app exits.
"""

from __future__ import annotations

import logging
import threading
from types import ModuleType

from zit_desktop import APP_ID

log = logging.getLogger(__name__)

SERVICE = APP_ID  # the keyring service name
_session: dict[str, str] = {}
_lock = threading.Lock()


def _key(engine_name: str) -> str:
    return f"engine:{engine_name}"


def _keyring() -> ModuleType | None:
    try:
        import keyring
    except ImportError:
        return None
    return keyring


def _failures() -> tuple[type[BaseException], ...]:
    """What a keyring call raises when there is no usable store (never a reason to crash)."""
    try:
        from keyring.errors import KeyringError
    except ImportError:
        return (RuntimeError, OSError)
    return (KeyringError, RuntimeError, OSError)


def store_secret(engine_name: str, secret: str) -> bool:
    """Keep ``secret`` for ``engine_name``; True when the OS keyring holds it (it survives a restart)."""
    with _lock:
        _session[engine_name] = secret
    store = _keyring()
    if store is None:
        log.warning("keyring is not installed: the credentials of %s are kept for this session only", engine_name)
        return False
    try:
        store.set_password(SERVICE, _key(engine_name), secret)
        return True
    except _failures() as exc:
        log.warning("no OS keyring (%s): the credentials of %s are kept for this session only", exc, engine_name)
        return False


def load_secret(engine_name: str) -> str:
    with _lock:
        if engine_name in _session:
            return _session[engine_name]
    store = _keyring()
    if store is None:
        return ""
    try:
        return str(store.get_password(SERVICE, _key(engine_name)) or "")
    except _failures():
        return ""


def delete_secret(engine_name: str) -> None:
    with _lock:
        _session.pop(engine_name, None)
    store = _keyring()
    if store is None:
        return
    try:
        store.delete_password(SERVICE, _key(engine_name))
    except _failures():
        pass  # nothing stored (PasswordDeleteError is a KeyringError) or no store at all
