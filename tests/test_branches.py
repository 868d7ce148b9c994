"""WSD branches: one constant-rate trunk cooled down at several lengths gives, bit for bit, the
runs trained alone; it resumes from its checkpoints after a kill; bad input is refused."""

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from scalinglaws.data.results import load_results
from scalinglaws.papers import counting
from scalinglaws.papers.counting import TransformerShape
from scalinglaws.sweeps import runner
from scalinglaws.sweeps.grid import RunSpec, build_grid
from scalinglaws.sweeps.presets import PRESETS, get_preset
from scalinglaws.training import branches, wsd_plan
from scalinglaws.training.train import Engine, RunState, TrainConfig, train

SHAPE = TransformerShape(n_layers=1, d_model=8, n_heads=2, n_ctx=16)
CPU = Engine()


# The sweep's workers train on one thread; so do these tests, to compare bit for bit.
pytestmark = pytest.mark.usefixtures("one_thread")


def text_bytes(n: int, seed: int) -> np.ndarray:
    """Bytes with structure to learn: words drawn from a small vocabulary."""
    words = [b"the ", b"cat ", b"sat ", b"on ", b"a ", b"mat. ", b"and ", b"dog "]
    rng = np.random.default_rng(seed)
    return np.frombuffer(b"".join(words[i] for i in rng.integers(len(words), size=n // 4)), dtype=np.uint8)


TRAIN, VAL = text_bytes(40_000, 0), text_bytes(4_000, 1)


def wsd_specs(lengths=(40, 70, 100), **config) -> list[RunSpec]:
    base = TrainConfig(shape=SHAPE, steps=lengths[0], batch_size=4, peak_lr=3e-3, n_eval_points=5,
                       eval_sequences=16, **config)
    specs = [RunSpec(budget=float(steps), corpus="synthetic", config=replace(base, steps=steps)) for steps in lengths]
    return wsd_plan.as_wsd(specs, cooldown_fraction=0.2)


def train_branches(trunk, directory, finished=frozenset(), stop_after=None):
    results = {}

    def keep(spec, result, info):
        results[spec.run_id] = (result, info)
        if stop_after is not None and len(results) == stop_after:
            raise KeyboardInterrupt  # stands in for a kill once a branch is done

    try:
        branches.train_trunk(trunk, TRAIN, VAL, directory, keep, CPU, finished=finished)
    except KeyboardInterrupt:
        pass
    return results


def test_every_branch_is_bit_for_bit_the_run_trained_alone(tmp_path):
    (trunk,) = wsd_plan.plan(wsd_specs())
    results = train_branches(trunk, tmp_path)
    assert len(results) == 3
    for spec in trunk.branches:
        alone = train(spec.config, TRAIN, VAL, CPU)
        branch, info = results[spec.run_id]
        assert branch.curve_tokens == alone.curve_tokens and branch.curve_loss == alone.curve_loss
        assert branch.final_loss == alone.final_loss and branch.steps_done == spec.config.steps
        assert info["branch_step"] + info["cooldown_steps"] == spec.config.steps
    # and the cooldown matters: the longest branch ends below its own trunk at the same step
    longest = trunk.branches[-1]
    assert results[longest.run_id][0].final_loss < results[trunk.branches[0].run_id][0].final_loss


def test_a_killed_trunk_resumes_from_its_checkpoint_without_redoing_finished_branches(tmp_path):
    (trunk,) = wsd_plan.plan(wsd_specs())
    whole = train_branches(trunk, tmp_path / "whole")
    first = train_branches(trunk, tmp_path / "cut", stop_after=1)
    assert list(first) == [trunk.branches[0].run_id]
    calls = []
    original = RunState.advance

    def counting_advance(self, until, lr_of_step, eval_at):
        calls.append((self.step, until))
        return original(self, until, lr_of_step, eval_at)

    RunState.advance = counting_advance
    try:
        rest = train_branches(trunk, tmp_path / "cut", finished=frozenset(first))
    finally:
        RunState.advance = original
    assert set(rest) == {spec.run_id for spec in trunk.branches[1:]}
    for run_id, (result, _) in rest.items():
        assert result.curve_loss == whole[run_id][0].curve_loss
    # the trunk picked up at the first branch point (from its checkpoint), not at step 0
    assert calls[0][0] == trunk.branch_point(trunk.branches[0])


def test_a_kill_between_branch_points_resumes_from_an_interim_checkpoint_bit_for_bit(tmp_path, monkeypatch):
    (trunk,) = wsd_plan.plan(wsd_specs())  # branch points 32, 56 and 80
    branch_points = {trunk.branch_point(spec) for spec in trunk.branches}
    whole = train_branches(trunk, tmp_path / "whole")
    monkeypatch.setattr(branches, "CLOCK_STEPS", 5)
    saved_steps, original_save = [], branches.save_checkpoint

    def save_then_die(directory, trunk_, state):
        path = original_save(directory, trunk_, state)
        saved_steps.append(state.step)
        if state.step == 42:  # an interim checkpoint after the first branch: the kill
            raise KeyboardInterrupt
        return path

    monkeypatch.setattr(branches, "save_checkpoint", save_then_die)
    first = {}
    with pytest.raises(KeyboardInterrupt):
        branches.train_trunk(trunk, TRAIN, VAL, tmp_path / "cut", lambda spec, result, info: first.update(
            {spec.run_id: result}), CPU, interim_s=0.0)
    # every 5 steps of the stable phase an interim checkpoint; the older ones are gone
    assert saved_steps == [5, 10, 15, 20, 25, 30, 32, 37, 42]
    left = sorted(int(path.stem.split("-")[1]) for path in (tmp_path / "cut").glob("step-*.pt"))
    assert left == [32, 37, 42]  # the kill came between saving 42 and dropping 37; 5-30 are gone
    monkeypatch.setattr(branches, "save_checkpoint", original_save)
    calls, original_advance = [], RunState.advance
    monkeypatch.setattr(RunState, "advance", lambda self, until, lr, evals: (calls.append(self.step),
                                                                             original_advance(self, until, lr, evals)))
    rest = {}
    branches.train_trunk(trunk, TRAIN, VAL, tmp_path / "cut", lambda spec, result, info: rest.update(
        {spec.run_id: result}), CPU, finished=frozenset(first), interim_s=0.0)
    assert calls[0] == 42  # picked up at the interim checkpoint, not at the branch point 32
    for run_id, result in rest.items():
        assert result.curve_loss == whole[run_id][0].curve_loss and result.final_loss == whole[run_id][0].final_loss
    left = {int(path.stem.split("-")[1]) for path in (tmp_path / "cut").glob("step-*.pt")}
    assert left == branch_points  # only the branch points stay once the trunk is done


def test_a_checkpoint_of_another_run_is_refused_naming_the_file(tmp_path):
    (trunk,) = wsd_plan.plan(wsd_specs())
    train_branches(trunk, tmp_path, stop_after=1)
    (other,) = wsd_plan.plan(wsd_specs(seed=1))
    state = RunState(other.config, TRAIN, VAL, CPU)
    checkpoint = branches.latest_checkpoint(tmp_path, at_most=10_000)
    with pytest.raises(ValueError, match=rf"{checkpoint}: a checkpoint of another run"):
        branches.load_checkpoint(checkpoint, other, state)
    checkpoint.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a readable checkpoint"):
        branches.load_checkpoint(checkpoint, trunk, RunState(trunk.config, TRAIN, VAL, CPU))


def test_a_branch_beyond_the_stable_phase_is_refused():
    (trunk,) = wsd_plan.plan(wsd_specs())
    assert trunk.branch(90).config.steps == 90
    with pytest.raises(ValueError, match="beyond this trunk's stable phase of 80 steps"):
        trunk.branch(120)


def test_runs_that_differ_in_more_than_length_are_not_one_trunk():
    specs = wsd_specs()
    other_lr = replace(specs[1], config=replace(specs[1].config, peak_lr=1e-3))
    work = wsd_plan.plan([specs[0], other_lr, specs[2]])
    assert [len(item.branches) for item in work] == [2, 1]
    with pytest.raises(ValueError, match="differ only in their steps"):
        wsd_plan.Trunk((specs[0], other_lr))
    with pytest.raises(ValueError, match="only a 'wsd' run"):
        wsd_plan.Trunk((replace(specs[0], config=replace(specs[0].config, schedule="cosine",
                                                         warmup_steps=None)),))


def test_branches_share_the_warmup_of_the_shortest():
    specs = wsd_specs(lengths=(40, 400, 4000))
    assert {spec.config.warmup for spec in specs} == {2}  # 5% of 40 steps, for every branch


def test_the_plan_costs_the_trunk_to_its_last_branch_point_plus_every_cooldown():
    """Ground truth by hand: lengths 100, 200, 400 with 20% cooldowns: 320 + 20 + 40 + 80 steps."""
    (trunk,) = wsd_plan.plan(wsd_specs(lengths=(100, 200, 400)))
    per_step = 6 * trunk.config.tokens_per_step * counting.params_total(SHAPE)
    assert trunk.stable_steps == 320
    assert trunk.flops == per_step * 460 and trunk.flops_independent == per_step * 700
    planned, independent = wsd_plan.cost(wsd_plan.plan(wsd_specs(lengths=(100, 200, 400))))
    assert planned / independent == pytest.approx(460 / 700, rel=1e-12)


def test_a_cosine_grid_plans_one_run_per_spec_and_keeps_its_hash():
    grid = build_grid(get_preset("cpu"))
    assert wsd_plan.plan(grid) == grid
    planned, independent = wsd_plan.cost(grid)
    assert planned == independent


# --------------------------------------------------------------------------------------
# In a sweep: the smoke preset with WSD branches
# --------------------------------------------------------------------------------------

SMOKE_WSD = replace(get_preset("smoke"), name="smoke-wsd", wsd_cooldown=0.2)


@pytest.fixture
def smoke_wsd(monkeypatch):
    monkeypatch.setitem(PRESETS, "smoke-wsd", SMOKE_WSD)
    return SMOKE_WSD


def test_a_wsd_sweep_trains_trunks_and_records_each_branch_as_a_run(tmp_path, smoke_wsd):
    grid = build_grid(smoke_wsd)
    work = wsd_plan.plan(grid)
    assert any(isinstance(item, wsd_plan.Trunk) and len(item.branches) > 1 for item in work)
    path = runner.run_sweep("smoke-wsd", tmp_path, jobs=2, progress=False)
    _, records = load_results(path)
    assert sorted(r["run_id"] for r in records) == sorted(spec.run_id for spec in grid)
    by_id = {r["run_id"]: r for r in records}
    for spec in grid:
        record = by_id[spec.run_id]
        assert record["settings_hash"] == spec.settings_hash() and record["train_config"]["schedule"] == "wsd"
        info = record["branch"]
        assert info["flops_6nd_shared"] + info["flops_6nd_cooldown"] == pytest.approx(record["flops_6nd"])
    # a branch of the sweep is the run trained alone, in a one-thread worker like the sweep's
    shared = next(item for item in work if isinstance(item, wsd_plan.Trunk) and len(item.branches) > 1)
    alone = runner.run_one(shared.branches[0])
    assert by_id[alone["run_id"]]["curve_loss"] == alone["curve_loss"]
    assert (tmp_path / branches.CHECKPOINTS / shared.key).is_dir()


def test_kill_9_during_a_wsd_sweep_loses_no_finished_branch(tmp_path, smoke_wsd):
    """The sweep is killed (SIGKILL, parent and workers) once a branch record exists; the rerun
    appends what was saved, redoes only what was cut off, and ends with the uninterrupted records."""
    out = tmp_path / "cut"
    code = ("import sys; from dataclasses import replace; from scalinglaws.sweeps import presets, runner; "
            "presets.PRESETS['smoke-wsd'] = replace(presets.PRESETS['smoke'], name='smoke-wsd', wsd_cooldown=0.2); "
            f"runner.run_sweep('smoke-wsd', {str(out)!r}, jobs=1, progress=False)")
    process = subprocess.Popen([sys.executable, "-c", code], env={**os.environ, "PYTHONHASHSEED": "0"},
                               start_new_session=True)
    deadline = time.monotonic() + 300
    while not list((out / branches.CHECKPOINTS).glob("*/*.json")):
        assert process.poll() is None and time.monotonic() < deadline, "the sweep ended before a branch finished"
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    saved = {json.loads(p.read_text())["run_id"] for p in (out / branches.CHECKPOINTS).glob("*/*.json")}
    path = runner.run_sweep("smoke-wsd", out, jobs=1, progress=False)
    whole = runner.run_sweep("smoke-wsd", tmp_path / "whole", jobs=1, progress=False)
    cut_records = {r["run_id"]: r for r in load_results(path)[1]}
    whole_records = {r["run_id"]: r for r in load_results(whole)[1]}
    assert saved <= set(cut_records) and set(cut_records) == set(whole_records)
    assert len(load_results(path)[1]) == len(whole_records)  # nothing recorded twice
    for run_id, record in whole_records.items():
        assert cut_records[run_id]["curve_loss"] == record["curve_loss"], run_id


# --------------------------------------------------------------------------------------
# The committed comparison: WSD with a 20% cooldown against the matched cosine
# --------------------------------------------------------------------------------------

COMPARISON = Path(__file__).resolve().parents[1] / "results" / "benchmarks" / "wsd-vs-cosine"
#: Hagele et al. 2024 (Section 3, Figures 3-5) report a 20% 1-sqrt cooldown at parity with a
#: matched cosine or better. Allowed: WSD at most 0.01 nats per byte worse at every point, a
#: third of the smallest seed-to-seed range measured on these runs (0.02-0.04, chapter 13).
WSD_MARGIN = 0.01


def test_committed_wsd_runs_match_or_beat_the_matched_cosine():
    sys.path.insert(0, str(COMPARISON.parents[2] / "benchmarks"))
    try:
        import wsd_vs_cosine
    finally:
        sys.path.pop(0)
    _, records = load_results(COMPARISON / "results.jsonl")
    by_hash = {r["settings_hash"]: r for r in records}
    specs = wsd_vs_cosine.specs()
    assert len(specs) == 6 and all(spec.settings_hash() in by_hash for spec in specs), \
        "the committed records are not the runs benchmarks/wsd_vs_cosine.py trains"
    for cosine, wsd in zip(specs[::2], specs[1::2]):
        assert cosine.config.schedule == "cosine" and wsd.config.schedule == "wsd"
        assert replace(wsd.config, schedule="cosine", cooldown_fraction=0.2, cooldown_shape="1-sqrt",
                       warmup_steps=None) == cosine.config  # only the decay differs
        difference = by_hash[wsd.settings_hash()]["final_loss"] - by_hash[cosine.settings_hash()]["final_loss"]
        assert difference <= WSD_MARGIN, f"{wsd.run_id}: WSD {difference:+.4f} nats against the cosine"
