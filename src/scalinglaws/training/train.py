"""Train one tiny GPT for a planned number of tokens and record its held-out loss curve.

One run = one (model shape, token budget) point of an IsoFLOP sweep. The loop is
nanoGPT's ``train.py`` reduced to what a scaling-law run needs:

- AdamW (Loshchilov & Hutter 2019) with weight decay on the matrices only, gradient
  clipping, and the warmup + cosine-to-10% schedule of :mod:`scalinglaws.training.schedule`
  stretched over EXACTLY the planned number of steps (Hoffmann et al. 2022, App. B).
  ``TrainConfig.schedule_steps`` plans the cycle for more steps than the run takes, to
  reproduce App. B's finding (Figure A1) that an overlong cycle hurts the final loss.
  ``schedule="wsd"`` trains with warmup-stable-decay instead (Hagele et al. 2024), whose
  constant phase lets :mod:`scalinglaws.training.branches` cool one run down at several lengths.
- Random windows of ``n_ctx + 1`` bytes from the training split, drawn from a seeded
  generator: the same seed gives the same batches and, on CPU, the same losses.
- Held-out loss on a FIXED validation subset (evenly spaced windows of the validation
  split, identical for every run) at log-spaced steps ending with the last one: the
  curve feeds Approach 1, the final value Approaches 2 and 3. Evaluation is not part of
  the training compute C.
- A run whose training loss turns NaN/inf, or after warmup exceeds the loss of a
  uniform guess (ln 256) by ``divergence_margin``, is stopped and reported as diverged.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from scalinglaws.papers.counting import TransformerShape
from scalinglaws.training.model import GPT
from scalinglaws.training.schedule import (COOLDOWN_SHAPES, cooldown_steps_for, learning_rate,
                                           warmup_steps_for, wsd_learning_rate)


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a run's result (the sweep hashes it)."""

    shape: TransformerShape
    steps: int  # optimizer steps; tokens = steps * batch_size * n_ctx
    batch_size: int  # sequences per step
    peak_lr: float
    seed: int = 0
    weight_decay: float = 0.1
    betas: tuple[float, float] = (0.9, 0.95)
    grad_clip: float = 1.0
    warmup_fraction: float = 0.05  # of the run, capped at warmup_max_steps
    warmup_max_steps: int = 200
    n_eval_points: int = 14  # log-spaced held-out evaluations, the last at the final step
    first_eval_fraction: float = 0.02
    eval_sequences: int = 256  # size of the fixed validation subset, in windows of n_ctx
    divergence_margin: float = 1.0  # nats above ln(vocab) that count as blown up
    # Length of the cosine cycle (warmup included) in steps; None: the run's own ``steps``.
    # Longer than ``steps`` means the schedule was planned for a longer run that stops early
    # (Hoffmann et al. 2022, App. B, Figure A1: cycle lengths 1x to 5x the training steps).
    schedule_steps: int | None = None
    # "cosine" (the default, above) or "wsd": warmup, constant peak, then a cooldown to zero over
    # the last ``cooldown_fraction`` of the steps, shaped ``cooldown_shape`` (Hagele et al. 2024).
    schedule: str = "cosine"
    cooldown_fraction: float = 0.2
    cooldown_shape: str = "1-sqrt"
    # Warmup in steps, overriding warmup_fraction/warmup_max_steps: the branches of one WSD run
    # share its warmup whatever their lengths (scalinglaws.training.wsd_plan sets it). None: from the fraction.
    warmup_steps: int | None = None

    def __post_init__(self) -> None:
        if self.steps < 2 or self.batch_size < 1:
            raise ValueError(f"need steps >= 2 and batch_size >= 1, got {self.steps} and {self.batch_size}")
        if not self.peak_lr > 0:
            raise ValueError(f"peak_lr must be positive, got {self.peak_lr}")
        if self.n_eval_points < 1 or self.eval_sequences < 1:
            raise ValueError("need at least one evaluation point and one validation sequence")
        if self.schedule_steps is not None and self.schedule_steps < self.steps:
            raise ValueError(f"schedule_steps must be at least steps={self.steps} (a cosine cycle as long "
                             f"as the run or longer), got {self.schedule_steps}")
        if self.schedule not in ("cosine", "wsd"):
            raise ValueError(f"unknown schedule {self.schedule!r}: choose 'cosine' or 'wsd'")
        if self.schedule == "cosine" and (self.cooldown_fraction, self.cooldown_shape) != (0.2, "1-sqrt"):
            raise ValueError("cooldown_fraction and cooldown_shape belong to schedule='wsd'; a cosine run has no "
                             "cooldown")
        if self.schedule == "wsd":
            if self.schedule_steps is not None:
                raise ValueError("schedule_steps plans a cosine cycle; a 'wsd' run's cooldown ends with the run")
            if self.cooldown_shape not in COOLDOWN_SHAPES:
                raise ValueError(f"unknown cooldown shape {self.cooldown_shape!r}; choose one of "
                                 f"{sorted(COOLDOWN_SHAPES)}")
            cooldown_steps_for(self.steps, self.cooldown_fraction)  # refuses a fraction outside (0, 1)
        if self.warmup_steps is not None and not 0 < self.warmup_steps <= self.stable_steps:
            raise ValueError(f"warmup_steps={self.warmup_steps} must be positive and end before the "
                             f"{'cooldown' if self.schedule == 'wsd' else 'last step'} "
                             f"(at most {self.stable_steps} steps)")

    @property
    def cycle_steps(self) -> int:
        """Steps the warmup + cosine schedule is planned for (``schedule_steps`` or ``steps``)."""
        return self.steps if self.schedule_steps is None else self.schedule_steps

    @property
    def cooldown_steps(self) -> int:
        """Steps of a 'wsd' run's cooldown (0 for a cosine run)."""
        return cooldown_steps_for(self.steps, self.cooldown_fraction) if self.schedule == "wsd" else 0

    @property
    def stable_steps(self) -> int:
        """Steps before the cooldown of a 'wsd' run (its branch point); a cosine run's steps - 1."""
        return self.steps - self.cooldown_steps if self.schedule == "wsd" else self.cycle_steps - 1

    @property
    def warmup(self) -> int:
        """Warmup steps: ``warmup_steps`` if set, else a fraction of the planned schedule."""
        if self.warmup_steps is not None:
            return self.warmup_steps
        # Warmup and cosine are both part of the plan, so both follow the planned cycle length.
        return warmup_steps_for(self.cycle_steps, self.warmup_fraction, self.warmup_max_steps)

    def learning_rate(self, step: int) -> float:
        """The peak-scaled learning rate of optimizer step ``step`` (0-based) under this run's schedule."""
        if self.schedule == "wsd":
            return wsd_learning_rate(step, self.steps, self.peak_lr, self.warmup, self.cooldown_steps,
                                     self.cooldown_shape)
        return learning_rate(step, self.cycle_steps, self.peak_lr, self.warmup)

    @property
    def tokens_per_step(self) -> int:
        return self.batch_size * self.shape.n_ctx

    @property
    def tokens(self) -> int:
        """Training tokens D the run will see (each window's n_ctx predicted bytes)."""
        return self.steps * self.tokens_per_step

    def to_dict(self) -> dict:
        """The settings as a dict; ``schedule_steps`` only when set, so that configs written
        before it existed keep their settings hash (a resumed sweep compares hashes)."""
        settings = asdict(self)
        if self.schedule_steps is None:
            del settings["schedule_steps"]
        if self.schedule == "cosine":  # likewise for the fields WSD added
            for name in ("schedule", "cooldown_fraction", "cooldown_shape"):
                del settings[name]
        if self.warmup_steps is None:
            del settings["warmup_steps"]
        return settings


@dataclass(frozen=True)
class Engine:
    """How to run (not what): device, threads, bf16 autocast, torch.compile."""

    device: str = "cpu"
    bf16: bool = False
    compile: bool = False
    check_every: int = 1  # steps between divergence checks (each check syncs a GPU)

    @classmethod
    def default(cls) -> "Engine":
        """CUDA with bf16 autocast and torch.compile when present, else plain fp32 CPU.

        ``SCALINGLAWS_COMPILE=0`` keeps CUDA runs eager: a sweep of many tiny shapes can spend
        longer compiling each new shape than training it (benchmarks/device_check.sh sets it).
        """
        compile_on_cuda = compile_wanted()
        if torch.cuda.is_available():
            return cls(device="cuda", bf16=True, compile=compile_on_cuda, check_every=50)
        return cls()


#: "0": Engine.default() trains eagerly on CUDA; "1" (or unset): with torch.compile. No effect on a CPU.
COMPILE_ENV = "SCALINGLAWS_COMPILE"


def compile_wanted() -> bool:
    """Whether ``$SCALINGLAWS_COMPILE`` lets Engine.default() compile on CUDA (unset: yes)."""
    value = os.environ.get(COMPILE_ENV, "1")
    if value not in ("0", "1"):
        raise ValueError(f"{COMPILE_ENV} must be 0 (eager) or 1 (torch.compile), got {value!r}")
    return value == "1"


@dataclass
class TrainResult:
    final_loss: float  # held-out loss after the last step (nan if diverged)
    curve_tokens: list[int] = field(default_factory=list)
    curve_loss: list[float] = field(default_factory=list)
    diverged: bool = False
    steps_done: int = 0
    tokens_seen: int = 0
    wall_time_s: float = 0.0
    initial_loss: float = float("nan")  # training loss of the very first batch

    def to_dict(self) -> dict:
        return asdict(self)


def eval_schedule(total_steps: int, n_points: int, first_fraction: float = 0.02) -> list[int]:
    """Steps (counted after the update) at which to evaluate: log-spaced, ending at total_steps."""
    first = max(1.0, first_fraction * total_steps)
    points = np.geomspace(first, total_steps, n_points) if n_points > 1 else np.array([total_steps])
    steps = sorted({int(round(p)) for p in points} | {total_steps})
    return [s for s in steps if 1 <= s <= total_steps]


def validation_windows(val_tokens: np.ndarray, n_sequences: int, n_ctx: int) -> torch.Tensor:
    """The fixed validation subset: ``n_sequences`` evenly spaced windows of n_ctx + 1 bytes.

    Evenly spaced over the whole split (not the first few kilobytes) so the subset samples
    every held-out document; deterministic, so every run is scored on the same bytes.
    """
    span = n_ctx + 1
    if len(val_tokens) < span:
        raise ValueError(f"validation split has {len(val_tokens)} tokens, fewer than one window of {span}")
    n_sequences = min(n_sequences, len(val_tokens) // span)
    starts = np.linspace(0, len(val_tokens) - span, n_sequences).astype(np.int64)
    windows = np.stack([np.asarray(val_tokens[s:s + span]) for s in starts])
    return torch.from_numpy(windows.astype(np.int64))


@torch.no_grad()
def evaluate(model: torch.nn.Module, windows: torch.Tensor, batch_size: int, engine: Engine) -> float:
    """Mean next-byte cross-entropy (nats) over the validation windows."""
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    for chunk in windows.split(batch_size):
        chunk = chunk.to(engine.device, non_blocking=True)
        with autocast(engine):
            _, loss = model(chunk[:, :-1], chunk[:, 1:])
        total += loss.item() * chunk.shape[0]
        count += chunk.shape[0]
    model.train(was_training)
    return total / count


def autocast(engine: Engine):
    device_type = "cuda" if engine.device.startswith("cuda") else "cpu"
    return torch.autocast(device_type=device_type, dtype=torch.bfloat16, enabled=engine.bf16)


class BatchSampler:
    """Random training windows from a 1-D byte array, reproducible from a seed."""

    def __init__(self, train_tokens: np.ndarray, batch_size: int, n_ctx: int, seed: int, device: str):
        if len(train_tokens) < n_ctx + 2:
            raise ValueError(f"training split has {len(train_tokens)} tokens, too few for n_ctx={n_ctx}")
        # The whole split in memory as a uint8 tensor (at most a few hundred MB of bytes).
        self.data = torch.from_numpy(np.array(train_tokens, dtype=np.uint8))  # a writable copy
        self.offsets = torch.arange(n_ctx + 1)
        self.batch_size, self.n_ctx, self.device = batch_size, n_ctx, device
        self.generator = torch.Generator().manual_seed(seed)

    def next(self) -> tuple[torch.Tensor, torch.Tensor]:
        starts = torch.randint(len(self.data) - self.n_ctx - 1, (self.batch_size, 1), generator=self.generator)
        window = self.data[starts + self.offsets].long()
        if self.device != "cpu":
            window = window.pin_memory().to(self.device, non_blocking=True)
        return window[:, :-1], window[:, 1:]


def make_optimizer(model: GPT, config: TrainConfig) -> torch.optim.AdamW:
    """AdamW; weight decay on matrices and embeddings only, not on biases or LayerNorm gains (nanoGPT)."""
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": config.weight_decay},
              {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=config.peak_lr, betas=config.betas, fused=True)


def train(config: TrainConfig, train_tokens: np.ndarray, val_tokens: np.ndarray,
          engine: Engine | None = None, eval_windows: torch.Tensor | None = None) -> TrainResult:
    """Train a fresh model from ``config.seed`` and return its held-out loss curve.

    Never raises on a diverging run: it stops and sets ``diverged``.
    """
    return train_model(config, train_tokens, val_tokens, engine, eval_windows)[1]


def train_model(config: TrainConfig, train_tokens: np.ndarray, val_tokens: np.ndarray,
                engine: Engine | None = None, eval_windows: torch.Tensor | None = None) -> tuple[GPT, TrainResult]:
    """:func:`train`, also returning the trained model (to sample from it, for instance)."""
    run = RunState(config, train_tokens, val_tokens, engine, eval_windows)
    run.advance(config.steps, config.learning_rate, eval_schedule(config.steps, config.n_eval_points,
                                                                  config.first_eval_fraction))
    return run.model, run.result_for(config)


class RunState:
    """A run in progress: model, optimizer, batch generator and the held-out losses so far.

    :func:`train_model` advances one from step 0 to the end. :mod:`scalinglaws.training.branches`
    advances one along a WSD run's constant phase, saves it at each branch point
    (:meth:`state_dict`) and cools a copy down, which is why the loop lives here, in one place.
    """

    def __init__(self, config: TrainConfig, train_tokens: np.ndarray, val_tokens: np.ndarray,
                 engine: Engine | None = None, eval_windows: torch.Tensor | None = None):
        self.engine = engine = engine or Engine.default()
        self.config = config
        shape = config.shape
        torch.manual_seed(config.seed)
        self.model = GPT(shape).to(engine.device)
        self.step_model = torch.compile(self.model) if engine.compile else self.model
        self.optimizer = make_optimizer(self.model, config)
        self.sampler = BatchSampler(train_tokens, config.batch_size, shape.n_ctx, config.seed, engine.device)
        if eval_windows is None:
            eval_windows = validation_windows(val_tokens, config.eval_sequences, shape.n_ctx)
        self.eval_windows = eval_windows
        self.eval_batch = max(config.batch_size, 64)
        self.blow_up = math.log(shape.vocab_size) + config.divergence_margin
        self.step = 0  # optimizer steps done
        self.held_out: dict[int, float] = {}  # step -> held-out loss after it
        self.initial_loss = float("nan")
        self.diverged = False
        self.wall_time_s = 0.0

    def advance(self, until: int, lr_of_step, eval_at) -> None:
        """Train from ``self.step`` up to ``until`` steps done, with learning rate ``lr_of_step(step)``,
        evaluating after every step listed in ``eval_at``; stops early if the run diverges."""
        config, engine, model, optimizer = self.config, self.engine, self.model, self.optimizer
        eval_at = set(eval_at)
        start = time.perf_counter()
        for step in range(self.step, until):
            if self.diverged:
                break
            lr = lr_of_step(step)
            for group in optimizer.param_groups:
                group["lr"] = lr
            inputs, targets = self.sampler.next()
            with autocast(engine):
                _, loss = self.step_model(inputs, targets)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip, foreach=True)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            done = self.step = step + 1
            if step == 0 or done % engine.check_every == 0 or done in eval_at:
                value = loss.item()
                if step == 0:
                    self.initial_loss = value
                if not math.isfinite(value) or (done > config.warmup and value > self.blow_up):
                    self.diverged = True
                    break
            if done in eval_at:
                held_out = evaluate(self.step_model, self.eval_windows, self.eval_batch, engine)
                if not math.isfinite(held_out):
                    self.diverged = True
                    break
                self.held_out[done] = held_out
        self.wall_time_s += time.perf_counter() - start

    def result_for(self, config: TrainConfig) -> TrainResult:
        """The result of the run ``config`` describes, which this state has just finished: its curve
        at ``config``'s evaluation steps (a branch shares the points before its branch point)."""
        result = TrainResult(final_loss=float("nan"), diverged=self.diverged, steps_done=self.step,
                             tokens_seen=self.step * config.tokens_per_step, wall_time_s=self.wall_time_s,
                             initial_loss=self.initial_loss)
        for step in eval_schedule(config.steps, config.n_eval_points, config.first_eval_fraction):
            if step in self.held_out:  # a branch's trunk evaluated only up to its branch point
                result.curve_tokens.append(step * config.tokens_per_step)
                result.curve_loss.append(self.held_out[step])
        if not self.diverged:
            result.final_loss = result.curve_loss[-1]
        return result

    # Checkpoints (scalinglaws.training.branches): everything the next step depends on.
    def state_dict(self) -> dict:
        return {"step": self.step, "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "generator": self.sampler.generator.get_state(), "held_out": dict(self.held_out),
                "initial_loss": self.initial_loss, "diverged": self.diverged, "wall_time_s": self.wall_time_s}

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.sampler.generator.set_state(state["generator"])
        self.step, self.held_out = state["step"], dict(state["held_out"])
        self.initial_loss, self.diverged = state["initial_loss"], state["diverged"]
        self.wall_time_s = state["wall_time_s"]
