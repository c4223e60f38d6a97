"""One window per data folder: a second start hands its arguments to the running window and exits.

Two windows on one data folder would each keep their own idea of the history (their galleries drift
apart) and fight over the settings file. The first window listens on a ``QLocalServer`` whose name is
a hash of the user and the resolved data folder, so other data folders (``--data-dir``) run side by
side. A later start connects, sends its :class:`LaunchArgs` as one line of JSON, waits for ``ok`` and
exits 0; the first window raises itself and applies them.

A socket left behind by a crashed window does not block a start: when nobody answers on it,
``QLocalServer.removeServer`` clears it and this process listens instead.

The command line beside a running window stays safe without this lock: the history is SQLite in WAL
mode and each process writes through its own connection.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtNetwork import QLocalServer, QLocalSocket

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_MS = 1500
REPLY_TIMEOUT_MS = 5000
MAX_MESSAGE_BYTES = 64 * 1024


@dataclass(frozen=True)
class LaunchArgs:
    """What a start asks the window to do besides opening: a model to use, a PNG to load."""

    model: str | None = None
    png: str | None = None

    def absolute(self, cwd: Path | None = None) -> LaunchArgs:
        """Paths made absolute, so they mean the same thing in the process that receives them.
        A model that is not a path (a Hub id such as ``Tongyi-MAI/Z-Image-Turbo``) stays as is."""
        base = cwd or Path.cwd()
        model = self.model
        if model and _looks_like_path(model):
            model = str((base / Path(model).expanduser()).absolute())
        png = str((base / Path(self.png).expanduser()).absolute()) if self.png else None
        return LaunchArgs(model, png)

    def to_json(self) -> bytes:
        return json.dumps(asdict(self)).encode("utf-8") + b"\n"

    @classmethod
    def from_json(cls, data: bytes) -> LaunchArgs:
        raw = json.loads(data.decode("utf-8"))
        if not isinstance(raw, dict):
            raise ValueError("not a JSON object")
        model, png = raw.get("model"), raw.get("png")
        return cls(
            model if isinstance(model, str) and model else None, png if isinstance(png, str) and png else None
        )


def _looks_like_path(ref: str) -> bool:
    path = Path(ref).expanduser()
    return path.is_absolute() or ref.startswith((".", "~")) or "\\" in ref or path.exists()


def server_name(data_root: Path) -> str:
    """The same for every start on ``data_root`` by this user; different for other folders or users."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (containers)
        user = str(os.getuid()) if hasattr(os, "getuid") else "user"
    resolved = os.path.normcase(str(Path(data_root).expanduser().resolve()))
    digest = hashlib.sha256(f"{user}\0{resolved}".encode()).hexdigest()[:20]
    return f"zit-desktop-{digest}"


@dataclass(frozen=True)
class HandOverReply:
    """The running window's answer to a hand-over: ``ok`` when it applied everything, else the
    problems it found (also shown in its notice)."""

    ok: bool
    problems: tuple[str, ...] = ()

    def to_json(self) -> bytes:
        return json.dumps({"ok": self.ok, "problems": list(self.problems)}, ensure_ascii=False).encode() + b"\n"

    @classmethod
    def from_json(cls, line: bytes) -> HandOverReply | None:
        """The reply in ``line``; a bare ``ok`` (a window of an earlier version) is all applied; None
        for anything else (the window refused the message)."""
        text = line.strip()
        if text == b"ok":
            return cls(True)
        try:
            raw = json.loads(text.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            return None
        if not isinstance(raw, dict) or not isinstance(raw.get("ok"), bool):
            return None
        problems = raw.get("problems")
        listed = tuple(p for p in problems if isinstance(p, str)) if isinstance(problems, list) else ()
        return cls(raw["ok"] and not listed, listed)


def hand_over(name: str, args: LaunchArgs, timeout_ms: int = CONNECT_TIMEOUT_MS) -> HandOverReply | None:
    """Give ``args`` to the window listening on ``name`` and return its answer; None when none
    answers (start one)."""
    socket = QLocalSocket()
    socket.connectToServer(name)
    if not socket.waitForConnected(timeout_ms):
        return None
    try:
        socket.write(args.to_json())
        if not socket.waitForBytesWritten(REPLY_TIMEOUT_MS):
            return None
        reply = b""
        while b"\n" not in reply:
            if not socket.waitForReadyRead(REPLY_TIMEOUT_MS):
                return None  # a window that hangs: better a second window than none
            reply += bytes(socket.readAll().data())
        return HandOverReply.from_json(reply.split(b"\n", 1)[0])
    finally:
        socket.disconnectFromServer()


class InstanceServer(QObject):
    """Listens for later starts on the same data folder. ``handler`` applies their LaunchArgs and
    returns the problems it found, which the start gets as its answer; ``received`` then carries the
    LaunchArgs (after they were applied)."""

    received = Signal(object)  # LaunchArgs

    def __init__(
        self,
        name: str,
        parent: QObject | None = None,
        handler: Callable[[LaunchArgs], Sequence[str]] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("instanceServer")
        self.name = name
        self.handler = handler  # None: nothing to apply, every start is answered ok
        self.server = QLocalServer(self)
        self.server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self.server.newConnection.connect(self._accept)
        self._buffers: dict[QLocalSocket, bytes] = {}

    def listen(self) -> bool:
        """Listen on the name; a stale socket (a crashed window's) is removed first. False when
        another process took the name in the meantime and answers on it."""
        if self.server.listen(self.name):
            return True
        probe = QLocalSocket()
        probe.connectToServer(self.name)
        if probe.waitForConnected(CONNECT_TIMEOUT_MS):
            probe.disconnectFromServer()
            return False  # a live window: the caller hands over instead
        log.info("removing the stale single-instance socket %s", self.name)
        QLocalServer.removeServer(self.name)
        if self.server.listen(self.name):
            return True
        log.warning(
            "cannot listen on %s: %s; a second start will open a second window",
            self.name,
            self.server.errorString(),
        )
        return False

    def close(self) -> None:
        self.server.close()

    @Slot()
    def _accept(self) -> None:
        while self.server.hasPendingConnections():
            socket = self.server.nextPendingConnection()
            if socket is None:
                return
            self._buffers[socket] = b""
            socket.readyRead.connect(lambda s=socket: self._read(s))
            socket.disconnected.connect(lambda s=socket: self._forget(s))

    def _read(self, socket: QLocalSocket) -> None:
        data = self._buffers.get(socket, b"") + bytes(socket.readAll().data())
        if b"\n" not in data:
            if len(data) > MAX_MESSAGE_BYTES:
                socket.abort()
                self._forget(socket)
            else:
                self._buffers[socket] = data
            return
        line = data.split(b"\n", 1)[0]
        self._buffers[socket] = b""
        try:
            args = LaunchArgs.from_json(line)
        except (ValueError, UnicodeDecodeError) as exc:
            log.warning("ignoring an unreadable message from a second start: %s", exc)
            socket.write(b"error\n")
            socket.flush()
            return
        log.info("a second start handed over: %s", args)
        try:
            problems = tuple(self.handler(args)) if self.handler is not None else ()
        except Exception:
            # answer before the crash report, so the second start does not wait and open a window
            self._answer(socket, HandOverReply(False, ("The open window failed to apply them; see its log.",)))
            raise
        self._answer(socket, HandOverReply(not problems, problems))
        self.received.emit(args)

    @staticmethod
    def _answer(socket: QLocalSocket, reply: HandOverReply) -> None:
        socket.write(reply.to_json())
        socket.flush()

    def _forget(self, socket: QLocalSocket) -> None:
        if self._buffers.pop(socket, None) is not None:
            socket.deleteLater()
