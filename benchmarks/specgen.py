"""Random well-typed `.spt` specs from a seed, for differential testing of the back ends.

`generate(seed)` returns a `Generated` (the spec text, the CSV text of its input table if
it reads one, and what it uses).  The generator knows the type and the value interval of
every expression it writes, so values stay in a safe magnitude and every function stays
in its domain: a divisor is kept >= 0.5 (`max(1, x)` otherwise), `sqrt` and the
logarithms see guarded arguments, `exp` a clamped one, probabilities are clamped to
[0, 1], counts and weights are non-negative.  Real literals are multiples of 1/8, so
they are exact in binary and in fixed point.  Needs only the standard library (no
spattenc import), so the specs it writes are the user's text, not the compiler's.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

LIM = 1e6  # largest magnitude any generated value may reach
NAMES = ("alpha", "beta", "gamma", "delta", "eps", "zeta", "eta", "theta", "iota", "kappa", "mu", "nu", "xi",
         "omicron", "rho", "sigma", "tau", "phi", "chi", "psi", "omega")


@dataclass(frozen=True)
class E:
    """An expression: its text, type (int, real, bool) and value interval [lo, hi]."""

    text: str
    type: str
    lo: float = 0
    hi: float = 0

    @property
    def mag(self) -> float:
        return max(abs(self.lo), abs(self.hi))


@dataclass
class Generated:
    """A generated spec: its text, an input table's CSV (or None), the features it uses."""

    seed: int
    text: str
    csv: str | None = None
    features: set[str] = field(default_factory=set)
    fixed: bool = False
    random: bool = False


def _lit_real(x: float) -> str:
    s = repr(float(x))
    return f"({s})" if x < 0 else s


def _lit(v, typ: str) -> str:
    if typ == "int":
        return f"({int(v)})" if v < 0 else str(int(v))
    return _lit_real(v)


def _hull(*es: E) -> tuple[float, float]:
    return min(e.lo for e in es), max(e.hi for e in es)


def _join_type(*es: E) -> str:
    return "int" if all(e.type == "int" for e in es) else "real"


class Scope:
    """Names visible where an expression is written: name -> E (its interval)."""

    def __init__(self, parent: "Scope | None" = None):
        self.names: dict[str, E] = {}
        self.parent = parent

    def all(self) -> dict[str, E]:
        out = self.parent.all() if self.parent else {}
        out.update(self.names)
        return out

    def add(self, name: str, e: E) -> None:
        self.names[name] = E(name, e.type, e.lo, e.hi)


class Gen:
    """One spec's generator: a random stream, the names used so far, the feature flags."""

    def __init__(self, seed: int, fixed: bool):
        self.r = random.Random(seed)
        self.fixed = fixed  # fixed-point subset: no sqrt/log/exp, comparisons and roundings on ints only
        self.used: set[str] = set()
        self.features: set[str] = set()
        self.funcs: list[tuple[str, list[E], E]] = []  # name, argument intervals, result
        self.enum: tuple[str, tuple[str, ...]] | None = None
        self.enum_fn: str | None = None

    def name(self, prefix: str) -> str:
        while True:
            n = f"{prefix}{self.r.choice(NAMES)}{self.r.randrange(10)}"
            if n not in self.used:
                self.used.add(n)
                return n

    # ---------------------------------------------------------------- leaves
    def literal(self, typ: str) -> E:
        if typ == "int":
            v = self.r.randint(-4, 12)
            return E(_lit(v, "int"), "int", v, v)
        v = self.r.randint(-16, 40) / 8
        return E(_lit_real(v), "real", v, v)

    def leaf(self, scope: Scope, typ: str) -> E:
        pool = [e for e in scope.all().values() if (e.type == typ or (typ == "real" and e.type == "int"))]
        if pool and self.r.random() < 0.75:
            return self.r.choice(pool)
        return self.literal("int" if typ == "int" else self.r.choice(("int", "real")))

    # ---------------------------------------------------------------- numbers
    def num(self, scope: Scope, depth: int, typ: str = "real") -> E:
        """A numeric expression; `typ` int asks for an int-typed one."""
        if depth <= 0 or self.r.random() < 0.25:
            return self.leaf(scope, typ)
        makers = [self._arith, self._arith, self._minmax, self._clamp, self._abs, self._ifte]
        if typ == "int":
            makers += [self._to_int, self._mod]
        else:
            makers += [self._div, self._to_int, self._mod, self._pow]
            if not self.fixed:
                makers += [self._transcend]
            if self.funcs:
                makers += [self._call, self._call]
            if self.enum_fn:
                makers += [self._enum_sum]
        if not self.fixed:  # a sum over a range has no fixed-point form
            makers += [self._range_sum]
        for _ in range(6):
            e = self.r.choice(makers)(scope, depth - 1, typ)
            if e is not None and e.mag <= LIM and (typ != "int" or e.type == "int"):
                return e
        return self.leaf(scope, typ)

    def _arith(self, s, d, typ):
        a, b = self.num(s, d, typ), self.num(s, d, typ)
        op = self.r.choice("+-*")
        t = _join_type(a, b)
        if op == "+":
            return E(f"({a.text} + {b.text})", t, a.lo + b.lo, a.hi + b.hi)
        if op == "-":
            return E(f"({a.text} - {b.text})", t, a.lo - b.hi, a.hi - b.lo)
        if a.mag * b.mag > LIM:
            return None
        ps = [a.lo * b.lo, a.lo * b.hi, a.hi * b.lo, a.hi * b.hi]
        return E(f"({a.text} * {b.text})", t, min(ps), max(ps))

    def _minmax(self, s, d, typ):
        es = [self.num(s, d, typ) for _ in range(self.r.choice((2, 2, 3)))]
        fn = self.r.choice(("min", "max"))
        lo = (min if fn == "min" else max)(e.lo for e in es)
        hi = (min if fn == "min" else max)(e.hi for e in es)
        return E(f"{fn}({', '.join(e.text for e in es)})", _join_type(*es), lo, hi)

    def _clamp(self, s, d, typ):
        x = self.num(s, d, typ)
        lt = "int" if typ == "int" else self.r.choice(("int", "real"))
        a, b = sorted((self.literal(lt), self.literal(lt)), key=lambda e: e.lo)
        return E(f"clamp({x.text}, {a.text}, {b.text})", _join_type(x, a, b),
                 max(a.lo, min(b.lo, x.lo)), max(a.lo, min(b.lo, x.hi)))

    def _abs(self, s, d, typ):
        x = self.num(s, d, typ)
        lo = 0 if x.lo <= 0 <= x.hi else min(abs(x.lo), abs(x.hi))
        return E(f"abs({x.text})", x.type, lo, x.mag)

    def _ifte(self, s, d, typ):
        c = self.cond(s, d)
        a, b = self.num(s, d, typ), self.num(s, d, typ)
        return E(f"(if {c.text} then {a.text} else {b.text})", _join_type(a, b), *_hull(a, b))

    def _to_int(self, s, d, typ):
        x = self.num(s, d, "int" if self.fixed else "real")
        fn = self.r.choice(("floor", "ceil", "trunc", "round"))
        return E(f"{fn}({x.text})", "int", math.floor(x.lo), math.ceil(x.hi))

    def _mod(self, s, d, typ):
        x = self.num(s, d, "int" if self.fixed or typ == "int" else typ)
        m = self.r.randint(1, 7)
        return E(f"({x.text} % {m})", x.type, 0, m - 1 if x.type == "int" else m)

    def _div(self, s, d, typ):
        a, b = self.num(s, d), self.num(s, d)
        if b.lo < 0.5:
            b = E(f"max(1, {b.text})", "real" if b.type == "real" else "int", max(1, b.lo), max(1, b.hi))
        qs = [a.lo / b.lo, a.lo / b.hi, a.hi / b.lo, a.hi / b.hi]
        return E(f"({a.text} / {b.text})", "real", min(qs), max(qs))

    def _pow(self, s, d, typ):
        x = self.num(s, d, typ)
        k = self.r.choice((2, 2, 3, 0.5))
        if k == 0.5:
            if self.fixed:
                return None
            x = E(f"abs({x.text})", x.type, 0, x.mag)
            return E(f"({x.text} ^ 0.5)", "real", 0, math.sqrt(x.mag))
        if x.mag ** k > LIM:
            return None
        lo = 0 if (k == 2 and x.lo <= 0 <= x.hi) else min(x.lo ** k, x.hi ** k)
        hi = max(x.lo ** k, x.hi ** k)
        self.features.add("pow")
        return E(f"({x.text} ^ {k})", x.type, lo, hi)

    def _transcend(self, s, d, typ):
        x = self.num(s, d)
        fn = self.r.choice(("sqrt", "log", "log2", "log10", "exp"))
        self.features.add(fn)
        if fn == "sqrt":
            return E(f"sqrt(max(0, {x.text}))", "real", 0, math.sqrt(max(0, x.hi)))
        if fn == "exp":
            return E(f"exp(clamp({x.text}, -4, 4))", "real", math.exp(-4), math.exp(4))
        g = {"log": math.log, "log2": math.log2, "log10": math.log10}[fn]
        return E(f"{fn}(max(1, {x.text}))", "real", 0, g(max(1, x.hi)))

    def _call(self, s, d, typ):
        name, args, res = self.r.choice(self.funcs)
        texts = []
        for a in args:
            x = self.num(s, d)
            texts.append(f"clamp({x.text}, {_lit(a.lo, 'real')}, {_lit(a.hi, 'real')})")
        return E(f"{name}({', '.join(texts)})", "real", res.lo, res.hi)

    def _enum_sum(self, s, d, typ):
        ename, members = self.enum
        x = self.num(s, d)
        ps = [x.lo * 0.5, x.lo * 3, x.hi * 0.5, x.hi * 3]
        v = self.name("e")
        self.features.add("enum_sum")
        return E(f"sum({v} in {ename}: {self.enum_fn}({v}) * {x.text})", "real",
                 min(ps) * len(members), max(ps) * len(members))

    def _range_sum(self, s, d, typ):
        n = self.r.randint(1, 4)
        v = self.name("i")
        inner = Scope(s)
        inner.add(v, E(v, "int", 0, n - 1))
        body = self.num(inner, d, typ)
        self.features.add("range_sum")
        return E(f"sum({v} in range({n}): {body.text})", body.type, min(0, body.lo * n), max(0, body.hi * n))

    # ---------------------------------------------------------------- conditions
    def cond(self, scope: Scope, depth: int) -> E:
        bools = [e for e in scope.all().values() if e.type == "bool"]
        k = self.r.random()
        if bools and (k < 0.2 or depth <= 0):
            return self.r.choice(bools)
        if depth > 0 and k < 0.35:
            a, b = self.cond(scope, depth - 1), self.cond(scope, depth - 1)
            return E(f"({a.text} {self.r.choice(('and', 'or'))} {b.text})", "bool")
        if depth > 0 and k < 0.42:
            return E(f"(not {self.cond(scope, depth - 1).text})", "bool")
        typ = "int" if self.fixed else "real"
        a, b = self.num(scope, min(depth, 1), typ), self.num(scope, min(depth, 1), typ)
        return E(f"({a.text} {self.r.choice(('<', '<=', '>', '>=', '==', '!='))} {b.text})", "bool")

    # ---------------------------------------------------------------- declarations
    def params(self, out: list[str], scope: Scope) -> None:
        units = ("cycles", "ns", "bytes", "items", "%")
        for _ in range(self.r.randint(2, 5)):
            kind = self.r.choice(("int", "int", "real", "real", "bool"))
            n = self.name("p_")
            if kind == "bool":
                v = self.r.choice(("true", "false"))
                out.append(f"param {n}: bool = {v} doc \"a switch\"")
                scope.add(n, E(n, "bool"))
                continue
            lo = self.r.randint(-3, 4) if kind == "int" else self.r.randint(-16, 16) / 8
            hi = lo + (self.r.randint(1, 9) if kind == "int" else self.r.randint(1, 64) / 8)
            v = self.r.randint(int(lo), int(hi)) if kind == "int" else lo + self.r.randint(0, int((hi - lo) * 8)) / 8
            out.append(f"param {n}: {kind} = {_lit(v, kind)} in [{_lit(lo, kind)}, {_lit(hi, kind)}]"
                       f" unit \"{self.r.choice(units)}\"")
            # The whole declared range: values may be --set anywhere in it.
            scope.add(n, E(n, kind, lo, hi))

    def consts(self, out: list[str], scope: Scope, n: int) -> None:
        for _ in range(n):
            name = self.name("c_")
            e = self.num(scope, 2, self.r.choice(("int", "real")))
            out.append(f"let {name} = {e.text}" + (" unit \"bytes\"" if self.r.random() < 0.3 else ""))
            scope.add(name, e)

    def enum_decl(self, out: list[str]) -> None:
        ename = self.name("En")
        members = tuple(self.name("m_") for _ in range(self.r.randint(2, 4)))
        fn = self.name("w_")
        out.append(f"enum {ename} {{ {', '.join(members)} }}")
        out.append(f"def {fn}(e: {ename}) = if e == {ename}.{members[0]} then 0.5 "
                   f"else if e == {ename}.{members[1]} then 3 else 1")
        self.enum, self.enum_fn = (ename, members), fn
        self.features.add("enum")

    def funcs_decl(self, out: list[str], scope: Scope) -> None:
        for _ in range(self.r.randint(0, 2)):
            name = self.name("f_")
            inner = Scope(Scope(scope))
            args = []
            for _ in range(self.r.randint(1, 3)):
                a = self.name("a_")
                lo = self.r.randint(-8, 16) / 4
                e = E(a, "real", lo, lo + self.r.randint(1, 16) / 4)
                inner.add(a, e)
                args.append(e)
            heads = f"def {name}({', '.join(a.text for a in args)})"
            if self.r.random() < 0.5:
                body = self.num(inner, 2)
                out.append(f"{heads} = {body.text}")
                self.features.add("def")
            else:
                lines = []
                for _ in range(self.r.randint(1, 2)):
                    t = self.name("t_")
                    e = self.num(inner, 2)
                    lines.append(f"  let {t} = {e.text}")
                    inner.add(t, e)
                body = self.num(inner, 2)
                out.append(f"{heads} {{\n" + "\n".join(lines) + f"\n  return {body.text}\n}}")
                self.features.add("def_block")
            self.funcs.append((name, args, E("", "real", body.lo, body.hi)))

    def draw(self, scope: Scope) -> tuple[str, E]:
        """A distribution call with arguments kept in its domain, and its value's interval."""
        dists = ["binomial", "bernoulli", "uniform", "geometric"]
        if not self.fixed:
            dists += ["normal", "integers", "categorical"]
        dist = self.r.choice(dists)
        self.features.add(dist)
        prob = lambda: f"clamp({self.num(scope, 1).text}, 0, 1)"  # noqa: E731
        if dist == "binomial":
            n = self.num(scope, 1, "int")
            return f"binomial(clamp({n.text}, 0, 30), {prob()})", E("", "int", 0, 30)
        if dist == "bernoulli":
            return f"bernoulli({prob()})", E("", "bool")
        if dist == "uniform":
            a, w = self.num(scope, 1), self.num(scope, 1)
            a = E(f"clamp({a.text}, -100, 100)", "real", max(-100, min(100, a.lo)), max(-100, min(100, a.hi)))
            return (f"uniform({a.text}, {a.text} + abs(clamp({w.text}, -50, 50)))", E("", "real", a.lo, a.hi + 50))
        if dist == "geometric":
            m = self.r.randint(1, 20)
            return f"geometric(clamp({self.num(scope, 1).text}, 0.125, 1)) max {m}", E("", "int", 0, m)
        if dist == "normal":
            return (f"normal(clamp({self.num(scope, 1).text}, -100, 100), abs(clamp({self.num(scope, 1).text}, -5, 5)))",
                    E("", "real", -200, 200))
        if dist == "integers":
            a = self.num(scope, 1, "int")
            k = self.r.randint(0, 9)
            a = E(f"clamp({a.text}, -20, 20)", "int", -20, 20)
            return f"integers({a.text}, {a.text} + {k})", E("", "int", -20, 29)
        ws = [f"(abs(clamp({self.num(scope, 1).text}, -10, 10)) + 0.5)"]
        ws += [f"abs(clamp({self.num(scope, 1).text}, -10, 10))" for _ in range(self.r.randint(1, 3))]
        return f"categorical({', '.join(ws)})", E("", "int", 0, len(ws) - 1)

    def loop_decl(self, out: list[str], scope: Scope) -> str:
        """A loop (a random recurrence that ends within 6 steps); returns its name."""
        name = self.name("lp_")
        inner = Scope(scope)
        n0, x0 = self.name("n_"), self.name("x_")
        st, acc, rv, cost = self.name("k_"), self.name("s_"), self.name("r_"), self.name("cost_")
        inner.add(n0, E(n0, "int", 0, 6))
        inner.add(x0, E(x0, "real", -10, 10))
        inner.add(st, E(st, "int", 0, 6))
        inner.add(acc, E(acc, "real", -20, 20))
        d, dv = self.draw(inner)
        inner.add(rv, E(rv, dv.type, dv.lo, dv.hi))
        num_rv = rv if dv.type != "bool" else f"(if {rv} then 1 else 0)"
        c = self.num(inner, 2)
        inner.add(cost, c)
        red = self.r.choice(("sum", "mean", "count", "first", "last", "max_over", "min_over"))
        ret = f"count({cost} > 0)" if red == "count" else f"{red}({cost})"
        out.append(f"loop {name}({n0}, {x0}) {{\n  state {st} = {n0} then {st} - 1\n"
                   f"  state {acc}: real = {x0} then clamp({acc} + {num_rv}, -20, 20)\n"
                   f"  while {st} >= 1\n  random {rv} ~ {d}\n  let {cost} = {c.text}\n"
                   f"  return {ret} + sum({cost})\n}}")
        self.features.add("loop")
        return name

    def layers(self, out: list[str], scope: Scope, count: str, loop: str | None) -> tuple[Scope, list[str]]:
        """The layers block: states, draws, lets and stages; returns its scope and stage names."""
        body: list[str] = []
        ls = Scope(scope)
        ls.add("l", E("l", "int", 0, 5))
        for _ in range(self.r.randint(0, 2)):
            n = self.name("st_")
            typ = self.r.choice(("int", "real"))
            bound = (0, 40) if typ == "int" else (-50, 50)
            init = self.num(scope, 1, typ)
            e = E(n, typ, *bound)
            ls.add(n, e)
            body.append((n, typ, init, bound))
        states, body = body, []
        stages = []
        for _ in range(self.r.randint(3, 8)):
            k = self.r.random()
            n = self.name("v_")
            if k < 0.3 and not self.no_random:
                d, dv = self.draw(ls)
                body.append(f"  random {n} ~ {d}")
                ls.add(n, dv)
                self.random = True
            elif k < 0.6:
                e = self.num(ls, 2, self.r.choice(("int", "real")))
                body.append(f"  let {n} = {e.text}")
                ls.add(n, e)
            else:
                e = self.num(ls, 2)
                n = self.name("sg_")
                body.append(f"  stage {n} = max(1, min(1000, {e.text})) unit \"cycles\"")
                ls.add(n, E(n, "real", 1, 1000))
                stages.append(n)
        if loop:
            x, y = self.num(ls, 1, "int"), self.num(ls, 1)
            n = self.name("v_")
            body.append(f"  let {n} = {loop}(clamp({x.text}, 0, 6), clamp({y.text}, -10, 10))")
            ls.add(n, E(n, "real", -1e4, 1e4))
            self.random = True
        heads = []
        for n, typ, init, bound in states:  # the next value may read the layer's lets and draws
            nxt = self.num(ls, 2, typ)
            lo, hi = (_lit(b, typ) for b in bound)
            heads.append(f"  state {n}: {typ} = clamp({init.text}, {lo}, {hi}) then clamp({nxt.text}, {lo}, {hi})")
            self.features.add("state")
        body = heads + body
        while len(stages) < 2:
            n = self.name("sg_")
            body.append(f"  stage {n} = {self.r.randint(1, 9)}")
            ls.add(n, E(n, "int", 1, 9))
            stages.append(n)
        out.append(f"layers l in range({count}) {{\n" + "\n".join(body) + "\n}")
        return ls, stages

    def schedule(self, names: list[str]) -> str:
        if len(names) == 1:
            return names[0]
        k = self.r.randint(1, len(names) - 1)
        a, b = self.schedule(names[:k]), self.schedule(names[k:])
        if self.r.random() < 0.5:
            self.features.add("parallel")
            return f"({a} | {b})"
        return f"{a} -> {b}"

    def design(self, out: list[str], scope: Scope, ls: Scope, stages: list[str], nl_max: int) -> tuple[str, list[tuple[str, E]]]:
        name = self.name("d_")
        body = []
        ds = Scope(ls)
        picked = self.r.sample(stages, self.r.randint(1, len(stages)))
        if self.r.random() < 0.3:
            n = self.name("ds_")
            e = self.num(ds, 2)
            body.append(f"  stage {n} = max(0, min(500, {e.text}))")
            ds.add(n, E(n, "real", 0, 500))
            picked.append(n)
            self.features.add("design_stage")
        self.r.shuffle(picked)
        body.append(f"  schedule {self.schedule(picked)}")
        span = 1000 * len(picked) * nl_max
        times = Scope(ds)
        for s in picked:
            times.add(f"{s}.start", E(f"{s}.start", "real", 0, span))
            times.add(f"{s}.end", E(f"{s}.end", "real", 0, span))
        times.add("start", E("start", "real", 0, span))
        times.add("end", E("end", "real", 0, span))
        for _ in range(self.r.randint(0, 2)):
            n = self.name("dl_")
            e = self.num(times if self.r.random() < 0.5 else ds, 2)
            body.append(f"  let {n} = {e.text}")
            times.add(n, e)
            self.features.add("design_let")
        metrics: list[tuple[str, E]] = []
        ms = Scope(scope)
        for _ in range(self.r.randint(1, 4)):
            n = self.name("m_")
            e = self.metric(times, ms, nl_max)
            attrs = self.r.choice(("", " label \"A figure\" fmt \".3f\"", " unit \"cycles\"", " scale 100"))
            body.append(f"  metric {n} = {e.text}{attrs}")
            if not self.fixed:  # a metric reading another has no fixed-point form
                ms.add(n, e)
            metrics.append((n, e))
        out.append(f"design {name} \"Design {name}\" {{\n" + "\n".join(body) + "\n}")
        return name, metrics

    def metric(self, times: Scope, ms: Scope, nl_max: int) -> E:
        red = self.r.choice(("sum", "mean", "count", "last", "first", "max_over", "min_over", "end"))
        self.features.add(red)
        if red == "end":
            e = E("last(end)", "real", 0, times.all()["end"].hi)
        elif red == "count":
            e = E(f"count({self.cond(times, 2).text})", "int", 0, nl_max)
        else:
            x = self.num(times, 2)
            k = nl_max if red == "sum" else 1
            e = E(f"{red}({x.text})", x.type, min(0, x.lo * k) if red == "sum" else x.lo,
                  max(0, x.hi * k) if red == "sum" else x.hi)
        if self.r.random() < 0.3:
            y = self.num(ms, 1)
            e = E(f"({e.text} - {y.text})", "real", e.lo - y.hi, e.hi - y.lo)
        return e

    def compares(self, out: list[str], designs: list[tuple[str, list[tuple[str, E]]]]) -> None:
        refs = [(f"{d}.{m}", e) for d, ms in designs for m, e in ms]
        for _ in range(self.r.randint(0, 3)):
            (a, _), (b, _) = self.r.choice(refs), self.r.choice(refs)
            form = self.r.choice((f"mean({a}) - mean({b})", f"std({a})", f"mean({a}) / max(1, mean({b})) * 100",
                                  f"{a} - {b}", f"max(mean({a}), mean({b}))"))
            self.features.add("compare_std" if "std" in form else "compare")
            out.append(f"compare {self.name('cmp_')} = {form}" + (" unit \"%\"" if "100" in form else ""))

    def table_spec(self, out: list[str], scope: Scope) -> str:
        """An input table, a rows block, a group and a design over them; returns the CSV."""
        tname, key, val, flag = self.name("tb_"), self.name("col_"), self.name("col_"), self.name("col_")
        out.append(f"input {tname}: table \"a generated table\" {{\n  column {key}: int in [0, 3]\n"
                   f"  column {val}: real >= -100\n  column {flag}: bool\n}}")
        rs = Scope(scope)
        rs.add(key, E(key, "int", 0, 3))
        rs.add(val, E(val, "real", -100, 100))
        rs.add(flag, E(flag, "bool"))
        body, nums = [], []
        for _ in range(self.r.randint(2, 4)):
            n = self.name("v_")
            if self.r.random() < 0.3 and not self.no_random:
                d, dv = self.draw(rs)
                body.append(f"  random {n} ~ {d}")
                rs.add(n, dv)
                self.random = True
            else:
                e = self.num(rs, 2)
                body.append(f"  {self.r.choice(('let', 'stage'))} {n} = {e.text}")
                rs.add(n, e)
            if rs.names[n].type != "bool":
                nums.append(n)
        if not nums:
            n = self.name("v_")
            body.append(f"  let {n} = {val} * 2")
            nums.append(n)
        out.append(f"rows r in {tname} {{\n" + "\n".join(body) + "\n}")
        g, gl = self.name("g_"), self.name("gl_")
        red = self.r.choice(("sum", "mean", "first", "last", "max_over", "min_over"))
        out.append(f"group {g} \"by key\" by ({key}) {{\n  let {gl} = {red}({self.r.choice(nums)})\n"
                   f"  let {gl}_n = count(true)\n}}")
        d = self.name("d_")
        out.append(f"design {d} {{\n  metric m_all = sum({self.r.choice(nums)})\n"
                   f"  metric m_groups = sum({gl}) + max_over({gl}_n)\n}}")
        self.features.add("table")
        rows = [f"{key},{val},{flag}"]
        for _ in range(self.r.randint(1, 8)):
            rows.append(f"{self.r.randint(0, 3)},{self.r.randint(-80, 80) / 4},{self.r.choice(('true', 'false'))}")
        return "\n".join(rows) + "\n"


def generate(seed: int, fixed: bool | None = None) -> Generated:
    """A random well-typed spec from `seed`; `fixed` forces (or forbids) the fixed-point subset."""
    r = random.Random(seed * 7919 + 1)
    fixed = r.random() < 0.3 if fixed is None else fixed
    g = Gen(seed, fixed)
    g.no_random = r.random() < 0.3  # deterministic specs: closed forms are compared too
    g.random = False
    table = not fixed and r.random() < 0.1
    out = [f"spec gen{seed} \"Generated spec {seed}\"", f"trials {r.randint(2, 6)}", f"seed {r.randint(0, 99)}"]
    if fixed:
        out.append(f"fixed(frac_bits={r.choice((20, 24, 32))})")
        g.features.add("fixed")
    scope = Scope()
    g.params(out, scope)
    if not fixed and r.random() < 0.3:
        g.enum_decl(out)
    g.consts(out, scope, r.randint(0, 3))
    g.funcs_decl(out, scope)
    csv = None
    if table:
        csv = g.table_spec(out, scope)
    else:
        if r.random() < 0.5:
            count = str(r.randint(1, 6))
        else:
            count = g.name("p_n")
            out.append(f"param {count}: int = {r.randint(1, 6)} in [1, 6] doc \"layers\"")
            scope.add(count, E(count, "int", 1, 6))
        loop = g.loop_decl(out, scope) if not fixed and not g.no_random and r.random() < 0.12 else None
        ls, stages = g.layers(out, scope, count, loop)
        designs = [g.design(out, scope, ls, stages, 6) for _ in range(r.randint(1, 2))]
        g.compares(out, designs)
    return Generated(seed, "\n".join(out) + "\n", csv, g.features, fixed, g.random)


if __name__ == "__main__":  # print one spec: python benchmarks/specgen.py SEED
    import sys

    print(generate(int(sys.argv[1]) if len(sys.argv) > 1 else 0).text)
