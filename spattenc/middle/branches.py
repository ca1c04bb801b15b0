"""Middle layer: the roots of an equation in one param that has branches — `max`, `min`,
`if` (sympy Piecewise) and roundings (`ceil`, `floor`) — each with the branch it lies in
and whether it is inside the param's declared range.

Max and Min are rewritten as Piecewise and folded, so the equation is a list of
(expression, condition) branches; each rounding of the unknown, `ceil(u)`, becomes an
integer n with n - 1 < u <= n, solved once with n symbolic and checked for each n the
declared range admits.  A root is kept when its branch is the one that holds there, so
every root listed is a root of the equation as written.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product

import sympy as sp

from spattenc.ir.catalog import round_half_even, trunc

#: At most this many combinations of rounding values are checked (else: no closed form).
MAX_COMBOS = 4096
#: At most this many branches of max/min/if are solved.
MAX_BRANCHES = 64

ROUNDINGS = (sp.floor, sp.ceiling, trunc, round_half_even)


@dataclass(frozen=True)
class Root:
    """A root: its closed form (in the other params), its value at the current params
    (None when it has none), the branch it lies in ('' without branches), and whether it
    is inside the declared range (None: not decided).  `whole`: the equation holds on the
    whole branch (no single root): `region` is where, within the declared range (None
    when sympy cannot tell), and `value` its least point when it has one."""

    form: sp.Expr | None
    value: sp.Expr | None
    branch: str
    inside: bool | None
    whole: bool = False
    region: sp.Set | None = None


@dataclass(frozen=True)
class Found:
    """Every root found, or (none) `note` saying why; `closed` False when sympy has no
    closed-form method for some branch."""

    roots: tuple[Root, ...]
    note: str
    closed: bool = True
    bounded: bool = False  # roundings were searched over the declared range only


class NoBranches(Exception):
    """The branches cannot be enumerated (the message says why)."""


def branch_roots(e: sp.Expr, x: sp.Symbol, lo, hi, point: dict, solver) -> Found:
    """Every real root of e == 0 in x, branch by branch.  `lo`, `hi`: x's declared range
    (exact numbers, or None for unbounded); `point`: the other symbols' values (exact);
    `solver(expr, x)` returns a symbolic.Roots."""
    if not e.has(x):
        holds = {sp.true: "; it holds for every value", sp.false: "; it never holds"}
        holds = holds.get(sp.Eq(e.xreplace(point), 0), "")
        return Found((), f"the equation does not depend on {x}{holds}")
    try:
        rounds, e = _roundings(e, x)
        combos = _combos(rounds, x, lo, hi, point)
    except NoBranches as err:
        return Found((), f"no closed form: {err}", closed=False)
    e = _piecewise(e, x)
    folded = sp.piecewise_fold(e)
    branches = list(folded.args) if isinstance(folded, sp.Piecewise) else [(folded, sp.true)]
    if len(branches) > MAX_BRANCHES:
        return Found((), f"no closed form: {len(branches)} branches of max/min/if", closed=False)
    roots: list[Root] = []
    notes: list[str] = []
    closed = True
    for j, (expr, cond) in enumerate(branches):
        guard = sp.And(*[sp.Not(c) for _, c in branches[:j]], cond)
        if guard == sp.false:
            continue
        found = solver(expr, x) if expr.has(x) else None
        if found is not None and not found.closed:
            closed = False
            notes.append(found.note)
        for values in combos:
            roots += _branch_roots(expr, found, guard, x, values, rounds, lo, hi, point)
    none = (f"no {x} in [{lo}, {hi}] satisfies the equation (roundings are searched over that range)" if rounds
            else "no real solution (the two sides never meet)")
    note = "; ".join(dict.fromkeys(notes)) or ("" if roots else none)
    return Found(_unique(roots), note, closed, bool(rounds))


def _piecewise(e: sp.Expr, x: sp.Symbol) -> sp.Expr:
    """`e` with each max and min of x written as a Piecewise (one branch per argument)."""
    return e.replace(lambda n: isinstance(n, (sp.Max, sp.Min)) and n.has(x), lambda n: n.rewrite(sp.Piecewise))


def _roundings(e: sp.Expr, x: sp.Symbol) -> tuple[list[tuple[sp.Symbol, sp.Expr]], sp.Expr]:
    """Each rounding of x in `e` replaced by an integer symbol: ([(n, rounding)], e)."""
    found = sorted({a for a in e.atoms(*ROUNDINGS) if a.has(x)}, key=sp.default_sort_key)
    if any(a.args[0].has(*ROUNDINGS) and a.args[0].atoms(*ROUNDINGS) & set(found) for a in found):
        raise NoBranches("a rounding inside a rounding of the unknown")
    rounds = [(sp.Dummy(f"n{i}", integer=True), a) for i, a in enumerate(found)]
    return rounds, e.xreplace({a: n for n, a in rounds})


def _combos(rounds, x: sp.Symbol, lo, hi, point: dict) -> list[dict]:
    """Every combination of values the roundings take for x in [lo, hi]."""
    if not rounds:
        return [{}]
    if lo is None or hi is None:
        raise NoBranches(f"{rounds[0][1]} over an unbounded range of {x}")
    ranges = []
    total = 1
    for n, r in rounds:
        a, b = _extent(r.args[0].xreplace(point), x, lo, hi)
        vals = range(int(sp.floor(a)) - 1, int(sp.ceiling(b)) + 2)
        total *= len(vals)
        if total > MAX_COMBOS:
            raise NoBranches(f"{r} takes about {len(vals)} values over [{lo}, {hi}]: too many branches")
        ranges.append([(n, sp.Integer(v)) for v in vals])
    return [dict(c) for c in product(*ranges)]


def _extent(u: sp.Expr, x: sp.Symbol, lo, hi) -> tuple[sp.Expr, sp.Expr]:
    """The least and greatest value of u(x) for x in [lo, hi] (u a rational function of x
    with numeric coefficients and no pole there)."""
    if u.free_symbols - {x}:
        raise NoBranches(f"{u} has no value at the current params")
    u = sp.piecewise_fold(_piecewise(u, x))
    if isinstance(u, sp.Piecewise):
        # Every piece's extent over the whole range: a superset of u's values, which is
        # enough (each assumed value is checked at the root).
        ends = [_extent(piece, x, lo, hi) for piece, _ in u.args]
        return min((a for a, _ in ends), key=float), max((b for _, b in ends), key=float)
    num, den = sp.fraction(sp.together(u))
    try:
        if sp.Poly(den, x).degree() > 0 and any(lo <= r <= hi for r in sp.real_roots(sp.Poly(den, x))):
            raise NoBranches(f"{u} has a pole in [{lo}, {hi}]")
        crit = sp.real_roots(sp.Poly(sp.numer(sp.together(sp.diff(u, x))), x))
    except (sp.PolynomialError, sp.GeneratorsNeeded, NotImplementedError):
        if sp.diff(u, x).has(x):
            raise NoBranches(f"cannot bound {u} over [{lo}, {hi}]") from None
        crit = []
    at = [u.xreplace({x: sp.sympify(p)}) for p in [lo, hi] + [c for c in crit if lo <= c <= hi]]
    if not all(v.is_number and v.is_finite for v in at):
        raise NoBranches(f"{u} is unbounded over [{lo}, {hi}]")
    return min(at, key=float), max(at, key=float)


def _consistent(values: dict, rounds, at: dict) -> bool | None:
    """Whether each rounding takes its assumed value at the point `at`."""
    for n, r in rounds:
        quick = _far(r, at, values[n])
        if quick is not None:
            if not quick:
                return False
            continue
        got = r.xreplace(at)
        if not got.is_number:
            return None
        if got != values[n]:
            return False
    return True


def _far(r: sp.Expr, at: dict, n: sp.Integer) -> bool | None:
    """A float look at the rounding's argument: False when it is clearly not rounded to n,
    True when clearly it is, None near a boundary (then the exact check decides); exact
    rounding of a large transcendental number is slow."""
    if r.func not in (sp.ceiling, sp.floor):
        return None
    try:
        u = float(r.args[0].xreplace(at).evalf(30))
    except (TypeError, ValueError):
        return None
    lo, hi = (int(n) - 1, int(n)) if r.func is sp.ceiling else (int(n), int(n) + 1)
    tol = 1e-9 * max(1.0, abs(u))
    if u < lo - tol or u > hi + tol:
        return False
    return True if lo + tol < u < hi - tol else None


def _branch_roots(expr, found, guard, x, values: dict, rounds, lo, hi, point: dict) -> list[Root]:
    """The roots of one branch for one combination of rounding values."""
    text = _describe(guard, values, rounds)
    if found is None:  # the branch does not depend on x: it holds everywhere on it, or nowhere
        if expr.xreplace(values).xreplace(point) != 0:
            return []
        return _whole(guard.xreplace(values), values, rounds, x, lo, hi, point, text)
    out = []
    for form in found.roots:
        form = form.xreplace(values)
        value = form.xreplace(point)
        if value.free_symbols:
            out.append(Root(form, None, text, None))
            continue
        if value.is_extended_real is False or value in (sp.nan, sp.zoo):
            continue
        at = {**point, x: value}
        if _consistent(values, rounds, at) is False:
            continue
        holds = guard.xreplace(values).xreplace(at)
        if holds == sp.false:
            continue
        inside = None if holds != sp.true else _inside(value, lo, hi)
        out.append(Root(form, value, text, inside))
    return out


def _whole(guard, values: dict, rounds, x, lo, hi, point: dict, text: str) -> list[Root]:
    """A branch on which the equation holds for every x: the set of such x in the declared
    range, its least point as the value when it has one; or, when none of the set is in
    the range, the whole set marked outside."""
    conds = [c.xreplace(point) for c in sp.And.make_args(guard) if c != sp.true]
    for n, r in rounds:
        u = _piecewise(r.args[0].xreplace(point), x)
        if r.func is sp.ceiling:
            conds += [u > values[n] - 1, u <= values[n]]
        elif r.func is sp.floor:
            conds += [u >= values[n], u < values[n] + 1]
        else:
            return [Root(None, None, text, None, whole=True)]
    region = sp.S.Reals
    try:
        for c in conds:
            region = region.intersect(sp.solveset(c, x, sp.S.Reals))
    except (NotImplementedError, TypeError, ValueError):
        return [Root(None, None, text, None, whole=True)]
    if region is sp.S.EmptySet:
        return []
    inside = region.intersect(sp.Interval(lo if lo is not None else -sp.oo, hi if hi is not None else sp.oo))
    if inside is sp.S.EmptySet:
        return [Root(None, None, text, False, whole=True, region=region)]
    region = inside
    least = region.inf if region.contains(region.inf) == sp.true else None
    return [Root(None, least, text, True, whole=True, region=region)]


def set_text(region: sp.Set) -> str:
    """An interval as a reader writes it: (128, 256], [1, inf); other sets as sympy prints."""
    if not isinstance(region, sp.Interval):
        return sp.sstr(region)
    left = "(" if region.left_open else "["
    right = ")" if region.right_open else "]"
    return f"{left}{sp.sstr(region.start)}, {sp.sstr(region.end)}{right}".replace("oo", "inf")


def least_integer(region: sp.Set) -> sp.Integer | None:
    """The least integer of a set (an int param's smallest value there), or None."""
    if region.inf in (-sp.oo, sp.oo) or not region.inf.is_number:
        return None
    n = sp.ceiling(region.inf)
    n = n + 1 if region.contains(n) != sp.true else n
    return n if region.contains(n) == sp.true else None


def _inside(value: sp.Expr, lo, hi) -> bool | None:
    interval = sp.Interval(lo if lo is not None else -sp.oo, hi if hi is not None else sp.oo)
    got = interval.contains(value)
    return None if got not in (sp.true, sp.false) else bool(got)


def _describe(guard, values: dict, rounds) -> str:
    """The branch as text: the roundings' values, then the conditions of max/min/if."""
    parts = [f"{sp.sstr(r)} = {values[n]}" for n, r in rounds]
    if guard != sp.true:
        parts.append(sp.sstr(guard.xreplace({n: r for n, r in rounds})))
    return ", ".join(parts)


def _unique(roots: list[Root]) -> tuple[Root, ...]:
    """Roots sorted by value, each value once (a root on a branch boundary is found twice)."""
    seen, out = set(), []
    for r in roots:
        key = (r.value if r.value is not None else r.form, r.branch if r.value is None else "")
        if key not in seen:
            seen.add(key)
            out.append(r)
    known = sorted((r for r in out if r.value is not None and r.value.is_real), key=lambda r: float(r.value))
    return tuple(known + [r for r in out if r not in known])
