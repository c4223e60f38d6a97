"""A local stand-in for the Hugging Face Hub on 127.0.0.1, for download tests.

It speaks the part of the Hub's API that huggingface_hub 2.4.0 uses to download a model:

- ``GET /api/models/{repo}[/revision/{rev}]`` (``model_info``; ``?blobs=True`` adds sizes, ``blobId``
  and ``lfs {size, sha256, pointerSize}``),
- ``GET /api/models/{repo}/tree/{rev}[/{path}]?recursive=true`` (``list_repo_tree``, one page),
- ``HEAD``/``GET /{repo}/resolve/{rev}/{path}`` with ``X-Repo-Commit``, ``ETag``, ``X-Linked-Etag`` and
  ``X-Linked-Size`` (LFS files), ``Content-Length``, ``Accept-Ranges`` and ``Range`` → 206.

Use::

    with HubServer() as hub:
        hub.add_repo("Disty0/Z-Image-Turbo-SDNQ-uint4-svd-r32", {"model_index.json": b"{}", ...})
        hub.add_folder("Tongyi-MAI/Z-Image-Turbo", tiny_model_dir)
        monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", hub.url)  # or HF_ENDPOINT=hub.url
        ...
        hub.requests  # every request: (method, path, headers)

``HF_ENDPOINT`` is read when huggingface_hub is imported (``constants.ENDPOINT``): set the variable
in a subprocess's environment, or patch ``huggingface_hub.constants.ENDPOINT`` in-process (``HfApi``
and the app's downloader read that attribute at call time).

Faults, each for a path (``repo/file``) and a number of times: ``cut[path] = (bytes, times)`` closes
the connection after that many bytes of the body; ``fail[path] = times`` answers 500;
``corrupt[path] = times`` flips one byte of the body; ``delay`` (seconds per 64 KiB chunk) slows
every body down so a test can kill a process halfway.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

LFS_SUFFIXES = (".safetensors", ".gguf", ".bin", ".pt", ".pth", ".onnx")


@dataclass
class HubFile:
    data: bytes
    lfs: bool

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def blob_id(self) -> str:
        return hashlib.sha1(b"blob %d\0" % len(self.data) + self.data).hexdigest()

    @property
    def etag(self) -> str:
        return self.sha256 if self.lfs else self.blob_id


@dataclass
class HubRepo:
    commit: str
    revisions: set[str]
    files: dict[str, HubFile]


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    headers: dict[str, str]


@dataclass
class HubServer:
    repos: dict[str, HubRepo] = field(default_factory=dict)
    requests: list[Seen] = field(default_factory=list)
    cut: dict[str, tuple[int, int]] = field(default_factory=dict)
    fail: dict[str, int] = field(default_factory=dict)
    corrupt: dict[str, int] = field(default_factory=dict)
    delay: float = 0.0
    _server: ThreadingHTTPServer | None = None

    # --- repos -----------------------------------------------------------------------------------

    def add_repo(self, repo: str, files: dict[str, bytes], *, revision: str = "main") -> str:
        """Serve ``files`` (path → bytes) as ``repo`` at ``revision``; returns the commit sha."""
        hub_files = {p: HubFile(d, p.endswith(LFS_SUFFIXES) or len(d) > 1_000_000) for p, d in files.items()}
        digest = hashlib.sha1(repo.encode())
        for path in sorted(hub_files):
            digest.update(path.encode() + b"\0" + hub_files[path].etag.encode())
        commit = digest.hexdigest()
        self.repos[repo] = HubRepo(commit, {revision, commit}, hub_files)
        return commit

    def add_folder(self, repo: str, folder: Path, *, revision: str = "main") -> str:
        """Serve a folder tree (a tiny model built by ``make_tiny_model``) as ``repo``."""
        files = {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
        return self.add_repo(repo, files, revision=revision)

    def ranges(self, path: str) -> list[str]:
        """The Range headers of the GET requests for ``repo/file``."""
        return [s.headers.get("range", "") for s in self.requests if s.method == "GET" and s.path.endswith(path)]

    # --- lifecycle -------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> HubServer:
        hub = self

        class Handler(_Handler):
            server_hub = hub

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> HubServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _take(self, faults: dict[str, Any], key: str) -> Any:
        """Consume one use of a fault for ``key`` (thread-safe enough for tests: the GIL)."""
        value = faults.get(key)
        if value is None:
            return None
        times = value[1] if isinstance(value, tuple) else value
        if times <= 1:
            del faults[key]
        else:
            faults[key] = (value[0], times - 1) if isinstance(value, tuple) else times - 1
        return value


_API = re.compile(r"^/api/models/(?P<repo>[^/]+/[^/]+)(?:/revision/(?P<rev>[^/]+))?$")
_TREE = re.compile(r"^/api/models/(?P<repo>[^/]+/[^/]+)/tree/(?P<rev>[^/]+)(?:/(?P<sub>.*))?$")
_RESOLVE = re.compile(r"^/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<path>.+)$")


class _Handler(BaseHTTPRequestHandler):
    server_hub: HubServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    def do_HEAD(self) -> None:
        self._route(body=False)

    def do_GET(self) -> None:
        self._route(body=True)

    def _route(self, body: bool) -> None:
        hub = self.server_hub
        split = urlsplit(self.path)
        path = unquote(split.path)
        hub.requests.append(Seen(self.command, path, {k.lower(): v for k, v in self.headers.items()}))
        if m := _RESOLVE.match(path):
            self._resolve(m["repo"], m["rev"], m["path"], body)
        elif m := _TREE.match(path):
            self._tree(m["repo"], m["rev"], m["sub"] or "", parse_qs(split.query))
        elif m := _API.match(path):
            self._info(m["repo"], m["rev"] or "main", parse_qs(split.query))
        else:
            self._send_json(404, {"error": "not found"}, {"X-Error-Code": "RepoNotFound"})

    def _repo(self, repo: str, rev: str) -> HubRepo | None:
        found = self.server_hub.repos.get(repo)
        if found is None:
            self._send_json(404, {"error": "Repository not found"}, {"X-Error-Code": "RepoNotFound"})
            return None
        if rev not in found.revisions:
            self._send_json(404, {"error": "Invalid rev id"}, {"X-Error-Code": "RevisionNotFound"})
            return None
        return found

    def _info(self, repo: str, rev: str, query: dict[str, list[str]]) -> None:
        found = self._repo(repo, rev)
        if found is None:
            return
        blobs = query.get("blobs", ["false"])[0].lower() == "true"
        siblings = []
        for p, f in sorted(found.files.items()):
            entry: dict[str, Any] = {"rfilename": p}
            if blobs:
                entry |= {"size": len(f.data), "blobId": f.blob_id}
                if f.lfs:
                    entry["lfs"] = {"size": len(f.data), "sha256": f.sha256, "pointerSize": 134}
            siblings.append(entry)
        self._send_json(200, {"id": repo, "modelId": repo, "sha": found.commit, "private": False, "siblings": siblings})

    def _tree(self, repo: str, rev: str, sub: str, query: dict[str, list[str]]) -> None:
        found = self._repo(repo, rev)
        if found is None:
            return
        recursive = query.get("recursive", ["false"])[0].lower() == "true"
        prefix = sub.strip("/") + "/" if sub.strip("/") else ""
        items: list[dict[str, Any]] = []
        folders: set[str] = set()
        for p, f in sorted(found.files.items()):
            if not p.startswith(prefix):
                continue
            rest = p[len(prefix):]
            parts = rest.split("/")
            for i in range(1, len(parts)):
                folders.add(prefix + "/".join(parts[:i]))
            if not recursive and len(parts) > 1:
                continue
            item: dict[str, Any] = {"type": "file", "oid": f.blob_id, "size": len(f.data), "path": p}
            if f.lfs:
                item["lfs"] = {"oid": f.sha256, "size": len(f.data), "pointerSize": 134}
            items.append(item)
        for d in sorted(folders):
            if recursive or "/" not in d[len(prefix):]:
                items.append({"type": "directory", "oid": hashlib.sha1(d.encode()).hexdigest(), "size": 0, "path": d})
        self._send_json(200, items)

    def _resolve(self, repo: str, rev: str, path: str, body: bool) -> None:
        hub = self.server_hub
        found = self._repo(repo, rev)
        if found is None:
            return
        f = found.files.get(path)
        if f is None:
            self._send_json(404, {"error": "Entry not found"}, {"X-Error-Code": "EntryNotFound"})
            return
        key = f"{repo}/{path}"
        if body and hub._take(hub.fail, key) is not None:
            self._send_json(500, {"error": "Internal Error (test fault)"})
            return
        data = f.data
        if body and hub._take(hub.corrupt, key) is not None:
            data = bytes([data[0] ^ 0xFF]) + data[1:]
        start, status = 0, 200
        if body and (rng := self.headers.get("Range")):
            m = re.match(r"bytes=(\d+)-(\d*)$", rng.strip())
            if m is None or int(m[1]) >= len(data):
                self._send_json(416, {"error": "Range Not Satisfiable"})
                return
            start, status = int(m[1]), 206
            end = int(m[2]) + 1 if m[2] else len(data)
            data = data[start:end]
        headers = {
            "X-Repo-Commit": found.commit, "ETag": f'"{f.etag}"', "Accept-Ranges": "bytes",
            "Content-Type": "application/octet-stream",
        }  # fmt: skip
        if f.lfs:
            headers |= {"X-Linked-Etag": f'"{f.sha256}"', "X-Linked-Size": str(len(f.data))}
        if status == 206:
            headers["Content-Range"] = f"bytes {start}-{start + len(data) - 1}/{len(f.data)}"
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data) if body else len(f.data)))
        self.end_headers()
        if body:
            self._body(key, data)

    def _body(self, key: str, data: bytes) -> None:
        hub = self.server_hub
        cut = hub._take(hub.cut, key)
        limit = cut[0] if cut else len(data)
        try:
            for i in range(0, min(limit, len(data)), 65536):
                self.wfile.write(data[i : min(i + 65536, limit)])
                if hub.delay:
                    self.wfile.flush()
                    time.sleep(hub.delay)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            return
        if cut:
            self.close_connection = True
            self.connection.shutdown(2)

    def _send_json(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
        raw = json.dumps(data).encode()
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(raw)
