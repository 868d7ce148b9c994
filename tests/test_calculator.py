"""The chapters' tables and comparisons against the papers' own numbers."""

import math

import numpy as np
import pytest

from scalinglaws import calculator
from scalinglaws import constants as k
from scalinglaws import laws

FITS = (k.CHINCHILLA_PRINTED, k.CHINCHILLA_UNROUNDED, k.BESIROGLU_REFIT)


@pytest.mark.parametrize("fit", FITS, ids=lambda fit: fit.name)
@pytest.mark.parametrize("flops", [1e18, k.GOPHER_FLOPS, 1e26])
def test_eq4_closed_form_agrees_with_brute_force_minimisation(fit, flops):
    n_closed_form, _ = laws.optimal_allocation(fit, flops)
    assert calculator.optimal_params_by_search(fit, flops) == pytest.approx(n_closed_form, rel=1e-5)


def test_closed_form_row_spends_its_budget_and_is_optimal_for_its_size():
    row = calculator.closed_form_row(k.CHINCHILLA_UNROUNDED, 67e9)
    assert 6 * row.params * row.tokens == pytest.approx(row.flops, rel=1e-12)
    n_opt, d_opt = laws.optimal_allocation(k.CHINCHILLA_UNROUNDED, row.flops)
    assert (n_opt, d_opt) == pytest.approx((67e9, row.tokens), rel=1e-9)


def test_table_a3_approach_3_is_reproduced_to_within_2_to_19_percent():
    """Eq. 4 with the unrounded coefficients gives 1.02-1.18x the printed FLOPs and
    1.06-1.19x the printed tokens on every row but the 175B one, whose printed FLOPs are
    10x too small (a typo: 6ND = 1.26e25)."""
    comparisons = calculator.compare_with_printed(k.CHINCHILLA_UNROUNDED, k.TABLE_A3_APPROACH_3)
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
    unrounded = calculator.compare_with_printed(k.CHINCHILLA_UNROUNDED, k.TABLE_A3_APPROACH_3[:1])[0]
    printed = calculator.compare_with_printed(k.CHINCHILLA_PRINTED, k.TABLE_A3_APPROACH_3[:1])[0]
    assert abs(math.log(printed.flops_ratio)) > abs(math.log(unrounded.flops_ratio))


def test_inference_cost_of_gopher_and_chinchilla():
    gopher, chinchilla = calculator.inference_cost(280e9), calculator.inference_cost(70e9)
    assert gopher.flops_per_token == 5.6e11
    assert chinchilla.weight_bytes == 140e9  # bf16: 2 bytes per parameter
    assert gopher.flops_per_token / chinchilla.flops_per_token == 4.0
    with pytest.raises(ValueError, match="bytes_per_param"):
        calculator.inference_cost(70e9, bytes_per_param=0)


def test_allocations_cover_every_law_and_spend_the_budget():
    rows = calculator.allocations(k.GOPHER_FLOPS)
    assert [row.law for row in rows] == list(laws.LAW_NAMES)
    for row in rows:
        if row.law != "kaplan":
            assert 6 * row.params * row.tokens == pytest.approx(k.GOPHER_FLOPS, rel=1e-12)
    unrounded = rows[laws.LAW_NAMES.index("chinchilla-unrounded")]
    assert unrounded.params == pytest.approx(40.4e9, rel=0.01)
    assert unrounded.loss == pytest.approx(1.9, abs=0.05)


def test_allocation_curves_grow_with_the_exponents_of_eq4():
    grid = np.logspace(18, 26, 9)
    curves = calculator.allocation_curves(grid, ["besiroglu"])
    n_opt, d_opt = curves["besiroglu"]
    slope = np.polyfit(np.log(grid), np.log(n_opt), 1)[0]
    assert slope == pytest.approx(k.BESIROGLU_A, abs=1e-3)
    assert np.allclose(6 * n_opt * d_opt, grid, rtol=1e-12)


def test_unknown_law_is_rejected_with_the_choices():
    with pytest.raises(ValueError, match="choose one of"):
        calculator.allocations(1e21, ["gpt-4"])


def test_runs_for_interval_width_scales_with_the_square_of_the_ratio():
    assert calculator.runs_for_interval_width(100, 0.02, 0.002) == pytest.approx(10_000)
    with pytest.raises(ValueError, match="target_width"):
        calculator.runs_for_interval_width(100, 0.02, 0)


def test_format_table_aligns_columns_and_rejects_ragged_rows():
    text = calculator.format_table(("a", "bb"), [("1", "2"), ("333", "4")])
    assert text.splitlines() == ["a    bb", "---  --", "1     2", "333   4"]
    with pytest.raises(ValueError, match="2 cells"):
        calculator.format_table(("a", "bb"), [("1",)])


def test_table_2_lists_the_paper_and_the_implied_exponents():
    text = calculator.format_table_2([k.CHINCHILLA_UNROUNDED])
    assert "(0.454-0.455)" in text
    assert "0.457" in text  # a = beta / (alpha + beta) of the unrounded fit


def test_fits_table_shows_coefficients_and_the_exponents_they_imply():
    text = calculator.format_fits([k.CHINCHILLA_PRINTED, k.BESIROGLU_REFIT])
    header, _, printed, besiroglu = text.splitlines()
    assert header.split() == ["fit", "E", "A", "B", "alpha", "beta", "a", "b"]
    assert printed.split() == ["chinchilla", "1.6900", "406.4", "410.7", "0.3400", "0.2800", "0.452", "0.548"]
    assert besiroglu.split()[-2:] == ["0.513", "0.487"]  # Besiroglu et al.'s a = 0.513


def test_losses_table_shows_the_papers_numbers():
    text = calculator.format_losses([k.CHINCHILLA_UNROUNDED], [k.GOPHER, k.CHINCHILLA])
    assert "1.967" in text and "1.921" in text
    assert "5.04e+23" in text and "5.88e+23" in text


def test_downstream_table_names_chinchilla_better_on_every_task():
    text = calculator.format_downstream()
    assert text.count("Chinchilla") == 1 + len(k.TABLE_4_RESULTS)  # the header plus every row


def test_one_petaflop_per_second_for_a_day_is_kaplans_pf_day():
    assert calculator.budget_from_hardware(1, 1e15, 1.0, 1) == pytest.approx(k.PF_DAY, rel=1e-15)
    assert calculator.budget_from_hardware(8, 1e15, 0.5, 2) == pytest.approx(8 * k.PF_DAY, rel=1e-15)


@pytest.mark.parametrize("utilisation", [0, 1.5, float("nan")])
def test_budget_from_hardware_rejects_a_utilisation_outside_0_1(utilisation):
    with pytest.raises(ValueError, match="utilisation"):
        calculator.budget_from_hardware(1, 1e15, utilisation, 1)


class FixedIntervals:
    """A stand-in bootstrap whose intervals are known."""

    def interval(self, name, percentiles):
        return {"a": (0.49, 0.53), "E": (1.7, 1.9), "B": (1523.4, 4117.9)}[name]


def test_format_intervals_sets_the_refit_against_both_papers():
    text = calculator.format_intervals(k.BESIROGLU_REFIT, FixedIntervals(), names=("E", "B", "a"))
    e_row, b_row, a_row = text.splitlines()[2:]
    assert b_row.split() == ["B", "2085", "1520-4120", "2085", "1042-5810", "410.7"]
    assert e_row.split() == ["E", "1.817", "1.7-1.9", "1.817", "1.769-1.871", "1.693"]
    assert a_row.split() == ["a", "0.5126", "0.49-0.53", "0.5126", "0.4565", "0.454-0.455"]


def test_kaplans_loss_prints_as_na_beside_the_massivetext_losses():
    # Kaplan's L(N, D) is on WebText2 with another tokenizer: not in the MassiveText column.
    table = calculator.format_allocations(calculator.allocations(1e21))
    kaplan_row = next(line for line in table.splitlines() if line.startswith("kaplan"))
    assert kaplan_row.split()[-1] == "n/a"
    assert f"{laws.compute_optimal('kaplan', 1e21).loss:.3f}" not in table  # 2.140
    besiroglu_row = next(line for line in table.splitlines() if line.startswith("besiroglu"))
    assert besiroglu_row.split()[-1] == "2.305"


@pytest.mark.parametrize("flops, message", [
    (1e17, "warning: C = 1e+17 FLOPs is 10x below the Chinchilla laws' fitted range\n"
           "(1e18-1e22 FLOPs): their rows are extrapolations"),
    (k.GOPHER_FLOPS, "warning: C = 5.76e+23 FLOPs is 58x above the Chinchilla laws' fitted range\n"
                     "(1e18-1e22 FLOPs): their rows are extrapolations"),
    (1e21, "C = 1e+21 FLOPs is inside the Chinchilla laws' fitted range (1e18-1e22 FLOPs)"),
    (1e18, "C = 1e+18 FLOPs is inside the Chinchilla laws' fitted range (1e18-1e22 FLOPs)"),
    (1e22, "C = 1e+22 FLOPs is inside the Chinchilla laws' fitted range (1e18-1e22 FLOPs)"),
])
def test_fitted_range_note_warns_outside_1e18_to_1e22_flops(flops, message):
    assert calculator.fitted_range_note(flops) == message


def test_fitted_range_brackets_the_extracted_figure_4_points():
    from scalinglaws.chinchilla_data import load_chinchilla_points

    points = load_chinchilla_points()
    low, high = calculator.FITTED_FLOPS
    assert math.floor(math.log10(points.flops.min())) == math.log10(low)  # 1.4e18
    assert round(math.log10(points.flops.max())) == math.log10(high)  # 1.3e22
    assert points.params.max() == pytest.approx(calculator.LARGEST_FITTED_PARAMS, rel=0.1)


def test_a_1b_cap_at_1e21_flops_costs_0019_nats_and_about_a_fifth_more_compute():
    # Chapter 7: under the unrounded fit, 1B parameters on 1e21 FLOPs against N_opt = 2.2B.
    fit = k.CHINCHILLA_UNROUNDED
    cap = calculator.cost_of_size_cap(fit, 1e9, 1e21)
    assert cap.loss == pytest.approx(2.3143, abs=1e-4)
    assert cap.optimal_loss == pytest.approx(2.2955, abs=1e-4)
    assert cap.loss_penalty == pytest.approx(0.0188, abs=1e-4)
    # Independently: the budget at which the compute-optimal model reaches the capped loss, by
    # bisection on a numerically minimised IsoFLOP valley (no closed form of L_opt used).
    def best_loss(flops):
        n = calculator.optimal_params_by_search(fit, flops)
        return float(laws.parametric_loss(fit, n, flops / (6 * n)))

    low, high = math.log(1e20), math.log(1e21)
    for _ in range(60):
        mid = 0.5 * (low + high)
        low, high = (low, mid) if best_loss(math.exp(mid)) < cap.loss else (mid, high)
    assert cap.equivalent_flops == pytest.approx(math.exp(low), rel=1e-6)
    assert cap.compute_multiplier == pytest.approx(1.22, abs=0.005)
    # Trained longer instead, the 1B model reaches 2.2955 on about 217B tokens: 1.30x the budget.
    tokens = cap.catch_up_flops / (6 * 1e9)
    assert float(laws.parametric_loss(fit, 1e9, tokens)) == pytest.approx(cap.optimal_loss, rel=1e-12)
    assert cap.catch_up_multiplier == pytest.approx(1.30, abs=0.005)


def test_a_cap_above_n_opt_costs_nothing():
    cap = calculator.cost_of_size_cap(k.BESIROGLU_REFIT, 1e12, 1e21)
    assert cap.params == cap.optimal_params
    assert cap.loss_penalty == 0.0 and cap.compute_multiplier == 1.0 and cap.catch_up_multiplier == 1.0


def test_the_same_cap_costs_more_under_the_refit():
    # Chapter 7's exercise: Besiroglu et al.'s optimum at 1e21 FLOPs lies further from 1B.
    cap = calculator.cost_of_size_cap(k.BESIROGLU_REFIT, 1e9, 1e21)
    assert (cap.loss, cap.optimal_loss) == pytest.approx((2.338, 2.305), abs=5e-4)
    assert cap.loss_penalty == pytest.approx(0.033, abs=5e-4)
    assert cap.compute_multiplier == pytest.approx(1.44, abs=0.005)
    assert cap.catch_up_multiplier == pytest.approx(1.83, abs=0.005)
    assert cap.optimal_params / 1e9 == pytest.approx(2.78, abs=0.005)
