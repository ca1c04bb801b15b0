"""Middle layer: exact solves of a report's `solve p where A == B` entries, on the closed
forms of a deterministic plan (sympy, inputs as exact decimals), with the solver of
`inspect` (branches.branch_roots over symbolic.real_roots).  Only the values the equation
reads are computed, so an unrelated metric, draw or loop never matters."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import sympy

from spattenc.ir import nodes as ir
from spattenc.ir.keys import Key
from spattenc.middle.branches import Root, branch_roots, least_integer, set_text
from spattenc.middle.interp import Unsupported, reads, symbolic_interpreter, unneeded
from spattenc.middle.symbolic import declared_range, real_roots


@dataclass(frozen=True)
class Solution:
    """A solved report entry: `value` (float or None); `reason` says why it is None.
    `roots`: every root found (in or outside the range, each with its branch)."""

    value: float | None
    reason: str | None
    exact: str | None = None
    roots: tuple[Root, ...] = ()
    where: str = ""

    def others(self) -> str | None:
        """The roots other than the value (outside the range, or larger), as a note; None
        when the value is the only one."""
        if self.value is None:
            return None
        rest = tuple(r for r in self.roots if r.value is None or str(r.value) != self.exact)
        return f"other roots: {root_text(rest, self.where)}" if rest else None


def solve(compiled, it: ir.ReportItem, params: dict, inputs: dict | None) -> Solution:
    """Solve `solve p where A == B` exactly (sympy, exact decimal inputs) for the real p in
    p's declared range: the smallest root there, or None with the reason."""
    prog = compiled.program
    target = it.expr.name
    sides = [it.cond.left, it.cond.right]
    drawn = sorted(_show_key(k) for side in sides for k in reads(side)
                   if k in prog.random or (k.kind == "compare" and k.name in compiled.plan.random_compares))
    if drawn:
        return Solution(None, f"the equation reads {', '.join(drawn)}, which depends on random draws "
                              "(no exact solve; see eval's trials)")
    if compiled.plan.mode != "layers":
        return Solution(None, f"no closed form in {target}: a table spec's metrics reduce over the rows of its "
                              "file, which have no closed form here")
    try:
        interp, _ = symbolic_interpreter(compiled.plan, params, inputs or {}, (target,), unneeded(compiled.plan, sides))
        left, right = interp.eval(it.cond.left), interp.eval(it.cond.right)
    except Unsupported as e:
        return Solution(None, f"no closed form in {target}: {e}")
    x = sympy.Symbol(target, real=True)
    eq = sympy.together(left - right)
    if eq.has(sympy.nan, sympy.zoo):
        return Solution(None, "the equation is undefined (a division by zero) at these params")
    if x not in eq.free_symbols:
        holds = sympy.simplify(eq) == 0
        return Solution(None, f"the equation does not depend on {target}" +
                        ("; it holds for every value" if holds else "; it never holds"))
    lo, hi, where = declared_range(prog.param(target))
    found = branch_roots(eq, x, lo, hi, {}, real_roots)
    if prog.param(target).type == "int":  # an int param: the least integer of a region
        found = dataclasses.replace(found, roots=tuple(
            dataclasses.replace(r, value=least_integer(r.region)) if r.region is not None else r for r in found.roots))
    inside = sorted((r for r in found.roots if r.inside and r.value is not None), key=lambda r: float(r.value))
    if inside:
        return Solution(float(inside[0].value), None, str(inside[0].value), found.roots, where)
    if found.roots and all(r.inside is False for r in found.roots):
        shown = ", ".join(_value_text(r) for r in found.roots)
        return Solution(None, f"the equation holds only at {target} = {shown}, outside {where}", None,
                        found.roots, where)
    if found.roots and all(r.whole for r in found.roots):
        return Solution(None, f"the equation holds for {target} = " + root_text(found.roots, where)
                        + ": a set without a least value", None, found.roots, where)
    if found.roots:
        return Solution(None, f"no root known to be in {where}: {target} = " + root_text(found.roots, where), None,
                        found.roots, where)
    if not found.closed:
        return Solution(None, f"sympy could not solve the equation for {target} ({found.note})")
    return Solution(None, found.note if found.bounded else f"no real {target} satisfies the equation")


def root_text(roots: tuple[Root, ...], where: str) -> str:
    """The roots as one line: value, branch, and whether outside the declared range."""
    return "; ".join(_value_text(r) + (f", outside {where}" if r.inside is False else "") for r in roots)


def _value_text(r: Root) -> str:
    """A root's exact value (and its decimal unless an integer), with its branch."""
    if r.whole:
        return f"every value in {set_text(r.region)} (where {r.branch})" if r.region is not None else \
            f"every value where {r.branch}"
    v = r.value
    text = str(v) if v.is_Integer else f"{v} (≈ {float(v):.6g})"
    return text + (f" (where {r.branch})" if r.branch else "")


def _show_key(k: Key) -> str:
    return f"{k.owner}.{k.name}" if k.owner else k.name
