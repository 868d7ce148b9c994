"""Command line: ``python -m scalinglaws optimal | fit | sweep``.

    python -m scalinglaws optimal --flops 5.76e23 --law chinchilla-unrounded
    python -m scalinglaws fit runs.csv --bootstrap 200
    python -m scalinglaws sweep --preset demo --out results/demo --jobs 2
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import laws


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


def run_fit(args: argparse.Namespace) -> None:
    from .fitting import fit_all
    from .runs import read_runs_csv

    report = fit_all(read_runs_csv(args.csv), n_bootstrap=args.bootstrap, seed=args.seed)
    print(report.format())


def run_sweep_command(args: argparse.Namespace) -> None:
    from .sweep import run_sweep

    path = run_sweep(args.preset, out_dir=args.out, jobs=args.jobs)
    print(f"results: {path}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m scalinglaws", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)

    optimal = commands.add_parser("optimal", help="compute-optimal N and D for a FLOP budget (Eq. 4)")
    optimal.add_argument("--flops", type=positive_float, required=True, help="training compute C in FLOPs")
    optimal.add_argument("--law", choices=laws.LAW_NAMES, action="append",
                         help="published law (repeatable; default: all of them)")
    optimal.set_defaults(func=run_optimal)

    fit = commands.add_parser("fit", help="fit Chinchilla's three approaches to a CSV of runs")
    fit.add_argument("csv", type=Path, help="runs: columns params,tokens,flops,loss[,budget,...]")
    fit.add_argument("--bootstrap", type=int, default=200, help="bootstrap refits per approach")
    fit.add_argument("--seed", type=int, default=0)
    fit.set_defaults(func=run_fit)

    sweep = commands.add_parser("sweep", help="train a compute-optimal sweep of tiny transformers")
    sweep.add_argument("--preset", required=True,
                       help="demo (minutes), cpu (the laptop replication), gpu (one GPU), smoke (tests)")
    sweep.add_argument("--out", type=Path, default=None, help="results directory (default results/PRESET)")
    sweep.add_argument("--jobs", type=int, default=None, help="worker processes (default: the faster choice)")
    sweep.set_defaults(func=run_sweep_command)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "optimal" and not args.law:
        args.law = list(laws.LAW_NAMES)
    try:
        args.func(args)
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0
