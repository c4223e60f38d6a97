"""Low-VRAM benchmark: the planner's rung, predicted vs measured peak VRAM, seconds per image and
OOM recovery, for VRAM caps x image sizes, through the app's own Engine.

Full mode (an NVIDIA GPU): builds the full-size Z-Image-Turbo architecture from the configs the
package ships (``zit_desktop/resources/zimage-turbo-configs/``) with random bf16 weights made on the
GPU (no download; the pixels are meaningless, memory and speed are the real model's), then for each cap
(``torch.cuda.set_per_process_memory_fraction``) and size runs 8 steps through ``Engine.run``.
The text encoder is the full Qwen3-4B fed by the tiny model's byte-level tokenizer (real 512-token
encode, no tokenizer download). Predictions are the planner's raw model (learning off).

    python benchmarks/gpu_lowvram.py --json out.json            # full, ~4-6 min on one H100
    python benchmarks/gpu_lowvram.py --tiny                     # same code, tiny model, CPU

Measured peak = ``torch.cuda.max_memory_reserved`` (what the caching allocator took; the CUDA context,
~0.5 GB, is outside it and outside the cap), compared with ``Prediction.allocator_bytes``.
Targets (issue 3): 1024x1024 completes under the 6 GB cap; its time <= 3x the uncapped time;
predicted peak within 15 % of measured.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from zit_desktop.core.memory.profile import packaged_configs  # noqa: E402

CONFIGS = packaged_configs()
FULL_REF = "zimage-turbo-random-weights"
GIB = 1024**3


# ---- full-size random-weight model ---------------------------------------------------------------
def _cfg(name: str) -> dict[str, Any]:
    return dict(json.loads((CONFIGS / name / "config.json").read_text(encoding="utf-8")))


def _init_random_(module: Any, gen: Any) -> None:
    import torch

    with torch.no_grad():
        for name, p in module.named_parameters():
            if name.endswith("bias"):
                p.zero_()
            elif p.ndim == 1:
                p.fill_(1.0)  # norm weights
            else:
                p.normal_(0.0, 0.02, generator=gen)


def _meta_components() -> tuple[Any, Any, Any]:
    import torch
    from diffusers import AutoencoderKL, ZImageTransformer2DModel
    from transformers import Qwen3Config, Qwen3Model

    with torch.device("meta"):
        t = ZImageTransformer2DModel.from_config(_cfg("transformer")).to(torch.bfloat16)
        te = Qwen3Model(Qwen3Config(**_cfg("text_encoder"))).to(torch.bfloat16)
        v = AutoencoderKL.from_config(_cfg("vae")).to(torch.bfloat16)
    return t, te, v


def build_random_weights(device: str = "cuda") -> list[dict[str, Any]]:
    """State dicts (CPU, bf16) of the three components, made with random numbers on ``device``."""
    import torch

    gen = torch.Generator(device).manual_seed(0)
    states = []
    for module in _meta_components():
        module.to_empty(device=device)
        _init_random_(module, gen)
        states.append({k: v.detach().to("cpu") for k, v in module.state_dict().items()})
        del module
        if device == "cuda":
            torch.cuda.empty_cache()
    return states


def make_full_pipeline(states: list[dict[str, Any]]) -> Any:
    """A fresh ZImagePipeline on the CPU whose weights alias the pristine random state dicts
    (strategies copy, pin or cast; the pristine tensors are never modified, so this is a 'reload')."""
    from diffusers import FlowMatchEulerDiscreteScheduler, ZImagePipeline
    from transformers.models.qwen3.modeling_qwen3 import Qwen3RotaryEmbedding

    from zit_desktop.core.engine.tiny_model import _build_tokenizer

    t, te, v = _meta_components()
    for module, state in zip((t, te, v), states, strict=False):
        module.load_state_dict(state, assign=True, strict=True)
        module.eval()
    te.rotary_emb = Qwen3RotaryEmbedding(config=te.config)  # a non-persistent buffer: rebuild on the CPU
    sched_cfg = json.loads((CONFIGS / "scheduler" / "scheduler_config.json").read_text(encoding="utf-8"))
    scheduler = FlowMatchEulerDiscreteScheduler.from_config(sched_cfg)
    pipe = ZImagePipeline(
        scheduler=scheduler, vae=v, text_encoder=te, tokenizer=_build_tokenizer(), transformer=t
    )
    pipe.set_progress_bar_config(disable=True)
    return pipe


# ---- the benchmark -------------------------------------------------------------------------------
def parse_caps(text: str) -> list[float | None]:
    return [None if c.strip().lower() in ("none", "0", "") else float(c) for c in text.split(",")]


def run(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    from zit_desktop.core.engine import loader, runner
    from zit_desktop.core.engine.runner import Engine
    from zit_desktop.core.events import Finished, Notice
    from zit_desktop.core.memory.advisor import MemoryAdvisor
    from zit_desktop.core.memory.profile import profile_from_configs
    from zit_desktop.core.memory.vram import DeviceInfo, default_probe, simulated_cuda_device
    from zit_desktop.core.paths import app_paths
    from zit_desktop.core.request import GenerationRequest
    from zit_desktop.core.settings import Settings

    work = Path(tempfile.mkdtemp(prefix="zit-lowvram-"))
    raw = MemoryAdvisor(None, learn=False)  # raw predictions: default calibration, no learning between rows
    t_start = time.perf_counter()
    if args.tiny:
        from zit_desktop.core.engine.tiny_model import make_tiny_model

        model_ref = str(make_tiny_model(work / "tiny"))
        engine = Engine(
            app_paths(work / "home").ensure(), Settings(embedding_disk_cache=False), device="cpu", advisor=raw
        )
        real: DeviceInfo = simulated_cuda_device(80, name="simulated 80 GB (tiny mode, CPU)")
    else:
        if not torch.cuda.is_available():
            raise SystemExit("full mode needs an NVIDIA GPU; use --tiny on a CPU")
        states = build_random_weights()
        build_s = time.perf_counter() - t_start
        print(f"random full-size weights built in {build_s:.1f}s", file=sys.stderr)
        original_load = loader.load_pipeline
        loader.load_pipeline = lambda ref, dtype, emit, **kw: (
            make_full_pipeline(states) if ref == FULL_REF else original_load(ref, dtype, emit, **kw)
        )
        runner.check_latents = lambda latents: None  # type: ignore[attr-defined]  # random weights: noise
        model_ref = FULL_REF
        engine = Engine(app_paths(work / "home").ensure(), Settings(embedding_disk_cache=False), advisor=raw)
        engine.lowvram.profile_override = profile_from_configs(CONFIGS)
        real = default_probe().sample()
    ctx = engine.lowvram.calibration.cuda_context_bytes
    total = torch.cuda.get_device_properties(0).total_memory if not args.tiny else real.total_bytes

    inject = {"armed": False}
    original_denoise = engine.denoise

    def denoise(*a: Any, **k: Any) -> Any:
        if inject["armed"]:
            inject["armed"] = False
            raise torch.OutOfMemoryError("CUDA out of memory (injected by --inject-oom-cap)")
        return original_denoise(*a, **k)

    engine.denoise = denoise  # type: ignore[method-assign]

    rows: list[dict[str, Any]] = []
    sizes = [int(s) for s in args.sizes.split(",")]
    for cap in parse_caps(args.caps):
        if time.perf_counter() - t_start > args.budget_s:
            rows.append({"cap_gb": cap, "status": "skipped (time budget)"})
            continue
        if cap is None:
            engine.lowvram.device_override = None if not args.tiny else (lambda: real)
            frac = 1.0
        else:
            cap_bytes = int(cap * GIB)
            # the cap limits the caching allocator; the CUDA context sits outside it
            capped = DeviceInfo(
                kind="cuda", name=f"{real.name} capped {cap:g} GB", total_bytes=cap_bytes + ctx,
                free_bytes=cap_bytes + ctx, bf16_supported=real.bf16_supported or args.tiny,
                compute_capability=real.compute_capability, system_ram_bytes=real.system_ram_bytes,
                system_ram_available_bytes=real.system_ram_available_bytes, source="benchmark-cap",
            )  # fmt: skip
            engine.lowvram.device_override = lambda capped=capped: capped
            frac = min(1.0, cap_bytes / total)
        engine.lowvram._floors.clear()  # each cap starts from the planner's own choice
        # --start-rung: force a rung that cannot fit under the cap, so a REAL out-of-memory happens
        # and the engine's recovery has to step down (instead of an injected error)
        engine.settings.low_vram = args.start_rung if (args.start_rung and cap is not None) else "auto"
        if not args.tiny:
            engine.free_memory()
            torch.cuda.set_per_process_memory_fraction(frac, 0)
        # warm-up on this cap (strategy switch, pinning, kernels): not timed
        warm = GenerationRequest(
            prompt="warm-up", width=512, height=512, steps=2, seed=1, model=model_ref, preset=None
        )
        t_warm = time.perf_counter()
        w = engine.run(warm, lambda e: None)
        warm_s = time.perf_counter() - t_warm
        if args.start_rung and cap is not None:
            engine.lowvram._floors.clear()  # the warm-up's OOM must not spare the measured row its own
        for size in sizes:
            req = GenerationRequest(
                prompt=f"a lighthouse on a cliff at dusk, cap {cap}, size {size}", width=size, height=size,
                steps=args.steps, seed=42, model=model_ref, preset=None,
            )  # fmt: skip
            planned = engine.choose_plan(req)
            if args.inject_oom_cap is not None and cap == args.inject_oom_cap:
                inject["armed"] = True
            notices: list[Any] = []
            engine.free_memory()  # return cached blocks so the reserved peak is this run's own
            t0 = time.perf_counter()
            result = engine.run(
                req, lambda e, notices=notices: notices.append(e) if isinstance(e, Notice) else None
            )
            wall = time.perf_counter() - t0
            final = engine._plan
            row: dict[str, Any] = {
                "cap_gb": cap,
                "size": f"{size}x{size}",
                "rung_planned": planned.rung,
                "predicted_bytes": planned.prediction.allocator_bytes if planned.prediction else None,
                "warmup_s": round(warm_s, 2)
                if isinstance(w, Finished)
                else f"failed: {getattr(w, 'kind', w)}",
            }
            if isinstance(result, Finished):
                im = result.images[0]
                pred_final = (
                    final.prediction.allocator_bytes if final is not None and final.prediction else None
                )
                measured = im.peak_vram_bytes
                row.update(
                    status="ok",
                    rung_final=im.strategy,
                    oom_retries=im.oom_retries,
                    predicted_final_bytes=pred_final,
                    measured_reserved_bytes=measured,
                    measured_allocated_bytes=int(torch.cuda.max_memory_allocated())
                    if not args.tiny
                    else None,
                    error_pct=round(100 * (pred_final - measured) / measured, 1)
                    if pred_final and measured
                    else None,
                    s_per_image=round(im.timings["total"], 3),
                    wall_s=round(wall, 3),
                    timings=im.timings,
                    notices=[n.kind for n in notices],
                )
            else:
                row.update(
                    status=f"failed: {getattr(result, 'kind', '?')}", message=getattr(result, "message", "")
                )
            rows.append(row)
            print(_row_line(row), file=sys.stderr, flush=True)
    if not args.tiny:
        torch.cuda.set_per_process_memory_fraction(1.0, 0)
    # Forced rungs, uncapped: check the predictions of rungs the caps did not pick.
    engine.lowvram.device_override = None if not args.tiny else (lambda: real)
    for rung in [r for r in args.forced_rungs.split(",") if r]:
        if time.perf_counter() - t_start > args.budget_s:
            rows.append({"cap_gb": None, "forced": rung, "status": "skipped (time budget)"})
            continue
        size = max(sizes)
        engine.settings.low_vram = rung
        engine.lowvram._floors.clear()
        warm = GenerationRequest(
            prompt="warm-up", width=512, height=512, steps=2, seed=1, model=model_ref, preset=None
        )
        engine.run(warm, lambda e: None)
        req = GenerationRequest(
            prompt=f"a lighthouse, forced {rung}", width=size, height=size, steps=args.steps, seed=42,
            model=model_ref, preset=None,
        )  # fmt: skip
        planned = engine.choose_plan(req)
        engine.free_memory()
        result = engine.run(req, lambda e: None)
        row = {
            "cap_gb": None, "forced": rung, "size": f"{size}x{size}", "rung_planned": planned.rung,
            "predicted_bytes": planned.prediction.allocator_bytes if planned.prediction else None,
        }  # fmt: skip
        if isinstance(result, Finished):
            im = result.images[0]
            pred = planned.prediction.allocator_bytes if planned.prediction else None
            measured = im.peak_vram_bytes
            row.update(
                status="ok", rung_final=im.strategy, oom_retries=im.oom_retries, predicted_final_bytes=pred,
                measured_reserved_bytes=measured,
                error_pct=round(100 * (pred - measured) / measured, 1) if pred and measured else None,
                s_per_image=round(im.timings["total"], 3), timings=im.timings, notices=[],
            )  # fmt: skip
        else:
            row.update(status=f"failed: {getattr(result, 'kind', '?')}", message=getattr(result, "message", ""))
        rows.append(row)
        print(_row_line(row), file=sys.stderr, flush=True)
    engine.settings.low_vram = "auto"
    return {
        "mode": "tiny" if args.tiny else "full",
        "device": real.name,
        "device_total_bytes": int(total),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "steps": args.steps,
        "rows": rows,
        "targets": targets(rows),
        "elapsed_s": round(time.perf_counter() - t_start, 1),
    }


def targets(rows: list[dict[str, Any]]) -> dict[str, Any]:
    ok = [r for r in rows if r.get("status") == "ok" and not r.get("forced")]
    by = {(r["cap_gb"], r["size"]): r for r in ok}
    six = by.get((6.0, "1024x1024"))
    free = by.get((None, "1024x1024"))
    errs = [abs(r["error_pct"]) for r in rows if r.get("status") == "ok" and r.get("error_pct") is not None]
    return {
        "1024_completes_under_6gb": six is not None,
        "time_ratio_6gb_vs_uncapped_1024": round(six["s_per_image"] / free["s_per_image"], 2)
        if six and free
        else None,
        "max_abs_prediction_error_pct": max(errs) if errs else None,
        "within_15pct": all(e <= 15 for e in errs) if errs else None,
    }


def _gb(n: Any) -> str:
    return f"{n / 1e9:6.2f}" if isinstance(n, (int, float)) else "   -  "


def _row_line(r: dict[str, Any]) -> str:
    cap = "none" if r.get("cap_gb") is None else f"{r['cap_gb']:g} GB"
    if r.get("forced"):
        cap = "forced"
    if r.get("status") != "ok":
        return f"{cap:>7} {r.get('size', ''):>9}  {r.get('status')}"
    rung = r["rung_final"] + (
        f" (planned {r['rung_planned']}, {r['oom_retries']} OOM)" if r["oom_retries"] else ""
    )
    return (
        f"{cap:>7} {r['size']:>9}  {rung:<40} pred {_gb(r['predicted_final_bytes'])} GB  "
        f"meas {_gb(r['measured_reserved_bytes'])} GB  err {r['error_pct'] if r['error_pct'] is not None else '-':>6}%  "
        f"{r['s_per_image']:7.2f} s/img"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tiny", action="store_true", help="tiny model on the CPU (the test suite runs this)")
    ap.add_argument("--caps", default="none,12,8,6,4", help="VRAM caps in GB ('none' = uncapped)")
    ap.add_argument("--sizes", default=None, help="square sizes (default 768,1024; tiny: 256,512)")
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument(
        "--forced-rungs", default="model-offload,sequential",
        help="rungs also run uncapped at the largest size, forced, to check their predictions",
    )  # fmt: skip
    ap.add_argument("--json", type=Path, help="write the results here")
    ap.add_argument("--budget-s", type=float, default=390.0, help="skip the remaining caps after this long")
    ap.add_argument(
        "--inject-oom-cap", type=float, default=None, help="inject one OOM in denoise at this cap"
    )
    ap.add_argument(
        "--start-rung", default=None, help="under each cap, start on this rung (e.g. gpu) to provoke a real OOM"
    )
    args = ap.parse_args(argv)
    if args.sizes is None:
        args.sizes = "256,512" if args.tiny else "768,1024"
    report = run(args)
    print(
        "\n  cap      size   rung                                      predicted        measured   error    time"
    )
    for r in report["rows"]:
        print(_row_line(r))
    print("\ntargets:", json.dumps(report["targets"]))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")
    return 0 if all(r.get("status") == "ok" for r in report["rows"]) else 1


if __name__ == "__main__":
    raise SystemExit(main())
