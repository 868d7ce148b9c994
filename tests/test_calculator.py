"""The compute-optimal calculator: budgets from hardware, every law's allocation, the fitted range, a size cap."""

import math

import numpy as np
import pytest

from scalinglaws.papers import calculator
from scalinglaws.papers import constants as k
from scalinglaws.papers import laws
from scalinglaws.papers.table_a3 import optimal_params_by_search


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


def test_one_petaflop_per_second_for_a_day_is_kaplans_pf_day():
    assert calculator.budget_from_hardware(1, 1e15, 1.0, 1) == pytest.approx(k.PF_DAY, rel=1e-15)
    assert calculator.budget_from_hardware(8, 1e15, 0.5, 2) == pytest.approx(8 * k.PF_DAY, rel=1e-15)


@pytest.mark.parametrize("utilisation", [0, 1.5, float("nan")])
def test_budget_from_hardware_rejects_a_utilisation_outside_0_1(utilisation):
    with pytest.raises(ValueError, match="utilisation"):
        calculator.budget_from_hardware(1, 1e15, utilisation, 1)


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
    from scalinglaws.data.chinchilla_data import load_chinchilla_points

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
        n = optimal_params_by_search(fit, flops)
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
