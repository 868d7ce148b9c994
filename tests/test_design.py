"""The design simulator (scalinglaws.fitting.design) against ground truth: exact grids, costs by hand,
noise-free recovery of a, and the noise measured on the committed reference sweep."""

import math

import numpy as np
import pytest

from scalinglaws.fitting import design
from scalinglaws.fitting.design import Candidate, Grid, budgets_spanning, centred_grid, floor_budget, simulate_a
from scalinglaws.fitting.trunk_noise import NoiseStructure, SeedRuns, measure_noise
from scalinglaws.papers.constants import ParametricFit
from scalinglaws.papers.laws import allocation_exponents, optimal_allocation

#: Approach 3 with a held, fitted to results/tuned's seed means (what `python -m scalinglaws.fitting.design` prints).
LAW_05 = ParametricFit("a = 0.5", E=1.218, A=65.82, B=459.9, alpha=0.4868, beta=0.4868)
LAW_073 = ParametricFit("a = 0.73", E=1.192, A=9.546, B=2.097e4, alpha=0.2833, beta=0.7659)


def test_a_grid_costs_each_trunk_once_with_its_cooldowns():
    # Size 1 at budgets 1 and 2, size 2 at budgets 1, 2 and 4, size 4 at budget 4 (units of 1e12 FLOPs).
    grid = Grid((1e12, 2e12, 4e12), ((1e5, 2e5), (1e5, 2e5), (2e5, 4e5)), n_seeds=3)
    by_hand = (0.8 * 2 + 0.2 * (1 + 2)) + (0.8 * 4 + 0.2 * (1 + 2 + 4)) + (0.8 * 4 + 0.2 * 4)
    assert grid.cost_flops() == pytest.approx(3 * by_hand * 1e12)
    assert grid.token_range() == pytest.approx((1e12 / 1.2e6, 2e12 / 6e5))  # 2e5 at 1e12; 1e5 at 2e12
    runs = grid.seed_runs(LAW_05)
    assert len(runs) == 3 * 6 and len(np.unique(runs.trunk)) == 3 * 3  # three sizes, three seeds each


def test_a_centred_grid_takes_consecutive_ladder_sizes_around_each_optimum():
    budgets = budgets_spanning(1e13, 30.0)
    assert len(budgets) == 11 and budgets[-1] / budgets[0] == pytest.approx(30.0)
    for phase in (0.0, 0.3, 0.77):
        grid = centred_grid(LAW_073, budgets, n_sizes=5, n_seeds=1, phase=phase)
        for budget, sizes in zip(grid.budgets, grid.sizes):
            assert np.allclose(np.diff(np.log(sizes)), math.log(2.0))  # 5 sizes over 16x: 2x apart
            centre = math.exp(np.mean(np.log(sizes)))
            assert abs(math.log(centre / optimal_allocation(LAW_073, budget)[0])) <= math.log(math.sqrt(2)) + 1e-9
        # A size recurs at several budgets (one trunk per seed), as exactly the same number.
        assert len({n for sizes in grid.sizes for n in sizes}) < sum(len(s) for s in grid.sizes)


def test_the_floor_budget_gives_the_largest_run_exactly_the_step_floor():
    for n_sizes in (5, 8):
        c_min = floor_budget(LAW_05, 30.0, n_sizes)
        grid = centred_grid(LAW_05, budgets_spanning(c_min, 30.0), n_sizes, 1)
        assert grid.token_range()[0] == pytest.approx(design.STEP_FLOOR_TOKENS, rel=1e-9)


@pytest.mark.parametrize("law", [LAW_05, LAW_073])
def test_a_noise_free_sweep_gives_back_the_true_a(law):
    a_true = allocation_exponents(law)[0]
    for span, n_sizes, n_seeds in ((8.0, 5, 1), (30.0, 8, 1), (100.0, 5, 1), (30.0, 5, 3)):
        spread = simulate_a(law, budgets_spanning(1e13, span), n_sizes, n_seeds, NoiseStructure(0.0, 0.0), n_sweeps=6)
        # Each profile is a parabola through an asymmetric Eq. 2 curve sampled off-centre by up to sqrt(2),
        # so single sweeps miss by up to 0.006 (a = 0.73, 8x); on average they do not miss.
        assert spread.n_failed == 0
        assert np.max(np.abs(spread.samples - a_true)) < 0.01, (span, n_sizes, spread.samples - a_true)
        assert abs(np.mean(spread.samples) - a_true) < 0.003


def test_more_seeds_narrow_the_spread_as_one_over_root_seeds():
    # Each seed is its own trunk, so both parts of the noise average down: 3 seeds, sqrt(3) narrower.
    budgets = budgets_spanning(1e13, 8.0)
    noise = NoiseStructure(0.0225, 0.5)
    one, three = (simulate_a(LAW_05, budgets, 5, seeds, noise, n_sweeps=200, seed=4) for seeds in (1, 3))
    assert abs(one.bias) < 0.03 and abs(three.bias) < 0.02
    assert 0.45 < three.half_width / one.half_width < 0.72


def test_bad_designs_are_refused_naming_the_value():
    with pytest.raises(ValueError, match="positive number of FLOPs, got -1e\\+12"):
        budgets_spanning(-1e12, 30.0)
    with pytest.raises(ValueError, match="span and spacing must exceed 1, got span 0.5"):
        budgets_spanning(1e12, 0.5)
    with pytest.raises(ValueError, match="at least one budget; got none"):
        Grid((), (), 1)
    with pytest.raises(ValueError, match="positive number of FLOPs, got -2e\\+12"):
        Grid((1e12, -2e12), ((1e5,), (1e5,)), 1)
    with pytest.raises(ValueError, match="sizes must be positive parameter counts, got \\(\\)"):
        Grid((1e12,), ((),), 1)
    with pytest.raises(ValueError, match="n_seeds must be a positive integer, got 0"):
        Grid((1e12,), ((1e5,),), 0)
    with pytest.raises(ValueError, match="at least 3 sizes, got n_sizes = 2"):
        centred_grid(LAW_05, (1e12, 2e12), 2, 1)
    with pytest.raises(ValueError, match="n_sweeps must be a positive number"):
        simulate_a(LAW_05, (1e12, 2e12), 5, 1, NoiseStructure(0.01, 0.5), n_sweeps=0)
    with pytest.raises(ValueError, match="trunk fraction must lie in \\[0, 1\\], got 1.5"):
        NoiseStructure(0.02, 1.5)


def test_the_constants_agree_with_the_sweeps_they_describe():
    from scalinglaws.sweeps import presets, tuned_sweep, tuning

    shape = tuning.head16_shape(3)
    assert design.STEP_FLOOR_TOKENS == tuned_sweep.MIN_STEPS * tuned_sweep.BATCH * shape.n_ctx
    assert design.MAX_EPOCHS == tuned_sweep.MAX_EPOCHS
    assert design.DEFAULT_TRAIN_BYTES == tuned_sweep.DEFAULT_TRAIN_BYTES
    assert design.GUTENBERG409_TRAIN_BYTES == presets.GUTENBERG409_TRAIN_BYTES
    assert design.COOLDOWN_FRACTION == tuned_sweep.COOLDOWN_FRACTION


def test_the_reference_sweep_measures_as_the_design_assumes():
    from scalinglaws.data.committed_results import sweep_results
    from scalinglaws.data.results import load_results
    from scalinglaws.fitting.sweep_fits import isoflop_records
    from scalinglaws.fitting.trunk_bootstrap import fit_approach2_on_seed_means
    from scalinglaws.sweeps import tuned_sweep
    from scalinglaws.sweeps.compute_spent import core_seconds, flops_trained

    _, records = load_results(sweep_results("tuned"))
    noise = measure_noise(SeedRuns.from_records(records))
    assert noise.sd == pytest.approx(0.0225, abs=2e-4) and noise.dof == 78 and noise.n_trunks == 15
    assert noise.ss_share == pytest.approx(0.543, abs=0.002)  # "54% of the seed variance" by sum of squares
    assert noise.trunk_fraction == pytest.approx(0.476, abs=0.002)  # corrected for each trunk's run noise
    pilot = fit_approach2_on_seed_means(SeedRuns.from_records(isoflop_records(records, tuned_sweep.BUDGETS)))
    assert round(pilot.a, 3) == design.PILOT_A  # the pilot's a is this sweep's, to the digits the design printed
    measured = flops_trained(records) / core_seconds(records)
    assert 1.0 < design.FLOPS_PER_CORE_SECOND / measured < 1.5  # 1.5e10 measured; larger models run faster


def test_the_table_prints_each_design_with_its_cost(capsys):
    from scalinglaws.data.committed_results import sweep_results
    from scalinglaws.data.results import load_results

    assert design.main(["--sweeps", "4", "--spans", "8", "--sizes", "5", "--seeds", "1", "--no-affordable"]) == 0
    out = capsys.readouterr().out
    assert "seed sd 0.0225 nats" in out and "trunk fraction 0.476" in out
    row = next(line for line in out.splitlines() if line.startswith("8x / 5 sizes / 1 seed"))
    runs = SeedRuns.from_records(load_results(sweep_results("tuned"))[1])
    pilot = design.laws_fitted_to(runs, (design.PILOT_A,))[design.PILOT_A]
    assert f"{Candidate(8.0, 5, 1).core_hours(pilot):.1f}" in row.split()


def test_a_one_seed_sweep_gets_its_interval_from_redraws_of_its_own_grid():
    from scalinglaws.fitting.design import parametric_interval

    runs = centred_grid(LAW_073, budgets_spanning(1e13, 30.0), 5, 1, phase=0.4).seed_runs(LAW_073)
    exact = parametric_interval(runs, LAW_073, NoiseStructure(0.0, 0.0), n_sweeps=3)
    assert np.allclose(exact.samples, exact.samples[0]) and abs(exact.bias) < 0.01
    noisy = parametric_interval(runs, LAW_073, NoiseStructure(0.0225, 0.5), n_sweeps=60)
    low, high = np.percentile(noisy.fitted, (10, 90))
    assert low < 0.73 < high and 0.03 < noisy.half_width < 0.3


def test_wrong_side_counts_the_sweeps_a_decision_at_the_midpoint_gets_wrong():
    from scalinglaws.fitting.design import Spread

    spread = Spread(0.73, np.array([0.8, 0.7, 0.6, np.nan]))
    assert spread.wrong_side(0.615) == pytest.approx(0.5)  # 0.6 is on the wrong side, the failed fit decides nothing
    assert Spread(0.5, np.array([0.4, 0.7])).wrong_side(0.615) == pytest.approx(0.5)


def test_a_steepened_law_keeps_its_optimum_and_curves_its_profiles_more():
    from scalinglaws.fitting.design import steepened
    from scalinglaws.papers.laws import parametric_loss

    steep = steepened(LAW_073, 1.5)
    budget = 3e13
    n_opt = optimal_allocation(LAW_073, budget)[0]
    assert optimal_allocation(steep, budget)[0] == pytest.approx(n_opt)

    def curvature(law, h=1e-3):  # d^2 L / d(ln N)^2 along the IsoFLOP curve, at N_opt
        n = n_opt * np.exp([-h, 0.0, h])
        losses = parametric_loss(law, n, budget / (6.0 * n))
        return (losses[0] - 2 * losses[1] + losses[2]) / h**2

    assert curvature(steep) == pytest.approx(1.5 * curvature(LAW_073), rel=1e-4)


def test_a_ladder_grid_takes_the_rungs_within_the_size_span_of_each_optimum():
    ladder = [37_760, 103_344, 224_640, 420_080, 708_096, 1_107_120]
    budgets = budgets_spanning(1.3e12, 60.0, 2.0)
    grid = design.ladder_grid(LAW_05, budgets, ladder, n_seeds=1, size_span=16.0)
    for budget, sizes in zip(grid.budgets, grid.sizes):
        n_opt = float(optimal_allocation(LAW_05, budget)[0])
        inside = [n for n in ladder if n_opt / 4 <= n <= n_opt * 4]
        assert sizes == tuple(inside) if len(inside) >= 3 else len(sizes) == 3
        assert set(sizes) <= set(ladder)
    # One trunk per rung: the cost counts each rung once, with a cooldown per budget it joins.
    assert grid.cost_flops() < sum(budget * len(sizes) for budget, sizes in zip(grid.budgets, grid.sizes))
    with pytest.raises(ValueError, match="cannot give 3 per budget"):
        design.ladder_grid(LAW_05, budgets, ladder[:2], n_seeds=1)


def test_a_noise_free_ladder_sweep_recovers_a_within_the_bias_of_its_off_centre_profiles():
    ladder = [37_760, 103_344, 224_640, 420_080, 708_096, 1_107_120, 1_635_584]
    grid = design.ladder_grid(LAW_05, budgets_spanning(1.3e12, 60.0, 2.0), ladder, n_seeds=1)
    spread = design.simulate_grid(LAW_05, grid, NoiseStructure(0.0, 0.0), n_sweeps=2)
    assert spread.n_failed == 0 and abs(spread.samples[0] - 0.5) < 0.02
