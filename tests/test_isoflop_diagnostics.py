"""isoflop_diagnostics: lack of fit against seed noise, on data whose answer is known."""

import math

import numpy as np
import pytest

from scalinglaws.data.runs import Run, Runs
from scalinglaws.fitting import isoflop_diagnostics as diag
from scalinglaws.fitting.approach2 import OUTLIER_FLOOR, OUTLIER_SIGMAS, fit_approach2, fit_isoflop_profile
from scalinglaws.fitting.seed_noise import PooledSpread


def _runs(budgets, sizes, loss_of):
    return Runs(tuple(Run(name=f"C{c:g}-N{n:g}", params=float(n), tokens=c / (6 * n), loss=float(loss_of(c, n)),
                          flops=c, budget=c) for c in budgets for n in sizes))


def _parabola(c, n):
    """An exact parabola in ln N whose minimum sits at 1e5 (C / 1e12)^0.5."""
    return 2.0 + 0.05 * (math.log(n) - math.log(1e5 * (c / 1e12) ** 0.5)) ** 2


SIZES = np.geomspace(2e4, 2e6, 9)


def test_an_exact_parabola_has_zero_lack_of_fit_and_its_points_are_counted():
    fit = fit_approach2(_runs((1e12, 4e12), SIZES, _parabola))
    checks = diag.check_profiles(fit, {1e12: 0.02, 4e12: PooledSpread(0.02, 8, 4)}, n_seeds=4)
    for check in checks:
        assert check.n_points == check.n_fitted == 9 and check.residual_dof == 6
        assert check.rms_residual < 1e-12 and check.residual_sd < 1e-12 and check.lack_of_fit_ratio < 1e-9
        assert check.point_sd == pytest.approx(0.01)  # 0.02 / sqrt(4)
        assert math.isnan(check.worst_left_out)
    assert [c.n_opt for c in checks] == pytest.approx([1e5, 2e5], rel=1e-9)


def test_residual_sd_is_the_rms_scaled_to_the_residual_degrees_of_freedom():
    x = np.log(SIZES)
    noise = np.array([1, -1, 1, -1, 1, -1, 1, -1, 1]) * 0.01
    losses = 2.0 + 0.05 * (x - x.mean()) ** 2 + noise
    profile = fit_isoflop_profile(1e12, SIZES, losses, outlier_sd=0.01)
    residual = profile.loss_at(SIZES) - losses
    fit = type("Fit", (), {"profiles": (profile,)})()
    (check,) = diag.check_profiles(fit, {1e12: 0.01}, n_seeds=1)
    assert check.residual_sd == pytest.approx(math.sqrt(np.sum(residual**2) / 6), rel=1e-12)
    assert check.lack_of_fit_ratio == pytest.approx(check.residual_sd / 0.01)


def test_three_points_leave_no_degrees_of_freedom_and_a_window_reports_what_it_left_out():
    sizes = np.array([1e4, 1e5, 1e6, 1e7])
    losses = np.array([2.4, 2.0, 2.1, 2.9])  # the window of 4 around 1e5 widens to 1e4..1e6
    fit = type("Fit", (), {"profiles": (fit_isoflop_profile(1e12, sizes, losses, window=4.0),)})()
    (check,) = diag.check_profiles(fit, {1e12: 0.05}, n_seeds=1)
    assert (check.n_points, check.n_fitted, check.residual_dof) == (4, 3, 0)
    assert check.rms_residual < 1e-12 and math.isnan(check.residual_sd) and math.isnan(check.lack_of_fit_ratio)
    profile = fit.profiles[0]
    assert check.worst_left_out == pytest.approx(abs(profile.loss_at(1e7) - 2.9), rel=1e-12)
    assert check.left_out_ratio == pytest.approx(check.worst_left_out / 0.05)
    table = diag.format_profile_checks([check])
    assert "1e+12" in table and " - " in table  # no ratio to show on 3 points


def test_n_seeds_must_be_positive():
    fit = fit_approach2(_runs((1e12, 4e12), SIZES, _parabola))
    with pytest.raises(ValueError, match="positive"):
        diag.check_profiles(fit, {1e12: 0.02, 4e12: 0.02}, n_seeds=0)


def test_the_robust_threshold_is_the_one_fit_isoflop_profile_applies():
    sizes = np.geomspace(1e4, 1e5, 6)
    x = np.log(sizes)
    clean = 3.0 - 0.4 * x + 0.02 * x**2
    exact_residual, sigma = diag.robust_first_fit(sizes, clean)
    assert np.max(np.abs(exact_residual)) < 1e-9
    assert sigma == pytest.approx(OUTLIER_FLOOR * np.median(clean))  # noise-free: the floor
    rng = np.random.default_rng(3)
    for _ in range(20):
        losses = clean + rng.normal(0, 0.01, sizes.size)
        losses[rng.integers(sizes.size)] += rng.choice([0.0, 0.08])
        residual, sigma = diag.robust_first_fit(sizes, losses)
        assert diag.robust_threshold(sizes, losses) == pytest.approx(OUTLIER_SIGMAS * sigma)
        flagged = np.abs(residual) > OUTLIER_SIGMAS * sigma
        if np.unique(sizes[~flagged]).size >= 3:  # else fit_isoflop_profile keeps every point
            assert fit_isoflop_profile(1e12, sizes, losses).outliers == tuple(flagged)


def test_the_seed_profile_figure_draws_every_seed_and_every_mean():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fit = fit_approach2(_runs((1e12, 4e12), SIZES, _parabola), window=4.0)
    records = [{"budget": c, "params_total": n, "final_loss": _parabola(c, n) + d}
               for c in (1e12, 4e12) for n in SIZES for d in (-0.01, 0.01)]
    fig, ax = diag.plot_seed_profiles(fit, records)
    offsets = [collection.get_offsets().shape[0] for collection in ax.collections]
    assert sum(offsets) == 2 * 2 * 9 + 2 * 9  # every seed, every mean (inside or outside the window)
    plt.close(fig)
