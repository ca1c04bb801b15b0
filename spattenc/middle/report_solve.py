"""Middle layer: exact solves of a report's `solve p where A == B` entries, on the closed
forms of a deterministic plan (sympy, inputs as exact decimals), with the solver of
`inspect` (symbolic.real_roots)."""

from __future__ import annotations

from dataclasses import dataclass

import sympy

from spattenc.ir import nodes as ir
from spattenc.middle.interp import Unsupported, exact, symbolic_interpreter
from spattenc.middle.symbolic import real_roots


@dataclass(frozen=True)
class Solution:
    """A solved report entry: `value` (float or None); `reason` says why it is None."""

    value: float | None
    reason: str | None
    exact: str | None = None


def solve(compiled, it: ir.ReportItem, params: dict, inputs: dict | None) -> Solution:
    """Solve `solve p where A == B` exactly (sympy, exact decimal inputs) for the real p in
    p's declared range; None with the reason when there is no such p."""
    prog = compiled.program
    target = it.expr.name
    param = prog.param(target)
    try:
        interp, _ = symbolic_interpreter(compiled.plan, params, inputs or {}, (target,))
        left, right = interp.eval(it.cond.left), interp.eval(it.cond.right)
    except Unsupported as e:
        return Solution(None, f"no closed form in {target}: {e}")
    x = sympy.Symbol(target, real=True)
    lo, hi = param.lo_value, param.hi_value
    domain = sympy.Interval(exact(lo) if lo is not None else -sympy.oo, exact(hi) if hi is not None else sympy.oo)
    eq = sympy.together(left - right)
    # The solver is inspect's (symbolic.real_roots); roots are then kept in p's range.
    if x not in eq.free_symbols:
        holds = sympy.simplify(eq) == 0
        return Solution(None, f"the equation does not depend on {target}" +
                        ("; it holds for every value" if holds else "; it never holds"))
    found = real_roots(eq, x)
    where = f"[{_num(lo)}, {_num(hi)}]" if param.lo is not None else "the reals"
    roots = sorted((r for r in found.roots if r.is_real is not False), key=float)
    inside = [r for r in roots if domain.contains(r) == sympy.true]
    if inside:
        return Solution(float(inside[0]), None, str(inside[0]))
    if roots:
        shown = ", ".join(f"{v} (≈ {float(v):.6g})" if not v.is_Integer else str(v) for v in roots)
        return Solution(None, f"the equation holds only at {target} = {shown}, outside {where}")
    if not found.closed:
        return Solution(None, f"sympy could not solve the equation for {target} (no closed form)")
    return Solution(None, f"no real {target} satisfies the equation")


def _num(v) -> str:
    return "inf" if v is None else (f"{v:g}" if isinstance(v, float) else str(v))
