"""Training: deterministic from a seed, a tiny model learns Shakespeare, divergence is recorded."""

import math

import numpy as np
import pytest
import torch

from scalinglaws.data.corpus import load_tokens
from scalinglaws.papers.counting import TransformerShape
from scalinglaws.training.train import Engine, TrainConfig, eval_schedule, train, validation_windows

SHAPE = TransformerShape(n_layers=1, d_model=32, n_heads=4, n_ctx=64)


@pytest.fixture(autouse=True, scope="module")
def _one_thread(one_thread):
    """Every test in this file trains in-process on one thread."""


@pytest.fixture(scope="module")
def shakespeare():
    return load_tokens("shakespeare", "train", progress=False), load_tokens("shakespeare", "validation", progress=False)


def config(**changes):
    settings = dict(shape=SHAPE, steps=60, batch_size=8, peak_lr=3e-3, eval_sequences=32, n_eval_points=5)
    settings.update(changes)
    return TrainConfig(**settings)


def test_same_seed_gives_identical_losses_on_cpu(shakespeare):
    first = train(config(seed=3), *shakespeare, Engine())
    second = train(config(seed=3), *shakespeare, Engine())
    other = train(config(seed=4), *shakespeare, Engine())
    assert first.curve_loss == second.curve_loss
    assert first.initial_loss == second.initial_loss
    assert other.curve_loss != first.curve_loss


def test_a_tiny_model_learns_shakespeare(shakespeare):
    result = train(config(steps=400, batch_size=16, n_eval_points=12, eval_sequences=128), *shakespeare, Engine())
    assert not result.diverged
    assert result.initial_loss == pytest.approx(math.log(256), abs=0.05)
    # Unigram byte entropy of English is ~3.0 nats... a model that learns context goes below it.
    assert result.final_loss < 2.7
    assert result.curve_loss[-1] < result.curve_loss[0] - 1.0
    assert result.tokens_seen == 400 * 16 * 64
    assert result.curve_tokens[-1] == result.tokens_seen
    assert len(result.curve_tokens) == 12


def test_an_absurd_learning_rate_is_recorded_as_diverged_without_raising(shakespeare):
    result = train(config(steps=200, peak_lr=50.0), *shakespeare, Engine())
    assert result.diverged
    assert math.isnan(result.final_loss)
    assert result.steps_done < 200


def test_a_nan_in_the_loss_stops_the_run(shakespeare, monkeypatch):
    import torch
    import torch.nn.functional as F

    real = F.cross_entropy
    calls = {"n": 0}

    def poisoned(*args, **kwargs):
        loss = real(*args, **kwargs)
        if not torch.is_grad_enabled():  # a held-out evaluation, not a training step
            return loss
        calls["n"] += 1
        return loss * float("nan") if calls["n"] == 5 else loss

    monkeypatch.setattr(F, "cross_entropy", poisoned)
    result = train(config(steps=50), *shakespeare, Engine())
    assert result.diverged and result.steps_done == 5


def test_evaluation_points_are_log_spaced_and_end_at_the_last_step():
    steps = eval_schedule(10_000, 14, 0.02)
    assert steps[0] == 200 and steps[-1] == 10_000 and len(steps) == 14
    ratios = np.diff(np.log(steps))
    assert np.allclose(ratios, ratios[0], atol=0.005)  # equal steps in log, up to rounding
    assert eval_schedule(5, 14)[-1] == 5  # short runs: unique points, still ending at the last step


def test_validation_subset_is_fixed_and_spread_over_the_split():
    data = np.arange(10_000) % 251
    windows = validation_windows(data, 10, 64)
    assert windows.shape == (10, 65)
    assert windows[0, 0] == 0 and windows[-1, -1] == data[-1]
    assert np.array_equal(windows.numpy(), validation_windows(data, 10, 64).numpy())


def test_schedule_steps_plans_a_longer_cosine_cycle(shakespeare, monkeypatch):
    """Hoffmann et al. 2022, App. B: the cycle may be planned for more steps than the run takes."""
    from scalinglaws.training import train as train_module
    from scalinglaws.training.schedule import learning_rate

    used = []

    def recording(step, total_steps, peak, warmup_steps):
        used.append((total_steps, warmup_steps))
        return learning_rate(step, total_steps, peak, warmup_steps)

    monkeypatch.setattr(train_module, "learning_rate", recording)
    matched = train(config(steps=40, n_eval_points=2), *shakespeare, Engine())
    assert set(used) == {(40, 2)}  # warmup 5% of 40 steps
    used.clear()
    long = train(config(steps=40, n_eval_points=2, schedule_steps=80), *shakespeare, Engine())
    assert set(used) == {(80, 4)}  # cycle and warmup both planned for 80 steps
    assert len(used) == 40 and long.steps_done == 40  # the run still stops after 40
    assert long.curve_tokens == matched.curve_tokens
    # At the last step a matched cycle is at 10% of the peak, the 2x one near its middle.
    assert learning_rate(39, 40, 1.0, 2) == pytest.approx(0.1)
    assert learning_rate(39, 80, 1.0, 4) == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 36 / 76)))
    assert long.curve_loss != matched.curve_loss


def test_schedule_steps_equal_to_steps_is_the_default_run(shakespeare):
    default = train(config(steps=30, n_eval_points=2), *shakespeare, Engine())
    explicit = train(config(steps=30, n_eval_points=2, schedule_steps=30), *shakespeare, Engine())
    assert explicit.curve_loss == default.curve_loss


def test_a_cycle_shorter_than_the_run_is_refused():
    with pytest.raises(ValueError, match="schedule_steps must be at least steps=60"):
        config(schedule_steps=59)


def test_schedule_steps_leaves_existing_settings_hashes_unchanged():
    """A config without schedule_steps hashes as before the field existed, so the cpu sweep
    started before it (results/cpu/results.jsonl, header grid_hash) still resumes."""
    from scalinglaws.sweeps import runner
    from scalinglaws.sweeps.grid import build_grid
    from scalinglaws.sweeps.presets import get_preset

    assert "schedule_steps" not in config().to_dict()
    assert config(schedule_steps=120).to_dict()["schedule_steps"] == 120
    for preset, grid_hash in [("cpu", "91ec0ac2009a1125"), ("demo", "82866b490b391429")]:
        specs = build_grid(get_preset(preset))
        assert runner.header_for(preset, "", specs)["grid_hash"] == grid_hash


def test_train_model_returns_the_model_whose_loss_train_reports(shakespeare):
    from scalinglaws.training.train import train_model

    settings = config(steps=30, n_eval_points=2)
    model, result = train_model(settings, *shakespeare, Engine())
    assert result.curve_loss == train(settings, *shakespeare, Engine()).curve_loss
    windows = validation_windows(shakespeare[1], settings.eval_sequences, SHAPE.n_ctx)
    with torch.no_grad():
        _, loss = model.eval()(windows[:, :-1], windows[:, 1:])
    assert loss.item() == pytest.approx(result.final_loss, rel=1e-5)


def test_wsd_config_settings_and_refusals():
    """A 'wsd' run states its schedule in its settings (so its hash differs from the cosine run's);
    a cooldown outside (0, 1), a cooldown on a cosine run or a warmup past the cooldown is refused."""
    from dataclasses import replace

    from scalinglaws.papers.counting import TransformerShape
    from scalinglaws.training.train import TrainConfig

    cosine = TrainConfig(shape=TransformerShape(1, 8, 1, n_ctx=16), steps=100, batch_size=2, peak_lr=1e-3)
    wsd = replace(cosine, schedule="wsd")
    assert "schedule" not in cosine.to_dict() and wsd.to_dict()["schedule"] == "wsd"
    assert (wsd.cooldown_steps, wsd.stable_steps, wsd.warmup) == (20, 80, 5)
    assert [wsd.learning_rate(s) for s in (4, 79)] == [1e-3, 1e-3] and wsd.learning_rate(99) == 0.0
    for bad in (dict(cooldown_fraction=1.0), dict(cooldown_fraction=0.0), dict(warmup_steps=81),
                dict(cooldown_shape="cosine"), dict(schedule_steps=200), dict(schedule="constant")):
        with pytest.raises(ValueError):
            replace(wsd, **bad)
    with pytest.raises(ValueError, match="belong to schedule='wsd'"):
        replace(cosine, cooldown_fraction=0.3)
