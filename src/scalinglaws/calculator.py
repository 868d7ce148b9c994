"""Tables and comparisons built from the papers' own numbers (the book's Chapters 4-7).

Everything here is arithmetic on the published laws in :mod:`scalinglaws.laws` and the
published tables in :mod:`scalinglaws.constants`: reproducing Hoffmann et al. 2022's
Table 3 / A3 from the Approach 3 coefficients, comparing Gopher with Chinchilla, and the
compute-optimal calculator; and, for the replication chapter, Approach 3's objective at a
given fit and a table of bootstrap intervals. Tables come back as
plain text so that a notebook can print them and nbval can compare them digit for digit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
from scipy.optimize import minimize_scalar

from . import constants as k
from . import laws
from .constants import OptimalRow, ParametricFit, TrainedModel

# --------------------------------------------------------------------------------------
# Plain-text tables
# --------------------------------------------------------------------------------------


def format_table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """Columns under a header and a rule, for ``print`` in a chapter: the first column
    (names) left-aligned, the others (numbers) right-aligned."""
    rows = [list(map(str, row)) for row in rows]
    if any(len(row) != len(headers) for row in rows):
        raise ValueError(f"every row must have {len(headers)} cells, one per header {list(headers)}")
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows)]

    def line(cells):
        first, *rest = cells
        aligned = [first.ljust(widths[0]), *(cell.rjust(w) for cell, w in zip(rest, widths[1:]))]
        return "  ".join(aligned).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *map(line, rows)])


def format_fits(fits: Sequence[ParametricFit]) -> str:
    """One row per fit: the coefficients of Eq. 2 and the exponents of Eq. 4 they imply."""
    rows = []
    for fit in fits:
        a, b = laws.allocation_exponents(fit)
        rows.append((fit.name, f"{fit.E:.4f}", f"{fit.A:.4g}", f"{fit.B:.4g}", f"{fit.alpha:.4f}",
                     f"{fit.beta:.4f}", f"{a:.3f}", f"{b:.3f}"))
    return format_table(("fit", "E", "A", "B", "alpha", "beta", "a", "b"), rows)


def format_table_2(fits: Sequence[ParametricFit] = ()) -> str:
    """Hoffmann Table 2 (exponents a and b per approach), plus the exponents implied by ``fits``."""

    def interval(bounds):
        return "" if bounds is None else f"({bounds[0]:.3f}-{bounds[1]:.3f})"

    rows = [(row.approach, f"{row.a:.2f}", interval(row.a_interval), f"{row.b:.2f}", interval(row.b_interval))
            for row in k.TABLE_2]
    for fit in fits:
        a, b = laws.allocation_exponents(fit)
        rows.append((f"Eq. 4 from {fit.name}", f"{a:.3f}", "", f"{b:.3f}", ""))
    return format_table(("approach", "a", "10-90%", "b", "10-90%"), rows)


# --------------------------------------------------------------------------------------
# Eq. 4 checked by brute force, and Table 3 / A3 rebuilt from Eq. 4
# --------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------
# Gopher against Chinchilla
# --------------------------------------------------------------------------------------


def format_losses(fits: Sequence[ParametricFit], models: Sequence[TrainedModel]) -> str:
    """Eq. 2's predicted loss (nats/token) for each model under each fit, with 6ND."""
    headers = ("model", "N", "D", "6ND (FLOPs)", *(fit.name for fit in fits))
    rows = [(model.name, f"{model.params:.3g}", f"{model.tokens:.3g}",
             f"{6 * model.params * model.tokens:.3g}",
             *(f"{float(laws.parametric_loss(fit, model.params, model.tokens)):.3f}" for fit in fits))
            for model in models]
    return format_table(headers, rows)


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


def format_downstream(results: dict = k.TABLE_4_RESULTS) -> str:
    """Chinchilla against Gopher on the downstream tasks (Hoffmann Section 4.2)."""
    rows = []
    for task, (chinchilla, gopher, higher_is_better) in results.items():
        better = chinchilla > gopher if higher_is_better else chinchilla < gopher
        rows.append((task, f"{chinchilla:g}", f"{gopher:g}", "Chinchilla" if better else "Gopher"))
    return format_table(("task", "Chinchilla", "Gopher", "better"), rows)


# --------------------------------------------------------------------------------------
# The compute-optimal calculator
# --------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------
# How many runs a confidence interval costs
# --------------------------------------------------------------------------------------


def runs_for_interval_width(n_runs: float, width: float, target_width: float) -> float:
    """Runs needed to shrink a bootstrap interval from ``width`` to ``target_width``.

    An interval's width shrinks like 1 / sqrt(n) with the number of independent data
    points, so n_needed = n (width / target_width)^2 (Besiroglu et al. 2024, Section 4).
    """
    for name, value in (("n_runs", n_runs), ("width", width), ("target_width", target_width)):
        laws.require_positive(name, value)
    return n_runs * (width / target_width) ** 2


def _significant(x: float, digits: int = 3) -> str:
    """``x`` rounded to ``digits`` significant figures, in plain notation below 1e6 (1520, not 1.52e+03)."""
    return f"{float(f'{x:.{digits}g}'):g}"


def format_intervals(fit: ParametricFit, bootstrap, names: Sequence[str] = ("E", "A", "B", "alpha", "beta", "a"),
                     percentiles: tuple[float, float] = (10.0, 90.0)) -> str:
    """A refit and its bootstrap intervals next to Besiroglu et al.'s refit and Hoffmann's fit.

    ``bootstrap`` is a :class:`scalinglaws.fitting.BootstrapResult` (anything with
    ``interval(name, percentiles)``). Hoffmann's column is the unrounded fit; Hoffmann's
    interval for a is Table 2's 10th-90th percentile one, the only one the paper gives.
    """
    def value(source, name):
        return laws.allocation_exponents(source)[0] if name == "a" else getattr(source, name)

    hoffmann_a_interval = k.TABLE_2[2].a_interval
    low_pct, high_pct = percentiles
    rows = []
    for name in names:
        low, high = bootstrap.interval(name, percentiles)
        besiroglu_interval = k.BESIROGLU_INTERVALS.get(name)
        rows.append((
            name, f"{value(fit, name):.4g}", f"{_significant(low)}-{_significant(high)}",
            f"{value(k.BESIROGLU_REFIT, name):.4g}",
            "" if besiroglu_interval is None else f"{besiroglu_interval[0]:.4g}-{besiroglu_interval[1]:.4g}",
            f"{value(k.CHINCHILLA_UNROUNDED, name):.4g}",
            f"{hoffmann_a_interval[0]:.3f}-{hoffmann_a_interval[1]:.3f}" if name == "a" else "",
        ))
    headers = ("", "this refit", f"{low_pct:g}-{high_pct:g}%", "Besiroglu", "95%", "Hoffmann", "10-90%")
    return format_table(headers, rows)
