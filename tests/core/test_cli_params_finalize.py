"""`zit-desktop params` says what a refined or upscaled image was made from (method, scale or strength,
upscaler, source file and seed), from our JSON record and from the A1111 text alone."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image

from tests.core.test_cli import zit
from zit_desktop.core.metadata.chunks import A1111_CHUNK
from zit_desktop.core.metadata.read import read_params
from zit_desktop.core.metadata.write import finalize_info, png_text_chunks, write_png_atomic
from zit_desktop.core.request import Finalize, GenerationRequest


def _source(path: Path) -> Path:
    request = GenerationRequest(prompt="一只橘色的猫", seed=5, width=64, height=64, steps=2, model="/m/tiny")
    write_png_atomic(Image.new("RGB", (64, 64), (200, 120, 40)), path, png_text_chunks(request, {}, {"strategy": "cpu"}))
    return path


def test_params_shows_the_upscale_step_of_an_upscaled_png(tmp_path: Path, data_dir: Path) -> None:
    source = _source(tmp_path / "src_s5.png")
    up = zit("upscale", str(source), "--upscaler", "lanczos", "--json", data_dir=data_dir)
    assert up.returncode == 0, up.stderr
    made = json.loads(up.stdout.splitlines()[-1])["path"]

    as_json = zit("params", made, "--json", data_dir=data_dir)
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout)["finalize"] == {
        "method": "upscale", "source": "src_s5.png", "source_seed": 5, "scale": 2, "upscaler": "lanczos",
        "strength": None, "tiles": None,
    }
    text = zit("params", made, data_dir=data_dir)
    assert "  finalize: upscale x2 with lanczos, from src_s5.png (seed 5)" in text.stdout.splitlines()
    plain = zit("params", str(source), "--json", data_dir=data_dir)
    assert json.loads(plain.stdout)["finalize"] is None  # a generated image has no finalize step


def test_refined_png_states_strength_and_source_in_json_and_in_a1111_text(tmp_path: Path) -> None:
    source = _source(tmp_path / "src_s5.png")
    finalize = Finalize(source=str(source), change=0.4, upscaler="lanczos", tile=0)
    request = GenerationRequest(prompt="一只橘色的猫", seed=9, width=128, height=128, steps=2, model="/m/tiny",
                                finalize=finalize)
    facts = {"shifted_sigmas": [0.4], "tiles": 1, "tile": 0}  # what the refine engine adds
    info = {"strategy": "cpu", "finalize": finalize_info(finalize, facts)}
    chunks = png_text_chunks(request, {}, info)
    expected = {"method": "refine", "source": "src_s5.png", "source_seed": 5, "scale": None,
                "upscaler": "lanczos", "strength": 0.4, "tiles": None}

    ours = tmp_path / "refined.png"
    write_png_atomic(Image.new("RGB", (128, 128)), ours, chunks)
    assert read_params(ours).finalize == expected
    a1111_only = tmp_path / "a1111.png"  # what a viewer that keeps only `parameters` leaves
    write_png_atomic(Image.new("RGB", (128, 128)), a1111_only, {A1111_CHUNK: chunks[A1111_CHUNK]})
    back = read_params(a1111_only)
    assert back.source == "a1111" and back.finalize == expected

    from zit_desktop.cli.params import describe_finalize

    assert describe_finalize(expected) == "refine at strength 0.4 (resized with lanczos), from src_s5.png (seed 5)"
