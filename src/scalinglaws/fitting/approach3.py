"""Approach 3: fit the parametric loss L(N, D) = E + A / N^alpha + B / D^beta (Hoffmann Eq. 2).

Hoffmann et al. (2022, Section 3.3 and Appendix D.2) minimise over (a, b, e, alpha, beta)

    sum_i Huber_delta( LSE(a - alpha log N_i, b - beta log D_i, e) - log L_i ),   delta = 1e-3,

with L-BFGS from a grid of 4,500 starts (:data:`constants.APPROACH3_GRID`), and report
A, B, E = exp(a, b, e). Besiroglu et al. (2024) found that Hoffmann averaged the Huber loss
instead of summing it: the objective is then ~240x smaller, scipy's stopping tests fire long
before the optimum, and the fit stops early near a = 0.44. Both reductions are available
here (``reduction="sum"`` is the correct one). Where an early stop lands depends on the
optimiser's path (the gradient, exact or finite-difference, included); chapter 6 measures it on
Besiroglu et al.'s points.

All starts are optimised together by :func:`lbfgs.minimize_batched` with the analytic
gradient below; :func:`fit_approach3_scipy` does the same with a plain loop of
``scipy.optimize.minimize(method="L-BFGS-B")`` (the benchmark's baseline and a cross-check).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize

from scalinglaws.data.runs import Runs
from scalinglaws.fitting.lbfgs import (FTOL_REACHED, GTOL_REACHED, LINE_SEARCH_FAILED, MAXFUN_REACHED,
                                       MAXITER_REACHED, STATUS_NAMES, BatchedResult, minimize_batched)
from scalinglaws.fitting.powerlaw import FitFailure
from scalinglaws.papers import constants
from scalinglaws.papers.constants import ParametricFit
from scalinglaws.papers.laws import allocation_exponents

#: Parameter order of every array in this module: the LSE form of Hoffmann Eq. 2 / D.2.
PARAMETER_NAMES = ("a", "b", "e", "alpha", "beta")
REDUCTIONS = ("sum", "mean")


def parameter_vector(fit: ParametricFit) -> np.ndarray:
    """The fit's point in the objective's coordinates: (a, b, e, alpha, beta) = (log A, log B, log E,
    alpha, beta) (Hoffmann Appendix D.2). :func:`coefficients` undoes it."""
    return np.array([np.log(fit.A), np.log(fit.B), np.log(fit.E), fit.alpha, fit.beta])


def coefficients(x: np.ndarray) -> dict:
    """Eq. 2's coefficients E, A, B, alpha, beta of parameter vectors ``x`` (5,) or (k, 5), the
    inverse of :func:`parameter_vector`: A, B, E = exp(a, b, e)."""
    a, b, e, alpha, beta = np.moveaxis(np.asarray(x, dtype=float), -1, 0)
    return {"E": np.exp(e), "A": np.exp(a), "B": np.exp(b), "alpha": alpha, "beta": beta}


def grid_starts(grid: dict = constants.APPROACH3_GRID) -> np.ndarray:
    """The 4,500 starts of Hoffmann Appendix D.2 as rows (a, b, e, alpha, beta)."""
    return np.array(list(itertools.product(*(grid[name] for name in PARAMETER_NAMES))), dtype=float)


@dataclass(frozen=True, eq=False)
class HuberProblem:
    """The Approach 3 objective on (N, D, L) points, for one or many starts at once.

    ``weights`` (points,) or (starts, points) multiplies each point's Huber term: a
    bootstrap resample is a vector of multiplicities. With ``reduction="mean"`` the weighted
    sum is divided by the total weight (the number of points when unweighted).
    """

    log_n: np.ndarray
    log_d: np.ndarray
    log_loss: np.ndarray
    reduction: str = "sum"
    delta: float = constants.HUBER_DELTA
    weights: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self):
        if self.reduction not in REDUCTIONS:
            raise ValueError(f"reduction must be one of {REDUCTIONS}, got {self.reduction!r}")

    def _row_weights(self, rows) -> np.ndarray:
        """Per-point weights, (points,) shared by all rows or (rows, points); sum to 1 for "mean"."""
        if self.weights is None:
            weights = np.ones(self.log_n.size)
        elif self.weights.ndim == 1:
            weights = self.weights
        else:
            weights = self.weights[rows]
        if self.reduction == "mean":
            weights = weights / weights.sum(axis=-1, keepdims=True)
        return weights

    def __call__(self, x: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Objective (k,) and gradient (k, 5) at parameters x (k, 5) for starts ``rows``.

        The cost is a few dozen passes over (k, points) arrays, so they are updated in place.
        """
        a, b, e, alpha, beta = (x[:, i, None] for i in range(5))
        with np.errstate(over="ignore", invalid="ignore"):
            # LSE(a - alpha log N, b - beta log D, e), shifted by the largest term so that no
            # exp overflows: the objective stays finite wherever L-BFGS-B's line search goes.
            exp_n = a - alpha * self.log_n
            exp_d = b - beta * self.log_d
            top = np.maximum(exp_n, exp_d)
            np.maximum(top, e, out=top)
            exp_n -= top
            np.exp(exp_n, out=exp_n)  # (A / N^alpha) / exp(top)
            exp_d -= top
            np.exp(exp_d, out=exp_d)  # (B / D^beta) / exp(top)
            exp_e = np.exp(e - top)  # E / exp(top)
            total = exp_n + exp_d
            total += exp_e
            residual = np.log(total)
            residual += top
            residual -= self.log_loss
            # Huber: with c = clip(r, -delta, delta), 0.5 r^2 inside and delta (|r| - delta/2)
            # outside are both c (r - c/2); its derivative is c.
            clipped = np.clip(residual, -self.delta, self.delta)
            residual -= 0.5 * clipped
            residual *= clipped
            # Row sums with np.sum (pairwise, row by row) rather than BLAS products, whose
            # rounding depends on how many rows come along: a start must follow the same path
            # whether it is optimised alone or with 4,499 others.
            weights = self._row_weights(rows)
            residual *= weights
            value = residual.sum(axis=1)
            # d LSE / d term = term / total (the softmax weights).
            clipped /= total
            clipped *= weights
            exp_n *= clipped
            exp_d *= clipped
            exp_e *= clipped
            gradient = np.stack([
                exp_n.sum(axis=1),
                exp_d.sum(axis=1),
                exp_e.sum(axis=1),
                -(exp_n * self.log_n).sum(axis=1),
                -(exp_d * self.log_d).sum(axis=1),
            ], axis=1)
        return value, gradient


def make_problem(params, tokens, loss, reduction: str = "sum", delta: float = constants.HUBER_DELTA,
                 weights=None) -> HuberProblem:
    """Validate (N, D, L) points and build the objective. Needs at least 5 points (5 parameters)."""
    arrays = [np.asarray(values, dtype=float) for values in (params, tokens, loss)]
    if any(array.ndim != 1 for array in arrays) or len({array.size for array in arrays}) != 1:
        raise ValueError("params, tokens and loss must be 1-D arrays of the same length")
    for name, array in zip(("params N", "tokens D", "loss L"), arrays):
        if not np.all(np.isfinite(array)) or np.any(array <= 0):
            raise ValueError(f"Approach 3: {name} must be positive and finite for every point")
    if arrays[0].size < len(PARAMETER_NAMES):
        raise ValueError(f"Approach 3 fits {len(PARAMETER_NAMES)} parameters (a, b, e, alpha, beta): it "
                         f"needs at least {len(PARAMETER_NAMES)} points, got {arrays[0].size}")
    log_n, log_d, log_loss = (np.log(array) for array in arrays)
    return HuberProblem(log_n, log_d, log_loss, reduction=reduction, delta=delta,
                        weights=None if weights is None else np.asarray(weights, dtype=float))


@dataclass(frozen=True, eq=False)
class Approach3Fit(ParametricFit):
    """Best of many L-BFGS starts: a ParametricFit (so laws.optimal_allocation works) plus diagnostics."""

    objective: float
    reduction: str
    converged: bool
    n_starts: int
    n_converged: int
    status_counts: dict
    starts: np.ndarray = field(repr=False)
    local_optima: np.ndarray = field(repr=False)
    local_objectives: np.ndarray = field(repr=False)

    @property
    def a(self) -> float:
        """N_opt ~ C^a (Hoffmann Eq. 4, :func:`scalinglaws.papers.laws.allocation_exponents`)."""
        return allocation_exponents(self)[0]

    @property
    def b(self) -> float:
        """D_opt ~ C^b (Hoffmann Eq. 4, :func:`scalinglaws.papers.laws.allocation_exponents`)."""
        return allocation_exponents(self)[1]


def best_of(result: BatchedResult, starts: np.ndarray, reduction: str, name: str = "approach 3") -> Approach3Fit:
    """The start with the lowest final objective, with convergence counts over all starts."""
    objectives = np.where(np.isfinite(result.fun), result.fun, np.inf)
    if not np.any(np.isfinite(objectives)):
        raise FitFailure("Approach 3: no start reached a finite objective")
    best = int(np.argmin(objectives))
    return Approach3Fit(
        name=name, **{symbol: float(value) for symbol, value in coefficients(result.x[best]).items()},
        objective=float(objectives[best]), reduction=reduction,
        converged=bool(result.converged[best]), n_starts=len(objectives),
        n_converged=int(result.converged.sum()), status_counts=result.status_counts(),
        starts=starts, local_optima=result.x, local_objectives=objectives,
    )


def objective_at(fit: ParametricFit, params, tokens, loss, reduction: str = "sum") -> float:
    """The Approach 3 objective (Appendix D.2) evaluated at ``fit`` on (N, D, L) points.

    The Huber loss (delta = 1e-3) of log L_predicted - log L_observed over the points,
    summed (``reduction="sum"``) or averaged (``"mean"``). Comparing a fit's value with
    another's on the same points says which one the objective prefers.
    """
    problem = make_problem(params, tokens, loss, reduction=reduction)
    value, _ = problem(parameter_vector(fit)[None, :], np.zeros(1, dtype=int))
    return float(value[0])


def _points(runs: Runs):
    usable = runs.without_diverged()
    return usable.params, usable.tokens, usable.loss


def fit_approach3_arrays(params, tokens, loss, reduction: str = "sum", starts=None,
                         delta: float = constants.HUBER_DELTA) -> Approach3Fit:
    """Approach 3 on (N, D, L) arrays, all starts in one batched L-BFGS (default: the 4,500-start grid)."""
    problem = make_problem(params, tokens, loss, reduction=reduction, delta=delta)
    starts = grid_starts() if starts is None else np.atleast_2d(np.asarray(starts, dtype=float))
    return best_of(minimize_batched(problem, starts), starts, reduction)


def fit_approach3(runs: Runs, reduction: str = "sum", starts=None,
                  delta: float = constants.HUBER_DELTA) -> Approach3Fit:
    """Approach 3 on the final losses of all non-diverged runs (Hoffmann Section 3.3)."""
    return fit_approach3_arrays(*_points(runs), reduction=reduction, starts=starts, delta=delta)


def _scipy_status(outcome) -> int:
    """scipy's L-BFGS-B outcome in this module's status codes (its status 0 covers both tests)."""
    message = str(outcome.message)
    if outcome.status == 0:
        return GTOL_REACHED if "PGTOL" in message else FTOL_REACHED
    if "ITERATIONS" in message:
        return MAXITER_REACHED
    return MAXFUN_REACHED if "EVALUATIONS" in message else LINE_SEARCH_FAILED


def fit_approach3_scipy(params, tokens, loss, reduction: str = "sum", starts=None,
                        delta: float = constants.HUBER_DELTA) -> Approach3Fit:
    """The same fit as a plain loop of scipy.optimize.minimize(method="L-BFGS-B"), one start at a time."""
    problem = make_problem(params, tokens, loss, reduction=reduction, delta=delta)
    starts = grid_starts() if starts is None else np.atleast_2d(np.asarray(starts, dtype=float))
    one_row = np.zeros(1, dtype=int)

    def objective(x):
        value, gradient = problem(x[None, :], one_row)
        return float(value[0]), gradient[0]

    finals, values, status, iterations, evaluations, gradients = [], [], [], [], [], []
    for start in starts:
        outcome = minimize(objective, start, jac=True, method="L-BFGS-B")
        finals.append(outcome.x)
        values.append(outcome.fun)
        gradients.append(outcome.jac)
        status.append(_scipy_status(outcome))
        iterations.append(outcome.nit)
        evaluations.append(outcome.nfev)
    result = BatchedResult(x=np.array(finals), fun=np.array(values, dtype=float), grad=np.array(gradients),
                           status=np.array(status), n_iterations=np.array(iterations),
                           n_evaluations=np.array(evaluations))
    return best_of(result, starts, reduction, name="approach 3 (scipy loop)")


__all__ = ["PARAMETER_NAMES", "REDUCTIONS", "STATUS_NAMES", "Approach3Fit", "HuberProblem", "best_of", "coefficients",
           "fit_approach3", "fit_approach3_arrays", "fit_approach3_scipy", "grid_starts", "make_problem", "objective_at",
           "parameter_vector"]
