"""IR visitor base and the one expression walk: `Visitor` dispatches one method per node
class (a pass that forgets a node fails at once); `Evaluator` is the walk every
expression domain shares, and `Folder` its constant-folding domain (the front end folds
param defaults and ranges, so it lives at the bottom layer; the other domains are in
middle/eval).

A subclass defines `visit_<NodeClass>(node, *args)` for every node it handles; `visit`
dispatches on the node's class.  The method table is built when the subclass is
defined (not cached at run time), and a node without a method raises `NotImplementedError`
naming the pass and the node class the first time such a node is visited.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

from spattenc.ir import catalog
from spattenc.ir import nodes as ir
from spattenc.ir.errors import fail


class Visitor:
    """Dispatch `visit(node, *args)` to `self.visit_<type(node).__name__>(node, *args)`."""

    _methods: ClassVar[dict[str, str]] = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._methods = {name[len("visit_"):]: name for name in dir(cls)
                        if name.startswith("visit_") and callable(getattr(cls, name))}

    def visit(self, node: Any, *args: Any) -> Any:
        name = self._methods.get(type(node).__name__)
        if name is None:
            raise NotImplementedError(f"{type(self).__name__} has no visit_{type(node).__name__}")
        return getattr(self, name)(node, *args)


class Unsupported(Exception):
    """The expression has no value in this domain (the message says why)."""


class Evaluator(Visitor):
    """The one walk over IR expressions.  `funcs` are the program's user functions (calls
    are inlined: arguments evaluated in order, then the lets, then the body)."""

    def __init__(self, funcs: dict[str, ir.Func] | None = None):
        self.funcs = funcs or {}

    def eval(self, e: ir.Expr, local: dict[str, Any] | None = None):
        return self.visit(e, local or {})

    # ---- domain hooks (a domain overrides what its values need)
    def number(self, e: ir.Num):
        return e.value

    def truth(self, x) -> bool:
        return bool(x)

    def is_symbolic(self, x) -> bool:
        return False

    def unary(self, op: str, x, e: ir.Unary):
        if op == "not":
            return catalog.UNARY[op].py(self.truth(x))
        return catalog.UNARY[op].py(x)

    def binary(self, op: str, x, y, e: ir.Binary):
        if op in catalog.LOGIC:
            return catalog.BINARY[op].py(self.truth(x), self.truth(y))
        return catalog.BINARY[op].py(x, y)

    def cond(self, test, then_fn, else_fn, e: ir.Cond):
        return then_fn() if self.truth(test) else else_fn()

    def builtin(self, func: str, args: list, e: ir.Builtin):
        return catalog.BUILTINS[func].py(*args)

    def unsupported(self, e):
        raise Unsupported(f"cannot evaluate {type(e).__name__}")

    def ref(self, e: ir.Ref, local: dict):
        return self.unsupported(e)

    # ---- nodes
    def visit_Num(self, e: ir.Num, local):
        return self.number(e)

    def visit_Bool(self, e: ir.Bool, local):
        return e.value

    def visit_EnumConst(self, e: ir.EnumConst, local):
        return e.value

    def visit_Ref(self, e: ir.Ref, local):
        if e.scope == "local":
            return local[e.name]
        return self.ref(e, local)

    def visit_Unary(self, e: ir.Unary, local):
        return self.unary(e.op, self.visit(e.operand, local), e)

    def visit_Binary(self, e: ir.Binary, local):
        x = self.visit(e.left, local)
        # 'and'/'or' look at their right side only when the left does not decide.
        if e.op == "and" and not self.is_symbolic(x) and not self.truth(x):
            return self.binary(e.op, x, False, e)
        if e.op == "or" and not self.is_symbolic(x) and self.truth(x):
            return self.binary(e.op, x, True, e)
        return self.binary(e.op, x, self.visit(e.right, local), e)

    def visit_Cond(self, e: ir.Cond, local):
        return self.cond(self.visit(e.test, local), lambda: self.visit(e.then, local),
                         lambda: self.visit(e.else_, local), e)

    def visit_Builtin(self, e: ir.Builtin, local):
        return self.builtin(e.func, [self.visit(a, local) for a in e.args], e)

    def visit_Apply(self, e: ir.Apply, local):
        fn = self.funcs[e.func]
        inner = dict(zip(fn.params, [self.visit(a, local) for a in e.args]))
        for let in fn.lets:
            inner[let.name] = self.visit(let.expr, inner)
        return self.visit(fn.body, inner)

    def visit_Comprehension(self, e: ir.Comprehension, local):
        if e.enum is not None:
            members = range(len(self.enum_members(e.enum)))
        else:
            a, b = self.visit(e.lo, local), self.visit(e.hi, local)
            if self.is_symbolic(a) or self.is_symbolic(b):
                raise Unsupported(f"a {e.kind}() whose range depends on a symbolic param")
            members = range(int(a), int(b))
        fold = catalog.COMPREHENSIONS[e.kind]
        if not members and fold.empty is None:
            self.empty_domain(e, members)
        terms = [self.visit(e.body, {**local, e.var: i}) for i in members]
        if fold.beats is not None and any(self.is_symbolic(t) for t in terms):
            raise Unsupported(f"a {e.kind}() of terms that depend on a symbolic param")
        return catalog.fold_values(fold, list(members), terms)

    def empty_domain(self, e: ir.Comprehension, members: range):
        """A max, min, argmax or argmin over no members has no value: an error at the call."""
        fail(f"{e.kind}() over an empty range({members.start}, {members.stop}) has no value", e.loc)

    def enum_members(self, enum: str) -> tuple[str, ...]:
        raise Unsupported(f"enum {enum}")

    def _no_meaning(self, e, local):
        return self.unsupported(e)

    # Nodes whose value comes from a run's environment: a domain that has one defines them.
    visit_MetricRef = visit_StageTime = visit_Reduce = visit_InputRef = _no_meaning
    visit_GroupRef = visit_LoopCall = _no_meaning


class Folder(Evaluator):
    """Constant folding: the value of an expression made only of literals, arithmetic
    and conditionals, as Python computes it (param defaults, ranges, trials, seed)."""

    def binary(self, op: str, x, y, e: ir.Binary):
        # Folding keeps Python's own 'and'/'or' values and rejects a zero divisor.
        if op in ("/", "%") and y == 0:
            fail("division by zero", e.loc)
        if op == "^" and _huge_power(x, y):  # refused before Python builds a huge int
            fail(f"number too large: {x}^{y} is beyond the 64-bit integer range", e.loc)
        try:
            return in_range(catalog.BINARY[op].py(x, y), e.loc)
        except ZeroDivisionError:
            fail("division by zero", e.loc)
        except OverflowError:
            fail("number too large: the value is beyond the float64 range", e.loc)

    def unary(self, op: str, x, e: ir.Unary):
        return in_range(super().unary(op, x, e), e.loc)

    #: The nodes a literal expression is made of.
    _FOLDABLE = frozenset({"Num", "Bool", "Unary", "Binary", "Cond"})

    def unsupported(self, e):
        fail("a literal number is required here", e.loc)

    def visit(self, node, *args):
        if type(node).__name__ not in self._FOLDABLE:
            return self.unsupported(node)
        return super().visit(node, *args)


#: The integers a spec computes with are 64-bit, as the simulators' are.
INT64_MAX = 2**63 - 1


def _huge_power(x, y) -> bool:
    """Whether int x ^ int y is beyond the 64-bit range (judged without computing it)."""
    ints = all(isinstance(v, int) and not isinstance(v, bool) for v in (x, y))
    return ints and abs(x) > 1 and y > 0 and y * math.log2(abs(x)) > 64


def in_range(value, loc: ir.Loc):
    """A folded value, refused with a located error when a simulator cannot hold it: an
    integer beyond 64 bits, a real beyond float64 (inf) or not a real number (nan, complex)."""
    if isinstance(value, complex):
        fail("not a real number: the value is complex (a negative number to a fractional power)", loc)
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > INT64_MAX:
        fail(f"number too large: {value if value.bit_length() < 128 else 'the value'} is beyond the 64-bit "
             "integer range (write it as a real, e.g. 2.0^64)", loc)
    if isinstance(value, float) and not math.isfinite(value):
        fail("number too large: the value is beyond the float64 range" if not math.isnan(value)
             else "not a number: the value is nan", loc)
    return value


def const_value(e: ir.Expr) -> float | int | bool:
    """Value of an expression made only of literals and arithmetic, as Python computes it."""
    return Folder().eval(e)
