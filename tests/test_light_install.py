"""Chapters run in a student's light install: the package and a kernel, nothing of the book's tools.

A reader who opens a chapter in Colab or on a laptop gets the package from the repository
(``pip install "git+<repository>"``, which the first cell of every chapter runs when the package
is missing) and a notebook front end's kernel (``ipykernel``), not the book's test and build tools
(pytest, nbval, jupyter-book, selenium...). This test builds that environment from the checkout:
a fresh virtual environment (``python -m venv``, no system site-packages) with the wheel of
``tests/test_installed_package.py`` (built from a copy of the checkout's files, as pip builds a
``git+`` requirement) and its dependencies, plus ``ipykernel``. torch is pinned to the CPU wheel
by a constraints file (``torch==2.13.0``): unpinned, pip could pick a multi-GB CUDA build.

It then executes three chapters, each copied alone into a temporary folder outside the checkout,
in a kernel of that environment (its kernelspec installed into the venv with
``python -m ipykernel install --prefix``, found through ``JUPYTER_PATH``), driven by nbclient from
this process: the quickstart (which trains the ``demo`` sweep live), chapter 1 (the papers'
numbers) and chapter 11 (Part II, which fits committed results: the installed package reads them
from its own copy, ``scalinglaws.data.committed_results.sweep_results``). The data mirror
(``SCALINGLAWS_DATA_MIRROR``) is passed through, since these machines have no internet and the
quickstart's corpus comes from it. A cell error fails the test with the cell's traceback. A last
cell, added to each copy, reports the kernel's interpreter and where it imported the package from.

Measured wall time: 320 s for the whole file on the 2-core machine, at a 1-minute load of 3.5 to
4.5 (a background training sweep held about 2 cores): 31 s to build the wheel and the environment
(pip's cache warm), 258 s for the quickstart (its live ``demo`` sweep, which trained in 80 s on
idle cores: results/demo/README.md), 21 s for chapter 11, 3 s for chapter 1, 6 s for the import check.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from scalinglaws.data.download import MIRROR_ENV
from test_installed_package import quiet_env, run, wheel  # noqa: F401  (wheel: a module-scoped fixture)

REPO = Path(__file__).resolve().parents[1]
BOOK = REPO / "book"
#: The pinned CPU build of torch (this machine's pip finds it on local disk; see the module docstring).
TORCH_PIN = "torch==2.13.0"
KERNEL_NAME = "scalinglaws-light"
#: Distributions of the book's test and build tools: none may be in the light install.
BOOK_TOOLS = ("pytest", "nbval", "jupyter-book", "jupyter_book", "selenium", "myst-nb", "myst_nb", "sphinx",
              "nbclient", "jupyter-cache")
#: Their modules: importing the package must load none of them.
BOOK_TOOL_MODULES = ("pytest", "nbval", "jupyter_book", "selenium", "myst_nb", "sphinx", "nbclient",
                     "jupyter_cache", "pybtex", "yaml")
#: Modules of the package that only the book's build uses, and need its tools (pybtex, PyYAML):
#: every other module must import in the light install.
BUILD_ONLY_MODULES = {"scalinglaws.book.author_year_bibliography", "scalinglaws.book.student_edition"}
#: The chapters executed: the quickstart, one of Part I and one of Part II that reads committed results.
CHAPTERS = ("quickstart.ipynb", "01_introduction.ipynb", "11_approach2_isoflop.ipynb")


@pytest.fixture(scope="module")
def light_venv(wheel, tmp_path_factory) -> Path:  # noqa: F811  (the imported fixture)
    """A fresh venv with the package (and its dependencies) and ipykernel, and a kernelspec for it."""
    venv = tmp_path_factory.mktemp("light-venv")
    run([sys.executable, "-m", "venv", "--clear", str(venv)], env=quiet_env())
    python = venv / "bin" / "python"
    constraints = venv / "constraints.txt"
    constraints.write_text(TORCH_PIN + "\n")
    # --no-compile: no .pyc for the thousands of files of torch and scipy at install time; the
    # modules a chapter imports are compiled when first imported, as without the flag.
    run([str(python), "-m", "pip", "install", "-q", "--no-compile", "-c", str(constraints), str(wheel), "ipykernel"],
        env=quiet_env())
    run([str(python), "-m", "ipykernel", "install", "--prefix", str(venv), "--name", KERNEL_NAME,
         "--display-name", "scalinglaws (light install)"], env=quiet_env())
    return venv


INSTALLED = """
import importlib.metadata, json
print(json.dumps(sorted(dist.metadata["Name"].lower() for dist in importlib.metadata.distributions())))
"""

IMPORT_EVERYTHING = """
import importlib, json, pkgutil, sys
import scalinglaws
build_only, tools = %r, %r
failed, imported = {}, []
for module in pkgutil.walk_packages(scalinglaws.__path__, "scalinglaws."):
    if module.name in build_only or module.name.endswith(".__main__"):  # __main__ would run the command line
        continue
    try:
        importlib.import_module(module.name)
        imported.append(module.name)
    except ImportError as error:
        failed[module.name] = repr(error)
print(json.dumps({"imported": imported, "failed": failed, "package": scalinglaws.__file__,
                  "tools_loaded": sorted(name for name in tools if name in sys.modules),
                  "torch": sys.modules["torch"].__version__}))
""" % (sorted(BUILD_ONLY_MODULES), BOOK_TOOL_MODULES)


def test_the_light_install_holds_the_package_and_a_kernel_only(light_venv):
    python = light_venv / "bin" / "python"
    installed = set(json.loads(run([str(python), "-I", "-c", INSTALLED], env=quiet_env()).stdout))
    assert {"scalinglaws", "torch", "numpy", "ipykernel"} <= installed, sorted(installed)
    tools = sorted(installed & {name.lower() for name in BOOK_TOOLS})
    assert not tools, f"the light install must not hold the book's tools, but has {tools}"


def test_the_package_imports_without_the_book_tools(light_venv, tmp_path):
    """Every module of the package imports in the light install, but the two that only the book's
    build uses (BUILD_ONLY_MODULES), and none loads a book tool. torch is the pinned CPU build."""
    python = light_venv / "bin" / "python"
    found = json.loads(run([str(python), "-I", "-c", IMPORT_EVERYTHING], cwd=tmp_path, env=quiet_env()).stdout)
    assert not found["failed"], f"modules that do not import in the light install: {found['failed']}"
    assert {"scalinglaws.sweeps.runner", "scalinglaws.fitting.sweep_fits", "scalinglaws.book.glue"} <= set(found["imported"])
    assert found["tools_loaded"] == [], f"importing the package loaded {found['tools_loaded']}"
    assert Path(found["package"]).resolve().is_relative_to(light_venv.resolve()), found["package"]
    assert found["torch"] == TORCH_PIN.split("==")[1] + "+cpu", found["torch"]


REPORT_CELL = """
import json, os, sys
import scalinglaws
print(json.dumps({"prefix": sys.prefix, "package": scalinglaws.__file__, "mirror": os.environ.get(%r)}))
""" % MIRROR_ENV


@pytest.mark.parametrize("name", CHAPTERS)
def test_chapter_runs_in_the_light_install(name, light_venv, tmp_path, monkeypatch):
    """The chapter, alone in a folder outside the checkout, runs without an error in the light
    install's kernel, which imports the installed package (not the checkout's)."""
    folder = tmp_path / "chapter"
    folder.mkdir()
    shutil.copy2(BOOK / name, folder / name)
    notebook = nbformat.read(folder / name, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell(REPORT_CELL))
    # The kernel inherits this process's environment, SCALINGLAWS_DATA_MIRROR included: the light
    # kernelspec is found first, and nothing puts the checkout on the kernel's path.
    monkeypatch.setenv("JUPYTER_PATH", str(light_venv / "share" / "jupyter"))
    for variable in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"):
        monkeypatch.delenv(variable, raising=False)
    client = NotebookClient(notebook, timeout=1800, kernel_name=KERNEL_NAME,
                            resources={"metadata": {"path": str(folder)}})
    try:
        client.execute()
    except CellExecutionError as error:
        pytest.fail(f"{name} fails in the light install:\n{error}", pytrace=False)
    printed = [output["text"] for output in notebook.cells[-1].outputs if output.get("name") == "stdout"]
    report = json.loads("".join(printed))
    assert Path(report["prefix"]).resolve() == light_venv.resolve(), report
    package = Path(report["package"]).resolve()
    assert package.is_relative_to(light_venv.resolve()) and not package.is_relative_to(REPO), report
    assert report["mirror"] == os.environ.get(MIRROR_ENV), report
