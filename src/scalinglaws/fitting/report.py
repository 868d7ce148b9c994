"""Run every approach the data allow and print them next to Hoffmann Table 2.

``fit_all(runs)`` fits Approach 1 (only when the runs carry loss curves), Approach 2 (only
when there are at least 2 IsoFLOP budgets with >= 3 sizes) and Approach 3 (at least 5 runs),
bootstraps each, and says why any approach was skipped. ``FitReport.format()`` is what
``python -m scalinglaws fit runs.csv`` prints.

Under each fitted approach the report lists what its bootstrap counted (failed refits, and
the refits it flagged, worded for that approach: see :mod:`.bootstrap`), and any exponent
outside its physical range (:data:`PHYSICAL_RANGES`), in the fit or in the refits: few or
noisy runs can give, e.g., Approach 3 a negative alpha, hence a = beta/(alpha+beta) > 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from scalinglaws.data.runs import Runs
from scalinglaws.fitting.approach1 import fit_approach1
from scalinglaws.fitting.approach2 import fit_approach2
from scalinglaws.fitting.approach3 import fit_approach3
from scalinglaws.fitting.bootstrap import (WIDE_PERCENTILES, BootstrapResult, bootstrap_approach1,
                                           bootstrap_approach2, bootstrap_approach3)
from scalinglaws.papers import constants

#: Default bootstrap size: enough for 10th-90th percentiles, quick enough for a command line.
DEFAULT_BOOTSTRAP = 200

#: Each exponent's physical range, an open interval (low, high), and why: what a value outside
#: it would mean. a and b split compute between N and D (C = 6ND); alpha and beta are the
#: exponents of Hoffmann Eq. 2, L = E + A/N^alpha + B/D^beta.
PHYSICAL_RANGES = {
    "a": (0.0, 1.0, "N_opt ~ C^a grows with compute only for a > 0, and D_opt = C/(6 N_opt) grows "
                    "too only for a < 1"),
    "b": (0.0, 1.0, "D_opt ~ C^b grows with compute only for b > 0, and N_opt = C/(6 D_opt) grows "
                    "too only for b < 1"),
    "alpha": (0.0, math.inf, "The loss E + A/N^alpha + B/D^beta falls as the model grows only for alpha > 0"),
    "beta": (0.0, math.inf, "The loss E + A/N^alpha + B/D^beta falls with more tokens only for beta > 0"),
}

#: How each approach's bootstrap flags read (bootstrap.py): Approach 2 counts, per reason, the
#: budgets that the full fit used and a refit left out; Approach 3 counts refits whose best
#: start did not move. Approach 1 flags nothing; any other flag gets the generic wording.
FLAG_WORDING = {
    constants.approach(2).key: "{count} budget exclusions across refits of budgets the full fit used ({reason})",
    constants.approach(3).key: "{count} of {n} successful refits flagged: their best start {reason} in every one of "
                  "(a, b, e, alpha, beta), so the refit may have stopped short of its optimum; they "
                  "are kept in the intervals",
}
GENERIC_FLAG_WORDING = "{count} of {n} successful refits flagged ({reason})"


@dataclass(frozen=True, eq=False)
class ApproachReport:
    """One approach's fit and bootstrap, or why it was skipped."""

    label: str
    fit: object | None = None
    bootstrap: BootstrapResult | None = None
    skipped: str = ""


@dataclass(frozen=True, eq=False)
class FitReport:
    """Every approach's report on ``n_runs`` runs, ``n_diverged`` of them diverged (never fitted)."""

    n_runs: int
    approaches: tuple[ApproachReport, ...] = field(default=())
    n_diverged: int = 0

    def approach(self, number: int) -> ApproachReport:
        """The report of Approach ``number`` (1, 2 or 3), found by its name (constants.APPROACHES)."""
        label = constants.approach(number).label
        for report in self.approaches:
            if report.label == label:
                return report
        raise ValueError(f"Approach {number} ({label}) is not in this report")

    @property
    def fitted(self) -> bool:
        """True when at least one approach was fitted: the command line exits 2 otherwise."""
        return any(report.fit is not None for report in self.approaches)

    def format(self) -> str:
        """Readable table: a and b per approach with intervals and failure counts, then Table 2."""
        diverged = f", {self.n_diverged} diverged (left out)" if self.n_diverged else ""
        lines = [f"{self.n_runs} runs{diverged}. Exponents of N_opt ~ C^a and D_opt ~ C^b; intervals are "
                 "bootstrap 10th-90th (2.5th-97.5th) percentiles.", ""]
        header = f"{'approach':<38} {'a':>6} {'10-90%':>15} {'2.5-97.5%':>15} {'b':>6} {'10-90%':>15}  refits"
        lines += [header, "-" * len(header)]
        for report in self.approaches:
            if report.fit is None:
                lines.append(f"{report.label:<38} skipped: {report.skipped}")
                continue
            lines.append(_row(report))
        lines += ["", "Hoffmann et al. (2022), Table 2:"]
        for row in constants.TABLE_2:
            a_int = _pair(row.a_interval) if row.a_interval else ""
            b_int = _pair(row.b_interval) if row.b_interval else ""
            lines.append(f"{row.approach:<38} {row.a:>6.2f} {a_int:>15} {'':>15} {row.b:>6.2f} {b_int:>15}")
        lines += _details(self.approaches)
        return "\n".join(lines)


def _pair(interval) -> str:
    return f"{interval[0]:.3f}-{interval[1]:.3f}"


def _row(report: ApproachReport) -> str:
    fit, boot = report.fit, report.bootstrap
    if boot is None:
        return f"{report.label:<38} {fit.a:>6.3f} {'':>15} {'':>15} {fit.b:>6.3f}"
    refits = f"{boot.n_succeeded}/{boot.n_resamples} ok"
    a_wide = _pair(boot.interval("a", WIDE_PERCENTILES))
    return (f"{report.label:<38} {fit.a:>6.3f} {_pair(boot.interval('a')):>15} "
            f"{a_wide:>15} {fit.b:>6.3f} {_pair(boot.interval('b')):>15}  {refits}")


def _details(approaches) -> list[str]:
    """A block of notes under each fitted approach that has any."""
    lines = []
    for report in approaches:
        if report.fit is None:
            continue
        notes = _range_notes(report.fit, report.bootstrap)
        if report.bootstrap is not None:
            notes += _bootstrap_notes(report.bootstrap)
        notes += _profile_lines(getattr(report.fit, "profiles", ()))
        if hasattr(report.fit, "E"):
            notes += _parametric_lines(report.fit, report.bootstrap)
        if notes:
            lines += ["", f"{report.label}:"] + [f"  {note}" for note in notes]
    return lines


def _range_text(low: float, high: float) -> str:
    return f"({low:g}, {'inf' if math.isinf(high) else f'{high:g}'})"


def _range_notes(fit, boot: BootstrapResult | None) -> list[str]:
    """One line per exponent that leaves :data:`PHYSICAL_RANGES`, in ``fit`` or in the refits:
    which exponent, where, and what its range means."""
    notes = []
    for name, (low, high, meaning) in PHYSICAL_RANGES.items():
        where = []
        value = getattr(fit, name, None)
        if value is not None and not low < value < high:
            where.append(f"the fit's {name} = {value:.3f}")
        if boot is not None and name in boot.samples:
            samples = boot.samples[name]
            outside = int(np.sum(~((samples > low) & (samples < high))))
            if outside:
                where.append(f"{outside} of {samples.size} refits, which the intervals include")
        if where:
            notes.append(f"unphysical {name} (outside {_range_text(low, high)}): {' and '.join(where)}. "
                         f"{meaning}.")
    return notes


def _bootstrap_notes(boot: BootstrapResult) -> list[str]:
    """Failed refits by reason, then flagged ones in the wording of ``boot``'s approach."""
    notes = [f"{count} of {boot.n_resamples} refits failed and are left out of the intervals: {reason}"
             for reason, count in boot.failures.items()]
    wording = FLAG_WORDING.get(boot.approach, GENERIC_FLAG_WORDING)
    notes += [wording.format(count=count, n=boot.n_succeeded, reason=reason)
              for reason, count in boot.flagged.items()]
    return notes


def _parametric_lines(fit, boot: BootstrapResult | None) -> list[str]:
    """Approach 3's fitted Eq. 2, its starts, and intervals of its loss exponents and E."""
    notes = [f"E = {fit.E:.4g}, A = {fit.A:.4g}, B = {fit.B:.4g}, alpha = {fit.alpha:.4f}, "
             f"beta = {fit.beta:.4f}; {fit.n_converged}/{fit.n_starts} starts converged "
             f"({fit.reduction}-reduced Huber loss)"]
    if boot is not None:
        for name in ("alpha", "beta", "E"):
            low, high = boot.interval(name)
            notes.append(f"{name} 10-90%: {low:.4g}-{high:.4g}")
    return notes


def _profile_lines(profiles) -> list[str]:
    """Approach 2 per budget: its parabola's minimum and curvature, or why it was left out.

    Groups too small to profile (fewer than 3 sizes: in a mixed set of runs, usually runs that
    are not on an IsoFLOP budget at all) share one line.
    """
    small = [p.budget for p in profiles if p.reason.startswith("fewer than")]
    notes = []
    for p in profiles:
        if p.reason.startswith("fewer than"):
            continue
        head = f"budget {p.budget:.3g} FLOPs: {p.n_runs} runs, {p.n_outliers} outliers, curvature {p.curvature:.3g}"
        if p.usable:
            notes.append(f"{head}, N_opt {p.n_opt:.3g}, loss at minimum {p.loss_min:.4g}")
        else:
            notes.append(f"{head}; left out of the fit: {p.reason}")
    if small:
        notes.append(f"{len(small)} groups of runs with fewer than 3 distinct sizes not profiled "
                     f"(C from {min(small):.2g} to {max(small):.2g} FLOPs)")
    return notes


def _attempt(label: str, fit, bootstrap, runs: Runs, n_bootstrap: int, seed: int) -> ApproachReport:
    try:
        result = fit(runs)
    except ValueError as error:
        return ApproachReport(label, skipped=str(error))
    boot = bootstrap(runs, result, n_bootstrap, seed) if n_bootstrap > 0 else None
    return ApproachReport(label, fit=result, bootstrap=boot)


def fit_all(runs: Runs, n_bootstrap: int = DEFAULT_BOOTSTRAP, seed: int = 0,
            reduction: str = "sum") -> FitReport:
    """Every approach the data allow, each with ``n_bootstrap`` refits (0 to skip the bootstrap)."""
    if n_bootstrap < 0:
        raise ValueError(f"n_bootstrap must be >= 0, got {n_bootstrap}")
    one, two, three = (approach.label for approach in constants.APPROACHES)
    approaches = []
    if runs.has_curves:
        approaches.append(_attempt(
            one, fit_approach1,
            lambda r, fit, n, s: bootstrap_approach1(r, n, s), runs, n_bootstrap, seed))
    else:
        approaches.append(ApproachReport(one, skipped="the runs have no loss curves"))
    approaches.append(_attempt(two, fit_approach2,
                               lambda r, fit, n, s: bootstrap_approach2(r, n, s), runs, n_bootstrap, seed))
    approaches.append(_attempt(
        three, lambda r: fit_approach3(r, reduction=reduction),
        lambda r, fit, n, s: bootstrap_approach3(r, n, s, reduction=reduction, full_fit=fit),
        runs, n_bootstrap, seed))
    return FitReport(n_runs=len(runs), approaches=tuple(approaches), n_diverged=int(runs.diverged.sum()))
