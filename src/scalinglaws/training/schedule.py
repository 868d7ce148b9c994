"""Learning-rate schedules: a short linear warmup, then a cosine decay to 10% of the peak
(the default), or warmup-stable-decay (WSD).

Hoffmann et al. 2022 (Section 3.1 and Appendix B, Figure A1) decay the learning rate
with a cosine to 10% of its maximum (``constants.COSINE_FINAL_LR_FRACTION``) over a cycle
length that matches the number of training tokens; overshooting the cycle by more than
~25% hurts the final loss. Every run here therefore ends its cosine EXACTLY at its last
step, which is what lets intermediate losses of a longer run NOT stand in for the final
loss of a shorter one (the point of Approach 1's envelope).

WSD (Hagele et al. 2024, "Scaling Laws and Compute-Optimal Training Beyond Fixed Training
Durations", Section 3): the same warmup, then the peak rate held constant, then a short
cooldown to zero over the last ``cooldown_steps`` (they use about 20% of the run, and find
the "1-sqrt" shape best, with a linear one close behind). Because nothing before the
cooldown depends on the run's length, one long constant-rate run can be cooled down from
checkpoints at several lengths (:mod:`scalinglaws.training.branches`), each branch a finished run.
"""

from __future__ import annotations

import math

from scalinglaws.papers.constants import COSINE_FINAL_LR_FRACTION


def warmup_steps_for(total_steps: int, fraction: float = 0.05, at_most: int = 200) -> int:
    """A short warmup: ``fraction`` of the run, at most ``at_most`` steps, at least 1."""
    if total_steps < 2:
        raise ValueError(f"a run needs at least 2 optimizer steps, got total_steps={total_steps}")
    return max(1, min(at_most, int(fraction * total_steps), total_steps - 1))


def learning_rate(step: int, total_steps: int, peak: float, warmup_steps: int,
                  final_fraction: float = COSINE_FINAL_LR_FRACTION) -> float:
    """Learning rate for optimizer step ``step`` (0-based) of ``total_steps``.

    Warmup: steps 0 .. warmup_steps-1 rise linearly, peak * (step+1) / warmup_steps, so the
    first step uses a small rate and step warmup_steps-1 the peak. Then a half cosine from
    the peak at step warmup_steps-1 down to ``final_fraction * peak`` at step total_steps-1.
    """
    if not 0 < warmup_steps < total_steps:
        raise ValueError(f"need 0 < warmup_steps < total_steps, got {warmup_steps} and {total_steps}")
    if not 0 <= step < total_steps:
        raise ValueError(f"step must lie in [0, {total_steps}), got {step}")
    if peak <= 0 or not 0 <= final_fraction <= 1:
        raise ValueError(f"need peak > 0 and 0 <= final_fraction <= 1, got {peak} and {final_fraction}")
    if step < warmup_steps:
        return peak * (step + 1) / warmup_steps
    decay_steps = total_steps - warmup_steps  # from step warmup_steps-1 (progress 0) to total_steps-1 (1)
    progress = (step - warmup_steps + 1) / decay_steps
    final = final_fraction * peak
    return final + (peak - final) * 0.5 * (1.0 + math.cos(math.pi * progress))


#: Cooldown shapes of Hagele et al. 2024 (Section 3, Eq. 1 and Figure 4): the fraction of the
#: peak left at cooldown progress p in (0, 1].
COOLDOWN_SHAPES = {
    "linear": lambda p: 1.0 - p,
    "1-sqrt": lambda p: 1.0 - math.sqrt(p),
}


def cooldown_steps_for(total_steps: int, fraction: float) -> int:
    """Steps of a WSD run's cooldown: ``fraction`` of the run, rounded, at least 1 and leaving
    at least 1 step before it (so a branch point exists)."""
    if not 0 < fraction < 1:
        raise ValueError(f"the cooldown fraction must lie strictly between 0 and 1, got {fraction!r}")
    if total_steps < 2:
        raise ValueError(f"a run needs at least 2 optimizer steps, got total_steps={total_steps}")
    return min(max(1, round(fraction * total_steps)), total_steps - 1)


def wsd_learning_rate(step: int, total_steps: int, peak: float, warmup_steps: int, cooldown_steps: int,
                      shape: str = "1-sqrt") -> float:
    """Learning rate for optimizer step ``step`` (0-based) of a warmup-stable-decay run.

    Warmup as in :func:`learning_rate`; then ``peak`` up to step total_steps-cooldown_steps-1
    (the branch point: the last step of the stable phase); then the cooldown, whose k-th step
    (k = 1 .. cooldown_steps) uses peak * shape(k / cooldown_steps), so the last step uses 0.
    """
    if shape not in COOLDOWN_SHAPES:
        raise ValueError(f"unknown cooldown shape {shape!r}; choose one of {sorted(COOLDOWN_SHAPES)}")
    stable_end = total_steps - cooldown_steps  # steps before the cooldown
    if not 0 < cooldown_steps < total_steps or not 0 < warmup_steps <= stable_end:
        raise ValueError(f"need 0 < warmup_steps <= total_steps - cooldown_steps and 0 < cooldown_steps < "
                         f"total_steps, got warmup {warmup_steps}, cooldown {cooldown_steps}, total {total_steps}")
    if not 0 <= step < total_steps:
        raise ValueError(f"step must lie in [0, {total_steps}), got {step}")
    if peak <= 0:
        raise ValueError(f"need peak > 0, got {peak}")
    if step < warmup_steps:
        return peak * (step + 1) / warmup_steps
    if step < stable_end:
        return peak
    return peak * COOLDOWN_SHAPES[shape]((step - stable_end + 1) / cooldown_steps)
