"""What makes the tiny shapes cheap per token? Prints figures; not a test (issue 12, part 2).

    python benchmarks/bench_tiny_shapes.py            # ~10 min on 2 cores
    python benchmarks/bench_tiny_shapes.py --quick    # fewer steps and rounds

For a small, a middle and the largest shape of the `cpu` ladder, and the same width and depth
with a head size fixed at 16 or 32 (fewer, wider heads: the same parameter count N, another
model), it trains with the sweep's own loop (:class:`scalinglaws.training.train.RunState`, one thread,
batch 8 x 128 bytes as the small budgets use) under each option:

- ``eager``: today's engine (PyTorch picks CPU flash attention for SDPA);
- ``math``: SDPA forced to its plain math kernel;
- ``compile``: ``torch.compile`` of the model (forward and backward), its compile time
  printed and amortised over the steps of every run of that shape in the `cpu` grid.

FLOPs are counted honestly, by Hoffmann et al. 2022 Appendix F (attention scores, softmax and
the tied output head included, :func:`scalinglaws.papers.counting.chinchilla_flops_per_token`), not by
6N, which leaves out attention's 6 n_layers n_ctx d_attn and makes small shapes look idle.

Options are measured in interleaved rounds (every option once per round, the median round
reported), so the ratios are side by side under the same load; the 1-minute load is printed
with every round.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from contextlib import nullcontext
from dataclasses import replace

import numpy as np
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel

from scalinglaws.papers import counting
from scalinglaws.papers.counting import TransformerShape
from scalinglaws.sweeps.grid import build_grid
from scalinglaws.sweeps.presets import get_preset
from scalinglaws.training.train import Engine, RunState, TrainConfig

BATCH = 8


def load() -> float:
    return os.getloadavg()[0]


def variants(shape: TransformerShape) -> dict[str, TransformerShape]:
    """Today's shape and the same width and depth with heads of 16 and 32 (where they divide)."""
    out = {f"h{shape.n_heads} (head {shape.head_dim})": shape}
    for head in (16, 32):
        if shape.d_model % head == 0 and shape.d_model // head != shape.n_heads:
            out[f"h{shape.d_model // head} (head {head})"] = replace(shape, n_heads=shape.d_model // head)
    return out


def seconds_per_step(shape: TransformerShape, option: str, steps: int, data: np.ndarray) -> tuple[float, float]:
    """(seconds per step, compile seconds or 0) for ``steps`` steps of the sweep's loop."""
    config = TrainConfig(shape=shape, steps=steps + 10, batch_size=BATCH, peak_lr=3e-3, eval_sequences=1)
    engine = Engine(compile=option == "compile")
    context = sdpa_kernel([SDPBackend.MATH]) if option == "math" else nullcontext()
    with context:
        state = RunState(config, data, data[:10_000], engine)
        start = time.perf_counter()
        state.advance(10, config.learning_rate, ())  # warm up (and compile)
        compile_s = time.perf_counter() - start if option == "compile" else 0.0
        start = time.perf_counter()
        state.advance(10 + steps, config.learning_rate, ())
        elapsed = time.perf_counter() - start
    return elapsed / steps, compile_s


def grid_steps(shape: TransformerShape) -> int:
    """Optimizer steps the `cpu` grid trains this width and depth for, over all its runs (0 if none)."""
    return sum(spec.config.steps for spec in build_grid(get_preset("cpu"))
               if (spec.config.shape.n_layers, spec.config.shape.d_model) == (shape.n_layers, shape.d_model))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rounds = 2 if args.quick else 3
    data = np.random.default_rng(0).integers(0, 256, 2_000_000, dtype=np.uint8)
    ladder = get_preset("cpu").ladder
    grid_shapes = {spec.config.shape for spec in build_grid(get_preset("cpu"))}
    in_grid = [shape for shape in ladder if shape in grid_shapes]
    picks = {"small": in_grid[2], "middle": in_grid[5], "largest": in_grid[-1]}
    print(f"torch {torch.__version__}, 1 thread, batch {BATCH} x 128 bytes; load at start {load():.2f}")
    for label, base in picks.items():
        n = counting.params_total(base)
        steps = max(20, int((60 if args.quick else 200) * 40_000 / max(n, 40_000)))
        shapes = variants(base)
        options = [(name, shape, option) for name, shape in shapes.items() for option in ("eager", "math", "compile")]
        timings: dict = {key[:1] + key[2:]: [] for key in options}
        compiled: dict = {}
        loads = []
        for _ in range(rounds):
            for name, shape, option in options:
                per_step, compile_s = seconds_per_step(shape, option, steps, data)
                timings[(name, option)].append(per_step)
                compiled.setdefault((shape, option), compile_s)  # the first round's compile is the real one
            loads.append(load())
        print(f"\n{label}: L{base.n_layers} d{base.d_model}, N = {n:,d} total parameters; {steps} steps x "
              f"{rounds} rounds, loads {', '.join(f'{x:.2f}' for x in loads)}")
        print(f"  {'heads':<16} {'option':<8} {'ms/step':>8} {'tokens/s':>9} {'GFLOP/s':>8} {'vs today':>8}"
              f" {'compile s':>9} {'amortised':>9}")
        baseline = statistics.median(timings[(next(iter(shapes)), "eager")])
        cpu_steps = grid_steps(base)
        for name, shape, option in options:
            per_step = statistics.median(timings[(name, option)])
            tokens_per_s = BATCH * shape.n_ctx / per_step
            flops = counting.chinchilla_flops_per_token(shape) * tokens_per_s
            compile_s = compiled[(shape, option)]
            # Compile once per shape for all of its grid runs: total time with compile vs eager today.
            amortised = (f"{baseline * cpu_steps / (per_step * cpu_steps + compile_s):.2f}x"
                         if option == "compile" and cpu_steps else "")
            print(f"  {name:<16} {option:<8} {1e3 * per_step:>8.2f} {tokens_per_s:>9.0f} {flops / 1e9:>8.2f} "
                  f"{baseline / per_step:>7.2f}x {compile_s:>9.1f} {amortised:>9}")
        if cpu_steps:
            print(f"  (the cpu grid trains this width and depth for {cpu_steps:,d} steps in all; 'amortised' is "
                  f"today's eager time over compiled time including one compile)")
    proposed_family(rounds, data, quick=args.quick)
    print(f"\nload at end {load():.2f}")


#: A candidate ladder for the tuned sweep (issue 13): d_model = 16 n_layers, heads of 16, 2-6 layers.
PROPOSED = tuple(TransformerShape(n_layers=l, d_model=16 * l, n_heads=l, n_ctx=128) for l in range(2, 7))


def proposed_family(rounds: int, data: np.ndarray, quick: bool) -> None:
    """Each proposed shape against today's ladder shape nearest in N, eager, side by side."""
    ladder = get_preset("cpu").ladder
    print("\nProposed family (d_model = 16 n_layers, head size 16) against today's ladder shape nearest in N, eager:")
    print(f"  {'proposed':<12} {'N':>8} {'tokens/s':>9} | {'today':<12} {'N':>8} {'tokens/s':>9} | "
          f"{'tokens/s ratio':>14} {'6N-rate ratio':>13} {'loads':>10}")
    for shape in PROPOSED:
        n = counting.params_total(shape)
        today = min(ladder, key=lambda other: abs(np.log(counting.params_total(other) / n)))
        steps = max(20, int((60 if quick else 200) * 40_000 / max(n, 40_000)))
        per_step = {shape: [], today: []}
        loads = []
        for _ in range(rounds):
            for which in (shape, today):
                per_step[which].append(seconds_per_step(which, "eager", steps, data)[0])
            loads.append(load())
        rate = {which: BATCH * which.n_ctx / statistics.median(times) for which, times in per_step.items()}
        n_today = counting.params_total(today)
        print(f"  {_name(shape):<12} {n:>8,d} {rate[shape]:>9.0f} | {_name(today):<12} {n_today:>8,d} "
              f"{rate[today]:>9.0f} | {rate[shape] / rate[today]:>13.2f}x {rate[shape] * n / (rate[today] * n_today):>12.2f}x "
              f"{'/'.join(f'{x:.1f}' for x in loads):>10}")
    print("  (6N-rate ratio: tokens/s x N, which compares shapes whose N differ)")


def _name(shape: TransformerShape) -> str:
    return f"L{shape.n_layers} d{shape.d_model} h{shape.n_heads}"


if __name__ == "__main__":
    main()
