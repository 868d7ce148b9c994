"""The three approaches fitted to a sweep's run records, with each of the reference sweep's
corrections a stated option that can be switched off.

The reference sweep (:mod:`scalinglaws.tuned_sweep`) is fitted with every option on. The
ladder table (:mod:`scalinglaws.ladder_table`) switches them on one at a time, as Porian et
al. (2024, Table 1) did for their corrections, so each row differs from the one above it by
one change:

- ``seed_means``: fit Approaches 1 and 2 to the mean over seeds of every (size, length) cell,
  judge IsoFLOP outliers against the budget's measured seed standard deviation, and bootstrap
  by redrawing the seeds first (:mod:`scalinglaws.seed_noise`). Off: every run is its own
  point and the bootstrap redraws runs only (:func:`scalinglaws.fitting.report.fit_all`'s fits).
- ``finished_only``: Approach 1's envelope is made of finished runs only (each WSD branch's
  final loss), not of the intermediate points of training curves.
- ``windowed``: each IsoFLOP parabola is fitted to the runs within a factor
  :data:`~scalinglaws.fitting.approach2.ISOFLOP_WINDOW` in N of the profile's lowest loss.

Approach 3 fits every finished run (each seed a point) under every option.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial


@dataclass(frozen=True)
class FitOptions:
    """Which corrections a fit applies (see the module docstring); all on by default."""

    seed_means: bool = True
    finished_only: bool = True
    windowed: bool = True


#: Every correction off: the fits the book ran on the ``cpu`` sweep.
PLAIN = FitOptions(seed_means=False, finished_only=False, windowed=False)


@dataclass(frozen=True, eq=False)
class SweepFits:
    """The three approaches on a sweep's records, their bootstraps, and the measured seed spread
    (empty dicts when the records hold one seed per cell)."""

    approach1: object  # fitting.approach1.Approach1Fit
    approach2: object  # fitting.approach2.Approach2Fit
    approach3: object  # fitting.approach3.Approach3Fit
    bootstrap: dict  # "approach1" | "approach2" | "approach3" -> fitting.bootstrap.BootstrapResult
    seed_sd_by_budget: dict  # budget -> seed_noise.PooledSpread
    seed_sd_by_size: dict  # N -> seed_noise.PooledSpread
    options: FitOptions
    skipped: dict  # approach name -> why it could not be fitted (its fit is then None)

    def a(self, number: int) -> float:
        """Approach ``number``'s exponent a of N_opt ~ C^a (NaN when it could not be fitted)."""
        fit = getattr(self, f"approach{number}")
        return float("nan") if fit is None else fit.a

    def a_interval(self, number: int) -> tuple[float, float]:
        """Approach ``number``'s 10-90% bootstrap interval on a (NaNs when it could not be fitted)."""
        boot = self.bootstrap.get(f"approach{number}")
        return (float("nan"), float("nan")) if boot is None else boot.interval("a")


def isoflop_records(records: list[dict], budgets=None) -> list[dict]:
    """The records of the IsoFLOP ``budgets`` (all records when None): Approach 2's runs. A grid
    whose WSD branches add shorter lengths names its budgets, so those lengths are left out."""
    if budgets is None:
        return list(records)
    wanted = {float(budget) for budget in budgets}
    return [record for record in records if float(record["budget"]) in wanted]


def fit_sweep_records(records: list[dict], n_bootstrap: int = 200, seed: int = 0,
                      options: FitOptions = FitOptions(), isoflop_budgets=None) -> SweepFits:
    """Fit Approaches 1-3 to ``records`` (a sweep's run records, diverged ones included and left out
    by the fits) with ``options``; Approach 2 sees the records of ``isoflop_budgets`` only."""
    from .fitting.approach1 import fit_approach1
    from .fitting.approach2 import ISOFLOP_WINDOW, fit_approach2
    from .fitting.approach3 import fit_approach3
    from .fitting.bootstrap import bootstrap_approach1, bootstrap_approach2, bootstrap_approach3
    from .results import records_to_runs
    from .seed_noise import bootstrap_over_seeds, pooled_seed_sd, seed_mean_records

    if not records:
        raise ValueError("fit_sweep_records needs run records; got none")
    isoflop = isoflop_records(records, isoflop_budgets)
    by_budget = pooled_seed_sd(isoflop, by="budget")
    options1 = {"finished_only": options.finished_only}
    options2 = {"window": ISOFLOP_WINDOW if options.windowed else None}
    if options.seed_means:  # fit the seed means; bootstrap by redrawing seeds, then cells
        options2["outlier_sd"] = {budget: spread.sd for budget, spread in by_budget.items()}
        means = seed_mean_records(records)
        runs1, runs2 = records_to_runs(means), records_to_runs(isoflop_records(means, isoflop_budgets))
        boot1 = partial(bootstrap_over_seeds, records, bootstrap_approach1, n_bootstrap, seed, **options1)
        boot2 = partial(bootstrap_over_seeds, isoflop, bootstrap_approach2, n_bootstrap, seed, **options2)
    else:  # every run its own point; bootstrap by redrawing runs
        runs1, runs2 = records_to_runs(records), records_to_runs(isoflop)
        boot1 = partial(bootstrap_approach1, runs1, n_bootstrap, seed, **options1)
        boot2 = partial(bootstrap_approach2, runs2, n_bootstrap, seed, **options2)
    every_run = records_to_runs(records)
    fits, skipped = {}, {}
    for name, fit in (("approach1", partial(fit_approach1, runs1, **options1)),
                      ("approach2", partial(fit_approach2, runs2, **options2)),
                      ("approach3", partial(fit_approach3, every_run))):
        try:
            fits[name] = fit()
        except ValueError as error:  # FitFailure is a ValueError: too few sizes, no minimum in range
            fits[name], skipped[name] = None, str(error)
    boots = {"approach1": boot1, "approach2": boot2,
             "approach3": partial(bootstrap_approach3, every_run, n_bootstrap, seed, full_fit=fits["approach3"])}
    bootstrap = {name: boot() for name, boot in boots.items() if fits[name] is not None}
    return SweepFits(fits["approach1"], fits["approach2"], fits["approach3"], bootstrap, by_budget,
                     pooled_seed_sd(records, by="params_total"), options, skipped)
