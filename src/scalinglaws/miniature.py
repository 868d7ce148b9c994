"""Gopher against Chinchilla in miniature (chapter 13): one budget, spent two ways, trained.

Hoffmann et al. (2022, Section 4) trained Chinchilla (70B parameters, 1.4T tokens) on the
compute of Gopher (280B, 300B). Chapter 13 repeats the contest with two tiny GPTs of the
``cpu`` sweep's ladder at one of its IsoFLOP budgets: the compute-optimal model, and a model
about 4x larger on about 4x fewer tokens. Both must be trained exactly as a sweep run would
be, so that the comparison is the sweep's own and a run already in the committed results
reproduces its loss. This module holds what the chapter needs beyond the sweep and the laws:

- :func:`nearest_shape` and :func:`committed_record`: choosing a ladder model, finding its run
  (:func:`scalinglaws.grid.run_spec` gives the run a sweep would train for ANY ladder shape);
- :func:`mis_sizing_penalty`: what Hoffmann's Eq. 2 says about a model of the wrong size on a
  fixed budget (the tokens it needs to catch up are :func:`scalinglaws.laws.tokens_for_loss`);
- :func:`side_by_side`: two texts in two columns, for samples of the two models.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Iterable, Sequence

import numpy as np

from .constants import ParametricFit
from .counting import TransformerShape, params_total
from .grid import RunSpec


def nearest_shape(ladder: Sequence[TransformerShape], n_params: float) -> TransformerShape:
    """The shape of ``ladder`` whose total parameter count is nearest ``n_params`` in log N
    (the first of two equally near)."""
    if not ladder:
        raise ValueError("nearest_shape needs a non-empty ladder of shapes")
    if not n_params > 0:
        raise ValueError(f"n_params must be positive, got {n_params!r}")
    return min(ladder, key=lambda shape: abs(math.log(params_total(shape) / n_params)))


def committed_record(records: Iterable[dict], spec: RunSpec) -> dict | None:
    """The record of ``spec`` among a sweep's run records (same run id AND settings hash), or None."""
    for record in records:
        if record.get("run_id") == spec.run_id and record.get("settings_hash") == spec.settings_hash():
            return record
    return None


def mis_sizing_penalty(alpha: float, beta: float, factor) -> float:
    """The loss a model ``factor`` times the compute-optimal size adds at the same budget, as a
    fraction of the reducible loss L - E of the optimal model (Hoffmann Eq. 2 with D = C / 6N).

    At the optimum the two terms of Eq. 2 split the reducible loss in the ratio
    A/N^alpha : B/D^beta = beta : alpha. A model k times larger on k times fewer tokens
    multiplies the first by k^-alpha and the second by k^beta, so the penalty is
    (beta k^-alpha + alpha k^beta) / (alpha + beta) - 1, whatever C, A, B and E are.
    """
    if not (alpha > 0 and beta > 0):
        raise ValueError(f"alpha and beta must be positive, got {alpha!r} and {beta!r}")
    k = np.asarray(factor, dtype=float)
    if np.any(~np.isfinite(k)) or np.any(k <= 0):
        raise ValueError(f"factor must be positive and finite, got {factor!r}")
    penalty = (beta * k**-alpha + alpha * k**beta) / (alpha + beta) - 1.0
    return float(penalty) if penalty.ndim == 0 else penalty


def side_by_side(left: str, right: str, titles: tuple[str, str] = ("", ""), width: int = 38, gap: int = 4) -> str:
    """Two texts wrapped to ``width`` columns and printed next to each other under ``titles``.

    Line breaks and other control bytes in the texts become spaces first (sampled bytes may
    hold any of them), so each column is wrapped as running text.
    """
    if width < 10 or gap < 1:
        raise ValueError(f"need width >= 10 and gap >= 1, got {width} and {gap}")

    def column(text: str) -> list[str]:
        flat = "".join(ch if ch.isprintable() else " " for ch in text)
        return textwrap.wrap(flat, width=width, drop_whitespace=True, break_long_words=True) or [""]

    lines_left, lines_right = column(left), column(right)
    rows = []
    if any(titles):
        rows.append(f"{titles[0][:width]:<{width}}{' ' * gap}{titles[1][:width]}".rstrip())
        rows.append(f"{'-' * width}{' ' * gap}{'-' * width}")
    for index in range(max(len(lines_left), len(lines_right))):
        a = lines_left[index] if index < len(lines_left) else ""
        b = lines_right[index] if index < len(lines_right) else ""
        rows.append(f"{a:<{width}}{' ' * gap}{b}".rstrip())
    return "\n".join(rows)
