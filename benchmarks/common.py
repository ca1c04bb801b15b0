"""Shared helpers of the benchmark scripts: timing, child-process peak memory, and the
floor of a Monte-Carlo run (the same random draws, replayed alone)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CV_DEMO = str(ROOT / "specs" / "cv_demo.spt")

sys.path.insert(0, str(ROOT))


def run_child(argv: list[str], **kw) -> tuple[float, int, int]:
    """Run a command; return (wall seconds, peak RSS in bytes, exit code) of that child."""
    wall, rss, code, _ = run_child_cpu(argv, **kw)
    return wall, rss, code


def run_child_cpu(argv: list[str], **kw) -> tuple[float, int, int, float]:
    """As run_child, plus the child's CPU seconds (user + system), which a shared machine
    disturbs less than the wall time."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, **kw)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_maxrss * 1024, proc.returncode, usage.ru_utime + usage.ru_stime


def best_of(n: int, argv: list[str]) -> float:
    """The fastest of n wall times of a command (the least disturbed run)."""
    return min(run_child(argv, stdout=subprocess.DEVNULL)[0] for _ in range(n))


class RecordingDraws:
    """Wraps a simulator's Draws: forwards each call and keeps its arguments, so the same
    draws can be replayed without the model around them."""

    calls: list = []

    def __init__(self, inner):
        self.inner = inner
        self.shape = inner.shape

    def __getattr__(self, method):
        fn = getattr(self.inner, method)

        def call(*args, **kw):
            RecordingDraws.calls.append((method, args, kw, self.shape))
            return fn(*args, **kw)
        return call


def simulate_recording(sim, params, trials, seed):
    """One simulate() call with its draws recorded; returns the recorded calls."""
    RecordingDraws.calls = []
    points = max(v.shape[0] for v in params.values())
    sim.simulate(params, trials, RecordingDraws(sim.Draws(sim.generators(seed, points), trials)))
    return list(RecordingDraws.calls)


def replay(sim, calls, seed) -> float:
    """Seconds to make the recorded draws again, alone (fresh generators, same calls)."""
    points = calls[0][3][0]
    trials = calls[0][3][1]
    start = time.perf_counter()
    draws = sim.Draws(sim.generators(seed, points), trials)
    for method, args, kw, _ in calls:
        getattr(draws, method)(*args, **kw)
    return time.perf_counter() - start


def chunked_floor(sim, base: dict, cols: dict, npoints: int, step: int, trials: int, seed: int) -> float:
    """Seconds the draws of `npoints` points take alone, replayed `step` points at a time
    (swept values `cols`, other params `base`)."""
    total = 0.0
    for lo in range(0, npoints, step):
        params = sim.param_arrays({**base, **{k: v[lo:lo + step] for k, v in cols.items()}})
        total += replay(sim, simulate_recording(sim, params, trials, seed), seed)
    return total
