"""Inference-aware allocation (Sardana & Frankle 2023) against its ground truths: with no inference
it is Hoffmann Eq. 4's allocation for the same loss, and a brute-force grid finds no cheaper model."""

import math

import numpy as np
import pytest

from scalinglaws.papers import inference, laws
from scalinglaws.papers import constants as k

FITS = [k.CHINCHILLA_UNROUNDED, k.BESIROGLU_REFIT]


@pytest.mark.parametrize("fit", FITS, ids=lambda fit: fit.name)
@pytest.mark.parametrize("flops", [1e21, 5.76e23])
def test_no_inference_reproduces_equation_4(fit, flops):
    n_opt, d_opt = laws.optimal_allocation(fit, flops)
    target = float(laws.parametric_loss(fit, n_opt, d_opt))
    best = inference.inference_optimal(fit, target, 0.0)
    assert best.params == pytest.approx(n_opt, rel=1e-8)
    assert best.tokens == pytest.approx(d_opt, rel=1e-8)
    assert best.total_flops == pytest.approx(flops, rel=1e-8)
    assert best.inference_flops == 0.0


@pytest.mark.parametrize("fit", FITS, ids=lambda fit: fit.name)
@pytest.mark.parametrize("inference_tokens", [1e11, 1e13, 1e15])
def test_brute_force_grid_finds_nothing_cheaper(fit, inference_tokens):
    target = float(laws.parametric_loss(fit, 70e9, 1.4e12))  # Chinchilla's size and data
    best = inference.inference_optimal(fit, target, inference_tokens)
    grid = np.geomspace(inference.smallest_params(fit, target) * 1.0001, 1e13, 20001)
    costs = np.array([inference.lifetime_flops(fit, n, target, inference_tokens) for n in grid])
    assert best.total_flops <= costs.min() * (1 + 1e-12)
    step = grid[1] / grid[0]
    assert grid[costs.argmin()] / step <= best.params <= grid[costs.argmin()] * step
    assert float(laws.parametric_loss(fit, best.params, best.tokens)) == pytest.approx(target, rel=1e-12)


def test_serving_more_tokens_shrinks_the_model_and_lengthens_training():
    fit = k.CHINCHILLA_UNROUNDED
    target = float(laws.parametric_loss(fit, 70e9, 1.4e12))
    found = [inference.inference_optimal(fit, target, i) for i in (0, 1e12, 1e13, 1e14)]
    assert all(a.params > b.params for a, b in zip(found, found[1:]))
    assert all(a.tokens < b.tokens for a, b in zip(found, found[1:]))


def test_tokens_for_loss_diverges_at_the_smallest_size():
    fit = k.BESIROGLU_REFIT
    target = float(laws.parametric_loss(fit, 1e9, 2e10))
    smallest = inference.smallest_params(fit, target)
    # Just above the smallest size the data needed diverges; at it and below, no data suffices.
    assert laws.tokens_for_loss(fit, smallest * 1.000001, target) > 1e20
    assert laws.tokens_for_loss(fit, smallest / 2, target) == math.inf
    assert inference.lifetime_flops(fit, smallest / 2, target, 1e12) == math.inf


def test_bad_input_is_refused():
    fit = k.CHINCHILLA_UNROUNDED
    with pytest.raises(ValueError, match="irreducible loss E"):
        inference.inference_optimal(fit, fit.E, 1e12)
    with pytest.raises(ValueError, match="inference_tokens must be"):
        inference.inference_optimal(fit, 2.0, -1.0)
    with pytest.raises(ValueError, match="irreducible loss E"):
        inference.smallest_params(fit, fit.E)
