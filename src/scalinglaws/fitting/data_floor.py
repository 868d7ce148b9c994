"""How low can models trained on one fixed amount of data go? The floor E + B/D^beta, measured.

Under the parametric law L(N, D) = E + A/N^alpha + B/D^beta (Hoffmann Eq. 2), a model of any
size trained on D tokens cannot go below

    L_floor(D) = E + B / D^beta                                            (the data floor)

which is why Hoffmann et al. say Chinchilla beats any model trained on Gopher's data, however
big (Section 3.4, chapter 5). This module measures the floor from runs instead of assuming it:
at one D, losses of growing models are fitted by

    L(N) = F + A' / N^alpha                                                (the size curve)

with alpha held at the law's value, so the curve is linear in x = N^-alpha and F is its
intercept at x = 0, an infinitely large model. Everything is resampled over seeds, the only
independent thing here (:func:`seed_bootstrap`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SizeCurve:
    """The size curve L(N) = floor + slope / N^alpha at one amount of data."""

    floor: float
    slope: float
    alpha: float

    def loss(self, n_params):
        return self.floor + self.slope / np.asarray(n_params, dtype=float) ** self.alpha


def fit_size_curve(n_params: Sequence[float], losses: Sequence[float], alpha: float) -> SizeCurve:
    """Least squares of L = F + A' N^-alpha over the given sizes, alpha fixed (a straight line in N^-alpha)."""
    n = np.asarray(n_params, dtype=float)
    y = np.asarray(losses, dtype=float)
    if n.shape != y.shape or n.size < 2:
        raise ValueError(f"need the same number (at least 2) of sizes and losses, got {n.size} and {y.size}")
    if not np.all(np.isfinite(y)):
        raise ValueError(f"losses must be finite numbers, got {y.tolist()}")
    if np.any(n <= 0) or not alpha > 0:
        raise ValueError(f"sizes and alpha must be positive, got N = {n.tolist()}, alpha = {alpha!r}")
    x = n ** -alpha
    slope, floor = np.polyfit(x, y, 1)
    return SizeCurve(floor=float(floor), slope=float(slope), alpha=float(alpha))


@dataclass(frozen=True)
class FloorEstimate:
    """What the runs at one D say: each size's gap to the reference model, and the floor."""

    sizes: tuple[int, ...]
    mean_loss: tuple[float, ...]          # per size, over its seeds
    reference_mean: float                 # the model every size is compared with (Chinchilla)
    gaps: tuple[float, ...]               # mean_loss - reference_mean, per size
    gap_intervals: tuple[tuple[float, float], ...]
    curve: SizeCurve                      # fitted to the seed means
    floor_interval: tuple[float, float]
    floor_gap_interval: tuple[float, float]   # floor - reference mean
    level: float

    def verdict(self) -> str:
        """The pre-registered reading (results/fixed-data/DESIGN.md): the claim "every model on this
        data loses to the reference" holds at the sizes tried if each gap's interval lies above 0;
        the floor says the same of larger models if the floor's gap interval lies above 0."""
        sizes = "every size tried loses" if all(low > 0 for low, _ in self.gap_intervals) else (
            "some size tried wins" if any(high < 0 for _, high in self.gap_intervals) else "undecided at some size")
        low, high = self.floor_gap_interval
        floor = ("the fitted floor lies above the reference: no size would win" if low > 0 else
                 "the fitted floor lies below the reference: a larger model would win" if high < 0 else
                 "the fitted floor is not resolved from the reference")
        return f"{sizes}; {floor}"


def seed_bootstrap(losses: Mapping[int, Sequence[float]], reference: Sequence[float], alpha: float,
                   n_bootstrap: int = 2000, level: float = 0.9, seed: int = 0) -> FloorEstimate:
    """Gaps and floor with intervals that redraw each model's seeds with replacement.

    ``losses`` maps a model size N to its final losses (one per seed) on the fixed data;
    ``reference`` holds the reference model's losses (one per seed). Each model's seeds are
    independent runs, so each is resampled on its own; the intervals are the central ``level``
    of the bootstrap distribution.
    """
    sizes = tuple(sorted(losses))
    if len(sizes) < 2:
        raise ValueError(f"need losses at 2 or more sizes to fit the size curve, got {len(sizes)}")
    for n in sizes:
        if len(losses[n]) < 2:
            raise ValueError(f"size {n:,d} has {len(losses[n])} seed(s); the bootstrap needs at least 2")
    if len(reference) < 2:
        raise ValueError(f"the reference has {len(reference)} seed(s); the bootstrap needs at least 2")
    arrays = [np.asarray(losses[n], dtype=float) for n in sizes]
    ref = np.asarray(reference, dtype=float)
    means = np.array([a.mean() for a in arrays])
    curve = fit_size_curve(sizes, means, alpha)
    rng = np.random.default_rng(seed)
    gaps, floors, floor_gaps = [], [], []
    for _ in range(n_bootstrap):
        drawn = np.array([rng.choice(a, a.size).mean() for a in arrays])
        ref_mean = rng.choice(ref, ref.size).mean()
        floor = fit_size_curve(sizes, drawn, alpha).floor
        gaps.append(drawn - ref_mean)
        floors.append(floor)
        floor_gaps.append(floor - ref_mean)
    tails = (100 * (1 - level) / 2, 100 * (1 + level) / 2)
    gap_bounds = np.percentile(np.array(gaps), tails, axis=0)
    return FloorEstimate(
        sizes=sizes, mean_loss=tuple(float(m) for m in means), reference_mean=float(ref.mean()),
        gaps=tuple(float(m - ref.mean()) for m in means),
        gap_intervals=tuple((float(lo), float(hi)) for lo, hi in gap_bounds.T),
        curve=curve, floor_interval=tuple(float(v) for v in np.percentile(floors, tails)),
        floor_gap_interval=tuple(float(v) for v in np.percentile(floor_gaps, tails)), level=level)
