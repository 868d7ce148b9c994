"""Matched against fixed cosine horizons: the same runs, paired run by run (chapter 14).

Kaplan et al. (2020, Section 2.2) trained every model with one schedule, a cosine over a
fixed 2.5e5 steps, and read the loss of shorter training off the same runs part-way down it.
Hoffmann et al. (2022, Section 2 and Appendix B, Figure A1) argue that this overstates the
loss of every run stopped early in its cycle, and so biases the allocation toward larger
models. The ``fixed-horizon`` preset trains the ``cpu`` grid's runs a second time, identical
except that every cosine cycle is planned for the grid's longest run; this module pairs the
two results files and measures what the mismatched horizon costs each run.
"""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np

from scalinglaws.data.results import load_results
from scalinglaws.papers.tables import format_table

#: Settings that must agree for two records to be the same run under two schedules.
SAME_RUN_SETTINGS = ("shape", "steps", "batch_size", "peak_lr", "seed", "weight_decay", "betas", "grad_clip",
                     "warmup_fraction", "warmup_max_steps", "eval_sequences")


def cycle_tokens(record: dict) -> int:
    """Tokens the run's warmup + cosine cycle was planned for (its own tokens when matched)."""
    config = record["train_config"]
    steps = config.get("schedule_steps") or config["steps"]
    return steps * config["batch_size"] * config["shape"]["n_ctx"]


@dataclass(frozen=True)
class HorizonPairs:
    """Runs trained twice: with the cosine matched to their length, and with a fixed longer one."""

    run_ids: tuple[str, ...]
    budget: np.ndarray
    params: np.ndarray  # total parameters
    tokens: np.ndarray  # D, the same in both runs
    cycle_fraction: np.ndarray  # D / the fixed cycle's tokens: how far down its cosine the run stopped
    loss_matched: np.ndarray
    loss_fixed: np.ndarray

    @property
    def penalty(self) -> np.ndarray:
        """Final held-out loss with the fixed horizon minus with the matched one (nats per byte)."""
        return self.loss_fixed - self.loss_matched

    def table(self) -> str:
        rows = [(run_id.split("-b")[0], f"{n:,.0f}", f"{f:.3f}", f"{lm:.4f}", f"{lf:.4f}", f"{p:+.4f}")
                for run_id, n, f, lm, lf, p in zip(self.run_ids, self.params, self.cycle_fraction,
                                                   self.loss_matched, self.loss_fixed, self.penalty)]
        return format_table(("run", "N", "D / cycle", "matched", "fixed", "penalty"), rows)


def pair_runs(matched_path, fixed_path) -> HorizonPairs:
    """Pair every finished, undiverged run of ``fixed_path`` with the same run in ``matched_path``.

    Raises ``ValueError`` when a run has no partner, or when partners differ in anything but
    the schedule's length (``SAME_RUN_SETTINGS``): then the difference in loss would not be
    the horizon's alone.
    """
    _, matched_records = load_results(matched_path)
    _, fixed_records = load_results(fixed_path)
    matched = {record["run_id"]: record for record in matched_records}
    missing = [record["run_id"] for record in fixed_records if record["run_id"] not in matched]
    if missing:
        raise ValueError(f"{len(missing)} run(s) of {fixed_path} are not in {matched_path}, e.g. {missing[0]}; "
                         "pair a fixed-horizon sweep with the matched sweep of the same grid")
    pairs = []
    for fixed in fixed_records:
        partner = matched[fixed["run_id"]]
        differing = [key for key in SAME_RUN_SETTINGS if partner["train_config"][key] != fixed["train_config"][key]]
        if differing:
            raise ValueError(f"{fixed['run_id']}: the two runs differ in {', '.join(differing)}, not only in "
                             "the schedule's length")
        if fixed["diverged"] or partner["diverged"]:
            continue
        pairs.append((fixed, partner))
    if not pairs:
        raise ValueError(f"no finished, undiverged runs to pair between {matched_path} and {fixed_path}")
    pairs.sort(key=lambda pair: (pair[0]["budget"], pair[0]["params_total"]))

    def column(get) -> np.ndarray:
        return np.array([get(fixed, partner) for fixed, partner in pairs], dtype=float)

    return HorizonPairs(
        run_ids=tuple(fixed["run_id"] for fixed, _ in pairs),
        budget=column(lambda fixed, _: fixed["budget"]),
        params=column(lambda fixed, _: fixed["params_total"]),
        tokens=column(lambda fixed, _: fixed["tokens"]),
        cycle_fraction=column(lambda fixed, _: fixed["tokens"] / cycle_tokens(fixed)),
        loss_matched=column(lambda _, partner: partner["final_loss"]),
        loss_fixed=column(lambda fixed, _: fixed["final_loss"]),
    )


def plot_horizon_penalty(pairs: HorizonPairs, ax=None):
    """Each run's loss penalty from the fixed horizon against how far down its cycle it stopped."""
    if ax is None:
        fig, ax = plt.subplots()
    else:
        fig = ax.figure
    budgets = np.unique(pairs.budget)
    colours = plt.cm.viridis(np.linspace(0.0, 0.9, len(budgets)))
    for budget, colour in zip(budgets, colours):
        members = pairs.budget == budget
        ax.scatter(pairs.cycle_fraction[members], pairs.penalty[members], color=colour, label=f"C = {budget:.2g}")
    ax.axhline(0.0, color="grey", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("D / tokens the cosine was planned for")
    ax.set_ylabel("fixed minus matched loss (nats per byte)")
    ax.set_title("What a mismatched horizon costs each run")
    ax.legend(fontsize=8)
    return fig, ax
