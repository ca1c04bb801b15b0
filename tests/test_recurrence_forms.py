"""Closed forms of layer recurrences whose multiplier is 1 (N[l+1] = N[l] + b): an
arithmetic progression, which the general geometric law a^l N0 + b (1 - a^l)/(1 - a)
leaves as 0/0."""

import re

SPEC = """spec arith "arithmetic recurrence"
param n = 2 in [1, 10]
param step = 3 in [0, 10]
layers l in range(4) {
  state N: int = n then N + step
  stage s = N
}
design d {
  schedule s
  metric t = last(end)
  metric total_n = sum(N)
}
"""


def test_arithmetic_recurrence_has_a_closed_form(tmp_path, cli):
    spec = tmp_path / "arith.spt"
    spec.write_text(SPEC)
    r = cli("inspect", str(spec), "--set", "n=5")
    assert r.code == 0, r.err
    # By hand: N = 5, 8, 11, 14 -> 38, and 4 n + 6 step in general.
    assert "continuous relaxation: Eq(N(l), l*step + n)" in r.out, r.out
    for name in ("t", "total_n"):
        m = re.search(rf"^{name} = (.+)\n  = (\S+) at the current params", r.out, re.M)
        assert m, r.out
        assert m.group(2) == "38.0", r.out
    assert "nan" not in r.out and "undefined" not in r.out, r.out


COND_SPEC = """spec s
param b: bool = false
param x: real = 5.375 in [-1.0, 7.0]
layers l in range(3) {
  stage s = if (if b then 0 else 3) == l then x else 2.875
}
design d {
  schedule s
  metric m = last(end)
}
"""


def test_comparison_of_a_conditional_on_a_bool_param(tmp_path, cli):
    """`(if b then 0 else 3) == l` keeps its dependence on b in the closed form."""
    spec = tmp_path / "cond.spt"
    spec.write_text(COND_SPEC)
    # By hand: b false -> no layer matches 3 -> 3 * 2.875; b true -> layer 0 takes x.
    for setting, value in (("b=false", "8.625"), ("b=true", "11.125")):
        r = cli("inspect", str(spec), "--set", setting)
        assert r.code == 0, r.err
        m = re.search(r"^m = (.+)\n  = (\S+) at the current params; simulator (\S+)", r.out, re.M)
        assert m and m.group(2) == value and m.group(3) == value, r.out
