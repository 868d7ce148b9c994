"""Benchmark Approach 3 on Besiroglu et al.'s 240 points: batched L-BFGS vs a plain scipy loop.

    SCALINGLAWS_DATA_MIRROR=... python benchmarks/bench_approach3.py [--scipy-starts 450] [--bootstrap 1000]

Times, in one run: the batched 4,500-start fit (Hoffmann Appendix D.2's grid), ``--bootstrap``
refits (batched, see ``fitting.bootstrap``), and ``scipy.optimize.minimize(method="L-BFGS-B")``
looped over the same starts. The loop over all 4,500 starts is slow, so by default it runs on a
fixed random subset of ``--scipy-starts`` starts and the time is extrapolated (and labelled so);
pass ``--scipy-starts 4500`` for the full loop. The load average is printed before and after:
timings on a shared machine are only comparable at similar load.
"""

from __future__ import annotations

import os

# One BLAS thread, set before NumPy loads. With OpenBLAS's default (a thread per core), every
# tiny vector operation inside scipy's L-BFGS-B wakes a thread pool; on a busy 2-core machine
# that made the scipy loop ~9x slower (measured: 100 starts in 5.96 s against 0.64 s), which
# would flatter the batched fit. Both sides run single-threaded here.
for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from scalinglaws.data.chinchilla_data import load_besiroglu_points  # noqa: E402
from scalinglaws.fitting.approach3 import fit_approach3, fit_approach3_scipy, grid_starts  # noqa: E402
from scalinglaws.fitting.bootstrap import bootstrap_approach3  # noqa: E402


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


def describe(fit) -> str:
    return (f"E={fit.E:.4f} A={fit.A:.1f} B={fit.B:.1f} alpha={fit.alpha:.4f} beta={fit.beta:.4f} "
            f"a={fit.a:.4f} objective={fit.objective:.6e} converged {fit.n_converged}/{fit.n_starts}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scipy-starts", type=int, default=450, help="starts for the scipy loop (4500 = all)")
    parser.add_argument("--bootstrap", type=int, default=1000, help="bootstrap refits to time")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    points = load_besiroglu_points()
    print(f"{len(points)} points; OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}; before: {load()}")
    for reduction in ("sum", "mean"):
        fit, seconds = timed(fit_approach3, points, reduction=reduction)
        print(f"batched 4,500-start fit ({reduction:>4}): {seconds:6.2f} s  {describe(fit)}")
        if reduction == "sum":
            batched_fit, batched_seconds = fit, seconds

    boot, boot_seconds = timed(bootstrap_approach3, points, n_resamples=args.bootstrap, seed=args.seed,
                               full_fit=batched_fit)
    low, high = boot.interval("a")
    print(f"bootstrap, {args.bootstrap} refits: {boot_seconds:6.2f} s  a 10-90% {low:.3f}-{high:.3f}, "
          f"{boot.n_failed} failed")

    starts = grid_starts()
    subset = np.sort(np.random.default_rng(args.seed).choice(len(starts), min(args.scipy_starts, len(starts)),
                                                             replace=False))
    looped, loop_seconds = timed(fit_approach3_scipy, points.params, points.tokens, points.loss, starts=starts[subset])
    per_start = loop_seconds / subset.size
    full_loop = per_start * len(starts)
    label = "measured" if subset.size == len(starts) else f"extrapolated from {subset.size} starts"
    print(f"scipy L-BFGS-B loop, {subset.size} starts: {loop_seconds:6.2f} s ({1e3 * per_start:.2f} ms/start)  "
          f"{describe(looped)}")
    print(f"scipy loop over 4,500 starts ({label}): {full_loop:6.1f} s")
    print(f"speed-up of the batched fit over the scipy loop: {full_loop / batched_seconds:.1f}x")
    print(f"after: {load()}")


if __name__ == "__main__":
    main()
