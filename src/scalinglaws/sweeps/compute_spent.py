"""What a sweep's training cost, from its records: core-seconds with each WSD trunk counted once.

A record's ``wall_time_s`` is the training time of its run as if trained alone. For a
warmup-stable-decay branch (:mod:`scalinglaws.training.branches`) that time is cumulative: it holds the
shared trunk up to the branch point (restored from the checkpoint) and then the branch's own
cooldown. Summing it over a trunk's branches would count the trunk once per branch. Here each
branch's time is split in proportion to its recorded FLOPs (``flops_6nd_shared`` and
``flops_6nd_cooldown``: the same model and batch throughout, so time per FLOP is the same in
both parts), the trunk is counted once (its longest stretch), and every cooldown once.
"""

from __future__ import annotations


def core_seconds(records: list[dict]) -> float:
    """Training core-seconds the records cost (each run single-threaded: one core each)."""
    total, trunks = 0.0, {}
    for record in records:
        wall = float(record["wall_time_s"])
        branch = record.get("branch")
        if not branch:
            total += wall
            continue
        shared, cooldown = float(branch["flops_6nd_shared"]), float(branch["flops_6nd_cooldown"])
        if shared < 0 or cooldown <= 0:
            raise ValueError(f"record {record.get('run_id')!r}: branch FLOPs must be shared >= 0, cooldown > 0, "
                             f"got {shared!r} and {cooldown!r}")
        cooldown_seconds = wall * cooldown / (shared + cooldown)
        total += cooldown_seconds
        trunks[branch["trunk"]] = max(trunks.get(branch["trunk"], 0.0), wall - cooldown_seconds)
    return total + sum(trunks.values())


def flops_trained(records: list[dict]) -> float:
    """6ND FLOPs the records' training cost, each WSD trunk counted once (its longest stretch)."""
    total, trunks = 0.0, {}
    for record in records:
        branch = record.get("branch")
        if not branch:
            total += float(record["flops_6nd"])
            continue
        total += float(branch["flops_6nd_cooldown"])
        trunks[branch["trunk"]] = max(trunks.get(branch["trunk"], 0.0), float(branch["flops_6nd_shared"]))
    return total + sum(trunks.values())


def fastest_replicate_core_seconds(records: list[dict], group: str = "params_total",
                                   replicate: str = "seed") -> float:
    """Core-seconds of one replicate per group, taking each group's fastest replicate.

    The seeds of a sweep are the same work trained several times, each under whatever load the
    machine had then; the fastest seed of each size is the best measured estimate (still an upper
    bound) of what one seed costs on an idle machine.
    """
    groups: dict = {}
    for record in records:
        groups.setdefault(record[group], {}).setdefault(record[replicate], []).append(record)
    return sum(min(core_seconds(runs) for runs in replicates.values()) for replicates in groups.values())
