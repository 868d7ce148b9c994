"""Fixtures shared by several test files."""

import subprocess
import sys
from pathlib import Path

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
