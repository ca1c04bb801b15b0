"""geometric(p) draws and the log10/sqrt builtins, against figures derived by hand: the
exact pmf of the number of failures before the first success (capped by a declared
`max`), its fixed-point semantics against the float one and the RTL, and errors."""

from __future__ import annotations

import json
import math

import pytest

from conftest import RTL_TIMEOUT, run_subprocess

GEOMETRIC = """spec geo
param p = 0.3 in [0.05, 1]
param cap: int = 64 in [1, 64]
trials 40000
fixed(frac_bits=16)
layers l in range(3) {{
  random k ~ geometric(p){cap}
  stage s = k + 1
}}
design d {{
  schedule s
  metric last_k = last(k)
  metric zeros = count(k == 0)
  metric twos = count(k == 2)
  metric at_cap = count(k == cap)
}}
"""


def write(tmp_path, text: str, name: str = "geo.spt") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def _pmf(p: float, cap: int | None, j: int) -> float:
    """P(k = j) for k failures before the first success, a draw above `cap` being `cap`."""
    if cap is not None and j == cap:
        return (1 - p) ** cap
    if cap is not None and j > cap:
        return 0.0
    return (1 - p) ** j * p


def _moments(p: float, cap: int | None) -> tuple[float, float]:
    """Mean and standard deviation of k (the uncapped ones in closed form)."""
    if cap is None:
        return (1 - p) / p, math.sqrt(1 - p) / p
    mean = sum(j * _pmf(p, cap, j) for j in range(cap + 1))
    second = sum(j * j * _pmf(p, cap, j) for j in range(cap + 1))
    return mean, math.sqrt(second - mean ** 2)


@pytest.mark.parametrize("rng", ["pcg64", "legacy"])
@pytest.mark.parametrize("p, cap", [(0.3, None), (0.5, None), (0.2, 3)])
def test_geometric_frequencies_follow_the_pmf(cli, tmp_path, rng, p, cap):
    """Over 40000 trials of 3 layers: the mean of k and the counts of k == 0, k == 2 and
    k == cap (each binomial(3, pmf)) lie within 5 standard errors of the exact pmf."""
    text = GEOMETRIC.format(cap=f" max {cap}" if cap is not None else "")
    sets = ["--set", f"p={p}"] + (["--set", f"cap={cap}"] if cap is not None else [])
    r = cli("eval", write(tmp_path, text), "--rng", rng, "--json", *sets)
    assert r.code == 0, r.err
    d = json.loads(r.out)["designs"]["d"]
    n = 40000
    mean, sd = _moments(p, cap)
    assert abs(d["last_k"]["mean"] - mean) <= 5 * sd / n ** 0.5
    assert d["last_k"]["min"] == 0
    for metric, j in (("zeros", 0), ("twos", 2)):
        q = _pmf(p, cap, j)
        assert abs(d[metric]["mean"] - 3 * q) <= 5 * (3 * q * (1 - q)) ** 0.5 / n ** 0.5, metric
    if cap is not None:
        q = _pmf(p, cap, cap)
        assert abs(d["at_cap"]["mean"] - 3 * q) <= 5 * (3 * q * (1 - q)) ** 0.5 / n ** 0.5
        assert d["last_k"]["max"] == cap  # never above the cap, and reached
    else:
        assert d["last_k"]["max"] > 10  # unbounded: the tail is drawn


def test_geometric_p_one_never_fails(cli, tmp_path):
    """p = 1: the first trial succeeds, so every draw is 0."""
    r = cli("eval", write(tmp_path, GEOMETRIC.format(cap="")), "--set", "p=1", "--trials", "50", "--json")
    assert r.code == 0, r.err
    d = json.loads(r.out)["designs"]["d"]
    assert d["last_k"]["max"] == 0 and d["zeros"]["mean"] == 3


@pytest.mark.parametrize("rng", ["pcg64", "legacy"])
def test_geometric_fixed_point_draws_as_the_float_model(cli, tmp_path, rng):
    """Fixed point draws the same numbers (the same generator calls): every metric is an
    integer count or draw, so the fixed and float statistics are equal."""
    path = write(tmp_path, GEOMETRIC.format(cap=" max cap"))
    docs = []
    for numeric in ("float", "fixed"):
        r = cli("eval", path, "--numeric", numeric, "--rng", rng, "--trials", "300", "--set", "cap=5", "--json")
        assert r.code == 0, r.err
        docs.append(json.loads(r.out)["designs"])
    assert docs[0] == docs[1]


@pytest.mark.rtl
def test_geometric_rtl_equals_fixed_point(tmp_path):
    """The generated RTL takes the draws as inputs (width from the declared max) and
    reproduces the fixed-point simulator on golden and random vectors."""
    from test_rtl import ICARUS_MISSING
    if ICARUS_MISSING is not None:
        pytest.skip(f"Icarus Verilog: {ICARUS_MISSING}")
    write(tmp_path, GEOMETRIC.format(cap=" max cap"))
    r = run_subprocess("verify", "geo.spt", "--sim", "icarus", "--vectors", "60", cwd=tmp_path,
                       timeout=RTL_TIMEOUT)
    assert r.code == 0, r.out + r.err
    assert "testbench   geo_tb.v, 60 golden vectors: PASS 60/60" in r.out
    assert "model vs fixed_sim.py, 60 random vectors: PASS 60/60" in r.out


def test_geometric_rtl_input_width_comes_from_the_max(cli, tmp_path):
    """cap in [1, 64]: draws 0..64 need 8 signed bits; cap in [1, 5]: 0..5 need 4 (a bus of 3 layers)."""
    for hi, width in ((64, 8), (5, 4)):
        text = GEOMETRIC.format(cap=" max cap").replace("in [1, 64]", f"in [1, {hi}]").replace("= 64", f"= {hi}")
        r = cli("compile", write(tmp_path, text), "-o", str(tmp_path / f"out{hi}"))
        assert r.code == 0, r.err
        model = (tmp_path / f"out{hi}" / "geo" / "rtl" / "geo_model.v").read_text()
        assert f"input  wire [{3 * width - 1}:0] r_k,  // k ~ geometric, W = {width}" in model


def test_geometric_fixed_point_needs_a_max(cli, tmp_path):
    r = cli("compile", write(tmp_path, GEOMETRIC.format(cap="")), "-o", str(tmp_path / "out"))
    assert r.code == 2
    lines = r.err.splitlines()
    assert lines[0] == (f"{tmp_path / 'geo.spt'}:7:10: error: geometric draws are unbounded; declare their largest "
                        "value (random k ~ geometric(p) max 64) so the RTL input has a width")
    assert lines[1] == "    random k ~ geometric(p)"
    assert "Traceback" not in r.err


@pytest.mark.parametrize("draw, message", [
    ("binomial(3, p) max 2", "7:33: error: binomial() draws are bounded; 'max' caps only an unbounded draw (geometric)"),
    ("geometric(p) max 2.5", "7:31: error: the max of a geometric draw must be an integer (use trunc/round/floor/ceil)"),
    ("geometric(p, 2)", "7:14: error: geometric() takes 1 argument (p), got 2"),
])
def test_geometric_declaration_errors(cli, tmp_path, draw, message):
    r = cli("check", write(tmp_path, GEOMETRIC.format(cap="").replace("geometric(p)", draw)))
    assert r.code == 2
    assert r.err.splitlines()[0] == f"{tmp_path / 'geo.spt'}:{message}"


def test_geometric_p_outside_its_domain_points_at_the_random(cli, tmp_path):
    r = cli("eval", write(tmp_path, GEOMETRIC.format(cap="").replace("[0.05, 1]", "[0, 1]")), "--set", "p=0")
    assert r.code == 2
    assert r.err.splitlines()[0] == (f"{tmp_path / 'geo.spt'}:7:10: error: random 'k': geometric p must be in "
                                     "(0, 1] (got 0) with --set p=0")


BUILTINS = """spec b
param x = 1000.0 in [1, 1e6]
let a = log10(x)
let b = sqrt(x)
design d {
  stage s = a + b
  schedule s
  metric m = s
  metric r = log10(sqrt(x))
}
"""


@pytest.mark.parametrize("x", [1000.0, 2.0, 1e6, 37.5])
def test_log10_and_sqrt_evaluate_as_python(cli, tmp_path, x):
    r = cli("eval", write(tmp_path, BUILTINS, "b.spt"), "--set", f"x={x}", "--json")
    assert r.code == 0, r.err
    d = json.loads(r.out)["designs"]["d"]
    # numpy's log10 may differ from Python's math.log10 in the last bit: within 4 ulp.
    for got, want in ((d["m"]["mean"], math.log10(x) + math.sqrt(x)), (d["r"]["mean"], math.log10(math.sqrt(x)))):
        assert abs(got - want) <= 4 * math.ulp(want), (got, want)


def test_log10_and_sqrt_have_closed_forms(cli, tmp_path):
    r = cli("inspect", write(tmp_path, BUILTINS, "b.spt"))
    assert r.code == 0, r.err
    assert "a = log(x)/log(10)" in r.out
    assert "b = sqrt(x)" in r.out


def test_log10_has_no_fixed_point_semantics(cli, tmp_path):
    text = BUILTINS.replace("spec b\n", "spec b\nfixed()\n")
    r = cli("compile", write(tmp_path, text, "b.spt"), "-o", str(tmp_path / "out"))
    assert r.code == 2
    assert r.err.splitlines()[0] == (
        f"{tmp_path / 'b.spt'}:4:9: error: log10() has no fixed-point semantics; the Verilog back end supports "
        "+ - * / % ^, comparisons, and/or/not, if, min, max, clamp, abs, floor, ceil, round and trunc")
