"""The catalogue of model variants ZIT Desktop can download and run, read from packaged data.

``zit_desktop/resources/variants.json`` lists each variant: the Hub repositories and file patterns it
needs (with the role each source plays), its download size, the bytes each component keeps in memory
once loaded, which components are quantized, the Python packages its loader needs, a quality note with
its source, and its licence. Sizes that could not be checked offline carry ``download_estimate``;
downloads use the Hub's own sizes and hashes. Torch-free and Qt-free.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any

COMPONENTS = ("transformer", "text_encoder", "vae")


class VariantId(StrEnum):
    BF16 = "bf16"
    SDNQ_INT8 = "sdnq-int8"
    SDNQ_UINT4 = "sdnq-uint4"
    GGUF_Q8 = "gguf-q8"
    GGUF_Q4 = "gguf-q4"


class VariantKind(StrEnum):
    DIFFUSERS = "diffusers"  # a whole diffusers pipeline folder (bf16 or SDNQ pre-quantized)
    GGUF = "gguf"  # a GGUF transformer file plus the rest of a pipeline from another repo


class SourceRole(StrEnum):
    PIPELINE = "pipeline"
    PIPELINE_WITHOUT_TRANSFORMER = "pipeline-without-transformer"
    TRANSFORMER = "transformer"


@dataclass(frozen=True)
class Source:
    repo: str
    revision: str
    role: SourceRole
    allow_patterns: tuple[str, ...]


@dataclass(frozen=True)
class Variant:
    id: VariantId
    label: str
    kind: VariantKind
    sources: tuple[Source, ...]
    download_bytes: int
    download_estimate: bool
    weights: dict[str, int]  # component -> bytes kept in memory once loaded
    quantized: tuple[str, ...]
    requires: tuple[str, ...]  # Python modules the loader imports (sdnq, gguf)
    quality: str
    quality_source: str
    licence: str
    licence_url: str

    @property
    def weights_bytes(self) -> int:
        return sum(self.weights.values())

    @property
    def repos(self) -> tuple[str, ...]:
        return tuple(s.repo for s in self.sources)

    def source(self, role: SourceRole) -> Source | None:
        return next((s for s in self.sources if s.role == role), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": str(self.id), "label": self.label, "kind": str(self.kind),
            "sources": [{"repo": s.repo, "revision": s.revision, "role": str(s.role),
                         "allow_patterns": list(s.allow_patterns)} for s in self.sources],
            "download_bytes": self.download_bytes, "download_estimate": self.download_estimate,
            "weights": dict(self.weights), "quantized": list(self.quantized), "requires": list(self.requires),
            "quality": self.quality, "quality_source": self.quality_source,
            "licence": self.licence, "licence_url": self.licence_url,
        }  # fmt: skip


class CatalogueError(ValueError):
    """The packaged catalogue is malformed (a packaging bug, not a user error)."""


def _variant(entry: dict[str, Any]) -> Variant:
    try:
        weights = {name: int(entry["weights"][name]) for name in COMPONENTS}
        return Variant(
            id=VariantId(entry["id"]),
            label=str(entry["label"]),
            kind=VariantKind(entry["kind"]),
            sources=tuple(
                Source(str(s["repo"]), str(s.get("revision", "main")), SourceRole(s["role"]),
                       tuple(str(p) for p in s["allow_patterns"]))
                for s in entry["sources"]
            ),
            download_bytes=int(entry["download_bytes"]),
            download_estimate=bool(entry.get("download_estimate", False)),
            weights=weights,
            quantized=tuple(str(c) for c in entry.get("quantized", ())),
            requires=tuple(str(r) for r in entry.get("requires", ())),
            quality=str(entry["quality"]),
            quality_source=str(entry["quality_source"]),
            licence=str(entry["licence"]),
            licence_url=str(entry["licence_url"]),
        )  # fmt: skip
    except (KeyError, TypeError, ValueError) as exc:
        raise CatalogueError(f"bad catalogue entry {entry.get('id')!r}: {exc}") from exc


@cache
def catalogue() -> tuple[Variant, ...]:
    """Every variant, best quality first (the order of the packaged file)."""
    text = (resources.files("zit_desktop") / "resources" / "variants.json").read_text(encoding="utf-8")
    data = json.loads(text)
    variants = tuple(_variant(entry) for entry in data["variants"])
    if {v.id for v in variants} != set(VariantId):
        raise CatalogueError("the catalogue must list every VariantId exactly once")
    return variants


def variant(variant_id: str) -> Variant:
    """The variant with this id; ``ValueError`` names the known ids."""
    for v in catalogue():
        if v.id == variant_id:
            return v
    raise ValueError(f"unknown model variant {variant_id!r}; one of {', '.join(VariantId)}")


DEFAULT_VARIANT = VariantId.BF16
