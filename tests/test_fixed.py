"""Fixed-point semantics: rounding rules against exact rational arithmetic, the numpy
fixed-point simulator against an integer re-implementation of cv_demo written here from
the documented rules, interval analysis soundness, width errors, and the relative
difference from float that `eval --numeric fixed` reports."""

from __future__ import annotations

import json
import math
import random
from fractions import Fraction

import numpy as np
import pytest

from conftest import ROOT, SPEC

from spattenc.ir import keys
from spattenc.middle import fixed as fx
from spattenc.driver import front_end, load
from spattenc.ir.errors import SpecError
from spattenc.run.loader import fixed_simulator

F = 32
ONE = 1 << F


# ---------------------------------------------------------------- rounding rules


def _exact_shift(x: int, k: int, mode: str) -> int:
    q = Fraction(x, 1 << k)
    match mode:
        case "floor":
            return math.floor(q)
        case "ceil":
            return math.ceil(q)
        case "trunc":
            return math.trunc(q)
        case "round":
            return round(q)  # Fraction rounds half to even
        case "nearest":
            return math.floor(q + Fraction(1, 2))
    raise AssertionError(mode)


@pytest.mark.parametrize("mode", fx.SHIFT_MODES)
def test_shift_right_matches_exact_rounding(mode):
    rnd = random.Random(5)
    values = [0, 1, -1, 2, -2, 3, -3, 6, -6, 7, -7] + [rnd.randrange(-2**100, 2**100) for _ in range(2000)]
    for k in (1, 2, 3, 32):
        # exact halves and their neighbours, where the modes differ
        values += [h * (1 << (k - 1)) + d for h in range(-9, 10, 2) for d in (-1, 0, 1)]
        for x in values:
            assert fx.shift_right(x, k, mode) == _exact_shift(x, k, mode), (x, k, mode)


def test_division_truncates_and_modulo_floors():
    rnd = random.Random(6)
    for _ in range(3000):
        a, b = rnd.randrange(-10**30, 10**30), rnd.choice([1, -1]) * rnd.randrange(1, 10**12)
        assert fx.tdiv(a, b) == math.trunc(Fraction(a, b))
        assert fx.fmod(a, b) == a - b * math.floor(Fraction(a, b))
    assert fx.tdiv(5, 0) == 0 and fx.fmod(5, 0) == 0


def test_to_fixed_rounds_ties_to_even():
    assert fx.to_fixed(0.2, 32) == 858993459  # 0.2 * 2^32 = 858993459.2
    assert fx.to_fixed(0.5, 32) == 1 << 31
    assert fx.to_fixed(1.5 / 2**32, 32) == 2  # tie: 1.5 -> 2
    assert fx.to_fixed(2.5 / 2**32, 32) == 2  # tie: 2.5 -> 2
    assert fx.to_fixed(-2.5 / 2**32, 32) == -2
    assert fx.to_fixed(1e6, 32) == 10**6 << 32


def test_widths_of_ranges():
    assert fx.width_of("int", 0, 1) == 2
    assert fx.width_of("int", -128, 127) == 8
    assert fx.width_of("int", -129, 0) == 9
    assert fx.width_of("int", 0, 2**63) == 65
    assert fx.width_of("bool", 0, 1) == 1


# ---------------------------------------------------------------- cv_demo, independently


def _mul(a: int, b: int) -> int:
    """real * real: to nearest, ties toward +inf."""
    return (a * b + (1 << (F - 1))) >> F


def _div(a: int, b: int) -> int:
    return fx.tdiv(a, b)


def _cycles(q: int) -> int:
    """A stage: max(1, min(1e12, q)) rounded up to whole cycles."""
    q = max(ONE, min(10**12 * ONE, q))
    return -((-q) >> F)


def cv_demo_fixed(raw: dict, draws: list[int]) -> dict:
    """cv_demo's metrics in fixed point, from the rules of docs/verilog.md (raw values)."""
    p = raw
    bpv = p["embedding_dim"] * p["bytes_per_element"]
    qkv = bpv * p["bytes_per_token_vecs"]
    e9 = 10**9 * ONE
    bpc = _div(_div(_mul(p["bandwidth_Gb_per_s"], e9), 8) << F, _mul(p["clock_speed_ghz"], e9))
    window = _mul(_mul(bpc, p["mem_latency"]), p["saturation_window_multiplier"])

    def compute(factor, work, n, h):
        return 1 if (n <= 0 or h <= 0) else _cycles(factor * work)

    def fetch(tokens, vecs):
        nbytes = tokens * bpv * vecs
        over = _div(((nbytes << F) - window) << F, bpc) if (window > 0 and (nbytes << F) > window) else 0
        # Seed 000: a fetch of no tokens, or of no bytes per token, takes one cycle.
        return 1 if tokens <= 0 or bpv * vecs <= 0 else _cycles(p["mem_latency"] + _div(nbytes << 2 * F, bpc) + over)

    L = p["num_layers"]
    N = p["initial_seq_len"]
    H = p["initial_heads"]
    t_base = t_look = 0
    base_bytes = look_bytes = wasted = hidden = finished = 0
    for layer in range(L):
        n_next = max(ONE, N * (ONE - p["token_pruning_rate"])) >> F
        tp = draws[layer]
        predicted = min(fx.shift_right(_div(tp << 2 * F, p["predictor_precision"]), F, "round"), N)
        false_pos, false_neg = max(0, predicted - tp), max(0, n_next - tp)
        f_qkv = fetch(N, p["bytes_per_token_vecs"])
        qk, sm, av, score = (compute(p[k], N * N * H, N, H) for k in
                             ("qk_mult_factor", "softmax_factor", "av_mult_factor", "score_comp_factor"))
        top_k = compute(p["top_k_factor"], N, N, H)
        pred = compute(p["predictor_compute_factor"], N, N, H)
        proxy = compute(p["proxy_col_sum_factor"], N * N, N, H)
        path = pred + proxy + top_k
        spec = fetch(predicted, p["speculative_fetch_vecs"])
        corr = fetch(false_neg, p["corrective_fetch_vecs"])
        t_base += f_qkv + qk + sm + av + score + top_k
        t_look += f_qkv + qk + sm + max(av + corr, path + spec)
        base_bytes += N * qkv
        look_bytes += N * qkv + predicted * bpv * p["speculative_fetch_vecs"]
        wasted += false_pos * bpv * p["speculative_fetch_vecs"]
        hidden += min(av, path + spec)
        finished += path + spec <= av
        N = n_next
    mb = 10**6 * ONE
    return {"baseline": {"total_cycles": t_base, "dram_mb": _div(base_bytes << 2 * F, mb)},
            "lookahead": {"total_cycles": t_look, "dram_mb": _div(look_bytes << 2 * F, mb),
                          "wasted_mb": _div(wasted << 2 * F, mb), "avg_hidden_cycles": _div(hidden << F, L),
                          "lookahead_finish_rate": _div(finished << F, L)}}


@pytest.fixture(scope="module")
def fsim():
    return fixed_simulator(load(SPEC))


def test_fixed_simulator_matches_independent_integers(fsim):
    """Random configurations within the declared ranges and their draws: every metric of
    the generated fixed-point simulator equals the re-implementation above."""
    vectors = fsim.random_vectors(300, 11)
    assert len({v["count"] for v in vectors}) > 50  # the configurations really vary
    for v in vectors:
        assert v["metrics"] == cv_demo_fixed(v["params"], v["draws"]["tp"]), v["params"]


def test_default_configuration_legacy_trials(fsim):
    """The 50 legacy trials of the published run, trial by trial."""
    vectors = fsim.trial_vectors(None, 50, 42, "legacy")
    for v in vectors:
        assert v["metrics"] == cv_demo_fixed(v["params"], v["draws"]["tp"])
    # Whole cycles: the default configuration's baseline is 6,224,150 cycles in every trial.
    assert {v["metrics"]["baseline"]["total_cycles"] for v in vectors} == {6224150}


def test_eval_fixed_reports_relative_difference_from_float(cli):
    """`eval --numeric fixed --json`: metrics from the fixed-point semantics, and their
    relative difference from float, checked against the seed's published figures."""
    r = cli("eval", str(SPEC), "--numeric", "fixed", "--rng", "legacy", "--trials", "50", "--seed", "42", "--json")
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert doc["numeric"] == "fixed"
    expected = json.loads((ROOT.parent / "shared" / "data" / "cv_demo" / "expected.json").read_text()) \
        if (ROOT.parent / "shared" / "data" / "cv_demo" / "expected.json").exists() else None
    rd = doc["float_rel_diff"]["designs"]
    for d, metrics in doc["designs"].items():
        for m, s in metrics.items():
            assert rd[d][m] < 1e-3, (d, m, rd[d][m])
            if expected is not None and m in expected["designs"][d]:
                ref = expected["designs"][d][m]["mean"]
                assert rd[d][m] == pytest.approx(abs(s["mean"] - ref) / abs(ref) if ref else 0.0, rel=1e-6, abs=1e-15)
    assert doc["designs"]["baseline"]["total_cycles"]["mean"] == 6224150.0
    assert doc["designs"]["lookahead"]["lookahead_finish_rate"]["mean"] == 1.0


# ---------------------------------------------------------------- interval analysis


def _eval(n, env):
    """Evaluate a fixed-point node on Python ints (a third implementation of the rules)."""
    match n:
        case fx.Lit(value=v):
            return v
        case fx.Var(var=v):
            return env[v]
    a = [_eval(o, env) for o in fx.operands(n)]
    match n:
        case fx.Add():
            return a[0] + a[1]
        case fx.Sub():
            return a[0] - a[1]
        case fx.Mul():
            return a[0] * a[1]
        case fx.Neg():
            return -a[0]
        case fx.Shl(k=k):
            return a[0] << k
        case fx.Shr(k=k, mode=m):
            return _exact_shift(a[0], k, m)
        case fx.Div():
            return 0 if a[1] == 0 else math.trunc(Fraction(a[0], a[1]))
        case fx.Mod():
            return 0 if a[1] == 0 else a[0] % a[1]
        case fx.Cmp(op=op):
            return int({"<": a[0] < a[1], "<=": a[0] <= a[1], ">": a[0] > a[1], ">=": a[0] >= a[1],
                        "==": a[0] == a[1], "!=": a[0] != a[1]}[op])
        case fx.Logic(op=op):
            return int(bool(a[0]) and bool(a[1])) if op == "and" else int(bool(a[0]) or bool(a[1]))
        case fx.Not():
            return int(not a[0])
        case fx.Mux():
            return a[1] if a[0] else a[2]
        case fx.Min():
            return min(a)
        case fx.Max():
            return max(a)
        case fx.Abs():
            return abs(a[0])
    raise AssertionError(n)


def _run_checking_ranges(fp: fx.FixedPlan, env: dict, rng) -> int:
    """Run the lowered program on one configuration (raw param values in `env`; binomial
    draws from `rng`), asserting that every intermediate and every variable lies in its
    interval; the number of layers run."""
    def within(node):
        for x in fx.postorder(node):
            if not isinstance(x, (fx.Lit, fx.Var)):
                lo, hi = fp.node_ranges[x]
                v = _eval(x, env)
                assert lo <= v <= hi, (x, v, lo, hi)

    for a in fp.consts + (fp.count,):
        within(a.node)
        env[a.var] = _eval(a.node, env)
    for s in fp.states:
        env[s.var] = _eval(s.init, env)
    for a in [a for d in fp.designs for a in d.accs]:
        env[a.var] = 0
    for d in fp.designs:
        env[d.t_var] = 0
    for layer in range(env[keys.COUNT]):
        env[fp.index_var] = layer
        for s in fp.states:  # a state's register holds the values layers read
            lo, hi = fp.ranges[s.var]
            assert lo <= env[s.var] <= hi, (s.var, env[s.var], lo, hi)
        for item in fp.layer:
            if isinstance(item, fx.Draw):
                n = _eval(item.args[0], env)
                env[item.var] = int(rng.binomial(n, _eval(item.args[1], env) / ONE))
            else:
                within(item.node)
                env[item.var] = _eval(item.node, env)
        for d in fp.designs:
            for a in d.steps:
                within(a.node)
                env[a.var] = _eval(a.node, env)
        updates = {a.var: _eval(a.update, env) for d in fp.designs for a in d.accs}
        nexts = {s.var: _eval(s.next, env) for s in fp.states}
        for d in fp.designs:
            env[d.t_var] = env[d.end_var]
        env.update(updates)
        env.update(nexts)
        for var in list(updates) + [d.t_var for d in fp.designs]:
            lo, hi = fp.ranges[var]
            assert lo <= env[var] <= hi, (var, env[var], lo, hi)
    for d in fp.designs:
        for m in d.metrics:
            within(m.node)
    return env[keys.COUNT]


@pytest.mark.parametrize("spec", ["cv_demo", "systolic_gemm"])
def test_every_value_lies_in_its_analyzed_range(spec):
    """Running the lowered program on random configurations (declared ranges, corners
    included): every variable and every intermediate stays within its interval, so no
    register of the computed width can overflow (cv_demo: draws and parallel branches;
    systolic_gemm: magnitudes up to 2^66 cycles and each layer's end - start)."""
    compiled = load(ROOT / "specs" / f"{spec}.spt")
    fp, fsim = fx.lower_fixed(compiled.plan), fixed_simulator(compiled)
    rng = np.random.Generator(np.random.PCG64(3))
    checked = 0
    for _ in range(20):
        values = fsim.random_params(rng)
        env = {p.var: fsim.raw_value(p.name, values[p.name]) for p in fp.params}
        checked += _run_checking_ranges(fp, env, rng)
    assert checked > (250 if spec == "cv_demo" else 100)


# ---------------------------------------------------------------- errors


def _fixed_error(text: str) -> str:
    c = front_end(text, "t.spt")
    with pytest.raises(SpecError) as e:
        fx.lower_fixed(c.plan)
    e.value.source = text
    return e.value.render()


_BASE = """spec t
param n: int = 4 in [1, 100]
param f = 0.5 in [0, 10]
layers l in range(3) {{
  {body}
}}
design d {{
  schedule s
  metric m = sum(s)
}}
"""


def test_width_error_names_the_quantity_and_its_range():
    text = _BASE.format(body="stage s = f * n ^ 9 * 1e12")
    msg = _fixed_error(text)
    assert msg.startswith("t.spt:5:")
    assert "fixed point: a step of 's' needs" in msg
    assert "registers are at most 128 bits" in msg
    assert "[0, 1e+31]" in msg  # 10 * 100^9 * 1e12 ... the range, in real units


def test_param_without_range_and_unsupported_function():
    text = "spec t\nparam n = 4\nlayers l in range(2) {\n  stage s = n\n}\ndesign d {\n  schedule s\n  metric m = sum(s)\n}\n"
    assert _fixed_error(text).splitlines()[0] == (
        "t.spt:2:7: error: param 'n' has no declared range; fixed-point widths need one "
        "(param n = ... in [LOW, HIGH])")
    msg = _fixed_error(_BASE.format(body="stage s = sqrt(f)"))
    assert msg.splitlines()[0].startswith("t.spt:5:13: error: sqrt() has no fixed-point semantics")


def test_fixed_options_are_checked(cli, tmp_path):
    bad = tmp_path / "bad.spt"
    bad.write_text("spec t\nfixed(frac_bits=32, stage_cycles=up)\n" + _BASE.split("\n", 1)[1].format(body="stage s = n"))
    r = cli("check", str(bad))
    assert r.code == 2
    assert r.err.splitlines()[0] == (f"{bad}:2:34: error: stage_cycles must be one of floor, ceil, round, trunc, "
                                     "none, got 'up'")
    bad.write_text("spec t\nfixed(bits=3)\n" + _BASE.split("\n", 1)[1].format(body="stage s = n"))
    r = cli("check", str(bad))
    assert r.err.splitlines()[0] == f"{bad}:2:7: error: unknown fixed option 'bits'; expected frac_bits or stage_cycles"


@pytest.mark.parametrize("rng", ["legacy", "pcg64"])
def test_stage_cycles_changes_fixed_semantics_only(rng):
    """Without whole cycles, cv_demo's fixed-point figures are within 1e-7 of float, with
    either RNG: the fixed-point simulator makes the same draws as sim.py."""
    text = SPEC.read_text().replace("fixed(frac_bits=32, stage_cycles=ceil)", "fixed(frac_bits=32)")
    c = front_end(text, str(SPEC))
    from spattenc.cli import evaluate_fixed

    doc = evaluate_fixed(c, {}, 200, 7, rng)
    worst = max(v for ms in doc["float_rel_diff"]["designs"].values() for v in ms.values())
    assert worst < 1e-7
    assert doc["designs"]["lookahead"]["total_cycles"]["std"] > 10  # the trials do differ


def test_compile_writes_rtl_only_for_specs_that_declare_fixed_point(cli, tmp_path):
    """Without `fixed(...)` compile writes the float outputs only; with it, a spec that has
    no fixed-point form fails at the offending expression and writes nothing."""
    plain = tmp_path / "plain.spt"
    plain.write_text(_BASE.format(body="stage s = sqrt(f)"))
    r = cli("compile", str(plain), "-o", str(tmp_path / "gen"))
    assert (r.code, r.err) == (0, "")
    assert sorted(p.name for p in (tmp_path / "gen" / "t").iterdir()) == ["closed_forms.md", "ir.json", "sim.py"]

    declared = tmp_path / "declared.spt"
    declared.write_text("spec t\nfixed(frac_bits=24)\n" + _BASE.split("\n", 1)[1].format(body="stage s = sqrt(f)"))
    r = cli("compile", str(declared), "-o", str(tmp_path / "gen2"))
    assert r.code == 2
    assert r.err.splitlines()[0].startswith(f"{declared}:6:13: error: sqrt() has no fixed-point semantics")
    assert not (tmp_path / "gen2").exists()


def test_numeric_fixed_on_a_spec_reading_input_files_is_a_clear_error(cli):
    r = cli("eval", str(ROOT / "specs" / "selfspec.spt"), "--numeric", "fixed")
    assert r.code == 2
    first = r.err.splitlines()[0]
    assert "error: fixed point: specs that read an input file have no fixed-point semantics" in first
    assert "Traceback" not in r.err


@pytest.mark.parametrize("dist", ["categorical(f, 1, 2)", "integers(1, n)"])
def test_draws_without_a_fixed_point_form_are_named(dist):
    body = f"random k ~ {dist}\n  stage s = k"
    msg = _fixed_error(_BASE.format(body=body))
    name = dist.split("(")[0]
    assert msg.splitlines()[0] == (f"t.spt:5:10: error: {name} draws have no fixed-point semantics; "
                                   "it draws binomial, bernoulli, uniform, geometric (random 'k')")


# ---------------------------------------------------------------- interval arithmetic


_PARAMS = {  # name: (declaration, low, high); ints and reals, signed and positive
    "a": ("param a = 0.5 in [-3.5, 2.25]", -3.5, 2.25),
    "b": ("param b: int = 2 in [-4, 7]", -4, 7),
    "c": ("param c = 2.0 in [0.5, 8]", 0.5, 8),
    "k": ("param k: int = 3 in [1, 20]", 1, 20),
    "z": ("param z = 1.0 in [0, 3]", 0, 3),
}


def _random_expr(rnd: random.Random, names: list[str], depth: int) -> str:
    """A random expression over `names` with every operator that has a fixed-point form."""
    if depth == 0 or rnd.random() < 0.2:
        return rnd.choice(names + ["1", "2", "3", "0.75", "1.5"])
    x = lambda: _random_expr(rnd, names, depth - 1)  # noqa: E731
    forms = [
        lambda: f"({x()} + {x()})", lambda: f"({x()} - {x()})", lambda: f"({x()} * {x()})",
        lambda: f"({x()} / {x()})", lambda: f"min({x()}, {x()})", lambda: f"max({x()}, {x()})",
        lambda: f"clamp({x()}, {x()}, {x()})", lambda: f"-({x()})", lambda: f"abs({x()})",
        lambda: f"{rnd.choice(['ceil', 'floor', 'round', 'trunc'])}({x()})",
        lambda: f"({x()})^{rnd.choice([2, 3, 4])}",
        lambda: f"(if {x()} {rnd.choice(['<', '<=', '>', '>=', '==', '!='])} {x()} then {x()} else {x()})",
        lambda: (lambda s: f"({s} - {x()} - {s})")(x()),  # shared terms that cancel
    ]
    return rnd.choice(forms)()


def _corner_or_random(rnd: random.Random, lo, hi, is_int: bool):
    if rnd.random() < 0.3:
        return rnd.choice([lo, hi] + ([0] if lo < 0 < hi else []))
    return rnd.randint(lo, hi) if is_int else rnd.uniform(lo, hi)


def test_random_expressions_stay_within_their_intervals():
    """Random expressions over params of both signs (every operator with a fixed-point
    form, shared terms, powers, comparisons): at random points in the params' ranges,
    corners included, every intermediate's fixed-point value lies in its interval."""
    rnd = random.Random(11)
    specs = checked = 0
    while specs < 40:
        frac = rnd.choice([4, 32])
        lets, names = [], list(_PARAMS)
        for i in range(5):
            lets.append(f"let q{i} = {_random_expr(rnd, names, 3)}")
            names.append(f"q{i}")
        text = (f"spec t\nfixed(frac_bits={frac})\n" + "\n".join(p[0] for p in _PARAMS.values()) + "\n"
                + "\n".join(lets) + "\nlayers l in range(1) {\n  stage s = 1\n}\n"
                + "design d {\n  schedule s\n  metric m = sum(s) + " + " + ".join(f"q{i}" for i in range(5))
                + "\n}\n")
        try:
            fp = fx.lower_fixed(front_end(text, "t.spt").plan)
        except SpecError:
            continue  # a literal division by zero, or a register wider than 128 bits
        specs += 1
        params = {p.name: p for p in fp.params}
        for _ in range(30):
            env = {}
            for name, (_, lo, hi) in _PARAMS.items():
                p = params[name]
                v = _corner_or_random(rnd, lo, hi, p.kind == "int")
                env[p.var] = v if p.kind == "int" else fx.to_fixed(v, frac)
            for a in fp.consts:
                for x in fx.postorder(a.node):
                    if not isinstance(x, (fx.Lit, fx.Var)):
                        lo, hi = fp.node_ranges[x]
                        assert lo <= _eval(x, env) <= hi, (text, x, env)
                env[a.var] = _eval(a.node, env)
                lo, hi = fp.ranges[a.var]
                assert lo <= env[a.var] <= hi, (text, a.name, env)
                checked += 1
    assert checked == 40 * 30 * 5


def _ranges_of(text: str) -> tuple[fx.FixedPlan, dict[str, tuple[float, float]]]:
    fp = fx.lower_fixed(front_end(text, "t.spt").plan)
    return fp, {fp.names[v]: (lo / ONE, hi / ONE) if fp.kinds[v] == "fix" else (lo, hi)
                for v, (lo, hi) in fp.ranges.items() if v in fp.names}


_CYCLES = """spec t
fixed(frac_bits=32, stage_cycles=ceil)
param num_gemms: int = 4 in [1, 64]
param K: int = 4096 in [1, 65536]
param tiles: int = 1024 in [1, 4294967296]
param clock_ghz = 1.0 in [0.1, 4]
layers g in range(num_gemms) {
  stage load = K
  stage run = tiles * K
}
design d {
  schedule load -> run
  let gemm_cycles = end - start
  let gemm_us = gemm_cycles / (clock_ghz * 1000)
  metric time_us = sum(gemm_us)
}
"""


def test_ratio_of_positive_quantities_is_not_negative():
    """A layer's cycles (end - start) over a positive clock: non-negative, and as narrow
    as one layer's work, not the whole run's spread of start times (which made this spec
    fail: 'a step of gemm_us needs 132 bits; its range is [-1.2e+20, 1.2e+20]')."""
    fp, r = _ranges_of(_CYCLES)
    assert r["gemm_cycles"] == (2, 65536 + 4294967296 * 65536)
    lo, hi = r["gemm_us"]
    assert lo == pytest.approx(2 / 4000, rel=1e-6) and hi == pytest.approx((65536 + 2**48) / 100, rel=1e-9)
    assert fp.node_ranges[fp.designs[0].metrics[0].node][0] >= 0  # time_us


def test_parallel_branches_and_decided_conditions_stay_narrow():
    """end - start across a parallel join is the longer branch; a condition the ranges
    decide selects one arm; squares and even powers are not negative."""
    _, r = _ranges_of("""spec t
param n: int = 4 in [1, 100]
param x = 0.5 in [-2, 3]
layers l in range(20) {
  stage a = n
  stage b = 2 * n
  stage c = 1
}
design d {
  schedule c -> (a | b)
  let span = end - start
  let guarded = if n >= 1 then n else -1000000
  let sq = x ^ 2
  let cube = x ^ 3
  let four = x * x * x * x
  metric m = sum(span + guarded + sq + cube + four)
}
""")
    assert r["span"] == (3, 201)
    assert r["guarded"] == (1, 100)
    assert r["sq"] == (0, 9) and r["cube"] == (-8, 27) and r["four"] == (0, 81)


def test_width_error_names_the_chain_of_quantities():
    """A width error says which quantities the too-wide step grew from, down to a param,
    and cites each at its declaration."""
    text = """spec t
param M: int = 4096 in [1, 65536]
param clock_ghz = 1.0 in [0.1, 4]
param bandwidth = 100.0 in [0.001, 10000]
let bytes = M * M * 2
let bytes_per_cycle = bandwidth / clock_ghz
let cycles = bytes / bytes_per_cycle
let time_s = cycles / (clock_ghz * 1e9)
let tflops = 2 * M * M / time_s / 1e12
layers l in range(1) {
  stage s = 1
}
design d {
  schedule s
  metric m = sum(s) * tflops
}
"""
    msg = _fixed_error(text)
    first = msg.splitlines()[0]
    assert first.startswith("t.spt:9:33: error: fixed point: a step of 'tflops' needs ")
    assert ("it grows from 'time_s' [0, 343598] <- 'cycles' [1.99999e-05, 3.43598e+13] <- 'bytes' "
            "[2, 8.58993e+09] <- 'M' [1, 65536] (a param)") in first
    for line, name in ((8, "time_s"), (7, "cycles"), (5, "bytes"), (2, "M")):
        assert f"t.spt:{line}:" in msg and f"note: '{name}' ranges over" in msg


def test_a_long_chain_of_joins_stays_narrow():
    """Ten parallel joins in a row, over 40 layers: each layer's end - start is the sum of
    the longer branch of each join (2n each), however many joins precede it."""
    stages = "\n".join(f"  stage p{i} = n\n  stage q{i} = 2 * n" for i in range(10))
    schedule = " -> ".join(f"(p{i} | q{i})" for i in range(10))
    _, r = _ranges_of(f"""spec t
param n: int = 4 in [1, 100]
layers l in range(40) {{
{stages}
}}
design d {{
  schedule {schedule}
  let span = end - start
  metric m = sum(span)
}}
""")
    assert r["span"] == (20, 2000)


def _random_schedule(rnd: random.Random, stages: list[str]) -> str:
    """A random schedule using each stage once: a sequence of stages and parallel groups."""
    parts, rest = [], list(stages)
    while rest:
        take = min(len(rest), rnd.choice([1, 1, 2, 3]))
        group, rest = rest[:take], rest[take:]
        if len(group) > 1 and rnd.random() < 0.3:  # a nested sequence in one branch
            group = [f"{group[0]} -> {group[1]}"] + group[2:]
        parts.append(group[0] if len(group) == 1 else "(" + " | ".join(group) + ")")
    return " -> ".join(parts)


@pytest.mark.parametrize("exact_splits", [fx._Ranges.EXACT_SPLITS, 0])
def test_random_layered_specs_stay_within_their_intervals(exact_splits, monkeypatch):
    """Random stages over params and a state, random schedules with parallel joins, and
    design lets built from stage times (differences, comparisons, if): over every layer
    of random configurations, every value lies in its interval (also when every join is
    split carrying only its widest shared term)."""
    monkeypatch.setattr(fx._Ranges, "EXACT_SPLITS", exact_splits)
    rnd = random.Random(12)
    np_rng = np.random.Generator(np.random.PCG64(12))
    specs = 0
    while specs < 25:
        names = list(_PARAMS) + ["u"]
        stages = [f"s{i}" for i in range(rnd.randint(2, 7))]
        body = "\n".join(f"  stage {s} = {_random_expr(rnd, names, 2)}" for s in stages)
        times = [f"{s}.{w}" for s in stages for w in ("start", "end")] + ["start", "end"]
        pick = lambda: rnd.choice(times)  # noqa: E731
        lets = ["let e0 = end - start", f"let e1 = {pick()} - {pick()}",
                f"let e2 = if {pick()} > {pick()} then {pick()} - {pick()} else {pick()} - {pick()}",
                f"let e3 = max({pick()}, {pick()}) - min({pick()}, {pick()})"]
        text = (f"spec t\nfixed(frac_bits={rnd.choice([4, 16])}, stage_cycles={rnd.choice(['ceil', 'none'])})\n"
                + "\n".join(p[0] for p in _PARAMS.values())
                + "\nparam n: int = 3 in [1, 12]\nlayers l in range(n) {\n  state u: int = k then u + b\n"
                + body + "\n}\ndesign d {\n  schedule " + _random_schedule(rnd, stages) + "\n  "
                + "\n  ".join(lets) + "\n  metric m = sum(e0 + e1 + e2 + e3)\n}\n")
        try:
            fp = fx.lower_fixed(front_end(text, "t.spt").plan)
        except SpecError:
            continue  # a literal division by zero, or a register wider than 128 bits
        specs += 1
        params = {p.name: p for p in fp.params}
        bounds = dict((k, v[1:]) for k, v in _PARAMS.items()) | {"n": (1, 12)}
        for _ in range(8):
            env = {}
            for name, (lo, hi) in bounds.items():
                p = params[name]
                v = _corner_or_random(rnd, lo, hi, p.kind == "int")
                env[p.var] = v if p.kind == "int" else fx.to_fixed(v, fp.frac_bits)
            _run_checking_ranges(fp, env, np_rng)
