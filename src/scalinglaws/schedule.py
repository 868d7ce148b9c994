"""Learning-rate schedule: a short linear warmup, then a cosine decay to 10% of the peak.

Hoffmann et al. 2022 (Section 3.1 and Appendix B, Figure A1) decay the learning rate
with a cosine to 10% of its maximum (``constants.COSINE_FINAL_LR_FRACTION``) over a cycle
length that matches the number of training tokens; overshooting the cycle by more than
~25% hurts the final loss. Every run here therefore ends its cosine EXACTLY at its last
step, which is what lets intermediate losses of a longer run NOT stand in for the final
loss of a shorter one (the point of Approach 1's envelope).
"""

from __future__ import annotations

import math

from .constants import COSINE_FINAL_LR_FRACTION


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
