"""The resumable runner of a sweep: a preset's grid, or any list of runs, trained into a results file.

A preset (:mod:`scalinglaws.sweeps.presets`) defines a grid of runs (:mod:`scalinglaws.sweeps.grid`);
this module trains them, in worker processes, and records each with its provenance
(:mod:`scalinglaws.training.provenance`).

    python -m scalinglaws sweep --preset demo              # into sweeps/demo
    python -m scalinglaws sweep --preset cpu --shard 1/2   # half the grid; 2/2 in another process

Results go to ``<out>/results.jsonl`` (:mod:`scalinglaws.data.results`), ``<out>`` being
``sweeps/<preset>`` unless given, beside a README.md that says how far the sweep got;
rerunning the same command skips the finished runs. One sweep writes a results file at a
time (a second is refused); ``--shard K/N`` splits a grid between processes, each writing
its own ``results.shard-K-of-N.jsonl`` into the same directory. Every CPU run trains in a
worker process on one thread, so its loss is the same however the sweep ran.

A preset with ``wsd_cooldown`` trains warmup-stable-decay runs instead of cosine ones; the
runs of its grid that differ only in length are one constant-rate trunk, cooled down at each
length from a checkpoint (:mod:`scalinglaws.training.wsd_plan`, :mod:`scalinglaws.training.branches`), and
each branch's record is a run's record plus a ``branch`` entry (its trunk, branch point, and
the FLOPs of its cooldown and of the trunk it shared).
"""

from __future__ import annotations

import ctypes
import errno
import multiprocessing
import os
import signal
import sys
import threading
import time
from contextlib import ExitStack, contextmanager
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

from scalinglaws.data.results import (Shard, append_record, check_header, directory_locked, load_results,
                                      locked, repair, results_files, results_name, settings_digest,
                                      write_atomically, write_new)
from scalinglaws.papers import counting
from scalinglaws.sweeps.grid import RunSpec, build_grid
from scalinglaws.sweeps.presets import get_preset
from scalinglaws.training import branches, provenance, wsd_plan
from scalinglaws.training.train import Engine, train, validation_windows

#: Worker processes on a CPU machine. Measured (benchmarks/bench_training.py, section 4): 2 single-
#: threaded processes ran 6 short runs 4.6x faster than 1 process with 2 threads on the shared
#: 2-core machine; tiny models cannot keep two threads busy, and oversubscribed threads crawl.
DEFAULT_JOBS = 2


def default_jobs() -> int:
    """One process per GPU run (they share one device), else DEFAULT_JOBS single-threaded workers."""
    return 1 if torch.cuda.is_available() else DEFAULT_JOBS



# --------------------------------------------------------------------------------------
# The results file's header
# --------------------------------------------------------------------------------------


def header_for(name: str, description: str, specs: list[RunSpec], shard: Shard | None = None) -> dict:
    """The header record of a results file: the FULL grid's runs and hash, even for a shard's file."""
    runs = {spec.run_id: spec.settings_hash() for spec in specs}
    header = {"kind": "header", "preset": name, "grid_hash": settings_digest([spec.settings() for spec in specs]),
              "runs": runs, "command": provenance.command_line(),
              "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "description": description}
    return header if shard is None else {**header, "shard": str(shard)}


# --------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------

_WORKER: dict = {}  # per-process cache: corpus splits and validation windows


def _splits(corpus: str) -> tuple[np.ndarray, np.ndarray]:
    if corpus not in _WORKER:
        from scalinglaws.data.corpus import load_tokens

        _WORKER[corpus] = (load_tokens(corpus, "train", progress=False),
                           load_tokens(corpus, "validation", progress=False))
    return _WORKER[corpus]


def _init_worker(parent_pid: int) -> None:
    """Every worker trains on one thread and dies with the parent that started it."""
    torch.set_num_threads(1)
    _die_with_parent(parent_pid)


#: Linux's prctl option that has the kernel signal a process when its parent dies (prctl(2)).
PR_SET_PDEATHSIG = 1


def _die_with_parent(parent_pid: int) -> None:
    """Never outlive the sweep: a parent killed by kill -9 cannot stop its workers, which would
    train on for minutes as orphans, recording nothing. Linux kills us with the parent; elsewhere
    a thread polls for it."""
    if not _kernel_kills_us_with_parent():
        threading.Thread(target=_exit_when_orphaned, args=(parent_pid,), daemon=True).start()
    if os.getppid() != parent_pid:  # the parent died before we asked
        os._exit(1)


def _kernel_kills_us_with_parent() -> bool:
    """Ask Linux for SIGKILL when the parent dies; False where there is no such call."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        return ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL) == 0
    except (OSError, AttributeError):
        return False


def _exit_when_orphaned(parent_pid: int, interval: float = 1.0, exit=os._exit) -> None:
    """Poll the parent's pid; once it changes (our parent died and we were adopted), exit."""
    while os.getppid() == parent_pid:
        time.sleep(interval)
    exit(1)


def run_one(spec: RunSpec, engine: Engine | None = None) -> dict:
    """Train one run and return its results record (never raises on divergence)."""
    engine = engine or Engine.default()
    train_tokens, val_tokens = _splits(spec.corpus)
    result = train(spec.config, train_tokens, val_tokens, engine, eval_windows=_eval_windows(spec))
    return record_of(spec, result, engine)


def _eval_windows(spec: RunSpec) -> torch.Tensor:
    """The fixed validation windows of ``spec``'s corpus and context, made once per worker."""
    key = (spec.corpus, spec.config.eval_sequences, spec.config.shape.n_ctx)
    if key not in _WORKER:
        _WORKER[key] = validation_windows(_splits(spec.corpus)[1], spec.config.eval_sequences,
                                          spec.config.shape.n_ctx)
    return _WORKER[key]


def run_trunk(trunk: wsd_plan.Trunk, out_dir: Path, code_versions: dict, engine: Engine | None = None) -> list[dict]:
    """Train a WSD trunk and its branches (scalinglaws.training.branches) and return their records; each is also
    saved beside the trunk's checkpoints as it finishes, so a killed sweep keeps it."""
    engine = engine or Engine.default()
    train_tokens, val_tokens = _splits(trunk.branches[0].corpus)
    directory = branches.checkpoint_dir(out_dir, trunk)
    records = []

    def keep(spec: RunSpec, result, info: dict) -> None:
        record = {**record_of(spec, result, engine), "branch": info, "versions": code_versions}
        branches.save_record(directory, record)
        records.append(record)

    branches.train_trunk(trunk, train_tokens, val_tokens, directory, keep, engine,
                         eval_windows=_eval_windows(trunk.branches[0]))
    return records


def record_of(spec: RunSpec, result, engine: Engine) -> dict:
    """The results record of a finished (or diverged) run: what it was, what it gave, where it ran."""
    shape = spec.config.shape
    n_params = counting.params_total(shape)
    return {
        "kind": "run", "run_id": spec.run_id, "settings_hash": spec.settings_hash(),
        "budget": spec.budget, "corpus": spec.corpus, "shape": asdict(shape), "seed": spec.config.seed,
        "params_total": n_params, "params_non_embedding": counting.params_non_embedding(shape),
        "tokens": spec.config.tokens, "tokens_seen": result.tokens_seen,
        "flops_6nd": counting.flops_6nd(n_params, spec.config.tokens),
        "flops_appendix_f": counting.chinchilla_flops_per_token(shape) * spec.config.tokens,
        "final_loss": None if result.diverged else result.final_loss,
        "initial_loss": result.initial_loss,
        "curve_tokens": result.curve_tokens, "curve_loss": result.curve_loss,
        "diverged": result.diverged, "steps": spec.config.steps, "steps_done": result.steps_done,
        "learning_rate": spec.config.peak_lr, "batch_size": spec.config.batch_size,
        "train_config": spec.config.to_dict(), "engine": asdict(engine), "device": provenance.device_name(engine),
        "threads": torch.get_num_threads(), "wall_time_s": result.wall_time_s,
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }



def _progress(total_flops: float, enabled: bool):
    from tqdm import tqdm  # plain text bars: no ipywidgets needed in notebooks

    return tqdm(total=total_flops, unit="FLOP", unit_scale=True, disable=not enabled,
                desc="sweep (weighted by FLOPs)", smoothing=0.0)


def prepare_results_file(path: Path, wanted: dict) -> set[str]:
    """Create the file with header ``wanted``, or check an existing one; returns finished run ids."""
    if path.exists() and path.stat().st_size > 0:
        repair(path)  # a run cut off mid-write is dropped and will be redone
    if not path.exists() or path.stat().st_size == 0:
        write_new(path, wanted)
        return set()
    return finished_runs(path, wanted)


def finished_runs(path: Path, wanted: dict) -> set[str]:
    """The run ids finished in results file ``path`` (none if it is absent), after checking that it
    is ``wanted``'s grid; only reads, so it can plan a sweep before anything is written."""
    if not path.exists() or path.stat().st_size == 0:
        return set()
    header, records = load_results(path)
    check_header(path, header, wanted)
    return {record["run_id"] for record in records}


#: Where a sweep writes without ``--out``: ``sweeps/<preset>`` under the current directory,
#: never ``results/``, whose committed sweeps a reader's run must not touch.
DEFAULT_OUT_ROOT = Path("sweeps")


def run_sweep(preset: str, out_dir: Path | None = None, jobs: int | None = None, progress: bool = True,
              shard: Shard | str | None = None) -> Path:
    """Run (or resume) a preset's sweep, or one shard of it; returns the path of its results file.

    ``jobs`` worker processes, spawned, one thread each, train every run on a CPU (the
    parent is the only writer of the results file); ``out_dir`` defaults to
    ``sweeps/<preset>``. ``shard`` ("K/N" or a :class:`Shard`) trains only that part of the grid.
    """
    chosen = get_preset(preset)
    out_dir = Path(out_dir) if out_dir is not None else DEFAULT_OUT_ROOT / chosen.name
    shard = Shard.parse(shard) if isinstance(shard, str) else shard
    return run_specs(chosen.name, chosen.description, build_grid(chosen), out_dir, jobs, progress, shard)


def _check_grid(name: str, specs: list[RunSpec], jobs: int, shard: Shard | None) -> None:
    if jobs < 1:
        raise ValueError(f"--jobs must be a positive number of worker processes, got {jobs}")
    ids = [spec.run_id for spec in specs]
    if len(set(ids)) != len(ids):
        raise ValueError(f"the grid {name!r} lists a run twice; every run id must be unique")
    if shard is not None and shard.count > len(specs):
        raise ValueError(f"--shard {shard}: the grid of {name!r} has {len(specs)} runs, "
                         f"so it splits into at most {len(specs)} shards")


def _say(enabled: bool, message: str) -> None:
    """One line of what the sweep is doing, on stderr beside the progress bar."""
    if enabled:
        print(message, file=sys.stderr, flush=True)


def _plan_message(name: str, shard: Shard | None, out_dir: Path, total: int, to_train: int) -> str:
    what = f"preset {name!r}" if shard is None else f"shard {shard} of preset {name!r}"
    if to_train == 0:
        return f"all {total} runs of {what} are already finished in {out_dir}: nothing to train"
    if to_train == total:
        return f"training {total} runs of {what} into {out_dir}"
    return f"resuming {what} in {out_dir}: {total - to_train} of {total} runs finished, {to_train} to train"


def _prepare_corpora(specs: list[RunSpec], progress: bool) -> None:
    """Build (download, tokenize) every corpus the runs need, here in the parent: before anything is
    written, so an offline machine fails leaving nothing behind, and before the workers start, so
    that they never build a corpus at once."""
    from scalinglaws.data import corpus

    for name in sorted({spec.corpus for spec in specs}):
        corpus.corpus_info(name, progress=progress)


@contextmanager
def _explained(action: str, path: Path | None = None):
    """Re-raise an OSError with what the sweep was doing and on which path, so the one line the
    command prints says what failed and where (``os.write`` names no file, for one)."""
    try:
        yield
    except OSError as error:
        if error.strerror is None:  # a message of its own: a busy lock, a failed download
            raise
        raise OSError(error.errno, f"{error.strerror} ({action})", error.filename or (path and str(path)),
                      None, error.filename2) from error


def _make_directory(out_dir: Path) -> None:
    with _explained("creating the output directory"):
        if out_dir.exists() and not out_dir.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, "--out names a file, not a directory", str(out_dir))
        out_dir.mkdir(parents=True, exist_ok=True)


def run_specs(name: str, description: str, specs: list[RunSpec], out_dir: Path, jobs: int | None = None,
              progress: bool = True, shard: Shard | None = None) -> Path:
    """Run (or resume) any list of runs into ``out_dir/results.jsonl`` (run_sweep's engine; pilots use it).

    Nothing is written before the plan is known and the corpora are ready; then the results
    file is locked for the whole sweep, so a second sweep into it is refused at once.
    """
    jobs = default_jobs() if jobs is None else jobs
    _check_grid(name, specs, jobs, shard)
    out_dir = Path(out_dir)
    wanted = header_for(name, description, specs, shard)
    mine = shard.select(specs) if shard is not None else specs
    path = out_dir / results_name(shard)
    finished = finished_runs(path, wanted)
    pending = [spec for spec in mine if spec.run_id not in finished]
    if not pending:
        _say(progress, _plan_message(name, shard, out_dir, len(mine), 0))
        return path
    _prepare_corpora(pending, progress)
    _make_directory(out_dir)
    with ExitStack() as held:
        with _explained("locking the results file", path):
            held.enter_context(locked(path))
        with _explained("preparing the results file", path):
            finished = prepare_results_file(path, wanted)  # again, now that no one else can write
        pending = [spec for spec in mine if spec.run_id not in finished]
        _say(progress, _plan_message(name, shard, out_dir, len(mine), len(pending)))
        _update_readme(out_dir)
        _train_into(path, pending, jobs, progress)
    return path


def _train_into(path: Path, pending: list[RunSpec], jobs: int, progress: bool) -> None:
    """Train ``pending``, longest first, appending each record to ``path`` as it finishes.

    Runs that differ only in length under the WSD schedule train as one trunk with branches
    (:mod:`scalinglaws.training.wsd_plan`); a branch a killed sweep finished is appended from the record
    it saved beside its checkpoints, not trained again.
    """
    if not pending:
        return
    # The code that trains is the code loaded now, when the workers start: record its commit,
    # not the checkout's state when each run ends (it may have moved on during a long sweep).
    code_versions = provenance.versions()
    out_dir = path.parent
    saved = branches.saved_records(out_dir, {spec.run_id: spec.settings_hash() for spec in pending})
    for record in saved:
        with _explained("recording a branch a previous sweep finished", path):
            append_record(path, record)
    done = {record["run_id"] for record in saved}
    pending = [spec for spec in pending if spec.run_id not in done]
    # Longest work first keeps the workers busy until the end.
    work = sorted(wsd_plan.plan(pending), key=lambda item: item.flops, reverse=True)
    tasks = [(item, out_dir, code_versions) for item in work]
    # The bar closes before an error propagates, so the error is the last line printed.
    with _progress(sum(spec.flops for spec in pending), progress) as bar, _trained(tasks, jobs) as records:
        for record in records:
            with _explained("recording a finished run", path):
                append_record(path, {"versions": code_versions, **record})
            _update_readme(path.parent)
            bar.update(record["flops_6nd"])


def _run_task(task: tuple) -> list[dict]:
    """A worker's unit of work: one run, or one WSD trunk with its branches; their records."""
    item, out_dir, code_versions = task
    if isinstance(item, wsd_plan.Trunk):
        return run_trunk(item, out_dir, code_versions)
    return [run_one(item)]


@contextmanager
def _trained(tasks: list[tuple], jobs: int):
    """The records of ``tasks`` as they finish; leaving the block stops the workers.

    On a CPU every run trains in a spawned worker with one thread, however many runs are
    pending, so a run's loss does not depend on how the sweep was split or resumed (2 threads
    in-process gave 2.5724917 where a worker gives 2.5854135). One process on a GPU trains in-process.
    """
    engine = Engine.default()
    if engine.device != "cpu" and jobs == 1:
        yield (record for task in tasks for record in _run_task(task))
        return
    context = multiprocessing.get_context("spawn")
    with context.Pool(min(jobs, len(tasks)), initializer=_init_worker, initargs=(os.getpid(),)) as pool:
        yield (record for records in pool.imap_unordered(_run_task, tasks) for record in records)


# --------------------------------------------------------------------------------------
# The output directory's README
# --------------------------------------------------------------------------------------

README_NAME = "README.md"
#: The first line of every README.md this module writes; a README.md without it (the
#: hand-written ones of the committed results/) is never touched.
README_MARK = "<!-- written by scalinglaws.sweeps.runner; edits are overwritten -->"


def _file_status(path: Path, header: dict, finished: int) -> str:
    """One results file's line: how far it got, when it started and the command that resumes it."""
    shard = Shard.parse(header["shard"]) if header.get("shard") else None
    total = len(header["runs"]) if shard is None else shard.size(len(header["runs"]))
    done = "complete" if finished >= total else "in progress"
    return (f"- `{path.name}`: {finished} of {total} runs finished ({done}); started {header['created']} by\n"
            f"  `{header['command']}`")


def readme_text(out_dir: Path) -> str:
    """The README of a sweep directory, from its results files alone (so every shard writes the same)."""
    loaded = [(path, *load_results(path)) for path in results_files(out_dir)]
    header = loaded[0][1]
    finished = sum(len(records) for _, _, records in loaded)
    total = len(header["runs"])
    progress = "complete" if finished >= total else "in progress"
    return "\n".join([
        README_MARK,
        f"# Sweep of preset `{header['preset']}`",
        "",
        header["description"],
        "",
        f"{finished} of {total} runs finished: {progress}.",
        "",
        *(_file_status(path, file_header, len(records)) for path, file_header, records in loaded),
        "",
        "To resume, run the same command again: finished runs are skipped, and a run cut off",
        "mid-way is trained again. Each line of a results file after its header is one",
        "finished run (see `scalinglaws.data.results`).",
        "",
    ])


def _update_readme(out_dir: Path) -> None:
    with _explained("writing README.md", out_dir / README_NAME):
        write_readme(out_dir)


def write_readme(out_dir: Path) -> bool:
    """Write or update ``out_dir/README.md``, unless a README.md there was written by hand.

    Returns whether it wrote. Several shards may share the directory: the directory's lock
    makes each rewrite see the others' latest records.
    """
    readme = Path(out_dir) / README_NAME
    with directory_locked(Path(out_dir)):
        if readme.exists() and not readme.read_text(errors="replace").startswith(README_MARK):
            return False
        write_atomically(readme, readme_text(out_dir).encode())
    return True
