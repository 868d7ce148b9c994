"""Records of the reference grid whose losses come from a known law: ground truth for the fits."""

import numpy as np

from scalinglaws.papers import counting
from scalinglaws.papers.laws import parametric_loss
from scalinglaws.sweeps import tuned_sweep
from scalinglaws.sweeps.learning_rate_rule import LearningRateRule
from scalinglaws.training import wsd_plan

RECIPE = tuned_sweep.Recipe(LearningRateRule(0.003, 0.45), beta2=0.99)


def synthetic_records(law, seed_sd=0.004, seed=0, recipe=RECIPE, seeds=tuned_sweep.SEEDS):
    """Records of the real grid whose final losses are ``law``'s L(N, D) plus seed noise, with a
    training curve of ``law`` at a quarter, a half and three quarters of D ending at the final loss
    (the curve a run would have if every point of it were a finished run). Each record names its seed
    and its WSD trunk as the runner's do, so the trunk bootstrap can redraw them (the noise here is
    independent per run; tests/test_trunk_bootstrap.py draws trunk-correlated noise)."""
    rng = np.random.default_rng(seed)
    out = []
    for spec in tuned_sweep.sweep_specs(recipe, seeds=seeds):
        n = counting.params_total(spec.config.shape)
        tokens = spec.config.tokens
        final = float(parametric_loss(law, n, tokens)) + rng.normal(0, seed_sd)
        curve_tokens = [tokens * f for f in (0.25, 0.5, 0.75)]
        curve_loss = [float(parametric_loss(law, n, t)) for t in curve_tokens]
        out.append({"run_id": spec.run_id, "budget": spec.budget, "corpus": spec.corpus,
                    "train_config": spec.config.to_dict(), "params_total": n, "params_non_embedding": n // 2,
                    "tokens": spec.config.tokens, "flops_6nd": 6.0 * n * spec.config.tokens, "diverged": False,
                    "final_loss": final, "seed": spec.config.seed, "branch": {"trunk": wsd_plan.trunk_key(spec)},
                    "curve_tokens": [*curve_tokens, tokens], "curve_loss": [*curve_loss, final]})
    return out
