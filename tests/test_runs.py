"""Runs: validation, CSV round trip, CSV errors (naming the file and the line), budget grouping."""

import math

import numpy as np
import pytest

from scalinglaws.data.runs import BUDGET_TOLERANCE, Run, Runs, group_budgets, read_runs_csv, write_runs_csv


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
    assert [run.name for run in runs] == [f"{path} line 2", f"{path} line 3"]
    assert not runs.has_curves


def test_csv_wrong_columns_lists_found_and_expected(tmp_path):
    path = tmp_path / "runs.csv"
    path.write_text("param,tokens,flops,loss\n1e6,2e7,1.2e14,3.0\n")
    with pytest.raises(ValueError) as error:
        read_runs_csv(path)
    message = str(error.value)
    assert "missing params" in message and "unknown 'param'" in message
    assert "Found: param, tokens, flops, loss" in message
    assert "Expected: required params, tokens, flops, loss" in message


def test_csv_empty_file_and_header_only(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(ValueError, match="is empty: expected a header row with columns required params"):
        read_runs_csv(empty)
    assert csv_error(empty, "\nparams,tokens,flops,loss\n") == (
        f"{empty} line 1 is blank: expected a header row with columns required params, tokens, flops, loss; "
        "optional budget, non_embedding_params, curve_tokens, curve_loss, diverged, name, seed, trunk")
    header = tmp_path / "header.csv"
    header.write_text("params,tokens,flops,loss\n")
    with pytest.raises(ValueError, match="no runs"):
        read_runs_csv(header)


def csv_error(path, text) -> str:
    """The message read_runs_csv refuses ``text`` with, written to ``path``."""
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    with pytest.raises(ValueError) as error:
        read_runs_csv(path)
    return str(error.value)


def test_csv_unparsable_number_and_bad_value(tmp_path):
    path = tmp_path / "runs.csv"
    assert csv_error(path, "params,tokens,flops,loss\n1e6,2e7,1.2e14,3.0\n1e6,lots,1.2e14,3.0\n") == (
        f"{path} line 3: column 'tokens' is not a number: 'lots'")
    assert csv_error(path, "params,tokens,flops,loss,diverged\n1e6,2e7,1.2e14,3.0,maybe\n") == (
        f"{path} line 2: column 'diverged' must be true/false, got 'maybe'")


def test_csv_run_checks_name_the_line_and_the_given_name(tmp_path):
    # validate_run's errors point at the same line as the parser's: an unnamed row is named by
    # it, a named one keeps its name after it.
    path = tmp_path / "runs.csv"
    assert csv_error(path, "params,tokens,flops,loss\n1e6,2e7,1.2e14,3.0\n1e6,2e7,1.2e14,-3.0\n") == (
        f"{path} line 3: loss must be a positive finite number, got -3.0")
    assert csv_error(path, "params,tokens,flops,loss,name\n1e6,2e7,1.2e14,-3.0,tiny\n") == (
        f"{path} line 2: tiny: loss must be a positive finite number, got -3.0")
    assert csv_error(path, "params,tokens,flops,loss,curve_tokens,curve_loss\n1e6,2e7,1.2e14,3.0,,3.1 3.0\n") == (
        f"{path} line 2: curve_tokens and curve_loss must be given together")


def test_csv_lines_are_counted_across_blank_lines_and_quoted_newlines(tmp_path):
    path = tmp_path / "runs.csv"
    text = ('params,tokens,flops,loss,name\n\n1e6,2e7,1.2e14,3.0,"two\nlines"\n'
            '1e6,2e7,1.2e14,3.0,\n1e6,2e7,1.2e14,0,\n')
    assert csv_error(path, text) == f"{path} line 6: loss must be a positive finite number, got 0.0"
    path.write_text(text.replace(",0,", ",2.5,"))
    runs = read_runs_csv(path)
    assert [run.name for run in runs] == ["two\nlines", f"{path} line 5", f"{path} line 6"]


def test_csv_row_with_missing_fields_names_the_missing_columns(tmp_path):
    path = tmp_path / "runs.csv"
    assert csv_error(path, "params,tokens,flops,loss\n1e6,2e7,1.2e14,3.0\n2e8,1e9\n") == (
        f"{path} line 3: missing flops, loss (the row has 2 fields, the header 4 columns; "
        "leave a field empty for no value)")


def test_csv_row_with_an_extra_field_is_refused(tmp_path):
    path = tmp_path / "runs.csv"
    assert csv_error(path, "params,tokens,flops,loss,name\n1e6,2e7,1.2e14,3.0,small, tied\n") == (
        f"{path} line 2: field 6 (' tied') has no column: the header has 5 columns "
        "(params, tokens, flops, loss, name); quote a field that contains a comma")


def test_csv_repeated_column_is_refused(tmp_path):
    path = tmp_path / "runs.csv"
    assert csv_error(path, "params,tokens,flops,loss, loss\n1e6,2e7,1.2e14,3.0,2.9\n") == (
        f"{path} line 1: column 'loss' appears twice (columns 4 and 5); give each column once")


def test_csv_binary_file_is_refused_with_the_offset_of_the_bad_byte(tmp_path):
    path = tmp_path / "runs.csv"
    assert csv_error(path, b"params,tokens\n\x89PNG\xff") == (
        f"{path} is not a text CSV file (byte 0x89 at offset 14 is not UTF-8)")
    # Behind a byte-order mark the offset still counts from the file's first byte.
    assert csv_error(path, b"\xef\xbb\xbfparams\xff") == (
        f"{path} is not a text CSV file (byte 0xff at offset 9 is not UTF-8)")


def test_csv_byte_order_mark_is_not_part_of_the_first_column(tmp_path):
    path = tmp_path / "runs.csv"
    path.write_bytes(b"\xef\xbb\xbfparams,tokens,flops,loss\r\n1e6,2e7,1.2e14,3.0\r\n")
    assert read_runs_csv(path)[0].params == 1e6


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


def test_csv_seed_and_trunk_labels_come_beside_the_runs(tmp_path):
    from scalinglaws.data.runs import read_runs_table

    path = tmp_path / "labelled.csv"
    path.write_text("params,tokens,flops,loss,seed,trunk\n1e6,2e7,1.2e14,3.0,0,L2-s0\n2e6,1e7,1.2e14,2.9,1,L3-s1\n")
    runs, places, labels = read_runs_table(path)
    assert [run.loss for run in runs] == [3.0, 2.9] and places == [f"{path} line 2", f"{path} line 3"]
    assert labels == {"seed": ["0", "1"], "trunk": ["L2-s0", "L3-s1"]}
    assert [(r.name, r.loss) for r in read_runs_csv(path)] == [(r.name, r.loss) for r in runs]
    path.write_text("params,tokens,flops,loss,trunk\n1e6,2e7,1.2e14,3.0,\n")
    with pytest.raises(ValueError, match=r"line 2: column 'trunk' is empty"):
        read_runs_table(path)
