"""The byte-level corpora: manifests against the mirror, the split, text quirks, licence stripping.

Needs the offline mirror (``SCALINGLAWS_DATA_MIRROR``); every build goes to a temporary cache.
"""

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest

from scalinglaws.data import corpus
from scalinglaws.data.corpus import CORPORA, DOCUMENT_SEPARATOR, VALIDATION_FRACTION, corpus_info, load_tokens
from scalinglaws.data.download import ChecksumError, relative_path, sha256_of

MIRROR = Path(os.environ["SCALINGLAWS_DATA_MIRROR"]) if os.environ.get(
    "SCALINGLAWS_DATA_MIRROR") else None
needs_mirror = pytest.mark.skipif(MIRROR is None, reason="set SCALINGLAWS_DATA_MIRROR")

# The split recorded when the corpus was made: sha256(name) order, 7.5% of each source's bytes.
DEFAULT_VALIDATION = [
    "gutenberg/blake-poems.txt", "gutenberg/burgess-busterbrown.txt",
    "gutenberg/chesterton-brown.txt", "gutenberg/shakespeare-hamlet.txt",
    "gutenberg/shakespeare-macbeth.txt",
    "sotu/1798_john_adams_f.txt", "sotu/1800_john_adams_f.txt", "sotu/1830_andrew_jackson_d.txt",
    "sotu/1835_andrew_jackson_d.txt", "sotu/1869_ulysses_s_grant_r.txt",
    "sotu/1884_chester_a_arthur_r.txt", "sotu/1886_grover_cleveland_d.txt",
    "sotu/1901_theodore_roosevelt_r.txt", "sotu/1905_theodore_roosevelt_r.txt",
    "sotu/1921_warren_g_harding_r.txt", "sotu/1953_dwight_d_eisenhower_r.txt",
    "sotu/1972_richard_nixon_r.txt", "sotu/1974_richard_nixon_r.txt",
    "sotu/1999_william_j_clinton_d.txt",
]


def documents_of(tokens: np.ndarray) -> list[bytes]:
    return bytes(tokens).split(DOCUMENT_SEPARATOR)


def prepared(source: corpus.Source, name: str) -> bytes:
    """One document's bytes, prepared straight from the mirror file (independently of a build)."""
    (url,) = [url for _, url in corpus.read_manifest(source) if corpus.document_name(source, url) == name]
    return corpus.prepare_document((MIRROR / relative_path(url)).read_bytes(), source)[0]


@pytest.fixture(scope="module")
def default(tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    info = corpus_info("default", cache=cache, mirror=MIRROR, progress=False)
    return info, cache


# ---------------------------------------------------------------------------------------
# Manifests and checksums


@needs_mirror
def test_manifests_are_the_mirror_sha256sums():
    sums = (MIRROR / "SHA256SUMS").read_text()
    counts = {"gutenberg": 19, "sotu": 233, "tinyshakespeare": 1, "gutenberg409": 409}
    for source in (corpus.GUTENBERG, corpus.SOTU, corpus.TINY_SHAKESPEARE, corpus.GUTENBERG_409):
        committed = Path(corpus.__file__).with_name("manifests").joinpath(source.manifest).read_text()
        assert committed == corpus.manifest_from_sha256sums(sums, source.base_url)
        entries = corpus.read_manifest(source)
        assert len(entries) == counts[source.name]
        for _, url in entries:
            assert (MIRROR / relative_path(url)).is_file(), url


@needs_mirror
def test_default_files_hash_to_their_manifest_entries():
    # 22.6 MB of real hashing: the manifests hold the sha256 of the public bytes
    for source in (corpus.GUTENBERG, corpus.SOTU, corpus.TINY_SHAKESPEARE):
        for sha256, url in corpus.read_manifest(source):
            assert sha256_of(MIRROR / relative_path(url)) == sha256, url


@needs_mirror
def test_a_corrupted_file_is_refused_naming_its_url(tmp_path):
    (sha256, url), = corpus.read_manifest(corpus.TINY_SHAKESPEARE)
    mirror = tmp_path / "mirror"
    copy = mirror / relative_path(url)
    copy.parent.mkdir(parents=True)
    data = bytearray((MIRROR / relative_path(url)).read_bytes())
    data[1000] ^= 0x20  # one flipped bit
    copy.write_bytes(bytes(data))
    cache = tmp_path / "cache"
    with pytest.raises(ChecksumError, match=f"sha256 mismatch for {url}: expected {sha256}"):
        load_tokens("shakespeare", "train", cache=cache, mirror=mirror, progress=False)
    assert not list(cache.joinpath("tokens").glob("*"))  # no token file, record or lock


def test_unknown_names_and_splits_are_refused():
    with pytest.raises(ValueError, match=r"unknown corpus 'wikitext'.*'default'.*'gutenberg409'"):
        load_tokens("wikitext", "train")
    with pytest.raises(ValueError, match=r"unknown split 'test'.*'train', 'validation'"):
        load_tokens("default", "test")
    with pytest.raises(ValueError, match="unknown corpus"):
        corpus_info("Default")
    assert sorted(CORPORA) == ["default", "gutenberg409", "shakespeare"]


# ---------------------------------------------------------------------------------------
# The default corpus


@needs_mirror
def test_default_sizes_and_recorded_split(default):
    info, _ = default
    assert info["documents"] == {"train": 232, "validation": 19}  # 18 books + 233 speeches
    total = sum(info["bytes"].values())
    assert 22.4e6 < total < 22.6e6  # the README's "about 22.5 million bytes"
    assert 0.05 < info["bytes"]["validation"] / total < 0.10
    assert info["validation_documents"] == DEFAULT_VALIDATION
    # both sources are in validation; the Bible (37% of the books) is in train
    assert {name.split("/")[0] for name in info["validation_documents"]} == {"gutenberg", "sotu"}
    assert "gutenberg/bible-kjv.txt" in info["train_documents"]
    assert "gutenberg/README" not in info["train_documents"] + info["validation_documents"]


@needs_mirror
def test_default_splits_are_disjoint_documents_joined_by_the_separator(default):
    info, cache = default
    train_names, validation_names = info["train_documents"], info["validation_documents"]
    assert not set(train_names) & set(validation_names)
    expected = {corpus.document_name(s, url) for s in (corpus.GUTENBERG, corpus.SOTU)
                for _, url in corpus.read_manifest(s)} - {"gutenberg/README"}
    assert set(train_names) | set(validation_names) == expected
    sources = {"gutenberg": corpus.GUTENBERG, "sotu": corpus.SOTU}
    for split, names in (("train", train_names), ("validation", validation_names)):
        tokens = load_tokens("default", split, cache=cache, progress=False)
        assert tokens.dtype == np.uint8 and tokens.ndim == 1 and len(tokens) == info["bytes"][split]
        assert int(np.count_nonzero(tokens == 0)) == len(names) - 1
        assert documents_of(tokens) == [prepared(sources[n.split("/")[0]], n) for n in names]


@needs_mirror
def test_default_validation_share_per_source_is_just_under_the_budget(default):
    info, _ = default
    for source in ("gutenberg", "sotu"):
        sizes = {name: len(prepared(getattr(corpus, source.upper()), name))
                 for name in info["train_documents"] + info["validation_documents"]
                 if name.startswith(source + "/")}
        share = sum(sizes[n] for n in info["validation_documents"] if n in sizes) / sum(sizes.values())
        assert VALIDATION_FRACTION - 0.02 < share <= VALIDATION_FRACTION


@needs_mirror
def test_text_quirks_latin1_books_line_endings(default):
    info, cache = default
    text = bytes(load_tokens("default", "train", cache=cache, progress=False)).decode("utf-8")
    assert "\ufffd" not in text and "\r" not in text
    # the two Latin-1 books, re-encoded as UTF-8: their accented letters survive
    ball = prepared(corpus.GUTENBERG, "gutenberg/chesterton-ball.txt").decode("utf-8")
    assert [ball.count(c) for c in "éèî"] == [2, 2, 1]
    caesar = prepared(corpus.GUTENBERG, "gutenberg/shakespeare-caesar.txt").decode("utf-8")
    assert caesar.count("æ") == 2
    assert ball in text and caesar in text
    # the State of the Union transcripts keep their applause notes (only 2021's has them)
    biden = prepared(corpus.SOTU, "sotu/2021_joseph_r_biden_d.txt").decode("utf-8")
    assert biden.count("(Applause.)") == 64 and biden in text


@needs_mirror
def test_building_twice_gives_identical_bytes_and_reuses_the_cache(default, tmp_path):
    info, cache = default
    again = corpus_info("default", cache=tmp_path, mirror=MIRROR, progress=False)
    assert again["sha256"] == info["sha256"] and again["key"] == info["key"]
    for split in corpus.SPLITS:
        path = Path(info["paths"][split])
        assert path == cache / "tokens" / f"default-{split}-{info['key']}.u8"
        assert sha256_of(path) == info["sha256"][split]
    # reopened read-only, not rebuilt
    mtime = Path(info["paths"]["train"]).stat().st_mtime_ns
    tokens = load_tokens("default", "train", cache=cache, progress=False)
    assert Path(info["paths"]["train"]).stat().st_mtime_ns == mtime
    with pytest.raises(ValueError):
        tokens[0] = 1


@needs_mirror
def test_a_truncated_token_file_is_not_trusted(tmp_path, capsys):
    info = corpus_info("shakespeare", cache=tmp_path, mirror=MIRROR, progress=False)
    path = Path(info["paths"]["validation"])
    path.write_bytes(path.read_bytes()[:1000])  # as if a build had died half way
    tokens = load_tokens("shakespeare", "validation", cache=tmp_path, progress=False)
    assert len(tokens) == info["bytes"]["validation"]
    assert sha256_of(path) == info["sha256"]["validation"]
    assert capsys.readouterr().err == (
        f"scalinglaws: {path} has 1000 bytes, not the {info['bytes']['validation']} its record "
        "holds; rebuilding corpus 'shakespeare'\n")


@needs_mirror
def test_a_flipped_bit_in_a_token_file_is_caught_and_rebuilt(tmp_path, capsys, monkeypatch):
    info = corpus_info("shakespeare", cache=tmp_path, mirror=MIRROR, progress=False)
    path = Path(info["paths"]["train"])
    good = path.read_bytes()
    damaged = bytearray(good)
    damaged[12345] ^= 0x01  # same size: the size check alone would trust it
    path.write_bytes(bytes(damaged))
    monkeypatch.setattr(corpus, "_VERIFIED", {})  # as in a fresh process
    assert bytes(load_tokens("shakespeare", "train", cache=tmp_path, progress=False)) == good
    assert capsys.readouterr().err == (
        f"scalinglaws: {path} failed its sha256 check against its record; rebuilding corpus "
        "'shakespeare'\n")
    assert sha256_of(path) == info["sha256"]["train"]


@needs_mirror
def test_token_files_are_hashed_once_per_process(tmp_path, monkeypatch):
    corpus_info("shakespeare", cache=tmp_path, mirror=MIRROR, progress=False)
    monkeypatch.setattr(corpus, "_VERIFIED", {})  # as in a fresh process
    hashed = []
    monkeypatch.setattr(corpus, "sha256_of", lambda path: hashed.append(path.name) or sha256_of(path))
    for _ in range(3):
        for split in corpus.SPLITS:
            load_tokens("shakespeare", split, cache=tmp_path, progress=False)
    key = corpus.cache_key("shakespeare")
    assert sorted(hashed) == [f"shakespeare-{split}-{key}.u8" for split in corpus.SPLITS]


def test_split_rule_fills_the_budget_by_hash_order_and_keeps_oversized_units_in_train():
    sizes = {f"doc{i:02d}": 1000 for i in range(40)} | {"giant": 30_000}
    # 70,000 bytes; budget 7.5% = 5,250: five of the 1,000-byte documents, never the giant
    chosen = corpus.split_by_document(sizes, {name: name for name in sizes})
    hash_order = sorted(sizes, key=lambda name: hashlib.sha256(name.encode()).hexdigest())
    assert chosen == sorted([name for name in hash_order if name != "giant"][:5])
    # units move whole: two documents of one author are both in, or both out
    units = {name: ("twin" if name in ("doc00", "doc01") else name) for name in sizes}
    chosen = corpus.split_by_document(sizes, units)
    assert ("doc00" in chosen) == ("doc01" in chosen)


def test_cache_key_follows_the_manifest(monkeypatch):
    key = corpus.cache_key("shakespeare")
    entries = corpus.read_manifest(corpus.TINY_SHAKESPEARE)
    changed = [("0" * 64, entries[0][1])]
    monkeypatch.setattr(corpus, "read_manifest", lambda source: changed)
    assert corpus.cache_key("shakespeare") != key


# ---------------------------------------------------------------------------------------
# Tiny Shakespeare


@needs_mirror
def test_shakespeare_is_split_by_position(tmp_path):
    info = corpus_info("shakespeare", cache=tmp_path, mirror=MIRROR, progress=False)
    train = bytes(load_tokens("shakespeare", "train", cache=tmp_path))
    validation = bytes(load_tokens("shakespeare", "validation", cache=tmp_path))
    whole = prepared(corpus.TINY_SHAKESPEARE, "tinyshakespeare/input.txt")
    assert len(whole) == 1_115_393  # the 1,115,394-byte file less its final newline
    assert train + validation == whole
    assert train.endswith(b"\n\n") and validation.startswith(b"GREMIO:")
    assert 0.099 < len(validation) / len(whole) < 0.101
    assert info["documents"] == {"train": 1, "validation": 1}


# ---------------------------------------------------------------------------------------
# Project Gutenberg licence header and footer (gutenberg409)

MODERN_BOOK = """The Project Gutenberg EBook of Tiny, by A. Writer\r
This eBook is for the use of anyone anywhere at no cost\r
*** START OF THIS PROJECT GUTENBERG EBOOK TINY ***\r
\r
Chapter 1\r
It was a small book.\r
\r
End of the Project Gutenberg EBook of Tiny, by A. Writer\r
\r
*** END OF THIS PROJECT GUTENBERG EBOOK TINY ***\r
1.E.1. The following sentence, with active links to ...\r
"""

EARLY_BOOK = """The Project Gutenberg Etext of Old, by B. Writer
**Information prepared by the Project Gutenberg legal advisor**
Why is this "Small Print!" statement here?  You know: lawyers.
*END*THE SMALL PRINT! FOR PUBLIC DOMAIN ETEXTS*Ver.04.29.93*END*
[Portions of this header are copyright (C) 2001 by Michael S. Hart]

OLD
The end of the story.



End of The Project Gutenberg Etext of Old, by B. Writer
"""


def test_strip_licence_on_synthetic_books():
    body, kind = corpus.strip_gutenberg_licence(corpus.decode_text(MODERN_BOOK.encode()))
    assert kind == "modern" and body.strip() == "Chapter 1\nIt was a small book."
    body, kind = corpus.strip_gutenberg_licence(EARLY_BOOK)
    assert kind == "early" and body.strip() == "OLD\nThe end of the story."
    plain = "A book with no licence at all.\nThe End of it."
    assert corpus.strip_gutenberg_licence(plain) == (plain, "none")


@needs_mirror
def test_gutenberg409_licences_are_stripped_and_authors_do_not_straddle(tmp_path):
    info = corpus_info("gutenberg409", cache=tmp_path, mirror=MIRROR, progress=False)
    # 399 books have the "*** START OF"/"*** END OF" lines; 10 early (1990s) files have
    # the "Small Print!" licence instead; none has neither
    assert info["licence_markers"] == {"modern": 399, "early": 10}
    assert sum(info["documents"].values()) == 409
    total = sum(info["bytes"].values())
    assert 145e6 < total < 155e6  # 160.5 MB of files, less about 7% of licence text
    assert VALIDATION_FRACTION - 0.02 < info["bytes"]["validation"] / total <= VALIDATION_FRACTION
    author = lambda name: name.split("/")[1]  # noqa: E731
    assert not {author(n) for n in info["train_documents"]} & {
        author(n) for n in info["validation_documents"]}
    text = b"".join(bytes(load_tokens("gutenberg409", split, cache=tmp_path)) for split in corpus.SPLITS)
    for licence_line in (b"*** START OF", b"*** END OF", b"START: FULL LICENSE", b"SMALL PRINT!",
                         b'"Small Print!"', b"This file should be named", b"<<THIS ELECTRONIC",
                         b"End of the Project Gutenberg", b"End of Project Gutenberg"):
        assert licence_line not in text, licence_line
    assert text.count(DOCUMENT_SEPARATOR) == 409 - 2  # one separator between documents, per split
