"""WSD with a 20% cooldown against the matched cosine, at 3 points of the `cpu` grid.

Hagele et al. (2024, Section 3, Figures 3-5) find that warmup-stable-decay with a cooldown
of about 20% of the run (1-sqrt shape, to zero) matches or beats a cosine cycle tuned to the
run's length. This trains, on this machine, for a small, a middle and a large point of the
`cpu` preset (the IsoFLOP minimum of its smallest, middle and largest budget), the preset's
own cosine run and the same run with the WSD schedule (same shape, tokens, batch, seed,
warmup and peak learning rate; only the decay differs), and prints the differences.

A WSD run trained alone is the same computation, bit for bit, as a branch cooled down from a
longer run's checkpoint (tests/test_branches.py asserts it), so these are the numbers a
branched sweep gets.

    python benchmarks/wsd_vs_cosine.py [--out results/benchmarks/wsd-vs-cosine]   # ~25 min on 2 cores

Records go to OUT/results.jsonl (resumable: rerun to finish an interrupted comparison).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from scalinglaws.data.results import load_results
from scalinglaws.sweeps.grid import RunSpec, run_spec
from scalinglaws.sweeps.presets import get_preset
from scalinglaws.sweeps.runner import run_specs
from scalinglaws.training import wsd_plan

#: (budget, layers, width): the minimum of results/cpu's 3e11, 3e12 and 3e13 IsoFLOP profiles.
POINTS = ((3e11, 1, 24), (3e12, 2, 48), (3e13, 4, 72))
COOLDOWN_FRACTION, COOLDOWN_SHAPE = 0.2, "1-sqrt"


def specs() -> list[RunSpec]:
    preset = get_preset("cpu")
    ladder = {(shape.n_layers, shape.d_model): shape for shape in preset.ladder}
    out = []
    for budget, layers, width in POINTS:
        cosine = run_spec(preset, budget, ladder[layers, width])
        # Alone in its trunk, the WSD twin keeps the cosine run's own warmup.
        out += [cosine, *wsd_plan.as_wsd([cosine], COOLDOWN_FRACTION, COOLDOWN_SHAPE)]
    return out


def report(path: Path) -> str:
    _, records = load_results(path)
    by_settings = {record["settings_hash"]: record for record in records}
    lines = [f"{'point':<42} {'steps':>6} {'cosine':>8} {'wsd 20%':>8} {'wsd - cos':>10}"]
    all_specs = specs()
    for cosine, wsd in zip(all_specs[::2], all_specs[1::2]):
        a, b = by_settings.get(cosine.settings_hash()), by_settings.get(wsd.settings_hash())
        if a is None or b is None:
            lines.append(f"{cosine.run_id:<42} (not finished)")
            continue
        lines.append(f"{cosine.run_id:<42} {cosine.config.steps:>6} {a['final_loss']:>8.4f} {b['final_loss']:>8.4f} "
                     f"{b['final_loss'] - a['final_loss']:>+10.4f}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("results/benchmarks/wsd-vs-cosine"))
    parser.add_argument("--report-only", action="store_true", help="print the table of finished runs")
    args = parser.parse_args()
    if not args.report_only:
        print(f"1-minute load at start: {os.getloadavg()[0]:.2f}")
        path = run_specs("wsd-vs-cosine", __doc__.split("\n\n")[0], specs(), args.out)
        print(f"1-minute load at end: {os.getloadavg()[0]:.2f}")
    else:
        path = args.out / "results.jsonl"
    print(report(path))


if __name__ == "__main__":
    main()
