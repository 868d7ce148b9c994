"""A set of training runs: what the fitting code consumes and the CSV it reads.

One :class:`Run` is one trained model: N total parameters, D training tokens, C training
FLOPs, its final held-out loss, and optionally

- ``budget``: the IsoFLOP budget it belongs to (Hoffmann Section 3.2),
- a loss curve: ``curve_tokens`` (tokens seen at each evaluation) and ``curve_loss`` (held-out
  loss there); the FLOPs at a curve point are ``C * tokens / D``,
- ``non_embedding_params`` (Kaplan's N), and a ``diverged`` flag.

Every check lives in :func:`validate_run`: N, D, C and the loss must be finite and positive
(a diverged run may carry a NaN or infinite loss, since it is never fitted), curves must be
finite, positive, equally long and sorted by tokens. Failures raise ``ValueError`` naming the
run and the field.

CSV format (UTF-8 text; a header row, then one row per run; any column order)::

    params,tokens,flops,loss[,budget][,non_embedding_params][,curve_tokens,curve_loss][,diverged][,name][,seed][,trunk]

- ``params``, ``tokens``, ``flops``, ``loss``: required numbers.
- ``budget``: optional IsoFLOP budget label in FLOPs (leave a cell empty for "none").
- ``non_embedding_params``: optional number.
- ``curve_tokens``, ``curve_loss``: optional, together; space-separated numbers in one field,
  e.g. ``"1e6 2e6 4e6"`` and ``"3.1 2.9 2.8"``.
- ``diverged``: optional ``true``/``false`` (also ``1``/``0``, ``yes``/``no``).
- ``name``: optional label; a row without one is named by its file and line, e.g.
  ``runs.csv line 3`` (the header is line 1).
- ``seed``, ``trunk``: optional labels (any text) of the run's seed and of the WSD trunk it is a
  branch of; a :class:`Run` does not hold them, :func:`read_runs_table` returns them beside the
  runs. A label column that is given must be filled on every row.

Every row has exactly one field per column (leave a field empty for "no value"); each column
appears once. Errors name the file and the line, e.g. ``runs.csv line 3: missing flops, loss``.

Budget grouping. When no run has a ``budget``, :meth:`Runs.budgets` groups runs by compute:
sort them by C; the smallest C not yet grouped opens a budget, which takes every run whose C
is at most ``1 + BUDGET_TOLERANCE`` times that run's C (10%); repeat. A budget's label is
the geometric mean C of its runs. Hoffmann's nine budgets (6e18 ... 3e21) are at least
1.67x apart, so a 10% window never merges two of them and absorbs the few-percent jitter of
a real sweep (where C = 6ND for integer-sized models never hits the target exactly).
"""

from __future__ import annotations

import codecs
import csv
import io
import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

#: Runs whose C differ by at most this fraction share an IsoFLOP budget (see module docstring).
BUDGET_TOLERANCE = 0.10

REQUIRED_COLUMNS = ("params", "tokens", "flops", "loss")
OPTIONAL_COLUMNS = ("budget", "non_embedding_params", "curve_tokens", "curve_loss", "diverged", "name")
#: Optional text columns returned beside the runs by :func:`read_runs_table` (module docstring).
LABEL_COLUMNS = ("seed", "trunk")
_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no", ""}


@dataclass(frozen=True, eq=False)
class Run:
    """One training run (see the module docstring for the fields and their checks)."""

    name: str
    params: float
    tokens: float
    flops: float
    loss: float
    budget: float | None = None
    curve_tokens: np.ndarray | None = field(default=None, repr=False)
    curve_loss: np.ndarray | None = field(default=None, repr=False)
    non_embedding_params: float | None = None
    diverged: bool = False

    def __post_init__(self):
        validate_run(self)

    @property
    def has_curve(self) -> bool:
        return self.curve_tokens is not None

    @property
    def curve_flops(self) -> np.ndarray:
        """FLOPs spent at each curve point: C * tokens_seen / D."""
        if not self.has_curve:
            raise ValueError(f"{self.name} has no loss curve")
        return self.flops * self.curve_tokens / self.tokens


def _check_positive(run_name: str, field_name: str, value, allow_nonfinite: bool = False) -> None:
    if value is None:
        return
    if allow_nonfinite and not math.isfinite(value):
        return
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{run_name}: {field_name} must be a positive finite number, got {value!r}")


def validate_run(run: Run) -> None:
    """All of a run's checks in one place. Raises ValueError naming the run and the field."""
    for name in ("params", "tokens", "flops", "loss", "budget", "non_embedding_params"):
        value = getattr(run, name)
        if value is not None:
            try:
                object.__setattr__(run, name, float(value))
            except (TypeError, ValueError):
                raise ValueError(f"{run.name}: {name} must be a number, got {value!r}") from None
    for name in ("params", "tokens", "flops", "budget", "non_embedding_params"):
        _check_positive(run.name, name, getattr(run, name))
    _check_positive(run.name, "loss", run.loss, allow_nonfinite=run.diverged)
    if (run.curve_tokens is None) != (run.curve_loss is None):
        raise ValueError(f"{run.name}: curve_tokens and curve_loss must be given together")
    if run.curve_tokens is None:
        return
    tokens = np.asarray(run.curve_tokens, dtype=float)
    losses = np.asarray(run.curve_loss, dtype=float)
    object.__setattr__(run, "curve_tokens", tokens)
    object.__setattr__(run, "curve_loss", losses)
    if tokens.ndim != 1 or tokens.shape != losses.shape or tokens.size == 0:
        raise ValueError(f"{run.name}: curve_tokens and curve_loss must be 1-D and equally long, "
                         f"got shapes {tokens.shape} and {losses.shape}")
    for name, values in (("curve_tokens", tokens), ("curve_loss", losses)):
        if run.diverged and name == "curve_loss":
            continue
        if not np.all(np.isfinite(values)) or np.any(values <= 0):
            raise ValueError(f"{run.name}: {name} must be positive finite numbers")
    if np.any(np.diff(tokens) <= 0):
        raise ValueError(f"{run.name}: curve_tokens must be strictly increasing")
    if tokens[-1] > run.tokens * (1 + 1e-6):
        raise ValueError(f"{run.name}: curve_tokens go past the run's tokens "
                         f"({tokens[-1]:.4g} > {run.tokens:.4g})")


def group_budgets(flops, tolerance: float = BUDGET_TOLERANCE) -> np.ndarray:
    """IsoFLOP budget label for each C: the anchored grouping of the module docstring."""
    flops = np.asarray(flops, dtype=float)
    labels = np.empty_like(flops)
    order = np.argsort(flops)
    start = 0
    while start < len(order):
        stop = start
        while stop < len(order) and flops[order[stop]] <= flops[order[start]] * (1 + tolerance):
            stop += 1
        members = order[start:stop]
        labels[members] = math.exp(np.mean(np.log(flops[members])))
        start = stop
    return labels


@dataclass(frozen=True, eq=False)
class Runs:
    """An ordered, immutable collection of :class:`Run` with array views of its columns."""

    runs: tuple[Run, ...]

    def __post_init__(self):
        object.__setattr__(self, "runs", tuple(self.runs))

    def __len__(self) -> int:
        return len(self.runs)

    def __iter__(self):
        return iter(self.runs)

    def __getitem__(self, index) -> Run:
        return self.runs[index]

    def __add__(self, other: Runs) -> Runs:
        """Both collections, ``self``'s runs first (e.g. two sweeps' results fitted together)."""
        if not isinstance(other, Runs):
            return NotImplemented
        return Runs(self.runs + other.runs)

    def _column(self, name: str) -> np.ndarray:
        return np.array([getattr(run, name) for run in self.runs], dtype=float)

    @property
    def params(self) -> np.ndarray:
        return self._column("params")

    @property
    def tokens(self) -> np.ndarray:
        return self._column("tokens")

    @property
    def flops(self) -> np.ndarray:
        return self._column("flops")

    @property
    def loss(self) -> np.ndarray:
        return self._column("loss")

    @property
    def diverged(self) -> np.ndarray:
        return np.array([run.diverged for run in self.runs], dtype=bool)

    @property
    def has_curves(self) -> bool:
        """True when at least one run carries a loss curve."""
        return any(run.has_curve for run in self.runs)

    def budgets(self) -> np.ndarray:
        """Each run's IsoFLOP budget: the given labels if every run has one, else grouped by C."""
        given = [run.budget for run in self.runs]
        if all(label is not None for label in given):
            return np.array(given, dtype=float)
        return group_budgets(self.flops)

    def subset(self, indices) -> Runs:
        """The runs at ``indices`` (repeats allowed: bootstrap resamples), renamed when repeated."""
        picked = []
        seen: dict[int, int] = {}
        for index in np.asarray(indices, dtype=int):
            run = self.runs[index]
            copies = seen.get(index, 0)
            seen[index] = copies + 1
            picked.append(run if copies == 0 else replace(run, name=f"{run.name} (copy {copies})"))
        return Runs(tuple(picked))

    def without_diverged(self) -> Runs:
        return Runs(tuple(run for run in self.runs if not run.diverged))

    def with_budgets(self, budgets) -> Runs:
        """The same runs with explicit budget labels."""
        return Runs(tuple(replace(run, budget=float(label)) for run, label in zip(self.runs, budgets)))


# ------------------------------------------------------------------------------------------
# CSV
# ------------------------------------------------------------------------------------------


def _expected_columns() -> str:
    return f"required {', '.join(REQUIRED_COLUMNS)}; optional {', '.join(OPTIONAL_COLUMNS + LABEL_COLUMNS)}"


def _number(text: str, where: str, column: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{where}: column {column!r} is not a number: {text!r}") from None


def _numbers(text: str, where: str, column: str) -> np.ndarray | None:
    """A space-separated list of numbers (a curve), or None for an empty field."""
    words = text.split()
    return np.array([_number(word, where, column) for word in words], dtype=float) if words else None


def _optional_number(record: dict, column: str, where: str) -> float | None:
    text = record.get(column, "").strip()
    return None if text == "" else _number(text, where, column)


def _boolean(text: str, where: str) -> bool:
    word = text.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ValueError(f"{where}: column 'diverged' must be true/false, got {text!r}")


def _read_text(path: Path) -> str:
    """The file's text as UTF-8 (a leading byte-order mark, as Excel writes, is dropped).

    Decoding the whole file at once makes the offset of a bad byte its offset in the file, so
    the error can say where a binary (or otherwise non-UTF-8) file stops being text.
    """
    data = path.read_bytes()
    start = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    try:
        return data[start:].decode("utf-8")
    except UnicodeDecodeError as error:
        offset = start + error.start
        raise ValueError(f"{path} is not a text CSV file (byte 0x{data[offset]:02x} at offset {offset} "
                         "is not UTF-8)") from None


def _check_header(path: Path, columns: list[str]) -> None:
    """Refuse missing, unknown, repeated or half-given (curve) columns, listing found and expected."""
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    unknown = [name for name in columns if name not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS + LABEL_COLUMNS]
    if missing or unknown:
        problems = []
        if missing:
            problems.append(f"missing {', '.join(missing)}")
        if unknown:
            problems.append(f"unknown {', '.join(repr(name) for name in unknown)}")
        raise ValueError(f"{path}: bad columns ({'; '.join(problems)}). Found: {', '.join(columns)}. "
                         f"Expected: {_expected_columns()}.")
    for index, name in enumerate(columns):
        if name in columns[:index]:
            raise ValueError(f"{path} line 1: column {name!r} appears twice (columns "
                             f"{columns.index(name) + 1} and {index + 1}); give each column once")
    if ("curve_tokens" in columns) != ("curve_loss" in columns):
        raise ValueError(f"{path}: curve_tokens and curve_loss must come together. Found: "
                         f"{', '.join(columns)}. Expected: {_expected_columns()}.")


def _record(fields: list[str], columns: list[str], where: str) -> dict[str, str]:
    """One row's fields by column name; a row with fewer or more fields than the header is refused
    (csv.DictReader would fill the gap with None, or file the surplus under None)."""
    if len(fields) < len(columns):
        raise ValueError(f"{where}: missing {', '.join(columns[len(fields):])} (the row has {len(fields)} "
                         f"fields, the header {len(columns)} columns; leave a field empty for no value)")
    if len(fields) > len(columns):
        raise ValueError(f"{where}: field {len(columns) + 1} ({fields[len(columns)]!r}) has no column: "
                         f"the header has {len(columns)} columns ({', '.join(columns)}); quote a field that "
                         "contains a comma")
    return dict(zip(columns, fields))


def _run_from_record(record: dict[str, str], where: str) -> Run:
    """The run of one CSV row; ``where`` ("runs.csv line 3") starts every error and names an
    unnamed run, so that the fits' messages point at the same line as the parser's."""
    values = dict(
        params=_number(record["params"], where, "params"),
        tokens=_number(record["tokens"], where, "tokens"),
        flops=_number(record["flops"], where, "flops"),
        loss=_number(record["loss"], where, "loss"),
        budget=_optional_number(record, "budget", where),
        non_embedding_params=_optional_number(record, "non_embedding_params", where),
        curve_tokens=_numbers(record.get("curve_tokens", ""), where, "curve_tokens"),
        curve_loss=_numbers(record.get("curve_loss", ""), where, "curve_loss"),
        diverged=_boolean(record.get("diverged", ""), where),
    )
    name = record.get("name", "").strip()
    try:
        return Run(name=name or where, **values)
    except ValueError as error:
        # validate_run starts its message with the run's name: an unnamed run's name is `where`.
        raise ValueError(f"{where}: {error}" if name else str(error)) from None


def read_runs_csv(path) -> Runs:
    """Read runs from a CSV in the format of the module docstring.

    Raises ValueError, naming the file and the line (the header is line 1), for a file that is
    not UTF-8 text, an empty file, missing, unknown or repeated columns (listing the columns
    found and those expected), a row with fewer or more fields than the header, unparsable
    numbers, or runs that fail :func:`validate_run`. Blank lines are skipped.
    """
    return read_runs_table(path)[0]


def read_runs_table(path) -> tuple[Runs, list[str], dict[str, list[str]]]:
    """:func:`read_runs_csv`'s runs, each row's place ("runs.csv line 3"), and the values of the
    :data:`LABEL_COLUMNS` the file has ({"seed": one label per run, ...}), with its checks, plus:
    an empty field in a label column is refused, naming the line."""
    path = Path(path)
    reader = csv.reader(io.StringIO(_read_text(path), newline=""))
    header = next(reader, None)
    if header is None:
        raise ValueError(f"{path} is empty: expected a header row with columns {_expected_columns()}")
    if not header:
        raise ValueError(f"{path} line 1 is blank: expected a header row with columns {_expected_columns()}")
    columns = [name.strip() for name in header]
    _check_header(path, columns)
    labels = {name: [] for name in LABEL_COLUMNS if name in columns}
    runs, places = [], []
    line = reader.line_num  # the last line read; a quoted field may span lines
    for fields in reader:
        first_line, line = line + 1, reader.line_num
        if not fields:  # csv.reader gives [] for a blank line
            continue
        where = f"{path} line {first_line}"
        record = _record(fields, columns, where)
        for name, values in labels.items():
            value = record[name].strip()
            if not value:
                raise ValueError(f"{where}: column {name!r} is empty; when the column is given, every row "
                                 f"needs its {name}")
            values.append(value)
        runs.append(_run_from_record(record, where))
        places.append(where)
    if not runs:
        raise ValueError(f"{path} has a header but no runs: expected one row per run with columns "
                         f"{_expected_columns()}")
    return Runs(tuple(runs)), places, labels


def _format_numbers(values) -> str:
    return " ".join(repr(float(value)) for value in values)


def write_runs_csv(runs: Runs, path) -> Path:
    """Write ``runs`` in the format :func:`read_runs_csv` reads; returns the path."""
    path = Path(path)
    columns = [*REQUIRED_COLUMNS, "budget", "non_embedding_params", "curve_tokens", "curve_loss",
               "diverged", "name"]
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for run in runs:
            writer.writerow([
                repr(run.params), repr(run.tokens), repr(run.flops), repr(run.loss),
                "" if run.budget is None else repr(run.budget),
                "" if run.non_embedding_params is None else repr(run.non_embedding_params),
                _format_numbers(run.curve_tokens) if run.has_curve else "",
                _format_numbers(run.curve_loss) if run.has_curve else "",
                "true" if run.diverged else "false",
                run.name,
            ])
    return path
