"""The assignment "predict, then check": the FLOP ledger, the answer key, and otter-grader end to end.

- :mod:`scalinglaws.sweeps.budget_ledger`: refuses past the allowance before anything is charged or
  trained and says what is left, persists across instances, never charges a run twice, refuses bad input.
- :mod:`scalinglaws.fitting.predict_then_check`: the committed optimum at 1e12 FLOPs recomputed by hand,
  the recipe of those runs equal to the assignment's, and the partial credit on known inputs.
- ``book/assignment/predict_then_check.ipynb`` through ``otter assign`` and ``otter run`` (no Docker):
  the student version carries no solution; the reference solution with its own committed sweep
  (``book/assignment/reference_submission/``) scores full marks; a wrong submission scores exactly the
  partial credit its errors earn; and the solution trained live from nothing is graded as the package grades it.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import numpy as np
import pytest

from scalinglaws.data.committed_results import sweep_results
from scalinglaws.data.results import ResultsMismatchError, load_results
from scalinglaws.fitting import predict_then_check as key
from scalinglaws.fitting.predict_then_check import (Optimum, committed_optimum, credit_by_difference,
                                                    credit_by_factor, grade_prediction)
from scalinglaws.papers import counting
from scalinglaws.sweeps.budget_ledger import BudgetExceeded, BudgetLedger, train_within
from scalinglaws.sweeps.grid import build_grid, run_spec
from scalinglaws.sweeps.presets import get_preset

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENT = REPO / "book" / "assignment"
MASTER = ASSIGNMENT / "predict_then_check.ipynb"
REFERENCE = ASSIGNMENT / "reference_submission"
OTTER = [sys.executable, "-m", "otter"]  # the otter-grader of this environment (requirements.txt pins it)
SMOKE = build_grid(get_preset("smoke"))  # six runs of 1e9 and 3e9 FLOPs: specs only, nothing trains here


# ------------------------------------------------------------------------------------------
# The ledger
# ------------------------------------------------------------------------------------------


def test_budget_exceeded_is_a_value_error():
    assert issubclass(BudgetExceeded, ValueError)


def test_the_ledger_refuses_past_its_allowance_before_charging_anything(tmp_path):
    path = tmp_path / "ledger.json"
    first, second, third = SMOKE[0].flops, SMOKE[1].flops, SMOKE[2].flops
    ledger = BudgetLedger.open(path, allowance=first + second + third / 2)
    assert ledger.charge(SMOKE[:1])[0].flops == first
    with pytest.raises(BudgetExceeded) as refused:
        ledger.charge(SMOKE[1:3])
    message = str(refused.value)
    left = second + third / 2
    # The cost, what is spent, what is left and the allowance, each as the message formats them.
    for number in (second + third, first, left, first + second + third / 2):
        assert f"{number:.3g}" in message, (number, message)
    assert f"the first run as listed fits ({second:.3g} FLOPs, up to {SMOKE[1].run_id})" in message
    assert "Nothing was charged or trained" in message
    assert BudgetLedger.open(path).spent == first == ledger.spent  # all or nothing, in the file too
    assert ledger.remaining == left


def test_a_run_that_alone_does_not_fit_says_none_fits(tmp_path):
    ledger = BudgetLedger.open(tmp_path / "ledger.json", allowance=SMOKE[0].flops / 2)
    with pytest.raises(BudgetExceeded, match=r"this run would cost .* none of them fits"):
        ledger.charge(SMOKE[:1])
    assert ledger.charges == ()


def test_the_ledger_persists_across_instances(tmp_path):
    path = tmp_path / "sub" / "ledger.json"
    BudgetLedger.open(path, allowance=1e10).charge(SMOKE[:2])
    again = BudgetLedger.open(path)
    assert again.allowance == 1e10
    assert [c.run_id for c in again.charges] == [spec.run_id for spec in SMOKE[:2]]
    assert again.spent == SMOKE[0].flops + SMOKE[1].flops
    assert again.remaining == 1e10 - again.spent
    # A second instance charging sees what the first charged since it was opened.
    stale = BudgetLedger.open(path)
    again.charge(SMOKE[2:3])
    stale.charge(SMOKE[3:4])
    assert BudgetLedger.open(path).spent == sum(spec.flops for spec in SMOKE[:4])


def test_a_run_is_charged_once(tmp_path):
    ledger = BudgetLedger.open(tmp_path / "ledger.json", allowance=1e10)
    assert len(ledger.charge(SMOKE[:3] + SMOKE[:1])) == 3  # listed twice, charged once
    assert ledger.charge(SMOKE[:3]) == []  # a resumed sweep
    assert ledger.spent == sum(spec.flops for spec in SMOKE[:3])
    # Only the new runs of a list count against what is left.
    ledger = BudgetLedger.open(tmp_path / "tight.json", allowance=SMOKE[0].flops + SMOKE[1].flops)
    ledger.charge(SMOKE[:1])
    assert [c.run_id for c in ledger.charge(SMOKE[:2])] == [SMOKE[1].run_id]
    assert ledger.remaining == 0


def test_the_summary_line(tmp_path):
    ledger = BudgetLedger.open(tmp_path / "flop_ledger.json", allowance=3e11)
    assert str(ledger) == "flop_ledger.json: 0 of 3e+11 FLOPs spent on 0 runs; 3e+11 left"
    ledger.charge(SMOKE[:2])
    spent = SMOKE[0].flops + SMOKE[1].flops
    assert str(ledger) == f"flop_ledger.json: {spent:.3g} of 3e+11 FLOPs spent on 2 runs; {3e11 - spent:.3g} left"


@pytest.mark.parametrize("allowance", [0, -1e11, math.nan, math.inf, "lots", None])
def test_a_bad_allowance_is_refused(tmp_path, allowance):
    path = tmp_path / "ledger.json"
    expected = FileNotFoundError if allowance is None else ValueError
    with pytest.raises(expected, match="give an allowance" if allowance is None else "allowance must be a positive"):
        BudgetLedger.open(path, allowance=allowance)
    assert not path.exists()


def test_the_allowance_cannot_change_and_a_foreign_file_is_refused(tmp_path):
    path = tmp_path / "ledger.json"
    BudgetLedger.open(path, allowance=3e11)
    with pytest.raises(ValueError, match=r"created with an allowance of 3e\+11 FLOPs, not 1e\+12"):
        BudgetLedger.open(path, allowance=1e12)
    assert BudgetLedger.open(path, allowance=3e11).allowance == 3e11
    other = tmp_path / "results.jsonl"
    other.write_text('{"kind": "header"}\n')
    with pytest.raises(ValueError, match="is not a FLOP ledger"):
        BudgetLedger.open(other)
    damaged = tmp_path / "damaged.json"
    damaged.write_text(json.dumps({"kind": "flop ledger", "format": 1, "allowance": 1e10,
                                   "runs": [{"run_id": "x", "settings_hash": "y", "flops": -5}]}))
    with pytest.raises(ValueError, match=r"the FLOPs of run 'x' must be a positive finite number of FLOPs, got -5"):
        BudgetLedger.open(damaged)


def test_uncharged_names_runs_trained_outside_the_ledger(tmp_path):
    ledger = BudgetLedger.open(tmp_path / "ledger.json", allowance=1e10)
    ledger.charge(SMOKE[:1])
    records = [{"run_id": spec.run_id, "settings_hash": spec.settings_hash()} for spec in SMOKE[:2]]
    assert ledger.uncharged(records) == [SMOKE[1].run_id]
    records[0]["settings_hash"] = "another recipe"
    assert ledger.uncharged(records) == [SMOKE[0].run_id, SMOKE[1].run_id]


def test_train_within_trains_what_was_charged_and_nothing_twice(tmp_path):
    """Two of the smoke preset's runs (seconds), then the same call again, then a grid that does not fit."""
    ledger = BudgetLedger.open(tmp_path / "ledger.json", allowance=SMOKE[0].flops + SMOKE[1].flops)
    path = train_within(ledger, "smoke-pair", SMOKE[:2], tmp_path / "sweep", jobs=2, progress=False)
    _, records = load_results(path)
    assert sorted(r["run_id"] for r in records) == sorted(spec.run_id for spec in SMOKE[:2])
    assert sum(r["flops_6nd"] for r in records) == ledger.spent  # the ledger counts what the records count
    assert ledger.uncharged(records) == []
    before = path.read_bytes()
    train_within(ledger, "smoke-pair", SMOKE[:2], tmp_path / "sweep", jobs=2, progress=False)
    assert path.read_bytes() == before and ledger.remaining == 0
    with pytest.raises(BudgetExceeded):
        train_within(ledger, "smoke-three", SMOKE[:3], tmp_path / "refused", progress=False)
    assert not (tmp_path / "refused").exists()
    # A results folder of another grid is refused before anything is charged, as the runner would refuse it.
    wider = BudgetLedger.open(tmp_path / "wider.json", allowance=1e11)
    with pytest.raises(ResultsMismatchError):
        train_within(wider, "smoke-pair", SMOKE[2:4], tmp_path / "sweep", progress=False)
    assert wider.spent == 0


# ------------------------------------------------------------------------------------------
# The answer key
# ------------------------------------------------------------------------------------------


def test_the_target_is_more_than_three_times_the_allowance():
    assert key.TARGET_FLOPS >= 3 * key.ALLOWANCE_FLOPS


def test_the_committed_optimum_is_the_parabola_through_the_committed_runs():
    """Recomputed without the package's fitting code: the ordinary least-squares parabola in ln N through
    the runs the robust rule keeps (all but the two it sets aside), its vertex and D = C / 6N."""
    _, records = load_results(sweep_results("cpu"))
    at_target = [r for r in records if r["budget"] == key.TARGET_FLOPS]
    assert len(at_target) == 6
    truth = committed_optimum()
    kept = [r for r in at_target if r["params_total"] not in (25_056, 37_760)]  # the two the rule sets aside
    c2, c1, c0 = np.polyfit(np.log([r["params_total"] for r in kept]), [r["final_loss"] for r in kept], 2)
    np.testing.assert_allclose(truth.n_opt, math.exp(-c1 / (2 * c2)), rtol=1e-9)
    np.testing.assert_allclose(truth.loss, c0 - c1 ** 2 / (4 * c2), rtol=1e-9)
    assert truth.d_opt == key.TARGET_FLOPS / (6 * truth.n_opt)
    assert truth.flops == key.TARGET_FLOPS
    # The committed values, to the digits the assignment's prose and docstring quote.
    assert (round(truth.n_opt), round(truth.loss, 3)) == (35_074, 1.865)


def test_the_committed_runs_used_the_assignments_recipe():
    """Every committed run at the target is the very run that run_spec(cpu preset, C, shape) defines, the
    call the notebook makes for a student's runs: same id, same settings hash."""
    _, records = load_results(sweep_results(key.TRUTH_SWEEP))
    recipe = get_preset("cpu")
    for record in (r for r in records if r["budget"] == key.TARGET_FLOPS):
        shape = counting.TransformerShape(**record["shape"])
        spec = run_spec(recipe, key.TARGET_FLOPS, shape)
        assert (spec.run_id, spec.settings_hash()) == (record["run_id"], record["settings_hash"])
        assert spec.config.batch_size == 8


@pytest.mark.parametrize("predicted, credit", [(100, 1.0), (150, 1.0), (100 / 1.5, 1.0), (151, 0.5), (200, 0.5),
                                               (50, 0.5), (201, 0.0), (49.9, 0.0), (1e6, 0.0)])
def test_credit_by_factor(predicted, credit):
    assert credit_by_factor(predicted, 100.0) == credit


@pytest.mark.parametrize("predicted, credit", [(2.0, 1.0), (2.04, 1.0), (1.96, 1.0), (2.06, 0.5), (1.92, 0.5),
                                               (2.09, 0.5), (2.11, 0.0), (1.5, 0.0)])
def test_credit_by_difference(predicted, credit):
    assert credit_by_difference(predicted, 2.0) == credit


@pytest.mark.parametrize("bad", [0, -3.0, math.nan, math.inf, "35K", None])
def test_a_bad_prediction_is_refused_by_name(bad):
    with pytest.raises(ValueError, match=r"N_opt must be (a|a finite|positive)"):
        credit_by_factor(bad, 100.0, what="N_opt")
    if bad not in (0, -3.0):
        with pytest.raises(ValueError, match="the loss must be"):
            credit_by_difference(bad, 2.0, what="the loss")


def test_grade_prediction_on_known_inputs():
    truth = Optimum(flops=1e12, n_opt=1e4, d_opt=1e12 / 6e4, loss=2.0)
    assert grade_prediction(1e4, 1e12 / 6e4, 2.0, truth) == {"n_opt": 1.0, "d_opt": 1.0, "loss": 1.0}
    assert grade_prediction(1.8e4, 1e12 / 6e4 / 1.8, 2.08, truth) == {"n_opt": 0.5, "d_opt": 0.5, "loss": 0.5}
    assert grade_prediction(4e4, 1e12 / 6e4 / 4, 1.5, truth) == {"n_opt": 0.0, "d_opt": 0.0, "loss": 0.0}
    assert grade_prediction(4e4, 1e12 / 6e4, 2.0, truth) == {"n_opt": 0.0, "d_opt": 1.0, "loss": 1.0}


# ------------------------------------------------------------------------------------------
# otter-grader, end to end
# ------------------------------------------------------------------------------------------

#: Points per question, as the master notebook assigns them: a public check worth 0 and hidden tests.
POINTS = {"a1_chinchilla_flops": 1, "a2_parameters": 1, "a3_tokens_at_target": 1, "b1_exponents": 1,
          "b2_gopher_budget": 1, "c1_sweep_within_allowance": 1, "d1_n_opt": 2, "d2_d_opt": 2, "d3_loss": 2}
PREDICTIONS = {"d1_n_opt": "n_opt", "d2_d_opt": "d_opt", "d3_loss": "loss"}
SUBMISSION_FILES = ("predict_then_check_sweeps", "flop_ledger.json")


def test_the_student_edition_of_the_book_carries_no_assignment_solution(tmp_path):
    from scalinglaws.book import student_edition

    tree = student_edition.write_student_source(REPO, tmp_path / "student")
    marks = ("BEGIN SOLUTION", "BEGIN TEST CONFIG")  # otter's solution and hidden-test delimiters
    leaked = [str(path.relative_to(tree)) for path in tree.rglob("*") if path.is_file()
              and any(mark in path.read_text(errors="replace") for mark in marks)]
    assert leaked == []


def test_the_otter_pin_is_the_one_the_notebook_installs():
    pinned = [line for line in (REPO / "requirements.txt").read_text().splitlines() if line.startswith("otter-grader")]
    assert pinned == ["otter-grader==7.0.0"]
    assert '"otter-grader==7.0.0"' in _code(nbformat.read(MASTER, as_version=4))


def _run(command, cwd, timeout=900):
    completed = subprocess.run([str(c) for c in command], cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert completed.returncode == 0, f"{command} failed:\n{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}"
    return completed


@pytest.fixture(scope="module")
def assigned(tmp_path_factory):
    """``otter assign`` of the master notebook: the student and autograder folders."""
    out = tmp_path_factory.mktemp("dist")
    _run([*OTTER, "assign", MASTER, out], cwd=ASSIGNMENT, timeout=300)
    zips = sorted((out / "autograder").glob("*.zip"))
    assert len(zips) == 1, zips
    return out, zips[0]


def _submission(folder: Path, notebook: nbformat.NotebookNode, extra: Path | None, name: str) -> Path:
    """A submission zip as the notebook's export cell writes one: the notebook, and the sweeps and ledger
    found in ``extra`` (none when it is None)."""
    path = folder / f"{name}.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("predict_then_check.ipynb", nbformat.writes(notebook))
        if extra is not None:
            for item in SUBMISSION_FILES:
                for file in sorted([extra / item] if (extra / item).is_file() else (extra / item).rglob("*")):
                    if file.is_file() and not file.name.startswith("."):
                        archive.write(file, file.relative_to(extra))
    return path


def _grade(autograder: Path, submission: Path, folder: Path) -> dict[str, float]:
    """``otter run``'s points per question for ``submission`` (its results.json lists each question's
    score, and one unscored entry for the public tests)."""
    out = folder / f"graded-{submission.stem}"
    out.mkdir()
    _run([*OTTER, "run", "-a", autograder, "-o", out, "--no-logo", submission], cwd=folder)
    results = json.loads((out / "results.json").read_text())
    return {test["name"]: test["score"] for test in results["tests"] if "score" in test}


def _solution(assigned) -> nbformat.NotebookNode:
    """The instructor's version that otter assign wrote: the master without its tests, solutions kept."""
    out, _ = assigned
    return nbformat.read(out / "autograder" / "predict_then_check.ipynb", as_version=4)


def _code(notebook: nbformat.NotebookNode) -> str:
    return "\n".join(cell.source for cell in notebook.cells)


def test_the_student_version_has_no_solution_and_no_hidden_test(assigned):
    out, autograder = assigned
    path = out / "student" / "predict_then_check.ipynb"
    student = _code(nbformat.read(path, as_version=4))
    for leak in ("SOLUTION", "6 * 70e9", "1_788", "fit_approach3(runs)", "n_law(TARGET_FLOPS)",
                 "committed_optimum().n_opt", "credit_by_factor", "hidden=True", "BEGIN TEST"):
        assert leak not in path.read_text(), leak  # the whole file: cells, outputs and metadata
    for name in POINTS:
        assert f'grader.check("{name}")' in student
    assert "plan = ..." in student and "n_opt_prediction = ..." in student
    with zipfile.ZipFile(autograder) as archive:
        tests = {Path(name).stem: archive.read(name).decode() for name in archive.namelist()
                 if name.startswith("tests/")}
    assert sorted(tests) == sorted(POINTS)
    assert all(tests[name].count("hidden=True") == 2 for name in PREDICTIONS)


def test_the_reference_solution_scores_full_marks(assigned, tmp_path):
    """The solution notebook with the sweep it trained (committed in reference_submission/): grading re-fits
    those runs, trains nothing, and gives every point on any processor."""
    _, autograder = assigned
    scores = _grade(autograder, _submission(tmp_path, _solution(assigned), REFERENCE, "reference"), tmp_path)
    assert scores == POINTS


def test_a_wrong_submission_scores_the_credit_its_errors_earn(assigned, tmp_path):
    """The reference with three answers changed: 2ND for the FLOPs (A1 lost), N_opt 4x too big, so that
    D_opt = C / 6N_opt is 4x too small (both lost: more than a factor 2 off), and the loss 0.12 too
    low (half credit: the reference's loss is 0.04 above the committed one). otter grades a question
    where its check cell stands, so the answers are changed in their own cells."""
    _, autograder = assigned
    notebook = _solution(assigned)
    wrong = {"chinchilla_flops = 6 * 70e9 * 1.4e12": "chinchilla_flops = 2 * 70e9 * 1.4e12",
             "n_opt_prediction = float(n_law(TARGET_FLOPS))": "n_opt_prediction = 4 * float(n_law(TARGET_FLOPS))",
             "loss_prediction = float(loss_law(TARGET_FLOPS))":
                 "loss_prediction = float(loss_law(TARGET_FLOPS)) - 0.12"}
    for right, mistake in wrong.items():
        cell = next(cell for cell in notebook.cells if cell.source.startswith(right))
        cell.source = cell.source.replace(right, mistake)
    scores = _grade(autograder, _submission(tmp_path, notebook, REFERENCE, "wrong"), tmp_path)
    assert scores == {**POINTS, "a1_chinchilla_flops": 0, "d1_n_opt": 0, "d2_d_opt": 0, "d3_loss": 1}
    assert sum(scores.values()) == 6 < sum(POINTS.values())


def test_the_solution_trained_live_is_graded_as_the_package_grades_it(assigned, tmp_path):
    """The whole assignment from nothing: the solution trains its sweep within the allowance (about a
    minute on 2 idle cores), its export is graded by otter, and each prediction earns what
    grade_prediction says. Trained losses differ between processors, so the credit is compared with
    the package's, not with full marks (the committed reference above is full marks everywhere)."""
    _, autograder = assigned
    work = tmp_path / "student"
    work.mkdir()
    notebook = _solution(assigned)
    probe = nbformat.v4.new_code_cell("import json\nprint(json.dumps({'n_opt': n_opt_prediction, "
                                      "'d_opt': d_opt_prediction, 'loss': loss_prediction, "
                                      "'spent': ledger.spent, 'remaining': ledger.remaining}))")
    nbformat.write(notebook, work / "predict_then_check.ipynb")  # otter.Notebook reads it, as in a student's folder
    executed = nbformat.reads(nbformat.writes(notebook), as_version=4)
    executed.cells.append(probe)
    from nbclient import NotebookClient

    NotebookClient(executed, timeout=1200, kernel_name="python3", resources={"metadata": {"path": str(work)}}).execute()
    values = json.loads(executed.cells[-1].outputs[-1]["text"])
    ledger = BudgetLedger.open(work / "flop_ledger.json")
    assert values["spent"] == ledger.spent <= key.ALLOWANCE_FLOPS
    _, records = load_results(work / "predict_then_check_sweeps" / "sweep-1")
    assert ledger.uncharged(records) == [] and len(records) == len(ledger.charges)
    expected = grade_prediction(values["n_opt"], values["d_opt"], values["loss"])
    scores = _grade(autograder, _submission(tmp_path, notebook, work, "live"), tmp_path)
    assert scores == {**POINTS, **{question: 2 * expected[part] for question, part in PREDICTIONS.items()}}
    print(f"live: N_opt {values['n_opt']:,.0f}, D_opt {values['d_opt']:,.0f}, loss {values['loss']:.4f}, "
          f"spent {values['spent']:.4g} FLOPs; credit {expected}")
