"""The device check's dry run: benchmarks/device_check.sh --device cpu, end to end at toy scale.

CI has no GPU, so this runs the script the GPU machine would run, on the same code path (the
benchmark's three ways, the decisive sweep's runner and packing) with micro models, and checks
what it leaves in $OUT: the machine's description, a benchmark table with every size and way
measured, and a packed sweep whose results file holds exactly the toy grid's runs. About 30-45 s
on 2 cores.
"""

import importlib.util
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import torch

from scalinglaws.data.results import load_results
from scalinglaws.sweeps.gpu_sweep import TOY, seed_list
from scalinglaws.sweeps.grid import build_grid

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "benchmarks" / "device_check.sh"
WAYS = {"1 process", "K processes", "K batched"}


def load_benchmark():
    spec = importlib.util.spec_from_file_location("bench_gpu_engine", REPO / "benchmarks" / "bench_gpu_engine.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory):
    out, work = tmp_path_factory.mktemp("out"), tmp_path_factory.mktemp("work")
    env = {**os.environ, "OUT": str(out), "WORK": str(work), "PYTHON": sys.executable}
    result = subprocess.run(["bash", str(SCRIPT), "--device", "cpu"], env=env, capture_output=True, text=True,
                            timeout=180)
    assert result.returncode == 0, f"dry run failed:\n{result.stdout[-4000:]}\n{result.stderr[-3000:]}"
    return out, result.stdout


def unpack(out: Path, into: Path) -> Path:
    with tarfile.open(out / "sweep.tar.gz") as archive:
        archive.extractall(into, filter="data")
    return into / "sweep"


def test_the_dry_run_leaves_what_the_device_run_would_bring_back(dry_run):
    out, stdout = dry_run
    assert sorted(path.name for path in out.iterdir()) == [
        "bench_gpu_engine.jsonl", "bench_gpu_engine.txt", "device.txt", "device_check.log", "sweep.tar.gz"]
    assert "torch sees no CUDA device" in (out / "device.txt").read_text()
    log = (out / "device_check.log").read_text()
    assert "benchmark exit status 0" in log and "sweep exit status 0; seed0: 6 runs" in log
    assert "done in" in stdout


def test_the_benchmark_measured_every_size_three_ways(dry_run):
    out, _ = dry_run
    rows = [json.loads(line) for line in (out / "bench_gpu_engine.jsonl").read_text().splitlines()]
    sizes = sorted({row["params"] for row in rows})
    assert len(sizes) == 4 and len(rows) == 12
    for size in sizes:
        assert {row["way"] for row in rows if row["params"] == size} == WAYS
    for row in rows:
        assert row["seconds"] is not None, f"{row['way']} at {row['params']} parameters: {row['note']}"
        assert row["tokens_per_s"] > 0 and 0 < row["mfu_6n"] < row["mfu_appendix_f"] < 1
        assert row["models"] == (1 if row["way"] == "1 process" else 2)
        # tokens/s is what the step time implies: models x batch x n_ctx tokens per step
        step_s = row["ms_per_step"] / 1e3
        assert row["tokens_per_s"] == pytest.approx(row["models"] * 8 * row["n_ctx"] / step_s)
    table = (out / "bench_gpu_engine.txt").read_text().splitlines()
    assert table[1].startswith("peak ") and "float32 matmul" in table[1]
    assert "MFU 6N" in table[2]
    body = table[3:-1]
    assert len(body) == 12 and not any("failed" in line or "skipped" in line for line in body)
    assert table[-1].startswith("done in")


def test_the_packed_sweep_holds_the_toy_grid(dry_run, tmp_path):
    out, _ = dry_run
    sweep = unpack(out, tmp_path)
    header, records = load_results(sweep / "seed0" / "results.jsonl")
    expected = {spec.run_id: spec.settings_hash() for spec in build_grid(TOY)}
    assert header["preset"] == TOY.name and header["runs"] == expected
    assert {record["run_id"]: record["settings_hash"] for record in records} == expected
    for record in records:
        assert record["corpus"] == "shakespeare" and record["engine"]["device"] == "cpu"
        assert record["diverged"] or record["final_loss"] < record["initial_loss"]
        assert record["versions"]["torch"]
    device = json.loads((sweep / "device.json").read_text())
    assert device["engine"]["device"] == "cpu" and device["torch"] and "scalinglaws" in device
    assert (sweep / "seed0" / "README.md").exists()


def test_the_script_refuses_an_unknown_device(tmp_path):
    result = subprocess.run(["bash", str(SCRIPT), "--device", "tpu"], env={**os.environ, "OUT": str(tmp_path)},
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and "unknown device 'tpu'" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_the_benchmark_refuses_bad_arguments_naming_them(capsys):
    bench = load_benchmark()
    cases = [(["--device", "tpu"], "unknown device 'tpu'"), (["--device", "cpu", "--k", "0"], "got 0"),
             (["--device", "cpu", "--ways", "single,warp"], "unknown way(s) ['warp']"),
             (["--device", "cpu", "--time-limit", "-1"], "got -1.0")]
    if not torch.cuda.is_available():
        cases.append((["--device", "cuda"], "torch sees no CUDA device"))
    for argv, message in cases:
        with pytest.raises(SystemExit) as exit_info:
            bench.main(argv)
        assert exit_info.value.code == 2
        assert message in capsys.readouterr().err


def test_seed_lists_are_checked():
    assert seed_list("0,2,5") == [0, 2, 5]
    for text in ("0,a", "1,1", "-1"):
        with pytest.raises(Exception, match=repr(text).replace("[", r"\[")):
            seed_list(text)
