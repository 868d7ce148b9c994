"""Eq. 2 fits as tables, checked against the papers' printed numbers."""

from scalinglaws.papers import constants as k
from scalinglaws.papers import tables


def test_table_2_lists_the_paper_and_the_implied_exponents():
    text = tables.format_table_2([k.CHINCHILLA_UNROUNDED])
    assert "(0.454-0.455)" in text
    assert "0.457" in text  # a = beta / (alpha + beta) of the unrounded fit


def test_fits_table_shows_coefficients_and_the_exponents_they_imply():
    text = tables.format_fits([k.CHINCHILLA_PRINTED, k.BESIROGLU_REFIT])
    header, _, printed, besiroglu = text.splitlines()
    assert header.split() == ["fit", "E", "A", "B", "alpha", "beta", "a", "b"]
    assert printed.split() == ["chinchilla", "1.6900", "406.4", "410.7", "0.3400", "0.2800", "0.452", "0.548"]
    assert besiroglu.split()[-2:] == ["0.513", "0.487"]  # Besiroglu et al.'s a = 0.513


def test_losses_table_shows_the_papers_numbers():
    text = tables.format_losses([k.CHINCHILLA_UNROUNDED], [k.GOPHER, k.CHINCHILLA])
    assert "1.967" in text and "1.921" in text
    assert "5.04e+23" in text and "5.88e+23" in text


class FixedIntervals:
    """A stand-in bootstrap whose intervals are known."""

    def interval(self, name, percentiles):
        return {"a": (0.49, 0.53), "E": (1.7, 1.9), "B": (1523.4, 4117.9)}[name]


def test_format_intervals_sets_the_refit_against_both_papers():
    text = tables.format_intervals(k.BESIROGLU_REFIT, FixedIntervals(), names=("E", "B", "a"))
    e_row, b_row, a_row = text.splitlines()[2:]
    assert b_row.split() == ["B", "2085", "1520-4120", "2085", "1042-5810", "410.7"]
    assert e_row.split() == ["E", "1.817", "1.7-1.9", "1.817", "1.769-1.871", "1.693"]
    assert a_row.split() == ["a", "0.5126", "0.49-0.53", "0.5126", "0.4565", "0.454-0.455"]
