"""Approach 1: envelope of training curves (Hoffmann Sec. 3.1)."""

import numpy as np
import pytest

from scalinglaws.fitting.approach1 import MIN_COVERING_RUNS, envelope, fit_approach1, smooth
from scalinglaws.fitting.powerlaw import FitFailure
from scalinglaws.fitting.synthetic import curve_runs, isoflop_runs
from scalinglaws.papers import constants
from scalinglaws.papers.laws import allocation_exponents, optimal_allocation

TRUTH = constants.BESIROGLU_REFIT
A_TRUE, B_TRUE = allocation_exponents(TRUTH)
SIZES = np.geomspace(1e6, 1e9, 25)


def test_smoothing_is_a_centred_moving_average():
    np.testing.assert_allclose(smooth([1, 2, 3, 4, 5, 6, 7]), [1, 2, 3, 4, 5, 6, 7])
    np.testing.assert_allclose(smooth([0, 0, 5, 0, 0, 0, 0]), [0, 5 / 3, 1, 1, 1, 0, 0])


def test_recovers_a_and_b_from_noise_free_curves():
    fit = fit_approach1(curve_runs(SIZES))
    assert fit.a == pytest.approx(A_TRUE, abs=0.02)
    assert fit.b == pytest.approx(B_TRUE, abs=0.02)
    # Spends its FLOPs: D_opt is the tokens seen at that point, so 6 N_opt D_opt = C.
    np.testing.assert_allclose(6 * fit.n_opt * fit.d_opt, fit.flops, rtol=1e-9)


def test_recovers_a_from_noisy_curves():
    fit = fit_approach1(curve_runs(SIZES, noise=0.003, seed=2))
    assert fit.a == pytest.approx(A_TRUE, abs=0.02)
    assert fit.n_grid_points > 0.5 * constants.APPROACH1_GRID_POINTS


def test_envelope_picks_the_law_s_optimal_size():
    flops, n_opt, *_ = envelope(curve_runs(SIZES))
    expected, _ = optimal_allocation(TRUTH, flops)
    # Sizes are 1.33x apart, so the best trained size is within that factor of N_opt.
    ratio = n_opt / expected
    assert np.all((ratio > 1 / 1.4) & (ratio < 1.4))


def test_needs_curves():
    with pytest.raises(ValueError, match="Approach 1 needs loss curves"):
        fit_approach1(isoflop_runs((1e19, 1e20)))


def test_too_few_runs_is_a_fit_failure():
    with pytest.raises(FitFailure, match=f"too few runs with curves.*need {MIN_COVERING_RUNS}"):
        fit_approach1(curve_runs(SIZES[:2]))


def _finished_runs(sizes=np.geomspace(1e6, 1e9, 13), lengths_per_size=12, unfinished_penalty=0.0):
    """Runs of every size at lengths sqrt(2) apart, each final loss the law's L(N, D) (a finished run),
    their curves (points part-way) ``unfinished_penalty`` above the law: a cosine not yet decayed."""
    from scalinglaws.data.runs import Run, Runs
    from scalinglaws.papers.laws import parametric_loss
    runs = []
    for n in sizes:
        for k in range(lengths_per_size):
            d = 2 * n * 2 ** (k / 2)
            part = np.geomspace(d / 8, d, 6)
            curve = parametric_loss(TRUTH, n, part) + unfinished_penalty * (part < d)
            runs.append(Run(name=f"N{n:.3g}-D{d:.3g}", params=n, tokens=d, flops=6 * n * d,
                            loss=float(parametric_loss(TRUTH, n, d)), curve_tokens=part, curve_loss=curve))
    return Runs(tuple(runs))


def test_the_envelope_of_finished_runs_recovers_a_and_ignores_unfinished_curve_points():
    clean = fit_approach1(_finished_runs(), finished_only=True)
    assert clean.a == pytest.approx(A_TRUE, abs=0.02) and clean.b == pytest.approx(B_TRUE, abs=0.02)
    penalised = fit_approach1(_finished_runs(unfinished_penalty=0.3), finished_only=True)
    np.testing.assert_array_equal(penalised.n_opt, clean.n_opt)
    assert penalised.a == clean.a


def test_finished_runs_as_curves_is_one_curve_per_size_and_refuses_repeated_lengths():
    from scalinglaws.data.runs import Runs
    from scalinglaws.fitting.approach1 import finished_runs_as_curves
    runs = _finished_runs(sizes=[1e6, 1e7], lengths_per_size=3)
    curves = finished_runs_as_curves(runs)
    assert [c.params for c in curves] == [1e6, 1e7]
    assert list(curves[0].curve_tokens) == sorted(r.tokens for r in runs if r.params == 1e6)
    assert list(curves[0].curve_loss) == [r.loss for r in sorted(runs, key=lambda r: r.tokens) if r.params == 1e6]
    assert [list(c.curve_loss) for c in finished_runs_as_curves(Runs(tuple(runs) + (runs[0],)))] == \
        [list(c.curve_loss) for c in curves]  # a run drawn twice counts once
    from dataclasses import replace
    with pytest.raises(ValueError, match="repeat a length: average their seeds"):
        finished_runs_as_curves(Runs(tuple(runs) + (replace(runs[0], loss=runs[0].loss + 0.01),)))


def test_the_fit_keeps_the_curves_its_envelope_was_taken_over():
    from dataclasses import replace
    from scalinglaws.data.runs import Runs
    runs = curve_runs(SIZES)
    runs = Runs((replace(runs[0], diverged=True), *runs[1:]))
    fit = fit_approach1(runs)
    assert fit.curves == tuple(runs[1:])
    assert all(any(winner is curve for curve in fit.curves) for winner in fit.winners)
    finished = fit_approach1(_finished_runs(), finished_only=True)
    assert len(finished.curves) == len({run.params for run in _finished_runs()})
