"""IsoFLOP sweeps of tiny GPTs: presets, the grid they define, and a resumable runner.

A preset fixes a corpus, a list of FLOP budgets C (by 6ND, N = total parameters) and a
ladder of model shapes. For each budget it trains the ``models_per_budget`` consecutive
ladder models centred (in log N) on a guess of the optimum, N* = sqrt(C / (6 r)) with r
the preset's guess of the optimal tokens per parameter, so every IsoFLOP curve brackets
its minimum on both sides (Hoffmann et al. 2022, Section 3.2, Figure 3). Each model gets
D = C / (6N) tokens, rounded to whole optimizer steps, and a learning rate from a
measured rule, lr = lr_at_100k * (N / 1e5) ** -lr_exponent, and a batch that may be smaller at
small budgets, so that short runs still get enough optimizer steps (``results/pilot/README.md``).

    python -m scalinglaws sweep --preset demo              # into sweeps/demo
    python -m scalinglaws sweep --preset cpu --shard 1/2   # half the grid; 2/2 in another process

Results go to ``<out>/results.jsonl`` (:mod:`scalinglaws.results`), ``<out>`` being
``sweeps/<preset>`` unless given, beside a README.md that says how far the sweep got;
rerunning the same command skips the finished runs. One sweep writes a results file at a
time (a second is refused); ``--shard K/N`` splits a grid between processes, each writing
its own ``results.shard-K-of-N.jsonl`` into the same directory. Every CPU run trains in a
worker process on one thread, so its loss is the same however the sweep ran.

A preset with ``wsd_cooldown`` trains warmup-stable-decay runs instead of cosine ones; the
runs of its grid that differ only in length are one constant-rate trunk, cooled down at each
length from a checkpoint (:mod:`scalinglaws.wsd_plan`, :mod:`scalinglaws.branches`), and
each branch's record is a run's record plus a ``branch`` entry (its trunk, branch point, and
the FLOPs of its cooldown and of the trunk it shared).
"""

from __future__ import annotations

import ctypes
import errno
import math
import multiprocessing
import os
import platform
import signal
import subprocess
import sys
import threading
import time
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

from . import branches, counting, wsd_plan
from .counting import TransformerShape
from .learning_rate_rule import pilot_rule
from .results import (Shard, append_record, check_header, directory_locked, load_results, locked, repair,
                      results_files, results_name, settings_digest, write_atomically, write_new)
from .train import Engine, TrainConfig, train, validation_windows

#: Worker processes on a CPU machine. Measured (benchmarks/bench_training.py, section 4): 2 single-
#: threaded processes ran 6 short runs 4.6x faster than 1 process with 2 threads on the shared
#: 2-core machine; tiny models cannot keep two threads busy, and oversubscribed threads crawl.
DEFAULT_JOBS = 2


def default_jobs() -> int:
    """One process per GPU run (they share one device), else DEFAULT_JOBS single-threaded workers."""
    return 1 if torch.cuda.is_available() else DEFAULT_JOBS


@dataclass(frozen=True)
class Preset:
    """A named sweep. See the module docstring for how the grid follows from the fields."""

    name: str
    description: str
    corpus: str
    budgets: tuple[float, ...]
    ladder: tuple[TransformerShape, ...]  # sorted by parameter count
    models_per_budget: int
    tokens_per_param_guess: float  # r in N* = sqrt(C / 6r), the centre of each bracket
    batch_size: int  # sequences of n_ctx bytes per optimizer step (at budgets >= small_batch_below)
    lr_at_100k: float  # peak learning rate of a 1e5-parameter model
    lr_exponent: float  # lr ~ N ** -lr_exponent
    eval_sequences: int = 256
    n_eval_points: int = 14
    seed: int = 0
    min_steps: int = 50  # runs shorter than this are left out of the grid
    max_tokens: float | None = None  # no run sees more tokens (caps the epochs of a small corpus)
    small_batch: int | None = None  # the batch below ``small_batch_below`` FLOPs: more steps for short runs
    small_batch_below: float = 0.0
    # Plan every run's cosine cycle for the grid's longest run, in tokens, instead of for the run's
    # own length: Kaplan et al. (2020, Section 2.2) trained every model with one fixed schedule.
    fixed_horizon: bool = False
    # Train with warmup-stable-decay and this cooldown fraction instead of the cosine, the runs that
    # differ only in length cooled down from one shared constant-rate run (scalinglaws.wsd_plan).
    wsd_cooldown: float | None = None

    def batch_for(self, budget: float) -> int:
        """Sequences per step: ``small_batch`` for budgets below ``small_batch_below``, else ``batch_size``."""
        if self.small_batch is not None and budget < self.small_batch_below:
            return self.small_batch
        return self.batch_size

    def peak_lr(self, n_params: int) -> float:
        return self.lr_at_100k * (n_params / 1e5) ** -self.lr_exponent

    def shapes_for(self, budget: float) -> list[TransformerShape]:
        """The ladder models whose N brackets the guessed optimum N* for this budget.

        With ``max_tokens``, models too small to spend the budget within it (D = C/6N above
        the cap) are not eligible, so the bracket shifts up where the cap binds.
        """
        ladder = [shape for shape in self.ladder if self.max_tokens is None
                  or budget / (6 * counting.params_total(shape)) <= self.max_tokens]
        centre = math.sqrt(budget / (6 * self.tokens_per_param_guess))
        sizes = np.log([counting.params_total(shape) for shape in ladder])
        nearest = int(np.argmin(np.abs(sizes - math.log(centre))))
        first = min(max(0, nearest - self.models_per_budget // 2), len(ladder) - self.models_per_budget)
        return ladder[max(0, first):first + self.models_per_budget]


@dataclass(frozen=True)
class RunSpec:
    """One run of a sweep: a budget and the training config it implies."""

    budget: float
    corpus: str
    config: TrainConfig

    @property
    def run_id(self) -> str:
        s = self.config.shape
        run_id = (f"C{self.budget:.0e}-L{s.n_layers}-d{s.d_model}-h{s.n_heads}-ctx{s.n_ctx}"
                  f"-b{self.config.batch_size}-lr{self.config.peak_lr:.3g}-seed{self.config.seed}")
        if self.config.schedule == "wsd":  # cosine runs keep the ids their committed records have
            run_id += f"-wsd{self.config.cooldown_fraction:g}-{self.config.cooldown_shape}"
        defaults = TrainConfig(shape=s, steps=2, batch_size=1, peak_lr=1.0)  # likewise for AdamW's settings
        if self.config.betas != defaults.betas:
            run_id += f"-beta2{self.config.betas[1]:g}" if self.config.betas[0] == defaults.betas[0] else \
                f"-betas{self.config.betas[0]:g},{self.config.betas[1]:g}"
        if self.config.weight_decay != defaults.weight_decay:
            run_id += f"-wd{self.config.weight_decay:.3g}"
        return run_id

    @property
    def flops(self) -> float:
        """Training compute by 6ND (the progress bar's weight, too)."""
        return counting.flops_6nd(counting.params_total(self.config.shape), self.config.tokens)

    def settings(self) -> dict:
        return {"budget": self.budget, "corpus": self.corpus, "config": self.config.to_dict()}

    def settings_hash(self) -> str:
        return settings_digest(self.settings())


def steps_for_budget(budget: float, shape: TransformerShape, batch_size: int) -> int:
    """Optimizer steps that spend ``budget`` = 6ND on ``shape``: D = C / 6N in whole batches."""
    return round(budget / (6 * counting.params_total(shape)) / (batch_size * shape.n_ctx))


def _steps(preset: Preset, budget: float, shape: TransformerShape) -> int:
    return steps_for_budget(budget, shape, preset.batch_for(budget))


def _matched_run(preset: Preset, budget: float, shape: TransformerShape, seed: int) -> RunSpec:
    n_params = counting.params_total(shape)
    config = TrainConfig(shape=shape, steps=_steps(preset, budget, shape), batch_size=preset.batch_for(budget),
                         peak_lr=preset.peak_lr(n_params), seed=seed, n_eval_points=preset.n_eval_points,
                         eval_sequences=preset.eval_sequences)
    return RunSpec(budget=budget, corpus=preset.corpus, config=config)


def run_spec(preset: Preset, budget: float, shape: TransformerShape, seed: int | None = None) -> RunSpec:
    """The run ``preset`` trains for ``shape`` at ``budget`` FLOPs, for any shape, in its grid or not.

    D = C / 6N rounded to whole optimizer steps, the preset's batch for the budget, its
    learning-rate rule for N, its evaluation settings, and its seed unless ``seed`` is given;
    the cosine cycle ends with the run. For a (budget, shape) of the grid this IS the grid's
    run (same run id and settings hash): :func:`build_grid` is made of these.
    """
    if preset.fixed_horizon or preset.wsd_cooldown is not None:
        raise ValueError(f"preset {preset.name!r} plans every run with the grid (the longest run's cosine "
                         "cycle, or a warmup shared by a WSD run's branches), which a single run cannot know; "
                         "use the grid (sweep.build_grid) instead")
    if not budget > 0:
        raise ValueError(f"the budget must be a positive number of FLOPs, got {budget!r}")
    steps = _steps(preset, budget, shape)
    if steps < 2:
        raise ValueError(f"{budget:.3g} FLOPs buy {budget / (6 * counting.params_total(shape)):.0f} tokens for "
                         f"{counting.params_total(shape):,d} parameters, fewer than 2 steps of "
                         f"{preset.batch_for(budget) * shape.n_ctx} tokens")
    return _matched_run(preset, budget, shape, preset.seed if seed is None else seed)


def build_grid(preset: Preset) -> list[RunSpec]:
    """Every run of the preset, smallest budget first (runs shorter than ``min_steps`` left out)."""
    specs = [_matched_run(preset, budget, shape, preset.seed)
             for budget in preset.budgets for shape in preset.shapes_for(budget)
             if _steps(preset, budget, shape) >= preset.min_steps]
    if preset.wsd_cooldown is not None:
        return wsd_plan.as_wsd(specs, preset.wsd_cooldown)
    return _with_fixed_horizon(specs) if preset.fixed_horizon else specs


def _with_fixed_horizon(specs: list[RunSpec]) -> list[RunSpec]:
    """The same runs, each stopping at its own D but with a cosine cycle planned for the longest
    run's tokens (at least its own steps): the mismatched horizon of Kaplan et al. 2020."""
    horizon_tokens = max(spec.config.tokens for spec in specs)
    return [replace(spec, config=replace(spec.config, schedule_steps=max(
        spec.config.steps, math.ceil(horizon_tokens / spec.config.tokens_per_step)))) for spec in specs]


def _ladder(*layers_width_heads: tuple[int, int, int], n_ctx: int = 128) -> tuple[TransformerShape, ...]:
    shapes = [TransformerShape(n_layers=l, d_model=d, n_heads=h, n_ctx=n_ctx) for l, d, h in layers_width_heads]
    return tuple(sorted(shapes, key=counting.params_total))


#: Model sizes of the CPU sweeps: 1-5 layers, widths 8-112, about 1.5x apart in N (4K .. 800K parameters).
CPU_LADDER = _ladder((1, 8, 1), (1, 12, 2), (1, 16, 2), (1, 24, 2), (1, 32, 4), (2, 32, 4), (2, 40, 4), (2, 48, 4),
                     (3, 48, 4), (3, 64, 4), (4, 72, 4), (4, 96, 4), (5, 112, 4))
#: Measured in results/pilot/ (README.md there): the best of 4 peak learning rates for 3 sizes at
#: C = 1e12 and batch 16 x 128 bytes, fitted by learning_rate_rule.pilot_rule from the committed records.
CPU_LR_RULE = pilot_rule()
#: Bracket centre N* = sqrt(C / 6r): byte-level models want far more tokens per parameter than
#: Chinchilla's ~20; the IsoFLOP pilot found 145-175 at 1e12-3e12 (results/pilot/README.md).
CPU_TOKENS_PER_PARAM = 150.0
#: Batch rule: 8 sequences below 3e12 FLOPs, 16 from there. At batch 16 the larger models of the
#: 3e11 budget got only 650-1,000 steps and the pilot's IsoFLOP optimum there fell to 10.8K
#: parameters (432 bytes each); at batch 8 it is 16.8K (177 bytes), in line with 1e12 (170).
CPU_SMALL_BATCH_BELOW = 3e12

#: GPU ladder: 3-12 layers, widths 64-384 (0.17M .. 21M parameters).
GPU_LADDER = _ladder((3, 64, 4), (4, 80, 4), (4, 96, 4), (5, 112, 4), (5, 128, 4), (6, 160, 5), (8, 192, 6),
                     (8, 256, 8), (10, 320, 10), (12, 384, 12))
GPU_TOKENS_PER_PARAM = CPU_TOKENS_PER_PARAM
#: Training bytes of 'gutenberg409' (scalinglaws.corpus) and the epoch cap of the gpu preset.
GUTENBERG409_TRAIN_BYTES = 137_836_610  # corpus_info("gutenberg409")["bytes"]["train"]
GPU_MAX_EPOCHS = 4
GPU_DESCRIPTION = (
    "One H100, meant to fit ~25 minutes: 4 IsoFLOP budgets 1e14..3e15 (2 decades beyond 'cpu') x 6 models "
    "(0.17M-21M parameters) on 'gutenberg409', batch 128 x 128 bytes, bf16 autocast and torch.compile, "
    "one process. No run sees more than 4 epochs of the corpus's 137.8M training bytes (the most is 3.5 "
    "epochs, the 1.0M model at 3e15); the cap binds only at 3e15, where it moves that bracket up two "
    "models. 3.3e9 training tokens in ~200K optimizer steps (531 to 32K per run). NOT RUN: written without a GPU, so its wall "
    "time, the CUDA path and the learning-rate rule (the CPU rule, measured at batch 16) are unverified."
)

PRESETS: dict[str, Preset] = {
    preset.name: preset for preset in [
        Preset(
            name="smoke",
            description=("Seconds, for the tests: 2 budgets x 3 micro models on Tiny Shakespeare (context 64, "
                         "batch 8, an unmeasured learning-rate rule: only the machinery is under test)."),
            corpus="shakespeare", budgets=(1e9, 3e9),
            ladder=_ladder((1, 4, 1), (1, 8, 1), (1, 12, 2), (1, 16, 2), n_ctx=64),
            models_per_budget=3, tokens_per_param_guess=30.0, batch_size=8,
            lr_at_100k=4e-3, lr_exponent=0.25, eval_sequences=32, n_eval_points=6, min_steps=20,
        ),
        Preset(
            name="demo",
            description=("Live in the book, a few minutes on 2 cores: 3 small budgets x 5 models on the "
                         "'default' corpus; enough for an IsoFLOP picture, too small for trustworthy exponents."),
            corpus="default", budgets=(3e10, 1e11, 3e11),
            ladder=_ladder((1, 4, 1)) + CPU_LADDER[:6], models_per_budget=5, tokens_per_param_guess=CPU_TOKENS_PER_PARAM,
            batch_size=16, small_batch=8, small_batch_below=CPU_SMALL_BATCH_BELOW,
            lr_at_100k=CPU_LR_RULE.lr_at_100k, lr_exponent=CPU_LR_RULE.exponent, eval_sequences=256,
        ),
        Preset(
            name="cpu",
            description=("The laptop replication, ~1-2 h on 2 cores (benchmarks/bench_training.py --estimate-only): "
                         "5 IsoFLOP budgets 3e11..3e13 (2 decades) x 6 models (4K-480K parameters) on 'default', "
                         "batch 8 below 3e12 FLOPs and 16 from there; Approach 1 uses the same runs' curves."),
            corpus="default", budgets=(3e11, 1e12, 3e12, 1e13, 3e13),
            ladder=CPU_LADDER, models_per_budget=6, tokens_per_param_guess=CPU_TOKENS_PER_PARAM, batch_size=16,
            small_batch=8, small_batch_below=CPU_SMALL_BATCH_BELOW,
            lr_at_100k=CPU_LR_RULE.lr_at_100k, lr_exponent=CPU_LR_RULE.exponent, eval_sequences=1024,
        ),
        Preset(
            name="fixed-horizon",
            description=("Kaplan's schedule on the cpu grid, ~25 min on 2 cores: the 24 runs of the 'cpu' preset's "
                         "budgets 3e11..1e13, identical except that every cosine cycle is planned for the longest "
                         "run's 44M tokens (Kaplan et al. 2020 used one schedule for all models), so each run stops "
                         "part-way down its cosine. Paired run by run with results/cpu (chapter 14)."),
            corpus="default", budgets=(3e11, 1e12, 3e12, 1e13),
            ladder=CPU_LADDER, models_per_budget=6, tokens_per_param_guess=CPU_TOKENS_PER_PARAM, batch_size=16,
            small_batch=8, small_batch_below=CPU_SMALL_BATCH_BELOW,
            lr_at_100k=CPU_LR_RULE.lr_at_100k, lr_exponent=CPU_LR_RULE.exponent, eval_sequences=1024, fixed_horizon=True,
        ),
        Preset(
            name="gpu",
            description=GPU_DESCRIPTION,
            corpus="gutenberg409", budgets=(1e14, 3e14, 1e15, 3e15),
            ladder=GPU_LADDER, models_per_budget=6, tokens_per_param_guess=GPU_TOKENS_PER_PARAM, batch_size=128,
            lr_at_100k=CPU_LR_RULE.lr_at_100k, lr_exponent=CPU_LR_RULE.exponent, eval_sequences=2048,
            max_tokens=GPU_MAX_EPOCHS * GUTENBERG409_TRAIN_BYTES,
        ),
    ]
}


def get_preset(name: str) -> Preset:
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of: {', '.join(PRESETS)}")
    return PRESETS[name]


# --------------------------------------------------------------------------------------
# Provenance
# --------------------------------------------------------------------------------------


def git_commit() -> str:
    """The scalinglaws checkout's commit (with '+dirty' if files differ), or 'unknown'."""
    here = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True,
                                timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "."], cwd=here, capture_output=True,
                               text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return commit + ("+dirty" if dirty else "")


def versions() -> dict:
    return {"python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__,
            "scalinglaws": git_commit()}


def command_line() -> str:
    """The command that started this process, without machine-specific paths."""
    path = Path(sys.argv[0])
    program = path.name
    if program == "__main__.py":  # python -m scalinglaws ...
        program = "-m scalinglaws"
    elif path.parent == Path(__file__).resolve().parent:  # python -m scalinglaws.tuning ...
        program = f"-m scalinglaws.{path.stem}"
    if "ipykernel" in program:  # a notebook's kernel: its arguments name a private connection file
        return "run_sweep(...) in a Jupyter notebook"
    return " ".join(["python", program, *sys.argv[1:]])


def header_for(name: str, description: str, specs: list[RunSpec], shard: Shard | None = None) -> dict:
    """The header record of a results file: the FULL grid's runs and hash, even for a shard's file."""
    runs = {spec.run_id: spec.settings_hash() for spec in specs}
    header = {"kind": "header", "preset": name, "grid_hash": settings_digest([spec.settings() for spec in specs]),
              "runs": runs, "command": command_line(),
              "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "description": description}
    return header if shard is None else {**header, "shard": str(shard)}


# --------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------

_WORKER: dict = {}  # per-process cache: corpus splits and validation windows


def _splits(corpus: str) -> tuple[np.ndarray, np.ndarray]:
    if corpus not in _WORKER:
        from .corpus import load_tokens

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
    """Train a WSD trunk and its branches (scalinglaws.branches) and return their records; each is also
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
        "train_config": spec.config.to_dict(), "engine": asdict(engine), "device": _device_name(engine),
        "threads": torch.get_num_threads(), "wall_time_s": result.wall_time_s,
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def _device_name(engine: Engine) -> str:
    """The GPU's name, or the CPU's model name (Linux's /proc/cpuinfo), or at least its architecture."""
    if engine.device.startswith("cuda"):
        return torch.cuda.get_device_name()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


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
    from . import corpus

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
    (:mod:`scalinglaws.wsd_plan`); a branch a killed sweep finished is appended from the record
    it saved beside its checkpoints, not trained again.
    """
    if not pending:
        return
    # The code that trains is the code loaded now, when the workers start: record its commit,
    # not the checkout's state when each run ends (it may have moved on during a long sweep).
    code_versions = versions()
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
README_MARK = "<!-- written by scalinglaws.sweep; edits are overwritten -->"


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
        "finished run (see `scalinglaws.results`).",
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
