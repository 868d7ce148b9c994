"""Chapter 12's views of an Approach 3 fit: residuals, fits with parameters held, simulated sweeps.

Ground truth is a known law (Besiroglu et al.'s refit, Hoffmann Eq. 2), sampled without noise on
IsoFLOP budgets, so every fit has an exact answer to recover.
"""

import math
from dataclasses import replace

import numpy as np
import pytest

from scalinglaws import constants
from scalinglaws import approach3_diagnostics as pv
from scalinglaws.fitting import fit_approach3
from scalinglaws.fitting.synthetic import isoflop_runs
from scalinglaws.laws import allocation_exponents

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
