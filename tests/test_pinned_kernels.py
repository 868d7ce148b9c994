"""The tests run with the same AVX2 kernels on every processor (tests/conftest.py, PINNED_KERNELS)."""

import json
import os
import subprocess
import sys

from conftest import PINNED_KERNELS


def test_this_process_and_its_children_have_the_pinned_kernels():
    for name, value in PINNED_KERNELS.items():
        assert os.environ.get(name) == value, f"{name} is not pinned: run the tests with `make test`"


def test_numpy_runs_no_avx512_kernel():
    """What a notebook's kernel sees: numpy started from this environment has every AVX-512 dispatch
    target switched off (numpy dispatches by target, X86_V3 being AVX2; the AVX512F flag itself
    stays set on a machine that has it)."""
    code = ("from numpy._core._multiarray_umath import __cpu_features__ as f, __cpu_dispatch__ as d; "
            "import json; print(json.dumps(sorted(t for t in d if f.get(t))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    enabled = json.loads(out)
    assert not set(enabled) & set(PINNED_KERNELS["NPY_DISABLE_CPU_FEATURES"].split()), enabled
