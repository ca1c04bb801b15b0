"""Middle end: THE expression semantics — the domains of the one IR walk.

`visit.Evaluator` walks an expression once, node by node; what a value is comes from its
domain: Python numbers (`PythonEval`: the reference interpreter; `visit.Folder`: constant
folding of literals), sympy expressions (`SympyEval`: exact numbers with chosen params as
symbols; `SymbolEval`: every name a symbol, for readable closed forms), or fixed-point
nodes (`fixed.FixedEval`).  Operators and builtins take their meaning in each domain from
`catalog`; a domain only says how its values are made, tested and combined.
"""

from __future__ import annotations

import math

import numpy as np
import sympy

from spattenc.ir import catalog
from spattenc.ir import nodes as ir
from spattenc.ir.visit import Evaluator, Folder, Unsupported, const_value

__all__ = ["Evaluator", "FORM_LIMIT", "Folder", "FormTooLarge", "PythonEval", "SympyEval", "SymbolEval",
           "Unsupported", "const_value", "exact", "sized"]

#: Most nodes of a closed form (shared parts counted each time).  Unrolled layers, nested
#: conditionals and inlined functions can multiply a form at each step; past a size a
#: person can read, sympy's own work on it grows without bound.
FORM_LIMIT = 5000


class FormTooLarge(Unsupported, ValueError):
    """A value's form is too large to have a closed form worth showing: decided by its
    size, never by time, so whether a spec has a form is the same on every machine."""


def sized(x, what: str):
    """`x`, or FormTooLarge when its form has more than FORM_LIMIT nodes (`what` names
    the operation that built it)."""
    if catalog.larger_than(x, FORM_LIMIT):
        raise FormTooLarge(f"{what} gives a form of more than {FORM_LIMIT} terms")
    return x


class PythonEval(Evaluator):
    """The reference interpreter's domain: Python numbers (int, float, bool)."""


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


def _symbolic(x) -> bool:
    return isinstance(x, sympy.Basic) and bool(x.free_symbols)


def as_logic(x):
    """A condition with no Piecewise inside: sympy mishandles a Piecewise under a relational
    used as a Piecewise condition (Piecewise((x, Eq(Piecewise((0, b), (3, True)), l)), ...)
    drops b), so `(if b then 0 else 3) == l` becomes (b & Eq(0, l)) | (~b & Eq(3, l)).
    The cases are split here, one Piecewise at a time, rather than by piecewise_fold, whose
    merging of equal pieces rewrites their conditions in conjunctive normal form (a form
    that can grow exponentially from a few nested conditions); each split is size-checked."""
    if not isinstance(x, sympy.Basic) or not x.has(sympy.Piecewise):
        return x
    p = next(n for n in sympy.preorder_traversal(x) if isinstance(n, sympy.Piecewise))
    terms, prior = [], sympy.false
    for value, c in p.args:
        terms.append(sympy.And(c, sympy.Not(prior), as_logic(x.xreplace({p: value}))))
        prior = sympy.Or(prior, c)
    return sized(sympy.Or(*terms), "a condition on a conditional")


class SympyEval(Evaluator):
    """Exact sympy numbers, with some params as symbols: closed forms of values.  A
    condition on a symbol becomes a Piecewise; what has no exact form raises Unsupported."""

    def number(self, e: ir.Num):
        return sympy.Integer(e.value) if e.is_int else sympy.Rational(repr(float(e.value)))

    def is_symbolic(self, x) -> bool:
        return _symbolic(x)

    def truth(self, x) -> bool:
        if self.is_symbolic(x):
            raise Unsupported("a condition that depends on a symbolic param")
        return bool(x)

    def cond(self, test, then_fn, else_fn, e):
        if self.is_symbolic(test):
            return sized(sympy.Piecewise((then_fn(), as_logic(test)), (else_fn(), True)), "a conditional")
        return then_fn() if bool(test) else else_fn()

    def binary(self, op: str, x, y, e):
        entry = catalog.BINARY[op]
        symbolic = self.is_symbolic(x) or self.is_symbolic(y)
        if op in catalog.COMPARISONS:
            if any(v in (sympy.nan, sympy.zoo) for v in (x, y)):
                return op == "!="  # as numpy compares NaN: every comparison false but !=
            return sized(as_logic(entry.sympy(x, y)), f"'{op}'") if symbolic else bool(entry.sympy(x, y))
        if op in catalog.LOGIC:
            return sized(entry.sympy(x, y), f"'{op}'") if symbolic else entry.py(self.truth(x), self.truth(y))
        return sized(entry.sympy(x, y), f"'{op}'")

    def builtin(self, func: str, args: list, e):
        entry = catalog.BUILTINS[func]
        if entry.no_form and any(self.is_symbolic(a) for a in args):
            raise Unsupported(entry.no_form)
        if any(a is sympy.nan or a is sympy.zoo for a in args if isinstance(a, sympy.Basic)):
            return sympy.nan  # max(B, 1/0): undefined, as sympy has no order for zoo
        return sized(entry.sympy(*args), f"{func}()")


def _decide_members(x: sympy.Expr, members: set) -> sympy.Expr:
    """`x` with each (in)equality between two members of one enum decided (two member
    symbols are equal only when they are the same member)."""
    def decided(r):
        return sympy.true if (r.lhs == r.rhs) == isinstance(r, sympy.Eq) else sympy.false
    return x.replace(lambda r: isinstance(r, (sympy.Eq, sympy.Ne)) and r.lhs in members and r.rhs in members,
                     decided)


class SymbolEval(Evaluator):
    """Every name a sympy symbol (one level deep), literals as written: the readable
    form of a definition.  `names(e)` gives the symbol of a reference."""

    def number(self, e: ir.Num):
        return sympy.Integer(e.value) if e.is_int else sympy.Float(e.value)

    def visit_Bool(self, e, local):
        return sympy.true if e.value else sympy.false

    def is_symbolic(self, x) -> bool:
        return True  # both sides of 'and'/'or' are part of the form

    def unary(self, op: str, x, e):
        return catalog.UNARY[op].sympy(x)

    def binary(self, op: str, x, y, e):
        r = catalog.BINARY[op].sympy(x, y)
        return as_logic(r) if op in catalog.COMPARISONS else r

    def cond(self, test, then_fn, else_fn, e):
        return sympy.Piecewise((then_fn(), as_logic(test)), (else_fn(), True))

    def builtin(self, func: str, args: list, e):
        return catalog.BUILTINS[func].sympy(*args)

    def unsupported(self, e):
        raise ValueError(f"no closed form for {type(e).__name__}")

    def _over_members(self, e, local):
        """A comprehension over an enum, each member the symbol `Enum.member` (as an enum
        constant reads): a sum, Max or Min of the terms; an argmax/argmin the member
        (a Piecewise over the comparisons while the terms are not numbers)."""
        try:
            names = self.enum_members(e.enum)
        except Unsupported:
            return self.unsupported(e)
        members = [sympy.Symbol(f"{e.enum}.{m}") for m in names]
        terms = [_decide_members(sympy.sympify(self.visit(e.body, {**local, e.var: m})), set(members))
                 for m in members]
        fold = catalog.COMPREHENSIONS[e.kind]
        if all(t.is_number and t.is_extended_real for t in terms):
            return sympy.sympify(catalog.fold_values(fold, members, terms))
        if fold.beats is None:
            return sympy.Add(*terms)
        if fold.result == "number":
            return (catalog.Max if fold.beats == ">" else catalog.Min)(*terms)
        beats = catalog.BINARY[fold.beats].sympy
        # Member i wins when it beats every earlier member and no later member beats it.
        pieces = [(m, sympy.And(*[beats(t, u) for u in terms[:i]], *[sympy.Not(beats(u, t)) for u in terms[i + 1:]]))
                  for i, (m, t) in enumerate(zip(members, terms))]
        return sympy.Piecewise(*pieces[:-1], (members[-1], True))

    def visit_Comprehension(self, e, local):
        """Over a range: the catalog's sympy form (a Sum, or a max/min/argmax/argmin written
        as one, a number once its bounds and terms are); over an enum: unrolled."""
        if e.enum is not None:
            return self._over_members(e, local)
        var = sympy.Symbol(e.var, integer=True)
        body = self.visit(e.body, {**local, e.var: var})
        return catalog.COMPREHENSIONS[e.kind].sympy(body, var, self.visit(e.lo, local), self.visit(e.hi, local))
