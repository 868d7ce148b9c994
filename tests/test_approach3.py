"""Approach 3: Huber fit of L = E + A/N^alpha + B/D^beta (Hoffmann Sec. 3.3, App. D.2; Besiroglu et al. 2024)."""

import math

import numpy as np
import pytest
from scipy.optimize import approx_fprime

from scalinglaws.data.chinchilla_data import load_besiroglu_points
from scalinglaws.fitting.approach3 import (coefficients, fit_approach3, fit_approach3_arrays,
                                           fit_approach3_scipy, grid_starts, make_problem, objective_at,
                                           parameter_vector)
from scalinglaws.fitting.synthetic import isoflop_runs
from scalinglaws.papers import constants
from scalinglaws.papers.laws import allocation_exponents, optimal_allocation, parametric_loss


@pytest.fixture(scope="module")
def points():
    return load_besiroglu_points()


@pytest.fixture(scope="module")
def summed(points):
    return fit_approach3(points, reduction="sum")


@pytest.fixture(scope="module")
def averaged(points):
    return fit_approach3(points, reduction="mean")


def test_grid_is_hoffmann_appendix_d2():
    starts = grid_starts()
    assert starts.shape == (4500, 5)
    assert sorted(set(starts[:, 0])) == [0, 5, 10, 15, 20, 25]  # a
    assert sorted(set(starts[:, 2])) == [-1, -0.5, 0, 0.5, 1]  # e
    assert sorted(set(starts[:, 3])) == [0, 0.5, 1, 1.5, 2]  # alpha


def test_summed_huber_recovers_besiroglu_refit(summed):
    expected = constants.BESIROGLU_SUMMED_FIT
    assert summed.alpha == pytest.approx(expected["alpha"], rel=0.03)
    assert summed.beta == pytest.approx(expected["beta"], rel=0.03)
    assert summed.E == pytest.approx(expected["E"], rel=0.03)
    assert summed.a == pytest.approx(constants.BESIROGLU_A, abs=0.005)
    assert summed.b == pytest.approx(1 - constants.BESIROGLU_A, abs=0.005)
    assert summed.converged and summed.n_converged > 0.9 * summed.n_starts
    # About 18 tokens per parameter at Gopher's budget (Besiroglu et al., Section 3).
    n_opt, d_opt = optimal_allocation(summed, constants.GOPHER_FLOPS)
    assert 15 < d_opt / n_opt < 22


def test_mean_reduced_huber_stops_early_near_a_044(points, summed, averaged):
    """Besiroglu et al.: averaging the Huber loss makes L-BFGS stop early, near a = 0.44."""
    assert averaged.a == pytest.approx(constants.BESIROGLU_MEAN_STOPPED_A, abs=0.03)
    assert averaged.a < summed.a - 0.03
    # Early, not elsewhere: on the summed objective the averaged fit is clearly worse.
    problem = make_problem(points.params, points.tokens, points.loss, reduction="sum")
    value_at_averaged, _ = problem(parameter_vector(averaged)[None, :], np.zeros(1, dtype=int))
    assert value_at_averaged[0] > 1.05 * summed.objective
    # The mean objective is the sum divided by the 240 points, so its values are tiny.
    assert averaged.objective < summed.objective / 100


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_analytic_gradient_matches_finite_differences(points, reduction):
    weights = np.random.default_rng(0).integers(0, 3, len(points)).astype(float)
    problem = make_problem(points.params, points.tokens, points.loss, reduction=reduction, weights=weights)
    row = np.zeros(1, dtype=int)
    for x in ([6.0, 7.5, 0.6, 0.34, 0.37], [3.0, 12.0, 0.2, 0.2, 0.6]):
        x = np.array(x)
        _, gradient = problem(x[None], row)
        numeric = approx_fprime(x, lambda v: problem(v[None], row)[0][0], 1e-7)
        np.testing.assert_allclose(gradient[0], numeric, rtol=1e-4, atol=1e-9 * np.abs(numeric).max())


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_batched_lbfgs_agrees_with_plain_scipy_loop(points, reduction):
    starts = grid_starts()[np.random.default_rng(1).choice(4500, 60, replace=False)]
    batched = fit_approach3_arrays(points.params, points.tokens, points.loss, reduction, starts=starts)
    looped = fit_approach3_scipy(points.params, points.tokens, points.loss, reduction, starts=starts)
    assert batched.objective == pytest.approx(looped.objective, rel=1e-4)
    np.testing.assert_allclose(parameter_vector(batched), parameter_vector(looped), atol=2e-3)
    assert batched.alpha == pytest.approx(looped.alpha, abs=1e-3)
    assert batched.beta == pytest.approx(looped.beta, abs=1e-3)
    assert batched.n_starts == looped.n_starts == 60
    # Same line search and stopping rules: start by start, the same place (early stops included).
    same = np.isclose(batched.local_objectives, looped.local_objectives, rtol=1e-4)
    assert same.mean() >= 0.9


def test_recovers_known_law_from_synthetic_runs():
    truth = constants.BESIROGLU_REFIT
    runs = isoflop_runs(constants.APPROACH2_BUDGETS, law=truth, noise=0.005, seed=3)
    fit = fit_approach3(runs)
    a_true, _ = allocation_exponents(truth)
    assert fit.a == pytest.approx(a_true, abs=0.02)
    assert fit.E == pytest.approx(truth.E, rel=0.03)
    assert fit.converged


def test_bad_input_messages():
    with pytest.raises(ValueError, match="needs at least 5 points, got 4"):
        fit_approach3_arrays([1e8, 2e8, 3e8, 4e8], [1e9] * 4, [3.0] * 4)
    with pytest.raises(ValueError, match="loss L must be positive and finite"):
        fit_approach3_arrays([1e8] * 6, [1e9] * 6, [3.0, 3.0, np.nan, 3.0, 3.0, 3.0])
    with pytest.raises(ValueError, match="params N must be positive"):
        fit_approach3_arrays([1e8, -1, 1, 1, 1, 1], [1e9] * 6, [3.0] * 6)
    with pytest.raises(ValueError, match=r"reduction must be one of \('sum', 'mean'\)"):
        fit_approach3_arrays([1e8] * 6, [1e9] * 6, [3.0] * 6, reduction="median")


def synthetic_points(fit, log_residual=0.0):
    """A grid of (N, D) with losses from ``fit``, each multiplied by exp(log_residual)."""
    params, tokens = (grid.ravel() for grid in np.meshgrid(np.logspace(7, 10, 6), np.logspace(9, 12, 5)))
    return params, tokens, parametric_loss(fit, params, tokens) * math.exp(log_residual)


def test_objective_at_is_zero_on_the_fits_own_predictions():
    params, tokens, loss = synthetic_points(constants.CHINCHILLA_UNROUNDED)
    assert objective_at(constants.CHINCHILLA_UNROUNDED, params, tokens, loss) == pytest.approx(0, abs=1e-20)
    assert objective_at(constants.BESIROGLU_REFIT, params, tokens, loss) > 0


@pytest.mark.parametrize("residual, per_point", [
    (5e-4, 0.5 * 5e-4**2),  # inside delta = 1e-3: quadratic
    (0.1, 1e-3 * (0.1 - 0.5e-3)),  # outside: linear (Huber 1964)
])
def test_objective_at_is_huber_summed_or_averaged(residual, per_point):
    params, tokens, loss = synthetic_points(constants.CHINCHILLA_UNROUNDED, log_residual=residual)
    n = params.size
    fit = constants.CHINCHILLA_UNROUNDED
    assert objective_at(fit, params, tokens, loss) == pytest.approx(n * per_point, rel=1e-6)
    assert objective_at(fit, params, tokens, loss, "mean") == pytest.approx(per_point, rel=1e-6)


def test_parameter_vector_is_the_log_coefficients_and_coefficients_undo_it():
    fit = constants.CHINCHILLA_UNROUNDED
    # Hoffmann's LaTeX source gives log A, log B, log E directly (constants.py).
    np.testing.assert_allclose(parameter_vector(fit), [6.0073404, 6.0179186, 0.5267228, 0.33917084, 0.2849083],
                               rtol=1e-12)
    back = coefficients(np.vstack([parameter_vector(fit), parameter_vector(constants.BESIROGLU_REFIT)]))
    assert back["A"][0] == pytest.approx(fit.A, rel=1e-14) and back["beta"][1] == constants.BESIROGLU_REFIT.beta
