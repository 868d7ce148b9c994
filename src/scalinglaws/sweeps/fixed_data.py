"""Models of growing size on the miniature Gopher's data: does any of them beat the miniature Chinchilla?

    python -m scalinglaws.sweeps.fixed_data plan           # the runs and their FLOPs
    python -m scalinglaws.sweeps.fixed_data design [OUT]   # the law's predictions and the simulated design (DESIGN.md)
    python -m scalinglaws.sweeps.fixed_data run [OUT]      # train them (resumable), into results/fixed-data
    python -m scalinglaws.sweeps.fixed_data report [OUT]   # the pre-registered analysis of the finished runs

Hoffmann et al. argue that Chinchilla beats any model trained on Gopher's data, however big: under
their fit, the data floor E + B/D^beta at Gopher's tokens lies above Chinchilla's loss (chapter 5).
Appendix D stages the two models at 3e11 FLOPs on the untuned `cpu` sweep's recipe, where a run
takes seconds: "Chinchilla" (16,488 parameters, 3.0M bytes) and "Gopher" (75,072 parameters,
665,600 bytes). This grid trains Gopher's data, unchanged (the same bytes, batch and steps), on
the ladder models 2.3, 3.7, 6.5 and 10.7 times Gopher's size, with the `cpu` preset's
learning-rate rule for each size, and both Appendix D models, four seeds each.

The `cpu` sweep's own Approach 3 law puts that floor BELOW its Chinchilla: under it, a model
about 7 times Gopher's size would already win. The runs test that. The analysis
(:mod:`scalinglaws.fitting.data_floor`) and its reading were fixed, with a simulation of the
design under the noise Appendix D measured, before any run (:func:`design_text`).
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from scalinglaws.fitting import fit_approach2, fit_approach3
from scalinglaws.fitting.data_floor import seed_bootstrap
from scalinglaws.fitting.sweep_fits import load_sweep_runs
from scalinglaws.papers import laws
from scalinglaws.papers.counting import TransformerShape, flops_6nd, nearest_shape, params_total
from scalinglaws.sweeps.grid import RunSpec, run_spec
from scalinglaws.sweeps.presets import CPU_LADDER, get_preset

NAME = "fixed-data"
OUT = Path(__file__).resolve().parents[3] / "results" / NAME
#: Appendix D's budget: the smallest `cpu` budget, where its four estimates of N_opt agree.
BUDGET = 3e11
#: Sizes relative to the miniature Gopher; each becomes the nearest ladder model (2.3x .. 10.7x).
SIZE_FACTORS = (2.0, 4.0, 6.5, 10.0)
SEEDS = (0, 1, 2, 3)
#: Appendix D's live runs, seeds 0-3 on the Xeon that trained the `cpu` sweep (its printed table):
#: the noise the design assumes. A model with 650 steps scatters far more than one with 2,961.
MEASURED_SEEDS = {"Chinchilla": (2.0272, 2.0198, 2.0112, 2.0313), "Gopher": (2.4064, 2.3850, 2.5298, 2.5244)}
SIMULATIONS = 400
LEVEL = 0.9

DESCRIPTION = ("Models 2.3-10.7x the miniature Gopher (75,072 parameters) trained on Gopher's 665,600 bytes "
               "(650 steps of 8 x 128), with Appendix D's Chinchilla and Gopher, at the `cpu` preset's "
               "recipe, seeds 0-3 (scalinglaws.sweeps.fixed_data).")


def cpu_laws():
    """The committed `cpu` sweep's Approach 2 and 3 fits (as Appendix D fits them)."""
    from scalinglaws.data.committed_results import sweep_results

    runs = load_sweep_runs(sweep_results("cpu"))
    return fit_approach2(runs), fit_approach3(runs)


def contestants(approach2) -> dict[str, TransformerShape]:
    """Appendix D's pair, picked as it picks them: Chinchilla the ladder model nearest the IsoFLOP
    minimum at :data:`BUDGET`, Gopher the one nearest 4 times Chinchilla's size."""
    profile = next(p for p in approach2.profiles if p.budget == BUDGET)
    chinchilla = nearest_shape(CPU_LADDER, profile.n_opt)
    return {"Chinchilla": chinchilla, "Gopher": nearest_shape(CPU_LADDER, 4 * params_total(chinchilla))}


def larger_shapes(gopher: TransformerShape) -> list[TransformerShape]:
    return [nearest_shape(CPU_LADDER, factor * params_total(gopher)) for factor in SIZE_FACTORS]


def on_gopher_data(gopher_run: RunSpec, shape: TransformerShape, seed: int) -> RunSpec:
    """Gopher's run (bytes, batch, steps, schedule, evaluation) with another model and its rule's peak lr."""
    preset = get_preset("cpu")
    n_params = params_total(shape)
    config = replace(gopher_run.config, shape=shape, peak_lr=preset.peak_lr(n_params), seed=seed)
    return RunSpec(budget=flops_6nd(n_params, config.tokens), corpus=gopher_run.corpus, config=config)


def fixed_data_specs(pair: dict[str, TransformerShape]) -> list[RunSpec]:
    preset = get_preset("cpu")
    specs = [run_spec(preset, BUDGET, pair[name], seed=seed) for name in ("Chinchilla", "Gopher") for seed in SEEDS]
    gopher_run = run_spec(preset, BUDGET, pair["Gopher"])
    specs += [on_gopher_data(gopher_run, shape, seed) for shape in larger_shapes(pair["Gopher"]) for seed in SEEDS]
    return specs


def _noise() -> dict[str, float]:
    return {name: float(np.std(values, ddof=1)) for name, values in MEASURED_SEEDS.items()}


def simulate(means: dict[int, float], reference_mean: float, alpha: float, seeds: int = len(SEEDS),
             simulations: int = SIMULATIONS, seed: int = 0) -> dict:
    """Draw the experiment ``simulations`` times from a truth (``means`` per size, ``reference_mean``)
    with the measured per-run noise; tally the verdicts and the floor interval's half-width."""
    rng = np.random.default_rng(seed)
    sd = _noise()
    verdicts: dict[str, int] = {}
    widths = []
    for k in range(simulations):
        losses = {n: rng.normal(m, sd["Gopher"], seeds) for n, m in means.items()}
        reference = rng.normal(reference_mean, sd["Chinchilla"], seeds)
        estimate = seed_bootstrap(losses, reference, alpha, n_bootstrap=300, level=LEVEL, seed=k)
        verdicts[estimate.verdict()] = verdicts.get(estimate.verdict(), 0) + 1
        widths.append((estimate.floor_interval[1] - estimate.floor_interval[0]) / 2)
    return {"verdicts": verdicts, "floor_half_width": float(np.median(widths))}


def design_text() -> str:
    """DESIGN.md: the law's predictions, the analysis rule, and the design simulated under two truths."""
    approach2, approach3 = cpu_laws()
    pair = contestants(approach2)
    specs = fixed_data_specs(pair)
    gopher = next(s for s in specs if s.config.shape == pair["Gopher"])
    tokens = gopher.config.tokens
    chinchilla = next(s for s in specs if s.config.shape == pair["Chinchilla"])
    sizes = [params_total(pair["Gopher"])] + [params_total(s) for s in larger_shapes(pair["Gopher"])]
    law = {n: float(laws.parametric_loss(approach3, n, tokens)) for n in sizes}
    law_chinchilla = float(laws.parametric_loss(approach3, params_total(pair["Chinchilla"]), chinchilla.config.tokens))
    floor = approach3.E + approach3.B / tokens ** approach3.beta
    measured = {name: float(np.mean(v)) for name, v in MEASURED_SEEDS.items()}
    # Truth 2: the law's shape in N, anchored at the measured Gopher and Chinchilla.
    anchored = {n: measured["Gopher"] + approach3.A * (n ** -approach3.alpha - sizes[0] ** -approach3.alpha)
                for n in sizes}
    anchored_floor = measured["Gopher"] - approach3.A * sizes[0] ** -approach3.alpha
    flops = sum(s.flops for s in specs)
    lines = [
        f"# Design of `{NAME}` (written before any of its runs)", "",
        DESCRIPTION, "",
        f"{len(specs)} runs, {flops:.3g} FLOPs (6ND), about {flops / 2e10 / 3600:.1f} core-hours at 2e10 FLOP/s per core.",
        "", "## What the `cpu` sweep's Approach 3 law predicts", "",
        f"L(N, D) = {approach3.E:.3f} + {approach3.A:.2f} / N^{approach3.alpha:.3f} + {approach3.B:.0f} / D^{approach3.beta:.3f}",
        "", "| model | N | D (bytes) | law's loss |", "|---|---|---|---|",
        f"| Chinchilla | {params_total(pair['Chinchilla']):,d} | {chinchilla.config.tokens:,d} | {law_chinchilla:.3f} |",
    ]
    lines += [f"| {n / sizes[0]:.1f}x Gopher | {n:,d} | {tokens:,d} | {law[n]:.3f} |" for n in sizes]
    lines += [f"| any size (the floor E + B/D^beta) | infinite | {tokens:,d} | {floor:.3f} |", "",
              f"Under the law, the floor lies {law_chinchilla - floor:.3f} nats below the law's Chinchilla "
              f"(and {measured['Chinchilla'] - floor:.3f} below Chinchilla's measured mean, "
              f"{measured['Chinchilla']:.3f}): a large enough model on Gopher's data would win.", "",
              "## The analysis, fixed before the runs", "",
              f"- Per size, the gap = its seed-mean loss minus Chinchilla's; a {LEVEL:.0%} interval redraws each "
              "model's seeds with replacement (the seeds are the independent runs).",
              "- The floor: L(N) = F + A'/N^alpha fitted to the seed means of Gopher and the larger models, alpha "
              f"held at the law's {approach3.alpha:.3f}; F's interval from the same bootstrap, and F minus Chinchilla's mean.",
              "- Reading: every size tried loses if each gap's interval lies above 0; some size wins if one lies "
              "below 0. No size would win if the floor's gap interval lies above 0; a larger model would win if it "
              "lies below 0; otherwise the floor is not resolved. Nothing is excluded, refitted or re-run after the fact.",
              "", f"## The design simulated ({SIMULATIONS} draws each, {len(SEEDS)} seeds per model)", "",
              f"Noise per run, Appendix D's seeds 0-3: Gopher sd {_noise()['Gopher']:.4f} (650 steps; assumed for every "
              f"model on Gopher's data), Chinchilla sd {_noise()['Chinchilla']:.4f}.", ""]
    for label, truth, truth_floor, reference in (
            ("the law as fitted", law, floor, law_chinchilla),
            ("the law's N-dependence through the measured Gopher, against the measured Chinchilla",
             anchored, anchored_floor, measured["Chinchilla"])):
        result = simulate(truth, reference, approach3.alpha)
        lines += [f"**Truth: {label}** (floor {truth_floor:.3f}, Chinchilla {reference:.3f}; "
                  f"floor's interval half-width {result['floor_half_width']:.3f} nats, median):", ""]
        lines += [f"- {count} of {SIMULATIONS}: {verdict}" for verdict, count in sorted(
            result["verdicts"].items(), key=lambda item: -item[1])]
        lines.append("")
    return "\n".join(lines)


def floor_estimate(records: list[dict], chinchilla_params: int, alpha: float):
    """The pre-registered analysis (:func:`scalinglaws.fitting.data_floor.seed_bootstrap`) of this
    grid's records: every run of Chinchilla's size is the reference, every other size is on Gopher's data."""
    reference = [r["final_loss"] for r in records if r["params_total"] == chinchilla_params]
    losses: dict[int, list[float]] = {}
    for r in records:
        if r["params_total"] != chinchilla_params:
            losses.setdefault(r["params_total"], []).append(r["final_loss"])
    return seed_bootstrap(losses, reference, alpha, level=LEVEL)


def report_text(path: Path) -> str:
    """The pre-registered analysis of the finished runs in ``path`` (results.jsonl)."""
    from scalinglaws.data.results import load_results

    approach2, approach3 = cpu_laws()
    chinchilla_n = params_total(contestants(approach2)["Chinchilla"])
    _, records = load_results(path)
    estimate = floor_estimate(records, chinchilla_n, approach3.alpha)
    rows = [f"{n:,d} ({n / estimate.sizes[0]:.1f}x): mean {m:.4f}, gap {g:+.4f} [{lo:+.4f}, {hi:+.4f}]"
            for n, m, g, (lo, hi) in zip(estimate.sizes, estimate.mean_loss, estimate.gaps, estimate.gap_intervals)]
    return "\n".join([f"Chinchilla ({chinchilla_n:,d}): mean {estimate.reference_mean:.4f}",
                      *rows, f"floor F = {estimate.curve.floor:.4f} [{estimate.floor_interval[0]:.4f}, "
                      f"{estimate.floor_interval[1]:.4f}]; F - Chinchilla [{estimate.floor_gap_interval[0]:+.4f}, "
                      f"{estimate.floor_gap_interval[1]:+.4f}]", f"reading: {estimate.verdict()}"])


def main(argv: list[str]) -> int:
    """plan | design [OUT] | run [OUT] | report [OUT] (see the module docstring)."""
    command = argv[0] if argv else ""
    if command not in ("plan", "design", "run", "report"):
        print("usage: python -m scalinglaws.sweeps.fixed_data plan | design [OUT] | run [OUT] | report [OUT]",
              file=sys.stderr)
        return 2
    out = Path(argv[1]) if len(argv) > 1 else OUT
    if command == "design":
        out.mkdir(parents=True, exist_ok=True)
        (out / "DESIGN.md").write_text(design_text() + "\n")
        print(f"wrote {out / 'DESIGN.md'}")
        return 0
    if command == "report":
        print(report_text(out / "results.jsonl"))
        return 0
    specs = fixed_data_specs(contestants(cpu_laws()[0]))
    if command == "run":
        from scalinglaws.sweeps.runner import run_specs

        run_specs(NAME, DESCRIPTION, specs, out)
        return 0
    for spec in specs:
        print(f"  {spec.run_id}: {params_total(spec.config.shape):,d} parameters, {spec.config.steps:,d} steps, "
              f"{spec.config.tokens:,d} bytes, {spec.flops:.3g} FLOPs")
    total = sum(spec.flops for spec in specs)
    print(f"{len(specs)} runs, {total:.3g} FLOPs; about {total / 2e10 / 3600:.1f} core-hours at 2e10 FLOP/s per core")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
