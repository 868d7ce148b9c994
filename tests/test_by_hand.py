"""scalinglaws.fitting.pilot, the design exercise of chapter 11: pilots under a FLOP cap.

Ground truth: runs whose losses are exact parabolas in ln N with minima on a known power law
N_opt = k C^a, so that every pilot Approach 2 can fit must predict that law exactly.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from scalinglaws.data.runs import Run, Runs
from scalinglaws.fitting.pilot import neighbouring_pilots, pilot_predictions

BUDGETS = (1e18, 1e19, 1e20, 1e21)
EXPONENT, COEFFICIENT = 0.5, 0.1


def parabolic_runs(sizes_per_budget: int = 5, offset: float = 0.0) -> Runs:
    """Per budget, sizes spaced by a factor 2 around N_opt * e^offset; L = 2 + 0.05 ln(N / N_opt)^2."""
    runs = []
    for budget in BUDGETS:
        n_opt = COEFFICIENT * budget**EXPONENT
        for step in range(sizes_per_budget):
            size = n_opt * math.exp(offset) * 2.0 ** (step - (sizes_per_budget - 1) / 2)
            loss = 2.0 + 0.05 * math.log(size / n_opt) ** 2
            runs.append(Run(name=f"C={budget:.0e} step {step}", params=size, tokens=budget / (6 * size),
                            flops=budget, loss=loss, budget=budget))
    return Runs(tuple(runs))


def test_every_pilot_is_neighbouring_sizes_under_the_cap():
    runs = parabolic_runs()
    # 5 sizes: no run, or 3, 4 or 5 neighbours (3 + 2 + 1 windows) -> 7 options per budget;
    # three budgets below 1e21 give 7^3 choices, less the 1 + 3 * 6 with fewer than two budgets.
    assert len(neighbouring_pilots(runs, math.inf, below=1e21)) == 7**3 - 1 - 3 * 6
    cap = 5 * 1e19 + 3 * 1e18
    pilots = neighbouring_pilots(runs, cap, below=1e21)
    budgets = runs.budgets()
    for chosen in pilots:
        assert runs.flops[chosen].sum() <= cap
        for budget in np.unique(budgets[chosen]):
            steps = sorted(steps_of(runs, chosen, budget))
            assert len(steps) >= 3 and steps == list(range(steps[0], steps[0] + len(steps)))
    # The cap leaves out 1e20 (three of its runs cost 3e20); at 1e18 and 1e19 a pilot takes any
    # pair of windows whose runs cost no more than the cap together.
    assert all(1e20 not in budgets[chosen] for chosen in pilots)
    expected = sum(1 for a, b in itertools.product(range(7), repeat=2)
                   if a and b and [0, 3, 3, 3, 4, 4, 5][a] * 1e18 + [0, 3, 3, 3, 4, 4, 5][b] * 1e19 <= cap)
    assert len(pilots) == expected


def steps_of(runs: Runs, chosen, budget) -> set[int]:
    budgets = runs.budgets()
    return {int(runs[i].name.rsplit(" ", 1)[1]) for i in chosen if budgets[i] == budget}


def test_pilots_recover_a_known_power_law_where_their_windows_bracket_the_minimum():
    # Minima 0.3 doublings below the middle size (step 1.7 of 0-4): a window brackets its
    # budget's minimum exactly when it holds steps 1 and 2. Approach 2 must fit every pilot with
    # at least two such budgets, recover N_opt = k C^a at the target exactly, and fit no other.
    runs = parabolic_runs(offset=0.3 * math.log(2))
    predictions = pilot_predictions(runs, math.inf, target=1e21)
    truth = COEFFICIENT * 1e21**EXPONENT
    bracketing = [sum({1, 2} <= steps_of(runs, p.indices, b) for b in p.budgets) >= 2 for p in predictions]
    assert 0 < sum(bracketing) < len(predictions)
    assert [math.isfinite(p.n_opt) for p in predictions] == bracketing
    np.testing.assert_allclose([p.n_opt for p in predictions if math.isfinite(p.n_opt)], truth, rtol=1e-6)


def test_cap_must_be_positive():
    with pytest.raises(ValueError, match="cap"):
        neighbouring_pilots(parabolic_runs(), 0.0, below=1e21)
