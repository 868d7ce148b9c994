"""The append-only results file of a sweep: ``<out>/results.jsonl``.

Line 1 is a header record (``"kind": "header"``): the preset, a hash of the exact grid and
training settings, the run ids with their settings hashes, the command and the creation
time. Every further line is ONE finished run (``"kind": "run"``), appended, flushed and
fsynced as soon as the run ends, so ``kill -9`` at any moment loses at most the run in
flight. A last line cut short by such a kill (or by a full disk) is detected on load and
dropped (its run is redone); nothing before it is ever rewritten, and a file damaged in any
other way is refused, unchanged. One process writes a file at a time (:func:`locked`).

A sweep split with ``--shard K/N`` writes ``<out>/results.shard-K-of-N.jsonl`` instead, with
the full grid's header plus ``"shard": "K/N"``; :func:`load_results` of the directory reads
all of its files as one sweep.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: results files are read as anywhere, but not locked
    fcntl = None

from scalinglaws.data.download import atomic_writer
from scalinglaws.data.runs import Run, Runs

RESULTS_NAME = "results.jsonl"


class ResultsMismatchError(ValueError):
    """A results file that belongs to another preset or to a different grid."""


class DamagedResultsError(ValueError):
    """A results file with a line that no interrupted write can explain; it is never changed."""


class ResultsBusyError(BlockingIOError):
    """Another process holds the lock of a results file (an OSError, so the CLI prints it in one line)."""


_SHARD_FORM = "a shard is K/N with 1 <= K <= N (e.g. 1/2), got {!r}"


@dataclass(frozen=True)
class Shard:
    """Part K of N of a grid: the runs at positions i (0-based, in grid order) with i % N == K - 1.

    Shards of one grid run as separate processes, even on separate machines, into one
    directory: each writes ``results.shard-K-of-N.jsonl`` under its own lock, and
    :func:`load_results` of the directory reads them together.
    """

    index: int  # K, from 1
    count: int  # N

    def __post_init__(self):
        if not 1 <= self.index <= self.count:
            raise ValueError(_SHARD_FORM.format(f"{self.index}/{self.count}"))

    @classmethod
    def parse(cls, text: str) -> "Shard":
        """``"K/N"``, as ``--shard`` takes it."""
        match = re.fullmatch(r"(\d+)/(\d+)", text.strip())
        if match is None:
            raise ValueError(_SHARD_FORM.format(text))
        return cls(int(match.group(1)), int(match.group(2)))

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    @property
    def results_name(self) -> str:
        return f"results.shard-{self.index}-of-{self.count}.jsonl"

    def select(self, items: list) -> list:
        """The items at this shard's positions: the same subset for the same grid, every time."""
        return items[self.index - 1::self.count]

    def size(self, total: int) -> int:
        """How many of ``total`` grid positions fall in this shard."""
        return len(range(self.index - 1, total, self.count))


#: The results files of one sweep directory: the unsharded file and every shard's file.
SHARD_GLOB = "results.shard-*-of-*.jsonl"


def settings_digest(value) -> str:
    """A short, stable name for JSON-able settings: a run's settings hash, a grid's hash, a WSD
    trunk's key (the first 16 hex digits of the sha256 of their sorted-key JSON)."""
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:16]


def results_name(shard: Shard | None) -> str:
    return RESULTS_NAME if shard is None else shard.results_name


def _damaged(path: Path, number: int, problem: str, line: bytes) -> DamagedResultsError:
    return DamagedResultsError(
        f"{path}, line {number}: {problem} (it reads {line[:60]!r}); no interrupted write leaves that, so the "
        "file was left unchanged: repair or delete it, or choose a new --out directory")


def _parse_record(path: Path, number: int, line: bytes) -> dict:
    try:
        record = json.loads(line)
    except ValueError:  # not JSON, or not UTF-8
        raise _damaged(path, number, "not a JSON record", line) from None
    if not isinstance(record, dict):
        raise _damaged(path, number, "not a JSON record", line)
    return record


def _is_record_start(tail: bytes) -> bool:
    """Whether ``tail`` can be the start of a line :func:`append_record` wrote: ``{`` and printable
    ASCII only (``json.dumps`` escapes everything else)."""
    return tail.startswith(b"{") and all(0x20 <= byte < 0x7F for byte in tail)


def _parse_lines(path: Path) -> tuple[list[dict], int]:
    """Records of every complete line, and the byte length of that complete prefix.

    Only one thing is forgiven: a last line with no newline that starts like a record, after
    a valid header line, which is what ``kill -9`` or a full disk leaves mid-write; it is
    left out and the prefix ends before it. Anything else (a first line that is not a header,
    a complete line that is not JSON, bytes that no record holds) raises
    :class:`DamagedResultsError` naming the line.
    """
    data = path.read_bytes()
    *complete, tail = data.split(b"\n")  # tail: what follows the last newline (b"" if the file ends in one)
    records = [_parse_record(path, number, line) for number, line in enumerate(complete, 1)]
    if (complete or tail) and not (records and records[0].get("kind") == "header"):
        raise _damaged(path, 1, "not a sweep header record, which every results file starts with",
                       complete[0] if complete else tail)
    if tail and not _is_record_start(tail):
        raise _damaged(path, len(complete) + 1, "the last line is cut short but is not the start of a record", tail)
    return records, len(data) - len(tail)


def _check_unique_runs(loaded: list[tuple[Path, list[dict]]]) -> None:
    """Refuse a run recorded twice: two sweeps writing one file, or two files of a directory."""
    seen: dict[str, Path] = {}
    for path, records in loaded:
        for record in records:
            run_id = record["run_id"]
            if run_id in seen:
                where = f"twice in {path}" if seen[run_id] == path else f"in {seen[run_id]} and {path}"
                raise DamagedResultsError(f"run {run_id} is recorded {where}; each run must be recorded once")
            seen[run_id] = path


def _load_file(path: Path) -> tuple[dict, list[dict]]:
    if not path.exists():
        raise FileNotFoundError(f"no results file at {path}: run `python -m scalinglaws sweep --preset NAME` first")
    records, _ = _parse_lines(path)
    if not records:
        raise DamagedResultsError(f"{path} is empty; a results file starts with a sweep header record")
    return records[0], [record for record in records[1:] if record.get("kind") == "run"]


def results_files(directory: Path) -> list[Path]:
    """The results files in ``directory``: ``results.jsonl`` if present, then the shards' in name order."""
    directory = Path(directory)
    plain = [directory / RESULTS_NAME] if (directory / RESULTS_NAME).exists() else []
    return plain + sorted(directory.glob(SHARD_GLOB))


def _one_grid(directory: Path, headers: list[tuple[Path, dict]]) -> dict:
    """The grid's header, after checking that every file of ``directory`` is of that grid."""
    first_path, first = headers[0]
    for path, header in headers[1:]:
        if (header.get("preset"), header.get("grid_hash")) != (first.get("preset"), first.get("grid_hash")):
            raise ResultsMismatchError(
                f"{directory} mixes two sweeps: {first_path.name} holds preset {first.get('preset')!r} (grid hash "
                f"{first.get('grid_hash')}), {path.name} preset {header.get('preset')!r} (grid hash "
                f"{header.get('grid_hash')}); move one of them to another directory")
    return {key: value for key, value in first.items() if key != "shard"}


def load_results(path) -> tuple[dict, list[dict]]:
    """The header and the finished-run records of a results file or of a sweep directory.

    A directory's ``results.jsonl`` and shard files (``results.shard-K-of-N.jsonl``) are read
    together: they must be of one grid, no run may be recorded twice, and the header returned
    is the full grid's (without a shard's ``"shard"`` field). A truncated last line is dropped.
    """
    path = Path(path)
    files = results_files(path) if path.is_dir() else [path]
    if not files:
        raise FileNotFoundError(f"no results file in {path} (neither {RESULTS_NAME} nor {SHARD_GLOB}): "
                                "run `python -m scalinglaws sweep --preset NAME` first")
    loaded = [(file, *_load_file(file)) for file in files]
    _check_unique_runs([(file, records) for file, _, records in loaded])
    if not path.is_dir():
        return loaded[0][1], loaded[0][2]
    header = _one_grid(path, [(file, header) for file, header, _ in loaded])
    return header, [record for _, _, records in loaded for record in records]


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


def _lock_holder(fd: int, wait_s: float = 1.0) -> str:
    """The process id the holder wrote into the lock file, as ' (process N)', or ''.

    The holder writes its pid just after taking the lock, so a sweep refused in between reads
    an empty file (or a half-written number): it looks again for up to ``wait_s`` seconds."""
    deadline = time.monotonic() + wait_s
    while True:
        text = os.pread(fd, 32, 0).decode(errors="replace")
        if text.endswith("\n") and text.strip().isdigit():
            return f" (process {text.strip()})"
        if time.monotonic() >= deadline:
            return ""
        time.sleep(0.02)


@contextmanager
def locked(path: Path):
    """Hold an exclusive lock on results file ``path`` for the ``with`` block, or refuse at once.

    One writer per results file: two sweeps appending to one file would train and record
    every run twice. The lock is ``flock`` on ``.<name>.lock`` beside the file (the file
    itself may not exist yet); the kernel drops it when the holder exits, even by kill -9, so
    a stale lock file is harmless. Without ``fcntl`` (Windows) nothing is locked.
    """
    if fcntl is None:
        yield
        return
    lock_path = path.with_name(f".{path.name}.lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ResultsBusyError(
                f"another sweep{_lock_holder(fd)} is writing {path.name} in {path.parent}: wait for it to finish; "
                "to train one grid in parallel, give each process its own --shard K/N") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock


@contextmanager
def directory_locked(directory: Path):
    """Wait for an exclusive lock on ``directory`` itself: for the short updates that every shard
    of a sweep makes to one shared file (its README.md), so that the last one written is current."""
    if fcntl is None:
        yield
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def write_atomically(path: Path, data: bytes) -> None:
    """Make ``path`` hold ``data``, all at once and durably: a crash or a full disk leaves the old
    file or the new one, never a part (a header cut short is damage that no later run could
    repair). The temporary file and rename are :func:`download.atomic_writer`'s."""
    with atomic_writer(path) as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def write_new(path: Path, record: dict) -> None:
    """Create ``path`` holding the one line ``record`` (a header), atomically."""
    write_atomically(path, _line(record))


def _line(record: dict) -> bytes:
    return (json.dumps(record, sort_keys=True, allow_nan=True) + "\n").encode()


def append_record(path: Path, record: dict) -> None:
    """Append one JSON line and make it durable before returning."""
    with open(path, "ab") as handle:
        handle.write(_line(record))
        handle.flush()
        os.fsync(handle.fileno())


def check_header(path: Path, existing: dict, wanted: dict) -> None:
    """Refuse a results file from another preset or an edited grid, saying what differs."""
    advice = f"Choose a new --out directory, or delete {path} to start this sweep over."
    if existing.get("preset") != wanted["preset"]:
        raise ResultsMismatchError(
            f"{path} holds results of preset {existing.get('preset')!r}, not {wanted['preset']!r}. {advice}")
    if existing.get("shard") != wanted.get("shard"):
        raise ResultsMismatchError(f"{path} holds shard {existing.get('shard') or '(none)'} of preset "
                                   f"{wanted['preset']!r}, not shard {wanted.get('shard') or '(none)'}. {advice}")
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
    _, records = load_results(path)
    if not records:
        raise ValueError(f"{path} holds no finished runs yet; expected at least one run record")
    return records_to_runs(records, params, flops)


def records_to_runs(records: list[dict], params: str = "total", flops: str = "6nd") -> Runs:
    """:func:`results_to_runs` of run records already in hand (seed means, a resample of seeds)."""
    _check_convention("params", params, PARAMS_CONVENTIONS)
    _check_convention("flops", flops, FLOPS_CONVENTIONS)
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
