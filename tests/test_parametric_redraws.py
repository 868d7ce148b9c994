"""Intervals for one-seed sweeps (scalinglaws.fitting.parametric_redraws) against ground truth: noise-free
redraws give back the law's a, Approach 2's samples are the design simulator's, the agreement and
shift rules flag a difference that is there and pass one that is not."""

import math

import numpy as np
import pytest

from scalinglaws.fitting import design, parametric_redraws
from scalinglaws.fitting.parametric_redraws import Redraws, ThreeFits, fit_three, percentile_of, redraw
from scalinglaws.fitting.trunk_noise import NoiseStructure
from scalinglaws.papers.constants import ParametricFit
from scalinglaws.papers.laws import parametric_loss

#: Approach 3 with a held at 0.5, fitted to results/tuned's seed means (as in tests/test_design.py).
LAW_05 = ParametricFit("a = 0.5", E=1.218, A=65.82, B=459.9, alpha=0.4868, beta=0.4868)
#: The head-16 ladder L2-L8 (scalinglaws.sweeps.tuning.head16_shape), parameters.
LADDER = (37_760, 103_344, 224_640, 420_080, 708_096, 1_107_120, 1_635_584)


def one_seed_grid():
    """The wide sweep's kind of grid: 6 budgets 2x apart over 30x, the rungs within 16x of each optimum."""
    grid = design.ladder_grid(LAW_05, design.budgets_spanning(2.8e12, 30.0, 2.0), LADDER, n_seeds=1)
    return grid.seed_runs(LAW_05)


def test_dropping_the_smallest_size_drops_exactly_its_runs():
    runs = one_seed_grid()
    kept = parametric_redraws.without_smallest_size(runs)
    assert np.min(runs.params) == LADDER[0] and np.min(kept.params) == LADDER[1]
    assert len(kept) == len(runs) - int(np.sum(runs.params == LADDER[0]))
    assert set(kept.trunk) == set(runs.trunk) - set(runs.trunk[runs.params == LADDER[0]])


def test_noise_free_fits_give_back_the_laws_a():
    fits = fit_three(one_seed_grid())
    assert fits.exponent(3) == pytest.approx(0.5, abs=1e-3)  # Eq. 2 itself: exact
    # Approaches 1 and 2 approximate an Eq. 2 profile by an envelope and by parabolas off-centre.
    assert abs(fits.exponent(2) - 0.5) < 0.02 and abs(fits.exponent(1) - 0.5) < 0.05
    assert fits.law is not None and fits.law.alpha == pytest.approx(0.4868, abs=0.01)


def test_approach_2_draws_the_design_simulators_samples():
    runs = one_seed_grid()
    noise = NoiseStructure(0.0225, 0.476)
    ours = redraw(runs, LAW_05, noise, n_sweeps=3, seed=7, approaches=(2, 3), smallest_dropped=False)
    theirs = design.parametric_interval(runs, LAW_05, noise, n_sweeps=3, seed=7)
    assert np.array_equal(ours.every_size[:, 1], theirs.fitted)  # same noise, same order, same fit
    assert ours.true_a == pytest.approx(0.5) and np.all(np.isnan(ours.every_size[:, 0]))
    assert np.all(np.isnan(ours.without_smallest)) and ours.failures(1) == 3  # skipped, so NaN
    assert len(ours.laws) == 3 and all(law is not None for law in ours.laws)


def test_the_smallest_size_off_the_law_is_flagged_and_on_the_law_is_not():
    # A smallest size 0.04 nats below the law (the reference sweep's L2) moves Approaches 2 and 3 far
    # outside what seed noise of 0.002 nats moves them; the same sweep on the law stays inside. Approach 1
    # moves about +0.1 in every redraw (its envelope's low end is the smallest size): the redraws, not
    # zero, say what a shift means.
    runs = one_seed_grid()
    noise = NoiseStructure(0.002, 0.5)
    redraws = redraw(runs, LAW_05, noise, n_sweeps=8, seed=0)
    on_law = runs.with_loss(runs.loss + noise.draw(runs, np.random.default_rng(99)))
    off_law = on_law.with_loss(on_law.loss - 0.04 * (on_law.params == LADDER[0]))
    for approach in (2, 3):
        shifts = redraws.shifts(approach)
        assert shifts.size == 8 and np.max(np.abs(shifts)) < 0.03
        for sample, inside in ((on_law, True), (off_law, False)):
            every, without = fit_three(sample), fit_three(parametric_redraws.without_smallest_size(sample))
            shift = every.exponent(approach) - without.exponent(approach)
            assert bool(shifts.min() <= shift <= shifts.max()) is inside, (approach, shift, shifts)
            assert inside or shift > shifts.max() + 0.03
    assert np.all(redraws.shifts(1) > 0.05)


def test_agreement_is_the_observed_difference_inside_the_redraws_5_to_95_percent():
    # Redraws where Approach 1 sits 0.10 above Approach 2, give or take 0.05 (uniform).
    differences = np.linspace(0.05, 0.15, 101)
    every = np.column_stack([0.5 + differences, np.full(101, 0.5), np.full(101, 0.5)])
    redraws = Redraws(LAW_05, every, every.copy(), ())
    assert redraws.agree(1, 2, ThreeFits((0.61, 0.5, 0.5), None))  # 0.11 inside [0.055, 0.145]
    assert not redraws.agree(1, 2, ThreeFits((0.52, 0.5, 0.5), None))  # 0.02 below the 5th percentile
    assert redraws.interval(1) == pytest.approx((0.56, 0.64))
    assert percentile_of(differences, 0.10) == pytest.approx(100 * 50 / 101)


def test_a_bias_corrected_interval_moves_by_the_redraws_own_bias():
    # Approach 1 lands 0.10 below the law's a = 0.5 in every redraw, give or take 0.05.
    every = np.column_stack([0.4 + np.linspace(-0.05, 0.05, 101), np.full(101, 0.5), np.full(101, 0.5)])
    redraws = Redraws(LAW_05, every, every.copy(), ())
    assert redraws.bias(1) == pytest.approx(-0.1) and redraws.bias(2) == pytest.approx(0.0)
    assert redraws.interval(1) == pytest.approx((0.36, 0.44))
    assert redraws.bias_corrected_interval(1) == pytest.approx((0.46, 0.54))


def test_failed_fits_are_counted_and_left_out():
    every = np.array([[0.5, math.nan, 0.6], [0.4, 0.55, math.nan], [0.45, 0.5, 0.62]])
    redraws = Redraws(LAW_05, every, every, (None, None, None))
    assert redraws.failures(2) == 1 and redraws.failures(3) == 1 and redraws.failures(1) == 0
    assert redraws.differences(2, 3).tolist() == pytest.approx([0.5 - 0.62])
    assert redraws.predicted_losses(1e5, 1e7).size == 0
    assert math.isnan(percentile_of(np.array([math.nan]), 0.1))


def test_a_prediction_interval_adds_the_seed_noise_of_the_mean_to_the_fits_own_error():
    # Redraws whose laws sit 0.00-0.04 above the truth (E shifted, 101 of them): the fit overshoots by up to
    # 0.04, so the observation lies 0.004-0.036 nats below the prediction (10-90%) when seeds add nothing.
    shifts = np.linspace(0.0, 0.04, 101)
    laws = tuple(ParametricFit(f"E + {d:g}", E=LAW_05.E + d, A=LAW_05.A, B=LAW_05.B, alpha=LAW_05.alpha,
                               beta=LAW_05.beta) for d in shifts)
    redraws = Redraws(LAW_05, np.zeros((101, 3)), np.zeros((101, 3)), laws)
    centre = float(parametric_loss(LAW_05, 1e6, 4e7))
    low, high = parametric_redraws.prediction_interval(redraws, 1e6, 4e7, seed_sd=0.0, n_seeds=2)
    assert (low, high) == pytest.approx((centre - 0.036, centre - 0.004), abs=1e-9)
    # Seed noise alone (laws all at the truth): a normal of sd 0.02 / sqrt(2), 10-90% = +-1.2816 sd, to the
    # accuracy of 101 draws.
    exact = Redraws(LAW_05, np.zeros((101, 3)), np.zeros((101, 3)), (LAW_05,) * 101)
    low, high = parametric_redraws.prediction_interval(exact, 1e6, 4e7, seed_sd=0.02, n_seeds=2)
    assert (high - low) / 2 == pytest.approx(1.2816 * 0.02 / math.sqrt(2), rel=0.25)
    with pytest.raises(ValueError, match="at least one seed"):
        parametric_redraws.prediction_interval(exact, 1e6, 4e7, seed_sd=0.02, n_seeds=0)


def test_a_redraw_count_below_one_is_refused():
    with pytest.raises(ValueError, match="positive number of simulated sweeps, got 0"):
        redraw(one_seed_grid(), LAW_05, NoiseStructure(0.01, 0.5), n_sweeps=0)


def test_coverage_counts_how_often_the_interval_holds_the_truth():
    # Little noise (0.002 nats): every sweep lands near 0.5 and its interval is narrow; Approach 2's
    # interval is as wide as its own spread, so it holds the truth in most sweeps, not all or none.
    found = parametric_redraws.coverage(LAW_05, one_seed_grid(), NoiseStructure(0.002, 0.5), n_sweeps=6,
                                        n_redraws=10, seed=3, approaches=(2,))
    result = found[2]
    assert set(found) == {2} and result.n_sweeps == 6
    assert 3 <= result.covered <= 6
    assert abs(result.median_estimate - 0.5) < 0.02 and result.mean_half_width < 0.03
    assert result.estimate_half_width < 0.03 and 3 <= result.covered_bias_corrected <= 6


def test_prediction_coverage_tallies_each_planned_run():
    # Little noise: the law is found almost exactly, so the interval is about the seed noise of a mean of
    # two (sd 0.002 / sqrt 2, half-width about 0.0018).
    planned = [(708_096.0, 2.52e14 / (6 * 708_096)), (3_154_560.0, 2.52e14 / (6 * 3_154_560))]
    found = parametric_redraws.prediction_coverage(LAW_05, one_seed_grid(), NoiseStructure(0.002, 0.5), planned,
                                                   seed_sd=0.002, n_seeds=2, n_sweeps=2, n_redraws=3, seed=1)
    assert set(found) == set(planned)
    for covered, n, half_width in found.values():
        assert n == 2 and 0.0 < half_width < 0.02  # 3 redraws: a rough percentile of the seed noise
