"""A sweep when something goes wrong: a damaged results file, an offline machine, a read-only
or full disk, an --out that is a file, a parent killed by kill -9. Each ends in one line
naming what failed and where, and exit status 2, and changes nothing it should not."""

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scalinglaws import cli
from scalinglaws.data import corpus
from scalinglaws.data.results import DamagedResultsError, load_results, repair
from scalinglaws.sweeps import runner
from scalinglaws.sweeps.grid import build_grid
from scalinglaws.sweeps.presets import PRESETS

SMOKE = PRESETS["smoke"]
GRID = build_grid(SMOKE)
HEADER = runner.header_for("smoke", SMOKE.description, GRID)
CHEAPEST = min(GRID, key=lambda spec: spec.flops)


def line(record: dict) -> bytes:
    return (json.dumps(record, sort_keys=True) + "\n").encode()


def fake_record(spec) -> dict:
    """Enough of a run record for the runner to count the run as finished."""
    return {"kind": "run", "run_id": spec.run_id, "final_loss": 2.0}


def fake_results(out: Path, specs) -> Path:
    """A smoke results file in ``out`` whose finished runs are ``specs`` (nothing trained)."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / "results.jsonl"
    path.write_bytes(line(HEADER) + b"".join(line(fake_record(spec)) for spec in specs))
    return path


def sweep_cli(capsys, *args) -> tuple[int, list[str], str]:
    """Exit status, stderr lines (tqdm's carriage-return refreshes split off) and stdout of ``sweep``."""
    status = cli.main(["sweep", "--preset", "smoke", *args])
    captured = capsys.readouterr()
    return status, captured.err.replace("\r", "\n").splitlines(), captured.out


def snapshot(directory: Path) -> dict:
    return {path.name: path.read_bytes() for path in directory.iterdir()}


# --------------------------------------------------------------------------------------
# Damaged results files: only a record cut short at the end is repaired
# --------------------------------------------------------------------------------------

ADVICE = ("no interrupted write leaves that, so the file was left unchanged: repair or delete it, "
          "or choose a new --out directory")
NOT_A_HEADER = "not a sweep header record, which every results file starts with"


@pytest.mark.parametrize("content, number, problem, shown", [
    (b"hello world", 1, NOT_A_HEADER, b"hello world"),
    (b"hello world\n", 1, "not a JSON record", b"hello world"),
    (line(fake_record(CHEAPEST)), 1, NOT_A_HEADER, line(fake_record(CHEAPEST))[:-1][:60]),
    (line(HEADER) + b"not json\n" + line(fake_record(CHEAPEST)), 2, "not a JSON record", b"not json"),
    (line(HEADER) + line(fake_record(CHEAPEST)) + b"not json\n", 3, "not a JSON record", b"not json"),
    (line(HEADER) + b"\x00\xff\xfe{", 2, "the last line is cut short but is not the start of a record",
     b"\x00\xff\xfe{"),
    (line(HEADER) + b'{"kind": "run", "run_id": "caf\xc3\xa9', 2,
     "the last line is cut short but is not the start of a record", b'{"kind": "run", "run_id": "caf\xc3\xa9'),
])
def test_damage_no_interrupted_write_explains_is_refused_and_left_unchanged(tmp_path, capsys, content, number,
                                                                           problem, shown):
    path = tmp_path / "results.jsonl"
    path.write_bytes(content)
    message = f"{path}, line {number}: {problem} (it reads {shown!r}); {ADVICE}"
    with pytest.raises(DamagedResultsError) as raised:
        repair(path)
    assert str(raised.value) == message
    with pytest.raises(DamagedResultsError):
        load_results(path)
    status, err, _ = sweep_cli(capsys, "--out", str(tmp_path))
    assert (status, err[-1]) == (2, f"error: {message}")
    assert snapshot(tmp_path) == {"results.jsonl": content}  # no repair, no README, no lock file


def test_a_record_cut_short_after_the_header_is_the_one_thing_repaired(tmp_path):
    path = fake_results(tmp_path, [CHEAPEST])
    kept = path.read_bytes()
    cut_short = line(fake_record(GRID[0]))[:25]
    path.write_bytes(kept + cut_short)
    assert load_results(path)[1] == [fake_record(CHEAPEST)]  # reading drops it, changing nothing
    assert path.read_bytes() == kept + cut_short
    assert repair(path) == len(cut_short)
    assert path.read_bytes() == kept


def test_a_run_recorded_twice_is_refused(tmp_path):
    path = fake_results(tmp_path, [CHEAPEST, CHEAPEST])
    with pytest.raises(DamagedResultsError) as raised:
        load_results(path)
    assert str(raised.value) == f"run {CHEAPEST.run_id} is recorded twice in {path}; each run must be recorded once"


# --------------------------------------------------------------------------------------
# Offline, read-only, unwritable, a file for a directory, a full disk
# --------------------------------------------------------------------------------------


def test_an_offline_machine_fails_in_the_parent_before_anything_is_written(tmp_path, capsys, monkeypatch):
    """The parent builds the corpus before it creates --out: no empty directory, no header."""
    asked = []

    def offline(name, **_):
        asked.append(name)
        raise OSError(f"cannot download corpus {name!r}: the network is unreachable")

    monkeypatch.setattr(corpus, "corpus_info", offline)
    out = tmp_path / "new"
    status, err, _ = sweep_cli(capsys, "--out", str(out))
    assert (status, err[-1]) == (2, "error: cannot download corpus 'shakespeare': the network is unreachable")
    assert asked == ["shakespeare"] and not out.exists()


def failing(monkeypatch, target, attribute: str, error_number: int, when):
    """Make ``target.attribute`` raise OSError(error_number) for calls where ``when(*args)`` holds."""
    real = getattr(target, attribute)

    def fake(*args, **kwargs):
        if when(*args):
            raise OSError(error_number, os.strerror(error_number), str(args[0]))
        return real(*args, **kwargs)

    monkeypatch.setattr(target, attribute, fake)


def test_a_read_only_file_system_is_one_line_naming_the_file(tmp_path, capsys, monkeypatch):
    lock = tmp_path / ".results.jsonl.lock"
    failing(monkeypatch, os, "open", errno.EROFS, lambda path, *_: str(path) == str(lock))
    status, err, _ = sweep_cli(capsys, "--out", str(tmp_path))
    assert (status, err[-1]) == (2, f"error: {lock}: Read-only file system (locking the results file)")
    assert snapshot(tmp_path) == {}


def test_an_unwritable_parent_directory_is_one_line_naming_the_directory(tmp_path, capsys, monkeypatch):
    out = tmp_path / "new"
    failing(monkeypatch, Path, "mkdir", errno.EACCES, lambda path, *_: path == out)
    status, err, _ = sweep_cli(capsys, "--out", str(out))
    assert (status, err[-1]) == (2, f"error: {out}: Permission denied (creating the output directory)")
    assert not out.exists()


@pytest.mark.parametrize("below, problem", [("", "--out names a file, not a directory"),
                                            ("sub", "Not a directory")])
def test_an_out_that_is_a_regular_file_is_refused(tmp_path, capsys, below, problem):
    regular = tmp_path / "notes.txt"
    regular.write_text("mine\n")
    out = regular / below if below else regular
    status, err, _ = sweep_cli(capsys, "--out", str(out))
    assert (status, err[-1]) == (2, f"error: {out}: {problem} (creating the output directory)")
    assert regular.read_text() == "mine\n"


def test_a_full_disk_leaves_a_line_cut_short_that_the_next_run_repairs(tmp_path, capsys, monkeypatch):
    """ENOSPC mid-record: one line of error, exit 2; rerunning cuts the partial line and redoes the run."""
    others = [spec for spec in GRID if spec is not CHEAPEST]
    path = fake_results(tmp_path, others)
    before = path.read_bytes()
    real_append = runner.append_record

    def disk_full(target, record):  # what os.write does when the disk fills mid-line
        with open(target, "ab") as handle:
            handle.write(line(record)[:100])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(runner, "append_record", disk_full)
    status, err, _ = sweep_cli(capsys, "--out", str(tmp_path), "--jobs", "1")
    assert (status, err[-1]) == (2, f"error: {path}: No space left on device (recording a finished run)")
    assert path.read_bytes().startswith(before) and len(path.read_bytes()) == len(before) + 100

    monkeypatch.setattr(runner, "append_record", real_append)
    status, err, out = sweep_cli(capsys, "--out", str(tmp_path), "--jobs", "1")
    assert status == 0 and out == f"results: {path}\n"
    assert f"resuming preset 'smoke' in {tmp_path}: 5 of 6 runs finished, 1 to train" in err
    after = path.read_bytes()
    assert after.startswith(before) and after.count(b"\n") == before.count(b"\n") + 1
    assert load_results(path)[1][-1]["run_id"] == CHEAPEST.run_id
    readme = (tmp_path / "README.md").read_text().splitlines()
    assert readme[0] == runner.README_MARK and "6 of 6 runs finished: complete." in readme


# --------------------------------------------------------------------------------------
# Nothing to train, the default --out, and the README
# --------------------------------------------------------------------------------------


def test_a_finished_sweep_says_so_and_writes_nothing(tmp_path, capsys, monkeypatch):
    """Without --out the sweep is sweeps/PRESET here, never the committed results/PRESET."""
    monkeypatch.chdir(tmp_path)
    fake_results(tmp_path / "sweeps" / "smoke", GRID)
    before = snapshot(tmp_path / "sweeps" / "smoke")
    status, err, out = sweep_cli(capsys)
    assert (status, out) == (0, "results: sweeps/smoke/results.jsonl\n")
    assert err == ["all 6 runs of preset 'smoke' are already finished in sweeps/smoke: nothing to train"]
    assert runner.run_sweep("smoke", progress=False) == Path("sweeps/smoke/results.jsonl")
    assert snapshot(tmp_path / "sweeps" / "smoke") == before


def test_the_readme_says_how_far_the_sweep_got_and_how_to_resume(tmp_path):
    fake_results(tmp_path, GRID[:4])
    assert runner.write_readme(tmp_path)
    assert (tmp_path / "README.md").read_text() == "\n".join([
        "<!-- written by scalinglaws.sweeps.runner; edits are overwritten -->",
        "# Sweep of preset `smoke`",
        "",
        SMOKE.description,
        "",
        "4 of 6 runs finished: in progress.",
        "",
        f"- `results.jsonl`: 4 of 6 runs finished (in progress); started {HEADER['created']} by",
        f"  `{HEADER['command']}`",
        "",
        "To resume, run the same command again: finished runs are skipped, and a run cut off",
        "mid-way is trained again. Each line of a results file after its header is one",
        "finished run (see `scalinglaws.data.results`).",
        "",
    ])
    fake_results(tmp_path, GRID)
    assert runner.write_readme(tmp_path)
    assert "6 of 6 runs finished: complete." in (tmp_path / "README.md").read_text().splitlines()


def test_a_hand_written_readme_is_never_overwritten(tmp_path):
    fake_results(tmp_path, GRID[:4])
    (tmp_path / "README.md").write_text("# The committed demo sweep\n\nWritten by hand.\n")
    assert not runner.write_readme(tmp_path)
    assert (tmp_path / "README.md").read_text() == "# The committed demo sweep\n\nWritten by hand.\n"


# --------------------------------------------------------------------------------------
# Workers die with their parent
# --------------------------------------------------------------------------------------


def children(pid: int) -> list[int]:
    """Live (not zombie) processes whose parent is ``pid``, found by scanning /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            status = (entry / "status").read_text() if entry.name.isdigit() else ""
        except OSError:  # it exited while we looked
            continue
        fields = dict(row.split(":\t", 1) for row in status.splitlines() if ":\t" in row)
        if fields.get("PPid", "").strip() == str(pid) and not fields.get("State", "").startswith("Z"):
            found.append(int(entry.name))
    return found


def is_worker(pid: int) -> bool:
    try:
        return b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


#: Two runs of a micro model, each minutes long: an orphaned worker would train on for minutes
#: (a smoke run ends within a second, and an idle orphan exits at its task queue's end anyway).
LONG_RUNS = """
from scalinglaws.papers.counting import TransformerShape
from scalinglaws.sweeps.grid import RunSpec
from scalinglaws.sweeps.runner import run_specs
from scalinglaws.training.train import TrainConfig
shape = TransformerShape(n_layers=1, d_model=8, n_heads=1, n_ctx=32)
specs = [RunSpec(budget=1e8, corpus="shakespeare", config=TrainConfig(
    shape=shape, steps=300_000, batch_size=4, peak_lr=1e-2, seed=seed, eval_sequences=8, n_eval_points=2))
    for seed in (0, 1)]
run_specs("long", "two runs of minutes, killed early", specs, {out!r}, jobs=2, progress=False)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG and /proc are Linux's")
def test_kill_9_of_the_parent_takes_its_training_workers_with_it(tmp_path):
    command = [sys.executable, "-c", LONG_RUNS.format(out=str(tmp_path))]
    parent = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        workers = []
        # Training has begun once each worker has spent more CPU than starting up takes (~2 s).
        while time.monotonic() < deadline and parent.poll() is None and not (
                len(workers) == 2 and min(map(cpu_seconds, workers)) > 4):
            workers = [pid for pid in children(parent.pid) if is_worker(pid)]
            time.sleep(0.1)
        assert len(workers) == 2 and parent.poll() is None, (
            f"the 2 workers never started training (exit status {parent.poll()})")
        os.kill(parent.pid, signal.SIGKILL)  # the parent only, not its process group
        parent.wait()
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [pid for pid in workers if alive(pid)], "workers outlived their parent by 10 s"
    finally:
        try:
            os.killpg(parent.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_without_prctl_a_worker_exits_once_its_parent_is_gone(monkeypatch):
    """The fallback elsewhere than Linux: poll the parent's pid, exit when we were adopted."""
    parents = iter([4242, 4242, 1])
    monkeypatch.setattr(runner.os, "getppid", lambda: next(parents))
    exits = []
    runner._exit_when_orphaned(4242, interval=0, exit=exits.append)
    assert exits == [1] and next(parents, None) is None  # polled until the pid changed, then exited
