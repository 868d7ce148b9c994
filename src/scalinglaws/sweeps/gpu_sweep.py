"""The decisive sweep on one GPU: preset 'gpu-decisive', one seed after another, with the device recorded.

    python -m scalinglaws.sweeps.gpu_sweep --out sweeps/gpu-decisive --seeds 0,1,2 --jobs 8
    python -m scalinglaws.sweeps.gpu_sweep --out /tmp/toy --toy --jobs 2      # the same path, seconds on a CPU
    python -m scalinglaws.sweeps.gpu_sweep --describe                          # the grid, nothing trained

Preset 'gpu-decisive' (:mod:`scalinglaws.sweeps.presets`) spans two decades of compute, 7e12 to
7e14 FLOPs, with five sizes of one shape family per budget. Its seed-0 grid is the preset's grid,
so ``OUT/seed0`` is exactly what ``python -m scalinglaws sweep --preset gpu-decisive --out OUT/seed0``
writes; seed k > 0 is the same grid under preset name ``gpu-decisive-seed<k>`` in ``OUT/seed<k>``.
Seeds train one after another, each a complete IsoFLOP sweep, so a sweep stopped by a time limit
leaves whole seeds and one partial one, and the same command resumes it (the runner skips
finished runs). Every run trains in the existing runner (:mod:`scalinglaws.sweeps.runner`):
``--jobs`` worker processes share the device, each training one run at a time.

``OUT/device.json`` records the machine the sweep ran on (GPU, driver, CUDA, torch, CPUs), beside
each run record's own ``device``, ``engine`` and ``versions``. ``--toy`` trains a six-run grid of
micro models on Tiny Shakespeare through the same code: the CPU dry run of
``benchmarks/device_check.sh`` and its test.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import torch

from scalinglaws.papers import counting
from scalinglaws.sweeps import runner
from scalinglaws.sweeps.grid import build_grid
from scalinglaws.sweeps.presets import Preset, get_preset, shape_family
from scalinglaws.training import provenance
from scalinglaws.training.train import Engine

DECISIVE = "gpu-decisive"
#: Worker processes on a GPU: tiny models are launch-bound, so several processes, each launching its
#: own kernels from its own CPU core, keep one device busier than one (benchmarks/bench_gpu_engine.py
#: measures it). 8 of the machine's 16 cores, leaving the rest for the parent and the data.
GPU_JOBS = 8

#: The same path at toy scale: 2 budgets x 3 micro models of one family (heads of 4, d_model = 4 n_layers)
#: on Tiny Shakespeare, context 32, batch 8, the smoke preset's unmeasured learning-rate rule; 555 steps in all.
TOY = Preset(
    name="gpu-decisive-toy",
    description="The CPU dry run of the decisive sweep: its code path in seconds, not its science.",
    corpus="shakespeare", budgets=(2e8, 6e8), ladder=shape_family(range(1, 5), head_size=4, aspect_ratio=4, n_ctx=32),
    models_per_budget=3, tokens_per_param_guess=10.0, batch_size=8, lr_at_100k=4e-3, lr_exponent=0.25,
    eval_sequences=16, n_eval_points=4, min_steps=10,
)


def seeded(preset: Preset, seed: int) -> Preset:
    """``preset`` trained from ``seed``: itself for its own seed, else a copy named '<name>-seed<k>'."""
    if seed < 0:
        raise ValueError(f"seeds must be non-negative integers, got {seed}")
    if seed == preset.seed:
        return preset
    return replace(preset, name=f"{preset.name}-seed{seed}", seed=seed,
                   description=f"{preset.description} Seed {seed}: the same grid from another initialisation "
                               "and data order.")


def seed_dir(out_dir: Path, seed: int) -> Path:
    return Path(out_dir) / f"seed{seed}"


def run_seeds(out_dir: Path, seeds: list[int], jobs: int | None = None, toy: bool = False,
              progress: bool = True) -> list[Path]:
    """Train (or resume) the decisive grid for each seed in turn, into ``out_dir/seed<k>``; the results files."""
    if not seeds:
        raise ValueError("give at least one seed, e.g. --seeds 0")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"every seed must be listed once, got {seeds}")
    preset = TOY if toy else get_preset(DECISIVE)
    jobs = default_jobs() if jobs is None else jobs
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_device_info(out_dir / "device.json")
    paths = []
    for seed in seeds:
        chosen = seeded(preset, seed)
        paths.append(runner.run_specs(chosen.name, chosen.description, build_grid(chosen), seed_dir(out_dir, seed),
                                      jobs, progress))
    return paths


def default_jobs() -> int:
    return GPU_JOBS if torch.cuda.is_available() else runner.DEFAULT_JOBS


def device_info() -> dict:
    """The machine a sweep runs on: what its results' speed and bf16 numerics depend on."""
    engine = Engine.default()
    info = {"engine": {"device": engine.device, "bf16": engine.bf16, "compile": engine.compile,
                       "check_every": engine.check_every},
            "device_name": provenance.device_name(engine), "cuda": torch.version.cuda,
            "cpu_count": os.cpu_count(), "platform": platform.platform(),
            **provenance.versions()}  # python, torch, numpy and the code's commit, as every run record has them
    if torch.cuda.is_available():
        properties = torch.cuda.get_device_properties(0)
        info.update(gpu_count=torch.cuda.device_count(), gpu_memory_bytes=properties.total_memory,
                    compute_capability=f"{properties.major}.{properties.minor}",
                    multiprocessors=properties.multi_processor_count, nvidia_smi=_nvidia_smi())
    return info


def _nvidia_smi() -> str | None:
    """nvidia-smi's one-line summary of the GPU (driver, memory, clocks), or None where it cannot run."""
    query = "name,driver_version,memory.total,clocks.max.sm,clocks.max.memory,power.limit"
    try:
        return subprocess.run(["nvidia-smi", f"--query-gpu={query}", "--format=csv,noheader"], capture_output=True,
                              text=True, timeout=30, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def write_device_info(path: Path) -> None:
    Path(path).write_text(json.dumps(device_info(), indent=2) + "\n")


def describe(preset: Preset, seeds: int = 1) -> str:
    """The grid as a table: per run its size, batch, steps, tokens per parameter and peak learning rate."""
    specs = build_grid(preset)
    header = (f"{'budget':>8} {'layers':>6} {'d_model':>7} {'params':>10} {'batch':>5} {'steps':>7} "
              f"{'tokens/param':>12} {'peak lr':>8}")
    lines = [f"preset {preset.name!r} on {preset.corpus!r}: {len(specs)} runs per seed", "", header]
    for spec in specs:
        shape, config = spec.config.shape, spec.config
        n_params = counting.params_total(shape)
        lines.append(f"{spec.budget:>8.2g} {shape.n_layers:>6} {shape.d_model:>7} {n_params:>10,} "
                     f"{config.batch_size:>5} {config.steps:>7,} {config.tokens / n_params:>12.0f} "
                     f"{config.peak_lr:>8.3g}")
    steps, tokens, flops = (sum(spec.config.steps for spec in specs), sum(spec.config.tokens for spec in specs),
                            sum(spec.flops for spec in specs))
    total = (f"per seed: {steps:,} optimizer steps, {tokens:.3g} tokens, {flops:.3g} FLOPs (6ND); "
             f"{seeds} seed(s): {seeds * flops:.3g} FLOPs")
    lines += ["", total]
    return "\n".join(lines)


def seed_list(text: str) -> list[int]:
    """``--seeds 0,1,2`` as [0, 1, 2]; anything else is a usage error naming the text."""
    try:
        seeds = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated seeds such as 0,1,2, got {text!r}") from None
    if any(seed < 0 for seed in seeds) or len(set(seeds)) != len(seeds):
        raise argparse.ArgumentTypeError(f"seeds must be distinct non-negative integers, got {text!r}")
    return seeds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scalinglaws.sweeps.gpu_sweep", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, help="directory of the sweep: OUT/device.json, OUT/seed<k>/results.jsonl")
    parser.add_argument("--seeds", type=seed_list, default=[0], help="seeds to train in turn (default: 0)")
    parser.add_argument("--jobs", type=int, default=None,
                        help=f"worker processes (default: {GPU_JOBS} on a GPU, {runner.DEFAULT_JOBS} on a CPU)")
    parser.add_argument("--toy", action="store_true", help="the six-run toy grid on Tiny Shakespeare (CPU dry run)")
    parser.add_argument("--describe", action="store_true", help="print the grid and exit, training nothing")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar (logs)")
    args = parser.parse_args(argv)
    preset = TOY if args.toy else get_preset(DECISIVE)
    if args.describe:
        print(describe(preset, len(args.seeds)))
        return 0
    if args.out is None:
        parser.error("--out is required to train (or give --describe)")
    if args.jobs is not None and args.jobs < 1:
        parser.error(f"--jobs must be a positive number of worker processes, got {args.jobs}")
    for path in run_seeds(args.out, args.seeds, args.jobs, args.toy, progress=not args.no_progress):
        print(f"results: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
