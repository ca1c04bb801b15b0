"""The error domain of the fixed-point analysis: a bound on |fixed - float64| of every
value, run in lockstep with the interval analysis (middle/fixed._analyze), so a metric's
bound covers the layers, states and accumulators it is built from.

Both semantics see the same params and the same draws (the float run replays the
fixed-point run's draws); the bound covers the scaling of real literals and params, each
rounding of the fixed-point rules, and float64's own rounding (2^-52 of each real result's
magnitude).  Comparisons that may decide differently (their operands lie within the sum
of their errors of the boundary) make an `if` take the distance between its arms; a
quotient whose divisor's range reaches 0, or a layer count that may differ, has no bound
(inf).  At one configuration (`error_bounds(fp, point)`) the ranges are points, so the
bound is the one that holds for that run.
"""

from __future__ import annotations

import math
from dataclasses import replace
from fractions import Fraction

from spattenc.ir import keys
from spattenc.ir.keys import Key
from spattenc.ir.visit import Visitor
from spattenc.middle import fixed as fx
from spattenc.middle.fixed import Node

#: float64's rounding of one operation, relative to its result (twice the unit roundoff,
#: so the bound's own float arithmetic is covered too).
FLOAT_ROUNDING = 2.0 ** -52

_ROUND = {"floor": math.floor, "ceil": math.ceil, "trunc": math.trunc, "round": round,
          "nearest": lambda x: math.floor(x + 0.5)}


def error_bounds(fp: fx.FixedPlan, point: dict | None = None, draws: dict | None = None) -> dict[Key, float]:
    """Bound on |fixed - float64| of each design metric (Key("metric", name, design)), in
    the metric's units: over the declared param ranges, or at `point` (param name -> value;
    params not given keep their ranges), and for one trial's `draws` (random name -> raw
    fixed-point value per layer) when given."""
    params, param_errors = [], {}
    for p in fp.params:
        v = None if point is None else point.get(p.name)
        if v is None:
            params.append(p)
            param_errors[p.var] = 2.0 ** -(fp.frac_bits + 1) if p.kind == "fix" else 0.0
            continue
        raw = fx.to_fixed(v, fp.frac_bits) if p.kind == "fix" else int(v)
        params.append(replace(p, lo=raw, hi=raw))
        off = abs(Fraction(raw, 1 << fp.frac_bits) - Fraction(v)) if p.kind == "fix" else 0
        param_errors[p.var] = math.nextafter(float(off), math.inf) if off else 0.0
    track = _Track(fp, param_errors, draws or {})
    fx._analyze(params, fp.consts, fp.count, fp.index_var, fp.states, fp.layer, fp.designs, fp.hardware, track)
    return track.metrics


def metric_bounds(fp: fx.FixedPlan) -> dict[Key, float | None]:
    """Each metric's bound over the declared ranges (None: no finite bound), as the
    driver computed it with the plan, else computed here."""
    bounds = fp.errors if fp.errors is not None else error_bounds(fp)
    return {k: None if math.isinf(v) else v for k, v in bounds.items()}


class _Track(fx.NoErrors):
    """The error of every variable as the analysis steps through the program."""

    def __init__(self, fp: fx.FixedPlan, param_errors: dict[Key, float], draws: dict):
        self.fp, self.draws = fp, draws
        self.env: dict[Key, float] = dict(param_errors)
        self.finals: dict[Key, float] = {}
        self.metrics: dict[Key, float] = {}
        self.visitor: _Errors | None = None

    def of(self, r: fx._Ranges, n: Node) -> float:
        if self.visitor is None or self.visitor.r is not r:  # a new layer: new ranges
            self.visitor = _Errors(self.fp, r, self.env)
        return self.visitor.of(n)

    def draw(self, d: fx.Draw, layer_no: int, rng: tuple[int, int]) -> tuple[int, int]:
        values = self.draws.get(d.name)
        return rng if values is None else (int(values[layer_no]),) * 2

    def set(self, var: Key, e: float, assign: fx.Assign | None = None) -> None:
        if var in self.fp.rounded:  # stage_cycles rounds the stage; float keeps its fraction
            n = assign.node
            if isinstance(n, fx.Shr):
                e = self.visitor.of(n.a) + (0.5 if n.mode == "round" else 1.0)
            else:  # a literal duration, rounded when it was lowered
                e = 1.0
        self.env[var] = e

    def final(self, var: Key, e: float) -> None:
        self.finals[var] = max(self.finals.get(var, 0.0), e)

    def finish(self, r: fx._Ranges, accs: list, designs) -> None:
        """The metrics' bounds: the accumulators at their worst over the layer counts."""
        self.env.update(self.finals)
        self.visitor = None
        count_differs = self.env[keys.COUNT] > 0
        for d in designs:
            for m in d.metrics:
                e = math.inf if count_differs else self.of(r, m.node)
                self.metrics[Key("metric", m.name, d.name)] = e


class _Errors(Visitor):
    """Bound on |fixed - float64| of each node of one layer (a method per node class), in
    the node's real units; `r` gives the ranges of the fixed-point values."""

    def __init__(self, fp: fx.FixedPlan, r: fx._Ranges, env: dict[Key, float]):
        self.fp, self.r, self.env = fp, r, env
        self.F = fp.frac_bits
        self.memo: dict = {}

    def of(self, n: Node) -> float:
        e = self.memo.get(n)
        if e is None:
            e = self.visit(n)
            e = self.memo[n] = math.inf if math.isnan(e) else e
        return e

    # -- helpers
    def scale(self, kind: str) -> int:
        return {"fix": 1 << self.F, "fix2": 1 << (2 * self.F)}.get(kind, 1)

    def bounds(self, n: Node) -> tuple[float, float]:
        """The range of `n`'s fixed-point value, in real units."""
        lo, hi = self.r.of(n)
        s = self.scale(n.kind)
        return lo / s, hi / s

    def mag(self, n: Node) -> float:
        return max(abs(x) for x in self.bounds(n))

    def point(self, n: Node) -> Fraction | None:
        """`n`'s fixed-point value when its range is one point (at one configuration)."""
        lo, hi = self.r.of(n)
        return Fraction(lo, self.scale(n.kind)) if lo == hi else None

    def rounded(self, n: Node, e: float) -> float:
        """`e` plus float64's rounding of `n`'s result when float computes it in reals:
        none when the operands are exact and the result is a float (at a point)."""
        if n.kind not in ("fix", "fix2"):
            return e
        v = self.point(n) if e == 0 else None
        if v is not None:
            return _up(abs(Fraction(float(v)) - v))
        return _up(e + FLOAT_ROUNDING * (self.mag(n) + e))

    # -- leaves
    def visit_Lit(self, n: fx.Lit) -> float:
        if n.kind == "fix2":  # a real literal scaled once more, for a quotient
            whole = n.value % (1 << self.F) == 0
            n = fx.Lit("fix", n.value >> self.F) if whole else None
        return 2.0 ** -(self.F + 1) if n is None or n in self.fp.inexact else 0.0

    def visit_Var(self, n: fx.Var) -> float:
        return self.env[n.var]

    # -- exact operations
    def visit_Add(self, n: fx.Add) -> float:
        return self.rounded(n, _up(self.of(n.a) + self.of(n.b)))

    visit_Sub = visit_Add

    def visit_Neg(self, n: fx.Neg) -> float:
        return self.of(n.a)

    visit_Abs = visit_Neg

    def visit_Shl(self, n: fx.Shl) -> float:
        ea = self.of(n.a)
        return self.rounded(n, ea) if n.a.kind == "int" else ea  # an int becomes a float

    def visit_Min(self, n: fx.Min) -> float:
        return max(self.of(n.a), self.of(n.b))

    visit_Max = visit_Min

    def visit_Mul(self, n: fx.Mul) -> float:
        ea, eb = self.of(n.a), self.of(n.b)
        if math.isinf(ea) or math.isinf(eb):
            return math.inf
        return self.rounded(n, _up(self.mag(n.a) * eb + (self.mag(n.b) + eb) * ea))

    # -- roundings
    def visit_Shr(self, n: fx.Shr) -> float:
        """To an int (floor, ceil, ...): both sides round, so the results differ only when
        the value, moved by its error, crosses a step; to a real: half or one last bit."""
        ea = self.of(n.a)
        if n.kind != "int":  # the last bit: half of it to nearest, all of it otherwise
            v, va = self.point(n), self.point(n.a)
            if v is not None and va is not None:
                return _up(ea + float(abs(v - va)))
            return _up(ea + (0.5 if n.mode in ("round", "nearest") else 1.0) / self.scale(n.kind))
        if ea == 0:
            return 0.0
        if math.isinf(ea):
            return math.inf
        g = _ROUND[n.mode]
        lo, hi = self.r.of(n.a)
        s = self.scale(n.a.kind)
        return float(g(Fraction(hi, s) + Fraction(ea)) - g(Fraction(lo, s) - Fraction(ea)))  # g is monotone

    def visit_Div(self, n: fx.Div) -> float:
        ea, eb = self.of(n.a), self.of(n.b)
        blo, bhi = self.bounds(n.b)
        small = min(abs(blo), abs(bhi))
        if blo <= 0 <= bhi or small <= eb or math.isinf(ea):
            return math.inf  # x / 0 is 0 in fixed point and not a number in float
        va, vb, v = self.point(n.a), self.point(n.b), self.point(n)
        if ea == eb == 0 and None not in (va, vb, v):  # one configuration: float divides exactly-known values
            return _up(abs(Fraction(float(va / vb)) - v))
        e = ea / small + (self.mag(n.a) + ea) * eb / (small * (small - eb))
        return self.rounded(n, _up(e + 1.0 / self.scale(n.kind)))

    def visit_Mod(self, n: fx.Mod) -> float:
        ea, eb = self.of(n.a), self.of(n.b)
        blo, bhi = self.bounds(n.b)
        if blo <= 0 <= bhi:
            return math.inf
        if ea == eb == 0:
            return self.rounded(n, 0.0)
        return self.rounded(n, max(abs(blo), abs(bhi)) + eb)  # both results lie within |b|

    # -- conditions: 1.0 when the two semantics may decide differently
    def visit_Cmp(self, n: fx.Cmp) -> float:
        e = self.of(n.a) + self.of(n.b)
        if e == 0:
            return 0.0
        if n.a.kind == "bool":
            return 1.0
        (alo, ahi), (blo, bhi) = self.r.of(n.a), self.r.of(n.b)
        s = self.scale(n.a.kind)
        if fx._decide(n.op, (alo - bhi) / s - e, (ahi - blo) / s + e) != (0, 1):
            return 0.0
        lo, hi = self.r.difference(n.a, n.b)  # exact integers: the division keeps their signs
        return 0.0 if fx._decide(n.op, lo / s - e, hi / s + e) != (0, 1) else 1.0

    def visit_Logic(self, n: fx.Logic) -> float:
        return max(self.of(n.a), self.of(n.b))

    def visit_Not(self, n: fx.Not) -> float:
        return self.of(n.a)

    def visit_Mux(self, n: fx.Mux) -> float:
        """The selectable arms' error; when the condition may flip, plus the distance
        between the arms."""
        if self.of(n.c) == 0:
            arms = {(1, 1): (n.a,), (0, 0): (n.b,)}.get(self.r.of(n.c), (n.a, n.b))
            return max(self.of(x) for x in arms)
        (alo, ahi), (blo, bhi) = self.bounds(n.a), self.bounds(n.b)
        e = _up(max(self.of(n.a), self.of(n.b)) + max(ahi - blo, bhi - alo, 0.0))
        return min(e, 1.0) if n.kind == "bool" else e


def _up(x: float) -> float:
    """`x` a little larger: room for the float rounding of the bound's own arithmetic."""
    return float(x) * (1 + 2.0 ** -48) if x else 0.0
