"""Runs: validation, CSV round trip, CSV errors, budget grouping."""

import math

import numpy as np
import pytest

from scalinglaws.runs import BUDGET_TOLERANCE, Run, Runs, group_budgets, read_runs_csv, write_runs_csv


def make_run(**changes):
    fields = dict(name="r1", params=1e6, tokens=2e7, flops=1.2e14, loss=3.0)
    fields.update(changes)
    return Run(**fields)


@pytest.mark.parametrize("field", ["params", "tokens", "flops", "loss"])
@pytest.mark.parametrize("value", [math.nan, math.inf, 0.0, -1.0])
def test_bad_values_name_the_run_and_the_field(field, value):
    with pytest.raises(ValueError, match=rf"r1: {field} must be a positive finite number"):
        make_run(**{field: value})


def test_a_diverged_run_may_have_a_nan_loss_but_not_a_bad_size():
    assert math.isnan(make_run(loss=math.nan, diverged=True).loss)
    with pytest.raises(ValueError, match="params"):
        make_run(params=-1.0, diverged=True)


def test_curve_checks():
    with pytest.raises(ValueError, match="together"):
        make_run(curve_tokens=[1e6, 2e6])
    with pytest.raises(ValueError, match="strictly increasing"):
        make_run(curve_tokens=[2e6, 1e6], curve_loss=[3.2, 3.1])
    with pytest.raises(ValueError, match="go past the run's tokens"):
        make_run(curve_tokens=[1e6, 4e7], curve_loss=[3.2, 3.1])
    with pytest.raises(ValueError, match="curve_loss must be positive"):
        make_run(curve_tokens=[1e6, 2e6], curve_loss=[3.2, math.nan])


def test_curve_flops_are_c_times_the_fraction_of_tokens_seen():
    run = make_run(curve_tokens=[5e6, 1e7, 2e7], curve_loss=[3.5, 3.2, 3.0])
    np.testing.assert_allclose(run.curve_flops, [3e13, 6e13, 1.2e14])


def test_csv_round_trip(tmp_path):
    runs = Runs((
        make_run(curve_tokens=[1e7, 2e7], curve_loss=[3.3, 3.0], non_embedding_params=8e5),
        make_run(name="r2", params=2e6, tokens=1e7, budget=1.2e14, loss=2.9),
        make_run(name="r3", loss=math.nan, diverged=True),
    ))
    back = read_runs_csv(write_runs_csv(runs, tmp_path / "runs.csv"))
    assert len(back) == 3
    np.testing.assert_array_equal(back.params, runs.params)
    np.testing.assert_array_equal(back[0].curve_loss, [3.3, 3.0])
    assert back[0].non_embedding_params == 8e5 and back[1].budget == 1.2e14
    assert back[2].diverged and not back[0].diverged and back[1].name == "r2"


def test_csv_minimal_columns(tmp_path):
    path = tmp_path / "runs.csv"
    path.write_text("params,tokens,flops,loss\n1e6,2e7,1.2e14,3.0\n2e6,1e7,1.2e14,2.9\n")
    runs = read_runs_csv(path)
    assert [run.name for run in runs] == ["run 0", "run 1"]
    assert not runs.has_curves


def test_csv_wrong_columns_lists_found_and_expected(tmp_path):
    path = tmp_path / "runs.csv"
    path.write_text("param,tokens,flops,loss\n1e6,2e7,1.2e14,3.0\n")
    with pytest.raises(ValueError) as error:
        read_runs_csv(path)
    message = str(error.value)
    assert "missing params" in message and "unknown param" in message
    assert "Found: param, tokens, flops, loss" in message
    assert "Expected: required params, tokens, flops, loss" in message


def test_csv_empty_file_and_header_only(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(ValueError, match="is empty: expected a header row with columns required params"):
        read_runs_csv(empty)
    header = tmp_path / "header.csv"
    header.write_text("params,tokens,flops,loss\n")
    with pytest.raises(ValueError, match="no runs"):
        read_runs_csv(header)


def test_csv_unparsable_number_and_bad_value(tmp_path):
    path = tmp_path / "runs.csv"
    path.write_text("params,tokens,flops,loss\n1e6,lots,1.2e14,3.0\n")
    with pytest.raises(ValueError, match="row 2: column 'tokens' is not a number: 'lots'"):
        read_runs_csv(path)
    path.write_text("params,tokens,flops,loss,name\n1e6,2e7,1.2e14,-3.0,tiny\n")
    with pytest.raises(ValueError, match="tiny: loss must be a positive finite number"):
        read_runs_csv(path)


def test_budget_grouping_merges_jitter_and_separates_hoffmann_budgets():
    flops = np.array([6e18, 6.3e18, 5.9e18, 1e19, 1.04e19, 3e19])
    labels = group_budgets(flops)
    assert len(np.unique(labels)) == 3
    assert labels[0] == labels[1] == labels[2] and labels[3] == labels[4] != labels[5]
    np.testing.assert_allclose(labels[0], np.exp(np.mean(np.log([6e18, 6.3e18, 5.9e18]))))
    # Two runs just beyond the tolerance are separate budgets.
    assert len(np.unique(group_budgets([1e19, 1e19 * (1 + BUDGET_TOLERANCE) * 1.01]))) == 2


def test_given_budgets_win_over_grouping_and_subset_repeats():
    runs = Runs((make_run(budget=1e14), make_run(name="r2", budget=2e14)))
    np.testing.assert_array_equal(runs.budgets(), [1e14, 2e14])
    twice = runs.subset([1, 1, 0])
    assert [run.name for run in twice] == ["r2", "r2 (copy 1)", "r1"]
