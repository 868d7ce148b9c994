"""Pairing a fixed-horizon sweep with its matched twin (chapter 14)."""

import json

import numpy as np
import pytest

from scalinglaws.fitting.fixed_horizon_pairs import cycle_tokens, pair_runs


def record(run_id, loss, steps, schedule_steps=None, lr=0.01, budget=1e12, diverged=False, params=10_000):
    config = {"shape": {"n_layers": 1, "d_model": 16, "n_heads": 2, "n_ctx": 128}, "steps": steps,
              "batch_size": 8, "peak_lr": lr, "seed": 0, "weight_decay": 0.1, "betas": [0.9, 0.95],
              "grad_clip": 1.0, "warmup_fraction": 0.05, "warmup_max_steps": 200, "eval_sequences": 64}
    if schedule_steps is not None:
        config["schedule_steps"] = schedule_steps
    return {"kind": "run", "run_id": run_id, "budget": budget, "params_total": params, "tokens": steps * 8 * 128,
            "final_loss": None if diverged else loss, "diverged": diverged, "train_config": config}


def write(path, *records):
    lines = [{"kind": "header", "preset": path.stem}, *records]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def test_pairs_carry_the_penalty_and_how_far_down_the_cycle_each_run_stopped(tmp_path):
    matched = write(tmp_path / "matched.jsonl", record("a", 2.0, 100), record("b", 1.9, 400, params=20_000))
    fixed = write(tmp_path / "fixed.jsonl", record("b", 1.9, 400, schedule_steps=400, params=20_000),
                  record("a", 2.1, 100, schedule_steps=400))
    pairs = pair_runs(matched, fixed)
    assert pairs.run_ids == ("a", "b")  # sorted by budget, then size, whatever the file's order
    np.testing.assert_allclose(pairs.cycle_fraction, [0.25, 1.0])
    np.testing.assert_allclose(pairs.penalty, [0.1, 0.0], atol=1e-12)
    assert "+0.1000" in pairs.table()
    assert cycle_tokens(record("c", 2.0, 100, schedule_steps=400)) == 400 * 8 * 128


def test_a_diverged_run_is_left_out_of_the_pairs(tmp_path):
    matched = write(tmp_path / "matched.jsonl", record("a", 2.0, 100), record("b", 1.9, 400))
    fixed = write(tmp_path / "fixed.jsonl", record("a", 2.1, 100, schedule_steps=400, diverged=True),
                  record("b", 1.9, 400, schedule_steps=400))
    assert pair_runs(matched, fixed).run_ids == ("b",)


def test_runs_that_differ_in_more_than_the_schedule_are_refused(tmp_path):
    matched = write(tmp_path / "matched.jsonl", record("a", 2.0, 100, lr=0.01))
    fixed = write(tmp_path / "fixed.jsonl", record("a", 2.1, 100, schedule_steps=400, lr=0.02))
    with pytest.raises(ValueError, match="differ in peak_lr, not only in the schedule's length"):
        pair_runs(matched, fixed)


def test_a_run_without_a_partner_is_refused(tmp_path):
    matched = write(tmp_path / "matched.jsonl", record("a", 2.0, 100))
    fixed = write(tmp_path / "fixed.jsonl", record("z", 2.1, 100, schedule_steps=400))
    with pytest.raises(ValueError, match="1 run.s. of .* are not in .*e.g. z"):
        pair_runs(matched, fixed)
