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
- the first iteration tries a step of length 1 / ||d||, every later one (restarts included)
  starts at 1 (L-BFGS-B);
- the More-Thuente line search of L-BFGS-B (MINPACK-2 ``dcsrch``/``dcstep``, ported case by
  case and vectorised) for the strong Wolfe conditions with sufficient decrease 1e-3, curvature
  0.9 and interval tolerance 0.1, at most 20 evaluations. If it fails, the memory is dropped
  and the start retried along the steepest descent; a second failure stops the start
  (L-BFGS-B's "ABNORMAL_TERMINATION_IN_LNSRCH");
- stop when max |g_i| <= gtol = 1e-5 (``pgtol``), or when the relative reduction
  (f_k - f_{k+1}) / max(|f_k|, |f_{k+1}|, 1) <= ftol = 2.22e-9 (``factr * eps``), or after
  ``maxiter`` = 15,000 iterations or ``maxfun`` = 15,000 evaluations. ``gtol`` and ``ftol``
  are parameters: the bootstrap's refits need tighter ones (``bootstrap.REFIT_GTOL``).
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
#: Constants of L-BFGS-B's line search (dcsrch called with ftol=1e-3, gtol=0.9, xtol=0.1,
#: stpmax=1e10 without bounds; extrapolation by at most 4x; at most 20 evaluations).
SUFFICIENT_DECREASE = 1e-3
CURVATURE = 0.9
STEP_TOLERANCE = 0.1
STEP_MAX = 1e10
EXTRAPOLATION = 4.0
MAX_LINE_SEARCH_EVALUATIONS = 20

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


def _cubic_minimiser(st_a, f_a, d_a, st_b, f_b, d_b):
    """theta and its scale s for the cubic through two (step, value, slope) points, as in dcstep."""
    theta = 3.0 * (f_a - f_b) / (st_b - st_a) + d_a + d_b
    scale = np.maximum(np.maximum(np.abs(theta), np.abs(d_a)), np.abs(d_b))
    return theta, scale


def _dcstep(stx, fx, dx, sty, fy, dy, stp, fp, dp, brackt, stpmin, stpmax):
    """MINPACK-2 dcstep (More & Thuente 1994), vectorised: the next trial step and the new interval.

    Returns (stx, fx, dx, sty, fy, dy, stp, brackt). All four cases are computed for every
    start and the right one is picked per start.
    """
    sgnd = dp * np.sign(dx)
    # Cases 1-3 share the cubic through (stx, fx, dx) and (stp, fp, dp).
    theta, s = _cubic_minimiser(stx, fx, dx, stp, fp, dp)
    radicand = (theta / s) ** 2 - (dx / s) * (dp / s)
    # Case 1: higher function value; the minimum is bracketed.
    gamma = s * np.sqrt(radicand) * np.where(stp < stx, -1.0, 1.0)
    p, q = (gamma - dx) + theta, ((gamma - dx) + gamma) + dp
    stpc = stx + p / q * (stp - stx)
    stpq = stx + ((dx / ((fx - fp) / (stp - stx) + dx)) / 2.0) * (stp - stx)
    case1 = np.where(np.abs(stpc - stx) < np.abs(stpq - stx), stpc, stpc + (stpq - stpc) / 2.0)
    # Case 2: lower value, derivatives of opposite sign; bracketed.
    gamma = s * np.sqrt(radicand) * np.where(stp > stx, -1.0, 1.0)
    p, q = (gamma - dp) + theta, ((gamma - dp) + gamma) + dx
    stpc = stp + p / q * (stx - stp)
    stpq = stp + (dp / (dp - dx)) * (stx - stp)
    case2 = np.where(np.abs(stpc - stp) > np.abs(stpq - stp), stpc, stpq)
    # Case 3: lower value, same sign, derivative decreasing in magnitude.
    gamma = s * np.sqrt(np.maximum(0.0, radicand)) * np.where(stp > stx, -1.0, 1.0)
    p, q = (gamma - dp) + theta, (gamma + (dx - dp)) + gamma
    r = p / q
    stpc = np.where((r < 0) & (gamma != 0), stp + r * (stx - stp), np.where(stp > stx, stpmax, stpmin))
    stpq = stp + (dp / (dp - dx)) * (stx - stp)
    inside = np.where(np.abs(stpc - stp) < np.abs(stpq - stp), stpc, stpq)
    inside = np.where(stp > stx, np.minimum(stp + 0.66 * (sty - stp), inside),
                      np.maximum(stp + 0.66 * (sty - stp), inside))
    outside = np.clip(np.where(np.abs(stpc - stp) > np.abs(stpq - stp), stpc, stpq), stpmin, stpmax)
    case3 = np.where(brackt, inside, outside)
    # Case 4: lower value, same sign, derivative not decreasing: cubic with (sty, fy, dy).
    theta4, s4 = _cubic_minimiser(stp, fp, dp, sty, fy, dy)
    gamma = s4 * np.sqrt((theta4 / s4) ** 2 - (dy / s4) * (dp / s4)) * np.where(stp > sty, -1.0, 1.0)
    p, q = (gamma - dp) + theta4, ((gamma - dp) + gamma) + dy
    case4 = np.where(brackt, stp + p / q * (sty - stp), np.where(stp > stx, stpmax, stpmin))

    higher = fp > fx
    opposite = ~higher & (sgnd < 0)
    shrinking = ~higher & ~opposite & (np.abs(dp) < np.abs(dx))
    new_stp = np.where(higher, case1, np.where(opposite, case2, np.where(shrinking, case3, case4)))
    brackt = brackt | higher | opposite
    # The new interval: (stx, sty) keeps the minimum between them.
    new_sty = np.where(higher, stp, np.where(opposite, stx, sty))
    new_fy = np.where(higher, fp, np.where(opposite, fx, fy))
    new_dy = np.where(higher, dp, np.where(opposite, dx, dy))
    new_stx = np.where(higher, stx, stp)
    new_fx = np.where(higher, fx, fp)
    new_dx = np.where(higher, dx, dp)
    return new_stx, new_fx, new_dx, new_sty, new_fy, new_dy, new_stp, brackt


def _line_search(fun_and_grad, rows, x0, f0, direction, dg0, step):
    """More-Thuente line search (MINPACK-2 dcsrch, as in L-BFGS-B) for every start in ``rows``.

    Returns (ok, x, f, g, n_evaluations); rows with ok False keep x0. As in L-BFGS-B, a
    search that ends with one of dcsrch's warnings (interval below xtol, rounding errors)
    accepts the last point tried.
    """
    k = len(rows)
    finit, ginit = f0.copy(), dg0.copy()
    gtest = SUFFICIENT_DECREASE * ginit
    stp = step.astype(float).copy()
    stx, fx, gx = np.zeros(k), finit.copy(), ginit.copy()
    sty, fy, gy = np.zeros(k), finit.copy(), ginit.copy()
    stmin, stmax = np.zeros(k), stp + EXTRAPOLATION * stp
    width = np.full(k, STEP_MAX)
    width1 = 2.0 * width
    brackt = np.zeros(k, dtype=bool)
    stage_one = np.ones(k, dtype=bool)
    searching = np.ones(k, dtype=bool)
    ok = np.zeros(k, dtype=bool)
    x_new, f_new, g_new = x0.copy(), f0.copy(), np.zeros_like(x0)
    evaluations = np.zeros(k, dtype=int)
    for _ in range(MAX_LINE_SEARCH_EVALUATIONS):
        active = np.flatnonzero(searching)
        if active.size == 0:
            break
        t = stp[active]
        x_t = x0[active] + t[:, None] * direction[active]
        f_t, g_t = fun_and_grad(x_t, rows[active])
        evaluations[active] += 1
        dg_t = np.einsum("kp,kp->k", g_t, direction[active])
        finite = np.isfinite(f_t) & np.isfinite(dg_t)

        ftest = finit[active] + t * gtest[active]
        stage_one[active] &= ~((f_t <= ftest) & (dg_t >= 0))
        br, lo, hi = brackt[active], stmin[active], stmax[active]
        warning = (br & ((t <= lo) | (t >= hi))) | (br & (hi - lo <= STEP_TOLERANCE * hi))
        converged = (f_t <= ftest) & (np.abs(dg_t) <= CURVATURE * -ginit[active])
        accept = finite & (warning | converged)
        done = active[accept]
        ok[done], searching[done] = True, False
        x_new[done], f_new[done], g_new[done] = x_t[accept], f_t[accept], g_t[accept]

        # Not finite: halve the step towards the best point so far and never go beyond it again.
        bad = active[~finite]
        stmax[bad] = stp[bad]
        stp[bad] = stx[bad] + 0.5 * (stp[bad] - stx[bad])

        go = active[finite & ~accept]
        if go.size == 0:
            continue
        sel = finite & ~accept
        f_go, g_go, t_go, gt = f_t[sel], dg_t[sel], t[sel], gtest[go]
        # Stage 1 uses the modified function psi(t) = f(t) - f(0) - ftol t f'(0) (dcsrch).
        modified = stage_one[go] & (f_go <= fx[go]) & (f_go > ftest[sel])
        shift_f = np.where(modified, 1.0, 0.0)
        shift_g = np.where(modified, gt, 0.0)
        with np.errstate(all="ignore"):
            out = _dcstep(stx[go], fx[go] - shift_f * stx[go] * gt, gx[go] - shift_g,
                          sty[go], fy[go] - shift_f * sty[go] * gt, gy[go] - shift_g,
                          t_go, f_go - shift_f * t_go * gt, g_go - shift_g,
                          brackt[go], stmin[go], stmax[go])
        n_stx, n_fx, n_gx, n_sty, n_fy, n_gy, n_stp, n_brackt = out
        stx[go], sty[go] = n_stx, n_sty
        fx[go], fy[go] = n_fx + shift_f * n_stx * gt, n_fy + shift_f * n_sty * gt
        gx[go], gy[go] = n_gx + shift_g, n_gy + shift_g
        brackt[go] = n_brackt
        # Bisect when the bracket does not shrink fast enough.
        slow = n_brackt & (np.abs(n_sty - n_stx) >= 0.66 * width1[go])
        n_stp = np.where(slow, n_stx + 0.5 * (n_sty - n_stx), n_stp)
        width1[go] = np.where(n_brackt, width[go], width1[go])
        width[go] = np.where(n_brackt, np.abs(n_sty - n_stx), width[go])
        stmin[go] = np.where(n_brackt, np.minimum(n_stx, n_sty), n_stp + 1.1 * (n_stp - n_stx))
        stmax[go] = np.where(n_brackt, np.maximum(n_stx, n_sty), n_stp + EXTRAPOLATION * (n_stp - n_stx))
        n_stp = np.clip(n_stp, 0.0, STEP_MAX)
        stuck = n_brackt & ((n_stp <= stmin[go]) | (n_stp >= stmax[go])
                            | (stmax[go] - stmin[go] <= STEP_TOLERANCE * stmax[go]))
        stp[go] = np.where(stuck | ~np.isfinite(n_stp), n_stx, n_stp)
    return ok, x_new, f_new, g_new, evaluations


def minimize_batched(fun_and_grad: ObjectiveAndGradient, x0, *, ftol: float = FTOL, gtol: float = GTOL,
                     maxiter: int = MAXITER, maxfun: int = MAXFUN, memory: int = MEMORY) -> BatchedResult:
    """Minimise independent problems from the starts ``x0`` (shape starts x parameters).

    Stops a start by the tests ``max |g_i| <= gtol`` and relative reduction ``<= ftol``
    (scipy's L-BFGS-B defaults, see the module docstring), or after ``maxiter`` iterations or
    ``maxfun`` evaluations.
    """
    for name, value, scipy_default in (("gtol", gtol, GTOL), ("ftol", ftol, FTOL)):
        if not (np.isfinite(value) and value >= 0):
            raise ValueError(f"{name} must be a finite tolerance >= 0 (scipy's default is "
                             f"{scipy_default:g}), got {value!r}")
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
        step = np.where(n_iterations[rows] == 0, 1.0 / norm, 1.0)  # L-BFGS-B: 1/||d|| only at first

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
