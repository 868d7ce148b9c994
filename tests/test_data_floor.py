"""The data floor measured from runs (scalinglaws.fitting.data_floor) and the grid that measures it
(scalinglaws.sweeps.fixed_data): fits recover the floor of data generated from a known size curve,
the verdicts follow the pre-registered rule, and the grid is Appendix D's pair plus larger models on
Gopher's unchanged data."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scalinglaws.data.committed_results import sweep_results
from scalinglaws.data.results import load_results
from scalinglaws.fitting.data_floor import SizeCurve, fit_size_curve, seed_bootstrap
from scalinglaws.papers.counting import params_total
from scalinglaws.sweeps import fixed_data
from scalinglaws.sweeps.grid import committed_record

SIZES = (75_072, 174_656, 280_368, 484_416, 803_152)


def test_size_curve_recovers_a_known_floor_exactly():
    truth = SizeCurve(floor=1.9, slope=13.68, alpha=0.313)
    fitted = fit_size_curve(SIZES, truth.loss(SIZES), truth.alpha)
    assert fitted.floor == pytest.approx(1.9, abs=1e-9)
    assert fitted.slope == pytest.approx(13.68, rel=1e-9)


@pytest.mark.parametrize("bad", [(SIZES[:1], [2.0]), (SIZES[:2], [2.0, math.nan]), ((0, 10), [2.0, 1.9])])
def test_size_curve_refuses_bad_input(bad):
    with pytest.raises(ValueError):
        fit_size_curve(*bad, alpha=0.3)


def _draws(truth: SizeCurve, reference: float, sd: float, seeds: int, rng) -> tuple[dict, np.ndarray]:
    losses = {n: truth.loss(n) + rng.normal(0, sd, seeds) for n in SIZES}
    return losses, reference + rng.normal(0, sd / 10, seeds)


def test_a_floor_well_below_the_reference_is_read_as_a_win_for_larger_models():
    rng = np.random.default_rng(1)
    losses, reference = _draws(SizeCurve(1.5, 13.68, 0.313), 2.3, 0.01, 4, rng)
    estimate = seed_bootstrap(losses, reference, 0.313, n_bootstrap=300)
    low, high = estimate.floor_interval
    assert low < 1.5 < high and high - low < 0.1
    assert "a larger model would win" in estimate.verdict()


def test_every_size_losing_and_a_high_floor_is_read_as_the_claim_holding():
    rng = np.random.default_rng(2)
    losses, reference = _draws(SizeCurve(2.2, 13.68, 0.313), 2.0, 0.01, 4, rng)
    estimate = seed_bootstrap(losses, reference, 0.313, n_bootstrap=300)
    assert estimate.verdict() == "every size tried loses; the fitted floor lies above the reference: no size would win"
    assert all(low > 0 for low, _ in estimate.gap_intervals)


def test_the_bootstrap_needs_two_seeds_per_model():
    with pytest.raises(ValueError, match="seed"):
        seed_bootstrap({1000: [2.0], 2000: [1.9, 1.8]}, [1.7, 1.8], 0.3)


def test_the_grid_is_appendix_ds_pair_and_larger_models_on_gophers_data():
    approach2, _ = fixed_data.cpu_laws()
    pair = fixed_data.contestants(approach2)
    assert (params_total(pair["Chinchilla"]), params_total(pair["Gopher"])) == (16_488, 75_072)
    specs = fixed_data.fixed_data_specs(pair)
    assert len(specs) == 6 * len(fixed_data.SEEDS)
    assert sorted({params_total(s.config.shape) for s in specs}) == sorted({16_488, *SIZES})
    gopher = [s for s in specs if params_total(s.config.shape) != 16_488]
    # Gopher's data unchanged for every larger model: the same bytes, batch and steps.
    assert {(s.config.tokens, s.config.batch_size, s.config.steps) for s in gopher} == {(665_600, 8, 650)}
    # Chinchilla's seed 0 is the committed `cpu` sweep's run, settings and all.
    _, records = load_results(sweep_results("cpu"))
    chinchilla0 = next(s for s in specs if params_total(s.config.shape) == 16_488 and s.config.seed == 0)
    assert committed_record(records, chinchilla0)["final_loss"] == pytest.approx(2.0272, abs=5e-5)
