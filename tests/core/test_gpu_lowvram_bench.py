"""The GPU low-VRAM benchmark's code runs here: ``--tiny`` end to end, and the random-weight
full-size builder exercised on the tiny configs (meta -> to_empty -> init -> assign -> pipeline)."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu_lowvram.py"


def load_bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gpu_lowvram", BENCH)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules["gpu_lowvram"] = mod
    spec.loader.exec_module(mod)
    return mod


def test_tiny_mode_runs_the_same_code_and_reports_oom_recovery(tmp_path: Path) -> None:
    bench = load_bench()
    out = tmp_path / "bench.json"
    rc = bench.main(
        ["--tiny", "--steps", "2", "--caps", "none,6,4", "--inject-oom-cap", "4", "--json", str(out)]
    )
    assert rc == 0
    report = json.loads(out.read_text())
    assert report["mode"] == "tiny" and len(report["rows"]) == 8  # 3 caps x 2 sizes + 2 forced rungs
    assert all(r["status"] == "ok" for r in report["rows"])
    forced = [r for r in report["rows"] if r.get("forced")]
    # On the CPU the forced GPU rungs run as plain CPU work, and the image says so (issue 10)
    assert [(r["forced"], r["rung_final"]) for r in forced] == [
        ("model-offload", "cpu"),
        ("sequential", "cpu"),
    ]
    assert next(r["oom_retries"] for r in report["rows"] if r["cap_gb"] == 4.0) == 1
    assert all(r["predicted_bytes"] > 0 and r["s_per_image"] > 0 for r in report["rows"])


def test_full_size_builder_on_tiny_configs(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    bench = load_bench()
    configs = tmp_path / "configs"
    for comp in ("transformer", "text_encoder", "vae", "scheduler"):
        shutil.copytree(tiny_model / comp, configs / comp, ignore=shutil.ignore_patterns("*.safetensors"))
    monkeypatch.setattr(bench, "CONFIGS", configs)
    states = bench.build_random_weights("cpu")
    assert all(t.dtype == torch.bfloat16 for s in states for t in s.values())
    pipe = bench.make_full_pipeline(states)
    pipe2 = bench.make_full_pipeline(states)  # a "reload" aliases the same pristine tensors
    assert (
        pipe.transformer.layers[0].attention.to_q.weight.data_ptr()
        == states[0]["layers.0.attention.to_q.weight"].data_ptr()
    )
    pipe.to("cpu", torch.float32)  # a strategy's copy never touches the pristine weights
    assert states[0]["layers.0.attention.to_q.weight"].dtype == torch.bfloat16
    assert pipe2.transformer.dtype == torch.bfloat16
    with torch.no_grad():
        out = pipe(prompt="a cat", height=256, width=256, num_inference_steps=2, guidance_scale=0.0,
                   generator=torch.Generator("cpu").manual_seed(0), output_type="latent").images  # fmt: skip
    assert out.shape == (1, 16, 32, 32)
    assert bench.parse_caps("none,12,4") == [None, 12.0, 4.0]
