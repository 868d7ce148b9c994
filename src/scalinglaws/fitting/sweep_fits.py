"""The three approaches fitted to one sweep, two ways, both giving a :class:`SweepFit`.

1. **From its run records, with the reference sweep's corrections as options**
   (:func:`fit_sweep_records`). The reference sweep (:mod:`scalinglaws.sweeps.tuned_sweep`) is
   fitted with every option on. The ladder table (:mod:`scalinglaws.sweeps.ladder_table`) switches
   them on one at a time, as Porian et al. (2024, Table 1) did for their corrections, so each row
   differs from the one above it by one change:

   - ``seed_means``: fit Approaches 1 and 2 to the mean over seeds of every (size, length) cell,
     judge IsoFLOP outliers against the budget's measured seed standard deviation, and bootstrap
     by redrawing the seeds first (:mod:`scalinglaws.fitting.seed_noise`). Off: every run is its own
     point and the bootstrap redraws runs only (:func:`scalinglaws.fitting.report.fit_all`'s fits).
   - ``finished_only``: Approach 1's envelope is made of finished runs only (each WSD branch's
     final loss), not of the intermediate points of training curves.
   - ``windowed``: each IsoFLOP parabola is fitted to the runs within a factor
     :data:`~scalinglaws.fitting.approach2.ISOFLOP_WINDOW` in N of the profile's lowest loss.
   - ``trunks``: the bootstraps of all three approaches redraw whole WSD trunks (every branch of
     one (size, seed) trunk together, :mod:`scalinglaws.fitting.trunk_bootstrap`) instead of
     cells or runs: the branches of a trunk share its seed's luck, so redrawing them one at a time
     understates the spread. It changes the intervals only, and needs the other three options on
     (the trunk bootstrap refits the reference fit) and two or more seeds of every size.

   Approach 3 fits every finished run (each seed a point) under every option. With every option
   off (:data:`PLAIN`) and no ``isoflop_budgets``, the result is :func:`fit_sweep`'s on the same runs.

2. **Every run its own point, under an explicit counting convention** (:func:`load_sweep_runs`,
   :func:`fit_sweep`), tabulated next to Hoffmann's Table 2::

       runs = load_sweep_runs("results/cpu", params="total", flops="6nd")
       sweep = fit_sweep(runs, label="cpu", n_bootstrap=200)
       print(sweep.table().format())           # tidy: one row per approach, a and b with intervals
       print(compare_exponents(sweep))         # next to Hoffmann Table 2 (and other sweeps)
       print(format_envelope_segments(envelope_segments(sweep)))  # which run is on the envelope

   The figures of such a fit are :mod:`scalinglaws.book.sweep_figures`. D_opt is C / (6 N_opt)
   throughout, as in the fitting code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np

from scalinglaws.data.results import results_to_runs
from scalinglaws.data.runs import Runs
from scalinglaws.fitting import fit_all
from scalinglaws.fitting.report import DEFAULT_BOOTSTRAP, ApproachReport, FitReport
from scalinglaws.papers import constants
from scalinglaws.papers.tables import format_table


@dataclass(frozen=True)
class FitOptions:
    """Which corrections a fit applies (see the module docstring); all on by default."""

    seed_means: bool = True
    finished_only: bool = True
    windowed: bool = True
    trunks: bool = False

    def __post_init__(self) -> None:
        if self.trunks and not (self.seed_means and self.finished_only and self.windowed):
            raise ValueError("FitOptions(trunks=True) redraws trunks around the reference fit: it needs "
                             f"seed_means, finished_only and windowed on, got {self}")


#: Every correction off: the fits the book ran on the ``cpu`` sweep.
PLAIN = FitOptions(seed_means=False, finished_only=False, windowed=False)

#: The label of a sweep fitted without one.
DEFAULT_LABEL = "this sweep"


@dataclass(frozen=True, eq=False)
class SweepFit:
    """A sweep's runs and the three approaches' fits and bootstraps on them (a :class:`FitReport`),
    under one label, with the corrections the fits applied and the measured seed spread (empty dicts
    when the records hold one seed per cell, and for :func:`fit_sweep`, which measures none)."""

    label: str
    runs: Runs
    report: FitReport
    options: FitOptions = PLAIN
    seed_sd_by_budget: dict = field(default_factory=dict)  # budget -> seed_noise.PooledSpread
    seed_sd_by_size: dict = field(default_factory=dict)  # N -> seed_noise.PooledSpread

    def fit(self, index: int):
        """Approach ``index`` (1, 2 or 3)'s fit, or None when it was skipped."""
        return self.report.approach(index).fit

    approach1 = property(lambda self: self.fit(1), doc="Approach 1's fit (fitting.approach1.Approach1Fit) or None")
    approach2 = property(lambda self: self.fit(2), doc="Approach 2's fit (fitting.approach2.Approach2Fit) or None")
    approach3 = property(lambda self: self.fit(3), doc="Approach 3's fit (fitting.approach3.Approach3Fit) or None")

    @property
    def bootstrap(self) -> dict:
        """"approach1" | "approach2" | "approach3" -> its fitting.bootstrap.BootstrapResult, for the
        approaches that were fitted and bootstrapped."""
        return {f"approach{n}": self.report.approach(n).bootstrap for n in (1, 2, 3)
                if self.report.approach(n).bootstrap is not None}

    @property
    def skipped(self) -> dict:
        """Approach name -> why it could not be fitted (its fit is then None)."""
        return {f"approach{n}": self.report.approach(n).skipped for n in (1, 2, 3) if self.fit(n) is None}

    def a(self, number: int) -> float:
        """Approach ``number``'s exponent a of N_opt ~ C^a (NaN when it could not be fitted)."""
        fit = self.fit(number)
        return float("nan") if fit is None else fit.a

    def a_interval(self, number: int) -> tuple[float, float]:
        """Approach ``number``'s 10-90% bootstrap interval on a (NaNs when it could not be fitted)."""
        boot = self.report.approach(number).bootstrap
        return (float("nan"), float("nan")) if boot is None else boot.interval("a")

    @property
    def n_diverged(self) -> int:
        """Runs flagged as diverged: in the sweep, left out of every fit."""
        return int(self.runs.diverged.sum())

    def table(self) -> ExponentTable:
        """The tidy table of this sweep: one row per approach."""
        return exponent_table(self)


#: The name :func:`fit_sweep_records`' callers know its result by.
SweepFits = SweepFit


def isoflop_records(records: list[dict], budgets=None) -> list[dict]:
    """The records of the IsoFLOP ``budgets`` (all records when None): Approach 2's runs. A grid
    whose WSD branches add shorter lengths names its budgets, so those lengths are left out."""
    if budgets is None:
        return list(records)
    wanted = {float(budget) for budget in budgets}
    return [record for record in records if float(record["budget"]) in wanted]


def _approach_reports(fits, bootstraps) -> tuple[ApproachReport, ...]:
    """Approaches 1-3 in order: ``fits[i]()``, skipped with the error as the reason when it raises a
    ValueError, and when it fitted, ``bootstraps[i](fit)``."""
    reports = []
    for approach, fit, bootstrap in zip(constants.APPROACHES, fits, bootstraps):
        try:
            result = fit()
        except ValueError as error:  # FitFailure is a ValueError: too few sizes, no minimum in range
            reports.append(ApproachReport(approach.label, skipped=str(error)))
            continue
        reports.append(ApproachReport(approach.label, fit=result, bootstrap=bootstrap(result)))
    return tuple(reports)


def fit_sweep_records(records: list[dict], n_bootstrap: int = 200, seed: int = 0,
                      options: FitOptions = FitOptions(), isoflop_budgets=None) -> SweepFit:
    """Fit Approaches 1-3 to ``records`` (a sweep's run records, diverged ones included and left out
    by the fits) with ``options``; Approach 2 sees the records of ``isoflop_budgets`` only."""
    from scalinglaws.data.results import records_to_runs
    from scalinglaws.fitting.approach1 import fit_approach1
    from scalinglaws.fitting.approach2 import ISOFLOP_WINDOW, fit_approach2
    from scalinglaws.fitting.approach3 import fit_approach3
    from scalinglaws.fitting.bootstrap import bootstrap_approach1, bootstrap_approach2, bootstrap_approach3
    from scalinglaws.fitting.seed_noise import bootstrap_over_seeds, pooled_seed_sd, seed_mean_records

    if not records:
        raise ValueError("fit_sweep_records needs run records; got none")
    isoflop = isoflop_records(records, isoflop_budgets)
    by_budget = pooled_seed_sd(isoflop, by="budget")
    options1 = {"finished_only": options.finished_only}
    options2 = {"window": ISOFLOP_WINDOW if options.windowed else None}
    every_run = records_to_runs(records)
    if options.seed_means:  # fit the seed means; bootstrap by redrawing seeds, then cells
        options2["outlier_sd"] = {budget: spread.sd for budget, spread in by_budget.items()}
        means = seed_mean_records(records)
        runs1, runs2 = records_to_runs(means), records_to_runs(isoflop_records(means, isoflop_budgets))
        boot1 = partial(bootstrap_over_seeds, records, bootstrap_approach1, n_bootstrap, seed, **options1)
        boot2 = partial(bootstrap_over_seeds, isoflop, bootstrap_approach2, n_bootstrap, seed, **options2)
    else:  # every run its own point; bootstrap by redrawing runs
        runs1, runs2 = every_run, records_to_runs(isoflop)
        boot1 = partial(bootstrap_approach1, runs1, n_bootstrap, seed, **options1)
        boot2 = partial(bootstrap_approach2, runs2, n_bootstrap, seed, **options2)
    bootstraps = (lambda fit: boot1(), lambda fit: boot2(),
                  lambda fit: bootstrap_approach3(every_run, n_bootstrap, seed, full_fit=fit))
    if options.trunks:  # whole trunks redrawn, for every approach (module docstring)
        from scalinglaws.fitting.trunk_bootstrap import trunk_bootstrap, trunk_bootstrap_approach3
        from scalinglaws.fitting.trunk_noise import SeedRuns

        every_trunk = SeedRuns.from_records(records)
        bootstraps = (lambda fit: trunk_bootstrap(every_trunk, 1, n_bootstrap, seed),
                      lambda fit: trunk_bootstrap(SeedRuns.from_records(isoflop), 2, n_bootstrap, seed),
                      lambda fit: trunk_bootstrap_approach3(every_trunk, n_bootstrap, seed))
    reports = _approach_reports((partial(fit_approach1, runs1, **options1), partial(fit_approach2, runs2, **options2),
                                 partial(fit_approach3, every_run)), bootstraps)
    report = FitReport(len(every_run), reports, n_diverged=int(every_run.diverged.sum()))
    return SweepFit(DEFAULT_LABEL, every_run, report, options, by_budget, pooled_seed_sd(records, by="params_total"))


# ==========================================================================================
# 2. Every run its own point: a sweep's Runs fitted by fitting.fit_all, tabulated
# ==========================================================================================


# ------------------------------------------------------------------------------------------
# Loading
# ------------------------------------------------------------------------------------------


def load_sweep_runs(path, params: str = "total", flops: str = "6nd", budgets=None) -> Runs:
    """The runs of a sweep's ``results.jsonl`` (or its directory) under a counting convention.

    ``params`` is one of :data:`results.PARAMS_CONVENTIONS` ("total": Hoffmann's N;
    "non_embedding": Kaplan's N, Kaplan Section 2.1) and ``flops`` one of
    :data:`results.FLOPS_CONVENTIONS` ("6nd" with that N, or Hoffmann Appendix F's count);
    see :func:`results.run_counts`. ``budgets``, if given, keeps only the runs of those
    nominal IsoFLOP budgets (as the grid names them, in FLOPs). Diverged runs are kept and
    flagged: the fits leave them out, and :class:`SweepFit` counts them.
    """
    runs = results_to_runs(path, params=params, flops=flops)
    if budgets is None:
        return runs
    nominal = results_to_runs(path).budgets()
    wanted = np.asarray(budgets, dtype=float).ravel()
    missing = [budget for budget in wanted if not np.any(np.isclose(nominal, budget, rtol=1e-9))]
    if missing or wanted.size == 0:
        raise ValueError(f"{Path(path)}: no runs at budget(s) {', '.join(f'{b:.3g}' for b in missing) or '(none given)'}"
                         f"; its budgets are {', '.join(f'{b:.3g}' for b in np.unique(nominal))} FLOPs")
    keep = np.flatnonzero(np.isclose(nominal[:, None], wanted[None, :], rtol=1e-9).any(axis=1))
    return runs.subset(keep)


# ------------------------------------------------------------------------------------------
# Fitting and tables
# ------------------------------------------------------------------------------------------


def fit_sweep(runs: Runs, label: str = DEFAULT_LABEL, n_bootstrap: int = DEFAULT_BOOTSTRAP,
              seed: int = 0) -> SweepFit:
    """All three approaches with ``n_bootstrap`` refits each (:func:`fitting.fit_all`)."""
    if len(runs) == 0:
        raise ValueError("fit_sweep needs runs; got none (load them with load_sweep_runs)")
    if len(runs.without_diverged()) == 0:
        raise ValueError(f"all {len(runs)} runs diverged: there is nothing to fit")
    return SweepFit(label=label, runs=runs, report=fit_all(runs, n_bootstrap=n_bootstrap, seed=seed))


@dataclass(frozen=True)
class ExponentRow:
    """One approach on one sweep: N_opt ~ C^a, D_opt ~ C^b, 10th-90th percentile intervals
    (Hoffmann Table 2's convention), or why the approach was skipped."""

    sweep: str
    approach: str
    n_runs: int
    n_diverged: int
    a: float = float("nan")
    a_interval: tuple[float, float] | None = None
    b: float = float("nan")
    b_interval: tuple[float, float] | None = None
    refits: str = ""
    skipped: str = ""


@dataclass(frozen=True)
class ExponentTable:
    """Rows of :class:`ExponentRow`, printable with :meth:`format`."""

    rows: tuple[ExponentRow, ...]

    def row(self, sweep: str, approach: int) -> ExponentRow:
        """The row of ``sweep``'s Approach ``approach`` (1, 2 or 3)."""
        for row in self.rows:
            if row.sweep == sweep and row.approach == constants.approach(approach).short_label:
                return row
        raise ValueError(f"no row for sweep {sweep!r}, approach {approach!r}; sweeps here: "
                         f"{', '.join(sorted({row.sweep for row in self.rows}))}; approaches 1, 2, 3")

    def format(self) -> str:
        """One line per row (under 87 columns); skipped approaches say why, diverged runs are counted."""
        lines, notes = [], []
        for row in self.rows:
            if row.skipped:
                lines.append((row.sweep, row.approach, "-", "", "-", "", ""))
                notes.append(f"{row.sweep}, {row.approach}: skipped ({row.skipped})")
            else:
                lines.append((row.sweep, row.approach, f"{row.a:.3f}", _interval(row.a_interval),
                              f"{row.b:.3f}", _interval(row.b_interval), row.refits))
        counts = {row.sweep: (row.n_runs, row.n_diverged) for row in self.rows}
        notes += [f"{sweep}: {n} runs, {bad} diverged (left out of the fits)" for sweep, (n, bad) in counts.items()]
        table = format_table(("sweep", "approach", "a", "10-90%", "b", "10-90%", "refits"), lines)
        return "\n".join([table, *notes])


def _interval(bounds) -> str:
    return "" if bounds is None else f"{bounds[0]:.3f}-{bounds[1]:.3f}"


def exponent_table(*sweeps: SweepFit) -> ExponentTable:
    """The tidy table of one or more fitted sweeps: a row per (sweep, approach)."""
    if not sweeps:
        raise ValueError("exponent_table needs at least one SweepFit (from fit_sweep)")
    rows = []
    for sweep in sweeps:
        for approach in constants.APPROACHES:
            report = sweep.report.approach(approach.number)
            common = dict(sweep=sweep.label, approach=approach.short_label, n_runs=len(sweep.runs), n_diverged=sweep.n_diverged)
            if report.fit is None:
                rows.append(ExponentRow(**common, skipped=report.skipped))
                continue
            boot = report.bootstrap
            rows.append(ExponentRow(
                **common, a=float(report.fit.a), b=float(report.fit.b),
                a_interval=None if boot is None else boot.interval("a"),
                b_interval=None if boot is None else boot.interval("b"),
                refits="" if boot is None else f"{boot.n_succeeded}/{boot.n_resamples}"))
    return ExponentTable(tuple(rows))


def compare_exponents(*sweeps: SweepFit, exponent: str = "a") -> str:
    """``exponent`` ("a" or "b") by approach: Hoffmann Table 2 next to each sweep (e.g. cpu, gpu).

    Cells are the estimate and its 10th-90th percentile interval. Kaplan's row is Table 2's.
    """
    if exponent not in ("a", "b"):
        raise ValueError(f"exponent must be 'a' (N_opt ~ C^a) or 'b' (D_opt ~ C^b), got {exponent!r}")
    table = exponent_table(*sweeps)
    rows = []
    for published in constants.TABLE_2:
        approach = next((a for a in constants.APPROACHES if a.label == published.approach), None)
        name = published.approach if approach is None else approach.short_label  # Kaplan's row: no approach
        cells = [_cell(getattr(published, exponent), getattr(published, f"{exponent}_interval"), 2)]
        for sweep in sweeps:
            if approach is None:
                cells.append("")
                continue
            row = table.row(sweep.label, approach.number)
            cells.append("skipped" if row.skipped else
                         _cell(getattr(row, exponent), getattr(row, f"{exponent}_interval"), 3))
        rows.append((name, *cells))
    return format_table((f"{exponent} by approach", "Hoffmann Table 2", *(s.label for s in sweeps)), rows)


def _cell(value: float, interval, digits: int) -> str:
    return f"{value:.{digits}f}" + ("" if interval is None else f" ({_interval(interval)})")


# ------------------------------------------------------------------------------------------
# Inside the fits: who is on the envelope, which points a profile left out
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EnvelopeSegment:
    """Consecutive grid points of Approach 1's envelope won by one run: its size and budget,
    the FLOPs it spans, and how far through its own training it is there (C over its total
    C: 1.0 is the run's last evaluation, where its cosine has decayed)."""

    run: str
    params: float
    budget: float | None
    flops_start: float
    flops_end: float
    n_points: int
    fraction_start: float
    fraction_end: float


def envelope_segments(sweep: SweepFit) -> tuple[EnvelopeSegment, ...]:
    """Approach 1's envelope as a sequence of runs, from the smallest C to the largest."""
    fit = require_fit(sweep, 1)
    winners = fit.winners
    segments, start = [], 0
    for stop in range(1, len(winners) + 1):
        if stop < len(winners) and winners[stop] is winners[start]:
            continue
        run = winners[start]
        segments.append(EnvelopeSegment(
            run=run.name, params=run.params, budget=run.budget,
            flops_start=float(fit.flops[start]), flops_end=float(fit.flops[stop - 1]), n_points=stop - start,
            fraction_start=float(fit.flops[start] / run.flops), fraction_end=float(fit.flops[stop - 1] / run.flops)))
        start = stop
    return tuple(segments)


def format_envelope_segments(segments) -> str:
    """One line per :class:`EnvelopeSegment`: the winning run's N and budget, its C span, and
    the share of its own run it has trained at each end of the span."""
    rows = [(f"{s.params:,.0f}", "" if s.budget is None else f"{s.budget:.0e}",
             f"{s.flops_start:.2e} - {s.flops_end:.2e}", f"{s.n_points}",
             f"{s.fraction_start:.2f} - {s.fraction_end:.2f}") for s in segments]
    return format_table(("N of the winner", "its budget", "C on the envelope (FLOPs)", "points",
                         "share of its run"), rows)


def require_fit(sweep: SweepFit, index: int):
    """Approach ``index``'s fit of ``sweep``; a clear error when that approach was skipped."""
    fit = sweep.fit(index)
    if fit is None:
        raise ValueError(f"{sweep.label}: Approach {index} was skipped "
                         f"({sweep.report.approach(index).skipped}); this figure needs it")
    return fit


def isoflop_outliers(sweep: SweepFit) -> Runs:
    """The runs that Approach 2's robust profile fits left out as outliers, budget by budget."""
    return Runs(tuple(run for profile in require_fit(sweep, 2).profiles
                      for run, outlier in zip(profile.runs, profile.outliers) if outlier))
