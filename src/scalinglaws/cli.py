"""Command line: ``python -m scalinglaws optimal | fit | sweep | plan``.

    python -m scalinglaws optimal --flops 5.76e23 --law chinchilla-unrounded
    python -m scalinglaws fit runs.csv --bootstrap 200
    python -m scalinglaws fit results/tuned --bootstrap-unit trunk
    python -m scalinglaws sweep --preset demo --jobs 2
    python -m scalinglaws plan --preset cpu --cooldown 0.2
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from scalinglaws.papers import laws


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number such as 5.76e23, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive, finite number of FLOPs, got {text!r}")
    return value


def format_allocation(allocation: laws.Allocation) -> str:
    return "\n".join([
        f"law                  {allocation.law}",
        f"compute C            {allocation.flops:.3g} FLOPs",
        f"parameters N_opt     {allocation.params:.3g}",
        f"tokens D_opt         {allocation.tokens:.3g}",
        f"tokens per parameter {allocation.tokens_per_param:.1f}",
        f"predicted loss       {allocation.loss:.3f} ({allocation.loss_note})",
    ])


def run_optimal(args: argparse.Namespace) -> None:
    for law in args.law:
        print(format_allocation(laws.compute_optimal(law, args.flops)))
        print()


#: The book's reference sweep (results/tuned, chapters 10-13) as `fit` reproduces its fits: every
#: option on, whole trunks redrawn, Approach 2 on the seven IsoFLOP budgets (tuned_sweep.BUDGETS;
#: the grid's shorter WSD lengths feed Approach 1 only). tests/test_fit_cli.py checks it.
REFERENCE_FIT_EXAMPLE = ("python -m scalinglaws fit results/tuned --bootstrap-unit trunk \\\n"
                         "      --isoflop-budgets 4e12,5.66e12,8e12,1.13e13,1.6e13,2.26e13,3.2e13")

#: `fit --help`'s account of its input (the CSV as runs.py's docstring specifies it, plus the
#: columns only `fit` reads), of its default fit and of its exit status.
FIT_EPILOG = f"""\
RUNS is a sweep's results (`python -m scalinglaws sweep` writes OUT/results.jsonl: give that
file or OUT), or a CSV of runs from elsewhere: UTF-8 text, a header row, then one row per run
with one field per column, in any column order:

  params,tokens,flops,loss[,budget][,non_embedding_params][,curve_tokens,curve_loss][,diverged][,name][,seed][,trunk]

  params, tokens, flops, loss  required numbers: N, D, C in FLOPs, final held-out loss
  budget                       IsoFLOP budget in FLOPs (empty: runs are grouped by C within 10%)
  non_embedding_params         Kaplan's N
  curve_tokens, curve_loss     together: space-separated numbers in one field, e.g. "1e6 2e6 4e6"
  diverged                     true/false (1/0, yes/no): diverged runs are left out of the fits
  name                         label (default: the file and line, e.g. "runs.csv line 3")
  seed                         the run's seed, any label: --seed-means averages the seeds of each
                               setting (budget, params, tokens); without this column each row has
                               a seed of its own (its trunk's, when there is a trunk column)
  trunk                        the WSD trunk the run is a branch of, any label, one per (size,
                               seed): --bootstrap-unit trunk needs it

A directory, or a file whose first non-blank character is "{{", is read as sweep results.

The default fit has every option off: each run its own point, Approach 1 on every point of the
loss curves, each IsoFLOP parabola over its budget's whole span, a bootstrap that redraws runs.
The book fits its cpu sweep (one seed per run, no WSD trunks; chapters 10-12) this way, and it
is the default because it fits the runs as given, assuming nothing about their seeds, trunks or
which curve points are finished runs.
(On Hoffmann et al.'s published IsoFLOP points the window moves a by less than 0.01.) The book's
reference sweep (3 seeds, WSD trunks; chapters 10-13) is fitted with every option on, whole
trunks redrawn, and Approach 2 on its seven IsoFLOP budgets (its shorter lengths are for
Approach 1):

  {REFERENCE_FIT_EXAMPLE}

With any option on, the fits read C as 6ND, as a sweep's records count it (a CSV's flops must
be 6 x params x tokens to within 1%).

Exit status: 0 when at least one approach was fitted; 2 for bad input, or when none could be
(the table still says why each was skipped).
"""

#: How far a CSV's flops may be from 6 x params x tokens when the fit options read C as 6ND.
FLOPS_6ND_TOLERANCE = 0.01

#: Run-record fields that fit_sweep_records reads (the options' fits), as the sweep runner writes them.
RECORD_FIELDS = ("run_id", "budget", "corpus", "train_config", "params_total", "params_non_embedding",
                 "tokens", "flops_6nd", "final_loss", "diverged", "curve_tokens", "curve_loss")


def is_sweep_results(path: Path) -> bool:
    """A directory (a sweep's OUT) or a file whose first non-blank byte opens a JSON record."""
    if path.is_dir():
        return True
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(65536), b""):
            if chunk.strip():
                return chunk.lstrip()[:1] == b"{"
    return False


def read_fit_input(path: Path):
    """The runs `fit` reads from ``path``: sweep results (:func:`results.results_to_runs`) or a CSV."""
    from scalinglaws.data.results import results_to_runs
    from scalinglaws.data.runs import read_runs_csv

    return results_to_runs(path) if is_sweep_results(path) else read_runs_csv(path)


def csv_records(path: Path, needs_trunks: bool) -> list[dict]:
    """A CSV's rows as the run records a sweep writes, for fit_sweep_records: C is 6ND there, so
    a row whose flops are not is refused; a setting (cell) is (budget, params, tokens); the seed is
    the seed column's, else the trunk's, else one of the row's own."""
    from scalinglaws.data.runs import read_runs_table

    runs, places, extra = read_runs_table(path)
    if needs_trunks and "trunk" not in extra:
        raise ValueError(f"{path} has no trunk column: --bootstrap-unit trunk redraws whole WSD trunks, so "
                         "every row must name the trunk it is a branch of (one label per (size, seed) trunk); "
                         "add a trunk column, or use --bootstrap-unit run")
    seeds = extra.get("seed") or extra.get("trunk") or [str(index) for index in range(len(runs))]  # else each its own
    records = []
    for index, (run, where, budget) in enumerate(zip(runs, places, runs.budgets())):
        flops_6nd = 6.0 * run.params * run.tokens
        if abs(run.flops / flops_6nd - 1) > FLOPS_6ND_TOLERANCE:
            raise ValueError(f"{where}: flops {run.flops:.6g} is not 6 x params x tokens ({flops_6nd:.6g}); the fit "
                             "options read C as 6ND, as a sweep's records count it: fit without them, or give "
                             "6ND FLOPs")
        record = {"run_id": run.name, "budget": float(budget), "corpus": None,
                  "train_config": {"seed": seeds[index], "params": run.params, "tokens": run.tokens},
                  "params_total": run.params, "tokens": run.tokens, "flops_6nd": flops_6nd,
                  # not read by the fits (total N is Hoffmann's); records_to_runs needs a number
                  "params_non_embedding": run.params if run.non_embedding_params is None else run.non_embedding_params,
                  "final_loss": None if run.diverged else run.loss, "diverged": run.diverged,
                  "curve_tokens": [] if not run.has_curve else [float(t) for t in run.curve_tokens],
                  "curve_loss": [] if not run.has_curve else [float(v) for v in run.curve_loss],
                  "seed": seeds[index]}
        if "trunk" in extra:
            record["branch"] = {"trunk": extra["trunk"][index]}
        records.append(record)
    return records


def results_records(path: Path, needs_trunks: bool) -> list[dict]:
    """A sweep's run records, checked for the fields that the options' fits read."""
    from scalinglaws.data.results import load_results

    _, records = load_results(path)
    if not records:
        raise ValueError(f"{path} holds no finished runs yet; expected at least one run record")
    for record in records:
        name = record.get("run_id", "a run")
        missing = [key for key in RECORD_FIELDS if key not in record]
        if missing or "seed" not in (record.get("train_config") or {}):
            raise ValueError(f"{path}: run {name} has no {', '.join(missing or ['train_config seed'])} field: the fit "
                             "options need run records as `python -m scalinglaws sweep` writes them; fit without them")
        trunk = (record.get("branch") or {}).get("trunk", record.get("trunk"))  # as SeedRuns.from_records reads it
        if needs_trunks and ("seed" not in record or trunk is None):
            raise ValueError(f"{path}: run {name} has no WSD trunk (its record has no branch.trunk) or no seed: "
                             "--bootstrap-unit trunk needs a sweep trained as WSD branches; use --bootstrap-unit run")
    return records


def read_fit_records(path: Path, needs_trunks: bool = False) -> list[dict]:
    """The run records the fit options fit (:func:`sweep_fits.fit_sweep_records`), from a sweep's
    results or a CSV; ``needs_trunks``: refuse runs without a seed and a trunk, naming the file."""
    return results_records(path, needs_trunks) if is_sweep_results(path) else csv_records(path, needs_trunks)


#: The command-line flag of each FitOptions switch, for messages.
OPTION_FLAGS = {"seed_means": "--seed-means", "finished_only": "--finished-only", "windowed": "--window"}


def fit_options(args: argparse.Namespace):
    """The :class:`sweep_fits.FitOptions` that the flags choose. A switch not given is off, except
    with --bootstrap-unit trunk, which needs all three on; turning one off with it is refused."""
    from scalinglaws.fitting.sweep_fits import FitOptions

    trunks = args.bootstrap_unit == "trunk"
    given = {name: getattr(args, name) for name in OPTION_FLAGS}
    refused = [f"--no-{OPTION_FLAGS[name][2:]}" for name, value in given.items() if trunks and value is False]
    if refused:
        raise ValueError(f"--bootstrap-unit trunk redraws trunks around the fit of seed means of finished runs "
                         f"within IsoFLOP windows: it needs --seed-means, --finished-only and --window, "
                         f"got {' '.join(refused)}")
    return FitOptions(**{name: trunks if value is None else value for name, value in given.items()}, trunks=trunks)


def describe_fit(options, n_bootstrap: int, isoflop_budgets=None) -> str:
    """One line naming the fit: its points, Approach 1's curves, Approach 2's parabolas, the bootstrap."""
    from scalinglaws.fitting.approach2 import ISOFLOP_WINDOW

    if n_bootstrap == 0:
        bootstrap = "no bootstrap"
    elif options.trunks:
        bootstrap = "the bootstrap redraws whole WSD trunks within each size"
    elif options.seed_means:
        bootstrap = "the bootstrap redraws each setting's seeds, then runs"
    else:
        bootstrap = "the bootstrap redraws runs"
    parts = ["Approaches 1 and 2 on the seed means of each setting" if options.seed_means
             else "every run its own point",
             "Approach 1 on finished runs only" if options.finished_only else "Approach 1 on every point of the curves",
             f"IsoFLOP parabolas within {ISOFLOP_WINDOW:g}x in N of each budget's lowest loss" if options.windowed
             else "IsoFLOP parabolas over each budget's whole span"]
    if isoflop_budgets is not None:
        parts.append(f"Approach 2 on budgets {', '.join(f'{budget:.3g}' for budget in isoflop_budgets)} FLOPs")
    return f"Fit: {'; '.join(parts + [bootstrap])}."


def chosen_budgets(records: list[dict], wanted, path: Path) -> tuple[float, ...]:
    """The records' budget label of each ``wanted`` budget (within 1%); an unknown one is refused."""
    budgets = sorted({float(record["budget"]) for record in records})
    chosen = []
    for value in wanted:
        match = [budget for budget in budgets if abs(budget / value - 1) <= 0.01]
        if not match:
            raise ValueError(f"{path} has no runs at IsoFLOP budget {value:.6g} FLOPs (--isoflop-budgets); its budgets "
                             f"are {', '.join(f'{budget:.3g}' for budget in budgets)} FLOPs")
        chosen.append(match[0])
    return tuple(chosen)


def fit_records_report(records: list[dict], options, n_bootstrap: int, seed: int, isoflop_budgets=None):
    """:func:`sweep_fits.fit_sweep_records` as a :class:`report.FitReport`, which `fit` prints."""
    from scalinglaws.fitting.sweep_fits import fit_sweep_records
    from scalinglaws.papers import constants

    # fit_sweep_records always bootstraps: with --bootstrap 0 it makes one refit, not printed.
    fits = fit_sweep_records(records, n_bootstrap=max(n_bootstrap, 1), seed=seed, options=options,
                             isoflop_budgets=isoflop_budgets)
    # Its report, with two changes for `fit`: the bootstrap is dropped at --bootstrap 0, and the report
    # words an approach's flagged refits by its key (the Fit line says what was redrawn).
    approaches = tuple(
        replace(report, bootstrap=None if n_bootstrap == 0 or report.bootstrap is None
                else replace(report.bootstrap, approach=approach.key))
        for report, approach in zip(fits.report.approaches, constants.APPROACHES))
    return replace(fits.report, approaches=approaches, n_runs=len(records),
                   n_diverged=sum(bool(record["diverged"]) for record in records))


def run_fit(args: argparse.Namespace) -> int:
    """Print the fit report; exit status 2 when no approach could be fitted, 0 otherwise."""
    from scalinglaws.fitting import fit_all
    from scalinglaws.fitting.sweep_fits import PLAIN

    if args.bootstrap < 0:
        raise ValueError(f"--bootstrap must be a number of refits >= 0 (0: no intervals), got {args.bootstrap}")
    options = fit_options(args)
    budgets = None
    if options == PLAIN and args.isoflop_budgets is None:  # the default: fitting.fit_all, as before the options
        report = fit_all(read_fit_input(args.runs), n_bootstrap=args.bootstrap, seed=args.seed)
    else:
        records = read_fit_records(args.runs, needs_trunks=options.trunks)
        if args.isoflop_budgets is not None:
            budgets = chosen_budgets(records, args.isoflop_budgets, args.runs)
        report = fit_records_report(records, options, args.bootstrap, args.seed, budgets)
    print(describe_fit(options, args.bootstrap, budgets))
    print(report.format())
    if not report.fitted:
        print(f"error: no approach could be fitted to the {report.n_runs} runs of {args.runs}; "
              "the table above says why each was skipped", file=sys.stderr)
        return 2
    return 0


def budget_list(text: str) -> tuple[float, ...]:
    """``--isoflop-budgets 4e12,5.66e12``: positive FLOPs, comma-separated."""
    return tuple(positive_float(word) for word in text.split(","))


def run_sweep_command(args: argparse.Namespace) -> None:
    from scalinglaws.sweeps.runner import run_sweep

    path = run_sweep(args.preset, out_dir=args.out, jobs=args.jobs, shard=args.shard)
    print(f"results: {path}")


def run_plan_command(args: argparse.Namespace) -> None:
    from scalinglaws.sweeps.grid import build_grid
    from scalinglaws.sweeps.presets import get_preset
    from scalinglaws.training import wsd_plan

    specs = build_grid(get_preset(args.preset))
    if all(spec.config.schedule == "cosine" for spec in specs):
        specs = wsd_plan.as_wsd(specs, args.cooldown)
    print(f"preset {args.preset!r} with WSD branches (cooldown {specs[0].config.cooldown_fraction:g} of each run):")
    print(wsd_plan.describe(wsd_plan.plan(specs)))


def shard_argument(text: str):
    """``--shard K/N`` as a :class:`results.Shard`; anything else is a usage error."""
    from scalinglaws.data.results import Shard

    try:
        return Shard.parse(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


class PresetHelpFormatter(argparse.HelpFormatter):
    """Lists every preset of :data:`presets.PRESETS` in ``--preset``'s help, importing the presets
    module (which reads the pilot's records) only when that help is printed, not for every command."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.dest != "preset":
            return super()._get_help_string(action)
        from scalinglaws.sweeps.presets import PRESETS

        return f"{action.help}, one of: {', '.join(PRESETS)}"


def os_error_message(error: OSError) -> str:
    """What failed and where, in one line: Python's own text leads with '[Errno 28]' and quotes."""
    if error.strerror is None:  # a message of its own (a busy results file, a failed download)
        return str(error)
    return f"{error.filename}: {error.strerror}" if error.filename is not None else error.strerror


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m scalinglaws", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)

    optimal = commands.add_parser("optimal", help="compute-optimal N and D for a FLOP budget (Eq. 4)")
    optimal.add_argument("--flops", type=positive_float, required=True, help="training compute C in FLOPs")
    optimal.add_argument("--law", choices=laws.LAW_NAMES, action="append",
                         help="published law (repeatable; default: all of them)")
    optimal.set_defaults(func=run_optimal)

    fit = commands.add_parser("fit", help="fit Chinchilla's three approaches to a sweep's results or a CSV of runs",
                              epilog=FIT_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    fit.add_argument("runs", type=Path, metavar="RUNS",
                     help="a sweep's results.jsonl or its directory, or a CSV (params,tokens,flops,loss[,...])")
    fit.add_argument("--bootstrap", type=int, default=200, help="bootstrap refits per approach (default 200; 0: none)")
    fit.add_argument("--seed", type=int, default=0, help="the bootstrap's random seed (default 0)")
    options = fit.add_argument_group(
        "fit options", "Each is off by default (the default fit is described below); --bootstrap-unit trunk\n"
                       "turns the three switches on. Each works on a sweep's results and on a CSV.")
    options.add_argument("--seed-means", dest="seed_means", action=argparse.BooleanOptionalAction, default=None,
                         help="fit Approaches 1 and 2 to the mean over seeds of each setting (budget, N, D), judge "
                              "IsoFLOP outliers against the measured seed spread, and bootstrap by redrawing each "
                              "setting's seeds first")
    options.add_argument("--finished-only", dest="finished_only", action=argparse.BooleanOptionalAction, default=None,
                         help="build Approach 1's envelope from finished runs only (each run's final loss: each "
                              "WSD branch's), not from the intermediate points of training curves; runs of one "
                              "size and length with several seeds need --seed-means with it")
    options.add_argument("--window", dest="windowed", action=argparse.BooleanOptionalAction, default=None,
                         help="fit each IsoFLOP parabola to the runs within a factor 4 in N of its budget's lowest "
                              "loss, not to the budget's whole span")
    options.add_argument("--bootstrap-unit", choices=("run", "trunk"), default="run",
                         help="what each bootstrap refit redraws: run (default: runs; with --seed-means, each "
                              "setting's seeds, then runs) or trunk (whole WSD trunks within each size, every "
                              "branch of one (size, seed) trunk together, for all three approaches; needs each "
                              "run's trunk, and turns on the three switches above)")
    options.add_argument("--isoflop-budgets", type=budget_list, default=None, metavar="C[,C...]",
                         help="fit Approach 2 to the runs of these budgets only (FLOPs; default: every budget), "
                              "e.g. a WSD grid's IsoFLOP budgets without its shorter lengths")
    fit.set_defaults(func=run_fit)

    sweep = commands.add_parser("sweep", help="train a compute-optimal sweep of tiny transformers",
                                formatter_class=PresetHelpFormatter)
    sweep.add_argument("--preset", required=True, help="the grid to train")  # PresetHelpFormatter lists them
    sweep.add_argument("--out", type=Path, default=None,
                       help="results directory (default: sweeps/PRESET in the current directory); "
                            "the same command resumes it")
    sweep.add_argument("--jobs", type=int, default=None, help="worker processes (default: the faster choice)")
    sweep.add_argument("--shard", type=shard_argument, default=None, metavar="K/N",
                       help="train only the runs at grid positions i with i %% N == K-1 (from 0), into "
                            "OUT/results.shard-K-of-N.jsonl: N processes, one per K, share one OUT")
    sweep.set_defaults(func=run_sweep_command)

    plan = commands.add_parser("plan", help="the WSD trunks and branches that would train a preset's grid, "
                                            "and their FLOPs against independent runs",
                               formatter_class=PresetHelpFormatter)
    plan.add_argument("--preset", required=True, help="the grid to plan")
    # A fraction outside (0, 1) is refused by the schedule itself (schedule.cooldown_steps_for).
    plan.add_argument("--cooldown", type=float, default=0.2,
                      help="cooldown as a fraction of each run, for a cosine preset (default 0.2)")
    plan.set_defaults(func=run_plan_command)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "optimal" and not args.law:
        args.law = list(laws.LAW_NAMES)
    try:
        code = args.func(args)  # None, or an exit status (fit: 2 when no approach could be fitted)
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # a full disk, a read-only or busy --out: one line, not a traceback
        print(f"error: {os_error_message(error)}", file=sys.stderr)
        return 2
    return code or 0
