"""Monte-Carlo throughput of the generated cv_demo simulator: trials per second at one
point and over a precision/recall grid, each with its floor, the time the same binomial
draws take alone (replayed with the same arguments and generators).

    python benchmarks/sweep_throughput.py [--trials N] [--points P]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from common import CV_DEMO, chunked_floor

from spattenc.run import sweep as sweeps
from spattenc.driver import load
from spattenc.run.loader import simulator


def case(name, compiled, sim, base, sweep, trials, seed=42):
    npoints = sweep.size if sweep else 1
    start = time.perf_counter()
    res = sweeps.evaluate(compiled, sim, base, sweep, trials, seed)
    wall = time.perf_counter() - start
    # The floor: the same draws, chunk by chunk, without the model.
    cols = sweep.columns() if sweep else {}
    floor = chunked_floor(sim, base, cols, npoints, max(1, res.chunk_points), trials, seed)
    evals = npoints * trials
    print(f"{name}: {npoints} point(s) x {trials} trials = {evals:,} trial-evaluations per design")
    print(f"  wall {wall:.2f} s -> {evals / wall:,.0f} trials/s "
          f"({len(res.designs)} designs, {sum(len(m) for m in res.designs.values())} metrics)")
    print(f"  floor (the same binomial draws alone) {floor:.2f} s -> {evals / floor:,.0f} trials/s")
    print(f"  ratio wall / floor = {wall / floor:.2f}")
    return wall, floor


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=200_000, help="trials of the single point (default 200000)")
    ap.add_argument("--points", type=int, default=50, help="grid side of the P/R sweep (default 50)")
    args = ap.parse_args()
    c = load(CV_DEMO)
    sim = simulator(c)
    print(f"numpy {np.__version__}; trial block {sim.TRIAL_BLOCK}")
    case("single point", c, sim, {}, None, args.trials)
    n = args.points
    sw = sweeps.from_cli(c, [f"predictor_precision=0.8:0.999:{n}", f"predictor_recall=0.8:0.999:{n}"])
    case("P/R grid", c, sim, {}, sw, 1000)


if __name__ == "__main__":
    main()
