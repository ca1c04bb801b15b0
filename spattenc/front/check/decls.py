"""Front end, checking: global declarations (params, lets, functions, sweeps, cases, the report)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from spattenc.ir.keys import Key
from spattenc.ir import nodes as ir
from spattenc.ir.errors import did_you_mean, fail
from spattenc.ir.visit import const_value
from spattenc.front.check.scope import NAME_CUTOFF, Scope, once


@dataclass
class Globals:
    """Global definitions resolved on demand: those not yet checked, the chain being
    resolved (to report a cycle), and the checked ones."""

    pending: dict[Key, object] = field(default_factory=dict)
    resolving: list[tuple[Key, ir.Loc]] = field(default_factory=list)
    resolved: dict[Key, object] = field(default_factory=dict)


class Decls:
    """Global definitions, checked in any order (each resolved when first used)."""

    def check_param(self, p: ir.Param) -> ir.Param:
        """A param with its default and range checked as literal numbers (default inside the range)."""
        scope = Scope("literal", f"the default of param '{p.name}'")
        default = self.expr(p.default, scope)
        lo = self.expr(p.lo, scope) if p.lo is not None else None
        hi = self.expr(p.hi, scope) if p.hi is not None else None
        value = const_value(default)
        if p.type == "int" and (isinstance(value, bool) or float(value) != int(value)):
            fail(f"param '{p.name}' is declared int but its default {value!r} is not an integer", p.default.loc)
        lo_v = hi_v = None
        if lo is not None and hi is not None:
            lo_v, hi_v = const_value(lo), const_value(hi)
            if lo_v > hi_v:
                fail(f"empty range [{lo_v}, {hi_v}] for param '{p.name}'", p.lo.loc)
            if not (lo_v <= value <= hi_v):
                fail(f"default {value!r} of param '{p.name}' is outside its range [{lo_v}, {hi_v}]", p.default.loc)
        return dataclasses.replace(p, default=default, lo=lo, hi=hi, value=value, lo_value=lo_v, hi_value=hi_v)

    def constant_int(self, e: ir.Expr | None, what: str, default: int) -> int:
        """A literal integer setting ('trials', 'seed', ...), or `default` when absent."""
        if e is None:
            return default
        v = const_value(self.expr(e, Scope("literal", f"'{what}'")))
        if isinstance(v, bool) or float(v) != int(v) or v < (1 if what == "trials" else 0):
            fail(f"'{what}' must be a {'positive' if what == 'trials' else 'non-negative'} integer, got {v!r}", e.loc)
        return int(v)

    def check_func(self, f: ir.Func) -> ir.Func:
        """A function, checked once (resolve_key also checks one on its first call)."""
        return self.resolve_key(Key("func", f.name))

    def resolve_key(self, key: Key):
        """Resolve a global definition on demand (so order in the file does not matter)."""
        if key in self.globals.resolved:
            return self.globals.resolved[key]
        for k, loc in self.globals.resolving:
            if k == key:
                cycle = self.globals.resolving[self.globals.resolving.index((k, loc)):]
                chain = [n.name for n, _ in cycle] + [key.name]
                fail(f"circular definition: {' -> '.join(chain)}", loc)
        kind, name = key.kind, key.name
        if kind == "const":
            let = self.globals.pending[key]
            self.globals.resolving.append((key, let.loc))
            expr = self.expr(let.expr, Scope("const", f"global let '{name}'"))
            self.facts.types[key] = self.type_of(expr, None)
            out = dataclasses.replace(let, expr=expr)
        elif kind == "func":
            f = self.decl.funcs[name]
            self.globals.resolving.append((key, f.loc))
            ptypes = f.param_types or ("real",) * len(f.params)
            for p, t in zip(f.params, ptypes):
                if t.startswith("enum:") and t[5:] not in self.decl.enums:
                    fail(f"unknown type '{t[5:]}' for parameter '{p}' of function '{name}'; expected int, real, "
                         f"bool or an enum ({', '.join(self.decl.enums) or 'none declared'})", f.loc)
            scope = Scope("func", f"function '{name}'", locals=dict(zip(f.params, ptypes)))
            self.local_types.append(scope.locals)
            lets = []
            for let in f.lets:
                if let.name in scope.locals:
                    fail(f"'{let.name}' is defined more than once in function '{name}'", let.loc)
                e = self.expr(let.expr, scope)
                scope.locals[let.name] = self.type_of(e, scope)
                lets.append(dataclasses.replace(let, expr=e))
            body = self.expr(f.body, scope)
            self.facts.func_types[name] = self.type_of(body, scope)
            self.local_types.pop()
            out = dataclasses.replace(f, lets=tuple(lets), body=body, param_types=tuple(ptypes))
        elif kind == "loop":
            lp = self.decl.loops[name]
            self.globals.resolving.append((key, lp.loc))
            out = self.check_loop(lp)
        else:  # pragma: no cover
            raise AssertionError(key)
        self.globals.resolving.pop()
        self.globals.resolved[key] = out
        return out

    def check_sweeps(self, sweeps: tuple[ir.Sweep, ...], params: tuple[ir.Param, ...]) -> tuple[ir.Sweep, ...]:
        """Fold each axis into values, checked against its param's type and range."""
        by_name = {p.name: p for p in params}
        out: list[ir.Sweep] = []
        seen: dict[str, ir.Loc] = {}
        for sw in sweeps:
            once(seen, sw.name, sw.loc, f"sweep '{sw.name}' is defined more than once")
            axes = []
            for ax in sw.axes:
                prm = by_name.get(ax.param)
                if prm is None:
                    defined = ax.param in self.decl.defs or ax.param in self.decl.layer_defs
                    what = "is not a param" if defined else "is not defined"
                    hint = did_you_mean(ax.param, by_name, cutoff=NAME_CUTOFF)
                    fail(f"'{ax.param}' {what}; a sweep axis varies a param{hint}", ax.loc)
                args = [const_value(self.expr(a, Scope("literal", f"a value of axis '{ax.param}'"))) for a in ax.args]
                try:
                    values = axis_values(ax.kind, args, prm.type)
                except ValueError as e:
                    fail(f"axis '{ax.param}': {e}", ax.loc)
                lo, hi = param_range(prm)
                for v in values:
                    if (lo is not None and v < lo) or (hi is not None and v > hi):
                        fail(f"axis '{ax.param}': value {v!r} is outside the declared range [{lo}, {hi}]", ax.loc,
                             (prm.loc, f"'{prm.name}' is declared here"))
                axes.append(dataclasses.replace(ax, values=tuple(values)))
            if sw.combine == "zip":
                lengths = {len(a.values) for a in axes}
                if len(lengths) > 1:
                    desc = ", ".join(f"{a.param}: {len(a.values)}" for a in axes)
                    fail(f"sweep '{sw.name}' zips axes of different lengths ({desc})", sw.loc)
            trials = self.constant_int(sw.trials, "trials", 0) if sw.trials is not None else None
            if sw.table is not None:
                self.check_sweep_table(sw, params)
            out.append(dataclasses.replace(sw, axes=tuple(axes), trials=trials))
        return tuple(out)

    def check_sweep_table(self, sw: ir.Sweep, params: tuple[ir.Param, ...]) -> None:
        """The columns of a sweep's CSV layout: params, or metrics of its design; each once."""
        t = sw.table
        design = self.known_design(t.design, self.m.designs)
        metrics = [mt.name for mt in design.metrics]
        known = [p.name for p in params] + metrics
        seen: dict[str, ir.Loc] = {}
        for col in t.columns:
            once(seen, col.name, col.loc, f"column '{col.name}' is listed twice", "first listed here")
            if col.name not in known:
                hint = did_you_mean(col.name, known, cutoff=NAME_CUTOFF)
                fail(f"column '{col.name}' is neither a param nor a metric of design '{design.name}'{hint}", col.loc)
        if t.aggregate is not None and t.aggregate.name not in seen:
            fail(f"'aggregate {t.aggregate.name}': '{t.aggregate.name}' is not one of the sweep's columns",
                 t.aggregate.loc)

    def check_cases(self, all_cases: tuple[ir.Cases, ...],
                    checked: tuple[ir.Param, ...]) -> tuple[ir.Cases, ...]:
        """Each `cases` block: every case sets params to literal values of their type and range."""
        out = []
        seen: dict[str, ir.Loc] = {}
        params = {p.name: p for p in checked}
        for cs in all_cases:
            once(seen, cs.name, cs.loc, f"cases '{cs.name}' is defined more than once")
            cases = []
            for case in cs.cases:
                sets = []
                for st in case.sets:
                    p = params.get(st.name)
                    if p is None:
                        fail(f"case {case.label!r} sets '{st.name}', which is not a param"
                             + did_you_mean(st.name, params, cutoff=NAME_CUTOFF), st.loc)
                    value = self.expr(st.value, Scope("literal", f"the value of '{st.name}' in case {case.label!r}"))
                    v = const_value(value)
                    if p.type == "bool" and not isinstance(v, bool):
                        fail(f"param '{p.name}' is bool; set it to true or false", st.value.loc)
                    if p.type != "bool" and isinstance(v, bool):
                        fail(f"param '{p.name}' is {p.type}; set it to a number", st.value.loc)
                    if p.type == "int" and float(v) != int(v):
                        fail(f"param '{p.name}' is int but {v!r} is not an integer", st.value.loc)
                    lo, hi = param_range(p)
                    if (lo is not None and v < lo) or (hi is not None and v > hi):
                        fail(f"{v!r} is outside the declared range [{lo}, {hi}] of '{p.name}'", st.value.loc,
                             (p.loc, f"'{p.name}' is declared here"))
                    sets.append(dataclasses.replace(st, value=value))
                cases.append(dataclasses.replace(case, sets=tuple(sets)))
            out.append(dataclasses.replace(cs, cases=tuple(cases)))
        return tuple(out)

    def check_report(self, r: ir.Report) -> ir.Report:
        """The report block, its entries checked in the report scope."""
        return dataclasses.replace(r, items=self.report_items(r.items, top=True))

    def report_items(self, items, top: bool, in_points: bool = False, prefix: str = ""):
        """Report entries (values, objects, points, first/solve), each key once per level."""
        out = []
        seen: dict[str, ir.Loc] = {}
        for it in items:
            once(seen, it.name, it.loc, f"report key '{it.name}' is used more than once here", "first used here")
            scope = Scope("report", f"report entry '{it.name}'")
            match it.kind:
                case "value":
                    e = self.expr(it.expr, scope)
                    self.facts.types[Key("report", f"{prefix}{it.name}")] = self.type_of(e, scope)
                    out.append(dataclasses.replace(it, expr=e))
                case "object":
                    out.append(dataclasses.replace(it, items=self.report_items(it.items, False, in_points,
                                                                                 f"{prefix}{it.name}.")))
                case "points":
                    if not top:
                        fail("'points' must be at the top level of the report", it.loc)
                    for p in it.params:
                        if p not in {x.name for x in self.m.params}:
                            fail(f"'points {p}': '{p}' is not a param", it.loc)
                    out.append(dataclasses.replace(it, items=self.report_items(it.items, False, True, "points.")))
                case "first" | "solve":
                    if in_points:
                        fail(f"'{it.kind}' looks across all points; put it outside 'points'", it.loc)
                    e = self.expr(it.expr, scope)
                    cond = self.expr(it.cond, scope)
                    if it.kind == "first" and self.type_of(cond, scope) != "bool":
                        fail("'first ... where' needs a condition", it.cond.loc)
                    if it.kind == "first":
                        self.facts.types[Key("report", f"{prefix}{it.name}")] = self.type_of(e, scope)
                    if it.kind == "solve":
                        if not (isinstance(e, ir.Ref) and e.scope == "param"):
                            fail("'solve NAME where ...' needs a param name", it.expr.loc)
                        if self.m.params and self.prog_param(e.name).type == "bool":
                            fail(f"cannot solve for the condition param '{e.name}'", it.expr.loc)
                        if not (isinstance(cond, ir.Binary) and cond.op == "=="):
                            fail("'solve' needs an equation: solve NAME where EXPR == EXPR", it.cond.loc)
                    out.append(dataclasses.replace(it, expr=e, cond=cond))
        return tuple(out)

    def prog_param(self, name: str) -> ir.Param:
        """The declared param `name`."""
        return next(p for p in self.m.params if p.name == name)


def _sig(v: float) -> float:
    """`v` rounded to 15 significant digits: drops the last-bit noise of generated grids
    (0.15000000000000002 -> 0.15) so a grid value typed back with --set is the same number."""
    return float(f"{v:.15g}")


#: The most values a sweep axis written in a spec may have (a larger grid is an option's job:
#: `eval --sweep` streams its points; an axis is held as a list).
MAX_AXIS_VALUES = 1_000_000


def _axis_size(kind: str, count) -> int:
    """`count` values, refused (ValueError) over MAX_AXIS_VALUES."""
    if count > MAX_AXIS_VALUES:
        raise ValueError(f"{kind}() gives {float(count):.3g} values, more than the {MAX_AXIS_VALUES:,} "
                         "an axis may have")
    return int(count)


def axis_values(kind: str, args: list, ptype: str) -> list:
    """The values of a sweep axis: a list, range(start, stop[, step]) with Python's
    exclusive stop, linspace(start, stop, num) or geomspace(start, stop, num) (both
    inclusive).  Values are converted to the param's type; ValueError explains a misfit."""
    import numpy as np

    if kind == "list":
        values = list(args)
    elif kind == "range":
        start, stop, step = (0, args[0], 1) if len(args) == 1 else (args[0], args[1], args[2] if len(args) > 2 else 1)
        if step == 0:
            raise ValueError("range() step must not be zero")
        if all(isinstance(x, int) and not isinstance(x, bool) for x in (start, stop, step)):
            _axis_size(kind, len(range(start, stop, step)))
            values = list(range(start, stop, step))
        else:
            count = max(0, _axis_size(kind, np.ceil((stop - start) / step)))
            values = [_sig(start + i * step) for i in range(count)]
    else:
        start, stop, num = args
        _axis_size(kind, num)
        if isinstance(num, bool) or float(num) != int(num) or num < 1:
            raise ValueError(f"{kind}() num must be a positive integer, got {num!r}")
        if kind == "geomspace" and (start <= 0 or stop <= 0):
            raise ValueError("geomspace() needs positive start and stop")
        gen = np.linspace if kind == "linspace" else np.geomspace
        values = [_sig(float(v)) for v in gen(float(start), float(stop), int(num))]
    if not values:
        raise ValueError(f"{kind}{'' if kind == 'list' else '()'} gives no values")
    out = []
    for v in values:
        if ptype == "bool":
            if not isinstance(v, bool):
                raise ValueError(f"the param is bool; got {v!r} (use true or false)")
            out.append(v)
        elif isinstance(v, bool):
            raise ValueError(f"the param is {ptype}; got the condition {str(v).lower()}")
        elif ptype == "int":
            if float(v) != int(v):
                raise ValueError(f"the param is int; {v!r} is not an integer")
            out.append(int(v))
        else:
            out.append(float(v))
    return out


def param_range(p: ir.Param) -> tuple:
    """A checked param's declared (lo, hi) as values; None for an open end."""
    return (p.lo_value, p.hi_value)
