"""Batched training (scalinglaws.training.batched): K stacked models are K runs of train.py.

The ground truth is train.py's own loop (RunState.advance), run once per seed, with a wrapper
around its model that records every training loss. Two models trained as one stack must give
the same per-step training losses and held-out curves, to float rounding. Measured on CPU in
fp32 the two agree to 1e-6 nats over 40 steps (the batched matrix products and SDPA's math
kernel round differently), while clipping the stack as a whole, not clipping, or decaying the
LayerNorm gains too move the losses by 0.02-0.05 nats: hence TOLERANCE, 1e-4 nats.
"""

import math

import numpy as np
import pytest
import torch

from scalinglaws.data.corpus import load_tokens
from scalinglaws.papers.counting import TransformerShape
from scalinglaws.training.batched import BatchedRun, check_configs, clip_grad_norm_per_model, train_batched
from scalinglaws.training.model import GPT
from scalinglaws.training.train import Engine, RunState, TrainConfig, eval_schedule, evaluate, make_optimizer

SHAPE = TransformerShape(n_layers=2, d_model=32, n_heads=4, n_ctx=64)
TOLERANCE = 1e-4  # nats; see the module docstring


@pytest.fixture(autouse=True, scope="module")
def _one_thread(one_thread):
    """Every test in this file trains in-process on one thread."""


@pytest.fixture(scope="module")
def shakespeare():
    return load_tokens("shakespeare", "train", progress=False), load_tokens("shakespeare", "validation", progress=False)


def config(**changes) -> TrainConfig:
    """40 steps with clipping active at every step and a strong weight decay, so that clipping over
    the stack, or decay on the wrong tensors, shows in the losses."""
    settings = dict(shape=SHAPE, steps=40, batch_size=8, peak_lr=1e-2, weight_decay=1.0, grad_clip=0.5,
                    eval_sequences=32, n_eval_points=5)
    settings.update(changes)
    return TrainConfig(**settings)


class LossRecorder(torch.nn.Module):
    """Wraps a GPT and keeps the training loss of every forward pass made in training mode."""

    def __init__(self, model: GPT):
        super().__init__()
        self.model, self.losses = model, []

    def forward(self, inputs, targets):
        logits, loss = self.model(inputs, targets)
        if self.training:  # evaluate() switches to eval mode: held-out passes are not recorded
            self.losses.append(loss.item())
        return logits, loss


def single_run(run: TrainConfig, data):
    """train.py's path for one seed: its per-step training losses, its result and its model."""
    state = RunState(run, *data, Engine())
    state.step_model = LossRecorder(state.model)
    state.advance(run.steps, run.learning_rate, eval_schedule(run.steps, run.n_eval_points, run.first_eval_fraction))
    return state.step_model.losses, state.result_for(run), state.model


def test_two_batched_models_train_as_two_single_runs(shakespeare):
    configs = [config(seed=3), config(seed=4)]
    batched = BatchedRun(configs, *shakespeare, Engine(), record_losses=True)
    batched.advance(40, eval_schedule(40, 5, 0.02))
    per_step = torch.stack(batched.loss_history).numpy()  # (steps, K)
    results = batched.results()
    singles = [single_run(run, shakespeare) for run in configs]
    assert per_step.shape == (40, 2)
    for k, (losses, result, model) in enumerate(singles):
        assert per_step[:, k] == pytest.approx(losses, abs=TOLERANCE)
        assert results[k].curve_loss == pytest.approx(result.curve_loss, abs=TOLERANCE)
        assert results[k].curve_tokens == result.curve_tokens
        assert results[k].initial_loss == pytest.approx(result.initial_loss, abs=TOLERANCE)
        assert (results[k].steps_done, results[k].tokens_seen, results[k].diverged) == (40, 40 * 8 * 64, False)
        # The unstacked model k is model k: its held-out loss by train.evaluate is the run's final loss.
        held_out = evaluate(batched.model(k), batched.eval_windows, batched.eval_batch, Engine())
        assert held_out == pytest.approx(result.final_loss, abs=TOLERANCE)
        assert held_out == pytest.approx(evaluate(model, batched.eval_windows, batched.eval_batch, Engine()),
                                         abs=TOLERANCE)
    # Not vacuous: the two seeds' runs differ by far more than the tolerance.
    assert np.abs(per_step[:, 0] - per_step[:, 1]).max() > 100 * TOLERANCE
    assert results[0].curve_loss[-1] < results[0].curve_loss[0] - 1.0  # and they learn


def test_each_stacked_model_starts_from_its_seeds_weights():
    """Model k's initial weights are exactly those RunState draws for seed k."""
    batched = BatchedRun([config(seed=7), config(seed=0)], np.zeros(10_000, np.uint8), np.zeros(1_000, np.uint8),
                         Engine())
    for k, seed in enumerate((7, 0)):
        torch.manual_seed(seed)
        expected = GPT(SHAPE).state_dict()
        for name, weight in batched.model(k).state_dict().items():
            assert torch.equal(weight, expected[name]), f"model {k} (seed {seed}): {name} differs"


def test_clipping_is_per_model_like_clip_grad_norm():
    """Each model's gradients are clipped by its own norm, as clip_grad_norm_ clips one model's:
    a large gradient in model 0 must not shrink model 1's small one."""
    generator = torch.Generator().manual_seed(0)
    grads = [torch.randn(2, 5, 3, generator=generator), torch.randn(2, 4, generator=generator)]
    grads[0][0] *= 100.0  # model 0: norm far above 1; model 1: norm about 4
    grads[1][1] *= 0.01
    grads[0][1] *= 0.01
    expected = []
    for k in range(2):
        own = [torch.nn.Parameter(torch.zeros_like(g[k])) for g in grads]
        for parameter, g in zip(own, grads):
            parameter.grad = g[k].clone()
        norm = torch.nn.utils.clip_grad_norm_(own, 1.0, foreach=True)
        expected.append((norm, [parameter.grad for parameter in own]))
    norms = clip_grad_norm_per_model(grads, 1.0)
    for k, (norm, clipped) in enumerate(expected):
        assert norms[k].item() == pytest.approx(norm.item(), rel=1e-6)
        for g, want in zip(grads, clipped):
            assert torch.allclose(g[k], want, rtol=1e-6, atol=0)
    assert norms[0] > 100 and norms[1] < 1  # model 0 clipped, model 1 left alone
    assert torch.linalg.vector_norm(torch.cat([g[1].flatten() for g in grads])) == pytest.approx(norms[1].item())


def test_weight_decay_applies_to_the_tensors_train_decays():
    """The stacked decay group holds exactly the tensors train.make_optimizer decays, by name."""
    batched = BatchedRun([config(seed=1), config(seed=2)], np.zeros(10_000, np.uint8), np.zeros(1_000, np.uint8),
                         Engine())
    names = {id(tensor): name for name, tensor in batched.params.items()}
    decayed = {names[id(p)] for p in batched.optimizer.param_groups[0]["params"]}
    model = GPT(SHAPE)
    single = make_optimizer(model, config())
    by_id = {id(p): name for name, p in model.named_parameters()}
    assert single.param_groups[0]["weight_decay"] == batched.optimizer.param_groups[0]["weight_decay"] == 1.0
    assert decayed == {by_id[id(p)] for p in single.param_groups[0]["params"]}
    assert {names[id(p)] for p in batched.optimizer.param_groups[1]["params"]} == {
        by_id[id(p)] for p in single.param_groups[1]["params"]}


def test_an_absurd_learning_rate_diverges_every_model_without_raising(shakespeare):
    results = train_batched([config(steps=200, peak_lr=50.0, seed=s) for s in (0, 1)], *shakespeare, Engine())
    for result in results:
        assert result.diverged and math.isnan(result.final_loss) and result.steps_done < 200


def test_bad_input_is_refused_with_the_value_named(shakespeare):
    with pytest.raises(ValueError, match="K >= 1.*K=0"):
        check_configs([])
    with pytest.raises(ValueError, match="differ only in their seed.*config 1.*peak_lr"):
        check_configs([config(seed=0), config(seed=1, peak_lr=3e-3)])
    with pytest.raises(ValueError, match="compile=True"):
        BatchedRun([config()], *shakespeare, Engine(compile=True))
    with pytest.raises(ValueError, match=r"model index must lie in \[0, 1\), got 1"):
        BatchedRun([config()], *shakespeare, Engine()).model(1)
