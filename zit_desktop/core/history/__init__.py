"""The local image history: a SQLite store (WAL, versioned schema) and its parts.

``HistoryStore`` is the entry point; ``store.trash`` and ``store.recipes`` are its components.
"""

from zit_desktop.core.history.rows import HistoryFilter, HistoryRow
from zit_desktop.core.history.schema import SCHEMA_VERSION
from zit_desktop.core.history.store import HistoryStore

__all__ = ["SCHEMA_VERSION", "HistoryFilter", "HistoryRow", "HistoryStore"]
