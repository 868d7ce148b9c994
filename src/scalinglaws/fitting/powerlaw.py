"""Power laws y = k x^p fitted by least squares in log-log space, and the fitting error type.

Approaches 1 and 2 of Hoffmann et al. (2022, Sections 3.1-3.2) end the same way: a straight
line through (log C, log N_opt) gives N_opt = k C^a, and one through (log C, log D_opt) gives
D_opt = k' C^b.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


class FitFailure(ValueError):
    """A fit ran on well-formed data but could not produce an answer.

    ``reason`` is a short fixed phrase (the bootstrap counts failures by it); ``detail`` says
    what happened in this instance.
    """

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason} ({detail})" if detail else reason)
        self.reason = reason


@dataclass(frozen=True)
class PowerLawFit:
    """y = coefficient * x ** exponent."""

    exponent: float
    coefficient: float

    def __call__(self, x):
        return self.coefficient * np.asarray(x, dtype=float) ** self.exponent


class AllocationExponents:
    """Mixin for a fit holding ``n_law`` (N_opt ~ C^a) and ``d_law`` (D_opt ~ C^b): Table 2's a and b."""

    n_law: PowerLawFit
    d_law: PowerLawFit

    @property
    def a(self) -> float:
        return self.n_law.exponent

    @property
    def b(self) -> float:
        return self.d_law.exponent


def fit_power_law(x, y) -> PowerLawFit:
    """Least-squares line through (log x, log y). Needs >= 2 distinct positive x and positive y."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"x and y must be 1-D and equally long, got shapes {x.shape} and {y.shape}")
    if x.size < 2:
        raise ValueError(f"a power law needs at least 2 points, got {x.size}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y)) and np.all(x > 0) and np.all(y > 0)):
        raise ValueError("a power law is fitted in log-log space: x and y must be positive and finite")
    if np.ptp(np.log(x)) == 0:
        raise ValueError("a power law needs at least 2 distinct x values, got one")
    slope, intercept = np.polyfit(np.log(x), np.log(y), 1)
    return PowerLawFit(exponent=float(slope), coefficient=float(np.exp(intercept)))
