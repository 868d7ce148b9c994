"""What a grid of finished runs does to Approach 1's exponent: fits of synthetic losses from a known law.

Approach 1 (Hoffmann et al. 2022, Section 3.1) reads N_opt(C) off the envelope of the runs and
fits a line through the staircase of sizes that win. With few sizes the staircase has few steps,
and where its steps fall depends on where the true optimum sits between the sizes, so even
noiseless losses need not give back the true a. This module measures that on a sweep's own
(N, D) points:

- :func:`finished_points`: the distinct (N, D) cells of a sweep's finished runs;
- :func:`balanced_law`: a law L = E + A / N^alpha + B / D^beta with alpha = beta, so a = 0.5
  exactly (Hoffmann Eq. 4), and B set so that N_opt passes through a chosen N at a chosen C;
- :func:`fit_balanced_law`: the law with alpha = beta closest to a sweep's seed means (least
  squares in the loss), a truth with a = 0.5 whose losses look like the sweep's;
- :func:`synthetic_runs`: the seed means of that law at the points, optionally with seed noise;
- :func:`recovered_a`: Approach 1 with ``finished_only`` (as the reference sweep is fitted,
  :mod:`scalinglaws.fitting.sweep_fits`) on synthetic runs, once or for many noise draws.

Seed noise. Each (size, seed) of a sweep trained with warmup-stable-decay branches is one
trunk, and its branches share it: a seed that is lucky at one length is lucky at the next.
:func:`trunk_correlation` measures that correlation on a sweep's records; :func:`synthetic_runs`
draws each run's deviation as ``sd * (sqrt(rho) z_trunk + sqrt(1 - rho) z_run)``, so every run
has standard deviation ``sd`` and two runs of one trunk correlate by ``rho``.

Without noise and with alpha = beta, which sizes win where depends almost only on where N_opt
lies among the sizes: under the law two sizes N1 < N2 tie at C = 6 N1 N2 / G^2 (G of Eq. 4), whatever
alpha is; alpha enters only through the envelope's interpolation between finished lengths.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from scalinglaws.data.runs import Run, Runs
from scalinglaws.fitting.approach1 import fit_approach1
from scalinglaws.papers import laws
from scalinglaws.papers.constants import ParametricFit


def finished_points(records: list[dict]) -> tuple[tuple[float, float], ...]:
    """The distinct (N, D) of the records' non-diverged runs (N total parameters, D tokens), sorted."""
    return tuple(sorted({(float(r["params_total"]), float(r["tokens"])) for r in records if not r["diverged"]}))


def trunk_correlation(records: list[dict]) -> float:
    """Correlation of a seed's deviation from its cell's seed mean at one length with its deviation
    at the next length of the same size (pooled over sizes and seeds)."""
    cells: dict[tuple[float, float], dict[int, float]] = {}
    for r in records:
        if not r["diverged"]:
            cells.setdefault((float(r["params_total"]), float(r["tokens"])), {})[int(r["seed"])] = float(r["final_loss"])
    trunks: dict[tuple[float, int], list[tuple[float, float]]] = {}
    for (n, d), by_seed in cells.items():
        if len(by_seed) < 2:
            continue
        mean = sum(by_seed.values()) / len(by_seed)
        for seed, loss in by_seed.items():
            trunks.setdefault((n, seed), []).append((d, loss - mean))
    pairs = [(first[1], second[1]) for lengths in trunks.values()
             for first, second in zip(sorted(lengths), sorted(lengths)[1:])]
    if len(pairs) < 3:
        raise ValueError(f"trunk_correlation needs sizes trained at several lengths with 2 or more seeds; "
                         f"found {len(pairs)} pairs of adjacent lengths")
    return float(np.corrcoef(np.array(pairs).T)[0, 1])


def balanced_law(like, n_opt: float, flops: float) -> ParametricFit:
    """``like``'s E, A and alpha with beta = alpha (so a = b = 0.5) and B such that
    N_opt(``flops``) = ``n_opt`` under Hoffmann Eq. 4. ``like`` is any law with E, A and alpha."""
    if not (n_opt > 0 and flops > 0):
        raise ValueError(f"n_opt and flops must be positive, got {n_opt!r} and {flops!r}")
    alpha = float(like.alpha)
    g = n_opt / math.sqrt(flops / 6.0)  # N_opt = G (C/6)^(1/2) and G = (A / B)^(1 / 2 alpha)
    return ParametricFit("balanced", E=float(like.E), A=float(like.A), B=float(like.A) / g ** (2 * alpha),
                         alpha=alpha, beta=alpha)


def fit_balanced_law(records: list[dict], alphas=np.linspace(0.05, 1.5, 1451)) -> ParametricFit:
    """L = E + A / N^alpha + B / D^alpha fitted to the seed means of the records' non-diverged cells
    by least squares in the loss: for each alpha of ``alphas`` (0.001 apart by default) E, A and B
    are linear, and the alpha with the least squared error wins. Raises ValueError when the best
    fit has A or B not positive (no law of this form fits)."""
    from scalinglaws.fitting.seed_noise import seed_mean_records

    means = seed_mean_records([r for r in records if not r["diverged"]])
    n = np.array([m["params_total"] for m in means], dtype=float)
    d = np.array([m["tokens"] for m in means], dtype=float)
    loss = np.array([m["final_loss"] for m in means], dtype=float)
    best = None
    for alpha in np.asarray(alphas, dtype=float):
        design = np.column_stack([np.ones_like(n), n ** -alpha, d ** -alpha])
        coefficients = np.linalg.lstsq(design, loss, rcond=None)[0]
        error = float(np.sum((design @ coefficients - loss) ** 2))
        if best is None or error < best[0]:
            best = (error, float(alpha), coefficients)
    _, alpha, (e, a, b) = best
    if not (a > 0 and b > 0):
        raise ValueError(f"the best balanced law has A = {a:.3g}, B = {b:.3g}: no law with alpha = beta fits")
    return ParametricFit("balanced fit", E=float(e), A=float(a), B=float(b), alpha=alpha, beta=alpha)


def _sd_of(seed_sd, n: float) -> float:
    return float(seed_sd[n]) if isinstance(seed_sd, Mapping) else float(seed_sd)


def synthetic_runs(points, law, seed_sd=0.0, n_seeds: int = 3, correlation: float = 0.0,
                   rng: np.random.Generator | None = None) -> Runs:
    """One run per (N, D) of ``points`` whose loss is ``law``'s L(N, D) plus the mean of ``n_seeds``
    seed deviations (module docstring): ``seed_sd`` is one standard deviation or a mapping N -> sd,
    ``correlation`` the correlation of two runs of one (size, seed) trunk. No noise when seed_sd is 0."""
    if not 0.0 <= correlation <= 1.0:
        raise ValueError(f"correlation must lie in [0, 1], got {correlation!r}")
    points = [(float(n), float(d)) for n, d in points]
    sizes = sorted({n for n, _ in points})
    noisy = any(_sd_of(seed_sd, n) > 0 for n in sizes)
    if noisy and rng is None:
        raise ValueError("synthetic_runs with seed noise needs an rng (np.random.default_rng(seed))")
    trunk = {n: rng.standard_normal(n_seeds) for n in sizes} if noisy else {}
    runs = []
    for n, d in points:
        loss = float(laws.parametric_loss(law, n, d))
        if noisy:
            z = math.sqrt(correlation) * trunk[n] + math.sqrt(1.0 - correlation) * rng.standard_normal(n_seeds)
            loss += _sd_of(seed_sd, n) * float(z.mean())
        runs.append(Run(name=f"N={n:,.0f} D={d:,.0f}", params=n, tokens=d, flops=6.0 * n * d, loss=loss))
    return Runs(tuple(runs))


def recovered_a(points, law, seed_sd=0.0, n_seeds: int = 3, correlation: float = 0.0, replicates: int = 1,
                seed: int = 0) -> np.ndarray:
    """Approach 1's a (envelope of finished runs) on :func:`synthetic_runs` of ``law`` at ``points``,
    for ``replicates`` noise draws from ``np.random.default_rng(seed)``; NaN where the fit fails
    (fewer than two sizes on the envelope)."""
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(replicates):
        runs = synthetic_runs(points, law, seed_sd, n_seeds, correlation, rng)
        try:
            values.append(fit_approach1(runs, finished_only=True).a)
        except ValueError:  # FitFailure: the envelope resolved fewer than two sizes
            values.append(math.nan)
    return np.array(values)


def dense_points(sizes, tokens_per_param, spacing: float = math.sqrt(2)) -> tuple[tuple[float, float], ...]:
    """Every size trained to D = N x each of the ``spacing``-apart ratios from ``tokens_per_param[0]``
    to ``tokens_per_param[1]``: a grid of many sizes and lengths, for checking the method itself."""
    low, high = tokens_per_param
    ratios = low * spacing ** np.arange(int(math.floor(math.log(high / low) / math.log(spacing) + 1e-9)) + 1)
    return tuple((float(n), float(n * r)) for n in sizes for r in ratios)
