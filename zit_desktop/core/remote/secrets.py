"""Engine credentials: in the OS keyring where there is one, else only in memory for this session.

Never in the settings file. ``keyring`` picks the platform's store (Windows Credential Manager,
macOS Keychain, Secret Service on a Linux desktop). Where none is available (a headless Linux box)
:func:`store_secret` says so, and the secret lives until the app exits.
"""

from __future__ import annotations

import logging
import threading

log = logging.getLogger(__name__)

SERVICE = "zit-desktop"
_session: dict[str, str] = {}
_lock = threading.Lock()


def _key(engine_name: str) -> str:
    return f"engine:{engine_name}"


def store_secret(engine_name: str, secret: str) -> bool:
    """Keep ``secret`` for ``engine_name``; True when the OS keyring holds it (it survives a restart)."""
    with _lock:
        _session[engine_name] = secret
    try:
        import keyring
        from keyring.errors import KeyringError

        keyring.set_password(SERVICE, _key(engine_name), secret)
        return True
    except (ImportError, KeyringError, RuntimeError, OSError) as exc:
        log.warning("no OS keyring (%s): the credentials of %s are kept for this session only", exc, engine_name)
        return False


def load_secret(engine_name: str) -> str:
    with _lock:
        if engine_name in _session:
            return _session[engine_name]
    try:
        import keyring
        from keyring.errors import KeyringError

        return keyring.get_password(SERVICE, _key(engine_name)) or ""
    except (ImportError, KeyringError, RuntimeError, OSError):
        return ""


def delete_secret(engine_name: str) -> None:
    with _lock:
        _session.pop(engine_name, None)
    try:
        import keyring
        from keyring.errors import KeyringError, PasswordDeleteError

        try:
            keyring.delete_password(SERVICE, _key(engine_name))
        except PasswordDeleteError:
            pass
    except (ImportError, KeyringError, RuntimeError, OSError):
        pass
