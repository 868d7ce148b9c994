"""The reference sweep's grid (scalinglaws.sweeps.tuned_sweep): the promises of its docstring, checked."""

import pytest

from scalinglaws.fitting import seed_noise
from scalinglaws.papers import constants, counting
from scalinglaws.sweeps import tuned_sweep, tuning
from scalinglaws.sweeps.learning_rate_rule import LearningRateRule
from scalinglaws.training import wsd_plan
from synthetic_sweeps import RECIPE, synthetic_records



@pytest.fixture(scope="module")
def specs():
    return tuned_sweep.sweep_specs(RECIPE)


def test_every_run_has_the_step_floor_and_at_most_four_epochs(specs):
    cap = tuned_sweep.MAX_EPOCHS * tuned_sweep.DEFAULT_TRAIN_BYTES
    assert min(spec.config.steps for spec in specs) >= tuned_sweep.MIN_STEPS == 4000
    assert max(spec.config.tokens for spec in specs) <= cap
    for spec in specs:  # each run spends its budget within one step's tokens
        n = counting.params_total(spec.config.shape)
        assert abs(6 * n * spec.config.tokens - spec.budget) <= 6 * n * spec.config.tokens_per_step / 2


def test_every_run_id_is_unique_and_names_its_budget_to_three_figures(specs):
    """sqrt(2)-spaced budgets collide at one figure (1.6e13 and 2.26e13 are both 2e+13)."""
    assert len({spec.run_id for spec in specs}) == len(specs)
    for spec in specs:
        assert spec.run_id.startswith(f"C{spec.budget:.3g}-")


def test_the_train_split_size_is_the_corpus_s():
    from scalinglaws.data.corpus import corpus_info
    assert corpus_info("default")["bytes"]["train"] == tuned_sweep.DEFAULT_TRAIN_BYTES


def test_every_isoflop_budget_has_three_sizes_and_every_point_three_seeds(specs):
    for budget in tuned_sweep.BUDGETS:
        sizes = {spec.config.shape for spec in specs if spec.budget == budget}
        assert len(sizes) >= 3, budget
    records = [{"run_id": spec.run_id, "budget": spec.budget, "corpus": spec.corpus,
                "train_config": spec.config.to_dict(), "final_loss": 1.0} for spec in specs]
    assert {cell.n_seeds for cell in seed_noise.cells(records)} == {tuned_sweep.SEEDS} == {3}


def test_one_trunk_per_size_and_seed_with_a_branch_at_every_length(specs):
    trunks = wsd_plan.plan(specs)
    assert all(isinstance(t, wsd_plan.Trunk) for t in trunks)
    assert len(trunks) == len(tuned_sweep.LAYERS) * tuned_sweep.SEEDS
    for trunk in trunks:
        n = counting.params_total(trunk.config.shape)
        assert sorted(spec.config.steps for spec in trunk.branches) == sorted(tuned_sweep.lengths_for(trunk.config.shape).values())
    planned, alone = wsd_plan.cost(trunks)
    assert planned < 0.5 * alone  # the branches are what makes three seeds affordable


def test_extra_lengths_lie_below_a_size_s_isoflop_budgets_sqrt2_apart():
    for n_layers in tuned_sweep.LAYERS:
        lengths = tuned_sweep.lengths_for(tuning.head16_shape(n_layers))
        extra = [b for b in lengths if b not in tuned_sweep.BUDGETS]
        isoflop = [b for b in lengths if b in tuned_sweep.BUDGETS]
        assert isoflop and all(b < min(isoflop) for b in extra)
        budgets = sorted(lengths)
        assert all(b2 / b1 == pytest.approx(2 ** 0.5, rel=0.01) for b1, b2 in zip(budgets, budgets[1:]))


def test_the_recipe_sets_lr_beta2_and_the_decay_timescale():
    fields = RECIPE.config_fields(2e5)
    assert fields["peak_lr"] == pytest.approx(0.003 * 2 ** -0.45, rel=2e-3)
    assert fields["betas"] == (0.9, 0.99)
    assert 1 / (fields["peak_lr"] * fields["weight_decay"]) == pytest.approx(tuning.DECAY_TIMESCALE_STEPS)
    fixed = tuned_sweep.Recipe(LearningRateRule(0.003, 0.45), 0.95, decay_timescale_steps=None)
    assert fixed.config_fields(2e5)["weight_decay"] == 0.1


def test_the_heldout_runs_are_the_predicted_pair_at_3x_the_sweep_s_largest_budget():
    from scalinglaws.fitting import prediction
    from scalinglaws.fitting.powerlaw import PowerLawFit
    assert tuned_sweep.HELDOUT_BUDGET >= 3 * max(tuned_sweep.BUDGETS)
    ladder = [tuning.head16_shape(n) for n in tuned_sweep.HELDOUT_LAYERS]
    law = {"approach1": PowerLawFit(0.5, 0.03)}
    p = prediction.predict(tuned_sweep.HELDOUT_BUDGET, law, constants.BESIROGLU_REFIT, ladder)
    specs = tuned_sweep.heldout_specs(p, RECIPE)
    assert len(specs) == 2 * tuned_sweep.HELDOUT_SEEDS
    assert {counting.params_total(s.config.shape) for s in specs} == {p.optimum.n_params, p.twin.n_params}
    for spec in specs:  # each spends the budget, with the recipe's rate for its own N
        n = counting.params_total(spec.config.shape)
        assert 6 * n * spec.config.tokens == pytest.approx(spec.budget, rel=1e-3)
        assert spec.config.peak_lr == pytest.approx(RECIPE.lr_rule.peak_lr(n), rel=2e-3)
        assert spec.config.steps >= tuned_sweep.MIN_STEPS


def test_the_sweep_s_fits_recover_the_exponent_of_the_law_its_runs_were_drawn_from():
    """A law with a = 0.5 whose optimum crosses the ladder within the budgets, 0.004 nats of seed noise.

    Approach 1's tolerance is the widest on purpose: its envelope can only elect one of five sizes
    2-2.7x apart over an 8x span of budgets, and on these records (seeds 0-2 of the noise) it reads
    0.43-0.44 for the true 0.50: a property of the grid, which the book must state with its number."""
    from scalinglaws.papers.constants import ParametricFit
    from scalinglaws.papers.laws import allocation_exponents, optimal_allocation
    law = ParametricFit("synthetic", E=1.0, A=60.0, B=300.0, alpha=0.35, beta=0.35)
    a_true, _ = allocation_exponents(law)
    n_small, _ = optimal_allocation(law, tuned_sweep.BUDGETS[0])
    n_large, _ = optimal_allocation(law, tuned_sweep.BUDGETS[-1])
    assert 4e4 < n_small < n_large < 7e5  # inside the ladder: every profile has a minimum to find
    fits = tuned_sweep.fit_sweep_records(synthetic_records(law), n_bootstrap=20)
    assert fits.approach3.a == pytest.approx(a_true, abs=0.03)
    assert fits.approach2.a == pytest.approx(a_true, abs=0.08)
    assert fits.approach1.a == pytest.approx(a_true, abs=0.1)
    for budget, spread in fits.seed_sd_by_budget.items():
        assert spread.sd == pytest.approx(0.004, rel=0.6) and spread.dof >= 6
    for name, result in fits.bootstrap.items():
        low, high = result.interval("a")
        assert result.n_succeeded >= 15 and low < high, name


def test_the_untuned_recipe_is_the_cpu_preset_s():
    recipe = tuned_sweep.untuned_recipe()
    assert (recipe.lr_rule.lr_at_100k, recipe.lr_rule.exponent) == (0.0052, 0.48)
    fields = recipe.config_fields(1e5)
    assert fields["betas"] == (0.9, 0.95) and fields["weight_decay"] == 0.1


def test_a_prediction_from_the_fits_of_a_synthetic_sweep_trains_a_ladder_shape(tmp_path):
    from scalinglaws.papers.constants import ParametricFit
    law = ParametricFit("synthetic", E=1.0, A=60.0, B=300.0, alpha=0.35, beta=0.35)
    fits = tuned_sweep.fit_sweep_records(synthetic_records(law), n_bootstrap=2)
    p = tuned_sweep.predict_from(fits)
    assert p.flops == tuned_sweep.HELDOUT_BUDGET
    assert p.optimum.shape in tuned_sweep.heldout_ladder() and p.twin.n_params > 3 * p.optimum.n_params
    assert p.predicted_gap > 0


def test_one_seed_is_seed_0_of_the_full_grid_same_runs_same_hashes(specs):
    """`run --seeds 1` trains a subset of the reference grid: its records complete the committed ones."""
    one = tuned_sweep.sweep_specs(RECIPE, seeds=1)
    full = {spec.run_id: spec.settings_hash() for spec in specs}
    assert len(one) * tuned_sweep.SEEDS == len(specs)
    assert all(full[spec.run_id] == spec.settings_hash() and spec.config.seed == 0 for spec in one)


@pytest.mark.parametrize("value", ["0", "4", "two"])
def test_a_bad_seed_count_is_refused_by_value(value):
    with pytest.raises(SystemExit, match="--seeds"):
        tuned_sweep.main(["plan", "--seeds", value])


def test_the_description_names_the_seeds_and_weight_decay_each_grid_trains_with():
    """The committed header's line is reproduced; the untuned grid's says one seed and a fixed wd."""
    from scalinglaws.data.results import load_results

    header, _ = load_results(tuned_sweep.OUT)
    assert header["description"] == tuned_sweep.description(tuned_sweep.tuned_recipe())
    untuned = tuned_sweep.description(tuned_sweep.untuned_recipe(), seeds=1)
    assert "1 seed," in untuned and "weight decay 0.1." in untuned and "0.0052 (N/1e5)^-0.48" in untuned
    assert "decay timescale" not in untuned and "3 seeds" in tuned_sweep.description(tuned_sweep.tuned_recipe())
