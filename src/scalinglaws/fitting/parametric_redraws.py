"""Intervals for a sweep with one seed per size: its own grid redrawn from a law fitted to it.

With one seed per size there is no spread to resample, and the trunk bootstrap refuses
(:mod:`scalinglaws.fitting.trunk_bootstrap`). The interval is simulated instead (the analysis rules
of ``results/design/README.md``, rule 4):

1. put every run of the sweep's grid at the loss a law gives it (the sweep's own Approach 3 fit);
2. add noise with the structure measured on a sweep that has seeds (a
   :class:`~scalinglaws.fitting.trunk_noise.NoiseStructure` or a
   :class:`~scalinglaws.fitting.trunk_noise.DriftingNoise`);
3. refit, as the book fits the sweep itself; repeat; the refits' 10-90% range, moved by their own
   bias, is the interval (rule 4 as amended before the wide sweep's fit; "Bias" below).

Each redraw refits all three approaches on the same noisy losses, once on every run and once without
the smallest size, so the redraws also give their *joint* noise when the law holds exactly:

- how far apart two approaches land (:meth:`Redraws.differences`). Two approaches *agree within their
  joint noise* when their observed difference lies between the 5th and 95th percentiles of the
  redraws' differences (:meth:`Redraws.agree`); this rule was written before the fit it judges;
- how far dropping the smallest size moves each approach (:meth:`Redraws.shifts`). A shift outside
  the redraws' 5-95% range says the smallest size sits off the law the other sizes follow.

The fits are those of the book's sweeps (:mod:`scalinglaws.fitting.sweep_fits`, every option on):
Approach 1 the envelope of finished runs' seed means, Approach 2 one parabola per IsoFLOP budget in
the window rule with outliers judged against ``outlier_sd``, Approach 3 every run a point, from the
full grid of starts (fewer starts change a on these sweeps, so none are saved).

**Bias.** A redraw interval is the 10-90% range of an approach's estimates when the law holds: where
that approach lands, not where a is. An approach the grid biases (Approach 1's envelope cannot pick a size
beyond the sampled ones, so on a grid centred by a shallower pilot it flattens a steep law's a by about
0.12) gets an interval off the truth. :meth:`Redraws.bias_corrected_interval` moves the interval by the
redraws' own bias; :func:`coverage` measures how often each kind holds the truth.

Approach 2's samples are those of :func:`scalinglaws.fitting.design.parametric_interval` for the same
law, noise, number and seed when ``outlier_sd`` is None: both draw the noise in the same order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from scalinglaws.fitting.approach3 import fit_approach3_arrays
from scalinglaws.fitting.design import sweeps_generator
from scalinglaws.fitting.trunk_bootstrap import fit_approach1_on_seed_means, fit_approach2_on_seed_means
from scalinglaws.fitting.trunk_noise import SeedRuns
from scalinglaws.papers.constants import ParametricFit
from scalinglaws.papers.laws import allocation_exponents, parametric_loss

APPROACHES = (1, 2, 3)
#: The percentiles of an interval (Hoffmann Table 2's convention).
INTERVAL = (10.0, 90.0)
#: The percentiles inside which an observed difference counts as noise (module docstring).
AGREEMENT = (5.0, 95.0)


def without_smallest_size(runs: SeedRuns) -> SeedRuns:
    """``runs`` less every run of its smallest model size."""
    keep = runs.params > np.min(runs.params)
    return SeedRuns(runs.budget[keep], runs.params[keep], runs.tokens[keep], runs.loss[keep], runs.seed[keep],
                    runs.trunk[keep])


@dataclass(frozen=True, eq=False)
class ThreeFits:
    """The exponent a of N_opt ~ C^a by Approaches 1-3 on one set of losses (NaN where a fit failed),
    and Approach 3's law (None where it failed)."""

    a: tuple[float, float, float]
    law: ParametricFit | None

    def exponent(self, approach: int) -> float:
        return self.a[APPROACHES.index(approach)]


def _fitted(fit) -> tuple[float, object]:
    try:
        result = fit()
    except ValueError:  # FitFailure: too few sizes or budgets, no minimum in range
        return math.nan, None
    return float(result.a), result


def fit_three(runs: SeedRuns, outlier_sd: dict[float, float] | None = None, approaches=APPROACHES) -> ThreeFits:
    """Approaches 1-3 as the book fits a sweep (module docstring) on ``runs``; those not in
    ``approaches`` are skipped (NaN; Approach 3 takes about 1 s, the others milliseconds)."""
    skipped = (math.nan, None)
    a1, _ = _fitted(lambda: fit_approach1_on_seed_means(runs)) if 1 in approaches else skipped
    a2, _ = _fitted(lambda: fit_approach2_on_seed_means(runs, outlier_sd)) if 2 in approaches else skipped
    a3, law = _fitted(lambda: fit_approach3_arrays(runs.params, runs.tokens, runs.loss)) if 3 in approaches else skipped
    return ThreeFits((a1, a2, a3), law)


@dataclass(frozen=True, eq=False)
class Redraws:
    """The refits of ``n`` redraws of a grid from ``law`` with one noise model (module docstring).

    ``every_size`` and ``without_smallest`` are (n, 3) arrays of a, one column per approach;
    ``laws`` holds each redraw's Approach 3 fit on every size (None where it failed)."""

    law: ParametricFit
    every_size: np.ndarray
    without_smallest: np.ndarray
    laws: tuple

    @property
    def true_a(self) -> float:
        return float(allocation_exponents(self.law)[0])

    def samples(self, approach: int, smallest: bool = True) -> np.ndarray:
        """Approach ``approach``'s a over the redraws that it fitted (with or without the smallest size)."""
        column = (self.every_size if smallest else self.without_smallest)[:, APPROACHES.index(approach)]
        return column[np.isfinite(column)]

    def failures(self, approach: int, smallest: bool = True) -> int:
        """How many redraws approach ``approach`` could not fit."""
        return len(self.every_size) - len(self.samples(approach, smallest))

    def interval(self, approach: int, smallest: bool = True) -> tuple[float, float]:
        """The 10-90% range of approach ``approach``'s a over the redraws: where its estimate falls when the
        law holds (rule 4). For a biased approach this is not centred on the law's a."""
        return percentile_range(self.samples(approach, smallest), INTERVAL)

    def bias(self, approach: int, smallest: bool = True) -> float:
        """The median of approach ``approach``'s a over the redraws minus the law's a: what the grid and the
        approach do to a when the law holds."""
        samples = self.samples(approach, smallest)
        return float(np.median(samples)) - self.true_a if samples.size else math.nan

    def bias_corrected_interval(self, approach: int, smallest: bool = True) -> tuple[float, float]:
        """:meth:`interval` moved by minus :meth:`bias`: an interval on a itself rather than on the approach's
        estimate (module docstring, "bias")."""
        low, high = self.interval(approach, smallest)
        shift = self.bias(approach, smallest)
        return low - shift, high - shift

    def differences(self, first: int, second: int) -> np.ndarray:
        """a by ``first`` minus a by ``second`` in each redraw both fitted (every size)."""
        return _finite(self.every_size[:, APPROACHES.index(first)] - self.every_size[:, APPROACHES.index(second)])

    def shifts(self, approach: int) -> np.ndarray:
        """a on every size minus a without the smallest size, in each redraw that fitted both."""
        column = APPROACHES.index(approach)
        return _finite(self.every_size[:, column] - self.without_smallest[:, column])

    def agree(self, first: int, second: int, observed: ThreeFits) -> bool:
        """Whether the observed a's of two approaches differ by no more than their joint noise: the
        observed difference within the 5-95% range of the redraws' differences."""
        low, high = percentile_range(self.differences(first, second), AGREEMENT)
        return bool(low <= observed.exponent(first) - observed.exponent(second) <= high)

    def predicted_losses(self, params: float, tokens: float) -> np.ndarray:
        """Each redraw's Approach 3 law's loss at (``params``, ``tokens``): the spread a prediction from
        the fit inherits from the sweep's noise."""
        return np.array([float(parametric_loss(law, params, tokens)) for law in self.laws if law is not None])


def _finite(values: np.ndarray) -> np.ndarray:
    return values[np.isfinite(values)]


def percentile_range(samples: np.ndarray, percentiles) -> tuple[float, float]:
    """The two ``percentiles`` of ``samples`` (NaNs when there are none)."""
    if samples.size == 0:
        return math.nan, math.nan
    low, high = np.percentile(samples, percentiles)
    return float(low), float(high)


def percentile_of(samples: np.ndarray, value: float) -> float:
    """The share of ``samples`` below ``value``, in percent (where an observed value falls)."""
    samples = _finite(np.asarray(samples, dtype=float))
    if samples.size == 0:
        return math.nan
    return float(100.0 * np.mean(samples < value))


def redraw(runs: SeedRuns, law: ParametricFit, noise, n_sweeps: int = 400, seed: int = 0,
           outlier_sd: dict[float, float] | None = None, progress=None, approaches=APPROACHES,
           smallest_dropped: bool = True) -> Redraws:
    """``n_sweeps`` redraws of ``runs``' grid from ``law`` with ``noise``, each refitted by ``approaches``
    on every size and, with ``smallest_dropped``, without the smallest (module docstring; skipped fits are
    NaN). ``progress``, if given, wraps the loop (a tqdm, say): each redraw of every approach with the
    smallest dropped takes two Approach 3 fits, about 2 s on one core."""
    rng = sweeps_generator(n_sweeps, seed)
    clean = runs.with_loss(parametric_loss(law, runs.params, runs.tokens))
    every, without, laws = [], [], []
    loop = range(n_sweeps) if progress is None else progress(range(n_sweeps))
    for _ in loop:
        noisy = clean.with_loss(clean.loss + noise.draw(clean, rng))
        fits = fit_three(noisy, outlier_sd, approaches)
        every.append(fits.a)
        laws.append(fits.law)
        without.append(fit_three(without_smallest_size(noisy), outlier_sd, approaches).a if smallest_dropped
                       else (math.nan,) * len(APPROACHES))
    return Redraws(law, np.array(every, dtype=float), np.array(without, dtype=float), tuple(laws))


@dataclass(frozen=True)
class Coverage:
    """How often the 10-90% redraw interval of one approach held the true a, over simulated sweeps."""

    approach: int
    covered: int
    n_sweeps: int  # sweeps whose estimate and interval were both fitted
    covered_bias_corrected: int  # the same for Redraws.bias_corrected_interval
    mean_half_width: float  # half the interval's length, averaged over the sweeps
    estimate_half_width: float  # half the 10-90% range of the sweeps' own estimates
    median_estimate: float


def coverage(truth: ParametricFit, grid_runs: SeedRuns, noise, n_sweeps: int = 100, n_redraws: int = 40,
             seed: int = 0, approaches=APPROACHES, outlier_sd: dict[float, float] | None = None,
             progress=None) -> dict[int, Coverage]:
    """Does the interval mean what it says? ``n_sweeps`` sweeps drawn on ``grid_runs``' grid from ``truth``
    with ``noise``; each is fitted, Approach 3's fit becomes its law, and ``n_redraws`` redraws of the grid
    from that law give each approach's 10-90% interval (the rule applied to a real one-seed sweep). A
    trustworthy interval holds the truth's a in about 80% of the sweeps."""
    rng = sweeps_generator(n_sweeps, seed)
    a_true = float(allocation_exponents(truth)[0])
    clean = grid_runs.with_loss(parametric_loss(truth, grid_runs.params, grid_runs.tokens))
    estimates = {number: [] for number in approaches}
    intervals = {number: [] for number in approaches}
    corrected = {number: [] for number in approaches}
    loop = range(n_sweeps) if progress is None else progress(range(n_sweeps))
    for sweep in loop:
        noisy = clean.with_loss(clean.loss + noise.draw(clean, rng))
        fits = fit_three(noisy, outlier_sd, tuple(sorted({*approaches, 3})))
        if fits.law is None:
            continue  # no law to redraw from: the sweep counts for no approach
        redraws = redraw(noisy, fits.law, noise, n_redraws, seed=seed + 1 + sweep, outlier_sd=outlier_sd,
                         approaches=approaches, smallest_dropped=False)
        for number in approaches:
            estimates[number].append(fits.exponent(number))
            intervals[number].append(redraws.interval(number))
            corrected[number].append(redraws.bias_corrected_interval(number))
    out = {}
    for number in approaches:
        estimate, bounds = np.array(estimates[number]), np.array(intervals[number]).reshape(-1, 2)
        usable = np.isfinite(estimate) & np.all(np.isfinite(bounds), axis=1)
        low, high = bounds[usable, 0], bounds[usable, 1]
        spread = percentile_range(estimate[usable], INTERVAL)
        fixed = np.array(corrected[number]).reshape(-1, 2)[usable]
        out[number] = Coverage(number, int(np.sum((low <= a_true) & (a_true <= high))), int(np.sum(usable)),
                               int(np.sum((fixed[:, 0] <= a_true) & (a_true <= fixed[:, 1]))),
                               float(np.mean((high - low) / 2)) if usable.any() else math.nan,
                               (spread[1] - spread[0]) / 2, float(np.median(estimate[usable])) if usable.any()
                               else math.nan)
    return out


def prediction_interval(redraws: Redraws, params: float, tokens: float, seed_sd: float, n_seeds: int,
                        seed: int = 0) -> tuple[float, float]:
    """10-90% interval on the mean final loss of ``n_seeds`` runs of ``params`` parameters on ``tokens``
    tokens, predicted by ``redraws.law`` (the fit): the observation minus the prediction is the seed noise
    of the mean (normal, sd ``seed_sd`` / sqrt(``n_seeds``)) minus the fit's own error, which the redraws'
    predictions give around their truth. It covers the sweep's noise, not a law that bends beyond the sweep."""
    if n_seeds < 1 or not seed_sd >= 0:
        raise ValueError(f"need at least one seed and a seed sd >= 0, got {n_seeds!r} seeds and sd {seed_sd!r}")
    centre = float(parametric_loss(redraws.law, params, tokens))
    errors = redraws.predicted_losses(params, tokens) - centre
    if errors.size == 0:
        return math.nan, math.nan
    noise = np.random.default_rng(seed).normal(0.0, seed_sd / math.sqrt(n_seeds), errors.size)
    low, high = percentile_range(noise - errors, INTERVAL)
    return centre + low, centre + high


def prediction_coverage(truth: ParametricFit, grid_runs: SeedRuns, noise, planned, seed_sd: float, n_seeds: int,
                        n_sweeps: int = 30, n_redraws: int = 15, seed: int = 0, progress=None) -> dict:
    """Does :func:`prediction_interval` mean what it says when the law holds beyond the sweep? ``n_sweeps``
    sweeps drawn on ``grid_runs``' grid from ``truth`` with ``noise``; each gets its Approach 3 law, the
    redraws of that law, and for each (params, tokens) of ``planned`` a 10-90% interval, against an
    observation: the truth's loss plus the mean of ``n_seeds`` seed draws of sd ``seed_sd``. Returns
    (params, tokens) -> (covered, sweeps, mean half-width)."""
    rng = sweeps_generator(n_sweeps, seed)
    clean = grid_runs.with_loss(parametric_loss(truth, grid_runs.params, grid_runs.tokens))
    tallies = {point: [0, 0, 0.0] for point in planned}
    loop = range(n_sweeps) if progress is None else progress(range(n_sweeps))
    for sweep in loop:
        noisy = clean.with_loss(clean.loss + noise.draw(clean, rng))
        law = fit_three(noisy, approaches=(3,)).law
        if law is None:
            continue
        redraws = redraw(noisy, law, noise, n_redraws, seed=seed + 1 + sweep, approaches=(3,), smallest_dropped=False)
        for point in planned:
            low, high = prediction_interval(redraws, *point, seed_sd, n_seeds, seed=seed + sweep)
            observed = float(parametric_loss(truth, *point)) + rng.normal(0.0, seed_sd / math.sqrt(n_seeds))
            tally = tallies[point]
            tally[0] += int(low <= observed <= high)
            tally[1] += 1
            tally[2] += (high - low) / 2
    return {point: (covered, n, total / n if n else math.nan) for point, (covered, n, total) in tallies.items()}
