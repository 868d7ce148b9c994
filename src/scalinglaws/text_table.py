"""Plain-text tables: columns under a header and a rule, so that a chapter can ``print`` them
and nbval can compare them digit for digit."""

from __future__ import annotations

from typing import Iterable, Sequence


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
