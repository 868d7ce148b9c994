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


#: Counting conventions of :func:`results_to_runs`: what N is, and how C is counted.
PARAMS_CONVENTIONS = ("total", "non_embedding")
FLOPS_CONVENTIONS = ("6nd", "appendix_f")


def _check_convention(kind: str, value: str, valid: tuple[str, ...]) -> None:
    if value not in valid:
        raise ValueError(f"unknown {kind} convention {value!r}; choose one of: {', '.join(valid)}")


def run_counts(record: dict, params: str = "total", flops: str = "6nd") -> tuple[float, float]:
    """(N, C) of one run record under a counting convention.

    ``params``: ``"total"``, every weight (Hoffmann et al. 2022), or ``"non_embedding"``, all but
    the token and position embeddings (Kaplan et al. 2020, Section 2.1). ``flops``: ``"6nd"``,
    C = 6 N D with N in the chosen convention (Hoffmann Section 3 with total N; Kaplan
    Section 2.1 with non-embedding N), or ``"appendix_f"``, every matmul and the softmax with
    the embedding and logit terms (Hoffmann Appendix F, :func:`counting.chinchilla_flops_per_token`),
    which does not depend on ``params``.
    """
    _check_convention("params", params, PARAMS_CONVENTIONS)
    _check_convention("flops", flops, FLOPS_CONVENTIONS)
    n = float(record["params_total"] if params == "total" else record["params_non_embedding"])
    c = 6.0 * n * float(record["tokens"]) if flops == "6nd" else float(record["flops_appendix_f"])
    return n, c


def results_to_runs(path, params: str = "total", flops: str = "6nd") -> Runs:
    """Convert a sweep's results into the fitting toolkit's :class:`Runs`.

    N and C follow :func:`run_counts`; the default is Hoffmann's convention (total
    parameters, C = 6ND). Budget labels: the grid's nominal IsoFLOP budget (set in 6ND with
    total N), scaled by the geometric mean, over that budget's runs, of this convention's C
    over the record's 6ND; in the default convention that ratio is 1 and the label is the
    nominal budget. Curves are included; diverged runs are kept and flagged (their loss is
    NaN, and the fits leave them out).
    """
    _check_convention("params", params, PARAMS_CONVENTIONS)
    _check_convention("flops", flops, FLOPS_CONVENTIONS)
    _, records = load_results(path)
    if not records:
        raise ValueError(f"{path} holds no finished runs yet; expected at least one run record")
    counts = [run_counts(record, params, flops) for record in records]
    log_ratios: dict[float, list[float]] = {}
    for record, (_, c) in zip(records, counts):
        log_ratios.setdefault(float(record["budget"]), []).append(math.log(c / float(record["flops_6nd"])))
    label = {budget: budget * math.exp(sum(values) / len(values)) for budget, values in log_ratios.items()}
    runs = []
    for record, (n, c) in zip(records, counts):
        has_curve = len(record["curve_tokens"]) > 0
        runs.append(Run(
            name=record["run_id"],
            params=n,
            tokens=float(record["tokens"]),
            flops=c,
            loss=float(record["final_loss"]) if record["final_loss"] is not None else math.nan,
            budget=label[float(record["budget"])],
            curve_tokens=record["curve_tokens"] if has_curve else None,
            curve_loss=record["curve_loss"] if has_curve else None,
            non_embedding_params=float(record["params_non_embedding"]),
            diverged=bool(record["diverged"]),
        ))
    return Runs(tuple(runs))


def format_records_table(records: list[dict]) -> str:
    """A Markdown table of finished runs, by budget then size: what the results READMEs show."""
    lines = ["| budget | layers | width | N | batch | peak lr | D/N | steps | final loss | wall s |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    order = sorted(records, key=lambda r: (r["budget"], r["params_total"], r["batch_size"], r["learning_rate"]))
    for r in order:
        loss = "diverged" if r["diverged"] else f"{r['final_loss']:.4f}"
        lines.append(f"| {r['budget']:.0e} | {r['shape']['n_layers']} | {r['shape']['d_model']} "
                     f"| {r['params_total']:,} | {r['batch_size']} | {r['learning_rate']:.3g} "
                     f"| {r['tokens'] / r['params_total']:.0f} | {r['steps']} | {loss} | {r['wall_time_s']:.0f} |")
    return "\n".join(lines)
