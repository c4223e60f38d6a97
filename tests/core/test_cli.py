"""The headless CLI, run as users run it (a subprocess), on the tiny model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from zit_desktop.core.metadata.chunks import A1111_CHUNK


def zit(*args: str, data_dir: Path, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, ZIT_DESKTOP_HOME=str(data_dir), HF_HUB_OFFLINE="1")
    return subprocess.run(
        [sys.executable, "-m", "zit_desktop", *args], capture_output=True, text=True, timeout=timeout, env=env
    )


def test_done_when_flow_make_model_generate_json_params(tmp_path: Path, data_dir: Path) -> None:
    model = tmp_path / "m"
    made = zit("make-tiny-model", str(model), data_dir=data_dir)
    assert made.returncode == 0, made.stderr
    assert (model / "model_index.json").exists() and (model / "ZIT_DESKTOP_TEST_MODEL.txt").exists()

    gen = zit(
        "generate", "--model", str(model), "--prompt", "一只橘色的猫", "--seed", "7", "--preset", "512x512",
        "--count", "2", "--json", data_dir=data_dir,
    )
    assert gen.returncode == 0, gen.stderr
    lines = [json.loads(line) for line in gen.stdout.splitlines()]
    assert [d["seed"] for d in lines] == [7, 8]
    first = lines[0]
    assert (first["width"], first["height"], first["steps"], first["guidance"]) == (512, 512, 8, 0.0)
    assert set(first["timings"]) >= {"encode", "denoise", "decode", "save"}
    assert Path(first["path"]).is_file() and Path(first["path"]).parent == data_dir / "outputs"
    assert "8/8" in gen.stderr  # the progress bar

    import torch
    from diffusers import ZImagePipeline

    pipe = ZImagePipeline.from_pretrained(str(model), dtype=torch.float32)
    ref = pipe(
        prompt="一只橘色的猫", height=512, width=512, num_inference_steps=8, guidance_scale=0.0,
        generator=torch.Generator("cpu").manual_seed(7),
    ).images[0]
    assert np.array_equal(np.asarray(Image.open(first["path"]).convert("RGB")), np.asarray(ref))

    par = zit("params", "--json", first["path"], data_dir=data_dir)
    assert par.returncode == 0, par.stderr
    back = json.loads(par.stdout)
    assert (back["prompt"], back["seed"], back["width"], back["source"]) == ("一只橘色的猫", 7, 512, "zit-desktop")


def test_params_reports_bad_files_and_still_reads_the_rest(tmp_path: Path, data_dir: Path) -> None:
    good = tmp_path / "a1111.png"
    info = PngImagePlugin.PngInfo()
    info.add_text(A1111_CHUNK, "a red fox\nNegative prompt: blurry\nSteps: 20, Sampler: Euler, CFG scale: 7, Seed: 99, Size: 832x1216")
    Image.new("RGB", (8, 8)).save(good, pnginfo=info)
    plain = tmp_path / "plain.png"
    Image.new("RGB", (8, 8)).save(plain)
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    result = zit("params", "--json", str(plain), str(good), str(junk), str(tmp_path / "missing.png"), data_dir=data_dir)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr + result.stdout
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [("error" in r) for r in rows] == [True, False, True, True]
    assert rows[1]["seed"] == 99 and rows[1]["source"] == "a1111" and rows[1]["negative_prompt"] == "blurry"


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--prompt", ""], "prompt is empty"),
        (["--prompt", "cat", "--size", "770x768"], "Try 768"),
        (["--prompt", "cat", "--steps", "0"], "Steps must be"),
        (["--prompt", "cat", "--guidance", "25"], "Guidance must be"),
        (["--prompt", "cat", "--count", "40"], "Count must be"),
        (["--prompt", "cat", "--seed", "-5"], "seed must be"),
    ],
)
def test_generate_rejects_bad_input_before_loading(args: list[str], fragment: str, data_dir: Path) -> None:
    result = zit("generate", "--model", "/nonexistent", *args, data_dir=data_dir, timeout=60)
    assert result.returncode == 2
    assert fragment in result.stderr and "Traceback" not in result.stderr


def test_generate_missing_model_says_what_to_do(tmp_path: Path, data_dir: Path) -> None:
    result = zit("generate", "--model", str(tmp_path / "nowhere"), "--prompt", "cat", data_dir=data_dir)
    assert result.returncode == 1
    assert "does not exist" in result.stderr and "--model PATH_OR_HUB_ID" in result.stderr
    assert "zit-desktop models download" in result.stderr and result.stderr.count("error:") == 1
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["history", "show", "99999999999999999999999"],
        ["history", "list", "--limit", "99999999999999999999999"],
        ["doctor", "--simulate-vram", "nan"],
        ["doctor", "--simulate-vram", "-5"],
    ],
)
def test_out_of_range_arguments_are_usage_errors(args: list[str], data_dir: Path) -> None:
    result = zit(*args, data_dir=data_dir, timeout=60)
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_a_data_dir_that_is_a_file_gives_advice(tmp_path: Path) -> None:
    blocker = tmp_path / "afile"
    blocker.write_text("not a folder")
    result = zit("history", "list", data_dir=blocker / "x", timeout=60)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "data folder" in result.stderr


def test_data_dir_after_the_command_and_the_cli_log(tmp_path: Path, data_dir: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    result = zit("generate", "--data-dir", str(elsewhere), "--model", str(tmp_path / "nowhere"), "--prompt", "cat",
                 data_dir=data_dir)
    assert result.returncode == 1 and "does not exist" in result.stderr
    log_text = (elsewhere / "logs" / "zit-desktop.log").read_text(encoding="utf-8")
    assert "generation failed (model-missing)" in log_text
    assert not (data_dir / "logs").exists()


def test_generate_uses_the_model_in_use_with_its_variant_and_transformer_file() -> None:
    """The window and the terminal generate with the same model: a GGUF variant's transformer file too."""
    from zit_desktop.cli.generate import request_from_args
    from zit_desktop.cli.main import build_parser
    from zit_desktop.core.settings import Settings

    settings = Settings(model="/models/uint4", variant="gguf-q4", transformer="/models/q4.gguf")
    args = build_parser().parse_args(["generate", "--prompt", "cat"])
    req = request_from_args(args, settings)
    assert (req.model, req.variant, req.transformer) == ("/models/uint4", "gguf-q4", "/models/q4.gguf")
    args = build_parser().parse_args(["generate", "--prompt", "cat", "--model", "/elsewhere"])
    req = request_from_args(args, settings)
    assert (req.model, req.variant, req.transformer) == ("/elsewhere", "custom", "")
