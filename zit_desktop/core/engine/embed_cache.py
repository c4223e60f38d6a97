"""Prompt-embedding cache: re-rolling seeds of one prompt skips the 4B text encoder entirely.

Keyed by prompt, negative prompt, text-encoder identity (model folder + hash of its config, tokenizer
config and weight-file sizes/mtimes, and the dtype), max sequence length and the CFG flag. An LRU in
RAM holds CPU copies (a 512x2560 bf16 embedding is 2.6 MB); an optional disk tier in the data dir keeps
them across sessions as safetensors files. Values come back bit-identical, so pixels do too.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections import OrderedDict
from pathlib import Path
from typing import Any

import torch

log = logging.getLogger(__name__)

Embeds = tuple[list[torch.Tensor], list[torch.Tensor]]


def text_encoder_identity(model_dir: str | Path | None, dtype: torch.dtype | str = "") -> str:
    """A short hash that changes when the text encoder, its tokenizer or the compute dtype change."""
    h = hashlib.sha256()
    h.update(str(dtype).encode())
    if model_dir is None:
        return "unknown-" + h.hexdigest()[:16]
    root = Path(model_dir).expanduser().resolve()
    h.update(str(root).encode())
    for rel in (
        "text_encoder/config.json",
        "tokenizer/tokenizer_config.json",
        "tokenizer/chat_template.jinja",
    ):
        try:
            h.update((root / rel).read_bytes())
        except OSError:
            h.update(b"-")
    for f in sorted((root / "text_encoder").glob("*.safetensors*")):
        try:
            st = f.stat()
            h.update(f"{f.name}:{st.st_size}:{st.st_mtime_ns}".encode())
        except OSError:
            pass
    return h.hexdigest()[:24]


def cache_key(prompt: str, negative_prompt: str | None, encoder_id: str, max_length: int, cfg: bool) -> str:
    payload = json.dumps(
        [prompt, negative_prompt if cfg else None, encoder_id, int(max_length), bool(cfg)], ensure_ascii=False
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class EmbedCache:
    def __init__(
        self, capacity: int = 32, disk_dir: str | Path | None = None, disk_capacity: int = 256
    ) -> None:
        self.capacity = max(1, capacity)
        self.disk_dir = Path(disk_dir) if disk_dir is not None else None
        self.disk_capacity = disk_capacity
        self._ram: OrderedDict[str, Embeds] = OrderedDict()
        self.hits = self.misses = self.disk_hits = 0

    def __len__(self) -> int:
        return len(self._ram)

    def __contains__(self, key: str) -> bool:
        return key in self._ram or (self._disk_path(key) is not None and self._disk_path(key).exists())  # type: ignore[union-attr]

    def _disk_path(self, key: str) -> Path | None:
        return self.disk_dir / f"{key}.safetensors" if self.disk_dir is not None else None

    def get(self, key: str, device: torch.device | str | None = None) -> Embeds | None:
        entry = self._ram.get(key)
        if entry is not None:
            self._ram.move_to_end(key)
        else:
            entry = self._load(key)
            if entry is not None:
                self.disk_hits += 1
                self._remember(key, entry)
        if entry is None:
            self.misses += 1
            return None
        self.hits += 1
        pos, neg = entry
        if device is None:
            return [t.clone() for t in pos], [t.clone() for t in neg]
        return [t.to(device, copy=True) for t in pos], [t.to(device, copy=True) for t in neg]

    def put(self, key: str, pos: list[torch.Tensor], neg: list[torch.Tensor]) -> None:
        entry = (
            [t.detach().to("cpu", copy=True) for t in pos],
            [t.detach().to("cpu", copy=True) for t in neg],
        )
        self._remember(key, entry)
        self._store(key, entry)

    def _remember(self, key: str, entry: Embeds) -> None:
        self._ram[key] = entry
        self._ram.move_to_end(key)
        while len(self._ram) > self.capacity:
            self._ram.popitem(last=False)

    def clear(self, disk: bool = False) -> None:
        self._ram.clear()
        if disk and self.disk_dir is not None and self.disk_dir.exists():
            for f in self.disk_dir.glob("*.safetensors"):
                try:
                    f.unlink()
                except OSError:
                    pass

    # ---- disk tier ------------------------------------------------------------------------------
    def _store(self, key: str, entry: Embeds) -> None:
        path = self._disk_path(key)
        if path is None:
            return
        from safetensors.torch import save_file

        pos, neg = entry
        tensors = {f"pos.{i}": t.contiguous() for i, t in enumerate(pos)}
        tensors.update({f"neg.{i}": t.contiguous() for i, t in enumerate(neg)})
        meta = {"n_pos": str(len(pos)), "n_neg": str(len(neg)), "format": "zit-desktop-embeds-1"}
        tmp = path.with_suffix(".tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            save_file(tensors, str(tmp), metadata=meta)
            os.replace(tmp, path)
            self._prune()
        except OSError as exc:  # the disk tier is best effort
            log.warning("embedding cache: cannot write %s: %s", path, exc)
            try:
                tmp.unlink()
            except OSError:
                pass

    def _load(self, key: str) -> Embeds | None:
        path = self._disk_path(key)
        if path is None or not path.exists():
            return None
        from safetensors import safe_open

        try:
            with safe_open(str(path), framework="pt") as fh:
                meta: dict[str, Any] = fh.metadata() or {}
                pos = [fh.get_tensor(f"pos.{i}") for i in range(int(meta["n_pos"]))]
                neg = [fh.get_tensor(f"neg.{i}") for i in range(int(meta["n_neg"]))]
            os.utime(path)  # LRU by mtime on disk
            return pos, neg
        except Exception as exc:  # noqa: BLE001 - a corrupt cache file is dropped, never fatal
            log.warning("embedding cache: dropping unreadable %s: %s", path, exc)
            try:
                path.unlink()
            except OSError:
                pass
            return None

    def _prune(self) -> None:
        assert self.disk_dir is not None
        files = sorted(self.disk_dir.glob("*.safetensors"), key=lambda f: f.stat().st_mtime_ns)
        for f in files[: max(0, len(files) - self.disk_capacity)]:
            try:
                f.unlink()
            except OSError:
                pass
