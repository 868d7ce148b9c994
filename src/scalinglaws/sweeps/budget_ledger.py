"""A FLOP allowance for one person's sweep, kept in a small JSON file that refuses to overspend.

An assignment gives each student an allowance of training compute, in FLOPs counted as 6ND
(:func:`scalinglaws.papers.counting.flops_6nd`, what a run's :attr:`RunSpec.flops` and its record's
``flops_6nd`` hold). A :class:`BudgetLedger` is that allowance and the runs charged to it, in a
JSON file, so restarting the kernel or reopening the notebook does not reset it.
:func:`train_within` trains a list of runs (:mod:`scalinglaws.sweeps.runner`) after charging them:

    ledger = BudgetLedger.open("flop_ledger.json", allowance=3e11)
    train_within(ledger, "my-sweep", specs, "sweeps/first")   # BudgetExceeded if it does not fit
    print(ledger)   # flop_ledger.json: 2.75e+11 of 3e+11 FLOPs spent on 6 runs; 2.5e+10 left

Rules:

- the whole list is checked before anything trains: if its runs not yet charged cost more than
  what is left, :class:`BudgetExceeded` (a ValueError) names the cost, what was spent and what is
  left, and which of the runs (in the order given) would fit; nothing is charged or trained;
- a run is charged once: a run whose id and settings hash are already in the ledger (a resumed or
  repeated sweep) costs nothing again, as the runner does not train it again either;
- a run is charged when its training is about to start, not when it ends: compute is spent
  whether or not the run finishes or diverges;
- the allowance is fixed when the file is created; opening it again with another allowance is
  refused, and so are allowances and costs that are not positive finite numbers;
- each run is charged its own 6ND, so the branches of a warmup-stable-decay run, which share their
  trunk (:mod:`scalinglaws.training.wsd_plan`), are charged more than they cost: an upper bound.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from scalinglaws.data.results import locked, results_name, write_atomically
from scalinglaws.sweeps import runner
from scalinglaws.sweeps.grid import RunSpec

#: The ``kind`` field that marks a ledger file (a results file or any other JSON is refused).
LEDGER_KIND = "flop ledger"
LEDGER_FORMAT = 1


class BudgetExceeded(ValueError):
    """Training these runs would spend more FLOPs than the ledger's allowance has left."""


@dataclass(frozen=True)
class Charge:
    """One run charged to a ledger: its id, its settings hash and its training FLOPs (6ND)."""

    run_id: str
    settings_hash: str
    flops: float


def _positive_flops(what: str, value) -> float:
    """``value`` as a float, or a ValueError naming ``what`` unless it is a positive finite number."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a positive number of FLOPs, got {value!r}") from None
    if not (math.isfinite(number) and number > 0):
        raise ValueError(f"{what} must be a positive finite number of FLOPs, got {value!r}")
    return number


def _flops_text(value: float) -> str:
    return f"{value:.3g}"


def _runs_text(count: int) -> str:
    return f"{count} run" if count == 1 else f"{count} runs"


class BudgetLedger:
    """An allowance of training FLOPs and the runs charged to it, persisted at ``path``.

    Open one with :meth:`open`. Every charge re-reads the file under a lock before writing it,
    so two notebooks sharing one ledger cannot both spend the same FLOPs.
    """

    def __init__(self, path: Path, allowance: float, charges: tuple[Charge, ...] = ()):
        self.path = Path(path)
        self.allowance = _positive_flops("the allowance", allowance)
        self.charges = tuple(charges)

    # ----------------------------------------------------------------------------------
    # The file
    # ----------------------------------------------------------------------------------

    @classmethod
    def open(cls, path, allowance: float | None = None) -> BudgetLedger:
        """The ledger at ``path``: created with ``allowance`` if there is no file, else read from it
        (``allowance``, when given, must be the one it was created with)."""
        path = Path(path)
        if not path.exists():
            if allowance is None:
                raise FileNotFoundError(f"no FLOP ledger at {path}: give an allowance to create one")
            ledger = cls(path, allowance)
            ledger._write()
            return ledger
        ledger = cls._read(path)
        if allowance is not None and _positive_flops("the allowance", allowance) != ledger.allowance:
            raise ValueError(f"{path} was created with an allowance of {_flops_text(ledger.allowance)} FLOPs, "
                             f"not {_flops_text(float(allowance))}: an allowance cannot be changed once set")
        return ledger

    @classmethod
    def _read(cls, path: Path) -> BudgetLedger:
        try:
            data = json.loads(path.read_text())
        except json.JSONDecodeError as error:
            raise ValueError(f"{path} is not a FLOP ledger: not valid JSON ({error})") from None
        if not isinstance(data, dict) or data.get("kind") != LEDGER_KIND:
            raise ValueError(f"{path} is not a FLOP ledger (no \"kind\": {LEDGER_KIND!r} in it)")
        if data.get("format") != LEDGER_FORMAT:
            raise ValueError(f"{path}: ledger format {data.get('format')!r}, this code reads format {LEDGER_FORMAT}")
        try:
            charges = tuple(Charge(str(run["run_id"]), str(run["settings_hash"]),
                                   _positive_flops(f"{path}: the FLOPs of run {run.get('run_id')!r}", run["flops"]))
                            for run in data["runs"])
            return cls(path, data["allowance"], charges)
        except (KeyError, TypeError, AttributeError) as error:
            raise ValueError(f"{path} is a damaged FLOP ledger: {type(error).__name__} {error}") from None

    def _write(self) -> None:
        data = {"kind": LEDGER_KIND, "format": LEDGER_FORMAT, "allowance": self.allowance,
                "runs": [{"run_id": c.run_id, "settings_hash": c.settings_hash, "flops": c.flops}
                         for c in self.charges]}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(self.path, (json.dumps(data, indent=1) + "\n").encode())

    # ----------------------------------------------------------------------------------
    # Spending
    # ----------------------------------------------------------------------------------

    @property
    def spent(self) -> float:
        """FLOPs charged so far."""
        return float(sum(charge.flops for charge in self.charges))

    @property
    def remaining(self) -> float:
        """FLOPs left to charge."""
        return self.allowance - self.spent

    def is_charged(self, run_id: str, settings_hash: str) -> bool:
        """Whether this run (same id AND settings hash) is already in the ledger."""
        return any(c.run_id == run_id and c.settings_hash == settings_hash for c in self.charges)

    def uncharged(self, records: list[dict]) -> list[str]:
        """The run ids of results ``records`` (a sweep's run records) that this ledger never charged."""
        return [record["run_id"] for record in records
                if not self.is_charged(record["run_id"], record["settings_hash"])]

    def new_charges(self, specs: list[RunSpec]) -> list[Charge]:
        """The charges ``specs`` would add: each run not yet in the ledger, once, in the order given."""
        new: list[Charge] = []
        for spec in specs:
            key = (spec.run_id, spec.settings_hash())
            if self.is_charged(*key) or any((c.run_id, c.settings_hash) == key for c in new):
                continue
            new.append(Charge(spec.run_id, spec.settings_hash(), _positive_flops(f"run {spec.run_id}", spec.flops)))
        return new

    def check(self, charges: list[Charge]) -> None:
        """Raise :class:`BudgetExceeded` unless ``charges`` fit in what is left."""
        cost = sum(charge.flops for charge in charges)
        if cost <= self.remaining:
            return
        fitting, total = 0, 0.0
        while fitting < len(charges) and total + charges[fitting].flops <= self.remaining:
            total += charges[fitting].flops
            fitting += 1
        runs = "this run" if len(charges) == 1 else f"these {len(charges)} new runs"
        if fitting == 0:
            fits = f"none of them fits (the first costs {_flops_text(charges[0].flops)})"
        else:
            first = "the first run as listed fits" if fitting == 1 else f"the first {fitting} runs as listed fit"
            fits = f"{first} ({_flops_text(total)} FLOPs, up to {charges[fitting - 1].run_id})"
        raise BudgetExceeded(
            f"{runs} would cost {_flops_text(cost)} FLOPs (6ND), but {self.path} has {_flops_text(self.remaining)} "
            f"left: {_flops_text(self.spent)} of the allowance of {_flops_text(self.allowance)} FLOPs is spent on "
            f"{_runs_text(len(self.charges))}. Nothing was charged or trained; {fits}. Train fewer or smaller runs.")

    def charge(self, specs: list[RunSpec]) -> list[Charge]:
        """Charge every run of ``specs`` not yet charged, all or none; returns the new charges.

        The file is re-read under its lock first, so what another process charged counts.
        """
        with locked(self.path):
            current = self._read(self.path) if self.path.exists() else self
            self.allowance, self.charges = current.allowance, current.charges
            new = self.new_charges(specs)
            self.check(new)
            if new:
                self.charges = self.charges + tuple(new)
                self._write()
        return new

    def __str__(self) -> str:
        return (f"{self.path.name}: {_flops_text(self.spent)} of {_flops_text(self.allowance)} FLOPs spent on "
                f"{_runs_text(len(self.charges))}; {_flops_text(self.remaining)} left")

    def __repr__(self) -> str:
        return f"BudgetLedger({str(self.path)!r}, allowance={self.allowance!r}, {len(self.charges)} runs charged)"


def train_within(ledger: BudgetLedger, name: str, specs: list[RunSpec], out_dir, jobs: int | None = None,
                 progress: bool = True, description: str = "") -> Path:
    """Train ``specs`` into ``out_dir/results.jsonl`` (:func:`runner.run_specs`, resumable) once the
    ledger has charged them; returns the results file's path.

    Before anything is charged, the results file (if any) must be of this grid, as the runner
    requires; then the runs not yet charged are charged, or :class:`BudgetExceeded` is raised and
    nothing trains. Runs already charged and finished are neither charged nor trained again.
    """
    jobs = runner.default_jobs() if jobs is None else jobs
    description = description or f"{len(specs)} runs trained within the FLOP allowance of {ledger.path.name}"
    out_dir = Path(out_dir)
    # The runner's own checks first (the same calls it makes), so a grid it would refuse charges nothing.
    runner._check_grid(name, specs, jobs, None)
    runner.finished_runs(out_dir / results_name(None), runner.header_for(name, description, specs))
    ledger.charge(specs)
    return runner.run_specs(name, description, specs, out_dir, jobs, progress)
