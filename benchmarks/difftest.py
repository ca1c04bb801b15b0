"""Differential testing of the back ends on random specs (benchmarks/specgen.py).

    python benchmarks/difftest.py --specs N --seed S [--rtl] [--jobs J] [--keep DIR]

Each generated spec is checked, then run through every back end that applies, and the
results are compared:

- numpy simulator vs reference interpreter (middle/interp), on the draws the simulator
  made (recorded, then replayed trial by trial): equal to the last bit, or within 4 ulp
  when the spec calls a function numpy computes with its own routine (the table names
  them);
- closed forms (sympy, every param a symbol, then the default values substituted) vs the
  simulator, for specs without random draws: 1e-12 relative; a spec without a closed form
  (a rounding of a symbol, a form past middle/eval.FORM_LIMIT nodes) compares its exact
  values at the point instead, and the table counts it as "no closed form";
- fixed point (the generated fixed_sim.py) vs float, the float simulator replaying the
  fixed-point run's draws: within the error bound the fixed-point analysis states for that
  configuration and those draws (middle/fixed_error); a metric whose bound is infinite (a
  divisor whose range reaches 0, a layer count that may differ) is counted, not compared;
- with --rtl, the generated Verilog testbench on Icarus vs the golden vectors of
  middle/golden, bit for bit;
- specs with input tables or loops (which the interpreter does not run): the simulator
  runs and gives numbers.

Failing specs are shrunk (greedy deletion of declarations and lines while the same pair
still fails) and written to --keep.  Exit status 1 when any comparison failed.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import re
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402,F401  (puts the repository on sys.path)
import specgen  # noqa: E402

import sympy  # noqa: E402

from spattenc import api  # noqa: E402
from spattenc.driver import fixed_outputs, front_end, outputs  # noqa: E402
from spattenc.ir.errors import SpecError  # noqa: E402
from spattenc.ir.keys import Key  # noqa: E402
from spattenc.middle.fixed import lower_fixed  # noqa: E402
from spattenc.middle.fixed_error import error_bounds  # noqa: E402
from spattenc.middle.interp import Env, Interpreter, Unsupported, count_params, exact, symbolic_interpreter  # noqa: E402
from spattenc.run import loader  # noqa: E402
from spattenc.run.verify import Icarus  # noqa: E402

PAIRS = ("check", "numpy sim vs interpreter", "closed form vs numpy sim", "fixed point vs float",
         "rtl vs golden (icarus)", "tables/loops: sim runs", "compile: every file")
ULP_FUNCS = ("exp", "log", "log2", "log10", "sqrt", "pow")  # numpy routines that may differ from Python's


class Mismatch(Exception):
    """A comparison failed: which pair, and a line saying where."""

    def __init__(self, pair: str, what: str):
        super().__init__(f"{pair}: {what}")
        self.pair = pair


def ulps(a: float, b: float) -> float:
    """Distance in units in the last place between two floats (0 for equal values, NaNs)."""
    a, b = float(a), float(b)
    if a == b or (math.isnan(a) and math.isnan(b)):
        return 0
    if math.isnan(a) or math.isnan(b) or math.isinf(a) or math.isinf(b):
        return math.inf
    ia, ib = (int(np.float64(x).view(np.int64)) for x in (a, b))
    ia, ib = (i if i >= 0 else -(i & 0x7FFFFFFFFFFFFFFF) for i in (ia, ib))
    return abs(ia - ib)


def point(compiled, seed: int) -> dict:
    """The params to run at: the defaults, or (every other seed) a point drawn inside the
    declared ranges (reals on a grid of 1/8, exact in binary and in fixed point)."""
    r = np.random.default_rng(seed)
    values = {p.name: p.value for p in compiled.program.params}
    if seed % 2:
        for p in compiled.program.params:
            if p.type == "bool":
                values[p.name] = bool(r.integers(2))
            elif p.lo_value is not None and p.hi_value is not None:
                lo, hi = p.lo_value, p.hi_value
                values[p.name] = int(r.integers(lo, hi + 1)) if p.type == "int" else \
                    float(min(hi, lo + r.integers(0, int((hi - lo) * 8) + 1) / 8))
    return values


def _param_env(values: dict) -> Env:
    env = Env()
    for name, v in values.items():
        env.values[Key("param", name)] = v
    return env


def _cell(arr, t: int) -> float:
    a = np.asarray(arr)
    return a.reshape(a.shape[0], -1)[0, min(t, a.reshape(a.shape[0], -1).shape[1] - 1)]


class NumpyMathInterpreter(Interpreter):
    """The reference interpreter with exp, the logarithms, sqrt and a real `^` computed by
    numpy's routines (as the simulator calls them, on an array), everything else as is:
    a difference that vanishes here comes from those routines, not from a back end."""

    def builtin(self, func: str, args: list, e):
        if func in ("exp", "log", "log2", "log10", "sqrt"):
            return float(getattr(np, func)(np.array([float(args[0])]))[0])
        return super().builtin(func, args, e)

    def binary(self, op: str, x, y, e):
        if op == "^" and (isinstance(x, float) or isinstance(y, float)):
            return float(np.power(np.array([float(x)]), float(y))[0])
        return super().binary(op, x, y, e)


def _trial_values(compiled, params: dict, given: dict, R: dict, C: dict, t: int, cls=Interpreter):
    """(key, simulator value, interpreter value) of every metric and comparison of trial t."""
    out = cls(compiled.program, _param_env(params), given).run_plan(compiled.plan)
    for key, want in out.items():
        if key.kind == "metric":
            yield key, _cell(R[key.owner][key.name], t), want
        elif key.kind == "compare":
            yield key, _cell(C[key.name], t), want


def sim_vs_interp(compiled, sim, params: dict, trials: int, seed: int, perturb: bool = False) -> set[str]:
    """Compare the simulator's metrics and per-trial comparisons with the interpreter's on
    the same draws, bit for bit; returns the functions for which a difference was accepted:
    within 4 ulp, or gone when the interpreter uses numpy's routines for them (a difference
    of one ulp amplified, e.g. by log10 near 1).  `perturb` changes one recorded draw
    before the interpreter sees it (to show that a difference is caught)."""
    R, C, draws = loader.recorded_run(sim, params, trials, seed)
    if perturb and draws:
        name = sorted(draws)[0]
        draws[name][0] = draws[name][0] + (1 if draws[name][0].dtype != bool else ~draws[name][0])
    used = {f for f in ULP_FUNCS if re.search(rf"\b{f}\(" if f != "pow" else r"\^", compiled.program.source)}
    loose: set[str] = set()
    for t in range(trials):
        given = {n: [a[0, t] for a in v] for n, v in draws.items()}
        vals = list(_trial_values(compiled, params, given, R, C, t))
        far = [(k, got, want) for k, got, want in vals if ulps(got, want) > (4 if used else 0)]
        if any(ulps(got, want) for _, got, want in vals):
            loose |= used
        if far and used:
            far = [(k, got, want) for k, got, want in
                   _trial_values(compiled, params, given, R, C, t, NumpyMathInterpreter) if ulps(got, want) > 4]
        if far:
            key, got, want = far[0]
            raise Mismatch(PAIRS[1], f"{key} trial {t}: simulator {got!r}, interpreter {want!r}")
    return loose


def closed_vs_sim(compiled, sim, params: dict) -> str:
    """Closed forms (every param a symbol) at the point `params` vs the simulator; returns
    why there is no closed form ("" when there is one), the exact values at the point
    compared instead."""
    none = ""
    try:
        _, forms = symbolic_interpreter(compiled.plan, params, {}, tuple(params))
    except Unsupported as e:
        # A layer count that depends on params: those at their values, the others symbols.
        fixed = count_params(compiled.plan)
        symbols = tuple(p for p in params if p not in fixed)
        try:
            if not (fixed and symbols):
                raise e
            _, forms = symbolic_interpreter(compiled.plan, params, {}, symbols)
            none = "partial: " + ", ".join(sorted(fixed))
        except Unsupported as e2:
            none = f"no closed form: {e2}"
            _, forms = symbolic_interpreter(compiled.plan, params, {}, ())  # exact values at the point
    subs = {sympy.Symbol(n, real=True): (sympy.true if v else sympy.false) if isinstance(v, bool) else
            sympy.Rational(v) if isinstance(v, float) else sympy.Integer(v) for n, v in params.items()}
    R, C, _ = sim.run(params, trials=1)
    for key, form in forms.items():
        if key.kind not in ("metric", "compare"):
            continue
        got = float(_cell(R[key.owner][key.name] if key.kind == "metric" else C[key.name], 0))
        want = form.xreplace(subs) if isinstance(form, sympy.Basic) else exact(form)
        if want.has(sympy.nan, sympy.zoo):
            want = math.nan
        else:
            want = float(sympy.N(want, 30))
        if not (got == want or (math.isnan(got) and math.isnan(want))
                or abs(got - want) <= 1e-12 * max(abs(got), abs(want))):
            raise Mismatch(PAIRS[2], f"{key}: simulator {got!r}, closed form {want!r}")
    return none


def fixed_vs_float(compiled, sim, params: dict, trials: int, seed: int, perturb: bool = False) -> set[str]:
    """The fixed-point run against the float simulator on the fixed-point run's draws,
    trial by trial within the error bound stated for that trial; returns the differing
    metrics whose bound is infinite.  `perturb` changes one draw before the float run
    replays it."""
    real, _, draws = loader.run_fixed(compiled, params, trials, seed, "pcg64")
    fsim = loader.fixed_simulator(compiled)
    given = {}
    for name, arr in draws.items():
        kind = fsim.DRAWS[name][1]
        layers = [arr[:, :, i] for i in range(arr.shape[2])]
        if kind == "fix":
            layers = [np.array([[fsim.real("fix", int(x)) for x in row] for row in a]) for a in layers]
        elif kind == "bool":
            layers = [np.asarray(a, dtype=bool) for a in layers]
        else:
            layers = [np.asarray(a, dtype=np.int64) for a in layers]
        given[name] = layers
    if perturb and given:
        first = given[sorted(given)[0]]
        first[0] = first[0] + 1 if first[0].dtype != bool else ~first[0]
    R, _ = loader.run_layers(sim, params, trials, loader.GivenDraws(given))
    fp = lower_fixed(compiled.plan)
    unbounded = set()
    for t in range(trials if draws else 1):  # without draws every trial is the same run
        bounds = error_bounds(fp, params, {name: arr[0, t, :] for name, arr in draws.items()})
        for d, ms in real.items():
            for m, fx in ms.items():
                bound = bounds[Key("metric", m, d)]
                fl = np.broadcast_to(np.asarray(R[d][m], dtype=np.float64), fx.shape)
                got, want = float(fx[0, min(t, fx.shape[1] - 1)]), float(fl[0, min(t, fx.shape[1] - 1)])
                if got == want or (math.isnan(got) and math.isnan(want)):
                    continue
                if math.isinf(bound):
                    unbounded.add(f"{d}.{m}")
                elif not abs(got - want) <= bound:
                    raise Mismatch(PAIRS[3], f"{d}.{m} trial {t}: fixed {got!r}, float {want!r}, "
                                             f"|difference| {abs(got - want):.6g} > the stated bound {bound:.6g}")
    return {"no finite bound: " + ", ".join(sorted(unbounded))} if unbounded else set()


def rtl_vs_golden(compiled, work: Path, perturb: bool = False) -> None:
    """The generated testbench on Icarus over the golden vectors shipped with the RTL;
    `perturb` changes the last word of the golden vectors (an expected output)."""
    files, err = fixed_outputs(compiled)
    if err is not None:
        raise Mismatch(PAIRS[4], f"no fixed-point form: {err.message}")
    if perturb:
        rel = next(rel for rel in files if rel.endswith("_vectors.hex"))
        lines = files[rel].rstrip("\n").split("\n")
        word = lines[-1]
        lines[-1] = word[:-1] + ("0" if word[-1] != "0" else "1")
        files[rel] = "\n".join(lines) + "\n"
    for rel, text in files.items():
        (work / rel).parent.mkdir(parents=True, exist_ok=True)
        (work / rel).write_text(text, encoding="utf-8")
    tb = next(work / rel for rel in files if rel.endswith("_tb.v"))
    model = next(work / rel for rel in files if rel.endswith("_model.v"))
    vec = next(work / rel for rel in files if rel.endswith("_vectors.hex"))
    top = tb.name[:-2]
    sim = Icarus()
    build = subprocess.run(sim.build_tb([tb, model], top, 1 << 14, work), capture_output=True, text=True)
    if build.returncode != 0:
        raise Mismatch(PAIRS[4], "testbench does not build: " + (build.stderr or build.stdout)[-400:])
    run = subprocess.run(sim.run_tb(work, top, vec), capture_output=True, text=True, timeout=600)
    n = golden_count(vec)
    if f"PASS {n}/{n}" not in run.stdout:
        lines = [ln for ln in run.stdout.splitlines() if "FAIL" in ln or "rror" in ln][:3]
        raise Mismatch(PAIRS[4], "; ".join(lines) or run.stdout[-300:])


def golden_count(vec: Path) -> int:
    m = re.search(r"(\d+) vectors", vec.read_text(encoding="utf-8")[:400])
    return int(m.group(1)) if m else 0


def smoke(compiled, g: specgen.Generated, work: Path) -> None:
    """Specs the interpreter does not run (tables, loops): the simulator gives numbers."""
    path = work / f"{compiled.name}.spt"
    path.write_text(g.text, encoding="utf-8")
    inputs = None
    if g.csv is not None:
        (work / "table.csv").write_text(g.csv, encoding="utf-8")
        inputs = {compiled.program.rows.table: str(work / "table.csv")}
    try:
        api.load(path).eval(inputs=inputs).to_dict()
    except SpecError as e:
        raise Mismatch(PAIRS[5], f"the simulator failed: {e.message}") from None


def compile_all(compiled) -> None:
    """Every file `compile` writes (closed_forms.md, ir.json, the simulators, the RTL) renders."""
    try:
        outputs(compiled)
    except SpecError as e:
        if "fixed point" not in e.message:  # a spec outside the fixed-point subset: a located error
            raise Mismatch(PAIRS[6], f"compile: {e.message}") from None


def run_spec(g: specgen.Generated, rtl: bool = False, compile_: bool = False) -> dict[str, tuple[str, str]]:
    """Every comparison that applies to one generated spec: {pair: (status, detail)}, the
    status pass, fail, ulp, unbounded, partial (closed forms with the layer count's params
    at their values) or no form;
    `compile_` also renders every generated file (slower: the closed forms of every value)."""
    out: dict[str, tuple[str, str]] = {}
    with tempfile.TemporaryDirectory(prefix="difftest-") as tmp:
        work = Path(tmp)
        try:
            compiled = front_end(g.text, str(work / f"gen{g.seed}.spt"))
        except Exception as e:  # a generated spec is well-typed: any error is a finding
            return {PAIRS[0]: ("fail", f"{type(e).__name__}: {getattr(e, 'message', e)}")}
        out[PAIRS[0]] = ("pass", "")
        uses_loop = bool(compiled.plan.loops) or compiled.plan.mode != "layers"
        checks = []
        if compile_ and compiled.program.rows is None:
            checks.append((PAIRS[6], lambda: compile_all(compiled)))
        if uses_loop:
            checks.append((PAIRS[5], lambda: smoke(compiled, g, work)))
        else:
            sim = loader.simulator(compiled)
            trials, seed = compiled.program.trials, compiled.program.seed
            params = point(compiled, g.seed)
            checks.append((PAIRS[1], lambda: sim_vs_interp(compiled, sim, params, trials, seed)))
            if not g.random:
                checks.append((PAIRS[2], lambda: closed_vs_sim(compiled, sim, params)))
            if g.fixed:
                checks.append((PAIRS[3], lambda: fixed_vs_float(compiled, sim, params, trials, seed)))
                if rtl:
                    checks.append((PAIRS[4], lambda: rtl_vs_golden(compiled, work / "rtl-run")))
        for pair, fn in checks:
            try:
                loose = fn()
                if isinstance(loose, str):  # the closed forms' "no closed form: why"
                    status = "partial" if loose.startswith("partial") else "no form"
                    out[pair] = (status, loose) if loose else ("pass", "")
                else:
                    status = "unbounded" if pair == PAIRS[3] else "ulp"
                    out[pair] = (status, ", ".join(sorted(loose))) if loose else ("pass", "")
            except Mismatch as e:
                out[pair] = ("fail", str(e))
            except Exception as e:  # a crash in a back end is a failure of that pair
                out[pair] = ("fail", f"{pair}: {type(e).__name__}: {getattr(e, 'message', e)}")
    return out


def _units(text: str) -> list[tuple[int, int]]:
    """Deletable pieces of a spec: (first line, last line) of each block and each line."""
    lines = text.splitlines()
    units, stack = [], []
    for i, ln in enumerate(lines):
        if ln.rstrip().endswith("{"):
            stack.append(i)
        elif ln.strip() == "}" and stack:
            units.append((stack.pop(), i))
        elif i > 0:
            units.append((i, i))
    return sorted(units, key=lambda u: u[0] - u[1])  # whole blocks first


def signature(detail: str) -> str:
    """The kind of a failure: its first words with numbers and names left out."""
    words = re.sub(r"[0-9]+", "#", detail.split(": ", 1)[-1]).split()[:3]
    return " ".join(w for w in words if "_" not in w)


def shrink(g: specgen.Generated, pair: str, rtl: bool = False, budget: int = 200) -> str:
    """Greedy: delete blocks and lines while `pair` still fails the same way; returns the
    smallest text."""
    text = g.text
    full = pair == PAIRS[6]  # the compile check runs only when asked
    kind = signature(run_spec(g, rtl, full).get(pair, ("", ""))[1])
    tries = 0
    changed = True
    while changed and tries < budget:
        changed = False
        for a, b in _units(text):
            lines = text.splitlines()
            cand = "\n".join(lines[:a] + lines[b + 1:]) + "\n"
            tries += 1
            trial = specgen.Generated(g.seed, cand, g.csv, g.features, g.fixed, g.random)
            status, detail = run_spec(trial, rtl, full).get(pair, ("", ""))
            if status == "fail" and signature(detail) == kind:
                text, changed = cand, True
                break
            if tries >= budget:
                break
    return text


class SpecTimeout(Exception):
    """A spec's comparisons used more CPU time than --spec-limit: a hang is a finding."""


def _timeout(signum, frame):
    raise SpecTimeout("more CPU time than --spec-limit")


def _one(args: tuple[int, bool, bool, float]) -> tuple[int, dict]:
    seed, rtl, compile_, limit = args
    g = specgen.generate(seed, fixed=True if rtl else None)
    # CPU time, not wall time: a busy machine must not turn a slow spec into a failure.
    signal.signal(signal.SIGPROF, _timeout)
    # Re-armed every 5 s after the limit, in case a handler inside the code swallows one.
    signal.setitimer(signal.ITIMER_PROF, limit, 5.0)
    try:
        return seed, run_spec(g, rtl, compile_)
    except SpecTimeout as e:
        return seed, {PAIRS[0]: ("fail", f"spec {seed}: {e}")}
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)


class Tally:
    """Comparisons so far: tried and passed per pair, those within 4 ulp, those without a
    closed form (exact values at the point compared), failures."""

    def __init__(self):
        self.tried, self.passed, self.ulp, self.funcs = Counter(), Counter(), Counter(), Counter()
        self.unbounded = Counter()  # specs with a metric whose fixed-point error bound is infinite
        self.no_form = Counter()
        self.partial = Counter()  # closed forms with the layer count's params at their values
        self.failures: list[tuple[int, str, str]] = []
        self.specs = 0

    def add(self, seed: int, res: dict) -> None:
        self.specs += 1
        for pair, (status, detail) in res.items():
            self.tried[pair] += 1
            if status == "fail":
                self.failures.append((seed, pair, detail))
                continue
            self.passed[pair] += 1
            if status == "ulp":
                self.ulp[pair] += 1
                self.funcs.update(detail.split(", "))
            elif status == "unbounded":
                self.unbounded[pair] += 1
            elif status == "no form":
                self.no_form[pair] += 1
            elif status == "partial":
                self.partial[pair] += 1

    def print(self, header: str) -> None:
        print(header)
        print(f"{'back end pair':<28} {'tried':>7} {'passed':>7} {'failed':>7}")
        for pair in PAIRS:
            if self.tried[pair]:
                note = f"  ({self.ulp[pair]} within 4 ulp)" if self.ulp[pair] else ""
                if self.unbounded[pair]:
                    note = f"  ({self.unbounded[pair]} with a differing metric whose bound is infinite, not compared)"
                note += f"  ({self.partial[pair]} with the layer count's params at their values)" \
                    if self.partial[pair] else ""
                note += f"  ({self.no_form[pair]} no closed form: at the point)" if self.no_form[pair] else ""
                print(f"{pair:<28} {self.tried[pair]:>7} {self.passed[pair]:>7} "
                      f"{self.tried[pair] - self.passed[pair]:>7}{note}")
        total, ok = sum(self.tried.values()), sum(self.passed.values())
        print(f"agreement: {100.0 * ok / max(1, total):.2f}% ({ok} of {total} comparisons)")
        if self.funcs:
            print("accepted within 4 ulp where the spec calls: "
                  + ", ".join(f"{f} ({n})" for f, n in self.funcs.most_common()))
        for seed, pair, detail in self.failures[:20]:
            print(f"FAIL spec {seed}: {detail}")
        sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--specs", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rtl", action="store_true", help="generate fixed-point specs and run their RTL on Icarus")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--keep", default=None, help="folder for the (shrunk) failing specs")
    ap.add_argument("--compile", action="store_true", help="also render every file compile writes")
    ap.add_argument("--progress", type=int, default=0, help="print the figures so far every N specs")
    ap.add_argument("--spec-limit", type=float, default=120.0,
                    help="CPU seconds one spec may take before it counts as a failure (a hang; default 120)")
    ap.add_argument("--time-limit", type=float, default=None, help="stop after this many seconds, with the figures so far")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore", RuntimeWarning)  # nan metrics (std of nan trials) are compared, not reported
    seeds = [args.seed * 1_000_003 + i for i in range(args.specs)]
    t0 = time.perf_counter()
    tally = Tally()
    work = [(s, args.rtl, args.compile, args.spec_limit) for s in seeds]
    pool = multiprocessing.get_context("fork").Pool(args.jobs) if args.jobs > 1 else None
    results = pool.imap_unordered(_one, work, chunksize=4) if pool else map(_one, work)
    stopped = ""
    for seed, res in results:
        tally.add(seed, res)
        if args.progress and tally.specs % args.progress == 0:
            tally.print(f"progress: {tally.specs} of {args.specs} specs, {time.perf_counter() - t0:.0f} s")
        if args.time_limit is not None and time.perf_counter() - t0 > args.time_limit:
            stopped = f"; stopped at the time limit after {tally.specs} of {args.specs}"
            break
    if pool:
        pool.terminate()
    wall = time.perf_counter() - t0
    tally.print(f"difftest: {tally.specs} specs from seed {args.seed}"
                f"{' (fixed point, RTL on Icarus)' if args.rtl else ''}, {wall:.1f} s "
                f"({wall / max(1, tally.specs):.3f} s per spec, {args.jobs} job{'s' if args.jobs > 1 else ''}){stopped}")
    if args.keep and tally.failures:
        keep = Path(args.keep)
        keep.mkdir(parents=True, exist_ok=True)
        for seed, pair, _ in tally.failures[:20]:
            g = specgen.generate(seed, fixed=True if args.rtl else None)
            (keep / f"gen{seed}.spt").write_text(shrink(g, pair, args.rtl), encoding="utf-8")
            if g.csv:
                (keep / f"gen{seed}.csv").write_text(g.csv, encoding="utf-8")
    return 1 if tally.failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
