"""Tuning the batch size per model size, jointly with the learning rate, at two budgets.

The reference sweep trained every size at 4 sequences of 128 bytes per step, and a quick check
at 8e12 FLOPs on the 225K-parameter model found batch 16 better than 4 by more than the seed
noise (1.590 against 1.605-1.627 nats per byte) and batch 32 worse. Porian et al. (2024,
Section 3.5) tuned the batch per size; the best batch probably grows with the model and the
budget, and that moves N_opt. This grid measures it:

    python -m scalinglaws.sweeps.batch_tuning plan        # the grid, its trunks and its cost
    python -m scalinglaws.sweeps.batch_tuning run [OUT]   # train it (resumable) into results/batch-tuning
    python -m scalinglaws.sweeps.batch_tuning plan-edges  # the extension past the grid's edges (see below)
    python -m scalinglaws.sweeps.batch_tuning run-edges   # train it (resumable) into results/batch-tuning-edges
    python -m scalinglaws.sweeps.batch_tuning report      # steps 2-5 of the criterion on the finished runs of both
    python -m scalinglaws.sweeps.batch_tuning run-warmup-check     # two trunks again with a 200-step warmup
    python -m scalinglaws.sweeps.batch_tuning warmup-check-report  # those runs beside their twins in the grid

**The grid** (:func:`batch_tuning_specs`). Three sizes of the head-16 ladder
(:func:`scalinglaws.sweeps.tuning.head16_shape`: 2, 4 and 6 layers, 38K, 225K and 708K
parameters), batches of 4, 16 and 64 sequences of 128 bytes, and for each batch three peak
learning rates a factor 2 apart around the tuned rule (``results/tuning/rule.json``) scaled by
the square root of the batch, lr = rule(N) sqrt(B / 4) x (1/2, 1, 2) (the square-root rule for
Adam, Malladi et al. 2022). beta2 is the tuned 0.99; weight decay holds its decay timescale at
the tuned 4,000 steps of 4 sequences, that is at the same number of tokens, 2.05M, whatever the
batch. Each (size, batch, lr) is one warmup-stable-decay trunk (20% 1-sqrt cooldown) with a
branch at each of two budgets, 4e12 and 1.6e13 FLOPs (6ND), so every setting is scored at both
for the price of the larger. One seed. No step floor: how few steps a large batch can afford is
one of the things measured.

**The selection criterion**, fixed before any run (this docstring is committed before the
grid's records):

1. A setting's score at a budget is the final held-out loss of its branch at that budget.
2. For each (size, budget, batch), the best learning rate is the vertex of the parabola in
   log lr through the three grid points; a lowest point at the edge of the grid has no
   vertex, and the grid must be extended past it before a rule is fitted (as in tuning).
3. For each (size, budget), the best batch B* is the vertex of the parabola in log B through
   the three batches' best scores (their vertex losses); an edge minimum is refused likewise.
4. The rules are least-squares fits over the six (size, budget) cells:
   log B* = log B0 + p log(N / 1e5) + q log(D / 1e7) and the same form for lr* at B*. If q is
   within its own standard error of zero, the rule is refitted without D.
5. A difference between two settings smaller than the seed standard deviation measured on the
   reference sweep (0.0225 nats) is reported as a tie, not as a preference; the rule is
   fitted all the same, and its use in a sweep says how far it rests on ties.

**The extension past the edges** (:data:`EDGE_TRUNKS`, written after all 54 records of the grid
and before any run of the extension; ``results/batch-tuning/report.txt`` is what it answers).
In every (size, budget) cell the best rate or the best batch lay at an edge of the grid, so by
step 2 the grid is extended past each edge, into its own results file
(``results/batch-tuning-edges``), with the same recipe, seed, budgets and trunks:

- a rate one factor 2 lower (lr factor 1/4) wherever the lowest rate tried was the best at
  either budget: 38K at batches 16 and 64, 225K at batch 64, 708K at batches 16 and 64;
- batch 128 for 38K (its best batch at 1.6e13 was 64, the top), at lr factors 1/8, 1/4 and 1/2
  (at batches 16 and 64 the best rate was the lowest tried, so the square-root scaling is
  taken down a factor 2 to 8);
- batch 2 for 708K (its best batch was 4, the bottom, at both budgets), at lr factors 1/2, 1
  and 2, as for the other batches.

The criterion is unchanged and is applied to the records of both files; steps 2 and 3 take the
lowest point and its two neighbours when a setting has more than three values. This is the
last extension the session's compute allows. A cell still at an edge after it is reported
with its bound (for example B* <= 2), and by step 2 no rule is fitted from it.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from scalinglaws.papers import counting
from scalinglaws.sweeps import tuning
from scalinglaws.sweeps.learning_rate_rule import LearningRateRule
from scalinglaws.training import wsd_plan
from scalinglaws.training.train import TrainConfig

NAME = "batch-tuning"
LAYERS = (2, 4, 6)
BATCHES = (4, 16, 64)
LR_FACTORS = (0.5, 1.0, 2.0)
BUDGETS = (4e12, 1.6e13)
#: The tuned decay timescale, 4,000 steps of 4 x 128 bytes, held as a number of tokens.
DECAY_TIMESCALE_TOKENS = tuning.DECAY_TIMESCALE_STEPS * tuning.BATCH * tuning.N_CTX
SEED = 0
OUT = tuning.OUT.with_name(NAME)
DESCRIPTION = ("Batch size tuned jointly with the learning rate (scalinglaws.sweeps.batch_tuning): head-16 ladder "
               f"L{'/L'.join(map(str, LAYERS))}, batches {', '.join(map(str, BATCHES))} x 128 bytes, peak lr x "
               f"(1/2, 1, 2) of the tuned rule times sqrt(B/4), beta2 0.99, WSD (20% 1-sqrt) branches at "
               f"{' and '.join(f'{b:.2g}' for b in BUDGETS)} FLOPs, seed 0.")


#: The extension past the edges: (layers, batch, lr factor) trunks, each branched at both budgets.
EDGE_TRUNKS = ((2, 16, 0.25), (2, 64, 0.25), (2, 128, 0.125), (2, 128, 0.25), (2, 128, 0.5),
               (4, 64, 0.25),
               (6, 16, 0.25), (6, 64, 0.25), (6, 2, 0.5), (6, 2, 1.0), (6, 2, 2.0))
#: A check outside the criterion, written after the step-floor runs showed what a 25-step warmup does
#: at the tuned rates. The grid warms each trunk up over 5% of its 4e12 branch: the same tokens at every
#: batch of a size (under the 200-step cap), but as few as 5 steps at batch 64 for 708K. These two trunks,
#: the best rate at batch 64 for 225K (18 warmup steps in the grid) and at batch 16 for 708K (23), are
#: trained again with the reference sweep's 200-step warmup; a change larger than twice the seed sd
#: (0.045 nats) at either budget would mean the large batches were judged on their warmup.
WARMUP_CHECK_TRUNKS = ((4, 64, 0.5), (6, 16, 0.5))
WARMUP_CHECK_STEPS = 200
WARMUP_CHECK_NAME = f"{NAME}-warmup-check"
WARMUP_CHECK_DESCRIPTION = ("Two batch-tuning trunks trained again with a 200-step warmup "
                            "(scalinglaws.sweeps.batch_tuning.WARMUP_CHECK_TRUNKS): 225K at batch 64 and 708K at "
                            "batch 16, lr factor 1/2, every other setting as in results/batch-tuning.")
EDGES_NAME = f"{NAME}-edges"
EDGES_OUT = OUT.with_name(EDGES_NAME)
EDGES_DESCRIPTION = ("The batch-tuning grid extended past its edges (scalinglaws.sweeps.batch_tuning.EDGE_TRUNKS): "
                     "lr factor 1/4 for 38K at batches 16 and 64, 225K at 64, 708K at 16 and 64; batch 128 for 38K "
                     "at lr factors 1/8, 1/4, 1/2; batch 2 for 708K at 1/2, 1, 2; every other setting as in "
                     "results/batch-tuning.")


def peak_lr_for(n_params: int, batch: int, factor: float, rule: LearningRateRule) -> float:
    """The grid's learning rate: the tuned rule at N, scaled by sqrt(batch / 4), times ``factor``
    (3 significant figures, as run ids print it)."""
    if batch < 1 or not factor > 0:
        raise ValueError(f"need a positive batch and factor, got batch={batch!r}, factor={factor!r}")
    return float(f"{rule.peak_lr(n_params) * math.sqrt(batch / tuning.BATCH) * factor:.3g}")


def decay_timescale_steps(batch: int) -> int:
    """Optimizer steps of :data:`DECAY_TIMESCALE_TOKENS` at ``batch`` sequences of 128 bytes."""
    return max(1, round(DECAY_TIMESCALE_TOKENS / (batch * tuning.N_CTX)))


def batch_tuning_specs(rule: LearningRateRule, beta2: float = 0.99, layers=LAYERS, batches=BATCHES,
                       lr_factors=LR_FACTORS, budgets=BUDGETS, trunks=None, warmup_steps: int | None = None) -> list:
    """Every run of the grid, as WSD branches: one trunk per (size, batch, lr), a branch per budget.
    ``trunks``, a list of (layers, batch, lr factor), replaces the product of the three grids (the
    extension past the edges is ``trunks=EDGE_TRUNKS``); ``warmup_steps`` holds every trunk's warmup
    (default: 5% of its shortest branch, at most 200 steps)."""
    from scalinglaws.sweeps.grid import RunSpec, steps_for_budget

    if any(not budget > 0 for budget in budgets):
        raise ValueError(f"budgets must be positive FLOPs, got {budgets!r}")
    if trunks is None:
        trunks = [(n_layers, batch, factor) for n_layers in layers for batch in batches for factor in lr_factors]
    specs = []
    for n_layers, batch, factor in trunks:
        shape = tuning.head16_shape(n_layers)
        n_params = counting.params_total(shape)
        lr = peak_lr_for(n_params, batch, factor, rule)
        decay = tuning.weight_decay_for(lr, decay_timescale_steps(batch))
        for budget in budgets:
            steps = steps_for_budget(budget, shape, batch)
            if steps < 2:
                raise ValueError(f"{budget:.2g} FLOPs give {n_params:,d} parameters at batch {batch} "
                                 f"{steps} optimizer steps; a run needs at least 2")
            config = TrainConfig(shape=shape, steps=steps, batch_size=batch, peak_lr=lr, seed=SEED,
                                 weight_decay=decay, betas=(tuning.BETA1, beta2),
                                 n_eval_points=tuning.EVAL_POINTS, eval_sequences=tuning.EVAL_SEQUENCES)
            specs.append(RunSpec(budget=budget, corpus=tuning.CORPUS, config=config))
    return wsd_plan.as_wsd(specs, tuning.COOLDOWN_FRACTION, warmup_steps=warmup_steps)


@dataclass(frozen=True)
class BestBatch:
    """Steps 2-3 of the criterion for one (size, budget): each batch's best rate and loss, and B*."""

    n_params: int
    budget: float
    batches: tuple[int, ...]
    best_lrs: tuple[float, ...]  # per batch: the vertex in log lr (the best rate tried at an edge)
    best_losses: tuple[float, ...]  # per batch: the parabola's loss at that vertex (the best tried at an edge)
    lr_at_edge: tuple[bool, ...]
    best_batch: float  # B*: the vertex in log B of the batches' best losses (the best tried at an edge)
    batch_at_edge: bool


def _vertex_loss(parabola, x: float, fallback: float) -> float:
    return fallback if parabola is None else float(np.polyval(parabola, math.log(x)))


def best_batches(records: list[dict]) -> list[BestBatch]:
    """Steps 2 and 3 of the criterion from the grid's run records (``results.jsonl`` lines), one
    :class:`BestBatch` per (size, budget), smallest size and budget first."""
    from scalinglaws.sweeps.learning_rate_rule import best_learning_rates, log_parabola_vertex

    cells: dict[tuple, dict[int, list[dict]]] = {}
    for record in records:
        key = (int(record["params_total"]), float(record["budget"]))
        cells.setdefault(key, {}).setdefault(int(record["train_config"]["batch_size"]), []).append(record)
    out = []
    for (n_params, budget), by_batch in sorted(cells.items()):
        batches = tuple(sorted(by_batch))
        per_batch = [best_learning_rates(by_batch[batch])[0] for batch in batches]
        losses = [_vertex_loss(best.parabola, best.best_lr, min(best.losses)) for best in per_batch]
        best_batch, _, batch_at_edge = log_parabola_vertex(batches, losses)
        out.append(BestBatch(n_params, budget, batches, tuple(best.best_lr for best in per_batch), tuple(losses),
                             tuple(best.at_edge for best in per_batch), float(best_batch), batch_at_edge))
    return out


#: Step 5: the seed standard deviation measured on the reference sweep; smaller differences are ties.
SEED_SD = 0.0225
#: Step 4's reference points: N in units of 1e5 parameters, D in units of 1e7 tokens.
N_UNIT, D_UNIT = 1e5, 1e7


def lr_at_best_batch(cell: BestBatch) -> float:
    """The best learning rate at B*, for step 4: the per-batch best rates interpolated linearly in
    (log B, log lr) between the two grid batches around B* (B* at a grid batch: that batch's)."""
    log_b = np.log(np.asarray(cell.batches, dtype=float))
    return float(np.exp(np.interp(math.log(cell.best_batch), log_b, np.log(np.asarray(cell.best_lrs)))))


@dataclass(frozen=True)
class PowerRule:
    """log y = log y0 + p log(N / 1e5) + q log(D / 1e7), with standard errors; q is None when D was dropped."""

    y0: float
    p: float
    q: float | None
    p_se: float
    q_se: float | None

    def at(self, n_params: float, tokens: float) -> float:
        value = math.log(self.y0) + self.p * math.log(n_params / N_UNIT)
        if self.q is not None:
            value += self.q * math.log(tokens / D_UNIT)
        return math.exp(value)


def fit_power_rule(n_params, tokens, values) -> PowerRule:
    """Step 4: least squares of log y on log(N / 1e5) and log(D / 1e7); if q lies within its own
    standard error of zero, the rule is refitted on N alone."""
    n, d, y = (np.asarray(v, dtype=float) for v in (n_params, tokens, values))
    if not (n.size == d.size == y.size) or n.size < 4:
        raise ValueError(f"need at least 4 cells (got {n.size}) to fit a rule in N and D with standard errors")
    if np.any(~np.isfinite(y)) or np.any(y <= 0):
        raise ValueError(f"values must be positive and finite, got {y.tolist()}")

    def fit(columns):
        x = np.column_stack([np.ones_like(y), *columns])
        coef, *_ = np.linalg.lstsq(x, np.log(y), rcond=None)
        residual = np.log(y) - x @ coef
        dof = y.size - x.shape[1]
        sigma2 = float(residual @ residual) / dof if dof > 0 else 0.0
        se = np.sqrt(np.diag(sigma2 * np.linalg.inv(x.T @ x)))
        return coef, se

    coef, se = fit([np.log(n / N_UNIT), np.log(d / D_UNIT)])
    if abs(coef[2]) > se[2]:
        return PowerRule(float(np.exp(coef[0])), float(coef[1]), float(coef[2]), float(se[1]), float(se[2]))
    coef, se = fit([np.log(n / N_UNIT)])
    return PowerRule(float(np.exp(coef[0])), float(coef[1]), None, float(se[1]), None)


@dataclass(frozen=True)
class BatchRules:
    """Steps 4-5: the rules for B* and lr* at B*, and the cells whose B* rests on a tie."""

    batch: PowerRule
    lr: PowerRule
    ties: tuple[tuple[int, float], ...]  # (size, budget) cells whose best batch beats the next by < SEED_SD


def fit_batch_rules(cells: list[BestBatch], tie: float = SEED_SD) -> BatchRules:
    """Steps 4 and 5 of the criterion on the (size, budget) cells of :func:`best_batches`. A cell whose
    best rate or best batch lies at the edge of the grid is refused (step 2): extend the grid first."""
    at_edge = [(c.n_params, c.budget) for c in cells if c.batch_at_edge or any(c.lr_at_edge)]
    if at_edge:
        raise ValueError("the best rate or batch lies at the edge of the grid for (N, C) = "
                         + ", ".join(f"({n:,d}, {b:.2g})" for n, b in at_edge) + "; extend the grid past it first")
    tokens = [c.budget / (6 * c.n_params) for c in cells]
    sizes = [c.n_params for c in cells]
    ties = tuple((c.n_params, c.budget) for c in cells if sorted(c.best_losses)[1] - min(c.best_losses) < tie)
    return BatchRules(batch=fit_power_rule(sizes, tokens, [c.best_batch for c in cells]),
                      lr=fit_power_rule(sizes, tokens, [lr_at_best_batch(c) for c in cells]), ties=ties)


def committed_rule() -> tuple[LearningRateRule, float]:
    """The tuned rule this grid is centred on, and its beta2 (``results/tuning/rule.json``)."""
    rule = tuning.read_rule()
    return rule.lr_rule, rule.beta2


def lowest_measured_losses(records: list[dict]) -> dict[tuple[int, float], dict[int, float]]:
    """(size, budget) -> {batch: the lowest final loss any of its rates reached}, smallest size and budget
    first. Unlike the criterion's parabola vertices, every number here is a run's own loss."""
    measured: dict[tuple[int, float], dict[int, float]] = {}
    for record in records:
        if record["final_loss"] is None:
            continue
        row = measured.setdefault((int(record["params_total"]), float(record["budget"])), {})
        batch = int(record["train_config"]["batch_size"])
        row[batch] = min(row.get(batch, math.inf), float(record["final_loss"]))
    return {key: dict(sorted(measured[key].items())) for key in sorted(measured)}


def best_batch_lead(row: dict[int, float]) -> tuple[int, float]:
    """The batch with the lowest loss in ``row`` and how far the next best lies above it (nats)."""
    if len(row) < 2:
        raise ValueError(f"a lead needs two batches or more, got {row!r}")
    best = min(row, key=row.get)
    return best, min(loss for batch, loss in row.items() if batch != best) - row[best]


def _batch_text(cell: BestBatch) -> str:
    if not cell.batch_at_edge:
        return f"B* = {cell.best_batch:.1f}"
    bound = "<=" if cell.best_batch == min(cell.batches) else ">="
    return f"B* {bound} {cell.best_batch:.0f} (edge)"


def report_text(*outs: Path) -> str:
    """Steps 2-5 of the criterion on the finished runs in ``outs`` (by default the grid and its extension
    past the edges, where that has records): each (size, budget) cell, then the rules once every run of
    every file is complete (a partial grid's cells are printed, its rules are not)."""
    from scalinglaws.data.results import load_results

    outs = outs or tuple(out for out in (OUT, EDGES_OUT) if (out / "results.jsonl").exists())
    planned = {OUT: len(LAYERS) * len(BATCHES) * len(LR_FACTORS), EDGES_OUT: len(EDGE_TRUNKS)}
    records, complete = [], 0
    for out in outs:
        records += load_results(out / "results.jsonl")[1]
        complete += planned.get(out.resolve(), planned.get(out, 0)) * len(BUDGETS)
    complete = max(complete, len(records))  # a results directory of another name: its own records
    cells = best_batches(records)
    lines = [f"{len(records)} of {complete} runs finished ({', '.join(out.name for out in outs)})"]
    for cell in cells:
        lines.append(f"N {cell.n_params:,d}, C {cell.budget:.2g}: best loss per batch "
                     + ", ".join(f"B={b} {loss:.4f} (lr {lr:.3g}{', edge' if edge else ''})" for b, loss, lr, edge
                                 in zip(cell.batches, cell.best_losses, cell.best_lrs, cell.lr_at_edge))
                     + f"; {_batch_text(cell)}")
    # Beside the criterion: the lowest loss each batch actually reached. A parabola through a rate that
    # blew up (0.5 nats or more above its neighbours) puts its vertex far below every run it was drawn
    # through, so the vertex losses above can mislead where the measured ones do not.
    lines.append("lowest measured loss per (size, budget, batch), over the rates tried:")
    for (n_params, budget), row in lowest_measured_losses(records).items():
        best, lead = best_batch_lead(row)
        lines.append(f"  N {n_params:,d}, C {budget:.2g}: " + ", ".join(f"B={b} {row[b]:.4f}" for b in sorted(row))
                     + f"; best B={best}, next {lead:+.4f}")
    if len(records) < complete:
        return "\n".join(lines + ["rules: not fitted until every run of the grid has finished"])
    try:
        rules = fit_batch_rules(cells)
    except ValueError as refused:  # step 2: an edge minimum means the grid must be extended first
        lines.append(f"rules: not fitted: {refused}")
        if EDGES_OUT in [out.resolve() for out in outs]:
            lines.append("The extension past the edges was the last one planned: by the criterion this grid "
                         "gives no rule for the batch or the rate.")
        return "\n".join(lines)
    for name, rule in (("B*", rules.batch), ("lr* at B*", rules.lr)):
        d_term = "" if rule.q is None else f" (D/1e7)^{rule.q:.2f} +- {rule.q_se:.2f}"
        lines.append(f"{name} = {rule.y0:.3g} (N/1e5)^{rule.p:.2f} +- {rule.p_se:.2f}{d_term}")
    lines.append(f"cells whose best batch is a tie (< {SEED_SD} nats): {len(rules.ties)} of {len(cells)}")
    return "\n".join(lines)


def warmup_check_text(check: Path = OUT.with_name(WARMUP_CHECK_NAME), grid: Path = OUT) -> str:
    """The warmup check's runs beside their twins in the grid, and the reading fixed with them."""
    from scalinglaws.data.results import load_results

    twins = {record["run_id"]: record for record in load_results(grid / "results.jsonl")[1]}
    lines = ["| size | batch | lr | budget | steps | warmup (grid) | loss (grid) | warmup | loss | change |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    judged = []
    for record in sorted(load_results(check / "results.jsonl")[1], key=lambda r: (r["params_total"], r["budget"])):
        twin = twins[record["run_id"]]
        change = record["final_loss"] - twin["final_loss"]
        if abs(change) > 2 * SEED_SD:
            judged.append(f"{record['params_total']:,d} at batch {record['batch_size']}, {record['budget']:.2g}")
        lines.append(f"| {record['params_total']:,d} | {record['batch_size']} | {record['learning_rate']:.3g} | "
                     f"{record['budget']:.2g} | {record['steps']:,d} | {twin['train_config']['warmup_steps']} | "
                     f"{twin['final_loss']:.4f} | {record['train_config']['warmup_steps']} | "
                     f"{record['final_loss']:.4f} | {change:+.4f} |")
    verdict = ("judged on their warmup (a change over twice the seed sd) at " + "; ".join(judged)) if judged else \
        "no run moved by more than twice the seed sd: the grid's warmups did not decide its large batches"
    return "\n".join(lines + ["", f"reading: {verdict}"])


USAGE = ("usage: python -m scalinglaws.sweeps.batch_tuning plan | run [OUT] | plan-edges | run-edges [OUT] "
         "| run-warmup-check [OUT] | warmup-check-report | report [OUT ...]")


def main(argv: list[str]) -> int:
    """plan | run [OUT] | plan-edges | run-edges [OUT] | report [OUT ...] (see the module docstring)."""
    command = argv[0] if argv else ""
    if command == "warmup-check-report":
        print(warmup_check_text())
        return 0
    if command == "run-warmup-check":
        from scalinglaws.sweeps.runner import run_specs

        rule, beta2 = committed_rule()
        specs = batch_tuning_specs(rule, beta2, trunks=WARMUP_CHECK_TRUNKS, warmup_steps=WARMUP_CHECK_STEPS)
        run_specs(WARMUP_CHECK_NAME, WARMUP_CHECK_DESCRIPTION, specs,
                  Path(argv[1]) if len(argv) > 1 else OUT.with_name(WARMUP_CHECK_NAME))
        return 0
    if command not in ("plan", "run", "plan-edges", "run-edges", "report"):
        print(USAGE, file=sys.stderr)
        return 2
    if command == "report":
        print(report_text(*(Path(arg) for arg in argv[1:])))
        return 0
    rule, beta2 = committed_rule()
    edges = command.endswith("-edges")
    specs = batch_tuning_specs(rule, beta2, trunks=EDGE_TRUNKS if edges else None)
    name, description, out = (EDGES_NAME, EDGES_DESCRIPTION, EDGES_OUT) if edges else (NAME, DESCRIPTION, OUT)
    if command.startswith("run"):
        from scalinglaws.sweeps.runner import run_specs

        run_specs(name, description, specs, Path(argv[1]) if len(argv) > 1 else out)
        return 0
    print(description)
    for spec in specs:
        print(f"  {spec.run_id}: {spec.config.steps:,d} steps, lr {spec.config.peak_lr:g}, "
              f"wd {spec.config.weight_decay:.3g}")
    print(wsd_plan.cost_line(specs))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
