"""The plain-text table every chapter prints."""

import pytest

from scalinglaws.text_table import format_table


def test_format_table_aligns_columns_and_rejects_ragged_rows():
    text = format_table(("a", "bb"), [("1", "2"), ("333", "4")])
    assert text.splitlines() == ["a    bb", "---  --", "1     2", "333   4"]
    with pytest.raises(ValueError, match="2 cells"):
        format_table(("a", "bb"), [("1",)])
