"""Hostile or odd spec text found by mutation fuzzing (benchmarks/fuzz_specs.py) ends in a
located error (exit 2, `file:line:col: error:`) or a correct result, never a traceback:
definitions out of order, literals beyond float64/int64, deep nesting, huge sweep axes,
bytes that are not UTF-8, draw arguments outside their domain, params named like the
generated code's modules; and a small fuzz sample runs clean."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import ROOT

SPECS = ROOT / "specs"

ORDER = """\
spec order "Order"
param cost = 2.0
let twice = cost * 2
let thrice = twice * 3
layers l in range(2) {
  stage a = cost
}
design one {
  let w = cost + 1
  stage b = w * 2
  schedule a -> b
  metric total = last(end) + thrice
}
"""

#: The total of ORDER by hand: 2 layers of a (2) then b ((2 + 1) * 2 = 6), plus 2 * 2 * 3.
ORDER_TOTAL = 2 * (2 + 6) + 12

TINY = """\
spec tiny "Tiny"
trials 3
seed 1
param cost = 2.0
param rate = 0.5 in [0, 1]
let k = EXPR
layers l in range(2) {
  state N: int = 8 then N
  random hits ~ binomial(N, rate)
  stage a = cost * k + hits
}
design one {
  schedule a
  metric total = last(end)
}
"""


def write(tmp_path: Path, text: str | bytes, name: str = "s.spt") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def located(r, line: int, message: str) -> None:
    """Exit 2 with `FILE:line:col: error: message...`, no traceback."""
    assert r.code == 2, (r.code, r.err[-2000:])
    assert "Traceback" not in r.err, r.err[-2000:]
    assert re.search(rf"\.spt:{line}:\d+: error: {re.escape(message)}", r.err), r.err[-2000:]


def total(cli, path: Path, *extra: str) -> float:
    r = cli("eval", str(path), "--json", *extra)
    assert r.code == 0, r.err[-2000:]
    return json.loads(r.out)["designs"]["one"]["total"]["mean"]


def tiny(expr: str) -> str:
    return TINY.replace("EXPR", expr)


# ------------------------------------------------------------ definition order


@pytest.mark.parametrize("swap", ["consts", "design lets"])
def test_definitions_in_any_order(cli, tmp_path, swap):
    a, b = (("let twice = cost * 2\n", "let thrice = twice * 3\n") if swap == "consts"
            else ("  let w = cost + 1\n", "  stage b = w * 2\n"))
    spec = write(tmp_path, ORDER.replace(a + b, b + a))
    assert total(cli, spec) == ORDER_TOTAL
    for command in (["inspect"], ["compile", "-o", str(tmp_path / "out")]):
        r = cli(command[0], str(spec), *command[1:])
        assert r.code == 0, r.err[-2000:]


def test_shipped_spec_with_design_lines_swapped(cli, tmp_path):
    """chunk_attention with a design's stage written before the let it reads."""
    text = (SPECS / "chunk_attention.spt").read_text()
    grid = "  let grid = n_seqs * n_heads * (n_chunks + suffix_chunks)\n"
    stage = "  stage attention = kernel(flops, kv_bytes, grid) unit \"s\"\n"
    assert grid + stage in text
    swapped = write(tmp_path, text.replace(grid + stage, stage + grid, 1), "chunk_attention.spt")
    r1, r2 = cli("eval", str(SPECS / "chunk_attention.spt"), "--json"), cli("eval", str(swapped), "--json")
    assert r2.code == 0, r2.err[-2000:]
    assert json.loads(r1.out)["designs"] == json.loads(r2.out)["designs"]


# ------------------------------------------------------------ literals


@pytest.mark.parametrize("expr, message", [
    ("-1e999", "number too large: 1e999 is beyond the float64 range"),
    ("1e999 * 0", "number too large: 1e999"),
    ("10^400", "number too large: 10^400 is beyond the 64-bit integer range"),
    ("2^64", "number too large: 18446744073709551616 is beyond the 64-bit integer range"),
    ("2^62 * 4", "number too large: 18446744073709551616 is beyond the 64-bit integer range"),
    ("10.0^400", "number too large: the value is beyond the float64 range"),
    ("1e308 * 10", "number too large: the value is beyond the float64 range"),
    ("1" * 5000, "number too large: the integer 11111111111111111111...1111111111 is beyond the 64-bit range"),
    ("9223372036854775808", "number too large: the integer 9223372036854775808 is beyond the 64-bit range"),
    ("0/0", "division by zero: the divisor of '/' is always 0"),
    ("(-1)^0.5", "not a real number"),
    ("cost * 1e999", "number too large"),
])
def test_odd_literals_are_located_errors(cli, tmp_path, expr, message):
    spec = write(tmp_path, tiny(expr))
    for command in ("check", "eval", "inspect"):
        located(cli(command, str(spec)), 6, message)


def test_big_literals_that_fit(cli, tmp_path):
    """The largest int64, 1e308 and 2.0^64 are values like any other."""
    for expr, k in (("9223372036854775807 * 0 + 1", 1), ("1e308 / 1e308", 1.0), ("2.0^64 / 2.0^63", 2.0)):
        spec = write(tmp_path, tiny(expr).replace("random hits ~ binomial(N, rate)", "let hits = 0"))
        assert total(cli, spec) == 2 * 2.0 * k


def test_int_beyond_64_bits_in_a_trace_spec(cli, tmp_path):
    text = (SPECS / "spatten_trace.spt").read_text()
    old = "param num_dram_channels: int = 16 in [1, 1024]"
    assert old in text
    spec = write(tmp_path, text.replace(old, old.replace("1024]", "2^64]")), "spatten_trace.spt")
    located(cli("check", str(spec)), 30, "number too large: 18446744073709551616 is beyond the 64-bit")


@pytest.mark.parametrize("draw, message", [
    ("binomial(N, 1e+5)", "binomial p must be in [0, 1], got 100000.0"),
    ("binomial(N, -0.5)", "binomial p must be in [0, 1], got -0.5"),
    ("binomial(-1, rate)", "binomial n must be at least 0, got -1"),
])
def test_literal_draw_argument_outside_its_domain(cli, tmp_path, draw, message):
    spec = write(tmp_path, tiny("1").replace("binomial(N, rate)", draw))
    located(cli("check", str(spec)), 9, message)


def test_param_probability_outside_domain_at_compile(cli, tmp_path):
    """cv_demo's recall param widened past 1: the RTL's golden vectors cannot be drawn."""
    text = (SPECS / "cv_demo.spt").read_text()
    old = "param predictor_recall = 0.995 in [0, 1]"
    assert old in text
    spec = write(tmp_path, text.replace(old, "param predictor_recall = 5.0 in [0, 10]"), "cv_demo.spt")
    r = cli("compile", str(spec), "-o", str(tmp_path / "out"))
    line = text[:text.index("random tp ~")].count("\n") + 1
    located(r, line, "random 'tp': its arguments at the params' defaults are outside the binomial")


def test_closed_form_beyond_float64_at_the_defaults(cli, tmp_path):
    """spatten_cascade's energy divided by 1e-320: the value at the defaults overflows
    float64; inspect prints the forms (no 'invalid input: inf' from sympy)."""
    text = (SPECS / "spatten_cascade.spt").read_text()
    old = ') / 1e6 label "Energy (uJ)"'
    assert old in text
    spec = write(tmp_path, text.replace(old, ') / 1e-320 label "Energy (uJ)"'), "spatten_cascade.spt")
    r = cli("inspect", str(spec))
    assert r.code == 0, r.err[-2000:]
    assert "energy_reduction" in r.out


# ------------------------------------------------------------ nesting


def test_500_parentheses_are_fine(cli, tmp_path):
    spec = write(tmp_path, tiny("(" * 500 + "3" + ")" * 500).replace("random hits ~ binomial(N, rate)", "let hits = 0"))
    assert total(cli, spec) == 2 * 2.0 * 3


@pytest.mark.parametrize("expr", ["cost + " * 3000 + "cost", "-" * 3000 + "cost",
                                  "max(1, " * 200 + "cost" + ")" * 200,
                                  "if cost > 1 then 1 else " * 200 + "cost"])
def test_deep_nesting_is_a_located_error(cli, tmp_path, expr):
    spec = write(tmp_path, tiny(expr))
    for command in ("check", "eval", "inspect"):
        located(cli(command, str(spec)), 6, "expression nested too deeply (more than 100 levels)")


def test_nesting_within_the_limit_runs(cli, tmp_path):
    spec = write(tmp_path, tiny("if cost > 1 then 1 else " * 90 + "cost").replace(
        "random hits ~ binomial(N, rate)", "let hits = 0"))
    assert total(cli, spec) == 2 * 2.0
    for command in (["inspect"], ["compile", "-o", str(tmp_path / "out")]):
        r = cli(command[0], str(spec), *command[1:])
        assert r.code == 0, r.err[-2000:]


# ------------------------------------------------------------ sweeps, bytes, names


@pytest.mark.parametrize("count, message", [
    ("1e999", "number too large: 1e999"),
    ("9223372036854775808", "number too large: the integer 9223372036854775808"),
    ("9223372036854775807", "axis 'predictor_precision': linspace() gives 9.22e+18 values, more than the "
                            "1,000,000 an axis may have"),
])
def test_sweep_axis_counts(cli, tmp_path, count, message):
    text = (SPECS / "cv_demo.spt").read_text()
    old = "axis predictor_precision = linspace(0.8, 0.999, 10)"
    assert old in text
    line = text[:text.index(old)].count("\n") + 1
    spec = write(tmp_path, text.replace(old, old.replace(", 10)", f", {count})")), "cv_demo.spt")
    located(cli("check", str(spec)), line, message)


def test_spec_not_utf8_is_cited_at_the_byte(cli, tmp_path):
    spec = write(tmp_path, tiny("2").encode().replace(b"let k = 2", b"let k = \xff2"))
    r = cli("check", str(spec))
    located(r, 6, "not UTF-8 text: byte 0xff (invalid start byte)")
    assert re.search(r"s\.spt:6:9: error", r.err), r.err


@pytest.mark.parametrize("name", ["c", "np", "R", "math", "c_", "Constants"])
def test_params_named_like_generated_code(cli, tmp_path, name):
    """A param named c, np, R or math runs as it does under a plain name."""
    plain = write(tmp_path, tiny("1"), "plain.spt")
    named = write(tmp_path, re.sub(r"\bcost\b", name, tiny("1")), "named.spt")
    assert total(cli, named) == total(cli, plain)


# ------------------------------------------------------------ a fuzz sample


def test_fuzz_sample_runs_clean(monkeypatch):
    """150 mutants of the shipped specs (benchmarks/fuzz_specs.py) through check and, those
    that pass, eval: each ends in exit 0 or a located error, never a traceback."""
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    import fuzz_specs

    result = fuzz_specs.fuzz(150, seed=7, timeout=300, echo=lambda *a, **k: None, wanted=("eval",))
    failures = [(i, spec, edits, o.command, o.output[-1500:]) for i, spec, edits, o in result["failures"]]
    assert not failures, failures
    counts = result["counts"]
    assert sum(counts["check"].values()) == 150
    assert counts["check"]["ok"] == sum(counts["eval"].values()) > 0


def test_float_power_of_a_layer_value_has_no_closed_form_and_ends(tmp_path):
    """cv_demo with `N^2` mutated to `N^1e-320`: sympy's sum over layers ran without end in
    inspect and compile; now the relaxation says it has no closed form."""
    from conftest import run_subprocess
    text = (SPECS / "cv_demo.spt").read_text().replace("N^2 * H, N, H)", "N^1e-320 * H, N, H)")
    spec = write(tmp_path, text, "cv_demo.spt")
    r = run_subprocess("inspect", str(spec))
    assert r.code == 0, r.err[-2000:]
    assert "continuous relaxation: none (the per-layer time raises a per-layer value to a float power" in r.out
    # compile ends too: the fixed-point form refuses the float exponent, at the power.
    r = run_subprocess("compile", str(spec), "-o", str(tmp_path / "out"))
    assert r.code == 2 and "Traceback" not in r.err, r.err[-2000:]
    assert re.search(r"cv_demo\.spt:\d+:\d+: error: fixed-point semantics need a literal integer exponent", r.err)


def test_functions_nested_by_inlining_end_with_no_closed_form(cli, tmp_path):
    """f10(a) = f9(f9(a)) ... doubles the inlined form at each level: inspect ran without
    end; now the stage's form is too large, said so, and eval's figure is still exact."""
    lines = ['spec fd "nested calls"', "param x = 2 in [1, 10]",
             "def f0(a) = if a > x then a / 2 else a + x"]
    lines += [f"def f{i}(a) = f{i - 1}(f{i - 1}(a))" for i in range(1, 11)]
    lines += ["layers l in range(3) {", "  stage s = f10(l)", "}", "design d {", "  schedule s",
              "  metric t = last(end)", "}"]
    spec = write(tmp_path, "\n".join(lines) + "\n", "fd.spt")
    r = cli("inspect", str(spec))
    assert r.code == 0, r.err[-2000:]
    assert "s = s(no closed form: too large)" in r.out, r.out
    # By hand: f0 maps l to the 2-cycle {2, 4} after a step; 1024 steps from 0, 1, 2 give 4, 2, 2.
    assert "per layer: 4, 2, 2" in r.out, r.out
