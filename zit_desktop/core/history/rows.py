"""Value types of the history store (image rows, filters, recipes) and the filter → SQL mapping."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from zit_desktop.core.jsonobj import json_object
from zit_desktop.core.request import GenerationRequest

FTS_MIN_CHARS = 3  # the trigram tokenizer can't match shorter terms; those use LIKE

# Columns read for a HistoryRow, in one place so every query selects the same thing.
ROW_COLUMNS = (
    "id, created_at, prompt, negative_prompt, width, height, preset, steps, guidance, seed, "
    "batch_index, model, strategy, oom_retries, timings_json, peak_vram_bytes, path, thumbnail, "
    "favorite, parent_id, environment_json, request_json, trashed_at, variant"
)


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).astimezone().isoformat(timespec="seconds")


@dataclass(frozen=True)
class HistoryRow:
    """One image in the history. ``missing`` is checked against the disk when the row is read."""

    id: int
    created_at: float  # Unix time
    prompt: str
    negative_prompt: str
    width: int
    height: int
    preset: str | None
    steps: int
    guidance: float
    seed: int
    batch_index: int
    model: str
    strategy: str
    oom_retries: int
    timings: Mapping[str, float] = field(compare=False)
    peak_vram_bytes: int | None
    path: str
    thumbnail: str | None  # absolute path of the thumbnail file, if one was made
    favorite: bool
    parent_id: int | None
    environment: Mapping[str, Any] = field(compare=False)
    request_json: str = field(repr=False)
    trashed_at: float | None
    missing: bool
    variant: str = "bf16"  # the catalogue id of the model variant (core.models.catalogue), or "custom"

    @classmethod
    def from_sql(cls, row: sqlite3.Row | tuple[Any, ...], thumbnails_dir: Path) -> HistoryRow:
        (rid, created, prompt, neg, w, h, preset, steps, guidance, seed, bidx, model, strategy, oom,
         timings, peak, path, thumb, fav, parent, env, req, trashed, variant) = tuple(row)
        return cls(
            id=int(rid), created_at=float(created), prompt=prompt, negative_prompt=neg, width=int(w),
            height=int(h), preset=preset, steps=int(steps), guidance=float(guidance), seed=int(seed),
            batch_index=int(bidx), model=model, strategy=strategy, oom_retries=int(oom),
            timings=json_object(timings) or {}, peak_vram_bytes=None if peak is None else int(peak), path=path,
            thumbnail=os.fspath(thumbnails_dir / thumb) if thumb else None, favorite=bool(fav),
            parent_id=None if parent is None else int(parent), environment=json_object(env) or {},
            request_json=req, trashed_at=trashed, missing=not os.path.exists(path), variant=variant or "bf16",
        )

    @property
    def trashed(self) -> bool:
        return self.trashed_at is not None

    @property
    def created_iso(self) -> str:
        """Creation time in local time with its UTC offset, e.g. ``2026-11-26T11:25:04+01:00``."""
        return _iso(self.created_at)

    def request_dict(self) -> dict[str, Any]:
        """The stored request, completed from the indexed columns where keys are absent."""
        data: dict[str, Any] = {
            "prompt": self.prompt, "negative_prompt": self.negative_prompt, "width": self.width,
            "height": self.height, "steps": self.steps, "guidance": self.guidance, "seed": self.seed,
            "count": 1, "preset": self.preset,
        }
        if self.model:
            data["model"] = self.model
        data["variant"] = self.variant
        data.update(json_object(self.request_json) or {})
        return data

    def request(self) -> GenerationRequest:
        """The request that made this image (concrete seed, one image): what "reuse all" restores."""
        return GenerationRequest.from_dict(self.request_dict())

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "created_at": self.created_iso,
            "prompt": self.prompt,
            "negative_prompt": self.negative_prompt,
            "seed": self.seed,
            "width": self.width,
            "height": self.height,
            "steps": self.steps,
            "guidance": self.guidance,
            "preset": self.preset,
            "batch_index": self.batch_index,
            "path": self.path,
            "favorite": self.favorite,
            "parent_id": self.parent_id,
            "model": self.model,
            "variant": self.variant,
            "strategy": self.strategy,
            "oom_retries": self.oom_retries,
            "timings": dict(self.timings),
            "peak_vram_bytes": self.peak_vram_bytes,
            "thumbnail": self.thumbnail,
            "missing": self.missing,
            "trashed": self.trashed,
            "environment": dict(self.environment),
            "request": self.request_dict(),
        }


@dataclass(frozen=True)
class HistoryFilter:
    """What the gallery shows. Dates are Unix times or datetimes; ``until`` is exclusive."""

    text: str = ""
    favorites_only: bool = False
    preset: str | None = None
    since: float | datetime | None = None
    until: float | datetime | None = None
    include_trashed: bool = False
    trashed_only: bool = False

    def where(self) -> tuple[str, list[Any]]:
        """A SQL ``WHERE`` body over ``images`` and its parameters."""
        clauses: list[str] = []
        params: list[Any] = []
        if self.trashed_only:
            clauses.append("trashed_at IS NOT NULL")
        elif not self.include_trashed:
            clauses.append("trashed_at IS NULL")
        if self.favorites_only:
            clauses.append("favorite = 1")
        if self.preset:
            clauses.append("preset = ?")
            params.append(self.preset)
        if self.since is not None:
            clauses.append("created_at >= ?")
            params.append(_timestamp(self.since))
        if self.until is not None:
            clauses.append("created_at < ?")
            params.append(_timestamp(self.until))
        text_sql, text_params = text_clause(self.text)
        if text_sql:
            clauses.append(text_sql)
            params.extend(text_params)
        return (" AND ".join(clauses) or "1"), params


def _timestamp(value: float | datetime) -> float:
    return value.timestamp() if isinstance(value, datetime) else float(value)


def text_clause(text: str) -> tuple[str, list[Any]]:
    """Every whitespace-separated term must occur in the prompt (any case, any script).

    Terms of 3+ characters go to the FTS5 trigram index; shorter ones (e.g. "猫", "红色") can't be
    matched by trigrams and use ``LIKE`` over the prompt instead.
    """
    terms = text.split()
    if not terms:
        return "", []
    long_terms = [t for t in terms if len(t) >= FTS_MIN_CHARS]
    short_terms = [t for t in terms if len(t) < FTS_MIN_CHARS]
    clauses: list[str] = []
    params: list[Any] = []
    if long_terms:
        clauses.append("id IN (SELECT rowid FROM images_fts WHERE images_fts MATCH ?)")
        params.append(" AND ".join('"' + t.replace('"', '""') + '"' for t in long_terms))
    for t in short_terms:
        escaped = t.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        clauses.append("prompt LIKE ? ESCAPE '\\'")
        params.append(f"%{escaped}%")
    return "(" + " AND ".join(clauses) + ")", params


@dataclass(frozen=True)
class Recipe:
    """A user's saved parameter set ("Portrait, 12 steps"), stored as a request dict."""

    id: int
    name: str
    request: Mapping[str, Any] = field(compare=False)
    created_at: float
    updated_at: float

    def to_request(self) -> GenerationRequest:
        return GenerationRequest.from_dict(dict(self.request))

    def to_json_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "request": dict(self.request),
                "created_at": _iso(self.created_at), "updated_at": _iso(self.updated_at)}
