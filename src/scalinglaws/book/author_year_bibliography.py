"""The bibliography page's labels in author-year form, as the chapters cite.

The chapters cite as "Hoffmann et al., 2022" (``bibtex_reference_style: author_year``), but
sphinxcontrib-bibtex labels the bibliography's entries with pybtex's alpha style unless told
otherwise, which turns ``H{\\"a}gele`` into "[HageleBK+24]" and ``Hoffmann`` into
"[HBM+22]": a reader cannot match a citation to its entry. This Sphinx extension registers a
pybtex formatting style, ``author_year``, that labels each entry the way the citations read
(one author: "Huber, 1964"; two: "Liu and Nocedal, 1989"; more: "Hoffmann et al., 2022") and
otherwise formats entries as pybtex's ``plain`` style, which shows an entry's ``eprint``
(arXiv), ``doi`` and ``url`` fields as links.

``_config.yml`` loads it (``sphinx.extra_extensions``) and selects it
(``bibtex_default_style: author_year``); it is importable because the package is installed.
"""

from __future__ import annotations

import codecs
from collections import Counter

import latexcodec  # noqa: F401  (registers the "ulatex" codec pybtex's own styles use)
import pybtex.plugin
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.labels import BaseLabelStyle

STYLE_NAME = "author_year"


def plain_surname(person) -> str:
    """A person's surname with its particles ("de Las Casas"), LaTeX accents decoded and
    protective braces dropped: ``H{\\"a}gele`` -> "Hägele", ``{K}aplan`` -> "Kaplan"."""
    latex = " ".join(person.prelast_names + person.last_names)
    return codecs.decode(latex, "ulatex").replace("{", "").replace("}", "")


def author_year_label(entry) -> str:
    """'Surname, year', 'Surname and Surname, year' or 'Surname et al., year'."""
    people = entry.persons.get("author") or entry.persons.get("editor") or []
    surnames = [plain_surname(person) for person in people]
    if not surnames:
        who = entry.fields.get("institution") or entry.fields.get("organization") or entry.key
    elif len(surnames) == 1:
        who = surnames[0]
    elif len(surnames) == 2:
        who = f"{surnames[0]} and {surnames[1]}"
    else:
        who = f"{surnames[0]} et al."
    return f"{who}, {entry.fields.get('year', 'n.d.')}"


class AuthorYearLabelStyle(BaseLabelStyle):
    """Author-year labels; two entries that would share one get "2024a", "2024b"."""

    def format_labels(self, sorted_entries):
        entries = list(sorted_entries)
        labels = [author_year_label(entry) for entry in entries]
        repeated = {label for label, count in Counter(labels).items() if count > 1}
        seen: Counter = Counter()
        for label in labels:
            if label in repeated:
                yield f"{label}{'abcdefghijklmnopqrstuvwxyz'[seen[label]]}"
                seen[label] += 1
            else:
                yield label


class AuthorYearStyle(PlainStyle):
    """pybtex's ``plain`` (sorted by author, year, title) with author-year labels."""

    default_label_style = STYLE_NAME


def setup(app):
    """Sphinx entry point: make ``author_year`` known to pybtex before any page is read."""
    # force: a second build in the same process (sphinx-autobuild, tests) registers again.
    pybtex.plugin.register_plugin("pybtex.style.labels", STYLE_NAME, AuthorYearLabelStyle, force=True)
    pybtex.plugin.register_plugin("pybtex.style.formatting", STYLE_NAME, AuthorYearStyle, force=True)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
