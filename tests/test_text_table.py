"""The plain-text layout the chapters print: tables, and two texts side by side."""

import pytest

from scalinglaws.papers.tables import format_table, side_by_side


def test_format_table_aligns_columns_and_rejects_ragged_rows():
    text = format_table(("a", "bb"), [("1", "2"), ("333", "4")])
    assert text.splitlines() == ["a    bb", "---  --", "1     2", "333   4"]
    with pytest.raises(ValueError, match="2 cells"):
        format_table(("a", "bb"), [("1",)])


def test_side_by_side_wraps_both_columns_and_flattens_control_bytes():
    text = side_by_side("one two three four five six seven eight nine ten", "a\nb\tc\x00d",
                        titles=("left", "right"), width=12, gap=3)
    lines = text.splitlines()
    assert lines[0] == "left" + " " * 11 + "right"
    assert lines[1] == "-" * 12 + "   " + "-" * 12
    assert lines[2] == "one two" + " " * 8 + "a b c d"
    assert all(len(line) <= 12 + 3 + 12 for line in lines)
    assert [line[:12].strip() for line in lines[2:]] == ["one two", "three four", "five six", "seven eight",
                                                           "nine ten"]
    assert side_by_side("", "x", width=10).splitlines() == [" " * 14 + "x"]
    with pytest.raises(ValueError):
        side_by_side("a", "b", width=5)
