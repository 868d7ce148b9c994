"""How fast do tiny GPTs train on this machine? Prints figures; not a test.

    python benchmarks/bench_training.py            # everything (a few minutes on 2 cores)
    python benchmarks/bench_training.py --quick    # fewer steps

1. The matmul peak: the best of several 4096^3 fp32 matmuls (and bf16, for reference),
   with 1 thread and with all threads.
2. The training step of three models of the ``cpu`` preset (smallest, middle, largest):
   model FLOPs per second (Hoffmann Appendix F, embeddings and logits included, per token
   x tokens per second) and their ratio to the matmul peak (MFU), through the sweep's
   engine (:func:`scalinglaws.training.train.train`) and through a plain eager reference loop
   (nanoGPT-like: default AdamW, no clipping, numpy batches) on the same model and batch.
3. Engine variants on the middle model: bf16 autocast and torch.compile (compile time shown).
4. The choice behind ``sweep.DEFAULT_JOBS``: the same set of runs in 1 process x all threads
   and in N single-threaded worker processes.
5. The preset's estimated wall time: every distinct model's measured tokens/s (1 thread),
   times the tokens of its runs plus their held-out evaluations, spread over the workers.

The cores may be shared: every timing is printed next to the 1-minute load average.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import time

import numpy as np
import torch

from scalinglaws.papers import counting
from scalinglaws.sweeps.grid import build_grid
from scalinglaws.sweeps.presets import PRESETS
from scalinglaws.training.model import GPT
from scalinglaws.training.train import Engine, TrainConfig, train

from bench_gpu_engine import matmul_flops  # a script beside this one (its folder is first on sys.path)


def load() -> str:
    return f"load {os.getloadavg()[0]:.2f}"


def matmul_peak(dtype: torch.dtype, n: int = 4096, repeats: int = 5) -> float:
    """Best FLOP rate of an n^3 matmul (2 n^3 FLOPs) over ``repeats`` tries."""
    return matmul_flops(n, dtype, best_of=repeats)


def random_bytes(size: int = 2_000_000) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, size, dtype=np.uint8)


def engine_rate(shape: counting.TransformerShape, batch: int, steps: int, engine: Engine) -> tuple[float, float]:
    """Tokens per second of the sweep's own loop (one held-out evaluation, on 1 window, at the end).

    Returns (tokens/s measured after a warm-up run, seconds of the warm-up run, which includes compilation)."""
    data = random_bytes()
    warm_config = TrainConfig(shape, steps=10, batch_size=batch, peak_lr=1e-3, n_eval_points=1, eval_sequences=1)
    start = time.perf_counter()
    train(warm_config, data, data[:10_000], engine)
    warm_up = time.perf_counter() - start
    config = TrainConfig(shape, steps=steps, batch_size=batch, peak_lr=1e-3, n_eval_points=1, eval_sequences=1)
    result = train(config, data, data[:10_000], engine)
    return result.tokens_seen / result.wall_time_s, warm_up


def reference_rate(shape: counting.TransformerShape, batch: int, steps: int) -> float:
    """Tokens per second of a plain eager loop: nanoGPT's get_batch, default AdamW, no clipping."""
    data = random_bytes()
    torch.manual_seed(0)
    model = GPT(shape)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(0)

    def get_batch():
        starts = rng.integers(0, len(data) - shape.n_ctx - 1, batch)
        x = torch.stack([torch.from_numpy(data[i:i + shape.n_ctx].astype(np.int64)) for i in starts])
        y = torch.stack([torch.from_numpy(data[i + 1:i + 1 + shape.n_ctx].astype(np.int64)) for i in starts])
        return x, y

    def step():
        x, y = get_batch()
        _, loss = model(x, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        loss.item()

    for _ in range(5):
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return steps * batch * shape.n_ctx / (time.perf_counter() - start)


def describe(shape: counting.TransformerShape) -> str:
    return f"L{shape.n_layers} d{shape.d_model} (N={counting.params_total(shape):,})"


def _timed_run(config: TrainConfig) -> float:
    data = random_bytes()
    return train(config, data, data[:10_000], Engine()).wall_time_s


def _one_thread() -> None:
    torch.set_num_threads(1)


def jobs_comparison(configs: list[TrainConfig], workers: int) -> tuple[float, float]:
    """Wall seconds for ``configs`` in 1 process x all threads, then in ``workers`` 1-thread processes."""
    threads = torch.get_num_threads()
    start = time.perf_counter()
    for config in configs:
        _timed_run(config)
    single = time.perf_counter() - start
    torch.set_num_threads(threads)
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers, initializer=_one_thread) as pool:
        pool.map(_timed_run, configs[:workers])  # start-up and first-touch costs, not timed
        start = time.perf_counter()
        pool.map(_timed_run, configs)
        multi = time.perf_counter() - start
    return single, multi


def estimate_wall_time(preset_name: str, steps: int, workers: int) -> None:
    """Predict a preset's wall time from each model's measured single-thread throughput."""
    preset = PRESETS[preset_name]
    grid = build_grid(preset)
    torch.set_num_threads(1)
    rates = {}
    for shape, batch in sorted({(spec.config.shape, spec.config.batch_size) for spec in grid},
                               key=lambda pair: (counting.params_total(pair[0]), pair[1])):
        rates[shape, batch], _ = engine_rate(shape, batch, steps, Engine())
        print(f"   {describe(shape):24s} batch {batch:3d} {rates[shape, batch] / 1e3:7.1f}K tok/s   {load()}")
    seconds = []
    for spec in grid:
        config = spec.config
        evaluated = config.n_eval_points * config.eval_sequences * config.shape.n_ctx
        rate = rates[config.shape, config.batch_size]
        seconds.append((config.tokens + evaluated / 3) / rate)  # a forward pass ~ 1/3 of a step
    total = sum(seconds)
    print(f"   {len(grid)} runs, {sum(spec.flops for spec in grid):.3g} FLOPs (6ND): {total / 3600:.2f} h of one "
          f"core; longest run {max(seconds) / 60:.0f} min; ~{max(total / workers, max(seconds)) / 3600:.2f} h "
          f"with {workers} single-threaded workers on idle cores")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer steps per measurement")
    parser.add_argument("--preset", default="cpu", help="preset whose models are measured")
    parser.add_argument("--estimate-only", action="store_true", help="only section 5, the wall-time estimate")
    args = parser.parse_args()
    if args.estimate_only:
        print(f"5. estimated wall time of preset {args.preset!r}   {load()}")
        estimate_wall_time(args.preset, 20 if args.quick else 60, torch.get_num_threads())
        return
    steps = 20 if args.quick else 60
    cores = torch.get_num_threads()
    print(f"torch {torch.__version__}, {cores} threads, {os.cpu_count()} CPUs; {load()}")

    print("\n1. matmul peak (4096^3, best of 5)")
    peaks = {}
    for threads in sorted({1, cores}):
        torch.set_num_threads(threads)
        peaks[threads] = matmul_peak(torch.float32)
        bf16 = matmul_peak(torch.bfloat16)
        print(f"   {threads} thread(s): fp32 {peaks[threads] / 1e9:7.1f} GFLOP/s   bf16 {bf16 / 1e9:7.1f} GFLOP/s   {load()}")

    preset = PRESETS[args.preset]
    grid = build_grid(preset)
    ladder = sorted({spec.config.shape for spec in grid}, key=counting.params_total)
    chosen = [ladder[0], ladder[len(ladder) // 2], ladder[-1]]
    batch = preset.batch_size
    print(f"\n2. training step, batch {batch} x {chosen[0].n_ctx} bytes, fp32 eager; "
          "model FLOPs by Appendix F incl. embeddings; MFU against the fp32 matmul peak")
    for threads in sorted({1, cores}):
        torch.set_num_threads(threads)
        for shape in chosen:
            per_token = counting.chinchilla_flops_per_token(shape)
            engine_tokens, _ = engine_rate(shape, batch, steps, Engine())
            reference_tokens = reference_rate(shape, batch, steps)
            print(f"   {threads} thread(s) {describe(shape):24s} engine {engine_tokens / 1e3:7.1f}K tok/s "
                  f"{engine_tokens * per_token / 1e9:6.1f} GFLOP/s MFU {engine_tokens * per_token / peaks[threads]:5.1%}"
                  f" | plain loop {reference_tokens / 1e3:7.1f}K tok/s MFU "
                  f"{reference_tokens * per_token / peaks[threads]:5.1%}   {load()}")

    torch.set_num_threads(1)
    middle = chosen[1]
    print(f"\n3. engine variants, {describe(middle)}, 1 thread (warm-up = first 10-step run, incl. compilation)")
    for name, engine in [("fp32 eager", Engine()), ("bf16 autocast", Engine(bf16=True)),
                         ("torch.compile fp32", Engine(compile=True))]:
        tokens, warm_up = engine_rate(middle, batch, steps, engine)
        print(f"   {name:20s} {tokens / 1e3:7.1f}K tok/s  warm-up {warm_up:5.1f} s   {load()}")
    torch.set_num_threads(cores)

    print(f"\n4. {cores} threads in 1 process vs {cores} single-threaded worker processes (spawn)")
    configs = [TrainConfig(shape, steps=steps * 2, batch_size=batch, peak_lr=1e-3, n_eval_points=1, eval_sequences=1)
               for shape in (chosen * 2)]
    single, multi = jobs_comparison(configs, cores)
    print(f"   {len(configs)} runs: 1 process x {cores} threads {single:6.1f} s | {cores} processes x 1 thread "
          f"{multi:6.1f} s  -> speed-up {single / multi:4.2f}x   {load()}")

    print(f"\n5. estimated wall time of preset {args.preset!r}")
    estimate_wall_time(args.preset, steps, cores)


if __name__ == "__main__":
    main()
