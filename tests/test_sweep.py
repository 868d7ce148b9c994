"""The sweep runner: the grid, resuming after kill -9, refusing a foreign results file."""

import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from scalinglaws.data.results import ResultsMismatchError, load_results, results_to_runs
from scalinglaws.papers import counting
from scalinglaws.sweeps import runner
from scalinglaws.sweeps.grid import build_grid, committed_record, run_spec
from scalinglaws.sweeps.presets import CPU_LADDER, PRESETS, get_preset
from scalinglaws.sweeps.runner import run_sweep
from scalinglaws.training import provenance

SMOKE_IDS = {spec.run_id for spec in build_grid(PRESETS["smoke"])}


def run_ids(path):
    return [record["run_id"] for record in load_results(path)[1]]


def sweep_command(out):
    return [sys.executable, "-m", "scalinglaws", "sweep", "--preset", "smoke", "--out", str(out), "--jobs", "2"]


@pytest.fixture(scope="module")
def killed_and_resumed(tmp_path_factory):
    """Start the smoke sweep, kill -9 its process group after the first finished run, rerun it."""
    out = tmp_path_factory.mktemp("smoke")
    path = out / "results.jsonl"
    stderr = tmp_path_factory.mktemp("logs") / "first-runner.stderr"
    with open(stderr, "wb") as log:
        process = subprocess.Popen(sweep_command(out), start_new_session=True, stdout=subprocess.DEVNULL, stderr=log)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        if path.exists() and path.read_bytes().count(b"\n") >= 2:  # header + one finished run
            break
        time.sleep(0.05)
    assert process.poll() is None, (
        f"the sweep ended (exit status {process.returncode}) before it could be killed; the smoke preset is "
        f"too short, or the sweep failed. Its stderr:\n{stderr.read_text(errors='replace')}")
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    before = path.read_bytes()
    finished_before = before[:before.rfind(b"\n") + 1]
    assert 1 <= len(run_ids(path)) < len(SMOKE_IDS)
    completed = subprocess.run(sweep_command(out), capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stderr
    return path, finished_before


def test_resume_after_kill_loses_nothing_and_duplicates_nothing(killed_and_resumed):
    path, finished_before = killed_and_resumed
    after = path.read_bytes()
    assert after.startswith(finished_before)  # finished records byte-identical
    ids = run_ids(path)
    assert len(ids) == len(set(ids)) == len(SMOKE_IDS)
    assert set(ids) == SMOKE_IDS


def test_records_carry_what_the_fits_and_the_book_need(killed_and_resumed):
    path, _ = killed_and_resumed
    header, records = load_results(path)
    assert header["preset"] == "smoke" and set(header["runs"]) == SMOKE_IDS
    for record in records:
        shape = counting.TransformerShape(**record["shape"])
        assert record["params_total"] == counting.params_total(shape)
        assert record["flops_6nd"] == pytest.approx(6 * record["params_total"] * record["tokens"])
        assert record["flops_6nd"] == pytest.approx(record["budget"], rel=0.1)
        assert record["flops_appendix_f"] == pytest.approx(
            counting.chinchilla_flops_per_token(shape) * record["tokens"])
        assert record["tokens_seen"] == record["tokens"] == record["curve_tokens"][-1]
        assert record["final_loss"] == record["curve_loss"][-1] < math.log(256) - 1.5
        assert not record["diverged"]
        assert {"python", "torch", "numpy", "scalinglaws"} <= set(record["versions"])


@pytest.mark.skipif(torch.cuda.is_available(), reason="bit-for-bit equal losses are a property of CPU workers")
def test_a_truncated_last_line_is_dropped_and_its_run_redone_as_in_the_full_sweep(killed_and_resumed, tmp_path):
    """The one run left trains in a 1-thread worker like every run of the full sweep, so its
    record is the same to the last bit (it once trained in-process on 2 threads, and differed)."""
    path, _ = killed_and_resumed
    copy = tmp_path / "results.jsonl"
    complete = path.read_bytes()
    lines = complete.splitlines(keepends=True)
    copy.write_bytes(b"".join(lines[:-1]) + lines[-1][: len(lines[-1]) // 2])  # kill -9 mid-write
    assert len(run_ids(copy)) == len(SMOKE_IDS) - 1
    run_sweep("smoke", out_dir=tmp_path, jobs=1, progress=False)
    repaired = copy.read_bytes()
    assert repaired.startswith(b"".join(lines[:-1]))
    assert sorted(run_ids(copy)) == sorted(SMOKE_IDS)
    original, redone = json.loads(lines[-1]), json.loads(repaired.splitlines()[-1])
    assert redone["run_id"] == original["run_id"] and redone["threads"] == original["threads"] == 1
    assert (redone["final_loss"], redone["curve_loss"]) == (original["final_loss"], original["curve_loss"])


def test_a_results_file_of_another_preset_is_refused(killed_and_resumed, tmp_path):
    path, _ = killed_and_resumed
    header, _ = load_results(path)
    header["preset"] = "demo"
    (tmp_path / "results.jsonl").write_text(json.dumps(header) + "\n")
    with pytest.raises(ResultsMismatchError, match="preset 'demo', not 'smoke'.*new --out directory"):
        run_sweep("smoke", out_dir=tmp_path, jobs=1, progress=False)


def test_a_results_file_of_an_edited_grid_is_refused(killed_and_resumed, tmp_path):
    path, _ = killed_and_resumed
    copy = tmp_path / "results.jsonl"
    shutil.copy(path, copy)
    header, _ = load_results(path)
    header["runs"].pop(sorted(header["runs"])[0])
    header["runs"]["C1e+10-L9-d99-h9-ctx64-seed0"] = "0" * 16
    header["grid_hash"] = "0" * 16
    lines = copy.read_text().splitlines(keepends=True)
    copy.write_text(json.dumps(header) + "\n" + "".join(lines[1:]))
    with pytest.raises(ResultsMismatchError, match="1 runs added.*1 runs removed.*delete"):
        run_sweep("smoke", out_dir=tmp_path, jobs=1, progress=False)


def test_results_convert_to_runs_and_fit_to_finite_exponents(killed_and_resumed):
    from scalinglaws.fitting import fit_all

    path, _ = killed_and_resumed
    runs = results_to_runs(path)
    assert len(runs) == len(SMOKE_IDS) and runs.has_curves
    assert set(runs.budgets()) == set(PRESETS["smoke"].budgets)
    report = fit_all(runs, n_bootstrap=0)
    fitted = {approach.label[0]: approach.fit for approach in report.approaches if approach.fit is not None}
    assert "3" in fitted  # the parametric fit always applies; 1 and 2 may say why they cannot
    for approach in report.approaches:
        assert approach.fit is not None or approach.skipped
    for fit in fitted.values():
        assert np.isfinite([fit.a, fit.b]).all() and fit.a + fit.b == pytest.approx(1, abs=0.05)
    print(report.format())


def test_unknown_preset_lists_the_presets():
    with pytest.raises(ValueError, match="unknown preset 'nope'.*smoke"):
        get_preset("nope")


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_budget_is_bracketed_and_spent(name):
    preset = PRESETS[name]
    grid = build_grid(preset)
    assert {spec.budget for spec in grid} == set(preset.budgets)
    for spec in grid:
        assert spec.flops == pytest.approx(spec.budget, rel=0.1)  # D rounded to whole steps
        n_params = counting.params_total(spec.config.shape)
        assert spec.config.peak_lr == pytest.approx(preset.peak_lr(n_params))
    for budget in preset.budgets:
        sizes = [counting.params_total(spec.config.shape) for spec in grid if spec.budget == budget]
        centre = math.sqrt(budget / (6 * preset.tokens_per_param_guess))
        assert len(sizes) == preset.models_per_budget
        assert min(sizes) < centre < max(sizes)  # the guessed optimum lies inside the bracket


def test_cpu_preset_spans_two_decades_with_six_sizes_per_budget():
    cpu = PRESETS["cpu"]
    assert max(cpu.budgets) >= 3e13 and max(cpu.budgets) / min(cpu.budgets) >= 100
    assert cpu.models_per_budget >= 6 and cpu.corpus == "default"


def test_gpu_preset_reaches_two_decades_beyond_cpu_within_four_epochs():
    from scalinglaws.sweeps.presets import GPU_MAX_EPOCHS, GUTENBERG409_TRAIN_BYTES

    gpu, cpu = PRESETS["gpu"], PRESETS["cpu"]
    assert max(gpu.budgets) >= 100 * max(cpu.budgets) and gpu.corpus == "gutenberg409"
    largest = max(spec.config.tokens for spec in build_grid(gpu))
    assert GPU_MAX_EPOCHS == 4 and largest <= 4 * GUTENBERG409_TRAIN_BYTES


def test_fixed_horizon_preset_is_the_cpu_grid_with_one_cosine_cycle_for_all():
    """Chapter 14 pairs these runs one to one with results/cpu: same model, tokens, batch and
    learning rate; only the cosine is planned for the longest run's tokens (Kaplan et al. 2020)."""
    matched, fixed = build_grid(PRESETS["cpu"]), build_grid(PRESETS["fixed-horizon"])
    horizon = max(spec.config.tokens for spec in fixed)
    assert len(fixed) == 24 and horizon == max(spec.config.tokens for spec in matched if spec.budget <= 1e13)
    for plain, stretched in zip(matched, fixed):
        assert stretched.run_id == plain.run_id and stretched.config.steps == plain.config.steps
        assert plain.config.cycle_steps == plain.config.steps
        cycle_tokens = stretched.config.cycle_steps * stretched.config.tokens_per_step
        assert horizon <= cycle_tokens < horizon + stretched.config.tokens_per_step
    assert runner.header_for("fixed-horizon", "", fixed)["grid_hash"] == "a89c5691510edadd"


def test_batch_rule_gives_the_small_budgets_more_steps():
    cpu = PRESETS["cpu"]
    assert [cpu.batch_for(budget) for budget in cpu.budgets] == [8, 8, 16, 16, 16]
    for spec in build_grid(cpu):
        assert spec.config.batch_size == cpu.batch_for(spec.budget)
        assert spec.config.tokens == pytest.approx(spec.budget / (6 * counting.params_total(spec.config.shape)),
                                                   rel=0.05)


def test_zero_jobs_is_refused(tmp_path):
    with pytest.raises(ValueError, match="--jobs must be a positive number"):
        run_sweep("smoke", out_dir=tmp_path, jobs=0, progress=False)


def test_a_diverged_run_is_recorded_kept_and_flagged(tmp_path):
    from scalinglaws.sweeps.grid import RunSpec
    from scalinglaws.sweeps.runner import run_specs
    from scalinglaws.training.train import TrainConfig

    shape = counting.TransformerShape(n_layers=1, d_model=8, n_heads=1, n_ctx=32)
    absurd = TrainConfig(shape=shape, steps=100, batch_size=4, peak_lr=50.0, eval_sequences=8, n_eval_points=4)
    sane = TrainConfig(shape=shape, steps=100, batch_size=4, peak_lr=1e-2, eval_sequences=8, n_eval_points=4)
    specs = [RunSpec(budget=1e8, corpus="shakespeare", config=config) for config in (absurd, sane)]
    path = run_specs("divergence", "one absurd learning rate", specs, tmp_path, jobs=1, progress=False)
    records = {record["learning_rate"]: record for record in load_results(path)[1]}
    assert records[50.0]["diverged"] and records[50.0]["final_loss"] is None
    assert records[50.0]["steps_done"] < 100
    assert not records[1e-2]["diverged"] and records[1e-2]["final_loss"] < math.log(256)
    runs = results_to_runs(path)
    assert list(runs.diverged) == [record["diverged"] for record in load_results(path)[1]]
    assert len(runs.without_diverged()) == 1


def test_records_table_lists_runs_by_budget_then_size():
    from scalinglaws.data.results import format_records_table

    record = dict(budget=1e12, shape=dict(n_layers=1, d_model=32), params_total=25056, batch_size=16,
                  learning_rate=0.012, tokens=6651904, steps=3248, diverged=False, final_loss=1.85484,
                  wall_time_s=53.9)
    smaller = dict(record, params_total=9456, shape=dict(n_layers=1, d_model=16), diverged=True, final_loss=None)
    table = format_records_table([record, smaller]).splitlines()
    assert table[2] == "| 1e+12 | 1 | 16 | 9,456 | 16 | 0.012 | 703 | 3248 | diverged | 54 |"
    assert table[3] == "| 1e+12 | 1 | 32 | 25,056 | 16 | 0.012 | 265 | 3248 | 1.8548 | 54 |"


def test_every_record_names_the_commit_loaded_when_the_sweep_started(tmp_path, monkeypatch):
    """A checkout that moves on during a long sweep must not relabel the runs' code."""
    commits = iter(f"commit-{i}" for i in range(100))
    monkeypatch.setattr(provenance, "git_commit", lambda: next(commits))
    path = runner.run_sweep("smoke", out_dir=tmp_path, jobs=1, progress=False)
    _, records = load_results(path)
    assert len(records) == len(SMOKE_IDS)
    assert {record["versions"]["scalinglaws"] for record in records} == {"commit-0"}


def test_the_command_recorded_from_a_notebook_names_no_kernel_file(monkeypatch):
    monkeypatch.setattr(sys, "argv", ["/home/someone/.venv/lib/ipykernel_launcher.py", "-f", "/tmp/kernel-1.json"])
    assert provenance.command_line() == "run_sweep(...) in a Jupyter notebook"
    monkeypatch.setattr(sys, "argv", ["/somewhere/scalinglaws/__main__.py", "sweep", "--preset", "cpu"])
    assert provenance.command_line() == "python -m scalinglaws sweep --preset cpu"
    module = Path(provenance.__file__).resolve().parents[1] / "sweeps" / "tuning.py"  # python -m scalinglaws.sweeps.tuning run
    monkeypatch.setattr(sys, "argv", [str(module), "run"])
    assert provenance.command_line() == "python -m scalinglaws.sweeps.tuning run"


def test_a_cpu_run_records_the_processor_model_where_linux_names_it():
    from scalinglaws.training.train import Engine

    name = provenance.device_name(Engine(device="cpu"))
    assert name and name != "cpu"
    if os.path.exists("/proc/cpuinfo") and "model name" in open("/proc/cpuinfo").read():
        assert name not in ("x86_64", "aarch64")


@pytest.mark.parametrize("name", ["smoke", "demo", "cpu", "gpu"])
def test_run_spec_is_the_grids_run_for_every_run_of_the_grid(name):
    preset = get_preset(name)
    for spec in build_grid(preset):
        mine = run_spec(preset, spec.budget, spec.config.shape)
        assert mine == spec
        assert mine.run_id == spec.run_id and mine.settings_hash() == spec.settings_hash()


def test_run_spec_extends_the_rules_to_shapes_outside_the_grid():
    preset = get_preset("cpu")
    big = CPU_LADDER[8]  # 3 layers, width 48: not among the 3e11 budget's six models
    assert big not in {spec.config.shape for spec in build_grid(preset) if spec.budget == 3e11}
    spec = run_spec(preset, 3e11, big)
    n = counting.params_total(big)
    assert spec.config.batch_size == preset.batch_for(3e11) == 8
    assert spec.config.peak_lr == preset.peak_lr(n)
    assert spec.config.steps == round(3e11 / (6 * n) / (8 * 128))
    assert 6 * n * spec.config.tokens == pytest.approx(3e11, rel=0.01)
    assert run_spec(preset, 3e11, big, seed=2).config.seed == 2


def test_run_spec_refuses_what_one_run_cannot_be():
    with pytest.raises(ValueError, match="longest run"):
        run_spec(get_preset("fixed-horizon"), 1e12, CPU_LADDER[4])
    with pytest.raises(ValueError, match="fewer than 2 steps"):
        run_spec(get_preset("cpu"), 1e6, CPU_LADDER[-1])
    with pytest.raises(ValueError, match="positive"):
        run_spec(get_preset("cpu"), 0.0, CPU_LADDER[0])


def test_committed_record_finds_the_run_only_with_identical_settings():
    _, records = load_results("results/cpu/results.jsonl")
    spec = run_spec(get_preset("cpu"), 1e12, CPU_LADDER[4])
    record = committed_record(records, spec)
    assert record is not None and record["final_loss"] == pytest.approx(1.8357, abs=5e-5)
    assert committed_record(records, run_spec(get_preset("cpu"), 1e12, CPU_LADDER[4], seed=1)) is None
    other_lr = replace(spec, config=replace(spec.config, peak_lr=0.01))
    assert committed_record([{**record, "run_id": other_lr.run_id}], other_lr) is None


@pytest.mark.parametrize("name", ["demo", "cpu", "fixed-horizon"])
def test_every_committed_sweep_is_still_its_presets_grid(name):
    """Resuming or extending the committed results/ needs the same run ids and settings hashes."""
    committed, _ = load_results(f"results/{name}/results.jsonl")
    now = runner.header_for(name, "", build_grid(get_preset(name)))
    assert (now["grid_hash"], now["runs"]) == (committed["grid_hash"], committed["runs"])
