"""Trained numbers are compared within a tolerance, and a failure says what moved and by how much."""

import math

import pytest

from scalinglaws.book.reproduction import check_within, largest_difference


def test_largest_difference_of_scalars_sequences_and_mappings():
    assert largest_difference(2.0, 2.5) == 0.5
    assert largest_difference([1.0, 2.0, 3.0], [1.0, 2.25, 2.5]) == 0.5
    assert largest_difference({"a": 1.0, "b": 4.0}, {"b": 3.0, "a": 1.5}) == 1.0
    assert math.isnan(largest_difference([1.0, math.nan], [1.0, 2.0]))


def test_mismatched_things_are_not_compared():
    with pytest.raises(ValueError, match="keys differ"):
        largest_difference({"a": 1.0}, {"b": 1.0})
    with pytest.raises(ValueError, match="keys differ"):
        largest_difference([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="no values"):
        largest_difference([], [])


def test_within_the_tolerance_returns_the_difference():
    assert check_within("final losses", {"run 1": 2.01, "run 2": 1.9}, {"run 1": 2.0, "run 2": 1.9},
                        tolerance=0.05) == pytest.approx(0.01)
    assert check_within("exact", 1.5, 1.5, tolerance=0) == 0


def test_beyond_the_tolerance_names_the_worst_value():
    with pytest.raises(AssertionError, match=r"demo losses: differs from the reference by 0\.3, more than "
                                             r"the tolerance 0\.15 \(worst: C1e11: live 2\.5, reference 2\.2\)"):
        check_within("demo losses", {"C3e10": 2.6, "C1e11": 2.5}, {"C3e10": 2.6, "C1e11": 2.2}, tolerance=0.15)


def test_a_nan_loss_fails_the_check_however_wide_the_tolerance():
    with pytest.raises(AssertionError, match="worst: 1: live nan"):
        check_within("curve", [2.0, math.nan], [2.0, 2.1], tolerance=10)
    with pytest.raises(ValueError, match="non-negative"):
        check_within("x", 1.0, 1.0, tolerance=-1)


def test_the_committed_demo_on_two_processors_is_one_grid_that_drifted_apart():
    """results/demo (Intel Xeon) and results/demo-amd-epyc: same runs, losses up to 0.102 apart (its README)."""
    from scalinglaws.data.committed_results import sweep_results
    from scalinglaws.data.results import load_results

    (xeon_header, xeon), (epyc_header, epyc) = (load_results(sweep_results(name)) for name in ("demo", "demo-amd-epyc"))
    assert xeon_header["grid_hash"] == epyc_header["grid_hash"]
    assert {record["device"] for record in epyc} == {"AMD EPYC"} and {record["threads"] for record in epyc} == {1}
    losses = [{record["run_id"]: record["final_loss"] for record in records} for records in (xeon, epyc)]
    assert largest_difference(*losses) == pytest.approx(0.1023, abs=5e-5)
