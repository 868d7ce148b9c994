"""The decisive GPU sweep's grid (preset 'gpu-decisive') and its seed-by-seed runner's settings."""

import math

import pytest

from scalinglaws.papers import counting
from scalinglaws.sweeps import gpu_sweep
from scalinglaws.sweeps.grid import build_grid
from scalinglaws.sweeps.presets import GPU_MAX_EPOCHS, GUTENBERG409_TRAIN_BYTES, get_preset, shape_family
from scalinglaws.training.train import COMPILE_ENV, Engine, compile_wanted

DECISIVE = get_preset("gpu-decisive")


def test_two_decades_of_compute_with_five_centred_sizes_per_budget():
    grid = build_grid(DECISIVE)
    assert DECISIVE.corpus == "gutenberg409"
    assert max(DECISIVE.budgets) / min(DECISIVE.budgets) >= 100
    for budget in DECISIVE.budgets:
        sizes = sorted(counting.params_total(spec.config.shape) for spec in grid if spec.budget == budget)
        assert len(sizes) == 5
        # Centred: the size nearest the guessed optimum N* = sqrt(C / 6r) is the middle one of the five.
        centre = math.sqrt(budget / (6 * DECISIVE.tokens_per_param_guess))
        assert min(sizes, key=lambda n: abs(math.log(n / centre))) == sizes[2]
    assert len(grid) == 25


def test_one_shape_family_fixed_head_size_and_aspect_ratio():
    for spec in build_grid(DECISIVE):
        shape = spec.config.shape
        assert (shape.head_dim, shape.d_model // shape.n_layers, shape.d_model % shape.n_layers) == (16, 16, 0)
        assert shape.n_ctx == 128


def test_no_run_sees_more_than_four_epochs_and_every_run_has_hundreds_of_steps():
    grid = build_grid(DECISIVE)
    assert max(spec.config.tokens for spec in grid) <= GPU_MAX_EPOCHS * GUTENBERG409_TRAIN_BYTES
    assert min(spec.config.steps for spec in grid) >= 300


def test_seed_zero_is_the_preset_and_other_seeds_change_only_the_seed():
    assert gpu_sweep.seeded(DECISIVE, 0) is DECISIVE  # OUT/seed0 is what `sweep --preset gpu-decisive` writes
    other = gpu_sweep.seeded(DECISIVE, 2)
    assert other.name == "gpu-decisive-seed2"
    for first, second in zip(build_grid(DECISIVE), build_grid(other), strict=True):
        assert second.run_id == first.run_id.replace("-seed0", "-seed2")
        assert second.config.seed == 2 and second.config.steps == first.config.steps
    with pytest.raises(ValueError, match="got -1"):
        gpu_sweep.seeded(DECISIVE, -1)


def test_bad_settings_are_refused_naming_the_value(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="head_size=16, aspect_ratio=24"):
        shape_family(range(1, 3), head_size=16, aspect_ratio=24)
    with pytest.raises(ValueError, match="at least one seed"):
        gpu_sweep.run_seeds(tmp_path, [])
    with pytest.raises(SystemExit):
        gpu_sweep.main(["--toy", "--out", str(tmp_path), "--jobs", "0"])
    monkeypatch.setenv(COMPILE_ENV, "yes")
    with pytest.raises(ValueError, match="SCALINGLAWS_COMPILE must be 0.*got 'yes'"):
        Engine.default()
    monkeypatch.setenv(COMPILE_ENV, "0")
    assert not compile_wanted()
    monkeypatch.delenv(COMPILE_ENV)
    assert compile_wanted()


def test_describe_lists_every_run():
    text = gpu_sweep.describe(DECISIVE, seeds=2)
    assert "25 runs per seed" in text and "2 seed(s)" in text
    assert len([line for line in text.splitlines() if line.strip().startswith(("7e+12", "2.2e+13", "7e+13",
                                                                                "2.2e+14", "7e+14"))]) == 25
