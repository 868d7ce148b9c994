"""The reading-time estimate (scalinglaws.book.reading_time) on notebooks whose counts are known,
and the shape every core chapter of part II keeps: a key idea on its first screen, a one-line
runtime note, at most about 2,500 words of prose and 35 minutes by the estimate."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from scalinglaws.book import reading_time
from scalinglaws.book.reading_time import ReadingEstimate, prose_words, reading_estimate

REPO = Path(__file__).resolve().parents[1]
TOC = (REPO / "_toc.yml").read_text()


def notebook(tmp_path: Path, cells: list[dict]) -> Path:
    path = tmp_path / "page.ipynb"
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    return path


def markdown(text: str) -> dict:
    return {"cell_type": "markdown", "metadata": {}, "source": [text]}


def code(text: str, tags=(), outputs=()) -> dict:
    return {"cell_type": "code", "metadata": {"tags": list(tags)}, "source": [text], "outputs": list(outputs),
            "execution_count": None}


def test_prose_words_leave_out_math_code_options_and_comments():
    text = ("# The title\n\nThree plain words. It's 6ND, 1.5e12.\n\n$$\nC = 6 N D\n$$\n\n"
            "```python\nx = 1\n```\n\n:::{admonition} Key idea\n:class: important\n\nTwo words.\n:::\n"
            "<!-- not read -->")
    # The title(2) Three plain words(3) It's 6ND 1.5e12(3) admonition Key idea(3, the directive line)
    # Two words(2): 13
    assert prose_words(text) == 13


def test_estimate_counts_words_code_lines_and_figures(tmp_path):
    words = " ".join(["word"] * 300)
    figure = {"output_type": "display_data", "data": {"image/png": "AAAA", "text/plain": "<Figure>"}, "metadata": {}}
    path = notebook(tmp_path, [
        markdown(words),
        code("a = 1\n\nb = 2\nprint(a + b)\n", outputs=[figure]),
        code("assert a == 1\n" * 10, tags=["hidden-check"]),
        code("import x\n", tags=["remove-cell"]),
    ])
    estimate = reading_estimate(path)
    assert estimate == ReadingEstimate(str(path), prose_words=300, code_lines=3, figures=1)
    # 300 words at 150 a minute, 3 lines at 6 s, 1 figure at 1 minute.
    assert estimate.minutes == pytest.approx(2 + 0.3 + 1)


def test_unreadable_notebook_is_named(tmp_path, capsys):
    bad = tmp_path / "broken.ipynb"
    bad.write_text("{ not json")
    with pytest.raises(ValueError, match="broken.ipynb"):
        reading_estimate(bad)
    assert reading_time.main([str(bad)]) == 1
    assert "broken.ipynb" in capsys.readouterr().err


def part_ii_core() -> list[Path]:
    """The chapters of part II's core, in the order of the table of contents."""
    part = TOC[TOC.index('caption: "Part II'):]
    part = part[:part.index("- caption:")] if "- caption:" in part else part
    return [REPO / f"{name}.ipynb" for name in re.findall(r"file: (book/\S+)", part)]


CORE = part_ii_core()
#: The budget of a core chapter: words of prose, and minutes by the book's estimate.
CORE_WORDS, CORE_MINUTES = 2500, 35


def test_part_ii_core_is_listed():
    assert len(CORE) >= 7 and all(path.exists() for path in CORE), CORE


@pytest.mark.parametrize("path", CORE, ids=lambda path: path.name)
def test_core_chapter_fits_its_budget(path):
    estimate = reading_estimate(path)
    assert estimate.prose_words <= CORE_WORDS and estimate.minutes <= CORE_MINUTES, (
        f"{path.name}: {estimate.prose_words} words of prose, {estimate.code_lines} lines of code and "
        f"{estimate.figures} figures, {estimate.minutes:.0f} minutes; a core chapter keeps to "
        f"{CORE_WORDS} words and {CORE_MINUTES} minutes: move lab details to an appendix")


KEY_IDEA = re.compile(r"^:::\{admonition\} Key idea\n:class: important\n", re.M)
RUNTIME_LINE = re.compile(r"^\*Runtime: [^*\n]+\.\*$", re.M)


@pytest.mark.parametrize("path", CORE, ids=lambda path: path.name)
def test_core_chapter_opens_with_its_key_idea_and_a_one_line_runtime(path):
    cells = json.loads(path.read_text())["cells"]
    first_screen = [("".join(cell["source"])) for cell in cells[:3] if cell["cell_type"] == "markdown"]
    assert any(KEY_IDEA.search(text) for text in first_screen), (
        f"{path.name}: no 'Key idea' admonition in its first three cells")
    runtime = RUNTIME_LINE.findall(first_screen[0])
    assert len(runtime) == 1 and len(runtime[0].split()) <= 14, (
        f"{path.name}: the title cell needs one short runtime line ('*Runtime: about N minutes on a 2-core "
        f"laptop.*'), found {runtime}")


@pytest.mark.parametrize("line, expected", [
    ("*Runtime: about 3 minutes on a 2-core laptop.*", (180.0, 180.0)),
    ("*Runtime: about 3 to 4 minutes on a 2-core laptop.*", (180.0, 240.0)),
    ("*Runtime: under a minute on a 2-core laptop.*", (0.0, 60.0)),
    ("*Runtime: under 5 seconds on a 2-core laptop.*", (0.0, 5.0)),
    ("*Runtime: about 1.5 minutes on a 2-core laptop.*", (90.0, 90.0)),
    ("No runtime line here.", None),
])
def test_stated_runtime_is_read_in_seconds(line, expected):
    assert reading_time.stated_runtime(f"# Title\n\n{line}\n") == expected


def test_runtime_agrees_within_a_factor_of_2():
    about_3 = (180.0, 180.0)
    assert reading_time.runtime_agrees(about_3, 90.0) and reading_time.runtime_agrees(about_3, 360.0)
    assert not reading_time.runtime_agrees(about_3, 89.0) and not reading_time.runtime_agrees(about_3, 361.0)
    under_a_minute = (0.0, 60.0)
    assert reading_time.runtime_agrees(under_a_minute, 1.0) and not reading_time.runtime_agrees(under_a_minute, 121.0)
    assert reading_time.runtime_agrees((0.0, 5.0), 9.0)  # start-up dominates a few seconds
    assert not reading_time.runtime_agrees((0.0, 5.0), 11.0)


def book_pages() -> list[Path]:
    """Every notebook the table of contents lists."""
    return reading_time.book_notebooks(REPO / "_toc.yml")


@pytest.mark.parametrize("path", book_pages(), ids=lambda path: path.name)
def test_each_page_states_its_reading_time_as_computed(path):
    """The reading-time line under the title is the estimate of the page as it stands, give or take
    a minute (the line's own words change the estimate): edit a page, then rerun
    ``python -m scalinglaws.book.reading_time --write`` to restate it."""
    title = "".join(json.loads(path.read_text())["cells"][0]["source"])
    stated = reading_time.stated_reading_minutes(title)
    estimate = reading_estimate(path).minutes
    assert stated is not None, f"{path.name}: no '*Reading time: about N minutes.*' line under its title"
    assert abs(stated - estimate) <= 1, f"{path.name} states {stated} minutes of reading; its estimate is {estimate:.1f}"


def test_reading_line_rounds_to_whole_minutes():
    assert reading_time.reading_line(ReadingEstimate("x", 300, 0, 0)) == "*Reading time: about 2 minutes.*"
    assert reading_time.stated_reading_minutes("# T\n\n*Reading time: about 31 minutes.*\n") == 31
    assert reading_time.stated_reading_minutes("# T\n") is None


def test_runtime_label_prints_the_stated_range():
    assert [reading_time.runtime_label(s) for s in (None, (0.0, 60.0), (0.0, 5.0), (120.0, 240.0), (180.0, 180.0))] \
        == ["-", "< 1 min", "< 5 s", "2-4 min", "3 min"]
