"""Load a ZImagePipeline from a local folder or the local Hugging Face cache, with clear errors.

:func:`load_pipeline` loads every variant (see :mod:`zit_desktop.core.engine.variants`): a bf16 or
SDNQ pipeline folder, optionally with a single-file transformer (GGUF or safetensors) used instead of
the folder's own. A model that is not on disk raises ``MODEL_MISSING`` naming the variant it needs.
"""

from __future__ import annotations

import json
import logging
import re
import struct
from pathlib import Path
from typing import Any

import torch

from zit_desktop.core.engine import variants
from zit_desktop.core.errors import AppError, ErrorKind
from zit_desktop.core.events import EventCallback, Loading

log = logging.getLogger(__name__)

PIPELINE_CLASS = "ZImagePipeline"
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def compute_dtype(device: torch.device) -> torch.dtype:
    """bf16 on CUDA cards that support it; fp32 otherwise (fp16 overflows to black images)."""
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float32


def looks_like_repo_id(ref: str) -> bool:
    return bool(_REPO_ID.match(ref)) and not Path(ref).expanduser().exists()


def _needs(variant: str) -> str:
    what = f"the {variant} variant" if variant and variant != "custom" else "a model variant"
    return f" Download {what}, or choose a folder that already holds it."


def known_repo(ref: str) -> bool:
    """``ref`` is the default model or a repository of a catalogued variant (one this app downloads)."""
    from zit_desktop.core.models.catalogue import catalogue
    from zit_desktop.core.sizes import DEFAULT_MODEL

    return ref == DEFAULT_MODEL or any(s.repo == ref for v in catalogue() for s in v.sources)


def resolve_model_dir(ref: str, variant: str = "") -> Path:
    """The local folder for ``ref`` (a folder path, or a Hub id already in the local HF cache)."""
    if looks_like_repo_id(ref):
        from huggingface_hub import snapshot_download

        try:
            return Path(snapshot_download(ref, local_files_only=True))
        except Exception as exc:  # LocalEntryNotFoundError, cache errors
            if known_repo(ref):
                text = f"The model {ref} is not downloaded yet.{_needs(variant)}"
            else:  # not one of ours: never send the user to download something else
                text = (
                    f"The model {ref} is not on this disk: it is not in the local Hugging Face cache. Check "
                    "the id; a model from the Hub has to be downloaded before it can be used."
                )
            raise AppError(ErrorKind.MODEL_MISSING, text, repr(exc)) from exc
    folder = Path(ref).expanduser()
    if not folder.exists():
        raise AppError(
            ErrorKind.MODEL_MISSING,
            f"The model folder {folder} does not exist. Choose the folder that holds the model's "
            f"model_index.json.{_needs(variant)}",
        )
    if not folder.is_dir():
        raise AppError(
            ErrorKind.MODEL_INVALID,
            f"{folder} is a file, not a model folder. Choose the folder that holds model_index.json "
            "(a single-file transformer goes in the transformer setting, with a pipeline folder for the rest).",
        )
    return folder


def check_model_dir(folder: Path, with_transformer: bool = True) -> dict[str, Any]:
    """The folder's model_index.json, after checking it is a whole Z-Image pipeline (without the
    transformer folder when ``with_transformer`` is False: a single-file transformer replaces it)."""
    index_path = folder / "model_index.json"
    try:
        index = json.loads(index_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AppError(
            ErrorKind.MODEL_INVALID,
            f"{folder} is not a diffusers model folder (no model_index.json). Choose the Z-Image-Turbo "
            "folder itself, the one that holds model_index.json, transformer/ and vae/.",
        ) from None
    except (OSError, ValueError) as exc:
        raise AppError(
            ErrorKind.MODEL_CORRUPT,
            f"The model's model_index.json in {folder} is unreadable. Download the model again.",
            repr(exc),
        ) from exc
    cls = index.get("_class_name") if isinstance(index, dict) else None
    if cls != PIPELINE_CLASS:
        raise AppError(
            ErrorKind.MODEL_INVALID,
            f"{folder} holds a {cls or 'unknown'} model, not Z-Image ({PIPELINE_CLASS}). "
            "Choose a Z-Image-Turbo folder.",
        )
    parts = ("transformer", "vae", "text_encoder", "tokenizer", "scheduler")[0 if with_transformer else 1 :]
    missing = [c for c in parts if not (folder / c).is_dir()]
    if missing:
        raise AppError(
            ErrorKind.MODEL_CORRUPT,
            f"The model in {folder} is incomplete (missing {', '.join(missing)}). "
            "Resume or repeat the download.",
        )
    return index


def load_pipeline(
    ref: str, dtype: torch.dtype, emit: EventCallback, *, transformer: str = "", variant: str = ""
) -> Any:
    """The pipeline from ``ref``, its transformer from the file ``transformer`` when one is given."""
    emit(Loading("resolve", f"Finding model {ref}"))
    folder = resolve_model_dir(ref, variant)
    check_model_dir(folder, with_transformer=not transformer)
    file = variants.check_transformer_file(transformer, variant) if transformer else None
    sdnq = variants.is_sdnq_folder(folder)
    if sdnq:
        variants.import_sdnq(variant)  # BEFORE from_pretrained (see core.engine.variants)
    from diffusers import ZImagePipeline
    from diffusers.utils import logging as dlogging
    from transformers.utils import logging as tlogging

    dlogging.disable_progress_bar()
    tlogging.disable_progress_bar()
    components: dict[str, Any] = {}
    if file is not None:
        emit(Loading("load", f"Loading the transformer from {file}"))
        components["transformer"] = variants.load_transformer_file(file, variants.transformer_config_dir(folder), dtype)
    emit(Loading("load", f"Loading model from {folder}"))
    try:
        pipe = ZImagePipeline.from_pretrained(str(folder), dtype=dtype, local_files_only=True, **components)
    except (OSError, ValueError, RuntimeError, KeyError) as exc:
        if isinstance(exc, OSError) and getattr(exc, "errno", None) is not None and exc.errno != 0:
            kind = ErrorKind.MODEL_MISSING
        else:
            kind = ErrorKind.MODEL_CORRUPT
        why = damaged_weights(folder) or _short(str(exc))  # the library's own text stays in the detail
        raise AppError(
            kind,
            f"The model files in {folder} could not be loaded: {why} They may be incomplete "
            f"or corrupt: resume or repeat the download, or choose another folder.{_needs(variant)}",
            repr(exc),
        ) from exc
    pipe.set_progress_bar_config(disable=True)
    emit(Loading("ready", "Model ready"))
    log.info("loaded %s%s (%s, sdnq=%s) from %s", ref, f" + {file}" if file else "", dtype, sdnq, folder)
    return pipe


def damaged_weights(folder: Path) -> str | None:
    """Which weight file of a pipeline folder is damaged, in words ("… is cut short: …"); None when
    every safetensors header reads and every file is as long as its header says."""
    from zit_desktop.core.memory.profile import ProfileError, read_safetensors_header

    for file in sorted(folder.glob("*/*.safetensors")):
        try:
            header = read_safetensors_header(file)
            with file.open("rb") as fh:
                (length,) = struct.unpack("<Q", fh.read(8))
            size = file.stat().st_size
        except ProfileError as exc:
            return str(exc)
        except (OSError, struct.error):
            continue
        offsets = [v.get("data_offsets") for v in header.values() if isinstance(v, dict)]
        end = max((int(o[1]) for o in offsets if isinstance(o, list) and len(o) == 2), default=0)
        if size < 8 + length + end:
            return f"{file} is cut short ({size:,} of {8 + length + end:,} bytes)."
    return None


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
