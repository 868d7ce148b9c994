"""The book's conventions, checked on the sources (no build, no browser).

- ``_config.yml``'s ``repository.url`` is the one address of the repository: the package
  constant and every chapter's Colab install line must agree with it.
- Every chapter opens with its title and its runtime on a 2-core laptop, installs the
  package when it is missing (first code cell), and imports in one place.
- The book loads nothing from other sites: no intersphinx, MathJax served offline.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from scalinglaws.data import committed_results

REPO = Path(__file__).resolve().parents[1]
CONFIG = yaml.safe_load((REPO / "_config.yml").read_text())
CHAPTERS = sorted((REPO / "book").glob("*.ipynb"))
IMPORT_LINE = re.compile(r"^\s*(import \w|from \S+ import )", re.MULTILINE)


def cells_of(path: Path) -> list[dict]:
    return [
        {"type": cell["cell_type"], "source": "".join(cell["source"])}
        for cell in json.loads(path.read_text())["cells"]
    ]


def test_repository_url_has_one_source():
    assert committed_results.REPOSITORY_URL == CONFIG["repository"]["url"]
    assert committed_results.PIP_INSTALL_SPEC == f"git+{CONFIG['repository']['url']}"


def test_launch_buttons_are_configured():
    launch = CONFIG["launch_buttons"]
    assert launch["colab_url"] == "https://colab.research.google.com"
    assert launch["binderhub_url"] == "https://mybinder.org"


def test_no_intersphinx_and_offline_mathjax():
    sphinx = CONFIG["sphinx"]
    assert sphinx["config"]["intersphinx_mapping"] == {}
    assert "sphinx.ext.intersphinx" not in sphinx.get("extra_extensions", [])
    assert "sphinx-mathjax-offline" in sphinx["extra_extensions"]


def test_every_notebook_is_in_the_toc():
    toc_text = (REPO / "_toc.yml").read_text()
    missing = [path.stem for path in CHAPTERS if f"book/{path.stem}" not in toc_text]
    assert not missing, f"notebooks that the website does not show: {missing}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda path: path.name)
def test_chapter_opens_with_title_and_runtime(path):
    first = cells_of(path)[0]
    assert first["type"] == "markdown"
    lines = [line for line in first["source"].splitlines() if line.strip()]
    assert lines[0].startswith("# "), f"{path.name}: the first line must be the chapter title"
    assert "2-core laptop" in lines[1], f"{path.name}: the line under the title must state the runtime on a 2-core laptop"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda path: path.name)
def test_chapter_installs_the_package_when_opened_alone(path):
    code = [cell["source"] for cell in cells_of(path) if cell["type"] == "code"]
    first = code[0]
    assert "import scalinglaws" in first and "except ImportError" in first, (
        f"{path.name}: the first code cell must install the package when it is missing")
    assert f'%pip install --quiet "{committed_results.PIP_INSTALL_SPEC}"' in first, (
        f"{path.name}: the install line must use the repository of _config.yml: {committed_results.PIP_INSTALL_SPEC}")


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda path: path.name)
def test_chapter_imports_in_one_place(path):
    code = [cell["source"] for cell in cells_of(path) if cell["type"] == "code"]
    # The install cell may be the imports cell too (chapters 1-3) or stand before it.
    late = [i for i, source in enumerate(code[2:], start=2) if IMPORT_LINE.search(source)]
    assert not late, f"{path.name}: code cells {late} import; keep every import in the imports cell"


#: Code blocks in ``python``, or ``ipython3`` for ``!`` lines (Pygments' Python lexer rejects them).
SOLUTION_CODE = re.compile(r"^(~~~|````)(?:python|ipython3)\n(.*?)^\1\s*$", re.MULTILINE | re.DOTALL)


def solution_snippets(path: Path) -> list[str]:
    """The Python (and IPython) code blocks written inside the chapter's ```{solution} directives."""
    markdown = "\n".join(cell["source"] for cell in cells_of(path) if cell["type"] == "markdown")
    snippets = []
    for block in markdown.split("```{solution}")[1:]:
        body = block.split("\n```", 1)[0]
        snippets += [match.group(2) for match in SOLUTION_CODE.finditer(body)]
    return snippets


CHAPTERS_WITH_SOLUTION_CODE = [path for path in CHAPTERS if solution_snippets(path)]


class ShellOnly:
    """``get_ipython()`` for chapter code run outside IPython, after IPython's own translation
    of ``!command`` to ``get_ipython().system("command")`` and of ``%magic`` to
    ``run_line_magic``. A shell command runs, with ``{expression}`` filled in from the
    chapter's namespace as IPython does, and must succeed. A magic is refused: the chapters'
    only one, the first cell's ``%pip install``, runs only where the package is missing."""

    def __init__(self, namespace: dict):
        self.namespace = namespace

    def system(self, command: str) -> None:
        subprocess.run(command.format_map(self.namespace), shell=True, check=True, stdout=subprocess.DEVNULL)

    def run_line_magic(self, name: str, line: str) -> None:
        raise AssertionError(f"%{name} {line}: chapter code run by the tests cannot use IPython magics")


@pytest.mark.parametrize("path", CHAPTERS_WITH_SOLUTION_CODE, ids=lambda path: path.name)
def test_solution_code_runs_after_the_chapter(path):
    """Solutions are shown, not executed, so nbval never runs them: run them here, in the
    namespace the chapter's own cells leave behind, as a reader would (``!`` lines included)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from IPython.core.inputtransformer2 import TransformerManager

    to_python = TransformerManager().transform_cell
    namespace: dict = {"__name__": "__chapter__"}
    namespace["get_ipython"] = lambda: ShellOnly(namespace)
    for index, cell in enumerate(cells_of(path)):
        if cell["type"] == "code":
            exec(compile(to_python(cell["source"]), f"{path.name}, cell {index}", "exec"), namespace)
    for number, snippet in enumerate(solution_snippets(path)):
        exec(compile(to_python(snippet), f"{path.name}, solution snippet {number}", "exec"), namespace)
    plt.close("all")


def test_shell_lines_run_and_must_succeed():
    """The stub behind ``!`` lines: IPython's translation, the namespace filled in, failures raised."""
    from IPython.core.inputtransformer2 import TransformerManager

    code = TransformerManager().transform_cell("!{sys.executable} -c 'import sys; sys.exit({status})'\n")
    namespace = {"sys": sys, "status": 0}
    namespace["get_ipython"] = lambda: ShellOnly(namespace)
    exec(code, namespace)
    namespace["status"] = 3
    with pytest.raises(subprocess.CalledProcessError):
        exec(code, namespace)
