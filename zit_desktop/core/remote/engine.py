"""``ComfyEngine``: the same engine protocol as the local one, with the pixels made on a ComfyUI server.

It takes a :class:`GenerationRequest`, emits the same typed events (``JobStarted``, ``Step``,
``Preview``, ``ImageSaved``, ``Notice``) and returns one terminal event, so
:func:`zit_desktop.core.jobs.run_and_record`, the window, the history and reuse work unchanged.

One image is one prompt with a prompt id we choose (seeds seed, seed+1, ... as locally). The
websocket is opened before the first submit, so no event of ours is missed; whatever is missed all
the same (a dropped connection) is recovered from ``/history``, which is the source of truth:

* connection lost → reconnect with back-off and the same ``clientId``; then ``/history`` has the job
  (finish it from there), or ``/queue`` still has it (keep waiting), or neither has it (the server
  restarted: resubmit once, then fail clearly);
* cancel → a job still waiting is deleted from the server's queue, a running one interrupted (it
  stops at the next node or step).

The image is fetched with ``/view`` and written with our metadata; the JSON record names the
server, its ComfyUI version and the graph that made it.
"""

from __future__ import annotations

import io
import logging
import re
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from zit_desktop.core.errors import AppError, ErrorKind
from zit_desktop.core.events import (
    Cancelled,
    CancelToken,
    EventCallback,
    Failed,
    Finished,
    ImageResult,
    ImageSaved,
    JobStarted,
    Loading,
    Notice,
    Preview,
    Result,
    Step,
)
from zit_desktop.core.paths import AppPaths
from zit_desktop.core.remote.client import (
    ComfyClient,
    ComfyError,
    Credentials,
    EventStream,
    RemoteProblem,
    ServerMessage,
    decode_preview,
)
from zit_desktop.core.remote.config import RemoteEngineConfig
from zit_desktop.core.remote.graph import (
    OUTPUT_NODE,
    REQUIRED_NODES,
    SAMPLER,
    SAMPLER_NODE,
    ComfyModels,
    comfy_denoise,
    image_to_image_graph,
    text_to_image_graph,
)
from zit_desktop.core.request import REFINE, GenerationRequest, RequestError, validate

log = logging.getLogger(__name__)

MIN_VERSION = (0, 3, 75)  # the first ComfyUI releases that know Z-Image (lumina2 CLIP + AuraFlow sampling)
STRATEGY = "comfyui"
RECONNECT_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0, 8.0)  # seconds between tries after a lost connection
HISTORY_POLL_S = 5.0  # silence this long: ask /history in case an event was lost

# Which loader file is which: name patterns over the servers' combo lists (lower case).
MODEL_PATTERNS: dict[str, tuple[str, tuple[str, ...]]] = {
    "unet": ("UNETLoader", (r"z[_-]?image",)),
    "clip": ("CLIPLoader", (r"qwen[_-]?3.*4b", r"qwen.*4b")),
    "vae": ("VAELoader", (r"^ae\b", r"\bae\.safetensors$", r"flux.*vae", r"z[_-]?image.*vae")),
}
LOADER_INPUT = {"UNETLoader": "unet_name", "CLIPLoader": "clip_name", "VAELoader": "vae_name"}
MODEL_PLACES = {  # role -> (the server's folder, the file to put there)
    "unet": ("models/diffusion_models", "z_image_turbo_bf16.safetensors"),
    "clip": ("models/text_encoders", "qwen_3_4b.safetensors"),
    "vae": ("models/vae", "ae.safetensors"),
}
WHERE_TO_INSTALL = {role: f"{folder} ({file})" for role, (folder, file) in MODEL_PLACES.items()}


@dataclass
class Readiness:
    """What a connection check found out."""

    ok: bool
    message: str  # "ready" or what is missing and where to install it, for the user
    version: str = ""
    device: str = ""
    vram_total: int | None = None
    vram_free: int | None = None
    missing_nodes: list[str] = field(default_factory=list)
    choices: dict[str, list[str]] = field(default_factory=dict)  # role -> matching files
    models: ComfyModels | None = None
    queue_remaining: int = 0
    code: str = ""  # not ready: the RemoteProblem, with its facts, for a translated message
    facts: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok, "message": self.message, "version": self.version, "device": self.device,
            "vram_total": self.vram_total, "vram_free": self.vram_free, "missing_nodes": self.missing_nodes,
            "choices": self.choices, "models": None if self.models is None else vars(self.models),
            "queue_remaining": self.queue_remaining, "code": self.code, "facts": self.facts,
        }


def parse_version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def matching_files(role: str, files: Sequence[str]) -> list[str]:
    _, patterns = MODEL_PATTERNS[role]
    found = [f for f in files if f != "pixel_space" and any(re.search(p, f.lower()) for p in patterns)]
    return sorted(found, key=lambda f: ("bf16" not in f.lower(), f.lower()))


def check_server(client: ComfyClient, config: RemoteEngineConfig) -> Readiness:
    """Version, device and VRAM, the node types Z-Image needs, and the model files in the loaders."""
    stats = client.system_stats()
    system = stats.get("system", {})
    version = str(system.get("comfyui_version") or "")
    devices = stats.get("devices") or [{}]
    dev = devices[0] if isinstance(devices[0], dict) else {}
    ready = Readiness(False, "", version, str(dev.get("name") or dev.get("type") or ""),
                      dev.get("vram_total"), dev.get("vram_free"))
    if version and parse_version(version) < MIN_VERSION:
        ready.message = (f"The server runs ComfyUI {version}; Z-Image-Turbo needs "
                         f"{'.'.join(map(str, MIN_VERSION))} or newer. Update ComfyUI on that machine.")
        ready.code = RemoteProblem.OLD_VERSION
        ready.facts = {"version": version, "needed": ".".join(map(str, MIN_VERSION))}
        return ready
    schemas: dict[str, Any] = {}
    for cls in REQUIRED_NODES:
        info = client.object_info(cls)
        if info is None:
            ready.missing_nodes.append(cls)
        else:
            schemas[cls] = info
    if ready.missing_nodes:
        ready.message = ("The server lacks the core nodes " + ", ".join(ready.missing_nodes)
                         + ". Update ComfyUI on that machine.")
        ready.code, ready.facts = RemoteProblem.MISSING_NODES, {"nodes": list(ready.missing_nodes)}
        return ready
    chosen: dict[str, str] = {}
    missing: list[str] = []
    for role, (cls, _) in MODEL_PATTERNS.items():
        spec = schemas[cls]["input"]["required"][LOADER_INPUT[cls]]
        files = [str(f) for f in (spec[0] if isinstance(spec[0], list) else spec[1].get("options", []))]
        ready.choices[role] = matching_files(role, files)
        wanted = getattr(config, role)
        if wanted and wanted in files:
            chosen[role] = wanted
        elif ready.choices[role]:
            chosen[role] = ready.choices[role][0]
        else:
            missing.append(role)
    if missing:
        ready.message = "Missing on the server: " + "; ".join(
            f"put the {role} file in {WHERE_TO_INSTALL[role]}" for role in missing) + "."
        ready.code = RemoteProblem.MISSING_MODELS
        ready.facts = {"missing": [[role, *MODEL_PLACES[role]] for role in missing]}
        return ready
    ready.models = ComfyModels(unet=chosen["unet"], clip=chosen["clip"], vae=chosen["vae"])
    ready.ok = True
    ready.message = "ready"
    return ready


def credentials_for(config: RemoteEngineConfig) -> Credentials:
    """The sign-in of ``config`` with its secret from the keyring (or this session's memory)."""
    from zit_desktop.core.remote.secrets import load_secret

    if config.auth == "bearer":
        return Credentials(token=load_secret(config.name))
    if config.auth == "basic":
        return Credentials(username=config.username, password=load_secret(config.name))
    return Credentials()


@dataclass
class _Wait:
    """What we learnt about one prompt while waiting for it."""

    prompt_id: str
    started: bool = False
    done: bool = False
    error: dict[str, Any] | None = None
    interrupted: bool = False
    cancel_sent: bool = False
    resubmitted: bool = False
    step: int = 0  # the sampler's last reported step, for the previews
    outputs: list[dict[str, Any]] = field(default_factory=list)


class ComfyEngine:
    """Runs requests on one ComfyUI server. Like the local engine, one worker thread owns it."""

    def __init__(
        self,
        paths: AppPaths,
        config: RemoteEngineConfig,
        credentials: Credentials | None = None,
        *,
        timeout: float = 30.0,
        reconnect_delays: Sequence[float] = RECONNECT_DELAYS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.paths = paths
        self.config = config
        if credentials is None:
            credentials = credentials_for(config)
        self.client = ComfyClient(config.url, credentials=credentials, ca_file=config.ca_file, timeout=timeout)
        self.reconnect_delays = tuple(reconnect_delays)
        self._sleep = sleep
        self.readiness: Readiness | None = None
        self._stream: EventStream | None = None

    # ---- connecting --------------------------------------------------------------------------------
    def check(self) -> Readiness:
        self.readiness = check_server(self.client, self.config)
        return self.readiness

    def _open(self) -> EventStream:
        if self._stream is None:
            self._stream = self.client.connect()
        return self._stream

    def _drop(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None

    def close(self) -> None:
        self._drop()

    def environment(self) -> dict[str, Any]:
        ready = self.readiness
        return {
            "engine": "comfyui",
            "engine_name": self.config.name,
            "server": self.client.url,
            "comfyui_version": ready.version if ready else "",
            "device": ready.device if ready else "",
            "vram_total_bytes": ready.vram_total if ready else None,
            "models": vars(ready.models) if ready and ready.models else {},
        }

    # ---- the protocol ------------------------------------------------------------------------------
    def run(self, request: GenerationRequest, on_event: EventCallback, cancel: CancelToken, job_id: str) -> Result:
        images: list[ImageResult] = []
        try:
            request = request.resolved()
            if request.finalize is None:
                validate(request)
            elif request.finalize.method != REFINE:
                raise RequestError("A ComfyUI engine refines images; upscale them on this computer.", "finalize")
            on_event(Loading("connect", f"Connecting to {self.config.name} ({self.client.url})"))
            ready = self.readiness if self.readiness and self.readiness.ok else self.check()
            if not ready.ok or ready.models is None:
                return Failed(job_id, ErrorKind.MODEL_MISSING.value, f"{self.config.name}: {ready.message}",
                              code=ready.code, facts={**ready.facts, "engine": self.config.name})
            # the window shows this server's card in its VRAM gauge while the job runs here
            on_event(Loading("remote", f"{self.config.name}: ComfyUI {ready.version or '?'} on {ready.device or '?'}",
                             {"engine": self.config.name, "device": ready.device, "vram_total": ready.vram_total,
                              "vram_free": ready.vram_free, "version": ready.version}))
            self._open()
            source_name = self._upload_source(request) if request.finalize else ""
            for index, seed in enumerate(request.seeds()):
                if cancel.cancelled:
                    return Cancelled(job_id, tuple(images))
                single = request.single(index)
                on_event(JobStarted(job_id, index, request.count, seed, STRATEGY))
                outcome = self._run_image(single, ready.models, source_name, index, on_event, cancel, job_id)
                if isinstance(outcome, (Failed, Cancelled)):
                    return replace(outcome, images=tuple(images))
                images.append(outcome.image)
                on_event(outcome)
            return Finished(job_id, tuple(images), {"total": sum(im.timings.get("total", 0.0) for im in images)})
        except RequestError as exc:
            return Failed(job_id, ErrorKind.BAD_INPUT.value, str(exc), images=tuple(images))
        except AppError as exc:
            log.warning("remote engine %s: %s (%s)", self.config.name, exc.message, exc.detail)
            return Failed(job_id, exc.kind.value, f"{self.config.name}: {exc.message}", exc.detail, tuple(images),
                          code=exc.code, facts={**exc.facts, "engine": self.config.name})

    def _upload_source(self, request: GenerationRequest) -> str:
        assert request.finalize is not None
        path = Path(request.finalize.source)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise AppError(ErrorKind.BAD_INPUT, f"The image to refine, {path}, cannot be read ({exc.strerror}).") from None
        return self.client.upload_image(f"zit-{uuid.uuid4().hex[:12]}.png", data)

    def _graph(self, single: GenerationRequest, models: ComfyModels, source_name: str) -> dict[str, Any]:
        if single.finalize is not None:
            return image_to_image_graph(single, models, source_name, comfy_denoise(single.finalize.change))
        return text_to_image_graph(single, models)

    def _run_image(self, single: GenerationRequest, models: ComfyModels, source_name: str, index: int,
                   on_event: EventCallback, cancel: CancelToken, job_id: str) -> ImageSaved | Failed | Cancelled:
        graph = self._graph(single, models, source_name)
        wait = _Wait(str(uuid.uuid4()))
        began = time.monotonic()
        self.client.submit(graph, wait.prompt_id, {"preview_method": "auto"})
        run_began: float | None = None
        last_heard = time.monotonic()
        while not wait.done:
            if cancel.cancelled and not wait.cancel_sent and self._cancel(wait):
                return Cancelled(job_id)  # taken off the server's queue before it ran
            try:
                message = self._open().receive(timeout=0.25)
            except ComfyError:
                self._recover(wait, graph)
                last_heard = time.monotonic()
                continue
            now = time.monotonic()
            if message is None:
                if now - last_heard > HISTORY_POLL_S:
                    last_heard = now
                    self._from_history(wait, graph, allow_resubmit=False)
                continue
            last_heard = now
            if message.prompt_id not in (None, wait.prompt_id):
                continue  # another client's job shares our socket only in tests; ignore it
            if message.type == "execution_start" and message.prompt_id == wait.prompt_id:
                wait.started, run_began = True, now
            elif message.type == "progress" and message.prompt_id == wait.prompt_id:
                if str(message.data.get("node")) == SAMPLER_NODE:
                    step, steps = int(message.data.get("value", 0)), int(message.data.get("max", 1))
                    wait.step = step
                    elapsed = now - (run_began or began)
                    eta = elapsed / step * (steps - step) if step else 0.0
                    on_event(Step(job_id, index, step, steps, elapsed, eta))
            elif message.type == "preview":
                self._preview(message, wait, index, on_event, job_id)
            elif message.type == "execution_error" and message.prompt_id == wait.prompt_id:
                wait.error, wait.done = message.data, True
            elif message.type == "execution_interrupted" and message.prompt_id == wait.prompt_id:
                wait.interrupted, wait.done = True, True
            elif message.type in ("execution_success",) and message.prompt_id == wait.prompt_id:
                self._from_history(wait, graph, allow_resubmit=False)
            elif message.type == "executing" and message.data.get("node") is None \
                    and message.prompt_id == wait.prompt_id:
                self._from_history(wait, graph, allow_resubmit=False)
            elif message.type == "malformed":
                log.warning("remote engine %s sent a malformed frame: %s", self.config.name, message.data)
        return self._finish(wait, single, graph, index, began, run_began, on_event, cancel, job_id)

    def _preview(self, message: ServerMessage, wait: _Wait, index: int, on_event: EventCallback, job_id: str) -> None:
        owner = message.prompt_id
        if owner is None and not wait.started:
            return  # a legacy frame before our job ran belongs to someone else's
        decoded = decode_preview(message)
        if decoded is None:
            return
        width, height, rgb = decoded
        on_event(Preview(job_id, index, wait.step, width, height, rgb))

    def _cancel(self, wait: _Wait) -> bool:
        """Delete a waiting job from the server's queue, interrupt a running one. True when the job is
        gone before it ran (nothing more will come); False when the interrupt is to be waited for."""
        wait.cancel_sent = True
        try:
            if not wait.started:
                self.client.delete_queued([wait.prompt_id])
                running, pending = self.client.queue()
                if wait.prompt_id not in running and wait.prompt_id not in pending:
                    return self.client.history(wait.prompt_id) is None
                wait.started = True  # it started meanwhile
            self.client.interrupt(wait.prompt_id)
        except ComfyError as exc:
            log.warning("cancel on %s failed: %s", self.config.name, exc)
        return False

    def _in_queue(self, prompt_id: str) -> bool:
        running, pending = self.client.queue()
        return prompt_id in running or prompt_id in pending

    def _from_history(self, wait: _Wait, graph: dict[str, Any], allow_resubmit: bool) -> None:
        entry = self.client.history(wait.prompt_id)
        if entry is None:
            if allow_resubmit and not self._in_queue(wait.prompt_id):
                if wait.resubmitted:
                    raise AppError(ErrorKind.REMOTE, "The server lost the job twice (it restarted?). Try again.")
                log.warning("%s forgot job %s (restarted?): submitting it again", self.config.name, wait.prompt_id)
                wait.resubmitted, wait.started = True, False
                self.client.submit(graph, wait.prompt_id, {"preview_method": "auto"})
            return
        status = entry.get("status") or {}
        messages = status.get("messages") or []
        for item in messages:
            if isinstance(item, list) and len(item) == 2:
                if item[0] == "execution_error":
                    wait.error = item[1] if isinstance(item[1], dict) else {}
                elif item[0] == "execution_interrupted":
                    wait.interrupted = True
        if status.get("status_str") == "success" or status.get("completed"):
            outputs = (entry.get("outputs") or {}).get(OUTPUT_NODE, {})
            wait.outputs = [im for im in outputs.get("images", []) if isinstance(im, dict)]
            wait.done = True
        elif status.get("status_str") == "error" or wait.error or wait.interrupted:
            wait.done = True

    def _recover(self, wait: _Wait, graph: dict[str, Any]) -> None:
        """After a lost connection: reconnect with the same clientId, then ask /history and /queue."""
        self._drop()
        for delay in self.reconnect_delays:
            self._sleep(delay)
            try:
                self._open()
            except ComfyError:
                continue
            try:
                self._from_history(wait, graph, allow_resubmit=True)
            except ComfyError:
                self._drop()
                continue
            return
        raise AppError(ErrorKind.NETWORK, f"The connection to {self.client.url} was lost and did not come "
                       "back. Check the server, then generate again.")

    def _finish(self, wait: _Wait, single: GenerationRequest, graph: dict[str, Any], index: int, began: float,
                run_began: float | None, on_event: EventCallback, cancel: CancelToken,
                job_id: str) -> ImageSaved | Failed | Cancelled:
        if wait.interrupted:
            if cancel.cancelled:
                return Cancelled(job_id)
            return Failed(job_id, ErrorKind.REMOTE.value,
                          f"{self.config.name}: the job was interrupted on the server. Generate again.")
        if wait.error is not None:
            return self._failure(wait.error, job_id)
        if not wait.outputs:
            return Failed(job_id, ErrorKind.REMOTE.value,
                          f"{self.config.name}: the server finished the job but saved no image.")
        fetched = time.monotonic()
        out = wait.outputs[0]
        data = self.client.view(str(out.get("filename", "")), str(out.get("subfolder", "")), str(out.get("type", "output")))
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(io.BytesIO(data)) as im:
                picture = im.convert("RGB")
        except (UnidentifiedImageError, OSError):
            return Failed(job_id, ErrorKind.REMOTE.value, f"{self.config.name}: the server sent an image that "
                          "cannot be read.", data[:200].hex())
        if picture.size != (single.width, single.height):
            on_event(Notice(job_id, "warning", f"The server made {picture.width}×{picture.height} instead of "
                            f"{single.width}×{single.height}."))
        end = time.monotonic()
        timings = {"queue": round((run_began or fetched) - began, 3), "run": round(fetched - (run_began or began), 3),
                   "fetch": round(end - fetched, 3), "total": round(end - began, 3)}
        environment = self.environment()
        info = {"strategy": STRATEGY, "engine": f"ComfyUI {environment['comfyui_version']} at {self.client.url}",
                "sampler": SAMPLER,
                "prompt_id": wait.prompt_id, "graph": graph, "timings": timings}
        path = self._save(picture, single, environment, info)
        result = ImageResult(index, single.seed, str(path), picture.width, picture.height, timings, STRATEGY, 0,
                             None, single.to_dict(), environment)
        return ImageSaved(job_id, result, picture)

    def _failure(self, error: dict[str, Any], job_id: str) -> Failed:
        node = error.get("node_id", "?")
        node_type = error.get("node_type", "")
        exc_type = str(error.get("exception_type", ""))
        text = str(error.get("exception_message", "")).strip() or exc_type or "an error"
        detail = "\n".join(str(line) for line in error.get("traceback", []) or [])
        if "OutOfMemory" in exc_type or "out of memory" in text.lower():
            return Failed(job_id, ErrorKind.OUT_OF_MEMORY.value,
                          f"{self.config.name} ran out of memory in node {node} ({node_type}). Choose a smaller "
                          "size, or a server with more VRAM.", detail)
        return Failed(job_id, ErrorKind.REMOTE.value,
                      f"{self.config.name} failed in node {node} ({node_type}): {text}", detail)

    def _save(self, picture: Any, single: GenerationRequest, environment: dict[str, Any], info: dict[str, Any]) -> Path:
        from zit_desktop.core.metadata.write import png_text_chunks, unique_output_path, write_png_atomic

        path = unique_output_path(self.paths.outputs, datetime.now(), single.seed)
        return write_png_atomic(picture, path, png_text_chunks(single, environment, info))
