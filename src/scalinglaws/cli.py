"""Command line: ``python -m scalinglaws optimal | fit | sweep | plan``.

    python -m scalinglaws optimal --flops 5.76e23 --law chinchilla-unrounded
    python -m scalinglaws fit runs.csv --bootstrap 200
    python -m scalinglaws sweep --preset demo --jobs 2
    python -m scalinglaws plan --preset cpu --cooldown 0.2
"""

from __future__ import annotations

import argparse
import sys
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


#: `fit --help`'s account of its input (the CSV as runs.py's docstring specifies it) and exit status.
FIT_EPILOG = """\
RUNS is a sweep's results (`python -m scalinglaws sweep` writes OUT/results.jsonl: give that
file or OUT), or a CSV of runs from elsewhere: UTF-8 text, a header row, then one row per run
with one field per column, in any column order:

  params,tokens,flops,loss[,budget][,non_embedding_params][,curve_tokens,curve_loss][,diverged][,name]

  params, tokens, flops, loss  required numbers: N, D, C in FLOPs, final held-out loss
  budget                       IsoFLOP budget in FLOPs (empty: runs are grouped by C within 10%)
  non_embedding_params         Kaplan's N
  curve_tokens, curve_loss     together: space-separated numbers in one field, e.g. "1e6 2e6 4e6"
  diverged                     true/false (1/0, yes/no): diverged runs are left out of the fits
  name                         label (default: the file and line, e.g. "runs.csv line 3")

A directory, or a file whose first non-blank character is "{", is read as sweep results.
Exit status: 0 when at least one approach was fitted; 2 for bad input, or when none could be
(the table still says why each was skipped).
"""


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


def run_fit(args: argparse.Namespace) -> int:
    """Print the fit report; exit status 2 when no approach could be fitted, 0 otherwise."""
    from scalinglaws.fitting import fit_all

    report = fit_all(read_fit_input(args.runs), n_bootstrap=args.bootstrap, seed=args.seed)
    print(report.format())
    if not report.fitted:
        print(f"error: no approach could be fitted to the {report.n_runs} runs of {args.runs}; "
              "the table above says why each was skipped", file=sys.stderr)
        return 2
    return 0


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
    fit.add_argument("--bootstrap", type=int, default=200, help="bootstrap refits per approach")
    fit.add_argument("--seed", type=int, default=0)
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
