"""Approach 1: the envelope of training curves (Hoffmann et al. 2022, Section 3.1, Figure 2).

Every run's loss curve is a path through (FLOPs, loss): at a curve point with t tokens seen,
the run has spent C * t / D FLOPs. At each of 1,500 log-spaced FLOP values
(:data:`constants.APPROACH1_GRID_POINTS`) the run with the lowest (interpolated) loss is the
best use of that compute; its size is N_opt(C) and the tokens it has seen there are D_opt(C).
Power laws through those pairs give N_opt ~ C^a and D_opt ~ C^b.

Choices this module makes, and why:

- Smoothing: each curve's loss is replaced by a centred moving average over
  ``SMOOTHING_WINDOW`` = 5 evaluations (shorter at the ends), enough to stop evaluation noise
  from electing a model at one grid point and dropping it at the next. Hoffmann also smooth
  their curves before taking the envelope.
- Warmup: the first ``EARLY_FRACTION`` = 10% of each run's tokens are dropped; there the
  learning rate is still warming up and the loss says little about the model size.
- Interpolation: linear in log FLOPs between a run's (smoothed) evaluations, never
  extrapolated beyond its first kept and its last point.
- FLOP range: the grid spans the FLOPs covered by the kept curve points. A grid value is used
  only where at least ``MIN_COVERING_RUNS`` = 3 runs have curve points there, and where the
  winning model size is neither the smallest nor the largest size among those runs: if it
  were, a size that was not trained might have won, and the envelope there is not resolved.

Finished runs only (``finished_only=True``). A point part-way through a cosine run is not a
finished run of that length: the learning rate has not decayed yet, so the curve overstates the
loss a run planned to stop there would reach (Hoffmann et al. 2022, Appendix A, Figure A1).
Where every size was trained to several lengths (separate runs, or the cooldown branches of one
warmup-stable-decay run, :mod:`scalinglaws.training.wsd_plan`), :func:`finished_runs_as_curves` makes
each size's curve of its finished runs' final losses alone, and the envelope is taken over
those curves, unsmoothed and with nothing dropped as warmup.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scalinglaws.data.runs import Run, Runs
from scalinglaws.fitting.powerlaw import AllocationExponents, FitFailure, PowerLawFit, fit_power_law
from scalinglaws.papers import constants

SMOOTHING_WINDOW = 5
EARLY_FRACTION = 0.10
MIN_COVERING_RUNS = 3


@dataclass(frozen=True, eq=False)
class Approach1Fit(AllocationExponents):
    """The envelope (C, N_opt, D_opt) at the used grid points and the power laws through it, and
    the curves it was taken over (:func:`envelope_curves`)."""

    n_law: PowerLawFit
    d_law: PowerLawFit
    flops: np.ndarray
    n_opt: np.ndarray
    d_opt: np.ndarray
    loss: np.ndarray
    n_grid_points: int
    winners: tuple  # the run (runs.Run) whose curve is the envelope at each used grid point
    curves: tuple = ()  # every run (runs.Run) whose curve the envelope was taken over


def smooth(values, window: int = SMOOTHING_WINDOW) -> np.ndarray:
    """Centred moving average; the window shrinks symmetrically near the ends."""
    values = np.asarray(values, dtype=float)
    half = window // 2
    cumulative = np.concatenate([[0.0], np.cumsum(values)])
    index = np.arange(values.size)
    reach = np.minimum(np.minimum(index, values.size - 1 - index), half)
    return (cumulative[index + reach + 1] - cumulative[index - reach]) / (2 * reach + 1)


def _kept_curve(run):
    """(log FLOPs, smoothed loss) of a run's curve after dropping the warmup part."""
    loss = smooth(run.curve_loss)
    keep = run.curve_tokens >= EARLY_FRACTION * run.tokens
    return np.log(run.curve_flops[keep]), loss[keep]


def finished_runs_as_curves(runs: Runs) -> Runs:
    """One run per model size whose curve is its finished runs' (tokens, final loss), longest last.

    Runs of one size must differ in length only (seed means, not seeds, when there are several);
    a run given twice (as a bootstrap resample draws it) counts once: an envelope has no weights.
    """
    by_size: dict[float, dict] = {}
    for run in runs.without_diverged():
        by_size.setdefault(run.params, {})[(run.tokens, run.loss)] = run
    curves = []
    for params, distinct in sorted(by_size.items()):
        members = sorted(distinct.values(), key=lambda run: run.tokens)
        tokens = [run.tokens for run in members]
        if len(set(tokens)) != len(tokens):
            raise ValueError(f"the runs {[run.name for run in members]} of N={params:,.0f} repeat a length: "
                             "average their seeds first (scalinglaws.fitting.seed_noise.seed_mean_records)")
        last = members[-1]
        curves.append(Run(name=f"N={params:,.0f}: {len(members)} finished runs", params=params, tokens=last.tokens,
                          flops=last.flops * 1.0, loss=last.loss, curve_tokens=np.array(tokens),
                          curve_loss=np.array([run.loss for run in members]),
                          non_embedding_params=last.non_embedding_params))
    return Runs(tuple(curves))


def envelope_curves(runs: Runs, finished_only: bool = False) -> tuple[Run, ...]:
    """The runs whose curves the envelope is taken over: the non-diverged runs with a curve, or
    with ``finished_only`` each size's curve of finished runs (:func:`finished_runs_as_curves`)."""
    if finished_only:
        runs = finished_runs_as_curves(runs)
    curves = tuple(run for run in runs.without_diverged() if run.has_curve)
    if not curves:
        raise ValueError("Approach 1 needs loss curves (curve_tokens and curve_loss) for the runs; "
                         "none of the non-diverged runs has one")
    return curves


def envelope(runs: Runs, grid_points: int = constants.APPROACH1_GRID_POINTS, finished_only: bool = False):
    """Minimum-loss run at each of ``grid_points`` log-spaced FLOPs (module docstring).

    Returns (flops, n_opt, d_opt, loss, winners) at the grid points that pass the coverage
    rules; ``winners`` holds the run that is the envelope at each of them. With ``finished_only``
    the curves are :func:`finished_runs_as_curves` (unsmoothed, no warmup dropped).
    """
    return _envelope_of(envelope_curves(runs, finished_only), grid_points, finished_only)


def _envelope_of(curves: tuple[Run, ...], grid_points: int, finished_only: bool):
    """:func:`envelope` of the curves :func:`envelope_curves` chose."""
    kept = [(np.log(run.curve_flops), run.curve_loss) if finished_only else _kept_curve(run) for run in curves]
    kept = [(run, log_c, loss) for run, (log_c, loss) in zip(curves, kept) if log_c.size >= 2]
    if len(kept) < MIN_COVERING_RUNS:
        raise FitFailure("Approach 1: too few runs with curves",
                         f"{len(kept)} with >= 2 points after warmup, need {MIN_COVERING_RUNS}")
    low = min(log_c[0] for _, log_c, _ in kept)
    high = max(log_c[-1] for _, log_c, _ in kept)
    grid = np.linspace(low, high, grid_points)
    losses = np.full((len(kept), grid_points), np.inf)
    for row, (_, log_c, loss) in enumerate(kept):
        inside = (grid >= log_c[0]) & (grid <= log_c[-1])
        losses[row, inside] = np.interp(grid[inside], log_c, loss)
    sizes = np.array([run.params for run, _, _ in kept])
    covered = np.isfinite(losses)
    winner = np.argmin(losses, axis=0)
    smallest = np.where(covered, sizes[:, None], np.inf).min(axis=0)
    largest = np.where(covered, sizes[:, None], -np.inf).max(axis=0)
    n_opt = sizes[winner]
    use = (covered.sum(axis=0) >= MIN_COVERING_RUNS) & (n_opt > smallest) & (n_opt < largest)
    flops = np.exp(grid[use])
    winners = [kept[index][0] for index in winner[use]]
    d_opt = np.array([run.tokens * c / run.flops for run, c in zip(winners, flops)])
    return flops, n_opt[use], d_opt, losses[winner[use], np.flatnonzero(use)], tuple(winners)


def fit_approach1(runs: Runs, grid_points: int = constants.APPROACH1_GRID_POINTS,
                  finished_only: bool = False) -> Approach1Fit:
    """Envelope of training curves (of finished runs only, with ``finished_only``), then power
    laws N_opt ~ C^a and D_opt ~ C^b.

    Raises ValueError when no run has a curve, FitFailure when the envelope is resolved at
    too few grid points or picks fewer than 2 model sizes.
    """
    curves = envelope_curves(runs, finished_only)
    flops, n_opt, d_opt, loss, winners = _envelope_of(curves, grid_points, finished_only)
    if np.unique(n_opt).size < 2:
        raise FitFailure("Approach 1: envelope resolved for fewer than 2 model sizes",
                         f"{flops.size} of {grid_points} grid points usable; train more sizes or "
                         "longer curves so that several sizes are optimal somewhere")
    return Approach1Fit(n_law=fit_power_law(flops, n_opt), d_law=fit_power_law(flops, d_opt),
                        flops=flops, n_opt=n_opt, d_opt=d_opt, loss=loss, n_grid_points=int(flops.size),
                        winners=winners, curves=curves)
