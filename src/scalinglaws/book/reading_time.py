"""How long a chapter takes to read and run: words of prose, lines of code and figures, counted.

The estimate is the one the book's chapter budget uses: 150 words of prose a minute, 6 seconds
for each line of code a reader runs, and 1 minute for each figure. Cells that exist only to test
the page (tagged ``remove-cell`` or ``hidden-check``) are not read, so they are not counted;
display equations and code blocks inside Markdown are not prose words either.

    python -m scalinglaws.book.reading_time book/*.ipynb          # a table, one row per chapter
    python -m scalinglaws.book.reading_time --write book/*.ipynb  # restate each page's reading line

The instructor page and the tests read :func:`reading_estimate`, so the times they print are
computed from the notebooks as they stand, never typed.

Running time is measured, not estimated: each chapter states it in one line under its title
("*Runtime: about 3 minutes on a 2-core laptop.*"), and the test run compares that line with the
time nbval took to run the chapter's cells (:func:`stated_runtime`, :func:`runtime_agrees`;
``tests/conftest.py``), within a factor of 2 either way.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

WORDS_PER_MINUTE = 150
SECONDS_PER_CODE_LINE = 6
MINUTES_PER_FIGURE = 1
#: Tags of code cells a reader never sees on the site.
UNREAD_TAGS = frozenset({"remove-cell", "hidden-check"})
FIGURE_TYPES = ("image/png", "image/svg+xml", "application/vnd.plotly.v1+json")

_DISPLAY_MATH = re.compile(r"\$\$.*?\$\$", re.S)
_FENCE = re.compile(r"^(```|:::)\{?(code|math)[^\n]*\n.*?^\1\s*$", re.S | re.M)
_PLAIN_FENCE = re.compile(r"^```[^\n]*\n.*?^```\s*$", re.S | re.M)
_DIRECTIVE_OPTION = re.compile(r"^:[a-z-]+:.*$", re.M)
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)
_WORD = re.compile(r"[A-Za-z0-9]+(?:['’.,-][A-Za-z0-9]+)*")


@dataclass(frozen=True)
class ReadingEstimate:
    """What a reader meets in one chapter, and the minutes it takes by the book's estimate."""

    path: str
    prose_words: int
    code_lines: int
    figures: int

    @property
    def minutes(self) -> float:
        return (self.prose_words / WORDS_PER_MINUTE + self.code_lines * SECONDS_PER_CODE_LINE / 60
                + self.figures * MINUTES_PER_FIGURE)


def prose_words(markdown: str) -> int:
    """Words of prose in one Markdown cell: display math, code blocks, directive options and
    comments taken out first."""
    text = _HTML_COMMENT.sub(" ", markdown)
    text = _DISPLAY_MATH.sub(" ", text)
    text = _FENCE.sub(" ", text)
    text = _PLAIN_FENCE.sub(" ", text)
    text = _DIRECTIVE_OPTION.sub(" ", text)
    return len(_WORD.findall(text))


def _figure_count(cell: dict) -> int:
    return sum(1 for output in cell.get("outputs", [])
               if any(kind in output.get("data", {}) for kind in FIGURE_TYPES))


def reading_estimate(path: str | Path) -> ReadingEstimate:
    """Count a notebook's prose words, read code lines and figures."""
    path = Path(path)
    try:
        notebook = json.loads(path.read_text())
        cells = notebook["cells"]
    except (OSError, ValueError, KeyError) as error:
        raise ValueError(f"{path}: not a readable notebook ({error})") from None
    return estimate_of_cells(cells, str(path))


def estimate_of_cells(cells: list[dict], name: str) -> ReadingEstimate:
    """:func:`reading_estimate` of a notebook's cells already in memory."""
    words = lines = figures = 0
    for cell in cells:
        source = "".join(cell.get("source", []))
        if cell.get("cell_type") == "markdown":
            words += prose_words(source)
        elif cell.get("cell_type") == "code":
            if UNREAD_TAGS & set(cell.get("metadata", {}).get("tags", [])):
                continue
            lines += sum(1 for line in source.splitlines() if line.strip())
            figures += _figure_count(cell)
    return ReadingEstimate(name, words, lines, figures)


_RUNTIME = re.compile(r"\*Runtime: (about|under) (a|an|\d+(?:\.\d+)?)(?: to (\d+(?:\.\d+)?))? (second|minute)s?\b")


def stated_runtime(markdown: str) -> tuple[float, float] | None:
    """The running time a chapter's runtime line states, as (low, high) seconds: "about 3 minutes"
    is (180, 180), "about 3 to 4 minutes" (180, 240), "under a minute" (0, 60); None without a line."""
    match = _RUNTIME.search(markdown)
    if match is None:
        return None
    kind, first, second, unit = match.groups()
    scale = 60.0 if unit == "minute" else 1.0
    low = (1.0 if first in ("a", "an") else float(first)) * scale
    high = float(second) * scale if second else low
    return (0.0, high) if kind == "under" else (low, high)


_READING = re.compile(r"^\*Reading time: about (\d+) minutes\.\*$", re.M)


def reading_line(estimate: ReadingEstimate) -> str:
    """The line a page states under its runtime line: its estimate in whole minutes."""
    return f"*Reading time: about {max(1, round(estimate.minutes))} minutes.*"


def stated_reading_minutes(markdown: str) -> int | None:
    """The minutes a page's reading-time line states (None without one)."""
    match = _READING.search(markdown)
    return None if match is None else int(match.group(1))


def book_notebooks(toc: str | Path) -> list[Path]:
    """The notebooks a Jupyter Book table of contents (``_toc.yml``) lists, in its order, as paths
    beside it; pages that are not notebooks (``.md``) are left out."""
    toc = Path(toc)
    names = re.findall(r"file: (\S+)", toc.read_text())
    return [path for path in (toc.parent / f"{name}.ipynb" for name in names) if path.exists()]


def runtime_label(stated: tuple[float, float] | None) -> str:
    """A stated runtime (:func:`stated_runtime`) in a table's few characters: "< 1 min", "2-4 min"."""
    if stated is None:
        return "-"
    low, high = stated
    if low == 0:
        return f"< {high / 60:.0f} min" if high >= 60 else f"< {high:.0f} s"
    return f"{low / 60:.0f}-{high / 60:.0f} min" if high > low else f"{high / 60:.0f} min"


def runtime_agrees(stated: tuple[float, float], measured_s: float, factor: float = 2.0) -> bool:
    """Whether ``measured_s`` is within ``factor`` of the stated range (an "under" line: only above).
    Runs shorter than 10 s agree with any line of 10 s or less: kernel start-up dominates them."""
    low, high = stated
    if measured_s <= 10.0 and high <= 10.0:
        return True
    return low / factor <= measured_s <= high * factor


def write_reading_line(path: str | Path) -> bool:
    """Put the page's reading-time line (:func:`reading_line`) in its title cell, under the runtime
    line (or the title), replacing an old one; True if the file changed. Outputs are untouched.
    The line has the same words whatever its number, so the page is estimated with it in place."""
    path = Path(path)
    original = path.read_text()
    notebook = json.loads(original)
    title = notebook["cells"][0]
    lines = _READING.sub("", "".join(title["source"])).replace("\n\n\n", "\n\n").split("\n")
    at = next((i for i, line in enumerate(lines) if line.startswith("*Runtime:")), 0) + 1
    lines.insert(at, reading_line(ReadingEstimate("", 0, 0, 0)))
    title["source"] = "\n".join(lines).splitlines(True)
    lines[at] = reading_line(estimate_of_cells(notebook["cells"], str(path)))
    title["source"] = "\n".join(lines).splitlines(True)
    new = json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"
    if new != original:
        path.write_text(new)
    return new != original


def main(argv: list[str]) -> int:
    if argv and argv[0] == "--write":
        for name in argv[1:]:
            write_reading_line(name)
            print(f"{name}: {reading_line(reading_estimate(name))}")
        return 0
    if not argv:
        print(__doc__.strip().splitlines()[0])
        print("usage: python -m scalinglaws.book.reading_time NOTEBOOK [NOTEBOOK ...]", file=sys.stderr)
        return 2
    print(f"{'chapter':<48} {'words':>6} {'code':>5} {'figs':>4} {'minutes':>7}")
    try:
        for name in argv:
            e = reading_estimate(name)
            print(f"{Path(e.path).name:<48} {e.prose_words:>6} {e.code_lines:>5} {e.figures:>4} {e.minutes:>7.0f}")
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
