"""Seed noise against run length under the tuned recipe: does the 4,000-step floor need to be there?

    python -m scalinglaws.sweeps.step_floor plan          # the runs, their trunks and their cost
    python -m scalinglaws.sweeps.step_floor design        # the reading rule simulated on this design (DESIGN.md)
    python -m scalinglaws.sweeps.step_floor run [OUT]     # train it (resumable), into results/step-floor
    python -m scalinglaws.sweeps.step_floor report [OUT]  # the pre-registered reading of the finished runs

The reference sweep (:mod:`.tuned_sweep`) trains no run shorter than
:data:`~scalinglaws.sweeps.tuned_sweep.MIN_STEPS` = 4,000 optimizer steps. Its runs show no fall
of the seed noise with length above that floor (pooled over sizes, the sd is 0.01-0.03 nats
from 4,000 to 138,000 steps), and say nothing below it. This grid measures below it.

**The runs.** Three sizes of the head-16 ladder (2, 3 and 4 layers: 38K, 103K and 225K
parameters) under the reference sweep's tuned recipe (batch 4 x 128 bytes, the tuned learning
rate and beta2, weight decay at a 4,000-step timescale, WSD with a 20% 1-sqrt cooldown), six
seeds each. Each (size, seed) is one trunk branched at 500, 1,000, 2,000 and 4,000 steps.

**The reading rule**, fixed before any run (:func:`scalinglaws.fitting.step_floor.supported_floor`):

1. At each length, the seed sd is pooled over the three sizes (15 degrees of freedom), and
   given with its 90% chi-square interval.
2. The floor the runs support is the shortest length L such that at L and at every longer
   length, the pooled sd is at most 1.25 times the pooled sd at 4,000 steps in the same runs
   (:data:`scalinglaws.fitting.step_floor.TOLERANCE` says where 1.25 comes from).
3. The floor is stated with the shares of :func:`design_text`'s simulations that would state
   it under each assumed truth, so that its confidence is read from the design, not asserted.

**Amendment, after the first 72 runs and before the rerun.** The first runs were not the tuned
recipe. A WSD trunk warms up over 5% of its *shortest* branch (capped at 200 steps), so these
trunks, whose shortest branch has 500 steps, warmed up in 25 steps, where every run of the
reference sweep warmed up in 200. At the tuned rates that broke training: 16 of the 72 runs
diverged, and the 4,000-step runs ended 0.3-0.5 nats above the reference sweep's at 4,100-4,400
steps. Those records are kept in ``results/step-floor-short-warmup`` as what a short warmup does;
they answer nothing about the floor. The rerun holds the warmup at the recipe's
:data:`WARMUP_STEPS` = 200 steps in every trunk; the sizes, seeds, lengths and the reading rule
are unchanged.
"""

from __future__ import annotations

import sys
from pathlib import Path

from scalinglaws.fitting import seed_noise, step_floor
from scalinglaws.papers import counting
from scalinglaws.sweeps import tuned_sweep, tuning
from scalinglaws.training import wsd_plan
from scalinglaws.training.train import TrainConfig

NAME = "step-floor"
OUT = tuning.OUT.with_name(NAME)
LAYERS = (2, 3, 4)
LENGTHS = (500, 1000, 2000, 4000)
SEEDS = 6
REFERENCE_STEPS = tuned_sweep.MIN_STEPS
#: The warmup of every run of the reference sweep: 5% of a run capped at 200 steps
#: (TrainConfig.warmup_max_steps), and none of its trunks had a branch under 4,000 steps.
WARMUP_STEPS = TrainConfig.warmup_max_steps
#: The noise the design assumes: the reference sweep's pooled seed sd (0.0225 nats), and the
#: correlation of one trunk's branches two times apart in length (0.90 measured sqrt(2) apart,
#: scalinglaws.fitting.envelope_bias.trunk_correlation, squared).
SEED_SD = 0.0225
CORRELATION = 0.81
SIMULATIONS = 2000
DESCRIPTION = ("Seed noise against run length (scalinglaws.sweeps.step_floor): head-16 ladder L2-L4 at the tuned "
               "recipe (batch 4 x 128 bytes), seeds 0-5, WSD (20% 1-sqrt) branches at 500, 1,000, 2,000 and "
               "4,000 steps.")


def budget_for(shape, steps: int) -> float:
    """The 6ND budget of ``steps`` steps of the recipe's batch on ``shape`` (exactly that many steps)."""
    return float(counting.flops_6nd(counting.params_total(shape), steps * tuning.BATCH * shape.n_ctx))


def step_floor_specs(recipe, layers=LAYERS, lengths=LENGTHS, seeds=SEEDS) -> list:
    """Every run, as WSD branches: one trunk per (size, seed), a branch at each length."""
    from scalinglaws.sweeps.grid import RunSpec

    specs = []
    for n_layers in layers:
        shape = tuning.head16_shape(n_layers)
        fields = recipe.config_fields(counting.params_total(shape))
        for seed in range(seeds):
            for steps in lengths:
                config = TrainConfig(shape=shape, steps=steps, batch_size=tuning.BATCH, seed=seed,
                                     n_eval_points=tuning.EVAL_POINTS, eval_sequences=tuning.EVAL_SEQUENCES,
                                     **fields)
                specs.append(RunSpec(budget=budget_for(shape, steps), corpus=tuning.CORPUS, config=config))
    return wsd_plan.as_wsd(specs, tuning.COOLDOWN_FRACTION, warmup_steps=WARMUP_STEPS)


#: The truths the design is simulated under: seed sd per length, relative to the sd at 4,000 steps.
TRUTHS = {
    "flat: the same sd at every length": {steps: 1.0 for steps in LENGTHS},
    "sd x 1.19 per halving (steps^-1/4)": {steps: (REFERENCE_STEPS / steps) ** 0.25 for steps in LENGTHS},
    "sd x 1.41 per halving (steps^-1/2)": {steps: (REFERENCE_STEPS / steps) ** 0.5 for steps in LENGTHS},
    "sd x 2 at 500 steps only": {steps: 2.0 if steps == 500 else 1.0 for steps in LENGTHS},
}


def design_text() -> str:
    """The reading rule on simulated experiments of this design, under each truth of :data:`TRUTHS`."""
    lines = [f"# Design of `{NAME}`: seed noise against run length", "",
             "Written by `python -m scalinglaws.sweeps.step_floor design` before any run. No model was trained.", "",
             f"- Runs: {len(LAYERS)} sizes (L{', L'.join(map(str, LAYERS))}) x {SEEDS} seeds, one trunk per "
             f"(size, seed) branched at {', '.join(f'{s:,d}' for s in LENGTHS)} steps.",
             f"- Rule: the floor is the shortest length whose pooled seed sd, and every longer length's, is at "
             f"most {step_floor.TOLERANCE} x the pooled sd at {REFERENCE_STEPS:,d} steps.",
             f"- Noise: sd {SEED_SD} nats at {REFERENCE_STEPS:,d} steps (the reference sweep's pooled seed sd); "
             f"branches of one trunk correlated {CORRELATION} per factor 2 in length.",
             f"- {SIMULATIONS} simulated experiments per truth, seed 0.",
             f"- Amendment before the rerun (see `scalinglaws.sweeps.step_floor`): every trunk warms up over "
             f"{WARMUP_STEPS} steps, the reference sweep's warmup; the first runs warmed up over 5% of their "
             "500-step shortest branch, 25 steps, and are kept apart in `results/step-floor-short-warmup`.", "",
             "Share of experiments stating each floor:", "",
             "| truth | " + " | ".join(f"{s:,d}" for s in LENGTHS) + " |",
             "|---|" + "---|" * len(LENGTHS)]
    for name, relative in TRUTHS.items():
        shares = step_floor.simulate_floor_rule({s: SEED_SD * r for s, r in relative.items()}, len(LAYERS), SEEDS,
                                                REFERENCE_STEPS, CORRELATION, SIMULATIONS)
        lines.append(f"| {name} | " + " | ".join(f"{shares[s]:.0%}" for s in LENGTHS) + " |")
    return "\n".join(lines) + "\n"


def report_text(out: Path) -> str:
    """The reading rule on the finished runs in ``out``."""
    from scalinglaws.data.results import load_results

    _, records = load_results(out / "results.jsonl")
    planned = len(LAYERS) * SEEDS * len(LENGTHS)
    spreads = step_floor.pooled_sd_by_length(records)
    means = {(cell.records[0]["steps"], cell.records[0]["params_total"]): cell.mean for cell in seed_noise.cells(records)}
    sizes = sorted({n for _, n in means})
    lines = [f"{len(records)} of {planned} runs finished", "",
             "| steps | pooled seed sd | 90% interval | dof | ratio to 4,000 | mean loss by size ("
             + " / ".join(f"{n:,d}" for n in sizes) + ") |", "|---|---|---|---|---|---|"]
    reference = spreads.get(REFERENCE_STEPS)
    for steps, spread in spreads.items():
        low, high = step_floor.sd_interval(spread)
        ratio = f"{spread.sd / reference.sd:.2f}" if reference else "-"
        by_size = " / ".join(f"{means[steps, n]:.3f}" if (steps, n) in means else "-" for n in sizes)
        lines.append(f"| {steps:,d} | {spread.sd:.4f} | [{low:.4f}, {high:.4f}] | {spread.dof} | {ratio} | {by_size} |")
    if len(records) < planned or reference is None:
        return "\n".join(lines + ["", "floor: not read until every run has finished"])
    floor = step_floor.supported_floor({s: p.sd for s, p in spreads.items()}, REFERENCE_STEPS)
    return "\n".join(lines + ["", f"floor the runs support (rule 2): {floor:,d} steps"])


def main(argv: list[str]) -> int:
    """plan | design [OUT] | run [OUT] | report [OUT] (see the module docstring)."""
    command = argv[0] if argv else ""
    if command not in ("plan", "design", "run", "report"):
        print("usage: python -m scalinglaws.sweeps.step_floor plan | design [OUT] | run [OUT] | report [OUT]",
              file=sys.stderr)
        return 2
    out = Path(argv[1]) if len(argv) > 1 else OUT
    if command == "design":
        out.mkdir(parents=True, exist_ok=True)
        (out / "DESIGN.md").write_text(design_text())
        print((out / "DESIGN.md").read_text())
        return 0
    if command == "report":
        print(report_text(out))
        return 0
    specs = step_floor_specs(tuned_sweep.tuned_recipe())
    if command == "run":
        from scalinglaws.sweeps.runner import run_specs

        run_specs(NAME, DESCRIPTION, specs, out)
        return 0
    print(DESCRIPTION)
    print(wsd_plan.cost_line(specs))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
