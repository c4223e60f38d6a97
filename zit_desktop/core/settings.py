"""User settings: a small JSON file with a schema version and ordered migrators.

Written atomically; a corrupt file is moved aside and defaults are used, never a crash.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from zit_desktop.core.memory.rungs import AUTO, LOW_VRAM_MODES
from zit_desktop.core.sizes import DEFAULT_MODEL

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1


@dataclass
class Settings:
    model: str = DEFAULT_MODEL
    variant: str = "bf16"  # the installed variant in use (core.models.catalogue id, or "custom")
    transformer: str = ""  # single-file transformer of a GGUF variant or of the user's own files
    low_vram: str = AUTO  # "auto" or a forced ladder rung (core.memory.rungs)
    fp8: bool = False
    vae_tiling: str = "auto"  # "auto", "on", "off"
    text_encoder_on_cpu: bool = False
    embedding_disk_cache: bool = True
    language: str = "system"  # "system", "en", "zh_CN"
    last_request: dict[str, Any] = field(default_factory=dict)
    window: dict[str, Any] = field(default_factory=dict)
    first_run_done: bool = False
    engines: list[dict[str, Any]] = field(default_factory=list)  # remote engines (core.remote.config), no secrets
    engine: str = "local"  # where images are made: "local", an engine's name, or "pool"
    pool_includes_local: bool = True
    remote_sampler_noted: bool = False  # the window said once that ComfyUI samples differently

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["schema_version"] = SCHEMA_VERSION
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Settings:
        defaults = cls()
        kept: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in data:
                continue
            value, default = data[f.name], getattr(defaults, f.name)
            if isinstance(value, type(default)) and not (isinstance(value, bool) and not isinstance(default, bool)):
                kept[f.name] = value
            else:  # a hand-edited or damaged file: keep the default for this entry only
                log.warning("settings: ignoring %s=%r (expected %s)", f.name, value, type(default).__name__)
        s = cls(**kept)
        if s.low_vram not in LOW_VRAM_MODES:
            s.low_vram = AUTO
        if s.vae_tiling not in ("auto", "on", "off"):
            s.vae_tiling = "auto"
        return s


# Ordered migrators: MIGRATORS[n] turns a schema-n dict into a schema-(n+1) dict.
MIGRATORS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}


def _migrate(data: dict[str, Any]) -> dict[str, Any]:
    version = int(data.get("schema_version", 1))
    while version < SCHEMA_VERSION:
        data = MIGRATORS[version](data)
        version += 1
    return data


def load_settings(path: Path) -> Settings:
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Settings()
    except OSError as exc:
        log.warning("cannot read settings %s: %s; using defaults", path, exc)
        return Settings()
    try:
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise ValueError("settings are not a JSON object")
        if int(data.get("schema_version", 1)) > SCHEMA_VERSION:
            log.warning("settings %s come from a newer version; using defaults, file kept", path)
            return Settings()
        return Settings.from_dict(_migrate(data))
    except (ValueError, TypeError) as exc:
        aside = path.with_suffix(".corrupt.json")
        log.warning("settings %s unreadable (%s); moved to %s, using defaults", path, exc, aside)
        try:
            os.replace(path, aside)
        except OSError:
            pass
        return Settings()


def atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def save_settings(path: Path, settings: Settings) -> None:
    atomic_write_text(path, json.dumps(settings.to_dict(), ensure_ascii=False, indent=2) + "\n")
