"""Which of the 245 extracted points are kept moves Approach 3's a (Chapter 6, 'Drop ten')."""

import numpy as np
import pytest

from scalinglaws.data import chinchilla_data
from scalinglaws.fitting import fit_approach3


@pytest.fixture(scope="module")
def all_points():
    return chinchilla_data.load_chinchilla_points()


def test_the_five_dropped_points_are_large_models_on_the_smallest_budget(all_points):
    # Chapter 6: Besiroglu et al.'s five highest losses are 2-7B-parameter runs at about 1e19
    # FLOPs, the five runs with the fewest tokens per parameter.
    highest = np.argsort(all_points.loss)[-5:]
    assert np.all((2e9 < all_points.params[highest]) & (all_points.params[highest] < 7e9))
    assert np.all(np.abs(np.log10(all_points.flops[highest]) - 19) < 0.05)
    fewest_tokens = np.argsort(all_points.tokens / all_points.params)[:5]
    assert set(highest) == set(fewest_tokens)


def test_dropping_ten_points_gives_a_0509(all_points):
    fit = fit_approach3(chinchilla_data.besiroglu_selection(all_points, n_dropped=10))
    assert fit.a == pytest.approx(0.509, abs=5e-4)
    assert (fit.alpha, fit.beta, fit.E) == pytest.approx((0.346, 0.358, 1.807), abs=5e-4)
