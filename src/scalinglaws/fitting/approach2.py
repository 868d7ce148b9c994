"""Approach 2: IsoFLOP profiles (Hoffmann et al. 2022, Section 3.2, Figure 3).

For each fixed compute budget C, several model sizes N are trained on D = C / 6N tokens. The
final loss against log N is fitted with a parabola; its minimum is N_opt(C), and
D_opt(C) = C / (6 N_opt). Power laws through the (C, N_opt) and (C, D_opt) pairs give
N_opt ~ C^a and D_opt ~ C^b.

Small sweeps have bad runs (a loss spike, an unlucky seed), and one of them can drag a
three-to-six-point parabola anywhere. So each profile is fitted robustly:

1. a soft-L1 fit (the loss of ``scipy.optimize.least_squares(loss="soft_l1")``, solved by
   iteratively reweighted least squares) with a scale of 1% of the median loss, which
   already gives a far-off point only a square-root pull;
2. points whose residual from that fit exceeds ``OUTLIER_SIGMAS`` standard deviations are
   outliers: the measured seed standard deviation of the budget's runs when the caller knows it
   (``outlier_sd``, :func:`scalinglaws.fitting.seed_noise.pooled_seed_sd`), else a robust estimate from
   the residuals (1.4826 x the median absolute residual, floored at 0.1% of the median loss),
   which from six points can be so small that it rejects ordinary seed noise;
3. an ordinary least-squares parabola through the remaining points (when at least 3 distinct
   sizes remain) is the profile; outliers are counted in the report.

A wide profile is not a parabola: L(N) along an IsoFLOP curve is E + A/N^alpha + B (6N/C)^beta
(Eq. 2), steep on the small side and shallow on the large one, and a parabola through a span of
100x in N leans to the side with more points. With ``window`` set, each profile is fitted only
to the runs whose N lies within a factor ``window`` of its lowest-loss run (widened, where fewer
than 3 sizes remain, to that run's nearest sizes on either side), and the profile reports its
lack of fit (the RMS residual of the runs it was fitted to) and the residual of the worst run it
left out. ``window=None`` (the default) fits the whole profile, as Hoffmann et al. describe.

Diverged runs are skipped. A profile is used only if its parabola opens upwards and its
minimum lies inside the sampled sizes; otherwise it is reported with the reason and left out
(extrapolating a minimum is what the flag is for).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from scalinglaws.data.runs import Runs
from scalinglaws.fitting.powerlaw import AllocationExponents, FitFailure, PowerLawFit, fit_power_law

#: Sizes needed per budget to fit a parabola, and budgets needed to fit a power law.
MIN_SIZES_PER_BUDGET = 3
MIN_BUDGETS = 2
#: soft-L1 scale as a fraction of the median loss (noise in final losses is ~0.1-1%).
SOFT_L1_SCALE = 0.01
#: Iteratively reweighted least squares: at most this many passes, stop when no coefficient
#: moves by more than this (relative to the largest).
IRLS_MAX_ITERATIONS = 100
IRLS_TOLERANCE = 1e-10
#: Residuals beyond this many robust standard deviations are outliers.
OUTLIER_SIGMAS = 5.0
#: The window rule of the sweeps' fits: the runs within a factor 4 in N of the profile's lowest loss
#: (chosen on synthetic Eq. 2 profiles, tests/test_approach2.py, before any sweep was fitted with it).
ISOFLOP_WINDOW = 4.0
#: Floor on the robust standard deviation, as a fraction of the median loss, so that
#: noise-free profiles do not turn rounding errors into outliers.
OUTLIER_FLOOR = 1e-3


@dataclass(frozen=True)
class IsoFlopProfile:
    """One budget's parabola L = c0 + c1 x + c2 x^2 in x = ln N, and its minimum.

    ``runs`` are the budget's runs the profile was fitted to, in the order of ``outliers`` and
    ``in_window`` (set by :func:`fit_approach2`; None for a profile of bare arrays).
    """

    budget: float
    n_runs: int
    outliers: tuple[bool, ...]  # per run of the budget, in the order given: left out of the parabola
    coefficients: tuple[float, float, float]
    n_opt: float
    loss_min: float
    in_range: bool
    reason: str
    in_window: tuple[bool, ...] = ()  # per run: inside the fitting window (all True without one)
    lack_of_fit: float = math.nan  # RMS residual of the runs the parabola was fitted to (outliers out)
    worst_left_out: float = math.nan  # largest |residual| of a run outside the window (nan: none)
    runs: Runs | None = field(default=None, compare=False, repr=False)

    @property
    def curvature(self) -> float:
        """d^2 L / d(ln N)^2 = 2 c2: positive when the profile has a minimum."""
        return 2.0 * self.coefficients[2]

    def loss_at(self, n_params):
        """The parabola's loss at ``n_params`` parameters (inside or beyond the sampled sizes)."""
        c0, c1, c2 = self.coefficients
        x = np.log(n_params)
        return c0 + c1 * x + c2 * x * x

    @property
    def n_outliers(self) -> int:
        return sum(self.outliers)

    @property
    def usable(self) -> bool:
        return self.reason == ""

    @property
    def d_opt(self) -> float:
        return self.budget / (6.0 * self.n_opt)


@dataclass(frozen=True)
class Approach2Fit(AllocationExponents):
    """N_opt = n_law(C), D_opt = d_law(C) from the usable profiles."""

    n_law: PowerLawFit
    d_law: PowerLawFit
    profiles: tuple[IsoFlopProfile, ...]

    @property
    def flagged(self) -> tuple[IsoFlopProfile, ...]:
        """Profiles left out of the power laws, each with its reason."""
        return tuple(profile for profile in self.profiles if not profile.usable)


def _soft_l1_parabola(x, y) -> np.ndarray:
    """Parabola minimising sum 2 s^2 (sqrt(1 + (r/s)^2) - 1), the soft-L1 loss of
    ``scipy.optimize.least_squares``, by iteratively reweighted least squares.

    Each pass is a weighted least-squares fit with weights 1 / sqrt(1 + (r/s)^2), the
    derivative of the soft-L1 loss; a fixed point is a stationary point of that loss. Returns
    coefficients (c0, c1, c2).
    """
    scale = SOFT_L1_SCALE * float(np.median(y))
    coefficients = np.polyfit(x, y, 2)
    for _ in range(IRLS_MAX_ITERATIONS):
        residual = np.polyval(coefficients, x) - y
        weights = 1.0 / np.sqrt(1.0 + (residual / scale) ** 2)
        updated = np.polyfit(x, y, 2, w=np.sqrt(weights))
        change = np.max(np.abs(updated - coefficients))
        coefficients = updated
        if change <= IRLS_TOLERANCE * max(1.0, np.max(np.abs(coefficients))):
            break
    return coefficients[::-1]


def window_around_minimum(params, losses, window: float) -> np.ndarray:
    """Mask of the runs whose N is within a factor ``window`` of the lowest-loss run's N, widened to
    that run's nearest distinct sizes (both sides where there are any) until 3 sizes are in."""
    if not window > 1:
        raise ValueError(f"the window is a factor in N and must exceed 1, got {window!r}")
    params = np.asarray(params, dtype=float)
    best = float(params[int(np.argmin(losses))])
    mask = np.abs(np.log(params / best)) <= math.log(window) + 1e-12
    sizes = np.unique(params)
    i = int(np.searchsorted(sizes, best))
    low, high = i, i
    while np.unique(params[mask]).size < min(MIN_SIZES_PER_BUDGET, sizes.size):
        # Widen by the nearer (in log N) of the next size below and the next size above.
        below = math.log(best / sizes[low - 1]) if low > 0 else math.inf
        above = math.log(sizes[high + 1] / best) if high + 1 < sizes.size else math.inf
        if below <= above:
            low -= 1
        else:
            high += 1
        mask |= (params >= sizes[low]) & (params <= sizes[high])
    return mask


def robust_first_fit(x, losses) -> tuple[np.ndarray, np.ndarray, float]:
    """Step 2's first fit (module docstring): the soft-L1 parabola through (x, loss), its residuals,
    and the robust standard deviation the outlier rule uses without measured seed noise
    (1.4826 x the median |residual|, floored at OUTLIER_FLOOR of the median loss)."""
    x, losses = np.asarray(x, dtype=float), np.asarray(losses, dtype=float)
    robust = _soft_l1_parabola(x, losses)
    residual = robust[0] + robust[1] * x + robust[2] * x * x - losses
    return robust, residual, max(1.4826 * float(np.median(np.abs(residual))), OUTLIER_FLOOR * float(np.median(losses)))


def fit_isoflop_profile(budget: float, params, losses, window: float | None = None,
                        outlier_sd: float | None = None) -> IsoFlopProfile:
    """Robust parabola in ln N through one budget's final losses (module docstring, steps 1-3),
    through the runs within a factor ``window`` in N of the lowest loss when it is given, outliers
    judged against ``outlier_sd`` (a measured seed standard deviation) when it is given."""
    if outlier_sd is not None and not outlier_sd > 0:
        raise ValueError(f"outlier_sd must be a positive standard deviation, got {outlier_sd!r}")
    params = np.asarray(params, dtype=float)
    losses = np.asarray(losses, dtype=float)
    if window is not None and np.unique(params).size >= MIN_SIZES_PER_BUDGET:
        in_window = window_around_minimum(params, losses, window)
        inner = fit_isoflop_profile(budget, params[in_window], losses[in_window], outlier_sd=outlier_sd)
        outliers = np.zeros(params.size, dtype=bool)
        outliers[in_window] = inner.outliers
        left_out = np.abs(inner.loss_at(params[~in_window]) - losses[~in_window])
        return replace(inner, n_runs=params.size, outliers=tuple(bool(o) for o in outliers),
                       in_window=tuple(bool(w) for w in in_window),
                       worst_left_out=float(left_out.max()) if left_out.size else math.nan)
    if np.unique(params).size < MIN_SIZES_PER_BUDGET:
        return IsoFlopProfile(budget, params.size, (False,) * params.size, (math.nan,) * 3, math.nan, math.nan, False,
                              f"fewer than {MIN_SIZES_PER_BUDGET} distinct model sizes")
    # Centre x for conditioning; coefficients are converted back to x = ln N below.
    centre = float(np.mean(np.log(params)))
    x = np.log(params) - centre
    robust, residual, robust_sd = robust_first_fit(x, losses)
    sigma = outlier_sd if outlier_sd is not None else robust_sd
    inlier = np.abs(residual) <= OUTLIER_SIGMAS * sigma
    if np.unique(params[inlier]).size >= MIN_SIZES_PER_BUDGET:
        c0, c1, c2 = np.polyfit(x[inlier], losses[inlier], 2)[::-1]
    else:
        c0, c1, c2 = robust
        inlier = np.ones_like(inlier)
    outliers = tuple(bool(out) for out in ~inlier)
    # Back to x = ln N: c0 + c1 (X - m) + c2 (X - m)^2.
    coefficients = (c0 - c1 * centre + c2 * centre**2, c1 - 2 * c2 * centre, c2)
    fit_residual = c0 + c1 * x[inlier] + c2 * x[inlier] ** 2 - losses[inlier]
    quality = {"in_window": (True,) * params.size, "lack_of_fit": float(np.sqrt(np.mean(fit_residual ** 2)))}
    if not c2 > 0:
        return IsoFlopProfile(budget, params.size, outliers, coefficients, math.nan, math.nan, False,
                              "parabola opens downwards (no minimum)", **quality)
    x_min = -c1 / (2 * c2)
    loss_min = c0 - c1 * c1 / (4 * c2)
    in_range = bool(x[inlier].min() <= x_min <= x[inlier].max())
    reason = "" if in_range else "minimum outside the sampled sizes"
    with np.errstate(over="ignore"):  # a nearly flat parabola's minimum may lie beyond float range: inf
        n_opt = float(np.exp(x_min + centre))
    return IsoFlopProfile(budget, params.size, outliers, coefficients, n_opt, float(loss_min), in_range, reason,
                          **quality)


def fit_approach2(runs: Runs, window: float | None = None, outlier_sd: dict[float, float] | None = None) -> Approach2Fit:
    """IsoFLOP profiles per budget (``runs.budgets()``), each through the runs within a factor
    ``window`` in N of its lowest loss if given, with outliers judged against ``outlier_sd[budget]``
    (measured seed noise) for the budgets it names, then power laws for N_opt and D_opt.

    Raises ValueError unless at least 2 budgets have >= 3 distinct sizes among non-diverged
    runs, and FitFailure when fewer than 2 profiles have an in-range minimum.
    """
    usable = runs.without_diverged()
    if len(usable) == 0:
        raise ValueError("Approach 2 needs at least 2 IsoFLOP budgets with >= 3 model sizes each; "
                         "got no non-diverged runs")
    budgets = usable.budgets()
    members = {label: usable.subset(np.flatnonzero(budgets == label)) for label in np.unique(budgets)}
    sizes = {label: np.unique(group.params).size for label, group in members.items()}
    enough = [label for label, count in sizes.items() if count >= MIN_SIZES_PER_BUDGET]
    if len(enough) < MIN_BUDGETS:
        found = ", ".join(f"{label:.3g} FLOPs: {count} sizes" for label, count in sizes.items())
        raise ValueError(f"Approach 2 needs at least {MIN_BUDGETS} IsoFLOP budgets with "
                         f">= {MIN_SIZES_PER_BUDGET} model sizes each; got {found}")
    outlier_sd = outlier_sd or {}
    profiles = tuple(replace(fit_isoflop_profile(label, group.params, group.loss, window, outlier_sd.get(float(label))),
                             runs=group) for label, group in members.items())
    good = [profile for profile in profiles if profile.usable]
    if len(good) < MIN_BUDGETS:
        detail = "; ".join(f"{p.budget:.3g} FLOPs: {p.reason or 'ok'}" for p in profiles)
        raise FitFailure("Approach 2: fewer than 2 budgets with an in-range minimum", detail)
    flops = np.array([profile.budget for profile in good])
    n_opt = np.array([profile.n_opt for profile in good])
    return Approach2Fit(n_law=fit_power_law(flops, n_opt), d_law=fit_power_law(flops, flops / (6.0 * n_opt)),
                        profiles=profiles)
