"""Pilot sweeps under a FLOP cap: which smaller runs to train before a larger IsoFLOP budget.

Approach 2 (Hoffmann et al. 2022, Section 3.2) predicts N_opt at a budget from the parabola
minima of smaller budgets. The runs it stands on are a pilot, and a pilot costs FLOPs. Chapter
11's design exercise asks which pilot within a cap on that cost predicts N_opt at a larger
budget best. This module lists every pilot of one plain kind (at each smaller budget, no run
or a run of neighbouring model sizes) from a finished sweep, and Approach 2's prediction from
each, so that a choice can be set against all the others it could have been.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from scalinglaws.data.runs import Runs
from scalinglaws.fitting.approach2 import MIN_BUDGETS, MIN_SIZES_PER_BUDGET, fit_approach2
from scalinglaws.fitting.powerlaw import FitFailure


@dataclass(frozen=True)
class PilotPrediction:
    """One pilot and what Approach 2 fitted to it predicts at the target budget."""

    indices: tuple[int, ...]  # its runs, as indices into the runs it was chosen from
    budgets: tuple[float, ...]  # the IsoFLOP budgets it samples, ascending
    flops: float  # what its runs cost together
    n_opt: float  # Approach 2's N_opt at the target; nan where the fit fails (FitFailure)


def neighbouring_pilots(runs: Runs, cap: float, below: float,
                        min_sizes: int = MIN_SIZES_PER_BUDGET) -> list[np.ndarray]:
    """Every pilot that takes, at each IsoFLOP budget under ``below``, either no run or
    ``min_sizes`` or more neighbouring model sizes, samples at least two budgets (what
    Approach 2's power law needs) and costs at most ``cap`` FLOPs (the sum of its runs'
    ``flops``). Each pilot is an array of indices into ``runs``; diverged runs are never chosen.
    """
    if not cap > 0:
        raise ValueError(f"cap must be a positive number of FLOPs, got {cap!r}")
    budgets, flops = runs.budgets(), runs.flops
    usable = ~runs.diverged
    windows = []
    for budget in np.unique(budgets[usable & (budgets < below)]):
        at = np.flatnonzero(usable & (budgets == budget))
        at = at[np.argsort(runs.params[at], kind="stable")]
        windows.append([at[:0]] + [at[start:start + size] for size in range(min_sizes, at.size + 1)
                                   for start in range(at.size - size + 1)])
    pilots = []
    for choice in itertools.product(*windows):
        if sum(window.size > 0 for window in choice) < MIN_BUDGETS:
            continue
        chosen = np.concatenate(choice)
        if flops[chosen].sum() <= cap:
            pilots.append(chosen)
    return pilots


def pilot_predictions(runs: Runs, cap: float, target: float,
                      min_sizes: int = MIN_SIZES_PER_BUDGET) -> list[PilotPrediction]:
    """Approach 2 fitted to each of :func:`neighbouring_pilots` below ``target``, and the
    N_opt its power law gives at ``target``: nan where fewer than two of the pilot's budgets
    have a parabola whose minimum lies inside their sizes."""
    budgets, flops = runs.budgets(), runs.flops
    predictions = []
    for chosen in neighbouring_pilots(runs, cap, below=target, min_sizes=min_sizes):
        try:
            n_opt = float(fit_approach2(runs.subset(chosen)).n_law(target))
        except FitFailure:
            n_opt = math.nan
        predictions.append(PilotPrediction(tuple(int(i) for i in chosen),
                                           tuple(float(b) for b in np.unique(budgets[chosen])),
                                           float(flops[chosen].sum()), n_opt))
    return predictions
