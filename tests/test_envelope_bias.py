"""Approach 1's grid bias (scalinglaws.fitting.envelope_bias): known truth recovered where the grid is dense."""

import math
from dataclasses import replace

import numpy as np
import pytest

from scalinglaws.fitting import envelope_bias
from scalinglaws.papers import constants, laws

DENSE = envelope_bias.dense_points(np.geomspace(1e4, 1e7, 31), (10, 1000))
#: Five sizes about 2x apart at sqrt(2)-spaced budgets up to 3.2e13 FLOPs, 2M to 84M tokens each:
#: the shape of the reference sweep's grid (scalinglaws.sweeps.tuned_sweep), its 39 points.
COARSE = tuple((float(n), c / (6 * n)) for n in (37_760, 103_344, 224_640, 420_080, 708_096)
               for c in 4e12 * math.sqrt(2) ** np.arange(-8, 7) if 2e6 <= c / (6 * n) <= 8.4e7)


def test_balanced_law_has_a_half_and_the_chosen_optimum():
    law = envelope_bias.balanced_law(constants.BESIROGLU_REFIT, 2e5, 6e12)
    assert law.alpha == law.beta == constants.BESIROGLU_REFIT.alpha
    assert laws.allocation_exponents(law)[0] == pytest.approx(0.5)
    assert laws.optimal_allocation(law, 6e12)[0] == pytest.approx(2e5)


@pytest.mark.parametrize("n_opt, flops", [(2e5, 6e12), (5e4, 6e12), (1e6, 1e14)])
def test_a_dense_grid_recovers_a_half_without_noise(n_opt, flops):
    law = envelope_bias.balanced_law(constants.BESIROGLU_REFIT, n_opt, flops)
    assert envelope_bias.recovered_a(DENSE, law)[0] == pytest.approx(0.5, abs=0.005)


@pytest.mark.parametrize("law", [constants.BESIROGLU_REFIT, constants.CHINCHILLA_PRINTED])
def test_a_dense_grid_recovers_unbalanced_laws(law):
    truth = law.beta / (law.alpha + law.beta)
    assert envelope_bias.recovered_a(DENSE, law)[0] == pytest.approx(truth, abs=0.015)


def test_a_dense_grid_recovers_a_half_through_small_seed_noise():
    law = envelope_bias.balanced_law(constants.BESIROGLU_REFIT, 2e5, 6e12)
    values = envelope_bias.recovered_a(DENSE, law, seed_sd=0.01, correlation=0.9, replicates=10, seed=1)
    assert np.all(np.isfinite(values)) and np.median(values) == pytest.approx(0.5, abs=0.02)


def test_a_coarse_grid_answer_depends_on_where_the_optimum_falls_between_sizes():
    """Five sizes: a staircase of at most three steps, whose fit moves with the optimum's placement."""
    assert len(COARSE) == 39
    values = [envelope_bias.recovered_a(COARSE, envelope_bias.balanced_law(constants.BESIROGLU_REFIT, n, 1.13e13))[0]
              for n in 2.09e5 * np.geomspace(0.7, 1.42, 7)]
    assert np.all(np.isfinite(values)) and max(values) - min(values) > 0.1


def test_without_noise_a_balanced_law_answer_does_not_depend_on_alpha():
    """Sizes N1, N2 tie at C = 6 N1 N2 / G^2 whatever alpha is; alpha enters only through the
    interpolation between finished lengths (module docstring)."""
    answers = [envelope_bias.recovered_a(COARSE, envelope_bias.balanced_law(
        replace(constants.BESIROGLU_REFIT, alpha=alpha), 2e5, 1.13e13))[0] for alpha in (0.3, 0.5)]
    assert answers[0] == pytest.approx(answers[1], abs=0.005)


def test_seed_noise_has_the_stated_spread_and_trunk_correlation():
    law = envelope_bias.balanced_law(constants.BESIROGLU_REFIT, 2e5, 6e12)
    points = [(1e5, 1e7), (1e5, 2e7)]
    clean = np.array(envelope_bias.synthetic_runs(points, law).loss)
    rng = np.random.default_rng(0)
    draws = np.array([envelope_bias.synthetic_runs(points, law, seed_sd=0.03, n_seeds=3, correlation=0.8, rng=rng).loss
                      for _ in range(4000)]) - clean
    assert draws.std(axis=0) == pytest.approx([0.03 / math.sqrt(3)] * 2, rel=0.05)
    assert np.corrcoef(draws.T)[0, 1] == pytest.approx(0.8, abs=0.03)
    shifted = envelope_bias.synthetic_runs(points, law, seed_sd=0.03, correlation=1.0, rng=rng).loss
    assert shifted[1] - shifted[0] == pytest.approx(clean[1] - clean[0])  # one trunk: one shift


def test_trunk_correlation_recovers_the_correlation_records_were_drawn_with():
    rng = np.random.default_rng(0)
    rho, records = 0.7, []
    for n in (1e5, 2e5, 4e5):
        for seed in range(3):
            trunk = rng.standard_normal()
            for d in 1e6 * 2.0 ** np.arange(40):
                loss = 0.02 * (math.sqrt(rho) * trunk + math.sqrt(1 - rho) * rng.standard_normal())
                records.append({"params_total": n, "tokens": d, "seed": seed, "final_loss": loss, "diverged": False})
    assert envelope_bias.trunk_correlation(records) == pytest.approx(rho, abs=0.1)
    assert len(envelope_bias.finished_points(records)) == 120


def test_noise_needs_an_rng_and_a_valid_correlation():
    law = constants.BESIROGLU_REFIT
    with pytest.raises(ValueError, match="rng"):
        envelope_bias.synthetic_runs([(1e5, 1e7)], law, seed_sd=0.01)
    with pytest.raises(ValueError, match="correlation"):
        envelope_bias.synthetic_runs([(1e5, 1e7)], law, correlation=1.5)


def test_fit_balanced_law_recovers_the_law_the_records_were_drawn_from():
    truth = envelope_bias.balanced_law(replace(constants.BESIROGLU_REFIT, alpha=0.42), 2e5, 1.13e13)
    records = [{"run_id": f"N{n:.0f}-D{d:.0f}-seed{seed}", "budget": 6 * n * d, "corpus": "c", "params_total": n, "tokens": d,
                "train_config": {"shape": {"n": n}, "steps": d, "seed": seed}, "seed": seed, "diverged": False, "curve_tokens": [],
                "curve_loss": [], "final_loss": float(laws.parametric_loss(truth, n, d))}
               for n, d in COARSE for seed in range(2)]
    law = envelope_bias.fit_balanced_law(records)
    assert law.alpha == law.beta == pytest.approx(0.42, abs=1e-9)
    assert (law.E, law.A, law.B) == pytest.approx((truth.E, truth.A, truth.B), rel=1e-6)
