"""Table 3 / A3 recomputed from Eq. 4 against the printed rows, and Eq. 4 against brute force."""

import math

import numpy as np
import pytest

from scalinglaws.papers import constants as k
from scalinglaws.papers import laws, table_a3

FITS = (k.CHINCHILLA_PRINTED, k.CHINCHILLA_UNROUNDED, k.BESIROGLU_REFIT)


@pytest.mark.parametrize("fit", FITS, ids=lambda fit: fit.name)
@pytest.mark.parametrize("flops", [1e18, k.GOPHER_FLOPS, 1e26])
def test_eq4_closed_form_agrees_with_brute_force_minimisation(fit, flops):
    n_closed_form, _ = laws.optimal_allocation(fit, flops)
    assert table_a3.optimal_params_by_search(fit, flops) == pytest.approx(n_closed_form, rel=1e-5)


def test_closed_form_row_spends_its_budget_and_is_optimal_for_its_size():
    row = table_a3.closed_form_row(k.CHINCHILLA_UNROUNDED, 67e9)
    assert 6 * row.params * row.tokens == pytest.approx(row.flops, rel=1e-12)
    n_opt, d_opt = laws.optimal_allocation(k.CHINCHILLA_UNROUNDED, row.flops)
    assert (n_opt, d_opt) == pytest.approx((67e9, row.tokens), rel=1e-9)


def test_table_a3_approach_3_is_reproduced_to_within_2_to_19_percent():
    """Eq. 4 with the unrounded coefficients gives 1.02-1.18x the printed FLOPs and
    1.06-1.19x the printed tokens on every row but the 175B one, whose printed FLOPs are
    10x too small (a typo: 6ND = 1.26e25)."""
    comparisons = table_a3.compare_with_printed(k.CHINCHILLA_UNROUNDED, k.TABLE_A3_APPROACH_3)
    typo = [c for c in comparisons if c.printed.params == 175e9]
    rest = [c for c in comparisons if c.printed.params != 175e9]
    flops_ratios = np.array([c.flops_ratio for c in rest])
    assert flops_ratios.min() == pytest.approx(1.02, abs=0.01)  # 67B, printed D rounded to 4.1T
    assert flops_ratios.max() == pytest.approx(1.18, abs=0.01)  # 10T
    tokens_ratios = np.array([c.tokens_ratio for c in rest])
    assert tokens_ratios.min() == pytest.approx(1.06, abs=0.01)
    assert tokens_ratios.max() == pytest.approx(1.19, abs=0.01)
    assert all(c.printed_budget_ratio == pytest.approx(1.0, abs=0.06) for c in rest)
    (row_175b,) = typo
    assert row_175b.printed_budget_ratio == pytest.approx(0.1, rel=0.01)
    assert row_175b.flops_ratio == pytest.approx(11.4, abs=0.1)


def test_rounding_the_coefficients_moves_table_a3_far_more():
    unrounded = table_a3.compare_with_printed(k.CHINCHILLA_UNROUNDED, k.TABLE_A3_APPROACH_3[:1])[0]
    printed = table_a3.compare_with_printed(k.CHINCHILLA_PRINTED, k.TABLE_A3_APPROACH_3[:1])[0]
    assert abs(math.log(printed.flops_ratio)) > abs(math.log(unrounded.flops_ratio))
