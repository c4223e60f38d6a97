"""The upscaler download against a plain local HTTP server with Range support: lands in the models
folder, resumes a cut transfer and a cancelled one, catches a wrong sha256, checks the disk first.
The catalogue entry is pointed at the server with ``dataclasses.replace`` (URL, size, sha256)."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from zit_desktop.core.errors import AppError, ErrorKind
from zit_desktop.core.events import CancelToken
from zit_desktop.core.models import upscalers as catalogue
from zit_desktop.core.models.cache import PARTIAL_SUFFIX
from zit_desktop.core.models.download import DownloadPhase, DownloadProgress
from zit_desktop.core.paths import AppPaths

BODY = bytes(range(256)) * 4096  # 1 MiB


@dataclass
class FileServer:
    """Serves ``data`` at ``/file.pth`` (via a redirect from ``/release``, as GitHub does), honours
    ``Range``; ``cut_after`` closes the connection after that many body bytes, once."""

    data: bytes = BODY
    cut_after: int | None = None
    delay_chunks: bool = False
    ranges: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                if self.path == "/release":
                    self.send_response(302)
                    self.send_header("Location", "/file.pth")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                rng = self.headers.get("Range", "")
                server.ranges.append(rng)
                start = int(rng.removeprefix("bytes=").split("-")[0]) if rng else 0
                body = server.data[start:]
                self.send_response(206 if rng else 200)
                if rng:
                    self.send_header("Content-Range", f"bytes {start}-{len(server.data) - 1}/{len(server.data)}")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Accept-Ranges", "bytes")
                self.end_headers()
                cut, server.cut_after = server.cut_after, None
                sent = 0
                for i in range(0, len(body), 65536):
                    piece = body[i : i + 65536]
                    if cut is not None and sent + len(piece) > cut:
                        self.wfile.write(piece[: cut - sent])
                        self.wfile.flush()
                        self.close_connection = True
                        return
                    self.wfile.write(piece)
                    sent += len(piece)
                    if server.delay_chunks:
                        import time

                        time.sleep(0.01)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/release"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[FileServer]:
    srv = FileServer()
    yield srv
    srv.close()


def entry_for(srv: FileServer, sha256: str | None = None) -> catalogue.UpscalerEntry:
    default = catalogue.find(catalogue.DEFAULT_UPSCALER)
    assert default is not None
    return replace(default, url=srv.url, size=len(srv.data), sha256=sha256 or hashlib.sha256(srv.data).hexdigest())


def test_the_default_entry_pins_the_release_file() -> None:
    entry = catalogue.find("realesr-general-x4v3")
    assert entry is not None and entry is catalogue.UPSCALERS[0] and entry.id == catalogue.DEFAULT_UPSCALER
    assert entry.url == "https://github.com/xinntao/Real-ESRGAN/releases/download/v0.2.5.0/realesr-general-x4v3.pth"
    assert (entry.size, len(entry.sha256), entry.licence) == (4_885_111, 64, "BSD-3-Clause")


def test_the_download_lands_in_the_models_folder_verified_with_progress(server: FileServer, tmp_path: Path) -> None:
    paths = AppPaths(tmp_path)
    entry = entry_for(server)
    events: list[DownloadProgress] = []
    assert catalogue.download(paths, entry, events.append)
    target = tmp_path / "models" / "upscalers" / entry.filename
    assert target.read_bytes() == BODY and catalogue.is_downloaded(paths, entry)
    assert events[-1].phase == DownloadPhase.DONE and events[-1].done == events[-1].total == len(BODY)
    assert any(e.phase == DownloadPhase.VERIFY for e in events)
    assert not list(target.parent.glob("*" + PARTIAL_SUFFIX))
    assert catalogue.download(paths, entry)  # there already: nothing fetched
    assert server.ranges == [""]


def test_a_cut_transfer_resumes_with_a_range_request(server: FileServer, tmp_path: Path) -> None:
    server.cut_after = 300_000
    entry = entry_for(server)
    assert catalogue.download(AppPaths(tmp_path), entry, backoff_s=0.01)
    assert server.ranges[0] == "" and server.ranges[1].startswith("bytes=") and int(server.ranges[1][6:-1]) > 0
    assert catalogue.model_path(AppPaths(tmp_path), entry).read_bytes() == BODY


def test_cancel_keeps_the_partial_and_the_next_run_continues_it(server: FileServer, tmp_path: Path) -> None:
    paths = AppPaths(tmp_path)
    entry = entry_for(server)
    token = CancelToken()
    server.delay_chunks = True

    def stop_midway(p: DownloadProgress) -> None:
        if p.done >= 200_000:
            token.cancel()

    assert catalogue.download(paths, entry, stop_midway, token) is False
    partial = catalogue.model_path(paths, entry).with_name(entry.filename + PARTIAL_SUFFIX)
    kept = partial.stat().st_size
    assert 0 < kept < len(BODY) and not catalogue.model_path(paths, entry).exists()
    server.delay_chunks = False
    assert catalogue.download(paths, entry)
    assert server.ranges[-1] == f"bytes={kept}-"
    assert catalogue.model_path(paths, entry).read_bytes() == BODY


def test_a_wrong_sha256_deletes_the_file_and_says_so(server: FileServer, tmp_path: Path) -> None:
    paths = AppPaths(tmp_path)
    entry = entry_for(server, sha256="0" * 64)
    with pytest.raises(AppError) as caught:
        catalogue.download(paths, entry)
    assert caught.value.kind == ErrorKind.MODEL_CORRUPT
    assert entry.filename in caught.value.message and "damaged" in caught.value.message
    assert len(server.ranges) == 2  # fetched once more before giving up
    folder = catalogue.upscalers_dir(paths)
    assert not list(folder.iterdir())


def test_a_missing_file_on_the_server_is_a_network_error_naming_it(server: FileServer, tmp_path: Path) -> None:
    entry = replace(entry_for(server), url=server.url.replace("/release", "/nothing"))
    server.httpd.RequestHandlerClass.do_GET = lambda self: (self.send_error(404))  # type: ignore[method-assign]
    with pytest.raises(AppError) as caught:
        catalogue.download(AppPaths(tmp_path), entry)
    assert caught.value.kind == ErrorKind.NETWORK and "127.0.0.1 answered 404" in caught.value.message


def test_too_little_disk_is_said_before_fetching(
    server: FileServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil
    from collections import namedtuple

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda _p: usage(10**9, 10**9 - 1000, 1000))
    with pytest.raises(AppError) as caught:
        catalogue.download(AppPaths(tmp_path), entry_for(server))
    assert caught.value.kind == ErrorKind.DISK_FULL and "needs 1.0 MiB more" in caught.value.message
    assert server.ranges == []


def closed_port_entry() -> catalogue.UpscalerEntry:
    """The default entry pointed at a local port nothing listens on: a download offline, fast."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    default = catalogue.find(catalogue.DEFAULT_UPSCALER)
    assert default is not None
    return replace(default, url=f"http://127.0.0.1:{port}/realesr-general-x4v3.pth")


def test_a_download_that_cannot_reach_the_server_offers_lanczos(tmp_path: Path) -> None:
    from zit_desktop.cli.upscale import with_offline_hint

    entry = closed_port_entry()
    with pytest.raises(AppError) as caught:
        catalogue.download(AppPaths(tmp_path), entry, retries=0, backoff_s=0)
    err = caught.value
    assert err.kind == ErrorKind.NETWORK and "127.0.0.1 could not be reached" in err.message
    text = with_offline_hint(err.message, err.kind, entry.id)
    assert text.startswith(err.message) and "`--upscaler lanczos`" in text and "offline" in text
    # only where lanczos is the way out: a network failure of a catalogue model's download
    assert with_offline_hint("damaged twice", ErrorKind.MODEL_CORRUPT, entry.id) == "damaged twice"
    assert with_offline_hint(err.message, err.kind, str(tmp_path / "mine.pth")) == err.message


@pytest.mark.parametrize("download_only", [False, True], ids=["upscale", "download"])
def test_the_cli_says_lanczos_works_offline_when_the_upscaler_download_fails(
    download_only: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``zit-desktop upscale FILE`` (and ``--download``) with the default upscaler, offline: exit 1 with
    the download's message and the lanczos hint. The catalogue's lookup answers the default id with
    the entry at a closed port; the retry pauses are skipped (the refusals themselves are real)."""
    from PIL import Image

    from zit_desktop.cli.main import main
    from zit_desktop.core.models import download as dl

    entry = closed_port_entry()
    real_find = catalogue.find
    monkeypatch.setattr(catalogue, "find", lambda spec: entry if spec == entry.id else real_find(spec))
    monkeypatch.setattr(dl, "_sleep", lambda _seconds, _cancel: None)
    src = tmp_path / "small.png"
    Image.new("RGB", (32, 32), (200, 30, 30)).save(src)
    args = ["--download"] if download_only else [str(src)]
    assert main(["--data-dir", str(tmp_path / "data"), "upscale", *args]) == 1
    err = capsys.readouterr().err
    assert "could not be reached" in err and "`--upscaler lanczos`" in err, err
    assert not catalogue.is_downloaded(AppPaths(tmp_path / "data"), entry)
