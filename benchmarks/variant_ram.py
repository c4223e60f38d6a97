"""Peak RSS of loading a full-size ``sdnq-uint4`` pipeline against bf16 on the CPU: predicted vs measured.

Issue 9, item 6 (CPU part). Run::

    python benchmarks/variant_ram.py            # full size (first run builds ~27 GB of weights, minutes)
    python benchmarks/variant_ram.py --tiny     # the same code on the tiny variants, in seconds

What it does:

1. **Build** (once, cached OUTSIDE the repo in ``~/.cache/zit-desktop-bench/``, ``--cache`` to move it):
   the full-size Z-Image-Turbo pipeline from the packaged real configs
   (``zit_desktop/resources/zimage-turbo-configs``) with random weights: each component is made on the
   ``meta`` device, cast to bf16 there, ``to_empty(device="cpu")`` and filled with ``normal_(0, 0.02)``
   parameter by parameter, then ``save_pretrained`` in 2 GB shards (safetensors copies a whole shard in
   memory while writing). The tokenizer is the tiny model's (any tokenizer works: we only load).
   The ``sdnq-uint4`` folder is then quantized component by component (transformer, text encoder), each in
   its own subprocess, by the same code path as ``core/engine/tiny_variants.py``:
   ``from_pretrained(bf16 folder, quantization_config=SDNQConfig(weights_dtype="uint4"))`` +
   ``save_pretrained``; VAE, tokenizer, scheduler and ``model_index.json`` are copied: the layout of
   Disty0's pre-quantized repos. **No SVD**: the real ``Disty0/Z-Image-Turbo-SDNQ-uint4-svd-r32`` adds
   rank-32 SVD factors (``use_svd=True, svd_rank=32``), which costs far too long on 2 CPU cores; the
   factors add ~32*(in+out)*2 bytes per layer (~0.1 GB over the model), so the measured RAM here is a
   slight underestimate of the real repo's.
2. **Measure**, each in a FRESH subprocess: ``loader.load_pipeline(folder, torch.bfloat16, emit)``
   (the app's real loader) while ``core.memory.rss.RssSampler`` polls RSS every 50 ms; reports peak
   RSS, load seconds and RSS after load. safetensors files are mmapped and ``from_pretrained`` in the
   stored dtype maps them without reading, so the load alone barely moves RSS (bf16 transformer: +75 MB
   in 1.3 s); the subprocess then touches one element per 4 KiB page of every tensor (what the first
   denoise step does) and reports that peak as the ``resident`` figure, with RssAnon/RssFile (the weights
   are file pages: reclaimable, so too little RAM thrashes rather than OOMs). Memory safety: when the advisor's predicted load peak of a
   variant is above 75 % of this machine's RAM (bf16 on a 23 GB machine), the variant is measured
   **component by component** instead (transformer, text encoder, VAE, each ``from_pretrained`` in its
   own subprocess, as ``ZImagePipeline.from_pretrained`` loads them): the output gives the sum of the
   per-component peaks (each includes the ~process baseline, so the sum counts it three times) and
   the largest single peak, labelled as such. Before each heavy step the available RAM is checked.
3. **Predict**: ``MemoryAdvisor(learn=False)`` with this machine as a CPU ``DeviceInfo``:
   ``variant_table`` row of the variant with the built folder as installed (sizes read from its files),
   which is the whole CPU job at 1024² (weights counted at fp32 for non-quantized parts, since the app
   computes in fp32 on the CPU), and ``ram.predict_ram`` of the same profile with bf16 weights: its
   ``load_phase`` (baseline + weights) is what this benchmark measures (a bf16 load), so the ratio is
   measured / that.

Output: human lines, then one line ``JSON {...}`` with every figure.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("SDNQ_USE_TORCH_COMPILE", "0")  # before any sdnq import (DESIGN.md)

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

GB = 1e9
GIB = 1024**3
VARIANTS = ("bf16", "sdnq-uint4")
COMPONENTS = ("transformer", "text_encoder", "vae")
SAFE_FRACTION = 0.75  # measure component by component above this share of total RAM
SHARD = "2GB"
DEFAULT_CACHE = Path(os.environ.get("ZIT_BENCH_CACHE", Path.home() / ".cache" / "zit-desktop-bench"))


def _log(msg: str) -> None:
    print(msg, flush=True)


def _ram() -> tuple[int, int]:
    import psutil

    vm = psutil.virtual_memory()
    return int(vm.total), int(vm.available)


def _need_ram(nbytes: float, what: str) -> None:
    """Refuse a step that would take the machine near swap/OOM."""
    total, avail = _ram()
    if nbytes > avail * 0.9:
        raise SystemExit(
            f"not enough free RAM for {what}: needs ~{nbytes / GB:.1f} GB, {avail / GB:.1f} GB available "
            f"of {total / GB:.1f} GB; free some memory and rerun"
        )


def _sub(args: list[str], timeout: float = 3600) -> dict[str, Any]:
    """Run this script with ``args`` in a fresh interpreter; its last ``RESULT`` line as a dict."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), *args],
        capture_output=True, text=True, timeout=timeout, env=env,
    )  # fmt: skip
    result: dict[str, Any] | None = None
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            result = json.loads(line[len("RESULT ") :])
    if proc.returncode != 0 or result is None:
        raise RuntimeError(
            f"subprocess {args} failed (rc {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        )
    return result


# ---- build -------------------------------------------------------------------------------------
def _configs() -> Path:
    return ROOT / "zit_desktop" / "resources" / "zimage-turbo-configs"


def _build_component(out: Path, component: str) -> dict[str, Any]:
    """(subprocess) One full-size component with random bf16 weights, saved under ``out/component``."""
    import torch

    t0 = time.perf_counter()
    cfg = _configs() / component / "config.json"
    if component == "text_encoder":
        from transformers import Qwen3Config, Qwen3Model

        config = Qwen3Config.from_json_file(str(cfg))
        config.torch_dtype = torch.bfloat16
        with torch.device("meta"):
            model = Qwen3Model(config)
    else:
        from diffusers import AutoencoderKL, ZImageTransformer2DModel

        cls = ZImageTransformer2DModel if component == "transformer" else AutoencoderKL
        with torch.device("meta"):
            model = cls.from_config(cls.load_config(str(cfg.parent)))
    model = model.to(torch.bfloat16).to_empty(device="cpu")
    gen = torch.Generator().manual_seed(COMPONENTS.index(component))
    with torch.no_grad():
        for name, tensor in [*model.named_parameters(), *model.named_buffers()]:
            if tensor.is_floating_point():
                if name.endswith("norm.weight") or ".norm" in name and name.endswith("weight"):
                    tensor.fill_(1.0)
                else:
                    tensor.normal_(0.0, 0.02, generator=gen)
    n = sum(p.numel() for p in model.parameters())
    dst = out / component
    shutil.rmtree(dst, ignore_errors=True)
    model.save_pretrained(str(dst), max_shard_size=SHARD, safe_serialization=True)
    return {"component": component, "params": n, "seconds": round(time.perf_counter() - t0, 1)}


def _quantize_component(src: Path, out: Path, component: str, weights_dtype: str) -> dict[str, Any]:
    """(subprocess) ``src/component`` quantized by SDNQ, as tiny_variants._make_sdnq does it."""
    import torch

    from zit_desktop.core.engine import variants

    variants.import_sdnq()
    from sdnq import SDNQConfig

    t0 = time.perf_counter()
    if component == "text_encoder":
        from transformers import Qwen3Model as cls
    else:
        from diffusers import ZImageTransformer2DModel as cls
    config = SDNQConfig(weights_dtype=weights_dtype)  # no SVD: see the module docstring
    model = cls.from_pretrained(str(src / component), quantization_config=config, torch_dtype=torch.bfloat16)
    dst = out / component
    shutil.rmtree(dst, ignore_errors=True)
    model.save_pretrained(str(dst), max_shard_size=SHARD)
    return {"component": component, "seconds": round(time.perf_counter() - t0, 1)}


def _dir_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def build_full(cache: Path) -> dict[str, Path]:
    from zit_desktop.core.engine.tiny_variants import copy_tree_or_file

    bf16, uint4 = cache / "full" / "bf16", cache / "full" / "sdnq-uint4-nosvd"
    if not (bf16 / ".complete").exists():
        from zit_desktop.core.engine.tiny_model import make_tiny_model

        bf16.mkdir(parents=True, exist_ok=True)
        tiny = cache / "tiny-tokenizer"
        make_tiny_model(tiny)
        copy_tree_or_file(tiny / "tokenizer", bf16 / "tokenizer")
        shutil.rmtree(tiny)
        copy_tree_or_file(_configs() / "scheduler", bf16 / "scheduler")
        copy_tree_or_file(_configs() / "model_index.json", bf16 / "model_index.json")
        for comp, need in (("vae", 1 * GB), ("text_encoder", 9.5 * GB), ("transformer", 15 * GB)):
            if (bf16 / comp / ".complete").exists():
                continue
            _need_ram(need, f"building the {comp}")
            _log(f"building the full-size {comp} (random bf16 weights) ...")
            r = _sub(["--_build", comp, "--out", str(bf16)])
            (bf16 / comp / ".complete").write_text(json.dumps(r))
            _log(f"  {comp}: {r['params'] / 1e9:.3f} B params in {r['seconds']} s")
        (bf16 / ".complete").write_text("")
    if not (uint4 / ".complete").exists():
        uint4.mkdir(parents=True, exist_ok=True)
        for name in ("model_index.json", "scheduler", "tokenizer", "vae"):
            copy_tree_or_file(bf16 / name, uint4 / name)
        for comp, need in (("text_encoder", 6 * GB), ("transformer", 8 * GB)):
            if (uint4 / comp / ".complete").exists():
                continue
            _need_ram(need, f"quantizing the {comp}")
            _log(f"quantizing the {comp} to SDNQ uint4 (no SVD) ...")
            r = _sub(["--_quantize", comp, "--src", str(bf16), "--out", str(uint4), "--wdtype", "uint4"])
            (uint4 / comp / ".complete").write_text(json.dumps(r))
            _log(f"  {comp}: {r['seconds']} s")
        (uint4 / ".complete").write_text("")
    return {"bf16": bf16, "sdnq-uint4": uint4}


def build_tiny(cache: Path) -> dict[str, Path]:
    from zit_desktop.core.engine.tiny_variants import make_tiny_variant

    out = {}
    for v in VARIANTS:
        folder = cache / "tiny" / v
        if not (folder / ".complete").exists():
            shutil.rmtree(folder, ignore_errors=True)
            make_tiny_variant(folder, v)
            (folder / ".complete").write_text("")
        out[v] = folder
    return out


# ---- measure -----------------------------------------------------------------------------------
def _measure(folder: Path, component: str, variant: str) -> dict[str, Any]:
    """(subprocess) Peak RSS of one load: the whole pipeline through the app's loader, or one component."""
    from zit_desktop.core.memory.rss import RssSampler, current_rss

    sampler = RssSampler(0.05)
    before_import = current_rss() or 0
    import torch

    from zit_desktop.core.engine import variants

    if variants.is_sdnq_folder(folder):
        variants.import_sdnq(variant)
    import diffusers  # noqa: F401  (imports are not the load: counted in the baseline)
    import transformers  # noqa: F401

    gc.collect()
    baseline = current_rss() or 0
    sampler.start()
    t0 = time.perf_counter()
    if component == "pipeline":
        from zit_desktop.core.engine.loader import load_pipeline

        obj = load_pipeline(str(folder), torch.bfloat16, lambda _e: None, variant=variant)
    elif component == "text_encoder":
        from transformers import Qwen3Model

        obj = Qwen3Model.from_pretrained(str(folder / component), dtype=torch.bfloat16, local_files_only=True)
    else:
        from diffusers import AutoencoderKL, ZImageTransformer2DModel

        cls = ZImageTransformer2DModel if component == "transformer" else AutoencoderKL
        obj = cls.from_pretrained(str(folder / component), torch_dtype=torch.bfloat16, local_files_only=True)
    seconds = time.perf_counter() - t0
    peak = sampler.take_peak() or 0
    after = current_rss() or 0
    split_after = _rss_split()
    # safetensors tensors are mmapped: from_pretrained in the stored dtype maps them without reading, so
    # the load alone barely moves RSS; the first denoise step reads every page. Touch one element per
    # 4 KiB page of every tensor to get the RSS with all weights resident.
    t1 = time.perf_counter()
    modules = [obj] if component != "pipeline" else [obj.transformer, obj.text_encoder, obj.vae]
    with torch.no_grad():
        for mod in modules:
            for t in [*mod.parameters(), *mod.buffers()]:
                for u in _storage_tensors(t):
                    flat = u.reshape(-1)
                    flat[:: max(1, 4096 // max(1, u.element_size()))].float().sum()
    touch_s = time.perf_counter() - t1
    peak_touched = sampler.stop() or 0
    resident = current_rss() or 0
    quantized = sorted(
        {
            type(m).__name__
            for m in (obj.modules() if hasattr(obj, "modules") else [])
            if "SDNQ" in type(m).__name__
        }
    )
    if component == "pipeline":
        quantized = sorted(
            {
                type(m).__name__
                for c in (obj.transformer, obj.text_encoder)
                for m in c.modules()
                if "SDNQ" in type(m).__name__
            }
        )
    return {
        "component": component, "peak_rss": peak, "rss_after": after, "rss_baseline": baseline,
        "rss_before_imports": before_import, "load_s": round(seconds, 2), "sdnq_modules": quantized,
        "rss_after_split": split_after, "peak_rss_touched": max(peak, peak_touched), "rss_resident": resident,
        "rss_resident_split": _rss_split(), "touch_s": round(touch_s, 2),
    }  # fmt: skip


def _storage_tensors(t: Any) -> list[Any]:
    """The plain tensors behind ``t`` (an SDNQ weight keeps its packed data and scales as attributes)."""
    import torch

    if type(t) is torch.Tensor or type(t) is torch.nn.Parameter:
        return [t]
    found = [v for v in vars(t).values() if isinstance(v, torch.Tensor)] if hasattr(t, "__dict__") else []
    return found or [t.detach()]


def _rss_split() -> dict[str, int]:
    """RssAnon / RssFile of this process (Linux /proc; empty elsewhere): mmapped weights are file pages."""
    out = {}
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(("RssAnon:", "RssFile:")):
                key, value = line.split(":")
                out[key] = int(value.split()[0]) * 1024
    except OSError:
        pass
    return out


# ---- predict -----------------------------------------------------------------------------------
def predict(folders: dict[str, Path]) -> dict[str, dict[str, Any]]:
    from zit_desktop.core.memory.advisor import MemoryAdvisor
    from zit_desktop.core.memory.ram import predict_ram
    from zit_desktop.core.memory.rungs import Rung
    from zit_desktop.core.memory.vram import cpu_device
    from zit_desktop.core.models.catalogue import catalogue

    advisor = MemoryAdvisor(learn=False)
    device = cpu_device("benchmark: no GPU", _ram())
    installed = {v: str(p) for v, p in folders.items()}
    table = {row.variant: row for row in advisor.variant_table(device, free_disk=None, installed=installed)}
    byid = {str(v.id): v for v in catalogue()}
    out = {}
    for v, folder in folders.items():
        profile, source = advisor.variant_sizes(byid[v], str(folder))
        # device None = a bf16 device: weights counted as loaded in bf16 (what this benchmark loads)
        load = predict_ram(profile, Rung.MODEL_OFFLOAD, 1024, 1024, None, calibration=advisor.calibration)
        b = load.breakdown
        row = table[v]
        out[v] = {
            "sizes_from": source,
            "predicted_load_bytes": b["load_phase"],
            "predicted_baseline_bytes": b["baseline"],
            "predicted_weights_bytes": {c: b[f"weights_{c}"] for c in COMPONENTS},
            "table_cpu_job_bytes": row.ram_bytes,
            "table_rung": str(row.rung),
            "table_verdict": str(row.verdict),
            "catalogue_weights_bytes": dict(byid[v].weights),
        }
    return out


# ---- main --------------------------------------------------------------------------------------
def run(args: argparse.Namespace) -> dict[str, Any]:
    cache = Path(args.cache).expanduser()
    total, avail = _ram()
    _log(f"machine: {total / GB:.1f} GB RAM, {avail / GB:.1f} GB available; cache {cache}")
    folders = build_tiny(cache) if args.tiny else build_full(cache)
    preds = predict(folders)
    results: dict[str, Any] = {}
    for v in VARIANTS:
        folder, p = folders[v], preds[v]
        split = args.split or p["predicted_load_bytes"] > SAFE_FRACTION * total
        entry: dict[str, Any] = {"folder": str(folder), "disk_bytes": _dir_bytes(folder), **p}
        gc.collect()
        if not split:
            _need_ram(p["predicted_load_bytes"], f"loading {v}")
            _log(f"[{v}] loading the whole pipeline through loader.load_pipeline (fresh process) ...")
            m = _sub(["--_measure", "pipeline", "--out", str(folder), "--variant", v])
            entry.update(
                mode="whole", measured=m, measured_load_peak_rss=m["peak_rss"], measured_rss_after=m["rss_after"],
                measured_peak_rss=m["peak_rss_touched"], measured_rss_resident=m["rss_resident"],
            )  # fmt: skip
            entry["load_s"] = m["load_s"]
        else:
            parts = {}
            for comp in COMPONENTS:
                need = p["predicted_weights_bytes"][comp] + p["predicted_baseline_bytes"]
                _need_ram(need, f"loading the {v} {comp}")
                _log(f"[{v}] predicted {p['predicted_load_bytes'] / GB:.1f} GB > {SAFE_FRACTION:.0%} of RAM: "
                     f"loading the {comp} alone (fresh process) ...")  # fmt: skip
                parts[comp] = _sub(["--_measure", comp, "--out", str(folder), "--variant", v])
            entry.update(
                mode="per-component", measured=parts,
                measured_peak_rss_sum=sum(m["peak_rss_touched"] for m in parts.values()),
                measured_peak_rss_largest=max(m["peak_rss_touched"] for m in parts.values()),
                # one baseline + each component's growth over its own baseline: the whole load's estimate
                measured_peak_rss_combined=parts["transformer"]["rss_baseline"]
                + sum(m["peak_rss_touched"] - m["rss_baseline"] for m in parts.values()),
                measured_load_peak_rss=parts["transformer"]["rss_baseline"]
                + sum(m["peak_rss"] - m["rss_baseline"] for m in parts.values()),
                load_s=round(sum(m["load_s"] for m in parts.values()), 2),
            )  # fmt: skip
            entry["measured_peak_rss"] = entry["measured_peak_rss_combined"]
        entry["ratio_measured_over_predicted_load"] = round(
            entry["measured_peak_rss"] / p["predicted_load_bytes"], 3
        )
        results[v] = entry
    return {"mode": "tiny" if args.tiny else "full", "ram_total": total, "ram_available_at_start": avail,
            "svd": False, "variants": results}  # fmt: skip


def report(data: dict[str, Any]) -> None:
    g = lambda n: f"{n / GB:6.2f} GB"  # noqa: E731
    _log("")
    _log(
        f"== variant RAM on CPU ({data['mode']}; sdnq-uint4 quantized WITHOUT SVD; weights loaded as bf16) =="
    )
    _log(
        f"{'variant':<11} {'mode':<14} {'disk':>9} {'predicted':>9} {'load pk':>9} {'resident':>9} {'ratio':>6} {'after ld':>9} {'load s':>7} {'table(cpu job)':>15}"
    )
    for v, e in data["variants"].items():
        after = e.get("measured_rss_after")
        _log(f"{v:<11} {e['mode']:<14} {g(e['disk_bytes'])} {g(e['predicted_load_bytes'])} {g(e['measured_load_peak_rss'])} {g(e['measured_peak_rss'])} "
             f"{e['ratio_measured_over_predicted_load']:6.2f} {g(after) if after else '      n/a':>9} {e['load_s']:7.1f} "
             f"{g(e['table_cpu_job_bytes'])} ")  # fmt: skip
        if e["mode"] == "per-component":
            for comp, m in e["measured"].items():
                w = e["predicted_weights_bytes"][comp]
                _log(f"    {comp:<13} load peak {g(m['peak_rss'])}, resident peak {g(m['peak_rss_touched'])} (process baseline {g(m['rss_baseline'])}, "
                     f"resident growth {g(m['peak_rss_touched'] - m['rss_baseline'])} vs predicted weights {g(w)}), after {g(m['rss_after'])}, {m['load_s']} s")  # fmt: skip
            _log(f"    per-component: sum of the three resident peaks {g(e['measured_peak_rss_sum'])}; largest single peak "
                 f"{g(e['measured_peak_rss_largest'])}; one baseline + the three growths {g(e['measured_peak_rss_combined'])} "
                 "(the 'resident' column)")  # fmt: skip
    _log(
        "load pk = peak RSS during load_pipeline (safetensors are mmapped: pages not read yet); resident = "
        "peak RSS once every weight page has been touched (what the first step needs); ratio = resident / predicted"
    )
    _log("predicted = advisor load phase (baseline + weights at bf16, sizes read from the files); "
         "table(cpu job) = variant_table's peak for a whole 1024² CPU job (fp32 compute)")  # fmt: skip
    _log("JSON " + json.dumps(data, sort_keys=True))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tiny", action="store_true", help="the tiny variants (seconds; for the test)")
    ap.add_argument("--cache", default=str(DEFAULT_CACHE), help="where the built variants are kept")
    ap.add_argument("--split", action="store_true", help="measure every variant component by component")
    ap.add_argument("--_build", help=argparse.SUPPRESS)
    ap.add_argument("--_quantize", help=argparse.SUPPRESS)
    ap.add_argument("--_measure", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    ap.add_argument("--src", help=argparse.SUPPRESS)
    ap.add_argument("--wdtype", default="uint4", help=argparse.SUPPRESS)
    ap.add_argument("--variant", default="", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args._build:
        print("RESULT " + json.dumps(_build_component(Path(args.out), args._build)), flush=True)
    elif args._quantize:
        r = _quantize_component(Path(args.src), Path(args.out), args._quantize, args.wdtype)
        print("RESULT " + json.dumps(r), flush=True)
    elif args._measure:
        print("RESULT " + json.dumps(_measure(Path(args.out), args._measure, args.variant)), flush=True)
    else:
        report(run(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
