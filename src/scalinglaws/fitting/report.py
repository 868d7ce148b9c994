"""Run every approach the data allow and print them next to Hoffmann Table 2.

``fit_all(runs)`` fits Approach 1 (only when the runs carry loss curves), Approach 2 (only
when there are at least 2 IsoFLOP budgets with >= 3 sizes) and Approach 3 (at least 5 runs),
bootstraps each, and says why any approach was skipped. ``FitReport.format()`` is what
``python -m scalinglaws fit runs.csv`` prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import constants
from ..runs import Runs
from .approach1 import fit_approach1
from .approach2 import fit_approach2
from .approach3 import fit_approach3
from .bootstrap import (WIDE_PERCENTILES, BootstrapResult, bootstrap_approach1, bootstrap_approach2,
                        bootstrap_approach3)

#: Default bootstrap size: enough for 10th-90th percentiles, quick enough for a command line.
DEFAULT_BOOTSTRAP = 200


@dataclass(frozen=True, eq=False)
class ApproachReport:
    """One approach's fit and bootstrap, or why it was skipped."""

    label: str
    fit: object | None = None
    bootstrap: BootstrapResult | None = None
    skipped: str = ""


@dataclass(frozen=True, eq=False)
class FitReport:
    n_runs: int
    approaches: tuple[ApproachReport, ...] = field(default=())

    def format(self) -> str:
        """Readable table: a and b per approach with intervals and failure counts, then Table 2."""
        lines = [f"{self.n_runs} runs. Exponents of N_opt ~ C^a and D_opt ~ C^b; intervals are "
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
    lines = []
    for report in approaches:
        if report.fit is None:
            continue
        notes = []
        boot = report.bootstrap
        if boot is not None:
            notes += [f"{count} of {boot.n_resamples} refits failed and are left out of the intervals: {reason}"
                      for reason, count in boot.failures.items()]
            notes += [f"{count} budget exclusions across refits of budgets the full fit used ({reason})"
                      for reason, count in boot.flagged.items()]
        notes += _profile_lines(getattr(report.fit, "profiles", ()))
        if hasattr(report.fit, "E"):
            fit = report.fit
            notes.append(f"E = {fit.E:.4g}, A = {fit.A:.4g}, B = {fit.B:.4g}, alpha = {fit.alpha:.4f}, "
                         f"beta = {fit.beta:.4f}; {fit.n_converged}/{fit.n_starts} starts converged "
                         f"({fit.reduction}-reduced Huber loss)")
            if boot is not None:
                for name in ("alpha", "beta", "E"):
                    low, high = boot.interval(name)
                    notes.append(f"{name} 10-90%: {low:.4g}-{high:.4g}")
        if notes:
            lines += ["", f"{report.label}:"] + [f"  {note}" for note in notes]
    return lines


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
    approaches = []
    if runs.has_curves:
        approaches.append(_attempt(
            "1. Minimum over training curves", fit_approach1,
            lambda r, fit, n, s: bootstrap_approach1(r, n, s), runs, n_bootstrap, seed))
    else:
        approaches.append(ApproachReport("1. Minimum over training curves",
                                         skipped="the runs have no loss curves"))
    approaches.append(_attempt("2. IsoFLOP profiles", fit_approach2,
                               lambda r, fit, n, s: bootstrap_approach2(r, n, s), runs, n_bootstrap, seed))
    approaches.append(_attempt(
        "3. Parametric modelling of the loss", lambda r: fit_approach3(r, reduction=reduction),
        lambda r, fit, n, s: bootstrap_approach3(r, n, s, reduction=reduction, full_fit=fit),
        runs, n_bootstrap, seed))
    return FitReport(n_runs=len(runs), approaches=tuple(approaches))
