"""Reference interpreter: evaluates resolved IR (and a whole lowered Plan) over Python
numbers, or over sympy expressions with chosen params left as symbols.

The Python-number domain checks input files (bounds, key ranges, defaults, `check`
conditions).  The sympy domain gives closed forms of a deterministic spec's metrics as
functions of its params, with inputs bound to their (exact, decimal) values; those are
what `inspect` prints and what report `solve` entries solve.  Nothing here reads spec
text: it walks IR nodes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy

from . import ir
from .errors import fail
from .lower import Join, Plan, Timing, time_var, var_of


class Unsupported(Exception):
    """The expression has no closed form in this domain (the message says why)."""


@dataclass
class Env:
    """Values by scoped key: 'param:x', 'const:x', 'input:model.d_model' (a scalar or a
    numpy table), 'input:model.d_ff?' (presence), per-layer keys while a layer runs,
    'metric:design:name' and 'compare:name' once computed."""

    values: dict[str, Any] = field(default_factory=dict)


class Interpreter:
    """Evaluates IR expressions over Python numbers (int, float, bool)."""

    def __init__(self, program: ir.Program, env: Env):
        self.program = program
        self.env = env
        self.funcs = {f.name: f for f in program.funcs}
        self.leaves = {leaf.var: leaf for leaf in program.leaves}
        self.reduce_values: dict[int, Any] = {}

    # ---- numbers (overridden by the sympy domain)
    def number(self, e: ir.Num):
        return e.value

    def truth(self, x) -> bool:
        return bool(x)

    def cond(self, test, then_fn, else_fn):
        return then_fn() if self.truth(test) else else_fn()

    def binary(self, op: str, x, y):
        match op:
            case "+":
                return x + y
            case "-":
                return x - y
            case "*":
                return x * y
            case "/":
                return x / y
            case "%":
                return x % y
            case "^":
                return x ** y
            case "<":
                return x < y
            case "<=":
                return x <= y
            case ">":
                return x > y
            case ">=":
                return x >= y
            case "==":
                return x == y
            case "!=":
                return x != y
            case "and":
                return self.truth(x) and self.truth(y)
            case "or":
                return self.truth(x) or self.truth(y)
        raise AssertionError(op)  # pragma: no cover

    def builtin(self, func: str, args: list):
        match func:
            case "min":
                return min(args)
            case "max":
                return max(args)
            case "clamp":
                return max(args[1], min(args[2], args[0]))
            case "floor":
                return math.floor(args[0])
            case "ceil":
                return math.ceil(args[0])
            case "round":
                return round(args[0])  # half to even, as numpy's rint
            case "trunc":
                return math.trunc(args[0])
            case "abs":
                return abs(args[0])
            case "sqrt":
                return math.sqrt(args[0])
            case "log":
                return math.log(args[0])
            case "log2":
                return math.log2(args[0])
            case "exp":
                return math.exp(args[0])
        raise AssertionError(func)  # pragma: no cover

    def scalar(self, x):
        """A table element or input scalar as a domain value."""
        return x.item() if isinstance(x, np.generic) else x

    def index(self, x) -> int:
        if isinstance(x, bool) or int(x) != x:
            raise Unsupported(f"table index {x!r} is not an integer")
        return int(x)

    # ---- expressions
    def eval(self, e: ir.Expr, local: dict[str, Any] | None = None):
        local = local or {}
        match e:
            case ir.Num():
                return self.number(e)
            case ir.Bool(value=v):
                return v
            case ir.EnumConst(value=v):
                return v
            case ir.Ref(name=n, scope="local"):
                return local[n]
            case ir.Ref():
                return self.env.values[var_of(e)]
            case ir.MetricRef(design=d, metric=m):
                return self.env.values[f"metric:{d}:{m}"]
            case ir.StageTime(design=d, stage=s, which=w):
                return self.env.values[time_var(d, s, w)]
            case ir.Reduce(axis="layers", slot=slot):
                return self.reduce_values[slot]
            case ir.Reduce(axis="trials", arg=a):
                return self.eval(a, local)  # one deterministic trial: mean is the value, std 0
            case ir.InputRef(var=v, index=idx, given=g):
                leaf = self.leaves[v]
                value = self.env.values[f"input:{leaf.given if g else v}"]
                if idx:
                    pos = []
                    for axis, x in zip(leaf.axes, idx):
                        i = self.index(self.eval(x, local))
                        if axis[0] == "map":
                            i -= self.index(self.eval(axis[2], local))
                        if not 0 <= i < value.shape[len(pos)]:
                            fail(f"index {i} is outside the table '{v}'", e.loc)
                        pos.append(i)
                    value = value[tuple(pos)]
                return self.scalar(value)
            case ir.Unary(op="-", operand=x):
                return -self.eval(x, local)
            case ir.Unary(op="not", operand=x):
                return not self.truth(self.eval(x, local))
            case ir.Binary(op=op, left=a, right=b):
                x = self.eval(a, local)
                if op == "and" and not self.is_symbolic(x) and not self.truth(x):
                    return False
                if op == "or" and not self.is_symbolic(x) and self.truth(x):
                    return True
                y = self.eval(b, local)
                if op in ("/", "%") and not self.is_symbolic(y) and y == 0:
                    return self.divide_by_zero(op, x)
                return self.binary(op, x, y)
            case ir.Cond(test=t, then=a, else_=b):
                return self.cond(self.eval(t, local), lambda: self.eval(a, local), lambda: self.eval(b, local))
            case ir.Builtin(func=f, args=args):
                return self.builtin(f, [self.eval(a, local) for a in args])
            case ir.Apply(func=f, args=args):
                fn = self.funcs[f]
                inner = dict(zip(fn.params, [self.eval(a, local) for a in args]))
                for let in fn.lets:
                    inner[let.name] = self.eval(let.expr, inner)
                return self.eval(fn.body, inner)
            case ir.Comprehension(var=v, enum=en, lo=lo, hi=hi, body=body):
                if en is not None:
                    members = range(len(self.program.enum(en).members))
                else:
                    a, b = self.eval(lo, local), self.eval(hi, local)
                    if self.is_symbolic(a) or self.is_symbolic(b):
                        raise Unsupported("a sum whose range depends on a symbolic param")
                    members = range(int(a), int(b))
                total = 0
                for i in members:
                    total = total + self.eval(body, {**local, v: i})
                return total
        raise AssertionError(f"cannot evaluate {type(e).__name__}")  # pragma: no cover

    def is_symbolic(self, x) -> bool:
        return False

    def divide_by_zero(self, op: str, x):
        if op == "%":
            return math.nan
        return math.copysign(math.inf, x) if x != 0 else math.nan

    # ---- a whole plan (deterministic specs)
    def run_plan(self, plan: Plan) -> dict[str, Any]:
        """Evaluate constants, every layer, the metrics, comparisons and report values.

        Returns {'metric:d:m': value, 'compare:c': value, 'report:path': value}."""
        vals = self.env.values
        for k in plan.consts:
            vals[f"const:{k.name}"] = self.eval(k.expr)
        count = self.eval(plan.layer_count)
        if self.is_symbolic(count):
            raise Unsupported("the layer count depends on a symbolic param")
        states = {s.name: self.eval(s.init) for s in plan.states}
        accs: dict[str, Any] = {}
        for d in plan.designs:
            vals[time_var(d.name, None, "start")] = 0
            for a in d.accumulators:
                accs[a.var] = None
        for layer in range(int(count)):
            vals[f"index:{plan.index}"] = layer
            for name, v in states.items():
                vals[f"state:{name}"] = v
            for step in plan.layer_steps:
                if step.kind == "random":
                    raise Unsupported(f"'{step.name}' is a random draw")
                vals[step.var] = self.eval(step.expr)
            for d in plan.designs:
                t0 = vals.get(f"time:{d.name}:next", 0)
                vals[time_var(d.name, None, "start")] = t0
                for step in d.pre:
                    vals[step.var] = self.eval(step.expr)
                for t in d.timeline:
                    if isinstance(t, Timing):
                        vals[time_var(d.name, t.stage, "start")] = vals[t.start]
                        vals[t.end] = vals[t.start] + vals[t.stage_var]
                    elif isinstance(t, Join):
                        vals[t.var] = self.builtin("max", [vals[p] for p in t.parts])
                end = vals[d.end_var] if d.end_var else t0
                vals[time_var(d.name, None, "end")] = end
                for step in d.post:
                    vals[step.var] = self.eval(step.expr)
                for a in d.accumulators:
                    x = self.eval(a.arg)
                    old = accs[a.var]
                    match a.kind:
                        case "sum" | "mean":
                            accs[a.var] = x if old is None else old + x
                        case "count":
                            accs[a.var] = (old or 0) + (1 if self.truth(x) else 0)
                        case "last":
                            accs[a.var] = x
                        case "first":
                            accs[a.var] = x if old is None else old
                        case "max_over":
                            accs[a.var] = x if old is None else self.builtin("max", [old, x])
                        case "min_over":
                            accs[a.var] = x if old is None else self.builtin("min", [old, x])
                vals[f"time:{d.name}:next"] = end
            for s in plan.states:
                states[s.name] = self.eval(s.next)
        out: dict[str, Any] = {}
        for d in plan.designs:
            for mt in d.metrics:
                self.reduce_values = {}
                for a in d.accumulators:
                    if a.metric == mt.name:
                        slot = int(a.var.rsplit(":", 1)[1])
                        v = accs[a.var]
                        if a.kind == "mean":
                            v = v / int(count)
                        if v is None:
                            v = 0 if a.kind in ("sum", "count") else math.nan
                        self.reduce_values[slot] = v
                vals[f"metric:{d.name}:{mt.name}"] = out[f"metric:{d.name}:{mt.name}"] = self.eval(mt.expr)
        for c in plan.compares:
            vals[f"compare:{c.name}"] = out[f"compare:{c.name}"] = self.eval(c.expr)
        from .backends.numpy_sim import report_exprs
        for path, expr in report_exprs(plan.report):
            out[f"report:{path}"] = self.eval(expr)
        return out


def exact(x) -> sympy.Expr:
    """A Python number as an exact sympy number: floats by their shortest decimal form
    (0.002 -> 1/500), which is the value the user wrote in the input file."""
    if isinstance(x, (bool, np.bool_)):
        return sympy.true if x else sympy.false
    if isinstance(x, (int, np.integer)):
        return sympy.Integer(int(x))
    if isinstance(x, (float, np.floating)):
        if not math.isfinite(x):
            return sympy.nan if math.isnan(x) else (sympy.oo if x > 0 else -sympy.oo)
        return sympy.Rational(repr(float(x)))
    return x


class SympyInterpreter(Interpreter):
    """Evaluates IR over exact sympy numbers, with some params as symbols."""

    def number(self, e: ir.Num):
        return sympy.Integer(e.value) if e.is_int else sympy.Rational(repr(float(e.value)))

    def scalar(self, x):
        return exact(super().scalar(x))

    def is_symbolic(self, x) -> bool:
        return isinstance(x, sympy.Basic) and bool(x.free_symbols)

    def truth(self, x) -> bool:
        if self.is_symbolic(x):
            raise Unsupported("a condition that depends on a symbolic param")
        return bool(x)

    def index(self, x) -> int:
        if self.is_symbolic(x):
            raise Unsupported("a table index that depends on a symbolic param")
        return super().index(int(x) if isinstance(x, sympy.Integer) else x)

    def cond(self, test, then_fn, else_fn):
        if self.is_symbolic(test):
            return sympy.Piecewise((then_fn(), test), (else_fn(), True))
        return then_fn() if bool(test) else else_fn()

    def binary(self, op: str, x, y):
        if op in ("<", "<=", ">", ">=", "==", "!="):
            if any(v in (sympy.nan, sympy.zoo) for v in (x, y)):
                return op == "!="  # as numpy compares NaN: every comparison false but !=
            if not (self.is_symbolic(x) or self.is_symbolic(y)):
                return bool({"<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y,
                             "==": sympy.Eq(x, y), "!=": sympy.Ne(x, y)}[op])
            return {"<": sympy.Lt, "<=": sympy.Le, ">": sympy.Gt, ">=": sympy.Ge, "==": sympy.Eq,
                    "!=": sympy.Ne}[op](x, y)
        if op in ("and", "or"):
            if self.is_symbolic(x) or self.is_symbolic(y):
                return sympy.And(x, y) if op == "and" else sympy.Or(x, y)
            return super().binary(op, x, y)
        if op == "%":
            return sympy.Mod(x, y)
        if op == "/":
            return x / y
        if op == "^":
            return x ** y
        return super().binary(op, x, y)

    def divide_by_zero(self, op: str, x):
        return sympy.nan if op == "%" or x == 0 else sympy.zoo

    def builtin(self, func: str, args: list):
        symbolic = any(self.is_symbolic(a) for a in args)
        match func:
            case "min":
                return sympy.Min(*args)
            case "max":
                return sympy.Max(*args)
            case "clamp":
                return sympy.Max(args[1], sympy.Min(args[2], args[0]))
            case "floor":
                return sympy.floor(args[0])
            case "ceil":
                return sympy.ceiling(args[0])
            case "trunc":
                return sympy.sign(args[0]) * sympy.floor(sympy.Abs(args[0]))
            case "round":
                if symbolic:
                    raise Unsupported("round() of an expression in a symbolic param (half-to-even rounding "
                                      "has no closed form here)")
                return sympy.Integer(round(sympy.Rational(args[0])))
            case "abs":
                return sympy.Abs(args[0])
            case "sqrt":
                return sympy.sqrt(args[0])
            case "log":
                return sympy.log(args[0])
            case "log2":
                return sympy.log(args[0], 2)
            case "exp":
                return sympy.exp(args[0])
        raise AssertionError(func)  # pragma: no cover


def symbolic_interpreter(plan: Plan, params: dict[str, Any], inputs: dict[str, Any], free: tuple[str, ...]
                         ) -> tuple[SympyInterpreter, dict[str, sympy.Expr]]:
    """Closed forms of every metric, comparison and report value of a deterministic plan.

    Params named in `free` become real symbols; the others take their values from `params`
    (Python numbers); inputs are bound (leaf -> scalar or numpy table, as the binder gives
    them).  Returns the interpreter (to evaluate further expressions in the same
    environment) and {'metric:d:m' | 'compare:c' | 'report:path': expression}.
    Raises Unsupported when a value has no closed form (random draws, rounding of a symbol).
    """
    env = Env()
    for name, value in params.items():
        env.values[f"param:{name}"] = sympy.Symbol(name, real=True) if name in free else exact(value)
    for var, value in inputs.items():
        # Tables stay numpy arrays (elements are made exact when read); scalars become exact now.
        env.values[f"input:{var}"] = value if isinstance(value, np.ndarray) else exact(value)
    interp = SympyInterpreter(plan.program, env)
    return interp, interp.run_plan(plan)
