"""``store.recipes``: the user's saved parameter sets ("Portrait, 12 steps"), kept in the history
database as request dicts.

A recipe is every parameter of a :class:`~zit_desktop.core.request.GenerationRequest` under a name
("preset" means a size preset only). Names are trimmed, inner whitespace collapses to one space,
1 to 80 characters, and case-insensitive: saving under an existing name overwrites it (the window
asks first), renaming onto another recipe's name is refused with a message.
"""

from __future__ import annotations

import builtins
import json
import time
from typing import Any

from zit_desktop.core.errors import AppError, ErrorKind
from zit_desktop.core.history.rows import Recipe
from zit_desktop.core.history.schema import Query, Transaction
from zit_desktop.core.jsonobj import json_object
from zit_desktop.core.request import GenerationRequest

_COLUMNS = "id, name, request_json, created_at, updated_at"


class Recipes:
    """The recipes of one :class:`~zit_desktop.core.history.store.HistoryStore` (``store.recipes``)."""

    def __init__(self, query: Query, transaction: Transaction) -> None:
        self._query = query
        self._transaction = transaction

    def save(self, name: str, request: GenerationRequest | dict[str, Any]) -> Recipe:
        """Create or overwrite the recipe ``name``; return it as stored."""
        name = _recipe_name(name)
        data = request.to_dict() if isinstance(request, GenerationRequest) else dict(request)
        now = time.time()
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO recipes (name, request_json, created_at, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(name) DO UPDATE SET request_json = excluded.request_json, "
                "updated_at = excluded.updated_at, name = excluded.name",
                (name, json.dumps(data, ensure_ascii=False, sort_keys=True), now, now))
        recipe = self.get(name)
        assert recipe is not None
        return recipe

    def get(self, name: str) -> Recipe | None:
        rows = self._query(f"SELECT {_COLUMNS} FROM recipes WHERE name = ?", (name.strip(),))
        return _recipe(rows[0]) if rows else None

    def list(self) -> builtins.list[Recipe]:  # builtins.: inside the class, "list" is this method
        """Every recipe, sorted by name (any case)."""
        return [_recipe(r) for r in self._query(f"SELECT {_COLUMNS} FROM recipes ORDER BY name COLLATE NOCASE",
                                                ())]

    def rename(self, old: str, new: str) -> Recipe:
        new = _recipe_name(new)
        with self._transaction() as conn:
            clash = conn.execute("SELECT id FROM recipes WHERE name = ?", (new,)).fetchone()
            current = conn.execute("SELECT id FROM recipes WHERE name = ?", (old.strip(),)).fetchone()
            if current is None:
                raise AppError(ErrorKind.BAD_INPUT, f"There is no recipe named “{old}”.")
            if clash is not None and clash[0] != current[0]:
                raise AppError(ErrorKind.BAD_INPUT, f"A recipe named “{new}” already exists. Pick another "
                               "name or delete that one first.")
            conn.execute("UPDATE recipes SET name = ?, updated_at = ? WHERE id = ?", (new, time.time(),
                                                                                       current[0]))
        recipe = self.get(new)
        assert recipe is not None
        return recipe

    def delete(self, name: str) -> bool:
        """Delete the recipe ``name``; False if there was none."""
        with self._transaction() as conn:
            return conn.execute("DELETE FROM recipes WHERE name = ?", (name.strip(),)).rowcount > 0


def _recipe_name(name: str) -> str:
    name = " ".join(str(name).split())
    if not name or len(name) > 80:
        raise AppError(ErrorKind.BAD_INPUT, "A recipe needs a name of 1 to 80 characters.")
    return name


def _recipe(row: Any) -> Recipe:
    rid, name, req, created, updated = tuple(row)
    return Recipe(int(rid), name, json_object(req) or {}, float(created), float(updated))
