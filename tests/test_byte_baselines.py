"""Byte-level reference losses against ground truth (uniform and two-valued texts) and the numbers
chapters 8 and 12 print for the default corpus."""

import math

import numpy as np
import pytest

from scalinglaws.data.byte_baselines import UNIFORM_NATS, gzip_nats, unigram_entropy
from scalinglaws.data.corpus import load_tokens


def test_unigram_entropy_of_known_distributions():
    assert unigram_entropy(np.arange(256, dtype=np.uint8).repeat(3)) == pytest.approx(math.log(256), rel=1e-12)
    assert unigram_entropy(np.array([7, 9, 9, 7], dtype=np.uint8)) == pytest.approx(math.log(2), rel=1e-12)
    # p = (3/4, 1/4): H = -(3/4 ln 3/4 + 1/4 ln 1/4).
    assert unigram_entropy(np.array([1, 1, 1, 2], dtype=np.uint8)) == pytest.approx(
        -(0.75 * math.log(0.75) + 0.25 * math.log(0.25)), rel=1e-12)
    assert unigram_entropy(np.zeros(10, dtype=np.uint8)) == 0.0
    assert UNIFORM_NATS == math.log(256)


def test_gzip_compresses_repetition_and_not_noise():
    assert gzip_nats(np.zeros(100_000, dtype=np.uint8)) < 0.01
    noise = np.random.default_rng(0).integers(0, 256, 100_000).astype(np.uint8)
    assert 8 * math.log(2) < gzip_nats(noise) < 8.1 * math.log(2)  # incompressible: a little over 8 bits


def test_the_default_corpus_gives_the_chapters_numbers():
    # Chapter 8 prints 3.101 nats/byte (4.47 bits) for the unigram entropy and 2.88 bits/byte for gzip.
    assert round(unigram_entropy(load_tokens("default", "train", progress=False)), 3) == 3.101
    assert round(gzip_nats(load_tokens("default", "validation", progress=False)) / math.log(2), 2) == 2.88
