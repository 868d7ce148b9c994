"""The append-only results file of a sweep: ``<out>/results.jsonl``.

Line 1 is a header record (``"kind": "header"``): the preset, a hash of the exact grid and
training settings, the run ids with their settings hashes, the command and the creation
time. Every further line is ONE finished run (``"kind": "run"``), appended, flushed and
fsynced as soon as the run ends, so ``kill -9`` at any moment loses at most the run in
flight. A last line cut short by such a kill is detected on load and dropped (its run is
redone); nothing before it is ever rewritten.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

from .runs import Run, Runs

RESULTS_NAME = "results.jsonl"


class ResultsMismatchError(ValueError):
    """A results file that belongs to another preset or to a different grid."""


def _parse_lines(path: Path) -> tuple[list[dict], int]:
    """Records of every complete line, and the byte length of that complete prefix.

    A line without its newline, or one that is not valid JSON, can only be the last line
    (a write cut short); it is left out and the prefix ends before it.
    """
    data = path.read_bytes()
    records, good_bytes, position = [], 0, 0
    while position < len(data):
        end = data.find(b"\n", position)
        if end < 0:
            break  # no newline: truncated last line
        try:
            records.append(json.loads(data[position:end]))
        except json.JSONDecodeError:
            if data[end + 1:].strip():
                raise ValueError(f"{path}: line {len(records) + 1} is not valid JSON and is not the last line; "
                                 "the file is damaged: delete it or choose a new --out directory") from None
            break
        position = end + 1
        good_bytes = position
    return records, good_bytes


def load_results(path) -> tuple[dict, list[dict]]:
    """The header and the finished-run records of a results file (a truncated last line dropped)."""
    path = Path(path)
    if path.is_dir():
        path = path / RESULTS_NAME
    if not path.exists():
        raise FileNotFoundError(f"no results file at {path}: run `python -m scalinglaws sweep --preset NAME` first")
    records, _ = _parse_lines(path)
    if not records or records[0].get("kind") != "header":
        raise ValueError(f"{path} does not start with a sweep header record; is it a results.jsonl of a sweep?")
    return records[0], [record for record in records[1:] if record.get("kind") == "run"]


def repair(path: Path) -> int:
    """Cut a truncated last line off ``path`` (the only change ever made to old bytes); returns bytes cut."""
    _, good_bytes = _parse_lines(path)
    cut = path.stat().st_size - good_bytes
    if cut:
        with open(path, "r+b") as handle:
            handle.truncate(good_bytes)
            handle.flush()
            os.fsync(handle.fileno())
    return cut


def append_record(path: Path, record: dict) -> None:
    """Append one JSON line and make it durable before returning."""
    line = json.dumps(record, sort_keys=True, allow_nan=True) + "\n"
    with open(path, "ab") as handle:
        handle.write(line.encode())
        handle.flush()
        os.fsync(handle.fileno())


def check_header(path: Path, existing: dict, wanted: dict) -> None:
    """Refuse a results file from another preset or an edited grid, saying what differs."""
    advice = f"Choose a new --out directory, or delete {path} to start this sweep over."
    if existing.get("preset") != wanted["preset"]:
        raise ResultsMismatchError(
            f"{path} holds results of preset {existing.get('preset')!r}, not {wanted['preset']!r}. {advice}")
    if existing.get("grid_hash") == wanted["grid_hash"]:
        return
    old, new = existing.get("runs", {}), wanted["runs"]
    added = sorted(set(new) - set(old))
    removed = sorted(set(old) - set(new))
    changed = sorted(run for run in set(old) & set(new) if old[run] != new[run])
    parts = [f"{len(items)} {what} (e.g. {items[0]})" for what, items in
             (("runs added", added), ("runs removed", removed), ("runs with changed settings", changed)) if items]
    detail = "; ".join(parts) or "the training settings differ"
    raise ResultsMismatchError(
        f"{path} was written for a different grid of preset {wanted['preset']!r} "
        f"(grid hash {existing.get('grid_hash')} there, {wanted['grid_hash']} now): {detail}. {advice}")


def results_to_runs(path) -> Runs:
    """Convert a sweep's results into the fitting toolkit's :class:`Runs`.

    N is total parameters and C = 6ND (Hoffmann's convention); the budget label is the
    nominal IsoFLOP budget of the grid; curves are included; diverged runs are kept and
    flagged (their loss is NaN, and the fits leave them out).
    """
    _, records = load_results(path)
    if not records:
        raise ValueError(f"{path} holds no finished runs yet")
    runs = []
    for record in records:
        has_curve = len(record["curve_tokens"]) > 0
        runs.append(Run(
            name=record["run_id"],
            params=float(record["params_total"]),
            tokens=float(record["tokens"]),
            flops=float(record["flops_6nd"]),
            loss=float(record["final_loss"]) if record["final_loss"] is not None else math.nan,
            budget=float(record["budget"]),
            curve_tokens=record["curve_tokens"] if has_curve else None,
            curve_loss=record["curve_loss"] if has_curve else None,
            non_embedding_params=float(record["params_non_embedding"]),
            diverged=bool(record["diverged"]),
        ))
    return Runs(tuple(runs))
