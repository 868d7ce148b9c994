"""Throughput of the training engine on one device, three ways: 1 process, K processes, K batched models.

    python benchmarks/bench_gpu_engine.py --device cuda            # the device check, about 1-2 min on an H200
    python benchmarks/bench_gpu_engine.py --device cpu --quick     # the same table at toy scale, seconds

Tiny models are launch-bound on a GPU: a step of a 50K-parameter model is hundreds of kernels
that each finish long before the next is launched. For four sizes of the decisive sweep's shape
family (heads of 16, d_model = 16 n_layers; about 50K, 500K, 5M and 20M parameters) this trains
with the sweep's own loop and measures tokens per second three ways:

- ``1 process``: :class:`scalinglaws.training.train.RunState`, as a sweep worker trains one run;
- ``K processes``: K such processes at once sharing the device, started together at a barrier
  (the runner's ``--jobs K``); throughput = all their tokens over the wall time from the common
  start to the last finish;
- ``K batched``: K models of the shape stacked into one (:mod:`scalinglaws.training.batched`).

Each row prints the step time, tokens per second over all models, and model FLOPs utilisation
(MFU): achieved FLOP/s over the device's own peak, measured here by a square matrix product loop
(bf16 on CUDA, fp32 on a CPU). Achieved FLOPs are counted two ways: 6N per token (N = total
parameters, the sweep's C = 6ND) and Hoffmann et al.'s Appendix F (attention and the output head
included, :func:`scalinglaws.papers.counting.chinchilla_flops_per_token`), which is larger for
small shapes. ``--quick`` swaps in micro models and a few steps: it checks the machinery (and
runs in the CPU dry run of ``benchmarks/device_check.sh``), not the device. Every row is printed
as soon as it is measured, and appended to ``--out`` (the table) and ``--json`` (one JSON object a
row), so a benchmark stopped by a time limit keeps its finished rows. A way that fails (out of
memory, say) prints a 'failed' row and the benchmark goes on.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from scalinglaws.papers import counting
from scalinglaws.papers.counting import TransformerShape
from scalinglaws.sweeps.gpu_sweep import TOY
from scalinglaws.sweeps.presets import shape_family
from scalinglaws.training import provenance
from scalinglaws.training.batched import BatchedRun
from scalinglaws.training.train import Engine, RunState, TrainConfig

#: Target sizes (total parameters); each is measured on the family shape nearest to it in log N.
TARGET_SIZES = (5e4, 5e5, 5e6, 2e7)
#: The decisive sweep's family (scalinglaws.sweeps.presets.DECISIVE_LADDER), continued to 24 layers for 20M.
FAMILY = shape_family(range(1, 25), head_size=16, aspect_ratio=16)
WAYS = ("1 process", "K processes", "K batched")
COMPILED = "1 process, compiled"
SYNTHETIC_BYTES = 4_000_000  # random training bytes: the speed of a step does not depend on the text


@dataclass(frozen=True)
class Setting:
    """How each size is measured: device, precision, batch, steps, and K."""

    device: str
    bf16: bool
    batch_size: int
    warmup_steps: int
    timed_steps: int
    k: int

    def engine(self, compile: bool = False) -> Engine:
        return Engine(device=self.device, bf16=self.bf16, compile=compile, check_every=50)

    def config(self, shape: TransformerShape, seed: int = 0) -> TrainConfig:
        """A run long enough for the warmup and the timed steps (its schedule never matters here)."""
        return TrainConfig(shape=shape, steps=self.warmup_steps + self.timed_steps + 1, batch_size=self.batch_size,
                           peak_lr=1e-3, seed=seed, eval_sequences=1)


def setting_for(device: str, quick: bool, k: int) -> Setting:
    if quick:
        return Setting(device, bf16=device == "cuda", batch_size=8, warmup_steps=2, timed_steps=5, k=k)
    # The gpu-decisive preset's large batch, 128 x 128 bytes, with bf16 autocast on CUDA.
    return Setting(device, bf16=device == "cuda", batch_size=128, warmup_steps=20, timed_steps=100, k=k)


def shapes_for(quick: bool) -> list[TransformerShape]:
    """The four sizes: the family shapes nearest the targets, or with --quick the toy sweep's micro family."""
    if quick:
        return list(shape_family(range(1, 5), head_size=4, aspect_ratio=4, n_ctx=TOY.ladder[0].n_ctx))
    return [counting.nearest_shape(FAMILY, target) for target in TARGET_SIZES]


def synthetic_tokens(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, SYNTHETIC_BYTES, dtype=np.uint8)


def synchronize(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


# --------------------------------------------------------------------------------------
# The device's peak and each way's measurement
# --------------------------------------------------------------------------------------


def matmul_flops(n: int, dtype: torch.dtype, device: str = "cpu", repeats: int = 1, warmup: int = 1,
                 best_of: int = 1) -> float:
    """FLOP/s of n x n matrix products (2 n^3 FLOPs each) on ``device``: after ``warmup`` products, the best
    of ``best_of`` timings of ``repeats`` back-to-back products, each from the first launch until the
    device has finished them."""
    a = torch.randn(n, n, device=device).to(dtype)
    b = torch.randn(n, n, device=device).to(dtype)
    for _ in range(warmup):
        a @ b
    best = math.inf
    for _ in range(best_of):
        synchronize(device)
        start = time.perf_counter()
        for _ in range(repeats):
            a @ b
        synchronize(device)
        best = min(best, time.perf_counter() - start)
    return 2 * n ** 3 * repeats / best


def measure_peak(device: str) -> tuple[float, str]:
    """FLOP/s of a square matrix product loop, the MFU denominator: bf16 on CUDA, fp32 on a CPU."""
    n, dtype = (8192, torch.bfloat16) if device.startswith("cuda") else (384, torch.float32)
    peak = matmul_flops(n, dtype, device, repeats=20, warmup=3)
    return peak, f"{str(dtype).removeprefix('torch.')} matmul {n}^3"


def time_single(shape: TransformerShape, setting: Setting, data: np.ndarray, compile: bool = False) -> float:
    """Seconds for the timed steps of one run in this process (after warmup, and compilation if any)."""
    config = setting.config(shape)
    state = RunState(config, data, data[:100_000], setting.engine(compile))
    state.advance(setting.warmup_steps, config.learning_rate, ())
    synchronize(setting.device)
    start = time.perf_counter()
    state.advance(setting.warmup_steps + setting.timed_steps, config.learning_rate, ())
    synchronize(setting.device)
    return time.perf_counter() - start


def time_batched(shape: TransformerShape, setting: Setting, data: np.ndarray) -> float:
    """Seconds for the timed steps of K stacked models (seeds 0..K-1) in this process."""
    configs = [setting.config(shape, seed) for seed in range(setting.k)]
    run = BatchedRun(configs, data, data[:100_000], setting.engine())
    run.advance(setting.warmup_steps)
    synchronize(setting.device)
    start = time.perf_counter()
    run.advance(setting.warmup_steps + setting.timed_steps)
    synchronize(setting.device)
    return time.perf_counter() - start


class ProcessGroup:
    """K worker processes, started once, that time one run each per size, together.

    Each worker has its own inbox, so every size goes to every worker exactly once; a shared
    barrier starts their timed steps at the same moment (after each has built its model and
    warmed up), and each reports its start and end on the machine-wide monotonic clock.
    """

    def __init__(self, k: int, timeout_s: float = 300.0):
        context = multiprocessing.get_context("spawn")
        self.k, self.timeout_s = k, timeout_s
        self.barrier = context.Barrier(k)
        self.outbox = context.Queue()
        self.inboxes = [context.Queue() for _ in range(k)]
        self.workers = [context.Process(target=_worker, args=(index, inbox, self.outbox, self.barrier), daemon=True)
                        for index, inbox in enumerate(self.inboxes)]
        for worker in self.workers:
            worker.start()

    def time(self, shape: TransformerShape, setting: Setting) -> float:
        """Wall seconds from the first worker's timed start to the last one's end."""
        for inbox in self.inboxes:
            inbox.put((shape, setting))
        replies = [self.outbox.get(timeout=self.timeout_s) for _ in range(self.k)]
        failures = [reply[1] for reply in replies if reply[0] == "error"]
        if failures:
            self.barrier.reset()  # every worker has replied: the next size starts from a whole barrier
            raise RuntimeError(failures[0])
        return max(end for _, _, end in replies) - min(start for _, start, _ in replies)

    def close(self) -> None:
        for inbox in self.inboxes:
            inbox.put(None)
        for worker in self.workers:
            worker.join(timeout=30)
            if worker.is_alive():
                worker.kill()


def _worker(index: int, inbox, outbox, barrier) -> None:
    torch.set_num_threads(1)  # as the sweep's workers train
    data = synthetic_tokens(index)
    while (task := inbox.get()) is not None:
        shape, setting = task
        state = None
        try:
            config = setting.config(shape, seed=index)
            state = RunState(config, data, data[:100_000], setting.engine())
            state.advance(setting.warmup_steps, config.learning_rate, ())
            synchronize(setting.device)
            barrier.wait(timeout=300)
            start = time.monotonic()  # the machine-wide clock: comparable between processes
            state.advance(setting.warmup_steps + setting.timed_steps, config.learning_rate, ())
            synchronize(setting.device)
            outbox.put(("ok", start, time.monotonic()))
        except Exception as error:  # the row's failure; aborting releases the workers at the barrier
            barrier.abort()
            outbox.put(("error", f"worker {index}: {type(error).__name__}: {error}"))
        finally:
            del state
            if setting.device.startswith("cuda"):
                torch.cuda.empty_cache()


# --------------------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------------------

COLUMNS = (f"{'layers':>6} {'d_model':>7} {'params':>11} {'way':<20} {'models':>6} {'ms/step':>9} "
           f"{'tokens/s':>12} {'TFLOP/s 6N':>10} {'MFU 6N':>7} {'MFU App.F':>9}")


def row(shape: TransformerShape, way: str, models: int, seconds: float | None, setting: Setting, peak: float,
        note: str = "") -> dict:
    """One measurement: what was timed and what it achieved (None where it failed or was skipped)."""
    n_params = counting.params_total(shape)
    record = {"n_layers": shape.n_layers, "d_model": shape.d_model, "n_heads": shape.n_heads, "n_ctx": shape.n_ctx,
              "params": n_params, "way": way, "models": models, "seconds": seconds, "note": note,
              "setting": asdict(setting), "peak_flops": peak}
    if seconds is not None:
        tokens_per_s = models * setting.timed_steps * setting.batch_size * shape.n_ctx / seconds
        record.update(ms_per_step=1e3 * seconds / setting.timed_steps, tokens_per_s=tokens_per_s,
                      flops_6n=6 * n_params * tokens_per_s,
                      flops_appendix_f=counting.chinchilla_flops_per_token(shape) * tokens_per_s)
        record.update(mfu_6n=record["flops_6n"] / peak, mfu_appendix_f=record["flops_appendix_f"] / peak)
    return record


def format_row(record: dict) -> str:
    head = (f"{record['n_layers']:>6} {record['d_model']:>7} {record['params']:>11,} {record['way']:<20} "
            f"{record['models']:>6}")
    if record["seconds"] is None:
        return f"{head} {record['note']}"
    return (f"{head} {record['ms_per_step']:>9.2f} {record['tokens_per_s']:>12,.0f} {record['flops_6n'] / 1e12:>10.3f} "
            f"{100 * record['mfu_6n']:>6.2f}% {100 * record['mfu_appendix_f']:>8.2f}%")


class Report:
    """Prints each line and appends it to the table file; rows also go to the JSON-lines file."""

    def __init__(self, table: Path | None, rows: Path | None):
        self.table, self.rows = table, rows
        for path in (table, rows):
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text("")

    def line(self, text: str) -> None:
        print(text, flush=True)
        if self.table is not None:
            with open(self.table, "a") as handle:
                handle.write(text + "\n")

    def record(self, record: dict) -> None:
        self.line(format_row(record))
        if self.rows is not None:
            with open(self.rows, "a") as handle:
                handle.write(json.dumps(record) + "\n")


def run(device: str, quick: bool, k: int, ways: list[str], time_limit_s: float, report: Report) -> list[dict]:
    """Measure every (size, way) in order, size by size, until done or past ``time_limit_s``."""
    started = time.perf_counter()
    setting = setting_for(device, quick, k)
    torch.set_num_threads(1)  # every way launches from one thread per process, as the sweep's workers do
    peak, peak_how = measure_peak(device)
    precision = "bf16 autocast" if setting.bf16 else "fp32"
    report.line(f"device {device} ({provenance.device_name(setting.engine())}), torch {torch.__version__}, "
                f"{precision}, eager; K = {k}; batch {setting.batch_size} x n_ctx per model; "
                f"{setting.warmup_steps} warmup + {setting.timed_steps} timed steps")
    report.line(f"peak {peak / 1e12:.3f} TFLOP/s ({peak_how}, measured here); MFU = model FLOP/s / peak")
    report.line(COLUMNS)
    data = synthetic_tokens()
    group = ProcessGroup(k) if "K processes" in ways else None
    records = []
    try:
        for shape in shapes_for(quick):
            for way in ways:
                models = k if way in ("K processes", "K batched") else 1
                if time.perf_counter() - started > time_limit_s:
                    record = row(shape, way, models, None, setting, peak, f"skipped: past the {time_limit_s:g} s limit")
                else:
                    try:
                        seconds = (time_single(shape, setting, data) if way == "1 process"
                                   else time_single(shape, setting, data, compile=True) if way == COMPILED
                                   else group.time(shape, setting) if way == "K processes"
                                   else time_batched(shape, setting, data))
                        record = row(shape, way, models, seconds, setting, peak)
                    except Exception as error:  # out of memory, a missing kernel: say so, measure the rest
                        record = row(shape, way, models, None, setting, peak,
                                     f"failed: {type(error).__name__}: {str(error).splitlines()[0][:160]}")
                    if device.startswith("cuda"):
                        torch.cuda.empty_cache()
                report.record(record)
                records.append(record)
    finally:
        if group is not None:
            group.close()
    report.line(f"done in {time.perf_counter() - started:.1f} s")
    return records


def way_list(text: str) -> list[str]:
    names = {"single": "1 process", "procs": "K processes", "batched": "K batched", "compiled": COMPILED}
    chosen = [part.strip() for part in text.split(",")]
    unknown = [part for part in chosen if part not in names]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(f"unknown way(s) {unknown}: choose from {', '.join(names)}")
    return [names[part] for part in chosen]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda", help="cuda or cpu (default: cuda)")
    parser.add_argument("--quick", action="store_true", help="micro models and a few steps: the machinery only")
    parser.add_argument("--k", type=int, default=None, help="models at once in the K ways (default: 8; 2 with --quick)")
    parser.add_argument("--ways", type=way_list, default=list(WAYS),
                        help="comma-separated, from single,procs,batched,compiled (default: single,procs,batched)")
    parser.add_argument("--time-limit", type=float, default=float("inf"),
                        help="seconds; later measurements are skipped (listed as such) once past it")
    parser.add_argument("--out", type=Path, help="also write the table here")
    parser.add_argument("--json", type=Path, help="also write one JSON object per row here")
    args = parser.parse_args(argv)
    if args.device not in ("cuda", "cpu"):
        parser.error(f"unknown device {args.device!r}: choose cuda or cpu")
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda, but torch sees no CUDA device here (torch "
                     f"{torch.__version__}); use --device cpu for the dry run")
    k = args.k if args.k is not None else (2 if args.quick else 8)
    if k < 1:
        parser.error(f"--k must be at least 1, got {k}")
    if not args.time_limit > 0 or math.isnan(args.time_limit):
        parser.error(f"--time-limit must be a positive number of seconds, got {args.time_limit}")
    run(args.device, args.quick, k, args.ways, args.time_limit, Report(args.out, args.json))
    return 0


if __name__ == "__main__":
    sys.exit(main())
