"""Which variants are installed in the Hugging Face cache, verifying and removing them, choosing one,
and checking model files the user already has. Offline, torch-free and Qt-free.

Contract:

- A variant's files are known offline from what :mod:`.download` wrote: ``refs/<revision>`` names the
  commit, ``zit-manifests/<commit>.json`` the Hub's file list (sizes, sha256, git blob ids).
  :func:`status` is quick (sizes only); :func:`verify` re-hashes every file and names the missing and
  corrupt ones.
- :func:`remove` deletes only the files no other installed variant uses (the GGUF variants share the
  SDNQ uint4 pipeline's text encoder, tokenizer and VAE), partial downloads included.
- :func:`use` points :class:`Settings` at an installed variant: ``model`` is the local snapshot folder
  of its pipeline source, ``transformer`` the cached ``.gguf`` for GGUF variants, else ``""``.
- :func:`check_folder` / :func:`check_file` validate what the user already has by reading headers
  only (``model_index.json`` and component folders; a safetensors header, the GGUF magic), and say
  which files can be used, which cannot, and why. :func:`use_folder` / :func:`use_files` apply them.
"""

from __future__ import annotations

import json
import shutil
import struct
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from zit_desktop.core.errors import AppError, ErrorKind
from zit_desktop.core.models import cache as layout
from zit_desktop.core.models import download as dl
from zit_desktop.core.models.catalogue import SourceRole, Variant, VariantKind, catalogue
from zit_desktop.core.settings import Settings


class InstallState(StrEnum):
    INSTALLED = "installed"  # every file present with the Hub's size (verify() re-hashes)
    PARTIAL = "partial"  # planned or partly downloaded: run the download again to finish
    ABSENT = "absent"


@dataclass(frozen=True)
class VariantStatus:
    variant: Variant
    state: InstallState
    present_bytes: int
    total_bytes: int  # from the Hub's metadata once planned, else the catalogue's estimate
    missing: tuple[str, ...]  # "repo/path" of files not yet in the cache


@dataclass(frozen=True)
class VerifyReport:
    variant: Variant
    missing: tuple[str, ...]
    corrupt: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.missing and not self.corrupt


def local_plan(variant: Variant, cache_dir: Path | None = None) -> dl.DownloadPlan | None:
    """The variant's files as the Hub listed them at download time; None if never planned here."""
    cache = cache_dir or layout.hub_cache_dir()
    sources = []
    for source in variant.sources:
        ref = layout.repo_dir(cache, source.repo) / "refs" / source.revision
        try:
            commit = ref.read_text(encoding="utf-8").strip() if ref.exists() else source.revision
        except OSError:
            return None
        files = layout.read_manifest(cache, source.repo, commit)
        if files is None:
            return None
        chosen = tuple(f for f in files if layout.matches(f.path, source.allow_patterns))
        sources.append(dl.ResolvedSource(source, commit, chosen))
    return dl.DownloadPlan(variant, cache, tuple(sources))


def _present(cache: Path, f: layout.RemoteFile) -> bool:
    snap = layout.snapshot_path(cache, f)
    try:
        return snap.exists() and snap.stat().st_size == f.size
    except OSError:
        return False


def status(variant: Variant, cache_dir: Path | None = None) -> VariantStatus:
    plan = local_plan(variant, cache_dir)
    if plan is None:
        return VariantStatus(variant, InstallState.ABSENT, 0, variant.download_bytes, ())
    missing = tuple(f.name for f in plan.files if not _present(plan.cache_dir, f))
    state = InstallState.PARTIAL if missing else InstallState.INSTALLED
    return VariantStatus(variant, state, plan.present_bytes(), plan.total_bytes, missing)


def installed(cache_dir: Path | None = None) -> list[Variant]:
    return [v for v in catalogue() if status(v, cache_dir).state == InstallState.INSTALLED]


def verify(
    variant: Variant, cache_dir: Path | None = None, on_file: Callable[[str], None] | None = None
) -> VerifyReport:
    """Re-hash every file of an installed variant against the Hub's sha256 (or git blob sha1)."""
    plan = local_plan(variant, cache_dir)
    if plan is None:
        raise AppError(ErrorKind.MODEL_MISSING, f"{variant.label} is not installed; download it first.")
    missing, corrupt = [], []
    for f in plan.files:
        if on_file is not None:
            on_file(f.name)
        snap = layout.snapshot_path(plan.cache_dir, f)
        if not snap.exists():
            missing.append(f.name)
        elif layout.verify_file(snap, f) is not None:
            corrupt.append(f.name)
    return VerifyReport(variant, tuple(missing), tuple(corrupt))


def remove(variant: Variant, cache_dir: Path | None = None) -> int:
    """Delete the variant's files that no other installed variant uses; returns the bytes freed."""
    plan = local_plan(variant, cache_dir)
    if plan is None:
        return 0
    keep: set[Path] = set()
    for other in installed(plan.cache_dir):
        if other.id != variant.id and (other_plan := local_plan(other, plan.cache_dir)) is not None:
            keep |= {layout.snapshot_path(plan.cache_dir, f) for f in other_plan.files}
    freed = 0
    for f in plan.files:
        snap = layout.snapshot_path(plan.cache_dir, f)
        if snap in keep:
            continue
        for path in (snap, layout.blob_path(plan.cache_dir, f), layout.partial_path(plan.cache_dir, f)):
            if path.is_symlink() or path.exists():
                freed += 0 if path.is_symlink() else path.stat().st_size
                path.unlink()
    for source in plan.sources:
        repo = layout.repo_dir(plan.cache_dir, source.source.repo)
        snaps = repo / "snapshots"
        if snaps.exists() and not any(p.is_file() for p in snaps.rglob("*")):
            shutil.rmtree(repo)  # nothing of this repo is left: drop its refs and manifests too
        elif snaps.exists():
            for d in sorted((p for p in snaps.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
                if not any(d.iterdir()):
                    d.rmdir()
    return freed


def use(variant: Variant, settings: Settings, cache_dir: Path | None = None) -> Settings:
    """Point ``settings`` at an installed variant (``model``, ``variant``, ``transformer``)."""
    plan = local_plan(variant, cache_dir)
    st = status(variant, cache_dir)
    if plan is None or st.state != InstallState.INSTALLED:
        raise AppError(
            ErrorKind.MODEL_MISSING,
            f"{variant.label} is not fully downloaded ({len(st.missing)} files missing); download it first."
            if st.state == InstallState.PARTIAL else f"{variant.label} is not downloaded yet; download it first.",
        )
    pipeline = next(s for s in plan.sources if s.source.role != SourceRole.TRANSFORMER)
    settings.model = str(layout.repo_dir(plan.cache_dir, pipeline.source.repo) / "snapshots" / pipeline.commit)
    settings.variant = str(variant.id)
    settings.transformer = ""
    if variant.kind == VariantKind.GGUF:
        [gguf] = [f for s in plan.sources if s.source.role == SourceRole.TRANSFORMER for f in s.files]
        settings.transformer = str(layout.snapshot_path(plan.cache_dir, gguf))
    return settings


# --- files the user already has -----------------------------------------------------------------


class FileKind(StrEnum):
    TRANSFORMER = "transformer"
    TEXT_ENCODER = "text-encoder"
    VAE = "vae"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class FileCheck:
    path: Path
    kind: FileKind
    format: str  # "gguf", "safetensors" or ""
    usable: bool
    reason: str  # why it can or cannot be used, for the user


@dataclass(frozen=True)
class FolderCheck:
    path: Path
    missing: tuple[str, ...]  # what the folder lacks, by name ("model_index.json", "vae/ weights", …)
    has_transformer: bool

    @property
    def ok(self) -> bool:
        return not self.missing


_WEIGHTS = ("*.safetensors", "*.bin", "*.safetensors.index.json")
_NEEDS = {
    "transformer": ("config.json", _WEIGHTS), "text_encoder": ("config.json", _WEIGHTS),
    "vae": ("config.json", _WEIGHTS), "scheduler": ("scheduler_config.json", ()),
    "tokenizer": ("tokenizer_config.json", ()),
}  # fmt: skip


def check_folder(path: Path, *, transformer_optional: bool = False) -> FolderCheck:
    """A diffusers Z-Image pipeline folder: model_index.json and each component's config and weights."""
    index = path / "model_index.json"
    if not index.is_file():
        return FolderCheck(path, ("model_index.json",), False)
    try:
        components = [k for k, v in json.loads(index.read_text(encoding="utf-8")).items()
                      if isinstance(v, list) and v and v[0]]  # fmt: skip
    except (OSError, ValueError, AttributeError):
        return FolderCheck(path, ("a readable model_index.json",), False)
    missing: list[str] = []
    for name in components or list(_NEEDS):
        config, weights = _NEEDS.get(name, ("", ()))
        folder = path / name
        if name == "transformer" and transformer_optional and not folder.exists():
            continue
        if not folder.is_dir():
            missing.append(f"{name}/")
        elif config and not (folder / config).is_file():
            missing.append(f"{name}/{config}")
        elif weights and not any(any(folder.glob(w)) for w in weights):
            missing.append(f"{name}/ weights (.safetensors)")
    has_transformer = (path / "transformer").is_dir() and "transformer/" not in missing
    return FolderCheck(path, tuple(missing), has_transformer)


def _safetensors_keys(path: Path) -> tuple[list[str], set[str]]:
    with path.open("rb") as src:
        (length,) = struct.unpack("<Q", src.read(8))
        if not 0 < length < 100_000_000:
            raise ValueError("bad header length")
        header = json.loads(src.read(length))
    keys = [k for k in header if k != "__metadata__"]
    return keys, {str(v.get("dtype")) for k, v in header.items() if k != "__metadata__"}


def check_file(path: Path) -> FileCheck:
    """What a single model file is and whether this app can use it (headers only)."""
    try:
        with path.open("rb") as src:
            magic = src.read(8)
    except OSError as exc:
        return FileCheck(path, FileKind.UNKNOWN, "", False, f"it cannot be read ({exc.strerror or exc})")
    if magic[:4] == b"GGUF":
        return FileCheck(path, FileKind.TRANSFORMER, "gguf", True,
                         "a GGUF transformer: usable with a pipeline folder for the text encoder and VAE")  # fmt: skip
    try:
        keys, dtypes = _safetensors_keys(path)
    except (OSError, ValueError, struct.error, UnicodeDecodeError):
        return FileCheck(path, FileKind.UNKNOWN, "", False, "it is neither a GGUF nor a safetensors file")
    joined = "\n".join(keys)
    dtype = "/".join(sorted(dtypes))
    if any(m in joined for m in ("noise_refiner", "context_refiner", "cap_embedder")):
        return FileCheck(path, FileKind.TRANSFORMER, "safetensors", True,
                         f"a Z-Image transformer ({dtype}): usable with a pipeline folder for the rest")  # fmt: skip
    if "self_attn.q_proj" in joined and "embed_tokens" in joined:
        return FileCheck(path, FileKind.TEXT_ENCODER, "safetensors", False,
                         "a Qwen3 text encoder: it cannot be used as a single file, because its config and "
                         "tokenizer come from a diffusers folder. Use a pipeline folder (or download "
                         "sdnq-uint4) for the text encoder instead.")  # fmt: skip
    if "decoder.conv_in" in joined and "encoder.conv_in" in joined:
        return FileCheck(path, FileKind.VAE, "safetensors", False,
                         "a VAE: not needed, the VAE comes from the pipeline folder with the text encoder")  # fmt: skip
    return FileCheck(path, FileKind.UNKNOWN, "safetensors", False,
                     "not a Z-Image transformer, text encoder or VAE (unknown tensor names)")  # fmt: skip


def use_folder(path: Path, settings: Settings) -> Settings:
    """Use a whole pipeline folder the user has; AppError naming what it lacks."""
    check = check_folder(path)
    if not check.ok:
        raise AppError(ErrorKind.MODEL_INVALID, f"{path} is not a complete Z-Image pipeline folder: it lacks "
                       f"{', '.join(check.missing)}.")  # fmt: skip
    settings.model, settings.variant, settings.transformer = str(path), "custom", ""
    return settings


def use_files(transformer: Path, pipeline: Path, settings: Settings) -> Settings:
    """Use the user's transformer file with ``pipeline`` (a folder) for the text encoder, tokenizer and VAE."""
    file = check_file(transformer)
    if not file.usable or file.kind != FileKind.TRANSFORMER:
        raise AppError(ErrorKind.MODEL_INVALID, f"{transformer.name} cannot be used as the transformer: {file.reason}.")
    folder = check_folder(pipeline, transformer_optional=True)
    if not folder.ok:
        raise AppError(ErrorKind.MODEL_INVALID, f"{pipeline} cannot supply the rest of the model: it lacks "
                       f"{', '.join(folder.missing)}.")  # fmt: skip
    settings.model, settings.variant, settings.transformer = str(pipeline), "custom", str(transformer)
    return settings


def model_problem(settings: Settings) -> str | None:
    """Why the model ``settings`` name can't be loaded from this disk, for the user; None when it can.

    ``settings.model`` is a pipeline folder or a Hub id in the local cache; ``settings.transformer``
    (optional) a single-file transformer used instead of the folder's own. Reads no weights.
    """
    folder = Path(settings.model).expanduser()
    if not folder.is_dir():
        try:
            from huggingface_hub import snapshot_download

            folder = Path(snapshot_download(settings.model, local_files_only=True))
        except Exception:  # noqa: BLE001 - not in the cache (or no cache at all)
            return f"{settings.model} is not on this computer yet"
    check = check_folder(folder, transformer_optional=bool(settings.transformer))
    if not check.ok:
        return f"{folder} lacks {', '.join(check.missing)}"
    if settings.transformer and not Path(settings.transformer).expanduser().is_file():
        return f"the transformer file {settings.transformer} is missing"
    return None
