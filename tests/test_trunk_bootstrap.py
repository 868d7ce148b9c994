"""The trunk noise measurement and the trunk bootstrap (scalinglaws.fitting.trunk_noise, .trunk_bootstrap)
against synthetic sweeps whose noise structure and exponent are known."""

import math
import time

import numpy as np
import pytest

from scalinglaws.fitting.design import Grid, centred_grid
from scalinglaws.fitting.trunk_bootstrap import (
    fit_approach2_on_seed_means,
    resampled_trunks,
    trunk_bootstrap,
    trunk_bootstrap_records,
)
from scalinglaws.fitting.trunk_noise import NoiseStructure, SeedRuns, draw_noise, measure_noise
from scalinglaws.papers.constants import ParametricFit

#: A law like the reference sweep's (Approach 3 with a = 0.5 held, fitted to results/tuned's seed means).
LAW = ParametricFit("a = 0.5", E=1.218, A=65.82, B=459.9, alpha=0.4868, beta=0.4868)


def noisy(grid: Grid, noise: NoiseStructure, rng) -> SeedRuns:
    clean = grid.seed_runs(LAW)
    return clean.with_loss(clean.loss + draw_noise(clean.trunk, noise, rng))


def records_of(runs: SeedRuns, trunk_in_branch: bool = True) -> list[dict]:
    out = []
    for i in range(len(runs)):
        record = {"run_id": f"run{i}", "budget": runs.budget[i], "params_total": runs.params[i],
                  "tokens": runs.tokens[i], "final_loss": runs.loss[i], "seed": int(runs.seed[i]), "diverged": False}
        if trunk_in_branch:
            record["branch"] = {"trunk": runs.trunk[i]}
        else:
            record["trunk"] = runs.trunk[i]
        out.append(record)
    return out


@pytest.mark.parametrize("fraction", [0.0, 0.5, 0.9])
def test_the_measured_noise_recovers_the_sd_and_trunk_fraction_it_was_drawn_with(fraction):
    grid = centred_grid(LAW, 1e13 * 2.0 ** np.arange(8), n_sizes=5, n_seeds=4)
    rng = np.random.default_rng(3)
    measured = [measure_noise(noisy(grid, NoiseStructure(0.02, fraction), rng)) for _ in range(10)]
    sd = np.mean([m.sd for m in measured])
    rho = np.mean([m.trunk_fraction for m in measured])
    assert sd == pytest.approx(0.02, rel=0.05)
    assert rho == pytest.approx(fraction, abs=0.06)
    # The share of the sum of squares the trunks explain overstates rho by (1 - rho) / J (J branches per trunk).
    assert np.mean([m.ss_share for m in measured]) > rho


def test_the_noise_draw_shares_the_offset_within_a_trunk():
    trunk = np.repeat(np.arange(4000), 2)
    draws = draw_noise(trunk, NoiseStructure(0.02, 0.6), np.random.default_rng(0))
    pairs = draws.reshape(-1, 2)
    assert np.std(draws) == pytest.approx(0.02, rel=0.03)
    assert np.corrcoef(pairs.T)[0, 1] == pytest.approx(0.6, abs=0.04)


def test_records_need_a_seed_and_a_trunk_and_either_place_of_the_trunk_works():
    runs = centred_grid(LAW, (1e13, 2e13, 4e13), 5, 2).seed_runs(LAW)
    for in_branch in (True, False):
        back = SeedRuns.from_records(records_of(runs, in_branch))
        assert np.array_equal(back.loss, runs.loss) and set(back.trunk) == set(runs.trunk)
    records = records_of(runs)
    del records[3]["seed"]
    with pytest.raises(ValueError, match="run3: no 'seed'"):
        SeedRuns.from_records(records)
    records = records_of(runs)
    del records[5]["branch"]
    with pytest.raises(ValueError, match="run5: no trunk id"):
        SeedRuns.from_records(records)
    records = records_of(runs)
    records[0]["budget"] = -1e13
    with pytest.raises(ValueError, match="budget must be a positive finite number, got -1e\\+13"):
        SeedRuns.from_records(records)
    with pytest.raises(ValueError, match="got none"):
        SeedRuns.from_records([])
    with pytest.raises(ValueError, match="several sizes or seeds"):
        SeedRuns(runs.budget, runs.params, runs.tokens, runs.loss, runs.seed, np.zeros(len(runs)))


def test_one_seed_per_size_has_nothing_to_redraw():
    runs = centred_grid(LAW, (1e13, 2e13, 4e13), 5, 1).seed_runs(LAW)
    with pytest.raises(ValueError, match="1 trunk: a trunk bootstrap needs 2 or more seeds"):
        trunk_bootstrap(runs, n_resamples=5)
    with pytest.raises(ValueError, match="Approach 1 or 2"):
        trunk_bootstrap(runs, approach=3)


def test_a_redrawn_cell_mean_has_the_variance_of_a_mean_of_its_seeds():
    # One size, one cell of 3 seeds: redrawn with the sqrt(S / (S - 1)) factor, the cell mean's variance
    # is the sample variance over 3, the standard error of the mean (without it: 2/3 of that).
    runs = SeedRuns(np.full(3, 1e13), np.full(3, 1e5), np.full(3, 1e13 / 6e5), np.array([2.00, 2.03, 1.98]),
                    np.arange(3), np.array(["t0", "t1", "t2"]))
    rng = np.random.default_rng(0)
    means = np.array([resampled_trunks(runs, rng).loss.mean() for _ in range(6000)])
    assert means.mean() == pytest.approx(runs.loss.mean(), abs=1e-3)
    assert means.var() == pytest.approx(runs.loss.var(ddof=1) / 3, rel=0.06)


def test_a_redrawn_trunk_keeps_all_its_branches_together():
    runs = noisy(centred_grid(LAW, 1e13 * 2.0 ** np.arange(4), 5, 3), NoiseStructure(0.02, 0.5),
                 np.random.default_rng(1))
    replicate = resampled_trunks(runs, np.random.default_rng(2))
    assert len(replicate) == len(runs)
    for label in np.unique(replicate.trunk):
        mine = replicate.trunk == label
        original = runs.trunk == label.split("#")[0]
        assert np.array_equal(np.sort(replicate.budget[mine]), np.sort(runs.budget[original]))


def test_trunk_bootstrap_intervals_cover_the_true_a_about_80_percent_of_the_time():
    """100 sweeps (4 budgets 2x apart, 5 sizes over 16x, 3 seeds, noise 0.0225 nats with half of it
    shared along each trunk); each gets 40 trunk replicates (few, to keep this under a minute: the
    percentiles of 40 draws are rough, which widens the spread of coverage a little, not its centre)."""
    start = time.perf_counter()
    noise = NoiseStructure(0.0225, 0.5)
    rng = np.random.default_rng(11)
    covered = 0
    for sweep in range(100):
        grid = centred_grid(LAW, 1e13 * 2.0 ** np.arange(4), 5, 3, phase=rng.uniform())
        result = trunk_bootstrap(noisy(grid, noise, rng), n_resamples=40, seed=sweep)
        low, high = result.interval("a")
        covered += low <= 0.5 <= high
    assert 70 <= covered <= 90, f"10-90% intervals covered the true a in {covered} of 100 sweeps"
    assert time.perf_counter() - start < 120


def test_records_route_and_approach_1():
    runs = noisy(centred_grid(LAW, 1e13 * 2.0 ** np.arange(4), 5, 3), NoiseStructure(0.0225, 0.5),
                 np.random.default_rng(5))
    full = fit_approach2_on_seed_means(runs)
    result = trunk_bootstrap_records(records_of(runs), n_resamples=30)
    low, high = result.interval("a")
    assert result.n_succeeded == 30 and low < full.a < high
    envelope = trunk_bootstrap(runs, approach=1, n_resamples=5)
    assert envelope.n_resamples == 5 and math.isfinite(envelope.interval("a")[0])


def test_drifting_noise_has_the_correlation_it_was_drawn_with_at_each_distance():
    """Ground truth: 3,000 trunks of 4 lengths 2x apart, drawn with c = 0.4 and l = 0.8 log2 tokens; the
    sample correlations at distances 1, 2, 3 match the kernel, and the fit gives back c and l."""
    from scalinglaws.fitting.trunk_noise import DriftingNoise, fit_drifting_noise, lag_correlations

    noise = DriftingNoise(0.02, 0.4, 0.8)
    n_trunks, seeds = 1500, 2
    tokens = np.tile(1e6 * 2.0 ** np.arange(4), n_trunks * seeds)
    params = np.repeat(1e5 * 1.1 ** np.arange(n_trunks), 4 * seeds)  # every size its own cells
    seed = np.tile(np.repeat(np.arange(seeds), 4), n_trunks)
    trunk = np.array([f"{n}-{s}" for n, s in zip(params, seed)])
    clean = SeedRuns(6 * params * tokens, params, tokens, np.full(tokens.size, 2.0), seed, trunk)
    drawn = clean.with_loss(clean.loss + noise.draw(clean, np.random.default_rng(0)))
    assert np.std(drawn.loss - 2.0) == pytest.approx(0.02, rel=0.03)
    for distance, corr, pairs in lag_correlations(drawn):
        assert corr == pytest.approx(float(noise.correlation(distance)), abs=0.04), distance
    fitted = fit_drifting_noise(drawn, sd=0.02)
    assert fitted.constant_fraction == pytest.approx(0.4, abs=0.05)
    assert fitted.length_scale == pytest.approx(0.8, abs=0.1)


def test_drifting_noise_refuses_impossible_settings():
    from scalinglaws.fitting.trunk_noise import DriftingNoise

    with pytest.raises(ValueError, match="constant fraction"):
        DriftingNoise(0.02, 1.5, 0.8)
    with pytest.raises(ValueError, match="length scale"):
        DriftingNoise(0.02, 0.4, 0.0)
