"""One small, obvious function for all of the book's data: a hash-checked download.

Every file the book uses has a public URL and a sha256. Readers download from the URL;
machines without internet point ``SCALINGLAWS_DATA_MIRROR`` at a directory laid out as
``<host>/<path of the URL>`` holding the very same bytes. Either way the bytes are
checked against the sha256 before anything reads them.

Files are cached under ``SCALINGLAWS_CACHE`` (default ``~/.cache/scalinglaws``) with the
same ``<host>/<path>`` layout, so a second call costs one hash and no network.

Several processes may share one cache (a sweep's workers fetch the same files at once), so
every write goes to a temporary file of its own beside the target and is renamed over it
(:func:`atomic_writer`), and each fetch holds a lock on its target (:func:`locked`): the
first process fetches, the others wait and then find the file complete.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from tqdm import tqdm

try:
    import fcntl
except ImportError:  # Windows: downloads work, but two processes filling one cache are not serialised
    fcntl = None

MIRROR_ENV = "SCALINGLAWS_DATA_MIRROR"
CACHE_ENV = "SCALINGLAWS_CACHE"
TIMEOUT_SECONDS = 60
"""How long a download waits for the server before it gives up."""

_BLOCK = 1 << 20


class ChecksumError(ValueError):
    """The bytes on disk are not the bytes the book was written against."""


class DownloadError(OSError):
    """The network could not deliver a file: the message names the URL and how to work offline."""


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
        for block in iter(lambda: handle.read(_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


# ---------------------------------------------------------------------------------------
# Safe writes into a shared cache


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``<path>.lock`` for the block: one process at a time works on ``path``.

    Waiters block until the holder is done, then should look again whether the work is
    already done. The holder deletes the lock file on the way out so that the cache keeps no
    litter; a waiter that locked the deleted file notices (its file is no longer the one at
    the path) and locks afresh, so two processes never both believe they hold the lock.
    """
    if fcntl is None:
        yield
        return
    lock = path.with_name(path.name + ".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    while True:
        descriptor = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            if _same_file(descriptor, lock):
                break
        except BaseException:
            os.close(descriptor)
            raise
        os.close(descriptor)  # the previous holder deleted this one: lock the new file
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)  # while still held: see the docstring
        os.close(descriptor)


def _same_file(descriptor: int, path: Path) -> bool:
    try:
        linked = os.stat(path)
    except FileNotFoundError:
        return False
    held = os.fstat(descriptor)
    return (held.st_dev, held.st_ino) == (linked.st_dev, linked.st_ino)


@contextlib.contextmanager
def atomic_writer(path: Path) -> Iterator[BinaryIO]:
    """A binary file to write ``path``'s new bytes into; it replaces ``path`` only if the block succeeds.

    The file has a unique name beside ``path`` (same file system, so the rename is atomic):
    readers see the old file or the complete new one, never half of one, and two writers
    never write into the same temporary file. On any error it is deleted.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out:
            yield out
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


# ---------------------------------------------------------------------------------------
# Downloading


def _is_intact(path: Path, sha256: str) -> bool:
    try:
        return sha256_of(path) == sha256
    except FileNotFoundError:
        return False


def _copy(read: Callable[[int], bytes], out: BinaryIO, bar: tqdm | None = None) -> str:
    """Copy blocks from ``read`` to ``out`` until the end; return the sha256 of what was copied."""
    digest = hashlib.sha256()
    for block in iter(lambda: read(_BLOCK), b""):
        out.write(block)
        digest.update(block)
        if bar is not None:
            bar.update(len(block))
    return digest.hexdigest()


def _check(actual: str, sha256: str, source: str) -> None:
    if actual != sha256:
        raise ChecksumError(
            f"sha256 mismatch for {source}: expected {sha256}, got {actual}. The file was "
            "discarded. If the source changed, the book's data manifest needs updating; if the "
            "download was cut short, run again."
        )


def _mirror_file(url: str, mirror: Path) -> Path:
    source = Path(mirror) / relative_path(url)
    if not source.exists():
        raise FileNotFoundError(
            f"{url} is not in the offline mirror: expected {source}. Unset {MIRROR_ENV} to "
            "download from the internet, or add the file to the mirror."
        )
    return source


def _fetch(url: str, out: BinaryIO, progress: bool, label: str) -> str:
    """Write ``url``'s bytes to ``out`` and return their sha256; network failures raise :class:`DownloadError`."""
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:
            size = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=size, unit="B", unit_scale=True, desc=label, disable=not progress,
                      leave=False) as bar:
                return _copy(response.read, out, bar)
    except (urllib.error.URLError, http.client.HTTPException, ConnectionError,
            TimeoutError) as error:  # TimeoutError is socket.timeout since Python 3.10
        raise DownloadError(_network_failure(url, error)) from error


def _network_failure(url: str, error: Exception) -> str:
    """One line for a failed download: which URL, what went wrong, and how to use a mirror instead."""
    reason = getattr(error, "reason", error)
    if isinstance(error, urllib.error.HTTPError):
        what = f"the server answered HTTP {error.code} {error.reason}"
    elif isinstance(reason, TimeoutError):
        what = f"no answer within {TIMEOUT_SECONDS} s; the machine may be offline ({reason})"
    elif isinstance(reason, OSError):  # name resolution, refused or reset connections
        what = f"the machine seems to be offline ({reason.strerror or reason})"
    else:
        what = str(reason)
    return (f"could not download {url}: {what}. To work without the network, set {MIRROR_ENV} "
            f"to a directory laid out as <host>/<path of the URL> (for this file: "
            f"{relative_path(url)}).")


def download(url: str, sha256: str, root: Path | None = None, mirror: Path | None = None,
             progress: bool = True) -> Path:
    """Return the local path of ``url``'s bytes, fetching them once and checking ``sha256``.

    ``root`` defaults to :func:`cache_dir`. ``mirror`` defaults to ``$SCALINGLAWS_DATA_MIRROR``;
    when set, the file is copied from ``mirror/<host>/<path>`` instead of the network.
    Raises :class:`ChecksumError` when the bytes do not match and :class:`DownloadError`
    when the network fails. Safe to call from several processes or threads at once.
    """
    target = (root or cache_dir()) / relative_path(url)
    if _is_intact(target, sha256):  # the usual case: no lock needed to read a complete file
        return target
    mirror = mirror or (Path(os.environ[MIRROR_ENV]) if os.environ.get(MIRROR_ENV) else None)
    source = _mirror_file(url, mirror) if mirror is not None else None
    with locked(target):
        if _is_intact(target, sha256):  # another process fetched it while this one waited
            return target
        with atomic_writer(target) as out:  # a stale or corrupted file is replaced
            if source is not None:
                with open(source, "rb") as handle:
                    actual = _copy(handle.read, out)
            else:
                actual = _fetch(url, out, progress, target.name)
            _check(actual, sha256, url)
    return target
