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
