"""Specs on which two back ends disagreed, found by random differential testing
(benchmarks/difftest.py) and shrunk: each runs through the back ends it involves, which
must now agree."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
import difftest  # noqa: E402
from spattenc.driver import fixed_outputs, front_end  # noqa: E402
from spattenc.middle.eval import FORM_LIMIT, FormTooLarge  # noqa: E402
from spattenc.middle.interp import symbolic_interpreter  # noqa: E402
from spattenc.run import loader  # noqa: E402
from specgen import Generated  # noqa: E402
from test_rtl import needs_icarus  # noqa: E402


def _agree(text: str, rtl: bool = False) -> dict[str, tuple[str, str]]:
    out = difftest.run_spec(Generated(0, text, fixed="fixed(" in text, random="random " in text), rtl)
    assert out, text
    for pair, (status, detail) in out.items():
        assert status != "fail", detail
    return out


def test_std_over_trials_of_a_deterministic_metric_is_zero():
    # The interpreter (and so the closed forms) gave std(d.m) = m; the simulator gives 0.
    out = _agree("""spec s
layers l in range(3) {
  stage a = 2 + l
}
design d {
  schedule a
  metric m = sum(a)
}
compare spread = std(d.m)
compare twice = mean(d.m) * 2
""")
    assert {"numpy sim vs interpreter", "closed form vs numpy sim"} <= set(out)


def test_std_over_trials_on_replayed_draws_is_zero():
    _agree("""spec s
trials 4
layers l in range(2) {
  random u ~ uniform(0, 1)
  stage a = 1 + u
}
design d {
  schedule a
  metric m = sum(a)
}
compare spread = std(d.m)
""")


def test_truncation_of_an_exact_logarithm_has_a_closed_form():
    # trunc(log(2)) + trunc(log(3)) stayed unevaluated: inspect showed no value.
    out = _agree("""spec s
param n: int = 4 in [1, 6]
layers l in range(n) {
}
design d {
  metric m = sum(trunc(log(max(1, l))))
  metric r = first(round(sqrt(30) / 4)) + last(round(sqrt(9) / 2))
}
""")
    assert out["closed form vs numpy sim"][0] == "pass"


@pytest.mark.rtl
@needs_icarus
def test_negative_power_of_two_literals_in_the_rtl():
    # -2 was printed -2'sd2 (that is +2) and abs(-2) as --2'sd2 (a syntax error).
    out = _agree("""spec s
fixed(frac_bits=24)
layers l in range(3) {
  let v = trunc(abs((-2)))
  stage a = max(1, l * (-4) + 9 + v)
}
design d {
  schedule a
  metric m = min_over(clamp(l - 2, (-1.0), 0.375))
  metric k = first(v) + sum(a)
}
""", rtl=True)
    assert out["rtl vs golden (icarus)"][0] == "pass"


def test_integer_arguments_of_real_draw_parameters_in_fixed_point():
    # uniform(p, p + 1) with an int p drew from [p / 2^F, p + 1) in the fixed-point
    # semantics, and bernoulli(1) from probability 2^-F: int arguments were not scaled.
    text = """spec s
trials 20
fixed(frac_bits=16)
param p: int = 3 in [-2, 5]
layers l in range(3) {
  random u ~ uniform(p, p + 1)
  random b ~ bernoulli(1)
  stage a = 1 + u
}
design d {
  schedule a
  metric m = sum(u)
  metric k = count(b)
}
"""
    _agree(text)
    real, _, draws = loader.run_fixed(front_end(text, "s.spt"), {"p": -2}, 20, 1, "pcg64")
    assert (real["d"]["k"] == 3).all()
    assert ((real["d"]["m"] >= -6) & (real["d"]["m"] <= -3)).all()
    u = np.asarray(draws["u"], dtype=float) / 2 ** 16
    assert ((u >= -2) & (u <= -1)).all()


def test_fixed_point_spec_without_metrics_is_a_located_error():
    # Its RTL had no outputs and did not build (a trailing comma in the port list).
    c = front_end("spec e\nfixed(frac_bits=24)\nlayers l in range(2) {\n  stage s = 1\n}\n"
                  "design d {\n  schedule s\n}\n", "e.spt")
    files, err = fixed_outputs(c)
    assert files == {} and err.loc.line == 6
    assert "declares none" in err.message


def test_comparison_of_a_conditional_on_a_bool_param_in_closed_forms():
    # inspect: m = x + 23/4 = 11.125 at the current params, where the simulator gives 8.625.
    _agree("""spec s
param b: bool = false
param x: real = 5.375 in [-1.0, 7.0]
layers l in range(3) {
  stage s = if (if b then 0 else 3) == l then x else 2.875
}
design d {
  schedule s
  metric m = last(end)
}
""")


def test_std_over_trials_of_a_nan_metric_is_zero():
    _agree("""spec s
param z = 0.0 in [0, 1]
layers l in range(2) {
  random u ~ uniform(0, 1)
  stage a = 1 + u
}
design d {
  schedule a
  metric m = z / z + sum(a)
}
compare spread = std(d.m)
""")


def test_nested_min_max_keep_their_inner_bound_in_closed_forms():
    # sympy folds Min(1000, Max(4, Min(x, Max(-2, Min(1, y))))) to 1000 (the value is 4):
    # the closed form said 1000 where the simulator said 4.
    from spattenc.ir.catalog import Max, Min
    import sympy
    x, y = sympy.symbols("x y", real=True)
    assert Min(1000, Max(4, Min(x, Max(-2, Min(1, y))))).subs({x: 0, y: 0}) == 4
    out = _agree("""spec s
param p: real = 0.5 in [0, 1]
param q: real = 0.25 in [0, 1]
design d {
  metric m = max(1, min(1000, clamp(min(p, clamp(8 * q, -1.5, 1.25)), 4, 12)))
}
""")
    assert "closed form vs numpy sim" in out


def test_a_closed_form_past_the_size_limit_has_none():
    # The condition on s compares a conditional on s itself: each unrolled layer multiplies
    # the condition, and sympy's folding of it (conjunctive normal form) ran for minutes at
    # 5 layers.  Past FORM_LIMIT nodes a value has no closed form, by its size: the pair
    # compares the exact values at the point and says why there is no form.
    text = """spec s
param e: int = 0 in [0, 1]
param p: int = -2 in [-2, 3]
layers l in range(4) {
  state s: int = 1 then clamp((if ((if (v != p) then v else s) <= (l % 5)) then e else 0), 0, 40)
  let v = e * s - 2
  stage a = 1
}
design d {
  schedule a
  metric m = last(s)
}
"""
    status, detail = _agree(text)["closed form vs numpy sim"]
    assert status == "no form", detail
    assert detail == f"no closed form: a condition on a conditional gives a form of more than {FORM_LIMIT} terms"
    with pytest.raises(FormTooLarge):
        symbolic_interpreter(front_end(text, "s.spt").plan, {"e": 0, "p": -2}, {}, ("e", "p"))
