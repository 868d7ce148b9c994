"""Provenance of a run: the code's commit and versions, the command that started it, the device.

Every results file's header and record carries these (:mod:`scalinglaws.sweeps.runner`), so a
committed number can be traced to the code, command and processor that produced it.
"""

from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

from scalinglaws.training.train import Engine


def git_commit() -> str:
    """The scalinglaws checkout's commit (with '+dirty' if files differ), or 'unknown'."""
    here = Path(__file__).resolve().parents[1]  # the whole package, not only this layer
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True,
                                timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "."], cwd=here, capture_output=True,
                               text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return commit + ("+dirty" if dirty else "")


def versions() -> dict:
    return {"python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__,
            "scalinglaws": git_commit()}


def command_line() -> str:
    """The command that started this process, without machine-specific paths."""
    path = Path(sys.argv[0])
    program = path.name
    package = Path(__file__).resolve().parents[1]
    if program == "__main__.py":  # python -m scalinglaws ...
        program = "-m scalinglaws"
    elif path.resolve().is_relative_to(package):  # python -m scalinglaws.sweeps.tuning ...
        program = "-m " + ".".join(("scalinglaws", *path.resolve().relative_to(package).with_suffix("").parts))
    if "ipykernel" in program:  # a notebook's kernel: its arguments name a private connection file
        return "run_sweep(...) in a Jupyter notebook"
    return " ".join(["python", program, *sys.argv[1:]])


def device_name(engine: Engine) -> str:
    """The GPU's name, or the CPU's model name (Linux's /proc/cpuinfo), or at least its architecture."""
    if engine.device.startswith("cuda"):
        return torch.cuda.get_device_name()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
