"""The student edition: the book with every exercise and no solution, down to its notebooks.

The chapters write each solution as a sphinx-exercise ``solution`` directive in a markdown
cell, with its code inside the directive (never as a cell of its own). sphinx-exercise's
``hide_solutions`` drops those directives from the pages, but not from the page sources,
the ``.ipynb`` behind the download button, or the notebooks that the Colab and Binder
buttons open. So the student edition is built from solution-free copies of the chapters:

1. :func:`write_student_source` writes the book's source tree (``_toc.yml``, the folders
   of the chapters, the files ``_config.yml`` names) with every solution removed
   (:func:`remove_solutions`), and its ``_config.yml`` (:func:`student_config`);
2. ``jupyter-book build`` of that tree (``make student``) serves those copies as the pages'
   sources and downloads;
3. its Colab and Binder buttons open the same copies from branch ``student_edition.branch``
   of ``repository.url`` (both in ``_config.yml``), where :func:`commit_to_branch` puts the
   tree for the instructor to push.

Both gated forms of a solution are removed too: from ``solution-start`` to ``solution-end``,
cells in between (and their outputs) included. Anything else that names a solution
directive is refused rather than copied, so a solution written in a form this module does
not know cannot reach students.

The copies also leave out the hidden checks (:func:`remove_hidden_checks`): code cells tagged
:data:`HIDDEN_CHECK_TAG` that exist only to test the page (nbval runs them; the website already
removes them with ``remove-cell``). They assert exact values, so a student who changed an earlier
cell and ran everything would meet an unexplained AssertionError; no visible cell uses a name
that only a hidden check defines (``tests/test_student_edition.py`` checks both).
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import yaml

#: The first line of the README written into the student tree; it marks a folder as one
#: this module may replace.
TREE_README_TITLE = "# Student edition (generated)"

SOLUTION, GATE_START, GATE_END = "{solution}", "{solution-start}", "{solution-end}"
#: Any directive name of sphinx-exercise's solutions, however written.
SOLUTION_MARK = "{solution"


def _markdown_parser(extensions):
    """The markdown-it parser MyST-NB uses for the book's cells, with its extensions."""
    from markdown_it.renderer import RendererHTML
    from myst_parser.config.main import MdParserConfig
    from myst_parser.parsers.mdit import create_md_parser

    return create_md_parser(MdParserConfig(enable_extensions=set(extensions)), RendererHTML)


def _remove_from_markdown(text: str, parser, gate_open: bool) -> tuple[str, bool]:
    """``text`` without its solution directives; ``gate_open`` carries a ``solution-start``
    whose ``solution-end`` is in a later cell. Returns the text and the gate's state after it."""
    lines = text.splitlines(keepends=True)
    dropped = []  # [first, stop) line ranges
    gate_from = 0
    for token in parser.parse(text):
        if token.level != 0 or token.type not in ("fence", "colon_fence") or not token.map:
            continue
        name = (token.info.split() or [""])[0]
        first, stop = token.map
        if gate_open:
            if name == GATE_END:
                dropped.append((gate_from, stop))
                gate_open = False
        elif name == SOLUTION:
            dropped.append((first, stop))
        elif name == GATE_START:
            gate_open, gate_from = True, first
    if gate_open:
        dropped.append((gate_from, len(lines)))
    if not dropped:
        return text, gate_open
    kept = "".join(line for number, line in enumerate(lines)
                   if not any(first <= number < stop for first, stop in dropped))
    return re.sub(r"\n{3,}", "\n\n", kept).strip("\n"), gate_open


def remove_solutions(notebook: dict, extensions=(), name: str = "notebook") -> dict:
    """A copy of ``notebook`` (nbformat JSON) without its solutions, and nothing else changed.

    Solution directives leave their markdown cells; a cell that held only solutions goes,
    and so does every cell between ``solution-start`` and ``solution-end``, outputs and all.
    ``extensions`` are the book's MyST extensions (``parse.myst_enable_extensions``), so
    cells are parsed as the build parses them. Raises :class:`ValueError` naming the cell
    when a solution mark survives (a form this function does not remove) or a
    ``solution-start`` is never closed.
    """
    parser = _markdown_parser(extensions)
    student = copy.deepcopy(notebook)
    cells, gate_open = [], False
    for index, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] != "markdown":
            if not gate_open:
                cells.append(copy.deepcopy(cell))
            continue
        source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        text, gate_open = _remove_from_markdown(source, parser, gate_open)
        if SOLUTION_MARK in text:
            raise ValueError(f"{name}, cell {index}: a solution the student edition cannot remove "
                             f"(write it as a ```{SOLUTION} directive at the top level of the cell)")
        if text == source:
            cells.append(copy.deepcopy(cell))
        elif text.strip():
            cells.append({**copy.deepcopy(cell),
                          "source": text if isinstance(cell["source"], str) else text.splitlines(keepends=True)})
    if gate_open:
        raise ValueError(f"{name}: a {GATE_START} without its {GATE_END}")
    student["cells"] = cells
    return student


#: The tag of a code cell that exists only to test its page (beside ``remove-cell``, which takes it
#: off the website): the student edition's notebooks leave it out.
HIDDEN_CHECK_TAG = "hidden-check"


def is_hidden_check(cell: dict) -> bool:
    return cell["cell_type"] == "code" and HIDDEN_CHECK_TAG in cell.get("metadata", {}).get("tags", [])


def remove_hidden_checks(notebook: dict) -> dict:
    """A copy of ``notebook`` without the code cells tagged :data:`HIDDEN_CHECK_TAG`."""
    student = copy.deepcopy(notebook)
    student["cells"] = [cell for cell in student["cells"] if not is_hidden_check(cell)]
    return student


def remove_solutions_from_file(source: Path, out: Path, extensions=()) -> None:
    """Write ``source`` (a chapter, ``.ipynb`` or MyST ``.md``) to ``out`` without solutions
    (and, for a notebook, without its hidden checks).

    A notebook is written as the chapters are (one-space JSON indent, UTF-8, a final
    newline), so a chapter without solutions or hidden checks is copied byte for byte.
    """
    text = Path(source).read_text(encoding="utf-8")
    if Path(source).suffix == ".ipynb":
        student = remove_hidden_checks(remove_solutions(json.loads(text), extensions, name=str(source)))
        text = json.dumps(student, indent=1, ensure_ascii=False) + "\n"
    else:
        student_text, gate_open = _remove_from_markdown(text, _markdown_parser(extensions), False)
        if gate_open or SOLUTION_MARK in student_text:
            raise ValueError(f"{source}: a solution the student edition cannot remove")
        text = student_text + "\n" if student_text != text else text
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(text, encoding="utf-8")


def student_config(config: dict, source: str = "_config.yml") -> dict:
    """The student edition's Jupyter Book configuration, derived from the book's ``config``.

    Its launch buttons open the notebooks at the root of branch ``student_edition.branch``
    of ``repository.url`` (where :func:`commit_to_branch` puts :func:`write_student_source`'s
    tree), solutions are hidden as a second guard, and the title says which edition it is.
    Raises :class:`ValueError` naming the missing setting of ``source``, or when the branch is
    the teacher's own (whose notebooks hold the solutions).
    """
    if not isinstance(config, dict):
        raise ValueError(f"{source} is not a Jupyter Book configuration (expected a YAML mapping)")
    repository = config.get("repository") or {}
    url = repository.get("url")
    if not url:
        raise ValueError(f"{source}: repository.url is missing; the student edition's Colab and Binder "
                         "buttons open the solution-free notebooks from that repository")
    branch = (config.get("student_edition") or {}).get("branch")
    if not branch:
        raise ValueError(f"{source}: student_edition.branch is missing; it names the branch of "
                         f"{url} that holds the solution-free notebooks")
    if branch == repository.get("branch", "main"):
        raise ValueError(f"{source}: student_edition.branch is {branch!r}, the teacher's branch, whose "
                         "notebooks hold the solutions; name a branch of its own")
    student = copy.deepcopy(config)
    student.pop("student_edition")
    student["title"] = f"{config.get('title', '')} (student edition)".strip()
    student["repository"] = {"url": url, "branch": branch, "path_to_book": ""}
    sphinx = student.get("sphinx") or {}
    sphinx["config"] = {**(sphinx.get("config") or {}), "hide_solutions": True}
    student["sphinx"] = sphinx
    return student


def _toc_documents(toc_path: Path) -> list[str]:
    """Every document ``_toc.yml`` lists, read by the parser Jupyter Book itself uses."""
    from sphinx_external_toc.parsing import parse_toc_yaml

    return list(parse_toc_yaml(toc_path))


def _named_paths(config: dict) -> list[str]:
    """The relative paths ``_config.yml`` names that a build reads (bibliographies, images,
    static and template folders, local extensions), and ``_static``, which Jupyter Book adds
    on its own."""
    html = config.get("html") or {}
    sphinx_config = (config.get("sphinx") or {}).get("config") or {}
    paths = [*(config.get("bibtex_bibfiles") or []), config.get("logo"), html.get("favicon"), "_static"]
    for key in ("html_static_path", "html_extra_path", "templates_path"):
        paths += sphinx_config.get(key) or []
    paths += [sphinx_config.get("html_logo"), sphinx_config.get("html_favicon")]
    paths += list(((config.get("sphinx") or {}).get("local_extensions") or {}).values())
    return [path for path in paths if isinstance(path, str) and path and "://" not in path]


#: Folders of the book that stay out of the student edition: the graded assignment's master holds
#: its solutions and hidden tests; students get the version ``otter assign`` writes (instructor page).
INSTRUCTOR_ONLY = ("book/assignment",)


def _copy(source: Path, out: Path, extensions, skip: frozenset = frozenset()) -> None:
    """Copy a file or folder, chapters (``.ipynb``, ``.md``) without their solutions, leaving out ``skip``."""
    if source in skip:
        return
    if source.is_dir():
        for child in sorted(source.iterdir()):
            if not child.name.startswith(".") and child.name != "__pycache__":
                _copy(child, out / child.name, extensions, skip)
    elif source.suffix in (".ipynb", ".md"):
        remove_solutions_from_file(source, out, extensions)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, out)


#: The folder Binder (repo2docker) reads its environment from.
BINDER = "binder"


def student_binder_requirements(text: str) -> str:
    """The book's ``binder/requirements.txt`` for the student branch: that branch holds the chapters
    but not the package, so the line ``.`` (this checkout, as a wheel) becomes the package installed
    from the book's repository; every other line, pins and torch's CPU index included, is kept."""
    from scalinglaws.data.committed_results import PIP_INSTALL_SPEC

    lines = text.splitlines()
    local = [i for i, line in enumerate(lines) if line.strip() == "."]
    if len(local) != 1:
        raise ValueError(f"binder/requirements.txt should install the checkout with one line '.', found {len(local)}")
    lines[local[0]] = PIP_INSTALL_SPEC
    return "\n".join(lines) + "\n"


def write_student_binder(source: Path, out: Path) -> None:
    """``binder/`` for the student branch: the same files, requirements from :func:`student_binder_requirements`."""
    out.mkdir(parents=True, exist_ok=True)
    for path in sorted(source.iterdir()):
        if path.is_file():
            text = path.read_text()
            (out / path.name).write_text(student_binder_requirements(text) if path.name == "requirements.txt" else text)


def write_student_source(book_root, out_dir) -> Path:
    """Write the student edition's source tree into ``out_dir`` and return it.

    The tree holds the folders of the documents ``_toc.yml`` lists (chapters without their
    solutions, everything else copied), ``_toc.yml``, the files ``_config.yml`` names, the
    student :func:`student_config` as ``_config.yml``, a README, and ``binder/`` with the package
    installed from the repository (:func:`student_binder_requirements`), which the branch lacks. It is both what
    ``jupyter-book build`` reads and what the student branch holds. A previous tree in
    ``out_dir`` is replaced; any other non-empty folder is refused.
    """
    root, out = Path(book_root).resolve(), Path(out_dir).resolve()
    config = yaml.safe_load((root / "_config.yml").read_text())
    student = student_config(config, str(root / "_config.yml"))
    if out == root or out in root.parents:
        raise ValueError(f"{out} holds the book itself; write the student edition elsewhere")
    readme = out / "README.md"
    if out.exists() and any(out.iterdir()):
        if not (readme.exists() and readme.read_text().startswith(TREE_README_TITLE)):
            raise ValueError(f"{out} is not empty and not a student edition written before; refusing to replace it")
        shutil.rmtree(out)
    extensions = (config.get("parse") or {}).get("myst_enable_extensions") or []
    paths = {"_toc.yml", *_named_paths(config)}
    for document in _toc_documents(root / "_toc.yml"):
        parts = Path(document).parts
        paths.update([parts[0]] if len(parts) > 1 else
                     [path.name for path in root.glob(f"{document}.*") if path.suffix in (".ipynb", ".md")])
    skip = frozenset(root / path for path in INSTRUCTOR_ONLY)
    for path in sorted(paths):
        if (root / path).exists():
            _copy(root / path, out / path, extensions, skip)
    if (root / BINDER).is_dir():
        write_student_binder(root / BINDER, out / BINDER)
    (out / "_config.yml").write_text(
        "# Written by scalinglaws.book.student_edition from the book's _config.yml: edit that one.\n"
        + yaml.safe_dump(student, sort_keys=False, allow_unicode=True))
    readme.write_text(
        f"{TREE_README_TITLE}\n\nThe chapters of *{config.get('title', '')}* with every exercise and no "
        f"solution, written by `make student` from {student['repository']['url']}. Open a chapter "
        "from the student edition's Colab or Binder button, or from `book/` here.\n")
    return out


def _git(args, cwd, env=None) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed in {cwd}: {result.stderr.strip()}")
    return result.stdout.strip()


def commit_to_branch(tree, branch: str | None = None, repository=".",
                     message: str = "Student edition: solution-free chapters") -> str | None:
    """Commit the files of ``tree`` as the whole content of ``branch`` of the git ``repository``.

    ``branch`` defaults to the tree's own ``repository.branch`` (``student_edition.branch`` of
    the book). The checkout, its index and ``HEAD`` are not touched: the commit is built with
    a temporary index, on top of the branch's previous commit if it has one. Returns the new
    commit, or ``None`` when the branch already holds exactly this tree. Refuses the branch
    that is checked out. Push it with ``git push <remote> <branch>``.
    """
    tree = Path(tree).resolve()
    if branch is None:
        branch = yaml.safe_load((tree / "_config.yml").read_text())["repository"]["branch"]
    git_dir = _git(["rev-parse", "--absolute-git-dir"], cwd=repository)
    checked_out = subprocess.run(["git", "symbolic-ref", "-q", "--short", "HEAD"], cwd=repository,
                                 capture_output=True, text=True).stdout.strip()
    if checked_out == branch:
        raise ValueError(f"{branch} is checked out in {repository}; the student edition needs a branch of its own")
    ref = f"refs/heads/{branch}"
    parent = subprocess.run(["git", "rev-parse", "--verify", "-q", f"{ref}^{{commit}}"], cwd=repository,
                            capture_output=True, text=True).stdout.strip()
    with tempfile.TemporaryDirectory() as scratch:
        env = {**os.environ, "GIT_DIR": git_dir, "GIT_WORK_TREE": str(tree),
               "GIT_INDEX_FILE": str(Path(scratch) / "index")}
        _git(["add", "--all", "--force", "."], cwd=tree, env=env)
        new_tree = _git(["write-tree"], cwd=tree, env=env)
        if parent and _git(["rev-parse", f"{parent}^{{tree}}"], cwd=tree, env=env) == new_tree:
            return None
        commit = _git(["commit-tree", new_tree, *(["-p", parent] if parent else []), "-m", message],
                      cwd=tree, env=env)
        _git(["update-ref", ref, commit, parent or ""], cwd=tree, env=env)
    return commit


def main(argv=None) -> None:
    """``python -m scalinglaws.book.student_edition``: write the student tree (``make student``) or
    commit it to the student branch (README.md, for instructors)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m scalinglaws.book.student_edition", description=main.__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    source = commands.add_parser("source", help="write the solution-free source tree of the student edition")
    source.add_argument("book", help="the book's root (holding _config.yml and _toc.yml)")
    source.add_argument("out", help="where to write the tree (a previous tree there is replaced)")
    commit = commands.add_parser("commit", help="commit a student tree to its branch (not pushed)")
    commit.add_argument("tree", help="the tree `source` wrote")
    commit.add_argument("--repository", default=".", help="the git checkout whose branch to write (default: .)")
    args = parser.parse_args(argv)
    try:
        if args.command == "source":
            print(write_student_source(args.book, args.out))
        else:
            branch = yaml.safe_load((Path(args.tree) / "_config.yml").read_text())["repository"]["branch"]
            made = commit_to_branch(args.tree, branch, args.repository)
            print(f"{branch}: {'committed ' + made if made else 'already up to date'}; "
                  f"publish it with: git push <remote> {branch}")
    except (ValueError, RuntimeError, OSError) as error:
        parser.exit(2, f"{parser.prog}: error: {error}\n")


if __name__ == "__main__":
    main()
