"""scalinglaws.book.glue writes exactly the output myst-nb's own glue writes, so the built page
finds the value, and it needs no myst-nb in the reader's kernel."""

from __future__ import annotations

import pytest

from scalinglaws.book import glue as book_glue


def captured(function, *args):
    """The display calls ``function`` makes, as (data, metadata) pairs."""
    from IPython.core import display_functions

    calls = []
    original = display_functions.publish_display_data

    def record(data, metadata=None, **_):
        calls.append((data, metadata))

    display_functions.publish_display_data = record
    try:
        function(*args)
    finally:
        display_functions.publish_display_data = original
    return calls


def test_same_output_as_myst_nb():
    myst_nb_glue = pytest.importorskip("myst_nb").glue
    assert captured(book_glue.glue, "ch99_a", 0.512) == captured(myst_nb_glue, "ch99_a", 0.512, False)


def test_output_names_the_value_and_hides_it():
    [(data, metadata)] = captured(book_glue.glue, "ch99_n", 117)
    assert data == {"application/papermill.record/text/plain": "117"}
    assert metadata["scrapbook"] == {"name": "ch99_n", "mime_prefix": "application/papermill.record/"}


def test_bad_name_is_refused():
    with pytest.raises(ValueError, match="ch 9"):
        book_glue.glue("ch 9", 1)
