"""Plain-text layout for a chapter to ``print``, so that nbval can compare it character for
character: a table's columns under a header and a rule (:func:`format_table`), and two texts in
two wrapped columns (:func:`side_by_side`)."""

from __future__ import annotations

import textwrap
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
