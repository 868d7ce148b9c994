"""Seed noise against run length (scalinglaws.fitting.step_floor, scalinglaws.sweeps.step_floor)."""

import math

import numpy as np
import pytest

from scalinglaws.fitting import step_floor
from scalinglaws.fitting.seed_noise import PooledSpread
from scalinglaws.sweeps import step_floor as step_floor_sweep
from scalinglaws.sweeps.tuned_sweep import Recipe
from scalinglaws.sweeps.learning_rate_rule import LearningRateRule
from scalinglaws.training import wsd_plan


def test_the_floor_is_the_shortest_length_whose_noise_and_every_longer_ones_stay_within_tolerance():
    sds = {500: 0.020, 1000: 0.040, 2000: 0.027, 4000: 0.022}
    # 2,000: 0.027 <= 1.25 x 0.022 = 0.0275; 1,000 is 1.8x; 500 is within but lies below 1,000
    assert step_floor.supported_floor(sds, 4000) == 2000
    assert step_floor.supported_floor({**sds, 1000: 0.0270}, 4000) == 500
    assert step_floor.supported_floor({**sds, 2000: 0.0280}, 4000) == 4000
    assert step_floor.supported_floor({**sds, 8000: 0.5}, 4000) == 2000  # longer than the reference: not judged


def test_the_floor_rule_refuses_a_missing_reference_or_a_tolerance_below_one():
    with pytest.raises(ValueError, match="reference length 4,000"):
        step_floor.supported_floor({500: 0.02}, 4000)
    with pytest.raises(ValueError, match="ratio of at least 1"):
        step_floor.supported_floor({4000: 0.02}, 4000, tolerance=0.9)


def test_the_sd_interval_is_the_chi_square_one_and_covers_the_truth_at_its_level():
    low, high = step_floor.sd_interval(PooledSpread(0.02, 15, 3))
    assert low < 0.02 < high
    assert (low, high) == pytest.approx((0.02 * math.sqrt(15 / 24.9958), 0.02 * math.sqrt(15 / 7.26094)), rel=1e-4)
    rng = np.random.default_rng(0)
    draws = rng.normal(0, 0.03, size=(4000, 16)).std(axis=1, ddof=1)
    covered = [lo <= 0.03 <= hi for lo, hi in (step_floor.sd_interval(PooledSpread(s, 15, 1)) for s in draws)]
    assert np.mean(covered) == pytest.approx(0.9, abs=0.015)


def test_the_simulated_rule_finds_the_floor_of_a_noise_free_truth_with_many_seeds():
    """Ground truth: with 200 seeds the pooled sds are nearly exact, so the rule states the true floor."""
    flat = step_floor.simulate_floor_rule({500: 0.02, 1000: 0.02, 2000: 0.02, 4000: 0.02}, 3, 200, 4000, 0.8,
                                          n_experiments=200)
    assert flat[500] == 1.0
    jump = step_floor.simulate_floor_rule({500: 0.02, 1000: 0.04, 2000: 0.02, 4000: 0.02}, 3, 200, 4000, 0.8,
                                          n_experiments=200)
    assert jump[2000] == 1.0 and sum(jump.values()) == pytest.approx(1.0)


def test_the_grid_is_one_trunk_per_size_and_seed_with_a_branch_at_each_length():
    recipe = Recipe(LearningRateRule(0.0072, 0.49), 0.99)
    specs = step_floor_sweep.step_floor_specs(recipe)
    trunks = wsd_plan.plan(specs)
    assert len(trunks) == len(step_floor_sweep.LAYERS) * step_floor_sweep.SEEDS == 18
    for trunk in trunks:
        assert sorted(spec.config.steps for spec in trunk.branches) == list(step_floor_sweep.LENGTHS)
        assert {spec.config.batch_size for spec in trunk.branches} == {4}
        # The reference sweep's warmup, not 5% of the 500-step branch (25 steps): see the amendment.
        assert {spec.config.warmup_steps for spec in trunk.branches} == {200}
    assert len({spec.run_id for spec in specs}) == len(specs) == 72


def test_the_committed_design_is_what_the_design_command_writes():
    committed = step_floor_sweep.OUT / "DESIGN.md"
    assert committed.read_text() == step_floor_sweep.design_text()
