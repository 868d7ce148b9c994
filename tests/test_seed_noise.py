"""Seed means, pooled seed spread and seed resampling (scalinglaws.fitting.seed_noise) against known truth."""

import math

import numpy as np
import pytest

from scalinglaws.data.results import records_to_runs
from scalinglaws.fitting import seed_noise


def record(budget, params, seed, loss, lr=1e-3, curve=None):
    return {"run_id": f"C{budget:g}-N{params}-lr{lr}-seed{seed}", "budget": budget, "corpus": "c",
            "params_total": params, "params_non_embedding": params // 2, "tokens": budget / (6 * params),
            "flops_6nd": budget, "train_config": {"shape": {"width": params}, "peak_lr": lr, "seed": seed}, "final_loss": loss,
            "diverged": loss is None, "curve_tokens": [1.0, 2.0] if curve else [], "curve_loss": curve or []}


def test_seed_means_and_spread_by_hand():
    records = [record(1e12, 100, 0, 2.0, curve=[3.0, 2.0]), record(1e12, 100, 1, 2.2, curve=[3.2, 2.2]),
               record(1e12, 100, 2, 2.4, curve=[3.4, 2.4]), record(1e12, 200, 0, 1.9), record(1e12, 200, 1, 2.1),
               record(1e12, 100, 0, 5.0, lr=2e-3)]  # another setting: its own cell
    means = seed_noise.seed_mean_records(records)
    assert [m["n_seeds"] for m in means] == [3, 2, 1]
    assert [m["final_loss"] for m in means] == pytest.approx([2.2, 2.0, 5.0])
    assert means[0]["curve_loss"] == pytest.approx([3.2, 2.2]) and means[0]["seeds"] == [0, 1, 2]
    # Pooled: (2 x 0.2^2 + 1 x (0.1 sqrt 2)^2) / 3 = (0.08 + 0.02) / 3.
    spread = seed_noise.pooled_seed_sd(records, by="budget")[1e12]
    assert spread.sd == pytest.approx(math.sqrt(0.1 / 3)) and (spread.dof, spread.n_cells) == (3, 2)
    by_size = seed_noise.pooled_seed_sd(records, by="params_total")
    assert by_size[100].sd == pytest.approx(0.2) and by_size[200].sd == pytest.approx(math.sqrt(0.02))
    runs = records_to_runs(means)
    assert list(runs.loss) == pytest.approx([2.2, 2.0, 5.0])


def test_the_pooled_spread_recovers_the_noise_the_seeds_were_drawn_with():
    rng = np.random.default_rng(0)
    true_sd = 0.015
    records = [record(budget, params, seed, 2.0 - 0.1 * math.log10(params) + rng.normal(0, true_sd))
               for budget in (1e12, 1e13) for params in (100, 200, 400, 800, 1600) for seed in range(4)]
    spreads = seed_noise.pooled_seed_sd(records)
    for spread in spreads.values():
        assert spread.dof == 15
        assert spread.sd == pytest.approx(true_sd, rel=3 / math.sqrt(2 * spread.dof))  # 3 standard errors


def test_a_seed_bootstrap_spreads_a_cell_mean_by_its_standard_error():
    losses = [2.00, 2.03, 1.98, 2.05]
    records = [record(1e12, 100, seed, loss) for seed, loss in enumerate(losses)]
    rng = np.random.default_rng(1)
    draws = np.array([seed_noise.resampled_seed_means(records, rng)[0]["final_loss"] for _ in range(4000)])
    assert draws.mean() == pytest.approx(np.mean(losses), abs=2e-3)
    # The bootstrap's standard error of a mean of n draws: the population sd (ddof 0) / sqrt(n).
    assert draws.std() == pytest.approx(np.std(losses) / 2, rel=0.05)
    assert set(np.round(draws, 6)) <= {round(v, 6) for v in np.linspace(1.98, 2.05, 701)}


def test_diverged_seeds_are_left_out_of_the_mean_and_a_repeated_seed_is_refused():
    records = [record(1e12, 100, 0, 2.0), record(1e12, 100, 1, None), record(1e12, 200, 0, None)]
    first, second = seed_noise.seed_mean_records(records)
    assert first["final_loss"] == 2.0 and first["n_seeds"] == 1 and not first["diverged"]
    assert second["final_loss"] is None and second["diverged"] and second["n_seeds"] == 0
    with pytest.raises(ValueError, match="repeat a seed"):
        seed_noise.cells([record(1e12, 100, 0, 2.0), record(1e12, 100, 0, 2.1)])
    with pytest.raises(ValueError, match="pool by"):
        seed_noise.pooled_seed_sd(records, by="seed")


def test_the_seed_spread_table_prints_each_pooled_sd_and_what_it_rests_on():
    records = [record(1e12, 100, 0, 2.0), record(1e12, 100, 1, 2.2), record(2e12, 100, 0, 1.9),
               record(2e12, 200, 0, 1.8), record(2e12, 200, 1, 1.9), record(2e12, 200, 2, 2.0)]
    lines = seed_noise.format_seed_spread(seed_noise.pooled_seed_sd(records)).splitlines()
    assert lines[0].split() == ["budget", "(FLOPs)", "cells", "dof", "seed", "sd", "(nats)"]
    assert lines[2].split() == ["1e+12", "1", "1", f"{0.2 / math.sqrt(2):.4f}"]
    assert lines[3].split() == ["2e+12", "1", "2", "0.1000"]  # the 1-seed cell adds nothing
    assert "not measured" in seed_noise.format_seed_spread(seed_noise.pooled_seed_sd(records[2:3]))
