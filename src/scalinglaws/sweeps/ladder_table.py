"""The ladder table: the exponent a of N_opt ~ C^a by all three approaches, after each change
that takes the ``cpu`` sweep to the reference sweep, from the book's own runs.

Porian et al. (2024, "Resolving Discrepancies in Compute-Optimal Scaling of Language Models",
Table 1 and Figure 1) moved Kaplan's exponent to Chinchilla's one correction at a time. This
table does the same for the book's two recipes. Each :class:`LadderStep` names what it adds to
the row above, the committed sweep its runs come from, the seeds it keeps and the fit options
(:class:`scalinglaws.fitting.sweep_fits.FitOptions`); every row is :func:`scalinglaws.fitting.sweep_fits.fit_sweep_records`
of those records, with 10-90% bootstrap intervals (seeds redrawn as well once seeds are averaged).
The seventh row is the reference fit again with the intervals that respect the trunks: every branch
of one (size, seed) trunk shares its seed's luck, so only whole trunks are independent draws. The
last row changes the design: the wide sweep (:mod:`scalinglaws.sweeps.wide_sweep`) spans 30x of
compute with one seed, so its intervals come from redraws of its grid with the noise the reference
sweep's seeds measured (:class:`RedrawnFits`), not from a bootstrap.

The second row changes several things at once (the grid: one shape family, WSD branches, batch
4, the step floor, the budgets), because the ``cpu`` sweep and the reference grid differ in all
of them; the rows after it change one thing each.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scalinglaws.fitting.sweep_fits import PLAIN, FitOptions, SweepFits, fit_sweep_records
from scalinglaws.papers.tables import format_table


@dataclass(frozen=True)
class LadderStep:
    """One row of the ladder table: what it changes, and the records and fit it is made of."""

    change: str
    sweep: str  # committed results (scalinglaws.data.committed_results.sweep_results)
    options: FitOptions = PLAIN
    seeds: tuple[int, ...] | None = None  # keep the runs of these seeds only (None: every seed)
    reference_grid: bool = True  # Approach 2 on the reference grid's IsoFLOP budgets only
    # "bootstrap": fit_sweep_records' bootstraps; "redraws": a one-seed sweep's fits (wide_sweep.fit_wide)
    # with the intervals of the redraws committed beside its results (redraws.json), which no bootstrap
    # of one seed can give
    intervals: str = "bootstrap"

    def __post_init__(self) -> None:
        if self.intervals not in ("bootstrap", "redraws"):
            raise ValueError(f"ladder step {self.change!r}: intervals must be 'bootstrap' or 'redraws', "
                             f"got {self.intervals!r}")


LADDER = (
    LadderStep("cpu recipe: mixed 1-4 layer ladder, batch 8-16, pilot lr rule, beta2 0.95, wd 0.1, cosine, 1 seed",
               "cpu", reference_grid=False),
    LadderStep("clean grid: head-16 ladder L2-L6, WSD branches, batch 4, >= 4,000 steps; same recipe, seed 0",
               "tuned-untuned"),
    LadderStep("+ lr and beta2 tuned per size, wd at a fixed decay timescale (seed 0)", "tuned", seeds=(0,)),
    LadderStep("+ 3 seeds: seed means, outliers against seed noise, seeds resampled",
               "tuned", FitOptions(seed_means=True, finished_only=False, windowed=False)),
    LadderStep("+ Approach 1's envelope of finished runs only",
               "tuned", FitOptions(seed_means=True, finished_only=True, windowed=False)),
    LadderStep("+ Approach 2's parabolas in a window around each minimum (the reference fit)", "tuned", FitOptions()),
    LadderStep("same fit, intervals from whole WSD trunks redrawn (all branches of a size and seed together)",
               "tuned", FitOptions(trunks=True)),
    LadderStep("+ wider centred design: budgets 2x apart over 30x, L2-L8, 1 seed; intervals: grid redrawn", "wide",
               reference_grid=False, intervals="redraws"),
)


@dataclass(frozen=True, eq=False)
class RedrawnFits:
    """A one-seed sweep's three exponents (:class:`scalinglaws.sweeps.wide_sweep.WideFit`) with the
    bias-corrected 10-90% intervals of its redraws under one noise model (rule 4 as amended in
    ``results/design/README.md``): the ``a`` and ``a_interval`` of :class:`SweepFits`."""

    fit: object
    noise: str = "offset + run"

    def a(self, number: int) -> float:
        return self.fit.every_size.exponent(number)

    def a_interval(self, number: int) -> tuple[float, float]:
        return self.fit.redraws[self.noise].bias_corrected_interval(number)


def redrawn_fits(records: list[dict], redraws_path) -> RedrawnFits:
    """The fits of a one-seed sweep's ``records`` with the redraws saved in ``redraws_path``
    (``python -m scalinglaws.sweeps.wide_sweep report`` writes them)."""
    from scalinglaws.sweeps.wide_sweep import fit_wide, read_redraws

    return RedrawnFits(fit_wide(records, redraws=read_redraws(redraws_path)))


@dataclass(frozen=True, eq=False)
class LadderRow:
    step: LadderStep
    n_runs: int
    fits: SweepFits | RedrawnFits


def step_records(step: LadderStep, records: list[dict]) -> list[dict]:
    """The records of ``step``'s sweep that it keeps (its seeds)."""
    if step.seeds is None:
        return list(records)
    kept = [record for record in records if int(record["train_config"]["seed"]) in step.seeds]
    if not kept:
        raise ValueError(f"ladder step {step.change!r}: no run of seed(s) {step.seeds} in sweep {step.sweep!r}")
    return kept


def fit_ladder(records_by_sweep: dict[str, list[dict]], steps=LADDER, n_bootstrap: int = 200,
               seed: int = 0) -> list[LadderRow]:
    """Every step's fits; ``records_by_sweep`` maps each step's sweep name to its run records."""
    from scalinglaws.sweeps.tuned_sweep import BUDGETS

    missing = sorted({step.sweep for step in steps} - set(records_by_sweep))
    if missing:
        raise ValueError(f"the ladder needs the records of sweep(s) {', '.join(missing)}")
    rows = []
    for step in steps:
        records = step_records(step, records_by_sweep[step.sweep])
        if step.intervals == "redraws":
            from scalinglaws.data.committed_results import sweep_results

            fits = redrawn_fits(records, sweep_results(step.sweep).parent / "redraws.json")
        else:
            fits = fit_sweep_records(records, n_bootstrap, seed, step.options,
                                     isoflop_budgets=BUDGETS if step.reference_grid else None)
        rows.append(LadderRow(step, len(records), fits))
    return rows


def committed_ladder_records(steps=LADDER) -> dict[str, list[dict]]:
    """The committed records of every sweep the ladder's steps name."""
    from scalinglaws.data.committed_results import sweep_results
    from scalinglaws.data.results import load_results

    return {name: load_results(sweep_results(name))[1] for name in dict.fromkeys(step.sweep for step in steps)}


def committed_steps(steps=LADDER) -> tuple[list[LadderStep], list[LadderStep]]:
    """``steps`` split into those whose sweep is committed (:data:`scalinglaws.data.committed_results.RESULTS_SHA256`)
    and those still waiting for theirs (a sweep is registered only once all its runs are in)."""
    from scalinglaws.data.committed_results import RESULTS_SHA256

    ready = [step for step in steps if step.sweep in RESULTS_SHA256]
    return ready, [step for step in steps if step not in ready]


def _cell(fits: SweepFits | RedrawnFits, number: int) -> str:
    a = fits.a(number)
    if math.isnan(a):
        return "not fitted"
    low, high = fits.a_interval(number)
    return f"{a:.3f} [{low:.2f}, {high:.2f}]"


def format_ladder_table(rows: list[LadderRow]) -> str:
    """The table as text: one row per step, a and its 10-90% interval per approach, and the
    largest difference between the three."""
    body = []
    for row in rows:
        values = [row.fits.a(number) for number in (1, 2, 3)]
        fitted = [value for value in values if not math.isnan(value)]
        spread = f"{max(fitted) - min(fitted):.3f}" if len(fitted) > 1 else "-"
        body.append([row.step.change, str(row.n_runs), *(_cell(row.fits, number) for number in (1, 2, 3)), spread])
    return format_table(["change", "runs", "Approach 1 a", "Approach 2 a", "Approach 3 a", "max - min"], body)


def format_ladder_notes(pending: list[LadderStep], records_by_sweep: dict[str, list[dict]]) -> str:
    """What goes under the table: the steps still waiting for their sweep, then what each sweep in
    the table cost to train (:func:`scalinglaws.sweeps.compute_spent.core_seconds`)."""
    from scalinglaws.sweeps.compute_spent import core_seconds

    lines = [f"\nnot in the table yet (its sweep results/{step.sweep} is still training): {step.change}"
             for step in pending]
    lines.append("\ntraining cost of the sweeps in the table (compute_spent.core_seconds: one core per run, "
                 "each WSD trunk once):")
    lines += [f"  results/{sweep}: {len(records)} runs, {core_seconds(records) / 3600:.1f} core-hours"
              for sweep, records in records_by_sweep.items()]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """``python -m scalinglaws.sweeps.ladder_table [N_BOOTSTRAP]``: print the table of the committed sweeps,
    the steps still waiting for theirs, and what each sweep cost."""
    n_bootstrap = int(argv[0]) if argv else 200
    ready, pending = committed_steps()
    records = committed_ladder_records(ready)
    print(format_ladder_table(fit_ladder(records, ready, n_bootstrap=n_bootstrap)))
    print(format_ladder_notes(pending, records))
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
