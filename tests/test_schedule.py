"""Warmup then cosine to exactly 10% of the peak at the last step (Hoffmann et al. 2022, App. B)."""

import numpy as np
import pytest

from scalinglaws.papers.constants import COSINE_FINAL_LR_FRACTION
from scalinglaws.training.schedule import learning_rate, warmup_steps_for

PEAK, TOTAL, WARMUP = 3e-3, 1000, 50


def schedule(total=TOTAL, warmup=WARMUP):
    return np.array([learning_rate(step, total, PEAK, warmup) for step in range(total)])


def test_warmup_is_linear_from_near_zero_to_peak():
    lrs = schedule()[:WARMUP]
    assert lrs[0] == pytest.approx(PEAK / WARMUP)
    assert lrs[-1] == pytest.approx(PEAK)
    assert np.allclose(np.diff(lrs), PEAK / WARMUP)


@pytest.mark.parametrize("total, warmup", [(1000, 50), (7, 1), (2, 1), (333, 16)])
def test_cosine_ends_exactly_at_ten_percent_of_peak(total, warmup):
    assert COSINE_FINAL_LR_FRACTION == 0.1
    assert schedule(total, warmup)[-1] == COSINE_FINAL_LR_FRACTION * PEAK


def test_monotone_after_warmup_and_halfway_at_the_midpoint():
    lrs = schedule()
    assert np.all(np.diff(lrs[WARMUP - 1:]) < 0)
    assert lrs.max() == pytest.approx(PEAK)
    decay_steps = TOTAL - WARMUP
    middle = WARMUP - 1 + decay_steps // 2
    assert lrs[middle] == pytest.approx((PEAK + COSINE_FINAL_LR_FRACTION * PEAK) / 2, rel=1e-3)


def test_warmup_is_short():
    assert warmup_steps_for(1000) == 50
    assert warmup_steps_for(100_000) == 200
    assert warmup_steps_for(2) == 1


@pytest.mark.parametrize("step, total, warmup", [(10, 10, 2), (-1, 10, 2), (0, 10, 0), (0, 10, 10)])
def test_bad_arguments_are_refused(step, total, warmup):
    with pytest.raises(ValueError):
        learning_rate(step, total, PEAK, warmup)


# --- warmup-stable-decay (Hagele et al. 2024) -------------------------------------------------

from scalinglaws.training.schedule import COOLDOWN_SHAPES, cooldown_steps_for, wsd_learning_rate  # noqa: E402


def wsd(total=TOTAL, warmup=WARMUP, cooldown=200, shape="1-sqrt"):
    return np.array([wsd_learning_rate(step, total, PEAK, warmup, cooldown, shape) for step in range(total)])


@pytest.mark.parametrize("shape", sorted(COOLDOWN_SHAPES))
def test_wsd_warms_up_holds_the_peak_then_cools_down_to_zero(shape):
    lrs = wsd(shape=shape)
    assert np.array_equal(lrs[:WARMUP], schedule()[:WARMUP])  # the cosine's warmup
    assert np.all(lrs[WARMUP - 1:TOTAL - 200] == PEAK)  # constant up to the branch point
    assert lrs[TOTAL - 200] < PEAK and lrs[-1] == 0.0
    assert np.all(np.diff(lrs[TOTAL - 201:]) < 0)


def test_cooldown_shapes_at_half_way():
    lrs_linear, lrs_sqrt = wsd(shape="linear"), wsd(shape="1-sqrt")
    half = TOTAL - 200 + 100 - 1  # the 100th of 200 cooldown steps
    assert lrs_linear[half] == pytest.approx(PEAK / 2)
    assert lrs_sqrt[half] == pytest.approx(PEAK * (1 - 0.5 ** 0.5))


def test_cooldown_steps_round_a_fraction_of_the_run():
    assert cooldown_steps_for(1000, 0.2) == 200
    assert cooldown_steps_for(7, 0.2) == 1
    assert cooldown_steps_for(2, 0.9) == 1  # always leaves a step before it


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 1.5, float("nan")])
def test_a_cooldown_fraction_outside_zero_one_is_refused(fraction):
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        cooldown_steps_for(100, fraction)


@pytest.mark.parametrize("warmup, cooldown, shape", [(0, 10, "linear"), (95, 10, "linear"), (5, 0, "linear"),
                                                     (5, 100, "linear"), (5, 10, "cosine")])
def test_bad_wsd_arguments_are_refused(warmup, cooldown, shape):
    with pytest.raises(ValueError):
        wsd_learning_rate(0, 100, PEAK, warmup, cooldown, shape)
