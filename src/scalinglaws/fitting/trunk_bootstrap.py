"""A bootstrap that redraws whole WSD trunks: the intervals of a sweep whose branches share their seed noise.

The book's seed bootstrap (:func:`scalinglaws.fitting.seed_noise.bootstrap_over_seeds`) redraws the
seeds of each cell on its own, as if a seed's luck at one length said nothing about its luck at the
next. In a sweep of warmup-stable-decay branches it does: every branch of a (size, seed) trunk shares
that trunk's offset (:mod:`scalinglaws.fitting.trunk_noise`). Redrawing cells independently then mixes
the trunks and understates how far the fit can move. Here each replicate redraws trunks:

1. within each model size (the stratum, so every size stays in every replicate, as the design had
   it), draw as many trunks as the size has, with replacement;
2. every run of a drawn trunk stands at its cell's mean plus its own deviation from that mean, times
   sqrt(S / (S - 1)) for a cell of S seeds; without that factor a mean of S redrawn deviations has
   (S - 1) / S of the variance of a mean of S seeds, and with 3 seeds the 10-90% interval would cover
   about 70% instead of 80%;
3. the fit is made as the book makes it: Approach 2 on the seed means of each (budget, size), a
   parabola per budget within :data:`~scalinglaws.fitting.approach2.ISOFLOP_WINDOW` of its lowest
   loss, outliers judged against the sweep's measured seed sd per budget (held at the full sample's
   value); Approach 1 on the seed means of the finished runs.

Intervals are percentiles of the refits (10-90%, Hoffmann Table 2's convention). With one seed per
size there is nothing to redraw: the bootstrap refuses, and the interval comes from redraws of the
sweep's own grid from a fitted law with the noise measured on a sweep with seeds
(:func:`scalinglaws.fitting.design.parametric_interval`).

Approach 3 fits every run, not seed means; :func:`trunk_bootstrap_approach3` redraws the same trunks
through :func:`scalinglaws.fitting.approach3_diagnostics.bootstrap_groups`.
"""

from __future__ import annotations

import numpy as np

from scalinglaws.data.runs import Run, Runs
from scalinglaws.fitting.approach1 import fit_approach1
from scalinglaws.fitting.approach2 import ISOFLOP_WINDOW, Approach2Fit, fit_approach2
from scalinglaws.fitting.bootstrap import BootstrapResult, refit_all
from scalinglaws.fitting.trunk_noise import SeedRuns
from scalinglaws.papers import constants


def fit_approach2_on_seed_means(runs: SeedRuns, outlier_sd: dict[float, float] | None = None) -> Approach2Fit:
    """Approach 2 as the book fits a sweep (:mod:`scalinglaws.fitting.sweep_fits`, every option on):
    seed means, the window rule, outliers against ``outlier_sd`` (default: the runs' pooled seed sd per
    budget; none where a budget has one seed per cell)."""
    sd = runs.pooled_sd_by_budget() if outlier_sd is None else outlier_sd
    sd = {budget: value for budget, value in sd.items() if value > 0}  # seeds that agree exactly measure nothing
    return fit_approach2(runs.seed_means(), window=ISOFLOP_WINDOW, outlier_sd=sd or None)


def fit_approach1_on_seed_means(runs: SeedRuns):
    """Approach 1 as the book fits a sweep: the envelope of the seed means of finished runs."""
    return fit_approach1(runs.seed_means(), finished_only=True)


def _trunks_by_size(runs: SeedRuns) -> dict[float, np.ndarray]:
    """Size -> the trunk indices of that size; refuses a size with fewer than 2 trunks."""
    trunk = runs.trunks()
    out = {}
    for size in np.unique(runs.params):
        out[float(size)] = np.unique(trunk[runs.params == size])
        if out[float(size)].size < 2:
            raise ValueError(f"size N = {size:.6g} has {out[float(size)].size} trunk: a trunk bootstrap needs 2 or "
                             "more seeds of every size (with one seed there is no spread to redraw)")
    return out


def resampled_trunks(runs: SeedRuns, rng: np.random.Generator, strata=None) -> SeedRuns:
    """One replicate (module docstring, steps 1-2): the runs of trunks drawn with replacement within
    each size, at their cell mean plus sqrt(S / (S - 1)) times their deviation from it."""
    strata = _trunks_by_size(runs) if strata is None else strata
    cell, trunk = runs.cells(), runs.trunks()
    count = np.bincount(cell)
    mean = np.bincount(cell, weights=runs.loss) / count
    stretch = np.sqrt(count / np.maximum(count - 1, 1))
    loss = mean[cell] + stretch[cell] * (runs.loss - mean[cell])
    picked, labels = [], []
    for members in strata.values():
        for slot, drawn in enumerate(rng.choice(members, size=members.size, replace=True)):
            rows = np.flatnonzero(trunk == drawn)
            picked.append(rows)
            labels += [f"{runs.trunk[rows[0]]}#{slot}"] * rows.size
    rows = np.concatenate(picked)
    return SeedRuns(runs.budget[rows], runs.params[rows], runs.tokens[rows], loss[rows], runs.seed[rows],
                    np.array(labels))


def trunk_bootstrap(runs: SeedRuns, approach: int = 2, n_resamples: int = 200, seed: int = 0) -> BootstrapResult:
    """Approach ``approach`` (1 or 2) refitted to ``n_resamples`` trunk replicates (module docstring).
    Failed refits are counted by reason and left out of the percentiles, as in :mod:`fitting.bootstrap`."""
    if approach not in (1, 2):
        raise ValueError(f"trunk_bootstrap refits Approach 1 or 2 (Approach 3: trunk_bootstrap_approach3), "
                         f"got {approach!r}")
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be a positive number of bootstrap refits, got {n_resamples!r}")
    strata = _trunks_by_size(runs)
    rng = np.random.default_rng(seed)
    replicates = (resampled_trunks(runs, rng, strata) for _ in range(n_resamples))
    if approach == 2:
        outlier_sd = runs.pooled_sd_by_budget()
        budgets = {profile.budget for profile in fit_approach2_on_seed_means(runs).profiles if profile.usable}
        return refit_all(constants.approach(2).key + " (trunks resampled)", replicates,
                          lambda sample: fit_approach2_on_seed_means(sample, outlier_sd), ("a", "b"), budgets)
    return refit_all(constants.approach(1).key + " (trunks resampled)", replicates, fit_approach1_on_seed_means,
                      ("a", "b"))


def trunk_bootstrap_records(records: list[dict], approach: int = 2, n_resamples: int = 200,
                            seed: int = 0) -> BootstrapResult:
    """:func:`trunk_bootstrap` of results records (each with ``seed`` and a trunk id; diverged runs
    left out). For Approach 2 pass the records of the IsoFLOP budgets only
    (:func:`scalinglaws.fitting.sweep_fits.isoflop_records`)."""
    return trunk_bootstrap(SeedRuns.from_records(records), approach, n_resamples, seed)


def trunk_bootstrap_approach3(runs: SeedRuns, n_resamples: int = 200, seed: int = 0) -> BootstrapResult:
    """Approach 3 (every run a point) with whole trunks redrawn within each size
    (:func:`scalinglaws.fitting.approach3_diagnostics.bootstrap_groups`; no sqrt(S / (S - 1)) factor:
    that bootstrap reweights the runs it has)."""
    from scalinglaws.fitting.approach3_diagnostics import bootstrap_groups

    _trunks_by_size(runs)
    every_run = Runs(tuple(Run(name=f"{runs.trunk[i]} C={runs.budget[i]:.3g}", params=runs.params[i],
                               tokens=runs.tokens[i], flops=6.0 * runs.params[i] * runs.tokens[i],
                               loss=runs.loss[i], budget=runs.budget[i]) for i in range(len(runs))))
    return bootstrap_groups(every_run, runs.trunk, strata=runs.params, n_resamples=n_resamples, seed=seed)
