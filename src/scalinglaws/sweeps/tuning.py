"""Per-size tuning of the peak learning rate and AdamW beta2 on one clean model ladder.

Porian et al. (2024, "Resolving Discrepancies in Compute-Optimal Scaling of Language
Models", Section 3.5) closed the last gap between Kaplan's and Hoffmann's exponents by tuning
the learning rate, batch size and AdamW beta2 for each model size. This module is that step
for the book's tiny models:

    python -m scalinglaws.sweeps.tuning run         # train the tuning grid into results/tuning (resumable)
    python -m scalinglaws.sweeps.tuning run-upper   # its extension to higher rates, results/tuning-upper
    python -m scalinglaws.sweeps.tuning report      # each size's scores and best rate, and the fitted rule
    python -m scalinglaws.sweeps.tuning write-rule  # the rule of the committed records, into results/tuning/rule.json
    python -m scalinglaws.sweeps.tuning report      # each size's best settings and the fitted rule

**The ladder** (:func:`head16_shape`): one shape family, d_model = 16 n_layers with heads of
16 (n_heads = n_layers), context 128 bytes, n_layers = 2..6 (38K to 708K parameters, each
about twice the last). A fixed aspect ratio and head size, so size is not confounded with
shape; heads of 16 are also what makes the small shapes fast on a CPU
(``results/benchmarks/bench_tiny_shapes.txt``).

**The grid.** For each size, the peak learning rate takes 4 values a factor 2 apart (an 8x
span) around the `cpu` preset's rule (:func:`~scalinglaws.sweeps.learning_rate_rule.pilot_rule`) times
(1/4, 1/2, 1, 2), and beta2 in {0.95, 0.99}. Each (size, lr, beta2) is one warmup-stable-decay
run of batch 4 x 128 bytes cooled down (20%, 1-sqrt) at two lengths, 4,000 and 8,000 optimizer
steps (2.0M and 4.1M tokens): two budgets per size from one run (:mod:`scalinglaws.training.wsd_plan`).
Weight decay is not tuned: it holds AdamW's decay timescale 1/(lr x wd) at
:data:`DECAY_TIMESCALE_STEPS` steps for every size and learning rate (Wang and Aitchison 2024,
"How to set AdamW's weight decay as you scale model and dataset size"); a fixed wd = 0.1 let
that timescale run 10x across the old ladder.

**The selection criterion**, fixed before any exponent was computed (this docstring was
committed before the tuning runs' records):

1. A setting's score is its final held-out loss averaged over the two lengths.
2. For each size and beta2, the best learning rate is the vertex of the parabola in log lr
   through the best grid point and its two neighbours; a best point at the edge of the grid
   has no vertex, and :func:`fit_rule` refuses to fit until the grid is extended past it.
3. One beta2 for the whole ladder: the one whose best score is lower at more sizes (a tie goes
   to the lower summed best score).
4. The rule is the least-squares line of log lr* on log N over the sizes at that beta2:
   lr = lr_at_100k (N / 1e5)^-exponent.

**The extension upward** (:data:`UPPER_LR_FACTORS`, written after the first 16 records and
before the rest). The largest size's best rate came out at the top of the grid (2x the centre)
at both beta2, its loss still falling; by step 2 the grid must then be extended past it. It is
extended for every size, by the next two factors at once (4x and 8x the centre, the span
becoming 32x) to save a round of training, into its own results file. The criterion is
unchanged; it is applied to the records of both files.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from scalinglaws.papers import counting
from scalinglaws.papers.counting import TransformerShape
from scalinglaws.sweeps.learning_rate_rule import (BestLearningRate, LearningRateRule, best_learning_rates,
                                                   fit_rule, pilot_rule)
from scalinglaws.training import wsd_plan
from scalinglaws.training.train import TrainConfig

#: The ladder's depths: d_model = 16 n_layers, n_heads = n_layers.
TUNING_LAYERS = (2, 3, 4, 5, 6)
HEAD_SIZE, ASPECT, N_CTX = 16, 16, 128
LR_FACTORS = (0.25, 0.5, 1.0, 2.0)
UPPER_LR_FACTORS = (4.0, 8.0)
BETA2S = (0.95, 0.99)
BETA1 = 0.9
TUNING_STEPS = (4000, 8000)
BATCH = 4
DECAY_TIMESCALE_STEPS = 4000
COOLDOWN_FRACTION = 0.2
CORPUS = "default"
EVAL_SEQUENCES = 1024
EVAL_POINTS = 6
SEED = 0
OUT = Path(__file__).resolve().parents[3] / "results" / "tuning"
OUT_UPPER = OUT.with_name("tuning-upper")
NAME = "tuning"
# The descriptions name this module by the path it had when results/tuning and results/tuning-upper
# were trained (scalinglaws.tuning): they are the committed headers' text, which the tests compare.
DESCRIPTION = ("Per-size tuning (scalinglaws.tuning): head-16 ladder L2..L6 (d = 16 L), peak lr x (1/4, 1/2, 1, 2) "
               f"of {pilot_rule()}, beta2 in {{0.95, 0.99}}, WSD (20% 1-sqrt) branches at 4,000 and 8,000 "
               "steps of 4 x 128 bytes, weight decay at a decay timescale 1/(lr wd) of 4,000 steps, seed 0.")


UPPER_DESCRIPTION = ("The tuning grid extended upward (scalinglaws.tuning.UPPER_LR_FACTORS): peak lr x (4, 8) of the "
                     "same centre, every other setting as in results/tuning.")


def head16_shape(n_layers: int) -> TransformerShape:
    """The ladder's shape of depth ``n_layers``: width 16 n_layers, heads of 16, context 128."""
    if n_layers < 2:
        raise ValueError(f"the ladder starts at 2 layers, got {n_layers}")
    return TransformerShape(n_layers=n_layers, d_model=ASPECT * n_layers, n_heads=ASPECT * n_layers // HEAD_SIZE,
                            n_ctx=N_CTX)


def weight_decay_for(peak_lr: float, timescale_steps: int = DECAY_TIMESCALE_STEPS) -> float:
    """AdamW's decoupled weight decay whose timescale 1/(lr wd) is ``timescale_steps`` at ``peak_lr``."""
    if not peak_lr > 0 or timescale_steps < 1:
        raise ValueError(f"need a positive learning rate and timescale, got {peak_lr!r} and {timescale_steps!r}")
    return 1.0 / (peak_lr * timescale_steps)


def centre_lr(n_params: int) -> float:
    """The untuned rule the grid is centred on: the `cpu` preset's (learning_rate_rule.pilot_rule)."""
    return float(pilot_rule().peak_lr(n_params))


def tuning_specs(layers=TUNING_LAYERS, lr_factors=LR_FACTORS, beta2s=BETA2S, steps=TUNING_STEPS) -> list:
    """Every run of the tuning grid, as WSD branches: one trunk per (size, lr, beta2)."""
    from scalinglaws.sweeps.grid import RunSpec  # a run of a grid; imported here so the fits below need no torch

    specs = []
    for n_layers in layers:
        shape = head16_shape(n_layers)
        n_params = counting.params_total(shape)
        for factor in lr_factors:
            lr = float(f"{centre_lr(n_params) * factor:.3g}")
            for beta2 in beta2s:
                for n_steps in steps:
                    config = TrainConfig(shape=shape, steps=n_steps, batch_size=BATCH, peak_lr=lr, seed=SEED,
                                         weight_decay=weight_decay_for(lr), betas=(BETA1, beta2),
                                         n_eval_points=EVAL_POINTS, eval_sequences=EVAL_SEQUENCES)
                    budget = counting.flops_6nd(n_params, config.tokens)
                    specs.append(RunSpec(budget=budget, corpus=CORPUS, config=config))
    return wsd_plan.as_wsd(specs, COOLDOWN_FRACTION)


# --------------------------------------------------------------------------------------
# Selection (the criterion of the module docstring)
# --------------------------------------------------------------------------------------


def _with_beta2(records: list[dict], beta2: float) -> list[dict]:
    return [record for record in records if float(record["train_config"]["betas"][1]) == beta2]


def best_learning_rates_by_beta2(records: list[dict]) -> dict[float, list[BestLearningRate]]:
    """Steps 1-2 of the criterion (:func:`scalinglaws.sweeps.learning_rate_rule.best_learning_rates`, which
    averages a setting's lengths), for each beta2 in ``records`` (run records of the grid)."""
    counts: dict[tuple, int] = {}
    for record in records:
        config = record["train_config"]
        key = (record["params_total"], config["peak_lr"], config["betas"][1])
        counts[key] = counts.get(key, 0) + 1
    if len(set(counts.values())) > 1:
        raise ValueError("every setting needs the same number of lengths to be averaged; found "
                         f"{sorted(set(counts.values()))} (is the tuning sweep finished?)")
    beta2s = sorted({float(record["train_config"]["betas"][1]) for record in records})
    return {beta2: best_learning_rates(_with_beta2(records, beta2)) for beta2 in beta2s}


def _best_scores(bests: dict[float, list[BestLearningRate]]) -> dict[float, dict[int, float]]:
    """beta2 -> size -> best score, refusing a grid where some size lacks some beta2."""
    score = {beta2: {best.n_params: min(best.losses) for best in sizes} for beta2, sizes in bests.items()}
    all_sizes = {n for by_size in score.values() for n in by_size}
    for beta2, by_size in score.items():
        if set(by_size) != all_sizes:
            raise ValueError(f"every size needs every beta2; beta2={beta2} lacks {sorted(all_sizes - set(by_size))}")
    return score


def beta2_wins(bests: dict[float, list[BestLearningRate]]) -> dict[float, int]:
    """beta2 -> at how many sizes its best score is the lowest (step 3's count)."""
    score = _best_scores(bests)
    sizes = next(iter(score.values()))
    return {beta2: sum(min(score, key=lambda b: score[b][n]) == beta2 for n in sizes) for beta2 in score}


def chosen_beta2(bests: dict[float, list[BestLearningRate]]) -> float:
    """Step 3: the beta2 whose best score is lower at more sizes (a tie: the lower summed best score)."""
    score, wins = _best_scores(bests), beta2_wins(bests)
    return min(score, key=lambda beta2: (-wins[beta2], sum(score[beta2].values())))


@dataclass(frozen=True)
class TunedRule:
    """The preset's settings from the tuning runs: the learning-rate rule and the beta2 it holds at."""

    lr_rule: LearningRateRule
    beta2: float


def fit_tuned_rule(records: list[dict]) -> TunedRule:
    """Steps 1-4 of the criterion: the tuned rule from the tuning runs' records."""
    bests = best_learning_rates_by_beta2(records)
    beta2 = chosen_beta2(bests)
    return TunedRule(fit_rule(bests[beta2]), beta2)


def committed_records() -> list[dict]:
    """The committed tuning runs of both grids, ``results/tuning`` and ``results/tuning-upper``."""
    from scalinglaws.data.committed_results import sweep_results
    from scalinglaws.data.results import load_results

    return [record for name in (NAME, f"{NAME}-upper") for record in load_results(sweep_results(name))[1]]


RULE_FILE = OUT / "rule.json"


def rule_to_dict(rule: TunedRule) -> dict:
    return {"lr_at_100k": rule.lr_rule.lr_at_100k, "exponent": rule.lr_rule.exponent, "beta2": rule.beta2}


def read_rule(path: Path = RULE_FILE) -> TunedRule:
    """The committed tuned rule (written by ``write-rule`` from the committed records)."""
    import json

    try:
        data = json.loads(Path(path).read_text())
        return TunedRule(LearningRateRule(float(data["lr_at_100k"]), float(data["exponent"])), float(data["beta2"]))
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{path}: not a tuned rule ({error})") from error


def main(argv: list[str]) -> int:
    if argv[:1] in (["run"], ["run-upper"]):
        from scalinglaws.sweeps.runner import run_specs

        if argv[0] == "run":
            run_specs(NAME, DESCRIPTION, tuning_specs(), Path(argv[1]) if len(argv) > 1 else OUT)
        else:
            run_specs(f"{NAME}-upper", UPPER_DESCRIPTION, tuning_specs(lr_factors=UPPER_LR_FACTORS),
                      Path(argv[1]) if len(argv) > 1 else OUT_UPPER)
        return 0
    if argv[:1] == ["report"]:
        from scalinglaws.data.results import load_results

        records = [record for out in (argv[1:] or [OUT, OUT_UPPER]) if Path(out).exists()
                   for record in load_results(Path(out))[1]]
        for beta2, bests in best_learning_rates_by_beta2(records).items():
            for best in bests:
                print(f"N={best.n_params:>9,d} beta2={beta2}: "
                      + " ".join(f"lr {lr:g}: {loss:.4f}" for lr, loss in zip(best.lrs, best.losses))
                      + f" -> best lr {best.best_lr:.4g}{' (AT EDGE)' if best.at_edge else ''}")
        print(fit_tuned_rule(records))
        return 0
    if argv[:1] == ["write-rule"]:
        import json

        from scalinglaws.training.provenance import command_line

        records = committed_records()
        data = {**rule_to_dict(fit_tuned_rule(records)), "command": command_line(),
                "fitted_from": f"results/{NAME} and results/{NAME}-upper ({len(records)} runs)"}
        RULE_FILE.write_text(json.dumps(data, indent=2) + "\n")
        print(f"wrote {RULE_FILE}: {data}")
        return 0
    print("usage: python -m scalinglaws.sweeps.tuning run [OUT] | run-upper [OUT] | report [RESULTS_DIR ...] | write-rule",
          file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
