"""max, min, argmax and argmin over a range or an enum (`argmin(k in range(1, 9): ...)`),
checked against figures computed by hand, the reference interpreter and inspect."""

from __future__ import annotations

import json

import pytest

from spattenc.driver import load
from spattenc.ir.keys import Key
from spattenc.middle.interp import Env, Interpreter


def write(tmp_path, text: str, name: str = "t.spt"):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


BEST_K = """
spec best_k "the best K per alpha"
param alpha = 0.5 in [0, 10]
def cost(k, a) = (k - 3 * a)^2 + k
let best_k = argmin(k in range(1, 9): cost(k, alpha))
let best_cost = min(k in range(1, 9): cost(k, alpha))
let worst_k = argmax(k in range(1, 9): cost(k, alpha))
let worst = max(k in range(1, 9): cost(k, alpha))
design d {
  metric best_k = best_k
  metric best_cost = best_cost
  metric worst_k = worst_k
  metric worst = worst
}
"""


@pytest.mark.parametrize("alpha, best_k, best_cost, worst_k, worst", [
    # cost(k) = (k - 1.5)^2 + k: k=1 -> 1.25, k=2 -> 2.25 ...; k=8 -> 42.25 + 8 = 50.25
    (0.5, 1, 1.25, 8, 50.25),
    # cost(k) = (k - 6)^2 + k: k=5 -> 6 and k=6 -> 6 tie (the smaller k wins); k=1 -> 26, k=8 -> 12
    (2, 5, 6, 1, 26),
])
def test_best_k_per_alpha(cli, tmp_path, alpha, best_k, best_cost, worst_k, worst):
    r = cli("eval", write(tmp_path, BEST_K), "--set", f"alpha={alpha}", "--json")
    assert r.code == 0, r.err
    d = json.loads(r.out)["designs"]["d"]
    assert [d[m]["mean"] for m in ("best_k", "best_cost", "worst_k", "worst")] == [best_k, best_cost, worst_k, worst]


LAYERS = """
spec best_k_layers
param alpha0 = 0.5 in [0, 10]
def cost(k, a) = (k - 3 * a)^2 + k
let best_k0 = argmin(k in range(1, 9): cost(k, alpha0))
layers l in range(4) {
  let alpha = alpha0 + l * 0.5
  let best_k = argmin(k in range(1, 9): cost(k, alpha))
  stage run = min(k in range(1 + l, 9): cost(k, alpha))
}
design d {
  schedule run
  metric total_k = sum(best_k)
  metric peak = max_over(run)
  metric k0 = best_k0
}
compare ratio = mean(d.total_k) / mean(d.k0)
"""


def test_simulator_agrees_with_the_interpreter(cli, tmp_path):
    """alpha = 0.5, 1, 1.5, 2 by layer: best k = 1, 2, 4, 5 (sum 12); run = min over
    k >= 1 + l: 1.25, 3 (k=2), 4.25 (k=4), 6 (k=5 or 6)."""
    spec = write(tmp_path, LAYERS)
    r = cli("eval", spec, "--json")
    assert r.code == 0, r.err
    out = json.loads(r.out)
    d = out["designs"]["d"]
    c = load(spec)
    env = Env({Key("param", "alpha0"): 0.5})
    ref = Interpreter(c.program, env).run_plan(c.plan)
    assert d["total_k"]["mean"] == ref[Key("metric", "total_k", "d")] == 12
    assert d["peak"]["mean"] == ref[Key("metric", "peak", "d")] == 6
    assert out["compare"]["ratio"] == ref[Key("compare", "ratio")] == 12


def test_inspect_shows_the_value_at_the_current_params(cli, tmp_path):
    r = cli("inspect", write(tmp_path, LAYERS))
    assert r.code == 0, r.err
    assert "best_k = argmin(k in range(1, 9): k + (-3*alpha + k)**2)" in r.out
    assert "  = 12.0 at the current params; simulator 12.0" in r.out
    assert "no numeric value" not in r.out


def test_argmax_over_an_enum_is_the_member(cli, tmp_path):
    """Ties keep the first member: ffn and norm both weigh 7, ffn is declared first."""
    text = """
spec e
enum Block { attn, ffn, norm }
def w(b: Block) = if b == Block.attn then 3 else 7
let heavy = argmax(b in Block: w(b))
let light = argmin(b in Block: w(b))
design d {
  metric heavy_is_ffn = if heavy == Block.ffn then 1 else 0
  metric light_is_attn = if light == Block.attn then 1 else 0
  metric top = max(b in Block: w(b))
}
"""
    r = cli("eval", write(tmp_path, text), "--json")
    assert r.code == 0, r.err
    d = json.loads(r.out)["designs"]["d"]
    assert (d["heavy_is_ffn"]["mean"], d["light_is_attn"]["mean"], d["top"]["mean"]) == (1, 1, 7)


def test_min_over_a_range_of_loop_calls(cli, tmp_path):
    """halve(n) = n + n//2 + n//4 + ... : halve(8) = 15, halve(16) = 31, halve(9) = 16."""
    text = """
spec lp
loop halve(n0) {
  state n = n0 then floor(n / 2)
  while n >= 1
  return sum(n)
}
layers l in range(2) {
  let best = min(k in range(1, 4): halve(k * 8 + l))
}
design d {
  metric tot = sum(best)
}
"""
    r = cli("eval", write(tmp_path, text), "--json")
    assert r.code == 0, r.err
    assert json.loads(r.out)["designs"]["d"]["tot"]["mean"] == 15 + 16


def test_an_empty_range_is_an_error(cli, tmp_path):
    """Constant bounds: a located error; bounds known at run time: an error, no traceback."""
    r = cli("check", write(tmp_path, "spec x\nlet m = max(i in range(3, 3): i)\ndesign d { metric m = m }\n"))
    assert r.code == 2
    assert ":2:9: error: max() over range(3, 3) has no value: the range is empty" in r.err
    text = "spec x\nparam n = 5 in [0, 9]\nlet m = argmax(i in range(1, n): i)\ndesign d { metric m = m }\n"
    spec = write(tmp_path, text)
    r = cli("eval", spec, "--set", "n=1")
    assert r.code == 2
    assert r.err.strip() == "error: evaluation failed: argmax() over an empty range(1, 1) has no value with --set n=1"
    assert cli("eval", spec, "--set", "n=2").code == 0


def test_argmax_without_a_variable_says_how_to_write_it(cli, tmp_path):
    r = cli("check", write(tmp_path, "spec x\nlet m = argmax(1, 2)\ndesign d { metric m = m }\n"))
    assert r.code == 2
    assert ":2:9: error: argmax() takes a variable over a range or an enum: argmax(k in range(lo, hi): EXPR)" in r.err


@pytest.mark.parametrize("body, message", [
    ("i > 2", "max() compares numbers; the body is a bool value (use `if C then 1 else 0` to count)"),
    ("i", None),
])
def test_a_condition_body_is_an_error(cli, tmp_path, body, message):
    r = cli("check", write(tmp_path, f"spec x\nlet m = max(i in range(1, 4): {body})\ndesign d {{ metric m = m }}\n"))
    if message is None:
        assert r.code == 0, r.err
    else:
        assert r.code == 2 and message in r.err


def test_a_fold_has_no_fixed_point_semantics(cli, tmp_path):
    text = "spec x\nfixed(frac_bits=8)\nlet m = min(i in range(1, 4): i)\ndesign d { metric m = m }\n"
    r = cli("compile", write(tmp_path, text), "--out", str(tmp_path / "gen"))
    assert r.code == 2
    assert ":3:9: error: min() over a range or an enum has no fixed-point semantics here" in r.err


def test_inspect_shows_sums_and_folds_of_constants(cli, tmp_path):
    """A constant summed or maximized over a range has a closed form (inspect used to stop
    with a traceback on the sum)."""
    r = cli("inspect", write(tmp_path, BEST_K.replace("let worst = ", "let total = sum(k in range(1, 9): cost(k, alpha))\n"
                                                      "let worst = ")))
    assert r.code == 0, r.err
    assert "total = Sum(k + (-3*alpha + k)**2, (k, 1, 8))" in r.out
    assert "worst = max(k in range(1, 9): k + (-3*alpha + k)**2)" in r.out


def test_inspect_unrolls_folds_over_an_enum(cli, tmp_path):
    """argmax over {attn: p, ffn: 7}: attn while p >= 7 (a tie keeps the first member).
    inspect used to stop with a traceback on any sum over an enum."""
    text = """
spec e2
enum Block { attn, ffn }
param p = 5.0 in [0, 10]
def w(b: Block) = if b == Block.attn then p else 7
let heavy = argmax(b in Block: w(b))
let top = max(b in Block: w(b))
let total = sum(b in Block: w(b))
design d {
  metric h = if heavy == Block.ffn then 1 else 0
  metric t = top
}
"""
    r = cli("inspect", write(tmp_path, text))
    assert r.code == 0, r.err
    assert "heavy = Piecewise((Block.attn, p >= 7), (Block.ffn, True))" in r.out
    assert "top = Max(7, p)" in r.out and "total = p + 7" in r.out
