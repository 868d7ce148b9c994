"""The hash-checked downloader: mirror layout, cache reuse, refusal of wrong bytes, clear
network errors, and threads racing one file (processes: ``test_data_concurrency.py``)."""

import hashlib
import io
import os
import socket
import threading
import urllib.error
import urllib.request

import pytest

from scalinglaws.data import download as download_module
from scalinglaws.data.download import ChecksumError, DownloadError, download, relative_path

URL = "https://example.org/some%20dir/a,b.txt"
CONTENT = b"public-domain bytes\n"
SHA = hashlib.sha256(CONTENT).hexdigest()


@pytest.fixture
def mirror(tmp_path):
    root = tmp_path / "mirror"
    path = root / "example.org" / "some dir" / "a,b.txt"
    path.parent.mkdir(parents=True)
    path.write_bytes(CONTENT)
    return root


def test_relative_path_unquotes_the_url_like_the_mirror_layout():
    assert str(relative_path(URL)) == "example.org/some dir/a,b.txt"
    with pytest.raises(ValueError, match="http"):
        relative_path("ftp://example.org/x")


def test_download_from_mirror_is_cached_and_verified(tmp_path, mirror):
    cache = tmp_path / "cache"
    path = download(URL, SHA, root=cache, mirror=mirror)
    assert path.read_bytes() == CONTENT
    assert path == cache / "example.org" / "some dir" / "a,b.txt"
    # a second call is served from the cache, even with the mirror gone
    (mirror / "example.org" / "some dir" / "a,b.txt").unlink()
    assert download(URL, SHA, root=cache, mirror=mirror) == path


def test_checksum_mismatch_is_refused_and_leaves_nothing_behind(tmp_path, mirror):
    (mirror / "example.org" / "some dir" / "a,b.txt").write_bytes(b"tampered")
    cache = tmp_path / "cache"
    with pytest.raises(ChecksumError, match=f"sha256 mismatch for {URL}: expected {SHA}"):
        download(URL, SHA, root=cache, mirror=mirror)
    assert not any(p.is_file() for p in cache.rglob("*"))


def test_corrupted_cache_is_fetched_again(tmp_path, mirror):
    cache = tmp_path / "cache"
    path = download(URL, SHA, root=cache, mirror=mirror)
    path.write_bytes(b"bit rot")
    assert download(URL, SHA, root=cache, mirror=mirror).read_bytes() == CONTENT


def test_missing_mirror_file_says_where_it_looked(tmp_path):
    with pytest.raises(FileNotFoundError, match="not in the offline mirror"):
        download(URL, SHA, root=tmp_path / "cache", mirror=tmp_path / "empty")


def test_mirror_from_environment(tmp_path, mirror, monkeypatch):
    monkeypatch.setenv("SCALINGLAWS_DATA_MIRROR", str(mirror))
    monkeypatch.setenv("SCALINGLAWS_CACHE", str(tmp_path / "envcache"))
    assert download(URL, SHA).read_bytes() == CONTENT
    assert (tmp_path / "envcache" / "example.org").is_dir()


def files_under(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


class FakeResponse(io.BytesIO):
    """What ``urlopen`` returns, serving ``data``; ``fail_after`` bytes, then the connection drops."""

    def __init__(self, data, fail_after=None):
        super().__init__(data)
        self.headers = {"Content-Length": str(len(data))}
        self.fail_after = fail_after

    def read(self, size=-1):
        if self.fail_after is not None and self.tell() >= self.fail_after:
            raise ConnectionResetError(104, "Connection reset by peer")
        return super().read(size if self.fail_after is None else min(size, self.fail_after))


def test_network_download_is_verified_and_cached(tmp_path, monkeypatch):
    monkeypatch.delenv("SCALINGLAWS_DATA_MIRROR", raising=False)
    calls = []
    monkeypatch.setattr(urllib.request, "urlopen",
                        lambda url, timeout: calls.append(url) or FakeResponse(CONTENT))
    cache = tmp_path / "cache"
    path = download(URL, SHA, root=cache, progress=False)
    assert path.read_bytes() == CONTENT and calls == [URL]
    assert download(URL, SHA, root=cache, progress=False) == path and calls == [URL]
    assert files_under(cache) == ["example.org/some dir/a,b.txt"]


def test_offline_failure_names_the_url_and_the_mirror(tmp_path, monkeypatch):
    monkeypatch.delenv("SCALINGLAWS_DATA_MIRROR", raising=False)

    def offline(url, timeout):
        raise urllib.error.URLError(socket.gaierror(-2, "Name or service not known"))

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    cache = tmp_path / "cache"
    with pytest.raises(DownloadError) as caught:
        download(URL, SHA, root=cache, progress=False)
    assert str(caught.value) == (
        f"could not download {URL}: the machine seems to be offline (Name or service not known). "
        "To work without the network, set SCALINGLAWS_DATA_MIRROR to a directory laid out as "
        "<host>/<path of the URL> (for this file: example.org/some dir/a,b.txt).")
    assert isinstance(caught.value, OSError)
    assert files_under(cache) == []  # no temporary file, no lock file


def test_http_error_gives_the_status(tmp_path, monkeypatch):
    monkeypatch.delenv("SCALINGLAWS_DATA_MIRROR", raising=False)

    def not_found(url, timeout):
        raise urllib.error.HTTPError(url, 404, "Not Found", {}, None)

    monkeypatch.setattr(urllib.request, "urlopen", not_found)
    with pytest.raises(DownloadError, match=f"^could not download {URL}: the server answered "
                                            "HTTP 404 Not Found. To work without the network, "
                                            "set SCALINGLAWS_DATA_MIRROR to a directory"):
        download(URL, SHA, root=tmp_path / "cache", progress=False)


def test_a_download_cut_short_leaves_nothing_behind(tmp_path, monkeypatch):
    monkeypatch.delenv("SCALINGLAWS_DATA_MIRROR", raising=False)
    monkeypatch.setattr(urllib.request, "urlopen",
                        lambda url, timeout: FakeResponse(CONTENT, fail_after=5))
    cache = tmp_path / "cache"
    with pytest.raises(DownloadError, match=f"could not download {URL}: the machine seems to be "
                                            r"offline \(Connection reset by peer\)"):
        download(URL, SHA, root=cache, progress=False)
    assert files_under(cache) == []


def test_threads_racing_one_url_copy_it_once(tmp_path, monkeypatch):
    # a file large enough that the first copy is still running when the other threads arrive
    content = os.urandom(16 << 20)
    sha = hashlib.sha256(content).hexdigest()
    mirror = tmp_path / "mirror"
    (mirror / relative_path(URL)).parent.mkdir(parents=True)
    (mirror / relative_path(URL)).write_bytes(content)
    copies = []
    copy = download_module._copy
    monkeypatch.setattr(download_module, "_copy", lambda *a, **k: copies.append(1) or copy(*a, **k))
    cache = tmp_path / "cache"
    start, results = threading.Barrier(8), []

    def fetch():
        start.wait()
        try:
            results.append(download(URL, sha, root=cache, mirror=mirror, progress=False))
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            results.append(error)

    threads = [threading.Thread(target=fetch) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [cache / relative_path(URL)] * 8
    assert len(copies) == 1  # the others waited for the lock and found the file complete
    assert (cache / relative_path(URL)).read_bytes() == content
    assert files_under(cache) == ["example.org/some dir/a,b.txt"]
