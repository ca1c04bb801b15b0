"""Draws made once per trial (`random x ~ ...` at spec or design level): their moments,
the simulator against the reference interpreter on the same draws, and the legacy
generator's figures against a hand-written numpy RandomState script."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from spattenc.driver import load
from spattenc.ir.keys import Key
from spattenc.middle.interp import Env, Interpreter
from spattenc.run.loader import simulator


def write(tmp_path, text: str, name: str = "t.spt"):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


MOMENTS = """
spec moments
trials 20000
param mu = 3.0 in [0, 10]
random x ~ normal(mu, 2)
random u ~ uniform(1, 5)
layers l in range(3) {
  let y = x + l
  stage s = u * 2 + l
}
design d {
  schedule s
  metric xs = sum(y)
  metric x1 = x
  metric u1 = u
  metric t = last(end)
}
"""


def test_moments_of_per_trial_draws(cli, tmp_path):
    """x ~ normal(3, 2), u ~ uniform(1, 5) (mean 3, std 4/sqrt(12)), within 5 sigma of the
    sampling error; xs = 3x + 3 and t = 6u + 3 per trial, so their spread is 3 and 6 times."""
    r = cli("eval", write(tmp_path, MOMENTS), "--json")
    assert r.code == 0, r.err
    d = json.loads(r.out)["designs"]["d"]
    n = 20000
    for name, mean, std in (("x1", 3.0, 2.0), ("u1", 3.0, 4 / math.sqrt(12)), ("xs", 12.0, 6.0),
                            ("t", 21.0, 6 * 4 / math.sqrt(12))):
        assert abs(d[name]["mean"] - mean) < 5 * std / math.sqrt(n), name
        assert abs(d[name]["std"] - std) < 5 * std / math.sqrt(n), name
    assert d["xs"]["mean"] == pytest.approx(3 * d["x1"]["mean"] + 3, rel=1e-12)
    assert d["t"]["min"] == pytest.approx(6 * d["u1"]["min"] + 3, rel=1e-12)


def test_simulator_agrees_with_the_interpreter_on_the_same_draws(tmp_path):
    """Each trial's draws (read back through the metrics x1 and u1) replayed through the
    reference interpreter give the simulator's other metrics."""
    c = load(write(tmp_path, MOMENTS))
    R, _, _ = simulator(c).run(trials=6, seed=3)
    d = R["d"]
    for t in range(6):
        env = Env({Key("param", "mu"): 3.0, Key("random", "x"): float(d["x1"][0, t]),
                   Key("random", "u"): float(d["u1"][0, t])})
        ref = Interpreter(c.program, env).run_plan(c.plan)
        for m in ("xs", "t"):
            assert ref[Key("metric", m, "d")] == pytest.approx(float(d[m][0, t]), rel=1e-15, abs=0), (m, t)


LEGACY = """
spec legacy_order
trials 3
param mu = 3.0 in [0, 10]
random x ~ normal(mu, 2)
layers l in range(3) {
  random k ~ binomial(4, 0.5)
  stage s = k + x
}
design a {
  random jitter ~ uniform(0, 10)
  stage w = jitter / 3
  schedule s -> w
  metric t = last(end)
}
design b {
  schedule s
  metric t = last(end)
}
compare gap = mean(a.t) - mean(b.t)
"""


def _legacy_script(trials: int, seed: int) -> tuple[list[float], list[float]]:
    """The spec as a scalar numpy script: per trial, the spec's draws in declaration
    order, then each design's, then the layers' draws layer by layer."""
    rs = np.random.RandomState(seed)
    a_t, b_t = [], []
    for _ in range(trials):
        x = rs.normal(3.0, 2)
        jitter = rs.uniform(0, 10)
        ks = [rs.binomial(4, 0.5) for _ in range(3)]
        b_t.append(sum(k + x for k in ks))
        a_t.append(sum(k + x + jitter / 3 for k in ks))
    return a_t, b_t


def test_legacy_rng_draws_per_trial_draws_before_the_layers(cli, tmp_path):
    r = cli("eval", write(tmp_path, LEGACY), "--rng", "legacy", "--json", "--seed", "7")
    assert r.code == 0, r.err
    out = json.loads(r.out)
    a_t, b_t = _legacy_script(3, 7)
    for design, values in (("a", a_t), ("b", b_t)):
        got = out["designs"][design]["t"]
        assert got["mean"] == pytest.approx(float(np.mean(values)), rel=1e-15)
        assert (got["min"], got["max"]) == pytest.approx((min(values), max(values)), rel=1e-15)
        assert got["std"] > 0
    assert out["compare"]["gap"] == pytest.approx(float(np.mean(a_t) - np.mean(b_t)), rel=1e-12)


def test_inspect_says_what_depends_on_a_per_trial_draw(cli, tmp_path):
    r = cli("inspect", write(tmp_path, LEGACY))
    assert r.code == 0, r.err
    assert "t: depends on random draws" in r.out
    assert "gap: no closed form (a.t depends on random draws)" in r.out
    assert "## Draws (one per trial)\nrandom x ~ normal(mu, 2)\n" in r.out
    assert "random jitter ~ uniform(0, 10) (one per trial)" in r.out


@pytest.mark.parametrize("line, message", [
    ("let c = x * 2", "3:9: error: 'x' is a random draw (one per trial); global let 'c' must be the same in every trial"),
    ("def f(a) = a + x", "3:16: error: 'x' is a random draw (one per trial); function 'f' cannot read it (pass it as an argument)"),
    ("compare k = x", "3:13: error: 'x' is a random draw (one per trial); comparison 'k' combines design metrics"),
    ("fixed(frac_bits=8)", "2:8: error: fixed point: random 'x' is drawn once per trial (declared outside the layers "
                           "block); the fixed-point semantics and the RTL take per-layer draws only"),
])
def test_where_a_per_trial_draw_cannot_be_read(cli, tmp_path, line, message):
    spec = write(tmp_path, f"spec e\nrandom x ~ uniform(0, 1)\n{line}\ndesign d {{ metric m = x }}\n")
    r = cli("compile", spec, "--out", str(tmp_path / "out"))
    assert r.code == 2 and message in r.err, r.err


def test_bad_arguments_point_at_the_draw(cli, tmp_path):
    spec = write(tmp_path, "spec p\nparam q = 0.5 in [0, 3]\nrandom hit ~ bernoulli(q)\n"
                           "design d { metric m = if hit then 1 else 0 }\n")
    r = cli("eval", spec, "--set", "q=2")
    assert r.code == 2
    assert ":3:8: error: random 'hit': bernoulli p must be in [0, 1] (got 2) with --set q=2" in r.err
    r = cli("eval", spec, "--json", "--trials", "4000")
    assert abs(json.loads(r.out)["designs"]["d"]["m"]["mean"] - 0.5) < 5 * 0.5 / math.sqrt(4000)
