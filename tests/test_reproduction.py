"""Trained numbers are compared within a tolerance, and a failure says what moved and by how much."""

import json
import math
import subprocess

import pytest

from scalinglaws.book.reproduction import check_within, files_changed, largest_difference, prediction_provenance


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


def _git(repo, *args):
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=repo, check=True,
                   capture_output=True)
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True).stdout.strip()


def _results(path, version, created="2000-01-01T00:00:00+00:00"):
    lines = [{"kind": "header", "created": created},
             {"kind": "run", "run_id": "r", "finished": "2100-01-01T00:00:00+00:00",
              "versions": {"scalinglaws": version}}]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))


def _history(repo, *, results_with_prediction=False, change_prediction=False, train_before=False):
    """A repository in which a prediction is committed, then test runs trained by some commit, then committed."""
    _git(repo, "init", "-q")
    (repo / "code.py").write_text("before\n")
    _git(repo, "add", "code.py")
    before = _git(repo, "commit", "-qm", "code")
    (repo / "prediction.json").write_text("{}\n")
    if results_with_prediction:
        _results(repo / "results.jsonl", "unknown")
        _git(repo, "add", "results.jsonl")
    _git(repo, "add", "prediction.json")
    predicted = _git(repo, "commit", "-qm", "predict")
    _results(repo / "results.jsonl", (before if train_before else predicted) + "+dirty", created="2100-01-01T00:00:00+00:00")
    _git(repo, "add", "results.jsonl")
    _git(repo, "commit", "-qm", "results")
    if change_prediction:
        (repo / "prediction.json").write_text("{\"changed\": 1}\n")
        _git(repo, "commit", "-qam", "edit the prediction")
    return predicted


def test_a_prediction_committed_before_its_runs_holds(tmp_path):
    predicted = _history(tmp_path)
    assert len(predicted) == 40
    found = prediction_provenance(tmp_path / "results.jsonl")
    assert (found.predicted_in, found.trained_by, found.dirty, found.runs) == (predicted, (predicted,), True, 1)
    assert found.changed_since == () and found.holds is True


@pytest.mark.parametrize("history", [{"results_with_prediction": True}, {"change_prediction": True},
                                     {"train_before": True}])
def test_a_prediction_made_with_after_or_edited_since_its_runs_does_not_hold(tmp_path, history):
    _history(tmp_path, **history)
    assert prediction_provenance(tmp_path / "results.jsonl").holds is False


def test_a_prediction_made_after_its_runs_started_does_not_hold(tmp_path):
    _history(tmp_path)
    _results(tmp_path / "results.jsonl", _git(tmp_path, "log", "-1"), created="2000-01-01T00:00:00+00:00")
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "older runs"],
                   cwd=tmp_path, check=True)
    assert prediction_provenance(tmp_path / "results.jsonl").holds is False


def test_a_shallow_clone_cannot_tell_so_the_provenance_is_unknown(tmp_path):
    (tmp_path / "full").mkdir()
    _history(tmp_path / "full")
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{tmp_path / 'full'}", str(tmp_path / "shallow")],
                   check=True, capture_output=True)
    assert prediction_provenance(tmp_path / "full" / "results.jsonl").holds is True
    assert prediction_provenance(tmp_path / "shallow" / "results.jsonl").holds is None


def test_outside_git_the_provenance_is_unknown_and_a_file_without_runs_is_refused(tmp_path):
    _results(tmp_path / "results.jsonl", "abc+dirty")
    found = prediction_provenance(tmp_path / "results.jsonl")
    assert (found.holds, found.predicted_in, found.trained_by) == (None, None, ("abc",))
    (tmp_path / "results.jsonl").write_text(json.dumps({"kind": "header", "created": "x"}) + "\n")
    with pytest.raises(ValueError, match="results.jsonl: needs a header line and at least one run record"):
        prediction_provenance(tmp_path / "results.jsonl")


def test_files_changed_between_two_commits_under_a_folder(tmp_path):
    predicted = _history(tmp_path)
    first = subprocess.run(["git", "rev-list", "--max-parents=0", "HEAD"], cwd=tmp_path, capture_output=True,
                           text=True).stdout.strip()
    assert files_changed(tmp_path, first, "HEAD", under="") == ["prediction.json", "results.jsonl"]
    assert files_changed(tmp_path, first, predicted, under="code.py") == []
    assert files_changed(tmp_path / "..", first, predicted) is None  # not a git checkout
