"""Fixtures shared by several test files, and the numerical kernels every test runs with."""

import os
import subprocess
import sys
from pathlib import Path

# Pinned kernels. The fits are deterministic and their printed numbers are compared exactly, but
# numpy and OpenBLAS pick their SIMD kernels by processor: an AVX-512 machine (an Intel Xeon with
# AMX, a recent AMD EPYC) rounds exp, log and dot products differently from an AVX2-only EPYC, and
# a multi-start L-BFGS fit amplifies that into a different third digit (measured: chapter 12's
# bootstrap interval on alpha, 0.836-1.42 against 0.785-1.42). Both kinds of machine have AVX2, so
# the tests switch numpy's AVX-512 dispatch off and fix OpenBLAS's kernels to Haswell's (AVX2):
# every machine then runs the same instructions. Set here for the notebooks' kernels (nbval starts
# them from this environment) and in the Makefile for this process, whose numpy may be imported
# before this file is read.
PINNED_KERNELS = {"NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR", "OPENBLAS_CORETYPE": "Haswell"}
for _name, _value in PINNED_KERNELS.items():
    os.environ.setdefault(_name, _value)

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def one_thread():
    """In-process training uses one thread: on 2 shared cores, oversubscribed threads crawl."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def build_site(out_dir: Path, *extra_args: str) -> Path:
    """Build the book with warnings as errors and return the HTML directory."""
    command = [
        str(Path(sys.executable).with_name("jupyter-book")), "build", str(REPO),
        "-W", "-n", "--keep-going", "--all", "--path-output", str(out_dir), *extra_args,
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, f"the book does not build:\n{result.stdout[-6000:]}\n{result.stderr[-3000:]}"
    html = out_dir / "_build" / "html"
    assert (html / "index.html").exists(), f"no index.html in {html}"
    return html


@pytest.fixture(scope="session")
def site(tmp_path_factory) -> Path:
    """A fresh build of the teacher's site, once per session for every test file that reads it
    (tests/test_site.py, tests/test_student_edition.py): never a stale _build/html left from earlier."""
    return build_site(tmp_path_factory.mktemp("site"))


# ------------------------------------------------------------------------------------------
# Runtime lines against the time nbval measures
# ------------------------------------------------------------------------------------------
# Every chapter states its running time in one line under its title. nbval runs each notebook
# cell by cell; the sum of its cells' durations is the chapter's running time on this machine.
# When every cell of a notebook ran and passed, the stated line must agree with it within a factor
# of 2 (scalinglaws.book.reading_time.runtime_agrees); otherwise the session fails, naming the
# chapter, the line and the measured time. With pytest-xdist the workers' reports reach this hook
# in the controller, so the check runs once, there.
_NOTEBOOK_SECONDS: dict[str, float] = {}
_NOTEBOOK_CALLS: dict[str, int] = {}
_NOTEBOOK_UNFINISHED: set[str] = set()


def pytest_runtest_logreport(report):
    path = report.nodeid.split("::")[0]
    if not path.endswith(".ipynb"):
        return
    _NOTEBOOK_SECONDS[path] = _NOTEBOOK_SECONDS.get(path, 0.0) + report.duration
    if report.failed or report.skipped:
        _NOTEBOOK_UNFINISHED.add(path)
    if report.when == "call":
        _NOTEBOOK_CALLS[path] = _NOTEBOOK_CALLS.get(path, 0) + 1


def runtime_mismatches() -> list[str]:
    """The chapters whose runtime line disagrees with the time their cells took in this session."""
    import json

    from scalinglaws.book.reading_time import runtime_agrees, stated_runtime

    problems = []
    for path, seconds in sorted(_NOTEBOOK_SECONDS.items()):
        notebook = REPO / path
        if path in _NOTEBOOK_UNFINISHED or not notebook.exists():
            continue
        cells = json.loads(notebook.read_text())["cells"]
        if _NOTEBOOK_CALLS.get(path, 0) < sum(cell["cell_type"] == "code" for cell in cells):
            continue  # only part of the notebook ran (-k, a deselected cell): nothing to compare
        stated = stated_runtime("".join(cells[0]["source"])) if cells else None
        if stated is not None and not runtime_agrees(stated, seconds):
            problems.append(f"{path}: its runtime line says {stated[0]:.0f}-{stated[1]:.0f} s, its cells took "
                            f"{seconds:.0f} s here (more than a factor of 2 apart)")
    return problems


def pytest_sessionfinish(session, exitstatus):
    if hasattr(session.config, "workerinput"):  # an xdist worker: the controller checks
        return
    problems = runtime_mismatches()
    session.config._runtime_problems = problems
    if problems and session.exitstatus == 0:
        session.exitstatus = 1


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    timed = {path: seconds for path, seconds in _NOTEBOOK_SECONDS.items() if path not in _NOTEBOOK_UNFINISHED}
    if timed:
        terminalreporter.section("notebook running times (the sum of nbval's cell durations)")
        for path, seconds in sorted(timed.items()):
            terminalreporter.write_line(f"{path}: {seconds:.0f} s")
    for problem in getattr(config, "_runtime_problems", []):
        terminalreporter.write_line(f"RUNTIME LINE WRONG: {problem}", red=True)
