"""Run one request and record what it saved: the one place where images enter the history.

The Qt worker, ``zit-desktop generate`` and ``zit-desktop history rerun`` all call
:func:`run_and_record`. Its contract:

- every event the engine emits reaches ``on_event`` in order; after each ``ImageSaved`` the image is
  recorded and an ``ImageRecorded`` follows (or a ``Notice(kind="history")`` when recording failed);
- every image on disk gets a row, also in a cancelled or failed batch, and also from an engine that
  only lists its images in the terminal event (each then gets its ``ImageSaved`` first);
- the terminal event (``Finished``, ``Failed`` or ``Cancelled``) comes last and is also returned;
- a finalized image (refine / upscale) is recorded as a child of its source: ``parent_id`` defaults to
  ``request.finalize.source_id``;
- it never raises for an engine bug: that becomes ``Failed(kind="internal")`` with the traceback.

No Qt, no torch: the engine is anything with :class:`EngineLike`'s ``run``.
"""

from __future__ import annotations

import logging
import traceback
import uuid
from typing import TYPE_CHECKING, Any, Protocol

from zit_desktop.core.errors import AppError, ErrorKind
from zit_desktop.core.events import (
    CancelToken,
    Event,
    EventCallback,
    Failed,
    ImageRecorded,
    ImageSaved,
    Notice,
    Result,
)
from zit_desktop.core.request import GenerationRequest

if TYPE_CHECKING:
    from zit_desktop.core.history import HistoryStore

log = logging.getLogger(__name__)

INTERNAL_MESSAGE = (
    "Something went wrong inside ZIT Desktop ({0}). The details are in the log file; please report them."
)
NOT_RECORDED = "{0} is saved, but the history could not record it: {1}."


def _read_picture(path: str) -> Any:
    """The saved image, decoded once here (off the GUI thread) for the window and the thumbnail."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            return im.convert("RGB")
    except (OSError, ValueError) as exc:
        log.warning("cannot read back %s: %s", path, exc)
        return None


class EngineLike(Protocol):
    """What :func:`run_and_record` needs of an engine (the real one, a remote one, a test fake)."""

    def run(
        self, request: GenerationRequest, on_event: EventCallback, cancel: CancelToken, job_id: str
    ) -> Result: ...


def internal_failure(job_id: str, what: str) -> Failed:
    """A bug outside the engine's own handling, as a terminal event (call inside ``except``)."""
    return Failed(job_id, ErrorKind.INTERNAL.value, INTERNAL_MESSAGE.format(what), traceback.format_exc())


def run_and_record(
    engine: EngineLike,
    store: HistoryStore | None,
    request: GenerationRequest,
    on_event: EventCallback,
    *,
    parent_id: int | None = None,
    cancel: CancelToken | None = None,
    job_id: str | None = None,
) -> Result:
    """Run ``request`` on ``engine``, record each saved image in ``store`` (none: record nothing)."""
    job_id = job_id or uuid.uuid4().hex[:12]
    if parent_id is None and request.finalize is not None:
        parent_id = request.finalize.source_id
    recorded: set[str] = set()

    def record(saved: ImageSaved) -> None:
        recorded.add(saved.image.path)
        try:
            on_event(saved)
        finally:  # a caller that fails on the event (a closed pipe) must not cost the image its row
            _add_row(saved)

    def _add_row(saved: ImageSaved) -> None:
        if store is None:
            return
        try:
            row_id = store.add_result(saved.image, parent_id=parent_id, image=saved.picture)
        except Exception as exc:  # the image is safe on disk: say so, and let the batch go on
            log.exception("recording %s in the history failed", saved.image.path)
            reason = exc.message if isinstance(exc, AppError) else "the details are in the log file"
            on_event(Notice(job_id, "history", NOT_RECORDED.format(saved.image.path, reason)))
            return
        on_event(ImageRecorded(job_id, row_id, saved.image))

    def handle(event: Event) -> None:
        if isinstance(event, ImageSaved):
            record(event)
        elif not isinstance(event, Result):  # the terminal event goes out last, below
            on_event(event)

    result: object
    try:
        result = engine.run(request, handle, cancel or CancelToken(), job_id)
        if not isinstance(result, Result):
            raise TypeError(f"the engine returned {type(result).__name__}, not a Finished/Failed/Cancelled event")
    except Exception:
        log.exception("the engine raised instead of returning a result")
        result = internal_failure(job_id, "the engine could not run")
    assert isinstance(result, Result)
    for image in result.images:
        if image.path not in recorded:  # an engine that only lists its images at the end
            record(ImageSaved(job_id, image, _read_picture(image.path)))
    if isinstance(result, Failed):
        log.error("generation failed (%s) [job %s]: %s\n%s", result.kind, job_id, result.message, result.detail)
    on_event(result)
    return result
