"""The error bound of the fixed-point analysis (middle/fixed_error): fixed point and float64
differ by at most the stated bound, and the bound follows the rounding by hand (a real
param that loses bits, a floor that steps, a comparison that decides differently)."""

from __future__ import annotations

import json
import math
import sys

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
import difftest  # noqa: E402
import specgen  # noqa: E402
from spattenc.driver import fixed_outputs, front_end  # noqa: E402
from spattenc.ir.keys import Key  # noqa: E402
from spattenc.middle.fixed import lower_fixed  # noqa: E402
from spattenc.middle.fixed_error import error_bounds  # noqa: E402
from spattenc.run import loader  # noqa: E402
from test_rtl import needs_icarus  # noqa: E402

SPEC = """spec e
fixed(frac_bits=8{cycles})
param p = 0.7 in [0.05, 1]
param q = 0.5 in [-1, 1]
layers l in range(2) {{
  stage s = p * 10
}}
design d {{
  schedule s
  metric scaled = p * 10
  metric stepped = floor(p * 10)
  metric chosen = if p * 10 >= 7 then 100 else 0
  metric ratio = 1 / q
  metric total = sum(s)
}}
"""


def _run(p: float, cycles: str = "") -> tuple[dict, dict, dict]:
    """(fixed-point metrics, float metrics, bounds at the point) of SPEC at p."""
    c = front_end(SPEC.format(cycles=cycles), "e.spt")
    params = {"p": p, "q": 0.5}
    real, _, _ = loader.run_fixed(c, params, 1, 0, "pcg64")
    R, _, _ = loader.simulator(c).run(params, trials=1)
    bounds = error_bounds(lower_fixed(c.plan), params)
    fixed = {m: float(v.flat[0]) for m, v in real["d"].items()}
    flt = {m: float(v.flat[0]) for m, v in R["d"].items()}
    return fixed, flt, {k.name: v for k, v in bounds.items()}


def test_a_param_that_loses_bits_carries_its_error_through_a_product():
    fixed, flt, bound = _run(0.7)
    # 0.7 * 2^8 = 179.2 -> 179: the param is 0.69921875, off by 0.00078125; times 10.
    assert fixed["scaled"] == 6.9921875 and flt["scaled"] == 7.0
    assert bound["scaled"] == pytest.approx(0.0078125, rel=1e-12)
    assert abs(fixed["scaled"] - flt["scaled"]) <= bound["scaled"]


def test_a_floor_that_steps_is_bounded_by_the_step():
    fixed, flt, bound = _run(0.7)
    assert (fixed["stepped"], flt["stepped"]) == (6.0, 7.0)
    assert bound["stepped"] == 1.0
    fixed, flt, bound = _run(0.5)  # exact in fixed point: no step, no error
    assert fixed["stepped"] == flt["stepped"] == 5.0 and bound["stepped"] == 0.0


def test_a_comparison_that_may_decide_differently_takes_the_distance_between_the_arms():
    fixed, flt, bound = _run(0.7)
    assert (fixed["chosen"], flt["chosen"]) == (0.0, 100.0)
    assert bound["chosen"] == pytest.approx(100.0, rel=1e-12)
    assert _run(0.3)[2]["chosen"] == 0.0  # far from the boundary: both decide alike


def test_a_divisor_whose_range_reaches_zero_has_no_bound():
    _, _, bound = _run(0.7)
    assert bound["ratio"] == 0.0  # at q = 0.5 both divide exactly
    c = front_end(SPEC.format(cycles=""), "e.spt")
    over_ranges = {k.name: v for k, v in error_bounds(lower_fixed(c.plan)).items()}
    assert math.isinf(over_ranges["ratio"])
    files, err = fixed_outputs(c)
    assert err is None
    assert '"ratio": None,' in files["fixed_sim.py"]
    assert "|fixed - float64| has no finite bound" in files["rtl/e_model.v"]
    assert f'"scaled": {over_ranges["scaled"]!r},' in files["fixed_sim.py"]


def test_stage_cycles_rounding_is_part_of_the_bound():
    fixed, flt, bound = _run(0.73, cycles=", stage_cycles=ceil")
    # p = 186.88/256 -> 187/256 = 0.73046875: each stage ceil(7.3046875) = 8 cycles, float 7.3.
    assert fixed["total"] == 16.0 and flt["total"] == pytest.approx(14.6)
    assert abs(fixed["total"] - flt["total"]) <= bound["total"] <= 2 * (1 + 10 * 2 ** -9) + 1e-9


def test_the_bound_holds_on_generated_fixed_point_specs():
    compared = 0
    for seed in range(40):
        g = specgen.generate(20_000 + seed, fixed=True)
        c = front_end(g.text, "g.spt")
        sim = loader.simulator(c)
        difftest.fixed_vs_float(c, sim, difftest.point(c, g.seed), c.program.trials, c.program.seed)
        compared += 1
    assert compared == 40


def test_the_bound_is_keyed_by_metric():
    c = front_end(SPEC.format(cycles=""), "e.spt")
    bounds = error_bounds(lower_fixed(c.plan), {"p": 0.5, "q": 0.5})
    assert set(bounds) == {Key("metric", m, "d") for m in ("scaled", "stepped", "chosen", "ratio", "total")}


def test_floor_of_a_literal_that_rounds_is_bounded():
    # 6.999 * 2^8 = 1791.74 -> 1792 = 7.0: fixed floor 7, float floor 6.
    c = front_end("""spec f
fixed(frac_bits=8)
param p = 1 in [0, 2]
design d {
  metric m = floor(6.999) * p
}
""", "f.spt")
    real, _, _ = loader.run_fixed(c, {"p": 1}, 1, 0, "pcg64")
    R, _, _ = loader.simulator(c).run({"p": 1}, trials=1)
    assert (float(real["d"]["m"].flat[0]), float(R["d"]["m"].flat[0])) == (7.0, 6.0)
    assert error_bounds(lower_fixed(c.plan), {"p": 1})[Key("metric", "m", "d")] >= 1.0


def test_eval_states_the_bound_at_the_point(tmp_path, cli):
    spec = tmp_path / "e.spt"
    spec.write_text(SPEC.format(cycles=""), encoding="utf-8")
    r = cli("eval", str(spec), "--numeric", "fixed", "--set", "p=0.7", "--json")
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    bound = doc["error_bound"]["designs"]["d"]
    assert bound["stepped"] == 1.0 and bound["scaled"] == pytest.approx(0.0078125, rel=1e-12)
    assert doc["designs"]["d"]["stepped"]["mean"] == 6.0  # float: 7
    r = cli("eval", str(spec), "--numeric", "fixed", "--set", "p=0.7")
    assert "stepped 0.143 [1]" in r.out, r.out


@pytest.mark.rtl
@needs_icarus
def test_rounded_literals_build_and_agree_in_the_rtl(tmp_path):
    # A literal that loses bits stays a rounding in the model: round() of one takes bit
    # selects, which need a net (a literal cannot be bit-selected).
    c = front_end("""spec f
fixed(frac_bits=8)
param p = 1 in [0, 2]
layers l in range(2) {
  stage s = floor(6.999) * p + round(-2.5001)
}
design d {
  schedule s
  metric m = floor(6.999) * p
  metric t = last(end)
}
""", "f.spt")
    difftest.rtl_vs_golden(c, tmp_path / "run")
