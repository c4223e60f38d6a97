"""The local history of generated images: one SQLite file, Qt-free.

* WAL mode, ``PRAGMA user_version`` with ordered migrations (:mod:`.history_schema`); a database
  written by a newer version is refused with a message, never touched.
* ``quick_check`` at open; a corrupt file (or one that is not a database) is renamed aside with a
  timestamp — never deleted — and the history is rebuilt from the metadata in the output PNGs.
* One connection per thread (the GUI thread reads while the worker thread writes): WAL readers
  never block the writer, writers wait for each other up to ``busy_timeout``.
* Files may be deleted or moved behind our back: rows report ``missing``; "rebuild from folder"
  re-imports or re-links PNGs that carry our metadata.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

from .errors import AppError, ErrorKind
from .events import ImageResult
from .history_files import PngRecord, free_name, make_thumbnail, move_file, read_our_metadata
from .history_rows import ROW_COLUMNS, HistoryFilter, HistoryRow, NamedPreset
from .history_schema import SCHEMA_VERSION, migrate, user_version
from .paths import AppPaths
from .presets import DEFAULT_GUIDANCE, DEFAULT_STEPS
from .request import GenerationRequest

log = logging.getLogger(__name__)

__all__ = ["HistoryFilter", "HistoryRow", "HistoryStore", "NamedPreset", "Recovery", "SCHEMA_VERSION"]

BUSY_TIMEOUT_MS = 10_000
_IMPORT_BATCH = 200
_SQLITE_CORRUPT, _SQLITE_NOTADB = 11, 26
_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_FULL = 5, 6, 13
_SQLITE_READONLY, _SQLITE_IOERR, _SQLITE_CANTOPEN = 8, 10, 14

_INSERT = (
    "INSERT INTO images (created_at, request_json, prompt, negative_prompt, width, height, preset, "
    "steps, guidance, seed, batch_index, model, strategy, oom_retries, timings_json, "
    "peak_vram_bytes, path, thumbnail, parent_id, environment_json) VALUES (:created_at, "
    ":request_json, :prompt, :negative_prompt, :width, :height, :preset, :steps, :guidance, :seed, "
    ":batch_index, :model, :strategy, :oom_retries, :timings_json, :peak_vram_bytes, :path, "
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


class HistoryStore:
    """The image history in ``db_path``. Safe to use from several threads at once.

    ``thumbnails_dir``, ``trash_dir`` and ``outputs_dir`` default to the :class:`AppPaths` layout
    around ``db_path``; the outputs folder is where a damaged history is rebuilt from.
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
        self._connections: list[sqlite3.Connection] = []
        self._closed = False
        self._open()

    @classmethod
    def for_paths(cls, paths: AppPaths) -> HistoryStore:
        return cls(paths.history_db, thumbnails_dir=paths.thumbnails, trash_dir=paths.trash,
                   outputs_dir=paths.outputs)

    # ------------------------------------------------------------------ connections
    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
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
        with self._lock:
            self._connections.append(conn)
        self._local.conn = conn
        return conn

    def close(self) -> None:
        """Close every thread's connection (checkpointing the WAL); the store is unusable after."""
        with self._lock:
            self._closed = True
            conns, self._connections = self._connections, []
        for conn in conns:
            try:
                conn.close()
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
    def add_result(self, result: ImageResult, parent_id: int | None = None) -> int:
        """Record one finished image (making its thumbnail); return the new row id."""
        return self.add_results([result], parent_id)[0]

    def add_results(self, results: Iterable[ImageResult], parent_id: int | None = None) -> list[int]:
        """Record the images of one job in one transaction; thumbnails are made before it starts."""
        values = [self._values(r, parent_id) for r in results]
        with self.transaction() as conn:
            return [int(conn.execute(_INSERT, v).lastrowid or 0) for v in values]

    def _values(self, result: ImageResult, parent_id: int | None, created_at: float | None = None,
                thumbnail: bool = True) -> dict[str, Any]:
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
            "strategy": result.strategy or "",
            "oom_retries": int(result.oom_retries),
            "timings_json": json.dumps(dict(result.timings), sort_keys=True),
            "peak_vram_bytes": result.peak_vram_bytes,
            "path": path,
            "thumbnail": make_thumbnail(path, self.thumbnails_dir) if thumbnail else None,
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

    def children(self, image_id: int) -> list[HistoryRow]:
        rows = self._query(f"SELECT {ROW_COLUMNS} FROM images WHERE parent_id = ? ORDER BY id", (image_id,))
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

    def mark_missing(self) -> list[int]:
        """Check every file on disk; store the ``missing`` flags; return the ids now missing."""
        rows = self._query("SELECT id, path, missing FROM images")
        gone: list[int] = []
        changes: list[tuple[int, int]] = []
        for rid, path, was in rows:
            now = 0 if os.path.exists(path) else 1
            if now:
                gone.append(int(rid))
            if now != was:
                changes.append((now, rid))
        if changes:
            with self.transaction() as conn:
                conn.executemany("UPDATE images SET missing = ? WHERE id = ?", changes)
        return gone

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
                moved_rows.setdefault(_canonical(req), int(rid))
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
            key = _canonical(json.dumps(record.request))
            if key in moved_rows:
                self._relink(moved_rows.pop(key), path)
                added += 1
                continue
            batch.append(self._values(_result_from_record(record, path), None, _created_at(record, png)))
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
            conn.execute("UPDATE images SET path = ?, thumbnail = coalesce(?, thumbnail), missing = 0 "
                         "WHERE id = ?", (path, name, image_id))

    # ------------------------------------------------------------------ trash
    def trash(self, ids: Iterable[int]) -> str:
        """Move the images' files into the trash folder and hide them; return an undo token.

        The rows are marked first and the files moved after the commit, so a crash in between
        leaves the file where it was and :meth:`restore` still puts everything back.
        """
        token = uuid.uuid4().hex
        wanted = sorted({int(i) for i in ids})
        moves: list[tuple[Path, Path]] = []
        now = time.time()
        with self.transaction() as conn:
            for rid in wanted:
                row = conn.execute("SELECT path FROM images WHERE id = ? AND trashed_at IS NULL",
                                   (rid,)).fetchone()
                if row is None:
                    continue
                src = Path(row[0])
                dest = free_name(self.trash_dir / f"{rid}-{src.name}")
                conn.execute("UPDATE images SET trashed_at = ?, trash_token = ?, original_path = path, "
                             "path = ? WHERE id = ?", (now, token, os.fspath(dest), rid))
                moves.append((src, dest))
        for src, dest in moves:
            if src.exists():
                try:
                    move_file(src, dest)
                except OSError as exc:  # the row still knows the original path: restore works
                    log.warning("could not move %s to the trash: %s", src, exc)
        return token

    def restore(self, token: str) -> list[int]:
        """Undo one :meth:`trash` call: files back in place (or a free name next to it)."""
        rows = self._query("SELECT id, path, original_path FROM images WHERE trash_token = ?", (token,))
        restored: list[int] = []
        for rid, path, original in rows:
            target = Path(original)
            if Path(path).exists():
                target = move_file(Path(path), target)
            with self.transaction() as conn:
                conn.execute("UPDATE images SET path = ?, original_path = NULL, trashed_at = NULL, "
                             "trash_token = NULL WHERE id = ?", (os.fspath(target), rid))
            restored.append(int(rid))
        return restored

    def purge_trash(self, older_than: float | None = None) -> int:
        """Delete trashed images for good (files in the trash folder, thumbnails, rows)."""
        sql = "SELECT id, path, thumbnail FROM images WHERE trashed_at IS NOT NULL"
        params: list[Any] = []
        if older_than is not None:
            sql += " AND trashed_at < ?"
            params.append(older_than)
        rows = self._query(sql, params)
        with self.transaction() as conn:
            conn.executemany("DELETE FROM images WHERE id = ?", [(r[0],) for r in rows])
        trash_root = os.path.abspath(self.trash_dir) + os.sep
        for _rid, path, thumb in rows:
            doomed = [path] if os.path.abspath(path).startswith(trash_root) else []  # never outside
            if thumb:
                doomed.append(os.fspath(self.thumbnails_dir / thumb))
            for p in doomed:
                try:
                    os.unlink(p)
                except FileNotFoundError:
                    pass
                except OSError as exc:
                    log.warning("could not delete %s: %s", p, exc)
        return len(rows)

    # ------------------------------------------------------------------ named parameter presets
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
            "SELECT id, name, request_json, created_at, updated_at FROM presets ORDER BY name COLLATE NOCASE")]

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


def _canonical(request_json: str) -> str:
    try:
        return json.dumps(json.loads(request_json), sort_keys=True, ensure_ascii=False, default=str)
    except ValueError:
        return request_json


def _created_at(record: PngRecord, png: Path) -> float:
    value = record.info.get("created_at")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value).timestamp()
        except ValueError:
            pass
    try:
        return png.stat().st_mtime
    except OSError:
        return time.time()


def _result_from_record(record: PngRecord, path: str) -> ImageResult:
    req, info = record.request, record.info
    timings = info.get("timings")
    peak = info.get("peak_vram_bytes")
    return ImageResult(
        index=int(info.get("index", 0) or 0),
        seed=int(req.get("seed", -1)),
        path=path,
        width=int(req.get("width", 0)),
        height=int(req.get("height", 0)),
        timings=dict(timings) if isinstance(timings, dict) else {},
        strategy=str(info.get("strategy") or ""),
        oom_retries=int(info.get("oom_retries", 0) or 0),
        peak_vram_bytes=int(peak) if isinstance(peak, int) else None,
        request=dict(req),
        environment=dict(record.environment),
    )
