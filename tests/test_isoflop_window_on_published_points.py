"""The IsoFLOP window (fitting.approach2.ISOFLOP_WINDOW) on Hoffmann et al.'s own IsoFLOP runs, the
points Besiroglu et al. (2024) extracted from Figure 4: a real published set whose profiles span
up to ~100x in N. Deterministic: fixed data, a fixed robust parabola fit."""

import numpy as np
import pytest

from scalinglaws.data.chinchilla_data import load_chinchilla_points
from scalinglaws.fitting.approach2 import ISOFLOP_WINDOW, fit_approach2
from scalinglaws.papers import constants


@pytest.fixture(scope="module")
def fits():
    runs = load_chinchilla_points()
    return fit_approach2(runs), fit_approach2(runs, window=ISOFLOP_WINDOW)


def _profiled(fit):
    return {p.budget: p for p in fit.profiles if p.usable}


def test_both_fits_use_hoffmann_s_nine_budgets_and_land_inside_table_2_s_interval(fits):
    low, high = constants.approach(2).table_2.a_interval
    for fit in fits:
        assert sorted(_profiled(fit)) == sorted(constants.APPROACH2_BUDGETS)
        assert low < fit.a < high


def test_the_window_cuts_the_worst_profile_s_lack_of_fit_by_leaving_out_its_far_points(fits):
    whole, windowed = (_profiled(fit) for fit in fits)
    worst = max(whole, key=lambda budget: whole[budget].lack_of_fit)
    assert worst == 1e19 and whole[worst].lack_of_fit > 0.05  # a parabola through all 32 runs misses
    assert windowed[worst].lack_of_fit < 0.025 < windowed[worst].worst_left_out
    assert max(p.lack_of_fit for p in windowed.values()) < 0.025
    for budget, profile in windowed.items():  # every run is kept where the window holds the whole profile
        kept = sum(profile.in_window)
        assert 3 <= kept <= profile.n_runs
        if kept == profile.n_runs:
            assert np.isnan(profile.worst_left_out)


def test_the_window_moves_a_by_less_than_0_01_on_these_points(fits):
    whole, windowed = fits
    assert abs(windowed.a - whole.a) < 0.01
