"""A peak-learning-rate rule lr = lr_at_100k (N / 1e5)^-exponent, fitted to run records.

Larger models want a smaller peak learning rate. The book measures the rule for its tiny
byte-level models from a pilot sweep (``results/pilot/README.md``): runs of a few sizes, each at
a few peak learning rates, nothing else varied. Two steps turn their records into a rule:

1. :func:`best_learning_rates`: for each size, the final held-out loss of every rate (averaged
   over the records that share size and rate, e.g. several lengths of one setting); the best
   rate is the vertex of the parabola in ln(lr) through the best rate and its two neighbours.
   A best rate at the edge of the grid (or next to a diverged run) has no vertex: it is
   flagged ``at_edge`` and :func:`fit_rule` refuses it.
2. :func:`fit_rule`: the least-squares line of ln(lr*) on ln(N / 1e5), that is
   lr = lr_at_100k (N / 1e5)^-exponent.

The ``cpu`` preset's rule is :func:`pilot_rule`: this fit on the committed ``pilot/lr`` records
at batch 16, the batch it was measured at, rounded to 2 significant figures.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from scalinglaws.data.committed_results import sweep_results
from scalinglaws.data.results import load_results

#: The batch (sequences) at which the pilot measured the rule (results/pilot/README.md, section 1).
PILOT_BATCH = 16


@dataclass(frozen=True)
class BestLearningRate:
    """One size's best peak learning rate, and the losses it was read from."""

    n_params: int
    lrs: tuple[float, ...]  # the rates tried, ascending
    losses: tuple[float, ...]  # final held-out loss per rate (mean over its records; inf if diverged)
    best_lr: float  # the parabola's vertex (the best rate tried where at_edge)
    parabola: tuple[float, float, float] | None  # loss = p0 ln(lr)^2 + p1 ln(lr) + p2; None at an edge
    at_edge: bool  # the best rate tried is the first or last, or next to a diverged run


@dataclass(frozen=True)
class LearningRateRule:
    """lr = lr_at_100k (N / 1e5)^-exponent."""

    lr_at_100k: float
    exponent: float

    def peak_lr(self, n_params):
        return self.lr_at_100k * (np.asarray(n_params, dtype=float) / 1e5) ** -self.exponent

    def rounded(self, digits: int = 2) -> LearningRateRule:
        """Both numbers to ``digits`` significant figures (as the presets state the rule)."""
        return LearningRateRule(float(f"{self.lr_at_100k:.{digits}g}"), float(f"{self.exponent:.{digits}g}"))

    def __str__(self) -> str:
        """The rule as the presets' descriptions print it, e.g. ``0.0052 (N/1e5)^-0.48``."""
        return f"{self.lr_at_100k:g} (N/1e5)^-{self.exponent:g}"


def _final_loss(record: dict) -> float:
    """A run's final held-out loss; a diverged run scores infinity (the worst)."""
    loss = record.get("final_loss")
    return math.inf if loss is None or record.get("diverged") else float(loss)


def log_parabola_vertex(xs, losses) -> tuple[float, tuple[float, float, float] | None, bool]:
    """The best of a setting tried at values ``xs`` (ascending) with ``losses``: the vertex of the
    parabola in ln(x) through the lowest loss and its two neighbours, with that parabola
    (loss = p0 ln(x)^2 + p1 ln(x) + p2) and False; or, where the lowest loss is at an end of the
    grid or next to a diverged (infinite) one, that value, None and True (no vertex: at the edge)."""
    i = int(np.argmin(losses))
    at_edge = i in (0, len(xs) - 1) or not np.isfinite(losses[max(i - 1, 0):i + 2]).all()
    if at_edge:
        return xs[i], None, True
    parabola = tuple(float(p) for p in np.polyfit(np.log(xs[i - 1:i + 2]), losses[i - 1:i + 2], 2))
    return math.exp(-parabola[1] / (2.0 * parabola[0])), parabola, False


def best_learning_rates(records: Iterable[dict]) -> list[BestLearningRate]:
    """Step 1: each size's best peak learning rate from sweep run records (``results.jsonl`` lines
    with ``params_total``, ``train_config.peak_lr`` and ``final_loss``), smallest size first."""
    losses: dict[int, dict[float, list[float]]] = {}
    for record in records:
        by_lr = losses.setdefault(int(record["params_total"]), {})
        by_lr.setdefault(float(record["train_config"]["peak_lr"]), []).append(_final_loss(record))
    bests = []
    for n_params, by_lr in sorted(losses.items()):
        lrs = sorted(by_lr)
        mean = [float(np.mean(by_lr[lr])) for lr in lrs]
        best, parabola, at_edge = log_parabola_vertex(lrs, mean)
        bests.append(BestLearningRate(n_params, tuple(lrs), tuple(mean), best, parabola, at_edge))
    return bests


def fit_rule(bests: Iterable[BestLearningRate]) -> LearningRateRule:
    """Step 2: the least-squares line of ln(lr*) on ln(N / 1e5) through the sizes' best rates."""
    bests = list(bests)
    edges = [best for best in bests if best.at_edge]
    if edges:
        raise ValueError("the best learning rate is at the edge of the rates tried for "
                         + ", ".join(f"N = {best.n_params:,d} (lr {best.best_lr:g} of {best.lrs})" for best in edges)
                         + ": try rates past it before fitting a rule")
    if len({best.n_params for best in bests}) < 2:
        raise ValueError(f"a rule needs at least 2 sizes, got {len(bests)}")
    slope, intercept = np.polyfit(np.log([best.n_params / 1e5 for best in bests]),
                                  np.log([best.best_lr for best in bests]), 1)
    return LearningRateRule(lr_at_100k=float(math.exp(intercept)), exponent=float(-slope))


def pilot_records(batch_size: int = PILOT_BATCH) -> list[dict]:
    """The committed learning-rate pilot's run records (``results/pilot/lr``) at ``batch_size``."""
    _, records = load_results(sweep_results("pilot/lr"))
    return [record for record in records if record["batch_size"] == batch_size]


def pilot_rule() -> LearningRateRule:
    """The ``cpu`` preset's rule: :func:`fit_rule` on the pilot at batch 16, to 2 significant figures."""
    return fit_rule(best_learning_rates(pilot_records())).rounded(2)
