"""A fake ComfyUI 0.18.1 on 127.0.0.1 that behaves as the recordings in ``tests/fixtures/comfyui-0.18.1`` show.

Faithful where a client can tell: the same JSON shapes and binary frames (type 4 with metadata after
``feature_flags``, else type 1 + PNG), the validator's 400 answers (``value_not_in_list``,
``missing_node_type``), events only to the submitting ``clientId`` and lost while it is away,
``executing {node: null}`` at the end, interrupt at the next step, ``POST /queue {delete}``, and a
restart that forgets queue and history (outputs stay on disk). What it cannot be: a sampler. It
"renders" a PNG of the requested size whose colour comes from the seed, so tests can tell images apart.

Knobs: ``step_delay`` (seconds per sampler step), ``fail_next`` (an ``execution_error`` like the
recorded one), ``token`` (require ``Authorization: Bearer``), ``models`` (the loader combo lists),
``ssl_context``; and :meth:`restart`, :meth:`drop_sockets`, :meth:`stop`.
"""

from __future__ import annotations

import asyncio
import copy
import io
import json
import ssl
import struct
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web
from PIL import Image

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "comfyui-0.18.1"
DEFAULT_MODELS = {
    "unet_name": ["z_image_turbo_bf16.safetensors"],
    "clip_name": ["qwen_3_4b.safetensors"],
    "vae_name": ["ae.safetensors", "pixel_space"],
}
LOADERS = {"UNETLoader": "unet_name", "CLIPLoader": "clip_name", "VAELoader": "vae_name"}


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def recorded_execution_error() -> dict[str, Any]:
    for line in (FIXTURES / "execution_error.jsonl").read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        if item.get("kind") == "ws_text" and item["data"]["type"] == "execution_error":
            return item["data"]["data"]
    raise AssertionError("the recording has no execution_error")


@dataclass
class Job:
    number: int
    prompt_id: str
    prompt: dict[str, Any]
    client_id: str
    extra_data: dict[str, Any]
    interrupted: bool = False


@dataclass
class FakeState:
    history: dict[str, Any] = field(default_factory=dict)
    queue: list[Job] = field(default_factory=list)
    running: Job | None = None
    number: int = 0
    sockets: dict[str, list[web.WebSocketResponse]] = field(default_factory=dict)
    metadata_clients: set[str] = field(default_factory=set)
    uploads: dict[str, bytes] = field(default_factory=dict)
    outputs: dict[str, bytes] = field(default_factory=dict)  # on disk: they survive a restart
    counter: int = 0


class FakeComfy:
    def __init__(self, *, step_delay: float = 0.0, token: str = "", models: dict[str, list[str]] | None = None,
                 ssl_context: ssl.SSLContext | None = None, version: str = "0.18.1",
                 missing_nodes: tuple[str, ...] = ()) -> None:
        self.step_delay = step_delay
        self.token = token
        self.models = copy.deepcopy(models or DEFAULT_MODELS)
        self.ssl_context = ssl_context
        self.version = version
        self.missing_nodes = set(missing_nodes)
        self.fail_next = False
        self.state = FakeState()
        self.requests: list[tuple[str, str, dict[str, str]]] = []  # (method, path, headers)
        self.ws_opens: list[dict[str, str]] = []
        self.executed: list[str] = []  # prompt ids that ran to the end
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._wake: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stop_lock = threading.Lock()
        self.port = 0

    # ---- life ----------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"{'https' if self.ssl_context else 'http'}://127.0.0.1:{self.port}"

    def start(self) -> FakeComfy:
        self._thread = threading.Thread(target=self._serve, daemon=True, name="fake-comfy")
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the fake ComfyUI did not start")
        return self

    def _serve(self) -> None:
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._start_site())
        self._ready.set()
        self._loop.run_forever()

    async def _start_site(self, port: int = 0) -> None:
        self._wake = asyncio.Event()
        app = web.Application(middlewares=[self._auth], client_max_size=64 * 1024 * 1024)
        app.add_routes([
            web.get("/system_stats", self._system_stats),
            web.get("/object_info/{cls}", self._object_info),
            web.post("/prompt", self._prompt),
            web.get("/history/{pid}", self._history_one),
            web.get("/history", self._history_all),
            web.get("/queue", self._queue_get),
            web.post("/queue", self._queue_post),
            web.post("/interrupt", self._interrupt),
            web.get("/view", self._view),
            web.post("/upload/image", self._upload),
            web.get("/ws", self._ws),
        ])
        self._runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port or self.port, ssl_context=self.ssl_context)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._worker = asyncio.ensure_future(self._work())

    def call(self, coro_fn, *args) -> Any:
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro_fn(*args), self._loop).result(10)

    def stop(self) -> None:
        """Stop for good; safe to call twice, also at once from two threads (a test kills a server
        from an event while its fixture stops every server at the end)."""
        with self._stop_lock:
            if self._loop is None:
                return
            self.call(self._shutdown)
            self._loop.call_soon_threadsafe(self._loop.stop)
            if self._thread:
                self._thread.join(5)
            self._loop = None

    async def _shutdown(self) -> None:
        self._worker.cancel()
        for sockets in list(self.state.sockets.values()):
            for ws in list(sockets):
                await ws.close(code=1006)
        if self._runner:
            await self._runner.cleanup()

    def restart(self, down_for: float = 0.0) -> None:
        """Stop the server (queue, history and sockets are gone; outputs stay) and start it again."""
        self.call(self._shutdown)
        outputs = self.state.outputs
        self.state = FakeState(outputs=outputs, counter=self.state.counter)
        time.sleep(down_for)
        self.call(self._start_site, self.port)

    def drop_sockets(self) -> None:
        """Close every websocket from the server side, as a flaky network would."""
        async def drop() -> None:
            for sockets in list(self.state.sockets.values()):
                for ws in list(sockets):
                    await ws.close(code=1011)
        self.call(drop)

    # ---- HTTP ----------------------------------------------------------------------------------
    @web.middleware
    async def _auth(self, request: web.Request, handler):
        self.requests.append((request.method, request.path_qs, dict(request.headers)))
        if self.token and request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.Response(status=401, text="401: Unauthorized")
        return await handler(request)

    async def _system_stats(self, request: web.Request) -> web.Response:
        stats = fixture("system_stats.json")
        stats["system"]["comfyui_version"] = self.version
        return web.json_response(stats)

    def _schemas(self) -> dict[str, Any]:
        info = fixture("object_info_subset.json")
        for cls, name in LOADERS.items():
            info[cls]["input"]["required"][name][0] = list(self.models[name])
        info["LoadImage"]["input"]["required"]["image"][0] = sorted(self.state.uploads) + ["example.png"]
        for cls in self.missing_nodes:
            info.pop(cls, None)
        return info

    async def _object_info(self, request: web.Request) -> web.Response:
        cls = request.match_info["cls"]
        schemas = self._schemas()
        return web.json_response({cls: schemas[cls]} if cls in schemas else {})

    def _validate(self, prompt: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]] | None:
        schemas = self._schemas()
        for node_id, node in prompt.items():
            if node.get("class_type") not in schemas:
                return ({"type": "missing_node_type",
                         "message": f"Node '{node.get('class_type')}' not found. The custom node may not be installed.",
                         "details": f"Node ID '#{node_id}'",
                         "extra_info": {"node_id": node_id, "class_type": node.get("class_type"),
                                        "node_title": node.get("_meta", {}).get("title", node.get("class_type"))}},
                        {})
        node_errors: dict[str, Any] = {}
        for node_id, node in prompt.items():
            required = schemas[node["class_type"]]["input"]["required"]
            for name, spec in required.items():
                value = node.get("inputs", {}).get(name)
                if isinstance(spec[0], list) and value not in spec[0]:
                    entry = node_errors.setdefault(node_id, {"errors": [], "dependent_outputs": ["9"],
                                                            "class_type": node["class_type"]})
                    entry["errors"].append({
                        "type": "value_not_in_list", "message": "Value not in list",
                        "details": f"{name}: '{value}' not in {spec[0]}",
                        "extra_info": {"input_name": name, "input_config": spec, "received_value": value}})
        if node_errors:
            return ({"type": "prompt_outputs_failed_validation", "message": "Prompt outputs failed validation",
                     "details": "", "extra_info": {}}, node_errors)
        return None

    async def _prompt(self, request: web.Request) -> web.Response:
        body = await request.json()
        prompt = body.get("prompt") or {}
        problem = self._validate(prompt)
        if problem is not None:
            error, node_errors = problem
            return web.json_response({"error": error, "node_errors": node_errors}, status=400)
        pid = body.get("prompt_id") or f"fake-{self.state.number}"
        job = Job(self.state.number, pid, prompt, body.get("client_id", ""), body.get("extra_data") or {})
        self.state.number += 1
        self.state.queue.append(job)
        await self._send_status(job.client_id)
        assert self._wake is not None
        self._wake.set()
        return web.json_response({"prompt_id": pid, "number": job.number, "node_errors": {}})

    async def _history_one(self, request: web.Request) -> web.Response:
        pid = request.match_info["pid"]
        entry = self.state.history.get(pid)
        return web.json_response({pid: entry} if entry else {})

    async def _history_all(self, request: web.Request) -> web.Response:
        return web.json_response(self.state.history)

    def _queue_item(self, job: Job) -> list[Any]:
        return [job.number, job.prompt_id, job.prompt, job.extra_data, ["9"]]

    async def _queue_get(self, request: web.Request) -> web.Response:
        running = [self._queue_item(self.state.running)] if self.state.running else []
        return web.json_response({"queue_running": running,
                                  "queue_pending": [self._queue_item(j) for j in self.state.queue]})

    async def _queue_post(self, request: web.Request) -> web.Response:
        body = await request.json()
        doomed = set(body.get("delete") or [])
        clients = {j.client_id for j in self.state.queue if j.prompt_id in doomed}
        self.state.queue = [j for j in self.state.queue if j.prompt_id not in doomed]
        for client in clients:
            await self._send_status(client)
        return web.Response(status=200)

    async def _interrupt(self, request: web.Request) -> web.Response:
        body = await request.json() if request.can_read_body else {}
        running = self.state.running
        if running and (not body.get("prompt_id") or body["prompt_id"] == running.prompt_id):
            running.interrupted = True
        return web.Response(status=200)

    async def _view(self, request: web.Request) -> web.Response:
        name = request.query.get("filename", "")
        data = self.state.outputs.get(name)
        if data is None:
            return web.Response(status=404)
        return web.Response(body=data, content_type="image/png")

    async def _upload(self, request: web.Request) -> web.Response:
        reader = await request.multipart()
        name, data = "", b""
        async for part in reader:
            if part.name == "image":
                name, data = part.filename or "upload.png", await part.read()
        self.state.uploads[name] = data
        return web.json_response({"name": name, "subfolder": "", "type": "input"})

    # ---- websocket -----------------------------------------------------------------------------
    async def _ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        client = request.query.get("clientId", "")
        self.ws_opens.append(dict(request.headers))
        self.state.sockets.setdefault(client, []).append(ws)
        await ws.send_json({"type": "status", "data": {"status": {"exec_info": {
            "queue_remaining": len(self.state.queue) + bool(self.state.running)}}, "sid": client}})
        if self.state.running and self.state.running.client_id == client:
            await ws.send_json({"type": "executing", "data": {"node": "3"}})  # as the recording: no prompt_id
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    data = json.loads(msg.data)
                    if data.get("type") == "feature_flags":
                        if data.get("data", {}).get("supports_preview_metadata"):
                            self.state.metadata_clients.add(client)
                        await ws.send_json({"type": "feature_flags", "data": {
                            "supports_preview_metadata": True, "max_upload_size": 104857600,
                            "extension": {"manager": {"supports_v4": True}}, "node_replacements": True,
                            "assets": False}})
        finally:
            sockets = self.state.sockets.get(client, [])
            if ws in sockets:
                sockets.remove(ws)
        return ws

    async def _send(self, client: str, message: dict[str, Any] | bytes) -> None:
        for ws in list(self.state.sockets.get(client, [])):  # nobody listening: the event is lost
            try:
                if isinstance(message, bytes):
                    await ws.send_bytes(message)
                else:
                    await ws.send_json(message)
            except (ConnectionError, RuntimeError):
                pass

    async def _send_status(self, client: str) -> None:
        remaining = len(self.state.queue) + bool(self.state.running)
        await self._send(client, {"type": "status", "data": {"status": {"exec_info": {"queue_remaining": remaining}}}})

    # ---- execution -----------------------------------------------------------------------------
    async def _work(self) -> None:
        assert self._wake is not None
        while True:
            if not self.state.queue:
                self._wake.clear()
                await self._wake.wait()
                continue
            job = self.state.queue.pop(0)
            self.state.running = job
            try:
                await self._execute(job)
            finally:
                self.state.running = None

    async def _execute(self, job: Job) -> None:
        pid, client = job.prompt_id, job.client_id
        messages: list[list[Any]] = []

        async def event(kind: str, data: dict[str, Any], record: bool = False) -> None:
            if record:
                messages.append([kind, data])
            await self._send(client, {"type": kind, "data": data})

        now = lambda: int(time.time() * 1000)  # noqa: E731
        await self._send_status(client)
        await event("execution_start", {"prompt_id": pid, "timestamp": now()}, True)
        await event("execution_cached", {"nodes": [], "prompt_id": pid, "timestamp": now()}, True)
        if self.fail_next:
            self.fail_next = False
            error = dict(recorded_execution_error(), prompt_id=pid, timestamp=now())
            await event("executing", {"node": "29", "display_node": "29", "prompt_id": pid})
            await event("execution_error", error, True)
            self._record(job, messages, "error", {})
            await self._end(job)
            return
        sampler = next((n for n in job.prompt.values() if n["class_type"] == "KSampler"), None)
        steps = int(sampler["inputs"]["steps"]) if sampler else 1
        seed = int(sampler["inputs"]["seed"]) if sampler else 0
        width, height = self._size(job.prompt)
        await event("executing", {"node": "3", "display_node": "3", "prompt_id": pid})
        for step in range(1, steps + 1):
            await asyncio.sleep(self.step_delay)
            if job.interrupted:  # takes effect at the next step, as ComfyUI's does
                await event("execution_interrupted", {"prompt_id": pid, "node_id": "3", "node_type": "KSampler",
                                                      "executed": [], "timestamp": now()}, True)
                self._record(job, messages, "error", {})
                await self._end(job)
                return
            await event("progress", {"value": step, "max": steps, "prompt_id": pid, "node": "3"})
            if step == steps // 2:
                await self._send(client, self._preview_frame(job, seed))
        await event("executing", {"node": "8", "display_node": "8", "prompt_id": pid})
        await event("executing", {"node": "9", "display_node": "9", "prompt_id": pid})
        self.state.counter += 1
        name = f"zit-desktop_{self.state.counter:05d}_.png"
        self.state.outputs[name] = self._render(width, height, seed)
        images = {"images": [{"filename": name, "subfolder": "", "type": "output"}]}
        await event("executed", {"node": "9", "display_node": "9", "output": images, "prompt_id": pid})
        await event("execution_success", {"prompt_id": pid, "timestamp": now()}, True)
        self._record(job, messages, "success", {"9": images})
        self.executed.append(pid)
        await self._end(job)

    async def _end(self, job: Job) -> None:
        self.state.running = None
        await self._send_status(job.client_id)
        await self._send(job.client_id, {"type": "executing", "data": {"node": None, "prompt_id": job.prompt_id}})

    def _record(self, job: Job, messages: list[list[Any]], status: str, outputs: dict[str, Any]) -> None:
        self.state.history[job.prompt_id] = {
            "prompt": [job.number, job.prompt_id, job.prompt, job.extra_data, ["9"]],
            "outputs": outputs,
            "status": {"status_str": status, "completed": status == "success", "messages": messages},
            "meta": {},
        }

    @staticmethod
    def _size(prompt: dict[str, Any]) -> tuple[int, int]:
        for node in prompt.values():
            if node["class_type"] in ("EmptySD3LatentImage", "ImageScale"):
                return int(node["inputs"]["width"]), int(node["inputs"]["height"])
        return 64, 64

    @staticmethod
    def _render(width: int, height: int, seed: int) -> bytes:
        colour = ((seed * 67) % 256, (seed * 131) % 256, (seed * 199) % 256)
        buf = io.BytesIO()
        Image.new("RGB", (width, height), colour).save(buf, format="PNG")
        return buf.getvalue()

    def _preview_frame(self, job: Job, seed: int) -> bytes:
        buf = io.BytesIO()
        Image.new("RGB", (32, 32), (seed % 256, 10, 10)).save(buf, format="JPEG")
        image = buf.getvalue()
        if job.client_id in self.state.metadata_clients:
            meta = json.dumps({"node_id": "3", "prompt_id": job.prompt_id, "display_node_id": "3",
                               "parent_node_id": None, "real_node_id": "3", "image_type": "image/jpeg"}).encode()
            return struct.pack(">II", 4, len(meta)) + meta + image
        return struct.pack(">II", 1, 1) + image
