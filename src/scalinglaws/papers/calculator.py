"""The compute-optimal calculator (the book's Chapter 7): from a budget to what to train.

A training budget from hardware, each published law's N_opt, D_opt and loss at it
(:func:`scalinglaws.papers.laws.compute_optimal`), whether the budget lies inside the range the
Chinchilla laws were fitted on, and what capping the model size costs. Tables come back as
plain text so that a notebook can print them and nbval can compare them digit for digit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from scalinglaws.papers import laws
from scalinglaws.papers.constants import ParametricFit
from scalinglaws.papers.tables import format_table

SECONDS_PER_DAY = 24 * 3600


def budget_from_hardware(accelerators: float, peak_flops_per_second: float, utilisation: float,
                         days: float) -> float:
    """Training compute in FLOPs: accelerators x peak FLOP/s x utilisation x wall time.

    ``utilisation`` is the fraction of peak actually achieved (model FLOPs utilisation),
    in (0, 1]; large training runs typically reach 0.3-0.5.
    """
    for name, value in (("accelerators", accelerators), ("peak_flops_per_second", peak_flops_per_second),
                        ("days", days)):
        laws.require_positive(name, value)
    if not 0 < utilisation <= 1:
        raise ValueError(f"utilisation must be a fraction of peak in (0, 1], got {utilisation!r}")
    return accelerators * peak_flops_per_second * utilisation * days * SECONDS_PER_DAY


def allocations(flops: float, law_names: Sequence[str] = laws.LAW_NAMES) -> list[laws.Allocation]:
    """N_opt, D_opt and the predicted loss at ``flops`` under each named law."""
    return [laws.compute_optimal(name, flops) for name in law_names]


def format_allocations(rows: Sequence[laws.Allocation]) -> str:
    """The calculator's table: one line per law.

    The loss column holds Eq. 2's nats per token on MassiveText; Kaplan's row prints n/a there,
    since its L(N, D) is measured on WebText2 with another tokenizer (Kaplan Section 2) and does
    not belong in the same column.
    """
    body = [(a.law, f"{a.flops:.3g}", f"{a.params:.3g}", f"{a.tokens:.3g}", f"{a.tokens_per_param:.1f}",
             f"{a.loss:.3f}" if a.law in laws.PARAMETRIC_LAWS else "n/a") for a in rows]
    return format_table(("law", "C (FLOPs)", "N_opt", "D_opt (tokens)", "D/N", "loss"), body)


#: The budgets Hoffmann et al.'s Approach 3 was fitted on, to the decade: Besiroglu et al.'s
#: extraction of Figure 4 spans 1.4e18-1.3e22 FLOPs (this book's Chapter 6), and the IsoFLOP
#: budgets of Approach 2 run from 6e18 to 3e21 (Hoffmann Section 3.2).
FITTED_FLOPS = (1e18, 1e22)
#: The largest model in those fits: "over 16B parameters" (Hoffmann Section 1); the extracted
#: Figure 4 points reach 1.6e10.
LARGEST_FITTED_PARAMS = 16e9


def _decade(x: float) -> str:
    return f"{x:.0e}".replace("e+", "e")


def fitted_range_note(flops: float) -> str:
    """One line saying whether ``flops`` lies inside the budgets the Chinchilla laws were fitted
    on (:data:`FITTED_FLOPS`), and a warning, with how far outside, when it does not."""
    c = float(laws.require_positive("the compute budget (FLOPs)", flops))
    low, high = FITTED_FLOPS
    span = f"({_decade(low)}-{_decade(high)} FLOPs)"
    if low <= c <= high:
        return f"C = {c:.3g} FLOPs is inside the Chinchilla laws' fitted range {span}"
    where = f"{low / c:.2g}x below" if c < low else f"{c / high:.2g}x above"
    return (f"warning: C = {c:.3g} FLOPs is {where} the Chinchilla laws' fitted range\n"
            f"{span}: their rows are extrapolations")


@dataclass(frozen=True)
class SizeCap:
    """What capping the model at ``params`` costs on a budget of ``flops`` under one fit."""

    fit: str
    flops: float
    params: float
    loss: float
    optimal_params: float
    optimal_loss: float
    equivalent_flops: float
    catch_up_flops: float

    @property
    def loss_penalty(self) -> float:
        """Nats per token given up against the compute-optimal model on the same budget."""
        return self.loss - self.optimal_loss

    @property
    def compute_multiplier(self) -> float:
        """The capped model's budget over the budget on which the compute-optimal model reaches
        the same loss: the cap costs as much as this factor of compute."""
        return self.flops / self.equivalent_flops

    @property
    def catch_up_multiplier(self) -> float:
        """The budget on which the capped model, trained longer, reaches the compute-optimal
        loss, over the budget itself (``inf`` when no number of tokens suffices)."""
        return self.catch_up_flops / self.flops


def cost_of_size_cap(fit: ParametricFit, max_params: float, flops: float) -> SizeCap:
    """Train at most ``max_params`` parameters on ``flops`` (D = C / 6N): the loss given up against
    Eq. 4's compute-optimal model, and that loss expressed as compute, both ways round.

    A cap at or above N_opt costs nothing: the capped model is the compute-optimal one.
    """
    c = float(laws.require_positive("the compute budget (FLOPs)", flops))
    n_opt, d_opt = laws.optimal_allocation(fit, c)
    n = min(float(laws.require_positive("max_params", max_params)), float(n_opt))
    loss = float(laws.parametric_loss(fit, n, c / (6.0 * n)))
    best = float(laws.parametric_loss(fit, n_opt, d_opt))
    equivalent = c if n == n_opt else laws.flops_for_optimal_loss(fit, loss)
    catch_up = c if n == n_opt else 6.0 * n * laws.tokens_for_loss(fit, n, best)
    return SizeCap(fit.name, c, n, loss, float(n_opt), best, float(equivalent), float(catch_up))


def allocation_curves(flops_grid, law_names: Sequence[str] = laws.LAW_NAMES) -> dict:
    """For each law, arrays (N_opt, D_opt) over ``flops_grid``, for plotting."""
    grid = np.asarray(flops_grid, dtype=float)
    curves = {}
    for name in law_names:
        rows = [laws.compute_optimal(name, c) for c in grid]
        curves[name] = (np.array([r.params for r in rows]), np.array([r.tokens for r in rows]))
    return curves
