"""Load each model variant through its real loader: bf16 and SDNQ folders, GGUF and safetensors files.

Contract:

- ``model`` is a diffusers pipeline folder (or a Hub id in the local cache) that provides the text
  encoder, VAE, tokenizer and scheduler, and the transformer too when ``transformer`` is empty.
- An SDNQ pre-quantized folder (a component ``config.json`` whose ``quantization_config.quant_method``
  is ``sdnq``) needs ``import sdnq`` BEFORE ``from_pretrained``: without it the text encoder loads as
  plain ``Linear`` layers with the scales dropped, silently, depending on ``PYTHONHASHSEED``.
  :func:`import_sdnq` sets ``SDNQ_USE_TORCH_COMPILE=0`` first unless Triton is importable (else the
  import spends ~80 s in a torch.compile self-test on a CPU).
- ``transformer`` (optional) is a single file used instead of the folder's transformer: ``.gguf``
  (``from_single_file`` with ``GGUFQuantizationConfig``) or ``.safetensors`` (ComfyUI's
  ``z_image_turbo_bf16.safetensors``). Its architecture comes from a LOCAL config, never the Hub:
  :func:`transformer_config_dir`.
- Expected failures (a missing file, an unreadable GGUF, a missing ``sdnq``/``gguf`` package) raise
  :class:`AppError` with a message that says what to do; a missing model names the variant it needs.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
from importlib import resources
from pathlib import Path
from typing import Any

import torch

from zit_desktop.core.errors import AppError, ErrorKind

log = logging.getLogger(__name__)

COMPONENT_DIRS = ("transformer", "text_encoder", "vae")
SINGLE_FILE_SUFFIXES = (".gguf", ".safetensors")


def packaged_transformer_config() -> Path:
    """The real Z-Image-Turbo transformer config shipped in the package (a folder with config.json)."""
    return Path(str(resources.files("zit_desktop") / "resources" / "zimage-turbo-configs" / "transformer"))


def quantization_method(folder: Path, component: str) -> str:
    """The ``quant_method`` a component folder's config names ("" for plain weights)."""
    path = folder / component / "config.json"
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    quant = config.get("quantization_config") if isinstance(config, dict) else None
    method = quant.get("quant_method") if isinstance(quant, dict) else None
    return str(method or "")


def is_sdnq_folder(folder: Path) -> bool:
    return any(quantization_method(folder, c).startswith("sdnq") for c in COMPONENT_DIRS)


def import_sdnq(variant: str = "") -> None:
    """Import sdnq (which registers its quantizer with diffusers and transformers) before any load."""
    if importlib.util.find_spec("triton") is None:
        # set before the import: sdnq reads it at import time to decide on its compile self-test
        os.environ.setdefault("SDNQ_USE_TORCH_COMPILE", "0")
    try:
        import sdnq  # noqa: F401
    except ImportError as exc:
        needed = f"the {variant} variant" if variant else "this SDNQ-quantized model"
        raise AppError(
            ErrorKind.MODEL_INVALID,
            f"The Python package 'sdnq' is needed to load {needed} but is not installed. Reinstall "
            "ZIT Desktop (or run `pip install sdnq` in its environment), or choose the bf16 variant.",
            repr(exc),
        ) from exc


def transformer_config_dir(folder: Path | None) -> Path:
    """The local config for a single-file transformer: the pipeline folder's own transformer config
    when it has one (a tiny test model, or a full folder), else the packaged Z-Image-Turbo config."""
    if folder is not None and (folder / "transformer" / "config.json").is_file():
        return folder / "transformer"
    return packaged_transformer_config()


def check_transformer_file(path_text: str, variant: str = "") -> Path:
    path = Path(path_text).expanduser()
    needed = f" It is the transformer of the {variant} variant." if variant else ""
    if not path.exists():
        raise AppError(
            ErrorKind.MODEL_MISSING,
            f"The transformer file {path} does not exist.{needed} Set up the model again, or choose "
            "another transformer file in Settings → Model and memory.",
        )
    if not path.is_file():
        raise AppError(
            ErrorKind.MODEL_INVALID,
            f"{path} is a folder, not a transformer file. Choose a .gguf or .safetensors file.",
        )
    if path.suffix.lower() not in SINGLE_FILE_SUFFIXES:
        raise AppError(
            ErrorKind.MODEL_INVALID,
            f"{path.name} is not a transformer file ZIT Desktop can load: choose a .gguf or "
            ".safetensors Z-Image transformer (for example z_image_turbo_bf16.safetensors).",
        )
    return path


def load_transformer_file(path: Path, config_dir: Path, dtype: torch.dtype) -> Any:
    """A ``ZImageTransformer2DModel`` from one file, its architecture from ``config_dir`` (local)."""
    from diffusers import ZImageTransformer2DModel

    kwargs: dict[str, Any] = {"config": str(config_dir), "local_files_only": True, "torch_dtype": dtype}
    if path.suffix.lower() == ".gguf":
        if importlib.util.find_spec("gguf") is None:
            raise AppError(
                ErrorKind.MODEL_INVALID,
                "The Python package 'gguf' is needed to load a GGUF transformer but is not installed. "
                "Reinstall ZIT Desktop (or run `pip install gguf` in its environment).",
            )
        from diffusers import GGUFQuantizationConfig

        # the engine's compute dtype: bf16 on cards that have it, fp32 on a CPU (as for the other parts)
        kwargs["quantization_config"] = GGUFQuantizationConfig(compute_dtype=dtype)
    try:
        model = ZImageTransformer2DModel.from_single_file(str(path), **kwargs)
    except AppError:
        raise
    except Exception as exc:  # a truncated/foreign file raises ValueError, KeyError, struct or numpy errors
        raise AppError(
            ErrorKind.MODEL_CORRUPT,
            f"The transformer file {path.name} could not be read as a Z-Image transformer "
            f"({_short(str(exc) or type(exc).__name__)}). It may be incomplete, corrupt or for "
            "another model: download it again or choose another file.",
            repr(exc),
        ) from exc
    model.eval()
    return model


def is_quantized(module: Any) -> bool:
    """True for SDNQ and GGUF modules (their weights are not plain floating-point tensors)."""
    if getattr(module, "hf_quantizer", None) is not None or getattr(module, "quantization_method", None):
        return True
    config = getattr(module, "config", None)
    quant = getattr(config, "quantization_config", None) if config is not None else None
    return quant is not None


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
