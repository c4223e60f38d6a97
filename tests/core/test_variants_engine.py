"""Every tiny variant through the engine: pixels equal a direct diffusers call on the same files, the
SDNQ text encoder stays quantized whatever PYTHONHASHSEED, and broken files fail with advice."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from zit_desktop.core.engine import Engine
from zit_desktop.core.engine.tiny_variants import TINY_VARIANTS, TinyModel, make_tiny_variant
from zit_desktop.core.errors import ErrorKind
from zit_desktop.core.events import Event, Failed, Finished
from zit_desktop.core.paths import app_paths
from zit_desktop.core.request import GenerationRequest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def tiny_variants(tmp_path_factory: pytest.TempPathFactory) -> dict[str, TinyModel]:
    base = tmp_path_factory.mktemp("tiny-variants")
    return {v: make_tiny_variant(base / v, v) for v in TINY_VARIANTS}


def direct_pixels(tiny: TinyModel, seed: int, **kw: Any) -> np.ndarray:
    """The reference: diffusers' own loaders and pipeline call, written out here independently."""
    import sdnq  # noqa: F401  # registers the SDNQ quantizer; before any load
    import torch
    from diffusers import GGUFQuantizationConfig, ZImagePipeline, ZImageTransformer2DModel

    extra: dict[str, Any] = {}
    if tiny.transformer:
        extra["transformer"] = ZImageTransformer2DModel.from_single_file(
            tiny.transformer,
            config=str(tiny.model / "transformer"),
            quantization_config=GGUFQuantizationConfig(compute_dtype=torch.float32),
            torch_dtype=torch.float32,
        )
    pipe = ZImagePipeline.from_pretrained(str(tiny.model), dtype=torch.float32, **extra)
    pipe.set_progress_bar_config(disable=True)
    image = pipe(**kw, generator=torch.Generator("cpu").manual_seed(seed)).images[0]
    return np.asarray(image)


def request_for(tiny: TinyModel, **kw: Any) -> GenerationRequest:
    base: dict[str, Any] = {
        "prompt": "一只橘色的猫",
        "seed": 7,
        "model": str(tiny.model),
        "transformer": tiny.transformer,
        "variant": tiny.variant,
        "width": 256,
        "height": 256,
        "preset": None,
    }
    base.update(kw)
    return GenerationRequest(**base)


def run(engine: Engine, request: GenerationRequest) -> tuple[Any, list[Event]]:
    events: list[Event] = []
    return engine.run(request, events.append), events


@pytest.mark.parametrize("variant", TINY_VARIANTS)
def test_each_variant_through_the_engine_equals_a_direct_diffusers_call(
    data_dir: Path, tiny_variants: dict[str, TinyModel], variant: str
) -> None:
    tiny = tiny_variants[variant]
    engine = Engine(app_paths(data_dir).ensure())
    result, _ = run(engine, request_for(tiny))
    assert isinstance(result, Finished), result
    (image,) = result.images
    ours = np.asarray(Image.open(image.path).convert("RGB"))
    ref = direct_pixels(tiny, 7, prompt="一只橘色的猫", height=256, width=256, num_inference_steps=8, guidance_scale=0.0)
    assert ours.shape == (256, 256, 3) and ours.std() > 0
    assert np.array_equal(ours, ref)
    pipe = engine.pipeline
    quantized_te = type(pipe.text_encoder.layers[0].self_attn.q_proj).__name__
    quantized_tr = type(pipe.transformer.layers[0].attention.to_q).__name__
    expected_tr = {"bf16": "Linear", "gguf-q8": "GGUFLinear", "gguf-q4": "GGUFLinear"}.get(variant, "SDNQLinear")
    assert quantized_tr == expected_tr
    assert quantized_te == ("Linear" if variant == "bf16" else "SDNQLinear")
    assert image.request["variant"] == variant and image.request["transformer"] == tiny.transformer


def test_quantized_variants_give_different_pixels_than_bf16(
    data_dir: Path, tiny_variants: dict[str, TinyModel]
) -> None:
    """The pixel-identity test above would pass vacuously if every variant loaded the same weights."""
    engine = Engine(app_paths(data_dir).ensure())
    pixels = {}
    for variant in ("bf16", "sdnq-uint4", "gguf-q4"):
        result, _ = run(engine, request_for(tiny_variants[variant]))
        assert isinstance(result, Finished), result
        pixels[variant] = np.asarray(Image.open(result.images[0].path).convert("RGB"))
    assert not np.array_equal(pixels["bf16"], pixels["sdnq-uint4"])
    assert not np.array_equal(pixels["sdnq-uint4"], pixels["gguf-q4"])


def test_the_loaded_pipeline_is_cached_per_model_and_transformer(
    data_dir: Path, tiny_variants: dict[str, TinyModel]
) -> None:
    q8, q4 = tiny_variants["gguf-q8"], tiny_variants["gguf-q4"]
    engine = Engine(app_paths(data_dir).ensure())
    first = engine.load(str(q8.model), lambda e: None, q8.transformer)
    assert engine.load(str(q8.model), lambda e: None, q8.transformer) is first
    # same pipeline folder layout, another transformer file: a fresh load
    other = engine.load(str(q8.model), lambda e: None, q4.transformer)
    assert other is not first
    assert engine.load(str(q8.model), lambda e: None) is not other  # the folder's own transformer


_PROBE = """
import json, sys
from zit_desktop.core.engine import loader
import torch
pipe = loader.load_pipeline(sys.argv[1], torch.float32, lambda e: None)
names = sorted({type(m).__name__ for m in pipe.text_encoder.modules() if 'Linear' in type(m).__name__})
print(json.dumps(names))
"""


@pytest.mark.parametrize("hashseed", ["0", "2"])
def test_sdnq_text_encoder_is_quantized_in_a_fresh_process_under_each_hash_seed(
    tiny_variants: dict[str, TinyModel], hashseed: str
) -> None:
    """diffusers loads components in set order, so a missing ``import sdnq`` shows only under some
    seeds (0 and 2 among them): the load runs in a fresh interpreter with each."""
    env = dict(os.environ, PYTHONHASHSEED=hashseed, PYTHONPATH=str(ROOT))
    env.pop("SDNQ_USE_TORCH_COMPILE", None)  # the loader must set it itself (no Triton here)
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, str(tiny_variants["sdnq-uint4"].model)],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == ["SDNQLinear"]


def test_missing_and_broken_transformer_files_fail_with_advice(
    data_dir: Path, tiny_variants: dict[str, TinyModel], tmp_path: Path
) -> None:
    tiny = tiny_variants["gguf-q4"]
    engine = Engine(app_paths(data_dir).ensure())

    result, _ = run(engine, request_for(tiny, transformer=str(tmp_path / "gone.gguf")))
    assert isinstance(result, Failed) and result.kind == ErrorKind.MODEL_MISSING.value
    assert "gone.gguf" in result.message and "gguf-q4" in result.message

    truncated = tmp_path / "truncated.gguf"
    truncated.write_bytes(Path(tiny.transformer).read_bytes()[:3000])
    result, _ = run(engine, request_for(tiny, transformer=str(truncated)))
    assert isinstance(result, Failed) and result.kind == ErrorKind.MODEL_CORRUPT.value, result
    assert "truncated.gguf" in result.message and "download it again" in result.message
    assert "Traceback" not in result.message

    text = tmp_path / "notes.txt"
    text.write_text("not a model")
    result, _ = run(engine, request_for(tiny, transformer=str(text)))
    assert isinstance(result, Failed) and result.kind == ErrorKind.MODEL_INVALID.value
    assert ".gguf or .safetensors" in result.message


def test_a_missing_pipeline_names_the_variant_it_needs(data_dir: Path, tmp_path: Path) -> None:
    engine = Engine(app_paths(data_dir).ensure())
    gone = TinyModel("sdnq-uint4", tmp_path / "deleted-model")
    result, _ = run(engine, request_for(gone))
    assert isinstance(result, Failed) and result.kind == ErrorKind.MODEL_MISSING.value
    assert "sdnq-uint4" in result.message


def test_a_single_safetensors_transformer_loads_with_the_local_config(
    data_dir: Path, tiny_variants: dict[str, TinyModel], tmp_path: Path
) -> None:
    """ComfyUI's z_image_turbo_bf16.safetensors layout: original key names, one file."""
    from safetensors.torch import load_file, save_file

    from zit_desktop.core.engine.tiny_variants import original_state_dict

    bf16 = tiny_variants["bf16"]
    state = load_file(str(bf16.model / "transformer" / "diffusion_pytorch_model.safetensors"))
    single = tmp_path / "z_image_turbo_bf16.safetensors"
    save_file({k: v.contiguous() for k, v in original_state_dict(state).items()}, str(single))
    engine = Engine(app_paths(data_dir).ensure())
    a, _ = run(engine, request_for(bf16))
    b, _ = run(engine, request_for(bf16, transformer=str(single), variant="custom"))
    assert isinstance(a, Finished) and isinstance(b, Finished), (a, b)
    pa = np.asarray(Image.open(a.images[0].path).convert("RGB"))
    pb = np.asarray(Image.open(b.images[0].path).convert("RGB"))
    assert np.array_equal(pa, pb)


def test_make_tiny_model_cli_prints_the_folder_and_the_gguf_file(tmp_path: Path, data_dir: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "zit_desktop", "make-tiny-model", "--variant", "gguf-q8", str(tmp_path / "m")],
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    folder, gguf_file = out.stdout.split()
    assert (Path(folder) / "model_index.json").is_file()
    assert gguf_file.endswith("-Q8_0.gguf") and Path(gguf_file).is_file()


def test_the_variant_is_recorded_in_png_a1111_text_and_history(
    data_dir: Path, tiny_variants: dict[str, TinyModel]
) -> None:
    from zit_desktop.core.history import HistoryStore
    from zit_desktop.core.jobs import run_and_record
    from zit_desktop.core.metadata.chunks import A1111_CHUNK, OUR_CHUNK

    tiny = tiny_variants["gguf-q4"]
    paths = app_paths(data_dir).ensure()
    engine = Engine(paths)
    store = HistoryStore.for_paths(paths)
    try:
        result = run_and_record(engine, store, request_for(tiny), lambda e: None)
        assert isinstance(result, Finished), result
        info = Image.open(result.images[0].path).text  # type: ignore[attr-defined]
        record = json.loads(info[OUR_CHUNK])
        assert record["request"]["variant"] == "gguf-q4"
        assert record["request"]["transformer"] == tiny.transformer
        assert "Variant: gguf-q4" in info[A1111_CHUNK]
        assert "Transformer: z_image_turbo-tiny-Q4_0.gguf" in info[A1111_CHUNK]
        (row,) = store.page(0, 10)
        assert row.variant == "gguf-q4"
        assert row.request().variant == "gguf-q4" and row.request().transformer == tiny.transformer
        assert row.to_json_dict()["variant"] == "gguf-q4"
    finally:
        store.close()
