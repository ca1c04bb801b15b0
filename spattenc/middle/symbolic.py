"""Symbolic layer: IR -> sympy expressions (closed forms, relaxations, sums over layers).

Expressions are built node by node from the checked IR (never from spec text).  Names
stay symbols one level deep, so each definition reads on its own; user functions are
inlined.  Totals over layers are given exactly (unrolled at the current parameters) and,
when a state follows a recurrence that becomes linear once floors and clamps are
dropped, as a continuous relaxation summed in closed form.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import sympy as sp

from spattenc.ir import keys
from spattenc.ir.keys import Key
from spattenc.ir import nodes as ir
from spattenc.ir.catalog import Max, round_half_even, trunc
from spattenc.ir.errors import SpecError, did_you_mean
from spattenc.ir.units import per
from spattenc.middle.branches import ROUNDINGS, Root, branch_roots, set_text
from spattenc.middle.eval import FormTooLarge, SymbolEval, const_value, exact, sized
from spattenc.middle.interp import Env, Interpreter


@dataclass(frozen=True)
class Symbols:
    """The sympy symbol of every named quantity in a program."""

    table: dict[Key, sp.Symbol]

    def __getitem__(self, key: Key) -> sp.Symbol:
        return self.table[key]


def symbols(program: ir.Program) -> Symbols:
    table: dict[Key, sp.Symbol] = {}
    for p in program.params:
        lo = const_value(p.lo) if p.lo is not None else None
        kw = {"real": True}
        if p.type == "int":
            kw["integer"] = True
        if lo is not None and lo > 0:
            kw["positive"] = True
        elif lo is not None and lo >= 0:
            kw["nonnegative"] = True
        table[Key("param", p.name)] = sp.Symbol(p.name, **kw)
    for c in program.consts:
        table[Key("const", c.name)] = sp.Symbol(c.name, real=True)
    if program.rows is not None:
        return _row_symbols(program, table)
    table[Key("index", program.layers.index)] = sp.Symbol(program.layers.index, integer=True, nonnegative=True)
    for r in program.draws:
        integer = program.types.get(Key("random", r.name)) == "int"
        table[Key("random", r.name)] = sp.Symbol(r.name, real=True, **({"integer": True} if integer else {}))
    for item in program.layer_items:
        kind = {ir.State: "state", ir.Let: "layer", ir.Random: "random", ir.Stage: "stage"}[type(item)]
        integer = program.types.get(Key(kind, item.name)) == "int"
        table[Key(kind, item.name)] = sp.Symbol(item.name, real=True, **({"integer": True} if integer else {}))
    for d in program.designs:
        for item in d.lets + d.draws:
            table[Key("design", item.name, d.name)] = sp.Symbol(f"{d.name}.{item.name}", real=True)
    return Symbols(table)


class _Forms(SymbolEval):
    """The sympy form of IR expressions of one program: names are its symbols."""

    def __init__(self, program: ir.Program, syms: Symbols):
        super().__init__({f.name: f for f in program.funcs})
        self.program = program
        self.syms = syms

    def ref(self, e: ir.Ref, local):
        if e.scope == "design":
            return self.syms[Key("design", e.name, e.design)]
        return self.syms[Key(e.scope, e.name)]

    def visit_StageTime(self, e: ir.StageTime, local):
        if not self.program.implicit_layers:
            return self.unsupported(e)
        return schedule_times(self.program, self.syms, self.program.design(e.design))[(e.stage, e.which)]

    def visit_Reduce(self, e: ir.Reduce, local):
        if e.axis == "layers" and self.program.implicit_layers:
            # One implicit evaluation: a reduction over it is the value itself.
            arg = self.visit(e.arg, local)
            return sp.Piecewise((1, arg), (0, True)) if e.kind == "count" else arg
        if e.axis in ("rows", "groups", "steps"):
            # A reduction over rows, groups or loop steps stays a named function.
            return sp.Function(e.kind)(self.visit(e.arg, local))
        return self.unsupported(e)

    def visit_MetricRef(self, e: ir.MetricRef, local):
        if not self.program.implicit_layers:
            return self.unsupported(e)
        return self.visit(next(mt.expr for mt in self.program.design(e.design).metrics if mt.name == e.metric), local)

    def visit_GroupRef(self, e: ir.GroupRef, local):
        if e.kind == "key":
            return sp.Symbol(e.name, real=True)
        return self.syms[Key("group", e.name, e.group)]

    def visit_LoopCall(self, e: ir.LoopCall, local):
        return sp.Function(e.loop)(*[self.visit(a, local) for a in e.args])

    def visit_InputRef(self, e: ir.InputRef, local):
        # An input value stays named (its value comes from the file at run time).
        name = f"given({e.var})" if e.given else e.var
        return sp.Function(name)(*[self.visit(i, local) for i in e.index]) if e.index else sp.Symbol(name, real=True)

    def visit_EnumConst(self, e: ir.EnumConst, local):
        return sp.Symbol(f"{e.enum}.{e.member}")

    def enum_members(self, enum: str) -> tuple[str, ...]:
        return self.program.enum(enum).members

    def visit_Apply(self, e: ir.Apply, local):
        # Inlining doubles a form at each level of f(f(x)); past a size a person can read,
        # sympy's own work on it grows without bound, so the definition has no form.
        return sized(super().visit_Apply(e, local), f"inlining '{e.func}'")


def to_sympy(e: ir.Expr, program: ir.Program, syms: Symbols, local: dict[str, sp.Expr] | None = None) -> sp.Expr:
    """The sympy form of an IR expression; names become symbols, functions are inlined."""
    return _Forms(program, syms).eval(e, local)


# ------------------------------------------------------------------ definitions


@dataclass(frozen=True)
class Forms:
    """Closed forms of a program: each definition in terms of the names it reads, and
    each one fully expanded down to states, draws and params."""

    syms: Symbols
    direct: dict[Key, sp.Expr]
    expanded: dict[Key, sp.Expr]
    #: metric_form's results (a form and its note, or the reason there is none) by design,
    #: expression and param values: owned by these forms, so it ends with them.
    metric_forms: dict = field(default_factory=dict, compare=False)


def forms(program: ir.Program) -> Forms:
    syms = symbols(program)
    direct: dict[Key, sp.Expr] = {}
    for c in program.consts:
        direct[Key("const", c.name)] = _form(c.expr, program, syms, Key("const", c.name))
    if program.rows is not None:
        for item in program.row_items:
            if isinstance(item, (ir.Let, ir.Stage)):
                kind = "stage" if isinstance(item, ir.Stage) else "row"
                direct[Key(kind, item.name)] = _form(item.expr, program, syms, Key(kind, item.name))
        for g in program.groups:
            for let in g.lets:
                direct[Key("group", let.name, g.name)] = _form(let.expr, program, syms, Key("group", let.name, g.name))
        return Forms(syms, direct, dict(direct))
    for item in program.layer_items:
        if isinstance(item, (ir.Let, ir.Stage)):
            kind = "stage" if isinstance(item, ir.Stage) else "layer"
            direct[Key(kind, item.name)] = _form(item.expr, program, syms, Key(kind, item.name))
        elif isinstance(item, ir.State):
            direct[Key("state_next", item.name)] = _form(item.next, program, syms, Key("state_next", item.name))
            direct[Key("state_init", item.name)] = _form(item.init, program, syms, Key("state_init", item.name))
    for d in program.designs:
        for item in d.lets:
            try:
                direct[Key("design", item.name, d.name)] = to_sympy(item.expr, program, syms)
            except ValueError:
                continue  # reads schedule times: no closed form of its own
    # Expand layer lets and stages (not states, draws or the index) to a fixed point.
    layer_subs = {syms[k]: v for k, v in direct.items() if k.kind in _PER_LAYER}
    expanded = {k: _substitute(v, layer_subs, 32) for k, v in direct.items()}
    return Forms(syms, direct, expanded)



def _form(e: ir.Expr, program: ir.Program, syms: Symbols, key: Key) -> sp.Expr:
    """The form of one definition; one too large to show (FormTooLarge) is an opaque symbol
    named after it, so whatever reads it says it has no closed form."""
    try:
        return to_sympy(e, program, syms)
    except FormTooLarge:
        return sp.Symbol(f"{key.name}(no closed form: too large)")


def schedule_times(program: ir.Program, syms: Symbols, design: ir.Design) -> dict[tuple[str | None, str], sp.Expr]:
    """Start and end of every scheduled stage of a design within one layer that starts
    at 0, keyed (stage, 'start'|'end'); (None, 'start'|'end') is the layer itself.
    Stages stay symbols (their durations)."""
    local = {i.name for i in design.lets if isinstance(i, ir.Stage)}
    out: dict[tuple[str | None, str], sp.Expr] = {(None, "start"): sp.Integer(0)}

    def go(s: ir.Sched, start: sp.Expr) -> sp.Expr:
        if isinstance(s, ir.SchedStage):
            key = Key("design", s.stage, design.name) if s.stage in local else Key("stage", s.stage)
            out[(s.stage, "start")] = start
            out[(s.stage, "end")] = start + syms[key]
            return out[(s.stage, "end")]
        if isinstance(s, ir.Seq):
            for p in s.parts:
                start = go(p, start)
            return start
        return Max(*[go(p, start) for p in s.parts])

    out[(None, "end")] = go(design.schedule, sp.Integer(0)) if design.schedule is not None else sp.Integer(0)
    return out


#: Definitions expand_all substitutes by default, and those it substitutes to keep constants named.
_ALL_DEFS = ("const", "layer", "stage", "design")
_PER_LAYER = ("layer", "stage", "design")


def expand_all(e: sp.Expr, program: ir.Program, f: Forms, kinds: tuple[str, ...] = _ALL_DEFS) -> sp.Expr:
    """Substitute every constant, per-layer let, stage and design let (those of `kinds`) by
    its definition, to a fixed point: by default the expression in params (and states,
    draws, the index) only."""
    subs = {f.syms[k]: v for k, v in f.direct.items() if k.kind in kinds}
    return _substitute(e, subs, 64)


def _substitute(e: sp.Expr, subs: dict, rounds: int) -> sp.Expr:
    """`e` with `subs` applied until nothing changes (at most `rounds` times)."""
    for _ in range(rounds):
        new = e.xreplace(subs)
        if new == e:
            break
        e = new
    return e


def exact_decimals(e: sp.Expr) -> sp.Expr:
    """Floats written in the spec (1e-12, 0.5) as the exact decimals they denote, so
    cancelling and solving do not print spurious 1.0 factors."""
    return e.xreplace({x: sp.Rational(repr(float(x))) for x in e.atoms(sp.Float) if _plain_decimal(x)})


def _plain_decimal(x: sp.Float) -> bool:
    """Whether float `x` has an exact decimal: a sympy Float beyond float64 (a value at the
    defaults of 1e6 / 1e-320) has none and stays a float."""
    return math.isfinite(float(x))


def tidy(e: sp.Expr) -> sp.Expr:
    """A readable form: rational functions cancelled and factored; anything with
    Max/Min/rounding/conditionals left as written (simplifying those is slow and rarely clearer)."""
    if e.has(sp.Max, sp.Min, sp.Piecewise, sp.floor, sp.ceiling, trunc, round_half_even):
        return e
    try:
        return sp.factor(sp.cancel(exact_decimals(e)))
    except (sp.PolynomialError, TypeError, ValueError):  # pragma: no cover - defensive
        return e


@dataclass(frozen=True)
class Solution:
    """Closed-form solutions of a `solve` declaration and their values at given params."""

    name: str
    unknown: str
    equation: sp.Expr
    roots: tuple[Root, ...]  # every real root, in or outside the range, with its branch
    note: str
    where: str  # the declared range, as text
    values: tuple[float | None, ...] = ()  # each root's value at the current params (float64)


@dataclass(frozen=True)
class Roots:
    """The roots of an equation in one unknown, or (none found) `note` saying why."""

    roots: tuple[sp.Expr, ...]
    note: str
    closed: bool = True  # False: sympy has no closed-form method for this equation


def real_roots(e: sp.Expr, x: sp.Symbol) -> Roots:
    """THE solver of one branch (branches.branch_roots calls it for each): every root of
    e == 0 in x, in closed form, over x's assumptions.  An equation in x alone that is a
    ratio of polynomials gets its exact real roots (radicals, or CRootOf for a degree
    sympy has no usable radicals for) so a quartic never ends in sympy's set algebra."""
    rational = _rational_roots(e, x)
    if rational is not None:
        return rational
    try:
        sols = tuple(sp.solve(e, x, rational=False))
    except (NotImplementedError, sp.PolynomialError, TypeError, ValueError) as err:
        return Roots((), f"sympy found no closed form ({type(err).__name__})", closed=False)
    if not sols:
        return Roots((), "no solution (the two sides never meet)" if e.has(x) else f"the equation does not depend on {x}")
    return Roots(sols, "")


def _rational_roots(e: sp.Expr, x: sp.Symbol) -> Roots | None:
    """The exact real roots of a ratio of polynomials in x alone (numeric coefficients),
    or None when `e` is not one."""
    if e.free_symbols != {x} or e.has(sp.Piecewise, *ROUNDINGS):
        return None
    try:
        num, den = sp.fraction(sp.cancel(sp.together(e)))
        pn, pd = sp.Poly(num, x), sp.Poly(den, x)
        if pn.degree() < 1 or not pn.domain.is_Exact:
            return None
        roots = [r for r in dict.fromkeys(sp.real_roots(pn)) if pd.eval(r) != 0]
    except (sp.PolynomialError, sp.GeneratorsNeeded, NotImplementedError, TypeError, ValueError):
        return None
    return Roots(tuple(roots), "" if roots else "no solution (the two sides never meet)")


def declared_range(param: ir.Param) -> tuple[sp.Expr | None, sp.Expr | None, str]:
    """A param's declared range as exact bounds (None: unbounded) and as text."""
    lo = exact(param.lo_value) if param.lo is not None and param.lo_value is not None else None
    hi = exact(param.hi_value) if param.hi is not None and param.hi_value is not None else None
    text = f"[{_bound(param.lo_value, lo)}, {_bound(param.hi_value, hi)}]" if lo is not None or hi is not None \
        else "the reals"
    return lo, hi, text


def _bound(v, b) -> str:
    if b is None:
        return "inf"
    return f"{v:g}" if isinstance(v, float) else str(v)


def solve(program: ir.Program, f: Forms, sv: ir.Solve, values: dict[str, float]) -> Solution:
    """Solve a `solve` declaration for its unknown param with sympy (expanded to params):
    every real root, branch by branch (branches.branch_roots), with its value at the
    current params and whether it lies in the param's declared range."""
    if isinstance(sv.expr, ir.Binary) and sv.expr.op == "==":
        # Each side on its own: sympy would fold an equation it can decide (B*B == -1) to False.
        e = to_sympy(sv.expr.left, program, f.syms) - to_sympy(sv.expr.right, program, f.syms)
    else:
        e = to_sympy(sv.expr, program, f.syms)
    e = exact_decimals(expand_all(e, program, f))
    unknown = f.syms[Key("param", sv.unknown.name)]
    # Solve over the reals (an int param's integrality would make most crossovers "no
    # solution"); roots outside the declared range are reported as such.
    x = sp.Symbol(sv.unknown.name, real=True)
    e = e.xreplace({unknown: x})
    lo, hi, where = declared_range(program.param(sv.unknown.name))
    point = {f.syms[Key("param", p.name)]: exact(values[p.name]) for p in program.params if p.name != sv.unknown.name}
    found = branch_roots(e, x, lo, hi, point, real_roots)
    roots = tuple(dataclasses.replace(r, form=tidy(r.form)) if r.form is not None else r for r in found.roots)
    # The value printed is the closed form evaluated in floats, as the simulators would.
    sub = _numeric_subs(program, f, values)
    nums = tuple(number_value(r.form.xreplace(sub)) if r.form is not None else None for r in roots)
    return Solution(sv.name, sv.unknown.name, e, roots, found.note, where, nums)


def design_layer_time(program: ir.Program, f: Forms, design: ir.Design, expand: bool = True) -> sp.Expr | None:
    """Time of one layer of a design: sums along sequences, Max across parallel branches.

    With `expand`, stages are replaced by their closed forms; otherwise they stay symbols.
    """
    if design.schedule is None:
        return None

    def go(s: ir.Sched) -> sp.Expr:
        if isinstance(s, ir.SchedStage):
            local = Key("design", s.stage, design.name)
            key = local if local in f.syms.table else Key("stage", s.stage)
            return f.expanded[key] if expand else f.syms[key]
        if isinstance(s, ir.Seq):
            return sp.Add(*[go(p) for p in s.parts])
        return Max(*[go(p) for p in s.parts])

    return go(design.schedule)


# ------------------------------------------------------------------ relaxation


def linear_law(init: sp.Expr, a: sp.Expr, b: sp.Expr, l: sp.Symbol) -> sp.Expr:
    """N[l] of the recurrence N[l+1] = a N[l] + b: a^l N[0] + b (1 - a^l) / (1 - a), or the
    arithmetic progression N[0] + b l when a is 1 (the general form is 0/0 there)."""
    if a == 1:
        return init + b * l
    return init * a ** l + (b * (1 - a ** l) / (1 - a) if b != 0 else 0)


def _strip_discrete(e: sp.Expr) -> sp.Expr:
    """Drop roundings and constant clamps: the continuous relaxation of a recurrence."""
    if isinstance(e, (sp.floor, sp.ceiling, trunc, round_half_even)):
        return _strip_discrete(e.args[0])
    if isinstance(e, (sp.Max, sp.Min)):
        varying = [a for a in e.args if not a.is_number]
        if len(varying) == 1:
            return _strip_discrete(varying[0])
    if e.args:
        return e.func(*[_strip_discrete(a) for a in e.args])
    return e


def _resolve_branches(e: sp.Expr, values: dict) -> tuple[sp.Expr, tuple]:
    """Replace each Max/Min/Piecewise by the branch active at `values`; return the
    resolved expression and the branch choices (its signature)."""
    sig: list = []

    def num(x):
        v = x.xreplace(values)
        return v if isinstance(v, sp.logic.boolalg.BooleanAtom) else v.evalf()

    def go(x):
        if isinstance(x, (sp.Max, sp.Min)):
            args = [go(a) for a in x.args]
            vals = [number_value(num(a)) for a in args]
            if None in vals:
                raise _NoForm("a clamp is undefined (a division by zero) at the current params")
            pick = vals.index(max(vals) if isinstance(x, sp.Max) else min(vals))
            sig.append(pick)
            return args[pick]
        if isinstance(x, sp.Piecewise):
            for i, (expr, cond) in enumerate(x.args):
                try:
                    holds = bool(num(cond))
                except TypeError:  # a comparison with nan or zoo: the branch is undefined here
                    raise _NoForm("a condition is undefined (a division by zero) at the current params") from None
                if holds:
                    sig.append(i)
                    return go(expr)
            sig.append(-1)
            return sp.nan
        if x.args and not x.is_Atom:
            return x.func(*[go(a) for a in x.args])
        return x

    out = go(e)
    return out, tuple(sig)


@dataclass(frozen=True)
class Total:
    """A design's total time over all layers: exact (unrolled) and relaxed."""

    exact_value: float
    unrolled: list[float]
    state_law: sp.Expr | None
    relaxed: sp.Expr | None
    relaxed_value: float | None
    note: str


def total_time(program: ir.Program, f: Forms, design: ir.Design, values: dict[str, float], exact: float,
               unrolled: list[float]) -> Total:
    """Relax the layer recurrence and sum the per-layer time in closed form."""
    per_layer = design_layer_time(program, f, design)
    states = [i for i in program.layer_items if isinstance(i, ir.State)]
    if per_layer is None or len(states) != 1:
        return Total(exact, unrolled, None, None, None, "relaxation needs exactly one state variable")
    st = states[0]
    N = f.syms[Key("state", st.name)]
    l = sp.Symbol(program.layers.index, integer=True, nonnegative=True)
    nxt = _strip_discrete(f.expanded[Key("state_next", st.name)])
    init = f.expanded[Key("state_init", st.name)]
    poly = _linear_in(nxt, N)
    if poly is None:
        return Total(exact, unrolled, None, None, None, f"the relaxed recurrence of {st.name} is not linear")
    a, b = poly.all_coeffs()
    if a.has(l) or b.has(l):
        return Total(exact, unrolled, None, None, None, "the recurrence varies with the layer index")
    law = sp.simplify(linear_law(init, a, b, l))
    count = to_sympy(program.layers.count, program, f.syms)
    sub_num = _numeric_subs(program, f, values)
    L = int(round(float(count.xreplace(sub_num))))
    # Branches of clamps/conditionals at the current parameters, layer by layer.
    layer_expr = per_layer.xreplace({N: law})
    segments: list[tuple[int, int, sp.Expr]] = []
    for i in range(L):
        point = dict(sub_num)
        point[l] = sp.Integer(i)
        resolved, sig = _resolve_branches(layer_expr, point)
        if segments and segments[-1][2][1] == sig:
            segments[-1] = (segments[-1][0], i, segments[-1][2])
        else:
            segments.append((i, i, (resolved, sig)))
    total = sp.Integer(0)
    # Sum with symbolic bounds so sympy finds the geometric closed form, then bind them.
    a_, b_ = sp.Symbol("l_lo", integer=True, nonnegative=True), sp.Symbol("l_hi", integer=True, nonnegative=True)
    for lo, hi, (resolved, _) in segments:
        upper = count - 1 if (lo == 0 and hi == L - 1) else sp.Integer(hi)
        if not summable(resolved, l):
            raise _NoForm("the per-layer time raises a per-layer value to a float power: no sum in closed form")
        part = sp.summation(sp.expand(resolved), (l, a_, b_))
        part = sp.piecewise_fold(part).xreplace({a_: sp.Integer(lo), b_: upper})
        if isinstance(part, sp.Piecewise):  # the q == 1 case of a geometric sum: keep the general one
            part = next((e for e, c in part.args if c == sp.true), part.args[-1][0])
        total += part
    total = sp.piecewise_fold(total)
    relaxed_value = number_value(total.xreplace(sub_num))
    note = ("one branch of every clamp/conditional holds on all layers at these parameters"
            if len(segments) == 1 else f"clamps/conditionals change branch: {len(segments)} segments summed")
    return Total(exact, unrolled, sp.Eq(sp.Function(st.name)(l), law), total, relaxed_value, note)


def number_value(e) -> float | None:
    """A sympy number as a float; None when it is undefined (nan, a complex infinity from
    x/0, or a complex value), which inspect shows as `undefined`."""
    try:
        v = sp.sympify(e).evalf()
    except (TypeError, ValueError, sp.SympifyError):
        return None
    if v is sp.nan or v is sp.zoo or v.is_extended_real is not True or v.free_symbols:
        return None
    return float(v)


def value_text(v) -> str:
    """A value for inspect: repr of a float, `undefined` for None or nan."""
    return "undefined" if v is None or v != v else repr(v)


def _linear_in(e: sp.Expr, n: sp.Symbol) -> sp.Poly | None:
    """`e` as a degree-1 polynomial in `n`, or None (n absent, of higher degree, or inside a
    conditional or rounding, which sympy cannot treat as a polynomial)."""
    if not e.has(n):
        return None
    try:
        poly = sp.Poly(sp.expand(e), n)
    except sp.PolynomialError:
        return None
    return poly if poly.degree() == 1 else None


def _numeric_subs(program: ir.Program, f: Forms, values: dict[str, float]) -> dict:
    out = {}
    for p in program.params:
        out[f.syms[Key("param", p.name)]] = sp.Float(values[p.name]) if p.type == "real" else sp.Integer(int(values[p.name]))
    for c in program.consts:
        out[f.syms[Key("const", c.name)]] = f.direct[Key("const", c.name)].xreplace(out).evalf()
    return out


# ------------------------------------------------------------------ reports


def _show(e: sp.Expr, latex: bool) -> str:
    return sp.latex(e) if latex else sp.sstr(e)


def inspect_text(compiled, names: list[str] | tuple = (), latex: bool = False, overrides: dict | None = None) -> str:
    """Text of `spattenc inspect`: constants, per-layer quantities, stages, designs, totals."""
    program = compiled.program
    if program.rows is not None:
        return _inspect_rows(compiled, names, latex, overrides or {})
    f = forms(program)
    wanted = set(names)
    known = ({c.name for c in program.consts} | {i.name for i in program.layer_items}
             | {d.name for d in program.designs} | {c.name for c in program.compares} | {lp.name for lp in program.loops}
             | {sv.name for sv in program.solves})
    for n in names:
        if n not in known:
            raise SpecError(f"inspect: '{n}' is not a constant, per-layer quantity, stage, design, comparison, "
                            f"solve or loop of spec '{program.name}'" + did_you_mean(n, known))

    def want(n: str) -> bool:
        return not wanted or n in wanted

    out: list[str] = [f"# {program.name}" + (f": {program.title}" if program.title else ""), ""]
    if not wanted:
        out += _const_lines(program, f, latex)
        if program.draws:
            out += ["## Draws (one per trial)", *_draw_lines(program, f, program.draws, latex), ""]
    out += _layer_lines(program, f, [i for i in program.layer_items if want(i.name)], latex)
    values = _values(compiled, overrides or {})
    totals: list = []  # the exact totals, computed once when a design needs them
    for d in program.designs:
        if want(d.name):
            out += _design_lines(compiled, f, d, values, overrides or {}, latex, totals)
    out += _compare_lines(compiled, f, values, overrides or {}, latex, wanted)
    out += solutions_lines(compiled, [sv for sv in program.solves if want(sv.name)], latex, overrides, f)
    out += _loop_lines(program, latex, wanted)
    return "\n".join(out).rstrip("\n") + "\n"


def _layer_lines(program: ir.Program, f: Forms, layer_named: list, latex: bool) -> list[str]:
    """The `## Per layer` section of inspect (the named per-layer items) and its stages."""
    if not layer_named:
        return []
    out = [f"## Per layer ({program.layers.index} = 0 .. count-1)"]
    out += _item_lines(program, f, layer_named, "layer", latex)
    stages = [i for i in layer_named if isinstance(i, ir.Stage)]
    if stages:
        out.append("")
        out.append(f"## Stages ({per(stages, 'layer')})")
        stage_subs = {f.syms[Key("stage", i.name)]: f.direct[Key("stage", i.name)]
                      for i in program.layer_items if isinstance(i, ir.Stage)}
        for s in stages:
            form = f.direct[Key("stage", s.name)]
            out.append(f"{s.name} = {_show(form, latex)}")
            if form.free_symbols & set(stage_subs):
                out.append(f"  = {_show(form.xreplace(stage_subs), latex)}")
    out.append("")
    return out


def _design_lines(compiled, f: Forms, d: ir.Design, values: dict, overrides: dict, latex: bool,
                  totals: list) -> list[str]:
    """The `## Design` section of inspect: lets, time per layer, total over layers and its
    relaxation, metrics.  `totals` caches the exact totals (_exact_totals) across designs."""
    program = compiled.program
    out = [f"## Design {d.name}" + (f" ({d.title})" if d.title else "")]
    out += [f"{line} (one per trial)" for line in _draw_lines(program, f, d.draws, latex)]
    for item in d.lets:
        key = Key("design", item.name, d.name)
        if key in f.direct:
            out.append(f"{item.name} = {_show(f.direct[key], latex)}")
    lt = design_layer_time(program, f, d, expand=False)
    implicit = program.implicit_layers
    if lt is not None:
        out.append(f"time{'' if implicit else ' per layer'} = {_show(lt, latex)}")
        if implicit:
            out.append(f"  = {_show(design_layer_time(program, f, d), latex)}")
    if implicit:
        for mt in d.metrics:
            direct = to_sympy(mt.expr, program, f.syms)
            full = tidy(expand_all(direct, program, f))
            out.append(f"metric {mt.name} = {_show(direct, latex)}")
            if full != direct:
                out.append(f"  = {_show(full, latex)}")
        out.append("")  # implicit layers: the metrics are shown directly above
        return out
    if lt is not None and keys.design_time(d.name) in program.random:
        out.append("total over layers: depends on random draws (see `spattenc eval`)")
    elif lt is not None:
        if not totals:
            totals.append(_exact_totals(compiled, overrides))
        exact, unrolled = totals[0][d.name]
        try:
            tot = total_time(program, f, d, values, exact, unrolled)
        except _NoForm as e:
            tot = Total(exact, unrolled, None, None, None, str(e))
        out += _total_lines(tot, latex)
    out += _metric_lines(compiled, f, d, values, overrides, latex)
    out.append("")
    return out


def _total_lines(tot: Total, latex: bool) -> list[str]:
    """A design's total over layers: exact (unrolled) and its continuous relaxation."""
    exact = tot.exact_value
    out = [f"total over layers, exact (unrolled at the current params) = {value_text(exact)}",
           "  per layer: " + ", ".join(f"{x:.6g}" for x in tot.unrolled)]
    if tot.relaxed is None:
        out.append(f"continuous relaxation: none ({tot.note})")
    else:
        out.append(f"continuous relaxation: {_show(tot.state_law, latex)}")
        out.append(f"  total = {_show(tot.relaxed, latex)}")
        if tot.relaxed_value is None or exact != exact:
            out.append(f"  value = undefined ({tot.note})")
        else:
            err = (tot.relaxed_value - exact) / exact if exact else float("nan")
            out.append(f"  value = {tot.relaxed_value!r}; relative error vs exact = {err:+.3e} ({tot.note})")
    return out


def solutions_lines(compiled, solves, latex: bool = False, overrides: dict | None = None,
                    f: Forms | None = None) -> list[str]:
    """The `## Solutions` section of inspect: each `solve` declaration's closed forms in the
    other params and their values at the current params."""
    if not solves:
        return []
    program = compiled.program
    f = f or forms(program)
    values = _values(compiled, overrides or {})
    out = ["## Solutions"]
    for sv in solves:
        sol = solve(program, f, sv, values)
        where = f" in design {sv.design.name}" if sv.design is not None else ""
        out.append(f"{sv.name}: {sv.unknown.name} such that {_show(sol.equation, latex)} = 0{where}"
                   + (f"  ({sv.attrs.doc})" if sv.attrs.doc else ""))
        out += root_lines(sv.unknown.name, sol, latex)
    out.append("")
    return out


def root_lines(unknown: str, sol: Solution, latex: bool) -> list[str]:
    """Each root of a solve declaration: its closed form, its branch, its value at the
    current params and, when outside, that it is outside the declared range."""
    out = []
    if not sol.roots:
        out.append(f"  {sol.note}")
    for r, value in zip(sol.roots, sol.values):
        branch = f"  (where {r.branch})" if r.branch else ""
        if r.whole:
            within = f" in {set_text(r.region)}" if r.region is not None else ""
            out.append(f"  the equation holds for every {unknown}{within} (where {r.branch})"
                       + (f": outside the declared range {sol.where}" if r.inside is False else ""))
            continue
        out.append(f"  {unknown} = {_show(r.form, latex)}{branch}")
        if r.value is None:
            out.append("    (no value at the current params)")
            continue
        out.append(f"    = {value_text(value)} at the current params"
                   + (f": outside the declared range {sol.where}" if r.inside is False else ""))
    if sol.roots and all(r.inside is False for r in sol.roots):
        out.append(f"  no root in the declared range {sol.where}")
    return out


def _const_lines(program: ir.Program, f: Forms, latex: bool) -> list[str]:
    if not program.consts:
        return []
    return ["## Constants"] + [f"{c.name} = {_show(f.direct[Key('const', c.name)], latex)}" for c in program.consts] + [""]


def _draw_lines(program: ir.Program, f: Forms, draws, latex: bool) -> list[str]:
    """`random NAME ~ DIST(args)` of each draw, its arguments in closed form."""
    return [f"random {r.name} ~ {r.dist}({', '.join(_show(to_sympy(a, program, f.syms), latex) for a in r.args)})"
            for r in draws]


def _item_lines(program: ir.Program, f: Forms, items, scope: str, latex: bool) -> list[str]:
    """The states, draws and lets of a layers or rows block (`scope` 'layer' or 'row'), in
    order; stages are listed apart."""
    out = []
    for item in items:
        if isinstance(item, ir.State):
            out.append(f"state {item.name}: {item.name}[0] = {_show(f.direct[Key('state_init', item.name)], latex)}; "
                       f"{item.name}[{program.layers.index}+1] = {_show(f.direct[Key('state_next', item.name)], latex)}")
        elif isinstance(item, ir.Random):
            out += _draw_lines(program, f, [item], latex)
        elif isinstance(item, ir.Let):
            out.append(f"{item.name} = {_show(f.direct[Key(scope, item.name)], latex)}")
    return out


def _values(compiled, overrides: dict) -> dict[str, float]:
    vals = {p.name: const_value(p.default) for p in compiled.program.params}
    vals.update(overrides)
    return vals


def _plan_run(compiled, overrides: dict) -> tuple[dict, dict]:
    """The deterministic values of a spec at its params (defaults updated by `overrides`),
    from the reference interpreter of its plan (float64, as the simulator computes them):
    {Key of a metric or comparison: value} without the values that depend on random draws,
    and each design's stage (start, end) times per layer (designs whose schedule does not
    depend on draws)."""
    program = compiled.program
    env = Env({Key("param", name): value for name, value in _values(compiled, overrides).items()})
    times: dict[str, list[list[tuple]]] = {}
    values = Interpreter(program, env).run_plan(compiled.plan, skip=frozenset(program.random), stage_times=times)
    return values, times


def _exact_totals(compiled, overrides: dict) -> dict[str, tuple[float, list[float]]]:
    """Each design's total time and per-layer times (float64): the end of its last
    layer, and each layer's span from its first stage start to its last stage end."""
    _, times = _plan_run(compiled, overrides)
    out: dict[str, tuple[float, list[float]]] = {}
    for name, layers in times.items():
        spans = [(min(float(s) for s, _ in ev), max(float(e) for _, e in ev)) for ev in layers if ev]
        out[name] = (spans[-1][1] if spans else 0.0, [end - start for start, end in spans])
    return out


# ------------------------------------------------------------------ metrics and comparisons


class _NoForm(Exception):
    """A quantity without a closed form here (the message says why)."""


def state_laws(program: ir.Program, f: Forms) -> tuple[dict, bool, dict]:
    """Each state as a closed-form function of the layer index, from its recurrence once
    floors and clamps are dropped (linear, with coefficients free of the index and of
    other states).  Returns ({state symbol: law}, exact, {state symbol: why it has no
    law}) where `exact` says nothing was dropped from the laws found."""
    l = f.syms[Key("index", program.layers.index)]
    states = [i for i in program.layer_items if isinstance(i, ir.State)]
    state_syms = {f.syms[Key("state", s.name)] for s in states}
    laws, exact, failed = {}, True, {}
    for st in states:
        if Key("state", st.name) in program.random:
            continue  # a state that follows draws has no law; what reads it is random too
        n = f.syms[Key("state", st.name)]
        raw = f.expanded[Key("state_next", st.name)]
        nxt = _strip_discrete(raw)
        init = f.expanded[Key("state_init", st.name)]
        if (nxt.free_symbols | init.free_symbols) & (state_syms - {n}) or l in nxt.free_symbols:
            failed[n] = f"the recurrence of state {st.name} reads other states or the layer index"
            continue
        poly = _linear_in(nxt, n)
        if poly is None:
            failed[n] = f"the relaxed recurrence of state {st.name} is not linear"
            continue
        exact = exact and nxt == raw
        a, b = poly.all_coeffs()
        laws[n] = linear_law(init, a, b, l)
    return laws, exact, failed


def _with_laws(e: sp.Expr, program: ir.Program, f: Forms) -> sp.Expr:
    """`e` with each state replaced by its law; _NoForm when it reads a state that has
    none (a state it does not read never matters)."""
    laws, _, failed = state_laws(program, f)
    for s in sorted(e.free_symbols & set(failed), key=str):
        raise _NoForm(failed[s])
    return e.xreplace(laws)


def _random_symbols(program: ir.Program, f: Forms) -> set:
    return {s for k, s in f.syms.table.items() if k in program.random or k.kind == "random"}


def layer_sum(program: ir.Program, f: Forms, per_layer: sp.Expr, values: dict) -> tuple[sp.Expr, str]:
    """Σ over the layers of a per-layer expression in closed form: states replaced by
    their laws; clamps and conditionals resolved, layer by layer, to the branch that
    holds at `values` (consecutive layers with the same branches summed together)."""
    laws, _, _ = state_laws(program, f)
    l = f.syms[Key("index", program.layers.index)]
    e = _with_laws(expand_all(per_layer, program, f, _PER_LAYER), program, f)
    if e.free_symbols & (_random_symbols(program, f) | set(laws)):
        raise _NoForm("depends on random draws")
    count = to_sympy(program.layers.count, program, f.syms)
    sub_num = _numeric_subs(program, f, values)
    n_layers = int(round(float(count.xreplace(sub_num))))
    segments: list[list] = []
    for i in range(n_layers):
        point = dict(sub_num)
        point[l] = sp.Integer(i)
        resolved, sig = _resolve_branches(e, point)
        if segments and segments[-1][2] == sig:
            segments[-1][1] = i
        else:
            segments.append([i, i, sig, resolved])
    total = sp.Integer(0)
    for lo, hi, _, resolved in segments:
        upper = count - 1 if (lo == 0 and hi == n_layers - 1) else sp.Integer(hi)
        total += _sum_terms(resolved, l, sp.Integer(lo), upper)
    note = ("every clamp/conditional keeps one branch over the layers at these params" if len(segments) <= 1
            else f"clamps/conditionals change branch: {len(segments)} segments summed")
    return total, note


def summable(e: sp.Expr, l: sp.Symbol) -> bool:
    """False when `e` raises a value that varies with `l` to a float exponent (N^1e-320):
    sympy's summation of such a term can run without end, so it has no closed form here."""
    return not any(p.base.has(l) and isinstance(p.exp, sp.Float) and not p.exp.is_integer
                   for p in sp.expand(e).atoms(sp.Pow))


def _sum_terms(e: sp.Expr, l: sp.Symbol, lo: sp.Expr, hi: sp.Expr) -> sp.Expr:
    """Σ_{l=lo..hi} e, term by term: constants and geometric terms c·q^(a·l+b) in closed
    form directly (the general ratio, q != 1); anything else through sympy's summation."""
    total = sp.Integer(0)
    for term in sp.Add.make_args(sp.expand(e)):
        coeff, dep = term.as_independent(l, as_Add=False)
        if dep == 1:
            total += coeff * (hi - lo + 1)
            continue
        d = sp.powsimp(dep, force=True)
        if d.is_Pow and not d.base.has(l):
            ex = sp.expand(d.exp)
            a = ex.coeff(l)
            b = sp.expand(ex - a * l)
            if not a.has(l) and not b.has(l):
                q = d.base ** a
                total += coeff * d.base ** b * (q ** lo - q ** (hi + 1)) / (1 - q)
                continue
        if not summable(dep, l):
            raise _NoForm("a term raises a per-layer value to a float power: no sum in closed form")
        part = sp.piecewise_fold(sp.summation(dep, (l, lo, hi)))
        if isinstance(part, sp.Piecewise):  # a ratio-1 case: keep the general branch
            part = next((x for x, c in part.args if c == sp.true), part.args[-1][0])
        total += coeff * part
    return total


def _map_ir(e: ir.Expr, fn) -> ir.Expr:
    """Rebuild an IR expression bottom-up, replacing the nodes for which `fn` returns a node."""
    hit = fn(e)
    if hit is not None:
        return hit
    match e:
        case ir.Unary(operand=x):
            return dataclasses.replace(e, operand=_map_ir(x, fn))
        case ir.Binary(left=a, right=b):
            return dataclasses.replace(e, left=_map_ir(a, fn), right=_map_ir(b, fn))
        case ir.Cond(test=t, then=a, else_=b):
            return dataclasses.replace(e, test=_map_ir(t, fn), then=_map_ir(a, fn), else_=_map_ir(b, fn))
        case ir.Builtin(args=args) | ir.Apply(args=args):
            return dataclasses.replace(e, args=tuple(_map_ir(a, fn) for a in args))
    return e


def metric_form(program: ir.Program, f: Forms, design: ir.Design, expr: ir.Expr, values: dict) -> tuple[sp.Expr, str]:
    """A design metric in closed form: each reduction over layers summed (or picked at the
    first/last layer), the rest as written.  Raises _NoForm when there is none."""
    key = (design.name, expr, tuple(sorted(values.items())))
    if key not in f.metric_forms:
        try:
            f.metric_forms[key] = _metric_form(program, f, design, expr, values)
        except (_NoForm, ValueError) as e:
            f.metric_forms[key] = e
    hit = f.metric_forms[key]
    if isinstance(hit, Exception):
        raise hit
    return hit


def _metric_form(program: ir.Program, f: Forms, design: ir.Design, expr: ir.Expr, values: dict) -> tuple[sp.Expr, str]:
    parts: dict[str, sp.Expr] = {}
    notes: list[str] = []
    l = f.syms[Key("index", program.layers.index)]

    def reduce(node):
        if not (isinstance(node, ir.Reduce) and node.axis == "layers"):
            return None
        times = [x for x in ir.walk(node.arg) if isinstance(x, ir.StageTime)]
        if times:
            if not (node.kind == "last" and isinstance(node.arg, ir.StageTime) and node.arg.stage is None
                    and node.arg.which == "end"):
                raise _NoForm("reads schedule times other than last(end)")
            per = design_layer_time(program, f, design)
            if per is None:
                raise _NoForm("the design has no schedule")
            form, note = layer_sum(program, f, per, values)
        else:
            arg = to_sympy(node.arg, program, f.syms)
            count = to_sympy(program.layers.count, program, f.syms)
            if node.kind in ("sum", "mean", "count"):
                per = sp.Piecewise((1, arg), (0, True)) if node.kind == "count" else arg
                form, note = layer_sum(program, f, per, values)
                form = form / count if node.kind == "mean" else form
            elif node.kind in ("first", "last"):
                form = _with_laws(expand_all(arg, program, f, _PER_LAYER), program, f)
                form = form.xreplace({l: sp.Integer(0) if node.kind == "first" else count - 1})
                if form.free_symbols & _random_symbols(program, f):
                    raise _NoForm("depends on random draws")
                note = ""
            else:
                raise _NoForm(f"{node.kind}() has no closed form here")
        key = f"_r{len(parts)}"
        parts[key] = form
        if note:
            notes.append(note)
        return ir.Ref(node.loc, key, "local")

    bare = _map_ir(expr, reduce)
    form = to_sympy(bare, program, f.syms, parts)
    return form, "; ".join(dict.fromkeys(notes))


def _sim_metrics(compiled, overrides: dict) -> dict:
    """The deterministic metric and comparison values at the current params (_plan_run)."""
    return _plan_run(compiled, overrides)[0]


def _check_value(form: sp.Expr, sub_num: dict, sim_value: float | None) -> str:
    bound = form.xreplace(sub_num)
    value = number_value(bound)
    if value is None and getattr(bound, "free_symbols", None):
        free = ", ".join(sorted(str(x) for x in bound.free_symbols))
        return f"  (no numeric value at the current params: the form reads {free}, which has no closed form)"
    if value is None:
        return "  = undefined at the current params (a division by zero or a complex value)"
    text = f"  = {value!r} at the current params"
    if sim_value is not None:
        err = (value - sim_value) / sim_value if sim_value else value - sim_value
        text += f"; simulator {sim_value!r} (relative difference {err:+.1e})"
    return text


def _metric_lines(compiled, f: Forms, design: ir.Design, values: dict, overrides: dict, latex: bool) -> list[str]:
    program = compiled.program
    if not design.metrics:
        return []
    out = ["metrics in closed form (sums over layers at the current branches):"]
    laws, exact, _ = state_laws(program, f)
    sub_num = _numeric_subs(program, f, values)
    R = None
    for mt in design.metrics:
        if Key("metric", mt.name, design.name) in program.random:
            out.append(f"{mt.name}: depends on random draws (see `spattenc eval`)")
            continue
        try:
            form, note = metric_form(program, f, design, mt.expr, values)
        except (_NoForm, ValueError) as e:
            out.append(f"{mt.name}: no closed form ({e})")
            continue
        if R is None:
            R = _sim_metrics(compiled, overrides)
        form = _simplest(form)
        out.append(f"{mt.name} = {_show(form, latex)}")
        out.append(_check_value(form, sub_num, float(R[Key("metric", mt.name, design.name)])) + (f" ({note})" if note else ""))
    if laws and not exact and R is not None:
        out.append("  (states follow their continuous relaxation: floors and clamps of the recurrence dropped)")
    return out


def compare_form(program: ir.Program, f: Forms, compare: ir.Compare, values: dict) -> sp.Expr:
    """A comparison in closed form from its metrics' closed forms (deterministic metrics)."""
    designs = {d.name: d for d in program.designs}
    parts: dict[str, sp.Expr] = {}

    def sub(node):
        match node:
            case ir.Reduce(axis="trials", kind="mean", arg=a):
                return _map_ir(a, sub)
            case ir.Reduce(axis="trials"):
                raise _NoForm(f"{node.kind}() over trials has no closed form")
            case ir.MetricRef(design=d, metric=m):
                if Key("metric", m, d) in program.random:
                    raise _NoForm(f"{d}.{m} depends on random draws")
                mt = next(x for x in designs[d].metrics if x.name == m)
                key = f"_m{len(parts)}"
                parts[key] = metric_form(program, f, designs[d], mt.expr, values)[0]
                return ir.Ref(node.loc, key, "local")
        return None

    return to_sympy(_map_ir(compare.expr, sub), program, f.syms, parts)


def _simplest(e: sp.Expr, budget: int = 120) -> sp.Expr:
    """`e` tidied, or its factored form when that is shorter (small expressions only:
    factoring a large one takes long and rarely helps)."""
    e = exact_decimals(e)
    if sp.count_ops(e) > budget:
        return e
    f = exact_decimals(sp.factor(sp.cancel(e)))
    return f if sp.count_ops(f) <= sp.count_ops(e) else e


def _compare_lines(compiled, f: Forms, values: dict, overrides: dict, latex: bool, wanted: set) -> list[str]:
    program = compiled.program
    compares = [c for c in program.compares if not wanted or c.name in wanted]
    if not compares:
        return []
    out = ["## Comparisons in closed form (at the current branches)"]
    sub_num = _numeric_subs(program, f, values)
    C = None
    for c in compares:
        try:
            form = _simplest(compare_form(program, f, c, values))
        except (_NoForm, ValueError) as e:
            out.append(f"{c.name}: no closed form ({e})")
            continue
        if C is None:
            C = _sim_metrics(compiled, overrides)
        out.append(f"{c.name} = {_show(form, latex)}")
        out.append(_check_value(form, sub_num, float(C[Key("compare", c.name)])))
    out.append("")
    return out


def _loop_lines(program: ir.Program, latex: bool, wanted: set) -> list[str]:
    out: list[str] = []
    syms = symbols(program)
    for lp in program.loops:
        if wanted and lp.name not in wanted:
            continue
        local = {p: sp.Symbol(p, real=True) for p in lp.params}
        local |= {x.name: sp.Symbol(x.name, real=True) for x in lp.states + lp.items}
        go = lambda e: _show(to_sympy(e, program, syms, local), latex)  # noqa: E731
        out.append(f"## Loop {lp.name}({', '.join(lp.params)}): steps t = 0, 1, ... while the condition holds")
        for st in lp.states:
            out.append(f"state {st.name}: {st.name}[0] = {go(st.init)}; {st.name}[t+1] = {go(st.next)}")
        out.append(f"while {go(lp.cond)}")
        for item in lp.items:
            if isinstance(item, ir.Random):
                out.append(f"random {item.name} ~ {item.dist}({', '.join(go(a) for a in item.args)})")
            else:
                out.append(f"{item.name} = {go(item.expr)}")
        out.append(f"return {go(lp.body)}   (reductions over the steps)")
        out.append("")
    return out


# ------------------------------------------------------------------ table specs


def _row_symbols(program: ir.Program, table: dict) -> Symbols:
    rows = program.rows
    table[Key("index", rows.index)] = sp.Symbol(rows.index, integer=True, nonnegative=True)
    cols = next(t for t in program.tables if t.name == rows.table).columns
    for col in cols:
        kw = {"integer": True} if col.type == "int" else {}
        table[Key("column", col.name)] = sp.Symbol(col.name, real=True, **kw)
    for item in program.row_items:
        kind = {ir.Let: "row", ir.Random: "random", ir.Stage: "stage"}[type(item)]
        integer = program.types.get(Key(kind, item.name)) == "int"
        table[Key(kind, item.name)] = sp.Symbol(item.name, real=True, **({"integer": True} if integer else {}))
    for g in program.groups:
        for let in g.lets:
            table[Key("group", let.name, g.name)] = sp.Symbol(let.name, real=True)
    return Symbols(table)


def _inspect_rows(compiled, names, latex: bool, overrides: dict) -> str:
    """`inspect` of a table spec: the per-row formulas, each group's reductions, the
    metrics (reductions named by their kind: sum(...), last(...), count(...))."""

    program = compiled.program
    f = forms(program)
    wanted = set(names)
    known = ({c.name for c in program.consts} | {i.name for i in program.row_items} | {g.name for g in program.groups}
             | {d.name for d in program.designs} | {lp.name for lp in program.loops}
             | {x.name for g in program.groups for x in g.lets} | {sv.name for sv in program.solves})
    for n in names:
        if n not in known:
            raise SpecError(f"inspect: '{n}' is not a constant, per-row quantity, group, design, solve or loop of "
                            f"spec '{program.name}'" + did_you_mean(n, known))

    def want(*ns: str) -> bool:
        return not wanted or any(n in wanted for n in ns)

    table = next(t for t in program.tables if t.name == program.rows.table)
    out: list[str] = [f"# {program.name}" + (f": {program.title}" if program.title else ""), ""]
    if not wanted:
        out.append(f"## Table {table.name} (--input {table.name}=FILE)")
        out.append(", ".join(f"{c.name}: {c.type}" for c in table.columns))
        out.append("")
        out += _const_lines(program, f, latex)
    rows = [i for i in program.row_items if want(i.name)]
    if rows:
        out.append(f"## Per row ({program.rows.index} = 0 .. rows-1)")
        out += _item_lines(program, f, rows, "row", latex)
        stages = [i for i in rows if isinstance(i, ir.Stage)]
        if stages:
            out.append("")
            out.append(f"## Stages ({per(stages, 'row')})")
            out += [f"{s.name} = {_show(f.direct[Key('stage', s.name)], latex)}" for s in stages]
        out.append("")
    for g in program.groups:
        lets = [x for x in g.lets if want(g.name, x.name)]
        if not lets:
            continue
        src = "the rows" if g.source is None else f"the groups of {g.source}"
        out.append(f"## Group {g.name}: {src} by {', '.join(g.keys)} (reductions over each group's members)")
        out += [f"{x.name} = {_show(f.direct[Key('group', x.name, g.name)], latex)}" for x in lets]
        out.append("")
    out += _loop_lines(program, latex, wanted)
    for d in program.designs:
        if not want(d.name):
            continue
        out.append(f"## Design {d.name}" + (f" ({d.title})" if d.title else ""))
        for mt in d.metrics:
            out.append(f"{mt.name} = {_show(to_sympy(mt.expr, program, f.syms), latex)}")
        out.append("")
    out += solutions_lines(compiled, [sv for sv in program.solves if not wanted or sv.name in wanted], latex,
                           overrides, f)
    return "\n".join(out).rstrip("\n") + "\n"
