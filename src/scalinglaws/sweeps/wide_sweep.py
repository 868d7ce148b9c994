"""The wide sweep: IsoFLOP budgets over a wide range of compute on one shape family, one seed.

    python -m scalinglaws.sweeps.wide_sweep design [--sweeps 200]   # candidate grids simulated and priced

The reference sweep (:mod:`.tuned_sweep`) spans 8x of compute with five fixed sizes; its interval on
the exponent a holds both 0.5 and 0.73. The design simulator (``results/design``) finds the span of
budgets worth more than seeds. This module builds the grids such a sweep can train on the head-16
ladder (:func:`scalinglaws.sweeps.tuning.head16_shape`), the family the reference sweep used:

- **Sizes.** A fixed head size and aspect ratio leave one size per depth, 38K to 1.6M parameters
  for 2 to 8 layers, rungs 2.7x to 1.4x apart. Each budget takes the rungs within
  :data:`SIZE_SPAN` (16x) centred on the pilot's optimum (:func:`scalinglaws.fitting.design.ladder_grid`),
  so a rung recurs at several budgets and is one WSD trunk with a branch at each.
- **Centring.** The pilot is the reference sweep's own law with a held at its Approach 2 value
  (:data:`scalinglaws.fitting.design.PILOT_A` = 0.535), fixed before any run and never moved after.
- **Budgets.** :data:`BUDGET_SPACING` (2x) apart; adjacent budgets closer than that share most of a
  trunk's noise (:class:`scalinglaws.fitting.trunk_noise.DriftingNoise`) and add little.
- **Batch and rate.** A trunk trains all its branches at one batch and peak rate, given per size by
  the caller (:func:`wide_specs`), so that the rules measured by :mod:`.batch_tuning` plug in here;
  the weight decay holds its timescale at the tuned 2.05M tokens, as in batch tuning.

:func:`design_text` prices and simulates the candidate grids under both noise models.
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import Callable

from scalinglaws.fitting import design
from scalinglaws.papers import counting
from scalinglaws.sweeps import batch_tuning, tuning
from scalinglaws.training import wsd_plan
from scalinglaws.training.train import TrainConfig

NAME = "wide"
OUT = tuning.OUT.with_name(NAME)
LAYERS = tuple(range(2, 9))
SIZE_SPAN = 16.0
BUDGET_SPACING = 2.0
#: The candidates :func:`design_text` compares: (smallest budget, span) pairs. 2.6e12 is the
#: smallest budget whose largest sampled model still gets the 4,000-step floor at batch 4;
#: 1.3e12 needs a floor of about 1,900 steps.
CANDIDATES = ((2.6e12, 30.0), (1.3e12, 60.0), (2.6e12, 60.0), (1.3e12, 120.0))


def ladder() -> tuple[int, ...]:
    """Parameter counts of the head-16 ladder's rungs, 2 to 8 layers."""
    return tuple(counting.params_total(tuning.head16_shape(n_layers)) for n_layers in LAYERS)


def wide_grid(pilot, c_min: float, span: float, n_seeds: int = 1) -> design.Grid:
    """Budgets ``BUDGET_SPACING`` apart from ``c_min`` over ``span``x, each with the ladder's rungs
    within ``SIZE_SPAN`` of ``pilot``'s N_opt."""
    return design.ladder_grid(pilot, design.budgets_spanning(c_min, span, BUDGET_SPACING), ladder(), n_seeds,
                              SIZE_SPAN)


def nearest_power_of_two(value: float) -> int:
    """The power of two nearest ``value`` in log (batches are tried and trained as powers of two)."""
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"a batch must be a positive number of sequences, got {value!r}")
    return 2 ** max(0, round(math.log2(value)))


def wide_specs(grid: design.Grid, batch_for: Callable[[int], float], lr_for: Callable[[int, int], float],
               beta2: float, seed: int = 0) -> list:
    """Every run of ``grid`` (seed ``seed``), as WSD branches: one trunk per size, at the batch
    ``batch_for(N)`` (to the nearest power of two) and the peak rate ``lr_for(N, batch)`` (3 significant
    figures), a branch per budget the size joins. Steps are the budget's tokens in whole batches."""
    from scalinglaws.sweeps.grid import RunSpec

    by_size = {n: tuning.head16_shape(n_layers) for n, n_layers in zip(ladder(), LAYERS)}
    specs = []
    for budget, sizes in zip(grid.budgets, grid.sizes):
        for n_params in sizes:
            if int(n_params) not in by_size:
                raise ValueError(f"{n_params:,.0f} parameters is not a rung of the head-16 ladder {sorted(by_size)}")
            shape = by_size[int(n_params)]
            batch = nearest_power_of_two(batch_for(int(n_params)))
            lr = float(f"{lr_for(int(n_params), batch):.3g}")
            steps = round(budget / (6 * n_params) / (batch * shape.n_ctx))
            if steps < 2:
                raise ValueError(f"budget {budget:.3g} gives {n_params:,.0f} parameters at batch {batch} {steps} steps")
            config = TrainConfig(shape=shape, steps=steps, batch_size=batch, peak_lr=lr, seed=seed,
                                 weight_decay=tuning.weight_decay_for(lr, batch_tuning.decay_timescale_steps(batch)),
                                 betas=(tuning.BETA1, beta2), n_eval_points=tuning.EVAL_POINTS,
                                 eval_sequences=tuning.EVAL_SEQUENCES)
            specs.append(RunSpec(budget=budget, corpus=tuning.CORPUS, config=config))
    return wsd_plan.as_wsd(specs, tuning.COOLDOWN_FRACTION)


def reference_inputs():
    """The reference sweep's runs, its two noise models and the laws: truths a = 0.5 and 0.73, and the pilot."""
    from scalinglaws.data.committed_results import sweep_results
    from scalinglaws.data.results import load_results
    from scalinglaws.fitting.trunk_noise import SeedRuns, fit_drifting_noise, measure_noise

    runs = SeedRuns.from_records(load_results(sweep_results("tuned"))[1])
    noises = {"offset + run": measure_noise(runs), "drifting": fit_drifting_noise(runs)}
    laws = design.laws_fitted_to(runs, (*design.TRUE_EXPONENTS, design.PILOT_A))
    pilot = laws.pop(design.PILOT_A)
    return noises, laws, pilot


def design_text(n_sweeps: int = 200, candidates=CANDIDATES) -> str:
    """Each candidate grid (centred by the pilot) priced and simulated under each truth and noise model."""
    noises, laws, pilot = reference_inputs()
    lines = ["| budgets | sizes per budget | core-h at 2e10 | fewest tokens | most tokens | "
             + " | ".join(f"+-a (bias), a = {a:g}, {name}" for name in noises for a in laws) + " |",
             "|---|---|---|---|---|" + "---|" * (len(noises) * len(laws))]
    for c_min, span in candidates:
        grid = wide_grid(pilot, c_min, span)
        fewest, most = grid.token_range()
        cells = []
        for noise in noises.values():
            for law in laws.values():
                spread = design.simulate_grid(law, grid, noise, n_sweeps)
                cells.append(f"{spread.half_width:.3f} ({spread.bias:+.3f})")
        lines.append(f"| {len(grid.budgets)}: {grid.budgets[0]:.2g}-{grid.budgets[-1]:.2g} | "
                     f"{', '.join(str(len(s)) for s in grid.sizes)} | {grid.cost_flops() / 2e10 / 3600:.1f} | "
                     f"{fewest / 1e6:.2f}M | {most / 1e6:.0f}M | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scalinglaws.sweeps.wide_sweep", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["design"])
    parser.add_argument("--sweeps", type=int, default=200, help="simulated sweeps per grid, truth and noise model")
    args = parser.parse_args(argv)
    print(design_text(args.sweeps))
    return 0


if __name__ == "__main__":
    sys.exit(main())
