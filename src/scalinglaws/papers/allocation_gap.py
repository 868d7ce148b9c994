"""How far Kaplan's compute-optimal model size is from Chinchilla's, and how fast the gap grows.

Chapter 1 plots N_opt(C) by Kaplan et al. 2020 (Eq. 1.7, ``a = 0.73``) and by Hoffmann et al.
2022's Approach 3 (Eq. 4, ``a = beta / (alpha + beta)``). Both are power laws in C, so their
ratio is a power law too, with exponent the difference of the two exponents: across budgets
spanning a factor ``span`` it grows by ``span ** (a_kaplan - a_approach_3)``. The functions
here compute that drift from the laws themselves and from the exponents alone, so a test can
hold the two against each other, and they turn "10x compute -> p x parameters, t x tokens"
into the exponents that reproduce it.
"""

from __future__ import annotations

import math

from scalinglaws.papers import constants as k
from scalinglaws.papers import laws
from scalinglaws.papers.constants import ParametricFit


def kaplan_over_parametric(flops, fit: ParametricFit = k.CHINCHILLA_UNROUNDED):
    """Kaplan's N_opt (Eq. 1.7) divided by the parametric fit's N_opt (Hoffmann Eq. 4) at C."""
    n_fit, _ = laws.optimal_allocation(fit, flops)
    return laws.kaplan_optimal_params(flops) / n_fit


def drift_factor(flops_low: float, flops_high: float, fit: ParametricFit = k.CHINCHILLA_UNROUNDED) -> float:
    """How many times the ratio of :func:`kaplan_over_parametric` grows from one budget to another."""
    return float(kaplan_over_parametric(flops_high, fit) / kaplan_over_parametric(flops_low, fit))


def drift_from_exponents(flops_low: float, flops_high: float, a_kaplan: float, a_other: float) -> float:
    """The same drift from the exponents alone: (C_high / C_low) ** (a_kaplan - a_other)."""
    return (flops_high / flops_low) ** (a_kaplan - a_other)


def tenfold_factors(a: float) -> tuple[float, float]:
    """What ten times the compute buys under N_opt ~ C^a, D_opt ~ C^(1-a): (10^a, 10^(1-a))."""
    return 10.0**a, 10.0 ** (1.0 - a)


def exponents_rounding_to(params_factor: float, tokens_factor: float, decimals: int = 1) -> tuple[float, float]:
    """The interval [low, high) of exponents a whose tenfold factors round to the two given.

    10^a must round to ``params_factor`` and 10^(1-a) to ``tokens_factor`` at ``decimals``
    decimal places. Raises ValueError when no exponent gives both.
    """
    half = 0.5 * 10.0**-decimals
    low = max(math.log10(params_factor - half), 1.0 - math.log10(tokens_factor + half))
    high = min(math.log10(params_factor + half), 1.0 - math.log10(tokens_factor - half))
    if low >= high:
        raise ValueError(f"no exponent a gives both {params_factor}x and {tokens_factor}x")
    return low, high
