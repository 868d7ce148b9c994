"""The batch-size tuning grid (scalinglaws.sweeps.batch_tuning): its runs, trunks, rates and decay."""

import dataclasses
import math

import pytest

from scalinglaws.papers import counting
from scalinglaws.sweeps import batch_tuning, tuning
from scalinglaws.sweeps.learning_rate_rule import LearningRateRule
from scalinglaws.training import wsd_plan

RULE = LearningRateRule(0.0072, 0.49)


@pytest.fixture(scope="module")
def specs():
    return batch_tuning.batch_tuning_specs(RULE)


def test_one_trunk_per_size_batch_and_rate_with_a_branch_at_each_budget(specs):
    trunks = wsd_plan.plan(specs)
    settings = len(batch_tuning.LAYERS) * len(batch_tuning.BATCHES) * len(batch_tuning.LR_FACTORS)
    assert len(specs) == settings * len(batch_tuning.BUDGETS) and len(trunks) == settings
    for trunk in trunks:
        assert sorted(spec.budget for spec in trunk.branches) == sorted(batch_tuning.BUDGETS)
        assert len({spec.config.batch_size for spec in trunk.branches}) == 1


def test_each_branch_spends_its_budget(specs):
    for spec in specs:
        n_params = counting.params_total(spec.config.shape)
        tokens_per_step = spec.config.batch_size * spec.config.shape.n_ctx
        assert abs(counting.flops_6nd(n_params, spec.config.tokens) - spec.budget) <= 6 * n_params * tokens_per_step / 2


def test_rates_follow_the_square_root_of_the_batch_around_the_tuned_rule(specs):
    """At each size the middle rate of batch 16 is twice that of batch 4 (sqrt(16/4) = 2), and the
    three rates of a batch are a factor 2 apart (to the grid's 3 significant figures)."""
    for n_layers in batch_tuning.LAYERS:
        n_params = counting.params_total(tuning.head16_shape(n_layers))
        rates = {batch: sorted({spec.config.peak_lr for spec in specs
                                if spec.config.shape.n_layers == n_layers and spec.config.batch_size == batch})
                 for batch in batch_tuning.BATCHES}
        assert rates[4][1] == pytest.approx(RULE.peak_lr(n_params), rel=5e-3)
        assert rates[16][1] == pytest.approx(2 * rates[4][1], rel=5e-3)
        assert rates[64][1] == pytest.approx(4 * rates[4][1], rel=5e-3)
        for batch_rates in rates.values():
            assert [b / a for a, b in zip(batch_rates, batch_rates[1:])] == pytest.approx([2, 2], rel=5e-3)


def test_weight_decay_holds_the_tuned_timescale_in_tokens(specs):
    """1 / (lr wd) steps of batch x 128 bytes is 4,000 steps of 4 x 128 bytes, whatever the batch."""
    for spec in specs:
        steps = 1 / (spec.config.peak_lr * spec.config.weight_decay)
        tokens = steps * spec.config.batch_size * spec.config.shape.n_ctx
        assert tokens == pytest.approx(tuning.DECAY_TIMESCALE_STEPS * tuning.BATCH * tuning.N_CTX, rel=1e-9)
    assert batch_tuning.decay_timescale_steps(4) == tuning.DECAY_TIMESCALE_STEPS
    assert batch_tuning.decay_timescale_steps(64) == 250


def test_bad_settings_are_refused_naming_the_value():
    with pytest.raises(ValueError, match="budgets must be positive"):
        batch_tuning.batch_tuning_specs(RULE, budgets=(4e12, -1.0))
    with pytest.raises(ValueError, match="batch=0"):
        batch_tuning.peak_lr_for(100_000, 0, 1.0, RULE)
    with pytest.raises(ValueError, match="at least 2"):
        batch_tuning.batch_tuning_specs(RULE, budgets=(1e6,))


def test_the_grid_is_centred_on_the_committed_rule():
    rule, beta2 = batch_tuning.committed_rule()
    assert beta2 == 0.99 and rule.exponent == pytest.approx(0.492, abs=1e-3)
    assert math.isclose(rule.lr_at_100k, 0.00722, rel_tol=1e-3)


def synthetic_records(best_lr_at_batch, best_batch, curvature=0.05):
    """Records whose loss is a bowl in ln(lr) around best_lr_at_batch(B) plus a bowl in ln(B) around best_batch."""
    records = []
    for n_layers in batch_tuning.LAYERS:
        n_params = counting.params_total(tuning.head16_shape(n_layers))
        for budget in batch_tuning.BUDGETS:
            for batch in batch_tuning.BATCHES:
                centre = best_lr_at_batch(batch)
                for factor in batch_tuning.LR_FACTORS:
                    lr = centre * factor * 1.1
                    loss = (2.0 + curvature * math.log(lr / centre) ** 2
                            + 0.02 * math.log(batch / best_batch) ** 2)
                    records.append({"params_total": n_params, "budget": budget, "final_loss": loss,
                                    "train_config": {"batch_size": batch, "peak_lr": lr}})
    return records


def test_the_criterion_finds_the_rate_and_batch_of_a_known_bowl():
    """Ground truth: losses exactly quadratic in ln(lr) and ln(B) give back the bowls' centres."""
    records = synthetic_records(lambda batch: 0.004 * math.sqrt(batch / 4), best_batch=12.0)
    bests = batch_tuning.best_batches(records)
    assert len(bests) == len(batch_tuning.LAYERS) * len(batch_tuning.BUDGETS)
    for best in bests:
        assert not any(best.lr_at_edge) and not best.batch_at_edge
        assert best.best_lrs == pytest.approx([0.004 * math.sqrt(b / 4) for b in best.batches], rel=1e-9)
        assert best.best_losses == pytest.approx([2.0 + 0.02 * math.log(b / 12.0) ** 2 for b in best.batches])
        assert best.best_batch == pytest.approx(12.0, rel=1e-9)


def test_a_best_batch_at_the_edge_of_the_grid_is_flagged():
    bests = batch_tuning.best_batches(synthetic_records(lambda batch: 0.004, best_batch=200.0))
    assert all(best.batch_at_edge and best.best_batch == 64 for best in bests)


def _cell(n_params, budget, best_batch, lr_at_best, losses=(1.60, 1.55, 1.70), batches=(4, 16, 64)):
    """A (size, budget) cell of the criterion whose per-batch best rates follow lr ~ sqrt(B) through lr_at_best."""
    lrs = tuple(lr_at_best * math.sqrt(b / best_batch) for b in batches)
    return batch_tuning.BestBatch(n_params, budget, batches, lrs, losses, (False,) * 3, best_batch, False)


def test_the_rules_recover_known_exponents_in_n_and_d():
    """Steps 4-5 on cells drawn from B* = 12 (N/1e5)^0.3 (D/1e7)^0.5 and lr* = 0.01 (N/1e5)^-0.5:
    the fit gives back every exponent; q of the rate is zero, so it is refitted on N alone."""
    cells = []
    for n in (38_000, 225_000, 708_000):
        for budget in (4e12, 1.6e13):
            d = budget / (6 * n)
            cells.append(_cell(n, budget, 12 * (n / 1e5) ** 0.3 * (d / 1e7) ** 0.5, 0.01 * (n / 1e5) ** -0.5))
    rules = batch_tuning.fit_batch_rules(cells)
    assert rules.batch.p == pytest.approx(0.3, abs=1e-9) and rules.batch.q == pytest.approx(0.5, abs=1e-9)
    assert rules.batch.y0 == pytest.approx(12, rel=1e-9)
    assert rules.lr.q is None and rules.lr.p == pytest.approx(-0.5, abs=1e-9) and rules.lr.y0 == pytest.approx(0.01)
    assert rules.batch.at(1e5, 1e7) == pytest.approx(12)
    assert rules.ties == ()  # 1.55 against 1.60: 0.05 apart, more than the seed sd


def test_a_best_batch_within_the_seed_noise_is_reported_as_a_tie():
    cells = [_cell(n, b, 16.0, 0.01, losses=(1.560, 1.550, 1.70)) for n in (38_000, 225_000, 708_000)
             for b in (4e12, 1.6e13)]
    assert len(batch_tuning.fit_batch_rules(cells).ties) == 6


def test_rules_are_not_fitted_while_a_cell_sits_at_the_edge_of_the_grid():
    cells = [_cell(n, b, 16.0, 0.01) for n in (38_000, 225_000, 708_000) for b in (4e12, 1.6e13)]
    cells[2] = dataclasses.replace(cells[2], batch_at_edge=True)
    with pytest.raises(ValueError, match=r"edge of the grid for \(N, C\) = \(225,000, 4e\+12\)"):
        batch_tuning.fit_batch_rules(cells)


def test_the_extension_steps_past_every_edge_of_the_committed_grid():
    """Each trunk of EDGE_TRUNKS lies one step past an edge of the grid: a rate a factor 2 below the
    lowest tried, or a batch a factor 2 outside 4..64; none repeats a trunk of the grid."""
    grid = {(spec.config.shape.n_layers, spec.config.batch_size, spec.config.peak_lr)
            for spec in batch_tuning.batch_tuning_specs(RULE)}
    edges = batch_tuning.batch_tuning_specs(RULE, trunks=batch_tuning.EDGE_TRUNKS)
    assert len(wsd_plan.plan(edges)) == len(batch_tuning.EDGE_TRUNKS) == 11
    assert len(edges) == 2 * 11
    for spec in edges:
        n_layers, batch, lr = spec.config.shape.n_layers, spec.config.batch_size, spec.config.peak_lr
        assert (n_layers, batch, lr) not in grid
        n_params = counting.params_total(spec.config.shape)
        if batch in batch_tuning.BATCHES:  # a rate below the grid's lowest at this batch
            assert lr == batch_tuning.peak_lr_for(n_params, batch, 0.25, RULE)
            assert lr < min(rate for layers, b, rate in grid if (layers, b) == (n_layers, batch))
        else:
            assert batch in (2, 128)
    assert {spec.config.batch_size for spec in edges if spec.config.shape.n_layers == 2} == {16, 64, 128}
    assert {spec.config.batch_size for spec in edges if spec.config.shape.n_layers == 6} == {2, 16, 64}


def test_the_report_reads_the_grid_and_its_extension_together(tmp_path):
    """A partial extension prints its cells with the grid's and fits no rule; the bound of an edge
    best batch is printed as one (B* >= 64 when the best batch is the largest tried)."""
    from scalinglaws.data.results import load_results
    grid = batch_tuning.OUT
    header, records = load_results(grid / "results.jsonl")
    part = tmp_path / "part"
    part.mkdir()
    with open(part / "results.jsonl", "w") as f:
        import json
        f.write(json.dumps(header) + "\n" + json.dumps(records[0]) + "\n")
    text = batch_tuning.report_text(grid, part)
    assert text.splitlines()[0] == "55 of 55 runs finished (batch-tuning, part)"
    assert "B* >= 64 (edge)" in text and "B* <= 4 (edge)" in text
    assert text.splitlines()[-1].startswith("rules: not fitted: the best rate or batch lies at the edge")


def test_the_warmup_check_retrains_two_grid_trunks_with_only_the_warmup_changed():
    grid = {spec.run_id: spec for spec in batch_tuning.batch_tuning_specs(RULE)}
    check = batch_tuning.batch_tuning_specs(RULE, trunks=batch_tuning.WARMUP_CHECK_TRUNKS, warmup_steps=200)
    assert len(check) == 4
    for spec in check:
        twin = grid[spec.run_id]  # the run id does not name the warmup: the same setting otherwise
        assert spec.config.warmup_steps == 200 and twin.config.warmup_steps in (18, 23)
        assert dataclasses.replace(spec.config, warmup_steps=twin.config.warmup_steps) == twin.config


def test_the_warmup_check_report_reads_a_change_over_twice_the_seed_sd_as_judged_on_the_warmup(tmp_path):
    """Ground truth by construction: a copy of two grid runs, one moved by 0.05 nats and one by 0.01."""
    import json
    from scalinglaws.data.results import load_results

    header, records = load_results(batch_tuning.OUT / "results.jsonl")
    moved = [dict(records[0], final_loss=records[0]["final_loss"] - 0.05),
             dict(records[1], final_loss=records[1]["final_loss"] + 0.01)]
    (tmp_path / "results.jsonl").write_text("\n".join(json.dumps(r) for r in [header, *moved]) + "\n")
    text = batch_tuning.warmup_check_text(tmp_path)
    assert "-0.0500 |" in text and "+0.0100 |" in text
    n, b, c = records[0]["params_total"], records[0]["batch_size"], records[0]["budget"]
    assert text.endswith(f"judged on their warmup (a change over twice the seed sd) at {n:,d} at batch {b}, {c:.2g}")


def test_the_lowest_measured_loss_of_each_batch_and_the_leaders_margin():
    records = [{"params_total": 10, "budget": 1e12, "final_loss": loss, "train_config": {"batch_size": b}}
               for b, loss in ((4, 2.0), (4, 1.9), (16, 1.85), (16, None), (64, 1.95))]
    table = batch_tuning.lowest_measured_losses(records)
    assert table == {(10, 1e12): {4: 1.9, 16: 1.85, 64: 1.95}}
    best, lead = batch_tuning.best_batch_lead(table[10, 1e12])
    assert best == 16 and lead == pytest.approx(0.05)
    with pytest.raises(ValueError, match="two batches"):
        batch_tuning.best_batch_lead({4: 1.0})
