"""Front end, checking: expressions (operators, calls, reductions, comprehensions)."""

from __future__ import annotations

import dataclasses

from spattenc.ir.keys import Key
from spattenc.ir import nodes as ir
from spattenc.ir.catalog import BUILTINS, COMPREHENSIONS, LAYER_REDUCTIONS, TRIAL_REDUCTIONS
from spattenc.ir.errors import SpecError, closest, fail
from spattenc.ir.visit import const_value
from spattenc.front.check.scope import RESERVED, Scope, NAME_CUTOFF, check_arity, tname


class Exprs:
    """Each expression checked in its scope and rebuilt with resolved names."""

    def expr(self, e: ir.Expr, scope: Scope) -> ir.Expr:
        """The checked expression: names resolved, operand types checked."""
        match e:
            case ir.Num() | ir.Bool():
                return e
            case ir.Name(loc=loc, name=name):
                return self.name(name, loc, scope)
            case ir.Attr():
                return self.attr(e, scope)
            case ir.Path():
                return self.path(e, scope)
            case ir.Comprehension():
                return self.comprehension(e, scope)
            case ir.Unary(op=op, operand=x):
                x = self.expr(x, scope)
                t = self.type_of(x, scope)
                if op == "not" and t != "bool":
                    fail(f"'not' needs a condition, got a {tname(t)} value", e.loc)
                if op == "-" and t == "bool":
                    fail("cannot negate a condition (use 'not')", e.loc)
                if op == "-" and t.startswith("enum:"):
                    fail(f"cannot negate a {tname(t)} value", e.loc)
                return _in_range(dataclasses.replace(e, operand=x))
            case ir.Binary(op=op, left=a, right=b):
                a, b = self.expr(a, scope), self.expr(b, scope)
                ta, tb = self.type_of(a, scope), self.type_of(b, scope)
                if ta.startswith("enum:") or tb.startswith("enum:"):
                    if op not in ("==", "!="):
                        bad = a if ta.startswith("enum:") else b
                        fail(f"'{op}' cannot be used with a {tname(self.type_of(bad, scope))} value "
                             "(enum values can only be compared with == and !=)", bad.loc)
                    if ta != tb:
                        fail(f"cannot compare a {tname(ta)} value with a {tname(tb)} value", e.loc)
                    return dataclasses.replace(e, left=a, right=b)
                if op in ("and", "or"):
                    for x, t in ((a, ta), (b, tb)):
                        if t != "bool":
                            fail(f"'{op}' needs conditions on both sides, got a {t} value", x.loc)
                elif ta == "bool" or tb == "bool":
                    if not (op in ("==", "!=") and ta == tb):
                        bad = a if ta == "bool" else b
                        fail(f"a condition cannot be used with '{op}' (as a number: if C then 1 else 0)", bad.loc)
                elif op in ("/", "%") and _always_zero(b):
                    fail(f"division by zero: the divisor of '{op}' is always 0", b.loc)
                return _in_range(dataclasses.replace(e, left=a, right=b))
            case ir.Cond(test=c, then=x, else_=y):
                c, x, y = self.expr(c, scope), self.expr(x, scope), self.expr(y, scope)
                if self.type_of(c, scope) != "bool":
                    fail("the test of 'if' must be a condition (a comparison, and/or/not)", c.loc)
                tx, ty = self.type_of(x, scope), self.type_of(y, scope)
                if (tx == "bool") != (ty == "bool"):
                    fail("'if' branches must both be conditions or both be numbers", y.loc)
                if (tx.startswith("enum:") or ty.startswith("enum:")) and tx != ty:
                    fail(f"'if' branches must have the same type, got {tname(tx)} and {tname(ty)}", y.loc)
                return dataclasses.replace(e, test=c, then=x, else_=y)
            case ir.Call():
                return self.call(e, scope)
        raise AssertionError(f"unexpected node {type(e).__name__}")  # pragma: no cover

    def call(self, e: ir.Call, scope: Scope) -> ir.Expr:
        """A call: a reduction where the scope allows one, `given`, a builtin, a spec function or a loop."""
        f, n = e.func, len(e.args)
        if scope.in_reduction and f in LAYER_REDUCTIONS:
            fail(f"reductions cannot be nested ('{f}' inside another reduction)", e.loc)
        if f in self.decl.loops:
            return self.loop_call(e, scope)
        if f in LAYER_REDUCTIONS and (scope.level == "group" or (self.rows_mode and scope.level == "metric")):
            return self.table_reduce(e, scope)
        if scope.level == "loop_return" and f in LAYER_REDUCTIONS:
            inner = Scope("loop", scope.what, locals=dict(self.loop_locals), in_reduction=True)
            arg = self.reduced(e, inner, " (a per-step expression)", "")
            slot = self.reduce_slot
            self.reduce_slot += 1
            return ir.Reduce(e.loc, f, "steps", arg, slot)
        if scope.level == "metric" and f in LAYER_REDUCTIONS:
            inner = Scope("design", scope.what, design=scope.design, in_reduction=True)
            arg = self.reduced(e, inner, " (a per-layer expression)", " (e.g. count(a.end <= b.end))")
            slot = self.reduce_slot
            self.reduce_slot += 1
            return ir.Reduce(e.loc, f, "layers", arg, slot)
        if scope.level in ("compare", "report") and f in TRIAL_REDUCTIONS:
            if n != 1:
                fail(f"{f}() takes 1 argument (a metric such as design.metric), got {n}", e.loc)
            arg = self.expr(e.args[0], scope)
            return ir.Reduce(e.loc, f, "trials", arg)
        if f in LAYER_REDUCTIONS and scope.level == "loop":
            fail(f"'{f}' reduces over the steps of a loop and is only allowed in its 'return'", e.loc)
        if f in LAYER_REDUCTIONS and self.rows_mode:
            fail(f"'{f}' reduces over rows or groups and is only allowed in a group's lets or a design metric",
                 e.loc)
        if f in LAYER_REDUCTIONS and f in TRIAL_REDUCTIONS:
            fail(f"'{f}' is a reduction, allowed over layers in a design metric or over trials in a comparison",
                 e.loc)
        if f in LAYER_REDUCTIONS:
            fail(f"'{f}' reduces over layers and is only allowed in a design metric", e.loc)
        if f in TRIAL_REDUCTIONS:
            fail(f"'{f}' reduces over trials and is only allowed in a comparison", e.loc)
        if f == "given":
            return self.given(e, scope)
        if f in BUILTINS:
            lo, hi = BUILTINS[f].min_args, BUILTINS[f].max_args
            if n < lo or (hi is not None and n > hi):
                want = f"{lo}" if lo == hi else f"at least {lo}" if hi is None else f"{lo} to {hi}"
                fail(f"{f}() takes {want} argument{'s' if lo != 1 or hi != 1 else ''}, got {n}", e.loc)
            args = self.numbers(e.args, scope, f"{f}() takes numbers, not a condition",
                                f"{f}() takes numbers, not a {{}} value")
            return ir.Builtin(e.loc, f, args)
        if f in self.decl.funcs:
            fn = self.decl.funcs[f]
            check_arity(e, "function", fn)
            resolved = self.resolve_key(Key("func", f))
            args = tuple(self.expr(a, scope) for a in e.args)
            for a, p, want in zip(args, fn.params, resolved.param_types):
                t = self.type_of(a, scope)
                if want in ("real", "int") and (t == "bool" or t.startswith("enum:")):
                    fail(f"argument '{p}' of '{f}' must be a number, not a {tname(t)} value", a.loc,
                         (fn.loc, f"'{f}' is defined here"))
                if want == "int" and t == "real":
                    fail(f"argument '{p}' of '{f}' must be an integer (use trunc/round/floor/ceil)", a.loc,
                         (fn.loc, f"'{f}' is defined here"))
                if want not in ("real", "int") and t != want:
                    fail(f"argument '{p}' of '{f}' must be a {tname(want)} value, got a {tname(t)} value",
                         a.loc, (fn.loc, f"'{f}' is defined here"))
            return ir.Apply(e.loc, f, args)
        if f in COMPREHENSIONS:
            fail(f"{f}() takes a variable over a range or an enum: {f}(k in range(lo, hi): EXPR)", e.loc)
        known = sorted(set(BUILTINS) | set(self.decl.funcs) | set(self.decl.loops))
        close = closest(f, known, cutoff=NAME_CUTOFF)
        hint = f"did you mean '{close}'? " if close else ""
        fail(f"unknown function '{f}'; {hint}known functions: {', '.join(known)}", e.loc)

    def numbers(self, args: tuple[ir.Expr, ...], scope: Scope, not_condition: str, not_enum: str) -> tuple:
        """Arguments that must be numbers, checked; `not_enum` has a {} for the enum's name."""
        out = tuple(self.expr(a, scope) for a in args)
        for a in out:
            t = self.type_of(a, scope)
            if t == "bool":
                fail(not_condition, a.loc)
            if t.startswith("enum:"):
                fail(not_enum.format(tname(t)), a.loc)
        return out

    def reduced(self, e: ir.Call, inner: Scope, what: str, count_example: str) -> ir.Expr:
        """The checked argument of a reduction over layers, rows, groups or loop steps: one
        argument (`what` describes it), a condition for count() and a number otherwise."""
        f, n = e.func, len(e.args)
        if n != 1:
            fail(f"{f}() takes 1 argument{what}, got {n}", e.loc)
        arg = self.expr(e.args[0], inner)
        t = self.type_of(arg, inner)
        if f == "count" and t != "bool":
            fail(f"count() takes a condition{count_example}", e.args[0].loc)
        if f != "count" and t == "bool":
            fail(f"{f}() takes a number; use count() for a condition", e.args[0].loc)
        if t.startswith("enum:") and f not in ("last", "first"):
            fail(f"{f}() takes a number, not a {tname(t)} value", e.args[0].loc)
        return arg

    def comprehension(self, e: ir.Comprehension, scope: Scope) -> ir.Expr:
        """sum/max/min/argmax/argmin(v in range(a, b): ...) or (v in Enum: ...): a number
        combined over a local variable (argmax/argmin: the variable's winning value)."""
        if e.var in RESERVED or e.var in self.decl.enums:
            fail(f"'{e.var}' cannot name a comprehension variable", e.loc)
        lo = hi = None
        if e.enum is not None:
            if e.enum not in self.decl.enums:
                fail(f"unknown enum '{e.enum}' in {e.kind}({e.var} in {e.enum}: ...); "
                     f"enums: {', '.join(self.decl.enums) or 'none declared'}", e.loc)
            vtype = f"enum:{e.enum}"
        else:
            lo, hi = self.expr(e.lo, scope), self.expr(e.hi, scope)
            for x in (lo, hi):
                if self.type_of(x, scope) != "int":
                    fail("range() bounds must be integers (use trunc/round/floor/ceil)", x.loc)
            _check_nonempty(e, lo, hi)
            vtype = "int"
        inner = dataclasses.replace(scope, locals={**scope.locals, e.var: vtype})
        self.local_types.append({e.var: vtype})
        body = self.expr(e.body, inner)
        t = self.type_of(body, inner)
        self.local_types.pop()
        if t == "bool" or t.startswith("enum:"):
            what = "adds" if e.kind == "sum" else "compares"
            fail(f"{e.kind}() {what} numbers; the body is a {tname(t)} value"
                 + (" (use `if C then 1 else 0` to count)" if t == "bool" else ""), e.body.loc)
        return dataclasses.replace(e, lo=lo, hi=hi, body=body)


def _check_nonempty(e: ir.Comprehension, lo: ir.Expr, hi: ir.Expr) -> None:
    """A max/min/argmax/argmin over a range whose constant bounds leave it empty is an
    error here (bounds known only at run time are checked when evaluated)."""
    if COMPREHENSIONS[e.kind].empty is not None:
        return
    try:
        a, b = const_value(lo), const_value(hi)
    except SpecError:
        return
    if b <= a:
        fail(f"{e.kind}() over range({a}, {b}) has no value: the range is empty", e.loc)


def _always_zero(e: ir.Expr) -> bool:
    """Whether `e` is made of literals only and folds to 0 (a divisor that always fails)."""
    try:
        return const_value(e) == 0
    except SpecError:
        return False


def literal_only(e: ir.Expr) -> bool:
    """Whether `e` is made of literals, operators and conditionals only (it folds)."""
    match e:
        case ir.Num() | ir.Bool():
            return True
        case ir.Unary(operand=x):
            return literal_only(x)
        case ir.Binary(left=a, right=b):
            return literal_only(a) and literal_only(b)
        case ir.Cond(test=c, then=x, else_=y):
            return literal_only(c) and literal_only(x) and literal_only(y)
    return False


def _in_range(e: ir.Expr) -> ir.Expr:
    """`e`, checked when made of literals only: its value must be one the simulators can hold
    (a 64-bit integer, a finite real), so 10^400 or 2^64 is a located error, not an overflow
    in a generated simulator."""
    if literal_only(e):
        const_value(e)
    return e
