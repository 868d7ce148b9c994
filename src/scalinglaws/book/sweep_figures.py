"""The figures of a sweep's fits (:class:`scalinglaws.fitting.sweep_fits.SweepFit`), each in one line::

    sweep = fit_sweep(load_sweep_runs("results/cpu"), label="cpu", n_bootstrap=200)
    plot_isoflop_profiles(sweep)            # Approach 2, Hoffmann Figure 3
    plot_training_envelope(sweep)           # Approach 1, Hoffmann Figure 2
    plot_allocation(sweep)                  # N_opt(C), D_opt(C) of all approaches, Figure 1
    plot_parametric_fit(sweep)              # Approach 3, Hoffmann Figure 4 (right)
    plot_tokens_per_param(sweep)            # D_opt / N_opt against C
    plot_bootstrap(sweep)                   # the refits behind each interval

The book's tokens are bytes, so token axes say so.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import numpy as np

from scalinglaws.book.plotting import loglog_axes, plain_tick_labels
from scalinglaws.fitting.sweep_fits import SweepFit, isoflop_outliers, require_fit
from scalinglaws.papers import constants, laws

#: One colour per approach in every figure.
APPROACH_COLOURS = ("C0", "C1", "C2")
#: Chinchilla's rule of thumb: 1.4T tokens for 70B parameters (Hoffmann Table 1), 20 per parameter.
CHINCHILLA_TOKENS_PER_PARAM = constants.CHINCHILLA.tokens / constants.CHINCHILLA.params
#: English averages about 4 bytes per sub-word token (a rule of thumb for GPT-style tokenizers, not
#: measured for Chinchilla's SentencePiece tokenizer): the factor that puts a token count in this
#: book's unit, bytes, to the order of magnitude.
BYTES_PER_TOKEN_ENGLISH = 4
#: Chinchilla's 20 tokens per parameter in bytes per parameter: about 80.
CHINCHILLA_BYTES_PER_PARAM = BYTES_PER_TOKEN_ENGLISH * CHINCHILLA_TOKENS_PER_PARAM
#: The published exponents drawn for reference: Chinchilla (Hoffmann Table 2, Approach 1) and
#: Kaplan et al. (2020, Eq. 1.7 and Section 6.1), as in Table 2's last row.
REFERENCE_SLOPES = {"Chinchilla": constants.approach(1).table_2, "Kaplan": constants.KAPLAN_TABLE_2}
COMPUTE_LABEL = "Training compute C (FLOPs)"
PARAMS_LABEL = "Parameters N"
LOSS_LABEL = "Held-out loss (nats per byte)"


# ------------------------------------------------------------------------------------------
# Figures
# ------------------------------------------------------------------------------------------


def _axes(ax):
    if ax is None:
        return plt.subplots()
    return ax.figure, ax




def _fitted_budgets(sweep: SweepFit) -> np.ndarray:
    usable = sweep.runs.without_diverged()
    return np.unique(usable.budgets())


def _compute_range(sweep: SweepFit, widen: float = 1.5) -> np.ndarray:
    """Log-spaced C over the sweep's budgets, ``widen`` times beyond each end."""
    budgets = _fitted_budgets(sweep)
    return np.geomspace(budgets.min() / widen, budgets.max() * widen, 200)


def _chosen(approaches) -> tuple[int, ...]:
    """The approaches a figure draws: all three when ``approaches`` is None."""
    if approaches is None:
        return (1, 2, 3)
    chosen = tuple(int(index) for index in np.atleast_1d(approaches))
    if not chosen or any(index not in (1, 2, 3) for index in chosen):
        raise ValueError(f"approaches must be a selection of 1, 2 and 3, got {approaches!r}")
    return chosen


def _optima(sweep: SweepFit, flops, approaches=None) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """(N_opt, D_opt) at ``flops`` by each approach (of ``approaches``, default all) that was
    fitted: Approaches 1 and 2 from their power laws, Approach 3 from Hoffmann Eq. 4."""
    chosen = _chosen(approaches)
    optima = {}
    for index in (1, 2):
        fit = sweep.fit(index)
        if fit is not None and index in chosen:
            optima[index] = (fit.n_law(flops), fit.d_law(flops))
    if sweep.fit(3) is not None and 3 in chosen:
        optima[3] = laws.optimal_allocation(sweep.fit(3), flops)
    if not optima:
        raise ValueError(f"{sweep.label}: no approach of {chosen} was fitted, so there is no optimum to draw")
    return optima


def _measured_style(index: int) -> dict:
    """Markers of measured optima: Approach 1's many envelope points faint, Approach 2's few bold."""
    faint = dict(marker=".", ms=2, alpha=0.3) if index == 1 else dict(marker="o", ms=6)
    return dict(ls="none", color=APPROACH_COLOURS[index - 1], **faint)


def _measured_optima(sweep: SweepFit, approaches=None) -> dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(C, N_opt, D_opt) measured by Approach 1 (the envelope) and 2 (the usable profiles)."""
    chosen = _chosen(approaches)
    measured = {}
    if sweep.fit(1) is not None and 1 in chosen:
        fit = sweep.fit(1)
        measured[1] = (fit.flops, fit.n_opt, fit.d_opt)
    if sweep.fit(2) is not None and 2 in chosen:
        good = [p for p in sweep.fit(2).profiles if p.usable]
        measured[2] = tuple(np.array(values) for values in
                            zip(*[(p.budget, p.n_opt, p.d_opt) for p in good]))
    return measured


def plot_isoflop_profiles(sweep: SweepFit, ax=None):
    """Approach 2 (Hoffmann Figure 3, left): final loss against N for each budget, the robust
    parabola in ln N through it and its minimum (a star; budgets whose minimum was left out of
    the fit draw their parabola dashed and no star); runs left out as outliers are crossed in red."""
    fit = require_fit(sweep, 2)
    fig, ax = _axes(ax)
    colours = plt.cm.viridis(np.linspace(0.0, 0.9, len(fit.profiles)))
    for profile, colour in zip(fit.profiles, colours):
        sizes = profile.runs.params
        ax.scatter(sizes, profile.runs.loss, color=colour, s=18, label=f"C = {profile.budget:.2g}")
        if np.isnan(profile.coefficients[0]):
            continue
        grid = np.geomspace(sizes.min(), sizes.max(), 100)
        ax.plot(grid, profile.loss_at(grid), color=colour, ls="-" if profile.usable else "--")
        if profile.usable:
            ax.plot(profile.n_opt, profile.loss_min, marker="*", ms=12, color=colour, mec="black", ls="none")
    outliers = isoflop_outliers(sweep)
    if len(outliers):
        ax.plot(outliers.params, outliers.loss, ls="none", marker="x", ms=9, color="red",
                label="outlier (left out of its parabola)")
    ax.set_xscale("log")
    ax.set_xlabel(PARAMS_LABEL)
    ax.set_ylabel(LOSS_LABEL)
    ax.set_title(f"IsoFLOP profiles ({sweep.label})")
    ax.legend(fontsize=8)
    return fig, ax


def plot_training_envelope(sweep: SweepFit, axes=None):
    """Approach 1 (Hoffmann Figure 2): left, every run's held-out loss against the FLOPs spent so
    far with the envelope (the lowest loss at each C) in black; right, the model size on the
    envelope against C and the power law N_opt ~ C^a through it. Returns (fig, (left, right))."""
    fit = require_fit(sweep, 1)
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
    fig = axes[0].figure
    left, right = axes
    sizes = np.log([run.params for run in fit.curves])
    shades = plt.cm.viridis((sizes - sizes.min()) / max(np.ptp(sizes), 1e-12) * 0.9)
    for run, colour in zip(fit.curves, shades):
        left.plot(run.curve_flops, run.curve_loss, color=colour, lw=0.8, alpha=0.7)
    left.plot(fit.flops, fit.loss, color="black", lw=2.5, label="envelope (minimum loss)")
    loglog_axes(COMPUTE_LABEL, LOSS_LABEL, f"Training curves ({sweep.label})", ax=left)
    plain_tick_labels(left.yaxis)
    left.legend(fontsize=8)
    right.plot(fit.flops, fit.n_opt, ls="none", marker=".", ms=3, color=APPROACH_COLOURS[0],
               label="size on the envelope")
    grid = np.geomspace(fit.flops.min(), fit.flops.max(), 100)
    right.plot(grid, fit.n_law(grid), color="black", label=f"N_opt ~ C^{fit.a:.2f}")
    loglog_axes(COMPUTE_LABEL, "Compute-optimal N_opt (parameters)", "Approach 1", ax=right)
    right.legend(fontsize=8)
    return fig, axes


def plot_allocation(sweep: SweepFit, ax=None, approaches=None):
    """N_opt(C) (solid) and D_opt(C) (dashed) by every fitted approach (or those of
    ``approaches``, e.g. ``(1,)``), with the measured optima of Approaches 1 and 2 and each
    power law, and the published slopes of Chinchilla (a = b = 0.5, Hoffmann Table 2) and
    Kaplan (a = 0.73, b = 0.27) drawn through this sweep's Approach 2 (else the first drawn)
    optimum at the middle budget, for their slopes only (Hoffmann Figure 1)."""
    fig, ax = _axes(ax)
    flops = _compute_range(sweep)
    optima = _optima(sweep, flops, approaches)
    for index, (n_opt, d_opt) in optima.items():
        colour = APPROACH_COLOURS[index - 1]
        ax.plot(flops, n_opt, color=colour, label=f"{constants.approach(index).short_label}: a = {sweep.fit(index).a:.2f}")
        ax.plot(flops, d_opt, color=colour, ls="--")
    for index, (c, n_opt, d_opt) in _measured_optima(sweep, approaches).items():
        ax.plot(c, n_opt, **_measured_style(index))
        ax.plot(c, d_opt, mfc="white", **_measured_style(index))
    centre = float(np.sqrt(flops[0] * flops[-1]))
    anchor = 2 if 2 in optima else min(optima)
    n_centre, d_centre = (float(np.asarray(value)[len(flops) // 2]) for value in optima[anchor])
    for (name, published), ls in zip(REFERENCE_SLOPES.items(), (":", "-.")):
        ax.plot(flops, n_centre * (flops / centre) ** published.a, color="grey", ls=ls, lw=1,
                label=f"{name} slopes: a = {published.a:.2f}, b = {published.b:.2f}")
        ax.plot(flops, d_centre * (flops / centre) ** published.b, color="grey", ls=ls, lw=1)
    loglog_axes(COMPUTE_LABEL, "N_opt (parameters), D_opt (bytes)",
                f"N_opt (solid) and D_opt (dashed), {sweep.label}", ax=ax)
    ax.legend(fontsize=8)
    return fig, ax


def plot_parametric_fit(sweep: SweepFit, ax=None):
    """Approach 3 (Hoffmann Figure 4, right): final loss against N for each budget with the
    fitted law L(N, C / 6N) (Hoffmann Eq. 2) through it, and the compute-optimal frontier
    (N_opt(C), L(N_opt, D_opt)) of Eq. 4 in black."""
    fit = require_fit(sweep, 3)
    fig, ax = _axes(ax)
    usable = sweep.runs.without_diverged()
    labels = usable.budgets()
    budgets = np.unique(labels)
    colours = plt.cm.viridis(np.linspace(0.0, 0.9, budgets.size))
    for budget, colour in zip(budgets, colours):
        members = labels == budget
        sizes = usable.params[members]
        ax.scatter(sizes, usable.loss[members], color=colour, s=18, label=f"C = {budget:.2g}")
        grid = np.geomspace(sizes.min() / 1.5, sizes.max() * 1.5, 100)
        ax.plot(grid, laws.parametric_loss(fit, grid, budget / (6.0 * grid)), color=colour)
    flops = _compute_range(sweep)
    n_opt, d_opt = laws.optimal_allocation(fit, flops)
    ax.plot(n_opt, laws.parametric_loss(fit, n_opt, d_opt), color="black", lw=2,
            label="compute-optimal frontier")
    ax.set_xscale("log")
    ax.set_xlabel(PARAMS_LABEL)
    ax.set_ylabel(LOSS_LABEL)
    ax.set_title(f"L(N, D) = {fit.E:.2f} + {fit.A:.3g}/N^{fit.alpha:.2f} + {fit.B:.3g}/D^{fit.beta:.2f}"
                 f" ({sweep.label})", fontsize=9)
    ax.legend(fontsize=8)
    return fig, ax


def plot_tokens_per_param(sweep: SweepFit, ax=None, approaches=None):
    """D_opt / N_opt (bytes per parameter) against C by each fitted approach (or those of
    ``approaches``), measured optima as points, with Chinchilla's 20 tokens per parameter
    (Hoffmann Table 1: 1.4T / 70B)."""
    fig, ax = _axes(ax)
    flops = _compute_range(sweep)
    optima = _optima(sweep, flops, approaches)
    for index, (n_opt, d_opt) in optima.items():
        ax.plot(flops, d_opt / n_opt, color=APPROACH_COLOURS[index - 1], label=constants.approach(index).short_label)
    for index, (c, n_opt, d_opt) in _measured_optima(sweep, approaches).items():
        ax.plot(c, d_opt / n_opt, **_measured_style(index))
    ax.axhline(CHINCHILLA_TOKENS_PER_PARAM, color="grey", ls=":",
               label=f"Chinchilla: {CHINCHILLA_TOKENS_PER_PARAM:.0f} tokens per parameter")
    loglog_axes(COMPUTE_LABEL, "D_opt / N_opt at the optimum (bytes per parameter)",
                f"Data per parameter at the optimum ({sweep.label})", ax=ax)
    ax.yaxis.set_major_formatter(mticker.FuncFormatter(lambda value, _position: f"{value:g}"))
    ax.yaxis.set_minor_formatter(mticker.NullFormatter())
    ax.legend(fontsize=8)
    return fig, ax


def plot_envelope_winners(sweep: SweepFit, ax=None):
    """Where Approach 1's envelope comes from: at each of its C, how far the winning run is
    through its own training (C over the run's total C; 1 is its final evaluation, where its
    cosine has decayed), coloured by the winner's size as in :func:`plot_training_envelope`."""
    fit = require_fit(sweep, 1)
    fig, ax = _axes(ax)
    winners = fit.winners
    sizes = np.log([run.params for run in fit.curves])
    low, span = sizes.min(), max(np.ptp(sizes), 1e-12)
    fraction = fit.flops / np.array([run.flops for run in winners])
    shades = plt.cm.viridis((np.log([run.params for run in winners]) - low) / span * 0.9)
    ax.scatter(fit.flops, fraction, c=shades, s=4)
    for params in np.unique([run.params for run in winners]):
        at = np.flatnonzero([run.params == params for run in winners])[0]
        ax.plot([], [], ls="none", marker="o", ms=4, color=shades[at], label=f"N = {params:,.0f}")
    ax.axhline(1.0, color="grey", ls=":", lw=1)
    ax.set_xscale("log")
    ax.set_ylim(0, 1.05)
    ax.set_xlabel(COMPUTE_LABEL)
    ax.set_ylabel("Share of the winning run trained (C / its total C)")
    ax.set_title(f"Which run is on the envelope ({sweep.label})")
    ax.legend(fontsize=8)
    return fig, ax


def plot_bootstrap(sweep: SweepFit, approaches=None, exponent: str = "a", ax=None):
    """Histograms of ``exponent`` ("a" or "b") over each approach's bootstrap refits, with the
    fit on all runs (solid) and the 10th-90th percentile interval (dotted), and Hoffmann
    Table 2's value for that approach (grey)."""
    if exponent not in ("a", "b"):
        raise ValueError(f"exponent must be 'a' (N_opt ~ C^a) or 'b' (D_opt ~ C^b), got {exponent!r}")
    reports = [(index, sweep.report.approach(index)) for index in _chosen(approaches)]
    reports = [(index, report) for index, report in reports
               if report.fit is not None and report.bootstrap is not None and report.bootstrap.n_succeeded]
    if not reports:
        raise ValueError(f"{sweep.label}: none of the approaches {_chosen(approaches)} has bootstrap refits "
                         "(fit_sweep with n_bootstrap > 0)")
    fig, ax = _axes(ax)
    values = np.concatenate([report.bootstrap.samples[exponent] for _, report in reports])
    width = 0.0125
    bins = np.arange(np.floor(values.min() / width), np.ceil(values.max() / width) + 1) * width
    for index, report in reports:
        colour = APPROACH_COLOURS[index - 1]
        samples = report.bootstrap.samples[exponent]
        ax.hist(samples, bins=bins, color=colour, alpha=0.45,
                label=f"{constants.approach(index).short_label}: {samples.size} refits")
        ax.axvline(getattr(report.fit, exponent), color=colour, lw=2)
        for bound in report.bootstrap.interval(exponent):
            ax.axvline(bound, color=colour, ls=":", lw=1.5)
        ax.axvline(getattr(constants.approach(index).table_2, exponent), color="grey", lw=1, ls="--")
    ax.plot([], [], color="grey", ls="--", lw=1, label="Hoffmann Table 2")
    ax.set_xlabel(f"Exponent {exponent} of {'N_opt' if exponent == 'a' else 'D_opt'} ~ C^{exponent}")
    ax.set_ylabel("Bootstrap refits")
    ax.set_title(f"Bootstrap refits: fit on all runs (solid), 10-90% (dotted), {sweep.label}", fontsize=9)
    ax.legend(fontsize=8)
    return fig, ax
