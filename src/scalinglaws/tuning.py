"""Per-size tuning of the peak learning rate and AdamW beta2 on one clean model ladder.

Porian et al. (2024, "Resolving Discrepancies in Compute-Optimal Scaling of Language
Models", Section 3.5) closed the last gap between Kaplan's and Hoffmann's exponents by tuning
the learning rate, batch size and AdamW beta2 for each model size. This module is that step
for the book's tiny models:

    python -m scalinglaws.tuning run      # train the tuning grid into results/tuning (resumable)
    python -m scalinglaws.tuning report   # each size's best settings and the fitted rule

**The ladder** (:func:`head16_shape`): one shape family, d_model = 16 n_layers with heads of
16 (n_heads = n_layers), context 128 bytes, n_layers = 2..6 (38K to 708K parameters, each
about twice the last). A fixed aspect ratio and head size, so size is not confounded with
shape; heads of 16 are also what makes the small shapes fast on a CPU
(``results/benchmarks/bench_tiny_shapes.txt``).

**The grid.** For each size, the peak learning rate takes 4 values a factor 2 apart (an 8x
span) around the `cpu` preset's rule, lr = 0.0052 (N/1e5)^-0.48 times (1/4, 1/2, 1, 2), and
beta2 in {0.95, 0.99}. Each (size, lr, beta2) is one warmup-stable-decay run of batch 4 x 128
bytes cooled down (20%, 1-sqrt) at two lengths, 4,000 and 8,000 optimizer steps (2.0M and 4.1M
tokens): two budgets per size from one run (:mod:`scalinglaws.wsd_plan`). Weight decay is not
tuned: it holds AdamW's decay timescale 1/(lr x wd) at :data:`DECAY_TIMESCALE_STEPS` steps for
every size and learning rate (Wang and Aitchison 2024, "How to set AdamW's weight decay as you
scale model and dataset size"); a fixed wd = 0.1 let that timescale run 10x across the old ladder.

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
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import counting, wsd_plan
from .counting import TransformerShape
from .train import TrainConfig

#: The ladder's depths: d_model = 16 n_layers, n_heads = n_layers.
TUNING_LAYERS = (2, 3, 4, 5, 6)
HEAD_SIZE, ASPECT, N_CTX = 16, 16, 128
#: The untuned rule the grid is centred on (the `cpu` preset's, results/pilot/README.md).
CENTRE_LR_AT_100K, CENTRE_LR_EXPONENT = 0.0052, 0.48
LR_FACTORS = (0.25, 0.5, 1.0, 2.0)
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
OUT = Path(__file__).resolve().parents[2] / "results" / "tuning"
NAME = "tuning"
DESCRIPTION = ("Per-size tuning (scalinglaws.tuning): head-16 ladder L2..L6 (d = 16 L), peak lr x (1/4, 1/2, 1, 2) "
               "of 0.0052 (N/1e5)^-0.48, beta2 in {0.95, 0.99}, WSD (20% 1-sqrt) branches at 4,000 and 8,000 "
               "steps of 4 x 128 bytes, weight decay at a decay timescale 1/(lr wd) of 4,000 steps, seed 0.")


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
    return CENTRE_LR_AT_100K * (n_params / 1e5) ** -CENTRE_LR_EXPONENT


def tuning_specs(layers=TUNING_LAYERS, lr_factors=LR_FACTORS, beta2s=BETA2S, steps=TUNING_STEPS) -> list:
    """Every run of the tuning grid, as WSD branches: one trunk per (size, lr, beta2)."""
    from .sweep import RunSpec  # the runner's record type; imported here so the fits below need no torch

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


@dataclass(frozen=True)
class BestLearningRate:
    """One size's best peak learning rate at one beta2, and the scores it was read from."""

    n_params: int
    beta2: float
    lrs: tuple[float, ...]  # the grid, ascending
    scores: tuple[float, ...]  # held-out loss averaged over the lengths, per grid value
    best_lr: float  # the parabola's vertex (the grid's best where at_edge)
    best_score: float  # the best grid score
    at_edge: bool  # the best grid point is the grid's first or last


def parabola_vertex(x: np.ndarray, y: np.ndarray) -> float:
    """The x of the minimum of the parabola through three points (x ascending, the middle lowest)."""
    a, b, _ = np.polyfit(x, y, 2)
    if not a > 0:
        raise ValueError(f"the three points {list(zip(x, y))} are not convex: no minimum")
    return float(-b / (2 * a))


def _final_loss(record: dict) -> float:
    """A run's final held-out loss; a diverged run scores infinity (the worst)."""
    return math.inf if record["final_loss"] is None else float(record["final_loss"])


def best_learning_rates(records: list[dict]) -> list[BestLearningRate]:
    """Steps 1-2 of the criterion, for every (size, beta2) in ``records`` (run records of the grid)."""
    scores: dict[tuple[int, float], dict[float, list[float]]] = {}
    for record in records:
        config = record["train_config"]
        key = (int(record["params_total"]), float(config["betas"][1]))
        scores.setdefault(key, {}).setdefault(float(config["peak_lr"]), []).append(_final_loss(record))
    lengths = {len(losses) for by_lr in scores.values() for losses in by_lr.values()}
    if len(lengths) > 1:
        raise ValueError(f"every setting needs the same number of lengths to be averaged; found {sorted(lengths)}")
    out = []
    for (n_params, beta2), by_lr in sorted(scores.items()):
        lrs = sorted(by_lr)
        mean = [float(np.mean(by_lr[lr])) for lr in lrs]
        i = int(np.argmin(mean))
        # A diverged neighbour leaves no parabola either: the grid is extended there like at an edge.
        at_edge = i in (0, len(lrs) - 1) or not np.isfinite(mean[max(i - 1, 0):i + 2]).all()
        best = lrs[i] if at_edge else math.exp(parabola_vertex(np.log(lrs[i - 1:i + 2]), np.array(mean[i - 1:i + 2])))
        out.append(BestLearningRate(n_params, beta2, tuple(lrs), tuple(mean), best, mean[i], at_edge))
    return out


def chosen_beta2(bests: list[BestLearningRate]) -> float:
    """Step 3: the beta2 whose best score is lower at more sizes (a tie: the lower summed best score)."""
    by_size: dict[int, dict[float, float]] = {}
    for best in bests:
        by_size.setdefault(best.n_params, {})[best.beta2] = best.best_score
    beta2s = sorted({best.beta2 for best in bests})
    wins = {beta2: 0 for beta2 in beta2s}
    for scores in by_size.values():
        if set(scores) != set(beta2s):
            raise ValueError(f"every size needs every beta2 {beta2s}; got {sorted(scores)}")
        wins[min(scores, key=scores.get)] += 1
    total = {beta2: sum(scores[beta2] for scores in by_size.values()) for beta2 in beta2s}
    return min(beta2s, key=lambda beta2: (-wins[beta2], total[beta2]))


@dataclass(frozen=True)
class LearningRateRule:
    """lr = lr_at_100k (N / 1e5)^-exponent, with the beta2 it was tuned at."""

    lr_at_100k: float
    exponent: float
    beta2: float

    def peak_lr(self, n_params: float) -> float:
        return self.lr_at_100k * (n_params / 1e5) ** -self.exponent


def fit_rule(records: list[dict]) -> LearningRateRule:
    """Steps 1-4 of the criterion: the tuned rule from the tuning runs' records."""
    bests = best_learning_rates(records)
    beta2 = chosen_beta2(bests)
    chosen = [best for best in bests if best.beta2 == beta2]
    edges = [best for best in chosen if best.at_edge]
    if edges:
        raise ValueError("the best learning rate is at the edge of the grid for "
                         + ", ".join(f"N={best.n_params:,d} (lr {best.best_lr:g} of {best.lrs})" for best in edges)
                         + f" at beta2={beta2}: extend the grid past it before fitting a rule")
    if len(chosen) < 2:
        raise ValueError(f"a rule needs at least 2 sizes, got {len(chosen)}")
    slope, intercept = np.polyfit(np.log([best.n_params / 1e5 for best in chosen]),
                                  np.log([best.best_lr for best in chosen]), 1)
    return LearningRateRule(lr_at_100k=float(math.exp(intercept)), exponent=float(-slope), beta2=beta2)


def main(argv: list[str]) -> int:
    if argv[:1] == ["run"]:
        from .sweep import run_specs

        run_specs(NAME, DESCRIPTION, tuning_specs(), Path(argv[1]) if len(argv) > 1 else OUT)
        return 0
    if argv[:1] == ["report"]:
        from .results import load_results

        _, records = load_results(Path(argv[1]) if len(argv) > 1 else OUT)
        for best in best_learning_rates(records):
            print(f"N={best.n_params:>9,d} beta2={best.beta2}: scores "
                  + " ".join(f"{lr:g}:{s:.4f}" for lr, s in zip(best.lrs, best.scores))
                  + f" -> best lr {best.best_lr:.4g}{' (AT EDGE)' if best.at_edge else ''}")
        print(fit_rule(records))
        return 0
    print("usage: python -m scalinglaws.tuning run [OUT] | report [RESULTS.jsonl]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
