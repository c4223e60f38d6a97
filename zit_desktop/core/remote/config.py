"""The user's list of remote engines (in the settings file, without secrets) and how to build them."""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import asdict, dataclass, fields
from typing import Any

from zit_desktop.core.errors import AppError, ErrorKind
from zit_desktop.core.settings import Settings

LOCAL = "local"  # the engine on this computer
POOL = "pool"  # every listed engine (and this computer, when the pool includes it)
RESERVED = (LOCAL, POOL)
AUTH_KINDS = ("", "bearer", "basic")


@dataclass(frozen=True)
class RemoteEngineConfig:
    """One server as the user listed it. The token or password is in :mod:`core.remote.secrets`."""

    name: str
    url: str
    auth: str = ""  # "", "bearer" or "basic"
    username: str = ""  # basic auth only
    ca_file: str = ""  # a CA certificate for a server with its own (self-signed) certificate
    unet: str = ""  # chosen loader files; empty: the first that matches
    clip: str = ""
    vae: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RemoteEngineConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: str(v) for k, v in data.items() if k in known})


def check_config(config: RemoteEngineConfig) -> None:
    """Raise AppError(bad-input) with what to fix."""
    if not re.fullmatch(r"[\w][\w .-]{0,39}", config.name) or config.name.lower() in RESERVED:
        raise AppError(ErrorKind.BAD_INPUT, f"{config.name!r} cannot be an engine name: use up to 40 letters, "
                       "digits, spaces, dots or dashes, and not 'local' or 'pool'.")
    parsed = urllib.parse.urlsplit(config.url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise AppError(ErrorKind.BAD_INPUT, f"{config.url!r} is not a server address. Use http://HOST:8188, or "
                       "https://HOST behind a reverse proxy.")
    if config.auth not in AUTH_KINDS:
        raise AppError(ErrorKind.BAD_INPUT, f"Unknown sign-in kind {config.auth!r}: use bearer or basic.")
    if config.auth and parsed.scheme != "https" and parsed.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise AppError(ErrorKind.BAD_INPUT, "Credentials would travel unencrypted over http. Use an https "
                       "address (a reverse proxy with TLS) for a server that asks for a sign-in.")
    if config.auth == "basic" and not config.username:
        raise AppError(ErrorKind.BAD_INPUT, "Basic sign-in needs a user name.")


def engines_of(settings: Settings) -> list[RemoteEngineConfig]:
    out = []
    for item in settings.engines:
        if isinstance(item, dict) and item.get("name") and item.get("url"):
            out.append(RemoteEngineConfig.from_dict(item))
    return out


def find_engine(settings: Settings, name: str) -> RemoteEngineConfig | None:
    return next((e for e in engines_of(settings) if e.name.lower() == name.lower()), None)


def add_engine(settings: Settings, config: RemoteEngineConfig) -> None:
    """Add or replace ``config`` (by name) in ``settings``; raises on a bad entry."""
    check_config(config)
    kept = [e.to_dict() for e in engines_of(settings) if e.name.lower() != config.name.lower()]
    settings.engines = [*kept, config.to_dict()]


def remove_engine(settings: Settings, name: str) -> bool:
    before = len(settings.engines)
    settings.engines = [e.to_dict() for e in engines_of(settings) if e.name.lower() != name.lower()]
    if settings.engine.lower() == name.lower():
        settings.engine = LOCAL
    return len(settings.engines) != before
