"""Solving for a param on specs written as a new user would: `solve` declarations (shown
by `inspect`) and report `solve` entries (`eval`), over equations with branches (ceil,
floor, max, if on a bool param), with roots outside the declared range, and in specs
that also hold unrelated metrics, draws and loops.  Roots are compared with values
derived by hand (written next to each test)."""

from __future__ import annotations

import json
import math

import pytest

ROOFLINE = """
spec roof "a layers-free roofline"
param B = 64 in [1, 65536]
param F = 1000 in [1, 1e9]
let t_c = F / B
let t_m = B * 0.01 + 3
solve Bx for B: t_c == t_m
design d { metric t = t_c + t_m }
"""

TILED = """
spec tile "a K-tiled model"
param B = 64 in [1, 65536]
param K = 128 in [1, 1024]
param c = 1000 in [1, 1e9]
param m = 10 in [0.001, 1e9]
param tiled: bool = true
let t_c = if tiled then ceil(B / K) * c else B * c / K
let t_m = B * m
let t_r = max(B * m, c)
let t_f = floor(B / K) * c + c
solve Bt for B: t_c == t_m
solve Bm for B: t_r == 3000
solve Bf for B: t_f == t_m
solve Bw for B: t_c == 2000
report {
  xt = solve B where d.t == 8000
  xm = solve B where d.r == 3000
  xw = solve B where d.tc == 2000
  xn = solve B where d.t == 1
}
design d {
  metric r = t_r
  metric tc = t_c
  metric t = t_c + t_m
}
"""

LAYERED = """
spec lay "two metrics crossing, next to unrelated ones"
param B = 64 in [1, 65536]
param F = 90000 in [1, 1e9]
layers l in range(4) {
  random acc ~ bernoulli(0.9)
  let t_c = F / B
  let t_m = B
  stage s = t_c + t_m
}
design d {
  schedule s
  metric t_c = sum(t_c)
  metric t_m = sum(t_m)
  metric bound_layers = count(t_c >= t_m)
  metric drawn = sum(if acc then 1 else 0)
}
report {
  x = solve B where d.t_c == d.t_m
  y = solve B where d.drawn == 2
}
"""


def _spec(tmp_path, text: str, name: str = "s.spt") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def _block(out: str, title: str) -> str:
    """The lines of inspect's output from `title` up to the next blank line or entry."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(title))
    end = next((i for i in range(start + 1, len(lines)) if not lines[i].startswith("  ")), len(lines))
    return "\n".join(lines[start:end])


def _eval_json(cli, path: str) -> dict:
    r = cli("eval", path, "--json")
    assert r.code == 0, r.err
    return json.loads(r.out)


def test_inspect_survives_a_state_that_follows_a_draw(cli, tmp_path):
    # state alive = 1 then (if acc then alive else 0): a conditional on a draw, no law.
    path = _spec(tmp_path, """
spec a "t"
param c = 2 in [1, 10]
layers l in range(3) {
  random acc ~ bernoulli(0.9)
  state alive: int = 1 then (if acc then alive else 0)
  stage s = c + alive
}
design d { schedule s
  metric t = last(end) }
""")
    r = cli("inspect", path)
    assert r.code == 0, r.err
    assert "t: depends on random draws" in r.out


def test_a_loop_elsewhere_leaves_the_report_solve_alone(cli, tmp_path):
    # 2 layers: sum(F/B) == sum(B) -> F/B == B -> B = sqrt(90000) = 300.
    path = _spec(tmp_path, """
spec lp "t"
param B = 64 in [1, 65536]
param F = 90000 in [1, 1e9]
loop walk(n0) {
  state n = n0 then n - 1
  while n >= 1
  random u ~ uniform(0, 1)
  let cost = u + 1
  return sum(cost)
}
layers l in range(2) {
  let t_c = F / B
  let t_m = B
  stage s = t_c + t_m
  let w = walk(3)
}
design d {
  schedule s
  metric t_c = sum(t_c)
  metric t_m = sum(t_m)
  metric walked = sum(w)
}
report { x = solve B where d.t_c == d.t_m }
""")
    assert _eval_json(cli, path)["x"] == 300


def test_unrelated_metric_and_draw_do_not_change_a_solve(cli, tmp_path):
    # 4F/B == 4B -> B = 300 (and -300, outside [1, 65536]); `drawn` reads a draw.
    path = _spec(tmp_path, LAYERED)
    doc = _eval_json(cli, path)
    assert doc["x"] == 300 and doc["y"] is None
    text = cli("eval", path).out
    assert "x: 300 (other roots: -300, outside [1, 65536])" in text
    assert "y: null (the equation reads d.drawn, which depends on random draws" in text
    out = cli("inspect", path).out
    assert "B = 300" in _block(out, "x: solve")
    assert "-300, outside [1, 65536]" in _block(out, "x: solve")
    assert "no closed form: it depends on random draws" in _block(out, "d.drawn")
    assert "4*F/B" in _block(out, "d.t_c")


def test_a_report_block_keeps_inspect_with_a_param_layer_count(cli, tmp_path):
    # n = 4 layers of 1000/B + B: 4(B + 1000/B) = 500 -> B^2 - 125 B + 1000 = 0,
    # B = (125 -+ sqrt(11625)) / 2 = 8.5903..., 116.41...; the smallest is the entry.
    path = _spec(tmp_path, """
spec cnt "t"
param n = 4 in [1, 64]
param B = 64 in [1, 65536]
layers l in range(n) {
  stage s = 1000 / B + B
}
design d {
  schedule s
  metric t = last(end)
}
report { x = solve B where d.t == 500 }
""")
    r = cli("inspect", path)
    assert r.code == 0, r.err
    assert "(n = 4: the layer count, at its value)" in r.out
    assert "(4*B**2 + 4000)/B" in r.out
    assert _eval_json(cli, path)["x"] == pytest.approx((125 - math.sqrt(11625)) / 2, rel=1e-12)


@pytest.mark.parametrize("k", [2, 3, 4, 5, 8])
def test_geometric_sum_solves_for_every_layer_count(cli, tmp_path, k):
    # sum_{i<k} alpha^i == 10 has one root in [0, 10]; found here by bisection.
    path = _spec(tmp_path, f"""
spec geo "t"
param alpha = 0.5 in [0, 10]
layers l in range({k}) {{
  state a: real = 1 then a * alpha
  stage s = a
}}
design d {{
  schedule s
  metric t = sum(s)
}}
report {{ x = solve alpha where d.t == 10 }}
""")
    lo, hi = 0.0, 10.0
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if sum(mid ** i for i in range(k)) < 10 else (lo, mid)
    assert _eval_json(cli, path)["x"] == pytest.approx(lo, rel=1e-9)


def test_declaration_reports_a_root_outside_the_range(cli, tmp_path):
    # F/B == B/100 + 3 -> B^2 + 300 B - 100 F = 0 -> B = -150 +- 350: 200, and -500 outside.
    out = cli("inspect", _spec(tmp_path, ROOFLINE)).out
    block = _block(out, "Bx:")
    assert "= -500.0 at the current params: outside the declared range [1, 65536]" in block
    assert "= 200.0 at the current params\n" in block + "\n"
    out = cli("inspect", _spec(tmp_path, ROOFLINE), "--set", "F=1").out
    # F = 1: B = -150 + sqrt(22600) = 0.3329..., below 1: no root in range, said plainly.
    assert "no root in the declared range [1, 65536]" in _block(out, "Bx:")


def test_tiled_declarations_give_every_root_with_its_branch(cli, tmp_path):
    out = cli("inspect", _spec(tmp_path, TILED)).out
    # ceil(B/128) * 1000 == 10 B -> B = 100 n with n - 1 < 100 n / 128 <= n: n = 1..4
    # (and n = 0: B = 0, outside [1, 65536]).
    block = _block(out, "Bt:")
    for n in (1, 2, 3, 4):
        assert f"(where ceiling(B/K) = {n}, tiled)\n    = {100.0 * n} at the current params\n" in block + "\n"
    assert "= 0.0 at the current params: outside the declared range [1, 65536]" in block
    assert "ceiling(B/K) = 5" not in block
    # max(10 B, 1000) == 3000: only the 10 B branch, B = 300.
    assert "B = 3000/m  (where c < B*m)\n    = 300.0 at the current params" in _block(out, "Bm:")
    # floor(B/128) * 1000 + 1000 == 10 B -> B = 100 (n + 1), n <= 100 (n+1)/128 < n + 1: n = 0..3.
    block = _block(out, "Bf:")
    assert [f"floor(B/K) = {n})\n    = {100.0 * (n + 1)}" in block for n in range(4)] == [True] * 4
    # ceil(B/128) * 1000 == 2000 holds on all of (128, 256].
    assert "holds for every B in (128, 256] (where ceiling(B/K) = 2, tiled)" in _block(out, "Bw:")
    # tiled = false: 1000 B / 128 == 10 B only at B = 0.
    off = cli("inspect", _spec(tmp_path, TILED), "--set", "tiled=false").out
    assert "no root in the declared range [1, 65536]" in _block(off, "Bt:")


def test_tiled_report_entries_take_the_least_root_in_range(cli, tmp_path):
    # ceil(B/128) * 1000 + 10 B == 8000 -> n = 4, B = 400; max(10 B, 1000) == 3000 -> 300;
    # ceil(B/128) * 1000 == 2000 on (128, 256]: the least integer B is 129.
    path = _spec(tmp_path, TILED)
    doc = _eval_json(cli, path)
    assert (doc["xt"], doc["xm"], doc["xw"], doc["xn"]) == (400, 300, 129, None)
    text = " ".join(cli("eval", path).out.split())
    assert "xn: null (no B in [1, 65536] satisfies the equation (roundings are searched over that range))" in text


def test_too_many_tiles_say_there_is_no_closed_form(cli, tmp_path):
    # K = 1: ceil(B) takes 65536 values over [1, 65536]: not enumerated, said so.
    out = cli("inspect", _spec(tmp_path, TILED), "--set", "K=1").out
    assert "no closed form: ceiling(B/K) takes about" in _block(out, "Bt:")


def test_undefined_values_show_as_undefined(cli, tmp_path):
    # G = 0: 1/G is a complex infinity, max(B, 1/G) undefined; inspect says so, no traceback.
    path = _spec(tmp_path, """
spec nn "t"
param B = 64 in [1, 65536]
param G = 0 in [0, 10]
layers l in range(2) {
  stage s = max(B, 1 / G)
}
design d {
  schedule s
  metric t = sum(s)
}
""")
    r = cli("inspect", path)
    assert r.code == 0, r.err
    assert "t: no closed form (a clamp is undefined (a division by zero) at the current params)" in r.out


def test_a_state_without_a_law_hides_only_what_reads_it(cli, tmp_path):
    # x[l+1] = x^2 + 1 has no linear law; t reads only y: sum over 3 layers of B + 0.5^l
    # = 3 B + 1.75 = (12 B + 7)/4.
    path = _spec(tmp_path, """
spec st "t"
param B = 4 in [1, 100]
layers l in range(3) {
  state x: real = 1 then x * x + 1
  state y: real = 1 then y * 0.5
  stage s = B + y
  let w = x
}
design d {
  schedule s
  metric t = sum(s)
  metric u = sum(w)
}
""")
    out = cli("inspect", path).out
    assert "t = (12*B + 7)/4\n  = 13.75 at the current params" in out
    assert "u: no closed form (the relaxed recurrence of state x is not linear)" in out


def test_a_report_solve_in_a_table_spec_says_why_it_has_none(cli, tmp_path):
    (tmp_path / "t.csv").write_text("layer_id,x\n0,3\n1,5\n", encoding="utf-8")
    path = _spec(tmp_path, """
spec rw "t"
param B = 4 in [1, 100]
input trace: table {
  column layer_id: int >= 0
  column x: int >= 0
}
rows r in trace {
  stage fill = x * B
}
design d {
  metric fill = sum(fill)
}
report { y = solve B where d.fill == 40 }
""")
    r = cli("eval", path, "--input", f"trace={tmp_path / 't.csv'}")
    assert r.code == 0, r.err
    assert "y: null (no closed form in B: a table spec's metrics reduce over the rows" in r.out


def test_a_division_by_zero_in_a_report_spec_is_undefined(cli, tmp_path):
    # F = G = 0: F/G is 0/0 and max(B, 1/G) has no value; both say undefined.
    path = _spec(tmp_path, """
spec zr "t"
param B = 4 in [1, 100]
param G = 0 in [0, 10]
param F = 0 in [0, 10]
layers l in range(2) {
  stage s = B + F / G
}
design d {
  schedule s
  metric t = sum(s)
  metric m = max(B, 1 / G)
}
report { y = solve B where d.t == 40 }
""")
    r = cli("inspect", path, "--set", "G=0", "--set", "F=0")
    assert r.code == 0, r.err
    assert "d.m\n  = undefined (a division by zero)" in r.out
    assert "none: the equation is undefined (a division by zero) at these params" in r.out
