"""Synthetic runs drawn from a known law L(N, D) = E + A / N^alpha + B / D^beta (Hoffmann Eq. 2).

A fit is trusted once it recovers the exponents it was given: under the law, N_opt ~ C^a with
a = beta / (alpha + beta) (Hoffmann Eq. 4). These generators build the two kinds of
experiment the three approaches read, with multiplicative log-normal noise on the loss.

Loss curves follow the same law along the run: after t tokens a model of size N has loss
L(N, t). That is the envelope-consistent choice: every point of a curve is then exactly as
good as a run trained to end there, which is what Approach 1 assumes of its curves (and
what Hoffmann's matched cosine horizons are for).
"""

from __future__ import annotations

import numpy as np

from scalinglaws.data.runs import Run, Runs
from scalinglaws.papers import constants
from scalinglaws.papers.constants import ParametricFit
from scalinglaws.papers.laws import optimal_allocation, parametric_loss

#: Default ground truth: Besiroglu et al.'s refit of Chinchilla's data (their Table 1).
DEFAULT_LAW = constants.BESIROGLU_REFIT


def _noisy(loss, noise: float, rng: np.random.Generator):
    return loss * np.exp(noise * rng.standard_normal(np.shape(loss)))


def isoflop_runs(budgets, law: ParametricFit = DEFAULT_LAW, sizes_per_budget: int = 7,
                 size_span: float = 16.0, noise: float = 0.0, seed: int = 0) -> Runs:
    """Per budget C, ``sizes_per_budget`` sizes log-spaced over ``size_span``x around N_opt(C)."""
    rng = np.random.default_rng(seed)
    runs = []
    for budget in budgets:
        centre, _ = optimal_allocation(law, budget)
        sizes = centre * size_span ** np.linspace(-0.5, 0.5, sizes_per_budget)
        for size in sizes:
            tokens = budget / (6.0 * size)
            loss = _noisy(parametric_loss(law, size, tokens), noise, rng)
            runs.append(Run(name=f"C={budget:.2g} N={size:.3g}", params=size, tokens=tokens, flops=budget,
                            loss=float(loss), budget=float(budget)))
    return Runs(tuple(runs))


def curve_runs(sizes, tokens_per_param: float = 80.0, law: ParametricFit = DEFAULT_LAW,
               evaluations: int = 60, first_fraction: float = 0.01, noise: float = 0.0,
               seed: int = 0) -> Runs:
    """One run per size to D = tokens_per_param * N, evaluated at log-spaced t in [first_fraction D, D]."""
    rng = np.random.default_rng(seed)
    runs = []
    for size in sizes:
        tokens = tokens_per_param * size
        seen = tokens * np.geomspace(first_fraction, 1.0, evaluations)
        curve = _noisy(parametric_loss(law, size, seen), noise, rng)
        runs.append(Run(name=f"N={size:.3g}", params=float(size), tokens=tokens, flops=6.0 * size * tokens,
                        loss=float(curve[-1]), curve_tokens=seen, curve_loss=curve))
    return Runs(tuple(runs))
