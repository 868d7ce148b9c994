"""The grid a preset defines: one :class:`RunSpec` per (budget, ladder shape), and any one run.

Each model of a budget's bracket (:meth:`scalinglaws.sweeps.presets.Preset.shapes_for`) gets
D = C / (6N) tokens, rounded to whole optimizer steps, the preset's batch for the budget and
its learning-rate rule for N. A ``fixed_horizon`` preset plans every cosine cycle for the
grid's longest run (Kaplan et al. 2020, Section 2.2); a ``wsd_cooldown`` preset's runs are
warmup-stable-decay branches (:mod:`scalinglaws.training.wsd_plan`). A run's id and settings hash are
what a results file records, so they must not change for the committed sweeps' grids, and
:func:`committed_record` finds a run's record by them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace

from scalinglaws.data.results import settings_digest
from scalinglaws.papers import counting
from scalinglaws.papers.counting import TransformerShape
from scalinglaws.sweeps.presets import Preset
from scalinglaws.training import wsd_plan
from scalinglaws.training.train import TrainConfig


def budget_label(budget: float) -> str:
    """The budget as a run id names it: to one significant figure ("3e+11", as every id of the
    first grids has it), or to three where the grid named it so (sqrt(2)-spaced budgets:
    1.6e13 and 2.26e13 are both "2e+13" to one figure). Budgets that are exact FLOP counts, like
    the tuning grid's 6ND, keep the one-figure label their committed ids have."""
    one = f"{budget:.0e}"
    if float(one) == budget or float(f"{budget:.3g}") != budget:
        return one
    return f"{budget:.3g}"


@dataclass(frozen=True)
class RunSpec:
    """One run of a sweep: a budget and the training config it implies."""

    budget: float
    corpus: str
    config: TrainConfig

    @property
    def run_id(self) -> str:
        s = self.config.shape
        run_id = (f"C{budget_label(self.budget)}-L{s.n_layers}-d{s.d_model}-h{s.n_heads}-ctx{s.n_ctx}"
                  f"-b{self.config.batch_size}-lr{self.config.peak_lr:.3g}-seed{self.config.seed}")
        if self.config.schedule == "wsd":  # cosine runs keep the ids their committed records have
            run_id += f"-wsd{self.config.cooldown_fraction:g}-{self.config.cooldown_shape}"
        defaults = TrainConfig(shape=s, steps=2, batch_size=1, peak_lr=1.0)  # likewise for AdamW's settings
        if self.config.betas != defaults.betas:
            run_id += f"-beta2{self.config.betas[1]:g}" if self.config.betas[0] == defaults.betas[0] else \
                f"-betas{self.config.betas[0]:g},{self.config.betas[1]:g}"
        if self.config.weight_decay != defaults.weight_decay:
            run_id += f"-wd{self.config.weight_decay:.3g}"
        return run_id

    @property
    def flops(self) -> float:
        """Training compute by 6ND (the progress bar's weight, too)."""
        return counting.flops_6nd(counting.params_total(self.config.shape), self.config.tokens)

    def settings(self) -> dict:
        return {"budget": self.budget, "corpus": self.corpus, "config": self.config.to_dict()}

    def settings_hash(self) -> str:
        return settings_digest(self.settings())


def committed_record(records: Iterable[dict], spec: RunSpec) -> dict | None:
    """The record of ``spec`` among a sweep's run records (same run id AND settings hash), or None."""
    for record in records:
        if record.get("run_id") == spec.run_id and record.get("settings_hash") == spec.settings_hash():
            return record
    return None


def steps_for_budget(budget: float, shape: TransformerShape, batch_size: int) -> int:
    """Optimizer steps that spend ``budget`` = 6ND on ``shape``: D = C / 6N in whole batches."""
    return round(budget / (6 * counting.params_total(shape)) / (batch_size * shape.n_ctx))


def _steps(preset: Preset, budget: float, shape: TransformerShape) -> int:
    return steps_for_budget(budget, shape, preset.batch_for(budget))


def _matched_run(preset: Preset, budget: float, shape: TransformerShape, seed: int) -> RunSpec:
    n_params = counting.params_total(shape)
    config = TrainConfig(shape=shape, steps=_steps(preset, budget, shape), batch_size=preset.batch_for(budget),
                         peak_lr=preset.peak_lr(n_params), seed=seed, n_eval_points=preset.n_eval_points,
                         eval_sequences=preset.eval_sequences)
    return RunSpec(budget=budget, corpus=preset.corpus, config=config)


def run_spec(preset: Preset, budget: float, shape: TransformerShape, seed: int | None = None) -> RunSpec:
    """The run ``preset`` trains for ``shape`` at ``budget`` FLOPs, for any shape, in its grid or not.

    D = C / 6N rounded to whole optimizer steps, the preset's batch for the budget, its
    learning-rate rule for N, its evaluation settings, and its seed unless ``seed`` is given;
    the cosine cycle ends with the run. For a (budget, shape) of the grid this IS the grid's
    run (same run id and settings hash): :func:`build_grid` is made of these.
    """
    if preset.fixed_horizon or preset.wsd_cooldown is not None:
        raise ValueError(f"preset {preset.name!r} plans every run with the grid (the longest run's cosine "
                         "cycle, or a warmup shared by a WSD run's branches), which a single run cannot know; "
                         "use the grid (grid.build_grid) instead")
    if not budget > 0:
        raise ValueError(f"the budget must be a positive number of FLOPs, got {budget!r}")
    steps = _steps(preset, budget, shape)
    if steps < 2:
        raise ValueError(f"{budget:.3g} FLOPs buy {budget / (6 * counting.params_total(shape)):.0f} tokens for "
                         f"{counting.params_total(shape):,d} parameters, fewer than 2 steps of "
                         f"{preset.batch_for(budget) * shape.n_ctx} tokens")
    return _matched_run(preset, budget, shape, preset.seed if seed is None else seed)


def build_grid(preset: Preset) -> list[RunSpec]:
    """Every run of the preset, smallest budget first (runs shorter than ``min_steps`` left out)."""
    specs = [_matched_run(preset, budget, shape, preset.seed)
             for budget in preset.budgets for shape in preset.shapes_for(budget)
             if _steps(preset, budget, shape) >= preset.min_steps]
    if preset.wsd_cooldown is not None:
        return wsd_plan.as_wsd(specs, preset.wsd_cooldown)
    return _with_fixed_horizon(specs) if preset.fixed_horizon else specs


def _with_fixed_horizon(specs: list[RunSpec]) -> list[RunSpec]:
    """The same runs, each stopping at its own D but with a cosine cycle planned for the longest
    run's tokens (at least its own steps): the mismatched horizon of Kaplan et al. 2020."""
    horizon_tokens = max(spec.config.tokens for spec in specs)
    return [replace(spec, config=replace(spec.config, schedule_steps=max(
        spec.config.steps, math.ceil(horizon_tokens / spec.config.tokens_per_step)))) for spec in specs]

