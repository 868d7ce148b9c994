"""Looking into an Approach 3 fit (chapter 12): residuals, fits with parameters held fixed, and
simulated sweeps that show how a sweep's design sets the spread of the allocation exponent.

Hoffmann et al. (2022, Section 3.3 and Appendix D.2) fit L(N, D) = E + A / N^alpha + B / D^beta
by a Huber loss on log losses, with L-BFGS from a grid of starts (:mod:`scalinglaws.fitting.approach3`).
This module asks four questions of such a fit:

- where does it miss? :func:`log_residuals`, :func:`plot_residuals_by_size` and
  :func:`points_inside_delta` (the Huber loss is quadratic only for residuals below
  delta = 1e-3; beyond, it grows like |r|); with several seeds per setting,
  :func:`cell_residuals` asks whether the law misses the seed means by more than the seed
  noise explains;
- what does a depend on? :func:`fit_fixed` refits with some of E, alpha, beta, or the
  allocation exponent a itself, held at given values (a profile of the objective over E or
  over a), with the same objective, optimiser and grid of starts;
- what would pin a down? :func:`simulate_fits` draws many sweeps of a given design from a
  known law with log-normal noise and refits each one, so the spread of a can be read off for
  designs that were never trained (more budgets, more sizes per budget);
- how sure is a? :func:`bootstrap_groups` redraws whole groups of points (the WSD branches
  of one training run share its trunk, and so their errors) rather than single points.

:func:`format_fit_columns` (that is, :func:`scalinglaws.papers.tables.format_interval_columns`) sets several fits
and their intervals beside the papers' fits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from scalinglaws.data.runs import Runs
from scalinglaws.fitting.approach3 import (PARAMETER_NAMES, Approach3Fit, HuberProblem, best_of,
                                           coefficients, grid_starts, make_problem, parameter_vector)
from scalinglaws.fitting.bootstrap import REFIT_FTOL, REFIT_GTOL, with_allocation_exponents
from scalinglaws.fitting.lbfgs import minimize_batched
from scalinglaws.papers import constants
from scalinglaws.papers.constants import ParametricFit
from scalinglaws.papers.laws import parametric_loss
from scalinglaws.papers.tables import format_interval_columns

#: Parameters that :func:`fit_fixed` can hold, by the name of the law (E, alpha, beta), and
#: their column in the fit's parameter vector (a, b, e, alpha, beta).
FIXABLE = {"E": PARAMETER_NAMES.index("e"), "alpha": PARAMETER_NAMES.index("alpha"),
           "beta": PARAMETER_NAMES.index("beta")}


def nats_to_bits(nats):
    """A loss in nats (per byte) in bits: divide by ln 2."""
    return np.asarray(nats, dtype=float) / math.log(2.0)


def log_residuals(fit: ParametricFit, runs: Runs) -> np.ndarray:
    """log L_i - log L_hat(N_i, D_i) of every run (positive: the run is worse than the law says).

    The residual that Hoffmann's objective scores, with the opposite sign (observed minus
    predicted reads more naturally in a plot). Diverged runs are included: pass
    ``runs.without_diverged()`` to see exactly the points a fit used.
    """
    return np.log(runs.loss) - np.log(parametric_loss(fit, runs.params, runs.tokens))


def _scientific(x, _position=None) -> str:
    """A tick label m x 10^e (mathtext) for x = m 10^e."""
    exponent = int(np.floor(np.log10(x) + 1e-9))
    return rf"${x / 10.0 ** exponent:g}\times10^{{{exponent}}}$"


def plot_residuals_by_size(fit: ParametricFit, runs: Runs, axes=None, groups=None):
    """The log residuals of :func:`log_residuals` against D, one panel per model size: where the
    law misses, and whether the misses drift with D (a wrong beta) or sit apart by size (a wrong
    alpha). Diverged runs are left out. Returns the axes (one per size, smallest N first).

    ``groups``, one label per run (a seed, say), draws each group in its own colour with its
    points joined in order of D, so that a group drifting on its own (one seed's training run,
    whose WSD branches share a trunk) stands out; a legend on the first panel names them.
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

    usable = ~runs.diverged
    if groups is not None:
        groups = np.asarray(groups)
        if groups.shape != (len(runs),):
            raise ValueError(f"need one group label per run ({len(runs)}), got shape {groups.shape}")
        groups = groups[usable]
    runs = runs.without_diverged()
    sizes = np.unique(runs.params)
    if sizes.size == 0:
        raise ValueError("plot_residuals_by_size needs non-diverged runs; got none")
    if axes is None:
        _, axes = plt.subplots(1, sizes.size, figsize=(2.4 * sizes.size, 2.6), sharey=True, squeeze=False)
        axes = axes[0]
    if len(axes) != sizes.size:
        raise ValueError(f"need one axis per model size ({sizes.size}), got {len(axes)}")
    residuals = log_residuals(fit, runs)
    labels = [None] if groups is None else list(np.unique(groups))
    for ax, size in zip(axes, sizes):
        ax.axhline(0.0, color="0.6", linewidth=0.8)
        for index, label in enumerate(labels):
            mine = runs.params == size
            if label is not None:
                mine &= groups == label
            order = np.argsort(runs.tokens[mine])
            tokens, values = runs.tokens[mine][order], residuals[mine][order]
            colour = f"C{index % 10}"
            if label is not None:
                ax.plot(tokens, values, "-", color=colour, linewidth=0.8)
            ax.scatter(tokens, values, s=12, color=colour, label=None if label is None else str(label))
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())  # the minor ticks' labels collide in narrow panels
        span = np.log10(runs.tokens[runs.params == size])
        if np.floor(span.max()) < np.ceil(span.min()):  # no power of 10 inside the panel's data: 2x, 5x
            ticks = [m * 10.0 ** e for e in range(int(np.floor(span.min())), int(np.ceil(span.max())) + 1)
                     for m in (1.0, 2.0, 5.0)]
            ax.xaxis.set_major_locator(FixedLocator([t for t in ticks if span.min() <= np.log10(t) <= span.max()]))
            ax.xaxis.set_major_formatter(FuncFormatter(_scientific))
        ax.set_title(f"N = {size:,.0f}", fontsize=9)
        ax.set_xlabel("tokens D")
    axes[0].set_ylabel("log L - log L_hat")
    if groups is not None:
        axes[0].legend(fontsize=7)
    return axes


@dataclass(frozen=True, eq=False)
class CellResiduals:
    """The log residuals of runs that share (N, D), a cell (the seeds of one setting), averaged.

    If the law were right and the seeds independent draws, each cell's mean residual would be
    noise of standard deviation sd / sqrt(count), so :attr:`rms_of_means` would be close to
    :attr:`expected_rms_of_means`; a law that misses the cells' means shows a larger value.
    """

    params: np.ndarray
    tokens: np.ndarray
    mean: np.ndarray  # mean log residual of the cell's runs
    sd: np.ndarray  # their sample standard deviation (NaN for a cell of one run)
    count: np.ndarray  # runs in the cell

    @property
    def rms_of_means(self) -> float:
        """Root mean square of the cells' mean residuals."""
        return float(np.sqrt(np.mean(self.mean ** 2)))

    @property
    def pooled_sd(self) -> float:
        """The within-cell standard deviation of log residuals (= of log losses), pooled over the
        cells with two or more runs, weighted by their degrees of freedom."""
        replicated = self.count >= 2
        if not np.any(replicated):
            return float("nan")
        dof = self.count[replicated] - 1
        return float(np.sqrt(np.sum(dof * self.sd[replicated] ** 2) / np.sum(dof)))

    @property
    def expected_rms_of_means(self) -> float:
        """What :attr:`rms_of_means` would be from the seed noise alone: pooled sd over sqrt(count),
        as a root mean square over the cells."""
        return float(self.pooled_sd * np.sqrt(np.mean(1.0 / self.count)))


def cell_residuals(fit: ParametricFit, runs: Runs) -> CellResiduals:
    """:func:`log_residuals` averaged over the runs of each (N, D) cell (diverged runs left out),
    cells ordered by N, then D."""
    runs = runs.without_diverged()
    if len(runs) == 0:
        raise ValueError("cell_residuals needs non-diverged runs; got none")
    residuals = log_residuals(fit, runs)
    cells, inverse = np.unique(np.column_stack([runs.params, runs.tokens]), axis=0, return_inverse=True)
    inverse = np.ravel(inverse)
    count = np.bincount(inverse, minlength=len(cells))
    mean = np.bincount(inverse, weights=residuals, minlength=len(cells)) / count
    squares = np.bincount(inverse, weights=(residuals - mean[inverse]) ** 2, minlength=len(cells))
    with np.errstate(invalid="ignore", divide="ignore"):
        sd = np.where(count >= 2, np.sqrt(squares / np.maximum(count - 1, 1)), np.nan)
    return CellResiduals(cells[:, 0], cells[:, 1], mean, sd, count)


#: Several refits of Eq. 2 side by side with their bootstrap intervals, beside the papers' fits.
format_fit_columns = format_interval_columns


def points_inside_delta(fit: ParametricFit, runs: Runs, delta: float = constants.HUBER_DELTA) -> int:
    """How many runs have |log residual| < delta: the only ones the Huber loss treats quadratically."""
    return int(np.sum(np.abs(log_residuals(fit, runs)) < delta))


@dataclass(frozen=True, eq=False)
class _Constrained:
    """The Huber objective in variables z, with x = z except that some columns are held (their
    gradient is zeroed) and, when ``ratio`` is set, beta = ratio * alpha (the beta column of z
    is then unused).

    L-BFGS builds every direction from gradients and from differences of iterates and of
    gradients; with zeros in a column from the start, every one of them keeps the zeros, so a
    held column never moves.
    """

    problem: HuberProblem
    held: tuple[int, ...]
    ratio: float | None = None

    def to_x(self, z: np.ndarray) -> np.ndarray:
        x = np.array(z, dtype=float)
        if self.ratio is not None:
            x[:, _BETA] = self.ratio * x[:, _ALPHA]
        return x

    def __call__(self, z, rows):
        value, gradient = self.problem(self.to_x(z), rows)
        if self.ratio is not None:
            gradient[:, _ALPHA] += self.ratio * gradient[:, _BETA]  # chain rule through beta
            gradient[:, _BETA] = 0.0
        gradient[:, list(self.held)] = 0.0
        return value, gradient


_ALPHA, _BETA = PARAMETER_NAMES.index("alpha"), PARAMETER_NAMES.index("beta")


def fit_fixed(runs: Runs, *, E: float | None = None, alpha: float | None = None, beta: float | None = None,
              a: float | None = None, reduction: str = "sum",
              delta: float = constants.HUBER_DELTA) -> Approach3Fit:
    """Approach 3 with some of E, alpha, beta, or the allocation exponent a = beta / (alpha + beta)
    (Hoffmann Eq. 4), held at given values; the other parameters are fitted.

    Same objective (Hoffmann Appendix D.2), optimiser and stopping rules as
    :func:`fitting.fit_approach3`, from Hoffmann's grid of starts with the held columns set
    (holding a, beta follows alpha: beta = alpha a / (1 - a)); duplicate starts are dropped.
    With nothing held this is ``fit_approach3``. ``a`` cannot be combined with alpha or beta.
    """
    if a is not None and (alpha is not None or beta is not None):
        raise ValueError("fit_fixed: hold a, or alpha and/or beta, not both (a fixes their ratio)")
    if a is not None and not 0 < a < 1:
        raise ValueError(f"fit_fixed: a = beta / (alpha + beta) must lie in (0, 1), got {a!r}")
    held = {name: value for name, value in (("E", E), ("alpha", alpha), ("beta", beta)) if value is not None}
    for name, value in held.items():
        if not np.isfinite(value) or (name == "E" and value <= 0):
            raise ValueError(f"fit_fixed: {name} must be finite{' and positive' if name == 'E' else ''}, "
                             f"got {value!r}")
    usable = runs.without_diverged()
    problem = make_problem(usable.params, usable.tokens, usable.loss, reduction=reduction, delta=delta)
    starts = grid_starts()
    for name, value in held.items():
        starts[:, FIXABLE[name]] = math.log(value) if name == "E" else value
    if a is not None:
        starts[:, _BETA] = 0.0
    starts = np.unique(starts, axis=0)
    objective = _Constrained(problem, tuple(FIXABLE[name] for name in held),
                             None if a is None else a / (1.0 - a))
    result = minimize_batched(objective, starts)
    result = replace(result, x=objective.to_x(result.x))
    label = ", ".join(f"{name} = {value:g}" for name, value in {**held, **({"a": a} if a else {})}.items())
    return best_of(result, objective.to_x(starts), reduction,
                   name=f"approach 3 ({label} held)" if label else "approach 3")


def group_resamples(groups, strata=None, n_resamples: int = 200, seed: int = 0) -> np.ndarray:
    """Multiplicities (n_resamples, n_points) of a bootstrap that redraws whole groups of points.

    ``groups`` labels each point (a training run whose WSD branches share a trunk, say); within
    each stratum (``strata``, one label per point, e.g. the model size; one stratum when None)
    every replicate draws as many groups as the stratum has, with replacement, and each point
    counts as often as its group was drawn. Stratifying by size keeps every size in every
    replicate, as the design had it.
    """
    groups = np.asarray(groups)
    strata = np.zeros(groups.shape, dtype=int) if strata is None else np.asarray(strata)
    if groups.ndim != 1 or strata.shape != groups.shape:
        raise ValueError("groups and strata need one label per point")
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be a positive number of bootstrap refits, got {n_resamples!r}")
    _, group_index = np.unique(groups, return_inverse=True)
    group_index = np.ravel(group_index)
    members = {}  # stratum -> its groups' indices
    for stratum, group in zip(strata, group_index):
        members.setdefault(stratum, set()).add(int(group))
    if sum(len(chosen) for chosen in members.values()) != group_index.max() + 1:
        raise ValueError("every group must lie inside one stratum")
    rng = np.random.default_rng(seed)
    counts = np.zeros((n_resamples, group_index.max() + 1))
    for row in counts:
        for stratum in sorted(members, key=str):
            choices = np.array(sorted(members[stratum]))
            np.add.at(row, rng.choice(choices, size=choices.size, replace=True), 1.0)
    return counts[:, group_index]


def bootstrap_groups(runs: Runs, groups, strata=None, n_resamples: int = 200, seed: int = 0,
                     full_fit: Approach3Fit | None = None):
    """Approach 3's bootstrap (:func:`fitting.bootstrap_approach3`: the same objective, starts,
    batched L-BFGS and tolerances) with whole groups of points redrawn (:func:`group_resamples`)
    instead of single points: when the points of a group share an error (an offset common to
    the branches of one training run), redrawing points as if independent understates the
    spread. With few groups per stratum (three seeds per size) the group bootstrap is itself
    rough, and can still be narrower than the true spread.

    ``groups`` and ``strata`` hold one label per run of ``runs``; diverged runs are left out.
    Returns a :class:`fitting.BootstrapResult`.
    """
    from scalinglaws.fitting.bootstrap import refit_approach3_weighted

    usable_mask = ~runs.diverged
    groups = np.asarray(groups)
    if groups.shape != (len(runs),) or (strata is not None and np.shape(strata) != (len(runs),)):
        raise ValueError(f"need one group (and stratum) label per run ({len(runs)})")
    counts = group_resamples(groups[usable_mask], None if strata is None else np.asarray(strata)[usable_mask],
                             n_resamples, seed)
    return refit_approach3_weighted(runs.without_diverged(), counts, f"{constants.approach(3).key} (groups resampled)",
                                    full_fit=full_fit or fit_fixed(runs.without_diverged()))


@dataclass(frozen=True, eq=False)
class _PerReplicateLoss:
    """The Huber objective where each replicate (a block of rows) has its own observed losses."""

    log_n: np.ndarray
    log_d: np.ndarray
    log_loss: np.ndarray  # (rows, points): each row's replicate's log losses
    delta: float

    def __call__(self, x, rows):
        return HuberProblem(self.log_n, self.log_d, self.log_loss[rows], delta=self.delta)(x, rows)


@dataclass(frozen=True, eq=False)
class SimulatedFits:
    """Refits of sweeps simulated from a known law, like :class:`fitting.BootstrapResult`."""

    law: ParametricFit
    n_points: int
    noise: float
    n_replicates: int
    samples: dict = field(repr=False)

    @property
    def n_succeeded(self) -> int:
        return int(self.samples["a"].size)

    def interval(self, name: str, percentiles=(10.0, 90.0)) -> tuple[float, float]:
        """Percentile interval of ``name`` ("E", "A", "B", "alpha", "beta", "a") over the refits."""
        low, high = np.percentile(self.samples[name], percentiles)
        return float(low), float(high)


def simulate_fits(law: ParametricFit, params, tokens, noise: float, n_replicates: int = 200, seed: int = 0,
                  grid_every: int = 150, delta: float = constants.HUBER_DELTA) -> SimulatedFits:
    """Draw ``n_replicates`` sweeps at the points (params, tokens) from ``law``, each loss times
    exp(noise z) with z standard normal, and fit Approach 3 to each.

    Every replicate starts from the true law and from every ``grid_every``-th start of
    Hoffmann's grid (30 starts by default), all replicates in one batched L-BFGS run to the
    bootstrap's tolerances (``bootstrap.REFIT_GTOL``, ``REFIT_FTOL``). Replicates whose best
    start did not converge are left out (``n_succeeded`` counts the rest).
    """
    params, tokens = (np.asarray(values, dtype=float).ravel() for values in (params, tokens))
    if params.size != tokens.size:
        raise ValueError("params and tokens must have the same length")
    if params.size < len(PARAMETER_NAMES):
        raise ValueError(f"a design needs at least {len(PARAMETER_NAMES)} points, got {params.size}")
    if n_replicates < 1 or not noise >= 0 or grid_every < 1:
        raise ValueError("n_replicates and grid_every must be >= 1 and noise >= 0")
    rng = np.random.default_rng(seed)
    clean = np.log(parametric_loss(law, params, tokens))
    log_loss = clean + noise * rng.standard_normal((n_replicates, params.size))
    starts = np.vstack([parameter_vector(law), grid_starts()[::grid_every]])
    per = starts.shape[0]
    objective = _PerReplicateLoss(np.log(params), np.log(tokens), np.repeat(log_loss, per, axis=0), delta)
    result = minimize_batched(objective, np.tile(starts, (n_replicates, 1)), gtol=REFIT_GTOL, ftol=REFIT_FTOL)
    values = np.where(np.isfinite(result.fun), result.fun, np.inf).reshape(n_replicates, per)
    best = np.argmin(values, axis=1) + per * np.arange(n_replicates)
    best = best[result.converged[best] & np.isfinite(result.fun[best])]
    samples = with_allocation_exponents(coefficients(result.x[best]))
    return SimulatedFits(law=law, n_points=params.size, noise=float(noise), n_replicates=n_replicates,
                         samples=samples)


__all__ = ["FIXABLE", "CellResiduals", "SimulatedFits", "bootstrap_groups", "cell_residuals", "fit_fixed",
           "format_fit_columns", "group_resamples", "log_residuals", "nats_to_bits", "plot_residuals_by_size",
           "points_inside_delta", "simulate_fits"]
