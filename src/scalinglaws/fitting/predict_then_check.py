"""The answer key of the assignment "predict, then check" (``book/assignment/``) and its partial credit.

A student trains a small sweep within a FLOP allowance (:mod:`scalinglaws.sweeps.budget_ledger`),
fits it, and predicts the compute-optimal model at a budget more than three times the whole
allowance: N_opt, D_opt = C / (6 N_opt) and the loss there. The check is the book's own
committed runs at that budget, trained with the same recipe: the ``cpu`` sweep's six runs at
1e12 FLOPs (``results/cpu``, batch 8 below 3e12 FLOPs, the CPU learning-rate rule, the 'default'
corpus, context 128), fitted with the book's Approach 2 parabola (:func:`committed_optimum`).

Partial credit by error (:func:`credit_by_factor`, :func:`credit_by_difference`): full credit within
the inner tolerance, half within the outer one, none beyond. The tolerances are set by how well the
committed answer itself is known, not by how hard the question is:

- N_opt and D_opt: full within a factor 1.5, half within 2. The committed 1e12 profile is six
  sizes about 1.5x apart; its parabola puts N_opt at 35K, the lowest run is the 25K one (1.4x away),
  and the line through the sweep's five profile minima gives 34K: a factor 1.5 is about one rung
  of the ladder, the resolution of the committed answer.
- The loss: full within 0.05 nats per byte, half within 0.10. Trained numbers of this recipe move
  between processors: the same seed of the same run differs by up to 0.034 nats for runs of ~3,000
  steps and up to 0.10 for runs of ~300 steps (``results/demo-amd-epyc/README.md``); the committed
  parabola's minimum (1.865) and the lowest committed run (1.836) differ by 0.03. So 0.05 is 1.5 times
  the largest cross-processor difference of runs as long as the committed ones, and 0.10 the largest
  of any run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scalinglaws.data.committed_results import sweep_results
from scalinglaws.fitting.approach2 import ISOFLOP_WINDOW, fit_isoflop_profile
from scalinglaws.fitting.sweep_fits import load_sweep_runs

#: Each student's allowance of training FLOPs (6ND), for the whole of their sweep.
ALLOWANCE_FLOPS = 3e11
#: The budget the prediction is made for: more than 3x the allowance, and one the book committed runs at.
TARGET_FLOPS = 1e12
#: The committed sweep whose runs at TARGET_FLOPS are the check (its recipe is the assignment's).
TRUTH_SWEEP = "cpu"

#: Partial credit (module docstring): full within the first tolerance, half within the second.
FACTOR_FULL, FACTOR_HALF = 1.5, 2.0
LOSS_FULL, LOSS_HALF = 0.05, 0.10


@dataclass(frozen=True)
class Optimum:
    """The compute-optimal allocation at one budget: N_opt, D_opt = C / (6 N_opt), and the loss there."""

    flops: float
    n_opt: float
    d_opt: float
    loss: float


def committed_optimum(flops: float = TARGET_FLOPS, sweep: str = TRUTH_SWEEP) -> Optimum:
    """The book's Approach 2 parabola (in the sweeps' window, :data:`ISOFLOP_WINDOW`) through the committed
    runs of ``sweep`` at ``flops``: its minimum N_opt, D_opt = C / (6 N_opt) and its loss there."""
    runs = load_sweep_runs(sweep_results(sweep), budgets=[flops])
    profile = fit_isoflop_profile(flops, runs.params, runs.loss, window=ISOFLOP_WINDOW)
    if not profile.usable:
        raise ValueError(f"the committed {sweep!r} runs at {flops:.3g} FLOPs have no usable IsoFLOP minimum: "
                         f"{profile.reason}")
    return Optimum(flops=float(flops), n_opt=profile.n_opt, d_opt=profile.d_opt, loss=profile.loss_min)


def _answer(what: str, value) -> float:
    """A submitted number as a float, or a ValueError naming it unless it is finite."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"{what} must be a finite number, got {value!r}")
    return number


def credit_by_factor(predicted, truth: float, full_within: float = FACTOR_FULL,
                     half_within: float = FACTOR_HALF, what: str = "the prediction") -> float:
    """1 when ``predicted`` is within a factor ``full_within`` of ``truth`` (either way), 0.5 within
    ``half_within``, else 0. Both must be positive: a ratio of sizes is the error that matters."""
    predicted = _answer(what, predicted)
    if predicted <= 0:
        raise ValueError(f"{what} must be positive, got {predicted!r}")
    if not (truth > 0 and 1 < full_within <= half_within):
        raise ValueError(f"need truth > 0 and 1 < full_within <= half_within, got {truth!r}, {full_within!r}, "
                         f"{half_within!r}")
    factor = math.exp(abs(math.log(predicted / truth)))
    return 1.0 if factor <= full_within else 0.5 if factor <= half_within else 0.0


def credit_by_difference(predicted, truth: float, full_within: float = LOSS_FULL,
                         half_within: float = LOSS_HALF, what: str = "the prediction") -> float:
    """1 when ``predicted`` is within ``full_within`` of ``truth`` (either way), 0.5 within
    ``half_within``, else 0."""
    predicted = _answer(what, predicted)
    if not 0 < full_within <= half_within:
        raise ValueError(f"need 0 < full_within <= half_within, got {full_within!r}, {half_within!r}")
    error = abs(predicted - truth)
    return 1.0 if error <= full_within else 0.5 if error <= half_within else 0.0


def grade_prediction(n_opt, d_opt, loss, truth: Optimum | None = None) -> dict[str, float]:
    """Credit (1, 0.5 or 0) for each of a prediction's N_opt, D_opt and loss against ``truth``
    (default: :func:`committed_optimum` at :data:`TARGET_FLOPS`)."""
    truth = committed_optimum() if truth is None else truth
    return {"n_opt": credit_by_factor(n_opt, truth.n_opt, what="N_opt"),
            "d_opt": credit_by_factor(d_opt, truth.d_opt, what="D_opt"),
            "loss": credit_by_difference(loss, truth.loss, what="the loss")}
