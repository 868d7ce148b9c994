"""Train one WSD trunk and cool it down at each branch point, resumably.

The plan (:mod:`scalinglaws.training.wsd_plan`) groups a sweep's WSD runs into trunks. Here one trunk
is trained at its constant learning rate; at each branch point (a branch's steps less its
cooldown) its whole state is saved (model, AdamW moments, the batch generator, the held-out
losses so far), a cooldown to that branch's length is trained from it, and the branch's
result is handed to ``on_branch``; then the state is reloaded from the checkpoint and the
trunk goes on. Held-out losses are taken at the union of every branch's evaluation steps
that fall before its branch point, so each branch gets the curve it would have had alone.

Everything a step depends on is in the checkpoint, so a branch is bit for bit the run its
config describes trained alone (:func:`scalinglaws.training.train.train`), and a run killed at any
moment (kill -9 included) resumes from the latest checkpoint: an interrupted cooldown is
redone from its branch point, and a finished branch whose record was saved beside the
checkpoints (:func:`save_record`) is never trained again. Between branch points, which can be an
hour of training apart, the stable phase is also saved every :data:`INTERIM_CHECKPOINT_S` seconds
(only the newest such interim checkpoint is kept), so a kill there loses at most that much. A cooldown
is not saved part-way (its state is not the trunk's): a kill during one redoes it.

Checkpoints live in ``<sweep output>/checkpoints/<trunk key>/`` (a few MB each for the CPU
ladder) and are never committed.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from scalinglaws.data.download import atomic_writer
from scalinglaws.papers import counting
from scalinglaws.training.train import Engine, RunState, TrainResult, eval_schedule
from scalinglaws.training.wsd_plan import Trunk, trunk_settings

CHECKPOINTS = "checkpoints"
_CHECKPOINT_NAME = re.compile(r"step-(\d+)\.pt")
#: Seconds of stable-phase training between interim checkpoints (module docstring).
INTERIM_CHECKPOINT_S = 600.0
#: Steps trained between looks at the clock while the stable phase advances.
CLOCK_STEPS = 500


def checkpoint_dir(out_dir: Path, trunk: Trunk) -> Path:
    """Where ``trunk``'s checkpoints and branch records live inside a sweep's output directory."""
    return Path(out_dir) / CHECKPOINTS / trunk.key


def _checkpoint_path(directory: Path, step: int) -> Path:
    return directory / f"step-{step:08d}.pt"


def save_checkpoint(directory: Path, trunk: Trunk, state: RunState) -> Path:
    """Write ``state`` (at a branch point) atomically: a kill leaves the old file or the whole new one."""
    path = _checkpoint_path(directory, state.step)
    with atomic_writer(path) as out:
        torch.save({"trunk": trunk.key, "trunk_settings": trunk_settings(trunk.branches[0]),
                    **state.state_dict()}, out)
    return path


def load_checkpoint(path: Path, trunk: Trunk, state: RunState) -> None:
    """Restore ``state`` from ``path``, refusing a checkpoint of another trunk or a damaged file."""
    try:
        saved = torch.load(path, map_location=state.engine.device, weights_only=True)
    except Exception as error:  # a truncated or foreign file: say which, do not guess
        raise ValueError(f"{path}: not a readable checkpoint ({type(error).__name__}: {error}); delete it to "
                         "retrain from the previous one") from error
    if not isinstance(saved, dict) or saved.get("trunk") != trunk.key:
        raise ValueError(f"{path}: a checkpoint of another run (trunk {saved.get('trunk') if isinstance(saved, dict) else '?'}"
                         f", expected {trunk.key}: its shape, learning rate, seed or another setting differs); "
                         "move it away or use another output directory")
    state.load_state_dict(saved)


def latest_checkpoint(directory: Path, at_most: int) -> Path | None:
    """The checkpoint with the most steps, at most ``at_most``, in ``directory`` (None if none)."""
    found = []
    for path in directory.glob("step-*.pt") if directory.is_dir() else ():
        match = _CHECKPOINT_NAME.fullmatch(path.name)
        if match and int(match.group(1)) <= at_most:
            found.append((int(match.group(1)), path))
    return max(found)[1] if found else None


def save_record(directory: Path, record: dict) -> Path:
    """Keep a finished branch's record beside the checkpoints until the sweep has appended it."""
    path = directory / f"{record['run_id']}.json"
    with atomic_writer(path) as out:
        out.write(json.dumps(record).encode())
    return path


def saved_records(out_dir: Path, wanted: dict[str, str]) -> list[dict]:
    """Branch records saved under ``out_dir``'s checkpoints for runs in ``wanted`` (run id -> settings
    hash) with the settings wanted: the branches a killed sweep finished but never appended."""
    found = []
    for path in sorted((Path(out_dir) / CHECKPOINTS).glob("*/*.json")):
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            continue  # written atomically, so only a foreign file lands here; the run is retrained
        if isinstance(record, dict) and wanted.get(record.get("run_id")) == record.get("settings_hash"):
            found.append(record)
    return found


def branch_info(trunk: Trunk, spec) -> dict:
    """What a branch's record says about the run it was cut from: the trunk, its branch point, and
    the 6ND FLOPs of its own cooldown and of the shared trunk it drew on."""
    config = spec.config
    flops_per_step = counting.flops_6nd(counting.params_total(config.shape), config.tokens_per_step)
    branch_point = trunk.branch_point(spec)
    return {"trunk": trunk.key, "branch_step": branch_point, "cooldown_steps": config.cooldown_steps,
            "flops_6nd_shared": flops_per_step * branch_point,
            "flops_6nd_cooldown": flops_per_step * config.cooldown_steps}


def advance_saving(state: RunState, until: int, lr_of_step, eval_at, directory: Path, trunk: Trunk,
                   interim_s: float = INTERIM_CHECKPOINT_S, clock_steps: int | None = None) -> None:
    """``state.advance`` to ``until`` in pieces of ``clock_steps`` (default :data:`CLOCK_STEPS`), saving an
    interim checkpoint whenever ``interim_s`` seconds have passed since the last one; the pieces train
    exactly what one call would."""
    clock_steps = clock_steps or CLOCK_STEPS
    last_saved = time.perf_counter()
    while state.step < until and not state.diverged:
        state.advance(min(until, state.step + clock_steps), lr_of_step, eval_at)
        if state.step < until and not state.diverged and time.perf_counter() - last_saved >= interim_s:
            save_checkpoint(directory, trunk, state)
            drop_interim_checkpoints(directory, trunk, below=state.step)
            last_saved = time.perf_counter()


def drop_interim_checkpoints(directory: Path, trunk: Trunk, below: int) -> None:
    """Delete the checkpoints in ``directory`` before step ``below`` that are no branch point of ``trunk``:
    interim ones a newer checkpoint has superseded, and (a sweep plans a resumed trunk from its unfinished
    branches only) those of branches already finished, which nothing reads again."""
    branch_points = {trunk.branch_point(spec) for spec in trunk.branches}
    for path in directory.glob("step-*.pt") if directory.is_dir() else ():
        match = _CHECKPOINT_NAME.fullmatch(path.name)
        if match and int(match.group(1)) < below and int(match.group(1)) not in branch_points:
            path.unlink(missing_ok=True)


def train_trunk(trunk: Trunk, train_tokens: np.ndarray, val_tokens: np.ndarray, directory: Path,
                on_branch: Callable[[object, TrainResult, dict], None], engine: Engine | None = None,
                eval_windows: torch.Tensor | None = None, finished: frozenset[str] = frozenset(),
                interim_s: float = INTERIM_CHECKPOINT_S) -> None:
    """Train ``trunk`` and every branch not in ``finished`` (run ids), calling ``on_branch(spec,
    result, branch_info)`` as each branch ends. Resumes from the checkpoints in ``directory``, saving
    the stable phase every ``interim_s`` seconds between branch points."""
    directory = Path(directory)
    pending = [spec for spec in trunk.branches if spec.run_id not in finished]
    if not pending:
        return
    state = RunState(trunk.config, train_tokens, val_tokens, engine, eval_windows)
    # The trunk evaluates where a branch alone would, before that branch's own branch point.
    trunk_evals = sorted({step for spec in trunk.branches for step in _evals(spec)
                          if step <= trunk.branch_point(spec)})
    for spec in pending:
        branch_point = trunk.branch_point(spec)
        if state.step != branch_point:
            resume = latest_checkpoint(directory, at_most=branch_point)
            if resume is not None and _step_of(resume) > state.step:
                load_checkpoint(resume, trunk, state)
            advance_saving(state, branch_point, trunk.config.learning_rate, trunk_evals, directory, trunk, interim_s)
            if not state.diverged:
                save_checkpoint(directory, trunk, state)
                drop_interim_checkpoints(directory, trunk, below=branch_point)
        if not state.diverged:
            state.advance(spec.config.steps, spec.config.learning_rate,
                          [step for step in _evals(spec) if step > branch_point])
        on_branch(spec, state.result_for(spec.config), branch_info(trunk, spec))
        checkpoint = _checkpoint_path(directory, branch_point)
        if checkpoint.exists():  # back to the branch point for the next branch (none if the trunk diverged)
            load_checkpoint(checkpoint, trunk, state)


def _evals(spec) -> list[int]:
    config = spec.config
    return eval_schedule(config.steps, config.n_eval_points, config.first_eval_fraction)


def _step_of(path: Path) -> int:
    return int(_CHECKPOINT_NAME.fullmatch(path.name).group(1))
