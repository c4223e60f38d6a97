"""An engine pool: one request spread over several engines (ComfyUI servers, and this computer).

Behind the same engine protocol. The images of a batch are handed out one seed at a time: each
healthy member takes the next seed when it is free, so a fast server makes more images and a busy
one fewer (the batch is split by what each can do). Members that already ran Z-Image and have the
shortest queue start first. When a member fails in a way another can fix (it stopped answering,
lacks the model files, the server failed), its seed goes back to the others and the member leaves
this job: no image is lost, and none is made twice, because an image counts only once it is saved.

Members run on their own threads; their events come back to the caller's thread through a queue,
so the caller (``run_and_record`` and its SQLite connection) sees every event on its own thread,
with each image's index in the whole batch.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import deque
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from zit_desktop.core.errors import ErrorKind
from zit_desktop.core.events import (
    Cancelled,
    CancelToken,
    Event,
    EventCallback,
    Failed,
    Finished,
    ImageResult,
    ImageSaved,
    JobStarted,
    Notice,
    Preview,
    Result,
    Step,
)
from zit_desktop.core.jobs import EngineLike
from zit_desktop.core.request import GenerationRequest, RequestError, validate

log = logging.getLogger(__name__)

# Failures another member can make up for: the seed goes back to the pool.
HANDED_ON = {ErrorKind.NETWORK.value, ErrorKind.MODEL_MISSING.value, ErrorKind.REMOTE.value}


@dataclass
class Member:
    name: str
    engine: EngineLike
    ran_zimage: bool = False  # it made a Z-Image before: its model is probably loaded
    queue_length: int = 0


@dataclass(frozen=True)
class _From:
    member: str
    index: int
    event: Event | None  # None: the member's loop ended


class EnginePool:
    def __init__(self, members: Sequence[tuple[str, EngineLike]]) -> None:
        self.members = [Member(name, engine) for name, engine in members]

    def close(self) -> None:
        for m in self.members:
            closer = getattr(m.engine, "close", None)
            if callable(closer):
                closer()

    def _healthy(self, on_event: EventCallback, job_id: str) -> tuple[list[Member], list[str]]:
        """Members that answer a check now (engines without ``check`` count as healthy)."""
        def probe(m: Member) -> tuple[Member, str]:
            check = getattr(m.engine, "check", None)
            if not callable(check):
                return m, ""
            try:
                ready = check()
            except Exception as exc:  # noqa: BLE001 - any failure means: not this one
                return m, str(exc)
            m.queue_length = int(getattr(ready, "queue_remaining", 0) or 0)
            return m, "" if getattr(ready, "ok", False) else str(getattr(ready, "message", "not ready"))

        healthy, problems = [], []
        with ThreadPoolExecutor(max_workers=max(1, len(self.members))) as ex:
            for m, problem in ex.map(probe, self.members):
                if problem:
                    problems.append(f"{m.name}: {problem}")
                    on_event(Notice(job_id, "warning", f"{m.name} is left out of this job: {problem}"))
                else:
                    healthy.append(m)
        healthy.sort(key=lambda m: (not m.ran_zimage, m.queue_length))
        return healthy, problems

    def run(self, request: GenerationRequest, on_event: EventCallback, cancel: CancelToken, job_id: str) -> Result:
        try:
            request = request.resolved()
            if request.finalize is None:
                validate(request)
        except RequestError as exc:
            return Failed(job_id, ErrorKind.BAD_INPUT.value, str(exc))
        healthy, problems = self._healthy(on_event, job_id)
        if not healthy:
            return Failed(job_id, ErrorKind.NETWORK.value,
                          "No engine of the pool is ready. " + " ".join(problems or ["The pool is empty."]))
        pending: deque[int] = deque(range(request.count))
        lock = threading.Lock()
        inbox: queue.Queue[_From] = queue.Queue()
        saved: dict[int, ImageResult] = {}
        failures: list[Failed] = []
        stop = threading.Event()  # a failure no other member can fix: end the job

        in_flight = [0]  # seeds some member is working on: one may come back to the pool
        wake = threading.Condition(lock)

        def take() -> int | None:
            with wake:
                while not pending and in_flight[0] and not cancel.cancelled and not stop.is_set():
                    wake.wait(0.2)
                if not pending or cancel.cancelled or stop.is_set():
                    return None
                in_flight[0] += 1
                return pending.popleft()

        def settle(member: Member, index: int, result: Result) -> bool:
            """Book one member's result; True when the member goes on taking seeds."""
            if isinstance(result, Finished):
                member.ran_zimage = True
                return True
            if not result.images and not cancel.cancelled:
                with lock:
                    pending.appendleft(index)  # another member makes this one
            if isinstance(result, Cancelled):
                return False
            with lock:
                failures.append(result)
            if result.kind in HANDED_ON:
                inbox.put(_From(member.name, index, Notice(
                    job_id, "warning", f"{member.name} failed ({result.message}); its images go to the other "
                    "engines.", {"engine": member.name})))
            else:
                stop.set()  # bad input, out of memory...: another engine would fail the same way
            return False

        def work(member: Member) -> None:
            try:
                while (index := take()) is not None:
                    def forward(event: Event, index: int = index) -> None:
                        inbox.put(_From(member.name, index, event))

                    try:
                        goes_on = settle(member, index, member.engine.run(request.single(index), forward, cancel,
                                                                          job_id))
                    finally:
                        with wake:  # after a seed went back, so nobody leaves while it is pending
                            in_flight[0] -= 1
                            wake.notify_all()
                    if not goes_on:
                        return
            except Exception:  # noqa: BLE001 - a bug in a member must not hang the job
                log.exception("pool member %s crashed", member.name)
                with lock:
                    failures.append(Failed(job_id, ErrorKind.INTERNAL.value, f"{member.name} crashed."))
            finally:
                inbox.put(_From(member.name, -1, None))

        threads = [threading.Thread(target=work, args=(m,), name=f"pool-{m.name}", daemon=True) for m in healthy]
        for t in threads:
            t.start()
        running = len(threads)
        while running:
            item = inbox.get()
            if item.event is None:
                running -= 1  # seeds left when the last member is gone are reported missing below
                continue
            self._forward(item, request, saved, on_event, job_id)
        images = tuple(saved[i] for i in sorted(saved))
        if cancel.cancelled:
            return Cancelled(job_id, images)
        if len(saved) == request.count:
            total = sum(im.timings.get("total", 0.0) for im in images)
            return Finished(job_id, images, {"total": round(total, 3)})
        last = failures[-1] if failures else Failed(job_id, ErrorKind.INTERNAL.value, "The pool stopped early.")
        missing = request.count - len(saved)
        message = last.message if len(healthy) == 1 else (
            f"{missing} of {request.count} images could not be made: every engine failed. Last: {last.message}")
        if len(healthy) == 1:  # one engine's own failure: the window can translate it
            return Failed(job_id, last.kind, message, last.detail, images, last.code, last.facts)
        return Failed(job_id, last.kind, message, last.detail, images)

    @staticmethod
    def _forward(item: _From, request: GenerationRequest, saved: dict[int, ImageResult],
                 on_event: EventCallback, job_id: str) -> None:
        event: Any = item.event
        index = item.index
        if isinstance(event, JobStarted):
            on_event(replace(event, index=index, total=request.count, strategy=f"{event.strategy}@{item.member}"))
        elif isinstance(event, (Step, Preview)):
            on_event(replace(event, index=index))
        elif isinstance(event, ImageSaved):
            if index in saved:  # cannot happen by construction; never record an image twice
                log.warning("pool: image %d saved twice; keeping the first", index)
                return
            image = replace(event.image, index=index)
            saved[index] = image
            on_event(replace(event, image=image))
        elif isinstance(event, (Finished, Failed, Cancelled)):
            return  # a member's own terminal event: the pool answers for the whole job
        else:
            on_event(event)
