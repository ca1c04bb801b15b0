"""Design points per second of deterministic sweeps, as a user runs them and through the
engine alone:

- `spattenc eval specs/spatten_cascade.spt --sweep token_keep=0.1:1:1000 --sweep
  head_keep=0.1:1:1000` (10^6 points) with `--parquet --out DIR` (acceptance: whole
  process under 3 s, peak RSS under 1 GiB) and with `--csv --out DIR` (under 8 s, 1 GiB);
- the same model at 10^7 points (10,000 x 1,000) to Parquet (peak RSS under 1.5 GiB);
- evaluation only (the chunks evaluated, nothing written), in points per second (goal
  10^6/s), for spatten_cascade, chunk_attention and selfspec.

    python benchmarks/sweep_points.py [--skip-10m] [--points N]

The machine may be shared: the figures are those of this run; run it when the machine is
quiet for the best ones.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, run_child, run_child_cpu

from spattenc import api
from spattenc.run import sweep as sweeps
from spattenc.driver import load

GIB = 1024**3
CASCADE = str(ROOT / "specs" / "spatten_cascade.spt")
GRID = ["--sweep", "token_keep=0.1:1:1000", "--sweep", "head_keep=0.1:1:1000"]


def whole(label: str, argv: list[str], wall_limit: float | None, rss_limit: float) -> None:
    """Run one command; print its wall time and peak RSS against the limits."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        wall, rss, code, cpu = run_child_cpu([sys.executable, "-m", "spattenc", *argv, "--out", str(out)],
                                             stdout=subprocess.DEVNULL)
        size = sum(p.stat().st_size for p in out.iterdir()) if out.exists() else 0
    assert code == 0, f"{label}: exit {code}"
    ok = (wall_limit is None or wall < wall_limit) and rss < rss_limit * GIB
    limits = (f"limit {wall_limit:g} s, " if wall_limit else "") + f"limit {rss_limit:g} GiB"
    print(f"{label}: wall {wall:.2f} s (CPU {cpu:.2f} s), peak RSS {rss / GIB:.2f} GiB ({limits}); "
          f"wrote {size / 1e6:.0f} MB  {'PASS' if ok else 'FAIL'}")


def evaluation_only(label: str, spec: str, axes: dict, inputs=()) -> None:
    """Points per second through the engine: every chunk evaluated, nothing kept."""
    run = api.Run(load(spec), input_items=list(inputs))
    sw = sweeps.SweepSpec("bench", label, tuple((sweeps.Axis(k, tuple(v)),) for k, v in axes.items()))
    ev = sweeps.evaluation(run.info, run.sim, {}, sw, run.settings.trials, run.settings.seed, "pcg64", sweeps.DEFAULT_MEM_BUDGET, run.tables)
    next(ev.chunks(0, min(ev.points, 1000)))  # warm up (imports, first allocation)
    start = time.perf_counter()
    for _ in ev.chunks(0, ev.points):
        pass
    wall = time.perf_counter() - start
    rate = ev.points / wall
    print(f"  {label}: {ev.points:,} points in {wall:.2f} s -> {rate:,.0f} points/s "
          f"(goal 1,000,000/s: {'PASS' if rate >= 1e6 else 'FAIL'})")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skip-10m", action="store_true", help="skip the 10^7-point Parquet run")
    ap.add_argument("--points", type=int, default=1_000_000, help="points of the evaluation-only runs")
    args = ap.parse_args()
    # Warm the compile cache so every timing below is a normal (cached) run.
    run_child([sys.executable, "-m", "spattenc", "eval", CASCADE], stdout=subprocess.DEVNULL)
    print("spatten_cascade, 1000 x 1000 = 1,000,000 points, whole process:")
    whole("  --parquet --out DIR", ["eval", CASCADE, *GRID, "--parquet"], 3, 1)
    whole("  --csv --out DIR", ["eval", CASCADE, *GRID, "--csv"], 8, 1)
    if not args.skip_10m:
        print("spatten_cascade, 10000 x 1000 = 10,000,000 points, whole process:")
        whole("  --parquet --out DIR", ["eval", CASCADE, "--sweep", "token_keep=0.1:1:10000",
                                        "--sweep", "head_keep=0.1:1:1000", "--parquet"], None, 1.5)
    n = args.points
    side = max(1, int(round(n ** 0.5)))
    print("evaluation only (chunks evaluated, nothing written):")
    evaluation_only("spatten_cascade token_keep x head_keep", CASCADE,
                    {"token_keep": [0.1 + 0.9 * i / (side - 1) for i in range(side)],
                     "head_keep": [0.1 + 0.9 * i / (side - 1) for i in range(side)]})
    evaluation_only("chunk_attention n_seqs x n_chunks", str(ROOT / "specs" / "chunk_attention.spt"),
                    {"n_seqs": range(1, side + 1), "n_chunks": range(1, side + 1)})
    examples = ROOT / "examples" / "selfspec"
    evaluation_only("selfspec l_prompt", str(ROOT / "specs" / "selfspec.spt"), {"l_prompt": range(1, n + 1)},
                    [f"model={examples / 'model.yaml'}", f"hardware={examples / 'hardware.yaml'}",
                     f"stats={examples / 'stats.json'}"])


if __name__ == "__main__":
    main()
