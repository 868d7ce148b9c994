"""A batched L-BFGS: many independent starts minimised at once, each with its own memory.

Approach 3 (Hoffmann et al. 2022, Appendix D.2) runs L-BFGS from 4,500 starts. A Python loop
over ``scipy.optimize.minimize`` spends most of its time in the interpreter; here every start
is a row of one array, so each step costs a few NumPy operations on (starts x points) arrays.

The iteration is the unconstrained L-BFGS of Liu & Nocedal (1989), as in scipy's L-BFGS-B
when no bounds are given, and the stopping rules are scipy's defaults (``minimize(...,
method="L-BFGS-B")``), which matters: Besiroglu et al. (2024) trace Hoffmann's narrow and
biased Approach 3 fit to early stopping under these very rules.

- memory of 10 (s, y) pairs per start (scipy ``maxcor=10``); an update is skipped when
  y.s <= eps * (-g.s), as in L-BFGS-B;
- first step (empty memory) of length 1 / ||d||, later steps start at 1 (L-BFGS-B);
- line search for the strong Wolfe conditions with sufficient-decrease 1e-3 and curvature 0.9
  (the constants of scipy's ``dcsrch``), bracketing then cubic-interpolation zoom (Nocedal &
  Wright, Algorithms 3.5-3.6), at most 20 evaluations. If it fails, the memory is dropped and
  the start retried along the steepest descent; a second failure stops the start (L-BFGS-B's
  "ABNORMAL_TERMINATION_IN_LNSRCH");
- stop when max |g_i| <= gtol = 1e-5 (``pgtol``), or when the relative reduction
  (f_k - f_{k+1}) / max(|f_k|, |f_{k+1}|, 1) <= ftol = 2.22e-9 (``factr * eps``), or after
  ``maxiter`` = 15,000 iterations or ``maxfun`` = 15,000 evaluations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

#: scipy.optimize.minimize(method="L-BFGS-B") defaults.
FTOL = 2.220446049250313e-09
GTOL = 1e-5
MAXITER = 15_000
MAXFUN = 15_000
MEMORY = 10
#: Strong Wolfe constants of scipy's line search (dcsrch: ftol=1e-3, gtol=0.9).
SUFFICIENT_DECREASE = 1e-3
CURVATURE = 0.9
MAX_LINE_SEARCH_EVALUATIONS = 20
EXTRAPOLATION = 4.0

RUNNING, GTOL_REACHED, FTOL_REACHED, MAXITER_REACHED, MAXFUN_REACHED, LINE_SEARCH_FAILED, NONFINITE = range(7)
STATUS_NAMES = {
    RUNNING: "running",
    GTOL_REACHED: "converged: max |gradient| <= gtol",
    FTOL_REACHED: "converged: relative reduction of f <= ftol",
    MAXITER_REACHED: "stopped: maxiter",
    MAXFUN_REACHED: "stopped: maxfun",
    LINE_SEARCH_FAILED: "stopped: line search failed",
    NONFINITE: "stopped: objective not finite at the start",
}
CONVERGED = (GTOL_REACHED, FTOL_REACHED)

#: fun_and_grad(x, rows) -> (f, g): objective and gradient of starts ``rows`` at points x (k, p).
ObjectiveAndGradient = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True, eq=False)
class BatchedResult:
    """Per-start outcome of :func:`minimize_batched` (arrays over starts)."""

    x: np.ndarray
    fun: np.ndarray
    grad: np.ndarray
    status: np.ndarray
    n_iterations: np.ndarray
    n_evaluations: np.ndarray

    @property
    def converged(self) -> np.ndarray:
        return np.isin(self.status, CONVERGED)

    def status_counts(self) -> dict[str, int]:
        codes, counts = np.unique(self.status, return_counts=True)
        return {STATUS_NAMES[int(code)]: int(count) for code, count in zip(codes, counts)}


def _two_loop(grad, s_mem, y_mem, rho, count):
    """H_k g by the two-loop recursion; memory slots [m - count, m) hold the newest pairs last."""
    m = s_mem.shape[1]
    q = grad.copy()
    alphas = np.zeros(rho.shape)
    for j in reversed(range(m)):
        valid = j >= m - count
        alphas[:, j] = np.where(valid, rho[:, j] * np.einsum("kp,kp->k", s_mem[:, j], q), 0.0)
        q -= alphas[:, j, None] * y_mem[:, j]
    newest_yy = np.einsum("kp,kp->k", y_mem[:, -1], y_mem[:, -1])
    newest_sy = np.einsum("kp,kp->k", s_mem[:, -1], y_mem[:, -1])
    gamma = np.where(count > 0, newest_sy / np.where(count > 0, newest_yy, 1.0), 1.0)
    r = gamma[:, None] * q
    for j in range(m):
        valid = j >= m - count
        beta = rho[:, j] * np.einsum("kp,kp->k", y_mem[:, j], r)
        r += np.where(valid, alphas[:, j] - beta, 0.0)[:, None] * s_mem[:, j]
    return r


def _cubic_step(lo, f_lo, dg_lo, hi, f_hi, dg_hi):
    """Minimiser of the cubic through both ends (Nocedal & Wright Eq. 3.59), safeguarded."""
    with np.errstate(all="ignore"):
        d1 = dg_lo + dg_hi - 3.0 * (f_lo - f_hi) / (lo - hi)
        d2 = np.sign(hi - lo) * np.sqrt(d1 * d1 - dg_lo * dg_hi)
        t = hi - (hi - lo) * (dg_hi + d2 - d1) / (dg_hi - dg_lo + 2.0 * d2)
    width = np.abs(hi - lo)
    low, high = np.minimum(lo, hi) + 0.1 * width, np.maximum(lo, hi) - 0.1 * width
    bad = ~np.isfinite(t) | (t < low) | (t > high)
    return np.where(bad, 0.5 * (lo + hi), t)


def _line_search(fun_and_grad, rows, x0, f0, direction, dg0, step):
    """Strong-Wolfe line search for every start in ``rows`` at once.

    Returns (ok, x, f, g, n_evaluations); rows with ok False keep x0.
    """
    k = len(rows)
    lo, f_lo, dg_lo = np.zeros(k), f0.copy(), dg0.copy()
    hi, f_hi, dg_hi = np.full(k, np.inf), np.full(k, np.nan), np.full(k, np.nan)
    x_lo = x0.copy()
    g_lo = np.full_like(x0, np.nan)
    searching = np.ones(k, dtype=bool)
    ok = np.zeros(k, dtype=bool)
    x_new, f_new, g_new = x0.copy(), f0.copy(), np.zeros_like(x0)
    evaluations = np.zeros(k, dtype=int)
    for _ in range(MAX_LINE_SEARCH_EVALUATIONS):
        active = np.flatnonzero(searching)
        if active.size == 0:
            break
        t = step[active]
        x_t = x0[active] + t[:, None] * direction[active]
        f_t, g_t = fun_and_grad(x_t, rows[active])
        evaluations[active] += 1
        f_t = np.where(np.isfinite(f_t), f_t, np.inf)
        dg_t = np.einsum("kp,kp->k", g_t, direction[active])
        too_high = (f_t > f0[active] + SUFFICIENT_DECREASE * t * dg0[active]) | (f_t >= f_lo[active])
        flat_enough = np.abs(dg_t) <= -CURVATURE * dg0[active]
        accept = ~too_high & flat_enough
        done = active[accept]
        ok[done], searching[done] = True, False
        x_new[done], f_new[done], g_new[done] = x_t[accept], f_t[accept], g_t[accept]

        # Too high: the step becomes the upper end of the bracket.
        shrink = too_high
        idx = active[shrink]
        hi[idx], f_hi[idx], dg_hi[idx] = t[shrink], f_t[shrink], dg_t[shrink]
        # Lower, but too steep: the step becomes the lower end; if the slope has turned
        # (dg * (hi - lo) >= 0) the old lower end becomes the upper end.
        move = ~too_high & ~flat_enough
        idx = active[move]
        turned = dg_t[move] * (hi[idx] - lo[idx]) >= 0
        flip = idx[turned]
        hi[flip], f_hi[flip], dg_hi[flip] = lo[flip], f_lo[flip], dg_lo[flip]
        lo[idx], f_lo[idx], dg_lo[idx] = t[move], f_t[move], dg_t[move]
        x_lo[idx], g_lo[idx] = x_t[move], g_t[move]

        # Next trial: extrapolate while unbracketed, else interpolate inside the bracket.
        open_ = np.isinf(hi)
        step = np.where(open_, EXTRAPOLATION * np.maximum(lo, step),
                        _cubic_step(lo, f_lo, dg_lo, np.where(open_, 1.0, hi), f_hi, dg_hi))
    # Out of evaluations: settle for the lowest point with sufficient decrease, if any.
    fallback = searching & (lo > 0)
    ok[fallback] = True
    x_new[fallback], f_new[fallback], g_new[fallback] = x_lo[fallback], f_lo[fallback], g_lo[fallback]
    return ok, x_new, f_new, g_new, evaluations


def minimize_batched(fun_and_grad: ObjectiveAndGradient, x0, *, ftol: float = FTOL, gtol: float = GTOL,
                     maxiter: int = MAXITER, maxfun: int = MAXFUN, memory: int = MEMORY) -> BatchedResult:
    """Minimise independent problems from the starts ``x0`` (shape starts x parameters)."""
    x = np.array(x0, dtype=float)
    n_starts, n_params = x.shape
    all_rows = np.arange(n_starts)
    f, g = fun_and_grad(x, all_rows)
    f, g = np.array(f, dtype=float), np.array(g, dtype=float)
    n_evaluations = np.ones(n_starts, dtype=int)
    n_iterations = np.zeros(n_starts, dtype=int)
    status = np.full(n_starts, RUNNING)
    status[~np.isfinite(f) | ~np.all(np.isfinite(g), axis=1)] = NONFINITE
    status[(status == RUNNING) & (np.max(np.abs(g), axis=1) <= gtol)] = GTOL_REACHED
    s_mem = np.zeros((n_starts, memory, n_params))
    y_mem = np.zeros((n_starts, memory, n_params))
    rho = np.zeros((n_starts, memory))
    count = np.zeros(n_starts, dtype=int)
    eps = np.finfo(float).eps

    while True:
        rows = np.flatnonzero(status == RUNNING)
        if rows.size == 0:
            break
        direction = -_two_loop(g[rows], s_mem[rows], y_mem[rows], rho[rows], count[rows])
        dg0 = np.einsum("kp,kp->k", direction, g[rows])
        uphill = ~(dg0 < 0)  # memory gone bad: restart from steepest descent
        count[rows[uphill]] = 0
        direction[uphill] = -g[rows[uphill]]
        dg0[uphill] = -np.einsum("kp,kp->k", g[rows[uphill]], g[rows[uphill]])
        norm = np.linalg.norm(direction, axis=1)
        step = np.where(count[rows] == 0, 1.0 / norm, 1.0)

        ok, x_new, f_new, g_new, used = _line_search(fun_and_grad, rows, x[rows], f[rows], direction, dg0, step)
        n_evaluations[rows] += used

        failed = rows[~ok]
        had_memory = count[failed] > 0
        count[failed[had_memory]] = 0  # drop the memory and try steepest descent once more
        status[failed[~had_memory]] = LINE_SEARCH_FAILED

        moved = rows[ok]
        s = x_new[ok] - x[moved]
        y = g_new[ok] - g[moved]
        sy = np.einsum("kp,kp->k", s, y)
        keep = sy > eps * np.einsum("kp,kp->k", -g[moved], s)
        upd = moved[keep]
        s_mem[upd] = np.roll(s_mem[upd], -1, axis=1)
        y_mem[upd] = np.roll(y_mem[upd], -1, axis=1)
        rho[upd] = np.roll(rho[upd], -1, axis=1)
        s_mem[upd, -1], y_mem[upd, -1], rho[upd, -1] = s[keep], y[keep], 1.0 / sy[keep]
        count[upd] = np.minimum(count[upd] + 1, memory)

        f_old = f[moved]
        x[moved], f[moved], g[moved] = x_new[ok], f_new[ok], g_new[ok]
        n_iterations[moved] += 1
        small_gradient = np.max(np.abs(g[moved]), axis=1) <= gtol
        small_reduction = (f_old - f[moved]) <= ftol * np.maximum(np.maximum(np.abs(f_old), np.abs(f[moved])), 1.0)
        status[moved[small_gradient]] = GTOL_REACHED
        status[moved[~small_gradient & small_reduction]] = FTOL_REACHED
        running = moved[status[moved] == RUNNING]
        status[running[n_iterations[running] >= maxiter]] = MAXITER_REACHED
        running = moved[status[moved] == RUNNING]
        status[running[n_evaluations[running] >= maxfun]] = MAXFUN_REACHED
    return BatchedResult(x=x, fun=f, grad=g, status=status, n_iterations=n_iterations,
                         n_evaluations=n_evaluations)
