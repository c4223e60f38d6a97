"""Schema of the history database, its ordered migrations (``PRAGMA user_version``), and the
two functions (:data:`Query`, :data:`Transaction`) through which the store's parts reach it.

``MIGRATIONS[n]`` turns a schema-``n`` database into schema ``n + 1``; version 0 is an empty file.
Never edit a released step: append a new one (:data:`SCHEMA_VERSION` is the number of steps).
Each step runs in the caller's transaction together with the ``user_version`` bump, so a crash
leaves either the old or the new schema, never half of one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any

# ALTER TABLE … DROP COLUMN arrived in SQLite 3.35. Python builds linked against an older system
# library (RHEL 9 ships 3.34) keep a dropped column instead: nothing reads or writes it any more.
CAN_DROP_COLUMN = sqlite3.sqlite_version_info >= (3, 35, 0)

# v1: one row per image, indexed columns for the gallery's sort and filters.
_V1 = """
CREATE TABLE images (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at       REAL    NOT NULL,              -- Unix time, seconds
    request_json     TEXT    NOT NULL,              -- the single-image GenerationRequest
    prompt           TEXT    NOT NULL,
    negative_prompt  TEXT    NOT NULL DEFAULT '',
    width            INTEGER NOT NULL,
    height           INTEGER NOT NULL,
    preset           TEXT,
    steps            INTEGER NOT NULL,
    guidance         REAL    NOT NULL,
    seed             INTEGER NOT NULL,
    batch_index      INTEGER NOT NULL DEFAULT 0,
    model            TEXT    NOT NULL DEFAULT '',
    strategy         TEXT    NOT NULL DEFAULT '',
    oom_retries      INTEGER NOT NULL DEFAULT 0,
    timings_json     TEXT    NOT NULL DEFAULT '{}',
    peak_vram_bytes  INTEGER,
    path             TEXT    NOT NULL UNIQUE,
    thumbnail        TEXT,                           -- file name inside the thumbnails folder
    favorite         INTEGER NOT NULL DEFAULT 0,
    parent_id        INTEGER REFERENCES images(id) ON DELETE SET NULL,
    environment_json TEXT    NOT NULL DEFAULT '{}'
);
CREATE INDEX images_by_created ON images(created_at DESC, id DESC);
CREATE INDEX images_by_favorite ON images(favorite, created_at DESC);
CREATE INDEX images_by_preset ON images(preset, created_at DESC);
CREATE INDEX images_by_parent ON images(parent_id);
"""

# v2: full-text search on prompts. The trigram tokenizer matches substrings in any script
# (Chinese has no spaces to split words on); an external-content table kept in step by triggers.
_V2 = """
CREATE VIRTUAL TABLE images_fts USING fts5(
    prompt, content='images', content_rowid='id', tokenize='trigram'
);
CREATE TRIGGER images_fts_ai AFTER INSERT ON images BEGIN
    INSERT INTO images_fts(rowid, prompt) VALUES (new.id, new.prompt);
END;
CREATE TRIGGER images_fts_ad AFTER DELETE ON images BEGIN
    INSERT INTO images_fts(images_fts, rowid, prompt) VALUES ('delete', old.id, old.prompt);
END;
CREATE TRIGGER images_fts_au AFTER UPDATE OF prompt ON images BEGIN
    INSERT INTO images_fts(images_fts, rowid, prompt) VALUES ('delete', old.id, old.prompt);
    INSERT INTO images_fts(rowid, prompt) VALUES (new.id, new.prompt);
END;
INSERT INTO images_fts(images_fts) VALUES ('rebuild');
"""

# v3: trash with undo (while trashed, ``path`` is the file's place in the trash folder), files gone
# behind our back, and the user's named parameter presets.
_V3 = """
ALTER TABLE images ADD COLUMN trashed_at REAL;       -- NULL: not in the trash
ALTER TABLE images ADD COLUMN original_path TEXT;    -- where the file was before the trash
ALTER TABLE images ADD COLUMN trash_token TEXT;      -- undo token of the trash() call
ALTER TABLE images ADD COLUMN missing INTEGER NOT NULL DEFAULT 0;
CREATE INDEX images_by_trash_token ON images(trash_token) WHERE trash_token IS NOT NULL;
CREATE TABLE presets (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    request_json TEXT    NOT NULL,
    created_at   REAL    NOT NULL,
    updated_at   REAL    NOT NULL
);
"""


# v4: a saved parameter set is a "recipe" ("preset" means a size preset only).
_V4 = """
ALTER TABLE presets RENAME TO recipes;
"""


def _v5(conn: sqlite3.Connection) -> None:
    """v5: drop ``images.missing``. Whether a file is there is asked of the disk when a row is read
    (a stored flag was stale the moment a file manager touched the folder). No index, trigger or
    view uses the column, which DROP COLUMN requires."""
    if CAN_DROP_COLUMN:
        conn.execute("ALTER TABLE images DROP COLUMN missing")


# v6: the model variant each image was made with (catalogue id, or "custom"). Every image before v6
# was made by the bf16 loader (the only one there was); a stored request that names one keeps it.
_V6 = """
ALTER TABLE images ADD COLUMN variant TEXT NOT NULL DEFAULT '';
UPDATE images SET variant = coalesce(json_extract(request_json, '$.variant'), 'bf16');
"""


def _script(sql: str) -> Callable[[sqlite3.Connection], None]:
    def step(conn: sqlite3.Connection) -> None:
        # executescript() would COMMIT first; run the statements one by one inside the transaction.
        for statement in _split(sql):
            conn.execute(statement)

    return step


def _split(sql: str) -> list[str]:
    """Split a script into statements (``sqlite3.complete_statement`` copes with triggers)."""
    out: list[str] = []
    buf = ""
    for line in sql.splitlines(keepends=True):
        if not buf and (not line.strip() or line.lstrip().startswith("--")):
            continue
        buf += line
        if sqlite3.complete_statement(buf):
            out.append(buf.strip())
            buf = ""
    if buf.strip():
        raise ValueError(f"incomplete SQL statement in schema: {buf!r}")
    return out


V1_SQL = _V1
MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (
    _script(_V1),  # 0 -> 1
    _script(_V2),  # 1 -> 2
    _script(_V3),  # 2 -> 3
    _script(_V4),  # 3 -> 4
    _v5,  # 4 -> 5
    _script(_V6),  # 5 -> 6
)
SCHEMA_VERSION = len(MIGRATIONS)


# How the store's parts (``store.trash``, ``store.recipes``) reach the database: the store hands
# them its own ``query`` (read, errors mapped to AppError) and ``transaction`` (write) functions.
Query = Callable[[str, Sequence[Any]], list[Any]]
Transaction = Callable[[], AbstractContextManager[sqlite3.Connection]]


def user_version(conn: sqlite3.Connection) -> int:
    row = conn.execute("PRAGMA user_version").fetchone()
    return int(row[0])


def migrate(conn: sqlite3.Connection, target: int = SCHEMA_VERSION) -> int:
    """Bring the database to ``target`` inside the current transaction; return the old version."""
    old = user_version(conn)
    for version in range(old, target):
        MIGRATIONS[version](conn)
        conn.execute(f"PRAGMA user_version = {version + 1:d}")
    return old
