"""Plain-text tables for a chapter to ``print``, so that nbval can compare them character for
character, and the fits of Eq. 2 set out in them beside the papers' numbers.

- Layout: a table's columns under a header and a rule (:func:`format_table`), and two texts in two
  wrapped columns (:func:`side_by_side`).
- Fits of Eq. 2: coefficients and the exponents of Eq. 4 they imply (:func:`format_fits`), Hoffmann
  et al. 2022's Table 2, predicted losses of trained models, and a refit's bootstrap intervals
  beside Besiroglu et al. 2024's and Hoffmann's.
"""

from __future__ import annotations

import textwrap
from typing import Iterable, Sequence

from scalinglaws.papers import constants as k
from scalinglaws.papers import laws
from scalinglaws.papers.constants import ParametricFit, TrainedModel


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


def side_by_side(left: str, right: str, titles: tuple[str, str] = ("", ""), width: int = 38, gap: int = 4) -> str:
    """Two texts wrapped to ``width`` columns and printed next to each other under ``titles``.

    Line breaks and other control bytes in the texts become spaces first (sampled bytes may
    hold any of them), so each column is wrapped as running text.
    """
    if width < 10 or gap < 1:
        raise ValueError(f"need width >= 10 and gap >= 1, got {width} and {gap}")

    def column(text: str) -> list[str]:
        flat = "".join(ch if ch.isprintable() else " " for ch in text)
        return textwrap.wrap(flat, width=width, drop_whitespace=True, break_long_words=True) or [""]

    lines_left, lines_right = column(left), column(right)
    rows = []
    if any(titles):
        rows.append(f"{titles[0][:width]:<{width}}{' ' * gap}{titles[1][:width]}".rstrip())
        rows.append(f"{'-' * width}{' ' * gap}{'-' * width}")
    for index in range(max(len(lines_left), len(lines_right))):
        a = lines_left[index] if index < len(lines_left) else ""
        b = lines_right[index] if index < len(lines_right) else ""
        rows.append(f"{a:<{width}}{' ' * gap}{b}".rstrip())
    return "\n".join(rows)


# ------------------------------------------------------------------------------------------
# Fits of Eq. 2 beside the papers' numbers
# ------------------------------------------------------------------------------------------
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


def format_losses(fits: Sequence[ParametricFit], models: Sequence[TrainedModel]) -> str:
    """Eq. 2's predicted loss (nats/token) for each model under each fit, with 6ND."""
    headers = ("model", "N", "D", "6ND (FLOPs)", *(fit.name for fit in fits))
    rows = [(model.name, f"{model.params:.3g}", f"{model.tokens:.3g}",
             f"{6 * model.params * model.tokens:.3g}",
             *(f"{float(laws.parametric_loss(fit, model.params, model.tokens)):.3f}" for fit in fits))
            for model in models]
    return format_table(headers, rows)


def _significant(x: float, digits: int = 3) -> str:
    """``x`` rounded to ``digits`` significant figures, in plain notation below 1e6 (1520, not 1.52e+03)."""
    return f"{float(f'{x:.{digits}g}'):g}"


def format_intervals(fit: ParametricFit, bootstrap, names: Sequence[str] = ("E", "A", "B", "alpha", "beta", "a"),
                     percentiles: tuple[float, float] = (10.0, 90.0)) -> str:
    """A refit and its bootstrap intervals next to Besiroglu et al.'s refit and Hoffmann's fit:
    :func:`format_interval_columns` with one column, labelled "this refit"."""
    return format_interval_columns([("this refit", fit, bootstrap)], names, percentiles)


def format_interval_columns(columns, names: Sequence[str] = ("E", "A", "B", "alpha", "beta", "a"),
                            percentiles: tuple[float, float] = (10.0, 90.0)) -> str:
    """Several refits of Eq. 2 side by side, each with its bootstrap interval, then Besiroglu et
    al.'s refit (with their 95% intervals) and Hoffmann's fit.

    ``columns`` holds (label, fit, bootstrap) triples; ``bootstrap`` is a
    :class:`scalinglaws.fitting.BootstrapResult` (anything with ``interval(name, percentiles)``).
    Hoffmann's column is the unrounded fit; Hoffmann's interval for a is Table 2's 10th-90th
    percentile one, the only one the paper gives.
    """
    def value(source, name):
        return laws.allocation_exponents(source)[0] if name == "a" else getattr(source, name)

    hoffmann_a_interval = k.approach(3).table_2.a_interval
    low_pct, high_pct = percentiles
    rows = []
    for name in names:
        row = [name]
        for _, fit, bootstrap in columns:
            low, high = bootstrap.interval(name, percentiles)
            row += [f"{value(fit, name):.4g}", f"{_significant(low)}-{_significant(high)}"]
        besiroglu_interval = k.BESIROGLU_INTERVALS.get(name)
        row += [f"{value(k.BESIROGLU_REFIT, name):.4g}",
                "" if besiroglu_interval is None else f"{besiroglu_interval[0]:.4g}-{besiroglu_interval[1]:.4g}",
                f"{value(k.CHINCHILLA_UNROUNDED, name):.4g}",
                f"{hoffmann_a_interval[0]:.3f}-{hoffmann_a_interval[1]:.3f}" if name == "a" else ""]
        rows.append(tuple(row))
    headers = [""]
    for label, _, _ in columns:
        headers += [label, f"{low_pct:g}-{high_pct:g}%"]
    headers += ["Besiroglu", "95%", "Hoffmann", "10-90%"]
    return format_table(tuple(headers), rows)
