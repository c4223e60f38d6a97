"""The upscaler: spandrel models saved in the official Real-ESRGAN layouts load with their scale,
tiles give the untiled result, non-model files are refused with a clear message, Lanczos works."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from tests.core.upscaler_models import compact_state, save_compact, save_esrgan
from zit_desktop.core.engine.upscale import (
    LanczosUpscaler,
    ModelUpscaler,
    TileGrid,
    UpscaleCancelled,
    load_model_file,
    load_upscaler,
    upscale_by,
)
from zit_desktop.core.errors import AppError, ErrorKind
from zit_desktop.core.events import CancelToken
from zit_desktop.core.models import upscalers as catalogue
from zit_desktop.core.paths import AppPaths


def noise(width: int = 128, height: int = 96, seed: int = 0) -> Image.Image:
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8))


def pixels(im: Image.Image) -> np.ndarray:
    return np.asarray(im).astype(np.int16)


@pytest.mark.parametrize(
    ("save", "kwargs", "arch"),
    [
        (save_compact, {"scale": 4}, "RealESRGAN Compact"),
        (save_compact, {"scale": 2}, "RealESRGAN Compact"),
        (save_esrgan, {"scale": 4}, "ESRGAN"),
        (save_esrgan, {"scale": 2}, "ESRGAN"),
    ],
)
def test_a_model_in_the_official_layout_loads_with_its_scale_and_upscales(
    tmp_path: Path, save: object, kwargs: dict[str, int], arch: str
) -> None:
    path = save(tmp_path / "model.pth", **kwargs)  # type: ignore[operator]
    up = load_model_file(path, "mine")
    assert isinstance(up, ModelUpscaler)
    assert (up.scale, up.descriptor.architecture.name) == (kwargs["scale"], arch)
    out = up.upscale(noise(64, 48), device="cpu")
    assert out.size == (64 * up.scale, 48 * up.scale) and out.mode == "RGB"


def test_the_official_layouts_are_what_the_release_files_hold(tmp_path: Path) -> None:
    """Guard on the fixtures: x4v3 keeps ``params`` with ``body.N`` keys, x4plus ``params_ema``
    with basicsr's names; spandrel reads both back to the same weights."""
    compact = torch.load(save_compact(tmp_path / "c.pth"), weights_only=True)
    assert list(compact) == ["params"] and "body.0.weight" in compact["params"]
    esrgan = torch.load(save_esrgan(tmp_path / "e.pth"), weights_only=True)
    assert list(esrgan) == ["params_ema"]
    keys = set(esrgan["params_ema"])
    assert {"conv_first.weight", "body.0.rdb1.conv1.weight", "conv_body.weight", "conv_up1.weight",
            "conv_up2.weight", "conv_hr.weight", "conv_last.weight"} <= keys  # fmt: skip
    up = load_model_file(tmp_path / "c.pth", "c")
    loaded = up.descriptor.model.state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in compact_state().items())


@pytest.mark.parametrize(("save", "scale"), [(save_compact, 4), (save_esrgan, 2)])
def test_tiles_give_exactly_the_untiled_result_when_the_overlap_covers_the_receptive_field(
    tmp_path: Path, save: object, scale: int
) -> None:
    """Crop-and-paste tiling is exact maths: with oneDNN off (its conv kernels round differently
    for different input sizes) every byte is equal. Both models see ≤ 20 px around a pixel."""
    up = load_model_file(save(tmp_path / "m.pth", scale=scale), "m")  # type: ignore[operator]
    image = noise(64, 48)
    with warnings.catch_warnings(), torch.backends.mkldnn.flags(enabled=False):
        warnings.simplefilter("ignore", UserWarning)  # torch's note on TF32 for Intel GPUs
        whole = up.upscale(image, tile=4096, device="cpu")
        assert up.describe()["tiles"] == 1
        tiled = up.upscale(image, tile=32, overlap=24, device="cpu")
        assert up.describe()["tiles"] == 4 and up.describe()["grid"] == [2, 2]
    assert np.array_equal(np.asarray(whole), np.asarray(tiled))


def test_with_the_default_kernels_tiles_differ_from_untiled_by_at_most_one_level_in_a_few_values(
    tmp_path: Path,
) -> None:
    """What holds with the default CPU kernels: float noise of ~1e-7 flips a rounding now and
    then, measured here as ≤ 1/255 in at most 10 of 36,864 values (0 to 1 in our runs); with no overlap the seams
    show (many values off by far more), so the test can tell good tiling from bad."""
    up = load_model_file(save_esrgan(tmp_path / "e.pth", scale=2), "e")
    image = noise(64, 48)
    whole = pixels(up.upscale(image, tile=4096, device="cpu"))
    tiled = np.abs(whole - pixels(up.upscale(image, tile=32, overlap=24, device="cpu")))
    assert tiled.max() <= 1 and np.count_nonzero(tiled) <= 10
    seams = np.abs(whole - pixels(up.upscale(image, tile=32, overlap=0, device="cpu")))
    assert seams.max() > 20 and np.count_nonzero(seams) > 1_000


def test_the_tile_grid_covers_the_image_with_even_cores() -> None:
    grid = TileGrid.cover(1000, 300, 512)
    assert grid.cols == (0, 500, 1000) and grid.rows == (0, 300) and grid.count == 2
    assert TileGrid.cover(64, 64, 512).count == 1


def test_cancel_stops_between_tiles_and_progress_counts_tiles(tmp_path: Path) -> None:
    up = load_model_file(save_compact(tmp_path / "c.pth"), "c")
    token = CancelToken()
    seen: list[tuple[int, int]] = []

    def progress(done: int, total: int) -> None:
        seen.append((done, total))
        if done == 2:
            token.cancel()

    with pytest.raises(UpscaleCancelled):
        up.upscale(noise(), tile=32, overlap=8, device="cpu", cancel=token, on_progress=progress)
    assert seen == [(1, 12), (2, 12)]


def test_a_model_for_another_factor_is_run_again_or_brought_down_with_lanczos(tmp_path: Path) -> None:
    x2 = load_model_file(save_compact(tmp_path / "x2.pth", scale=2), "x2")
    out, passes = upscale_by(x2, noise(32, 24), 4, device="cpu")
    assert (out.size, passes) == ((128, 96), 2)
    x4 = load_model_file(save_compact(tmp_path / "x4.pth", scale=4), "x4")
    out, passes = upscale_by(x4, noise(32, 24), 2, device="cpu")
    assert (out.size, passes) == ((64, 48), 1)


def test_an_alpha_channel_is_kept(tmp_path: Path) -> None:
    up = load_model_file(save_compact(tmp_path / "c.pth", scale=2), "c")
    rgba = noise(32, 32).convert("RGBA")
    rgba.putalpha(Image.new("L", (32, 32), 128))
    out = up.upscale(rgba, device="cpu")
    assert out.mode == "RGBA" and out.size == (64, 64) and out.getchannel("A").getextrema() == (128, 128)


@pytest.mark.parametrize(
    ("content", "name", "says"),
    [
        (b"just some notes\n", "notes.pth", "cannot be read as a model file"),
        (None, "picture.pth", "cannot be read as a model file"),  # a PNG renamed .pth
    ],
)
def test_a_file_that_is_not_a_model_is_refused_with_what_is_expected(
    tmp_path: Path, content: bytes | None, name: str, says: str
) -> None:
    path = tmp_path / name
    if content is None:
        noise(16, 16).save(path, format="PNG")
    else:
        path.write_bytes(content)
    with pytest.raises(AppError) as caught:
        load_upscaler(str(path), AppPaths(tmp_path))
    assert caught.value.kind == ErrorKind.MODEL_INVALID
    assert says in caught.value.message and "realesr-general-x4v3.pth" in caught.value.message


def test_a_diffusion_model_file_is_refused(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    path = tmp_path / "transformer.safetensors"  # the key layout of a diffusion transformer
    save_file({"layers.0.attention.to_q.weight": torch.zeros(4, 4), "x_embedder.weight": torch.zeros(4, 4)}, path)
    with pytest.raises(AppError) as caught:
        load_upscaler(str(path), AppPaths(tmp_path))
    assert caught.value.kind == ErrorKind.MODEL_INVALID
    assert "not an upscaler model" in caught.value.message and "diffusion" in caught.value.message


def test_a_catalogue_model_not_downloaded_says_how_to_get_it(tmp_path: Path) -> None:
    with pytest.raises(AppError) as caught:
        load_upscaler("realesr-general-x4v3", AppPaths(tmp_path))
    assert caught.value.kind == ErrorKind.MODEL_MISSING
    assert "zit-desktop upscale --download realesr-general-x4v3" in caught.value.message


def test_a_downloaded_catalogue_model_loads_from_the_models_folder(tmp_path: Path) -> None:
    paths = AppPaths(tmp_path)
    entry = catalogue.find("realesr-general-x4v3")
    assert entry is not None
    target = catalogue.model_path(paths, entry)
    target.parent.mkdir(parents=True)
    save_compact(target)
    up = load_upscaler("realesr-general-x4v3", paths)
    assert (up.name, up.scale) == ("realesr-general-x4v3", 4)
    assert target == tmp_path / "models" / "upscalers" / "realesr-general-x4v3.pth"


def test_bad_specs_say_what_is_possible(tmp_path: Path) -> None:
    with pytest.raises(AppError, match="lanczos, realesr-general-x4v3"):
        load_upscaler("4x-UltraSharp", AppPaths(tmp_path))
    with pytest.raises(AppError, match="does not exist"):
        load_upscaler(str(tmp_path / "missing.pth"), AppPaths(tmp_path))


def test_lanczos_has_the_requested_scale_and_matches_pil(tmp_path: Path) -> None:
    up = load_upscaler("lanczos", AppPaths(tmp_path), scale=4)
    assert isinstance(up, LanczosUpscaler) and up.scale == 4
    image = noise(40, 30)
    out = up.upscale(image)
    assert np.array_equal(np.asarray(out), np.asarray(image.resize((160, 120), Image.Resampling.LANCZOS)))


def test_the_device_is_the_cpu_without_cuda_and_the_tile_estimate_grows_with_the_tile(tmp_path: Path) -> None:
    up = load_model_file(save_esrgan(tmp_path / "e.pth", scale=4), "e")
    dev, dtype, tile = up.choose_device(noise(), 512, 32)
    if not torch.cuda.is_available():
        assert (dev.type, dtype, tile) == ("cpu", torch.float32, 128)  # the tile never exceeds the image
    small, big = up.tile_bytes(128, 32, 2), up.tile_bytes(512, 32, 2)
    assert 8 * small < big <= 9 * small  # activations grow with (tile + 2·overlap)²
