"""Bootstrap intervals for the three approaches (Efron 1979; Hoffmann Table 2's convention).

Each refit sees a resample, drawn with replacement, of what the approach treats as
independent: for Approach 1 whole runs with their curves, for Approach 2 runs within each
IsoFLOP budget (every budget keeps its number of runs), for Approach 3 the (N, D, L) points.
Hoffmann Table 2 reports the 10th-90th percentiles; the 2.5th-97.5th are reported too.

Every refit is checked. A refit that fails (a ``FitFailure`` or a degenerate resample, or for
Approach 3 a best start that did not converge, e.g. one that hit ``maxiter``) is counted by
reason and left out of the percentiles; refits that succeeded but are suspect are counted as
flagged: for Approach 2 a budget left out (minimum outside the sampled sizes, no curvature,
too few distinct sizes), for Approach 3 a best start that ended where it started. Given a
seed, results are reproducible.

Approach 3's refits run in one batched L-BFGS (``lbfgs.minimize_batched``): every replicate
is a vector of point multiplicities, started from a few places that the full fit found good
(its best distinct local optima and the grid starts that reached its best optimum), so 1,000
refits cost about as much as one 4,500-start fit. Starting at the full fit's optimum is what
makes scipy's default stopping rules unsafe here: the summed objective (~1e-3) and its
gradient are already small in absolute terms there, so refits can stop after a handful of
iterations near the start and the interval comes out too narrow: the early stopping that
Besiroglu et al. (2024) found in Hoffmann's fit, one level down (chapter 6 measures it). The
refits therefore run to tolerances of their own, :data:`REFIT_GTOL` and :data:`REFIT_FTOL`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from scalinglaws.data.runs import Runs
from scalinglaws.fitting.approach1 import fit_approach1
from scalinglaws.fitting.approach2 import fit_approach2
from scalinglaws.fitting.approach3 import Approach3Fit, coefficients, fit_approach3, make_problem
from scalinglaws.fitting.lbfgs import STATUS_NAMES, minimize_batched
from scalinglaws.papers import constants
from scalinglaws.papers.constants import ParametricFit
from scalinglaws.papers.laws import allocation_exponents, require_positive

#: Hoffmann Table 2 reports 10th-90th percentile intervals.
TABLE_2_PERCENTILES = (10.0, 90.0)
WIDE_PERCENTILES = (2.5, 97.5)
#: Approach 3 bootstrap starts per replicate: the full fit's best distinct local optima,
#: and grid starts that reached its best optimum.
LOCAL_OPTIMA_STARTS = 3
GRID_STARTS = 3
#: Stopping tolerances of Approach 3's refits, 1,000 times tighter than scipy's
#: (``lbfgs.GTOL`` = 1e-5 on max |gradient|, ``lbfgs.FTOL`` = 2.2e-9 on the relative
#: reduction; both absolute once the objective is below 1). On Besiroglu et al.'s 240 points
#: every refit then converges by these tests, to within 1e-6 in a of where L-BFGS ends when
#: run until its line search can do no better; tighter still (gtol 1e-9, ftol 1e-14), a few
#: refits end in a failed line search at that rounding floor instead.
REFIT_GTOL = 1e-8
REFIT_FTOL = 1e-12
#: A refit whose best start ended within this distance of where it started, in every one of
#: (a, b, e, alpha, beta), did not move: it is flagged.
START_TOLERANCE = 1e-3


@dataclass(frozen=True, eq=False)
class BootstrapResult:
    """Refit estimates of every successful resample, and what happened to the others."""

    approach: str
    n_resamples: int
    samples: dict[str, np.ndarray] = field(repr=False)
    failures: dict[str, int]
    flagged: dict[str, int]

    @property
    def n_failed(self) -> int:
        return sum(self.failures.values())

    @property
    def n_succeeded(self) -> int:
        return self.n_resamples - self.n_failed

    def interval(self, name: str, percentiles=TABLE_2_PERCENTILES) -> tuple[float, float]:
        """Percentile interval of ``name`` over the successful refits (NaN if none succeeded)."""
        values = self.samples[name]
        if values.size == 0:
            return (float("nan"), float("nan"))
        low, high = np.percentile(values, percentiles)
        return (float(low), float(high))


def refit_all(approach: str, resamples, fit, names, watched_budgets=()) -> BootstrapResult:
    """Refit every resample with ``fit``; count failures by reason, and refits that left out
    one of ``watched_budgets`` (Approach 2: the budgets the full fit used)."""
    values = {name: [] for name in names}
    failures, flagged = Counter(), Counter()
    n = 0
    for sample in resamples:
        n += 1
        try:
            result = fit(sample)
        except ValueError as error:  # FitFailure, or a resample too degenerate to fit
            failures[getattr(error, "reason", str(error).split(";")[0])] += 1
            continue
        for profile in getattr(result, "flagged", ()):
            if profile.budget in watched_budgets:
                flagged[profile.reason] += 1
        for name in names:
            values[name].append(getattr(result, name))
    return BootstrapResult(approach, n, {name: np.array(v, dtype=float) for name, v in values.items()},
                           dict(failures), dict(flagged))


def bootstrap_approach1(runs: Runs, n_resamples: int = 200, seed: int = 0, **fit_options) -> BootstrapResult:
    """Resample whole runs (with their curves) and refit Approach 1."""
    rng = np.random.default_rng(seed)
    resamples = (runs.subset(rng.integers(0, len(runs), len(runs))) for _ in range(n_resamples))
    return refit_all(constants.approach(1).key, resamples, lambda sample: fit_approach1(sample, **fit_options),
                      ("a", "b"))


def bootstrap_approach2(runs: Runs, n_resamples: int = 200, seed: int = 0, **fit_options) -> BootstrapResult:
    """Resample runs within each IsoFLOP budget and refit Approach 2 (``fit_approach2(sample, **fit_options)``).

    A refit is flagged for each budget that the fit on all runs used and this refit had to
    leave out (e.g. a resample with fewer than 3 distinct sizes, or a minimum out of range).
    """
    rng = np.random.default_rng(seed)
    labelled = runs.with_budgets(runs.budgets())  # fix the grouping before resampling
    used = {profile.budget for profile in fit_approach2(labelled, **fit_options).profiles if profile.usable}
    groups = [np.flatnonzero(labelled.budgets() == label) for label in np.unique(labelled.budgets())]

    def resample():
        return labelled.subset(np.concatenate([rng.choice(group, group.size) for group in groups]))

    return refit_all(constants.approach(2).key, (resample() for _ in range(n_resamples)),
                      lambda sample: fit_approach2(sample, **fit_options), ("a", "b"), watched_budgets=used)


def _approach3_starts(full_fit: Approach3Fit) -> np.ndarray:
    """Best distinct local optima of the full fit, then grid starts that reached its best optimum."""
    order = np.argsort(full_fit.local_objectives)
    optima = full_fit.local_optima[order]
    distinct = [optima[0]]
    for candidate in optima[1:]:
        if len(distinct) == LOCAL_OPTIMA_STARTS:
            break
        if all(np.max(np.abs(candidate - kept)) > 1e-3 for kept in distinct):
            distinct.append(candidate)
    reached_best = np.max(np.abs(full_fit.local_optima - optima[0]), axis=1) < 1e-3
    return np.vstack([np.array(distinct), full_fit.starts[reached_best][:GRID_STARTS]])


def with_allocation_exponents(samples: dict) -> dict:
    """Samples of Eq. 2's coefficients (:func:`approach3.coefficients`) with the allocation
    exponents a and b of each (Hoffmann Eq. 4, :func:`scalinglaws.papers.laws.allocation_exponents`)."""
    a, b = allocation_exponents(ParametricFit("samples", **samples))
    return {**samples, "a": a, "b": b}


def point_resamples(n_points: int, n_resamples: int, seed: int = 0) -> np.ndarray:
    """Multiplicities (n_resamples, n_points) of ``n_resamples`` draws of ``n_points`` points with
    replacement: the resamples of :func:`bootstrap_approach3` for the same seed."""
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be a positive number of bootstrap refits, got {n_resamples!r}")
    rng = np.random.default_rng(seed)
    return np.stack([np.bincount(rng.integers(0, n_points, n_points), minlength=n_points)
                     for _ in range(n_resamples)]).astype(float)


def bootstrap_approach3(runs: Runs, n_resamples: int = 200, seed: int = 0, reduction: str = "sum",
                        full_fit: Approach3Fit | None = None, gtol: float = REFIT_GTOL,
                        ftol: float = REFIT_FTOL) -> BootstrapResult:
    """Resample (N, D, L) points and refit Approach 3 (Hoffmann Eq. 2 by the Huber objective of
    Appendix D.2), all replicates in one batched L-BFGS stopped by ``gtol`` and ``ftol``.

    The defaults, :data:`REFIT_GTOL` and :data:`REFIT_FTOL`, let every refit converge; pass
    ``lbfgs.GTOL`` and ``lbfgs.FTOL`` (scipy's defaults) to see the refits stop early. Failures
    are counted by the L-BFGS status of the replicate's best start (e.g. "stopped: maxiter");
    a best start that ended within :data:`START_TOLERANCE` of where it started is flagged.
    """
    usable = runs.without_diverged()
    return refit_approach3_weighted(usable, point_resamples(len(usable), n_resamples, seed), constants.approach(3).key,
                                    reduction, full_fit, gtol, ftol)


def refit_approach3_weighted(usable: Runs, counts: np.ndarray, label: str, reduction: str = "sum",
                             full_fit: Approach3Fit | None = None, gtol: float = REFIT_GTOL,
                             ftol: float = REFIT_FTOL) -> BootstrapResult:
    """Refit Approach 3 once per row of ``counts`` (multiplicities, one per point of ``usable``),
    all rows in one batched L-BFGS from :func:`bootstrap_approach3`'s starts: the engine of every
    Approach 3 bootstrap, whatever it redraws (points here, whole runs in
    :func:`scalinglaws.fitting.approach3_diagnostics.bootstrap_groups`)."""
    n_resamples = counts.shape[0]
    full_fit = full_fit or fit_approach3(usable, reduction=reduction)
    starts = _approach3_starts(full_fit)
    per_replicate = starts.shape[0]
    problem = make_problem(usable.params, usable.tokens, usable.loss, reduction=reduction,
                           weights=np.repeat(counts, per_replicate, axis=0))
    x0 = np.tile(starts, (n_resamples, 1))
    result = minimize_batched(problem, x0, gtol=gtol, ftol=ftol)
    objectives = np.where(np.isfinite(result.fun), result.fun, np.inf).reshape(n_resamples, per_replicate)
    best = np.argmin(objectives, axis=1) + per_replicate * np.arange(n_resamples)
    converged = result.converged[best] & np.isfinite(result.fun[best])
    estimates = result.x[best[converged]]
    samples = with_allocation_exponents(coefficients(estimates))
    failures = Counter(STATUS_NAMES[int(status)] for status in result.status[best[~converged]])
    unmoved = int(np.sum(np.max(np.abs(estimates - x0[best[converged]]), axis=1) <= START_TOLERANCE))
    flagged = {f"ended within {START_TOLERANCE:g} of its start": unmoved} if unmoved else {}
    return BootstrapResult(label, n_resamples, samples, dict(failures), flagged)


def runs_for_interval_width(n_runs: float, width: float, target_width: float) -> float:
    """Runs needed to shrink a bootstrap interval from ``width`` to ``target_width``.

    An interval's width shrinks like 1 / sqrt(n) with the number of independent data
    points, so n_needed = n (width / target_width)^2 (Besiroglu et al. 2024, Section 4).
    """
    for name, value in (("n_runs", n_runs), ("width", width), ("target_width", target_width)):
        require_positive(name, value)
    return n_runs * (width / target_width) ** 2
