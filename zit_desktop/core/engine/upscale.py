"""Upscalers: Real-ESRGAN and other super-resolution models through spandrel, tiled; Lanczos as the
plain fallback. Everything here that needs torch or spandrel stays inside ``core.engine``.

Contract (used by the upscale job and by the refine path)::

    up = load_upscaler(spec, paths, scale=2)   # "lanczos", a catalogue id, or a model file path
    big = up.upscale(image, tile=512, overlap=32, device=None, cancel=token, on_progress=cb)

- ``load_upscaler`` raises :class:`AppError`: ``MODEL_MISSING`` for a catalogue model not downloaded
  yet (the message says how to download it) or a file that is not there, ``MODEL_INVALID`` for a file
  that is not an image upscaler (a text file, a PNG renamed ``.pth``, a diffusion model, a face or
  inpainting model).
- ``upscale`` returns ``image`` × ``scale`` (the model's own scale; :func:`upscale_by` reaches another
  factor with more passes and a Lanczos step). Tiles: the image is cut into a grid of cores of at
  most ``tile`` px; each core is run with ``overlap`` px of the real image around it as context, and
  only the core's part of the output is pasted (no blending). For convolutional models whose
  receptive field is within ``overlap`` this is exactly the untiled result (tests measure it); for
  deeper ones the difference falls off with distance from the seam (see ``test_upscale.py``).
- Device (``device=None``): CUDA when the free VRAM (``torch.cuda.mem_get_info``) holds the weights and
  one tile's activations, at a smaller tile if needed, in half precision when the model supports
  it; else the CPU in float32. Out of memory on the GPU retries at half the tile, then on the CPU.
- ``cancel`` is checked between tiles (:class:`UpscaleCancelled`); ``on_progress(done, total)`` after
  each tile, and ``on_partial(pixels)`` with the output so far when asked (for a preview).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from zit_desktop.core.errors import AppError, ErrorKind
from zit_desktop.core.events import CancelToken
from zit_desktop.core.models import upscalers as catalogue
from zit_desktop.core.paths import AppPaths
from zit_desktop.core.request import LANCZOS

log = logging.getLogger(__name__)

MODEL_SUFFIXES = (".pth", ".safetensors", ".pt", ".ckpt")
MIN_GPU_TILE = 128
VRAM_HEADROOM = 0.85  # use at most this share of the free VRAM (the allocator, the CUDA context)
ACTIVATION_FACTOR = 3  # live tensors at the peak: a layer's input and output plus a skip connection

ProgressCallback = Callable[[int, int], None]
PartialCallback = Callable[[np.ndarray], None]  # the output so far (H×W×3 uint8): read it, don't keep it


class UpscaleCancelled(Exception):
    """The cancel token was set between two tiles."""


class Upscaler:
    """Makes an image ``scale`` times larger. ``name`` says which upscaler (for metadata and logs)."""

    scale: int
    name: str

    def upscale(
        self,
        image: Image.Image,
        *,
        tile: int = 512,
        overlap: int = 32,
        device: str | torch.device | None = None,
        cancel: CancelToken | None = None,
        on_progress: ProgressCallback | None = None,
        on_partial: PartialCallback | None = None,
    ) -> Image.Image:
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """What ran, for the PNG's metadata (device, precision, tile layout of the last call)."""
        return {"upscaler": self.name, "scale": self.scale}


class LanczosUpscaler(Upscaler):
    """PIL's Lanczos resampling: no model, no GPU, always possible."""

    def __init__(self, scale: int) -> None:
        if scale < 1:
            raise AppError(ErrorKind.BAD_INPUT, f"The scale must be 2 or 4, not {scale}.")
        self.scale = scale
        self.name = LANCZOS

    def upscale(
        self,
        image: Image.Image,
        *,
        tile: int = 512,
        overlap: int = 32,
        device: str | torch.device | None = None,
        cancel: CancelToken | None = None,
        on_progress: ProgressCallback | None = None,
        on_partial: PartialCallback | None = None,
    ) -> Image.Image:
        if cancel is not None and cancel.cancelled:
            raise UpscaleCancelled
        out = image.resize((image.width * self.scale, image.height * self.scale), Image.Resampling.LANCZOS)
        if on_progress is not None:
            on_progress(1, 1)
        return out

    def describe(self) -> dict[str, Any]:
        return {"upscaler": self.name, "scale": self.scale, "device": "cpu"}


@dataclass(frozen=True)
class TileGrid:
    """Cores that cover the image: ``rows`` and ``cols`` are boundaries (0 … side), evenly spread."""

    rows: tuple[int, ...]
    cols: tuple[int, ...]

    @classmethod
    def cover(cls, width: int, height: int, tile: int) -> TileGrid:
        def cuts(side: int) -> tuple[int, ...]:
            n = max(1, math.ceil(side / max(1, tile)))
            return tuple(round(i * side / n) for i in range(n + 1))

        return cls(cuts(height), cuts(width))

    @property
    def count(self) -> int:
        return (len(self.rows) - 1) * (len(self.cols) - 1)

    def cores(self) -> list[tuple[int, int, int, int]]:
        """(top, left, bottom, right) of each core, row by row."""
        return [
            (self.rows[r], self.cols[c], self.rows[r + 1], self.cols[c + 1])
            for r in range(len(self.rows) - 1)
            for c in range(len(self.cols) - 1)
        ]


class ModelUpscaler(Upscaler):
    """A spandrel ``ImageModelDescriptor`` (Real-ESRGAN, Compact, SwinIR, …) with the tiling above."""

    def __init__(self, descriptor: Any, name: str, path: Path) -> None:
        self.descriptor = descriptor.eval()
        self.scale = int(descriptor.scale)
        self.name = name
        self.path = path
        self._act_per_px: float | None = None  # activation elements per input pixel, probed once
        self._last: dict[str, Any] = {}

    # ------------------------------------------------------------------ memory and device
    def weight_bytes(self) -> int:
        return sum(p.numel() * p.element_size() for p in self.descriptor.model.parameters())

    def activations_per_pixel(self) -> float:
        """The largest module output per input pixel, measured once on a small CPU input."""
        if self._act_per_px is None:
            side = 32
            largest = [0]

            def hook(_m: Any, _i: Any, out: Any) -> None:
                if isinstance(out, torch.Tensor):
                    largest[0] = max(largest[0], out.numel())

            model = self.descriptor.model
            handles = [m.register_forward_hook(hook) for m in model.modules()]
            try:
                self.descriptor.to(torch.device("cpu"), torch.float32)
                self.descriptor(torch.zeros(1, self.descriptor.input_channels, side, side))
            finally:
                for h in handles:
                    h.remove()
            self._act_per_px = largest[0] / (side * side)
        return self._act_per_px

    def tile_bytes(self, tile: int, overlap: int, element_size: int) -> int:
        """An estimate of the memory one tile needs: the weights plus the peak activations."""
        side = tile + 2 * overlap
        weights = self.weight_bytes() * element_size // 4
        return int(weights + ACTIVATION_FACTOR * self.activations_per_pixel() * side * side * element_size)

    def choose_device(self, image: Image.Image, tile: int, overlap: int) -> tuple[torch.device, torch.dtype, int]:
        """CUDA at the largest tile (down to 128 px) whose estimate fits the free VRAM, else the CPU."""
        tile = max(1, min(tile, max(image.width, image.height)))
        if torch.cuda.is_available():
            half = bool(self.descriptor.supports_half)
            dtype = torch.float16 if half else torch.float32
            free, _total = torch.cuda.mem_get_info()
            t = tile
            while True:
                need = self.tile_bytes(t, overlap, 2 if half else 4)
                if need <= free * VRAM_HEADROOM:
                    return torch.device("cuda"), dtype, t
                if t // 2 < MIN_GPU_TILE:
                    break
                t //= 2
            log.info("upscale on the CPU: %d MB free VRAM is too little for %s", free >> 20, self.name)
        return torch.device("cpu"), torch.float32, tile

    # ------------------------------------------------------------------ running
    def upscale(
        self,
        image: Image.Image,
        *,
        tile: int = 512,
        overlap: int = 32,
        device: str | torch.device | None = None,
        cancel: CancelToken | None = None,
        on_progress: ProgressCallback | None = None,
        on_partial: PartialCallback | None = None,
    ) -> Image.Image:
        alpha = image.getchannel("A") if image.mode in ("RGBA", "LA") else None
        rgb = image.convert("RGB")
        if device is not None:
            dev = torch.device(device)
            dtype = torch.float16 if dev.type == "cuda" and self.descriptor.supports_half else torch.float32
            out = self._run(rgb, tile, overlap, dev, dtype, cancel, on_progress, on_partial)
        else:
            out = self._run_auto(rgb, tile, overlap, cancel, on_progress, on_partial)
        if alpha is not None:  # the models are RGB: the transparency follows with Lanczos
            out.putalpha(alpha.resize(out.size, Image.Resampling.LANCZOS))
        return out

    def _run_auto(
        self, rgb: Image.Image, tile: int, overlap: int, cancel: CancelToken | None,
        on_progress: ProgressCallback | None, on_partial: PartialCallback | None,
    ) -> Image.Image:  # fmt: skip
        dev, dtype, t = self.choose_device(rgb, tile, overlap)
        while True:
            try:
                return self._run(rgb, t, overlap, dev, dtype, cancel, on_progress, on_partial)
            except torch.cuda.OutOfMemoryError as exc:
                detail = str(exc).splitlines()[0]
            # outside the except block, so the failed tile's tensors are released
            torch.cuda.empty_cache()
            if t // 2 >= MIN_GPU_TILE:
                log.warning("upscale out of video memory at %d px tiles (%s); trying %d px", t, detail, t // 2)
                t //= 2
            else:
                log.warning("upscale out of video memory (%s); finishing on the CPU", detail)
                dev, dtype, t = torch.device("cpu"), torch.float32, tile

    def _run(
        self, rgb: Image.Image, tile: int, overlap: int, dev: torch.device, dtype: torch.dtype,
        cancel: CancelToken | None, on_progress: ProgressCallback | None, on_partial: PartialCallback | None,
    ) -> Image.Image:  # fmt: skip
        s = self.scale
        w, h = rgb.size
        src = torch.from_numpy(np.asarray(rgb, dtype=np.uint8).copy()).permute(2, 0, 1).unsqueeze(0)
        out = np.zeros((h * s, w * s, 3), dtype=np.uint8)
        grid = TileGrid.cover(w, h, tile)
        self.descriptor.to(dev, dtype)
        self._last = {
            "device": dev.type, "dtype": str(dtype).removeprefix("torch."), "tile": tile, "overlap": overlap,
            "tiles": grid.count, "grid": [len(grid.cols) - 1, len(grid.rows) - 1],
        }  # fmt: skip
        for i, (top, left, bottom, right) in enumerate(grid.cores()):
            if cancel is not None and cancel.cancelled:
                raise UpscaleCancelled
            ct, cl = max(0, top - overlap), max(0, left - overlap)
            cb, cr = min(h, bottom + overlap), min(w, right + overlap)
            x = src[:, :, ct:cb, cl:cr].to(device=dev, dtype=dtype) / 255.0
            y = self.descriptor(x)
            y = y[:, :, (top - ct) * s : (bottom - ct) * s, (left - cl) * s : (right - cl) * s]
            pixels = (y[0].float().clamp(0, 1) * 255.0).round().to(torch.uint8).permute(1, 2, 0).cpu().numpy()
            out[top * s : bottom * s, left * s : right * s] = pixels
            del x, y
            if on_progress is not None:
                on_progress(i + 1, grid.count)
            if on_partial is not None and i + 1 < grid.count:
                on_partial(out)
        return Image.fromarray(out)

    def describe(self) -> dict[str, Any]:
        return {"upscaler": self.name, "scale": self.scale, **self._last}


def upscale_by(
    upscaler: Upscaler, image: Image.Image, scale: int, **kwargs: Any
) -> tuple[Image.Image, int]:
    """``image`` × ``scale`` with ``upscaler``: as many passes of its own scale as needed, then a
    Lanczos step down to the exact size (an x4 model for x2, as A1111 and ComfyUI do). Returns the
    picture and the number of model passes. ``kwargs`` go to :meth:`Upscaler.upscale`."""
    target = (image.width * scale, image.height * scale)
    passes = 1 if upscaler.scale >= scale else math.ceil(math.log(scale) / math.log(max(2, upscaler.scale)))
    out = image
    report = kwargs.pop("on_progress", None)
    for p in range(passes):
        def progress(done: int, total: int, p: int = p) -> None:
            if report is not None:
                report(p * total + done, passes * total)

        out = upscaler.upscale(out, on_progress=progress, **kwargs)
    if out.size != target:
        out = out.resize(target, Image.Resampling.LANCZOS)
    return out, passes


# ---------------------------------------------------------------------- loading
def load_upscaler(spec: str, paths: AppPaths, *, scale: int = 2) -> Upscaler:
    """``"lanczos"`` (at ``scale``), a catalogue id (its file downloaded already), or a model file."""
    spec = (spec or "").strip()
    if spec.lower() == LANCZOS:
        return LanczosUpscaler(scale)
    entry = catalogue.find(spec)
    if entry is not None:
        path = catalogue.model_path(paths, entry)
        if not path.is_file():
            raise AppError(
                ErrorKind.MODEL_MISSING,
                f"The upscaler {entry.id} is not downloaded yet. Download it ({entry.size_text}) with "
                f"`zit-desktop upscale --download {entry.id}`, or choose your own model file.",
            )
        return load_model_file(path, entry.id)
    path = Path(spec).expanduser()
    if path.suffix.lower() not in MODEL_SUFFIXES:
        known = ", ".join(e.id for e in catalogue.UPSCALERS)
        raise AppError(
            ErrorKind.BAD_INPUT,
            f"“{spec}” is not an upscaler: choose lanczos, {known}, or a model file "
            f"({', '.join(MODEL_SUFFIXES)}).",
        )
    if not path.is_file():
        raise AppError(ErrorKind.MODEL_MISSING, f"The upscaler file {path} does not exist. Check the path.")
    return load_model_file(path, path.name)


EXPECTED = (
    "Choose a super-resolution model file such as Real-ESRGAN's realesr-general-x4v3.pth or "
    "RealESRGAN_x4plus.pth (.pth or .safetensors)."
)


def load_model_file(path: Path, name: str) -> ModelUpscaler:
    """Load ``path`` with spandrel and check that it is an RGB image upscaler."""
    from spandrel import ImageModelDescriptor, ModelLoader, UnsupportedModelError

    try:
        descriptor = ModelLoader().load_from_file(path)
    except UnsupportedModelError:
        raise AppError(
            ErrorKind.MODEL_INVALID,
            f"{path.name} is not an upscaler model this app knows (it may be a diffusion model or "
            f"another kind of network). {EXPECTED}",
        ) from None
    except Exception as exc:  # a text file, a PNG renamed .pth, a truncated download: unpickling fails
        raise AppError(
            ErrorKind.MODEL_INVALID,
            f"{path.name} cannot be read as a model file (it may be damaged, or not a model at all). {EXPECTED}",
            f"{type(exc).__name__}: {exc}",
        ) from None
    if not isinstance(descriptor, ImageModelDescriptor) or descriptor.purpose != "SR":
        what = "an inpainting model" if not isinstance(descriptor, ImageModelDescriptor) else (
            "a face restoration model" if descriptor.purpose == "FaceSR" else "a restoration model that keeps the size"
        )  # fmt: skip
        raise AppError(ErrorKind.MODEL_INVALID, f"{path.name} is {what}, not an upscaler. {EXPECTED}")
    if descriptor.input_channels != 3 or descriptor.output_channels != 3:
        raise AppError(
            ErrorKind.MODEL_INVALID,
            f"{path.name} works on {descriptor.input_channels}-channel images, not RGB. {EXPECTED}",
        )
    log.info("loaded upscaler %s: %s x%d", path, descriptor.architecture.name, descriptor.scale)
    return ModelUpscaler(descriptor, name, path)


class UpscalerCache:
    """The last loaded upscaler, kept between jobs (keyed by spec, the file's time and size)."""

    def __init__(self) -> None:
        self._key: tuple[Any, ...] | None = None
        self._upscaler: Upscaler | None = None

    def get(self, spec: str, paths: AppPaths, scale: int) -> Upscaler:
        key = self._key_of(spec, paths, scale)
        if self._upscaler is not None and key == self._key:
            return self._upscaler
        self.clear()
        self._upscaler = load_upscaler(spec, paths, scale=scale)
        self._key = key
        return self._upscaler

    def clear(self) -> None:
        self._key, self._upscaler = None, None

    @staticmethod
    def _key_of(spec: str, paths: AppPaths, scale: int) -> tuple[Any, ...]:
        if spec.strip().lower() == LANCZOS:
            return (LANCZOS, scale)
        entry = catalogue.find(spec)
        path = catalogue.model_path(paths, entry) if entry is not None else Path(spec).expanduser()
        try:
            st = path.stat()
            return (str(path.resolve()), st.st_mtime_ns, st.st_size)
        except OSError:
            return (spec, None)


__all__ = [
    "LanczosUpscaler", "ModelUpscaler", "TileGrid", "UpscaleCancelled", "Upscaler", "UpscalerCache",
    "load_model_file", "load_upscaler", "upscale_by",
]
