"""The local history of generated images: one SQLite file, Qt-free.

* WAL mode, ``PRAGMA user_version`` with ordered migrations (:mod:`.schema`); a database
  written by a newer version is refused with a message, never touched.
* ``quick_check`` at open; a corrupt file (or one that is not a database) is renamed aside with a
  timestamp — never deleted — and the history is rebuilt from the metadata in the output PNGs.
* One connection per thread (the GUI thread reads while the worker thread writes): WAL readers
  never block the writer, writers wait for each other up to ``busy_timeout``.
* Files may be deleted or moved behind our back: a row's ``missing`` is asked of the disk each time
  it is read (nothing stores it); "rebuild from folder" re-imports or re-links PNGs that carry our
  metadata.
* Its parts are components, each given what it needs: ``store.trash`` (:class:`.Trash`: move to the
  trash with undo, purge) and ``store.recipes`` (:class:`.Recipes`: saved parameter sets).
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zit_desktop.core.errors import AppError, ErrorKind
from zit_desktop.core.events import ImageResult
from zit_desktop.core.history.files import (
    canonical_request,
    created_at_of,
    free_name,
    make_thumbnail,
    read_our_metadata,
    result_from_record,
)
from zit_desktop.core.history.recipes import Recipes
from zit_desktop.core.history.rows import ROW_COLUMNS, HistoryFilter, HistoryRow, Recipe
from zit_desktop.core.history.schema import SCHEMA_VERSION, migrate, user_version
from zit_desktop.core.history.trash import Trash
from zit_desktop.core.paths import AppPaths
from zit_desktop.core.sizes import DEFAULT_GUIDANCE, DEFAULT_STEPS

if TYPE_CHECKING:
    from PIL import Image

log = logging.getLogger(__name__)

__all__ = ["HistoryFilter", "HistoryRow", "HistoryStore", "Recipe", "Recovery", "SCHEMA_VERSION"]

BUSY_TIMEOUT_MS = 10_000
_IMPORT_BATCH = 200
_SQLITE_CORRUPT, _SQLITE_NOTADB = 11, 26
_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_FULL = 5, 6, 13
_SQLITE_READONLY, _SQLITE_IOERR, _SQLITE_CANTOPEN = 8, 10, 14

_INSERT = (
    "INSERT INTO images (created_at, request_json, prompt, negative_prompt, width, height, preset, "
    "steps, guidance, seed, batch_index, model, variant, strategy, oom_retries, timings_json, "
    "peak_vram_bytes, path, thumbnail, parent_id, environment_json) VALUES (:created_at, "
    ":request_json, :prompt, :negative_prompt, :width, :height, :preset, :steps, :guidance, :seed, "
    ":batch_index, :model, :variant, :strategy, :oom_retries, :timings_json, :peak_vram_bytes, :path, "
    ":thumbnail, :parent_id, :environment_json)"
)


class _Corrupt(Exception):
    pass


@dataclass(frozen=True)
class Recovery:
    """Set on the store when a damaged database was moved aside at open."""

    moved_to: Path
    imported: int
    reason: str

    @property
    def message(self) -> str:
        return (
            f"The history database was damaged ({self.reason}). It was kept as {self.moved_to} "
            f"and a new history was rebuilt from your images: {self.imported} recovered."
        )


def _code(exc: sqlite3.Error) -> int:
    return int(getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF


def _app_error(exc: sqlite3.Error, db_path: Path, doing: str) -> AppError:
    code = _code(exc)
    if code == _SQLITE_FULL:
        return AppError(ErrorKind.DISK_FULL, f"The disk is full, so {doing} failed. Free some space and try "
                        "again.", repr(exc))
    if code in (_SQLITE_BUSY, _SQLITE_LOCKED):
        return AppError(ErrorKind.DATABASE, f"The history is busy ({doing}): another copy of ZIT Desktop may "
                        "be using it. Close it and try again.", repr(exc))
    if code in (_SQLITE_READONLY, _SQLITE_CANTOPEN, _SQLITE_IOERR):
        return AppError(ErrorKind.UNWRITABLE, f"The history database {db_path} can't be written ({exc}). "
                        "Check the folder's permissions or choose another data folder.", repr(exc))
    return AppError(ErrorKind.DATABASE, f"The history database failed while {doing}: {exc}.", repr(exc))


class _ThreadConnection:
    """One thread's connection, closed when that thread's ``threading.local`` storage goes away.

    Why: a QThread (the engine worker) calls into Python with a fresh thread state for every queued
    slot, so its ``threading.local`` starts empty at every job. A plain list of connections then kept
    one open connection (page cache, statement cache, WAL index) per job for the whole session: RSS
    grew with every image. Now the thread-local holder is the only strong reference; the store's set of
    connections is weak, and :meth:`HistoryStore.close` still closes every live one."""

    __slots__ = ("conn", "__weakref__")

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __del__(self) -> None:
        try:
            self.conn.close()
        except sqlite3.Error:  # closed already (HistoryStore.close), or mid-shutdown
            pass


class HistoryStore:
    """The image history in ``db_path``. Safe to use from several threads at once.

    ``thumbnails_dir``, ``trash_dir`` and ``outputs_dir`` default to the :class:`AppPaths` layout
    around ``db_path``; the outputs folder is where a damaged history is rebuilt from.
    ``trash`` and ``recipes`` are its components (see the module docstring).
    """

    def __init__(
        self,
        db_path: Path,
        *,
        thumbnails_dir: Path | None = None,
        trash_dir: Path | None = None,
        outputs_dir: Path | None = None,
        busy_timeout_ms: int = BUSY_TIMEOUT_MS,
    ) -> None:
        layout = AppPaths(Path(db_path).parent)
        self.db_path = Path(db_path)
        self.thumbnails_dir = thumbnails_dir or layout.thumbnails
        self.trash_dir = trash_dir or layout.trash
        self.outputs_dir = outputs_dir or layout.outputs
        self.recovered: Recovery | None = None
        self._busy_ms = int(busy_timeout_ms)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: weakref.WeakSet[_ThreadConnection] = weakref.WeakSet()
        self._closed = False
        self.trash = Trash(self._query, self.transaction, trash_dir=self.trash_dir,
                           thumbnails_dir=self.thumbnails_dir)
        self.recipes = Recipes(self._query, self.transaction)
        self._open()

    @classmethod
    def for_paths(cls, paths: AppPaths) -> HistoryStore:
        return cls(paths.history_db, thumbnails_dir=paths.thumbnails, trash_dir=paths.trash,
                   outputs_dir=paths.outputs)

    # ------------------------------------------------------------------ connections
    def _conn(self) -> sqlite3.Connection:
        held: _ThreadConnection | None = getattr(self._local, "conn", None)
        if held is not None:
            return held.conn
        if self._closed:
            raise RuntimeError("the history store is closed")
        # check_same_thread=False only so close() can close every thread's connection; each one is
        # used by its own thread alone. isolation_level=None: transactions are explicit (below).
        conn = sqlite3.connect(self.db_path, timeout=self._busy_ms / 1000, isolation_level=None,
                               check_same_thread=False)
        try:
            conn.execute(f"PRAGMA busy_timeout = {self._busy_ms:d}")
            conn.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: safe against app crashes
            conn.execute("PRAGMA foreign_keys = ON")
        except BaseException:
            conn.close()
            raise
        held = _ThreadConnection(conn)
        with self._lock:
            self._connections.add(held)
        self._local.conn = held  # the only strong reference: it goes with this thread's local storage
        return conn

    def close(self) -> None:
        """Close every thread's connection (checkpointing the WAL); the store is unusable after."""
        with self._lock:
            self._closed = True
            conns, self._connections = list(self._connections), weakref.WeakSet()
        for held in conns:
            try:
                held.conn.close()
            except sqlite3.Error as exc:
                log.warning("closing a history connection: %s", exc)
        self._local = threading.local()

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT`` (rollback on error). Nested use joins the outer one."""
        conn = self._conn()
        if conn.in_transaction:
            yield conn
            return
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise _app_error(exc, self.db_path, "starting a change") from exc
        try:
            yield conn
        except BaseException:
            conn.rollback()
            raise
        try:
            conn.commit()
        except sqlite3.Error as exc:
            conn.rollback()
            raise _app_error(exc, self.db_path, "saving a change") from exc

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        try:
            return self._conn().execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise _app_error(exc, self.db_path, "reading the history") from exc

    # ------------------------------------------------------------------ open, check, recover
    def _open(self) -> None:
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._check_and_migrate()
            return
        except _Corrupt as exc:
            reason = str(exc)
        self._drop_connections()
        moved = self._move_aside()
        log.error("history database %s is damaged (%s); moved to %s", self.db_path, reason, moved)
        self._check_and_migrate()
        imported = self.rebuild_from_folder(self.outputs_dir) if self.outputs_dir.is_dir() else 0
        self.recovered = Recovery(moved, imported, reason)

    def _check_and_migrate(self) -> None:
        try:
            conn = self._conn()
            version = user_version(conn)
            if version > SCHEMA_VERSION:
                self.close()
                raise AppError(
                    ErrorKind.DATABASE,
                    f"The history database {self.db_path} was written by a newer version of ZIT Desktop "
                    f"(schema {version}; this version reads up to {SCHEMA_VERSION}). Update ZIT Desktop "
                    "to open it, or choose another data folder. The file was left untouched.",
                )
            problems = [r[0] for r in conn.execute("PRAGMA quick_check").fetchall()]
            if problems == ["ok"]:
                # WAL is a property of the file: set once here (not on a refused or damaged file).
                conn.execute("PRAGMA journal_mode = WAL")
            if problems != ["ok"]:
                raise _Corrupt("; ".join(problems[:3]))
            if version < SCHEMA_VERSION:
                with self.transaction() as tx:
                    old = migrate(tx)  # re-reads the version under the write lock
                if old != SCHEMA_VERSION:
                    log.info("history database migrated from schema %d to %d", old, SCHEMA_VERSION)
        except sqlite3.DatabaseError as exc:
            if _code(exc) in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
                raise _Corrupt(str(exc)) from exc
            self.close()
            raise _app_error(exc, self.db_path, "opening the history") from exc
        except AppError as exc:
            if isinstance(exc.__cause__, sqlite3.DatabaseError) and _code(exc.__cause__) in (
                _SQLITE_CORRUPT, _SQLITE_NOTADB):
                raise _Corrupt(str(exc.__cause__)) from exc
            raise

    def _drop_connections(self) -> None:
        self.close()
        self._closed = False

    def _move_aside(self) -> Path:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        target = free_name(self.db_path.with_name(f"{self.db_path.name}.corrupt-{stamp}"))
        os.replace(self.db_path, target)
        for suffix in ("-wal", "-shm"):  # the journal belongs to the damaged file: keep them together
            side = Path(f"{self.db_path}{suffix}")
            if side.exists():
                os.replace(side, Path(f"{target}{suffix}"))
        return target

    def integrity_check(self) -> list[str]:
        """``PRAGMA integrity_check``: ``["ok"]`` for a healthy database."""
        return [str(r[0]) for r in self._query("PRAGMA integrity_check")]

    @property
    def schema_version(self) -> int:
        return user_version(self._conn())

    # ------------------------------------------------------------------ writing images
    def add_result(self, result: ImageResult, parent_id: int | None = None,
                   image: Image.Image | None = None) -> int:
        """Record one finished image (making its thumbnail); return the new row id.

        ``image``: the picture the engine just saved at ``result.path``, still in memory; the
        thumbnail is made from it instead of decoding the PNG again. Without it the file is read.
        """
        return self.add_results([result], parent_id, None if image is None else [image])[0]

    def add_results(self, results: Iterable[ImageResult], parent_id: int | None = None,
                    images: Sequence[Image.Image | None] | None = None) -> list[int]:
        """Record the images of one job in one transaction; thumbnails are made before it starts.

        ``images``, when given, pairs with ``results`` one to one (None: read that file), as
        ``image`` does for :meth:`add_result`.
        """
        results = list(results)
        if images is not None and len(images) != len(results):
            raise ValueError(f"{len(images)} images for {len(results)} results")
        paired = images if images is not None else [None] * len(results)
        values = [self._values(r, parent_id, image=im) for r, im in zip(results, paired, strict=True)]
        with self.transaction() as conn:
            return [int(conn.execute(_INSERT, v).lastrowid or 0) for v in values]

    def _values(self, result: ImageResult, parent_id: int | None, created_at: float | None = None,
                image: Image.Image | None = None) -> dict[str, Any]:
        req = dict(result.request)
        path = os.path.abspath(result.path)
        return {
            "created_at": time.time() if created_at is None else created_at,
            "request_json": json.dumps(req, ensure_ascii=False, sort_keys=True, default=str),
            "prompt": str(req.get("prompt", "")),
            "negative_prompt": str(req.get("negative_prompt") or ""),
            "width": int(result.width),
            "height": int(result.height),
            "preset": req.get("preset"),
            "steps": int(req.get("steps", DEFAULT_STEPS)),
            "guidance": float(req.get("guidance", DEFAULT_GUIDANCE)),
            "seed": int(result.seed),
            "batch_index": int(result.index),
            "model": str(req.get("model") or ""),
            "variant": str(req.get("variant") or "bf16"),
            "strategy": result.strategy or "",
            "oom_retries": int(result.oom_retries),
            "timings_json": json.dumps(dict(result.timings), sort_keys=True),
            "peak_vram_bytes": result.peak_vram_bytes,
            "path": path,
            "thumbnail": make_thumbnail(path, self.thumbnails_dir, image=image),
            "parent_id": parent_id,
            "environment_json": json.dumps(dict(result.environment), ensure_ascii=False, sort_keys=True,
                                           default=str),
        }

    def set_favorite(self, image_id: int, favorite: bool = True) -> None:
        with self.transaction() as conn:
            conn.execute("UPDATE images SET favorite = ? WHERE id = ?", (int(favorite), image_id))

    # ------------------------------------------------------------------ reading
    def get(self, image_id: int) -> HistoryRow | None:
        rows = self._query(f"SELECT {ROW_COLUMNS} FROM images WHERE id = ?", (image_id,))
        return HistoryRow.from_sql(rows[0], self.thumbnails_dir) if rows else None

    def count(self, filters: HistoryFilter | None = None) -> int:
        where, params = (filters or HistoryFilter()).where()
        return int(self._query(f"SELECT count(*) FROM images WHERE {where}", params)[0][0])

    def page(self, offset: int, limit: int, filters: HistoryFilter | None = None) -> list[HistoryRow]:
        """Rows ``offset`` … ``offset + limit - 1`` of the filtered history, newest first."""
        where, params = (filters or HistoryFilter()).where()
        rows = self._query(
            f"SELECT {ROW_COLUMNS} FROM images WHERE {where} ORDER BY created_at DESC, id DESC "
            "LIMIT ? OFFSET ?", [*params, max(0, int(limit)), max(0, int(offset))])
        return [HistoryRow.from_sql(r, self.thumbnails_dir) for r in rows]

    def search(self, text: str, limit: int = 100) -> list[HistoryRow]:
        """Newest images whose prompt contains every term of ``text`` (Chinese included)."""
        return self.page(0, limit, HistoryFilter(text=text))

    def id_for_path(self, path: str | os.PathLike[str]) -> int | None:
        """The newest row whose image is the file ``path`` (trashed rows too), or None."""
        rows = self._query("SELECT id FROM images WHERE path = ? ORDER BY id DESC LIMIT 1",
                           (os.path.abspath(path),))
        return int(rows[0][0]) if rows else None

    def children(self, image_id: int) -> list[HistoryRow]:
        rows = self._query(f"SELECT {ROW_COLUMNS} FROM images WHERE parent_id = ? ORDER BY id", (image_id,))
        return [HistoryRow.from_sql(r, self.thumbnails_dir) for r in rows]

    def ancestors(self, image_id: int) -> list[HistoryRow]:
        """The sources an image was finalized from, nearest first (parent, grandparent, ...)."""
        rows = self._query(
            f"WITH RECURSIVE up(id, depth) AS (SELECT parent_id, 1 FROM images WHERE id = ? "
            f"UNION ALL SELECT images.parent_id, depth + 1 FROM images JOIN up ON images.id = up.id "
            f"WHERE depth < 100) SELECT {ROW_COLUMNS} FROM images JOIN up USING (id) ORDER BY depth",
            (image_id,),
        )
        return [HistoryRow.from_sql(r, self.thumbnails_dir) for r in rows]

    def presets_used(self) -> list[str]:
        """Size-preset names present in the history (for the gallery's filter menu)."""
        return [r[0] for r in self._query(
            "SELECT DISTINCT preset FROM images WHERE preset IS NOT NULL ORDER BY preset")]

    def thumbnail_path(self, image_id: int) -> Path | None:
        """The thumbnail file of an image, made again if it was deleted; None if impossible."""
        row = self.get(image_id)
        if row is None:
            return None
        if row.thumbnail and os.path.exists(row.thumbnail):
            return Path(row.thumbnail)
        if row.missing:
            return None
        name = make_thumbnail(row.path, self.thumbnails_dir)
        if name is None:
            return None
        with self.transaction() as conn:
            conn.execute("UPDATE images SET thumbnail = ? WHERE id = ?", (name, image_id))
        return self.thumbnails_dir / name

    # ------------------------------------------------------------------ files behind our back
    def exists(self, image_id: int) -> bool:
        """Whether the image's file is where the history says."""
        row = self.get(image_id)
        return row is not None and not row.missing

    def rebuild_from_folder(self, folder: Path) -> int:
        """Import the PNGs under ``folder`` that carry our metadata; return how many were added.

        Files already in the history are skipped. A PNG whose request matches a row whose file is
        missing re-links that row (the file was moved) instead of adding a duplicate.
        """
        folder = Path(folder)
        known = {os.path.normcase(p) for (p,) in self._query("SELECT path FROM images")}
        moved_rows: dict[str, int] = {}
        for rid, path, req in self._query("SELECT id, path, request_json FROM images"):
            if not os.path.exists(path):
                moved_rows.setdefault(canonical_request(req), int(rid))
        skip_dirs = {os.path.abspath(self.trash_dir), os.path.abspath(self.thumbnails_dir)}
        added = 0
        batch: list[dict[str, Any]] = []
        for png in sorted(folder.rglob("*.png")):
            path = os.path.abspath(png)
            if os.path.normcase(path) in known or any(path.startswith(d + os.sep) for d in skip_dirs):
                continue
            record = read_our_metadata(png)
            if record is None:
                continue
            key = canonical_request(json.dumps(record.request))
            if key in moved_rows:
                self._relink(moved_rows.pop(key), path)
                added += 1
                continue
            batch.append(self._values(result_from_record(record, path), None, created_at_of(record, png)))
            known.add(os.path.normcase(path))
            if len(batch) >= _IMPORT_BATCH:
                added += self._insert_many(batch)
                batch = []
        added += self._insert_many(batch)
        log.info("rebuilt %d history rows from %s", added, folder)
        return added

    def _insert_many(self, values: list[dict[str, Any]]) -> int:
        if values:
            with self.transaction() as conn:
                conn.executemany(_INSERT, values)
        return len(values)

    def _relink(self, image_id: int, path: str) -> None:
        name = make_thumbnail(path, self.thumbnails_dir)
        with self.transaction() as conn:
            conn.execute("UPDATE images SET path = ?, thumbnail = coalesce(?, thumbnail) WHERE id = ?",
                         (path, name, image_id))
