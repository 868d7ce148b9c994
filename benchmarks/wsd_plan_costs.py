"""What WSD branches save: the planner's FLOPs against independent runs, for the `cpu` grid
and for designs with several training lengths per model size (Hoffmann's Approach 1).

    python benchmarks/wsd_plan_costs.py > results/benchmarks/wsd_plan_costs.txt   # seconds, no training

Counts 6ND FLOPs of training only (held-out evaluations are not training compute).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from scalinglaws.papers import counting
from scalinglaws.sweeps.grid import build_grid, run_spec
from scalinglaws.sweeps.presets import get_preset
from scalinglaws.training import wsd_plan

COOLDOWN = 0.2


def ratio(specs) -> float:
    planned, independent = wsd_plan.cost(wsd_plan.plan(wsd_plan.as_wsd(specs, COOLDOWN)))
    return planned / independent


def lengths_design(preset, tokens_per_param: np.ndarray) -> list:
    """Every ladder shape trained at D = r N for each r: one IsoFLOP-free grid of lengths per size."""
    specs = []
    for shape in preset.ladder:
        n = counting.params_total(shape)
        for r in tokens_per_param:
            specs.append(run_spec(preset, 6 * n * r * n, shape))
    return specs


def main() -> None:
    cpu = get_preset("cpu")
    one_batch = replace(cpu, small_batch=None)
    print(f"cooldown {COOLDOWN:g} of each run; ratio = FLOPs with WSD branches / FLOPs of independent runs\n")
    grid = wsd_plan.as_wsd(build_grid(cpu), COOLDOWN)
    print("The `cpu` grid (30 runs; batch 8 below 3e12 FLOPs, 16 from there, so a shape's runs on either")
    print("side of 3e12 cannot share a trunk):")
    print(wsd_plan.describe(wsd_plan.plan(grid)))
    print(f"\nThe `cpu` grid with batch 16 everywhere: ratio {ratio(build_grid(one_batch)):.3f}\n")
    print("Several training lengths per size (the cpu ladder, batch 16, D = r N around r = 150):")
    designs = {
        "4 lengths over 16x (as Hoffmann's Approach 1: 4 horizons per size)": 150 * np.geomspace(0.25, 4, 4),
        "5 lengths, 2x apart (16x)": 150 * np.geomspace(0.25, 4, 5),
        "9 lengths, sqrt(2) apart (16x)": 150 * np.geomspace(0.25, 4, 9),
        "13 lengths, 2^(1/3) apart (16x)": 150 * np.geomspace(0.25, 4, 13),
    }
    for name, r in designs.items():
        specs = lengths_design(one_batch, r)
        print(f"  {name:<70} {len(specs):>4} runs  ratio {ratio(specs):.3f}")


if __name__ == "__main__":
    main()
