"""The reference sweep: the head-16 ladder, tuned per size, several seeds, finished runs of every length.

    python -m scalinglaws.sweeps.tuned_sweep plan               # the grid, its trunks and its FLOPs
    python -m scalinglaws.sweeps.tuned_sweep run [OUT]          # train it (resumable), into results/tuned
    python -m scalinglaws.sweeps.tuned_sweep run --seeds 1 OUT  # seed 0 only (a third of the FLOPs), into OUT
    python -m scalinglaws.sweeps.tuned_sweep run-untuned [OUT]  # the grid, one seed, the cpu recipe (results/tuned-untuned)
    python -m scalinglaws.sweeps.tuned_sweep predict            # fit it, write results/heldout/prediction.json (once)
    python -m scalinglaws.sweeps.tuned_sweep heldout [OUT]      # train the prediction's optimum and twin

What the `cpu` preset (the untuned recipe) lacked, and what this grid does instead (the
issue that asked for it quotes the measurements behind each point):

- **One ladder**: the shapes of :func:`scalinglaws.sweeps.tuning.head16_shape`, d_model = 16 n_layers,
  heads of 16, n_layers = 2..6 (38K-708K parameters), so size is not confounded with shape.
- **Tuned per size**: the peak learning rate lr = lr_at_100k (N / 1e5)^-exponent and AdamW's
  beta2 are :func:`scalinglaws.sweeps.tuning.fit_tuned_rule` of the committed tuning runs
  (``results/tuning``), rounded to 2 significant figures; weight decay holds the decay
  timescale 1/(lr wd) at :data:`scalinglaws.sweeps.tuning.DECAY_TIMESCALE_STEPS` steps, as in tuning.
- **Enough steps**: every run has at least :data:`MIN_STEPS` = 4,000 optimizer steps of
  4 x 128 bytes (2.0M tokens), and none sees more than :data:`MAX_EPOCHS` = 4 epochs of the
  corpus's training split (Muennighoff et al. 2023: up to ~4 epochs cost almost nothing).
- **IsoFLOP budgets** :data:`BUDGETS`: 4e12 to 3.2e13 FLOPs (6ND), sqrt(2) apart. 4e12 is the
  smallest budget at which three sizes each get 4,000 steps; the largest is what the compute
  target allows (about 2 h on 2 cores for the whole grid). Every ladder size that meets the
  step floor and the epoch cap trains at every budget.
- **Finished runs of every length**: each (size, seed) is one warmup-stable-decay run (20%
  1-sqrt cooldown) with a branch at each of its budgets' lengths, and at sqrt(2)-spaced lengths
  below them down to the step floor (cheap extra points for Approaches 1 and 3). Every point of
  Approach 1's envelope is then a finished run (:func:`scalinglaws.fitting.approach1.fit_approach1`
  with ``finished_only``).
- **Seeds**: :data:`SEEDS` = 3 at every point, so every IsoFLOP profile is fitted to seed means
  and the seed noise is measured per budget and per size (:mod:`scalinglaws.fitting.seed_noise`).
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from scalinglaws.fitting import sweep_fits
from scalinglaws.fitting.sweep_fits import FitOptions, SweepFits
from scalinglaws.papers import counting
from scalinglaws.sweeps import tuning
from scalinglaws.sweeps.learning_rate_rule import LearningRateRule
from scalinglaws.training import wsd_plan
from scalinglaws.training.train import TrainConfig

LAYERS = tuning.TUNING_LAYERS
BUDGETS = tuple(float(f"{4e12 * math.sqrt(2) ** k:.3g}") for k in range(7))
SEEDS = 3
MIN_STEPS = 4000
BATCH = tuning.BATCH
MAX_EPOCHS = 4
#: Training bytes of the 'default' corpus (scalinglaws.data.corpus.corpus_info("default")["bytes"]["train"]).
DEFAULT_TRAIN_BYTES = 20_909_379
COOLDOWN_FRACTION = tuning.COOLDOWN_FRACTION
EVAL_SEQUENCES = 1024
EVAL_POINTS = 8
OUT = tuning.OUT.parent / "tuned"
NAME = "tuned"


@dataclass(frozen=True)
class Recipe:
    """The optimizer settings a grid trains with: the peak-lr rule, beta2 and the weight decay
    (a fixed decay timescale in steps, or None for a fixed ``weight_decay``)."""

    lr_rule: LearningRateRule
    beta2: float
    decay_timescale_steps: int | None = tuning.DECAY_TIMESCALE_STEPS
    weight_decay: float = 0.1

    def config_fields(self, n_params: int) -> dict:
        lr = float(f"{self.lr_rule.peak_lr(n_params):.3g}")
        decay = self.weight_decay if self.decay_timescale_steps is None else tuning.weight_decay_for(
            lr, self.decay_timescale_steps)
        return {"peak_lr": lr, "betas": (tuning.BETA1, self.beta2), "weight_decay": decay}


def tuned_recipe() -> Recipe:
    """The recipe fitted from the committed tuning runs (2 significant figures)."""
    rule = tuning.fit_tuned_rule(tuning.committed_records())
    return Recipe(rule.lr_rule.rounded(2), rule.beta2)


def lengths_for(shape, budgets=BUDGETS) -> dict[float, int]:
    """Budget -> steps of one shape: the IsoFLOP budgets it can join (the step floor, the epoch cap)
    and the sqrt(2)-spaced budgets below its smallest, down to the step floor."""
    from scalinglaws.sweeps.grid import steps_for_budget

    def steps(budget: float) -> int:
        return steps_for_budget(budget, shape, BATCH)

    cap = MAX_EPOCHS * DEFAULT_TRAIN_BYTES
    lengths = {budget: steps(budget) for budget in budgets
               if steps(budget) >= MIN_STEPS and steps(budget) * BATCH * shape.n_ctx <= cap}
    if lengths:
        budget = float(f"{min(lengths) / math.sqrt(2):.3g}")
        while steps(budget) >= MIN_STEPS:
            lengths[budget] = steps(budget)
            budget = float(f"{budget / math.sqrt(2):.3g}")
    return dict(sorted(lengths.items()))


def sweep_specs(recipe: Recipe, layers=LAYERS, budgets=BUDGETS, seeds=SEEDS) -> list:
    """Every run of the grid, as WSD branches (one trunk per size and seed), largest model first."""
    from scalinglaws.sweeps.grid import RunSpec  # a run of a grid, imported here so planning needs no training code

    specs = []
    for n_layers in sorted(layers, reverse=True):
        shape = tuning.head16_shape(n_layers)
        n_params = counting.params_total(shape)
        for seed in range(seeds):
            for budget, steps in lengths_for(shape, budgets).items():
                config = TrainConfig(shape=shape, steps=steps, batch_size=BATCH, seed=seed, n_eval_points=EVAL_POINTS,
                                     eval_sequences=EVAL_SEQUENCES, **recipe.config_fields(n_params))
                specs.append(RunSpec(budget=budget, corpus=tuning.CORPUS, config=config))
    return wsd_plan.as_wsd(specs, COOLDOWN_FRACTION)


#: The held-out test's budget: above the sweep's largest by at least 3x (Hoffmann et al. 2022,
#: Section 4: Chinchilla was trained at a budget none of their fits had reached).
HELDOUT_FACTOR = 3.0
HELDOUT_BUDGET = float(f"{HELDOUT_FACTOR * BUDGETS[-1]:.1g}")
HELDOUT_SEEDS = 2
#: Deeper shapes of the same family, for an optimum or a 4x twin above the tuned ladder.
HELDOUT_LAYERS = tuple(range(min(LAYERS), 11))
HELDOUT_OUT = OUT.with_name("heldout")


def heldout_specs(prediction, recipe: Recipe, seeds: int = HELDOUT_SEEDS) -> list:
    """The predicted optimum and its Gopher twin, each one WSD run of C / 6N tokens at the
    prediction's budget, with the sweep's recipe (its rule extrapolated where N is beyond the
    tuned sizes) and ``seeds`` seeds."""
    from scalinglaws.sweeps.grid import RunSpec, steps_for_budget

    specs = []
    for planned in (prediction.optimum, prediction.twin):
        steps = steps_for_budget(prediction.flops, planned.shape, BATCH)
        for seed in range(seeds):
            config = TrainConfig(shape=planned.shape, steps=steps, batch_size=BATCH, seed=seed,
                                 n_eval_points=EVAL_POINTS, eval_sequences=EVAL_SEQUENCES,
                                 **recipe.config_fields(planned.n_params))
            specs.append(RunSpec(budget=prediction.flops, corpus=tuning.CORPUS, config=config))
    return wsd_plan.as_wsd(specs, COOLDOWN_FRACTION)


def fit_sweep_records(records: list[dict], n_bootstrap: int = 200, seed: int = 0,
                      options: FitOptions = FitOptions()) -> SweepFits:
    """Fit the reference sweep's records with every correction on (:mod:`scalinglaws.fitting.sweep_fits`):

    - Approach 1: the envelope of finished runs (``finished_only``) over the seed means of every
      length; its bootstrap redraws the seeds, then the runs.
    - Approach 2: the seed means of the IsoFLOP budgets (:data:`BUDGETS`; the extra short lengths
      left out), each profile fitted in a window of
      :data:`~scalinglaws.fitting.approach2.ISOFLOP_WINDOW` around its minimum, outliers judged
      against the budget's measured seed standard deviation; its bootstrap redraws the seeds, then
      the runs within each budget.
    - Approach 3: every finished run, each seed a point, so its bootstrap of points resamples seeds.
    """
    return sweep_fits.fit_sweep_records(records, n_bootstrap, seed, options, isoflop_budgets=BUDGETS)


def description(recipe: Recipe, seeds: int = SEEDS) -> str:
    """The line a results file's header and README give for this grid trained with ``recipe``."""
    weight_decay = (f"weight decay {recipe.weight_decay:g}" if recipe.decay_timescale_steps is None
                    else f"decay timescale {recipe.decay_timescale_steps} steps")
    # "scalinglaws.tuned_sweep" is this module's path when results/tuned was trained: the committed
    # headers record this text, and the tests compare it.
    return (f"The reference sweep (scalinglaws.tuned_sweep): head-16 ladder L{min(LAYERS)}..L{max(LAYERS)}, "
            f"{len(BUDGETS)} IsoFLOP budgets {BUDGETS[0]:.2g}..{BUDGETS[-1]:.2g} sqrt(2) apart plus shorter lengths, "
            f"{seeds} seed{'s' if seeds > 1 else ''}, batch {BATCH} x {tuning.N_CTX}, >= {MIN_STEPS} steps, "
            f"WSD branches; lr = {recipe.lr_rule}, beta2 {recipe.beta2}, {weight_decay}.")


def untuned_recipe() -> Recipe:
    """The `cpu` preset's optimizer settings on this grid, the ladder table's "clean ladder" step:
    its learning-rate rule (:func:`scalinglaws.sweeps.learning_rate_rule.pilot_rule`), beta2 = 0.95 and a
    fixed weight decay of 0.1 (the TrainConfig defaults)."""
    from scalinglaws.sweeps.learning_rate_rule import pilot_rule

    return Recipe(pilot_rule(), beta2=0.95, decay_timescale_steps=None, weight_decay=0.1)


def heldout_ladder() -> list:
    return [tuning.head16_shape(n_layers) for n_layers in HELDOUT_LAYERS]


def predict_from(fits: SweepFits):
    """The prediction at :data:`HELDOUT_BUDGET` from the sweep's three fits (scalinglaws.fitting.prediction)."""
    from scalinglaws.fitting.prediction import predict

    return predict(HELDOUT_BUDGET, {"approach1": fits.approach1.n_law, "approach2": fits.approach2.n_law},
                   fits.approach3, heldout_ladder())


def main(argv: list[str]) -> int:
    """plan | run [OUT] | run-untuned [OUT] | predict | heldout [OUT] (see the module docstring)."""
    from scalinglaws.sweeps.runner import run_specs

    argv = list(argv)
    seeds = SEEDS
    if "--seeds" in argv:  # the first K seeds only: seed 0 of the full grid is the same runs, same ids
        at = argv.index("--seeds")
        try:
            seeds = int(argv[at + 1])
        except (IndexError, ValueError):
            raise SystemExit(f"--seeds needs a whole number of seeds (1 to {SEEDS}), got {argv[at + 1:at + 2]}")
        if not 1 <= seeds <= SEEDS:
            raise SystemExit(f"--seeds must be 1 to {SEEDS}, got {seeds}")
        del argv[at:at + 2]
    command = argv[0] if argv else ""
    out = Path(argv[1]) if len(argv) > 1 else None
    if command in ("plan", "run"):
        recipe = tuned_recipe()
        specs = sweep_specs(recipe, seeds=seeds)
        if command == "run":
            run_specs(NAME, description(recipe, seeds), specs, out or OUT)
            return 0
        work = wsd_plan.plan(specs)
        print(description(recipe, seeds))
        print(wsd_plan.describe(work))
        planned, alone = wsd_plan.cost(work)
        cells = {(spec.budget, spec.config.shape) for spec in specs}
        print(f"{len(specs)} runs ({len(cells)} settings x seeds), {planned:.3g} FLOPs planned "
              f"({np.round(planned / alone, 3)} of {alone:.3g} trained alone)")
        return 0
    if command == "run-untuned":
        recipe = untuned_recipe()
        run_specs(f"{NAME}-untuned", "The reference grid with the untuned cpu recipe: " + description(recipe, seeds=1),
                  sweep_specs(recipe, seeds=1), out or OUT.with_name("tuned-untuned"))
        return 0
    if command == "predict":
        from scalinglaws.data.committed_results import sweep_results
        from scalinglaws.data.results import load_results
        from scalinglaws.fitting.prediction import write_prediction
        from scalinglaws.training.provenance import command_line, versions

        path = HELDOUT_OUT / "prediction.json"
        if path.exists():
            raise SystemExit(f"{path} exists: a prediction is made once, before its test runs; delete it to make another")
        _, records = load_results(sweep_results(NAME))
        prediction = predict_from(fit_sweep_records(records))
        HELDOUT_OUT.mkdir(parents=True, exist_ok=True)
        write_prediction(path, prediction, {"command": command_line(), "versions": versions(),
                                            "fitted_from": f"results/{NAME}/results.jsonl ({len(records)} runs)"})
        print(f"wrote {path}: optimum {prediction.optimum.n_params:,d} parameters, predicted loss "
              f"{prediction.optimum.predicted_loss:.4f}; twin {prediction.twin.n_params:,d}, "
              f"{prediction.twin.predicted_loss:.4f}")
        return 0
    if command == "heldout":
        from scalinglaws.fitting.prediction import read_prediction

        prediction = read_prediction(HELDOUT_OUT / "prediction.json")
        recipe = tuned_recipe()
        run_specs("heldout", f"The predicted optimum and its 4x twin at {prediction.flops:.2g} FLOPs "
                  f"({HELDOUT_SEEDS} seeds each), recipe of results/tuning", heldout_specs(prediction, recipe),
                  out or HELDOUT_OUT)
        return 0
    print("usage: python -m scalinglaws.sweeps.tuned_sweep plan | run [OUT] [--seeds K] | run-untuned [OUT] | predict | "
          "heldout [OUT]",
          file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
