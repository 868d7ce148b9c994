"""How few optimizer steps a run may take: seed noise against run length, and the floor it supports.

The reference sweep trained no run shorter than 4,000 optimizer steps (its *step floor*), on
the guess that shorter runs scatter more from seed to seed. A lower floor would let a sweep of
the same cost start at smaller budgets and so span a wider range of compute, which narrows the
interval on the exponent a (``results/design``). This module measures the guess and states the
floor a set of runs supports:

- :func:`pooled_sd_by_length`: the seed standard deviation at each run length, pooled over
  the sizes trained at that length (:func:`scalinglaws.fitting.seed_noise.pooled_seed_sd`);
- :func:`sd_interval`: its chi-square interval (seed deviations taken as normal);
- :func:`supported_floor`: the reading rule. The floor is the shortest length L such that at L
  and at every longer length measured, the pooled sd is at most ``tolerance`` times the pooled
  sd at the reference length (the current floor), from the same runs;
- :func:`simulate_floor_rule`: the rule applied to simulated experiments, to choose the design
  (how many sizes and seeds) before any run.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from scalinglaws.fitting.seed_noise import PooledSpread, pooled_seed_sd

#: How much more seed noise the shortest budgets may carry before a lower floor stops paying. The
#: design simulator (results/design) finds the interval on a roughly proportional to the noise,
#: and a budget span 4x wider (30x against 8x) narrows it by about a fifth; 1.25x the noise at the
#: cheap end is what that widening can pay for.
TOLERANCE = 1.25


def pooled_sd_by_length(records: list[dict]) -> dict[int, PooledSpread]:
    """Run length (optimizer steps) -> the seed sd pooled over the cells of that length."""
    return {int(steps): spread for steps, spread in pooled_seed_sd(records, by="steps").items()}


def sd_interval(spread: PooledSpread, level: float = 0.9) -> tuple[float, float]:
    """The ``level`` interval of the true sd behind a pooled sd with ``spread.dof`` degrees of freedom."""
    if spread.dof < 1 or not 0 < level < 1:
        raise ValueError(f"need at least 1 degree of freedom and a level in (0, 1), got {spread.dof}, {level}")
    tail = (1 - level) / 2
    return (spread.sd * math.sqrt(spread.dof / stats.chi2.ppf(1 - tail, spread.dof)),
            spread.sd * math.sqrt(spread.dof / stats.chi2.ppf(tail, spread.dof)))


def supported_floor(sds: dict[int, float], reference_steps: int, tolerance: float = TOLERANCE) -> int:
    """The reading rule: the shortest length whose pooled sd, and every longer length's, is at most
    ``tolerance`` times the sd at ``reference_steps``. Lengths above the reference are not judged (the
    reference itself always qualifies, so the answer is at most ``reference_steps``)."""
    if reference_steps not in sds:
        raise ValueError(f"no runs of the reference length {reference_steps:,d} steps among {sorted(sds)}")
    if not tolerance >= 1:
        raise ValueError(f"the tolerance is a ratio of at least 1, got {tolerance!r}")
    floor = reference_steps
    for steps in sorted((s for s in sds if s < reference_steps), reverse=True):
        if not sds[steps] <= tolerance * sds[reference_steps]:
            break
        floor = steps
    return floor


def simulate_floor_rule(true_sd: dict[int, float], sizes: int, seeds: int, reference_steps: int,
                        correlation: float, n_experiments: int = 2000, seed: int = 0,
                        tolerance: float = TOLERANCE) -> dict[int, float]:
    """The share of simulated experiments whose rule states each floor.

    Each experiment trains ``sizes`` sizes x ``seeds`` seeds, each (size, seed) one trunk branched at
    every length of ``true_sd``. A trunk's deviations at its lengths are normal with the true sd of each
    length, and correlated ``correlation`` ** k between lengths k apart in the list (adjacent branches of
    one trunk share most of their training). The pooled sd per length is the cell sds pooled over sizes.
    """
    lengths = sorted(true_sd)
    if sizes < 1 or seeds < 2:
        raise ValueError(f"need at least 1 size and 2 seeds, got {sizes} and {seeds}")
    k = np.arange(len(lengths))
    corr = correlation ** np.abs(k[:, None] - k[None, :])
    sd = np.array([true_sd[steps] for steps in lengths])
    chol = np.linalg.cholesky(corr * np.outer(sd, sd))
    rng = np.random.default_rng(seed)
    normal = rng.standard_normal((n_experiments, sizes, seeds, len(lengths)))
    # normal @ chol.T, written out elementwise: no BLAS kernel, so the same digits on every processor.
    draws = sum(normal[..., j, None] * chol[:, j] for j in range(len(lengths)))
    # Pooled over sizes: the mean of the cell variances (every cell has the same number of seeds).
    pooled = np.sqrt(draws.var(axis=2, ddof=1).mean(axis=1))
    counts: dict[int, int] = {}
    for row in pooled:
        floor = supported_floor(dict(zip(lengths, row)), reference_steps, tolerance)
        counts[floor] = counts.get(floor, 0) + 1
    return {floor: counts.get(floor, 0) / n_experiments for floor in lengths if floor <= reference_steps}
