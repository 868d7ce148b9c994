"""Comparing trained numbers with the ones a page or a results file recorded.

Training is deterministic on one machine: the same seed, the same batches and one thread
give the same losses, bit for bit. Across processors it is not. Their matrix and attention
kernels round differently (an Intel Xeon with AMX and an AMD EPYC take different code paths
through the same PyTorch), and training amplifies a difference in the last bit the way a
change of seed would. So a chapter that trains live compares its losses with the recorded
ones within a stated tolerance, and compares exactly only what is deterministic.

The tolerances are set in the chapters, next to the measurement they rest on
(``results/cross-cpu/README.md``); this module only does the comparison and says clearly
what failed.

A held-out prediction is trusted only if it was made before its test runs. Inside a git checkout
of the book, :func:`prediction_provenance` reads that order from the repository's history: the
commit that added ``prediction.json``, the first commit that held a test result, and the code
version each run recorded.
"""

from __future__ import annotations

import math
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path


def _as_mapping(values, what: str) -> dict:
    """A scalar, a sequence or a mapping, as ``{key: float}`` (a scalar's key is ``what``)."""
    if isinstance(values, Mapping):
        return {key: float(value) for key, value in values.items()}
    if isinstance(values, Sequence) and not isinstance(values, str):
        return {index: float(value) for index, value in enumerate(values)}
    return {what: float(values)}


def largest_difference(live, reference) -> float:
    """max |live - reference| over matching keys (or positions); NaN anywhere gives NaN.

    ``live`` and ``reference`` are both scalars, both sequences of one length, or both
    mappings with the same keys; anything else raises ``ValueError``, since a comparison of
    mismatched things would say nothing.
    """
    live_values, reference_values = _as_mapping(live, "value"), _as_mapping(reference, "value")
    if live_values.keys() != reference_values.keys():
        missing = sorted(map(str, reference_values.keys() - live_values.keys()))
        extra = sorted(map(str, live_values.keys() - reference_values.keys()))
        raise ValueError(f"cannot compare: keys differ (only in the reference: {missing[:3]}, "
                         f"only in the live values: {extra[:3]})")
    if not live_values:
        raise ValueError("cannot compare: no values")
    gaps = [abs(live_values[key] - reference_values[key]) for key in live_values]
    return math.nan if any(math.isnan(gap) for gap in gaps) else max(gaps)


def check_within(what: str, live, reference, tolerance: float) -> float:
    """Assert that ``live`` matches ``reference`` within ``tolerance``; return the largest difference.

    Raises ``AssertionError`` naming ``what``, the tolerance and the worst value (its key,
    live and reference), so a failing notebook cell says what moved and by how much.
    """
    if not tolerance >= 0:
        raise ValueError(f"the tolerance must be a non-negative number, got {tolerance!r}")
    gap = largest_difference(live, reference)
    if not gap <= tolerance:  # also catches NaN
        live_values, reference_values = _as_mapping(live, what), _as_mapping(reference, what)
        worst = max(live_values, key=lambda key: (math.isnan(live_values[key] - reference_values[key]),
                                                  abs(live_values[key] - reference_values[key])))
        raise AssertionError(
            f"{what}: differs from the reference by {gap:.4g}, more than the tolerance {tolerance:g} "
            f"(worst: {worst}: live {live_values[worst]!r}, reference {reference_values[worst]!r})")
    return gap


def _git(cwd: Path, *args: str) -> str | None:
    """``git args`` run in ``cwd``: its output, or None outside a git checkout (or without git)."""
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _commits(cwd: Path, *args: str) -> list[tuple[str, str]] | None:
    """``(commit, committer date)`` pairs from ``git log args``, oldest first; None without git history."""
    out = _git(cwd, "log", "--format=%H %cI", *args)
    if not out:
        return None
    return [tuple(line.split(" ", 1)) for line in reversed(out.splitlines())]


def _is_ancestor(cwd: Path, older: str, newer: str) -> bool:
    return _git(cwd, "merge-base", "--is-ancestor", older, newer) is not None


def files_changed(cwd: Path, older: str, newer: str, under: str = "src") -> list[str] | None:
    """The files under ``under`` (a folder from the repository's top; "" for all of it) that differ between
    commits ``older`` and ``newer``, e.g. whether the training code changed between two runs' code
    versions; None without git."""
    out = _git(cwd, "diff", "--name-only", older, newer, "--", f":(top){under}")
    return None if out is None else out.split()


@dataclass(frozen=True)
class Provenance:
    """When a held-out prediction was committed, against when its test runs were trained and committed.

    The git fields are None outside a git checkout of the book (an installed package, a download).
    """

    runs: int
    trained_by: tuple[str, ...]  # the code commits the runs recorded ("+dirty" stripped)
    dirty: bool  # whether any run's checkout had uncommitted changes under the package
    runs_started: str  # the results header's "created" time
    last_finished: str
    predicted_in: str | None = None  # the commit that added prediction.json
    predicted_at: str | None = None
    changed_since: tuple[str, ...] | None = None  # later commits that changed prediction.json
    first_results_in: str | None = None  # the first commit that held results.jsonl
    first_results_at: str | None = None
    trained_after_prediction: bool | None = None  # every trained_by commit descends from predicted_in

    @property
    def holds(self) -> bool | None:
        """The prediction was committed, unchanged since, before the runs started, before any result was
        committed, and in the history of the code that trained them; None without git history."""
        if self.predicted_in is None or self.first_results_in is None:
            return None
        return bool(not self.changed_since and self.trained_after_prediction
                    and self.predicted_in != self.first_results_in
                    and datetime.fromisoformat(self.predicted_at) <= datetime.fromisoformat(self.runs_started)
                    and datetime.fromisoformat(self.predicted_at) <= datetime.fromisoformat(self.first_results_at))


def prediction_provenance(results_path: Path) -> Provenance:
    """The :class:`Provenance` of ``prediction.json`` beside the held-out runs' ``results_path``."""
    from scalinglaws.data.results import load_results

    results_path = Path(results_path)
    header, records = load_results(results_path)
    if not records:
        raise ValueError(f"{results_path}: needs a header line and at least one run record")
    versions = [r["versions"]["scalinglaws"] for r in records]
    trained_by = tuple(sorted({v.removesuffix("+dirty") for v in versions}))
    known = dict(runs=len(records), trained_by=trained_by, dirty=any(v.endswith("+dirty") for v in versions),
                 runs_started=header["created"], last_finished=max(r["finished"] for r in records))
    here = results_path.parent
    if _git(here, "rev-parse", "--is-shallow-repository") != "false":  # no git, or a clone cut short
        return Provenance(**known)
    added = _commits(here, "--diff-filter=A", "--", "prediction.json")
    results_added = _commits(here, "--diff-filter=A", "--", results_path.name)
    changes = _commits(here, "--", "prediction.json")
    if not added or not results_added or changes is None:
        return Provenance(**known)
    predicted_in, predicted_at = added[0]
    first_results_in, first_results_at = results_added[0]
    return Provenance(**known, predicted_in=predicted_in, predicted_at=predicted_at,
                      changed_since=tuple(c for c, _ in changes if c != predicted_in),
                      first_results_in=first_results_in, first_results_at=first_results_at,
                      trained_after_prediction=all(_is_ancestor(here, predicted_in, c) for c in trained_by))
