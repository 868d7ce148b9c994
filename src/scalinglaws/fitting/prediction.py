"""A prediction made before the run that tests it: Chinchilla's decisive move, in miniature.

Hoffmann et al. (2022, Section 4) fitted their three approaches, predicted the compute-optimal
model for Gopher's budget, and then trained it (Chinchilla). This module turns a sweep's three
fits into that prediction at a budget above the sweep, and writes it to a file that is
committed before the test runs are trained, so that the commit history shows which came first:

- each approach's N_opt(C) (Approaches 1 and 2: their power law N_opt = k C^a; Approach 3:
  Eq. 4 of its parametric fit), with D_opt = C / 6 N_opt so that every allocation spends C;
- the model to train: the shape of the ladder nearest in log N to the geometric mean of the
  three N_opt, with D = C / 6N for that shape's own N;
- its predicted loss, from Approach 3 (the only approach that models the loss, Eq. 2) at that
  N and D, and the "Gopher" twin at the same budget: 4x the parameters, so 4x fewer tokens
  (Gopher has 4x Chinchilla's parameters, 280B against 70B, at the same compute; Hoffmann
  et al. 2022, Table 1 and Section 4.1).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from scalinglaws.papers import constants, counting
from scalinglaws.papers.constants import ParametricFit
from scalinglaws.papers.laws import optimal_allocation, parametric_loss

#: Gopher has 4x Chinchilla's parameters (280B / 70B) at the same compute (Hoffmann et al. 2022,
#: Table 1 and Section 4.1).
TWIN_FACTOR = constants.GOPHER.params / constants.CHINCHILLA.params


@dataclass(frozen=True)
class Allocation:
    """N_opt and D_opt (= C / 6 N_opt) of one approach at ``flops``."""

    approach: str
    flops: float
    n_opt: float
    d_opt: float


def allocation_by_approach(flops: float, n_laws: dict, parametric: ParametricFit) -> list[Allocation]:
    """Each approach's allocation at ``flops``: ``n_laws`` maps a name to a callable N_opt(C) (a
    :class:`~scalinglaws.fitting.powerlaw.PowerLawFit`), ``parametric`` adds Approach 3 by Eq. 4."""
    if not math.isfinite(flops) or flops <= 0:
        raise ValueError(f"the budget must be a positive number of FLOPs, got {flops!r}")
    out = [Allocation(name, flops, float(law(flops)), flops / (6.0 * float(law(flops)))) for name, law in n_laws.items()]
    n_opt, _ = optimal_allocation(parametric, flops)
    return out + [Allocation("approach3", flops, float(n_opt), flops / (6.0 * float(n_opt)))]


@dataclass(frozen=True)
class PlannedRun:
    """A model to train at the budget: its shape, N, D = C / 6N, and Approach 3's predicted loss."""

    shape: counting.TransformerShape
    n_params: int
    tokens: float
    predicted_loss: float


def planned_run(shape: counting.TransformerShape, flops: float, parametric: ParametricFit) -> PlannedRun:
    n_params = counting.params_total(shape)
    tokens = flops / (6.0 * n_params)
    return PlannedRun(shape, n_params, tokens, float(parametric_loss(parametric, n_params, tokens)))


@dataclass(frozen=True)
class Prediction:
    """Everything the file records: the allocations, the optimum to train and its Gopher twin."""

    flops: float
    allocations: tuple[Allocation, ...]
    consensus_n_opt: float  # geometric mean of the approaches' N_opt
    optimum: PlannedRun
    twin: PlannedRun

    @property
    def predicted_gap(self) -> float:
        """Approach 3's predicted loss of the twin minus that of the optimum (positive: the twin loses)."""
        return self.twin.predicted_loss - self.optimum.predicted_loss


def predict(flops: float, n_laws: dict, parametric: ParametricFit, ladder, twin_ladder=None) -> Prediction:
    """The prediction at ``flops`` (module docstring); the twin is the shape of ``twin_ladder``
    (default: ``ladder``) nearest TWIN_FACTOR x the optimum's N, on C / 6N tokens."""
    allocations = allocation_by_approach(flops, n_laws, parametric)
    consensus = float(np.exp(np.mean(np.log([a.n_opt for a in allocations]))))
    optimum = planned_run(counting.nearest_shape(ladder, consensus), flops, parametric)
    twin_shape = counting.nearest_shape(twin_ladder if twin_ladder is not None else ladder,
                                        TWIN_FACTOR * optimum.n_params)
    if counting.params_total(twin_shape) <= optimum.n_params:
        raise ValueError(f"the twin ladder has no shape larger than the optimum's {optimum.n_params:,d} parameters")
    return Prediction(flops, tuple(allocations), consensus, optimum, planned_run(twin_shape, flops, parametric))


def write_prediction(path: Path, prediction: Prediction, provenance: dict) -> None:
    """The prediction as JSON, with ``provenance`` (what it was fitted from, by which command)."""
    Path(path).write_text(json.dumps({"prediction": asdict(prediction), "provenance": provenance}, indent=1) + "\n")


def read_prediction(path: Path) -> Prediction:
    data = json.loads(Path(path).read_text())["prediction"]

    def run(d: dict) -> PlannedRun:
        return PlannedRun(counting.TransformerShape(**d["shape"]), d["n_params"], d["tokens"], d["predicted_loss"])

    return Prediction(data["flops"], tuple(Allocation(**a) for a in data["allocations"]), data["consensus_n_opt"],
                      run(data["optimum"]), run(data["twin"]))


@dataclass(frozen=True)
class Outcome:
    """A planned run against its test: the final held-out losses of its seeds (each a finished run
    of the planned shape at the prediction's budget)."""

    planned: PlannedRun
    losses: tuple[float, ...]

    @property
    def mean(self) -> float:
        return float(np.mean(self.losses))

    @property
    def seed_sd(self) -> float:
        """Sample standard deviation over seeds (NaN with one seed)."""
        return float(np.std(self.losses, ddof=1)) if len(self.losses) > 1 else float("nan")

    @property
    def miss(self) -> float:
        """Observed mean minus predicted loss (negative: the run did better than predicted)."""
        return self.mean - self.planned.predicted_loss


def outcomes(prediction: Prediction, records: list[dict]) -> tuple[Outcome, Outcome]:
    """The optimum's and the twin's :class:`Outcome` from the test runs' ``records`` (a results
    file's run records): the finished, non-diverged runs of each planned shape at the budget."""
    found = []
    for planned in (prediction.optimum, prediction.twin):
        losses = tuple(float(r["final_loss"]) for r in records
                       if counting.TransformerShape(**r["shape"]) == planned.shape
                       and float(r["budget"]) == prediction.flops and not r.get("diverged", False))
        if not losses:
            raise ValueError(f"no finished test run of the planned {planned.n_params:,d}-parameter shape "
                             f"at {prediction.flops:.3g} FLOPs")
        found.append(Outcome(planned, losses))
    return found[0], found[1]


def format_outcomes(optimum: Outcome, twin: Outcome) -> str:
    """Predicted against observed, per planned run, and the twin's gap."""
    from scalinglaws.papers.tables import format_table

    rows = [[name, f"{o.planned.n_params:,d}", f"{o.planned.tokens / 1e6:.2f}M", f"{o.planned.predicted_loss:.4f}",
             " / ".join(f"{loss:.4f}" for loss in o.losses), f"{o.mean:.4f}", f"{o.miss:+.4f}"]
            for name, o in (("optimum", optimum), ("twin (4x N)", twin))]
    rows.append(["twin - optimum", "", "", f"{twin.planned.predicted_loss - optimum.planned.predicted_loss:+.4f}",
                 "", f"{twin.mean - optimum.mean:+.4f}", ""])
    return format_table(["run", "N", "D", "predicted", "observed (seeds)", "mean", "observed - predicted"], rows)
