"""Chapter 12's views of an Approach 3 fit: residuals, fits with parameters held, simulated sweeps.

Ground truth is a known law (Besiroglu et al.'s refit, Hoffmann Eq. 2), sampled without noise on
IsoFLOP budgets, so every fit has an exact answer to recover.
"""

import math
from dataclasses import replace

import numpy as np
import pytest

from scalinglaws.data.runs import Run, Runs
from scalinglaws.fitting import approach3_diagnostics as pv
from scalinglaws.fitting import fit_approach3
from scalinglaws.fitting.synthetic import isoflop_runs
from scalinglaws.papers import constants
from scalinglaws.papers.laws import allocation_exponents, parametric_loss

LAW = constants.BESIROGLU_REFIT


@pytest.fixture(scope="module")
def clean():
    return isoflop_runs([1e18, 1e19, 1e20, 1e21], LAW, sizes_per_budget=5)


@pytest.fixture(scope="module")
def noisy():
    return isoflop_runs([1e18, 1e19, 1e20, 1e21], LAW, sizes_per_budget=5, noise=0.01, seed=1)


@pytest.fixture(scope="module")
def free_fit(noisy):
    return fit_approach3(noisy)


def test_nats_to_bits():
    assert pv.nats_to_bits(math.log(2)) == pytest.approx(1.0)
    assert np.allclose(pv.nats_to_bits([math.log(256), 0.0]), [8.0, 0.0])


def test_residuals_vanish_on_the_law_itself(clean):
    residuals = pv.log_residuals(LAW, clean)
    assert residuals.shape == (len(clean),)
    assert np.max(np.abs(residuals)) < 1e-12
    assert pv.points_inside_delta(LAW, clean) == len(clean)


def test_residuals_are_observed_minus_predicted(clean):
    worse = replace(LAW, E=LAW.E - 0.1)  # predicts lower losses everywhere
    assert np.all(pv.log_residuals(worse, clean) > 0)
    assert pv.points_inside_delta(worse, clean) == 0


def test_nothing_held_is_approach3(noisy, free_fit):
    same = pv.fit_fixed(noisy)
    assert same.objective == pytest.approx(free_fit.objective, rel=1e-9)
    assert same.a == pytest.approx(free_fit.a, abs=1e-6)


def test_holding_the_true_E_recovers_the_exponents(clean):
    fit = pv.fit_fixed(clean, E=LAW.E)
    assert fit.E == pytest.approx(LAW.E, rel=1e-12)  # held exactly, not approximately
    assert fit.alpha == pytest.approx(LAW.alpha, abs=1e-3)
    assert fit.beta == pytest.approx(LAW.beta, abs=1e-3)
    assert fit.converged and "E = " in fit.name


def test_holding_alpha_and_beta(noisy):
    fit = pv.fit_fixed(noisy, alpha=0.3, beta=0.4)
    assert (fit.alpha, fit.beta) == (0.3, 0.4)
    assert fit.a == pytest.approx(0.4 / 0.7)


def test_holding_a_keeps_the_ratio_and_costs_objective(noisy, free_fit):
    for target in (0.45, 0.6):
        fit = pv.fit_fixed(noisy, a=target)
        assert fit.a == pytest.approx(target, abs=1e-12)
        assert allocation_exponents(fit)[0] == pytest.approx(target, abs=1e-12)
        assert fit.objective >= free_fit.objective * (1 - 1e-9)
    # Held at the free fit's own a, the fit finds the free optimum again.
    again = pv.fit_fixed(noisy, a=free_fit.a)
    assert again.objective == pytest.approx(free_fit.objective, rel=1e-6)


@pytest.mark.parametrize("kwargs", [dict(a=0.5, alpha=0.3), dict(a=1.0), dict(a=0.0), dict(E=0.0),
                                    dict(E=-1.0), dict(alpha=float("nan"))])
def test_fit_fixed_rejects_bad_holds(noisy, kwargs):
    with pytest.raises(ValueError):
        pv.fit_fixed(noisy, **kwargs)


def test_simulation_without_noise_recovers_the_law(clean):
    sim = pv.simulate_fits(LAW, clean.params, clean.tokens, noise=0.0, n_replicates=5, grid_every=900)
    assert sim.n_succeeded == 5 and sim.n_points == len(clean)
    assert np.allclose(sim.samples["a"], allocation_exponents(LAW)[0], atol=1e-6)
    assert np.allclose(sim.samples["E"], LAW.E, rtol=1e-6)


def test_simulation_spread_grows_with_noise_and_is_seeded(clean):
    def width(noise, seed=0):
        sim = pv.simulate_fits(LAW, clean.params, clean.tokens, noise=noise, n_replicates=40, seed=seed,
                               grid_every=900)
        low, high = sim.interval("a")
        assert low <= high
        return high - low

    assert width(0.002) < width(0.01)
    assert width(0.01, seed=3) == width(0.01, seed=3)


def test_simulation_rejects_bad_designs():
    with pytest.raises(ValueError, match="same length"):
        pv.simulate_fits(LAW, [1e9] * 6, [1e10] * 5, noise=0.01)
    with pytest.raises(ValueError, match="at least 5"):
        pv.simulate_fits(LAW, [1e9] * 4, [1e10] * 4, noise=0.01)
    with pytest.raises(ValueError):
        pv.simulate_fits(LAW, [1e9] * 6, [1e10] * 6, noise=-0.1)


def test_the_residual_plot_has_one_panel_per_size_holding_that_size_s_residuals(clean):
    import matplotlib
    matplotlib.use("Agg")
    fit = fit_approach3(clean)
    axes = pv.plot_residuals_by_size(fit, clean)
    sizes = np.unique(clean.params)
    assert len(axes) == sizes.size
    residuals = pv.log_residuals(fit, clean)
    for ax, size in zip(axes, sizes):
        offsets = ax.collections[0].get_offsets()
        mine = clean.params == size
        assert np.allclose(np.sort(offsets[:, 1]), np.sort(residuals[mine]))
        assert f"{size:,.0f}" in ax.get_title()
    with pytest.raises(ValueError, match="one axis per model size"):
        pv.plot_residuals_by_size(fit, clean, axes=axes[:1])


@pytest.fixture(scope="module")
def seeded():
    """Three noisy draws (seeds) of every run of one design: 4 budgets x 5 sizes, 1% noise."""
    draws = [isoflop_runs([1e18, 1e19, 1e20, 1e21], LAW, sizes_per_budget=5, noise=0.01, seed=seed)
             for seed in (1, 2, 3)]
    assert all(np.array_equal(d.params, draws[0].params) and np.array_equal(d.tokens, draws[0].tokens)
               for d in draws)
    return draws[0] + draws[1] + draws[2], np.repeat([0, 1, 2], len(draws[0]))


def test_cell_residuals_of_the_true_law_are_seed_noise(seeded):
    runs, _ = seeded
    cells = pv.cell_residuals(LAW, runs)
    assert len(cells.mean) == len(runs) // 3 and np.all(cells.count == 3)
    assert np.all(np.diff(cells.params) >= 0)  # ordered by N
    # The within-cell spread is the 1% noise; the means' spread is what that noise predicts.
    assert cells.pooled_sd == pytest.approx(0.01, rel=0.25)
    assert cells.expected_rms_of_means == pytest.approx(cells.pooled_sd / math.sqrt(3))
    assert cells.rms_of_means == pytest.approx(cells.expected_rms_of_means, rel=0.4)
    # Each cell's mean is the mean of its runs' residuals.
    residuals = pv.log_residuals(LAW, runs)
    first = (runs.params == cells.params[0]) & (runs.tokens == cells.tokens[0])
    assert cells.mean[0] == pytest.approx(residuals[first].mean())
    assert cells.sd[0] == pytest.approx(residuals[first].std(ddof=1))


def test_a_fit_to_the_seeded_runs_recovers_the_law_and_fits_within_the_noise(seeded):
    runs, _ = seeded
    fit = fit_approach3(runs)
    assert fit.a == pytest.approx(allocation_exponents(LAW)[0], abs=0.03)
    assert fit.alpha == pytest.approx(LAW.alpha, abs=0.05) and fit.beta == pytest.approx(LAW.beta, abs=0.05)
    cells = pv.cell_residuals(fit, runs)
    assert cells.rms_of_means < 1.5 * cells.expected_rms_of_means


def test_cell_residuals_show_a_wrong_law(seeded):
    runs, _ = seeded
    wrong = replace(LAW, beta=LAW.beta * 0.9)
    cells = pv.cell_residuals(wrong, runs)
    assert cells.rms_of_means > 5 * cells.expected_rms_of_means
    assert cells.pooled_sd == pytest.approx(pv.cell_residuals(LAW, runs).pooled_sd, rel=1e-9)  # spread unmoved


def test_cell_residuals_of_single_runs_have_no_seed_spread(clean):
    cells = pv.cell_residuals(LAW, clean)
    assert np.all(cells.count == 1) and np.all(np.isnan(cells.sd)) and math.isnan(cells.pooled_sd)


def test_the_residual_plot_draws_each_group_in_its_own_colour(seeded):
    import matplotlib
    matplotlib.use("Agg")
    runs, seeds = seeded
    axes = pv.plot_residuals_by_size(LAW, runs, groups=seeds)
    residuals = pv.log_residuals(LAW, runs)
    size = np.unique(runs.params)[0]
    assert len(axes[0].collections) == 3 and len(axes[0].lines) == 1 + 3  # the zero line, one per seed
    for seed, collection in zip((0, 1, 2), axes[0].collections):
        mine = (runs.params == size) & (seeds == seed)
        assert np.allclose(np.sort(collection.get_offsets()[:, 1]), np.sort(residuals[mine]))
    assert [t.get_text() for t in axes[0].get_legend().get_texts()] == ["0", "1", "2"]
    with pytest.raises(ValueError, match="one group label per run"):
        pv.plot_residuals_by_size(LAW, runs, groups=seeds[:-1])


def test_fit_columns_match_the_one_fit_table(noisy, free_fit):
    from scalinglaws.fitting import bootstrap_approach3
    from scalinglaws.papers import tables

    boot = bootstrap_approach3(noisy, n_resamples=8, seed=0)
    one = tables.format_intervals(free_fit, boot).splitlines()
    mine = pv.format_fit_columns([("noisy", free_fit, boot)]).splitlines()
    assert mine[0].split() == ["noisy", "10-90%", "Besiroglu", "95%", "Hoffmann", "10-90%"]
    assert [line.split() for line in mine[2:]] == [line.split() for line in one[2:]]
    two = pv.format_fit_columns([("first", free_fit, boot), ("second", LAW, boot)], names=("alpha",))
    cells = two.splitlines()[2].split()
    assert cells[:5] == ["alpha", f"{free_fit.alpha:.4g}", cells[2], f"{LAW.alpha:.4g}", cells[2]]


def test_group_resamples_redraw_whole_groups_within_each_stratum():
    groups = np.array(["a", "a", "b", "b", "b", "c", "d", "d"])
    strata = np.array([0, 0, 0, 0, 0, 1, 1, 1])
    counts = pv.group_resamples(groups, strata, n_resamples=50, seed=4)
    assert counts.shape == (50, 8)
    for row in counts:
        # Points of one group count alike; each stratum draws as many groups as it has.
        assert row[0] == row[1] and row[2] == row[3] == row[4] and row[6] == row[7]
        assert row[0] + row[2] == 2 and row[5] + row[6] == 2
    assert np.array_equal(counts, pv.group_resamples(groups, strata, n_resamples=50, seed=4))
    assert len({tuple(row) for row in counts}) > 1
    with pytest.raises(ValueError, match="one stratum"):
        pv.group_resamples(["a", "a"], [0, 1])
    with pytest.raises(ValueError):
        pv.group_resamples(groups, strata, n_resamples=0)


def trunk_runs(level, tilt, seed=0):
    """Five sizes x three seeds, each (size, seed) a 'training run' of eight lengths D whose
    log losses share one random offset (standard deviation ``level``) and one random tilt in
    log D (``tilt``) on top of LAW, as the WSD branches of one run share its trunk."""
    rng = np.random.default_rng(seed)
    runs, trunks = [], []
    for size in np.geomspace(1e8, 1e10, 5):
        for trunk in range(3):
            tokens = np.geomspace(2e9, 2e11, 8)
            centred = np.log(tokens) - np.log(tokens).mean()
            shared = level * rng.standard_normal() + tilt * rng.standard_normal() * centred
            noise = shared + 0.002 * rng.standard_normal(tokens.size)
            loss = parametric_loss(LAW, size, tokens) * np.exp(noise)
            for d, value in zip(tokens, loss):
                runs.append(Run(name=f"N{size:.0f}-s{trunk}-D{d:.0f}", params=float(size), tokens=float(d),
                                flops=6 * size * d, loss=float(value)))
                trunks.append(f"{size:.0f}-{trunk}")
    return Runs(tuple(runs)), np.array(trunks)


def test_a_group_bootstrap_of_a_noiseless_law_recovers_it():
    runs, trunks = trunk_runs(level=0.0, tilt=0.0)
    clean = Runs(tuple(replace(run, loss=float(loss))
                       for run, loss in zip(runs, parametric_loss(LAW, runs.params, runs.tokens))))
    boot = pv.bootstrap_groups(clean, trunks, strata=clean.params, n_resamples=10, seed=0)
    assert boot.n_succeeded == 10
    assert np.allclose(boot.samples["a"], allocation_exponents(LAW)[0], atol=1e-4)


def test_a_group_bootstrap_is_wider_than_a_point_bootstrap_when_groups_share_errors():
    from scalinglaws.fitting import bootstrap_approach3

    runs, trunks = trunk_runs(level=0.01, tilt=0.005, seed=2)
    full = fit_approach3(runs)
    grouped = pv.bootstrap_groups(runs, trunks, strata=runs.params, n_resamples=60, seed=0, full_fit=full)
    points = bootstrap_approach3(runs, n_resamples=60, seed=0, full_fit=full)
    assert grouped.n_succeeded >= 55 and points.n_succeeded >= 55
    # Here the fitted a of independent draws spreads by about 0.1 (10-90%); the point bootstrap
    # sees a quarter of that, the group bootstrap more (three runs per size are few to redraw).
    width = lambda boot: np.subtract(*boot.interval("a")[::-1])
    assert width(grouped) > 1.5 * width(points)
    with pytest.raises(ValueError, match="one group"):
        pv.bootstrap_groups(runs, trunks[:-1])


def test_a_panel_without_a_power_of_ten_still_labels_its_axis():
    import matplotlib
    matplotlib.use("Agg")
    tokens = np.geomspace(2.5e6, 8e6, 6)
    runs = Runs(tuple(Run(name=f"r{i}", params=1e5, tokens=float(d), flops=6e5 * d,
                          loss=float(parametric_loss(LAW, 1e5, d))) for i, d in enumerate(tokens)))
    (ax,) = pv.plot_residuals_by_size(LAW, runs)
    assert list(ax.get_xticks()) == [5e6]
    assert ax.xaxis.get_major_formatter()(5e6, 0) == r"$5\times10^{6}$"
