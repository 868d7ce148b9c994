"""`python -m scalinglaws fit`: reads a sweep's results or a CSV, refuses bad input in one line
naming the file and the line, and exits 2 when nothing was fitted; its fit options (seed means,
finished runs, IsoFLOP windows, trunks redrawn) are the book's (fitting.sweep_fits.FitOptions)."""

import contextlib
import csv
import inspect
import io
import json
import subprocess
import sys

import numpy as np
import pytest
from synthetic_sweeps import synthetic_records

from scalinglaws import cli
from scalinglaws.cli import is_sweep_results, main
from scalinglaws.data import runs as runs_module
from scalinglaws.data.runs import write_runs_csv
from scalinglaws.fitting import sweep_fits
from scalinglaws.fitting.approach2 import ISOFLOP_WINDOW
from scalinglaws.fitting.sweep_fits import PLAIN, FitOptions
from scalinglaws.fitting.synthetic import isoflop_runs
from scalinglaws.papers import constants
from scalinglaws.papers.constants import ParametricFit
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
        assert out.splitlines()[1].startswith("16 runs, 1 diverged (left out). Exponents")
        assert approach2_a(out) == pytest.approx(A_TRUE, abs=0.01)


def test_fit_reads_a_csv(tmp_path, synthetic, capsys):
    code, out, err = fit(capsys, write_runs_csv(synthetic, tmp_path / "runs.csv"), "--bootstrap", "0")
    assert (code, err) == (0, "")
    assert out.splitlines()[1].startswith("15 runs. Exponents")
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



# ------------------------------------------------------------------------------------------
# Fit options: sweeps of the reference grid drawn from a known law (tests/synthetic_sweeps.py)
# ------------------------------------------------------------------------------------------

#: a = 0.5, its optimum inside the reference grid's ladder at every budget (tests/test_tuned_sweep.py).
LAW = ParametricFit("synthetic", E=1.0, A=60.0, B=300.0, alpha=0.35, beta=0.35)
A_LAW, _ = allocation_exponents(LAW)
#: Tolerances on a: Approaches 2 and 3 read 0.500-0.501 on these records under every option.
#: Approach 1's envelope can elect only one of five sizes 2-2.7x apart (tests/test_tuned_sweep.py)
#: and reads 0.39 on every curve point, 0.43 on finished runs: a property of the grid.
A_TOLERANCE = {1: 0.12, 2: 0.02, 3: 0.01}
#: Offset shared by every branch of a trunk in the trunk test (nats), against 0.002 of each run's own.
TRUNK_SD = 0.02
FLAG_SETS = {  # flags -> the FitOptions they choose
    (): PLAIN,
    ("--seed-means",): FitOptions(seed_means=True, finished_only=False, windowed=False),
    ("--finished-only",): FitOptions(seed_means=False, finished_only=True, windowed=False),
    ("--window",): FitOptions(seed_means=False, finished_only=False, windowed=True),
    ("--seed-means", "--finished-only", "--window"): FitOptions(),
    ("--bootstrap-unit", "trunk"): FitOptions(trunks=True),  # turns the three on: it needs them
    ("--bootstrap-unit", "trunk", "--window"): FitOptions(trunks=True),
    ("--seed-means", "--no-window", "--bootstrap-unit", "run"): FitOptions(seed_means=True, finished_only=False,
                                                                          windowed=False),
}


def write_records(path, records):
    """``records`` (sweep run records) as a sweep's results.jsonl."""
    header = {"kind": "header", "preset": "synthetic", "grid_hash": "0", "runs": {r["run_id"]: "0" for r in records}}
    path.write_text("".join(json.dumps(record) + "\n" for record in [header, *[dict(r, kind="run") for r in records]]))
    return path


def write_records_csv(path, records, columns=("seed", "trunk")):
    """``records`` as a CSV of runs with the extra ``columns`` (seed, trunk) that only `fit` reads."""
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["params", "tokens", "flops", "loss", "budget", "curve_tokens", "curve_loss", *columns])
        for r in records:
            extra = {"seed": r["seed"], "trunk": r["branch"]["trunk"]}
            writer.writerow([repr(float(r["params_total"])), repr(float(r["tokens"])), repr(float(r["flops_6nd"])),
                             repr(float(r["final_loss"])), repr(float(r["budget"])),
                             " ".join(repr(float(t)) for t in r["curve_tokens"]),
                             " ".join(repr(float(v)) for v in r["curve_loss"]), *(extra[c] for c in columns)])
    return path


def with_trunk_offsets(records, sd, seed=1):
    """The records with one offset drawn per WSD trunk, added to every branch's loss and curve."""
    trunks = sorted({r["branch"]["trunk"] for r in records})
    offset = dict(zip(trunks, np.random.default_rng(seed).normal(0.0, sd, len(trunks))))
    return [dict(r, final_loss=r["final_loss"] + offset[r["branch"]["trunk"]],
                 curve_loss=[v + offset[r["branch"]["trunk"]] for v in r["curve_loss"]]) for r in records]


def approach_row(out: str, number: int) -> list[str]:
    label = constants.approach(number).label
    return next(line for line in out.splitlines() if line.startswith(label))[len(label):].split()


def printed_a(out: str, number: int) -> float:
    return float(approach_row(out, number)[0])


def printed_interval(out: str, number: int) -> tuple[float, float]:
    low, high = approach_row(out, number)[1].split("-")
    return float(low), float(high)


@pytest.fixture(scope="module")
def law_sweep(tmp_path_factory):
    """The reference grid's 117 records (5 sizes x 3 seeds, WSD branches) of LAW, 0.004 nats of seed noise."""
    return write_records(tmp_path_factory.mktemp("law") / "results.jsonl", synthetic_records(LAW))


@pytest.fixture
def fits_called(monkeypatch):
    """The options and IsoFLOP budgets of every sweep_fits.fit_sweep_records call, and what it returned."""
    calls = []
    real = sweep_fits.fit_sweep_records

    def spy(*args, **kwargs):
        given = inspect.signature(real).bind(*args, **kwargs)
        given.apply_defaults()
        fits = real(*args, **kwargs)
        calls.append((given.arguments["options"], given.arguments["isoflop_budgets"], fits))
        return fits

    monkeypatch.setattr(sweep_fits, "fit_sweep_records", spy)
    return calls


@pytest.mark.parametrize("flags", list(FLAG_SETS), ids=lambda flags: " ".join(flags) or "default")
def test_the_flags_choose_the_book_s_fit_options(flags):
    assert cli.fit_options(cli.build_parser().parse_args(["fit", "runs.csv", *flags])) == FLAG_SETS[flags]


# All three on is fitted below too, with runs and with trunks redrawn on a sweep whose trunks share an offset.
@pytest.mark.parametrize("flags", [(), ("--seed-means",), ("--finished-only",), ("--window",)],
                         ids=lambda flags: " ".join(flags) or "default")
def test_each_fit_option_is_the_book_s_and_recovers_the_law_s_exponent(law_sweep, capsys, fits_called, flags):
    code, out, err = fit(capsys, law_sweep, "--bootstrap", "0", *flags)
    assert (code, err) == (0, "")
    options = FLAG_SETS[flags]
    # The default is fitting.fit_all, as before the options; any option is fit_sweep_records with them.
    assert [call[0] for call in fits_called] == ([] if options == PLAIN else [options])
    assert out.splitlines()[0] == cli.describe_fit(options, 0)
    for number, tolerance in A_TOLERANCE.items():
        if options.finished_only and not options.seed_means and number == 1:
            # Each length was trained with 3 seeds: finished runs alone leave the envelope 3 runs per point.
            assert approach_row(out, 1)[0] == "skipped:" and "repeat a length: average their seeds first" in out
            continue
        assert printed_a(out, number) == pytest.approx(A_LAW, abs=tolerance), number


def test_the_options_name_what_they_fit():
    assert cli.describe_fit(PLAIN, 200) == (
        "Fit: every run its own point; Approach 1 on every point of the curves; IsoFLOP parabolas over each "
        "budget's whole span; the bootstrap redraws runs.")
    assert cli.describe_fit(FitOptions(trunks=True), 200, (4e12, 8e12)) == (
        "Fit: Approaches 1 and 2 on the seed means of each setting; Approach 1 on finished runs only; IsoFLOP "
        "parabolas within 4x in N of each budget's lowest loss; Approach 2 on budgets 4e+12, 8e+12 FLOPs; the "
        "bootstrap redraws whole WSD trunks within each size.")


@pytest.fixture(scope="module")
def trunk_offset_fits(tmp_path_factory):
    """`fit` of a sweep whose trunks carry a shared offset (TRUNK_SD), 20 refits: (exit status, stdout,
    stderr) of its results file with runs redrawn and with trunks redrawn, and of the same runs as a CSV
    with seed and trunk columns, trunks redrawn."""
    records = with_trunk_offsets(synthetic_records(LAW, seed_sd=0.002), TRUNK_SD)
    folder = tmp_path_factory.mktemp("trunks")
    results, table = write_records(folder / "results.jsonl", records), write_records_csv(folder / "runs.csv", records)
    outputs = {}
    for name, path, flags in (("runs", results, ("--seed-means", "--finished-only", "--window")),
                              ("trunks", results, ("--bootstrap-unit", "trunk")),
                              ("csv trunks", table, ("--bootstrap-unit", "trunk"))):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["fit", str(path), "--bootstrap", "20", *flags])
        outputs[name] = (code, out.getvalue(), err.getvalue())
    return outputs


def test_redrawing_trunks_widens_the_interval_of_a_sweep_whose_branches_share_an_offset(trunk_offset_fits):
    """Approach 3 fits every run: redrawn one by one, the branches of a trunk look like independent
    points and its offset averages out (10-90% width 0.015 here); redrawn with their trunk, 0.07."""
    (code, runs, err), (trunk_code, trunks, trunk_err) = (trunk_offset_fits[name] for name in ("runs", "trunks"))
    assert (code, err, trunk_code, trunk_err) == (0, "", 0, "")
    assert trunks.splitlines()[0] == cli.describe_fit(FitOptions(trunks=True), 20)
    assert runs.splitlines()[0] == cli.describe_fit(FitOptions(), 20)
    run_low, run_high = printed_interval(runs, 3)
    trunk_low, trunk_high = printed_interval(trunks, 3)
    assert trunk_high - trunk_low > 2 * (run_high - run_low)
    for number in (1, 2, 3):  # the same fits (trunks change the intervals only), recovering the law
        assert printed_a(trunks, number) == printed_a(runs, number)
        assert printed_interval(trunks, number) != printed_interval(runs, number)
        assert printed_a(trunks, number) == pytest.approx(A_LAW, abs=A_TOLERANCE[number]), number


def test_a_csv_with_seed_and_trunk_columns_fits_as_the_results_file_it_was_written_from(trunk_offset_fits):
    table, results = trunk_offset_fits["csv trunks"], trunk_offset_fits["trunks"]
    assert table[0] == 0 and table[2] == ""
    assert table == results  # every number, trunks redrawn alike


def test_a_csv_with_seed_and_trunk_columns_is_fitted_as_before_by_default(tmp_path, capsys):
    """The columns only `fit` reads leave the default fit's runs as they were."""
    runs = isoflop_runs(BUDGETS, sizes_per_budget=5)
    plain = write_runs_csv(runs, tmp_path / "plain.csv")
    with open(plain, newline="") as handle:
        rows = list(csv.reader(handle))
    rows = [rows[0] + ["seed", "trunk"]] + [row + ["0", f"trunk {i}"] for i, row in enumerate(rows[1:])]
    with open(tmp_path / "seeds.csv", "w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    outputs = [fit(capsys, path, "--bootstrap", "0") for path in (plain, tmp_path / "seeds.csv")]
    assert outputs[0] == outputs[1] and outputs[0][0] == 0
    assert approach2_a(outputs[0][1]) == pytest.approx(A_TRUE, abs=0.01)


def test_trunks_on_a_csv_without_a_trunk_column_is_an_error_naming_the_column_and_the_file(tmp_path, capsys):
    records = synthetic_records(LAW)
    path = write_records_csv(tmp_path / "runs.csv", records, columns=("seed",))
    code, out, err = fit(capsys, path, "--bootstrap-unit", "trunk")
    assert (code, out) == (2, "")
    assert err == (f"error: {path} has no trunk column: --bootstrap-unit trunk redraws whole WSD trunks, so every "
                   "row must name the trunk it is a branch of (one label per (size, seed) trunk); add a trunk "
                   "column, or use --bootstrap-unit run\n")


@pytest.mark.parametrize("args, message", [
    (("--bootstrap-unit", "trunk", "--no-window"),
     ("--bootstrap-unit trunk redraws trunks around the fit of seed means of finished runs within IsoFLOP windows: "
      "it needs --seed-means, --finished-only and --window, got --no-window")),
    (("--isoflop-budgets", "1e18,5e18"),
     ("{path} has no runs at IsoFLOP budget 5e+18 FLOPs (--isoflop-budgets); its budgets are 1e+18, 1e+19, "
      "1e+20 FLOPs")),
    (("--bootstrap", "-1"), "--bootstrap must be a number of refits >= 0 (0: no intervals), got -1"),
])
def test_bad_fit_options_are_one_line_naming_the_value(tmp_path, synthetic, capsys, args, message):
    path = write_runs_csv(synthetic, tmp_path / "runs.csv")
    code, out, err = fit(capsys, path, *args)
    assert (code, out) == (2, "")
    assert err == f"error: {message.format(path=path)}\n"


def test_the_options_refuse_a_csv_whose_flops_are_not_6nd(tmp_path, capsys):
    path = tmp_path / "runs.csv"
    path.write_text("params,tokens,flops,loss\n1e6,2e7,1.2e14,3.0\n1e6,4e7,3e14,2.9\n")
    code, out, err = fit(capsys, path, "--bootstrap", "0")  # the default fit reads them as given
    assert err == (f"error: no approach could be fitted to the 2 runs of {path}; "
                   "the table above says why each was skipped\n")
    code, out, err = fit(capsys, path, "--window")
    assert (code, out) == (2, "")
    assert err == (f"error: {path} line 3: flops 3e+14 is not 6 x params x tokens (2.4e+14); the fit options read "
                   "C as 6ND, as a sweep's records count it: fit without them, or give 6ND FLOPs\n")


def test_the_help_s_reference_fit_is_the_book_s_fit_of_its_reference_sweep(capsys, fits_called):
    """The command the help prints for chapters 10-13 calls fit_sweep_records as tuned_sweep does
    (every option, trunks, the seven IsoFLOP budgets) and prints its exponents."""
    from scalinglaws.data.committed_results import sweep_results
    from scalinglaws.sweeps import tuned_sweep

    command = cli.REFERENCE_FIT_EXAMPLE.replace("\\\n", " ").split()
    assert command[:4] == ["python", "-m", "scalinglaws", "fit"] and command[4] == "results/tuned"
    code, out, err = fit(capsys, sweep_results("tuned"), *command[5:], "--bootstrap", "0")
    assert (code, err) == (0, "")
    [(options, budgets, fits)] = fits_called
    assert (options, budgets) == (FitOptions(trunks=True), tuned_sweep.BUDGETS)
    for number in (1, 2, 3):
        assert printed_a(out, number) == round(fits.a(number), 3)


def test_help_names_the_default_fit_and_why(capsys):
    with pytest.raises(SystemExit) as exit_status:
        main(["fit", "--help"])
    assert exit_status.value.code == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert ("The default fit has every option off: each run its own point, Approach 1 on every point of the loss "
            "curves, each IsoFLOP parabola over its budget's whole span, a bootstrap that redraws runs. The book "
            "fits its cpu sweep (one seed per run, no WSD trunks; chapters 10-12) this way, and it is the default "
            "because it fits the runs as given") in help_text
    assert " ".join(cli.REFERENCE_FIT_EXAMPLE.split()) in help_text
    for flag in ("--seed-means, --no-seed-means", "--finished-only, --no-finished-only", "--window, --no-window",
                 "--bootstrap-unit {run,trunk}", "--isoflop-budgets C[,C...]"):
        assert flag in help_text
    assert f"within a factor {ISOFLOP_WINDOW:g} in N of its budget's lowest loss" in help_text  # the fits' window
