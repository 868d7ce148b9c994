"""Losses a byte-level model can be held against without training it: the uniform guess, the
byte unigram entropy and gzip, all in nats per byte.

Chapter 8 places a model's held-out loss between these references; chapter 12 sets the fitted
irreducible loss E of Hoffmann Eq. 2 against them; chapter 13 draws the unigram line under its
curves.

- The uniform guess over 256 byte values scores ln 256 = 5.545 nats per byte.
- A model that knows only how often each byte occurs, and no context, scores the byte unigram
  entropy H = -sum_b p_b ln p_b of the text it was fitted to (Shannon 1948).
- ``gzip -9`` (DEFLATE, Deutsch 1996) compresses text to some bits per byte; an ideal coder
  driven by a model's predictions would need its cross-entropy per byte, so 8 x compressed /
  original bytes x ln 2 is a loss in the same unit.
"""

from __future__ import annotations

import gzip
import math

import numpy as np

#: The uniform guess over the 256 byte values: ln 256 nats per byte.
UNIFORM_NATS = math.log(256)


def unigram_entropy(tokens) -> float:
    """H = -sum_b p_b ln p_b over the byte frequencies p_b of ``tokens`` (uint8), in nats per byte."""
    counts = np.bincount(np.asarray(tokens), minlength=256)
    frequency = counts[counts > 0] / counts.sum()
    return float(-(frequency * np.log(frequency)).sum())


def gzip_nats(tokens) -> float:
    """``gzip -9``'s compressed size of ``tokens``, as nats per original byte (8 ln 2 x compressed / original)."""
    data = bytes(np.asarray(tokens, dtype=np.uint8))
    return 8 * len(gzip.compress(data, compresslevel=9)) / len(data) * math.log(2)
