"""One small, obvious function for all of the book's data: a hash-checked download.

Every file the book uses has a public URL and a sha256. Readers download from the URL;
machines without internet point ``SCALINGLAWS_DATA_MIRROR`` at a directory laid out as
``<host>/<path of the URL>`` holding the very same bytes. Either way the bytes are
checked against the sha256 before anything reads them.

Files are cached under ``SCALINGLAWS_CACHE`` (default ``~/.cache/scalinglaws``) with the
same ``<host>/<path>`` layout, so a second call costs one hash and no network.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import urllib.parse
import urllib.request
from pathlib import Path

from tqdm import tqdm

MIRROR_ENV = "SCALINGLAWS_DATA_MIRROR"
CACHE_ENV = "SCALINGLAWS_CACHE"


class ChecksumError(ValueError):
    """The bytes on disk are not the bytes the book was written against."""


def cache_dir() -> Path:
    """Where downloads and token caches live: ``$SCALINGLAWS_CACHE`` or ``~/.cache/scalinglaws``."""
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "scalinglaws")


def relative_path(url: str) -> Path:
    """``https://HOST/a%20b/c.txt`` -> ``HOST/a b/c.txt``: the layout of the cache and the mirror."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"expected an http(s) URL, got {url!r}")
    return Path(parts.netloc) / urllib.parse.unquote(parts.path).lstrip("/")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _verify(path: Path, sha256: str, source: str) -> None:
    actual = sha256_of(path)
    if actual != sha256:
        path.unlink()
        raise ChecksumError(
            f"sha256 mismatch for {source}: expected {sha256}, got {actual}. The file was "
            "deleted. If the source changed, the book's data manifest needs updating; if the "
            "download was cut short, run again."
        )


def download(url: str, sha256: str, root: Path | None = None, mirror: Path | None = None,
             progress: bool = True) -> Path:
    """Return the local path of ``url``'s bytes, fetching them once and checking ``sha256``.

    ``root`` defaults to :func:`cache_dir`. ``mirror`` defaults to ``$SCALINGLAWS_DATA_MIRROR``;
    when set, the file is copied from ``mirror/<host>/<path>`` instead of the network.
    Raises :class:`ChecksumError` when the bytes do not match.
    """
    target = (root or cache_dir()) / relative_path(url)
    if target.exists():
        if sha256_of(target) == sha256:
            return target
        target.unlink()  # stale or corrupted: fetch again
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    mirror = mirror or (Path(os.environ[MIRROR_ENV]) if os.environ.get(MIRROR_ENV) else None)
    if mirror is not None:
        source = Path(mirror) / relative_path(url)
        if not source.exists():
            raise FileNotFoundError(
                f"{url} is not in the offline mirror: expected {source}. Unset {MIRROR_ENV} to "
                "download from the internet, or add the file to the mirror."
            )
        shutil.copyfile(source, partial)
    else:
        with urllib.request.urlopen(url, timeout=60) as response, open(partial, "wb") as out:
            size = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=size, unit="B", unit_scale=True, desc=target.name, disable=not progress,
                      leave=False) as bar:
                for block in iter(lambda: response.read(1 << 16), b""):
                    out.write(block)
                    bar.update(len(block))
    _verify(partial, sha256, url)
    partial.replace(target)  # atomic: a reader never sees half a file
    return target
