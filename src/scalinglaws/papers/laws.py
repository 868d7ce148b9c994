"""The scaling laws themselves: Kaplan et al. 2020 and Hoffmann et al. 2022.

All functions take plain floats or NumPy arrays. Compute C is in FLOPs everywhere; the
Kaplan laws, published with C in PF-days, convert internally.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scalinglaws.papers import constants as k
from scalinglaws.papers.constants import ParametricFit

# --------------------------------------------------------------------------------------
# Kaplan et al. 2020
# --------------------------------------------------------------------------------------


def require_positive(name: str, value):
    """``value`` as a float array, or ValueError naming ``name`` unless every element is positive
    and finite (sizes, token counts and budgets in every law here)."""
    array = np.asarray(value, dtype=float)
    if not np.all(np.isfinite(array)) or np.any(array <= 0):
        raise ValueError(f"{name} must be positive and finite, got {value!r}")
    return array


def kaplan_loss_of_params(n_non_embedding):
    """L(N) = (N_c / N)^alpha_N, data and compute unlimited (Kaplan Eq. 1.1)."""
    n = require_positive("N", n_non_embedding)
    return (k.KAPLAN_L_OF_N.x_c / n) ** k.KAPLAN_L_OF_N.alpha


def kaplan_loss_of_tokens(tokens):
    """L(D) = (D_c / D)^alpha_D, large models with early stopping (Kaplan Eq. 1.2)."""
    d = require_positive("D", tokens)
    return (k.KAPLAN_L_OF_D.x_c / d) ** k.KAPLAN_L_OF_D.alpha


def kaplan_loss_of_compute(flops):
    """L(C_min) = (C_c / C_min)^alpha_C with C converted to PF-days (Kaplan Eq. 1.3)."""
    c = require_positive("C", flops) / k.PF_DAY
    return (k.KAPLAN_L_OF_C.x_c / c) ** k.KAPLAN_L_OF_C.alpha


def kaplan_loss(n_non_embedding, tokens):
    """L(N, D) = [(N_c/N)^(alpha_N/alpha_D) + D_c/D]^alpha_D (Kaplan Eq. 1.5)."""
    law = k.KAPLAN_L_OF_N_D
    n, d = require_positive("N", n_non_embedding), require_positive("D", tokens)
    return ((law.n_c / n) ** (law.alpha_n / law.alpha_d) + law.d_c / d) ** law.alpha_d


def kaplan_optimal_params(flops):
    """N_opt = 1.3e9 C^0.73, C in PF-days, non-embedding parameters (Kaplan Eq. 1.7)."""
    c = require_positive("C", flops) / k.PF_DAY
    return k.KAPLAN_ALLOCATION.n_coef * c ** k.KAPLAN_ALLOCATION.n_exp


def kaplan_optimal_tokens(flops):
    """D_opt = 2e10 C^0.27 tokens, C in PF-days (Kaplan Section 6.1).

    Kaplan's D_opt is batch x steps at the critical batch, so 6 N_opt D_opt exceeds C by
    about 1.8x: the two allocation formulas are not exactly budget-consistent.
    """
    c = require_positive("C", flops) / k.PF_DAY
    return k.KAPLAN_ALLOCATION.d_coef * c ** k.KAPLAN_ALLOCATION.d_exp


# --------------------------------------------------------------------------------------
# Hoffmann et al. 2022: the parametric law (Eq. 2) and its allocation (Eq. 4)
# --------------------------------------------------------------------------------------


def parametric_loss(fit: ParametricFit, n_params, tokens):
    """L(N, D) = E + A / N^alpha + B / D^beta (Hoffmann Eq. 2)."""
    n, d = require_positive("N", n_params), require_positive("D", tokens)
    return fit.E + fit.A / n**fit.alpha + fit.B / d**fit.beta


def params_for_loss(fit: ParametricFit, tokens: float, target_loss: float) -> float:
    """Invert Eq. 2 for N: the smallest model whose loss on ``tokens`` reaches ``target_loss``.

    Solves E + A / N^alpha + B / D^beta = target for N. ``tokens`` may be ``math.inf``: then
    N is the size below which no amount of data reaches the target. Returns ``math.inf`` when
    no size suffices (the target at or below the N -> infinity floor E + B / D^beta).
    """
    floor = fit.E if tokens == np.inf else float(loss_with_infinite_params(fit, tokens))
    return _size_for_room(fit.A, fit.alpha, _finite_loss(target_loss) - floor)


def tokens_for_loss(fit: ParametricFit, n_params: float, target_loss: float) -> float:
    """Invert Eq. 2 for D: the tokens on which a model of ``n_params`` reaches ``target_loss``.

    Solves E + A / N^alpha + B / D^beta = target for D. Returns ``math.inf`` when no amount of
    data suffices (the target at or below the D -> infinity floor E + A / N^alpha), the same
    rule as :func:`params_for_loss`.
    """
    n = float(require_positive("n_params", n_params))
    return _size_for_room(fit.B, fit.beta, _finite_loss(target_loss) - fit.E - fit.A / n**fit.alpha)


def _finite_loss(target_loss: float) -> float:
    if not np.isfinite(target_loss):
        raise ValueError(f"target_loss must be a finite loss in nats/token, got {target_loss!r}")
    return float(target_loss)


def _size_for_room(coefficient: float, exponent: float, room: float) -> float:
    """The x with coefficient / x^exponent = room (one term of Eq. 2); ``inf`` if room <= 0."""
    return float("inf") if room <= 0 else float((coefficient / room) ** (1.0 / exponent))


def loss_with_infinite_params(fit: ParametricFit, tokens):
    """The limit N -> infinity of Eq. 2: E + B / D^beta, the best any model can do on D tokens."""
    d = require_positive("D", tokens)
    return fit.E + fit.B / d**fit.beta


def allocation_exponents(fit: ParametricFit) -> tuple[float, float]:
    """a = beta / (alpha + beta), b = alpha / (alpha + beta) (Hoffmann Eq. 4)."""
    total = fit.alpha + fit.beta
    return fit.beta / total, fit.alpha / total


def optimal_allocation(fit: ParametricFit, flops):
    """N_opt(C) = G (C/6)^a and D_opt(C) = G^-1 (C/6)^b (Hoffmann Eq. 4).

    G = (alpha A / (beta B))^(1 / (alpha + beta)). Returns (N_opt, D_opt); 6 N_opt D_opt = C.
    """
    c = require_positive("C", flops)
    a, b = allocation_exponents(fit)
    g = (fit.alpha * fit.A / (fit.beta * fit.B)) ** (1.0 / (fit.alpha + fit.beta))
    return g * (c / 6.0) ** a, (c / 6.0) ** b / g


def optimal_flops_for_params(fit: ParametricFit, n_params):
    """Invert Eq. 4: the budget C for which N is compute-optimal (Hoffmann Table A3, Approach 3)."""
    n = require_positive("N", n_params)
    a, _ = allocation_exponents(fit)
    g = (fit.alpha * fit.A / (fit.beta * fit.B)) ** (1.0 / (fit.alpha + fit.beta))
    return 6.0 * (n / g) ** (1.0 / a)


def optimal_loss(fit: ParametricFit, flops):
    """The least loss a budget C buys under ``fit``: Eq. 2 at Eq. 4's allocation.

    With N_opt = G (C/6)^a and D_opt = G^-1 (C/6)^b (Hoffmann Eq. 4), both terms of Eq. 2
    fall as (C/6)^(-alpha beta / (alpha + beta)), since alpha a = beta b = alpha beta / (alpha + beta):

        L_opt(C) = E + (A G^-alpha + B G^beta) (C/6)^(-alpha beta / (alpha + beta)).
    """
    c = require_positive("the compute budget (FLOPs)", flops)
    return fit.E + _frontier_coefficient(fit) * (c / 6.0) ** (-_frontier_exponent(fit))


def flops_for_optimal_loss(fit: ParametricFit, loss: float) -> float:
    """Invert :func:`optimal_loss`: the budget at which the compute-optimal model reaches ``loss``.

    ``loss`` must lie above the asymptote E, which no finite budget reaches.
    """
    if not (np.isfinite(loss) and loss > fit.E):
        raise ValueError(f"loss must be a finite number above E = {fit.E:.4g} (the fit's asymptote), got {loss!r}")
    return 6.0 * ((loss - fit.E) / _frontier_coefficient(fit)) ** (-1.0 / _frontier_exponent(fit))


def _frontier_exponent(fit: ParametricFit) -> float:
    return fit.alpha * fit.beta / (fit.alpha + fit.beta)


def _frontier_coefficient(fit: ParametricFit) -> float:
    g = (fit.alpha * fit.A / (fit.beta * fit.B)) ** (1.0 / (fit.alpha + fit.beta))
    return fit.A * g ** (-fit.alpha) + fit.B * g**fit.beta


def mis_sizing_penalty(alpha: float, beta: float, factor):
    """The loss a model ``factor`` times the compute-optimal size adds at the same budget, as a
    fraction of the reducible loss L - E of the optimal model (Hoffmann Eq. 2 with D = C / 6N).

    At the optimum the two terms of Eq. 2 split the reducible loss in the ratio
    A/N^alpha : B/D^beta = beta : alpha. A model k times larger on k times fewer tokens
    multiplies the first by k^-alpha and the second by k^beta, so the penalty is
    (beta k^-alpha + alpha k^beta) / (alpha + beta) - 1, whatever C, A, B and E are.
    """
    if not (alpha > 0 and beta > 0):
        raise ValueError(f"alpha and beta must be positive, got {alpha!r} and {beta!r}")
    k = require_positive("factor", factor)
    penalty = (beta * k**-alpha + alpha * k**beta) / (alpha + beta) - 1.0
    return float(penalty) if penalty.ndim == 0 else penalty


# --------------------------------------------------------------------------------------
# One front door for "how should I spend C FLOPs?" under each published law
# --------------------------------------------------------------------------------------

PARAMETRIC_LAWS = {
    "chinchilla": k.CHINCHILLA_PRINTED,
    "chinchilla-unrounded": k.CHINCHILLA_UNROUNDED,
    "besiroglu": k.BESIROGLU_REFIT,
}
LAW_NAMES = (*PARAMETRIC_LAWS, "kaplan")


@dataclass(frozen=True)
class Allocation:
    """How to spend a compute budget: parameters, tokens and the predicted loss."""

    law: str
    flops: float
    params: float
    tokens: float
    loss: float
    loss_note: str

    @property
    def tokens_per_param(self) -> float:
        return self.tokens / self.params


def compute_optimal(law: str, flops: float) -> Allocation:
    """N_opt, D_opt and the predicted loss at ``flops`` under a named published law.

    ``law`` is one of :data:`LAW_NAMES`. For the parametric laws D_opt comes from Eq. 4.
    For Kaplan, N_opt = 1.3e9 C^0.73 (non-embedding) and D = C / (6 N_opt) so that the
    budget is spent exactly; the loss is Kaplan's L(N, D) on WebText2, which is not on the
    same scale as Chinchilla's MassiveText losses.
    """
    if law not in LAW_NAMES:
        raise ValueError(f"unknown law {law!r}; choose one of: {', '.join(LAW_NAMES)}")
    flops = float(require_positive("the compute budget (FLOPs)", flops))
    if law == "kaplan":
        n = float(kaplan_optimal_params(flops))
        d = flops / (6.0 * n)
        note = "nats/token on WebText2 (Kaplan Eq. 1.5); not comparable with the Chinchilla laws"
        return Allocation(law, flops, n, d, float(kaplan_loss(n, d)), note)
    fit = PARAMETRIC_LAWS[law]
    n, d = optimal_allocation(fit, flops)
    note = "nats/token on MassiveText (Hoffmann Eq. 2)"
    return Allocation(law, flops, float(n), float(d), float(parametric_loss(fit, n, d)), note)


def allocation_at_gophers_budget(law: str | ParametricFit) -> Allocation:
    """The allocation at Gopher's budget, C = 5.76e23 FLOPs, under one law.

    Gopher's budget is "1 Gopher unit" (Hoffmann Section 4 and Table 3), the budget at which
    the paper compares its three approaches (Section 3.4) and trains Chinchilla. The book
    computes this allocation here once; every chapter that quotes it calls this function.
    ``law`` is a name of :data:`LAW_NAMES` (see :func:`compute_optimal`) or any fit of Eq. 2,
    such as a refit, for which N_opt and D_opt come from Eq. 4.
    """
    if isinstance(law, str):
        return compute_optimal(law, k.GOPHER_FLOPS)
    n, d = optimal_allocation(law, k.GOPHER_FLOPS)
    return Allocation(law.name, k.GOPHER_FLOPS, float(n), float(d), float(parametric_loss(law, n, d)),
                      "nats/token on MassiveText (Hoffmann Eq. 2)")


def exponent_counting_non_embedding(a_total: float, elasticity: float) -> float:
    """The allocation exponent a seen when the same optima are counted Kaplan's way.

    Pearce & Song (2024, Section 3): if the optimal total parameter count grows as
    N_T ~ C^a and the non-embedding share rho = N_ne / N_T grows as N_T^e (``elasticity``
    e = d ln rho / d ln N_T; e > 0 while the embeddings are a large, shrinking share of small
    models), then with Kaplan's N_ne = rho N_T and C_ne = 6 N_ne D = rho C (Kaplan Section 2.1):

        d ln N_ne / d ln C_ne = a (1 + e) / (1 + a e),

    which exceeds a for 0 < a < 1 and e > 0. At e = 0 (no embeddings) it is a itself.
    """
    if not 0.0 < a_total < 1.0:
        raise ValueError(f"a_total is the exponent of N_opt ~ C^a and must lie in (0, 1), got {a_total}")
    if not -1.0 < elasticity:
        raise ValueError(f"the elasticity d ln(N_ne/N_T) / d ln N_T must exceed -1, got {elasticity}")
    return a_total * (1.0 + elasticity) / (1.0 + a_total * elasticity)


def allocation_exponent_under_flop_count(fit: ParametricFit, sizes, flops_per_token, budgets) -> float:
    """The exponent a of N_opt ~ C^a when the same law L(N, D) is minimised at fixed compute
    counted another way: C = c(N) D instead of 6 N D.

    ``sizes`` and ``flops_per_token`` tabulate c(N) along a ladder of shapes (for instance
    :func:`scalinglaws.papers.counting.chinchilla_flops_per_token`, Hoffmann's Appendix F count);
    between them c is interpolated linearly in log-log. At each budget C, N_opt(C) minimises
    L(N, C / c(N)) over the ladder's range of N; a is the least-squares slope of log N_opt against
    log C. With c(N) = 6N it is Eq. 4's beta / (alpha + beta); with a count whose cost per
    parameter falls as N grows (the attention and embedding work of small models), a differs, so
    the FLOP convention does move Approach 3's exponent read against C.
    """
    n = np.asarray(sizes, dtype=float)
    per_token = np.asarray(flops_per_token, dtype=float)
    c = np.asarray(budgets, dtype=float)
    if n.ndim != 1 or n.shape != per_token.shape or n.size < 2 or np.any(np.diff(n) <= 0):
        raise ValueError("sizes must be 2 or more increasing values with one FLOPs-per-token value each")
    if np.any(per_token <= 0) or c.size < 2 or np.any(c <= 0):
        raise ValueError("FLOPs per token and the budgets (2 or more) must be positive")
    log_n = np.linspace(np.log(n[0]), np.log(n[-1]), 4001)
    log_cost = np.interp(log_n, np.log(n), np.log(per_token))
    optima = []
    for budget in c:
        loss = parametric_loss(fit, np.exp(log_n), budget / np.exp(log_cost))
        best = int(np.argmin(loss))
        if best in (0, log_n.size - 1):
            raise ValueError(f"at C = {budget:.3g} the optimum lies at the edge of the sizes tabulated "
                             f"({n[0]:.3g} .. {n[-1]:.3g}): tabulate a wider ladder or use smaller budgets")
        low, mid, high = loss[best - 1:best + 2]  # the vertex of the parabola through the 3 lowest points
        step = log_n[1] - log_n[0]
        optima.append(log_n[best] + 0.5 * step * (low - high) / (low - 2.0 * mid + high))
    return float(np.polyfit(np.log(c), optima, 1)[0])
