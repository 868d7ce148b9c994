"""How well each IsoFLOP parabola fits, measured against the seed noise (Hoffmann et al. 2022, Section 3.2).

:func:`scalinglaws.fitting.approach2.fit_approach2` fits each budget's profile and reports its
lack of fit (the RMS residual of the points the parabola went through) and the residual of the
worst point its window left out. This module sets those next to the noise the points carry, so a
chapter can say whether a parabola misses by more than the seeds disagree:

- a point of a profile fitted to seed means is the mean of ``n_seeds`` runs, whose standard
  deviation is the budget's pooled seed standard deviation (:func:`scalinglaws.fitting.seed_noise.pooled_seed_sd`)
  divided by sqrt(n_seeds);
- a parabola has 3 coefficients, so through k points it leaves k - 3 residual degrees of freedom;
  with 3 points it interpolates them, and its lack of fit is zero by construction, not a test;
- with k > 3 points, sqrt(sum r^2 / (k - 3)) estimates the points' scatter about the parabola, to
  be compared with the seed-mean standard deviation (a ratio near 1 is a fit within the noise; on
  one or two degrees of freedom the ratio itself is very uncertain).

:func:`robust_first_fit` calls step 2 of Approach 2's outlier rule without measured seed noise
(:func:`scalinglaws.fitting.approach2.robust_first_fit`, the rule the book's one-seed ``cpu``
sweep was fitted with) on a budget's sizes and losses, so a chapter can show the threshold that
rule set.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from scalinglaws.fitting.approach2 import OUTLIER_SIGMAS
from scalinglaws.fitting.approach2 import robust_first_fit as approach2_first_fit

#: Coefficients of a parabola: the residual degrees of freedom are the points fitted minus this.
PARABOLA_COEFFICIENTS = 3


@dataclass(frozen=True)
class ProfileCheck:
    """One budget's parabola against the noise of its points (see the module docstring)."""

    budget: float
    n_points: int  # points of the budget (seed means, or runs)
    n_fitted: int  # inside the window and not outliers: what the parabola went through
    n_opt: float
    usable: bool
    rms_residual: float  # the profile's lack_of_fit: RMS over the n_fitted points
    seed_sd: float  # the budget's pooled seed standard deviation of one run
    n_seeds: int  # runs averaged into each point
    worst_left_out: float  # largest |residual| of a point outside the window (nan: none)

    @property
    def residual_dof(self) -> int:
        return self.n_fitted - PARABOLA_COEFFICIENTS

    @property
    def residual_sd(self) -> float:
        """sqrt(sum r^2 / dof) of the fitted points; nan with no residual degrees of freedom."""
        if self.residual_dof <= 0:
            return math.nan
        return self.rms_residual * math.sqrt(self.n_fitted / self.residual_dof)

    @property
    def point_sd(self) -> float:
        """Standard deviation of one point: the seed sd over sqrt(seeds per point)."""
        return self.seed_sd / math.sqrt(self.n_seeds)

    @property
    def lack_of_fit_ratio(self) -> float:
        """residual_sd / point_sd: about 1 for a parabola that fits within the noise (nan: 3 points)."""
        return self.residual_sd / self.point_sd

    @property
    def left_out_ratio(self) -> float:
        """worst_left_out / point_sd: how far the parabola misses the points its window left out."""
        return self.worst_left_out / self.point_sd


def check_profiles(fit, seed_sd: dict, n_seeds: int) -> list[ProfileCheck]:
    """A :class:`ProfileCheck` per profile of ``fit`` (a fitting.Approach2Fit), with ``seed_sd``
    mapping each budget to its seed standard deviation (a float or a seed_noise.PooledSpread) and
    ``n_seeds`` runs averaged into every point (1 for a fit to single runs)."""
    if n_seeds < 1:
        raise ValueError(f"n_seeds must be a positive number of runs per point, got {n_seeds!r}")
    checks = []
    for profile in fit.profiles:
        spread = seed_sd[float(profile.budget)]
        sd = float(getattr(spread, "sd", spread))
        window = profile.in_window or (True,) * profile.n_runs
        fitted = sum(inside and not out for inside, out in zip(window, profile.outliers))
        checks.append(ProfileCheck(float(profile.budget), profile.n_runs, fitted, profile.n_opt, profile.usable,
                                   profile.lack_of_fit, sd, n_seeds, profile.worst_left_out))
    return checks


def format_profile_checks(checks: list[ProfileCheck]) -> str:
    """The checks as a text table (a chapter prints it; nbval compares it)."""
    from scalinglaws.papers.tables import format_table

    def number(value: float, spec: str) -> str:
        return "-" if math.isnan(value) else format(value, spec)

    rows = [[f"{c.budget:.3g}", str(c.n_points), str(c.n_fitted), f"{c.n_opt:,.0f}" if c.usable else "not usable",
             str(c.residual_dof), number(c.residual_sd, ".4f"), f"{c.point_sd:.4f}",
             number(c.lack_of_fit_ratio, ".2f"), number(c.worst_left_out, ".3f"), number(c.left_out_ratio, ".1f")]
            for c in checks]
    return format_table(["budget (FLOPs)", "points", "fitted", "N_opt", "dof", "residual sd",
                         "point sd", "ratio", "worst left out", "in point sds"], rows)


def robust_first_fit(params, losses) -> tuple[np.ndarray, float]:
    """Residuals of Approach 2's soft-L1 first fit in centred ln N and the robust standard deviation
    its outlier rule uses without measured seed noise (:func:`fitting.approach2.robust_first_fit`)."""
    log_n = np.log(np.asarray(params, dtype=float))
    _, residual, sigma = approach2_first_fit(log_n - float(np.mean(log_n)), losses)
    return residual, sigma


def robust_threshold(params, losses) -> float:
    """The residual beyond which the one-seed rule sets a point aside: OUTLIER_SIGMAS robust sds."""
    return OUTLIER_SIGMAS * robust_first_fit(params, losses)[1]


def plot_seed_profiles(fit, records: list[dict], ax=None):
    """IsoFLOP profiles fitted to seed means: each seed a faint dot, each seed mean a marker (filled
    inside the profile's window, open outside it), the parabola solid over the window's sizes and
    dotted over the rest of the sampled sizes, its minimum a star. ``records`` are the single runs
    of the fit's budgets (diverged ones skipped). Returns (fig, ax)."""
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=(7.5, 4.8))
    fig = ax.figure
    colours = plt.cm.viridis(np.linspace(0.0, 0.9, len(fit.profiles)))
    for profile, colour in zip(fit.profiles, colours):
        seeds = [r for r in records if float(r["budget"]) == profile.budget and r["final_loss"] is not None]
        ax.scatter([r["params_total"] for r in seeds], [r["final_loss"] for r in seeds], color=colour, s=10,
                   alpha=0.3, lw=0)
        sizes, loss = profile.runs.params, profile.runs.loss
        inside = np.array(profile.in_window or (True,) * profile.n_runs)
        ax.scatter(sizes[inside], loss[inside], color=colour, s=36, edgecolor="black", lw=0.5,
                   label=f"C = {profile.budget:.3g}")
        ax.scatter(sizes[~inside], loss[~inside], facecolor="none", edgecolor=colour, s=36, lw=1.2)
        if not profile.usable:
            continue
        near = np.geomspace(sizes[inside].min(), sizes[inside].max(), 60)
        ax.plot(near, profile.loss_at(near), color=colour, lw=1.5)
        whole = np.geomspace(sizes.min(), sizes.max(), 100)
        ax.plot(whole, profile.loss_at(whole), color=colour, lw=0.8, ls=":")
        ax.plot(profile.n_opt, profile.loss_min, marker="*", ms=12, color=colour, mec="black", ls="none")
    from matplotlib.lines import Line2D

    grey = "0.45"
    keys = [Line2D([], [], ls="none", marker="o", ms=3, color=grey, alpha=0.4, label="one seed"),
            Line2D([], [], ls="none", marker="o", mfc="none", mec=grey, label="mean outside the window"),
            Line2D([], [], ls=":", color=grey, label="parabola beyond the window")]
    ax.set_xscale("log")
    ax.set_xlabel("Parameters N (total)")
    ax.set_ylabel("Final held-out loss (nats per byte)")
    ax.legend(handles=ax.get_legend_handles_labels()[0] + keys, fontsize=8, ncol=2)
    return fig, ax
