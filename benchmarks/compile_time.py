"""Compile time of specs/cv_demo.spt against its floor, the time to import the
dependencies (lark, jinja2, numpy, sympy) in a fresh interpreter.

    python benchmarks/compile_time.py [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

from common import CV_DEMO, ROOT, best_of

PHASES = r"""
import json, sys, time
t0 = time.perf_counter()
import lark, jinja2, numpy, sympy
t1 = time.perf_counter()
from spattenc.driver import read_spec, front_end, outputs
from spattenc.backends.numpy_sim import render_sim
t2 = time.perf_counter()
text = read_spec(sys.argv[1])
c = front_end(text, sys.argv[1])
t3 = time.perf_counter()
render_sim(c.plan, "cv_demo.spt", "spattenc compile specs/cv_demo.spt")
t4 = time.perf_counter()
outputs(c)
t5 = time.perf_counter()
print(json.dumps({"deps": t1 - t0, "spattenc": t2 - t1, "front": t3 - t2, "sim": t4 - t3, "all": t5 - t4}))
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5, help="runs per timing (best is kept)")
    args = ap.parse_args()
    py = sys.executable
    deps = best_of(args.repeat, [py, "-c", "import lark, jinja2, numpy, sympy"])
    bare = best_of(args.repeat, [py, "-c", "pass"])
    with tempfile.TemporaryDirectory() as out:
        whole = best_of(args.repeat, [py, "-m", "spattenc", "compile", CV_DEMO, "-o", out])
    runs = [json.loads(subprocess.run([py, "-c", PHASES, CV_DEMO], cwd=ROOT, capture_output=True, text=True,
                                      check=True, env={**os.environ, "PYTHONPATH": str(ROOT)}).stdout)
            for _ in range(args.repeat)]
    best = {k: min(r[k] for r in runs) for k in runs[0]}
    print(f"python start-up {bare:.3f} s; importing lark, jinja2, numpy, sympy: {deps:.3f} s (the floor)")
    print(f"spattenc compile specs/cv_demo.spt (whole command): {whole:.3f} s; ratio to the floor {whole / deps:.2f}")
    print(f"  phases in-process: deps import {best['deps']:.3f} s, spattenc import {best['spattenc']:.3f} s, "
          f"parse+check+lower {best['front']:.4f} s, sim.py {best['sim']:.4f} s, "
          f"all outputs (sim.py, ir.json, closed forms) {best['all']:.3f} s")


if __name__ == "__main__":
    main()
