"""Middle layer, fixed-point reference: runs a FixedPlan over exact Python ints and makes
the golden vectors the Verilog testbench reads (rtl/<spec>_vectors.hex).

`FixedRun` is the evaluator of the fixed-point nodes `middle/fixed.lower_fixed` produces
(one `visit_<Node>` method per node class: a node without one fails at once).  Each value
is a list of Python ints (or bools), one per configuration, so no width is ever exceeded;
the roundings are `middle/fixed.shift_right`, `tdiv` and `fmod`, the semantics the
printers in backends/numpy_fixed and backends/verilog print.

`random_vectors(fp, n, seed)` reproduces fixed_sim.py's `random_vectors(n, seed)`: the
same random configurations, the same draws in the same order from one
numpy.random.Generator(PCG64(seed)), the same metrics; `vector_words` and
`format_vectors` give the same words and $readmemh text.  The driver builds the golden
vectors file with it and never runs generated code.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from spattenc.ir.errors import fail
from spattenc.ir.visit import Visitor
from spattenc.middle import fixed as fx
from spattenc.middle.eval import const_value

Values = list  # one value per configuration (point)


# ---------------------------------------------------------------- the plan's tables


def _plain(v):
    """A default or bound as fixed_sim.py holds it (its PARAMS literal: ints, floats, bools)."""
    if v is None or isinstance(v, bool):
        return v
    if isinstance(v, numbers.Integral):
        return int(v)
    if isinstance(v, numbers.Real):
        return float(v)
    return v


@dataclass(frozen=True)
class ParamInfo:
    """A param as fixed_sim.py's PARAMS lists it."""

    name: str
    type: str
    kind: str
    default: Any
    lo: Any
    hi: Any
    width: int


def params_table(fp: fx.FixedPlan) -> list[ParamInfo]:
    """Every param: spec type, fixed-point kind, default, declared range, register width."""
    out = []
    for prm, fpar in zip(fp.plan.program.params, fp.params):
        out.append(ParamInfo(prm.name, prm.type, fpar.kind, _plain(const_value(prm.default)),
                             _plain(const_value(prm.lo)) if prm.lo is not None else None,
                             _plain(const_value(prm.hi)) if prm.hi is not None else None,
                             fp.width(fpar.var)))
    return out


def draws_table(fp: fx.FixedPlan) -> dict[str, tuple[str, str, int]]:
    """random variable -> (distribution, kind, width), in plan order."""
    return {d.name: (d.dist, d.kind, fp.width(d.var)) for d in fp.layer if isinstance(d, fx.Draw)}


def metrics_table(fp: fx.FixedPlan) -> dict[str, dict[str, tuple[str, int]]]:
    """design -> {metric: (kind, width)}."""
    return {d.name: {m.name: (m.node.kind, fp.node_width(m.node)) for m in d.metrics} for d in fp.designs}


def word_bits(fp: fx.FixedPlan) -> int:
    """Width of one golden-vector word: the widest field (at least 32 bits, for the count)."""
    widths = [32] + [fp.width(p.var) for p in fp.params] + [fp.width(d.var) for d in fp.layer
                                                            if isinstance(d, fx.Draw)]
    widths += [fp.node_width(m.node) for d in fp.designs for m in d.metrics]
    return max(widths)


def to_fixed(value, frac_bits: int) -> int:
    """round(value * 2**frac_bits), ties to even: the raw form of a real value."""
    return round(Fraction(value) * (1 << frac_bits))


def raw_value(p: ParamInfo, value, frac_bits: int) -> int:
    """The raw integer a param value is given to the RTL as."""
    if p.kind == "fix":
        return to_fixed(value, frac_bits)
    return int(bool(value)) if p.kind == "bool" else int(value)


def raw_params(fp: fx.FixedPlan, values: dict | None = None) -> dict[str, Values]:
    """Raw param values (a list per param, one per point) from the defaults updated by
    `values` (each a value or a list of values), converted as fixed_sim.py converts them."""
    table = params_table(fp)
    merged = {p.name: p.default for p in table}
    merged.update(values or {})
    info = {p.name: p for p in table}
    out = {}
    for name, value in merged.items():
        flat = np.asarray(value).reshape(-1)
        out[name] = [raw_value(info[name], v, fp.frac_bits) for v in flat.tolist()]
    return out


def random_params(fp: fx.FixedPlan, rng: np.random.Generator, limits: dict | None = None) -> dict:
    """A random configuration within the declared ranges (or `limits`): each value is the
    low end, the high end, or uniform or log-uniform in between (fixed_sim.random_params,
    the same draws in the same order)."""
    out = {}
    for p in params_table(fp):
        lo, hi = (limits or {}).get(p.name, (p.lo, p.hi))
        if p.type == "bool":
            out[p.name] = bool(rng.integers(0, 2))
            continue
        pick = rng.random()
        if pick < 0.1:
            v = lo
        elif pick < 0.2:
            v = hi
        elif pick < 0.6 or lo < 0 or hi <= 0:
            v = lo + (hi - lo) * rng.random()
        else:
            floor = max(lo, hi * 1e-6, 1e-9)
            v = float(np.exp(np.log(floor) + (np.log(hi) - np.log(floor)) * rng.random()))
        if p.type == "int":
            v = min(max(int(round(v)), int(np.ceil(lo))), int(np.floor(hi)))
        out[p.name] = min(max(v, lo), hi)
    return out


# ---------------------------------------------------------------- draws


class Draws:
    """Random draws of one layer for `points` configurations from one stream, point after
    point, with the calls fixed_sim.py's Draws makes (int args as int64, real args as
    raw / 2**F); every draw is recorded (a list of values per layer)."""

    def __init__(self, rng, points: int, frac_bits: int):
        self.rng = rng
        self.points = points
        self.F = frac_bits
        self.record: dict[str, list[Values]] = {}

    def draw(self, d: fx.Draw, args: list[Values]) -> Values:
        method = getattr(self, d.dist, None)
        if method is None:
            raise NotImplementedError(f"golden vectors: no draw for distribution {d.dist!r}")
        try:
            values = method(*args)
        except ValueError as e:  # numpy refuses the arguments (p > 1, n < 0, ...): the spec's values
            fail(f"random '{d.name}': its arguments at the params' defaults are outside the {d.dist} "
                 f"distribution's domain ({e}); the test vectors cannot be drawn", d.loc)
        self.record.setdefault(d.name, []).append(values)
        return values

    def _real(self, xs: Values) -> list:
        return [np.float64(x / (1 << self.F)) for x in xs]

    @staticmethod
    def _int64(xs: Values) -> list:
        return [np.int64(x) for x in xs]

    def _rows(self, method: str, *args: list) -> list:
        call = getattr(self.rng, method)
        return [call(*(a[i] for a in args), size=1)[0] for i in range(self.points)]

    def binomial(self, n: Values, p: Values) -> Values:
        n64, pf = self._int64(n), self._real(p)
        return [int(x) for x in self._rows("binomial", n64, pf)]

    def bernoulli(self, p: Values) -> Values:
        pf = self._real(p)
        return [bool(self.rng.random(1)[0] < pf[i]) for i in range(self.points)]

    def uniform(self, low: Values, high: Values) -> Values:
        lo, hi = self._real(low), self._real(high)
        return [to_fixed(x, self.F) for x in self._rows("uniform", lo, hi)]

    def geometric(self, p: Values, high: Values) -> Values:
        pf, cap = self._real(p), self._int64(high)
        ks = self._rows("geometric", pf)
        return [int(min(np.int64(k - 1), c)) for k, c in zip(ks, cap)]


# ---------------------------------------------------------------- the evaluator


class FixedRun(Visitor):
    """Values of fixed-point nodes over `points` configurations: `env` maps each plan
    variable to its values (a list, one per point)."""

    def __init__(self, env: dict[str, Values], points: int):
        self.env = env
        self.points = points
        self.memo: dict = {}

    def value(self, n: fx.Node) -> Values:
        """The values of one expression tree (shared subtrees computed once)."""
        self.memo = {}
        return self.of(n)

    def of(self, n: fx.Node) -> Values:
        r = self.memo.get(n)
        if r is None:
            r = self.memo[n] = self.visit(n)
        return r

    def _map(self, fn, *ns: fx.Node) -> Values:
        return [fn(*xs) for xs in zip(*(self.of(n) for n in ns))]

    def visit_Lit(self, n: fx.Lit) -> Values:
        v = bool(n.value) if n.kind == "bool" else n.value
        return [v] * self.points

    def visit_Var(self, n: fx.Var) -> Values:
        return self.env[n.var]

    def visit_Add(self, n: fx.Add) -> Values:
        return self._map(lambda a, b: a + b, n.a, n.b)

    def visit_Sub(self, n: fx.Sub) -> Values:
        return self._map(lambda a, b: a - b, n.a, n.b)

    def visit_Mul(self, n: fx.Mul) -> Values:
        return self._map(lambda a, b: a * b, n.a, n.b)

    def visit_Neg(self, n: fx.Neg) -> Values:
        return self._map(lambda a: -a, n.a)

    def visit_Shl(self, n: fx.Shl) -> Values:
        return self._map(lambda a: a << n.k, n.a)

    def visit_Shr(self, n: fx.Shr) -> Values:
        return self._map(lambda a: fx.shift_right(a, n.k, n.mode), n.a)

    def visit_Div(self, n: fx.Div) -> Values:
        return self._map(fx.tdiv, n.a, n.b)

    def visit_Mod(self, n: fx.Mod) -> Values:
        return self._map(fx.fmod, n.a, n.b)

    def visit_Cmp(self, n: fx.Cmp) -> Values:
        op = _COMPARE[n.op]
        return self._map(lambda a, b: bool(op(a, b)), n.a, n.b)

    def visit_Logic(self, n: fx.Logic) -> Values:
        if n.op == "and":
            return self._map(lambda a, b: bool(a) and bool(b), n.a, n.b)
        if n.op == "or":
            return self._map(lambda a, b: bool(a) or bool(b), n.a, n.b)
        raise AssertionError(n.op)  # pragma: no cover

    def visit_Not(self, n: fx.Not) -> Values:
        return self._map(lambda a: not a, n.a)

    def visit_Mux(self, n: fx.Mux) -> Values:
        return self._map(lambda c, a, b: a if c else b, n.c, n.a, n.b)

    def visit_Min(self, n: fx.Min) -> Values:
        return self._map(min, n.a, n.b)

    def visit_Max(self, n: fx.Max) -> Values:
        return self._map(max, n.a, n.b)

    def visit_Abs(self, n: fx.Abs) -> Values:
        return self._map(abs, n.a)


_COMPARE = {
    "<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b,
}


@dataclass
class Outcome:
    """What one run of a fixed plan gives (values: lists, one per point): raw metrics by
    design, DUT figures by hardware block, each design's end time, the layer counts and
    every draw (a list of values per layer)."""

    metrics: dict[str, dict[str, Values]]
    hardware: dict[str, dict] = field(default_factory=dict)
    ends: dict[str, Values] = field(default_factory=dict)
    count: Values = field(default_factory=list)
    draws: dict[str, list[Values]] = field(default_factory=dict)


def _keep(act: list[bool], new: Values, old: Values) -> Values:
    return [n if a else o for a, n, o in zip(act, new, old)]


def simulate(fp: fx.FixedPlan, raw: dict[str, Values], draws: Draws) -> Outcome:
    """Run every design over the layers, as the RTL model (and fixed_sim.simulate) does."""
    points = draws.points
    env: dict[str, Values] = {p.var: raw[p.name] for p in fp.params}
    ev = FixedRun(env, points)
    for a in fp.consts:
        env[a.var] = ev.value(a.node)
    count = env[fp.count.var] = ev.value(fp.count.node)
    for s in fp.states:
        env[s.var] = ev.value(s.init)
    zero = [0] * points
    hw_accs = [a for h in fp.hardware for a in h.accs]
    for d in fp.designs:
        env[d.t_var] = zero
        for a in d.accs:
            env[a.var] = zero
    for a in hw_accs:
        env[a.var] = zero
    layers: dict[str, dict[str, list[Values]]] = {h.hw.name: {n: [] for n, _, _ in h.layer_outputs}
                                                  for h in fp.hardware}
    for index in range(max(count) if count else 0):
        act = [index < c for c in count]
        env[fp.index_var] = [index] * points
        _layer(fp, ev, draws, act, layers)
    metrics = {d.name: {m.name: ev.value(m.node) for m in d.metrics} for d in fp.designs}
    hardware = {h.hw.name: {"outputs": {o.name: ev.value(o.node) for o in h.outputs},
                            "layers": layers[h.hw.name], "count": count} for h in fp.hardware}
    return Outcome(metrics, hardware, {d.name: env[d.t_var] for d in fp.designs}, count, draws.record)


def _layer(fp: fx.FixedPlan, ev: FixedRun, draws: Draws, act: list[bool], layers: dict) -> None:
    """One layer: draws and lets, each design's steps, the DUT steps, then accumulators,
    times and states (kept where the layer is past a point's count)."""
    env = ev.env
    for item in fp.layer:
        if isinstance(item, fx.Draw):
            env[item.var] = draws.draw(item, [ev.value(a) for a in item.args])
        else:
            env[item.var] = ev.value(item.node)
    for d in fp.designs:
        for a in d.steps:
            env[a.var] = ev.value(a.node)
    for h in fp.hardware:
        for a in h.steps:
            env[a.var] = ev.value(a.node)
        for name, var, _ in h.layer_outputs:
            layers[h.hw.name][name].append(env[var])
        for a in h.accs:
            env[a.var] = _keep(act, ev.value(a.update), env[a.var])
    for d in fp.designs:
        for a in d.accs:
            env[a.var] = _keep(act, ev.value(a.update), env[a.var])
        env[d.t_var] = _keep(act, env[d.end_var], env[d.t_var])
    nexts = [(s.var, ev.value(s.next)) for s in fp.states]
    for var, values in nexts:
        env[var] = _keep(act, values, env[var])


# ---------------------------------------------------------------- golden vectors


def random_vectors(fp: fx.FixedPlan, n: int, seed: int) -> list[dict]:
    """n vectors: the default configuration first, then random configurations within the
    declared ranges, each with its own random draws (numpy Generator PCG64(seed)); all
    simulated at once, one configuration per point (as fixed_sim.random_vectors)."""
    rng = np.random.Generator(np.random.PCG64(seed))
    table = params_table(fp)
    configs = [{p.name: p.default for p in table}] + [random_params(fp, rng) for _ in range(n - 1)]
    raw = raw_params(fp, {p.name: [c[p.name] for c in configs] for p in table})
    out = simulate(fp, raw, Draws(rng, n, fp.frac_bits))
    names = draws_table(fp)
    vectors = []
    for i in range(n):
        count = int(out.count[i])
        vectors.append({
            "params": {name: int(v[i % len(v)]) for name, v in raw.items()},
            "count": count,
            "draws": {name: [int(x[i]) for x in out.draws.get(name, [])[:count]] for name in names},
            "metrics": {d: {m: int(out.metrics[d][m][i]) for m in ms} for d, ms in metrics_table(fp).items()},
        })
    return vectors


def vector_words(fp: fx.FixedPlan, v: dict) -> list[tuple[int, int]]:
    """The words of one vector in the testbench's order, each as (value, width)."""
    words = [(v["count"], 32)]
    words += [(v["params"][p.name], p.width) for p in params_table(fp)]
    for name, (_, _, width) in draws_table(fp).items():
        words += [(x, width) for x in v["draws"][name]]
    for d, ms in metrics_table(fp).items():
        words += [(v["metrics"][d][m], width) for m, (_, width) in ms.items()]
    return words


def format_vectors(fp: fx.FixedPlan, vectors: list[dict], note: str = "") -> str:
    """The $readmemh text of `vectors`: the vector count, then each vector's words."""
    digits = (word_bits(fp) + 3) // 4
    lines = [f"// golden vectors for {fp.name} (fixed point, {fp.frac_bits} fraction bits)"
             f"{': ' + note if note else ''}",
             f"{len(vectors):0{digits}x}"]
    for i, v in enumerate(vectors):
        lines.append(f"// vector {i}: {v['count']} layers")
        lines += [f"{x & ((1 << w) - 1):0{digits}x}" for x, w in vector_words(fp, v)]
    return "\n".join(lines) + "\n"
