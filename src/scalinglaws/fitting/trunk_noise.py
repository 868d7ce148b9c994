"""Seed noise shared along a warmup-stable-decay trunk: measured from a sweep, and drawn for a simulated one.

A sweep trained with WSD branches (:mod:`scalinglaws.training.wsd_plan`) trains each (size, seed) once,
as a *trunk*, and cools it down at each of that size's lengths; every branch of the trunk starts from
the same weights. A seed that is lucky at one length is then lucky at the others. The simplest model
of that is two parts of noise on each run's final loss:

    loss = L(N, D) + u_trunk + e_run,    u_trunk ~ N(0, rho sd^2),  e_run ~ N(0, (1 - rho) sd^2),

where ``sd`` is the seed standard deviation of one run (what :func:`scalinglaws.fitting.seed_noise.pooled_seed_sd`
measures) and ``rho``, the *trunk fraction*, is the share of its variance that all branches of a trunk
share. :func:`measure_noise` estimates both from a sweep's runs, :func:`draw_noise` draws them.

Estimating rho. A *cell* is a setting trained with several seeds (one budget, size and length). Within
cells, the deviations from the cell mean have variance sd^2 (pooled over cells, with their degrees of
freedom). Fitting every loss as a cell mean plus a trunk offset (least squares, both as fixed effects)
leaves residuals with variance (1 - rho) sd^2 on n - rank degrees of freedom, whatever the design's
balance: the offsets absorb the u's, and each cell mean its own part. So rho = 1 - s_run^2 / sd^2.

The share of the within-cell sum of squares that the trunk offsets explain is reported too
(``ss_share``). It is larger than rho: each trunk's mean deviation still carries the run noise of its
J branches, so it estimates rho + (1 - rho) / J, not rho.

:class:`SeedRuns` holds a sweep's runs as arrays with their seed and trunk; :meth:`SeedRuns.from_records`
reads them from results records (``results.jsonl``), taking the trunk from the record's ``branch``
entry (or a ``trunk`` field).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from scalinglaws.data.runs import Run, Runs


@dataclass(frozen=True, eq=False)
class SeedRuns:
    """Finished runs as arrays, one entry per run: budget (the IsoFLOP budget it belongs to, FLOPs),
    params (N), tokens (D), loss (final, nats), seed, and trunk (one label per (size, seed) trunk)."""

    budget: np.ndarray
    params: np.ndarray
    tokens: np.ndarray
    loss: np.ndarray
    seed: np.ndarray
    trunk: np.ndarray

    def __post_init__(self):
        for name in ("budget", "params", "tokens", "loss"):
            values = np.asarray(getattr(self, name), dtype=float).ravel()
            bad = values[~(np.isfinite(values) & (values > 0))]
            if bad.size:
                raise ValueError(f"SeedRuns: every {name} must be a positive finite number, got {float(bad[0]):g}")
            object.__setattr__(self, name, values)
        object.__setattr__(self, "seed", np.asarray(self.seed).ravel())
        object.__setattr__(self, "trunk", np.asarray(self.trunk).ravel())
        lengths = {name: getattr(self, name).size for name in ("budget", "params", "tokens", "loss", "seed", "trunk")}
        if len(set(lengths.values())) != 1:
            raise ValueError(f"SeedRuns needs one value per run in every field, got lengths {lengths}")
        if self.budget.size == 0:
            raise ValueError("SeedRuns needs at least one finished run; got none")
        for trunk in np.unique(self.trunk):
            mine = self.trunk == trunk
            if np.unique(self.params[mine]).size > 1 or np.unique(self.seed[mine]).size > 1:
                raise ValueError(f"trunk {trunk!r} holds runs of several sizes or seeds: a trunk is one (size, seed)")

    @classmethod
    def from_records(cls, records: list[dict]) -> "SeedRuns":
        """The finished (non-diverged) runs of results records. Each needs ``budget``, ``params_total``,
        ``tokens``, ``final_loss``, ``seed`` and a trunk: ``record["branch"]["trunk"]`` or ``record["trunk"]``."""
        if not records:
            raise ValueError("SeedRuns.from_records needs run records; got none")
        rows = []
        for index, record in enumerate(records):
            name = record.get("run_id", f"record {index}")
            for key in ("budget", "params_total", "tokens", "final_loss", "seed"):
                if key not in record:
                    raise ValueError(f"run {name}: no {key!r} field; a trunk bootstrap needs every run's seed, "
                                     "size, length, budget and final loss")
            trunk = (record.get("branch") or {}).get("trunk", record.get("trunk"))
            if trunk is None:
                raise ValueError(f"run {name}: no trunk id (neither record['branch']['trunk'] nor record['trunk'])")
            if record.get("diverged") or record["final_loss"] is None:
                continue
            rows.append((record["budget"], record["params_total"], record["tokens"], record["final_loss"],
                         record["seed"], str(trunk)))
        if not rows:
            raise ValueError(f"all {len(records)} records diverged: no finished run to use")
        budget, params, tokens, loss, seed, trunk = zip(*rows)
        return cls(np.array(budget, dtype=float), np.array(params, dtype=float), np.array(tokens, dtype=float),
                   np.array(loss, dtype=float), np.array(seed), np.array(trunk))

    def __len__(self) -> int:
        return int(self.loss.size)

    def cells(self) -> np.ndarray:
        """Each run's cell index: runs that share (budget, N, D) and differ only in their seed."""
        _, index = np.unique(np.column_stack([self.budget, self.params, self.tokens]), axis=0, return_inverse=True)
        return np.ravel(index)

    def trunks(self) -> np.ndarray:
        """Each run's trunk index (0 .. number of trunks - 1)."""
        return np.ravel(np.unique(self.trunk, return_inverse=True)[1])

    def with_loss(self, loss) -> "SeedRuns":
        """The same runs with other losses (a noise draw, a resample)."""
        return SeedRuns(self.budget, self.params, self.tokens, loss, self.seed, self.trunk)

    def seed_means(self) -> Runs:
        """One run per cell, its loss the mean over the cell's seeds: what Approaches 1 and 2 fit."""
        cell = self.cells()
        count = np.bincount(cell)
        mean = np.bincount(cell, weights=self.loss) / count
        first = np.unique(cell, return_index=True)[1]
        return Runs(tuple(Run(name=f"C={self.budget[i]:.3g} N={self.params[i]:.4g}", params=self.params[i],
                              tokens=self.tokens[i], flops=6.0 * self.params[i] * self.tokens[i], loss=mean[c],
                              budget=self.budget[i]) for c, i in enumerate(first)))

    def pooled_sd_by_budget(self) -> dict[float, float]:
        """The seed standard deviation of one run, pooled over each budget's cells of 2 or more seeds
        (what the book's Approach 2 judges outliers against); budgets without such a cell are absent."""
        cell = self.cells()
        count = np.bincount(cell)
        deviation = self.loss - (np.bincount(cell, weights=self.loss) / count)[cell]
        out = {}
        for budget in np.unique(self.budget):
            mine = self.budget == budget
            dof = int(np.sum(count[np.unique(cell[mine])] - 1))
            if dof > 0:
                out[float(budget)] = math.sqrt(float(np.sum(deviation[mine] ** 2)) / dof)
        return out


@dataclass(frozen=True)
class NoiseStructure:
    """Seed noise of one run, split into a part each trunk shares and a part of its own (module docstring)."""

    sd: float  # seed standard deviation of one run (nats)
    trunk_fraction: float  # rho: the share of sd^2 that all branches of a trunk share, in [0, 1]
    ss_share: float = math.nan  # share of the within-cell sum of squares the trunk offsets explain (> rho)
    dof: int = 0  # degrees of freedom of sd
    run_dof: int = 0  # degrees of freedom of the run part
    n_trunks: int = 0

    def __post_init__(self):
        if not (math.isfinite(self.sd) and self.sd >= 0):
            raise ValueError(f"the seed standard deviation must be finite and >= 0, got {self.sd!r}")
        if not 0.0 <= self.trunk_fraction <= 1.0:
            raise ValueError(f"the trunk fraction must lie in [0, 1], got {self.trunk_fraction!r}")

    @property
    def trunk_sd(self) -> float:
        """Standard deviation of the offset a trunk adds to all of its branches."""
        return self.sd * math.sqrt(self.trunk_fraction)

    @property
    def run_sd(self) -> float:
        """Standard deviation of the noise each run has on its own."""
        return self.sd * math.sqrt(1.0 - self.trunk_fraction)

    def draw(self, runs: SeedRuns, rng: np.random.Generator) -> np.ndarray:
        """One noise draw per run of ``runs`` (:func:`draw_noise` on their trunks)."""
        return draw_noise(runs.trunk, self, rng)


def measure_noise(runs: SeedRuns) -> NoiseStructure:
    """The seed sd pooled within cells, and the trunk fraction (module docstring; clipped to [0, 1]).

    Raises ValueError when no cell has 2 seeds (no spread to measure) or when no trunk has two cells
    (nothing can tell a trunk's offset from a run's own noise)."""
    cell, trunk = runs.cells(), runs.trunks()
    count = np.bincount(cell)
    dof = len(runs) - count.size
    if dof <= 0:
        raise ValueError("measuring seed noise needs a setting trained with 2 or more seeds; every cell has one")
    within = runs.loss - (np.bincount(cell, weights=runs.loss) / count)[cell]
    within_ss = float(np.sum(within ** 2))
    design = np.zeros((len(runs), count.size + trunk.max() + 1))
    design[np.arange(len(runs)), cell] = 1.0
    design[np.arange(len(runs)), count.size + trunk] = 1.0
    coefficients, *_ = np.linalg.lstsq(design, runs.loss, rcond=None)
    residual_ss = float(np.sum((runs.loss - design @ coefficients) ** 2))
    run_dof = len(runs) - int(np.linalg.matrix_rank(design))
    if run_dof <= 0 or run_dof == dof:
        raise ValueError("measuring the trunk fraction needs trunks with branches in 2 or more cells "
                         f"and seeds to spare; got {run_dof} residual degrees of freedom")
    total = within_ss / dof
    fraction = 1.0 - (residual_ss / run_dof) / total if total > 0 else 0.0
    return NoiseStructure(sd=math.sqrt(total), trunk_fraction=min(1.0, max(0.0, fraction)),
                          ss_share=1.0 - residual_ss / within_ss if within_ss > 0 else math.nan,
                          dof=dof, run_dof=run_dof, n_trunks=int(trunk.max() + 1))


def draw_noise(trunk, noise: NoiseStructure, rng: np.random.Generator) -> np.ndarray:
    """One noise draw per run: its trunk's offset (shared by the trunk's runs) plus its own part.
    ``trunk`` labels each run's trunk."""
    index = np.ravel(np.unique(np.asarray(trunk), return_inverse=True)[1])
    offsets = noise.trunk_sd * rng.standard_normal(index.max() + 1 if index.size else 0)
    return offsets[index] + noise.run_sd * rng.standard_normal(index.size)


# --------------------------------------------------------------------------------------
# Noise that drifts along a trunk
# --------------------------------------------------------------------------------------
#
# A constant offset per trunk is the simplest model; the reference sweep's branches say more. The
# correlation of one seed's deviations at two lengths of its trunk falls with the distance between
# the lengths: 0.90 for lengths sqrt(2) apart, 0.69 for 2x, 0.43 for 2.8x, about 0.3 beyond 4x. A
# constant part c plus a part that drifts, with a Gaussian kernel in log2 tokens,
#
#     corr(D1, D2) = c + (1 - c) exp(-(log2 D1 - log2 D2)^2 / (2 l^2)),
#
# matches that. It matters for designs with many budgets per trunk: branches close in length then
# share nearly all their noise and add little information, which the two-part model overstates.


def lag_correlations(runs: SeedRuns) -> list[tuple[float, float, int]]:
    """(distance in log2 tokens, correlation, pairs) of one seed's deviations from its cells' seed means
    at two lengths of the same trunk, for every distance between lengths the runs hold, shortest first."""
    cell = runs.cells()
    count = np.bincount(cell)
    deviation = runs.loss - (np.bincount(cell, weights=runs.loss) / count)[cell]
    usable = count[cell] >= 2
    pairs: dict[float, list[tuple[float, float]]] = {}
    trunk_of = runs.trunks()
    for mine in np.split(np.argsort(trunk_of, kind="stable"), np.cumsum(np.bincount(trunk_of))[:-1]):
        mine = mine[usable[mine]]
        for i in mine:
            for j in mine:
                if runs.tokens[j] > runs.tokens[i]:
                    distance = round(math.log2(runs.tokens[j] / runs.tokens[i]), 1)
                    pairs.setdefault(distance, []).append((deviation[i], deviation[j]))
    return [(distance, float(np.corrcoef(np.array(values).T)[0, 1]), len(values))
            for distance, values in sorted(pairs.items()) if len(values) >= 3]


@dataclass(frozen=True)
class DriftingNoise:
    """Seed noise of one run whose trunk part drifts with length (the comment above): ``sd`` of one run,
    ``constant_fraction`` c shared by all of a trunk's branches, the rest correlated with length scale
    ``length_scale`` (log2 tokens)."""

    sd: float
    constant_fraction: float
    length_scale: float

    def __post_init__(self):
        if not (math.isfinite(self.sd) and self.sd >= 0):
            raise ValueError(f"the seed standard deviation must be finite and >= 0, got {self.sd!r}")
        if not 0.0 <= self.constant_fraction <= 1.0:
            raise ValueError(f"the constant fraction must lie in [0, 1], got {self.constant_fraction!r}")
        if not self.length_scale > 0:
            raise ValueError(f"the length scale must be a positive number of log2 tokens, got {self.length_scale!r}")

    def correlation(self, distance) -> np.ndarray:
        """The correlation of one trunk's noise at two lengths ``distance`` log2 tokens apart."""
        distance = np.asarray(distance, dtype=float)
        return self.constant_fraction + (1 - self.constant_fraction) * np.exp(-distance ** 2 / (2 * self.length_scale ** 2))

    def draw(self, runs: SeedRuns, rng: np.random.Generator) -> np.ndarray:
        """One noise draw per run: jointly normal within each trunk, independent between trunks."""
        out = np.empty(len(runs))
        log_tokens = np.log2(runs.tokens)
        trunk_of = runs.trunks()
        for mine in np.split(np.argsort(trunk_of, kind="stable"), np.cumsum(np.bincount(trunk_of))[:-1]):
            covariance = self.sd ** 2 * self.correlation(log_tokens[mine, None] - log_tokens[None, mine])
            values, vectors = np.linalg.eigh(covariance)  # positive semi-definite: a root without Cholesky's jitter
            out[mine] = vectors @ (np.sqrt(np.clip(values, 0, None)) * rng.standard_normal(mine.size))
        return out


def fit_drifting_noise(runs: SeedRuns, sd: float | None = None) -> DriftingNoise:
    """:class:`DriftingNoise` fitted to :func:`lag_correlations` (least squares weighted by pairs, c and l on
    grids of 0.01 and 0.01 log2 tokens); ``sd`` defaults to :func:`measure_noise`'s pooled seed sd."""
    lags = lag_correlations(runs)
    if len(lags) < 2:
        raise ValueError(f"fitting a drift needs trunks with lengths at 2 or more distances; got {len(lags)}")
    distance, corr, weight = (np.array(column, dtype=float) for column in zip(*lags))
    c = np.round(np.arange(0, 101) * 0.01, 2)[:, None, None]
    scale = np.round(np.arange(5, 501) * 0.01, 2)[None, :, None]
    model = c + (1 - c) * np.exp(-distance ** 2 / (2 * scale ** 2))
    error = np.sum(weight * (corr - model) ** 2, axis=2)
    i, j = np.unravel_index(int(np.argmin(error)), error.shape)
    return DriftingNoise(measure_noise(runs).sd if sd is None else sd, float(c[i, 0, 0]), float(scale[0, j, 0]))
