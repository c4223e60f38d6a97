"""The engine: the only package in ``zit_desktop`` that imports torch / diffusers.

This ``__init__`` stays light (no torch) so that importing the name is cheap; the heavy modules
load on first use, off the GUI thread.

Contract (used by the CLI, the Qt worker and the benchmarks)::

    from zit_desktop.core.engine import Engine
    engine = Engine(paths)                      # AppPaths; settings optional; advisor optional:
                                                # the app's MemoryAdvisor, shared with the window
    result = engine.run(request, on_event, cancel_token)
    # request: core.request.GenerationRequest (seed may be -1: resolved and recorded)
    # on_event: plain callable receiving core.events.* objects, called on the calling thread
    # cancel_token: core.events.CancelToken
    # result: the final event (Finished | Failed | Cancelled), also passed to on_event
    engine.unload()                             # free the pipeline and GPU memory
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

# Before torch is first imported by any engine module: limit fragmentation over long sessions
# (expandable segments), unless the user set their own allocator options.
os.environ.setdefault("PYTORCH_CUDA_ALLOC_CONF", "expandable_segments:True")

if TYPE_CHECKING:
    from zit_desktop.core.engine.runner import Engine

__all__ = ["Engine"]


def __getattr__(name: str) -> Any:
    if name == "Engine":
        from zit_desktop.core.engine.runner import Engine

        return Engine
    raise AttributeError(name)
