"""The learning-rate rule fitted from run records: ground truth from exact parabolas, and the
committed pilot's records giving exactly the rule the presets train with (results/pilot/README.md)."""

import math

import pytest

from scalinglaws.sweeps import presets
from scalinglaws.sweeps.learning_rate_rule import (LearningRateRule, best_learning_rates, fit_rule,
                                                   pilot_records, pilot_rule)


def record(n_params, lr, loss, diverged=False):
    return {"params_total": n_params, "train_config": {"peak_lr": lr}, "final_loss": loss, "diverged": diverged}


def parabola_records(n_params, vertex, rates=(1e-3, 3e-3, 1e-2, 3e-2)):
    """Losses exactly 2 + (ln lr - ln vertex)^2: the parabola's vertex is ``vertex``."""
    return [record(n_params, lr, 2.0 + (math.log(lr) - math.log(vertex)) ** 2) for lr in rates]


def test_a_known_power_law_is_recovered_from_exact_parabolas():
    truth = LearningRateRule(lr_at_100k=0.004, exponent=0.5)
    records = [r for n in (1e4, 3e4, 1e5) for r in parabola_records(int(n), float(truth.peak_lr(n)))]
    bests = best_learning_rates(records)
    assert [best.n_params for best in bests] == [10000, 30000, 100000]
    for best in bests:
        assert best.best_lr == pytest.approx(float(truth.peak_lr(best.n_params)), rel=1e-9)
    rule = fit_rule(bests)
    assert (rule.lr_at_100k, rule.exponent) == pytest.approx((0.004, 0.5), rel=1e-9)


def test_records_of_one_setting_are_averaged_and_the_edge_is_refused():
    # Two lengths of one (size, rate) average; a best rate at the end of the grid has no vertex.
    records = [record(1000, 1e-3, 2.0), record(1000, 1e-3, 2.2), record(1000, 3e-3, 2.05), record(1000, 1e-2, 2.3)]
    (best,) = best_learning_rates(records)
    assert best.losses == pytest.approx((2.1, 2.05, 2.3))
    assert not best.at_edge
    edge = best_learning_rates([record(2000, lr, loss) for lr, loss in ((1e-3, 2.0), (3e-3, 2.1), (1e-2, 2.2))])
    assert edge[0].at_edge and edge[0].best_lr == 1e-3
    with pytest.raises(ValueError, match="edge"):
        fit_rule(best_learning_rates(records) + edge)


def test_a_diverged_neighbour_leaves_no_vertex():
    records = [record(1000, 1e-3, 2.3), record(1000, 3e-3, 2.0), record(1000, 1e-2, None, diverged=True)]
    assert best_learning_rates(records)[0].at_edge


def test_the_committed_pilot_gives_the_rule_the_presets_use():
    # results/pilot/README.md, section 1: vertices 0.0148, 0.0123, 0.0055; rule 0.0052 (N / 1e5)^-0.48.
    bests = best_learning_rates(pilot_records())
    assert [best.n_params for best in bests] == [9456, 25056, 75072]
    assert [round(best.best_lr, 4) for best in bests] == [0.0148, 0.0123, 0.0055]
    assert pilot_rule() == LearningRateRule(lr_at_100k=0.0052, exponent=0.48)
    cpu = presets.get_preset("cpu")
    assert (cpu.lr_at_100k, cpu.lr_exponent) == (0.0052, 0.48)


def test_a_rule_prints_as_the_presets_state_it():
    assert str(LearningRateRule(0.0052, 0.48)) == "0.0052 (N/1e5)^-0.48"
    assert str(LearningRateRule(0.007216, 0.4919).rounded(2)) == "0.0072 (N/1e5)^-0.49"
