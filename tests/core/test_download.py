"""Downloads against a local Hub on 127.0.0.1: planning from the Hub's metadata, the cache layout
huggingface_hub reads back, resume with Range, retries, corruption, a full disk and cancel."""

from __future__ import annotations

import errno
import hashlib
from pathlib import Path

import pytest

from tests.core.hub_fixtures import BIG, GGUF, UINT4
from tests.core.hub_server import HubServer
from zit_desktop.core.errors import AppError, ErrorKind
from zit_desktop.core.events import CancelToken
from zit_desktop.core.models import cache as layout
from zit_desktop.core.models import download as dl
from zit_desktop.core.models.catalogue import variant


def test_plan_takes_sizes_hashes_and_commit_from_the_hub_and_filters_by_pattern(hub: HubServer, hf_cache: Path) -> None:
    plan = dl.plan(variant("sdnq-uint4"))
    [source] = plan.sources
    assert source.commit == hub.repos[UINT4].commit
    paths = {f.path for f in plan.files}
    assert "README.md" not in paths and BIG in paths and "model_index.json" in paths
    big = next(f for f in plan.files if f.path == BIG)
    assert big.sha256 == hashlib.sha256(hub.repos[UINT4].files[BIG].data).hexdigest()
    assert plan.total_bytes == sum(len(hub.repos[UINT4].files[p].data) for p in paths)
    assert (hf_cache / "models--Disty0--Z-Image-Turbo-SDNQ-uint4-svd-r32" / "refs" / "main").read_text() == source.commit


def test_download_lands_where_huggingface_hub_finds_it_offline(hub: HubServer, hf_cache: Path) -> None:
    from huggingface_hub import hf_hub_download, snapshot_download

    events: list[dl.DownloadProgress] = []
    outcome = dl.download(dl.plan(variant("gguf-q4")), events.append)
    assert not outcome.cancelled
    assert events[-1].phase == dl.DownloadPhase.DONE and events[-1].done == events[-1].total
    assert events[-1].files_done == events[-1].files_total == 8
    folder = Path(snapshot_download(UINT4, local_files_only=True))
    assert (folder / BIG).exists() is False  # the GGUF variant needs no transformer folder
    assert (folder / "vae" / "diffusion_pytorch_model.safetensors").read_bytes() == hub.repos[UINT4].files[
        "vae/diffusion_pytorch_model.safetensors"
    ].data
    gguf = hf_hub_download(GGUF, "z_image_turbo-Q4_K_M.gguf", local_files_only=True)
    assert Path(gguf).read_bytes() == hub.repos[GGUF].files["z_image_turbo-Q4_K_M.gguf"].data
    assert not list(hf_cache.rglob("*" + layout.PARTIAL_SUFFIX))


def test_a_transfer_cut_off_mid_file_resumes_with_a_range_request(hub: HubServer, hf_cache: Path) -> None:
    hub.cut[f"{UINT4}/{BIG}"] = (1_000_000, 1)
    dl.download(dl.plan(variant("sdnq-uint4")), backoff_s=0.01)
    assert hub.ranges(BIG) == ["", "bytes=1000000-"]
    assert layout.verify_file(layout.snapshot_path(hf_cache, _file(BIG)), _file(BIG)) is None


def test_server_errors_are_retried_then_reported_clearly(hub: HubServer, hf_cache: Path) -> None:
    hub.fail[f"{UINT4}/{BIG}"] = 2
    dl.download(dl.plan(variant("sdnq-uint4")), backoff_s=0.01)  # two 500s, then it works
    assert len(hub.ranges(BIG)) == 3

    hub.add_repo(UINT4, {**{p: f.data for p, f in hub.repos[UINT4].files.items()}, BIG: b"x" * 2_000_000})
    hub.fail[f"{UINT4}/{BIG}"] = 100
    with pytest.raises(AppError) as caught:
        dl.download(dl.plan(variant("sdnq-uint4")), retries=2, backoff_s=0.01)
    assert caught.value.kind == ErrorKind.NETWORK
    assert "The download stopped" in caught.value.message and "run it again to continue" in caught.value.message


def test_a_corrupted_byte_is_caught_and_fetched_again_once_then_reported(hub: HubServer, hf_cache: Path) -> None:
    hub.corrupt[f"{UINT4}/{BIG}"] = 1
    dl.download(dl.plan(variant("sdnq-uint4")))
    assert len(hub.ranges(BIG)) == 2
    big = _file(BIG)
    assert layout.verify_file(layout.blob_path(hf_cache, big), big) is None

    hub.add_repo(UINT4, {**{p: f.data for p, f in hub.repos[UINT4].files.items()}, BIG: b"y" * 2_000_000})
    hub.corrupt[f"{UINT4}/{BIG}"] = 2
    with pytest.raises(AppError) as caught:
        dl.download(dl.plan(variant("sdnq-uint4")))
    assert caught.value.kind == ErrorKind.MODEL_CORRUPT and BIG in caught.value.message
    assert not list(hf_cache.rglob("*" + layout.PARTIAL_SUFFIX))


def test_cancel_keeps_the_partial_and_the_next_start_resumes_it(hub: HubServer, hf_cache: Path) -> None:
    token = CancelToken()
    plan = dl.plan(variant("sdnq-uint4"))

    def stop_midway(event: dl.DownloadProgress) -> None:
        if event.file.endswith(BIG) and event.file_done >= 1_000_000:
            token.cancel()

    hub.delay = 0.01
    outcome = dl.download(plan, stop_midway, token)
    assert outcome.cancelled
    big = next(f for f in plan.files if f.path == BIG)
    kept = layout.partial_path(hf_cache, big).stat().st_size
    assert 0 < kept < big.size
    hub.delay = 0.0
    again = dl.download(dl.plan(variant("sdnq-uint4")))
    assert not again.cancelled and again.fetched_bytes < plan.total_bytes
    assert hub.ranges(BIG)[-1] == f"bytes={kept}-"
    assert layout.verify_file(layout.blob_path(hf_cache, big), big) is None


def test_a_full_disk_is_a_clear_error_and_keeps_the_partial(
    hub: HubServer, hf_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_write = dl._write
    written = {"n": 0}

    def write(out: object, chunk: bytes, f: layout.RemoteFile) -> None:
        if f.path == BIG and written["n"] >= 1:
            raise dl._disk_error(OSError(errno.ENOSPC, "No space left on device"), f)
        if f.path == BIG:
            written["n"] += 1
        real_write(out, chunk, f)  # type: ignore[arg-type]

    monkeypatch.setattr(dl, "_write", write)
    plan = dl.plan(variant("sdnq-uint4"))
    with pytest.raises(AppError) as caught:
        dl.download(plan)
    assert caught.value.kind == ErrorKind.DISK_FULL and "kept" in caught.value.message
    big = next(f for f in plan.files if f.path == BIG)
    kept = layout.partial_path(hf_cache, big).stat().st_size
    assert kept > 0
    monkeypatch.setattr(dl, "_write", real_write)
    dl.download(dl.plan(variant("sdnq-uint4")))
    assert hub.ranges(BIG)[-1] == f"bytes={kept}-"


def test_free_disk_is_checked_before_starting_and_says_how_much_is_needed(
    hub: HubServer, hf_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil
    from collections import namedtuple

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda _p: usage(10**9, 10**9 - 1000, 1000))
    with pytest.raises(AppError) as caught:
        dl.download(dl.plan(variant("sdnq-uint4")))
    assert caught.value.kind == ErrorKind.DISK_FULL and "needs" in caught.value.message and "MiB" in caught.value.message
    assert not [s for s in hub.requests if "/resolve/" in s.path]


def test_offline_mode_and_a_missing_repo_are_clear_errors(hub: HubServer, hf_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from huggingface_hub import constants

    del hub.repos[UINT4]
    with pytest.raises(AppError) as caught:
        dl.plan(variant("sdnq-uint4"))
    assert "HF_TOKEN" in caught.value.message
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(AppError, match="HF_HUB_OFFLINE"):
        dl.plan(variant("gguf-q4"))


def _file(path: str) -> layout.RemoteFile:
    [match] = [f for f in dl.plan(variant("sdnq-uint4")).files if f.path == path]
    return match
