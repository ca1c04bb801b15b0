"""IR catalog: the one table per construct family (operators, builtins, distributions,
reductions) — arity, types, precedence and the meaning in every domain.

Each entry holds its meaning where it is defined once: a Python-number function (the
reference semantics, also used for constant folding), a sympy function (closed forms),
its numpy spelling (the simulator printer), and the name of the fixed-point rule (a
method of the fixed-point domain in the evaluator) or None when it has none.  The
evaluator (`middle/eval`) and the printers read these tables; nothing else restates them.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from typing import Any, Callable

import sympy
from sympy.concrete.expr_with_limits import ExprWithLimits


# ---------------------------------------------------------------- sympy functions


class round_half_even(sympy.Function):
    """round() with ties to even, as Python and numpy round."""

    @classmethod
    def eval(cls, x):
        if x.is_Number and x.is_finite:
            return sympy.Integer(round(sympy.Rational(x)) if x.is_Rational else round(float(x)))
        if x.is_number and x.is_extended_real and x.is_finite:  # an exact constant: log(2), sqrt(30)/4
            up = sympy.floor(x + sympy.S.Half)
            tie = (x + sympy.S.Half - up).is_zero
            if up.is_Integer and tie is not None:
                return up - 1 if tie and up % 2 else up
        return None


class trunc(sympy.Function):
    """Truncation toward zero, as Python int()."""

    @classmethod
    def eval(cls, x):
        if x.is_Number and x.is_finite:
            return sympy.Integer(int(x) if x.is_Rational else int(float(x)))
        if x.is_integer:
            return x
        if x.is_number and x.is_extended_real and x.is_finite:  # an exact constant: log(2), sqrt(30)/4
            if x.is_nonnegative is None:
                return None
            whole = sympy.floor(x) if x.is_nonnegative else sympy.ceiling(x)
            return whole if whole.is_Integer else None
        return None


#: The sympy functions of rounding builtins (printers of closed forms recognise them).
ROUNDING_FUNCTIONS = (sympy.floor, sympy.ceiling, round_half_even, trunc)


# ---------------------------------------------------------------- operators


def _py_div(x, y):
    """x / y; a zero divisor gives ±inf or nan, as numpy divides."""
    if y == 0:
        return math.copysign(math.inf, x) if x != 0 else math.nan
    return x / y


def _py_mod(x, y):
    """Python's floored x % y; a zero divisor gives nan, as numpy."""
    return math.nan if y == 0 else x % y


def _sympy_div(x, y):
    if y == 0 and not (isinstance(y, sympy.Basic) and y.free_symbols):
        return sympy.nan if x == 0 else sympy.zoo
    return x / y


def _sympy_mod(x, y):
    if y == 0 and not (isinstance(y, sympy.Basic) and y.free_symbols):
        return sympy.nan
    if any(isinstance(v, sympy.Basic) and v.has(sympy.Piecewise) for v in (x, y)):
        # sympy 1.14 takes a common factor out of a Piecewise's arms and loses the
        # remainder: Mod(Piecewise((16, c), (4, True)), 6) is 0.  Take the remainder of
        # each arm instead.
        return sympy.piecewise_fold(sympy.Mod(x, y, evaluate=False))
    return sympy.Mod(x, y)


@dataclass(frozen=True, slots=True)
class Operator:
    """An operator of the expression language.

    `prec` is its Python precedence (higher binds tighter; printers parenthesize by it);
    `result` the type rule: 'bool' (a condition), 'real' (always real), 'arith' (int when
    both operands are int) or 'power' (int only for an int base and a literal int
    exponent >= 0).  `py` and `sympy` compute it over Python numbers and sympy
    expressions; `numpy` is its spelling in generated numpy code (an infix symbol, or a
    function for logic); `fixed` names the fixed-point rule."""

    symbol: str
    arity: int
    prec: int
    result: str
    py: Callable[..., Any]
    sympy: Callable[..., Any]
    numpy: str
    fixed: str


def _op(symbol, arity, prec, result, py, sym, numpy, fixed) -> tuple[str, Operator]:
    return symbol, Operator(symbol, arity, prec, result, py, sym, numpy, fixed)


#: Binary operators by symbol.  'and'/'or' evaluate their right side only when needed.
BINARY: dict[str, Operator] = dict([
    _op("or", 2, 1, "bool", lambda x, y: x or y, sympy.Or, "np.logical_or", "logic"),
    _op("and", 2, 2, "bool", lambda x, y: x and y, sympy.And, "np.logical_and", "logic"),
    _op("<", 2, 4, "bool", operator.lt, sympy.Lt, "<", "compare"),
    _op("<=", 2, 4, "bool", operator.le, sympy.Le, "<=", "compare"),
    _op(">", 2, 4, "bool", operator.gt, sympy.Gt, ">", "compare"),
    _op(">=", 2, 4, "bool", operator.ge, sympy.Ge, ">=", "compare"),
    _op("==", 2, 4, "bool", operator.eq, sympy.Eq, "==", "compare"),
    _op("!=", 2, 4, "bool", operator.ne, sympy.Ne, "!=", "compare"),
    _op("+", 2, 6, "arith", operator.add, operator.add, "+", "add"),
    _op("-", 2, 6, "arith", operator.sub, operator.sub, "-", "sub"),
    _op("*", 2, 7, "arith", operator.mul, operator.mul, "*", "mul"),
    _op("/", 2, 7, "real", _py_div, _sympy_div, "/", "div"),
    _op("%", 2, 7, "arith", _py_mod, _sympy_mod, "%", "mod"),
    _op("^", 2, 9, "power", operator.pow, operator.pow, "**", "power"),
])

#: Unary operators by symbol ('-' binds as Python's unary minus).
UNARY: dict[str, Operator] = dict([
    _op("not", 1, 3, "bool", operator.not_, sympy.Not, "np.logical_not", "not_"),
    _op("-", 1, 8, "same", operator.neg, operator.neg, "-", "neg"),
])

def binary_result(op: str, left: str, right: str, literal=None) -> str:
    """The type of `left op right` from the operands' types; `literal` is the right
    operand when it is a number literal (an int power keeps an int base int)."""
    rule = BINARY[op].result
    if rule in ("bool", "real"):
        return rule
    if rule == "power" and not (literal is not None and literal.is_int and literal.value >= 0):
        return "real" if "real" in (left, right) or literal is None else left
    return "int" if left == right == "int" else "real"


COMPARISONS = frozenset(o for o, e in BINARY.items() if e.fixed == "compare")
LOGIC = frozenset(o for o, e in BINARY.items() if e.fixed == "logic")


# ---------------------------------------------------------------- builtins


def _fold(fn: str) -> Callable[[list[str]], str]:
    """numpy spelling of an n-ary min/max: pairwise, left to right (as Python's min)."""

    def spell(args: list[str]) -> str:
        out = args[0]
        for a in args[1:]:
            out = f"{fn}({out}, {a})"
        return out

    return spell


def _call(fn: str) -> Callable[[list[str]], str]:
    return lambda args: f"{fn}({', '.join(args)})"


def _py_clamp(x, lo, hi):
    return max(lo, min(hi, x))


#: Most nodes of a min/max argument that sympy tries to order against another one.
CONNECT_LIMIT = 40


def larger_than(e, limit: int) -> bool:
    """True when the expression tree of `e` (shared parts counted each time) has more than
    `limit` nodes; it stops counting there, so a check costs at most `limit` steps."""
    if not isinstance(e, sympy.Basic):
        return False
    for n, _ in enumerate(sympy.preorder_traversal(e)):
        if n >= limit:
            return True
    return False


class _NoCollapse:
    """sympy's Min/Max without `_collapse_arguments`, which takes a bound from a join nested
    deeper than an argument: in sympy 1.14 Min(1000, Max(4, Min(x, Max(-2, Min(1, y)))))
    is 1000 (it is 4).  Equal and dominated arguments still drop out (`_find_localzeros`),
    and the class is kept through subs and xreplace."""

    @classmethod
    def _collapse_arguments(cls, args, **assumptions):
        return args

    @classmethod
    def _is_connected(cls, x, y):
        # sympy orders two arguments by assumption queries on x - y and factor_terms, whose
        # cost grows far faster than the arguments (seconds for two nested forms of a few
        # hundred nodes, each Max/Min they build asking again): past CONNECT_LIMIT nodes two
        # different arguments are both kept, which is exact, only not shortened.
        if x != y and (larger_than(x, CONNECT_LIMIT) or larger_than(y, CONNECT_LIMIT)):
            return False
        # sympy answers with its own Max/Min class, which `_find_localzeros` compares with cls.
        con = super()._is_connected(x, y)
        return _OURS.get(con, con)


class Min(_NoCollapse, sympy.Min):
    """Min of the closed forms (see _NoCollapse)."""


class Max(_NoCollapse, sympy.Max):
    """Max of the closed forms (see _NoCollapse)."""


_OURS = {sympy.Min: Min, sympy.Max: Max}


def _sympy_clamp(x, lo, hi):
    return Max(lo, Min(hi, x))


@dataclass(frozen=True, slots=True)
class BuiltinFn:
    """A builtin scalar function.

    `max_args` None: any number from `min_args`.  `result`: 'int' (always int), 'real'
    (always real), 'join' (int when every argument is int), 'same' (the argument's type).
    `py`/`sympy` compute it; `numpy` spells it from printed arguments; `fixed` names the
    fixed-point rule (None: rejected with a located error).  `no_form` (when set) is why
    an exact closed form does not exist for a symbolic argument."""

    name: str
    min_args: int
    max_args: int | None
    result: str
    py: Callable[..., Any]
    sympy: Callable[..., Any]
    numpy: Callable[[list[str]], str]
    fixed: str | None
    no_form: str | None = None


def _fn(name, lo, hi, result, py, sym, numpy, fixed, no_form=None) -> tuple[str, BuiltinFn]:
    return name, BuiltinFn(name, lo, hi, result, py, sym, numpy, fixed, no_form)


#: Builtin functions by name.
BUILTINS: dict[str, BuiltinFn] = dict([
    _fn("min", 2, None, "join", lambda *a: min(a), Min, _fold("np.minimum"), "min"),
    _fn("max", 2, None, "join", lambda *a: max(a), Max, _fold("np.maximum"), "max"),
    _fn("clamp", 3, 3, "join", _py_clamp, _sympy_clamp,
        lambda a: f"np.maximum({a[1]}, np.minimum({a[2]}, {a[0]}))", "clamp"),
    _fn("floor", 1, 1, "int", math.floor, sympy.floor, _call("_floor"), "to_int"),
    _fn("ceil", 1, 1, "int", math.ceil, sympy.ceiling, _call("_ceil"), "to_int"),
    _fn("round", 1, 1, "int", round, round_half_even, _call("_round"), "to_int",
        "round() of an expression in a symbolic param (half-to-even rounding has no closed form here)"),
    _fn("trunc", 1, 1, "int", math.trunc, trunc, _call("_trunc"), "to_int"),
    _fn("abs", 1, 1, "same", abs, sympy.Abs, _call("np.abs"), "abs"),
    _fn("sqrt", 1, 1, "real", math.sqrt, sympy.sqrt, _call("np.sqrt"), None),
    _fn("log", 1, 1, "real", math.log, sympy.log, _call("np.log"), None),
    _fn("log2", 1, 1, "real", math.log2, lambda x: sympy.log(x, 2), _call("np.log2"), None),
    _fn("log10", 1, 1, "real", math.log10, lambda x: sympy.log(x, 10), _call("np.log10"), None),
    _fn("exp", 1, 1, "real", math.exp, sympy.exp, _call("np.exp"), None),
])


def builtin_result(name: str, arg_types: list[str]) -> str:
    """The type of a builtin call from its arguments' types (the checker's rule)."""
    rule = BUILTINS[name].result
    if rule in ("int", "real"):
        return rule
    return "int" if all(t == "int" for t in arg_types) else "real"


# ---------------------------------------------------------------- comprehensions


class _RangeFold(ExprWithLimits):
    """`KIND(v in range(lo, hi): body)` over sympy, written as a Sum is, (body, (v, lo,
    hi - 1)): the number once the bounds and every term are numbers (as the Python
    meaning computes it), else kept as written, in the spec's own spelling."""

    kind = ""

    def __new__(cls, function, *symbols, **assumptions):
        obj = super().__new__(cls, function, *symbols, **assumptions)
        value = obj._value() if isinstance(obj, _RangeFold) else None
        return obj if value is None else value

    def _value(self):
        var, lo, last = self.limits[0]
        # A long range stays a form: substituting each member into sympy terms is slow.
        if not (lo.is_Integer and last.is_Integer) or int(last) - int(lo) >= 10_000:
            return None
        members = list(range(int(lo), int(last) + 1))
        terms = [self.function.xreplace({var: sympy.Integer(i)}) for i in members]
        if not terms or not all(t.is_number and t.is_extended_real for t in terms):
            return None
        return sympy.sympify(fold_values(COMPREHENSIONS[self.kind], members, terms))

    def _eval_is_integer(self):
        return True if self.kind.startswith("arg") else self.function.is_integer

    def _sympystr(self, printer):
        var, lo, last = self.limits[0]
        return (f"{self.kind}({printer.doprint(var)} in range({printer.doprint(lo)}, {printer.doprint(last + 1)}): "
                f"{printer.doprint(self.function)})")


def _range_fold(kind: str) -> Callable[..., Any]:
    """The sympy form of comprehension `kind` from (body, var, lo, hi), one class per kind."""
    cls = type(kind, (_RangeFold,), {"kind": kind})
    return lambda body, var, lo, hi: cls(body, (var, lo, hi - 1))


def _sympy_sum(body, var, lo, hi):
    return sympy.Sum(body, (var, lo, hi - 1))


@dataclass(frozen=True, slots=True)
class Fold:
    """A comprehension `KIND(v in DOMAIN: body)`: the body over the members of an enum or
    the integers lo <= v < hi, in order.  `result`: 'number' (int when the body is int,
    else real) or 'member' (the v whose value wins: an int, or the enum member).  `beats`
    is the comparison a later term must pass to replace the best so far (strict, so ties
    keep the first, smallest v), None for a sum.  `empty`: the value over no members, or
    None (an error).  `sympy(body, var, lo, hi)` is its closed form over a range."""

    name: str
    result: str
    beats: str | None
    empty: int | None
    sympy: Callable[..., Any]


def fold_values(fold: Fold, members: list, terms: list):
    """The Python meaning of a comprehension from its members and their terms (in order;
    `terms` non-empty unless the fold has an `empty` value)."""
    if not terms:
        return fold.empty
    if fold.beats is None:
        total = terms[0]
        for t in terms[1:]:
            total = total + t
        return total
    best, arg = terms[0], members[0]
    for m, t in zip(members[1:], terms[1:]):
        if BINARY[fold.beats].py(t, best):
            best, arg = t, m
    return arg if fold.result == "member" else best


#: Comprehensions by name: `sum(v in range(lo, hi): ...)`, `max`, `min`, `argmax`, `argmin`.
COMPREHENSIONS: dict[str, Fold] = {f.name: f for f in (
    Fold("sum", "number", None, 0, _sympy_sum),
    Fold("max", "number", ">", None, _range_fold("max")),
    Fold("min", "number", "<", None, _range_fold("min")),
    Fold("argmax", "member", ">", None, _range_fold("argmax")),
    Fold("argmin", "member", "<", None, _range_fold("argmin")),
)}


# ---------------------------------------------------------------- distributions


@dataclass(frozen=True, slots=True)
class Distribution:
    """A distribution of `random NAME ~ DIST(args)`.

    `params` names the arguments (one ending in '...' takes two or more); `value` is the
    draw's type; `support` says where draws lie; `draw` names the simulators' draw method.
    `fixed` is the fixed-point rule: (kind of the RTL input, range rule) where the range
    rule is 'count' (0..n), 'bit', 'between' (the arguments' bounds) or 'max' (0..the
    declared `max`), or None with `no_fixed` saying why it has none.  `capped`: the
    draw is unbounded and may declare `max N` (then N is its last argument, and a draw
    above N is N in every domain)."""

    name: str
    params: tuple[str, ...]
    value: str
    support: str
    draw: str
    fixed: tuple[str, str] | None
    no_fixed: str | None = None
    capped: bool = False
    domains: tuple[tuple[str, Callable[[float], bool], str], ...] = ()


def _dist(name, params, value, support, fixed, no_fixed=None, capped=False, domains=()) -> tuple[str, Distribution]:
    return name, Distribution(name, params, value, support, name, fixed, no_fixed, capped, domains)


#: The domains of the arguments the simulators check when they draw (a literal argument
#: outside one is a located check error): (param, test, the domain as text).
_PROB = ("p", lambda v: 0 <= v <= 1, "in [0, 1]")
_COUNT = ("n", lambda v: v >= 0, "at least 0")


#: Distributions by name.  `integers(low, high)` draws uniformly from low..high, both
#: included; `categorical(w0, w1, ...)` index i with probability w_i / sum(w);
#: `geometric(p)` the failures before the first success (0, 1, 2, ...).
DISTRIBUTIONS: dict[str, Distribution] = dict([
    _dist("binomial", ("n", "p"), "int", "0..n", ("int", "count"), domains=(_COUNT, _PROB)),
    _dist("bernoulli", ("p",), "bool", "false, true", ("bool", "bit"), domains=(_PROB,)),
    _dist("uniform", ("low", "high"), "real", "[low, high)", ("fix", "between")),
    _dist("normal", ("mean", "std"), "real", "all reals", None,
          "normal draws are unbounded, so they have no fixed-point width; use uniform(low, high) or a binomial",
          domains=(("std", lambda v: v >= 0, "at least 0"),)),
    _dist("integers", ("low", "high"), "int", "low..high", None),
    _dist("categorical", ("weights...",), "int", "0..k-1", None),
    _dist("geometric", ("p",), "int", "0, 1, 2, ... (0..max with `max`)", ("int", "max"),
          "geometric draws are unbounded; declare their largest value (random k ~ geometric(p) max 64) "
          "so the RTL input has a width", capped=True, domains=(("p", lambda v: 0 < v <= 1, "in (0, 1]"),)),
])


# ---------------------------------------------------------------- reductions


@dataclass(frozen=True, slots=True)
class Reduction:
    """A reduction over layers (rows, groups, loop steps) or over trials.  `result`:
    'int', 'real' or 'same' (the argument's type); `empty` is its value over nothing."""

    name: str
    axis: str
    result: str
    empty: float | int | None


#: Reductions over the items of a run (layers, rows, groups, loop steps).
LAYER_REDUCTIONS: dict[str, Reduction] = {r.name: r for r in (
    Reduction("sum", "layers", "same", 0), Reduction("mean", "layers", "real", None),
    Reduction("count", "layers", "int", 0), Reduction("last", "layers", "same", None),
    Reduction("first", "layers", "same", None), Reduction("max_over", "layers", "same", None),
    Reduction("min_over", "layers", "same", None))}

#: Reductions over the trials of a Monte-Carlo run.
TRIAL_REDUCTIONS: dict[str, Reduction] = {r.name: r for r in (
    Reduction("mean", "trials", "real", None), Reduction("std", "trials", "real", None))}


def reduction_result(kind: str, arg_type: str) -> str:
    """The type of a reduction of an argument of type `arg_type`."""
    r = LAYER_REDUCTIONS.get(kind) or TRIAL_REDUCTIONS[kind]
    return arg_type if r.result == "same" else r.result
