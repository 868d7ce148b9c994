"""The book's prose, checked on the sources (no build).

- **No project-process words.** A result is compared with the papers' numbers and with its
  own uncertainty, never graded against a goal: no markdown cell of a chapter, nor any page
  ``book/*.md``, speaks of issues, reviewers, goals, targets, verdicts or aims
  (:data:`PROCESS_WORDS`), except in the phrases of :data:`ALLOWED` ("target loss", a real
  quantity of chapter 15).
- **Terms are linked where they are first used.** Every term of the glossary
  (``book/glossary.md``) that a chapter's prose uses is, at its first use in that chapter,
  either linked with ``{term}`` or defined there in bold (``**IsoFLOP profile**``).
- **Every ``{term}`` reference names a glossary term** (Sphinx would warn, too, but only on a
  full build).

"Prose" is the markdown a reader reads as text: not code (fenced, indented or inline), math,
headings, quotations (the papers' words, in a blockquote or in double quotes), links, directive
lines (exercise and admonition titles, options) or the runtime line under a chapter's title
(:func:`prose_mask`). A term is
"used" where one of its names occurs, in any case, with a plural ``s`` or ``es``, and not as
part of a longer name of another term ("seed" inside "seed mean").
"""

from __future__ import annotations

import bisect
import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BOOK = REPO / "book"
GLOSSARY = BOOK / "glossary.md"
CHAPTERS = sorted(BOOK.glob("*.ipynb"))
PAGES = sorted(BOOK.glob("*.md"))

#: Words that speak of the project rather than of the science: its issues, its reviewers, the
#: goals and targets set for a result, the verdict against them, and "the band" of such a goal.
PROCESS_WORDS = re.compile(
    r"\b(?:issues?|reviewers?|goals?|targets?|verdicts?|aim(?:s|ed)?|the band|tolerance set|set itself)\b",
    re.IGNORECASE)
#: Legitimate phrases that contain a process word: a target loss is a quantity (chapter 15's
#: inference-aware scaling asks for the cheapest model that reaches one).
ALLOWED = re.compile(r"\btarget loss(?:es)?\b|\bloss target\b", re.IGNORECASE)

FENCE = re.compile(r"^\s*(`{3,}|~{3,}|:{3,})(.*)$")
OPTION = re.compile(r"^\s*:[\w-]+:")
HEADING = re.compile(r"^\s{0,3}#{1,6}\s")
BLOCKQUOTE = re.compile(r"^\s{0,3}>")
RUNTIME = re.compile(r"^\*Run(?:time:|s in)")
DISPLAY_MATH = re.compile(r"\$\$.*?\$\$", re.DOTALL)
ROLE = re.compile(r"\{([\w:.-]+)\}`([^`]*)`")
INLINE_CODE = re.compile(r"(`+)(?!`)(?:[^\n]|\n(?!\s*\n))*?(?<!`)\1(?!`)")
INLINE_MATH = re.compile(r"(?<![\\$])\$(?!\$)(?:[^$\n]|\n(?!\s*\n))+?(?<!\\)\$")
LINK = re.compile(r"!?\[[^\]\n]*\]\([^)\n]*\)")
BOLD = re.compile(r"\*\*([^*\n]+?)\*\*")
QUOTE = re.compile(r'"(?:[^"\n]|\n(?!\s*\n))*?"')
TERM_TARGET = re.compile(r"^(?P<text>.*?)\s*<(?P<target>[^<>]+)>\s*$", re.DOTALL)


def _blank(text: str, start: int, end: int) -> str:
    """``text`` with ``[start, end)`` replaced by spaces, line breaks kept, so offsets stay put."""
    return text[:start] + re.sub(r"[^\n]", " ", text[start:end]) + text[end:]


def _mask_lines(text: str, *, for_terms: bool) -> str:
    """Blank the lines that are not prose: code blocks (fenced or indented), directive options
    and, for the term check, directive lines, headings, blockquotes and the runtime line."""
    lines = text.split("\n")
    out = []
    stack: list[tuple[str, str]] = []  # open fences: (fence, "code" | "directive")
    in_options = False
    previous_blank = True
    in_indented_code = False
    in_runtime = False  # the runtime paragraph under a chapter's title, which may wrap
    for line in lines:
        blank = not line.strip()
        fence = FENCE.match(line)
        masked = False
        if stack and stack[-1][1] == "code":
            masked = True
            if fence and fence.group(1)[0] == stack[-1][0][0] and len(fence.group(1)) >= len(stack[-1][0]) \
                    and not fence.group(2).strip():
                stack.pop()
        elif fence:
            masked = True
            marks, rest = fence.group(1), fence.group(2).strip()
            if not rest and stack and stack[-1][0][0] == marks[0] and len(marks) >= len(stack[-1][0]):
                stack.pop()  # closes a directive
            elif rest.startswith("{") and not re.match(r"\{(?:code|code-block|code-cell|math)\}", rest):
                stack.append((marks, "directive"))
                in_options = True
                # a title is read, but is no place for a link; a solution's argument is a label
                masked = for_terms or rest.startswith("{solution")
                if not masked:  # keep the title alone, without the fence and the directive's name
                    title_at = line.index("}") + 1
                    line = " " * title_at + line[title_at:]
            else:
                stack.append((marks, "code"))
        elif in_options and OPTION.match(line):
            masked = True
        elif line.startswith("    ") and not blank and (previous_blank or in_indented_code) and not stack:
            masked = in_indented_code = True
        elif for_terms and (HEADING.match(line) or BLOCKQUOTE.match(line) or RUNTIME.match(line) or in_runtime):
            masked = True
            in_runtime = not blank and (in_runtime or bool(RUNTIME.match(line)))
        if not fence and not (in_options and OPTION.match(line)):
            in_options = False
        if not line.startswith("    ") and not blank:
            in_indented_code = False
        previous_blank = blank
        out.append(re.sub(r"[^\n]", " ", line) if masked else line)
    return "\n".join(out)


def prose_mask(text: str, names: dict[str, int] | None = None, *, for_terms: bool = True):
    """The prose of one markdown cell or page: ``text`` with everything that is not prose
    blanked (same length, same offsets), the ``{term}`` references found in it as
    ``(start, end, target)``, and the bold definitions of glossary names (``names``: lower-case
    name -> entry) as ``(start, end, entry)``. With ``for_terms=False`` headings, blockquotes,
    directive titles... are kept, for the check of process words (a title is read too)."""
    masked = _mask_lines(text, for_terms=for_terms)
    roles: list[tuple[int, int, str]] = []
    defined: list[tuple[int, int, int]] = []
    for match in DISPLAY_MATH.finditer(masked):
        masked = _blank(masked, match.start(), match.end())
    for match in ROLE.finditer(masked):
        if match.group(1) == "term":
            content = match.group(2)
            target = TERM_TARGET.match(content)
            roles.append((match.start(), match.end(), (target.group("target") if target else content).strip()))
            if not for_terms:  # the link's text is read; its target is a glossary name
                masked = _blank(masked, match.start(), match.start() + len("{term}`"))
                if target:
                    masked = _blank(masked, match.start() + len("{term}`") + len(target.group("text")), match.end())
                else:
                    masked = _blank(masked, match.end() - 1, match.end())
                continue
        masked = _blank(masked, match.start(), match.end())
    for pattern in (INLINE_CODE, INLINE_MATH):
        for match in pattern.finditer(masked):
            masked = _blank(masked, match.start(), match.end())
    for match in LINK.finditer(masked):
        if for_terms:
            masked = _blank(masked, match.start(), match.end())
        else:  # the link's text is read, its address is not
            masked = _blank(masked, match.start() + match.group(0).index("]("), match.end())
    if for_terms:  # a quotation is the papers' words, not a place for a link
        for match in QUOTE.finditer(masked):
            masked = _blank(masked, match.start(), match.end())
    if for_terms and names:
        for match in BOLD.finditer(masked):
            inner = re.sub(r"(?:es|s)$", "", match.group(1).strip().lower())
            entry = names.get(match.group(1).strip().lower(), names.get(inner))
            if entry is not None:
                defined.append((match.start(), match.end(), entry))
                masked = _blank(masked, match.start(), match.end())
    return masked, roles, defined


def process_word_hits(text: str) -> list[str]:
    """The process words in the prose of ``text``, each with its context, minus :data:`ALLOWED`."""
    masked, _, _ = prose_mask(text, for_terms=False)
    allowed = [range(m.start(), m.end()) for m in ALLOWED.finditer(masked)]
    hits = []
    for match in PROCESS_WORDS.finditer(masked):
        if any(match.start() in span for span in allowed):
            continue
        start, end = max(0, match.start() - 60), min(len(masked), match.end() + 60)
        hits.append(" ".join(masked[start:end].split()))
    return hits


def glossary_entries(path: Path = GLOSSARY) -> list[tuple[str, ...]]:
    """The entries of the page's ``{glossary}`` directive, each as the tuple of its term names
    (a term line, or several for one definition), in the order written."""
    text = path.read_text()
    body = re.search(r"^```\{glossary\}[^\n]*\n(.*?)^```\s*$", text, re.MULTILINE | re.DOTALL)
    assert body, f"{path.name}: no ```{{glossary}} directive"
    entries: list[list[str]] = []
    previous_was_term = False
    for line in body.group(1).split("\n"):
        if not line.strip() or OPTION.match(line):
            previous_was_term = False
            continue
        if line[0].isspace():  # a definition line
            previous_was_term = False
            continue
        if previous_was_term:
            entries[-1].append(line.strip())
        else:
            entries.append([line.strip()])
        previous_was_term = True
    return [tuple(names) for names in entries]


def name_index(entries: list[tuple[str, ...]]) -> dict[str, int]:
    """Lower-case term name -> its entry."""
    return {name.lower(): number for number, names in enumerate(entries) for name in names}


def _name_patterns(entries):
    return [(number, re.compile(r"(?<![\w-])" + r"\s+".join(map(re.escape, name.split())) + r"(?:s|es)?(?![\w-])",
                                re.IGNORECASE))
            for number, names in enumerate(entries) for name in names]


def term_uses(cells: list[str], entries: list[tuple[str, ...]]):
    """Every use of a glossary entry in the prose of ``cells``, in reading order:
    ``(cell, start, end, entry, kind)`` with kind "link" (a ``{term}`` reference), "defined"
    (a bold name) or "plain". Unknown ``{term}`` targets are left out (see
    :func:`unknown_terms`)."""
    names = name_index(entries)
    patterns = _name_patterns(entries)
    uses = []
    for cell, text in enumerate(cells):
        masked, roles, defined = prose_mask(text, names)
        plain = [(m.start(), m.end(), number) for number, pattern in patterns for m in pattern.finditer(masked)]
        plain.sort()
        starts = [start for start, _, _ in plain]
        longest = max((end - start for start, end, _ in plain), default=0)
        for start, end, number in plain:
            # a name inside a longer name of another entry ("seed" in "seed mean") is that entry's use
            low = bisect.bisect_left(starts, start - longest)
            inside = any(other != number and o_start <= start and end <= o_end and o_end - o_start > end - start
                         for o_start, o_end, other in plain[low:bisect.bisect_right(starts, start)])
            if not inside:
                uses.append((cell, start, end, number, "plain"))
        uses += [(cell, start, end, names[target.lower()], "link")
                 for start, end, target in roles if target.lower() in names]
        uses += [(cell, start, end, number, "defined") for start, end, number in defined]
    return sorted(uses)


def first_use_problems(cells: list[str], entries: list[tuple[str, ...]]) -> list[str]:
    """The entries whose first use in ``cells`` is neither linked nor a bold definition."""
    seen: set[int] = set()
    problems = []
    for cell, start, end, number, kind in term_uses(cells, entries):
        if number in seen:
            continue
        seen.add(number)
        if kind == "plain":
            text = cells[cell]
            context = " ".join(text[max(0, start - 50):end + 50].split())
            problems.append(f"{entries[number][0]!r} first used unlinked in cell {cell}: ...{context}...")
    return problems


def unknown_terms(text: str, entries: list[tuple[str, ...]]) -> list[str]:
    """The targets of ``{term}`` references in ``text`` that the glossary does not define."""
    names = name_index(entries)
    _, roles, _ = prose_mask(text)
    return [target for _, _, target in roles if target.lower() not in names]


def markdown_cells(path: Path) -> list[str]:
    """The sources of a notebook's markdown cells, or a page's text as one cell."""
    if path.suffix == ".md":
        return [path.read_text()]
    return ["".join(cell["source"]) for cell in json.loads(path.read_text())["cells"]
            if cell["cell_type"] == "markdown"]


ENTRIES = glossary_entries()


def test_glossary_has_entries_and_no_duplicate_names():
    names = [name.lower() for entry in ENTRIES for name in entry]
    assert len(ENTRIES) >= 30
    assert len(names) == len(set(names)), sorted({name for name in names if names.count(name) > 1})
    for required in ("IsoFLOP profile", "trunk", "reference sweep", "twin", "ladder table", "seed mean",
                     "warmup-stable-decay", "head-16 ladder", "consensus", "cooldown branch", "IsoFLOP window"):
        assert required.lower() in names, required


def test_glossary_is_back_matter():
    toc = (REPO / "_toc.yml").read_text()
    back = toc[toc.index('caption: "Back matter"'):]
    assert "file: book/glossary" in back


@pytest.mark.parametrize("path", CHAPTERS + PAGES, ids=lambda path: path.name)
def test_no_process_words(path):
    hits = [f"markdown cell {number}: {hit}" for number, text in enumerate(markdown_cells(path))
            for hit in process_word_hits(text)]
    assert not hits, (f"{path.name} speaks of the project's issues, goals or targets; compare a result "
                      "with the papers' numbers and its own uncertainty instead:\n" + "\n".join(hits))


def shown_text_of_code_cells(path: Path) -> list[tuple[int, str]]:
    """What a reader sees of each code cell besides its code: printed text, figure captions and
    alt texts (stored in the cell's metadata), and text/plain results."""
    shown = []
    for number, cell in enumerate(json.loads(path.read_text())["cells"]):
        if cell["cell_type"] != "code":
            continue
        figure = cell.get("metadata", {}).get("mystnb", {})
        parts = [figure.get("figure", {}).get("caption", ""), figure.get("image", {}).get("alt", "")]
        for output in cell.get("outputs", []):
            text = output.get("text", output.get("data", {}).get("text/plain", ""))
            parts.append(text if isinstance(text, str) else "".join(text))
        shown.append((number, "\n".join(parts)))
    return shown


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda path: path.name)
def test_no_process_words_in_outputs_or_captions(path):
    """Printed results, captions and alt texts compare with the papers too (the code that makes them
    may name a variable `target` for a target loss: only what is shown is checked)."""
    hits = [f"code cell {number}: {' '.join(text[max(0, m.start() - 60):m.end() + 40].split())}"
            for number, text in shown_text_of_code_cells(path) for m in PROCESS_WORDS.finditer(text)
            if not ALLOWED.search(text[max(0, m.start() - 20):m.end() + 20])]
    assert not hits, f"{path.name} shows process words:\n" + "\n".join(hits)


def test_process_words_in_outputs_are_caught(tmp_path):
    """The words chapter 12 once printed and shaded are caught in an output and in a caption."""
    cell = {"cell_type": "code", "source": [], "outputs": [{"output_type": "stream", "name": "stdout",
            "text": ["inside the target 0.50 +- 0.10: False\n"]}],
            "metadata": {"mystnb": {"figure": {"caption": "with the book's target (shaded)"}}}}
    path = tmp_path / "page.ipynb"
    path.write_text(json.dumps({"cells": [cell]}))
    with pytest.raises(AssertionError, match="inside the target"):
        test_no_process_words_in_outputs_or_captions(path)


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda path: path.name)
def test_terms_linked_at_first_use(path):
    problems = first_use_problems(markdown_cells(path), ENTRIES)
    assert not problems, (f"{path.name}: link each glossary term at its first use, "
                          "e.g. {term}`trunk` or {term}`trunks <trunk>`:\n" + "\n".join(problems))


@pytest.mark.parametrize("path", CHAPTERS + PAGES, ids=lambda path: path.name)
def test_term_references_exist(path):
    unknown = [target for text in markdown_cells(path) for target in unknown_terms(text, ENTRIES)]
    assert not unknown, f"{path.name}: {{term}} references to terms the glossary lacks: {unknown}"


# The rules themselves, on prose written to break them: each must be able to fail.

QUOTED_PROCESS_SENTENCES = [
    "The reference goal (issue 13) is tighter: each $a$ within $0.50 \\pm 0.05$.",
    "Issue 13 set the reference sweep a goal: each approach's $a$ within $0.50 \\pm 0.05$.",
    "**The verdict, against the goal.** The issue set two goals: the optimum's loss within 0.02.",
    "It changes what the `cpu` sweep got wrong, one point for each thing a reviewer measured:",
    "each fit option is a rule the issue behind this sweep asked for (seed means, finished runs)",
    "The figure shades the target 0.50 +- 0.10.",
    "Approach 3, at 0.675, misses the band by 0.125.",
    "## The verdict",
    "```{exercise} A modest target\n:label: ex-x\n\nText.\n```",
]


@pytest.mark.parametrize("sentence", QUOTED_PROCESS_SENTENCES)
def test_process_words_are_caught(sentence):
    assert process_word_hits(sentence)


def test_allowed_phrases_and_code_pass():
    assert not process_word_hits("the cheapest model that reaches a target loss $L^*$")
    assert not process_word_hits("for the Chinchilla-loss target, find the number of served tokens")
    assert not process_word_hits("call `tokens_for_loss(fit, n, target)` and\n\n~~~python\ntarget = 1\n~~~\n")
    assert not process_word_hits("see {ref}`ch6-ex-modest-target`")


TOY_ENTRIES = [("trunk",), ("seed",), ("seed mean",), ("warmup-stable-decay", "WSD"), ("IsoFLOP profile",)]


def test_first_use_must_be_linked():
    assert first_use_problems(["Each trunk is one run.", "A {term}`trunk` is shared."], TOY_ENTRIES)
    assert first_use_problems(["A WSD run, then a {term}`warmup-stable-decay` one."], TOY_ENTRIES)
    assert first_use_problems(["Three seeds, then {term}`seed means <seed mean>`."], TOY_ENTRIES)


def test_first_use_linked_or_defined_passes():
    assert not first_use_problems(["Each {term}`trunk` is one run.", "The trunk again."], TOY_ENTRIES)
    assert not first_use_problems(["A {term}`WSD schedule <warmup-stable-decay>`, then WSD again."], TOY_ENTRIES)
    assert not first_use_problems(["Their **IsoFLOP profile** is a valley; each IsoFLOP profile..."], TOY_ENTRIES)
    # a name inside a longer one is the longer term's use; code, math, headings and links are not prose
    assert not first_use_problems(["{term}`Seed means <seed mean>` of `trunk` and $seed$.\n\n"
                                   "## The trunk\n\n[a trunk](x.md)\n\n> a seed, quoted\n"], TOY_ENTRIES)


def test_unknown_term_references_are_caught():
    assert unknown_terms("a {term}`trunk` and a {term}`branch <cooldown twig>`", TOY_ENTRIES) == ["cooldown twig"]
    assert not unknown_terms("{term}`WSD`, {term}`Trunks <trunk>`", TOY_ENTRIES)


def test_glossary_parser_groups_names_of_one_definition(tmp_path):
    page = tmp_path / "glossary.md"
    page.write_text("# G\n\n```{glossary}\n:sorted:\n\nwarmup-stable-decay\nWSD\n  A schedule.\n\n"
                    "trunk\n  A run,\n  continued.\n```\n")
    assert glossary_entries(page) == [("warmup-stable-decay", "WSD"), ("trunk",)]
