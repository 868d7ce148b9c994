"""Chinchilla against Gopher on the downstream tasks (Hoffmann et al. 2022, Section 4.2): which
of the two models is better on each task, from the published scores."""

from __future__ import annotations

from scalinglaws.papers import constants as k
from scalinglaws.papers.tables import format_table


def format_downstream(results: dict = k.TABLE_4_RESULTS) -> str:
    """Chinchilla against Gopher on the downstream tasks (Hoffmann Section 4.2)."""
    rows = []
    for task, (chinchilla, gopher, higher_is_better) in results.items():
        better = chinchilla > gopher if higher_is_better else chinchilla < gopher
        rows.append((task, f"{chinchilla:g}", f"{gopher:g}", "Chinchilla" if better else "Gopher"))
    return format_table(("task", "Chinchilla", "Gopher", "better"), rows)
