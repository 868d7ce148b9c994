"""Which warmup-stable-decay runs cover a sweep's points, and what they cost.

A WSD run (Hagele et al. 2024, Section 4.1; :func:`scalinglaws.training.schedule.wsd_learning_rate`)
holds its learning rate constant until the cooldown, so nothing before the cooldown depends
on how long the run is. All the runs of a sweep that differ ONLY in their number of steps
(same shape, corpus, seed, peak learning rate, batch, warmup, ...) are therefore one
constant-rate *trunk*, trained once, and one *branch* per run: at its branch point, T - c
steps for a run of T steps with a cooldown of c = round(f T), the trunk is saved and a copy
is cooled down for c steps. Each branch is a finished run with its own T, exactly the
computation of that run trained alone (``tests/test_branches.py`` checks it bit for bit).

Cost, in 6ND FLOPs: the trunk up to the last branch point plus every cooldown,

    6N b (max_i (T_i - c_i) + sum_i c_i)   against   6N b sum_i T_i   independently,

with b tokens per step. With f = 0.2 that is 0.8 max T + 0.2 sum T: about 0.75 for a shape
that sits in four IsoFLOP budgets half a decade apart, and less the more lengths share a trunk.

    python -m scalinglaws plan --preset cpu --cooldown 0.2
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from scalinglaws.data.results import settings_digest
from scalinglaws.papers import counting
from scalinglaws.training.schedule import warmup_steps_for


def trunk_settings(spec) -> dict:
    """What a run shares with every run of its trunk: its settings without its length and budget."""
    settings = spec.settings()
    config = dict(settings["config"])
    del config["steps"]
    return {"corpus": settings["corpus"], "config": config}


def trunk_key(spec) -> str:
    """A short hash of :func:`trunk_settings`: the name of the trunk (and of its checkpoints)."""
    return settings_digest(trunk_settings(spec))


@dataclass(frozen=True)
class Trunk:
    """One constant-rate WSD run and the branches cooled down from it (RunSpecs, shortest first)."""

    branches: tuple

    def __post_init__(self) -> None:
        if not self.branches:
            raise ValueError("a trunk needs at least one branch")
        for spec in self.branches:
            if spec.config.schedule != "wsd":
                raise ValueError(f"{spec.run_id}: only a 'wsd' run can be a branch (its schedule is "
                                 f"{spec.config.schedule!r})")
        keys = {trunk_key(spec) for spec in self.branches}
        if len(keys) > 1:
            raise ValueError("the branches of a trunk may differ only in their steps and budget; got "
                             + ", ".join(spec.run_id for spec in self.branches))
        steps = [spec.config.steps for spec in self.branches]
        if steps != sorted(steps):
            raise ValueError("a trunk's branches must be listed shortest first")

    @property
    def key(self) -> str:
        return trunk_key(self.branches[0])

    @property
    def config(self):
        """The longest branch's config: the trunk follows it up to the last branch point."""
        return self.branches[-1].config

    def branch_point(self, spec) -> int:
        """Steps of the trunk a branch starts from: its steps less its cooldown."""
        return spec.config.stable_steps

    @property
    def stable_steps(self) -> int:
        """Steps the trunk trains at the constant rate (its last branch point)."""
        return max(self.branch_point(spec) for spec in self.branches)

    def branch(self, steps: int):
        """A further branch of ``steps`` steps from this trunk, refused if its branch point lies
        beyond the trunk's stable phase (a longer trunk is another plan)."""
        spec = self.branches[-1]
        branch = replace(spec, config=replace(spec.config, steps=steps))
        if self.branch_point(branch) > self.stable_steps:
            raise ValueError(f"a branch of {steps} steps starts at step {self.branch_point(branch)}, beyond this "
                             f"trunk's stable phase of {self.stable_steps} steps")
        if spec.config.warmup > self.branch_point(branch):
            raise ValueError(f"a branch of {steps} steps would cool down before the trunk's warmup of "
                             f"{spec.config.warmup} steps ends")
        return branch

    def _flops_per_step(self) -> float:
        config = self.config
        return counting.flops_6nd(counting.params_total(config.shape), config.tokens_per_step)

    @property
    def flops(self) -> float:
        """6ND FLOPs of the trunk to its last branch point plus every cooldown."""
        cooldowns = sum(spec.config.cooldown_steps for spec in self.branches)
        return self._flops_per_step() * (self.stable_steps + cooldowns)

    @property
    def flops_independent(self) -> float:
        """6ND FLOPs of training every branch as a run of its own."""
        return self._flops_per_step() * sum(spec.config.steps for spec in self.branches)


def as_wsd(specs: list, cooldown_fraction: float = 0.2, cooldown_shape: str = "1-sqrt",
           warmup_steps: int | None = None) -> list:
    """The same runs with the WSD schedule, every trunk's branches sharing one warmup: that of its
    shortest branch (a fraction of its steps, capped), so that no branch's warmup runs into its cooldown;
    or ``warmup_steps`` for every trunk, where a grid's short branches must not shorten its warmup (a
    run of 500 steps would otherwise warm up in 25 steps, where its longer siblings take 200)."""
    wsd = [replace(spec, config=replace(spec.config, schedule="wsd", cooldown_fraction=cooldown_fraction,
                                        cooldown_shape=cooldown_shape)) for spec in specs]
    shortest: dict[str, int] = {}
    for spec in wsd:
        key = trunk_key(spec)
        shortest[key] = min(shortest.get(key, spec.config.steps), spec.config.steps)
    out = []
    for spec in wsd:
        config = spec.config
        warmup = warmup_steps or warmup_steps_for(shortest[trunk_key(spec)], config.warmup_fraction,
                                                  config.warmup_max_steps)
        out.append(replace(spec, config=replace(config, warmup_steps=warmup)))
    return out


def plan(specs: list) -> list:
    """The work that trains ``specs``: a :class:`Trunk` for each group of WSD runs that differ only in
    length, each other run on its own, in the order of their first run in ``specs``."""
    groups: dict[str, list] = {}
    order: list = []
    for spec in specs:
        if spec.config.schedule != "wsd":
            order.append(spec)
            continue
        key = trunk_key(spec)
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append(spec)
    return [Trunk(tuple(sorted(groups[item], key=lambda s: s.config.steps))) if isinstance(item, str) else item
            for item in order]


def cost(work: list) -> tuple[float, float]:
    """(6ND FLOPs of the plan, 6ND FLOPs of the same runs trained independently)."""
    planned = independent = 0.0
    for item in work:
        if isinstance(item, Trunk):
            planned, independent = planned + item.flops, independent + item.flops_independent
        else:
            planned, independent = planned + item.flops, independent + item.flops
    return planned, independent


def cost_line(specs: list, flops_per_core_second: float = 2e10) -> str:
    """One line for a grid's ``plan`` command: its runs, trunks, planned FLOPs and core-hours."""
    work = plan(specs)
    planned, alone = cost(work)
    return (f"{len(specs)} runs in {len(work)} WSD trunks, {planned:.3g} FLOPs planned "
            f"({planned / alone:.2f} of {alone:.3g} trained alone); about "
            f"{planned / flops_per_core_second / 3600:.1f} core-hours at {flops_per_core_second:.2g} FLOP/s per core")


def describe(work: list) -> str:
    """A table of the plan: one line per trunk (its shape and branch lengths) and the FLOP totals."""
    lines = [f"{'trunk (shape, batch, lr)':<34} {'branches (steps)':<40} {'FLOPs':>9} {'alone':>9} {'ratio':>6}"]
    for item in work:
        if not isinstance(item, Trunk):
            lines.append(f"{item.run_id:<75} {item.flops:>9.3g} {item.flops:>9.3g} {1:>6.2f}")
            continue
        s, config = item.config.shape, item.config
        name = f"L{s.n_layers}-d{s.d_model}-h{s.n_heads} b{config.batch_size} lr{config.peak_lr:.3g}"
        lengths = " ".join(str(spec.config.steps) for spec in item.branches)
        lines.append(f"{name:<34} {lengths:<40} {item.flops:>9.3g} {item.flops_independent:>9.3g} "
                     f"{item.flops / item.flops_independent:>6.2f}")
    planned, independent = cost(work)
    trunks = sum(isinstance(item, Trunk) for item in work)
    lines.append(f"{len(work)} trained units ({trunks} WSD trunks) for {sum(_runs(item) for item in work)} runs: "
                 f"{planned:.3g} FLOPs against {independent:.3g} independently, ratio {planned / independent:.3f}")
    return "\n".join(lines)


def _runs(item) -> int:
    return len(item.branches) if isinstance(item, Trunk) else 1
