"""Hoffmann et al. 2022's Table 3 / A3 recomputed from Eq. 4, and Eq. 4 checked by brute force.

A row of Table A3 gives a model size N with the FLOPs and tokens at which it is compute-optimal
under Approach 3; :func:`compare_with_printed` recomputes both from a fit's closed form (Eq. 4)
and sets them beside the printed row, whose own 6ND it checks too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from scipy.optimize import minimize_scalar

from scalinglaws.papers import laws
from scalinglaws.papers.constants import OptimalRow, ParametricFit
from scalinglaws.papers.tables import format_table


def optimal_params_by_search(fit: ParametricFit, flops: float) -> float:
    """Minimise L(N, C / 6N) over N numerically: an independent check of Eq. 4's closed form.

    Searches log N over 1e3..1e18 parameters (bounded Brent), to a relative tolerance
    of about 1e-9 in N.
    """
    c = float(laws.require_positive("the compute budget (FLOPs)", flops))

    def loss_on_budget(log_n):
        n = math.exp(log_n)
        return float(laws.parametric_loss(fit, n, c / (6.0 * n)))

    result = minimize_scalar(loss_on_budget, bounds=(math.log(1e3), math.log(1e18)),
                             method="bounded", options={"xatol": 1e-10})
    return math.exp(result.x)


def closed_form_row(fit: ParametricFit, params: float) -> OptimalRow:
    """The budget C at which ``params`` is compute-optimal under Eq. 4, and D = C / (6N)."""
    flops = float(laws.optimal_flops_for_params(fit, params))
    return OptimalRow(params=float(params), flops=flops, tokens=flops / (6.0 * params))


@dataclass(frozen=True)
class RowComparison:
    """A printed row of Table 3 / A3 next to the same row recomputed from Eq. 4."""

    printed: OptimalRow
    closed_form: OptimalRow

    @property
    def flops_ratio(self) -> float:
        """Closed-form FLOPs over printed FLOPs."""
        return self.closed_form.flops / self.printed.flops

    @property
    def tokens_ratio(self) -> float:
        """Closed-form tokens over printed tokens."""
        return self.closed_form.tokens / self.printed.tokens

    @property
    def printed_budget_ratio(self) -> float:
        """Printed FLOPs over 6 N D of the printed N and D: 1 for a self-consistent row."""
        return self.printed.flops / (6.0 * self.printed.params * self.printed.tokens)


def compare_with_printed(fit: ParametricFit, printed: Sequence[OptimalRow]) -> list[RowComparison]:
    """Recompute each printed row's FLOPs and tokens from ``fit`` (Hoffmann Table A3, Approach 3)."""
    return [RowComparison(row, closed_form_row(fit, row.params)) for row in printed]


def format_comparison(comparisons: Sequence[RowComparison]) -> str:
    """Printed and closed-form rows side by side, with the printed row's own 6ND check."""
    rows = [(
        f"{c.printed.params:.3g}",
        f"{c.printed.flops:.3g}", f"{c.printed.tokens:.3g}",
        f"{c.printed_budget_ratio:.2f}",
        f"{c.closed_form.flops:.3g}", f"{c.closed_form.tokens:.3g}",
        f"{c.flops_ratio:.2f}", f"{c.tokens_ratio:.2f}",
    ) for c in comparisons]
    headers = ("N", "C printed", "D printed", "C/6ND", "C Eq. 4", "D Eq. 4", "C ratio", "D ratio")
    return format_table(headers, rows)
