"""The refine's memory planning (VAE encode + denoise at the target size, whole or tiled) and the
validation of finalize requests. Pure: no torch, no model."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image

from zit_desktop.core.memory.advisor import MemoryAdvisor
from zit_desktop.core.memory.peak_model import PlanOptions, predict_peak
from zit_desktop.core.memory.profile import published_profile
from zit_desktop.core.memory.refine import plan_refine
from zit_desktop.core.memory.rungs import LADDER
from zit_desktop.core.memory.vram import cpu_device, simulated_cuda_device
from zit_desktop.core.request import UPSCALE, Finalize, GenerationRequest, RequestError, validate

PROFILE = published_profile()
I2I = PlanOptions(image_to_image=True)


@pytest.mark.parametrize("rung", LADDER)
@pytest.mark.parametrize("side", [512, 1024, 2048])
def test_image_to_image_adds_the_vae_encode_and_never_predicts_less(rung: str, side: int) -> None:
    t2i = predict_peak(PROFILE, rung, side, side)
    i2i = predict_peak(PROFILE, rung, side, side, options=I2I)
    assert i2i.breakdown["activations_vae_encode"] > 0 == t2i.breakdown["activations_vae_encode"]
    assert "phase_encode_image" in i2i.breakdown and "phase_encode_image" not in t2i.breakdown
    assert i2i.bytes >= t2i.bytes
    if rung == "model-offload":  # the VAE stays on the GPU from the encode through the denoise
        vae = PROFILE.vae.bytes
        assert i2i.breakdown["phase_denoise"] == t2i.breakdown["phase_denoise"] + vae


def test_the_encode_grows_with_the_target_and_tiling_bounds_it() -> None:
    small = predict_peak(PROFILE, "gpu", 1024, 1024, options=I2I).breakdown["activations_vae_encode"]
    big = predict_peak(PROFILE, "gpu", 2048, 2048, options=I2I).breakdown["activations_vae_encode"]
    assert big > 3.5 * small
    tiled = predict_peak(PROFILE, "gpu", 2048, 2048, options=I2I, vae_tiling=True).breakdown[
        "activations_vae_encode"
    ]
    assert tiled < big


def test_whole_when_it_fits_tiles_when_it_does_not() -> None:
    advisor = MemoryAdvisor()
    roomy = simulated_cuda_device(24, free_gib=23)
    whole = advisor.refine_plan(PROFILE, roomy, 1024, 1024)
    assert not whole.tiled and whole.plan.fits and whole.plan.size == (1024, 1024)
    small = simulated_cuda_device(4, free_gib=3.5)
    assert not advisor.plan(PROFILE, small, 2048, 2048, I2I).fits  # no rung denoises 2048² whole here
    tiled = advisor.refine_plan(PROFILE, small, 2048, 2048)
    assert tiled.tiled and tiled.plan.fits and tiled.plan.size == (tiled.tile, tiled.tile)
    assert tiled.overlap == tiled.tile // 8
    assert "not to fit" in tiled.reasons[0]
    peak = advisor.predicted_refine_peak(PROFILE, small, 2048, 2048)
    assert peak is not None and peak == tiled.plan.predicted_peak_bytes
    assert advisor.predicted_refine_peak(PROFILE, cpu_device("no GPU"), 2048, 2048) is None


def test_larger_than_the_model_denoises_in_one_piece_is_always_tiled() -> None:
    advisor = MemoryAdvisor()
    huge = simulated_cuda_device(141, free_gib=140)
    assert advisor.refine_plan(PROFILE, huge, 2048, 2048).tile == 0
    beyond = advisor.refine_plan(PROFILE, huge, 4096, 2304)
    assert beyond.tile == 1024 and "larger than the 2048 px" in beyond.reasons[0]
    cpu = advisor.refine_plan(PROFILE, cpu_device("no GPU"), 1024, 1024)
    assert cpu.tile == 0 and cpu.plan.rung == "cpu"


def test_the_largest_tile_that_fits_is_chosen() -> None:
    advisor = MemoryAdvisor()
    device = simulated_cuda_device(4, free_gib=3.5)
    asked: list[tuple[int, int]] = []

    def plan_at(w: int, h: int):  # type: ignore[no-untyped-def]
        asked.append((w, h))
        p = advisor.plan(PROFILE, device, w, h, I2I)
        return replace(p, fits=w <= 768)  # pretend 1024-px tiles do not fit

    chosen = plan_refine(plan_at, 3072, 3072)
    assert chosen.tile == 768 and asked == [(1024, 1024), (768, 768)]


# ---- validation -----------------------------------------------------------------------------------
@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "src.png"
    Image.new("RGB", (512, 512), "orange").save(path)
    return path


def refine(source: Path, w: int = 1024, h: int = 1024, **f: object) -> GenerationRequest:
    return GenerationRequest(
        prompt="cat", width=w, height=h, preset=None, finalize=Finalize(str(source), **f)
    )  # type: ignore[arg-type]


def test_a_good_refine_passes_and_larger_than_text_to_image_is_allowed(source: Path) -> None:
    assert validate(refine(source)) == []
    assert validate(refine(source, 4096, 4096)) == []
    with pytest.raises(RequestError, match="between 256 and 2048"):
        validate(GenerationRequest(prompt="cat", width=4096, height=4096, preset=None))  # text-to-image: not


@pytest.mark.parametrize(
    ("kwargs", "field", "fragment"),
    [
        ({"w": 1000}, "width", "multiple of 16 between 256 and 4096. Try 992"),
        ({"h": 4112}, "height", "Try 4096"),
        ({"change": 1.5}, "change", "between 0 (keep the picture) and 1"),
        ({"change": -0.1}, "change", "0.35 is a good start"),
        ({"tile": 100}, "tile", "a multiple of 16 between 256 and 2048"),
        ({"tile": 0, "w": 3072, "h": 3072}, "tile", "too large to refine in one piece"),
        ({"method": "paint"}, "finalize", "Unknown finalize method"),
        ({"upscaler": ""}, "upscaler", "No upscaler"),
    ],
)
def test_bad_refines_say_what_to_do(
    source: Path, kwargs: dict[str, object], field: str, fragment: str
) -> None:
    w = int(kwargs.pop("w", 1024))  # type: ignore[call-overload]
    h = int(kwargs.pop("h", 1024))  # type: ignore[call-overload]
    with pytest.raises(RequestError) as err:
        validate(refine(source, w, h, **kwargs))
    assert err.value.field_name == field and fragment in str(err.value)


def test_missing_or_unreadable_sources(tmp_path: Path) -> None:
    with pytest.raises(RequestError, match="does not exist. Choose an image that is still on the disk"):
        validate(refine(tmp_path / "gone.png"))
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not an image")
    with pytest.raises(RequestError, match="junk.png is not an image that can be read"):
        validate(refine(junk))


def test_refine_warnings(source: Path) -> None:
    (stretch,) = validate(refine(source, 1024, 576))
    assert "stretched" in stretch
    assert any("smaller than the source" in w for w in validate(refine(source, 256, 256)))


def test_upscale_checks_scale_and_output_size(source: Path, tmp_path: Path) -> None:
    def up(path: Path, scale: int) -> GenerationRequest:
        return GenerationRequest(prompt="", width=1024, height=1024, preset=None,
                                 finalize=Finalize(str(path), method=UPSCALE, scale=scale))  # fmt: skip

    assert validate(up(source, 2)) == [] and validate(up(source, 4)) == []  # no prompt needed to upscale
    with pytest.raises(RequestError, match="must be 2 or 4, not 3"):
        validate(up(source, 3))
    large = tmp_path / "large.png"
    Image.new("RGB", (2560, 1440)).save(large)
    with pytest.raises(RequestError, match="10240×5760, larger than 8192 px per side. Choose ×2"):
        validate(up(large, 4))
    assert validate(up(large, 2)) == []
