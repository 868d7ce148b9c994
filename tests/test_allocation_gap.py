"""Chapter 1's drift and tenfold factors, and chapter 3's Porian steps, against the papers'
own numbers (../shared/reference/papers.md)."""

import numpy as np
import pytest

from scalinglaws.papers import allocation_gap as gap
from scalinglaws.papers import constants as k

#: Approach 3's a = beta / (alpha + beta) from the unrounded coefficients (papers.md).
A_APPROACH_3 = 0.2849083 / (0.33917084 + 0.2849083)


def test_drift_from_the_laws_is_the_drift_from_the_exponents():
    # Both laws are power laws in C: their ratio grows as C^(0.73 - a_3) at every budget.
    for low, high in [(1e18, 1e28), (1e20, 1e21), (5.76e23, 10 * 5.76e23)]:
        assert gap.drift_factor(low, high) == pytest.approx(
            gap.drift_from_exponents(low, high, 0.73, A_APPROACH_3), rel=1e-10)


def test_chapter_1_figure_spans_ten_orders_and_drifts_about_540x():
    budgets = np.logspace(18, 28, 50)  # chapter 1's figure
    ratio = gap.kaplan_over_parametric(budgets)
    assert np.all(np.diff(ratio) > 0)
    assert ratio[0] == pytest.approx(0.53, abs=0.005)
    assert ratio[-1] == pytest.approx(288, abs=0.5)
    assert ratio[-1] / ratio[0] == pytest.approx(10 ** (10 * (0.73 - A_APPROACH_3)), rel=1e-10)
    assert round(ratio[-1] / ratio[0]) == 543
    # Table 2's rounded a = 0.46 gives about 500x; the old "10^(8 x 0.27) = 150" is neither.
    assert gap.drift_from_exponents(1e18, 1e28, 0.73, 0.46) == pytest.approx(501, abs=1)
    assert not 100 < ratio[-1] / ratio[0] < 200


def test_tenfold_factors_of_kaplans_exponent():
    params, tokens = gap.tenfold_factors(k.KAPLAN_ALLOCATION.n_exp)
    assert (round(params, 2), round(tokens, 2)) == (5.37, 1.86)
    assert (round(params, 1), round(tokens, 1)) == (5.4, 1.9)


def test_hoffmanns_5_5x_and_1_8x_need_a_near_0_74_not_0_73():
    low, high = gap.exponents_rounding_to(*k.HOFFMANN_QUOTED_KAPLAN_TENFOLD)
    assert low < 0.74 < high
    assert not low <= k.KAPLAN_ALLOCATION.n_exp < high
    assert (round(low, 4), round(high, 4)) == (0.7364, 0.7443)
    for a in (low, (low + high) / 2):
        params, tokens = gap.tenfold_factors(a)
        assert (round(params, 1), round(tokens, 1)) == k.HOFFMANN_QUOTED_KAPLAN_TENFOLD


def test_no_exponent_gives_impossible_factors():
    with pytest.raises(ValueError, match="no exponent"):
        gap.exponents_rounding_to(5.5, 3.0)  # a would need 10^a * 10^(1-a) = 16.5, not 10


def test_porian_steps_are_papers_numbers():
    # Porian et al. 2024, Figure 1 (RefinedWeb), as in papers.md.
    assert [a for _, a in k.PORIAN_EXPONENT_STEPS] == [0.835, 0.706, 0.602, 0.571, 0.497]
    assert k.PORIAN_DATASET == "RefinedWeb"
    changes = -np.diff([a for _, a in k.PORIAN_EXPONENT_STEPS])
    # Head FLOPs, warmup and tuning, the three causes, move a by 0.129, 0.104 and 0.074; the
    # matched cosine decay by 0.031, "the decay fix moved a by 0.03".
    assert np.round(changes, 3).tolist() == [0.129, 0.104, 0.031, 0.074]
    assert changes[2] < min(changes[[0, 1, 3]])
