"""The local image history: a SQLite store (WAL, versioned schema) and its parts.

``HistoryStore`` is the entry point; ``store.trash`` (:class:`Trash`) and ``store.recipes``
(:class:`Recipes`, saved parameter sets) are its components.
"""

from zit_desktop.core.history.recipes import Recipes
from zit_desktop.core.history.rows import HistoryFilter, HistoryRow, Recipe
from zit_desktop.core.history.schema import SCHEMA_VERSION
from zit_desktop.core.history.store import HistoryStore
from zit_desktop.core.history.trash import Trash

__all__ = ["SCHEMA_VERSION", "HistoryFilter", "HistoryRow", "HistoryStore", "Recipe", "Recipes", "Trash"]
