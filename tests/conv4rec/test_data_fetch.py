"""fetch() against a local HTTP server serving small zips built here (never real MovieLens)."""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import socket
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from conv4rec.data import DataError, load_dataset
from conv4rec.data.fetch import DOWNLOADS, FetchError, fetch

FAKE_RATINGS = "userId,movieId,rating,timestamp\n" + "".join(
    f"{u},{i},{(u * i) % 10 / 2 + 0.5},{1000 + 10 * u + i}\n" for u in range(1, 6)
    for i in range(1, 5))
FAKE_UDATA = "".join(f"{u}\t{i}\t{(u + i) % 5 + 1}\t{900 + 10 * u + i}\n"
                     for u in range(1, 6) for i in range(1, 5))


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep pytest output clean
        pass


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[tuple[str, Path, list[str]]]:
    """(base URL, folder it serves, list of requested paths)."""
    served = tmp_path / "served"
    served.mkdir()
    requests: list[str] = []

    class Handler(_Quiet):
        def do_GET(self) -> None:
            requests.append(self.path)
            super().do_GET()

    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Handler, directory=str(served)))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/", served, requests
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def _zip(path: Path, members: dict[str, str]) -> str:
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in members.items():
            zf.writestr(name, text)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _leftovers(cache: Path) -> list[str]:
    return sorted(p.name for p in cache.iterdir()) if cache.exists() else []


def test_fetch_unpacks_into_the_cache_and_loads(server, tmp_path: Path) -> None:
    url, served, requests = server
    _zip(served / "ml-latest-small.zip", {"ml-latest-small/ratings.csv": FAKE_RATINGS,
                                          "ml-latest-small/README.txt": "fake\n"})
    cache = tmp_path / "cache"
    path = fetch("ml-latest-small", cache_dir=cache, base_url=url, progress=False)
    assert path == cache / "ml-latest-small"
    assert (path / "ratings.csv").read_text() == FAKE_RATINGS
    assert _leftovers(cache) == ["ml-latest-small"]  # no temporary files left
    record = json.loads((path / ".conv4rec-fetch.json").read_text())
    assert record["url"].endswith("/ml-latest-small.zip") and record["edition"] is None
    split = load_dataset("ml-latest-small", root=cache)
    assert split.train.n_observed + split.test.n_observed == 20
    # already there: nothing downloaded again
    assert fetch("ml-latest-small", cache_dir=cache, base_url=url) == path
    assert requests == ["/ml-latest-small.zip"]


def test_fetch_checks_pinned_sums(server, tmp_path: Path, monkeypatch) -> None:
    url, served, _ = server
    sha = _zip(served / "ml-100k.zip", {"ml-100k/u.data": FAKE_UDATA})
    pinned = replace(DOWNLOADS["ml-100k"], archive_sha256=sha, archive_md5=None,
                     file_sha256=hashlib.sha256(FAKE_UDATA.encode()).hexdigest())
    monkeypatch.setitem(DOWNLOADS, "ml-100k", pinned)
    cache = tmp_path / "cache"
    path = fetch("ml-100k", cache_dir=cache, base_url=url, progress=False)
    assert (path / "u.data").read_text() == FAKE_UDATA
    assert load_dataset(path, "random").test.n_observed == 2


def test_archive_checksum_mismatch_deletes_the_download(server, tmp_path: Path) -> None:
    url, served, _ = server
    sha = _zip(served / "ml-100k.zip", {"ml-100k/u.data": FAKE_UDATA})
    cache = tmp_path / "cache"
    with pytest.raises(FetchError, match=r"ml-100k\.zip: SHA-256 mismatch for ml-100k\.zip "
                                         rf"\(expected 50d2a982\w+, got {sha}\); the download "
                                         r"was deleted") as info:
        fetch("ml-100k", cache_dir=cache, base_url=url, progress=False)
    assert "\n" not in str(info.value)
    assert _leftovers(cache) == []


def test_extracted_file_mismatch_deletes_the_download(server, tmp_path: Path,
                                                       monkeypatch) -> None:
    url, served, _ = server
    _zip(served / "ml-1m.zip", {"ml-1m/ratings.dat": FAKE_UDATA.replace("\t", "::")})
    unpinned_zip = replace(DOWNLOADS["ml-1m"], archive_sha256=None, archive_md5=None)
    monkeypatch.setitem(DOWNLOADS, "ml-1m", unpinned_zip)
    cache = tmp_path / "cache"
    with pytest.raises(FetchError, match=r"git blob id mismatch for ml-1m/ratings\.dat"):
        fetch("ml-1m", cache_dir=cache, base_url=url, progress=False)
    assert _leftovers(cache) == []


def test_not_a_zip_and_http_404(server, tmp_path: Path) -> None:
    url, served, _ = server
    (served / "ml-latest-small.zip").write_text("<html>not a zip</html>")
    with pytest.raises(FetchError, match="not a valid zip archive"):
        fetch("ml-latest-small", cache_dir=tmp_path / "c1", base_url=url, progress=False)
    with pytest.raises(FetchError, match=r"cannot download .*ml-1m\.zip: HTTP 404"):
        fetch("ml-1m", cache_dir=tmp_path / "c2", base_url=url, progress=False)
    assert _leftovers(tmp_path / "c1") == _leftovers(tmp_path / "c2") == []


def test_offline_gives_one_line(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cache = tmp_path / "cache"
    with pytest.raises(FetchError, match=r"cannot download http://127\.0\.0\.1:\d+/ml-100k\.zip: "
                                         r".*\(offline\?\)") as info:
        fetch("ml-100k", cache_dir=cache, base_url=f"http://127.0.0.1:{port}", progress=False)
    assert "\n" not in str(info.value)
    assert _leftovers(cache) == []


def test_datasets_without_a_publisher_download(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("CONV4REC_DATA", str(tmp_path))
    with pytest.raises(FetchError, match=r"douban has no publisher download: .*Monti et al\. "
                                         r"2017.* set CONV4REC_DATA"):
        fetch("douban", cache_dir=tmp_path / "cache")
    (tmp_path / "flixster").mkdir()
    (tmp_path / "flixster" / "ratings.csv").write_text("user,item,rating,split\n1,1,1,train\n")
    assert fetch("flixster") == tmp_path / "flixster"
    with pytest.raises(DataError, match=r"unknown dataset 'ml-20m': fetch knows ml-100k"):
        fetch("ml-20m")
