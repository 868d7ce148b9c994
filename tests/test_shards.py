"""Sweeps in parallel: two sweeps into one results file (the second is refused), and a grid
split with --shard K/N between processes that share one directory, read back as one runner."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from scalinglaws import cli
from scalinglaws.data.results import (DamagedResultsError, ResultsMismatchError, Shard, load_results,
                                      results_to_runs)
from scalinglaws.sweeps import runner
from scalinglaws.sweeps.grid import build_grid
from scalinglaws.sweeps.presets import PRESETS

SMOKE = PRESETS["smoke"]
GRID = build_grid(SMOKE)
SMOKE_IDS = {spec.run_id for spec in GRID}


def sweep_command(out: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "scalinglaws", "sweep", "--preset", "smoke", "--out", str(out), "--jobs", "1", *args]


def start(command: list[str], log: Path) -> subprocess.Popen:
    with open(log, "wb") as stderr:
        return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr)


def finish(process: subprocess.Popen, log: Path) -> tuple[int, list[str]]:
    """Exit status and stderr lines (tqdm's carriage-return refreshes split off)."""
    status = process.wait(timeout=600)
    return status, log.read_text(errors="replace").replace("\r", "\n").splitlines()


@pytest.fixture(scope="module")
def parallel(tmp_path_factory):
    """All at once: two plain sweeps into one directory, and shards 1/2 and 2/2 into another."""
    root = tmp_path_factory.mktemp("parallel")
    plain, sharded = root / "plain", root / "sharded"
    commands = {"first": sweep_command(plain), "second": sweep_command(plain),
                "1/2": sweep_command(sharded, "--shard", "1/2"), "2/2": sweep_command(sharded, "--shard", "2/2")}
    processes = {name: (start(command, root / f"{name.replace('/', '-')}.log"), root / f"{name.replace('/', '-')}.log")
                 for name, command in commands.items()}
    outcomes = {name: (process.pid, *finish(process, log)) for name, (process, log) in processes.items()}
    return plain, sharded, outcomes


def test_two_sweeps_into_one_directory_one_trains_and_the_other_is_refused_at_once(parallel):
    plain, _, outcomes = parallel
    statuses = sorted(outcomes[name][1] for name in ("first", "second"))
    assert statuses == [0, 2], {name: outcome[1:] for name, outcome in outcomes.items()}
    winner, loser = sorted(("first", "second"), key=lambda name: outcomes[name][1])
    assert outcomes[loser][2][-1] == (
        f"error: another sweep (process {outcomes[winner][0]}) is writing results.jsonl in {plain}: wait for it to "
        "finish; to train one grid in parallel, give each process its own --shard K/N")
    ids = [record["run_id"] for record in load_results(plain / "results.jsonl")[1]]
    assert sorted(ids) == sorted(SMOKE_IDS)  # each run once


def test_each_shard_trains_its_positions_into_its_own_file(parallel):
    _, sharded, outcomes = parallel
    assert (outcomes["1/2"][1], outcomes["2/2"][1]) == (0, 0), outcomes
    full = runner.header_for("smoke", SMOKE.description, GRID)
    for shard in (Shard(1, 2), Shard(2, 2)):
        header, records = load_results(sharded / f"results.shard-{shard.index}-of-2.jsonl")
        assert header["shard"] == str(shard) and header["grid_hash"] == full["grid_hash"]
        assert header["runs"] == full["runs"]
        assert {record["run_id"] for record in records} == {spec.run_id for spec in GRID[shard.index - 1::2]}
        assert {record["threads"] for record in records} == {1}


@pytest.mark.skipif(torch.cuda.is_available(), reason="bit-for-bit equal losses are a property of CPU workers")
def test_the_shards_read_together_are_the_unsharded_sweep_to_the_last_bit(parallel):
    plain, sharded, _ = parallel
    header, records = load_results(sharded)
    plain_header, plain_records = load_results(plain)
    assert "shard" not in header and header["grid_hash"] == plain_header["grid_hash"]

    def losses(rows):
        return {row["run_id"]: (row["final_loss"], row["curve_loss"]) for row in rows}

    assert losses(records) == losses(plain_records) and set(losses(records)) == SMOKE_IDS
    assert len(results_to_runs(sharded)) == len(SMOKE_IDS)


def test_the_shared_readme_counts_every_shard(parallel):
    _, sharded, _ = parallel
    readme = (sharded / "README.md").read_text().splitlines()
    assert readme[0] == runner.README_MARK and "6 of 6 runs finished: complete." in readme
    assert [row.split(":")[0] for row in readme if row.startswith("- ")] == [
        "- `results.shard-1-of-2.jsonl`", "- `results.shard-2-of-2.jsonl`"]


def test_the_same_shard_command_resumes_that_shard(parallel, capsys):
    _, sharded, _ = parallel
    assert cli.main(["sweep", "--preset", "smoke", "--out", str(sharded), "--shard", "2/2"]) == 0
    assert capsys.readouterr().err.splitlines() == [
        f"all 3 runs of shard 2/2 of preset 'smoke' are already finished in {sharded}: nothing to train"]


# --------------------------------------------------------------------------------------
# The shard rule and its errors (nothing trained)
# --------------------------------------------------------------------------------------


def test_shard_k_of_n_is_the_positions_i_with_i_mod_n_equal_to_k_minus_1():
    positions = list(range(11))
    parts = [Shard(k, 3).select(positions) for k in (1, 2, 3)]
    assert parts == [[0, 3, 6, 9], [1, 4, 7, 10], [2, 5, 8]]
    assert [Shard(k, 3).size(11) for k in (1, 2, 3)] == [4, 4, 3]


@pytest.mark.parametrize("text", ["0/2", "3/2", "x", "1/0", "-1/2", "1/2/3"])
def test_a_bad_shard_is_a_usage_error(text, capsys):
    with pytest.raises(SystemExit) as exited:
        cli.main(["sweep", "--preset", "smoke", f"--shard={text}"])  # "=": "-1/2" is not an option
    assert exited.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"python -m scalinglaws sweep: error: argument --shard: a shard is K/N with 1 <= K <= N (e.g. 1/2), "
        f"got {text!r}")


def test_more_shards_than_runs_is_refused(tmp_path, capsys):
    assert cli.main(["sweep", "--preset", "smoke", "--out", str(tmp_path), "--shard", "7/7"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "error: --shard 7/7: the grid of 'smoke' has 6 runs, so it splits into at most 6 shards"]
    assert list(tmp_path.iterdir()) == []


def test_sweep_help_lists_every_preset(capsys):
    with pytest.raises(SystemExit) as exited:
        cli.main(["sweep", "--help"])
    assert exited.value.code == 0
    assert f"--preset PRESET the grid to train, one of: {', '.join(PRESETS)} " in " ".join(
        capsys.readouterr().out.split())


# --------------------------------------------------------------------------------------
# Reading a directory of shards (synthetic files)
# --------------------------------------------------------------------------------------


def write_shard(directory: Path, shard: Shard, header: dict, run_ids: list[str]) -> Path:
    path = directory / shard.results_name
    lines = [{**header, "shard": str(shard)}] + [{"kind": "run", "run_id": run_id} for run_id in run_ids]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def test_a_directory_of_shards_reads_as_one_grid(tmp_path):
    header = runner.header_for("smoke", SMOKE.description, GRID)
    ids = [spec.run_id for spec in GRID]
    first = write_shard(tmp_path, Shard(1, 2), header, ids[0::2])
    write_shard(tmp_path, Shard(2, 2), header, ids[1::2])
    combined, records = load_results(tmp_path)
    assert combined == header and sorted(record["run_id"] for record in records) == sorted(ids)
    single, records = load_results(first)  # one file: as it is, shard field and all
    assert single["shard"] == "1/2" and [record["run_id"] for record in records] == ids[0::2]


def test_shards_of_two_grids_are_refused(tmp_path):
    header = runner.header_for("smoke", SMOKE.description, GRID)
    write_shard(tmp_path, Shard(1, 2), header, [])
    write_shard(tmp_path, Shard(2, 2), {**header, "grid_hash": "0" * 16}, [])
    with pytest.raises(ResultsMismatchError) as raised:
        load_results(tmp_path)
    assert str(raised.value) == (
        f"{tmp_path} mixes two sweeps: results.shard-1-of-2.jsonl holds preset 'smoke' (grid hash "
        f"{header['grid_hash']}), results.shard-2-of-2.jsonl preset 'smoke' (grid hash {'0' * 16}); "
        "move one of them to another directory")


def test_a_run_in_two_files_of_a_directory_is_refused(tmp_path):
    header = runner.header_for("smoke", SMOKE.description, GRID)
    first = write_shard(tmp_path, Shard(1, 2), header, [GRID[0].run_id])
    second = write_shard(tmp_path, Shard(2, 2), header, [GRID[0].run_id])
    with pytest.raises(DamagedResultsError) as raised:
        load_results(tmp_path)
    assert str(raised.value) == (f"run {GRID[0].run_id} is recorded in {first} and {second}; "
                                 "each run must be recorded once")


def test_a_directory_without_results_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError) as raised:
        load_results(tmp_path)
    assert str(raised.value) == (f"no results file in {tmp_path} (neither results.jsonl nor "
                                 "results.shard-*-of-*.jsonl): run `python -m scalinglaws sweep --preset NAME` first")
