"""Wall time and peak memory of the declared sweeps, as a user runs them:

- `spattenc eval specs/cv_demo.spt --sweep pr_dense --csv --out DIR`: wall time, peak RSS,
  and the floor of its random draws (acceptance: under 60 s and 3 GiB); and the same with
  `--scheduler local:2`, interleaved with the inline runs, best of each (goal: 1.6x faster
  than inline, on two cores nothing else is using);
- `--sweep pr_coarse` against a single-point `eval` of 50 trials (acceptance: at most 1.5x).

    python benchmarks/sweep_wall.py [--skip-dense] [--skip-dask] [--dask-repeat N] [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile

from common import CV_DEMO, best_of, chunked_floor, run_child

GIB = 1024**3


def dense_floor() -> float:
    """Seconds the pr_dense draws take alone (replayed chunk by chunk)."""
    from spattenc.run import sweep as sweeps
    from spattenc.driver import load
    from spattenc.run.loader import simulator

    c = load(CV_DEMO)
    sim = simulator(c)
    sw = sweeps.declared(c, "pr_dense")
    step = max(1, sweeps._MAX_CHUNK_ELEMENTS // sw.trials)
    return chunked_floor(sim, {}, sw.columns(), sw.size, step, sw.trials, c.program.seed)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skip-dense", action="store_true", help="only the pr_coarse comparison")
    ap.add_argument("--skip-dask", action="store_true", help="no --scheduler local:2 run")
    ap.add_argument("--dask-repeat", type=int, default=2,
                    help="pr_dense runs inline and with local:2, interleaved (the best of each is kept)")
    ap.add_argument("--repeat", type=int, default=9, help="runs per timing of the short commands (best is kept)")
    args = ap.parse_args()
    spattenc = [sys.executable, "-m", "spattenc"]
    # Warm the compile cache so every timing below is a normal (cached) run.
    run_child(spattenc + ["eval", CV_DEMO], stdout=subprocess.DEVNULL)

    if not args.skip_dense:
        dense = spattenc + ["eval", CV_DEMO, "--sweep", "pr_dense", "--csv", "--out"]
        load = os.getloadavg()[0]
        # inline and local:2 interleaved, so a change in machine load affects both alike;
        # the best of each is kept.
        inline, local = [], []
        for _ in range(1 if args.skip_dask else args.dask_repeat):
            with tempfile.TemporaryDirectory() as out:
                wall, rss, code = run_child(dense + [out], stdout=subprocess.DEVNULL)
            assert code == 0, f"pr_dense exited with {code}"
            inline.append((wall, rss))
            if not args.skip_dask:
                with tempfile.TemporaryDirectory() as out:
                    wall2, rss2, code = run_child(dense + [out, "--scheduler", "local:2"], stdout=subprocess.DEVNULL)
                assert code == 0, f"pr_dense --scheduler local:2 exited with {code}"
                local.append((wall2, rss2))
        wall, rss = min(w for w, _ in inline), max(r for _, r in inline)
        floor = dense_floor()
        print("pr_dense: 100 x 100 points x 1000 trials = 10,000,000 trial-evaluations per design")
        print(f"  wall {wall:.1f} s (limit 60 s), peak RSS {rss / GIB:.2f} GiB (limit 3 GiB)")
        print(f"  floor (its binomial draws alone) {floor:.1f} s; ratio wall / floor = {wall / floor:.2f}")
        print(f"  {'PASS' if wall < 60 and rss < 3 * GIB else 'FAIL'}")
        if local:
            wall2, rss2 = min(w for w, _ in local), max(r for _, r in local)
            print(f"pr_dense --scheduler local:2: wall {wall2:.1f} s (cluster start-up included), peak RSS of the "
                  f"command {rss2 / GIB:.2f} GiB (its workers not counted)")
            print(f"  best of {len(local)} runs each, interleaved with inline's: "
                  + ", ".join(f"inline {a:.1f} s / local:2 {b:.1f} s" for (a, _), (b, _) in zip(inline, local)))
            print(f"  speed-up over inline {wall / wall2:.2f}x (goal 1.6x; load average {load:.2f} at the start, "
                  f"meaningful only near 0)  {'PASS' if wall / wall2 >= 1.6 else 'FAIL'}")

    # Interleaved, so a change in machine load affects both commands alike.
    singles, coarses = [], []
    for _ in range(args.repeat):
        singles.append(best_of(1, spattenc + ["eval", CV_DEMO]))
        coarses.append(best_of(1, spattenc + ["eval", CV_DEMO, "--sweep", "pr_coarse"]))
    single, coarse = min(singles), min(coarses)
    print("pr_coarse (10 x 10 points x 8 trials) vs a single-point eval (50 trials), whole commands, "
          f"best of {args.repeat} interleaved runs:")
    print(f"  single point {single:.3f} s, pr_coarse {coarse:.3f} s, ratio {coarse / single:.2f} (limit 1.5)")
    print(f"  {'PASS' if coarse <= 1.5 * single else 'FAIL'}")


if __name__ == "__main__":
    main()
