"""Named parameter presets ("Portrait, 12 steps") kept in the history database."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from zit_desktop.core.errors import AppError, ErrorKind
from zit_desktop.core.history.rows import NamedPreset
from zit_desktop.core.request import GenerationRequest


class PresetsMixin:
    """Save, rename, delete and list the user's named presets (names are case-insensitive)."""

    if TYPE_CHECKING:  # provided by HistoryStore
        def transaction(self) -> AbstractContextManager[sqlite3.Connection]: ...
        def _query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]: ...

    def save_preset(self, name: str, request: GenerationRequest | dict[str, Any]) -> NamedPreset:
        """Create or overwrite the preset ``name`` (names are case-insensitive)."""
        name = _preset_name(name)
        data = request.to_dict() if isinstance(request, GenerationRequest) else dict(request)
        now = time.time()
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO presets (name, request_json, created_at, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(name) DO UPDATE SET request_json = excluded.request_json, "
                "updated_at = excluded.updated_at, name = excluded.name",
                (name, json.dumps(data, ensure_ascii=False, sort_keys=True), now, now))
        preset = self.get_preset(name)
        assert preset is not None
        return preset

    def get_preset(self, name: str) -> NamedPreset | None:
        rows = self._query("SELECT id, name, request_json, created_at, updated_at FROM presets "
                           "WHERE name = ?", (name.strip(),))
        return _preset(rows[0]) if rows else None

    def list_presets(self) -> list[NamedPreset]:
        return [_preset(r) for r in self._query(
            "SELECT id, name, request_json, created_at, updated_at FROM presets "
            "ORDER BY name COLLATE NOCASE")]

    def rename_preset(self, old: str, new: str) -> NamedPreset:
        new = _preset_name(new)
        with self.transaction() as conn:
            clash = conn.execute("SELECT id FROM presets WHERE name = ?", (new,)).fetchone()
            current = conn.execute("SELECT id FROM presets WHERE name = ?", (old.strip(),)).fetchone()
            if current is None:
                raise AppError(ErrorKind.BAD_INPUT, f"There is no preset named “{old}”.")
            if clash is not None and clash[0] != current[0]:
                raise AppError(ErrorKind.BAD_INPUT, f"A preset named “{new}” already exists. Pick another "
                               "name or delete that one first.")
            conn.execute("UPDATE presets SET name = ?, updated_at = ? WHERE id = ?", (new, time.time(),
                                                                                       current[0]))
        preset = self.get_preset(new)
        assert preset is not None
        return preset

    def delete_preset(self, name: str) -> bool:
        with self.transaction() as conn:
            return conn.execute("DELETE FROM presets WHERE name = ?", (name.strip(),)).rowcount > 0


def _preset_name(name: str) -> str:
    name = " ".join(str(name).split())
    if not name or len(name) > 80:
        raise AppError(ErrorKind.BAD_INPUT, "A preset needs a name of 1 to 80 characters.")
    return name


def _preset(row: Any) -> NamedPreset:
    rid, name, req, created, updated = tuple(row)
    data = json.loads(req)
    return NamedPreset(int(rid), name, data if isinstance(data, dict) else {}, float(created), float(updated))
