"""Pilot sweeps that fixed the ``cpu`` preset's learning-rate rule, batch and bracket centre.

    python results/pilot/pilot.py lr        # learning rate x batch at one budget, 3 model sizes
    python results/pilot/pilot.py isoflop   # IsoFLOP profiles at 3 small budgets, the chosen rule
    python results/pilot/pilot.py batch8    # the two smallest budgets again with batch 8
    python results/pilot/pilot.py cpu1e13   # the cpu preset's own runs at 1e13, a fourth budget
    python results/pilot/pilot.py report    # the tables of results/pilot/README.md and an Approach 2 fit

Results go to ``results/pilot/<name>/results.jsonl`` through the sweep runner, so they are
resumable and carry the same provenance as any sweep.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

from scalinglaws.papers import counting
from scalinglaws.sweeps.grid import RunSpec, build_grid, steps_for_budget
from scalinglaws.sweeps.presets import CPU_LR_RULE, PRESETS, Preset
from scalinglaws.data.results import format_records_table, load_results, results_to_runs
from scalinglaws.sweeps.runner import run_specs
from scalinglaws.training.train import TrainConfig

HERE = Path(__file__).resolve().parent
CORPUS, EVAL_SEQUENCES, EVAL_POINTS = "default", 256, 14
LR_BUDGET = 1e12
LR_SHAPES = [counting.TransformerShape(1, 16, 2, 128), counting.TransformerShape(1, 32, 4, 128),
             counting.TransformerShape(2, 48, 4, 128)]
LEARNING_RATES = (2e-3, 5e-3, 1.2e-2, 3e-2)
#: The rule read off the lr pilot (README.md), fitted from its records by learning_rate_rule.pilot_rule.
LR_RULE = CPU_LR_RULE
BATCHES = {16: LEARNING_RATES, 8: (5e-3, 1.2e-2), 32: (5e-3, 1.2e-2)}  # other batches: middle model only


def spec(shape: counting.TransformerShape, budget: float, batch: int, lr: float) -> RunSpec:
    config = TrainConfig(shape=shape, steps=steps_for_budget(budget, shape, batch), batch_size=batch, peak_lr=lr,
                         eval_sequences=EVAL_SEQUENCES, n_eval_points=EVAL_POINTS)
    return RunSpec(budget=budget, corpus=CORPUS, config=config)


def lr_grid() -> list[RunSpec]:
    specs = [spec(shape, LR_BUDGET, 16, lr) for shape in LR_SHAPES for lr in LEARNING_RATES]
    specs += [spec(LR_SHAPES[1], LR_BUDGET, batch, lr) for batch, lrs in BATCHES.items() if batch != 16
              for lr in lrs]
    return specs


#: IsoFLOP pilot: batch 16 and the learning-rate rule fitted to the ``lr`` pilot (see README.md).
ISOFLOP = Preset(
    name="pilot-isoflop", description="IsoFLOP profiles at 3e11, 1e12, 3e12 on 'default'",
    corpus=CORPUS, budgets=(3e11, 1e12, 3e12),
    ladder=tuple(counting.TransformerShape(l, d, h, 128) for l, d, h in
                 [(1, 8, 1), (1, 12, 2), (1, 16, 2), (1, 24, 2), (1, 32, 4), (2, 32, 4), (2, 40, 4), (2, 48, 4),
                  (3, 48, 4), (3, 64, 4)]),
    models_per_budget=6, tokens_per_param_guess=200.0, batch_size=16,
    lr_at_100k=LR_RULE.lr_at_100k, lr_exponent=LR_RULE.exponent, eval_sequences=1024, n_eval_points=EVAL_POINTS)


def isoflop_grid() -> list[RunSpec]:
    return build_grid(ISOFLOP)


#: The same grid at the two small budgets with batch 8: twice the optimizer steps per run.
ISOFLOP_BATCH8 = replace(ISOFLOP, name="pilot-isoflop-batch8", budgets=(3e11, 1e12), batch_size=8,
                         description="IsoFLOP profiles at 3e11, 1e12 with batch 8 on 'default'")


def report() -> None:
    for name in ("lr", "isoflop", "isoflop_batch8", "cpu_1e13"):
        path = HERE / name / "results.jsonl"
        if not path.exists():
            continue
        _, records = load_results(path)
        print(f"\n{name}: {len(records)} runs")
        print(format_records_table(records))
        if name.startswith("isoflop"):
            from scalinglaws.fitting.approach2 import fit_approach2

            fit = fit_approach2(results_to_runs(path))
            for profile in fit.profiles:
                print(f"budget {profile.budget:.0e}: N_opt {profile.n_opt:,.0f}, D_opt/N_opt "
                      f"{profile.d_opt / profile.n_opt:.0f}, loss {profile.loss_min:.4f} {profile.reason}")
            print(f"Approach 2: a = {fit.a:.3f}, b = {fit.b:.3f}")
    from scalinglaws.fitting import fit_all

    print("\nAll pilot runs that follow the cpu preset's rules:")
    print(fit_all(cpu_rule_runs(), n_bootstrap=0).format())


def cpu_rule_runs():
    """The pilot runs that follow the cpu preset's rules: batch 8 below 3e12, batch 16 at 3e12 and 1e13."""
    from scalinglaws.data.runs import Runs

    runs = list(results_to_runs(HERE / "isoflop_batch8" / "results.jsonl"))
    runs += [run for run in results_to_runs(HERE / "isoflop" / "results.jsonl") if run.budget == 3e12]
    if (HERE / "cpu_1e13" / "results.jsonl").exists():
        runs += list(results_to_runs(HERE / "cpu_1e13" / "results.jsonl"))
    return Runs(tuple(runs))


def main() -> None:
    command = sys.argv[1] if len(sys.argv) > 1 else "report"
    if command == "lr":
        run_specs("pilot-lr", "learning rate x batch at C = 1e12 on 'default'", lr_grid(), HERE / "lr")
    elif command == "isoflop":
        run_specs("pilot-isoflop", "IsoFLOP profiles at 3e11, 1e12, 3e12 with the cpu preset's rule",
                  isoflop_grid(), HERE / "isoflop")
    elif command == "batch8":
        run_specs(ISOFLOP_BATCH8.name, ISOFLOP_BATCH8.description, build_grid(ISOFLOP_BATCH8), HERE / "isoflop_batch8")
    elif command == "cpu1e13":
        runs = [spec for spec in build_grid(PRESETS["cpu"]) if spec.budget == 1e13]
        run_specs("pilot-cpu-1e13", "the cpu preset's 6 runs at 1e13 FLOPs", runs, HERE / "cpu_1e13")
    elif command == "report":
        report()
    else:
        raise SystemExit(f"unknown command {command!r}: expected lr, isoflop, batch8 or report")


if __name__ == "__main__":
    main()
