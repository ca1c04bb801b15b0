"""Monte-Carlo throughput of cv_demo: trials/s of the generated simulator vs its floor.

The floor is the cost of drawing the same binomial samples alone (one draw per layer per
trial, vectorized over trials with the same PCG64 generator).  Prints figures; it is not
a test.  Usage: python benchmarks/mc_throughput.py [--trials N] [--repeat R]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from spattenc.driver import load
from spattenc.run.loader import simulator

SPEC = Path(__file__).resolve().parent.parent / "specs" / "cv_demo.spt"


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    sim = simulator(load(SPEC))
    params = sim.param_arrays()
    n_layers = int(params["num_layers"][0, 0])
    # The token counts the draws use: the deterministic recurrence, unrolled once.
    counts, n = [], int(params["initial_seq_len"][0, 0])
    rate = float(params["token_pruning_rate"][0, 0])
    for _ in range(n_layers):
        n = int(max(1, n * (1 - rate)))
        counts.append(n)
    recall = float(params["predictor_recall"][0, 0])

    def floor():
        g = np.random.Generator(np.random.PCG64(42))
        for k in counts:
            g.binomial(k, recall, size=(1, args.trials))

    def full():
        sim.run(trials=args.trials, seed=42)

    t_floor = best_of(floor, args.repeat)
    t_full = best_of(full, args.repeat)
    print(f"trials:               {args.trials:,} (x {n_layers} layers, 2 designs)")
    print(f"floor (draws alone):  {t_floor:.3f} s  = {args.trials / t_floor:,.0f} trials/s")
    print(f"simulator:            {t_full:.3f} s  = {args.trials / t_full:,.0f} trials/s")
    print(f"ratio to floor:       {t_full / t_floor:.2f}x (target <= 3x)")


if __name__ == "__main__":
    main()
