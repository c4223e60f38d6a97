"""``store.trash``: deleting images with undo. Files move into the trash folder and back.

While an image is in the trash its row's ``path`` is the file's place in the trash folder and
``original_path`` where it came from; the row is hidden from every query that doesn't ask for
trashed rows. :meth:`Trash.move` returns a token; :meth:`Trash.restore` with that token undoes
exactly that call, once. :meth:`Trash.purge` deletes for good (the app empties images trashed more
than 30 days ago at start-up): the row, the thumbnail, and the image file only if it lies inside
the trash folder.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from zit_desktop.core.errors import classify_os_error
from zit_desktop.core.history.files import free_name, move_file
from zit_desktop.core.history.schema import Query, Transaction

log = logging.getLogger(__name__)


class Trash:
    """The trash of one :class:`~zit_desktop.core.history.store.HistoryStore` (``store.trash``)."""

    def __init__(self, query: Query, transaction: Transaction, *, trash_dir: Path, thumbnails_dir: Path) -> None:
        self._query = query
        self._transaction = transaction
        self.trash_dir = trash_dir
        self.thumbnails_dir = thumbnails_dir

    def move(self, ids: Iterable[int]) -> str:
        """Move the images' files into the trash folder and hide them; return an undo token.

        The rows are marked first and the files moved after the commit, so a crash in between
        leaves the file where it was and :meth:`restore` still puts everything back.
        """
        token = uuid.uuid4().hex
        wanted = sorted({int(i) for i in ids})
        moves: list[tuple[Path, Path]] = []
        now = time.time()
        with self._transaction() as conn:
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
        """Undo one :meth:`move` call: files back in place (or a free name next to it)."""
        rows = self._query("SELECT id, path, original_path FROM images WHERE trash_token = ?", (token,))
        restored: list[int] = []
        for rid, path, original in rows:
            target = Path(original)
            if Path(path).exists():
                try:
                    target = move_file(Path(path), target)
                except OSError as exc:
                    raise classify_os_error(exc, f"the restored image {target}") from exc
            with self._transaction() as conn:
                conn.execute("UPDATE images SET path = ?, original_path = NULL, trashed_at = NULL, "
                             "trash_token = NULL WHERE id = ?", (os.fspath(target), rid))
            restored.append(int(rid))
        return restored

    def purge(self, older_than: float | None = None) -> int:
        """Delete trashed images for good (files in the trash folder, thumbnails, rows).

        ``older_than`` (Unix time): only images trashed before then. Returns how many went.
        """
        sql = "SELECT id, path, thumbnail FROM images WHERE trashed_at IS NOT NULL"
        params: list[Any] = []
        if older_than is not None:
            sql += " AND trashed_at < ?"
            params.append(older_than)
        rows = self._query(sql, params)
        with self._transaction() as conn:
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
