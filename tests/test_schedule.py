"""Warmup then cosine to exactly 10% of the peak at the last step (Hoffmann et al. 2022, App. B)."""

import numpy as np
import pytest

from scalinglaws.constants import COSINE_FINAL_LR_FRACTION
from scalinglaws.schedule import learning_rate, warmup_steps_for

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
