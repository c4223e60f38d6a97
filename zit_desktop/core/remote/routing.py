"""The window's engine: this computer, one server or the pool, as ``settings.engine`` says at each job.

The worker thread owns one ``RoutingEngine`` for the whole session. It builds the local engine only
when a job (or the warm-up) needs it, so a user who only sends jobs to a server never loads torch,
and it keeps the remote engines it built while their settings stay the same.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

from zit_desktop.core.events import CancelToken, EventCallback, Loading, Result
from zit_desktop.core.jobs import EngineLike
from zit_desktop.core.paths import AppPaths
from zit_desktop.core.remote.config import LOCAL, POOL, engines_of
from zit_desktop.core.remote.factory import LocalFactory, build_engine
from zit_desktop.core.request import GenerationRequest
from zit_desktop.core.settings import Settings

log = logging.getLogger(__name__)


class RoutingEngine:
    def __init__(self, paths: AppPaths, settings: Settings, local: LocalFactory) -> None:
        self.paths = paths
        self.settings = copy.deepcopy(settings)
        self._make_local = local
        self._local: Any = None
        self._remote: dict[str, tuple[Any, EngineLike]] = {}  # target -> (its config, engine)

    # ---- the local engine, made once -------------------------------------------------------------
    def local(self) -> EngineLike:
        if self._local is None:
            self._local = self._make_local()
            update = getattr(self._local, "update_settings", None)
            if callable(update):
                update(self.settings)
        return self._local  # type: ignore[no-any-return]

    def warm_up(self) -> None:
        """Start what the next job will most likely need: the local engine when it is in use."""
        if self.target() == LOCAL:
            self.local()

    def target(self) -> str:
        return (self.settings.engine or LOCAL).strip() or LOCAL

    def update_settings(self, settings: Settings) -> None:
        self.settings = copy.deepcopy(settings)
        if self._local is not None:
            self._local.update_settings(self.settings)

    @property
    def pipeline(self) -> Any:
        """The local engine's loaded pipeline (None: nothing loaded here); "Free GPU memory" reports it."""
        return getattr(self._local, "pipeline", None)

    def unload(self) -> None:
        if self._local is not None and callable(getattr(self._local, "unload", None)):
            self._local.unload()

    def close(self) -> None:
        for _, engine in self._remote.values():
            closer = getattr(engine, "close", None)
            if callable(closer):
                closer()
        self._remote.clear()

    def _engine_for(self, target: str) -> EngineLike:
        if target.lower() == LOCAL:
            return self.local()
        key = (
            [e.to_dict() for e in engines_of(self.settings)] if target.lower() == POOL
            else next((e.to_dict() for e in engines_of(self.settings) if e.name.lower() == target.lower()), None),
            self.settings.pool_includes_local,
        )
        cached = self._remote.get(target.lower())
        if cached is not None and cached[0] == key:
            return cached[1]
        if cached is not None:
            closer = getattr(cached[1], "close", None)
            if callable(closer):
                closer()
        engine = build_engine(self.paths, self.settings, target, self.local)
        self._remote[target.lower()] = (key, engine)
        return engine

    def run(self, request: GenerationRequest, on_event: EventCallback, cancel: CancelToken, job_id: str) -> Result:
        from zit_desktop.core.errors import AppError
        from zit_desktop.core.events import Failed

        target = self.target()
        try:
            engine = self._engine_for(target)
        except AppError as exc:
            return Failed(job_id, exc.kind.value, exc.message, exc.detail, code=exc.code, facts=exc.facts)
        if target.lower() != LOCAL:
            on_event(Loading("engine-target", f"Sending the job to {target}", {"engine": target}))
        return engine.run(request, on_event, cancel, job_id)
