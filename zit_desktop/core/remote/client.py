"""A small, synchronous client for one ComfyUI server: its HTTP API and its websocket.

Everything here is what ComfyUI 0.18.1 does on the wire (recordings in ``tests/fixtures/comfyui-0.18.1``):

* ``POST /prompt {prompt, client_id, prompt_id, extra_data}`` → 200 ``{prompt_id, number, node_errors}``
  or 400 ``{error, node_errors}``; ``GET /history/{id}``, ``GET /view``, ``POST /upload/image``,
  ``POST /interrupt {prompt_id}``, ``POST /queue {delete: [...]}``, ``GET /queue``,
  ``GET /object_info/{class}``, ``GET /system_stats``.
* ``/ws?clientId=``: JSON text messages, and binary frames whose first 4 bytes (big-endian) are the
  event type: 1 = a preview image after a 4-byte format (1 JPEG, 2 PNG); 4 = a preview after a
  length-prefixed JSON metadata block (sent once the client announced ``supports_preview_metadata``).
* Events go only to the socket of the ``clientId`` that submitted; those sent while it is away are
  lost. ComfyUI has no authentication of its own: a reverse proxy in front may want
  ``Authorization: Bearer``/``Basic``, which is sent on HTTP and on the websocket alike.
"""

from __future__ import annotations

import base64
import io
import json
import ssl
import struct
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from zit_desktop.core.errors import AppError, ErrorKind

PREVIEW_IMAGE = 1
PREVIEW_IMAGE_WITH_METADATA = 4
IMAGE_FORMATS = {1: "image/jpeg", 2: "image/png"}
DEFAULT_TIMEOUT = 30.0


@dataclass(frozen=True)
class Credentials:
    """How to get past a reverse proxy: a Bearer token, or a user name and password (Basic)."""

    token: str = ""
    username: str = ""
    password: str = ""

    def header(self) -> dict[str, str]:
        if self.token:
            return {"Authorization": f"Bearer {self.token}"}
        if self.username:
            pair = f"{self.username}:{self.password}".encode()
            return {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}
        return {}


@dataclass(frozen=True)
class ServerMessage:
    """One websocket message: ``type``/``data`` of a text message, or a preview image."""

    type: str
    data: dict[str, Any] = field(default_factory=dict)
    image: bytes = b""  # preview frames: the encoded image
    image_type: str = ""  # "image/jpeg" or "image/png"

    @property
    def prompt_id(self) -> str | None:
        value = self.data.get("prompt_id")
        return value if isinstance(value, str) else None


class RemoteProblem(StrEnum):
    """The common remote failures by name (``AppError.code``, ``Readiness.code``), so the window says
    them translated; the English message stays for the CLI and the log. Facts for each:"""

    UNREACHABLE = "unreachable"  # url, reason
    CREDENTIALS = "credentials"  # url, status
    TLS = "tls"  # url, reason
    OLD_VERSION = "old-version"  # version, needed
    MISSING_NODES = "missing-nodes"  # nodes (a list)
    MISSING_MODELS = "missing-models"  # missing: [[role, folder, file], ...] (roles: unet, clip, vae)


class ComfyError(AppError):
    """A failure talking to a ComfyUI server; ``str()`` is for the user."""


class ComfyRejected(ComfyError):
    """``POST /prompt`` answered 400: the graph did not validate. ``problems`` names node and input."""

    def __init__(self, message: str, problems: list[str], body: Mapping[str, Any]) -> None:
        super().__init__(ErrorKind.BAD_INPUT, message, json.dumps(body, ensure_ascii=False)[:4000])
        self.problems = problems


def parse_binary_frame(frame: bytes) -> ServerMessage:
    """A binary websocket frame as a message; malformed frames become type ``"malformed"``."""
    if len(frame) < 8:
        return ServerMessage("malformed", {"reason": f"a binary frame of {len(frame)} bytes"})
    (event,) = struct.unpack(">I", frame[:4])
    if event == PREVIEW_IMAGE:
        (fmt,) = struct.unpack(">I", frame[4:8])
        return ServerMessage("preview", {}, frame[8:], IMAGE_FORMATS.get(fmt, "image/jpeg"))
    if event == PREVIEW_IMAGE_WITH_METADATA:
        (length,) = struct.unpack(">I", frame[4:8])
        if 8 + length > len(frame):
            return ServerMessage("malformed", {"reason": "preview metadata longer than its frame"})
        try:
            meta = json.loads(frame[8:8 + length].decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            return ServerMessage("malformed", {"reason": "preview metadata is not JSON"})
        if not isinstance(meta, dict):
            meta = {}
        return ServerMessage("preview", meta, frame[8 + length:], str(meta.get("image_type") or "image/png"))
    return ServerMessage("binary", {"event": event})


def parse_text_frame(text: str) -> ServerMessage:
    try:
        message = json.loads(text)
    except json.JSONDecodeError:
        return ServerMessage("malformed", {"reason": "a text frame that is not JSON"})
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        return ServerMessage("malformed", {"reason": "a message without a type"})
    data = message.get("data")
    return ServerMessage(message["type"], data if isinstance(data, dict) else {})


def rejection_problems(body: Mapping[str, Any]) -> list[str]:
    """The 400 answer of ``POST /prompt`` in words, one line per node and input."""
    problems: list[str] = []
    raw_error, raw_nodes = body.get("error"), body.get("node_errors")
    error: dict[str, Any] = raw_error if isinstance(raw_error, dict) else {}
    node_errors: dict[str, Any] = raw_nodes if isinstance(raw_nodes, dict) else {}
    for node_id, entry in sorted(node_errors.items()):
        if not isinstance(entry, dict):
            continue
        cls = entry.get("class_type", "?")
        for err in entry.get("errors", []) or []:
            info = err.get("extra_info", {}) if isinstance(err, dict) else {}
            name = info.get("input_name")
            what = err.get("details") or err.get("message") or "rejected"
            received = info.get("received_value")
            text = f"node {node_id} ({cls})"
            if name:
                text += f" input {name!r}"
            text += f": {what}"
            if received is not None and str(received) not in str(what):
                text += f" (got {received!r})"
            problems.append(text)
    if not problems and error:
        info = error.get("extra_info", {}) if isinstance(error.get("extra_info"), dict) else {}
        text = str(error.get("message") or error.get("type") or "the server rejected the job")
        if info.get("class_type"):
            text += f": {info['class_type']} (node {info.get('node_id', '?')})"
        elif error.get("details"):
            text += f": {error['details']}"
        problems.append(text)
    return problems


def _tls_reason(exc: BaseException) -> str:
    return str(getattr(exc, "verify_message", "") or getattr(exc, "reason", "") or exc)


def tls_message(url: str, exc: BaseException) -> str:
    return (f"The secure connection to {url} failed ({_tls_reason(exc)}). If the server uses its own "
            "certificate, choose its CA file in the engine's settings.")


def tls_error(url: str, exc: BaseException, detail: str) -> ComfyError:
    return ComfyError(ErrorKind.NETWORK, tls_message(url, exc), detail, code=RemoteProblem.TLS,
                      facts={"url": url, "reason": _tls_reason(exc)})


class ComfyClient:
    """One server. HTTP calls are short-lived; :meth:`connect` opens the event stream."""

    def __init__(
        self,
        url: str,
        *,
        credentials: Credentials | None = None,
        ca_file: str = "",
        client_id: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        parsed = urllib.parse.urlsplit(url.strip().rstrip("/") or "http://127.0.0.1:8188")
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ComfyError(
                ErrorKind.BAD_INPUT,
                f"{url!r} is not a server address. Use the form http://HOST:8188 or https://HOST.",
            )
        self.url = urllib.parse.urlunsplit((parsed.scheme, parsed.netloc, parsed.path, "", ""))
        self.credentials = credentials or Credentials()
        self.client_id = client_id or f"zit-desktop-{uuid.uuid4()}"
        self.timeout = timeout
        self._ssl: ssl.SSLContext | None = None
        if parsed.scheme == "https":
            self._ssl = ssl.create_default_context(cafile=ca_file or None)

    # ---- HTTP ------------------------------------------------------------------------------------
    def _request(self, method: str, path: str, body: bytes | None = None,
                 content_type: str = "", timeout: float | None = None) -> tuple[int, bytes, str]:
        headers = {"Accept": "application/json", **self.credentials.header()}
        if content_type:
            headers["Content-Type"] = content_type
        req = urllib.request.Request(self.url + path, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout or self.timeout, context=self._ssl) as resp:
                return resp.status, resp.read(), resp.headers.get("Content-Type", "")
        except urllib.error.HTTPError as exc:
            data = exc.read() if exc.fp is not None else b""
            if exc.code in (401, 403):
                raise ComfyError(
                    ErrorKind.NETWORK,
                    f"The server at {self.url} refused the credentials (HTTP {exc.code}). Check the token "
                    "or user name and password in the engine's settings.",
                    code=RemoteProblem.CREDENTIALS, facts={"url": self.url, "status": exc.code},
                ) from None
            return exc.code, data, exc.headers.get("Content-Type", "") if exc.headers else ""
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            reason = getattr(exc, "reason", exc)
            if isinstance(reason, ssl.SSLError) or isinstance(exc, ssl.SSLError):
                raise tls_error(self.url, reason, repr(exc)) from None
            raise ComfyError(
                ErrorKind.NETWORK,
                f"Cannot reach the ComfyUI server at {self.url} ({reason}). Check that it runs and that "
                "this computer can reach it.",
                repr(exc), code=RemoteProblem.UNREACHABLE, facts={"url": self.url, "reason": str(reason)},
            ) from None

    def _json(self, method: str, path: str, payload: Any = None, timeout: float | None = None) -> Any:
        body = None if payload is None else json.dumps(payload).encode("utf-8")
        status, data, _ = self._request(method, path, body, "application/json" if body else "", timeout)
        if status >= 400:
            raise ComfyError(ErrorKind.NETWORK, f"The server at {self.url} answered HTTP {status} to {path}.",
                             data[:2000].decode("utf-8", "replace"))
        if not data:
            return None
        try:
            return json.loads(data)
        except json.JSONDecodeError:
            raise ComfyError(ErrorKind.NETWORK,
                             f"{self.url} answered {path} with something that is not ComfyUI's JSON. "
                             "Is this address a ComfyUI server?", data[:500].decode("utf-8", "replace")) from None

    def system_stats(self) -> dict[str, Any]:
        stats = self._json("GET", "/system_stats")
        if not isinstance(stats, dict) or "system" not in stats:
            raise ComfyError(ErrorKind.NETWORK, f"{self.url} does not look like a ComfyUI server "
                             "(no /system_stats).")
        return stats

    def object_info(self, class_type: str) -> dict[str, Any] | None:
        """The schema of one node class, or None when the server does not have it."""
        status, data, _ = self._request("GET", "/object_info/" + urllib.parse.quote(class_type))
        if status == 404 or status >= 400:
            return None
        try:
            info = json.loads(data)
        except json.JSONDecodeError:
            return None
        return info.get(class_type) if isinstance(info, dict) else None

    def submit(self, graph: Mapping[str, Any], prompt_id: str, extra_data: Mapping[str, Any] | None = None) -> int:
        """Queue ``graph`` under our ``prompt_id``; returns its queue number. Raises
        :class:`ComfyRejected` with readable problems on a 400."""
        payload = {"prompt": graph, "client_id": self.client_id, "prompt_id": prompt_id,
                   "extra_data": dict(extra_data or {})}
        status, data, _ = self._request("POST", "/prompt", json.dumps(payload).encode("utf-8"), "application/json")
        try:
            body = json.loads(data) if data else {}
        except json.JSONDecodeError:
            body = {}
        if status == 400 or (isinstance(body, dict) and status >= 400 and "error" in body):
            problems = rejection_problems(body if isinstance(body, dict) else {})
            message = "The ComfyUI server rejected the job: " + "; ".join(problems or ["no reason given"])
            raise ComfyRejected(message, problems, body if isinstance(body, dict) else {})
        if status >= 400 or not isinstance(body, dict):
            raise ComfyError(ErrorKind.NETWORK, f"The server at {self.url} answered HTTP {status} to a new job.",
                             data[:2000].decode("utf-8", "replace"))
        return int(body.get("number", 0))

    def history(self, prompt_id: str) -> dict[str, Any] | None:
        """The history entry of ``prompt_id``, or None when the server does not know it (yet)."""
        body = self._json("GET", "/history/" + urllib.parse.quote(prompt_id))
        entry = body.get(prompt_id) if isinstance(body, dict) else None
        return entry if isinstance(entry, dict) else None

    def queue(self) -> tuple[list[str], list[str]]:
        """The prompt ids running and waiting on the server."""
        body = self._json("GET", "/queue") or {}

        def ids(items: Any) -> list[str]:
            return [str(item[1]) for item in items or [] if isinstance(item, list) and len(item) > 1]

        return ids(body.get("queue_running")), ids(body.get("queue_pending"))

    def view(self, filename: str, subfolder: str = "", kind: str = "output") -> bytes:
        query = urllib.parse.urlencode({"filename": filename, "subfolder": subfolder, "type": kind})
        status, data, _ = self._request("GET", "/view?" + query, timeout=max(self.timeout, 120))
        if status >= 400:
            raise ComfyError(ErrorKind.NETWORK, f"The server at {self.url} could not send the image {filename} "
                             f"(HTTP {status}).")
        return data

    def upload_image(self, name: str, data: bytes) -> str:
        """Upload a PNG into the server's input folder; returns the name to use in ``LoadImage``."""
        boundary = "zit-" + uuid.uuid4().hex
        parts = [
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"{name}\"\r\n"
            "Content-Type: image/png\r\n\r\n".encode() + data + b"\r\n",
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"type\"\r\n\r\ninput\r\n".encode(),
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"overwrite\"\r\n\r\ntrue\r\n".encode(),
            f"--{boundary}--\r\n".encode(),
        ]
        status, body, _ = self._request("POST", "/upload/image", b"".join(parts),
                                        f"multipart/form-data; boundary={boundary}", timeout=max(self.timeout, 120))
        if status >= 400:
            raise ComfyError(ErrorKind.NETWORK, f"The server at {self.url} did not take the image (HTTP {status}).")
        try:
            answer = json.loads(body)
        except json.JSONDecodeError:
            answer = {}
        sub = answer.get("subfolder") or ""
        return f"{sub}/{answer['name']}" if sub else str(answer.get("name") or name)

    def interrupt(self, prompt_id: str) -> None:
        self._request("POST", "/interrupt", json.dumps({"prompt_id": prompt_id}).encode(), "application/json")

    def delete_queued(self, prompt_ids: Iterable[str]) -> None:
        self._request("POST", "/queue", json.dumps({"delete": list(prompt_ids)}).encode(), "application/json")

    # ---- websocket -------------------------------------------------------------------------------
    def ws_url(self) -> str:
        parsed = urllib.parse.urlsplit(self.url)
        scheme = "wss" if parsed.scheme == "https" else "ws"
        query = urllib.parse.urlencode({"clientId": self.client_id})
        return urllib.parse.urlunsplit((scheme, parsed.netloc, parsed.path.rstrip("/") + "/ws", query, ""))

    def connect(self) -> EventStream:
        return EventStream(self)


class EventStream:
    """The websocket of one ``clientId``; iterate with :meth:`receive`. Announces preview metadata."""

    def __init__(self, client: ComfyClient) -> None:
        from websockets.exceptions import InvalidStatus, WebSocketException
        from websockets.sync.client import connect

        self.client = client
        try:
            self._ws = connect(
                client.ws_url(), additional_headers=client.credentials.header(), ssl=client._ssl,
                open_timeout=client.timeout, max_size=64 * 1024 * 1024, ping_interval=20, ping_timeout=60,
                legacy=True,  # a plain connection we close ourselves (websockets 17.1's explicit opt-in)
            )
        except InvalidStatus as exc:
            code = exc.response.status_code
            raise ComfyError(ErrorKind.NETWORK, f"The server at {client.url} refused the event stream "
                             f"(HTTP {code}). Check the engine's credentials.") from None
        except ssl.SSLError as exc:
            raise tls_error(client.url, exc, repr(exc)) from None
        except (OSError, TimeoutError, WebSocketException) as exc:
            raise ComfyError(ErrorKind.NETWORK, f"Cannot open the event stream of {client.url} ({exc}).",
                             repr(exc)) from None
        self._ws.send(json.dumps({"type": "feature_flags", "data": {"supports_preview_metadata": True}}))

    def receive(self, timeout: float) -> ServerMessage | None:
        """The next message, or None after ``timeout`` seconds of silence. Raises
        :class:`ComfyError` (kind network) when the connection is lost."""
        from websockets.exceptions import ConnectionClosed

        try:
            frame = self._ws.recv(timeout=timeout)
        except TimeoutError:
            return None
        except (ConnectionClosed, OSError) as exc:
            raise ComfyError(ErrorKind.NETWORK, f"The connection to {self.client.url} was lost.", repr(exc)) from None
        if isinstance(frame, bytes):
            return parse_binary_frame(frame)
        return parse_text_frame(frame)

    def close(self) -> None:
        try:
            self._ws.close()
        except Exception:  # noqa: BLE001 - closing a dead socket
            pass


def decode_preview(message: ServerMessage, max_side: int = 512) -> tuple[int, int, bytes] | None:
    """A preview frame as (width, height, RGB888 bytes), or None when it is not a readable image."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(message.image)) as im:
            rgb = im.convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError):
        return None
    if max(rgb.size) > max_side:
        rgb.thumbnail((max_side, max_side))
    return rgb.width, rgb.height, rgb.tobytes()
