"""The hash-checked downloader: mirror layout, cache reuse, and refusal of wrong bytes."""

import hashlib

import pytest

from scalinglaws.download import ChecksumError, download, relative_path

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
