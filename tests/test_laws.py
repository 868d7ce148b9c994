"""The laws against the papers' own numbers (../shared/reference/papers.md)."""

import math

import numpy as np
import pytest

from scalinglaws.papers import constants as k
from scalinglaws.papers import laws
from scalinglaws.papers.constants import ParametricFit


@pytest.mark.parametrize(
    "fit, n_opt_billions",
    [
        (k.CHINCHILLA_UNROUNDED, 40.4),  # the paper's "40B" (Hoffmann Section 3.3)
        (k.CHINCHILLA_PRINTED, 32.2),  # the rounded coefficients move it by 20%
        (k.BESIROGLU_REFIT, 72.2),  # Besiroglu et al. 2024
    ],
)
def test_eq4_at_gophers_budget(fit, n_opt_billions):
    n_opt, d_opt = laws.optimal_allocation(fit, k.GOPHER_FLOPS)
    assert n_opt / 1e9 == pytest.approx(n_opt_billions, rel=0.01)
    assert 6 * n_opt * d_opt == pytest.approx(k.GOPHER_FLOPS, rel=1e-12)


def test_besiroglu_refit_trains_about_18_tokens_per_parameter():
    n_opt, d_opt = laws.optimal_allocation(k.BESIROGLU_REFIT, k.GOPHER_FLOPS)
    assert d_opt / n_opt == pytest.approx(18.4, abs=0.5)


def test_printed_approach3_wants_far_more_tokens_per_parameter_than_approaches_1_and_2():
    # Besiroglu et al.: the printed Approach 3 implies ~70 tokens per parameter against ~20.
    n_opt, d_opt = laws.optimal_allocation(k.CHINCHILLA_UNROUNDED, k.GOPHER_FLOPS)
    assert 50 < d_opt / n_opt < 100
    n1, d1 = k.AT_GOPHER_BUDGET["approach 1"]
    assert d1 / n1 == pytest.approx(22.4, abs=0.1)


def test_gopher_and_chinchilla_losses_under_the_unrounded_fit():
    fit = k.CHINCHILLA_UNROUNDED
    assert laws.parametric_loss(fit, k.GOPHER.params, k.GOPHER.tokens) == pytest.approx(1.967, abs=5e-4)
    assert laws.parametric_loss(fit, k.CHINCHILLA.params, k.CHINCHILLA.tokens) == pytest.approx(1.921, abs=5e-4)


@pytest.mark.parametrize(
    "fit, gopher_sizes_needed",
    [
        (k.CHINCHILLA_PRINTED, None),  # the limit stays above Chinchilla: no size suffices
        (k.CHINCHILLA_UNROUNDED, 420),  # ~118T parameters
        (k.BESIROGLU_REFIT, 7.8),  # ~2.2T parameters
    ],
)
def test_how_big_a_model_on_gophers_300b_tokens_must_be_to_match_chinchilla(fit, gopher_sizes_needed):
    """The N -> infinity limit E + B / D^beta at D = 300B against Chinchilla's loss.

    With the printed coefficients the limit lies above Chinchilla's loss, so no model on
    300B tokens matches it; with the unrounded ones and with Besiroglu's refit it lies just
    below, and matching Chinchilla takes ~420x or ~8x Gopher's parameters.
    """
    floor = laws.loss_with_infinite_params(fit, k.GOPHER.tokens)
    chinchilla = laws.parametric_loss(fit, k.CHINCHILLA.params, k.CHINCHILLA.tokens)
    losses = laws.parametric_loss(fit, np.array([1e12, 1e14, 1e16]), k.GOPHER.tokens)
    assert np.all(np.diff(losses) < 0) and np.all(losses > floor)  # approached from above
    if gopher_sizes_needed is None:
        assert floor > chinchilla
    else:
        n_needed = laws.params_for_loss(fit, k.GOPHER.tokens, chinchilla)
        assert float(laws.parametric_loss(fit, n_needed, k.GOPHER.tokens)) == pytest.approx(chinchilla, rel=1e-12)
        assert n_needed / k.GOPHER.params == pytest.approx(gopher_sizes_needed, rel=0.02)


@pytest.mark.parametrize("fit", [k.CHINCHILLA_PRINTED, k.CHINCHILLA_UNROUNDED, k.BESIROGLU_REFIT])
def test_eq4_is_the_minimum_of_the_loss_on_the_isoflop_line(fit):
    c = 1e21
    n_opt, _ = laws.optimal_allocation(fit, c)
    n = n_opt * np.exp(np.linspace(-0.5, 0.5, 1001))
    loss = laws.parametric_loss(fit, n, c / (6 * n))
    assert n[np.argmin(loss)] == pytest.approx(n_opt, rel=2e-3)


def test_allocation_exponents_match_table_2():
    a, b = laws.allocation_exponents(k.CHINCHILLA_PRINTED)
    # Table 2 prints a = 0.46, b = 0.54 for Approach 3
    assert a == pytest.approx(k.approach(3).table_2.a, abs=0.01)
    assert b == pytest.approx(k.approach(3).table_2.b, abs=0.01)
    assert laws.allocation_exponents(k.BESIROGLU_REFIT)[0] == pytest.approx(k.BESIROGLU_A, abs=0.001)


def test_approach3_column_of_table_a3_against_the_closed_form():
    """Table A3's Approach 3 column is not the closed form of the published coefficients.

    The 175B row prints 1.26e24 FLOPs: a typo for 1.26e25 (6 N D = 6 x 175e9 x 12.0e12).
    Elsewhere Eq. 4 with the unrounded coefficients needs 2-18% more FLOPs than printed, a
    gap that grows with N: the paper's inconsistency, stated here rather than hidden.
    """
    fit = k.CHINCHILLA_UNROUNDED
    closed_over_printed = {
        row.params: float(laws.optimal_flops_for_params(fit, row.params)) / row.flops
        for row in k.TABLE_A3_APPROACH_3
    }
    assert closed_over_printed[175e9] == pytest.approx(11.4, abs=0.1)  # the typo: 10x, plus the gap
    assert 6 * 175e9 * 12.0e12 == pytest.approx(1.26e25, rel=0.001)
    others = [closed_over_printed[n] for n in sorted(closed_over_printed) if n != 175e9]
    assert all(1.02 <= r <= 1.19 for r in others), others
    assert others[-1] - others[0] > 0.1
    # The printed (rounded) coefficients are further off still: 57% to 122% more FLOPs.
    printed = [float(laws.optimal_flops_for_params(k.CHINCHILLA_PRINTED, r.params)) / r.flops
               for r in k.TABLE_A3_APPROACH_3 if r.params != 175e9]
    assert min(printed) > 1.5


@pytest.mark.parametrize("table", [k.TABLE_3_APPROACH_1, k.TABLE_A3_APPROACH_2])
def test_tables_3_and_a3_rows_satisfy_c_equals_6nd(table):
    for row in table:
        assert 6 * row.params * row.tokens == pytest.approx(row.flops, rel=0.07)


def test_kaplan_allocation_at_gophers_budget():
    # N_opt = 1.3e9 C^0.73 with C in PF-days (Kaplan Eq. 1.7)
    c_pf_days = k.GOPHER_FLOPS / k.PF_DAY
    assert c_pf_days == pytest.approx(6667, rel=1e-3)
    n = laws.kaplan_optimal_params(k.GOPHER_FLOPS)
    assert n == pytest.approx(1.3e9 * c_pf_days**0.73)
    assert 7e11 < n < 9e11  # Kaplan would make Gopher's budget a ~800B-parameter model
    allocation = laws.compute_optimal("kaplan", k.GOPHER_FLOPS)
    assert 6 * allocation.params * allocation.tokens == pytest.approx(k.GOPHER_FLOPS)
    # Kaplan's own D_opt = 2e10 C^0.27 is ~1.8x over budget: the formulas are not consistent
    over = 6 * n * laws.kaplan_optimal_tokens(k.GOPHER_FLOPS) / k.GOPHER_FLOPS
    assert over == pytest.approx(1.8, abs=0.1)


def test_kaplan_single_variable_laws_match_eq_1_5_in_their_limits():
    # L(N, D) -> L(N) as D -> infinity, with the joint law's own constants
    joint = k.KAPLAN_L_OF_N_D
    n = 1e9
    assert laws.kaplan_loss(n, 1e30) == pytest.approx((joint.n_c / n) ** joint.alpha_n, rel=1e-6)
    # the separately fitted L(N) of Eq. 1.1 agrees with it to a few percent at 1e9
    assert laws.kaplan_loss_of_params(n) == pytest.approx(laws.kaplan_loss(n, 1e30), rel=0.05)
    assert laws.kaplan_loss_of_tokens(1e10) == pytest.approx((5.4e13 / 1e10) ** 0.095)
    assert laws.kaplan_loss_of_compute(k.PF_DAY) == pytest.approx(3.1e8**0.050)


def test_compute_optimal_under_every_law_spends_the_budget():
    for law in laws.LAW_NAMES:
        allocation = laws.compute_optimal(law, 1e22)
        assert 6 * allocation.params * allocation.tokens == pytest.approx(1e22)
        assert math.isfinite(allocation.loss)


@pytest.mark.parametrize("bad", [0.0, -1e20, float("nan"), float("inf")])
def test_bad_budgets_are_refused_with_a_message(bad):
    with pytest.raises(ValueError, match="positive and finite"):
        laws.compute_optimal("chinchilla", bad)
    with pytest.raises(ValueError, match="positive and finite"):
        laws.optimal_allocation(k.CHINCHILLA_PRINTED, bad)


def test_unknown_law_lists_the_known_ones():
    with pytest.raises(ValueError, match="chinchilla-unrounded"):
        laws.compute_optimal("gpt4", 1e20)


def test_non_embedding_counting_exponent_matches_a_numerical_derivative():
    """Ground truth: optima N_T = C^a with a known embedding count, recounted numerically."""
    a, embedding = 0.5, 5_000.0  # a fixed embedding: rho = 1 - E / N_T
    flops = np.geomspace(1e11, 1e13, 5)
    n_total = flops**a
    n_ne = n_total - embedding
    local = np.gradient(np.log(n_ne), np.log(flops * n_ne / n_total))
    elasticity = embedding / (n_total - embedding)  # d ln(1 - E/N) / d ln N
    predicted = [laws.exponent_counting_non_embedding(a, e) for e in elasticity]
    np.testing.assert_allclose(predicted[1:-1], local[1:-1], rtol=0.02)
    assert laws.exponent_counting_non_embedding(0.5, 0.0) == 0.5


def test_non_embedding_counting_exponent_refuses_impossible_input():
    with pytest.raises(ValueError, match="must lie in \\(0, 1\\)"):
        laws.exponent_counting_non_embedding(1.2, 0.1)
    with pytest.raises(ValueError, match="must exceed -1"):
        laws.exponent_counting_non_embedding(0.5, -1.5)


@pytest.mark.parametrize("fit", [k.CHINCHILLA_PRINTED, k.CHINCHILLA_UNROUNDED, k.BESIROGLU_REFIT],
                         ids=lambda fit: fit.name)
@pytest.mark.parametrize("flops", [1e18, 1e21, k.GOPHER_FLOPS, 1e26])
def test_optimal_loss_is_eq2_at_eq4s_allocation_and_inverts(fit, flops):
    n_opt, d_opt = laws.optimal_allocation(fit, flops)
    assert laws.optimal_loss(fit, flops) == pytest.approx(float(laws.parametric_loss(fit, n_opt, d_opt)), rel=1e-12)
    assert laws.flops_for_optimal_loss(fit, float(laws.optimal_loss(fit, flops))) == pytest.approx(flops, rel=1e-9)


def test_optimal_loss_falls_as_a_power_of_compute_towards_e():
    # L_opt(C) - E ~ C^(-alpha beta / (alpha + beta)): 100x the compute divides the excess by 100^0.155.
    fit = k.CHINCHILLA_UNROUNDED
    exponent = fit.alpha * fit.beta / (fit.alpha + fit.beta)
    ratio = (laws.optimal_loss(fit, 1e23) - fit.E) / (laws.optimal_loss(fit, 1e21) - fit.E)
    assert ratio == pytest.approx(100.0**-exponent, rel=1e-12)


@pytest.mark.parametrize("loss", [k.CHINCHILLA_UNROUNDED.E, 1.0, math.nan])
def test_flops_for_optimal_loss_refuses_a_loss_at_or_below_e(loss):
    with pytest.raises(ValueError, match="above E"):
        laws.flops_for_optimal_loss(k.CHINCHILLA_UNROUNDED, loss)


def test_approach3s_point_estimate_lies_outside_its_own_interval():
    # Hoffmann Table 2 gives a = 0.46 (0.454-0.455); the unrounded fit's Eq. 4 gives 0.4565 (Chapter 4).
    low, high = k.approach(3).table_2.a_interval
    a, _ = laws.allocation_exponents(k.CHINCHILLA_UNROUNDED)
    assert a == pytest.approx(0.4565, abs=5e-5)
    assert a - high == pytest.approx(0.0015, abs=5e-5)
    assert not low <= k.approach(3).table_2.a <= high


@pytest.mark.parametrize(
    "law, n_opt_billions, d_opt_trillions",
    [
        ("chinchilla-unrounded", 40.4, 2.38),  # the paper's "40B" (Hoffmann Section 3.4, papers.md)
        (k.CHINCHILLA_UNROUNDED, 40.4, 2.38),  # the same fit passed as a fit, not a name
        ("chinchilla", 32.2, 2.98),  # the rounded coefficients
        ("besiroglu", 72.2, 1.33),  # Besiroglu et al. 2024: about 18 tokens per parameter
    ],
)
def test_allocation_at_gophers_budget_is_eq4_at_5_76e23(law, n_opt_billions, d_opt_trillions):
    at_gopher = laws.allocation_at_gophers_budget(law)
    assert at_gopher.flops == 5.76e23
    assert at_gopher.params / 1e9 == pytest.approx(n_opt_billions, rel=0.005)
    assert at_gopher.tokens / 1e12 == pytest.approx(d_opt_trillions, rel=0.005)
    assert 6 * at_gopher.params * at_gopher.tokens == pytest.approx(k.GOPHER_FLOPS, rel=1e-12)


def test_allocation_at_gophers_budget_of_a_fit_matches_the_named_law():
    by_name = laws.allocation_at_gophers_budget("chinchilla-unrounded")
    by_fit = laws.allocation_at_gophers_budget(k.CHINCHILLA_UNROUNDED)
    assert by_fit == by_name


def test_kaplan_at_gophers_budget_asks_for_a_model_beyond_gophers_280b():
    # Kaplan Eq. 1.7, N_opt = 1.3e9 (C / PF-day)^0.73: about 800B non-embedding parameters.
    kaplan = laws.allocation_at_gophers_budget("kaplan")
    assert kaplan.params == pytest.approx(1.3e9 * (k.GOPHER_FLOPS / k.PF_DAY) ** 0.73, rel=1e-12)
    assert kaplan.params > k.GOPHER.params


def test_params_for_loss_chinchilla_on_gophers_tokens():
    def needed(fit):
        chinchilla = float(laws.parametric_loss(fit, k.CHINCHILLA.params, k.CHINCHILLA.tokens))
        return laws.params_for_loss(fit, k.GOPHER.tokens, chinchilla)

    # The rounded fit puts the 300B-token floor above Chinchilla: no size suffices.
    assert needed(k.CHINCHILLA_PRINTED) == math.inf
    # The unrounded fit: about 118 trillion parameters, over 400x Gopher.
    assert needed(k.CHINCHILLA_UNROUNDED) == pytest.approx(1.18e14, rel=0.01)
    # Besiroglu's refit: about 2.2 trillion parameters.
    assert needed(k.BESIROGLU_REFIT) == pytest.approx(2.19e12, rel=0.01)


def test_params_for_loss_inverts_eq2():
    fit = k.BESIROGLU_REFIT
    target = float(laws.parametric_loss(fit, 3e10, 1e11))
    assert laws.params_for_loss(fit, 1e11, target) == pytest.approx(3e10, rel=1e-9)


def test_params_for_loss_rejects_a_loss_that_is_not_a_number():
    with pytest.raises(ValueError, match="finite loss"):
        laws.params_for_loss(k.BESIROGLU_REFIT, 1e11, float("nan"))


def test_tokens_for_loss_inverts_eq2_and_is_infinite_below_the_floor():
    fit = k.CHINCHILLA_UNROUNDED
    assert float(laws.parametric_loss(fit, 1e9, laws.tokens_for_loss(fit, 1e9, 2.3))) == pytest.approx(2.3)
    floor = fit.E + fit.A / 1e9**fit.alpha
    assert laws.tokens_for_loss(fit, 1e9, floor - 1e-9) == math.inf


def test_matching_chinchilla_on_gophers_tokens_is_thousands_of_times_beyond_the_fitted_models():
    # Chapter 5: the sizes that match Chinchilla on 300B tokens, against the largest fitted model (16B).
    ratios = {}
    for fit in (k.CHINCHILLA_UNROUNDED, k.BESIROGLU_REFIT):
        target = float(laws.parametric_loss(fit, k.CHINCHILLA.params, k.CHINCHILLA.tokens))
        ratios[fit.name] = laws.params_for_loss(fit, k.GOPHER.tokens, target) / 16e9
    assert ratios == {"chinchilla-unrounded": pytest.approx(7355, abs=1), "besiroglu": pytest.approx(137, abs=1)}


def test_tokens_for_loss_inverts_eq_2():
    fit = k.CHINCHILLA_UNROUNDED
    for n, d in ((280e9, 300e9), (70e9, 1.4e12), (1e9, 2e10)):
        target = laws.parametric_loss(fit, n, d)
        assert laws.tokens_for_loss(fit, n, target) == pytest.approx(d, rel=1e-9)
    # Gopher's 280B parameters match Chinchilla with fewer tokens than Chinchilla's 1.4T; a model
    # whose floor E + A / N^alpha lies above Chinchilla's loss never does.
    chinchilla = laws.parametric_loss(fit, 70e9, 1.4e12)
    assert laws.tokens_for_loss(fit, 280e9, chinchilla) < 1.4e12
    assert laws.tokens_for_loss(fit, 1e6, chinchilla) == math.inf
    with pytest.raises(ValueError):
        laws.tokens_for_loss(fit, 0.0, 2.0)


@pytest.mark.parametrize("fit", [k.CHINCHILLA_PRINTED, k.CHINCHILLA_UNROUNDED, k.BESIROGLU_REFIT])
@pytest.mark.parametrize("factor", [0.25, 0.5, 2.0, 4.0, 16.0])
def test_mis_sizing_penalty_is_eq_2_along_the_isoflop_line(fit, factor):
    for flops in (1e20, k.GOPHER_FLOPS, 1e26):
        n_opt, d_opt = laws.optimal_allocation(fit, flops)
        best = laws.parametric_loss(fit, n_opt, d_opt)
        other = laws.parametric_loss(fit, factor * n_opt, d_opt / factor)
        assert other - best == pytest.approx(laws.mis_sizing_penalty(fit.alpha, fit.beta, factor) * (best - fit.E),
                                             rel=1e-9)


def test_mis_sizing_penalty_is_zero_at_the_optimum_and_positive_elsewhere():
    assert laws.mis_sizing_penalty(0.34, 0.28, 1.0) == pytest.approx(0.0, abs=1e-15)
    factors = np.geomspace(1 / 16, 16, 41)
    penalties = laws.mis_sizing_penalty(0.34, 0.28, factors)
    assert penalties.shape == factors.shape
    assert np.all(penalties[factors != 1.0] > 0)
    # Chinchilla's printed fit: 4x too big costs about 9% of the reducible loss.
    assert laws.mis_sizing_penalty(0.34, 0.28, 4.0) == pytest.approx(0.090, abs=0.001)
    with pytest.raises(ValueError):
        laws.mis_sizing_penalty(0.0, 0.28, 4.0)
    with pytest.raises(ValueError):
        laws.mis_sizing_penalty(0.34, 0.28, -1.0)


def test_allocation_exponent_under_6nd_is_eq_4s():
    """Counted as 6ND, the minimum of L(N, C / 6N) moves as C^(beta / (alpha + beta)) (Eq. 4)."""
    fit = ParametricFit("test", E=1.2, A=14.0, B=3200.0, alpha=0.31, beta=0.63)
    sizes = np.geomspace(1e3, 1e7, 9)
    a = laws.allocation_exponent_under_flop_count(fit, sizes, 6 * sizes, [1e11, 1e12, 1e13])
    assert a == pytest.approx(laws.allocation_exponents(fit)[0], abs=1e-5)


def test_allocation_exponent_under_a_cost_per_parameter_falling_as_n_grows():
    """With c(N) = k N^(1 - e), C = k N^(1-e) D: substituting D = C / c(N) in Eq. 2 and minimising
    gives N_opt ~ C^(beta / (alpha + beta (1 - e))) exactly (ground truth for the numerical minimum)."""
    fit = ParametricFit("test", E=1.2, A=14.0, B=3200.0, alpha=0.31, beta=0.63)
    sizes = np.geomspace(1e2, 1e8, 13)
    e = 0.08
    a = laws.allocation_exponent_under_flop_count(fit, sizes, 20.0 * sizes ** (1 - e), [1e11, 1e12, 1e13])
    assert a == pytest.approx(fit.beta / (fit.alpha + fit.beta * (1 - e)), abs=1e-5)


def test_allocation_exponent_under_flop_count_refuses_an_optimum_at_the_edge():
    fit = ParametricFit("test", E=1.2, A=14.0, B=3200.0, alpha=0.31, beta=0.63)
    sizes = np.array([1e3, 2e3, 4e3])
    with pytest.raises(ValueError, match="edge of the sizes"):
        laws.allocation_exponent_under_flop_count(fit, sizes, 6 * sizes, [1e14, 1e15])
    with pytest.raises(ValueError, match="increasing"):
        laws.allocation_exponent_under_flop_count(fit, sizes[::-1], 6 * sizes, [1e11, 1e12])
