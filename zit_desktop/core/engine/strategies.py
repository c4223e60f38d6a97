"""Put a loaded ZImagePipeline on a memory-strategy rung, and take it off again.

Rungs (``core.memory.rungs``): ``gpu`` (``pipe.to(cuda)``), ``model-offload`` (diffusers model CPU
offload: one component at a time), ``group-offload`` (transformer and text encoder stream one block per
group with a CUDA stream prefetching the next; the small VAE stays on the GPU, tiled), ``sequential``
(leaf-level group offload with streams: one layer at a time; tiled VAE). Switches: fp8 layerwise
storage for the transformer (precision-sensitive layers kept in the compute dtype), VAE tiling,
text encoder on the CPU. fp8 storage is skipped (and logged) for an already quantized transformer
(SDNQ, GGUF).

Undo: ``gpu`` / ``model-offload`` / ``cpu`` come off in place (remove accelerate hooks, move to the
CPU). Group offload, leaf offload and fp8 storage rewrite the modules' parameters; they come off by
reloading the pipeline from disk (:func:`needs_reload` says when).

On a CPU device every rung degrades to plain CPU execution (nothing to offload to), so a job gives
the same pixels whatever rung the ladder is on; OOM recovery still walks the ladder there.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any

import torch

from zit_desktop.core.engine.variants import is_quantized
from zit_desktop.core.memory.rungs import STREAMING, Rung

log = logging.getLogger(__name__)

VAE_TILE_PX = 512  # decode tiles of 512 px (64 latents): the config's sample_size (1024) never tiles 1024²
FP8_DTYPE = torch.float8_e4m3fn
# Kept in the compute dtype under fp8 storage: embedders, adaLN modulation, final layer, norms, padding
# tokens (the model's own _skip_layerwise_casting_patterns adds t_embedder / cap_embedder).
FP8_SKIP_PATTERNS: tuple[str, ...] = (
    "pos_embed", "patch_embed", "norm", "^proj_in$", "^proj_out$",  # diffusers' defaults
    "t_embedder", "cap_embedder", "all_x_embedder", "adaLN_modulation", "all_final_layer", "siglip_embedder",
)  # fmt: skip


@dataclass(frozen=True)
class StrategySpec:
    """What is applied to a pipeline: the rung and the orthogonal switches."""

    rung: Rung  # a LADDER rung, or Rung.CPU
    fp8: bool = False
    vae_tiling: bool = False
    text_encoder_on_cpu: bool = False
    low_cpu_mem: bool = False  # group offload pins on demand (low system RAM)
    device: str = "cuda"  # "cpu": plain CPU execution whatever the rung

    @classmethod
    def from_plan(cls, plan: Any) -> StrategySpec:
        return cls(
            rung=plan.rung,
            fp8=bool(plan.fp8),
            vae_tiling=bool(plan.vae_tiling),
            text_encoder_on_cpu=bool(plan.text_encoder_on_cpu),
            low_cpu_mem=bool(getattr(plan, "group_offload_low_cpu_mem", False)),
        )

    def effective(self, device: torch.device) -> StrategySpec:
        """What actually runs on ``device``: on a CPU every rung is plain CPU execution."""
        if device.type != "cuda":
            return StrategySpec(rung=self.rung, device=device.type)
        if self.rung == Rung.MODEL_OFFLOAD and self.text_encoder_on_cpu:
            # accelerate's offload hooks move the encoder to the GPU for its forward anyway, and it is
            # off the GPU while the transformer runs, so "on the CPU" changes nothing here.
            return replace(self, text_encoder_on_cpu=False)
        return self


def can_undo_in_place(spec: StrategySpec | None) -> bool:
    if spec is None or spec.device != "cuda":
        return True  # nothing applied, or plain CPU execution
    return spec.rung in (Rung.GPU, Rung.MODEL_OFFLOAD, Rung.CPU) and not spec.fp8


def needs_reload(current: StrategySpec | None, new: StrategySpec) -> bool:
    return current is not None and current != new and not can_undo_in_place(current)


def undo(pipe: Any, current: StrategySpec | None) -> None:
    """Take ``current`` off ``pipe`` in place (only when :func:`can_undo_in_place`)."""
    if current is None:
        return
    pipe.remove_all_hooks()
    pipe.to("cpu")
    _set_vae_tiling(pipe, False)


def apply(pipe: Any, spec: StrategySpec, device: torch.device) -> None:
    """Put a clean pipeline (no hooks, weights anywhere) on ``spec`` for ``device``."""
    if device.type != "cuda":
        pipe.to(device)
        return
    cpu = torch.device("cpu")
    if spec.fp8 and is_quantized(pipe.transformer):
        # SDNQ / GGUF weights are already 4-8 bit: fp8 layerwise casting would upcast-then-recast them
        log.info("fp8 storage skipped: the transformer is already quantized (%s)", type(pipe.transformer).__name__)
    elif spec.fp8:
        enable_fp8(pipe.transformer, pipe.transformer.dtype)
    te = pipe.text_encoder
    if spec.rung == Rung.GPU:
        # component by component: an encoder meant for the CPU never visits the GPU
        pipe.transformer.to(device)
        pipe.vae.to(device)
        te.to(cpu if spec.text_encoder_on_cpu else device)
    elif spec.rung == Rung.MODEL_OFFLOAD:
        pipe.to(cpu)
        pipe.enable_model_cpu_offload(device=device)
    elif spec.rung in STREAMING:
        from diffusers.hooks.group_offloading import apply_group_offloading

        leaf = spec.rung == Rung.SEQUENTIAL
        for module in (pipe.transformer, te):
            if module is te and spec.text_encoder_on_cpu:
                continue
            module.to(cpu)
            apply_group_offloading(
                module,
                onload_device=device,
                offload_device=cpu,
                offload_type="leaf_level" if leaf else "block_level",
                num_blocks_per_group=None if leaf else 1,
                use_stream=True,
                low_cpu_mem_usage=spec.low_cpu_mem,
            )
        pipe.vae.to(device)
    else:
        raise ValueError(f"unknown strategy {spec.rung!r}")
    if spec.text_encoder_on_cpu:
        te.to(cpu)
    _set_vae_tiling(pipe, spec.vae_tiling)


def enable_fp8(transformer: Any, compute_dtype: torch.dtype) -> None:
    """fp8 (e4m3) storage for the transformer's block linears, upcast per layer while it runs."""
    transformer.enable_layerwise_casting(
        storage_dtype=FP8_DTYPE, compute_dtype=compute_dtype, skip_modules_pattern=FP8_SKIP_PATTERNS
    )


def _set_vae_tiling(pipe: Any, on: bool) -> None:
    vae = pipe.vae
    if on:
        scale = 2 ** (len(vae.config.block_out_channels) - 1)
        vae.tile_sample_min_size = VAE_TILE_PX
        vae.tile_latent_min_size = VAE_TILE_PX // scale
        vae.enable_tiling()
    else:
        vae.disable_tiling()
        vae.tile_sample_min_size = vae.config.sample_size
        scale = 2 ** (len(vae.config.block_out_channels) - 1)
        vae.tile_latent_min_size = int(vae.config.sample_size / scale)


def text_encoder_device(pipe: Any) -> torch.device:
    """Where to put the token ids for ``encode_prompt``: the encoder's own device when it is a plain
    module (on the CPU, or parked there), else the pipeline's execution device (offload hooks move it)."""
    te = pipe.text_encoder
    hooked = hasattr(te, "_hf_hook") or getattr(te, "_diffusers_hook", None) is not None
    if not hooked:
        try:
            return torch.device(next(te.parameters()).device)
        except StopIteration:
            pass
    return torch.device(pipe._execution_device)


def park_text_encoder(pipe: Any, spec: StrategySpec) -> bool:
    """Move a GPU-resident text encoder to the CPU once embeddings exist (``gpu`` rung only: the other
    rungs already keep it off the GPU while the transformer runs). Returns True if it moved."""
    if spec.rung != Rung.GPU or spec.text_encoder_on_cpu:
        return False
    te = pipe.text_encoder
    if next(te.parameters()).device.type != "cuda":
        return False
    te.to("cpu")
    return True


def unpark_text_encoder(pipe: Any, spec: StrategySpec, device: torch.device) -> None:
    """Bring a parked text encoder back before a cache miss (``gpu`` rung)."""
    if spec.rung == Rung.GPU and not spec.text_encoder_on_cpu and device.type == "cuda":
        te = pipe.text_encoder
        if next(te.parameters()).device.type != "cuda":
            te.to(device)

