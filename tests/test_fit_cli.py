"""`python -m scalinglaws fit`: reads a sweep's results or a CSV, refuses bad input in one line
naming the file and the line, and exits 2 when nothing was fitted."""

import json
import subprocess
import sys

import pytest

from scalinglaws.cli import is_sweep_results, main
from scalinglaws.data import runs as runs_module
from scalinglaws.data.runs import write_runs_csv
from scalinglaws.fitting.synthetic import isoflop_runs
from scalinglaws.papers import constants
from scalinglaws.papers.laws import allocation_exponents

A_TRUE, _ = allocation_exponents(constants.BESIROGLU_REFIT)  # synthetic runs' default law
BUDGETS = (1e18, 1e19, 1e20)


@pytest.fixture(scope="module")
def synthetic():
    """Noise-free IsoFLOP runs: 3 budgets x 5 sizes of the default law."""
    return isoflop_runs(BUDGETS, sizes_per_budget=5)


def write_results(path, runs, diverged_id=None):
    """A sweep's results.jsonl holding ``runs`` (C = 6ND, so the budget labels are the grid's),
    plus a diverged run ``diverged_id`` when given."""
    records = [{"kind": "run", "run_id": run.name, "budget": run.budget, "params_total": run.params,
                "params_non_embedding": run.params, "tokens": run.tokens, "flops_6nd": 6 * run.params * run.tokens,
                "final_loss": run.loss, "diverged": False, "curve_tokens": [], "curve_loss": []}
               for run in runs]
    if diverged_id:
        records.append(dict(records[0], run_id=diverged_id, final_loss=None, diverged=True))
    header = {"kind": "header", "preset": "synthetic", "grid_hash": "0", "runs": {r["run_id"]: "0" for r in records}}
    path.write_text("".join(json.dumps(record) + "\n" for record in [header, *records]))
    return path


def fit(capsys, *args):
    """Exit status, stdout and stderr of `fit ARGS` run in-process."""
    code = main(["fit", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def approach2_a(out: str) -> float:
    return float(next(line for line in out.splitlines() if line.startswith("2. IsoFLOP profiles")).split()[3])


def test_fit_reads_a_sweeps_results_file_and_its_directory(tmp_path, synthetic, capsys):
    path = write_results(tmp_path / "results.jsonl", synthetic, diverged_id="C1e+18-blew-up")
    for given in (path, tmp_path):
        code, out, err = fit(capsys, given, "--bootstrap", "0")
        assert (code, err) == (0, "")
        assert out.startswith("16 runs, 1 diverged (left out). Exponents")
        assert approach2_a(out) == pytest.approx(A_TRUE, abs=0.01)


def test_fit_reads_a_csv(tmp_path, synthetic, capsys):
    code, out, err = fit(capsys, write_runs_csv(synthetic, tmp_path / "runs.csv"), "--bootstrap", "0")
    assert (code, err) == (0, "")
    assert out.startswith("15 runs. Exponents")
    assert approach2_a(out) == pytest.approx(A_TRUE, abs=0.01)


def test_sweep_results_are_told_from_a_csv_by_their_first_byte(tmp_path):
    assert is_sweep_results(tmp_path)
    (tmp_path / "a.jsonl").write_text('\n  {"kind": "header"}\n')
    (tmp_path / "b.csv").write_text("params,tokens,flops,loss\n")
    (tmp_path / "c.csv").write_text("")
    assert [is_sweep_results(tmp_path / name) for name in ("a.jsonl", "b.csv", "c.csv")] == [True, False, False]


def test_fit_exits_2_after_the_table_when_no_approach_fits(tmp_path, capsys):
    path = write_runs_csv(isoflop_runs((1e19,), sizes_per_budget=3), tmp_path / "runs.csv")
    code, out, err = fit(capsys, path, "--bootstrap", "5")
    assert code == 2
    assert "skipped: the runs have no loss curves" in out
    assert "skipped: Approach 3 fits 5 parameters (a, b, e, alpha, beta): it needs at least 5 points, got 3" in out
    assert err == (f"error: no approach could be fitted to the 3 runs of {path}; "
                   "the table above says why each was skipped\n")


HEADER = "params,tokens,flops,loss\n1e6,2e7,1.2e14,3.0\n"


# Each message as it follows the file's path.
@pytest.mark.parametrize("text, message", [
    (HEADER + "2e8,1e9\n",
     " line 3: missing flops, loss (the row has 2 fields, the header 4 columns; leave a field empty for no value)"),
    (HEADER + "2e8,1e9,1.2e18,2.9,7\n",
     " line 3: field 5 ('7') has no column: the header has 4 columns (params, tokens, flops, loss); "
     "quote a field that contains a comma"),
    ("params,tokens,flops,loss,params\n1e6,2e7,1.2e14,3.0,1e6\n",
     " line 1: column 'params' appears twice (columns 1 and 5); give each column once"),
    (HEADER + "2e8,1e9,1.2e18,-2.9\n", " line 3: loss must be a positive finite number, got -2.9"),
    (HEADER.encode() + b"\xff\xfe", " is not a text CSV file (byte 0xff at offset 44 is not UTF-8)"),
])
def test_bad_csv_is_one_line_naming_the_file_and_exit_status_2(tmp_path, capsys, text, message):
    path = tmp_path / "runs.csv"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    code, out, err = fit(capsys, path, "--bootstrap", "0")
    assert (code, out) == (2, "")
    assert err == f"error: {path}{message}\n"


def test_missing_input_is_one_line_with_exit_status_2(tmp_path, capsys):
    code, out, err = fit(capsys, tmp_path / "nope.csv")
    assert (code, out) == (2, "")
    assert err.startswith("error: ") and str(tmp_path / "nope.csv") in err and err.count("\n") == 1


def test_help_names_both_inputs_and_documents_the_csv_as_runs_py_does():
    result = subprocess.run([sys.executable, "-m", "scalinglaws", "fit", "--help"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    help_text = " ".join(result.stdout.split())
    assert "a sweep's results.jsonl or its directory, or a CSV (params,tokens,flops,loss[,...])" in help_text
    columns = next(line.strip() for line in runs_module.__doc__.splitlines() if line.strip().startswith("params,"))
    assert columns in help_text  # the column list of runs.py's docstring, verbatim
    for name in (*runs_module.REQUIRED_COLUMNS, *runs_module.OPTIONAL_COLUMNS):
        assert name in columns
    assert "Exit status: 0 when at least one approach was fitted; 2 for bad input" in help_text
