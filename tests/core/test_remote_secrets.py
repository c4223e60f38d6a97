"""Engine secrets: never in the settings file; the session keeps them where no keyring works."""

from __future__ import annotations

import sys

import pytest

from zit_desktop.core.remote import secrets


@pytest.mark.parametrize("keyring_missing", [False, True])
def test_a_secret_is_kept_for_the_session_without_a_usable_keyring(
    monkeypatch: pytest.MonkeyPatch, keyring_missing: bool
) -> None:
    if keyring_missing:
        monkeypatch.setitem(sys.modules, "keyring", None)  # as if keyring were not installed
    # this machine has keyring installed but no backend (headless): both must degrade the same way
    kept = secrets.store_secret("box-test", "s3cret")
    try:
        assert secrets.load_secret("box-test") == "s3cret"
        if keyring_missing:
            assert kept is False
    finally:
        secrets.delete_secret("box-test")
    assert secrets.load_secret("box-test") == ""
