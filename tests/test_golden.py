"""Golden vectors from the middle layer (middle/golden) against the generated fixed-point
simulator: for cv_demo and small fixed(...) specs covering conditionals, per-layer
states, every distribution with a fixed-point form (geometric with a max), the layer
reductions, parallel stages and hardware outputs, `golden.random_vectors` gives exactly
the vectors, words and $readmemh text of the generated fixed_sim.py (loaded here, in the
test: the driver never loads generated code)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from conftest import ROOT, SPEC

from spattenc import driver
from spattenc.middle import fixed as fx
from spattenc.middle import golden
from spattenc.run.loader import load_module

# Every distribution, a bool param, an int and a real state, conditionals (if, and/or/not),
# division, modulo, the roundings, abs and clamp, sequential and parallel stages, and
# every layer reduction; the layer count follows a param, so configurations run
# different numbers of layers (values are kept past a configuration's last layer).
MIXED = """spec mixed
fixed(frac_bits=20)
param n: int = 5 in [1, 9]
param f = 0.75 in [0.01, 2]
param q = 0.4 in [0.05, 0.95]
param fast: bool = true
param lo = -1.5 in [-3, 0]
layers l in range(n) {
  state t: int = n + 2 then t - 1 + k % 3
  state acc = f then acc * 0.5 + u / 4
  random b ~ bernoulli(q)
  random k ~ binomial(t, q)
  random u ~ uniform(lo, f)
  random g ~ geometric(q) max 7
  let gate = if b and not fast then 2 else 1
  let half = (k + g) / 2
  let r = round(acc * 3) + floor(u) - ceil(f * l) + trunc(half)
  let wrap = (t * 7 - 3) % 5
  stage a = max(1, abs(u) * gate + clamp(half, 0, 4))
  stage c = if k > 2 or g == 0 then acc + 1 else f * t
  stage d = wrap + 1
  stage e = max(0, r) + 1
}
design seq {
  schedule a -> c -> d
  metric total = last(end)
  metric wsum = sum(a * k)
  metric avg = mean(c - d)
  metric hits = count(b or g >= 3)
  metric first_e = first(e)
  metric top = max_over(r)
  metric bottom = min_over(u)
}
design par {
  schedule a -> (c | d -> e)
  let overlap = min(c, d + e)
  metric total = last(end)
  metric shared = sum(overlap) / n
  metric last_wrap = last(wrap)
  metric done = count(c.end <= e.end)
}
"""

# A uniform layer count, stage durations rounded to cycles, an int state that shrinks.
CYCLES = """spec cycles
fixed(frac_bits=24, stage_cycles=round)
param n0: int = 40 in [1, 200]
param p = 0.3 in [0, 1]
param w = 2.5 in [0.5, 8]
layers i in range(6) {
  state m: int = n0 then max(1, trunc(m * 0.8))
  random hit ~ binomial(m, p)
  stage load = w * m / 3
  stage work = if hit > m / 2 then hit * w else m - hit
}
design d {
  schedule load -> work
  metric cycles = last(end)
  metric misses = sum(m - hit)
  metric mean_work = mean(work)
}
"""

# Geometric with a max (test_geometric's spec).
GEOMETRIC = """spec geo
param p = 0.3 in [0.05, 1]
param cap: int = 64 in [1, 64]
trials 40000
fixed(frac_bits=16)
layers l in range(3) {
  random k ~ geometric(p) max cap
  stage s = k + 1
}
design d {
  schedule s
  metric last_k = last(k)
  metric zeros = count(k == 0)
  metric twos = count(k == 2)
  metric at_cap = count(k == cap)
}
"""

SPECS = {"mixed": MIXED, "cycles": CYCLES, "geo": GEOMETRIC}


def _compiled(tmp_path: Path, name: str):
    if name == "cv_demo":
        return driver.load(str(SPEC))
    path = tmp_path / f"{name}.spt"
    path.write_text(SPECS[name], encoding="utf-8")
    return driver.load(str(path))


@pytest.mark.parametrize("name", ["cv_demo", *SPECS])
@pytest.mark.parametrize("n, seed", [(32, None), (32, 7), (5, 123)])
def test_golden_vectors_equal_the_generated_fixed_sim(tmp_path, name, n, seed):
    compiled = _compiled(tmp_path, name)
    seed = compiled.program.seed if seed is None else seed
    fp = fx.lower_fixed(compiled.plan)
    sim = load_module(driver.cached_fixed_sim(compiled))
    want = sim.random_vectors(n, seed)
    got = golden.random_vectors(fp, n, seed)
    assert got == want
    for v in got:
        assert golden.vector_words(fp, v) == sim.vector_words(v)
    assert golden.format_vectors(fp, got, "a note") == sim.format_vectors(want, "a note")
    assert golden.word_bits(fp) == sim.WORD_BITS


def test_the_specs_cover_what_they_claim(tmp_path):
    """The mixed spec's configurations run different layer counts, every draw varies, and
    cv_demo has hardware outputs (computed alongside, as the RTL does)."""
    fp = fx.lower_fixed(_compiled(tmp_path, "mixed").plan)
    vectors = golden.random_vectors(fp, 32, 5)
    assert len({v["count"] for v in vectors}) > 1
    assert {d.dist for d in fp.layer if isinstance(d, fx.Draw)} == {"bernoulli", "binomial", "uniform", "geometric"}
    for name in ("b", "k", "u", "g"):
        assert len({x for v in vectors for x in v["draws"][name]}) > 1, name
    assert {a.reduction for d in fp.designs for a in d.accs} >= {"sum", "mean", "count", "last", "first",
                                                                 "max_over", "min_over"}
    cv = fx.lower_fixed(_compiled(tmp_path, "cv_demo").plan)
    assert cv.hardware and cv.hardware[0].outputs and cv.hardware[0].layer_outputs


def test_hardware_figures_equal_the_generated_fixed_sim(tmp_path):
    """The DUT outputs and per-layer outputs of cv_demo's hardware block, for the golden
    configurations and draws."""
    import numpy as np

    compiled = _compiled(tmp_path, "cv_demo")
    fp = fx.lower_fixed(compiled.plan)
    sim = load_module(driver.cached_fixed_sim(compiled))
    configs = [{p: s[2] for p, s in sim.PARAMS.items()}]
    rng = np.random.Generator(np.random.PCG64(3))
    configs += [sim.random_params(rng, sim.HARDWARE["spatten_lookahead"]["limits"]) for _ in range(7)]
    values = {p: [c[p] for c in configs] for p in sim.PARAMS}
    R, H, T = sim.simulate(sim.raw_params(values), 1, sim.Draws(np.random.Generator(np.random.PCG64(9)), (8, 1)))
    out = golden.simulate(fp, golden.raw_params(fp, values), golden.Draws(np.random.Generator(np.random.PCG64(9)), 8,
                                                                         fp.frac_bits))
    for design, metrics in R.items():
        for m, arr in metrics.items():
            assert [int(x) for x in arr[:, 0]] == [int(x) for x in out.metrics[design][m]]
        assert [int(x) for x in T[design][:, 0]] == [int(x) for x in out.ends[design]]
    for hw, figures in H.items():
        for o, arr in figures["outputs"].items():
            assert [int(x) for x in arr[:, 0]] == [int(x) for x in out.hardware[hw]["outputs"][o]], o
        for o, seq in figures["layers"].items():
            assert [[int(x) for x in np.broadcast_to(a, (8, 1))[:, 0]] for a in seq] == \
                [[int(x) for x in a] for a in out.hardware[hw]["layers"][o]], o


def test_committed_vectors_file_comes_from_the_middle_layer():
    """generated/cv_demo/rtl/cv_demo_vectors.hex is what middle/golden writes."""
    compiled = driver.load("specs/cv_demo.spt")
    files, err = driver.fixed_outputs(compiled)
    assert err is None
    rel = "rtl/cv_demo_vectors.hex"
    assert files[rel] == (ROOT / "generated" / "cv_demo" / rel).read_text(encoding="utf-8")


def test_a_forgotten_node_fails_at_once():
    class Strange:
        pass

    with pytest.raises(NotImplementedError, match="FixedRun has no visit_Strange"):
        golden.FixedRun({}, 1).value(Strange())


def test_the_driver_runs_no_generated_code():
    """driver.py imports neither the loader nor anything above the back ends."""
    tree = ast.parse((ROOT / "spattenc" / "driver.py").read_text())
    mods = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    mods |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not {m for m in mods if m and m.startswith(("spattenc.run", "spattenc.present", "spattenc.api",
                                                        "spattenc.cli"))}
