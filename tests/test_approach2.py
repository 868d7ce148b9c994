"""Approach 2: IsoFLOP profiles (Hoffmann Sec. 3.2), robust to a bad run."""

from dataclasses import replace

import numpy as np
import pytest

from scalinglaws.data.runs import Runs
from scalinglaws.fitting import approach2
from scalinglaws.fitting.approach2 import fit_approach2, fit_isoflop_profile
from scalinglaws.fitting.powerlaw import FitFailure, fit_power_law
from scalinglaws.fitting.synthetic import isoflop_runs
from scalinglaws.papers import constants
from scalinglaws.papers.laws import allocation_exponents, optimal_allocation, parametric_loss

TRUTH = constants.BESIROGLU_REFIT
A_TRUE, B_TRUE = allocation_exponents(TRUTH)


def test_power_law_recovers_exponent_and_coefficient():
    x = np.geomspace(1e18, 1e22, 5)
    fit = fit_power_law(x, 0.1 * x**0.5)
    assert fit.exponent == pytest.approx(0.5) and fit.coefficient == pytest.approx(0.1)
    with pytest.raises(ValueError, match="needs at least 2 points, got 1"):
        fit_power_law([1.0], [2.0])
    with pytest.raises(ValueError, match="must be positive and finite"):
        fit_power_law([1.0, -2.0], [2.0, 3.0])


def test_noise_free_profiles_find_the_law_s_optimum():
    fit = fit_approach2(isoflop_runs(constants.APPROACH2_BUDGETS))
    assert fit.a == pytest.approx(A_TRUE, abs=1e-3)
    assert fit.b == pytest.approx(B_TRUE, abs=1e-3)
    for profile in fit.profiles:
        expected, _ = optimal_allocation(TRUTH, profile.budget)
        assert profile.n_opt == pytest.approx(expected, rel=0.02)
        assert profile.in_range and profile.curvature > 0 and profile.n_outliers == 0


def test_noisy_runs_recover_a_within_002():
    fit = fit_approach2(isoflop_runs(constants.APPROACH2_BUDGETS, noise=0.005, seed=1))
    assert fit.a == pytest.approx(A_TRUE, abs=0.02)
    assert fit.b == pytest.approx(B_TRUE, abs=0.02)


def test_one_wildly_bad_run_does_not_capsize_it():
    runs = list(isoflop_runs(constants.APPROACH2_BUDGETS, noise=0.005, seed=1))
    runs[24] = replace(runs[24], loss=runs[24].loss * 3)  # a loss spike in the 4th budget
    fit = fit_approach2(Runs(tuple(runs)))
    assert fit.a == pytest.approx(A_TRUE, abs=0.02)
    assert [profile.n_outliers for profile in fit.profiles] == [0, 0, 0, 1, 0, 0, 0, 0, 0]
    # Ordinary least squares on the same profile would have been pulled far off.
    bad_budget = [run for run in runs if run.budget == runs[24].budget]
    params = np.log([run.params for run in bad_budget])
    c2, c1, _ = np.polyfit(params, [run.loss for run in bad_budget], 2)
    expected, _ = optimal_allocation(TRUTH, runs[24].budget)
    assert c2 < 0  # the spike in the middle turns the parabola upside down
    assert fit.profiles[3].n_opt == pytest.approx(expected, rel=0.1)


def test_diverged_runs_are_skipped():
    runs = list(isoflop_runs(constants.APPROACH2_BUDGETS, noise=0.005, seed=1))
    runs[24] = replace(runs[24], loss=float("nan"), diverged=True)
    fit = fit_approach2(Runs(tuple(runs)))
    assert fit.profiles[3].n_runs == 6
    assert fit.a == pytest.approx(A_TRUE, abs=0.02)


def test_minimum_outside_the_sampled_sizes_is_flagged_not_used():
    budget = 1e20
    centre, _ = optimal_allocation(TRUTH, budget)
    sizes = centre * np.geomspace(2, 8, 5)  # all larger than N_opt: loss rises throughout
    profile = fit_isoflop_profile(budget, sizes, TRUTH.E + TRUTH.A / sizes**TRUTH.alpha
                                  + TRUTH.B / (budget / (6 * sizes)) ** TRUTH.beta)
    assert not profile.in_range and not profile.usable
    assert profile.reason == "minimum outside the sampled sizes"
    runs = isoflop_runs(constants.APPROACH2_BUDGETS[:3], noise=0.0)
    shifted = [replace(run, params=run.params * 8, tokens=run.tokens / 8,
                       loss=float(parametric_loss(TRUTH, run.params * 8, run.tokens / 8)))
               if run.budget == 3e19 else run for run in runs]
    fit = fit_approach2(Runs(tuple(shifted)))
    assert [p.budget for p in fit.flagged] == [3e19]


def test_a_profile_evaluates_its_parabola_and_names_its_outliers():
    sizes = np.geomspace(1e4, 1e5, 6)
    x = np.log(sizes)
    losses = 3.0 - 0.4 * x + 0.02 * x**2
    losses[2] += 0.5  # one wild run
    profile = fit_isoflop_profile(1e12, sizes, losses)
    assert profile.outliers == (False, False, True, False, False, False) and profile.n_outliers == 1
    np.testing.assert_allclose(profile.loss_at(sizes[[0, 5]]), (3.0 - 0.4 * x + 0.02 * x**2)[[0, 5]], rtol=1e-9)


def test_a_nearly_flat_profile_is_flagged_not_an_overflow():
    """A bootstrap resample of the fixed-horizon sweep drew losses whose parabola was almost a
    line: its vertex lay beyond exp()'s range. It must be flagged like any far minimum."""
    sizes = np.geomspace(1e4, 1e5, 5)
    losses = 2.0 - 0.01 * np.log(sizes) + 1e-9 * np.log(sizes) ** 2
    profile = fit_isoflop_profile(1e12, sizes, losses)
    assert profile.n_opt == np.inf and not profile.usable
    assert profile.reason == "minimum outside the sampled sizes"


def test_too_few_in_range_profiles_is_a_fit_failure():
    runs = isoflop_runs((1e19, 1e20), sizes_per_budget=3, size_span=16.0)
    downwards = [replace(run, loss=5.0 - abs(np.log(run.params) - 20)) for run in runs]
    with pytest.raises(FitFailure, match="fewer than 2 budgets with an in-range minimum"):
        fit_approach2(Runs(tuple(downwards)))


def test_single_budget_or_too_few_sizes_is_a_value_error_saying_what_is_needed():
    expected = r"at least 2 IsoFLOP budgets with >= 3 model sizes each; got 1e\+19 FLOPs: 7 sizes"
    with pytest.raises(ValueError, match=expected):
        fit_approach2(isoflop_runs((1e19,)))
    with pytest.raises(ValueError, match="at least 2 IsoFLOP budgets with >= 3 model sizes"):
        fit_approach2(isoflop_runs((1e19, 1e20), sizes_per_budget=2))


def _drifting_profiles(budgets=np.geomspace(6e18, 3e21, 7)) -> tuple[np.ndarray, list, list]:
    """Noise-free Eq. 2 profiles (Besiroglu's refit) over 120x in N, 9 sizes each, whose sampling
    slides from almost all below the optimum (smallest budget) to almost all above it (largest):
    a fixed ladder under an optimum that moves across it."""
    params, losses = [], []
    for budget, below in zip(budgets, np.geomspace(100, 1.5, budgets.size)):
        n_opt, _ = optimal_allocation(TRUTH, budget)
        sizes = np.geomspace(n_opt / below, n_opt / below * 120, 9)
        params.append(sizes)
        losses.append(parametric_loss(TRUTH, sizes, budget / (6 * sizes)))
    return budgets, params, losses


def test_a_window_around_the_minimum_removes_the_bias_of_a_wide_drifting_profile():
    budgets, params, losses = _drifting_profiles()
    def a_of(window):
        profiles = [fit_isoflop_profile(c, n, loss, window) for c, n, loss in zip(budgets, params, losses)]
        return fit_power_law(budgets, [p.n_opt for p in profiles]).exponent, profiles
    whole, _ = a_of(None)
    windowed, profiles = a_of(approach2.ISOFLOP_WINDOW)
    assert whole - A_TRUE > 0.03  # the parabola leans toward the side with more points
    assert windowed == pytest.approx(A_TRUE, abs=0.002)
    for profile, n in zip(profiles, params):
        kept = np.asarray(n)[list(profile.in_window)]
        assert kept.size >= 3 and kept.max() / kept.min() <= approach2.ISOFLOP_WINDOW ** 2 * 1.0001
        assert profile.lack_of_fit < 0.01 < profile.worst_left_out  # the parabola fits near, not far


def test_the_window_widens_to_three_sizes_and_refuses_a_factor_of_one():
    sizes = np.array([1e4, 1e5, 1e6, 1e7])
    losses = np.array([3.0, 2.0, 2.5, 3.5])
    assert approach2.window_around_minimum(sizes, losses, 2.0).tolist() == [True, True, True, False]
    assert approach2.window_around_minimum(sizes, losses, 10.0).tolist() == [True, True, True, False]
    assert approach2.window_around_minimum(sizes, losses, 100.0).tolist() == [True, True, True, True]
    edge = np.array([1.0, 2.0, 2.5, 3.5])  # the minimum at the smallest size: widen upwards only
    assert approach2.window_around_minimum(sizes, edge, 2.0).tolist() == [True, True, True, False]
    with pytest.raises(ValueError, match="must exceed 1"):
        approach2.window_around_minimum(sizes, losses, 1.0)


def test_without_a_window_the_profile_reports_its_lack_of_fit_over_all_runs():
    sizes = np.geomspace(1e4, 1e6, 7)
    x = np.log(sizes)
    profile = fit_isoflop_profile(1e12, sizes, 2.0 + 0.01 * (x - x.mean()) ** 2)
    assert profile.in_window == (True,) * 7 and profile.lack_of_fit < 1e-9 and np.isnan(profile.worst_left_out)


def test_outliers_judged_against_measured_seed_noise_keep_ordinary_noise_and_drop_a_wild_run():
    sizes = np.geomspace(1e4, 1e5, 6)
    x = np.log(sizes)
    clean = 3.0 - 0.4 * x + 0.02 * x**2
    seed_sd = 0.015
    noisy = clean + seed_sd * np.array([0.1, -0.1, 3.0, 0.05, -0.05, 0.0])  # one 3-sigma seed (noise, if rare), the rest tiny
    assert fit_isoflop_profile(1e12, sizes, noisy).n_outliers == 1  # six residuals' spread calls it an outlier
    assert fit_isoflop_profile(1e12, sizes, noisy, outlier_sd=seed_sd).n_outliers == 0
    wild = noisy.copy()
    wild[4] += 0.5
    profile = fit_isoflop_profile(1e12, sizes, wild, outlier_sd=seed_sd)
    assert profile.outliers == (False, False, False, False, True, False)
    with pytest.raises(ValueError, match="positive standard deviation"):
        fit_isoflop_profile(1e12, sizes, noisy, outlier_sd=0.0)


def test_each_profile_keeps_the_runs_it_was_fitted_to():
    runs = isoflop_runs(constants.APPROACH2_BUDGETS[:3], noise=0.005, seed=1)
    runs = Runs((replace(runs[0], diverged=True, loss=float("nan")), *runs[1:]))
    fit = fit_approach2(runs)
    kept = [run for profile in fit.profiles for run in profile.runs]
    assert sorted(run.name for run in kept) == sorted(run.name for run in runs.without_diverged())
    for profile in fit.profiles:
        assert len(profile.runs) == profile.n_runs == len(profile.outliers)
        assert set(profile.runs.budgets()) == {profile.budget}
        alone = fit_isoflop_profile(profile.budget, profile.runs.params, profile.runs.loss)
        assert alone == profile and alone.runs is None  # the runs do not enter the comparison
