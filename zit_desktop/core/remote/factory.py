"""Build the engine that ``settings.engine`` (or ``--engine``) names: this computer, a server, the pool.

The local engine comes from a callable the caller passes in (the CLI and the window build it lazily,
with torch), so this module never imports it.
"""

from __future__ import annotations

from collections.abc import Callable

from zit_desktop.core.errors import AppError, ErrorKind
from zit_desktop.core.jobs import EngineLike
from zit_desktop.core.paths import AppPaths
from zit_desktop.core.remote.config import LOCAL, POOL, engines_of, find_engine
from zit_desktop.core.remote.engine import ComfyEngine
from zit_desktop.core.remote.pool import EnginePool
from zit_desktop.core.settings import Settings

LocalFactory = Callable[[], EngineLike]
POOL_RECONNECT_DELAYS = (0.5, 1.0, 2.0, 4.0)  # a pool member gives up sooner: the others take its seeds


def engine_names(settings: Settings) -> list[str]:
    return [LOCAL, *(e.name for e in engines_of(settings)), *([POOL] if engines_of(settings) else [])]


def build_engine(paths: AppPaths, settings: Settings, target: str, local: LocalFactory) -> EngineLike:
    """The engine for ``target``: "local", a listed engine's name, or "pool"."""
    name = (target or LOCAL).strip()
    if name.lower() == LOCAL:
        return local()
    if name.lower() == POOL:
        configs = engines_of(settings)
        if not configs:
            raise AppError(ErrorKind.BAD_INPUT, "The pool is empty: add a server first (zit-desktop engines add, "
                           "or Settings → Engines in the window).")
        members: list[tuple[str, EngineLike]] = [(c.name, ComfyEngine(paths, c, reconnect_delays=POOL_RECONNECT_DELAYS))
                                                 for c in configs]
        if settings.pool_includes_local:
            members.append((LOCAL, local()))
        return EnginePool(members)
    config = find_engine(settings, name)
    if config is None:
        known = ", ".join(engine_names(settings))
        raise AppError(ErrorKind.BAD_INPUT, f"There is no engine called {name!r}. Known: {known}. Add one with "
                       "zit-desktop engines add NAME URL.")
    return ComfyEngine(paths, config)
