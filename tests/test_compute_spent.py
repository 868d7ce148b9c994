"""Core-seconds and FLOPs of a sweep, WSD trunks counted once (scalinglaws.sweeps.compute_spent)."""

import pytest

from scalinglaws.sweeps import compute_spent


def branch(trunk, shared, cooldown, seconds_per_flop=2.0):
    return {"run_id": f"{trunk}-{shared}", "wall_time_s": (shared + cooldown) * seconds_per_flop,
            "flops_6nd": shared + cooldown,
            "branch": {"trunk": trunk, "flops_6nd_shared": shared, "flops_6nd_cooldown": cooldown}}


def test_a_trunk_is_counted_once_and_every_cooldown_once():
    # Trunk t: branches at 80 and 160 FLOPs of trunk, cooldowns 20 and 40: trained 160 + 20 + 40.
    records = [branch("t", 80, 20), branch("t", 160, 40), branch("u", 40, 10, seconds_per_flop=1.0),
               {"run_id": "plain", "wall_time_s": 7.0, "flops_6nd": 3.0}]
    assert compute_spent.flops_trained(records) == 160 + 20 + 40 + 40 + 10 + 3
    assert compute_spent.core_seconds(records) == pytest.approx(2 * (160 + 20 + 40) + (40 + 10) + 7.0)


def test_the_summed_wall_times_overcount_a_trunk_with_several_branches():
    records = [branch("t", 80, 20), branch("t", 160, 40)]
    assert sum(r["wall_time_s"] for r in records) > compute_spent.core_seconds(records)


def test_a_branch_without_a_cooldown_is_refused_by_run_id():
    with pytest.raises(ValueError, match="'t-80'"):
        compute_spent.core_seconds([branch("t", 80, 0)])


def test_the_committed_tuning_runs_cost_less_than_their_summed_wall_times():
    from scalinglaws.sweeps import tuning

    records = tuning.committed_records()
    spent = compute_spent.core_seconds(records)
    assert 0.5 * sum(r["wall_time_s"] for r in records) < spent < sum(r["wall_time_s"] for r in records)
    assert compute_spent.flops_trained(records) < sum(r["flops_6nd"] for r in records)


def test_the_fastest_replicate_of_each_group_is_summed():
    def run(size, seed, seconds):
        return {"run_id": f"{size}-{seed}", "params_total": size, "seed": seed, "wall_time_s": seconds,
                "flops_6nd": 1.0}

    records = [run(10, 0, 5.0), run(10, 1, 3.0), run(10, 1, 4.0), run(20, 0, 2.0), run(20, 1, 9.0)]
    # size 10: seed 0 costs 5, seed 1 costs 3 + 4 = 7 -> 5; size 20: 2.
    assert compute_spent.fastest_replicate_core_seconds(records) == 5.0 + 2.0
    assert compute_spent.fastest_replicate_core_seconds(records) <= compute_spent.core_seconds(records)
