"""What a model costs once it serves: per-token inference cost, and the allocation that minimises
training plus inference.

- :func:`inference_cost`: a forward pass costs about 2N FLOPs per generated token, and the weights
  take N x bytes per parameter of memory (Kaplan et al. 2020, Section 2.1).
- Inference-aware allocation (:func:`inference_optimal`): the cheapest
  model for a target loss when it will also serve inference.

Sardana & Frankle 2023 (Section 2, their Eq. 1-2) minimise training plus inference FLOPs,
6 N D_tr + 2 N D_inf, subject to the Chinchilla parametric loss (Hoffmann Eq. 2) reaching a
target. With no inference the answer is Hoffmann Eq. 4's allocation for that loss; the more
tokens the model will serve, the smaller and longer-trained the optimum.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy.optimize import brentq

from scalinglaws.papers import laws
from scalinglaws.papers.constants import ParametricFit
from scalinglaws.papers.laws import params_for_loss, tokens_for_loss


def _check_target(fit: ParametricFit, target_loss: float) -> float:
    target = float(target_loss)
    if not math.isfinite(target) or target <= fit.E:
        raise ValueError(f"target_loss must exceed the irreducible loss E = {fit.E:.4f} of the "
                         f"{fit.name!r} fit (Hoffmann Eq. 2), got {target_loss!r}")
    return target


def smallest_params(fit: ParametricFit, target_loss: float) -> float:
    """The N below which no amount of data reaches ``target_loss``: E + A / N^alpha = target (Eq. 2, D -> inf)."""
    return params_for_loss(fit, math.inf, _check_target(fit, target_loss))


@dataclass(frozen=True)
class InferenceAllocation:
    """The cheapest (N, D) for a target loss and a lifetime of ``inference_tokens`` served."""

    target_loss: float
    inference_tokens: float
    params: float
    tokens: float

    @property
    def training_flops(self) -> float:
        return 6.0 * self.params * self.tokens

    @property
    def inference_flops(self) -> float:
        return 2.0 * self.params * self.inference_tokens

    @property
    def total_flops(self) -> float:
        return self.training_flops + self.inference_flops

    @property
    def tokens_per_param(self) -> float:
        return self.tokens / self.params


def lifetime_flops(fit: ParametricFit, n_params: float, target_loss: float, inference_tokens: float) -> float:
    """6 N D(N) + 2 N I: training to ``target_loss`` at size N, then serving I tokens (Sardana & Frankle Eq. 1).

    ``inf`` at or below :func:`smallest_params`, where no D reaches the target.
    """
    return 6.0 * n_params * tokens_for_loss(fit, n_params, target_loss) + 2.0 * n_params * inference_tokens


def inference_optimal(fit: ParametricFit, target_loss: float, inference_tokens: float) -> InferenceAllocation:
    """Minimise 6 N D + 2 N I subject to L(N, D) = target (Sardana & Frankle 2023, Section 2).

    Setting the derivative along the constraint to zero gives
    (alpha / beta) x / r = 1 + I / (3 D), with x = A / N^alpha and r = target - E - x = B / D^beta;
    at I = 0 this is alpha A / N^alpha = beta B / D^beta, the condition behind Hoffmann Eq. 4.
    The left side falls monotonically from +inf (at :func:`smallest_params`) and the right side
    rises with N, so the root is unique; it is found by Brent's method in log N.
    """
    target = _check_target(fit, target_loss)
    inference = float(inference_tokens)
    if not math.isfinite(inference) or inference < 0:
        raise ValueError(f"inference_tokens must be a finite number >= 0, got {inference_tokens!r}")

    def condition(log_n: float) -> float:
        n = math.exp(log_n)
        x = fit.A / n**fit.alpha
        room = target - fit.E - x
        return fit.alpha / fit.beta * x / room - 1.0 - inference / (3.0 * tokens_for_loss(fit, n, target))

    low = math.log(smallest_params(fit, target)) + 1e-12
    high = low + 1.0
    while condition(high) > 0:
        high += 1.0
    log_n = brentq(condition, low, high, xtol=1e-14, rtol=1e-14)
    n = math.exp(log_n)
    return InferenceAllocation(target, inference, n, tokens_for_loss(fit, n, target))


# ------------------------------------------------------------------------------------------
# What serving costs per generated token
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class InferenceCost:
    """What serving a model costs per generated token, ignoring the attention over the context."""

    params: float
    bytes_per_param: float

    @property
    def flops_per_token(self) -> float:
        """A forward pass costs about 2N FLOPs per token (Kaplan Section 2.1)."""
        return 2.0 * self.params

    @property
    def weight_bytes(self) -> float:
        """Memory to hold the weights: N x bytes per parameter (2 for bf16)."""
        return self.params * self.bytes_per_param


def inference_cost(params: float, bytes_per_param: float = 2.0) -> InferenceCost:
    """Per-token FLOPs and weight memory of a model with ``params`` parameters (bf16 by default)."""
    laws.require_positive("params", params)
    laws.require_positive("bytes_per_param", bytes_per_param)
    return InferenceCost(float(params), float(bytes_per_param))
