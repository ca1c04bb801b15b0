"""Language features beyond cv_demo, each checked against figures computed by hand."""

from __future__ import annotations

import json

import pytest


def write(tmp_path, text: str, name: str = "t.spt"):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


ROOFLINE = """
spec roof "a spec without per-layer structure"
param n: int = 4 in [1, 100]
param peak = 10.0
let flops = 2 * n ^ 2
design d {
  stage compute = flops / peak
  stage mem = n * 3.0
  schedule compute | mem
  metric latency = end
  metric fl = flops
  metric c = compute
  metric c_end = compute.end
}
"""


@pytest.mark.parametrize("n, latency", [(4, 12.0), (20, 80.0)])
def test_spec_without_layers_reads_values_directly(cli, tmp_path, n, latency):
    """No layers block: one evaluation; metrics read stages and times directly.
    n=4: compute = 32/10 = 3.2, mem = 12 -> 12; n=20: compute = 80, mem = 60 -> 80."""
    r = cli("eval", write(tmp_path, ROOFLINE), "--set", f"n={n}", "--json")
    assert r.code == 0, r.err
    d = json.loads(r.out)["designs"]["d"]
    assert d["latency"]["mean"] == latency
    assert d["fl"]["mean"] == 2 * n * n
    assert d["c"]["mean"] == pytest.approx(2 * n * n / 10.0, rel=1e-15)
    assert d["c_end"]["mean"] == d["c"]["mean"]
    assert d["latency"]["std"] == 0.0


def test_spec_without_layers_inspect(cli, tmp_path):
    r = cli("inspect", write(tmp_path, ROOFLINE))
    assert r.code == 0, r.err
    assert "time = Max(d.compute, d.mem)" in r.out
    assert "= Max(3.0*n, flops/peak)" in r.out or "= Max(flops/peak, 3.0*n)" in r.out


def test_metric_outside_reduction_is_an_error_with_layers(cli, tmp_path):
    text = ROOFLINE.replace("design d {", "layers l in range(2) { let x = 1 }\ndesign d {")
    r = cli("check", write(tmp_path, text))
    assert r.code == 2
    assert "'end' is a per-layer time; use it inside a reduction such as last(end)" in r.err


CATEGORICAL = """
spec cat
trials 40000
param w0 = 1
param w1 = 2
param w2 = 5
layers l in range(3) {
  random k ~ categorical(w0, w1, w2)
  stage s = k + 1
}
design d {
  schedule s
  metric last_k = last(k)
  metric twos = count(k == 2)
  metric zeros = count(k == 0)
}
"""


@pytest.mark.parametrize("rng", ["pcg64", "legacy"])
@pytest.mark.parametrize("weights", [(1, 2, 5), (0, 3, 1), (2, 2, 0)])
def test_categorical_frequencies_follow_the_weights(cli, tmp_path, rng, weights):
    """k = i with probability w_i / sum(w), independently per layer: over 3 layers the
    count of k == 2 is binomial(3, w2/W); the means stay within 5 standard errors (of n
    trials: the legacy generator draws trial by trial, so it gets fewer, and wider bounds)."""
    n = 40000 if rng == "pcg64" else 8000
    sets = [x for i, w in enumerate(weights) for x in ("--set", f"w{i}={w}")]
    r = cli("eval", write(tmp_path, CATEGORICAL), "--rng", rng, "--json", "--trials", str(n), *sets)
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert doc["trials"] == n
    d = doc["designs"]["d"]
    total = sum(weights)
    p = [w / total for w in weights]
    mean_k = p[1] + 2 * p[2]
    sd_k = (p[1] + 4 * p[2] - mean_k ** 2) ** 0.5
    assert abs(d["last_k"]["mean"] - mean_k) <= 5 * sd_k / n ** 0.5 + 1e-12
    for metric, q in (("twos", p[2]), ("zeros", p[0])):
        sd = (3 * q * (1 - q)) ** 0.5
        assert abs(d[metric]["mean"] - 3 * q) <= 5 * sd / n ** 0.5 + 1e-12, metric
    if weights[0] == 0:
        assert d["zeros"]["max"] == 0  # a zero weight is never drawn
    if weights[2] == 0:
        assert d["twos"]["max"] == 0 and d["last_k"]["max"] <= 1


def test_categorical_needs_two_weights(cli, tmp_path):
    r = cli("check", write(tmp_path, CATEGORICAL.replace("categorical(w0, w1, w2)", "categorical(w0)")))
    assert r.code == 2
    assert r.err.splitlines()[0].endswith(
        "t.spt:8:14: error: categorical() takes two or more arguments (weights), got 1")


DOMAIN = """spec dom
param q = 0.5
param w: int = 1
layers l in range(2) {{
  random k ~ {dist}
  stage s = 1
}}
design d {{
  schedule s
  metric m = sum(s)
}}
"""


@pytest.mark.parametrize("dist, sets, message", [
    ("categorical(q, w, 2)", ["w=-1"], "categorical weights must be >= 0 (got -1) with --set w=-1"),
    ("categorical(q, w)", ["q=0", "w=0"], "categorical weights must not all be 0 (got 0) with --set q=0 --set w=0"),
    ("binomial(4, q)", ["q=1.5"], "binomial p must be in [0, 1] (got 1.5) with --set q=1.5"),
    ("binomial(w, q)", ["w=-2"], "binomial n must be >= 0 (got -2) with --set w=-2"),
    ("bernoulli(q)", [], None),
    ("bernoulli(q * 3)", [], "bernoulli p must be in [0, 1] (got 1.5) at the params' defaults"),
    ("normal(0, -q)", [], "normal std must be >= 0 (got -0.5) at the params' defaults"),
    ("integers(w, 0)", [], "integers needs low <= high (after rounding down) (got 0) at the params' defaults"),
])
def test_draw_arguments_outside_the_domain_point_at_the_random(cli, tmp_path, dist, sets, message):
    r = cli("eval", write(tmp_path, DOMAIN.format(dist=dist)), *(x for s in sets for x in ("--set", s)))
    if message is None:
        assert r.code == 0, r.err
        return
    assert r.code == 2, r.out
    lines = r.err.splitlines()
    assert lines[0] == f"{tmp_path / 't.spt'}:5:10: error: random 'k': {message}"
    assert lines[1] == f"    random k ~ {dist}"
    assert lines[2] == "           ^"
    assert "Traceback" not in r.err
