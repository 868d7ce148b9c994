"""Besiroglu et al.'s 245 points from Hoffmann Figure 4: size, selection and checksum."""

import numpy as np
import pytest

from scalinglaws import constants
from scalinglaws.chinchilla_data import (N_POINTS, URL, besiroglu_selection, load_besiroglu_points,
                                         load_chinchilla_points)
from scalinglaws.download import ChecksumError, relative_path


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


def test_points_carry_isoflop_budget_labels(points):
    budgets = points.budgets()
    assert all(run.budget is not None for run in points)
    # Hoffmann's budgets 1e19 ... 3e21 hold many points; e.g. more than 20 within 10% of 1e19.
    near_1e19 = np.abs(np.log(budgets / 1e19)) < 0.1
    assert near_1e19.sum() > 20


def test_corrupted_mirror_copy_raises_checksum_error(tmp_path):
    mirror = tmp_path / "mirror"
    bad = mirror / relative_path(URL)
    bad.parent.mkdir(parents=True)
    bad.write_text("Model Size,Training FLOP,loss\n1,2,3\n")
    with pytest.raises(ChecksumError, match="sha256 mismatch"):
        load_chinchilla_points(root=tmp_path / "cache", mirror=mirror)
