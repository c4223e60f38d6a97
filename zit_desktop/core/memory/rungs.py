"""The memory-strategy names, written once. Pure, imports nothing of ours.

A rung is one way of placing the pipeline in memory. :data:`LADDER` orders the GPU rungs from the
fastest to the leanest: the planner picks the first that fits, and out-of-memory recovery steps down
it. :attr:`Rung.CPU` is not on the ladder: it is what a machine without a usable NVIDIA GPU runs.

``Rung`` is a :class:`~enum.StrEnum`: a member *is* its string (``Rung.GPU == "gpu"``, same hash,
``json.dumps`` and SQLite store ``"gpu"``), so settings files, history rows and PNG metadata written
before the enum existed read back unchanged.
"""

from __future__ import annotations

from enum import StrEnum


class Rung(StrEnum):
    GPU = "gpu"
    MODEL_OFFLOAD = "model-offload"
    GROUP_OFFLOAD = "group-offload"
    SEQUENTIAL = "sequential"
    CPU = "cpu"  # no usable GPU: plain CPU execution; not on the ladder

    @property
    def description(self) -> str:
        return RUNG_DESCRIPTIONS[self]


LADDER: tuple[Rung, ...] = (Rung.GPU, Rung.MODEL_OFFLOAD, Rung.GROUP_OFFLOAD, Rung.SEQUENTIAL)
AUTO = "auto"  # the setting that lets the planner choose
LOW_VRAM_MODES: tuple[str, ...] = (AUTO, *LADDER)  # what ``Settings.low_vram`` and ``--low-vram`` accept
STREAMING: frozenset[Rung] = frozenset({Rung.GROUP_OFFLOAD, Rung.SEQUENTIAL})  # weights stream from RAM

RUNG_DESCRIPTIONS: dict[Rung, str] = {
    Rung.GPU: "Everything on the GPU: fastest, needs the most video memory.",
    Rung.MODEL_OFFLOAD: "One model part on the GPU at a time (text encoder, then transformer, then VAE): "
    "a bit slower.",
    Rung.GROUP_OFFLOAD: "Transformer and text encoder stream block by block from system RAM while the GPU "
    "computes; tiled image decoding. Slower, but fits small cards.",
    Rung.SEQUENTIAL: "Every layer is moved to the GPU only while it runs; tiled decoding. The slowest, "
    "the least video memory.",
    Rung.CPU: "No usable NVIDIA GPU: runs on the processor. Very slow.",
}


def parse_rung(name: str) -> Rung:
    """The ladder rung called ``name``; ValueError naming the choices otherwise."""
    try:
        rung = Rung(name)
    except ValueError:
        rung = Rung.CPU
    if rung not in LADDER:
        raise ValueError(f"unknown rung {name!r}; one of {', '.join(LADDER)}")
    return rung
