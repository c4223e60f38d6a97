"""The Hugging Face cache layout the downloader writes and the installer reads, and file checks.

``<cache>/models--owner--name/`` holds ``blobs/<etag>`` (etag = sha256 for LFS files, the git blob id
otherwise), ``blobs/<etag>.zit-partial`` (a download in flight, stable across restarts),
``snapshots/<commit>/<path>`` (a relative symlink to the blob; a hard link or copy where symlinks are
not allowed), ``refs/<revision>`` (the commit) and ``zit-manifests/<commit>.json`` (the Hub's file list
with sizes and hashes, so the installer knows a variant's files offline). Torch-free and Qt-free.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zit_desktop.core.errors import AppError, ErrorKind

PARTIAL_SUFFIX = ".zit-partial"
MANIFEST_DIR = "zit-manifests"
CHUNK = 1024 * 1024

@dataclass(frozen=True)
class RemoteFile:
    repo: str
    commit: str
    path: str
    size: int
    sha256: str | None  # LFS files
    blob_id: str | None  # git blob sha1 (the etag of non-LFS files)

    @property
    def etag(self) -> str:
        etag = self.sha256 or self.blob_id
        if not etag:
            raise AppError(ErrorKind.MODEL_INVALID, f"The Hub gave no hash for {self.repo}/{self.path}.")
        return etag

    @property
    def name(self) -> str:
        return f"{self.repo}/{self.path}"

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "size": self.size, "sha256": self.sha256, "blob_id": self.blob_id}



def hub_cache_dir() -> Path:
    """huggingface_hub's cache (``HF_HUB_CACHE``, or ``HF_HOME``/hub), read at call time."""
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def repo_dir(cache_dir: Path, repo: str) -> Path:
    return cache_dir / ("models--" + repo.replace("/", "--"))


def blob_path(cache_dir: Path, f: RemoteFile) -> Path:
    return repo_dir(cache_dir, f.repo) / "blobs" / f.etag


def partial_path(cache_dir: Path, f: RemoteFile) -> Path:
    return repo_dir(cache_dir, f.repo) / "blobs" / (f.etag + PARTIAL_SUFFIX)


def snapshot_path(cache_dir: Path, f: RemoteFile) -> Path:
    return repo_dir(cache_dir, f.repo) / "snapshots" / f.commit / f.path


def manifest_path(cache_dir: Path, repo: str, commit: str) -> Path:
    return repo_dir(cache_dir, repo) / MANIFEST_DIR / f"{commit}.json"


def matches(path: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatch(path, p) for p in patterns)


def file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def write_refs(cache_dir: Path, repo: str, revision: str, commit: str) -> None:
    if revision == commit:
        return
    ref = repo_dir(cache_dir, repo) / "refs" / revision
    ref.parent.mkdir(parents=True, exist_ok=True)
    if not ref.exists() or ref.read_text(encoding="utf-8").strip() != commit:
        ref.write_text(commit, encoding="utf-8")


def read_manifest(cache_dir: Path, repo: str, commit: str) -> tuple[RemoteFile, ...] | None:
    try:
        data = json.loads(manifest_path(cache_dir, repo, commit).read_text(encoding="utf-8"))
        return tuple(
            RemoteFile(repo, commit, str(e["path"]), int(e["size"]), e.get("sha256"), e.get("blob_id"))
            for e in data["files"]
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_manifest(cache_dir: Path, repo: str, revision: str, commit: str, files: list[RemoteFile]) -> None:
    target = manifest_path(cache_dir, repo, commit)
    target.parent.mkdir(parents=True, exist_ok=True)
    data = {"repo": repo, "revision": revision, "commit": commit, "files": [f.to_dict() for f in files]}
    tmp = target.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
    os.replace(tmp, target)


def link_snapshot(cache_dir: Path, f: RemoteFile) -> None:
    """Point ``snapshots/<commit>/<path>`` at the blob: a relative symlink, else a hard link, else a copy."""
    link, blob = snapshot_path(cache_dir, f), blob_path(cache_dir, f)
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink() or link.exists():
        if link.resolve() == blob.resolve() or (not link.is_symlink() and file_size(link) == f.size):
            return
        link.unlink()
    try:
        link.symlink_to(os.path.relpath(blob, link.parent))
    except OSError:  # Windows without developer mode
        try:
            os.link(blob, link)
        except OSError:
            shutil.copyfile(blob, link)


def verify_file(path: Path, f: RemoteFile, chunk: int = 8 * CHUNK) -> str | None:
    """None when ``path`` is ``f`` (size, then sha256 or git blob sha1); else what is wrong."""
    size = file_size(path)
    if not path.exists():
        return "missing"
    if size != f.size:
        return f"{size} bytes, expected {f.size}"
    if f.sha256:
        digest, want = hashlib.sha256(), f.sha256
    elif f.blob_id:
        digest, want = hashlib.sha1(f"blob {size}\0".encode(), usedforsecurity=False), f.blob_id
    else:
        return None
    with path.open("rb") as src:
        while block := src.read(chunk):
            digest.update(block)
    return None if digest.hexdigest() == want else "its hash does not match the Hub's"


def free_disk_bytes(folder: str | Path | None = None) -> int | None:
    """Free bytes on the drive of ``folder`` (the Hugging Face cache by default), or of its nearest
    existing parent (the cache may not exist yet); None when it cannot be read. Never raises."""
    try:
        path = Path(folder) if folder is not None else hub_cache_dir()
        path = path.expanduser().absolute()
        while not path.exists() and path.parent != path:
            path = path.parent
        return int(shutil.disk_usage(path).free)
    except Exception as exc:  # noqa: BLE001 - a question about the disk must not crash the caller
        logging.getLogger(__name__).warning("cannot read free disk space: %s", exc)
        return None
