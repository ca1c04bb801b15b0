"""Language features for input-driven specs, on a small spec with values worked out by
hand: enums, enum-typed functions, sums over enums and ranges, tables read from files
(maps with an offset key range, one value per enum member), given(), metrics that use
earlier metrics, the report layout, and exact solves."""

from __future__ import annotations

import json
import math

import pytest

from spattenc.cli import main

SPEC = """
spec feat "feature check"
trials 1
enum Color { red, green, blue }
input cfg from "cfg.yaml" {
  n: int >= 1
  scale: real = 2.5
  shift: real optional
  w: real per Color = 1.0
  t: map i in [2, 5] to int = -1 optional
  m: map j in [0, n - 1] to Color per Color = Color.red optional
}
param p: int = 3 in [0, 100]
def cw(c: Color) = cfg.w[c]
let s_colors = sum(c in Color: cw(c) * (if c == Color.green then 10 else 1))
let s_range = sum(i in range(p): i * i)
let s_map = sum(i in range(2, 6): if given(cfg.t[i]) then cfg.t[i] else 0)
let shift = if given(cfg.shift) then cfg.shift else -1
layers l in range(cfg.n) {
  let v = sum(c in Color: if given(cfg.m[l]) and cfg.m[l][c] == c then 1 else 0)
}
design d {
  metric a = s_colors + s_range
  metric b = a * 2
  metric c = sum(v)
  metric e = s_map + shift
}
report {
  points p { a = d.a  b = d.b  nested { c = d.c } }
  e = d.e
  scale = cfg.scale
  colour = cfg.m[0][Color.green]
  first_big = first p where d.a > 25
}
"""

CFG = """
n: 3
w: {green: 2}
t: {3: 7, 5: 4}
m:
  0: {red: red, green: blue}
  2: {blue: blue}
"""


@pytest.fixture
def spec(tmp_path):
    (tmp_path / "feat.spt").write_text(SPEC)
    (tmp_path / "cfg.yaml").write_text(CFG)
    return tmp_path / "feat.spt"


def test_values_by_hand(spec, capsys):
    assert main(["eval", str(spec), "--sweep", "p=0,3,5", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    # s_colors = 1*1 + 2*10 + 1*1; s_range(p) = sum of squares below p.
    assert doc["points"] == [
        {"p": 0, "a": 22.0, "b": 44.0, "nested": {"c": 3}},
        {"p": 3, "a": 27.0, "b": 54.0, "nested": {"c": 3}},
        {"p": 5, "a": 52.0, "b": 104.0, "nested": {"c": 3}},
    ]
    # s_map = t[3] + t[5]; shift is absent: -1.
    assert doc["e"] == 10.0
    assert doc["scale"] == 2.5
    assert doc["colour"] == "blue"  # enum values are reported by name
    assert doc["first_big"] == 3


def test_given_scalar_and_defaults(spec, capsys, tmp_path):
    (tmp_path / "other.yaml").write_text("n: 1\nshift: 0.5\nscale: 4\n")
    assert main(["eval", str(spec), "--input", f"cfg={tmp_path / 'other.yaml'}", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    # w all default (1): 1 + 10 + 1, plus 0 + 1 + 4; no map entries, so no layer matches.
    assert doc["points"] == [{"p": 3, "a": 17.0, "b": 34.0, "nested": {"c": 0}}]
    assert doc["e"] == 0.5 and doc["scale"] == 4 and doc["colour"] == "red"
    assert doc["first_big"] is None


def test_offset_map_bounds(spec, capsys, tmp_path):
    (tmp_path / "bad.yaml").write_text("n: 1\nt: {1: 3}\n")
    assert main(["eval", str(spec), "--input", f"cfg={tmp_path / 'bad.yaml'}"]) == 2
    assert capsys.readouterr().err.strip() == f"{tmp_path / 'bad.yaml'}: t.1: error: i 1 is outside [2, 5] = [2, 5]"
    (tmp_path / "bad.yaml").write_text("n: 2\nm: {2: {red: blue}}\n")
    assert main(["eval", str(spec), "--input", f"cfg={tmp_path / 'bad.yaml'}"]) == 2
    assert capsys.readouterr().err.strip() == f"{tmp_path / 'bad.yaml'}: m.2: error: j 2 is outside [0, n - 1] = [0, 1]"


def test_symbolic_interpreter_agrees(spec):
    from spattenc.driver import load
    from spattenc.run.inputs import bind
    from spattenc.ir.keys import Key
    from spattenc.middle.interp import Unsupported, symbolic_interpreter

    c = load(spec)
    bound = bind(c.program, {}, str(spec))
    _, forms = symbolic_interpreter(c.plan, {"p": 5}, bound.values, ())
    assert forms[Key("metric", "a", "d")] == 52 and forms[Key("metric", "b", "d")] == 104 and forms[Key("metric", "c", "d")] == 3
    with pytest.raises(Unsupported, match="range depends on a symbolic param"):
        symbolic_interpreter(c.plan, {"p": 5}, bound.values, ("p",))


def test_solve_exact_root(tmp_path, capsys):
    spec = tmp_path / "root.spt"
    spec.write_text("""spec root
param x: real = 1 in [0, 10]
param y: real = 1 in [-10, 10]
layers l in range(2) { let half = x^2 / 2 - y }
design d { metric m = sum(half) }
report {
  m = d.m
  at_one = solve x where d.m == 1
  never = solve x where d.m == -100
  flat = solve y where d.m == d.m
}
""")
    assert main(["eval", str(spec), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert list(doc) == ["m", "at_one", "never", "flat"]  # the report's keys, nothing else
    # sum over 2 layers of x^2/2 - 1 = x^2 - 2 = 1  ->  x = sqrt(3) in [0, 10]
    assert doc["at_one"] == pytest.approx(math.sqrt(3), rel=1e-15)
    assert doc["never"] is None and doc["flat"] is None
    assert main(["eval", str(spec)]) == 0
    text = capsys.readouterr().out
    assert "never: null (no real x satisfies the equation)" in text
    assert "flat: null (the equation does not depend on y; it holds for every value)" in text
    assert main(["inspect", str(spec)]) == 0
    out = capsys.readouterr().out
    assert "d.m\n  = x**2 - 2*y" in out
    assert "at_one: solve x where d.m == 1\n  x = sqrt(3)" in out


def test_top_level_entry_must_not_vary(tmp_path, capsys):
    spec = tmp_path / "vary.spt"
    spec.write_text("""spec vary
param x: real = 1 in [0, 10]
layers l in range(1) { let y = x }
design d { metric m = sum(y) }
report { m = d.m }
""")
    assert main(["eval", str(spec), "--sweep", "x=1,2"]) == 2
    err = capsys.readouterr().err
    assert "report entry 'm' varies across the points (it depends on a swept param); move it inside 'points'" in err


def test_generated_simulator_reads_tables(spec):
    """The simulator is generated from the IR: table reads are printed as lookups."""
    from spattenc.backends.numpy_sim import render_sim
    from spattenc.driver import load

    text = render_sim(load(spec).plan, "feat.spt", "spattenc compile feat.spt")
    assert "_lookup(c.cfg__t, i - 2)" in text  # the map's keys start at 2
    assert "_lookup(c.cfg__m, l, _0c)" in text  # one index per table axis
    assert "_lookup(c.cfg__m__given, l)" in text
    # A sum over an enum, its variable escaped ('c' names the constants in generated code).
    assert "c.s_colors = _sum_members(lambda _0c: fn_cw(c, _0c) * np.where((_0c == 1), 10, 1), 3)" in text
    assert "c.s_range = _sum_range(lambda i: i * i, 0, c.p)" in text
    assert text == render_sim(load(spec).plan, "feat.spt", "spattenc compile feat.spt")  # deterministic


def test_both_solve_forms_in_one_spec(tmp_path, capsys):
    """A `solve` declaration (closed form in the other params) and a report `solve` entry
    (the number at the run's params, in the declared range) side by side."""
    spec = tmp_path / "both.spt"
    spec.write_text("""spec both
param x: real = 1 in [0, 10]
param y: real = 1 in [-10, 10]
let half = x^2 / 2 - y
design d { metric m = half * 2 }
solve x_at_one for x: half * 2 == 1
report {
  m = d.m
  at_one = solve x where d.m == 1
}
""")
    assert main(["eval", str(spec), "--json", "--set", "y=3"]) == 0
    doc = json.loads(capsys.readouterr().out)
    # x^2 - 2y = 1 with y = 3: x = sqrt(7), the only root in [0, 10]
    assert doc == {"m": pytest.approx(1 - 6), "at_one": pytest.approx(math.sqrt(7), rel=1e-15)}
    assert main(["inspect", str(spec), "--set", "y=3"]) == 0
    out = capsys.readouterr().out
    assert "at_one: solve x where d.m == 1\n  x = sqrt(7)" in out
    # The declaration keeps y symbolic: x = ±sqrt(2y + 1), valued at y = 3.
    sols = out[out.index("## Solutions"):]
    assert "x_at_one: x such that" in sols and "sqrt(2*y + 1)" in sols
    assert repr(math.sqrt(7)) in sols and repr(-math.sqrt(7)) in sols


def test_solve_declaration_needs_a_spec_without_inputs(tmp_path, capsys):
    (tmp_path / "cfg.yaml").write_text("k: 2\n")
    spec = tmp_path / "in.spt"
    spec.write_text("""spec withinput
input cfg from "cfg.yaml" { k: real }
param x: real = 1 in [0, 10]
let z = x * cfg.k
design d { metric m = z }
solve x_one for x: z == 1
""")
    assert main(["check", str(spec)]) == 2
    err = capsys.readouterr().err
    assert "solve 'x_one': a 'solve' declaration gives closed forms in the params" in err
    assert "NAME = solve PARAM where A == B" in err and "input declared here" in err


def test_report_over_a_declared_sweep_and_a_grid(tmp_path, capsys):
    """A report spec takes every --sweep form; its points are the sweep's, in order."""
    (tmp_path / "cfg.yaml").write_text("k: 3\n")
    spec = tmp_path / "sw.spt"
    spec.write_text("""spec sw
input cfg from "cfg.yaml" { k: int }
param x: real = 1 in [0, 10]
param n: int = 2 in [1, 5]
layers l in range(n) { let y = x * cfg.k }
design d { metric m = sum(y) }
sweep pair { axis x = [1, 2] axis n = [1, 3] combine zip }
report { points x { m = d.m } k = cfg.k }
""")
    assert main(["eval", str(spec), "--sweep", "pair", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    # sum over n layers of x * k: (x, n) = (1, 1) -> 3, (2, 3) -> 18
    assert doc == {"points": [{"x": 1.0, "n": 1, "m": 3.0}, {"x": 2.0, "n": 3, "m": 18.0}], "k": 3}
    assert main(["eval", str(spec), "--sweep", "x=0:1:3", "--set", "n=4", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [p["x"] for p in doc["points"]] == [0.0, 0.5, 1.0]
    assert [p["m"] for p in doc["points"]] == [0.0, 6.0, 12.0]
    # Declared-sweep checks are the sweep engine's: a param swept twice is refused.
    assert main(["eval", str(spec), "--sweep", "pair", "--sweep", "x=1,2"]) == 2
    assert "'x' is already swept by --sweep pair" in capsys.readouterr().err


def test_table_read_outside_its_axis_is_a_user_error(tmp_path, capsys):
    (tmp_path / "cfg.yaml").write_text("t: {0: 1, 1: 2}\n")
    spec = tmp_path / "oob.spt"
    spec.write_text("""spec oob
input cfg from "cfg.yaml" { t: map i in [0, 1] to real = 0 }
param j: int = 0 in [0, 10]
let v = cfg.t[j]
design d { metric m = v }
""")
    assert main(["eval", str(spec), "--set", "j=1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["designs"]["d"]["m"]["mean"] == 2.0
    assert main(["eval", str(spec), "--set", "j=5"]) == 2
    err = capsys.readouterr().err
    assert "evaluation failed: index 5 is outside a table axis of 2 entries" in err and "Traceback" not in err
