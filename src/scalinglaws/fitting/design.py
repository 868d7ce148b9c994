"""Which sweep would decide a? Sweeps simulated from a known law, fitted as the book fits them, and priced.

    python -m scalinglaws.fitting.design                 # the table of candidate designs (under 2 minutes)
    python -m scalinglaws.fitting.design --sweeps 400    # steadier percentiles, four times the time

A *design* is an exact grid (:class:`Grid`): IsoFLOP budgets, the model sizes trained at each, and the
number of seeds. Its sizes come from one geometric ladder and each budget takes the ``n_sizes``
consecutive rungs centred nearest its optimum N_opt(C) (:func:`centred_grid`), so a size recurs at
several budgets and each (size, seed) is one warmup-stable-decay trunk with a branch per budget. The
ladder's rungs are ``size_span^(1/(n_sizes-1))`` apart, so the centre of a budget's sizes misses its
optimum by up to the square root of that (sqrt(2) for 5 sizes over 16x); each simulated sweep draws the
ladder's phase afresh, so the misses vary as they would from one sweep to the next.

Each simulated sweep (:func:`simulate_a`):

1. the losses are the law's L(N, D) (Hoffmann Eq. 2) plus seed noise with the measured structure, a
   per-trunk offset and a per-run part (:mod:`scalinglaws.fitting.trunk_noise`, measured from a sweep's
   records by :func:`~scalinglaws.fitting.trunk_noise.measure_noise`);
2. Approach 2 is fitted as the book fits a sweep: seed means, one parabola per budget within the window
   rule, outliers against the measured seed sd (:func:`~scalinglaws.fitting.trunk_bootstrap.fit_approach2_on_seed_means`);
3. the design's spread of a is half the 10-90% range of the fitted a's (:attr:`Spread.half_width`)
   and its bias the median minus the true a.

Two truths are simulated, a = 0.5 and a = 0.73, each L = E + A/N^alpha + B/D^beta fitted by Approach 3
(:func:`scalinglaws.fitting.approach3_diagnostics.fit_fixed`) to a sweep's seed means with a =
beta / (alpha + beta) held, so both laws reproduce the measured losses as closely as they can. The
table also centres the sizes by a third law, the *pilot* (a held at the measured Approach 2 exponent),
under the a = 0.73 truth: the grid one would actually train, centred by what one believes now.

The same redraws on a finished sweep's own grid, from a law fitted to it, give the interval of a sweep
with one seed per size (:func:`parametric_interval`), which the trunk bootstrap cannot redraw.

Cost (:meth:`Grid.cost_flops`): a run of budget C costs 6ND = C FLOPs. A WSD trunk trains to its longest
branch point, (1 - f) D_max, and each branch adds its cooldown f D (f = 20%), so a trunk costs
(1 - f) C_max + f sum(C) of its budgets, each trunk counted once. Where the budgets start is set by
the reference sweep's step floor: the first budget is the smallest at which every run of the priced grid
still gets 4,000 steps (:func:`floor_budget`); the largest run's tokens say which corpus its 4-epoch cap
admits (:func:`corpus_for`).
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass

import numpy as np

from scalinglaws.fitting.trunk_bootstrap import fit_approach2_on_seed_means
from scalinglaws.fitting.trunk_noise import NoiseStructure, SeedRuns, measure_noise
from scalinglaws.papers.constants import ParametricFit
from scalinglaws.papers.laws import allocation_exponents, optimal_allocation, parametric_loss

# The book's CPU sweeps, repeated here because fitting sits below training and sweeps, where these are
# defined (tests/test_layers.py forbids the import; tests/test_design.py checks that they agree with
# scalinglaws.sweeps.tuned_sweep and scalinglaws.sweeps.presets).
#: Every run has at least 4,000 steps of 4 x 128 bytes (tokens).
STEP_FLOOR_TOKENS = 4000 * 4 * 128
#: No run sees more than 4 epochs of its corpus's training bytes.
MAX_EPOCHS = 4
DEFAULT_TRAIN_BYTES = 20_909_379
GUTENBERG409_TRAIN_BYTES = 137_836_610
COOLDOWN_FRACTION = 0.2
#: Training FLOPs (6ND) per core-second of the committed runs: 1.5e10 over the whole reference sweep
#: (compute_spent.flops_trained / core_seconds of results/tuned), 2-3e10 for its two largest sizes.
FLOPS_PER_CORE_SECOND = 2e10
CORE_HOURS_AVAILABLE = 10.0
#: The reference sweep's Approach 2 exponent, the pilot that centres a real grid: a of
#: trunk_bootstrap.fit_approach2_on_seed_means on results/tuned's IsoFLOP budgets (0.53516), to the three
#: digits results/design/design.txt was computed with (tests/test_design.py recomputes it).
PILOT_A = 0.535
TRUE_EXPONENTS = (0.5, 0.73)
BUDGET_SPACING = math.sqrt(2.0)
SIZE_SPAN = 16.0


@dataclass(frozen=True)
class Grid:
    """An exact sweep grid: ``sizes[i]`` are the model sizes (N) trained at ``budgets[i]`` (FLOPs), each
    with ``n_seeds`` seeds. Equal sizes at two budgets are one trunk per seed."""

    budgets: tuple[float, ...]
    sizes: tuple[tuple[float, ...], ...]
    n_seeds: int

    def __post_init__(self):
        if not self.budgets:
            raise ValueError("a grid needs at least one budget; got none")
        if len(self.sizes) != len(self.budgets):
            raise ValueError(f"a grid needs one tuple of sizes per budget: {len(self.budgets)} budgets, "
                             f"{len(self.sizes)} tuples of sizes")
        for budget, sizes in zip(self.budgets, self.sizes):
            if not (math.isfinite(budget) and budget > 0):
                raise ValueError(f"every budget must be a positive number of FLOPs, got {budget:g}")
            if not sizes or not all(math.isfinite(n) and n > 0 for n in sizes):
                raise ValueError(f"budget {budget:.3g}: sizes must be positive parameter counts, got {sizes!r}")
        if not (isinstance(self.n_seeds, (int, np.integer)) and self.n_seeds >= 1):
            raise ValueError(f"n_seeds must be a positive integer, got {self.n_seeds!r}")

    def points(self) -> tuple[np.ndarray, np.ndarray]:
        """Every (budget, N) cell of the grid, once (seeds aside)."""
        budget = np.array([c for c, sizes in zip(self.budgets, self.sizes) for _ in sizes], dtype=float)
        params = np.array([n for sizes in self.sizes for n in sizes], dtype=float)
        return budget, params

    def seed_runs(self, law: ParametricFit) -> SeedRuns:
        """Every run of the grid (each cell once per seed) at ``law``'s noise-free loss, each labelled with
        its trunk (size, seed)."""
        budget, params = self.points()
        budget, params = np.tile(budget, self.n_seeds), np.tile(params, self.n_seeds)
        seed = np.repeat(np.arange(self.n_seeds), budget.size // self.n_seeds)
        tokens = budget / (6.0 * params)
        trunk = np.array([f"N={n!r} seed={s}" for n, s in zip(params, seed)])
        return SeedRuns(budget, params, tokens, parametric_loss(law, params, tokens), seed, trunk)

    def cost_flops(self, cooldown_fraction: float = COOLDOWN_FRACTION) -> float:
        """6ND FLOPs of the grid trained as WSD trunks, each trunk counted once (module docstring)."""
        budgets_of: dict[float, list[float]] = {}
        for budget, sizes in zip(self.budgets, self.sizes):
            for n in set(sizes):
                budgets_of.setdefault(n, []).append(budget)
        per_seed = sum((1.0 - cooldown_fraction) * max(c) + cooldown_fraction * sum(c) for c in budgets_of.values())
        return self.n_seeds * per_seed

    def token_range(self) -> tuple[float, float]:
        """The fewest and the most tokens any run of the grid trains on."""
        budget, params = self.points()
        tokens = budget / (6.0 * params)
        return float(tokens.min()), float(tokens.max())


def budgets_spanning(c_min: float, span: float, spacing: float = BUDGET_SPACING) -> tuple[float, ...]:
    """Budgets from ``c_min`` to ``span`` times it, as close to ``spacing`` apart as a whole number allows."""
    if not (math.isfinite(c_min) and c_min > 0):
        raise ValueError(f"the smallest budget must be a positive number of FLOPs, got {c_min:g}")
    if not (span > 1 and spacing > 1):
        raise ValueError(f"the budget span and spacing must exceed 1, got span {span!r}, spacing {spacing!r}")
    count = max(2, round(math.log(span) / math.log(spacing)) + 1)
    return tuple(float(c) for c in c_min * span ** np.linspace(0.0, 1.0, count))


def ladder_ratio(n_sizes: int, size_span: float = SIZE_SPAN) -> float:
    """The factor between neighbouring sizes when ``n_sizes`` span ``size_span``x."""
    if n_sizes < 3:
        raise ValueError(f"a parabola per budget needs at least 3 sizes, got n_sizes = {n_sizes!r}")
    if not size_span > 1:
        raise ValueError(f"the size span must exceed 1, got {size_span!r}")
    return size_span ** (1.0 / (n_sizes - 1))


def centred_grid(law: ParametricFit, budgets, n_sizes: int, n_seeds: int, size_span: float = SIZE_SPAN,
                 phase: float = 0.0) -> Grid:
    """Per budget, the ``n_sizes`` consecutive rungs of the ladder N_opt(budgets[0]) r^(j + phase) whose
    geometric centre is nearest ``law``'s N_opt(C) (r = :func:`ladder_ratio`)."""
    budgets = tuple(float(c) for c in budgets)
    if not budgets or min(budgets) <= 0:
        raise ValueError(f"budgets must be positive numbers of FLOPs, got {budgets!r}")
    ratio = ladder_ratio(n_sizes, size_span)
    anchor = float(optimal_allocation(law, budgets[0])[0])
    sizes = []
    for budget in budgets:
        rung = math.log(float(optimal_allocation(law, budget)[0]) / anchor) / math.log(ratio) - phase
        first = round(rung - (n_sizes - 1) / 2)
        sizes.append(tuple(anchor * ratio ** (first + k + phase) for k in range(n_sizes)))
    return Grid(budgets, tuple(sizes), n_seeds)


def ladder_grid(law: ParametricFit, budgets, ladder, n_seeds: int, size_span: float = SIZE_SPAN,
                min_sizes: int = 3) -> Grid:
    """Per budget, the sizes of a fixed ``ladder`` (one shape family's parameter counts) that lie within
    ``size_span``x centred on ``law``'s N_opt(C) in log N; where fewer than ``min_sizes`` do, the
    ``min_sizes`` rungs nearest N_opt. A shape family with a fixed head size and aspect ratio has only
    as many sizes as depths, so its rungs, not a continuous ladder, set what each budget can sample."""
    ladder = tuple(sorted(float(n) for n in ladder))
    if len(ladder) < min_sizes or min_sizes < 3:
        raise ValueError(f"a ladder of {len(ladder)} sizes cannot give {min_sizes} per budget (3 at least)")
    budgets = tuple(float(c) for c in budgets)
    sizes = []
    for budget in budgets:
        centre = math.log(float(optimal_allocation(law, budget)[0]))
        inside = tuple(n for n in ladder if abs(math.log(n) - centre) <= math.log(size_span) / 2)
        if len(inside) < min_sizes:
            inside = tuple(sorted(sorted(ladder, key=lambda n: abs(math.log(n) - centre))[:min_sizes]))
        sizes.append(inside)
    return Grid(budgets, tuple(sizes), n_seeds)


def simulate_grid(truth: ParametricFit, grid: Grid, noise, n_sweeps: int = 200, seed: int = 0) -> Spread:
    """Approach 2's a on ``n_sweeps`` sweeps of one fixed ``grid`` drawn from ``truth`` with ``noise``
    (a :class:`~scalinglaws.fitting.trunk_noise.NoiseStructure` or a drifting one)."""
    return parametric_interval(grid.seed_runs(truth), truth, noise, n_sweeps, seed)


def floor_budget(law: ParametricFit, span: float, n_sizes: int, size_span: float = SIZE_SPAN,
                 floor_tokens: float = STEP_FLOOR_TOKENS, spacing: float = BUDGET_SPACING) -> float:
    """The smallest first budget at which every run of ``law``'s centred grid (phase 0) over ``span``x
    trains on at least ``floor_tokens``.

    Moving the first budget by a factor k moves every budget by k and, N_opt being a power law, every
    size by k^a, so the grid keeps its shape and every run's tokens move by k^(1 - a) = k^b: one grid's
    fewest tokens give the answer in closed form."""
    if not floor_tokens > 0:
        raise ValueError(f"the step floor must be a positive number of tokens, got {floor_tokens!r}")
    reference = 1e13
    fewest, _ = centred_grid(law, budgets_spanning(reference, span, spacing), n_sizes, 1, size_span).token_range()
    return reference * (floor_tokens / fewest) ** (1.0 / allocation_exponents(law)[1])


@dataclass(frozen=True, eq=False)
class Spread:
    """The a's fitted to simulated sweeps of one design under one truth (NaN where a fit failed)."""

    a_true: float
    samples: np.ndarray

    @property
    def fitted(self) -> np.ndarray:
        return self.samples[np.isfinite(self.samples)]

    @property
    def n_failed(self) -> int:
        return int(self.samples.size - self.fitted.size)

    @property
    def half_width(self) -> float:
        """Half the 10-90% range of the fitted a's."""
        low, high = np.percentile(self.fitted, (10.0, 90.0))
        return float(high - low) / 2.0

    @property
    def bias(self) -> float:
        """Median fitted a minus the true a."""
        return float(np.median(self.fitted)) - self.a_true

    def wrong_side(self, midpoint: float) -> float:
        """Share of the sweeps whose a is not on the true a's side of ``midpoint`` (failed fits count)."""
        on_side = self.samples > midpoint if self.a_true > midpoint else self.samples < midpoint
        return float(np.mean(~on_side))  # NaN compares False: a failed fit decides nothing


def _fitted_a(clean: SeedRuns, noise: NoiseStructure, rng: np.random.Generator) -> float:
    """Approach 2's a (as the book fits it) on ``clean``'s losses plus one draw of ``noise``; NaN on failure."""
    try:
        return fit_approach2_on_seed_means(clean.with_loss(clean.loss + noise.draw(clean, rng))).a
    except ValueError:  # FitFailure: fewer than 2 budgets with an in-range minimum
        return math.nan


def sweeps_generator(n_sweeps: int, seed: int) -> np.random.Generator:
    """The random generator that draws ``n_sweeps`` simulated sweeps; an error naming ``n_sweeps`` below 1."""
    if n_sweeps < 1:
        raise ValueError(f"n_sweeps must be a positive number of simulated sweeps, got {n_sweeps!r}")
    return np.random.default_rng(seed)


def simulate_a(truth: ParametricFit, budgets, n_sizes: int, n_seeds: int, noise: NoiseStructure,
               n_sweeps: int = 200, seed: int = 0, centre_by: ParametricFit | None = None,
               size_span: float = SIZE_SPAN) -> Spread:
    """Approach 2's a on ``n_sweeps`` sweeps drawn from ``truth`` with ``noise`` (module docstring), the
    sizes centred by ``centre_by`` (default: the truth), the ladder's phase drawn for each sweep."""
    rng = sweeps_generator(n_sweeps, seed)
    values = [_fitted_a(centred_grid(centre_by or truth, budgets, n_sizes, n_seeds, size_span,
                                     phase=rng.uniform()).seed_runs(truth), noise, rng) for _ in range(n_sweeps)]
    return Spread(allocation_exponents(truth)[0], np.array(values))


def parametric_interval(runs: SeedRuns, law: ParametricFit, noise: NoiseStructure, n_sweeps: int = 200,
                        seed: int = 0) -> Spread:
    """Approach 2's a on ``n_sweeps`` redraws of the runs' own grid from ``law`` (Approach 3 fitted to the
    sweep, say) with ``noise`` (measured on a sweep with seeds): the interval of a sweep with one seed
    per size, whose trunks the trunk bootstrap cannot redraw. ``Spread.fitted``'s percentiles are it."""
    rng = sweeps_generator(n_sweeps, seed)
    clean = runs.with_loss(parametric_loss(law, runs.params, runs.tokens))
    return Spread(allocation_exponents(law)[0], np.array([_fitted_a(clean, noise, rng) for _ in range(n_sweeps)]))


def laws_fitted_to(runs: SeedRuns, exponents) -> dict[float, ParametricFit]:
    """For each a of ``exponents``, Approach 3 with a held (``fit_fixed``) on the runs' seed means."""
    from scalinglaws.fitting.approach3_diagnostics import fit_fixed

    means = runs.seed_means()
    return {float(a): fit_fixed(means, a=float(a)) for a in exponents}


def truths_and_pilot(runs: SeedRuns) -> tuple[dict[float, ParametricFit], ParametricFit]:
    """The laws a design is simulated under (a held at each of :data:`TRUE_EXPONENTS`) and the pilot that
    centres its grid (a held at :data:`PILOT_A`), all fitted to ``runs`` by :func:`laws_fitted_to`."""
    laws = laws_fitted_to(runs, (*TRUE_EXPONENTS, PILOT_A))
    return laws, laws.pop(PILOT_A)


def steepened(law: ParametricFit, factor: float) -> ParametricFit:
    """``law`` with A and B times ``factor``: the same N_opt(C) (Eq. 4's G depends on A / B only) and every
    IsoFLOP profile ``factor`` times as curved, for asking how the spread depends on the curvature."""
    if not factor > 0:
        raise ValueError(f"the steepening factor must be positive, got {factor!r}")
    return ParametricFit(f"{law.name} x{factor:g}", E=law.E, A=law.A * factor, B=law.B * factor,
                         alpha=law.alpha, beta=law.beta)


@dataclass(frozen=True)
class Candidate:
    """A design to price and simulate: budgets spanning ``span``x from ``c_min`` (default: the step
    floor, :func:`floor_budget`), ``n_sizes`` per budget over ``size_span``x, ``n_seeds`` seeds."""

    span: float
    n_sizes: int
    n_seeds: int
    c_min: float | None = None
    size_span: float = SIZE_SPAN
    spacing: float = BUDGET_SPACING

    @property
    def label(self) -> str:
        sizes = f"{self.n_sizes} sizes" + ("" if self.size_span == SIZE_SPAN else f" over {self.size_span:g}x")
        return f"{self.span:.3g}x / {sizes} / {self.n_seeds} seed{'s' if self.n_seeds > 1 else ''}"

    def budgets(self, pilot: ParametricFit) -> tuple[float, ...]:
        smallest = self.c_min or floor_budget(pilot, self.span, self.n_sizes, self.size_span, spacing=self.spacing)
        return budgets_spanning(smallest, self.span, self.spacing)

    def grid(self, pilot: ParametricFit) -> Grid:
        """The grid one would train: centred by ``pilot`` (phase 0)."""
        return centred_grid(pilot, self.budgets(pilot), self.n_sizes, self.n_seeds, self.size_span)

    def core_hours(self, pilot: ParametricFit, flops_per_core_second: float = FLOPS_PER_CORE_SECOND) -> float:
        return self.grid(pilot).cost_flops() / flops_per_core_second / 3600.0


def widest_affordable(pilot: ParametricFit, n_sizes: int, n_seeds: int, core_hours: float = CORE_HOURS_AVAILABLE,
                      flops_per_core_second: float = FLOPS_PER_CORE_SECOND, c_min: float | None = None,
                      size_span: float = SIZE_SPAN, spacing: float = BUDGET_SPACING) -> Candidate | None:
    """The candidate with the widest budget span (2x to 1000x, 2% steps) that costs at most ``core_hours``;
    None when not even 2x does."""
    best = None
    for span in 2.0 * 1.02 ** np.arange(int(math.log(500.0) / math.log(1.02)) + 1):
        candidate = Candidate(float(f"{span:.3g}"), n_sizes, n_seeds, c_min, size_span, spacing)
        if candidate.core_hours(pilot, flops_per_core_second) <= core_hours:
            best = candidate
    return best


def corpus_for(max_tokens: float) -> str:
    """The corpus whose 4-epoch cap admits ``max_tokens``: 'default', 'gutenberg409', or 'over cap'."""
    if max_tokens <= MAX_EPOCHS * DEFAULT_TRAIN_BYTES:
        return "default"
    return "gutenberg409" if max_tokens <= MAX_EPOCHS * GUTENBERG409_TRAIN_BYTES else "over cap"


def design_rows(candidates, laws: dict[float, ParametricFit], pilot: ParametricFit, noise: NoiseStructure,
                n_sweeps: int = 100, seed: int = 0, flops_per_core_second: float = FLOPS_PER_CORE_SECOND) -> list[dict]:
    """One row per candidate: its budgets, cost and token range on the pilot-centred grid, and the spread
    and bias of a under each truth of ``laws`` (sizes centred on it) and under the largest-a truth with
    the sizes centred by the pilot."""
    rows = []
    for candidate in candidates:
        budgets = candidate.budgets(pilot)
        grid = candidate.grid(pilot)

        def spread(truth, centre_by=None):
            return simulate_a(truth, budgets, candidate.n_sizes, candidate.n_seeds, noise, n_sweeps, seed,
                              centre_by, candidate.size_span)

        rows.append({"candidate": candidate, "budgets": budgets, "tokens": grid.token_range(),
                     "core_hours": candidate.core_hours(pilot, flops_per_core_second),
                     "spreads": {a: spread(law) for a, law in laws.items()},
                     "misplaced": spread(laws[max(laws)], centre_by=pilot)})
    return rows


def format_design_table(rows: list[dict], core_hours: float = CORE_HOURS_AVAILABLE) -> str:
    """The rows as a text table; '*' marks the designs that fit within ``core_hours``. 'wrong side' is the
    share of sweeps whose a lands on the other truth's side of the midpoint between the two truths."""
    from scalinglaws.papers.tables import format_table

    exponents = list(rows[0]["spreads"])
    midpoint = (min(exponents) + max(exponents)) / 2.0
    headers = ["design", "budgets (FLOPs)", *[f"+-a (bias) a={a:g}" for a in exponents],
               f"+-a a={max(exponents):g} pilot-centred", f"wrong side of {midpoint:.3g}", "core-h",
               f"<={core_hours:g}", "D max", "corpus"]
    lines = []
    for row in rows:
        budgets = row["budgets"]
        spreads = [*row["spreads"].values(), row["misplaced"]]
        cells = [f"{s.half_width:.3f} ({s.bias:+.3f})" + (f" {s.n_failed} failed" if s.n_failed else "")
                 for s in spreads]
        wrong = " / ".join(f"{s.wrong_side(midpoint):.0%}" for s in spreads)
        lines.append([row["candidate"].label, f"{len(budgets)}: {budgets[0]:.2g}-{budgets[-1]:.2g}", *cells, wrong,
                      f"{row['core_hours']:.1f}", "*" if row["core_hours"] <= core_hours else "",
                      f"{row['tokens'][1] / 1e6:.0f}M", corpus_for(row["tokens"][1])])
    return format_table(headers, lines)


def main(argv=None) -> int:
    """Measure the noise and the laws from a sweep's records, then print the table of candidate designs."""
    from scalinglaws.data.committed_results import sweep_results
    from scalinglaws.data.results import load_results

    parser = argparse.ArgumentParser(prog="python -m scalinglaws.fitting.design", description=__doc__.split("\n")[0])
    parser.add_argument("--results", help="results.jsonl (or its directory) to measure; default: the committed 'tuned'")
    parser.add_argument("--sweeps", type=int, default=100, help="simulated sweeps per design and truth (default 100)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--spans", type=float, nargs="+", default=[8.0, 30.0, 100.0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[5, 8])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--c-min", type=float, default=None, help="smallest budget (default: the step floor)")
    parser.add_argument("--size-span", type=float, default=SIZE_SPAN, help="factor from smallest to largest size per budget")
    parser.add_argument("--spacing", type=float, default=BUDGET_SPACING, help="factor between budgets (default sqrt 2)")
    parser.add_argument("--no-affordable", action="store_true", help="leave out the widest design within --core-hours")
    parser.add_argument("--steepen", type=float, default=1.0,
                        help="multiply the truths' A and B by this: profiles this many times as curved, same optimum")
    parser.add_argument("--flops-per-core-second", type=float, default=FLOPS_PER_CORE_SECOND)
    parser.add_argument("--core-hours", type=float, default=CORE_HOURS_AVAILABLE)
    args = parser.parse_args(argv)

    _, records = load_results(args.results or sweep_results("tuned"))
    runs = SeedRuns.from_records(records)
    noise = measure_noise(runs)
    laws, pilot = truths_and_pilot(runs)
    laws = {a: steepened(law, args.steepen) if args.steepen != 1.0 else law for a, law in laws.items()}
    print(f"measured on {len(runs)} runs, {noise.n_trunks} trunks: seed sd {noise.sd:.4f} nats ({noise.dof} dof); "
          f"trunk fraction {noise.trunk_fraction:.3f} (trunk offsets explain {noise.ss_share:.1%} of the "
          f"within-cell sum of squares); trunk sd {noise.trunk_sd:.4f}, run sd {noise.run_sd:.4f}")
    for a, law in {**laws, PILOT_A: pilot}.items():
        role = "pilot (centres the priced grid)" if a == PILOT_A else "truth"
        print(f"law a = {a:g} ({role}): E = {law.E:.4g}, A = {law.A:.4g}, B = {law.B:.4g}, alpha = {law.alpha:.4f}, "
              f"beta = {law.beta:.4f}; N_opt(1e13) = {float(optimal_allocation(law, 1e13)[0]):.3g}")
    candidates = [Candidate(span, k, s, args.c_min, args.size_span, args.spacing)
                  for span in args.spans for k in args.sizes for s in args.seeds]
    if not args.no_affordable:  # per sizes and seeds, the widest span that fits the compute
        widest = (widest_affordable(pilot, k, s, args.core_hours, args.flops_per_core_second, args.c_min,
                                    args.size_span, args.spacing) for k in args.sizes for s in args.seeds)
        candidates += [candidate for candidate in widest if candidate is not None]
    rows = design_rows(candidates, laws, pilot, noise, args.sweeps, args.seed, args.flops_per_core_second)
    print(f"\n{args.sweeps} simulated sweeps per cell; +-a = half the 10-90% range of Approach 2's a (bias: median - "
          f"true a); sizes over {args.size_span:g}x per budget, budgets {args.spacing:.3g}x apart from "
          f"{'the step floor' if args.c_min is None else f'{args.c_min:.3g}'}; "
          f"{'' if args.steepen == 1.0 else f'truths steepened {args.steepen:g}x; '}cost at "
          f"{args.flops_per_core_second:.2g} FLOP/s per core, each WSD trunk once ({COOLDOWN_FRACTION:.0%} cooldowns)")
    print(format_design_table(rows, args.core_hours))
    return 0


if __name__ == "__main__":
    sys.exit(main())
