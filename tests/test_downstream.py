"""Chinchilla against Gopher on the downstream tasks (Hoffmann Section 4.2)."""

from scalinglaws.papers import constants as k
from scalinglaws.papers.downstream import format_downstream


def test_downstream_table_names_chinchilla_better_on_every_task():
    text = format_downstream()
    assert text.count("Chinchilla") == 1 + len(k.TABLE_4_RESULTS)  # the header plus every row
