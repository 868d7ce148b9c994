"""The student edition: every exercise, no solution, by any route a student can take.

A solution is found here independently of ``scalinglaws.book.student_edition``: as the text from
a line ```` ```{solution} ```` to the next line that closes the fence, which is how every
chapter writes them. Its fingerprints are the runs of plain words on its lines (no TeX,
code or markup), which survive rendering to HTML and JSON unchanged. The teacher's build
must contain every fingerprint (so the search can find them) and the student's none: not
its pages, page sources, downloads, search index, nor any other file `make student` writes,
nor the tree its launch buttons open.

The two sites are built once per module (about 15 s each when nothing else runs): the
student's by the Makefile's own ``student`` recipe, into a temporary directory.
"""

from __future__ import annotations

import ast
import html.parser
import json
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from scalinglaws.book import student_edition

REPO = Path(__file__).resolve().parents[1]
CONFIG = yaml.safe_load((REPO / "_config.yml").read_text())
VENV = Path(sys.executable).parents[1]
#: Every notebook of the book; the chapters (numbered, each with exercises and solutions) among them.
#: Appendices and the quickstart have no exercises, but their hidden checks are left out all the same.
NOTEBOOKS = sorted((REPO / "book").glob("*.ipynb"))
CHAPTERS = sorted((REPO / "book").glob("[0-9][0-9]_*.ipynb"))
EXTENSIONS = CONFIG["parse"]["myst_enable_extensions"]

SOLUTION_BLOCK = re.compile(r"^```\{solution\}.*?^```[ \t]*$\n?", re.MULTILINE | re.DOTALL)
EXERCISE_LABEL = re.compile(r"^```\{exercise\}[^\n]*\n:label: (\S+)", re.MULTILINE)
PLAIN_RUN = re.compile(r"[A-Za-z0-9 ,.:;%()]+")
# Markup between which plain words survive: math, inline code, bold, links, list markers.
MARKUP = re.compile(r"\$[^$]*\$|`[^`]*`|\*\*|\[[^\]]*\]\([^)]*\)|^\s*(?:\d+\.|[-*+])\s")
# Marks of a solution directive or its HTML, whichever file they are in.
SOLUTION_MARKS = ("{solution", 'class="solution', "solution-start", "solution-end")


def markdown_of(path: Path) -> str:
    cells = json.loads(path.read_text())["cells"]
    return "\n\n".join("".join(cell["source"]) for cell in cells if cell["cell_type"] == "markdown")


def solutions_of(path: Path) -> list[str]:
    return SOLUTION_BLOCK.findall(markdown_of(path))


def fingerprints(solution: str) -> list[str]:
    """The runs of at least four plain words on a solution's prose lines (not its options,
    nor its code, which a rendered page splits into highlighted tokens)."""
    runs, in_code = [], False
    for line in solution.splitlines()[1:]:
        if line.startswith(("~~~", "````")):
            in_code = not in_code
        if in_code or line.startswith((":", "~~~", "````")):
            continue
        for run in MARKUP.split(line):
            run = run.strip(" ,.;:")
            if PLAIN_RUN.fullmatch(run) and ".." not in run and len(run.split()) >= 4:
                runs.append(run)
    return runs


def solution_fingerprints() -> dict[str, list[str]]:
    """chapter -> fingerprints of its solutions, leaving out any run found elsewhere in a
    chapter (prose, code, outputs)."""
    rest = []
    for path in CHAPTERS:
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] == "markdown":
                cell = {**cell, "source": SOLUTION_BLOCK.sub("", "".join(cell["source"]))}
            rest.append(json.dumps(cell, ensure_ascii=False))
    prose = "\n".join(rest)
    found = {}
    for path in CHAPTERS:
        for number, solution in enumerate(solutions_of(path)):
            runs = [run for run in fingerprints(solution) if run not in prose]
            assert runs, f"{path.name}, solution {number}: no plain words to look for; the test would miss it"
            found.setdefault(path.stem, []).extend(runs)
    return found


FINGERPRINTS = solution_fingerprints()


def leaks(directory: Path) -> list[str]:
    """Every file under ``directory`` that holds a solution's fingerprint or mark."""
    needles = [run for runs in FINGERPRINTS.values() for run in runs] + list(SOLUTION_MARKS)
    found = []
    for path in sorted(directory.rglob("*")):
        if path.is_file():
            text = path.read_bytes().decode("utf-8", errors="replace")
            found += [f"{path.relative_to(directory)}: {needle!r}" for needle in needles if needle in text]
    return found


@pytest.fixture(scope="module")
def student(tmp_path_factory) -> Path:
    """`make student` into a temporary directory (its prerequisite, the installed venv, assumed)."""
    out = tmp_path_factory.mktemp("student")
    result = subprocess.run(
        ["make", "-o", f"{VENV}/installed.stamp", "student", f"VENV={VENV}", f"STUDENT={out}"],
        cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, f"make student failed:\n{result.stdout[-6000:]}\n{result.stderr[-3000:]}"
    return out


# --- the notebooks -------------------------------------------------------------------


def test_the_chapters_have_solutions_to_remove():
    assert all(solutions_of(path) for path in CHAPTERS), "a chapter without solutions: nothing to check"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda path: path.name)
def test_a_chapter_keeps_every_exercise_and_loses_every_solution(path):
    teacher = json.loads(path.read_text())
    student = student_edition.remove_solutions(teacher, EXTENSIONS, path.name)
    student_text = json.dumps(student, ensure_ascii=False)
    assert EXERCISE_LABEL.findall(markdown_of(path)), f"{path.name} has no exercises"
    assert EXERCISE_LABEL.findall("\n\n".join(
        "".join(cell["source"]) for cell in student["cells"] if cell["cell_type"] == "markdown")) \
        == EXERCISE_LABEL.findall(markdown_of(path))
    assert not [mark for mark in SOLUTION_MARKS if mark in student_text]
    assert not [run for run in FINGERPRINTS[path.stem] if run in student_text]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda path: path.name)
def test_a_chapter_changes_nowhere_else(path):
    """Cells without solutions are kept as they are (outputs, ids, metadata); cells with them
    lose exactly the solution blocks; the notebook's own metadata is untouched."""
    teacher = json.loads(path.read_text())
    student = student_edition.remove_solutions(teacher, EXTENSIONS, path.name)
    assert {key: value for key, value in student.items() if key != "cells"} == \
           {key: value for key, value in teacher.items() if key != "cells"}
    assert len(student["cells"]) == len(teacher["cells"])
    for before, after in zip(teacher["cells"], student["cells"]):
        text = "".join(before["source"])
        if "```{solution}" not in text:
            assert after == before
        else:
            expected = re.sub(r"\n{3,}", "\n\n", SOLUTION_BLOCK.sub("", text)).strip("\n")
            assert "".join(after["source"]) == expected
            assert {k: v for k, v in after.items() if k != "source"} == {k: v for k, v in before.items() if k != "source"}


def test_a_notebook_without_solutions_is_copied_byte_for_byte(tmp_path):
    once, twice = tmp_path / "once.ipynb", tmp_path / "twice.ipynb"
    student_edition.remove_solutions_from_file(CHAPTERS[0], once, EXTENSIONS)
    student_edition.remove_solutions_from_file(once, twice, EXTENSIONS)
    assert twice.read_bytes() == once.read_bytes()


def test_every_hidden_check_is_tagged_so_the_student_edition_can_leave_it_out():
    """A cell that exists only to test its page says so on its first line and carries the tag."""
    for path in NOTEBOOKS:
        for index, cell in enumerate(json.loads(path.read_text())["cells"]):
            says_so = cell["cell_type"] == "code" and "".join(cell["source"]).startswith("# Hidden check")
            assert says_so == student_edition.is_hidden_check(cell), f"{path.name}, cell {index}"
            if says_so:
                assert "remove-cell" in cell["metadata"]["tags"], f"{path.name}, cell {index}: on the website"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_the_student_notebooks_leave_out_the_hidden_checks_and_need_none_of_their_names(path, tmp_path):
    """The student's copy has no hidden check, and no code cell left in it loads a name that only a
    removed check defined (so Run All still runs)."""
    out = tmp_path / path.name
    student_edition.remove_solutions_from_file(path, out, EXTENSIONS)
    cells = json.loads(out.read_text())["cells"]
    assert not any("".join(cell["source"]).startswith("# Hidden check") for cell in cells)

    def names(cell):
        source = re.sub(r"^(\s*)[%!].*$", r"\1pass", "".join(cell["source"]), flags=re.MULTILINE)  # magics
        tree = ast.parse(source)
        stored = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)}
        stored |= {(alias.asname or alias.name).split(".")[0] for node in ast.walk(tree)
                   if isinstance(node, (ast.Import, ast.ImportFrom)) for alias in node.names}
        stored |= {node.name for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
        stored |= {node.arg for node in ast.walk(tree) if isinstance(node, ast.arg)}
        loaded = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}
        return stored, loaded

    kept, only_in_checks = set(), set()
    for cell in json.loads(path.read_text())["cells"]:
        if cell["cell_type"] != "code":
            continue
        stored, loaded = names(cell)
        if student_edition.is_hidden_check(cell):
            only_in_checks |= stored - kept
        else:
            assert not (loaded & only_in_checks) - stored, f"{path.name}: uses {(loaded & only_in_checks) - stored}"
            kept |= stored
            only_in_checks -= stored


def notebook(*cells):
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": kind, "id": f"c{index}", "metadata": {}, "source": source,
         **({"outputs": [{"output_type": "stream", "name": "stdout", "text": "42\n"}],
             "execution_count": 1} if kind == "code" else {})}
        for index, (kind, source) in enumerate(cells)]}


def test_gated_solutions_go_with_their_code_cells_and_outputs():
    nb = notebook(
        ("markdown", "```{exercise}\n:label: ex-a\n\nCompute it.\n```"),
        ("markdown", "```{solution-start} ex-a\n:class: dropdown\n```\n\nThe answer is below."),
        ("code", "print(42)"),
        ("markdown", "Which prints it.\n\n```{solution-end}\n```\n\nAfter the solution."),
        ("code", "print('kept')"),
        ("markdown", ":::{solution} ex-a\nA colon-fenced one.\n:::\n\nKept too."))
    student = student_edition.remove_solutions(nb, EXTENSIONS)
    assert [(cell["id"], "".join(cell["source"])) for cell in student["cells"]] == [
        ("c0", "```{exercise}\n:label: ex-a\n\nCompute it.\n```"),
        ("c3", "After the solution."),
        ("c4", "print('kept')"),
        ("c5", "Kept too.")]
    assert student["cells"][2]["outputs"] == nb["cells"][4]["outputs"]


@pytest.mark.parametrize("cells, message", [
    ([("markdown", "```{solution-start} ex-a\n```"), ("code", "print(42)")], "without its"),
    ([("markdown", "::::{note}\n:::{solution} ex-a\nNested.\n:::\n::::")], "cannot remove"),
], ids=["unclosed-gate", "nested-solution"])
def test_a_solution_it_cannot_remove_is_refused(cells, message):
    with pytest.raises(ValueError, match=message):
        student_edition.remove_solutions(notebook(*cells), EXTENSIONS, "chapter")


# --- the configuration ----------------------------------------------------------------


def test_the_student_config_derives_its_launch_address_from_the_repository_setting():
    config = {**CONFIG, "repository": {"url": "https://github.com/someone/else", "branch": "trunk"},
              "student_edition": {"branch": "for-students"}}
    student = student_edition.student_config(config)
    assert student["repository"] == {"url": "https://github.com/someone/else", "branch": "for-students",
                                     "path_to_book": ""}
    assert student["sphinx"]["config"]["hide_solutions"] is True
    assert "student_edition" not in student
    for key in ("launch_buttons", "bibtex_bibfiles", "execute", "parse", "html"):
        assert student[key] == CONFIG[key]


@pytest.mark.parametrize("change, message", [
    ({"repository": {"branch": "main"}}, "repository.url is missing"),
    ({"repository": None}, "repository.url is missing"),
    ({"student_edition": None}, "student_edition.branch is missing"),
    ({"student_edition": {"branch": "main"}}, "the teacher's branch"),
], ids=["no-url", "no-repository", "no-branch", "teacher-branch"])
def test_a_bad_configuration_is_refused_naming_the_setting(tmp_path, capsys, change, message):
    book = tmp_path / "book"
    book.mkdir()
    (book / "_config.yml").write_text(yaml.safe_dump({**CONFIG, **change}))
    (book / "_toc.yml").write_text((REPO / "_toc.yml").read_text())
    with pytest.raises(SystemExit) as exit_:
        student_edition.main(["source", str(book), str(tmp_path / "out")])
    assert exit_.value.code == 2
    error = capsys.readouterr().err
    assert message in error and "_config.yml" in error and len(error.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_a_file_that_is_not_a_configuration_is_refused():
    with pytest.raises(ValueError, match="not a Jupyter Book configuration"):
        student_edition.student_config(["just", "a list"])


def test_a_folder_it_did_not_write_is_not_replaced(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="refusing to replace"):
        student_edition.write_student_source(REPO, tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_the_student_tree_has_a_binder_environment_that_installs_the_package_from_the_repository(tmp_path):
    """The Binder button opens the student branch, which holds the chapters but not the package:
    its binder/requirements.txt must install the package from the repository, not from '.'."""
    from scalinglaws.data.committed_results import PIP_INSTALL_SPEC

    tree = student_edition.write_student_source(REPO, tmp_path / "tree")
    book_lines = (REPO / "binder" / "requirements.txt").read_text().splitlines()
    student_lines = (tree / "binder" / "requirements.txt").read_text().splitlines()
    assert "." in book_lines and "." not in student_lines
    assert [line for line in student_lines if line != PIP_INSTALL_SPEC] == [line for line in book_lines if line != "."]
    assert PIP_INSTALL_SPEC in student_lines
    assert (tree / "binder" / "runtime.txt").read_text() == (REPO / "binder" / "runtime.txt").read_text()


def test_binder_requirements_without_the_checkout_line_are_refused():
    with pytest.raises(ValueError, match="one line '.'"):
        student_edition.student_binder_requirements("numpy==2.4.6\n")


# --- the build -------------------------------------------------------------------------


def test_the_search_finds_every_solution_in_the_teachers_build(site):
    """The check below can fail: on the teacher's site every fingerprint is found, on its
    page and in the page source behind its download button."""
    for chapter, runs in FINGERPRINTS.items():
        page = (site / "book" / f"{chapter}.html").read_text()
        source = (site / "_sources" / "book" / f"{chapter}.ipynb").read_text()
        missing = [run for run in runs if run not in page or run not in source]
        assert not missing, f"{chapter}: fingerprints the search would not find in a rendered page: {missing}"
    assert leaks(site)


def test_no_solution_is_reachable_from_the_student_build(student):
    """Every file `make student` writes: the site (pages, _sources, downloads, search index),
    Sphinx's own files, and the tree that is published for the launch buttons."""
    assert (student / "_build" / "html" / "index.html").exists()
    found = leaks(student)
    assert not found, "solution text in the student edition:\n" + "\n".join(found[:40])


def test_the_student_pages_keep_every_exercise(student):
    for path in CHAPTERS:
        page = (student / "_build" / "html" / "book" / f"{path.stem}.html").read_text()
        assert page.count('class="exercise') == len(EXERCISE_LABEL.findall(markdown_of(path))), path.name


class Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs = []

    def handle_starttag(self, tag, attrs):
        if tag == "a" and dict(attrs).get("href"):
            self.hrefs.append(dict(attrs)["href"])


def links_of(page: Path) -> list[str]:
    parser = Links()
    parser.feed(page.read_text())
    return parser.hrefs


def test_launch_and_download_buttons_open_the_solution_free_notebooks(student):
    """Colab and Binder open the chapter from the student branch of the configured
    repository, at the path it has in the published tree; the download is that notebook."""
    owner, name = urlsplit(CONFIG["repository"]["url"]).path.strip("/").split("/")
    branch = CONFIG["student_edition"]["branch"]
    colab, binder = CONFIG["launch_buttons"]["colab_url"], CONFIG["launch_buttons"]["binderhub_url"]
    html_dir, tree = student / "_build" / "html", student / "source"
    for path in CHAPTERS:
        doc = f"book/{path.stem}"
        links = links_of(html_dir / f"{doc}.html")
        assert f"{colab}/github/{owner}/{name}/blob/{branch}/{doc}.ipynb" in links, doc
        assert f"{binder}/v2/gh/{owner}/{name}/{branch}?urlpath=tree/{doc}.ipynb" in links, doc
        assert not [link for link in links if "colab" in link or "binder" in link.lower()
                    if f"/{branch}" not in link], f"{doc}: a launch button opens another branch"
        downloads = [link for link in links if link.endswith(".ipynb") and "://" not in link]
        assert downloads == [f"../_sources/{doc}.ipynb"], doc
        served = (html_dir / "book" / downloads[0]).resolve()
        assert served.read_bytes() == (tree / f"{doc}.ipynb").read_bytes(), f"{doc}: download is not the student copy"


def test_the_published_branch_holds_the_notebooks_the_buttons_open(student, tmp_path, monkeypatch, capsys):
    """commit_to_branch puts the tree on the student branch without touching the checkout."""
    for key, value in {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
                       "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org"}.items():
        monkeypatch.setenv(key, value)
    repository = tmp_path / "repository"
    repository.mkdir()

    def git(*args):
        return subprocess.run(["git", *args], cwd=repository, check=True, capture_output=True,
                               text=True).stdout.strip()

    git("init", "-q", "-b", "main")
    (repository / "teacher.txt").write_text("the teacher's checkout\n")
    git("add", "teacher.txt")
    git("commit", "-q", "-m", "teacher")
    head, status = git("rev-parse", "HEAD"), git("status", "--porcelain")
    branch = CONFIG["student_edition"]["branch"]
    tree = student / "source"
    student_edition.main(["commit", str(tree), "--repository", str(repository)])
    assert f"publish it with: git push <remote> {branch}" in capsys.readouterr().out
    assert (git("rev-parse", "HEAD"), git("status", "--porcelain")) == (head, status)
    published = git("ls-tree", "-r", "--name-only", branch).splitlines()
    assert sorted(published) == sorted(str(path.relative_to(tree)) for path in tree.rglob("*") if path.is_file())
    for path in CHAPTERS:
        assert git("show", f"{branch}:book/{path.name}") == (tree / "book" / path.name).read_text().strip()
    assert student_edition.commit_to_branch(tree, repository=repository) is None, "an unchanged tree made a commit"
    git("switch", "-q", branch)
    with pytest.raises(ValueError, match="checked out"):
        student_edition.commit_to_branch(tree, repository=repository)
