"""The tuning grid and its selection criterion (scalinglaws.sweeps.tuning), against known ground truth."""

import math

import pytest

from scalinglaws.papers import counting
from scalinglaws.sweeps import tuning
from scalinglaws.training import wsd_plan

#: Ground truth of the synthetic records: lr*(N) = 0.003 (N / 1e5)^-0.45, inside the grid at every size.
TRUE_LR_AT_100K, TRUE_EXPONENT = 0.003, 0.45


def true_lr(n_params: float) -> float:
    return TRUE_LR_AT_100K * (n_params / 1e5) ** -TRUE_EXPONENT


def synthetic_records(best_lr=true_lr, beta2_gain=lambda n_params: 0.02, diverged=lambda spec: False):
    """Records of the real grid whose losses are a parabola in log lr around ``best_lr(N)``, beta2 = 0.99
    better by ``beta2_gain(N)``, longer runs lower (the same at every lr, so the averaged vertex is exact)."""
    records = []
    for spec in tuning.tuning_specs():
        config = spec.config
        n_params = counting.params_total(config.shape)
        loss = (2.0 - 0.1 * math.log(n_params / 1e5) - 0.05 * (config.steps / 4000)
                + 0.03 * math.log(config.peak_lr / best_lr(n_params)) ** 2
                - (beta2_gain(n_params) if config.betas[1] == 0.99 else 0.0))
        records.append({"run_id": spec.run_id, "params_total": n_params, "train_config": config.to_dict(),
                        "final_loss": None if diverged(spec) else loss})
    return records


def test_the_ladder_is_one_family_of_heads_of_16():
    shapes = [tuning.head16_shape(n_layers) for n_layers in tuning.TUNING_LAYERS]
    assert [(s.n_layers, s.d_model, s.n_heads, s.n_ctx) for s in shapes] == [
        (2, 32, 2, 128), (3, 48, 3, 128), (4, 64, 4, 128), (5, 80, 5, 128), (6, 96, 6, 128)]
    assert {s.head_dim for s in shapes} == {16} and {s.d_model / s.n_layers for s in shapes} == {16}
    sizes = [counting.params_total(s) for s in shapes]
    assert sizes == sorted(sizes) and sizes[0] == 37_760 and sizes[-1] == 708_096
    with pytest.raises(ValueError, match="starts at 2 layers"):
        tuning.head16_shape(1)


def test_weight_decay_holds_the_decay_timescale():
    for lr in (5e-4, 2e-3, 1.66e-2):
        assert 1 / (lr * tuning.weight_decay_for(lr)) == pytest.approx(tuning.DECAY_TIMESCALE_STEPS, rel=1e-12)
    with pytest.raises(ValueError, match="positive"):
        tuning.weight_decay_for(0.0)


def test_the_grid_is_two_lengths_of_every_size_lr_and_beta2():
    specs = tuning.tuning_specs()
    assert len(specs) == 5 * 4 * 2 * 2 and len({spec.run_id for spec in specs}) == len(specs)
    trunks = [work for work in wsd_plan.plan(specs) if isinstance(work, wsd_plan.Trunk)]
    assert len(trunks) == 5 * 4 * 2
    for trunk in trunks:
        assert sorted(spec.config.steps for spec in trunk.branches) == [4000, 8000]
    for n_layers in tuning.TUNING_LAYERS:
        lrs = sorted({spec.config.peak_lr for spec in specs if spec.config.shape.n_layers == n_layers})
        assert len(lrs) == 4 and lrs[-1] / lrs[0] == pytest.approx(8, rel=0.01)
        n_params = counting.params_total(tuning.head16_shape(n_layers))
        assert lrs[2] == pytest.approx(tuning.centre_lr(n_params), rel=2e-3)  # the untuned rule (3 digits) is on the grid
    assert {spec.config.betas for spec in specs} == {(0.9, 0.95), (0.9, 0.99)}
    assert {spec.config.batch_size for spec in specs} == {4}
    assert all(spec.config.schedule == "wsd" and spec.config.warmup_steps == 200 for spec in specs)


def test_the_fit_recovers_the_rule_the_records_were_made_with():
    rule = tuning.fit_tuned_rule(synthetic_records())
    assert rule.beta2 == 0.99
    assert rule.lr_rule.lr_at_100k == pytest.approx(TRUE_LR_AT_100K, rel=1e-9)
    assert rule.lr_rule.exponent == pytest.approx(TRUE_EXPONENT, rel=1e-9)
    assert rule.lr_rule.peak_lr(2e5) == pytest.approx(true_lr(2e5), rel=1e-9)


def test_beta2_is_the_one_that_wins_at_more_sizes_not_the_lower_sum():
    # 0.99 wins big at the two smallest sizes, 0.95 narrowly at the other three: 0.95 wins on count.
    gain = lambda n_params: 0.2 if n_params < 2e5 else -0.01  # noqa: E731
    bests = tuning.best_learning_rates_by_beta2(synthetic_records(beta2_gain=gain))
    assert tuning.chosen_beta2(bests) == 0.95
    assert sum(min(b.losses) for b in bests[0.99]) < sum(min(b.losses) for b in bests[0.95])


def test_a_best_at_the_grid_edge_is_refused_with_the_size_named():
    low = lambda n_params: tuning.centre_lr(n_params) / 10 if n_params > 5e5 else true_lr(n_params)  # noqa: E731
    bests = tuning.best_learning_rates_by_beta2(synthetic_records(best_lr=low))
    assert [b.at_edge for b in bests[0.99]] == [False, False, False, False, True]
    with pytest.raises(ValueError, match="edge of the rates tried for N = 708,096"):
        tuning.fit_tuned_rule(synthetic_records(best_lr=low))


def test_a_diverged_neighbour_counts_as_an_edge():
    biggest_lr = max(spec.config.peak_lr for spec in tuning.tuning_specs() if spec.config.shape.n_layers == 2)
    high = lambda n_params: biggest_lr / 2 if n_params < 5e4 else true_lr(n_params)  # noqa: E731
    records = synthetic_records(best_lr=high, diverged=lambda spec: spec.config.peak_lr == biggest_lr)
    smallest = [bests[0] for bests in tuning.best_learning_rates_by_beta2(records).values()]
    assert all(b.n_params == 37_760 and b.at_edge and math.isinf(b.losses[-1]) for b in smallest)
    assert all(b.best_lr == pytest.approx(biggest_lr / 2, rel=0.01) for b in smallest)


def test_records_missing_a_length_are_refused():
    records = synthetic_records()
    with pytest.raises(ValueError, match="same number of lengths"):
        tuning.best_learning_rates_by_beta2(records[1:])


def test_the_upper_extension_continues_the_grid_by_factors_of_2_with_new_run_ids():
    lower, upper = tuning.tuning_specs(), tuning.tuning_specs(lr_factors=tuning.UPPER_LR_FACTORS)
    assert len(upper) == 5 * 2 * 2 * 2 and not {s.run_id for s in lower} & {s.run_id for s in upper}
    for n_layers in tuning.TUNING_LAYERS:
        lrs = sorted({s.config.peak_lr for s in lower + upper if s.config.shape.n_layers == n_layers})
        assert len(lrs) == 6 and all(b / a == pytest.approx(2, rel=0.01) for a, b in zip(lrs, lrs[1:]))


def test_the_committed_rule_is_the_fit_of_the_committed_tuning_records():
    """results/tuning/rule.json (written by `python -m scalinglaws.sweeps.tuning write-rule`) is what the
    criterion gives on the 120 committed runs; a least-squares line may differ in its last bits
    between processors' LAPACK, hence rel=1e-12."""
    records = tuning.committed_records()
    assert len(records) == len(tuning.tuning_specs()) + len(tuning.tuning_specs(lr_factors=tuning.UPPER_LR_FACTORS))
    fitted, committed = tuning.fit_tuned_rule(records), tuning.read_rule()
    assert committed.beta2 == fitted.beta2
    assert committed.lr_rule.lr_at_100k == pytest.approx(fitted.lr_rule.lr_at_100k, rel=1e-12)
    assert committed.lr_rule.exponent == pytest.approx(fitted.lr_rule.exponent, rel=1e-12)


def test_the_tuned_sweep_trains_with_the_committed_rule_to_two_figures():
    from scalinglaws.sweeps import tuned_sweep

    recipe, rule = tuned_sweep.tuned_recipe(), tuning.read_rule()
    assert recipe.lr_rule == rule.lr_rule.rounded(2) and recipe.beta2 == rule.beta2


def test_a_damaged_rule_file_is_refused_with_its_path(tmp_path):
    path = tmp_path / "rule.json"
    path.write_text('{"lr_at_100k": 0.007}')
    with pytest.raises(ValueError, match="rule.json: not a tuned rule"):
        tuning.read_rule(path)


def test_the_grid_s_description_is_the_committed_header_s():
    """DESCRIPTION prints the pilot rule it is centred on; the committed header must still match it."""
    from scalinglaws.data.results import load_results

    header, _ = load_results(tuning.OUT)
    assert header["description"] == tuning.DESCRIPTION
