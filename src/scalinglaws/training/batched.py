"""K runs of one shape trained at once, as one stacked model: tiny models keep a GPU busy.

A model of 50K parameters does too little arithmetic per step to keep a GPU's cores busy: each
step is hundreds of small kernels, and the time goes to launching them. Training K models of the
SAME shape side by side turns every kernel into one K times larger. ``torch.func`` does it
without a second model definition:

- ``stack_module_state`` stacks the K models' parameters into one tensor per weight, with a
  leading model axis (K, ...);
- ``functional_call`` runs :class:`scalinglaws.training.model.GPT`'s own forward on one slice
  of them, and ``vmap`` maps it over the model axis, so a linear layer becomes one batched
  matrix product for all K models;
- one AdamW over the stacked tensors is K AdamWs: Adam's update is elementwise, so element i
  of a stacked weight only ever sees its own gradient and moments.

Each of the K runs is the run :func:`scalinglaws.training.train.train` would train from the same
:class:`TrainConfig`: the same initial weights (``torch.manual_seed(seed)`` then ``GPT(shape)``),
the same batches (a :class:`BatchSampler` seeded with ``seed``), the same schedule, weight decay
on the matrices only, and gradient clipping by EACH model's own gradient norm (clipping the
stack as a whole would let one model's large gradient shrink the others' steps). The K configs
may differ in their seed only. ``tests/test_batched.py`` checks the losses against ``train``'s,
step by step.

Two differences, both in float rounding only: attention runs SDPA's plain "math" kernel, because
a fused kernel that has no ``vmap`` rule falls back to a slow loop over the models (PyTorch
warns so on CPU); and the matrix products are batched, so they sum in another order.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import replace

import numpy as np
import torch
from torch.func import functional_call, stack_module_state, vmap
from torch.nn.attention import SDPBackend, sdpa_kernel

from scalinglaws.training.model import GPT
from scalinglaws.training.train import (BatchSampler, Engine, TrainConfig, TrainResult, autocast, eval_schedule,
                                        validation_windows)

#: The attention kernel under vmap: the composite "math" kernel decomposes into matrix products
#: that vmap batches over the models on every device; fused kernels may lack a batching rule.
BATCHED_ATTENTION = [SDPBackend.MATH]

#: torch.nn.utils.clip_grad_norm_'s guard against dividing by a zero norm, reproduced per model.
CLIP_EPS = 1e-6


def check_configs(configs: list[TrainConfig]) -> None:
    """Refuse an empty list, or configs that differ in anything but their seed."""
    if len(configs) < 1:
        raise ValueError(f"batched training needs at least one config (K >= 1), got K={len(configs)}")
    first = replace(configs[0], seed=0)
    for index, config in enumerate(configs[1:], start=1):
        if replace(config, seed=0) != first:
            differing = [name for name in first.to_dict() if name != "seed"
                         and getattr(config, name) != getattr(configs[0], name)]
            raise ValueError(f"batched runs share one shape and recipe and differ only in their seed; config "
                             f"{index} also differs from config 0 in: {', '.join(differing) or 'its settings'}")


def clip_grad_norm_per_model(grads: list[torch.Tensor], max_norm: float) -> torch.Tensor:
    """``clip_grad_norm_`` applied to each model of a stack separately; returns the K norms.

    ``grads`` are stacked gradients (K, ...). Model k's norm is the 2-norm over all of ITS
    gradients, computed as PyTorch does (the norm of the per-tensor norms); its gradients are
    scaled by min(1, max_norm / (norm + 1e-6)), as clip_grad_norm_ scales one model's.
    """
    per_tensor = torch.stack([torch.linalg.vector_norm(g.flatten(1), dim=1) for g in grads])  # (tensors, K)
    norms = torch.linalg.vector_norm(per_tensor, dim=0)  # (K,)
    scale = torch.clamp(max_norm / (norms + CLIP_EPS), max=1.0)
    for g in grads:
        g.mul_(scale.view(-1, *([1] * (g.dim() - 1))))
    return norms


class BatchedRun:
    """K runs in progress as one stacked model: parameters, optimizer, K batch generators, K curves.

    The batched counterpart of :class:`scalinglaws.training.train.RunState`: :meth:`advance` trains
    all K models from ``self.step`` to a later step, and :meth:`results` gives each model's
    :class:`TrainResult`. A model that diverges is recorded as diverged at that step and its result
    frozen there; it keeps stepping with the others (its slice cannot affect theirs), and the run
    stops once all K have diverged. With ``record_losses`` the K training losses of every step are
    kept in :attr:`loss_history` (one (K,) tensor per step).
    """

    def __init__(self, configs: list[TrainConfig], train_tokens: np.ndarray, val_tokens: np.ndarray,
                 engine: Engine | None = None, eval_windows: torch.Tensor | None = None,
                 record_losses: bool = False):
        check_configs(configs)
        self.engine = engine = engine or Engine.default()
        if engine.compile:
            raise ValueError("batched training runs eagerly: got Engine(compile=True); pass compile=False")
        self.configs = configs
        self.config = config = configs[0]  # the recipe all K share
        shape = config.shape
        models = []
        for run in configs:  # each model initialised exactly as RunState initialises its seed's model
            torch.manual_seed(run.seed)
            models.append(GPT(shape).to(engine.device))
        # The stacked weights: one leaf tensor (K, ...) per parameter name; the skeleton, a GPT
        # without storage, supplies the forward that functional_call runs on one model's slice.
        self.params, _ = stack_module_state(models)
        self.skeleton = copy.deepcopy(models[0]).to("meta")
        del models
        self.optimizer = self._make_optimizer()
        # Each seed's own windows, drawn on the CPU as its run's sampler draws them, then stacked and moved.
        self.samplers = [BatchSampler(train_tokens, config.batch_size, shape.n_ctx, run.seed, "cpu")
                         for run in configs]
        if eval_windows is None:
            eval_windows = validation_windows(val_tokens, config.eval_sequences, shape.n_ctx)
        self.eval_windows = eval_windows
        self.eval_batch = max(config.batch_size, 64)
        self.blow_up = math.log(shape.vocab_size) + config.divergence_margin
        self.k = len(configs)
        self.step = 0  # optimizer steps done by every model that has not diverged
        self.held_out: list[dict[int, float]] = [{} for _ in configs]  # per model: step -> held-out loss
        self.initial_loss = [float("nan")] * self.k
        self.diverged_at: list[int | None] = [None] * self.k  # the step a model diverged after, if it did
        self.wall_time_s = 0.0
        self.record_losses = record_losses
        self.loss_history: list[torch.Tensor] = []
        # vmap over the model axis: training batches are per model, validation windows shared.
        self._train_losses = vmap(self._loss, in_dims=(0, 0, 0))
        self._eval_losses = vmap(self._loss, in_dims=(0, None, None))

    def _loss(self, params: dict, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """One model's mean cross-entropy, by GPT's own forward on that model's slice of the weights."""
        return functional_call(self.skeleton, params, (inputs, targets))[1]

    def _make_optimizer(self) -> torch.optim.AdamW:
        """train.make_optimizer over the stack: decay on what is a matrix or embedding PER MODEL
        (a stacked tensor of 3 or more dimensions), none on biases and LayerNorm gains."""
        stacked = list(self.params.values())
        groups = [{"params": [p for p in stacked if p.dim() >= 3], "weight_decay": self.config.weight_decay},
                  {"params": [p for p in stacked if p.dim() < 3], "weight_decay": 0.0}]
        return torch.optim.AdamW(groups, lr=self.config.peak_lr, betas=self.config.betas, fused=True)

    @property
    def diverged(self) -> list[bool]:
        return [at is not None for at in self.diverged_at]

    def next_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Each model's next training batch, stacked: inputs and targets of shape (K, batch, n_ctx)."""
        inputs, targets = zip(*(sampler.next() for sampler in self.samplers))
        inputs, targets = torch.stack(inputs), torch.stack(targets)
        if self.engine.device != "cpu":
            inputs = inputs.pin_memory().to(self.engine.device, non_blocking=True)
            targets = targets.pin_memory().to(self.engine.device, non_blocking=True)
        return inputs, targets

    def advance(self, until: int, eval_at=()) -> None:
        """Train every model from ``self.step`` to ``until`` steps done under the shared schedule,
        evaluating after every step listed in ``eval_at``; divergence is checked as RunState checks it."""
        config, engine = self.config, self.engine
        params = list(self.params.values())
        eval_at = set(eval_at)
        start = time.perf_counter()
        for step in range(self.step, until):
            if all(self.diverged):
                break
            for group in self.optimizer.param_groups:
                group["lr"] = config.learning_rate(step)
            inputs, targets = self.next_batch()
            with autocast(engine), sdpa_kernel(BATCHED_ATTENTION):
                losses = self._train_losses(self.params, inputs, targets)  # (K,)
            # The sum's gradient with respect to model k's weights is model k's own loss gradient.
            losses.sum().backward()
            clip_grad_norm_per_model([p.grad for p in params], config.grad_clip)
            self.optimizer.step()
            self.optimizer.zero_grad(set_to_none=True)
            done = self.step = step + 1
            if self.record_losses:
                self.loss_history.append(losses.detach().float().cpu())
            if step == 0 or done % engine.check_every == 0 or done in eval_at:
                self._check(losses.detach().float().tolist(), step, done)
            if done in eval_at:
                for k, value in enumerate(self.evaluate()):
                    if self.diverged_at[k] is not None:
                        continue
                    if math.isfinite(value):
                        self.held_out[k][done] = value
                    else:
                        self.diverged_at[k] = done
        self.wall_time_s += time.perf_counter() - start

    def _check(self, values: list[float], step: int, done: int) -> None:
        """Record first losses, and mark as diverged the models whose loss is NaN/inf or, after warmup,
        above a uniform guess by the divergence margin (RunState.advance's rule, per model)."""
        for k, value in enumerate(values):
            if self.diverged_at[k] is not None:
                continue
            if step == 0:
                self.initial_loss[k] = value
            if not math.isfinite(value) or (done > self.config.warmup and value > self.blow_up):
                self.diverged_at[k] = done

    @torch.no_grad()
    def evaluate(self) -> list[float]:
        """Each model's mean next-byte cross-entropy (nats) over the shared validation windows."""
        total = torch.zeros(self.k, dtype=torch.float64, device=self.engine.device)
        count = 0
        for chunk in self.eval_windows.split(self.eval_batch):
            chunk = chunk.to(self.engine.device, non_blocking=True)
            with autocast(self.engine), sdpa_kernel(BATCHED_ATTENTION):
                losses = self._eval_losses(self.params, chunk[:, :-1], chunk[:, 1:])
            total += losses.double() * chunk.shape[0]
            count += chunk.shape[0]
        return (total / count).tolist()

    def results(self) -> list[TrainResult]:
        """Each model's result, as :meth:`RunState.result_for` would give it for its own run."""
        config = self.config
        results = []
        for k in range(self.k):
            steps_done = self.diverged_at[k] if self.diverged_at[k] is not None else self.step
            result = TrainResult(final_loss=float("nan"), diverged=self.diverged_at[k] is not None,
                                 steps_done=steps_done, tokens_seen=steps_done * config.tokens_per_step,
                                 wall_time_s=self.wall_time_s, initial_loss=self.initial_loss[k])
            for step in eval_schedule(config.steps, config.n_eval_points, config.first_eval_fraction):
                if step in self.held_out[k]:
                    result.curve_tokens.append(step * config.tokens_per_step)
                    result.curve_loss.append(self.held_out[k][step])
            if not result.diverged:
                result.final_loss = result.curve_loss[-1]
            results.append(result)
        return results

    def model(self, k: int) -> GPT:
        """Model ``k`` as a standalone GPT (a copy of its weights), to evaluate or sample from."""
        if not 0 <= k < self.k:
            raise ValueError(f"model index must lie in [0, {self.k}), got {k}")
        model = GPT(self.config.shape).to(self.engine.device)
        model.load_state_dict({name: stacked[k].detach().clone() for name, stacked in self.params.items()})
        return model


def train_batched(configs: list[TrainConfig], train_tokens: np.ndarray, val_tokens: np.ndarray,
                  engine: Engine | None = None, eval_windows: torch.Tensor | None = None) -> list[TrainResult]:
    """Train the K runs ``configs`` (one shape and recipe, K seeds) at once; one result per config.

    Like :func:`scalinglaws.training.train.train`, never raises on a diverging run.
    """
    run = BatchedRun(configs, train_tokens, val_tokens, engine, eval_windows)
    config = run.config
    run.advance(config.steps, eval_schedule(config.steps, config.n_eval_points, config.first_eval_fraction))
    return run.results()
