"""The package installed alone, outside the checkout, still has the book's committed results.

A student who runs ``pip install .`` or ``pip install "git+<repository>"`` (or opens Binder) gets
a wheel, not the checkout. ``pyproject.toml`` maps the data-only package
``scalinglaws.data.committed`` to ``results/``, so the wheel carries the committed results files
that the chapters read through :func:`scalinglaws.data.committed_results.sweep_results`, with one
copy of them in git. These tests build that wheel from the checkout's files, check that it holds
those files byte for byte (and every module of ``src/``, since ``pyproject.toml`` lists the
packages by hand), then install it with ``--no-deps`` into a fresh virtual environment (no system
site-packages) and look every committed name up from a folder outside the checkout, with no data
mirror and the network refused.

The fresh environment holds the package and nothing else (no numpy, no tqdm): the lookup needs
only the standard library (``committed_results`` imports ``download``, which needs tqdm, only for
a download), and the test checks that importing it loads neither numpy nor tqdm.

No network: the wheel is built with ``--no-build-isolation --no-index``, using the setuptools of
the environment running the tests. An environment without setuptools>=68 (``python -m venv`` on
Python 3.12+ installs none) builds it in pip's isolated environment instead, which fetches
setuptools from the package registry, as ``pip install -e .`` did when that environment was set up.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

from scalinglaws.data import committed_results
from scalinglaws.data.download import CACHE_ENV, MIRROR_ENV

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src" / "scalinglaws"
RESULTS = REPO / "results"
#: Where a wheel puts the committed results (the data-only package scalinglaws.data.committed).
PACKAGED = "scalinglaws/data/committed/"
#: Committed files a chapter reads through the package besides the results.jsonl of RESULTS_SHA256:
#: chapter 13 reads each prediction beside its held-out results (sweep_results("heldout").parent and
#: sweep_results("wide-heldout").parent), and the wide sweep's fit its saved redraws beside its results
#: (sweep_results("wide").parent).
EXTRA_FILES = ("heldout/prediction.json", "wide-heldout/prediction.json", "wide/redraws.json")
EXPECTED = sorted([f"{name}/results.jsonl" for name in committed_results.RESULTS_SHA256] + list(EXTRA_FILES))


def quiet_env(**extra: str) -> dict[str, str]:
    """This environment without a data mirror or PYTHONPATH, pip told to stay quiet and offline."""
    env = {key: value for key, value in os.environ.items()
           if key not in (MIRROR_ENV, "PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    return {**env, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1", **extra}


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def has_setuptools() -> bool:
    try:
        return int(metadata.version("setuptools").split(".")[0]) >= 68
    except (metadata.PackageNotFoundError, ValueError):
        return False


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel built from a copy of the checkout's package files (pip builds in the source tree, and
    its build/ folder must not land in the checkout), as `pip install .` would build it."""
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, source / name)
    skip = shutil.ignore_patterns("__pycache__", "*.egg-info", "checkpoints", ".*")
    shutil.copytree(REPO / "src", source / "src", ignore=skip)
    shutil.copytree(RESULTS, source / "results", ignore=skip)
    out = tmp_path_factory.mktemp("wheel")
    isolation = ["--no-build-isolation", "--no-index"] if has_setuptools() else []
    run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "-q", "-w", str(out), *isolation],
        env=quiet_env())
    (built,) = out.glob("scalinglaws-*.whl")
    return built


def test_the_wheel_carries_the_committed_results_byte_for_byte(wheel):
    with zipfile.ZipFile(wheel) as archive:
        carried = sorted(name[len(PACKAGED):] for name in archive.namelist() if name.startswith(PACKAGED))
        assert carried == EXPECTED, (
            "the wheel's committed results differ from RESULTS_SHA256 (+ EXTRA_FILES): edit "
            "[tool.setuptools.package-data] \"scalinglaws.data.committed\" in pyproject.toml")
        for name in carried:
            assert archive.read(PACKAGED + name) == (RESULTS / name).read_bytes(), f"{name} differs from results/{name}"


def test_the_wheel_carries_every_module_of_src_and_no_code_from_results(wheel):
    """pyproject.toml lists the packages by hand: a new subpackage of src/ must be added there."""
    in_src = sorted(str(path.relative_to(SRC.parent)) for path in SRC.rglob("*.py") if "__pycache__" not in path.parts)
    with zipfile.ZipFile(wheel) as archive:
        in_wheel = sorted(name for name in archive.namelist() if name.endswith(".py"))
        assert in_wheel == in_src, "add the missing package to [tool.setuptools] packages in pyproject.toml"
        manifests = sorted(path.name for path in (SRC / "data" / "manifests").glob("*.txt"))
        assert manifests and all(f"scalinglaws/data/manifests/{name}" in archive.namelist() for name in manifests)


@pytest.fixture(scope="module")
def fresh_venv(wheel, tmp_path_factory) -> Path:
    """A new virtual environment (no system site-packages) holding the wheel and nothing else."""
    venv = tmp_path_factory.mktemp("venv")
    run([sys.executable, "-m", "venv", "--clear", str(venv)], env=quiet_env())
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", "-q", str(wheel)], env=quiet_env())
    return python


LOOKUP = """
import json, socket, sys, sysconfig

def refuse(*args, **kwargs):
    raise OSError("this lookup must not use the network")

socket.socket = refuse
socket.create_connection = refuse
from scalinglaws.data import committed_results
paths = {name: str(committed_results.sweep_results(name)) for name in committed_results.RESULTS_SHA256}
print(json.dumps({"site_packages": sysconfig.get_paths()["purelib"], "module": committed_results.__file__,
                  "paths": paths, "loaded": sorted(m for m in ("numpy", "tqdm", "torch") if m in sys.modules)}))
"""


def test_the_installed_wheel_finds_every_committed_result_without_checkout_or_network(fresh_venv, tmp_path):
    outside = tmp_path / "elsewhere"  # a folder outside the checkout, with an empty download cache
    outside.mkdir()
    result = run([str(fresh_venv), "-I", "-c", LOOKUP], cwd=outside,
                 env=quiet_env(**{CACHE_ENV: str(outside / "cache")}))
    found = json.loads(result.stdout)
    site_packages = Path(found["site_packages"]).resolve()
    assert Path(found["module"]).resolve().is_relative_to(site_packages), "imported the checkout's module, not the wheel's"
    assert found["loaded"] == [], f"the lookup imported {found['loaded']}: it must need only the standard library"
    assert sorted(found["paths"]) == sorted(committed_results.RESULTS_SHA256)
    for name, path in found["paths"].items():
        path = Path(path).resolve()
        assert path.is_relative_to(site_packages / "scalinglaws" / "data" / "committed"), f"{name}: {path}"
        assert path.read_bytes() == (RESULTS / name / "results.jsonl").read_bytes(), name
    for name in EXTRA_FILES:
        beside = Path(found["paths"][name.split("/")[0]]).parent / Path(name).name
        assert beside.read_bytes() == (RESULTS / name).read_bytes(), name
    assert not (outside / "cache").exists(), "nothing may be downloaded"


# The lookup's order and its hash check, in this process (no wheel needed).

@pytest.fixture
def no_checkout(tmp_path, monkeypatch):
    """sweep_results as an installed package sees it: no checkout, its copy in ``tmp_path/packaged``,
    and any download refused (an unreachable mirror)."""
    monkeypatch.setattr(committed_results, "CHECKOUT", tmp_path / "no-checkout")
    monkeypatch.setattr(committed_results, "PACKAGED", tmp_path / "packaged")
    monkeypatch.setenv(MIRROR_ENV, str(tmp_path / "no-mirror"))
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "packaged"


def test_without_a_checkout_the_packaged_copy_is_used(no_checkout):
    copy = no_checkout / "pilot" / "lr" / "results.jsonl"
    copy.parent.mkdir(parents=True)
    copy.write_bytes((RESULTS / "pilot" / "lr" / "results.jsonl").read_bytes())
    assert committed_results.sweep_results("pilot/lr") == copy


def test_a_packaged_copy_that_is_not_the_books_is_refused_clearly(no_checkout):
    copy = no_checkout / "demo" / "results.jsonl"
    copy.parent.mkdir(parents=True)
    copy.write_bytes((RESULTS / "demo" / "results.jsonl").read_bytes() + b"\n")
    expected = hashlib.sha256(copy.read_bytes()).hexdigest()
    with pytest.raises(ValueError, match=f"copy of results/demo/results.jsonl has sha256 {expected}.*reinstall"):
        committed_results.sweep_results("demo")
