"""The held-out prediction (scalinglaws.fitting.prediction) against hand computations and Eq. 4."""

import dataclasses
import math

import pytest

from scalinglaws.fitting import prediction
from scalinglaws.fitting.powerlaw import PowerLawFit
from scalinglaws.papers import constants, counting
from scalinglaws.papers.laws import optimal_allocation, parametric_loss
from scalinglaws.sweeps import tuning

LAW = constants.BESIROGLU_REFIT
LADDER = [tuning.head16_shape(n_layers) for n_layers in range(2, 11)]


def test_the_twin_is_gophers_ratio_to_chinchilla():
    assert prediction.TWIN_FACTOR == 4.0


def test_each_approach_spends_the_budget_and_approach3_follows_eq4():
    flops = 1e14
    laws = {"approach1": PowerLawFit(exponent=0.5, coefficient=30.0), "approach2": PowerLawFit(0.55, 10.0)}
    allocations = prediction.allocation_by_approach(flops, laws, LAW)
    assert [a.approach for a in allocations] == ["approach1", "approach2", "approach3"]
    assert allocations[0].n_opt == pytest.approx(30.0 * 1e7)
    assert allocations[2].n_opt == pytest.approx(optimal_allocation(LAW, flops)[0])
    for a in allocations:
        assert 6 * a.n_opt * a.d_opt == pytest.approx(flops)
    with pytest.raises(ValueError, match="positive number of FLOPs"):
        prediction.allocation_by_approach(-1.0, laws, LAW)


def test_the_prediction_trains_the_ladder_shape_nearest_the_consensus_and_its_4x_twin():
    flops = 1e14
    n3, _ = optimal_allocation(LAW, flops)
    # Approaches 1 and 2 a factor 2 either side of Approach 3: the geometric mean is Approach 3's N.
    laws = {"approach1": PowerLawFit(1.0, 2 * n3 / flops), "approach2": PowerLawFit(1.0, n3 / 2 / flops)}
    p = prediction.predict(flops, laws, LAW, LADDER)
    assert p.consensus_n_opt == pytest.approx(n3)
    sizes = [counting.params_total(s) for s in LADDER]
    nearest = min(sizes, key=lambda n: abs(math.log(n / n3)))
    assert p.optimum.n_params == nearest and p.optimum.tokens == pytest.approx(flops / (6 * nearest))
    assert p.optimum.predicted_loss == pytest.approx(parametric_loss(LAW, nearest, flops / (6 * nearest)))
    twin_nearest = min(sizes, key=lambda n: abs(math.log(n / (4 * nearest))))
    assert p.twin.n_params == twin_nearest and p.twin.tokens == pytest.approx(flops / (6 * twin_nearest))
    assert p.predicted_gap > 0  # under Eq. 2 the larger model on fewer tokens is worse at the optimum's budget


def test_a_prediction_round_trips_through_its_file(tmp_path):
    flops = 3e14
    laws = {"approach1": PowerLawFit(0.5, 0.03), "approach2": PowerLawFit(0.5, 0.031)}
    p = prediction.predict(flops, laws, LAW, LADDER)
    path = tmp_path / "prediction.json"
    prediction.write_prediction(path, p, {"command": "test"})
    assert prediction.read_prediction(path) == p


def test_a_ladder_without_a_larger_twin_is_refused():
    laws = {"approach1": PowerLawFit(0.5, 30.0)}
    with pytest.raises(ValueError, match="no shape larger"):
        prediction.predict(1e14, laws, LAW, LADDER[:1])


def _test_record(planned, flops, loss, diverged=False):
    return {"shape": dataclasses.asdict(planned.shape), "budget": flops, "final_loss": loss, "diverged": diverged}


def test_outcomes_average_each_planned_runs_seeds_and_leave_out_diverged_and_other_runs():
    flops = 1e14
    p = prediction.predict(flops, {"approach1": PowerLawFit(0.5, 0.03)}, LAW, LADDER)
    records = [_test_record(p.optimum, flops, 1.40), _test_record(p.optimum, flops, 1.42),
               _test_record(p.optimum, flops, 9.0, diverged=True), _test_record(p.optimum, 2 * flops, 7.0),
               _test_record(p.twin, flops, 1.50)]
    optimum, twin = prediction.outcomes(p, records)
    assert optimum.losses == (1.40, 1.42) and twin.losses == (1.50,)
    assert optimum.mean == pytest.approx(1.41)
    assert optimum.seed_sd == pytest.approx(math.sqrt(2) * 0.01)
    assert math.isnan(twin.seed_sd)
    assert optimum.miss == pytest.approx(1.41 - p.optimum.predicted_loss)
    assert twin.mean - optimum.mean == pytest.approx(0.09)
    table = prediction.format_outcomes(optimum, twin)
    assert "1.4000 / 1.4200" in table and f"{1.41 - p.optimum.predicted_loss:+.4f}" in table


def test_outcomes_without_a_test_run_of_the_twin_name_what_is_missing():
    flops = 1e14
    p = prediction.predict(flops, {"approach1": PowerLawFit(0.5, 0.03)}, LAW, LADDER)
    with pytest.raises(ValueError, match=f"{p.twin.n_params:,d}-parameter shape"):
        prediction.outcomes(p, [_test_record(p.optimum, flops, 1.4)])
