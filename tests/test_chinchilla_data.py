"""Besiroglu et al.'s 245 points from Hoffmann Figure 4: size, selection and checksum."""

import numpy as np
import pytest

from scalinglaws.data.chinchilla_data import (N_POINTS, URL, besiroglu_selection, load_besiroglu_points,
                                              load_chinchilla_points)
from scalinglaws.data.download import ChecksumError, relative_path
from scalinglaws.papers import constants


@pytest.fixture(scope="module")
def points():
    return load_chinchilla_points()


def test_245_points_and_d_is_c_over_6n(points):
    assert len(points) == N_POINTS == 245
    np.testing.assert_allclose(points.tokens, points.flops / (6 * points.params))
    # Ranges of Figure 4 (Besiroglu et al. Section 2): 57M-16B parameters, losses 2.08-5.01.
    assert 5e7 < points.params.min() < 6e7 and 1.6e10 < points.params.max() < 1.7e10
    assert points.loss.min() == pytest.approx(2.0774, abs=1e-4)
    assert points.loss.max() == pytest.approx(5.0056, abs=1e-4)


def test_besiroglu_selection_drops_the_5_highest_losses(points):
    selected = besiroglu_selection(points)
    assert len(selected) == 240 == N_POINTS - constants.BESIROGLU_DROPPED_POINTS
    dropped = np.sort(points.loss)[-5:]
    assert selected.loss.max() < dropped.min()
    assert len(load_besiroglu_points()) == 240


def test_points_carry_hoffmann_s_nine_isoflop_budgets(points):
    budgets = points.budgets()
    counts = {budget: int(np.sum(budgets == budget)) for budget in constants.APPROACH2_BUDGETS}
    assert all(count >= 10 for count in counts.values()), counts
    assert sum(counts.values()) == 182  # of 245; the 5 highest losses (dropped later) are at 1e19
    # The other points (Approach 1 runs at any C) keep their own C: budgets of one.
    elsewhere = ~np.isin(budgets, constants.APPROACH2_BUDGETS)
    np.testing.assert_array_equal(budgets[elsewhere], points.flops[elsewhere])


def test_approach2_on_figure_4_profiles_every_budget(points):
    from scalinglaws.fitting import fit_approach2

    fit = fit_approach2(besiroglu_selection(points))
    used = [profile.budget for profile in fit.profiles if profile.usable]
    assert used == list(constants.APPROACH2_BUDGETS)
    # Hoffmann Table 2, Approach 2: a = 0.49 (0.462-0.534).
    assert 0.462 <= fit.a <= 0.534


def test_corrupted_mirror_copy_raises_checksum_error(tmp_path):
    mirror = tmp_path / "mirror"
    bad = mirror / relative_path(URL)
    bad.parent.mkdir(parents=True)
    bad.write_text("Model Size,Training FLOP,loss\n1,2,3\n")
    with pytest.raises(ChecksumError, match="sha256 mismatch"):
        load_chinchilla_points(root=tmp_path / "cache", mirror=mirror)
