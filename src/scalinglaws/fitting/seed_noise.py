"""Seed noise: how much a run's loss depends on its seed, measured, and carried into the fits.

A sweep may train one setting (budget, shape, tokens, learning rate, ...) with several seeds.
The seeds of one setting form a *cell*. The fits see one point per cell, its seed mean
(:func:`seed_mean_records`); the noise is measured as the seed standard deviation pooled over
the cells of a budget or of a size (:func:`pooled_seed_sd`); and a bootstrap that should
include seed noise redraws each cell's seeds with replacement before it averages them
(:func:`resampled_seed_means`), so that its intervals widen where the seeds disagree.

Pooling: with k cells of n_i seeds and sample variances s_i^2 (ddof 1), the pooled variance
is sum (n_i - 1) s_i^2 / sum (n_i - 1), with sum (n_i - 1) degrees of freedom; cells of one
seed carry no information about the spread and add nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from scalinglaws.data.results import settings_digest


def cell_key(record: dict) -> str:
    """What a run's seeds share: its budget, corpus and training settings except the seed."""
    config = {name: value for name, value in record["train_config"].items() if name != "seed"}
    return settings_digest({"budget": record["budget"], "corpus": record["corpus"], "config": config})


@dataclass(frozen=True)
class Cell:
    """The finished seeds of one setting."""

    records: tuple[dict, ...]

    @property
    def losses(self) -> np.ndarray:
        """Final losses of the seeds that did not diverge."""
        return np.array([float(r["final_loss"]) for r in self.records if r["final_loss"] is not None])

    @property
    def n_seeds(self) -> int:
        return len(self.losses)

    @property
    def mean(self) -> float:
        return float(self.losses.mean()) if self.n_seeds else math.nan

    @property
    def sd(self) -> float:
        """Sample standard deviation over seeds (ddof 1); nan with fewer than 2 seeds."""
        return float(self.losses.std(ddof=1)) if self.n_seeds > 1 else math.nan


def cells(records: list[dict]) -> list[Cell]:
    """The records grouped by :func:`cell_key`, in the order of each cell's first record."""
    groups: dict[str, list[dict]] = {}
    for record in records:
        groups.setdefault(cell_key(record), []).append(record)
    for key, members in groups.items():
        seeds = [r["train_config"]["seed"] for r in members]
        if len(set(seeds)) != len(seeds):
            raise ValueError(f"runs {[r['run_id'] for r in members]} repeat a seed of one setting: "
                             "a cell's seeds must differ")
    return [Cell(tuple(members)) for members in groups.values()]


def _mean_record(records: list[dict]) -> dict:
    """One record standing for ``records`` (seeds of one cell, repeats allowed): losses and curves
    averaged over the seeds that did not diverge; diverged only if every seed did."""
    finished = [r for r in records if r["final_loss"] is not None]
    first = records[0]
    out = dict(first)
    out["n_seeds"] = len(finished)
    out["seeds"] = sorted({r["train_config"]["seed"] for r in records})
    if not finished:
        return out
    out["final_loss"] = float(np.mean([r["final_loss"] for r in finished]))
    out["diverged"] = False
    curves = [r["curve_loss"] for r in finished]
    if curves[0] and all(r["curve_tokens"] == finished[0]["curve_tokens"] for r in finished):
        out["curve_tokens"] = finished[0]["curve_tokens"]
        out["curve_loss"] = [float(v) for v in np.mean(np.array(curves, dtype=float), axis=0)]
    return out


def seed_mean_records(records: list[dict]) -> list[dict]:
    """One record per cell, its loss and curve the mean over the cell's seeds (``n_seeds`` added)."""
    return [_mean_record(list(cell.records)) for cell in cells(records)]


def resampled_seed_means(records: list[dict], rng: np.random.Generator) -> list[dict]:
    """Seed means of one bootstrap draw: each cell's seeds drawn with replacement, as many as it has."""
    out = []
    for cell in cells(records):
        picks = rng.integers(0, len(cell.records), size=len(cell.records))
        out.append(_mean_record([cell.records[i] for i in picks]))
    return out


@dataclass(frozen=True)
class PooledSpread:
    """Seed standard deviation pooled over cells (see the module docstring)."""

    sd: float
    dof: int  # sum over cells of (seeds - 1)
    n_cells: int  # cells with at least 2 seeds


def pooled_seed_sd(records: list[dict], by: str = "budget") -> dict[float, PooledSpread]:
    """The pooled seed standard deviation per ``by`` (``"budget"``, ``"params_total"`` or ``"steps"``)."""
    if by not in ("budget", "params_total", "steps"):
        raise ValueError(f"pool by 'budget', 'params_total' or 'steps', got {by!r}")
    sums: dict[float, list[float]] = {}
    for cell in cells(records):
        if cell.n_seeds < 2:
            continue
        value = float(cell.records[0][by])
        total = sums.setdefault(value, [0.0, 0, 0])
        total[0] += (cell.n_seeds - 1) * cell.sd ** 2
        total[1] += cell.n_seeds - 1
        total[2] += 1
    return {value: PooledSpread(math.sqrt(ss / dof), int(dof), int(k)) for value, (ss, dof, k) in sorted(sums.items())}


def bootstrap_over_seeds(records: list[dict], bootstrap, n_resamples: int = 200, seed: int = 0, **options):
    """A bootstrap whose every replicate first redraws each cell's seeds (:func:`resampled_seed_means`)
    and then makes one draw of ``bootstrap`` (a ``fitting.bootstrap.bootstrap_approach*`` function,
    called with ``n_resamples=1`` and ``options``) from those seed means: its intervals then include
    the seed noise as well as the choice of runs. Returns one BootstrapResult of all replicates."""
    from scalinglaws.data.results import records_to_runs
    from scalinglaws.fitting.bootstrap import BootstrapResult

    if n_resamples < 1:
        raise ValueError(f"n_resamples must be a positive number of bootstrap refits, got {n_resamples!r}")
    rng = np.random.default_rng(seed)
    parts = [bootstrap(records_to_runs(resampled_seed_means(records, rng)), n_resamples=1,
                       seed=int(rng.integers(2**31)), **options) for _ in range(n_resamples)]
    names = parts[0].samples.keys()
    failures: dict[str, int] = {}
    flagged: dict[str, int] = {}
    for part in parts:
        for counter, counts in ((failures, part.failures), (flagged, part.flagged)):
            for reason, count in counts.items():
                counter[reason] = counter.get(reason, 0) + count
    samples = {name: np.concatenate([part.samples[name] for part in parts]) for name in names}
    return BootstrapResult(parts[0].approach + " (seeds resampled too)", n_resamples, samples, failures, flagged)


def format_seed_spread(spreads: dict[float, PooledSpread], label: str = "budget (FLOPs)") -> str:
    """The pooled seed standard deviations as a text table: one row per budget or size, with the
    cells and degrees of freedom each rests on (a chapter prints it; nbval compares it)."""
    from scalinglaws.papers.tables import format_table

    if not spreads:
        return f"no {label} has a setting trained with 2 or more seeds: the seed noise is not measured"
    rows = [[f"{value:.3g}", str(spread.n_cells), str(spread.dof), f"{spread.sd:.4f}"]
            for value, spread in sorted(spreads.items())]
    return format_table([label, "cells", "dof", "seed sd (nats)"], rows)
