"""Front end, phase 2: resolve names, infer types and randomness, order definitions.

Turns a parsed `Module` into a checked `Program`.  Every user error is raised with the
location of the offending text (and, for conflicts, of the other place involved).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

from . import ir
from .errors import fail
from .catalog import (BUILTINS, DISTRIBUTIONS, LAYER_REDUCTIONS, TRIAL_REDUCTIONS, binary_result, builtin_result,
                      reduction_result)
from .visit import const_value
from .ir import children, walk

# Builtins and reductions (names, arities, result types) are the catalog's.
#: Ref scopes of per-row values in a table spec.
ROW_SCOPES = ("column", "row", "stage", "random", "index")
RESERVED = {"start", "end", "true", "false", "given"} | set(BUILTINS) | set(LAYER_REDUCTIONS)
SCALAR_TYPES = ("int", "real", "bool", "string")
TIME_ATTRS = ("start", "end")
#: Ports every hand-written DUT has (see docs/verilog.md); spec ports cannot reuse them.
HW_PORTS = {"clk", "rst", "start", "done", "layer", "layer_done"}


@dataclass
class _Scope:
    """What an expression may see.  `level` is one of const | func | layer | design |
    metric | compare; `what` names the context for messages."""

    level: str
    what: str
    design: str | None = None
    locals: dict[str, str] = field(default_factory=dict)  # function params/lets, comprehension vars -> type
    in_reduction: bool = False
    input: str | None = None  # level 'input': the input whose fields are in scope
    before: frozenset[str] | None = None  # level 'input': leaves declared so far (None: all)
    prefix: tuple[str, ...] = ()  # level 'input': the enclosing group (names resolve innermost first)
    group: str | None = None  # level 'group': the group whose lets are being checked


class _Checker:
    def __init__(self, module: ir.Module):
        self.m = module
        self.types: dict[str, str] = {}
        self.random: set[str] = set()
        self.defs: dict[str, tuple[str, ir.Loc]] = {}  # global name -> (scoped key, loc)
        self.funcs: dict[str, ir.Func] = {f.name: f for f in module.funcs}
        self.func_types: dict[str, str] = {}
        self.layer_defs: dict[str, tuple[str, object]] = {}
        self.design_defs: dict[str, dict[str, tuple[str, object]]] = {}
        self.scheduled: dict[str, set[str]] = {}
        self.metric_random: set[tuple[str, str]] = set()
        self.reduce_slot = 0
        self.pending: dict[str, object] = {}
        self.resolving: list[tuple[str, ir.Loc]] = []
        self.resolved: dict[str, object] = {}
        self.implicit_layers = False
        self.enums: dict[str, ir.Enum] = {e.name: e for e in module.enums}
        self.records: dict[str, ir.Record] = {r.name: r for r in module.records}
        self.inputs: dict[str, ir.Input] = {}  # checked, records expanded
        self.leaves: dict[str, ir.Leaf] = {}
        self.local_types: list[dict[str, str]] = []
        self.compare_names: dict[str, ir.Loc] = {}
        # Table specs (a rows block over an input table) and loops.
        self.rows_mode = module.rows is not None
        self.item_word = "per-row" if self.rows_mode else "per-layer"
        self.tables: dict[str, ir.TableInput] = {}
        self.groups: dict[str, ir.Group] = {g.name: g for g in module.groups}
        self.group_lets: dict[str, tuple[str, ir.Let]] = {}  # let name -> (group, let)
        self.group_keys: dict[str, dict[str, str]] = {}  # group -> key -> type
        self.loops: dict[str, ir.Loop] = {lp.name: lp for lp in module.loops}
        self.loop_types: dict[str, str] = {}
        self.loop_random: set[str] = set()

    # ------------------------------------------------------------ declarations
    def declare(self, name: str, key: str, loc: ir.Loc, table: dict | None = None):
        table = self.defs if table is None else table
        if name in RESERVED:
            fail(f"'{name}' is a reserved name and cannot be defined", loc)
        for t in (self.defs, self.layer_defs) + ((table,) if table is not self.defs and table is not self.layer_defs else ()):
            if name in t:
                other = t[name][1]
                other_loc = other if isinstance(other, ir.Loc) else other.loc
                fail(f"'{name}' is defined more than once", loc, (other_loc, "first defined here"))
        table[name] = (key, loc)

    def run(self) -> ir.Program:
        m = self.m
        if m.name is None:
            fail("missing 'spec NAME' declaration (e.g. spec my_model \"A title\")",
                 ir.Loc(m.file, 1, 1, 1, 2))
        for p in m.params:
            self.declare(p.name, f"param:{p.name}", p.loc)
            self.types[f"param:{p.name}"] = p.type
        for let in m.lets:
            self.declare(let.name, f"const:{let.name}", let.loc)
            self.pending[f"const:{let.name}"] = let
        for f in m.funcs:
            self.declare(f.name, f"func:{f.name}", f.loc)
            if f.name in BUILTINS:
                fail(f"'{f.name}' is a builtin function and cannot be redefined", f.loc)
            if len(set(f.params)) != len(f.params):
                fail(f"function '{f.name}' repeats a parameter name", f.loc)
        for d in m.designs:
            self.declare(d.name, f"design:{d.name}", d.loc)
        for e in m.enums:
            self.declare(e.name, f"enum:{e.name}", e.loc)
            for member in e.members:
                if member in ("start", "end"):
                    fail(f"'{member}' is a reserved name and cannot be an enum member", e.loc)
        for r in m.records:
            self.declare(r.name, f"record:{r.name}", r.loc)
        for inp in m.inputs:
            self.declare(inp.name, f"input:{inp.name}", inp.loc)
        for t in m.tables:
            self.declare(t.name, f"table:{t.name}", t.loc)
            self.tables[t.name] = t
            for col in t.columns:
                column_bound(col)
        for inp in m.inputs:
            self.inputs[inp.name] = self.check_input(inp)
        for lp in m.loops:
            self.declare(lp.name, f"loop:{lp.name}", lp.loc)
            if lp.name in BUILTINS:
                fail(f"'{lp.name}' is a builtin function and cannot be redefined", lp.loc)
        for g in m.groups:
            self.declare(g.name, f"group:{g.name}", g.loc)
        for g in m.groups:
            for let in g.lets:
                self.declare(let.name, f"group:{g.name}:{let.name}", let.loc)
                self.group_lets[let.name] = (g.name, let)
        if m.layers is not None and m.rows is not None:
            fail("a spec iterates either over layers or over the rows of a table, not both", m.rows.loc,
                 (m.layers.loc, "the layers block is here"))
        if m.groups and not self.rows_mode:
            fail(f"group '{m.groups[0].name}' needs a table: groups partition the rows of a 'rows' block",
                 m.groups[0].loc)
        if len(m.tables) > 1:
            fail(f"a spec reads at most one input table; '{m.tables[1].name}' is a second one", m.tables[1].loc,
                 (m.tables[0].loc, "first input table here"))
        if m.tables and not self.rows_mode:
            fail(f"input '{m.tables[0].name}' is not read: add a rows block (rows r in {m.tables[0].name} {{ ... }})",
                 m.tables[0].loc)
        if self.rows_mode:
            if not m.designs:
                fail("a spec needs at least one 'design' block", m.rows.loc)
            self.declare_rows(m.rows)
        else:
            if m.layers is None:
                # No per-layer structure (e.g. a roofline model): one implicit layer, and
                # metrics read per-layer values directly.
                self.implicit_layers = True
                m = dataclasses.replace(m, layers=ir.Layers(ir.NOWHERE, "_l", ir.Num(ir.NOWHERE, 1, True), ()))
                self.m = m
            if not m.designs:
                fail("a spec needs at least one 'design' block", m.layers.loc)
            self.declare_layers(m.layers)

        params = tuple(self.check_param(p) for p in m.params)
        consts = tuple(self.resolve_key(f"const:{let.name}") for let in m.lets)
        funcs = tuple(self.check_func(f) for f in m.funcs)

        trials = self.constant_int(m.trials, "trials", 50)
        seed = self.constant_int(m.seed, "seed", 0)
        if self.rows_mode:
            layers, layer_items = None, ()
            rows, row_items = self.check_rows(m.rows)
            groups = self.check_groups()
        else:
            layers, layer_items = self.check_layers(m.layers)
            rows, row_items, groups = None, (), ()
        designs = tuple(self.check_design(d) for d in m.designs)
        loops = tuple(self.resolve_key(f"loop:{lp.name}") for lp in m.loops)
        cases = self.check_cases(m.cases, params)
        compares = []
        seen_c = self.compare_names
        for c in m.compares:
            if c.name in seen_c or c.name in self.defs:
                other = seen_c.get(c.name) or self.defs[c.name][1]
                fail(f"'{c.name}' is defined more than once", c.loc, (other, "first defined here"))
            scope = _Scope("compare", f"comparison '{c.name}'")
            expr = self.expr(c.expr, scope)
            self.types[f"compare:{c.name}"] = self.type_of(expr, scope)
            seen_c[c.name] = c.loc
            compares.append(dataclasses.replace(c, expr=expr))
        sweeps = self.check_sweeps(m.sweeps, params)
        measured = self.check_measured(m.measured, designs)
        roofline = self.check_roofline(m.roofline, designs) if m.roofline is not None else None
        solves = self.check_solves(m.solves)
        report = self.check_report(m.report) if m.report is not None else None
        hardware = tuple(self.check_hardware(h, params) for h in m.hardware)
        seen_h: dict[str, ir.Loc] = {}
        for h in hardware:
            if h.name in seen_h:
                fail(f"hardware '{h.name}' is declared more than once", h.loc, (seen_h[h.name], "first declared here"))
            seen_h[h.name] = h.loc
        return ir.Program(
            file=m.file, source=m.source, name=m.name, title=m.title, trials=trials, seed=seed,
            params=params, consts=consts, funcs=funcs, layers=layers, layer_items=layer_items,
            designs=designs, compares=tuple(compares), types=dict(sorted(self.types.items())),
            random=frozenset(self.random), sweeps=sweeps, measured=measured, roofline=roofline, solves=solves,
            enums=tuple(m.enums), inputs=tuple(self.inputs.values()),
            leaves=tuple(self.leaves.values()), report=report,
            tables=m.tables, rows=rows, row_items=row_items, groups=groups, loops=loops, cases=cases,
            fixed=m.fixed or ir.DEFAULT_FIXED, hardware=hardware,
        )

    # ------------------------------------------------------------ sweeps
    def check_sweeps(self, sweeps: tuple[ir.Sweep, ...], params: tuple[ir.Param, ...]) -> tuple[ir.Sweep, ...]:
        """Fold each axis into values, checked against its param's type and range."""
        by_name = {p.name: p for p in params}
        out: list[ir.Sweep] = []
        seen: dict[str, ir.Loc] = {}
        for sw in sweeps:
            if sw.name in seen:
                fail(f"sweep '{sw.name}' is defined more than once", sw.loc, (seen[sw.name], "first defined here"))
            seen[sw.name] = sw.loc
            axes = []
            for ax in sw.axes:
                prm = by_name.get(ax.param)
                if prm is None:
                    what = "is not a param" if ax.param in self.defs or ax.param in self.layer_defs else "is not defined"
                    close = _close(ax.param, sorted(by_name))
                    hint = f"; did you mean '{close}'?" if close else ""
                    fail(f"'{ax.param}' {what}; a sweep axis varies a param{hint}", ax.loc)
                args = [const_value(self.expr(a, _Scope("literal", f"a value of axis '{ax.param}'"))) for a in ax.args]
                try:
                    values = axis_values(ax.kind, args, prm.type)
                except ValueError as e:
                    fail(f"axis '{ax.param}': {e}", ax.loc)
                lo, hi = _param_range(prm)
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
            if col.name in seen:
                fail(f"column '{col.name}' is listed twice", col.loc, (seen[col.name], "first listed here"))
            seen[col.name] = col.loc
            if col.name not in known:
                close = _close(col.name, known)
                hint = f"; did you mean '{close}'?" if close else ""
                fail(f"column '{col.name}' is neither a param nor a metric of design '{design.name}'{hint}", col.loc)
        if t.aggregate is not None and t.aggregate.name not in seen:
            fail(f"'aggregate {t.aggregate.name}': '{t.aggregate.name}' is not one of the sweep's columns",
                 t.aggregate.loc)

    def check_param(self, p: ir.Param) -> ir.Param:
        scope = _Scope("literal", f"the default of param '{p.name}'")
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

    def check_hardware(self, h: ir.Hardware, params: tuple[ir.Param, ...]) -> ir.Hardware:
        """A hardware block: inputs are params, constants or random variables; outputs are
        checked like the design's metrics (per run) and lets (per layer)."""
        if h.design not in self.design_defs:
            fail(f"unknown design '{h.design}'; designs: {', '.join(self.design_defs)}", h.design_loc)
        ports: dict[str, ir.Loc] = {}

        def port(name: str, loc: ir.Loc):
            if name in HW_PORTS:
                fail(f"'{name}' is a port every DUT has ({', '.join(sorted(HW_PORTS))}); choose another name", loc)
            if name in ports:
                fail(f"port '{name}' of hardware '{h.name}' is declared more than once", loc,
                     (ports[name], "first declared here"))
            ports[name] = loc

        inputs = []
        for i in h.inputs:
            port(i.name, i.loc)
            key = self.defs.get(i.name, (None,))[0] or self.layer_defs.get(i.name, (None,))[0]
            kind = key.split(":")[0] if isinstance(key, str) else None
            if kind not in ("param", "const", "random"):
                what = "not defined" if kind is None else f"a {'per-layer quantity' if kind in ('layer', 'state', 'stage', 'index') else kind}"
                fail(f"DUT input '{i.name}' is {what}; inputs are params, constants or random variables "
                     "(the DUT computes everything else)", i.loc)
            if kind == "const":
                self.resolve_key(key)
            inputs.append(dataclasses.replace(i, scope=kind))
        by_name = {p.name: p for p in params}
        limits = []
        limited: dict[str, ir.Loc] = {}
        for lim in h.limits:
            if lim.param not in by_name:
                fail(f"'{lim.param}' is not a param; 'limit' narrows a param's range", lim.loc)
            if lim.param in limited:
                fail(f"param '{lim.param}' is limited more than once", lim.loc, (limited[lim.param], "first here"))
            limited[lim.param] = lim.loc
            scope = _Scope("literal", f"the limit of '{lim.param}'")
            lo, hi = self.expr(lim.lo, scope), self.expr(lim.hi, scope)
            lo_v, hi_v = const_value(lo), const_value(hi)
            p = by_name[lim.param]
            if lo_v > hi_v:
                fail(f"empty limit [{lo_v}, {hi_v}] for param '{lim.param}'", lim.loc)
            plo, phi = _param_range(p)
            if (plo is not None and lo_v < plo) or (phi is not None and hi_v > phi):
                fail(f"limit [{lo_v}, {hi_v}] of '{lim.param}' is outside its declared range [{plo}, {phi}]",
                     lim.loc, (p.loc, "declared here"))
            limits.append(dataclasses.replace(lim, lo=lo, hi=hi))
        outputs = []
        for o in h.outputs:
            port(o.name, o.loc)
            self.reduce_slot = 0
            scope = _Scope("metric", f"output '{o.name}' of hardware '{h.name}'", design=h.design)
            e = self.expr(o.expr, scope)
            self.types[f"hw:{h.name}:{o.name}"] = self.type_of(e, None)
            outputs.append(dataclasses.replace(o, expr=e))
        layer_outputs = []
        for o in h.layer_outputs:
            port(o.name, o.loc)
            scope = _Scope("design", f"layer output '{o.name}' of hardware '{h.name}'", design=h.design)
            e = self.expr(o.expr, scope)
            self.types[f"hw:{h.name}:{o.name}"] = self.type_of(e, None)
            layer_outputs.append(dataclasses.replace(o, expr=e))
        if not outputs and not layer_outputs:
            fail(f"hardware '{h.name}' declares no outputs to check (output NAME = EXPR, "
                 "or output layer NAME = EXPR)", h.loc)
        configs = self.constant_int(h.configs, "configs", 200) if not isinstance(h.configs, int) else h.configs
        if configs < 1:
            fail("'configs' must be a positive integer", h.loc)
        max_cycles = None
        if h.max_cycles is not None and not isinstance(h.max_cycles, int):
            max_cycles = self.constant_int(h.max_cycles, "max_cycles", 0)
        return dataclasses.replace(h, inputs=tuple(inputs), limits=tuple(limits), outputs=tuple(outputs),
                                   layer_outputs=tuple(layer_outputs), configs=configs, max_cycles=max_cycles)

    def constant_int(self, e: ir.Expr | None, what: str, default: int) -> int:
        if e is None:
            return default
        v = const_value(self.expr(e, _Scope("literal", f"'{what}'")))
        if isinstance(v, bool) or float(v) != int(v) or v < (1 if what == "trials" else 0):
            fail(f"'{what}' must be a {'positive' if what == 'trials' else 'non-negative'} integer, got {v!r}", e.loc)
        return int(v)

    def check_func(self, f: ir.Func) -> ir.Func:
        return self.resolve_key(f"func:{f.name}")

    def resolve_key(self, key: str):
        """Resolve a global definition on demand (so order in the file does not matter)."""
        if key in self.resolved:
            return self.resolved[key]
        for k, loc in self.resolving:
            if k == key:
                chain = [n.split(":", 1)[1] for n, _ in self.resolving[self.resolving.index((k, loc)):]] + [key.split(":", 1)[1]]
                fail(f"circular definition: {' -> '.join(chain)}", loc)
        kind, name = key.split(":", 1)
        if kind == "const":
            let = self.pending[key]
            self.resolving.append((key, let.loc))
            expr = self.expr(let.expr, _Scope("const", f"global let '{name}'"))
            self.types[key] = self.type_of(expr, None)
            out = dataclasses.replace(let, expr=expr)
        elif kind == "func":
            f = self.funcs[name]
            self.resolving.append((key, f.loc))
            ptypes = f.param_types or ("real",) * len(f.params)
            for p, t in zip(f.params, ptypes):
                if t.startswith("enum:") and t[5:] not in self.enums:
                    fail(f"unknown type '{t[5:]}' for parameter '{p}' of function '{name}'; expected int, real, "
                         f"bool or an enum ({', '.join(self.enums) or 'none declared'})", f.loc)
            scope = _Scope("func", f"function '{name}'", locals=dict(zip(f.params, ptypes)))
            self.local_types.append(scope.locals)
            lets = []
            for let in f.lets:
                if let.name in scope.locals:
                    fail(f"'{let.name}' is defined more than once in function '{name}'", let.loc)
                e = self.expr(let.expr, scope)
                scope.locals[let.name] = self.type_of(e, scope)
                lets.append(dataclasses.replace(let, expr=e))
            body = self.expr(f.body, scope)
            self.func_types[name] = self.type_of(body, scope)
            self.local_types.pop()
            out = dataclasses.replace(f, lets=tuple(lets), body=body, param_types=tuple(ptypes))
        elif kind == "loop":
            lp = self.loops[name]
            self.resolving.append((key, lp.loc))
            out = self.check_loop(lp)
        else:  # pragma: no cover
            raise AssertionError(key)
        self.resolving.pop()
        self.resolved[key] = out
        return out

    # ------------------------------------------------------------ layers
    def declare_layers(self, layers: ir.Layers):
        """Declare the layer index and per-layer names before any global definition is
        checked, so a global that uses one is told it is per-layer (not unknown)."""
        if layers.index in self.defs or layers.index in RESERVED:
            other = self.defs.get(layers.index)
            fail(f"layer index '{layers.index}' is already defined", layers.loc,
                 *((other[1], "defined here"),) if other else ())
        self.layer_defs[layers.index] = ("index", layers.loc)
        self.types[f"index:{layers.index}"] = "int"
        for item in layers.items:
            key = {ir.Let: "layer", ir.State: "state", ir.Random: "random", ir.Stage: "stage"}[type(item)]
            self.declare(item.name, f"{key}:{item.name}", item.loc, self.layer_defs)
            self.layer_defs[item.name] = (f"{key}:{item.name}", item)

    def check_layers(self, layers: ir.Layers):
        count = self.expr(layers.count, _Scope("const", "the layer count"))
        if self.type_of(count, None) not in ("int",):
            fail("the layer count must be an integer (use trunc/round/floor/ceil on a real)", layers.count.loc)
        # States first: their type comes from the initial value, and they are inputs to the layer.
        states = [i for i in layers.items if isinstance(i, ir.State)]
        resolved: dict[str, object] = {}
        for s in states:
            init = self.expr(s.init, _Scope("layer", f"the initial value of state '{s.name}'"))
            t = self.type_of(init, None)
            if s.type is not None:
                if s.type == "int" and t == "real":
                    fail(f"state '{s.name}' is declared int but its initial value is real "
                         "(use trunc/round/floor/ceil)", s.init.loc)
                t = s.type
            self.types[f"state:{s.name}"] = t
            if self.is_random(init):
                self.random.add(f"state:{s.name}")
            resolved[s.name] = init
        done, order = self.check_items([i for i in layers.items if not isinstance(i, ir.State)])
        # Then the states' next values (they may use any layer quantity).
        new_states = {}
        for s in states:
            nxt = self.expr(s.next, _Scope("layer", f"the next value of state '{s.name}'"))
            t, tn = self.types[f"state:{s.name}"], self.type_of(nxt, None)
            if t == "int" and tn == "real":
                fail(f"state '{s.name}' is int but its next value is real (use trunc/round/floor/ceil)", s.next.loc)
            if self.is_random(nxt):
                self.random.add(f"state:{s.name}")
            new_states[s.name] = dataclasses.replace(s, init=resolved[s.name], next=nxt, type=t)
        # A state that becomes random makes everything using it random: recompute.
        if any(f"state:{s.name}" in self.random for s in states):
            for name in order:
                item = done[name]
                key = self.layer_defs[name][0]
                expr = item.expr if not isinstance(item, ir.Random) else None
                if expr is not None and self.is_random(expr):
                    self.random.add(key)
        items = tuple(new_states[s.name] for s in states) + tuple(done[n] for n in order)
        return dataclasses.replace(layers, count=count, items=tuple(new_states[i.name] if isinstance(i, ir.State) else done[i.name] for i in layers.items)), items

    # ------------------------------------------------------------ tables: rows and groups
    def declare_rows(self, rows: ir.Rows):
        """Declare the row index, the table's columns and the per-row names before any
        global definition is checked (as declare_layers does for layers)."""
        table = self.tables.get(rows.table)
        if table is None:
            known = ", ".join(self.tables) or "none declared"
            fail(f"rows block reads unknown input '{rows.table}' (inputs: {known}); declare it with "
                 f"input {rows.table}: table {{ column NAME: int ... }}", rows.loc)
        if rows.index in self.defs or rows.index in RESERVED:
            other = self.defs.get(rows.index)
            fail(f"row index '{rows.index}' is already defined", rows.loc,
                 *((other[1], "defined here"),) if other else ())
        self.layer_defs[rows.index] = ("index", rows.loc)
        self.types[f"index:{rows.index}"] = "int"
        for col in table.columns:
            self.declare(col.name, f"column:{col.name}", col.loc, self.layer_defs)
            self.layer_defs[col.name] = (f"column:{col.name}", col.loc)
            self.types[f"column:{col.name}"] = col.type
        for item in rows.items:
            key = {ir.Let: "row", ir.Random: "random", ir.Stage: "stage"}[type(item)]
            self.declare(item.name, f"{key}:{item.name}", item.loc, self.layer_defs)
            self.layer_defs[item.name] = (f"{key}:{item.name}", item)

    def check_cap(self, item: ir.Random, args: tuple[ir.Expr, ...]) -> None:
        """A draw's declared `max` (its last argument) must be an integer."""
        if DISTRIBUTIONS[item.dist].capped and len(args) > len(DISTRIBUTIONS[item.dist].params):
            if self.type_of(args[-1], None) != "int":
                fail(f"the max of a {item.dist} draw must be an integer (use trunc/round/floor/ceil)", args[-1].loc)

    def check_items(self, items) -> tuple[dict[str, object], list[str]]:
        """Check per-layer or per-row lets, stages and randoms in dependency order: returns
        ({name: checked item}, names in evaluation order); a cycle is an error."""
        def check(name: str, item):
            key = self.layer_defs[name][0]
            scope = _Scope("layer", f"'{name}'")
            if isinstance(item, ir.Random):
                args = tuple(self.expr(a, scope) for a in item.args)
                if item.dist == "binomial" and self.type_of(args[0], None) != "int":
                    what = f"'{_show(item.args[0])}' is" if isinstance(item.args[0], ir.Name) else "this expression is"
                    fail(f"binomial n must be an integer, but {what} real (use trunc/round/floor/ceil)",
                         item.args[0].loc)
                self.check_cap(item, args)
                self.types[key] = DISTRIBUTIONS[item.dist].value
                self.random.add(key)
                return dataclasses.replace(item, args=args)
            e = self.expr(item.expr, scope)
            self.types[key] = self.type_of(e, None)
            if self.is_random(e):
                self.random.add(key)
            return dataclasses.replace(item, expr=e)

        return _dependency_order([i.name for i in items], lambda n: self.layer_defs[n][1],
                                 lambda item: _layer_deps(item, self.layer_defs), check)

    def check_rows(self, rows: ir.Rows):
        """The per-row block: lets/stages/randoms in dependency order."""
        done, order = self.check_items(rows.items)
        checked = dataclasses.replace(rows, items=tuple(done[i.name] for i in rows.items))
        return checked, tuple(done[n] for n in order)

    def check_groups(self) -> tuple[ir.Group, ...]:
        """Groups in dependency order (a group after the group it is built from)."""
        out: list[ir.Group] = []
        state: dict[str, str] = {}

        def visit(g: ir.Group, via: list[ir.Group]):
            if state.get(g.name) == "done":
                return
            if state.get(g.name) == "visiting":
                chain = " -> ".join(x.name for x in via[via.index(g):]) + f" -> {g.name}"
                fail(f"circular group sources: {chain}", g.loc)
            state[g.name] = "visiting"
            if g.source is not None:
                if g.source not in self.groups:
                    known = ", ".join(self.groups) or "none"
                    fail(f"group '{g.name}' is built from unknown group '{g.source}' (groups: {known})", g.loc)
                visit(self.groups[g.source], via + [g])
            out.append(self.check_group(g))
            state[g.name] = "done"

        for g in self.groups.values():
            visit(g, [])
        return tuple(out)

    def check_group(self, g: ir.Group) -> ir.Group:
        if g.source is None:
            avail = {c.name: c.type for c in self.tables[self.m.rows.table].columns}
            where = f"is not a column of table '{self.m.rows.table}'"
        else:
            avail = self.group_keys[g.source]
            where = f"is not a key of group '{g.source}' (its keys: {', '.join(avail)})"
        keys: dict[str, str] = {}
        for k, loc in zip(g.keys, g.key_locs):
            if k not in avail:
                close = _close(k, list(avail))
                fail(f"group '{g.name}' cannot group by '{k}': it {where}"
                     + (f"; did you mean '{close}'?" if close else ""), loc)
            if k in keys:
                fail(f"key '{k}' appears twice in group '{g.name}'", loc)
            keys[k] = avail[k]
        self.group_keys[g.name] = keys
        mine = {let.name: let for let in g.lets}

        def check(name: str, let: ir.Let) -> ir.Let:
            scope = _Scope("group", f"'{name}' in group '{g.name}'", group=g.name)
            e = self.expr(let.expr, scope)
            key = f"group:{g.name}:{name}"
            self.types[key] = self.type_of(e, scope)
            if self.is_random(e):
                self.random.add(key)
            return dataclasses.replace(let, expr=e)

        done, _ = _dependency_order(list(mine), mine.__getitem__,
                                    lambda let: [n for n in _names(let.expr) if n in mine], check)
        return dataclasses.replace(g, lets=tuple(done[let.name] for let in g.lets))

    def group_name(self, name: str, loc: ir.Loc, scope: _Scope) -> ir.Expr | None:
        """Resolve `name` where per-group values may be visible; None to fall through."""
        owner = self.group_lets.get(name)
        if scope.level == "group":
            g = self.groups[scope.group]
            if not scope.in_reduction:
                if name in self.group_keys[g.name]:
                    return ir.GroupRef(loc, g.name, name, "key")
                if owner is not None and owner[0] == g.name:
                    return ir.GroupRef(loc, g.name, name, "let")
                if owner is not None:
                    fail(f"'{name}' belongs to group '{owner[0]}'; group '{g.name}' can read only its own "
                         "values and keys", loc)
                if name in self.layer_defs:
                    fail(f"'{name}' is a per-row quantity; in group '{g.name}' use it inside a reduction "
                         "(sum, mean, count, first, last, max_over, min_over)", loc)
                return None
            src = g.source
            if owner is not None and owner[0] == g.name:
                fail(f"'{name}' is a value of group '{g.name}' itself; a reduction runs over the group's "
                     f"{'rows' if src is None else 'members (groups of ' + repr(src) + ')'}", loc)
            if src is None:
                if owner is not None:
                    fail(f"'{name}' belongs to group '{owner[0]}'; group '{g.name}' reduces table rows", loc)
                return None
            if name in self.group_keys[src]:
                return ir.GroupRef(loc, src, name, "key")
            if owner is not None and owner[0] == src:
                return ir.GroupRef(loc, src, name, "let")
            if owner is not None or name in self.layer_defs:
                fail(f"group '{g.name}' reduces over the groups of '{src}'; '{name}' is not one of its "
                     f"values (reduce it in group '{src}' first)", loc)
            return None
        if owner is None:
            return None
        if scope.level == "design" and scope.in_reduction:
            return ir.GroupRef(loc, owner[0], name, "let")
        if scope.level == "metric":
            fail(f"'{name}' is a per-group value of '{owner[0]}'; use it inside a reduction (sum, mean, ...)", loc)
        if scope.level == "layer":
            fail(f"'{name}' is a per-group value of '{owner[0]}'; rows cannot read group values", loc)
        fail(f"'{name}' is a per-group value of '{owner[0]}'; it is available in metrics, inside a reduction", loc)

    def reduced(self, e: ir.Call, inner: _Scope, what: str, count_example: str) -> ir.Expr:
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
            fail(f"{f}() takes a number, not a {_tname(t)} value", e.args[0].loc)
        return arg

    def table_reduce(self, e: ir.Call, scope: _Scope) -> ir.Reduce:
        """A reduction in a table spec: over a group's members (in its lets) or over all
        rows / all groups of one group (in a metric: the axis is what the argument reads)."""
        f = e.func
        if scope.in_reduction:
            fail(f"reductions cannot be nested ('{f}' inside another reduction)", e.loc)
        if scope.level == "group":
            inner = _Scope("group", scope.what, group=scope.group, in_reduction=True)
        else:
            inner = _Scope("design", scope.what, design=scope.design, in_reduction=True)
        arg = self.reduced(e, inner, "", " (e.g. count(x > 0))")
        if scope.level == "group":
            src = self.groups[scope.group].source
            return ir.Reduce(e.loc, f, "rows" if src is None else "groups", arg, over=src, within=scope.group)
        groups = sorted({x.group for x in walk(arg) if isinstance(x, ir.GroupRef)})
        row_ref = next((x for x in walk(arg) if isinstance(x, ir.Ref) and x.scope in ROW_SCOPES), None)
        if len(groups) > 1:
            fail(f"{f}() mixes values of groups {', '.join(repr(g) for g in groups)}; reduce one group at a time",
                 e.loc)
        if groups and row_ref is not None:
            fail(f"{f}() mixes per-row '{row_ref.name}' with values of group '{groups[0]}'", row_ref.loc)
        if groups:
            return ir.Reduce(e.loc, f, "groups", arg, over=groups[0])
        return ir.Reduce(e.loc, f, "rows", arg)

    # ------------------------------------------------------------ loops
    def check_loop(self, lp: ir.Loop) -> ir.Loop:
        seen: dict[str, ir.Loc] = {}
        for p in lp.params:
            if p in seen:
                fail(f"loop '{lp.name}' repeats a parameter name", lp.loc)
            seen[p] = lp.loc
        for item in lp.states + lp.items:
            if item.name in RESERVED:
                fail(f"'{item.name}' is a reserved name and cannot be defined", item.loc)
            if item.name in seen:
                fail(f"'{item.name}' is defined more than once in loop '{lp.name}'", item.loc,
                     (seen[item.name], "first defined here"))
            seen[item.name] = item.loc
        what = f"loop '{lp.name}'"
        params = {p: "real" for p in lp.params}
        states, inits = [], {}
        for s_ in lp.states:
            init = self.expr(s_.init, _Scope("loop", f"the initial value of state '{s_.name}' in {what}",
                                             locals=dict(params)))
            t = s_.type or self.type_of(init, None)
            if (t == "bool") != (self.type_of(init, None) == "bool"):
                fail(f"state '{s_.name}' is declared {t} but its initial value is "
                     f"{'a condition' if t != 'bool' else 'a number'}", s_.init.loc)
            inits[s_.name] = (init, t)
        local = dict(params) | {name: t for name, (_, t) in inits.items()}
        cond_scope = _Scope("loop", f"the 'while' condition of {what}", locals=dict(local))
        cond = self.expr(lp.cond, cond_scope)
        if self.type_of(cond, cond_scope) != "bool":
            fail(f"the 'while' of {what} must be a condition (a comparison, and/or/not)", lp.cond.loc)
        items = []
        for item in lp.items:
            scope = _Scope("loop", f"'{item.name}' in {what}", locals=dict(local))
            if isinstance(item, ir.Random):
                args = tuple(self.expr(a, scope) for a in item.args)
                items.append(dataclasses.replace(item, args=args))
                self.check_cap(item, args)
                local[item.name] = DISTRIBUTIONS[item.dist].value
            else:
                e = self.expr(item.expr, scope)
                items.append(dataclasses.replace(item, expr=e))
                local[item.name] = self.type_of(e, scope)
        for s_ in lp.states:
            scope = _Scope("loop", f"the next value of state '{s_.name}' in {what}", locals=dict(local))
            nxt = self.expr(s_.next, scope)
            init, t = inits[s_.name]
            if (t == "bool") != (self.type_of(nxt, scope) == "bool"):
                fail(f"the next value of state '{s_.name}' must be {'a condition' if t == 'bool' else 'a number'}",
                     s_.next.loc)
            states.append(dataclasses.replace(s_, init=init, next=nxt, type=t))
        self.loop_locals = dict(local)
        self.reduce_slot = 0
        ret_scope = _Scope("loop_return", f"the result of {what}", locals=dict(params))
        body = self.expr(lp.body, ret_scope)
        self.loop_types[lp.name] = self.type_of(body, ret_scope)
        self.types[f"loop:{lp.name}"] = self.loop_types[lp.name]
        if any(isinstance(i, ir.Random) for i in lp.items):
            self.loop_random.add(lp.name)
        return dataclasses.replace(lp, states=tuple(states), items=tuple(items), cond=cond, body=body)

    # ------------------------------------------------------------ cases
    def check_cases(self, all_cases: tuple[ir.Cases, ...], checked: tuple[ir.Param, ...]) -> tuple[ir.Cases, ...]:
        out = []
        seen: dict[str, ir.Loc] = {}
        params = {p.name: p for p in checked}
        for cs in all_cases:
            if cs.name in seen:
                fail(f"cases '{cs.name}' is defined more than once", cs.loc, (seen[cs.name], "first defined here"))
            seen[cs.name] = cs.loc
            cases = []
            for case in cs.cases:
                sets = []
                for st in case.sets:
                    p = params.get(st.name)
                    if p is None:
                        close = _close(st.name, list(params))
                        fail(f"case {case.label!r} sets '{st.name}', which is not a param"
                             + (f"; did you mean '{close}'?" if close else ""), st.loc)
                    value = self.expr(st.value, _Scope("literal", f"the value of '{st.name}' in case {case.label!r}"))
                    v = const_value(value)
                    if p.type == "bool" and not isinstance(v, bool):
                        fail(f"param '{p.name}' is bool; set it to true or false", st.value.loc)
                    if p.type != "bool" and isinstance(v, bool):
                        fail(f"param '{p.name}' is {p.type}; set it to a number", st.value.loc)
                    if p.type == "int" and float(v) != int(v):
                        fail(f"param '{p.name}' is int but {v!r} is not an integer", st.value.loc)
                    lo, hi = _param_range(p)
                    if (lo is not None and v < lo) or (hi is not None and v > hi):
                        fail(f"{v!r} is outside the declared range [{lo}, {hi}] of '{p.name}'", st.value.loc,
                             (p.loc, f"'{p.name}' is declared here"))
                    sets.append(dataclasses.replace(st, value=value))
                cases.append(dataclasses.replace(case, sets=tuple(sets)))
            out.append(dataclasses.replace(cs, cases=tuple(cases)))
        return tuple(out)

    # ------------------------------------------------------------ designs
    def check_design(self, d: ir.Design) -> ir.Design:
        if self.rows_mode and (d.lets or d.schedule is not None or d.shows):
            where = d.lets[0].loc if d.lets else d.schedule.loc if d.schedule is not None else d.shows[0].loc
            fail(f"design '{d.name}': in a table spec designs hold metrics only (per-row formulas go in the "
                 "rows block, per-group ones in a group)", where)
        table: dict[str, tuple[str, object]] = {}
        self.design_defs[d.name] = table
        for item in d.lets:
            self.declare(item.name, f"design:{d.name}:{item.name}", item.loc, table)
            table[item.name] = (f"design:{d.name}:{item.name}", item)
        # Schedule: which stages run, each once.
        scheduled: dict[str, ir.Loc] = {}

        def walk(s: ir.Sched):
            if isinstance(s, ir.SchedStage):
                key = table.get(s.stage) or self.layer_defs.get(s.stage)
                if key is None or not isinstance(key[1], ir.Stage):
                    stages = [n for t in (self.layer_defs, table) for n, v in t.items() if isinstance(v[1], ir.Stage)]
                    if key is not None or s.stage in self.defs:
                        fail(f"'{s.stage}' is not a stage; a schedule lists stages: {', '.join(stages)}", s.loc)
                    close = _close(s.stage, stages)
                    hint = f"did you mean '{close}'? " if close else ""
                    fail(f"unknown stage '{s.stage}'; {hint}stages: {', '.join(stages)}", s.loc)
                if s.stage in scheduled:
                    fail(f"stage '{s.stage}' appears twice in the schedule of design '{d.name}'", s.loc,
                         (scheduled[s.stage], "first scheduled here"))
                scheduled[s.stage] = s.loc
            else:
                for p in s.parts:
                    walk(p)

        if d.schedule is not None:
            walk(d.schedule)
        self.scheduled[d.name] = set(scheduled)
        def check(name: str, item):
            scope = _Scope("design", f"'{name}' in design '{d.name}'", design=d.name)
            e = self.expr(item.expr, scope)
            self.types[f"design:{d.name}:{name}"] = self.type_of(e, None)
            if self.is_random(e):
                self.random.add(f"design:{d.name}:{name}")
            return dataclasses.replace(item, expr=e)

        done, _ = _dependency_order([i.name for i in d.lets], lambda n: table[n][1],
                                    lambda item: _layer_deps(item, table), check)
        metrics = []
        seen: dict[str, ir.Loc] = {}
        for mt in d.metrics:
            if mt.name in seen:
                fail(f"metric '{mt.name}' is defined more than once in design '{d.name}'", mt.loc,
                     (seen[mt.name], "first defined here"))
            seen[mt.name] = mt.loc
            self.reduce_slot = 0
            scope = _Scope("metric", f"metric '{mt.name}'", design=d.name)
            e = self.expr(mt.expr, scope)
            self.types[f"metric:{d.name}:{mt.name}"] = self.type_of(e, None)
            if self.is_random(e):
                self.random.add(f"metric:{d.name}:{mt.name}")
            metrics.append(dataclasses.replace(mt, expr=e))
        # Design-time values depend on the schedule's stages; mark times random if any stage is.
        if any(self.is_random(_stage_ref(self, d.name, s)) for s in scheduled):
            self.random.add(f"time:{d.name}")
        shows = []
        seen_show: dict[str, ir.Loc] = {}
        for sh in d.shows:
            if sh.name in seen_show:
                fail(f"'show {sh.name}' appears more than once in design '{d.name}'", sh.loc,
                     (seen_show[sh.name], "first here"))
            seen_show[sh.name] = sh.loc
            scope = _Scope("design", f"'show {sh.name}' in design '{d.name}'", design=d.name)
            start, end = self.expr(sh.start, scope), self.expr(sh.end, scope)
            for x in (start, end):
                if self.type_of(x, scope) == "bool":
                    fail(f"'show {sh.name}' needs times (numbers), not a condition", x.loc)
            shows.append(dataclasses.replace(sh, start=start, end=end))
        return dataclasses.replace(d, lets=tuple(done[i.name] for i in d.lets), metrics=tuple(metrics),
                                   shows=tuple(shows))

    # ------------------------------------------------------------ measured, roofline, solve
    def known_design(self, ident: ir.Ident, designs: tuple[ir.Design, ...]) -> ir.Design:
        for d in designs:
            if d.name == ident.name:
                return d
        names = [d.name for d in designs]
        close = _close(ident.name, names)
        hint = f"did you mean '{close}'? " if close else ""
        fail(f"unknown design '{ident.name}'; {hint}designs: {', '.join(names)}", ident.loc)

    def known_param(self, ident: ir.Ident, what: str) -> None:
        if self.defs.get(ident.name, ("",))[0] != f"param:{ident.name}":
            params = [p.name for p in self.m.params]
            close = _close(ident.name, params)
            hint = f"; did you mean '{close}'?" if close else ""
            fail(f"{what} must be a param; '{ident.name}' is not{hint}", ident.loc)

    def check_measured(self, blocks: tuple[ir.Measured, ...], designs: tuple[ir.Design, ...]) -> tuple[ir.Measured, ...]:
        seen: dict[str, ir.Loc] = {}
        for b in blocks:
            if b.name in seen:
                fail(f"measured '{b.name}' is defined more than once", b.loc, (seen[b.name], "first defined here"))
            seen[b.name] = b.loc
            if self.rows_mode:
                fail("measured tables need a spec without a rows block (one model value per measured row; "
                     "a table spec reduces its input table to one value)", b.loc)
            if not self.implicit_layers:
                fail("measured tables need a spec without a layers block (one model value per row)", b.loc)
            d = self.known_design(b.design, designs)
            metrics = {mt.name for mt in d.metrics}
            config: dict[str, ir.Loc] = {}
            for ident in b.config:
                self.known_param(ident, "a config column")
                if ident.name in config:
                    fail(f"'{ident.name}' is listed twice", ident.loc, (config[ident.name], "first listed here"))
                config[ident.name] = ident.loc
            observed: dict[str, ir.Loc] = {}
            local = {i.name for i in d.lets}
            for ident in b.observe:
                if ident.name in observed:
                    fail(f"'{ident.name}' is listed twice", ident.loc, (observed[ident.name], "first listed here"))
                observed[ident.name] = ident.loc
                if ident.name not in local:
                    where = ("a param" if ident.name in config or self.defs.get(ident.name, ("",))[0].startswith("param:")
                             else "not a let or stage of design " + repr(d.name))
                    fail(f"an observed value must be a let or stage of design '{d.name}' (the measured "
                         f"column replaces it); '{ident.name}' is {where}", ident.loc)
                if ident.name not in metrics:
                    fail(f"design '{d.name}' needs a metric '{ident.name}': the model's value that the measured "
                         f"column is compared with (e.g. metric {ident.name} = {ident.name})", ident.loc)
                if self.is_random(ir.Ref(ident.loc, ident.name, "design", d.name)):
                    fail(f"'{ident.name}' depends on a random draw; an observed value must be deterministic", ident.loc)
            if b.axis is not None and b.axis.name not in config and b.axis.name not in metrics:
                fail(f"the axis must be a config param or a metric of design '{d.name}'; '{b.axis.name}' is neither",
                     b.axis.loc)
        return blocks

    def check_roofline(self, r: ir.Roofline, designs: tuple[ir.Design, ...]) -> ir.Roofline:
        def roofs(exprs, what):
            out = []
            for e in exprs:
                scope = _Scope("const", f"the roofline's {what} roof")
                x = self.expr(e, scope)
                if self.type_of(x, scope) == "bool":
                    fail(f"the roofline's {what} roof must be a number, not a condition", e.loc)
                out.append(x)
            return tuple(out)

        compute, memory = roofs(r.compute, "compute"), roofs(r.memory, "memory")
        for ident in (r.intensity, r.throughput):
            for d in designs:
                if ident.name not in {mt.name for mt in d.metrics}:
                    fail(f"'{ident.name}' must be a metric of every design; design '{d.name}' has none", ident.loc,
                         (d.loc, f"design '{d.name}' is defined here"))
        return dataclasses.replace(r, compute=compute, memory=memory)

    def check_solves(self, solves: tuple[ir.Solve, ...]) -> tuple[ir.Solve, ...]:
        out = []
        seen: dict[str, ir.Loc] = {}
        for sv in solves:
            if sv.name in seen:
                fail(f"solve '{sv.name}' is defined more than once", sv.loc, (seen[sv.name], "first defined here"))
            seen[sv.name] = sv.loc
            if self.m.inputs:
                fail(f"solve '{sv.name}': a 'solve' declaration gives closed forms in the params, which a spec "
                     "that reads input files does not have; solve in its report instead: "
                     "NAME = solve PARAM where A == B", sv.loc, (self.m.inputs[0].loc, "input declared here"))
            self.known_param(sv.unknown, "the unknown of a solve")
            if sv.design is not None:
                if sv.design.name not in self.design_defs:
                    names = list(self.design_defs)
                    fail(f"unknown design '{sv.design.name}'; designs: {', '.join(names)}", sv.design.loc)
                scope = _Scope("design", f"solve '{sv.name}'", design=sv.design.name)
            else:
                scope = _Scope("layer" if not self.implicit_layers else "const", f"solve '{sv.name}'")
            e = self.expr(sv.expr, scope)
            for node in ir.walk(e):
                if isinstance(node, ir.StageTime):
                    fail("a solve cannot read schedule times (no closed form); use stage durations", node.loc)
            if self.type_of(e, scope) == "bool" and not (isinstance(e, ir.Binary) and e.op == "=="):
                fail("a solve needs an equation 'a == b', or a number expression (solved for zero)", e.loc)
            if self.is_random(e):
                fail(f"solve '{sv.name}' depends on a random draw; closed forms need deterministic values", e.loc)
            out.append(dataclasses.replace(sv, expr=e))
        return tuple(out)

    # ------------------------------------------------------------ expressions
    def expr(self, e: ir.Expr, scope: _Scope) -> ir.Expr:
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
                    fail(f"'not' needs a condition, got a {_tname(t)} value", e.loc)
                if op == "-" and t == "bool":
                    fail("cannot negate a condition (use 'not')", e.loc)
                if op == "-" and t.startswith("enum:"):
                    fail(f"cannot negate a {_tname(t)} value", e.loc)
                return dataclasses.replace(e, operand=x)
            case ir.Binary(op=op, left=a, right=b):
                a, b = self.expr(a, scope), self.expr(b, scope)
                ta, tb = self.type_of(a, scope), self.type_of(b, scope)
                if ta.startswith("enum:") or tb.startswith("enum:"):
                    if op not in ("==", "!="):
                        bad = a if ta.startswith("enum:") else b
                        fail(f"'{op}' cannot be used with a {_tname(self.type_of(bad, scope))} value "
                             "(enum values can only be compared with == and !=)", bad.loc)
                    if ta != tb:
                        fail(f"cannot compare a {_tname(ta)} value with a {_tname(tb)} value", e.loc)
                    return dataclasses.replace(e, left=a, right=b)
                if op in ("and", "or"):
                    for x, t in ((a, ta), (b, tb)):
                        if t != "bool":
                            fail(f"'{op}' needs conditions on both sides, got a {t} value", x.loc)
                elif ta == "bool" or tb == "bool":
                    if not (op in ("==", "!=") and ta == tb):
                        bad = a if ta == "bool" else b
                        fail(f"a condition cannot be used with '{op}'", bad.loc)
                return dataclasses.replace(e, left=a, right=b)
            case ir.Cond(test=c, then=x, else_=y):
                c, x, y = self.expr(c, scope), self.expr(x, scope), self.expr(y, scope)
                if self.type_of(c, scope) != "bool":
                    fail("the test of 'if' must be a condition (a comparison, and/or/not)", c.loc)
                tx, ty = self.type_of(x, scope), self.type_of(y, scope)
                if (tx == "bool") != (ty == "bool"):
                    fail("'if' branches must both be conditions or both be numbers", y.loc)
                if (tx.startswith("enum:") or ty.startswith("enum:")) and tx != ty:
                    fail(f"'if' branches must have the same type, got {_tname(tx)} and {_tname(ty)}", y.loc)
                return dataclasses.replace(e, test=c, then=x, else_=y)
            case ir.Call():
                return self.call(e, scope)
        raise AssertionError(f"unexpected node {type(e).__name__}")  # pragma: no cover

    def call(self, e: ir.Call, scope: _Scope) -> ir.Expr:
        f, n = e.func, len(e.args)
        if scope.in_reduction and f in LAYER_REDUCTIONS:
            fail(f"reductions cannot be nested ('{f}' inside another reduction)", e.loc)
        if f in self.loops:
            return self.loop_call(e, scope)
        if f in LAYER_REDUCTIONS and (scope.level == "group" or (self.rows_mode and scope.level == "metric")):
            return self.table_reduce(e, scope)
        if scope.level == "loop_return" and f in LAYER_REDUCTIONS:
            inner = _Scope("loop", scope.what, locals=dict(self.loop_locals), in_reduction=True)
            arg = self.reduced(e, inner, " (a per-step expression)", "")
            slot = self.reduce_slot
            self.reduce_slot += 1
            return ir.Reduce(e.loc, f, "steps", arg, slot)
        if scope.level == "metric" and f in LAYER_REDUCTIONS:
            inner = _Scope("design", scope.what, design=scope.design, in_reduction=True)
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
            args = tuple(self.expr(a, scope) for a in e.args)
            for a in args:
                t = self.type_of(a, scope)
                if t == "bool":
                    fail(f"{f}() takes numbers, not a condition", a.loc)
                if t.startswith("enum:"):
                    fail(f"{f}() takes numbers, not a {_tname(t)} value", a.loc)
            return ir.Builtin(e.loc, f, args)
        if f in self.funcs:
            fn = self.funcs[f]
            _arity(e, "function", fn)
            resolved = self.resolve_key(f"func:{f}")
            args = tuple(self.expr(a, scope) for a in e.args)
            for a, p, want in zip(args, fn.params, resolved.param_types):
                t = self.type_of(a, scope)
                if want in ("real", "int") and (t == "bool" or t.startswith("enum:")):
                    fail(f"argument '{p}' of '{f}' must be a number, not a {_tname(t)} value", a.loc,
                         (fn.loc, f"'{f}' is defined here"))
                if want == "int" and t == "real":
                    fail(f"argument '{p}' of '{f}' must be an integer (use trunc/round/floor/ceil)", a.loc,
                         (fn.loc, f"'{f}' is defined here"))
                if want not in ("real", "int") and t != want:
                    fail(f"argument '{p}' of '{f}' must be a {_tname(want)} value, got a {_tname(t)} value",
                         a.loc, (fn.loc, f"'{f}' is defined here"))
            return ir.Apply(e.loc, f, args)
        known = sorted(set(BUILTINS) | set(self.funcs) | set(self.loops))
        close = _close(f, known)
        hint = f"did you mean '{close}'? " if close else ""
        fail(f"unknown function '{f}'; {hint}known functions: {', '.join(known)}", e.loc)

    def loop_call(self, e: ir.Call, scope: _Scope) -> ir.LoopCall:
        f = e.func
        lp = self.loops[f]
        if scope.level in ("loop", "loop_return"):
            fail(f"a loop cannot call a loop ('{f}' inside {scope.what})", e.loc)
        if scope.level not in (("layer",) if self.rows_mode else ("layer", "design")):
            fail(f"loop '{f}' runs once per {self.item_word[4:]} and trial; it cannot be called in {scope.what}",
                 e.loc)
        _arity(e, "loop", lp)
        self.resolve_key(f"loop:{f}")
        args = tuple(self.expr(a, scope) for a in e.args)
        for a in args:
            t = self.type_of(a, scope)
            if t == "bool":
                fail(f"arguments of loop '{f}' must be numbers, not conditions", a.loc)
            if t.startswith("enum:"):
                fail(f"arguments of loop '{f}' must be numbers, not {_tname(t)} values", a.loc)
        return ir.LoopCall(e.loc, f, args)

    def name(self, name: str, loc: ir.Loc, scope: _Scope) -> ir.Expr:
        if name in scope.locals:
            return ir.Ref(loc, name, "local")
        lvl = scope.level
        if self.rows_mode and lvl != "literal":
            found = self.group_name(name, loc, scope)
            if found is not None:
                return found
            if name in self.groups:
                fail(f"'{name}' is a group; refer to its values as {name}.NAME (or by their names) inside a "
                     "metric's reduction", loc)
            if name in self.tables:
                fail(f"'{name}' is an input table; its columns are read by name in the rows block", loc)
        if lvl in ("loop", "loop_return") and name in self.layer_defs:
            fail(f"'{name}' is a {self.item_word} quantity; {scope.what} cannot read it (pass it as an argument)",
                 loc)
        if lvl == "loop_return" and name in self.loop_locals:
            fail(f"'{name}' changes at every step; use it inside a reduction (sum, count, last, ...) in "
                 f"{scope.what}", loc)
        if name in ("start", "end") and self.rows_mode and lvl in ("design", "metric"):
            fail(f"'{name}' is a schedule time; a table spec has no schedule", loc)
        if lvl == "input":
            return self.input_path(scope.input, name, (), loc, scope, relative=True)
        if lvl == "metric" and not scope.in_reduction and f"metric:{scope.design}:{name}" in self.types \
                and name not in self.design_defs.get(scope.design, {}) and name not in self.layer_defs \
                and name not in self.defs:
            # An earlier metric of the same design (a let, stage or constant of that name wins).
            return ir.MetricRef(loc, scope.design, name)
        if lvl == "report" and name in self.compare_names:
            return ir.Ref(loc, name, "compare")
        if name in self.defs and self.defs[name][0].split(":")[0] in ("enum", "record", "input"):
            kind = self.defs[name][0].split(":")[0]
            if lvl == "literal":
                fail(f"{scope.what} must be a literal number, not '{name}'", loc)
            example = {"enum": f"{name}.MEMBER", "record": "a field type in an input",
                       "input": f"its fields, e.g. {name}.KEY"}[kind]
            fail(f"'{name}' is {'an' if kind in ('enum', 'input') else 'a'} {kind}; use {example}", loc)
        if lvl == "literal":
            if name in self.defs or name in self.layer_defs:
                fail(f"{scope.what} must be a literal number, not '{name}'", loc)
            fail(f"{scope.what} must be a literal number; '{name}' is not defined", loc)
        if name in ("start", "end") and lvl in ("design", "metric"):
            node = ir.StageTime(loc, scope.design, None, name)
            if lvl == "metric" and not scope.in_reduction:
                return self.direct_value(node, f"'{name}' is a per-layer time; use it inside a reduction such as last({name})")
            return node
        if lvl in ("design", "metric") and name in self.design_defs.get(scope.design, {}):
            node = ir.Ref(loc, name, "design", scope.design)
            if lvl == "metric" and not scope.in_reduction:
                return self.direct_value(node, f"'{name}' is a per-layer quantity; use it inside a reduction (sum, mean, last, ...)")
            return node
        if name in self.layer_defs:
            key = self.layer_defs[name][0]
            kind = key.split(":")[0]
            if lvl in ("const", "func", "compare", "report"):
                unit = self.item_word[4:]
                what = {"random": f"a {self.item_word} random variable", "index": f"the {unit} index",
                        "column": "a table column"}.get(kind, f"a {self.item_word} quantity")
                if lvl == "const":
                    fail(f"'{name}' is {what}, but {scope.what} must be constant across {unit}s and trials", loc)
                need = f"{scope.what} cannot use {self.item_word} values (pass them as arguments)" if lvl == "func" \
                    else "comparisons combine design metrics"
                fail(f"'{name}' is {what}; {need}", loc)
            if lvl == "metric" and not scope.in_reduction:
                return self.direct_value(ir.Ref(loc, name, kind), f"'{name}' is a {self.item_word} quantity; use it "
                                         "inside a reduction (sum, mean, last, ...)")
            return ir.Ref(loc, name, kind)
        if name in self.defs:
            key = self.defs[name][0]
            kind = key.split(":")[0]
            if kind == "func":
                fail(f"'{name}' is a function; call it with arguments", loc)
            if kind == "design":
                fail(f"'{name}' is a design; refer to one of its metrics as {name}.METRIC", loc)
            if kind == "loop":
                fail(f"'{name}' is a loop; call it with arguments", loc)
            if kind == "const":
                self.resolve_key(key)
            return ir.Ref(loc, name, kind)
        for d, table in self.design_defs.items():
            if name in table and d != scope.design:
                fail(f"'{name}' is local to design '{d}'", loc)
        candidates = sorted(set(self.defs) | set(self.layer_defs) | set(scope.locals))
        close = _close(name, candidates)
        hint = f"; did you mean '{close}'?" if close else ""
        fail(f"unknown name '{name}'{hint}", loc)

    def direct_value(self, node: ir.Expr, message: str) -> ir.Expr:
        """A per-layer value read by a metric outside a reduction: the value itself when the
        spec has no layers block (one implicit layer), an error otherwise."""
        if not self.implicit_layers:
            fail(message, node.loc)
        slot = self.reduce_slot
        self.reduce_slot += 1
        return ir.Reduce(node.loc, "last", "layers", node, slot)

    def attr(self, e: ir.Attr, scope: _Scope) -> ir.Expr:
        if e.base in scope.locals:
            fail(f"'{e.base}' is a local value and has no field '{e.attr}'", e.loc)
        if e.base in self.enums and not (scope.level == "input" and e.base in self._input_fields(scope)):
            en = self.enums[e.base]
            if e.attr not in en.members:
                close = _close(e.attr, list(en.members))
                fail(f"enum '{en.name}' has no member '{e.attr}'; its members: {', '.join(en.members)}"
                     + (f" (did you mean '{close}'?)" if close else ""), e.loc, (en.loc, f"'{en.name}' is declared here"))
            return ir.EnumConst(e.loc, en.name, e.attr, en.members.index(e.attr))
        if scope.level == "input":
            return self.input_path(scope.input, e.base, (e.attr,), e.loc, scope, relative=True)
        if e.base in self.inputs:
            if scope.level == "literal":
                fail(f"{scope.what} must be a literal number, not '{e.base}.{e.attr}'", e.loc)
            return self.input_path(e.base, None, (e.attr,), e.loc, scope)
        if self.rows_mode and e.base in self.groups and scope.level not in ("compare", "report"):
            g = e.base
            if not (scope.level == "design" and scope.in_reduction):
                fail(f"'{e.base}.{e.attr}' is a per-group value; it is available inside a metric's reduction", e.loc)
            if e.attr in self.group_keys.get(g, {}):
                return ir.GroupRef(e.loc, g, e.attr, "key")
            owner = self.group_lets.get(e.attr)
            if owner is None or owner[0] != g:
                names = list(self.group_keys.get(g, {})) + [x.name for x in self.groups[g].lets]
                fail(f"group '{g}' has no value '{e.attr}'; its keys and values: {', '.join(names)}", e.loc)
            return ir.GroupRef(e.loc, g, e.attr, "let")
        if scope.level in ("compare", "report"):
            if e.base not in self.design_defs:
                fail(f"unknown design '{e.base}'; designs: {', '.join(self.design_defs)}", e.loc)
            if f"metric:{e.base}:{e.attr}" not in self.types:
                names = [k.split(":", 2)[2] for k in self.types if k.startswith(f"metric:{e.base}:")]
                fail(f"design '{e.base}' has no metric '{e.attr}'; its metrics: {', '.join(names)}", e.loc)
            return ir.MetricRef(e.loc, e.base, e.attr)
        if scope.level in ("design", "metric"):
            if e.attr not in TIME_ATTRS:
                fail(f"unknown attribute '.{e.attr}'; a stage has .start and .end", e.loc)
            if e.base not in self.scheduled.get(scope.design, set()):
                entry = self.design_defs.get(scope.design, {}).get(e.base) or self.layer_defs.get(e.base)
                if entry is None or not isinstance(entry[1], ir.Stage):
                    stages = sorted(self.scheduled.get(scope.design, set()))
                    close = _close(e.base, stages)
                    hint = f"did you mean '{close}'? " if close else ""
                    fail(f"'{e.base}' is not a stage; {hint}design '{scope.design}' schedules "
                         f"{', '.join(stages) or 'no stages'}", e.loc)
                fail(f"'{e.base}' is not in the schedule of design '{scope.design}', so it has no "
                     f".{e.attr}", e.loc)
            node = ir.StageTime(e.loc, scope.design, e.base, e.attr)
            if scope.level == "metric" and not scope.in_reduction:
                return self.direct_value(node, f"'{e.base}.{e.attr}' is a per-layer time; use it inside a reduction")
            return node
        if e.base in self.defs or e.base in self.layer_defs:
            fail(f"'{e.base}.{e.attr}': stage times are only available inside designs, "
                 "and design metrics only inside comparisons", e.loc)
        fail(f"unknown name '{e.base}'", e.loc)

    # ------------------------------------------------------------ input fields and enums
    def _input_fields(self, scope: _Scope) -> dict[str, ir.Field]:
        inp = self.inputs.get(scope.input) or self._checking_input
        return {f.name: f for f in inp.fields}

    def path(self, e: ir.Path, scope: _Scope) -> ir.Expr:
        if e.root in scope.locals:
            fail(f"'{e.root}' is a local value and cannot be indexed", e.loc)
        if scope.level == "input":
            return self.input_path(scope.input, e.root, e.steps, e.loc, scope, relative=True)
        if e.root in self.inputs:
            if scope.level == "literal":
                fail(f"{scope.what} must be a literal number", e.loc)
            return self.input_path(e.root, None, e.steps, e.loc, scope)
        if e.root in self.enums:
            fail(f"'{e.root}' is an enum; write {e.root}.MEMBER", e.loc)
        if e.root in self.defs or e.root in self.layer_defs or e.root in self.design_defs.get(scope.design or "", {}):
            fail(f"'{e.root}' is a number and cannot be indexed or have fields; only input fields can", e.loc)
        fail(f"unknown name '{e.root}'", e.loc)

    def input_path(self, input: str, first: str | None, steps: tuple, loc: ir.Loc, scope: _Scope,
                   given: bool = False, relative: bool = False) -> ir.Expr:
        """Resolve `input.first.steps...` (first None: steps start at the input's root) to an InputRef.

        With `relative` (inside the input's own schema), `first` is looked up in the enclosing
        group, then in each group around it, up to the input's root.
        """
        inp = self.inputs.get(input) or self._checking_input
        fields = {f.name: f for f in inp.fields}
        names = [input]
        if relative:
            for depth in range(len(scope.prefix), -1, -1):
                group = self._group(inp, scope.prefix[:depth])
                if first in {f.name for f in group}:
                    fields = {f.name: f for f in group}
                    names += list(scope.prefix[:depth])
                    break
        steps = ((first,) if first is not None else ()) + tuple(steps)
        i = 0
        field = None
        while i < len(steps):
            step = steps[i]
            if not isinstance(step, str):
                fail(f"'{'.'.join(names)}' is a group of fields, not a table; write {'.'.join(names)}.KEY", loc)
            if step not in fields:
                close = _close(step, list(fields))
                hint = f"; did you mean '{close}'?" if close else f"; its keys: {', '.join(fields)}"
                what = f"input '{input}'" if len(names) == 1 else f"'{'.'.join(names)}'"
                fail(f"{what} has no key '{step}'{hint}", loc)
            field = fields[step]
            names.append(step)
            i += 1
            if field.kind != "group":
                break
            fields = {f.name: f for f in field.fields}
        var = ".".join(names)
        if field is None or field.kind == "group":
            fail(f"'{var}' is a group of fields; use one of its keys ({', '.join(fields)})", loc)
        leaf = self.leaves[var]
        if scope.level == "input" and scope.before is not None and var not in scope.before:
            fail(f"'{var.split('.', 1)[1]}' is not declared above this point of input '{input}' (bounds, key ranges "
                 "and defaults may only use the fields above them)", loc)
        index = []
        rest = steps[i:]
        for step in rest:
            if isinstance(step, str):
                fail(f"'{var}' has no field '{step}'" + ("; index it with [...]" if len(index) < len(leaf.axes) else ""),
                     loc)
            if len(index) == len(leaf.axes):
                fail(f"'{var}' has {len(leaf.axes)} ind{'ex' if len(leaf.axes) == 1 else 'ices'}; too many [...]", step.loc)
            axis = leaf.axes[len(index)]
            x = self.expr(step, scope)
            t = self.type_of(x, scope)
            if axis[0] == "map" and t != "int":
                fail(f"'{var}' is indexed by an integer {axis[1]}, got a {_tname(t)} value", step.loc)
            if axis[0] == "enum" and t != f"enum:{axis[1]}":
                fail(f"'{var}' is indexed by a {axis[1]} value, got a {_tname(t)} value", step.loc)
            index.append(x)
        if given:
            n_map = sum(1 for a in leaf.axes if a[0] == "map")
            if not leaf.given:
                fail(f"'{var}' is always given (it is required or has a default); given() applies to optional "
                     "fields and map entries", loc)
            if len(index) != n_map:
                fail(f"given({var}...) needs the map key: given({var}[KEY])", loc)
            return ir.InputRef(loc, var, tuple(index), True)
        if len(index) != len(leaf.axes):
            want = ", ".join(f"[{a[1]}]" for a in leaf.axes[len(index):])
            fail(f"'{var}' is a table; index it with {want}", loc)
        if leaf.type == "string":
            fail(f"'{var}' is a string; strings cannot be used in expressions", loc)
        return ir.InputRef(loc, var, tuple(index))

    @staticmethod
    def _group(inp: ir.Input, path: tuple[str, ...]) -> tuple[ir.Field, ...]:
        fields = inp.fields
        for name in path:
            fields = next(f for f in fields if f.name == name).fields
        return fields

    def given(self, e: ir.Call, scope: _Scope) -> ir.Expr:
        if len(e.args) != 1 or not isinstance(e.args[0], (ir.Name, ir.Attr, ir.Path)):
            fail("given() takes one input field, e.g. given(model.d_ff) or given(model.per_layer[l])", e.loc)
        a = e.args[0]
        if isinstance(a, ir.Name):
            if scope.level != "input":
                fail("given() takes an input field, e.g. given(model.d_ff)", a.loc)
            return self.input_path(scope.input, a.name, (), a.loc, scope, given=True, relative=True)
        root, steps = (a.base, (a.attr,)) if isinstance(a, ir.Attr) else (a.root, a.steps)
        if scope.level == "input":
            return self.input_path(scope.input, root, steps, a.loc, scope, given=True, relative=True)
        if root not in self.inputs:
            fail(f"given() takes an input field; '{root}' is not an input", a.loc)
        return self.input_path(root, None, steps, a.loc, scope, given=True)

    def comprehension(self, e: ir.Comprehension, scope: _Scope) -> ir.Expr:
        if e.var in RESERVED or e.var in self.enums:
            fail(f"'{e.var}' cannot name a comprehension variable", e.loc)
        lo = hi = None
        if e.enum is not None:
            if e.enum not in self.enums:
                fail(f"unknown enum '{e.enum}' in sum({e.var} in {e.enum}: ...); "
                     f"enums: {', '.join(self.enums) or 'none declared'}", e.loc)
            vtype = f"enum:{e.enum}"
        else:
            lo, hi = self.expr(e.lo, scope), self.expr(e.hi, scope)
            for x in (lo, hi):
                if self.type_of(x, scope) != "int":
                    fail("range() bounds must be integers (use trunc/round/floor/ceil)", x.loc)
            vtype = "int"
        inner = dataclasses.replace(scope, locals={**scope.locals, e.var: vtype})
        self.local_types.append({e.var: vtype})
        body = self.expr(e.body, inner)
        t = self.type_of(body, inner)
        self.local_types.pop()
        if t == "bool" or t.startswith("enum:"):
            fail(f"sum() adds numbers; the body is a {_tname(t)} value", e.body.loc)
        return dataclasses.replace(e, lo=lo, hi=hi, body=body)

    # ------------------------------------------------------------ inputs
    _checking_input: ir.Input | None = None

    def check_input(self, inp: ir.Input) -> ir.Input:
        """Expand records, check types and expressions, and register the input's leaves."""
        fields = self.expand(inp.fields, (), set())
        self._checking_input = dataclasses.replace(inp, fields=fields)
        self.register_leaves(inp.name, fields, ())
        out = tuple(self.check_field(inp.name, f, ()) for f in fields)
        checks = tuple(self.check_check(inp.name, c, ()) for c in inp.checks)
        checked = dataclasses.replace(inp, fields=tuple(out), checks=checks)
        self._checking_input = None
        return checked

    def expand(self, fields: tuple[ir.Field, ...], path: tuple[str, ...], records: set[str]) -> tuple[ir.Field, ...]:
        seen: dict[str, ir.Loc] = {}
        out = []
        for f in fields:
            if f.name in seen:
                fail(f"key '{f.name}' is declared more than once", f.loc, (seen[f.name], "first declared here"))
            seen[f.name] = f.loc
            if f.kind == "group":
                out.append(dataclasses.replace(f, fields=self.expand(f.fields, path + (f.name,), records)))
                continue
            t = f.type
            if t in self.records:
                rec = self.records[t]
                if f.kind == "map" or f.per is not None:
                    fail(f"a record ('{t}') can only be a plain field type, not a map or 'per' value", f.loc)
                if f.bound is not None or f.default is not None or f.nonempty:
                    fail(f"'{f.name}' is a record ('{t}'); bounds and defaults belong to its fields", f.loc)
                if t in records:
                    fail(f"record '{t}' contains itself", f.loc, (rec.loc, f"'{t}' is declared here"))
                inner = self.expand(rec.fields, path + (f.name,), records | {t})
                out.append(ir.Field(f.loc, f.name, "group", optional=f.optional, fields=inner, checks=rec.checks,
                                    attrs=f.attrs))
                continue
            if t in SCALAR_TYPES:
                typ = t
            elif t in self.enums:
                typ = f"enum:{t}"
            else:
                known = ", ".join(list(SCALAR_TYPES) + list(self.enums) + list(self.records))
                fail(f"unknown type '{t}'; expected one of {known}", f.loc)
            if f.per is not None and f.per not in self.enums:
                fail(f"'per {f.per}': '{f.per}' is not an enum", f.loc)
            if f.kind == "scalar" and f.nonempty:
                fail("'nonempty' applies to maps", f.loc)
            if f.kind == "scalar" and f.optional and f.default is not None:
                fail(f"'{f.name}' has a default, so it is never missing; drop 'optional'", f.loc)
            if typ in ("string", "bool") or typ.startswith("enum:"):
                if f.bound is not None:
                    fail(f"a bound needs a numeric field; '{f.name}' is {_tname(typ)}", f.bound.loc)
            out.append(dataclasses.replace(f, type=typ))
        return tuple(out)

    def register_leaves(self, input: str, fields: tuple[ir.Field, ...], path: tuple[str, ...]):
        for f in fields:
            var = ".".join((input,) + path + (f.name,))
            if f.kind == "group":
                self.register_leaves(input, f.fields, path + (f.name,))
                continue
            axes: tuple = ()
            if f.kind == "map":
                axes += (("map", f.key, f.key_lo, f.key_hi),)
            if f.per is not None:
                axes += (("enum", f.per),)
            given = f"{var}?" if (f.kind == "map" or f.optional) else ""
            self.leaves[var] = ir.Leaf(f.loc, var, f.type, axes, given, f)
            self.types[f"input:{var}"] = f.type

    def check_field(self, input: str, f: ir.Field, prefix: tuple[str, ...]) -> ir.Field:
        if f.kind == "group":
            inner = tuple(self.check_field(input, g, prefix + (f.name,)) for g in f.fields)
            return dataclasses.replace(f, fields=inner, checks=tuple(
                self.check_check(input, c, prefix + (f.name,)) for c in f.checks))
        var = ".".join((input,) + prefix + (f.name,))
        order = [v for v in self.leaves if v.split(".", 1)[0] == input]
        before = frozenset(order[:order.index(var)])
        scope = _Scope("input", f"'{f.name}' of input '{input}'", input=input, before=before, prefix=prefix)
        upd = {}
        if f.kind == "map":
            lo, hi = self.expr(f.key_lo, scope), self.expr(f.key_hi, scope)
            for x in (lo, hi):
                if self.type_of(x, scope) != "int":
                    fail(f"the key range of map '{f.name}' must be integers", x.loc)
            upd.update(key_lo=lo, key_hi=hi)
        if f.bound is not None:
            b = f.bound
            lo = self.expr(b.lo, scope)
            hi = self.expr(b.hi, scope) if b.hi is not None else None
            for x in (lo, hi):
                if x is not None and self.type_of(x, scope) not in ("int", "real"):
                    fail("a bound must be a number", x.loc)
            upd["bound"] = dataclasses.replace(b, lo=lo, hi=hi)
        if f.default is not None:
            d = self.expr(f.default, scope)
            td = self.type_of(d, scope)
            ok = (td == f.type or (f.type == "real" and td == "int"))
            if not ok:
                fail(f"the default of '{f.name}' must be {_tname(f.type, article=True)}, got {_tname(td, article=True)}",
                     f.default.loc)
            upd["default"] = d
        leaf_var = var
        leaf = self.leaves[leaf_var]
        new = dataclasses.replace(f, **upd)
        axes = tuple(("map", a[1], new.key_lo, new.key_hi) if a[0] == "map" else a for a in leaf.axes)
        self.leaves[leaf_var] = dataclasses.replace(leaf, axes=axes, field=new)
        return new

    def check_check(self, input: str, c: ir.Check, prefix: tuple[str, ...]) -> ir.Check:
        scope = _Scope("input", f"a check of input '{input}'", input=input, prefix=prefix)
        e = self.expr(c.expr, scope)
        if self.type_of(e, scope) != "bool":
            fail("a check needs a condition (a comparison, and/or/not)", c.expr.loc)
        inp = self._checking_input
        fields = self._group(inp, prefix)
        for i, name in enumerate(c.where):
            names = {f.name: f for f in fields}
            if name not in names:
                fail(f"'check {'.'.join(c.where)}': no key '{name}' here; keys: {', '.join(names)}", c.loc)
            fields = names[name].fields
        return dataclasses.replace(c, expr=e, where=prefix + c.where)

    # ------------------------------------------------------------ report
    def check_report(self, r: ir.Report) -> ir.Report:
        return dataclasses.replace(r, items=self.report_items(r.items, top=True))

    def report_items(self, items, top: bool, in_points: bool = False, prefix: str = ""):
        out = []
        seen: dict[str, ir.Loc] = {}
        for it in items:
            if it.name in seen:
                fail(f"report key '{it.name}' is used more than once here", it.loc, (seen[it.name], "first used here"))
            seen[it.name] = it.loc
            scope = _Scope("report", f"report entry '{it.name}'")
            match it.kind:
                case "value":
                    e = self.expr(it.expr, scope)
                    self.types[f"report:{prefix}{it.name}"] = self.type_of(e, scope)
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
                        self.types[f"report:{prefix}{it.name}"] = self.type_of(e, scope)
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
        return next(p for p in self.m.params if p.name == name)

    # ------------------------------------------------------------ types
    def type_of(self, e: ir.Expr, scope: _Scope | None) -> str:
        match e:
            case ir.Num(is_int=i):
                return "int" if i else "real"
            case ir.Bool():
                return "bool"
            case ir.Ref(name=n, scope="local"):
                for frame in reversed(self.local_types):
                    if n in frame:
                        return frame[n]
                t = scope.locals.get(n) if scope is not None else None
                return t if t in ("int", "real", "bool") else "real"
            case ir.Ref(name=n, scope="compare"):
                return self.types.get(f"compare:{n}", "real")
            case ir.EnumConst(enum=en):
                return f"enum:{en}"
            case ir.InputRef(var=v, given=g):
                return "bool" if g else self.leaves[v].type
            case ir.Comprehension(var=v, enum=en, body=body):
                self.local_types.append({v: f"enum:{en}" if en is not None else "int"})
                t = self.type_of(body, scope)
                self.local_types.pop()
                return "int" if t == "int" else "real"
            case ir.GroupRef(group=g, name=n, kind="key"):
                return self.group_keys[g][n]
            case ir.GroupRef(group=g, name=n):
                return self.types.get(f"group:{g}:{n}", "real")
            case ir.LoopCall(loop=f):
                return self.loop_types[f]
            case ir.Ref(name=n, scope=s, design=d):
                if s == "design":
                    return self.types.get(f"design:{d}:{n}", "real")
                if s == "index":
                    return "int"
                return self.types.get(f"{s}:{n}", "real")
            case ir.StageTime():
                return "real"
            case ir.MetricRef(design=d, metric=m):
                return self.types[f"metric:{d}:{m}"]
            case ir.Reduce(kind=k, arg=a):
                return reduction_result(k, self.type_of(a, scope))
            case ir.Unary(op=op, operand=x):
                return "bool" if op == "not" else self.type_of(x, scope)
            case ir.Binary(op=op, left=a, right=b):
                literal = b if isinstance(b, ir.Num) else None
                if op in ("and", "or", "<", "<=", ">", ">=", "==", "!=", "/"):
                    return binary_result(op, "", "", literal)
                return binary_result(op, self.type_of(a, scope), self.type_of(b, scope), literal)
            case ir.Cond(then=x, else_=y):
                tx, ty = self.type_of(x, scope), self.type_of(y, scope)
                if tx.startswith("enum:"):
                    return tx
                return "bool" if tx == "bool" else ("int" if tx == ty == "int" else "real")
            case ir.Builtin(func=f, args=args):
                return builtin_result(f, [self.type_of(a, scope) for a in args])
            case ir.Apply(func=f):
                return self.func_types.get(f, "real")
        raise AssertionError(type(e).__name__)  # pragma: no cover

    def is_random(self, e: ir.Expr) -> bool:
        match e:
            case ir.Ref(name=n, scope=s, design=d):
                if s == "design":
                    return f"design:{d}:{n}" in self.random
                return f"{s}:{n}" in self.random
            case ir.StageTime(design=d):
                return f"time:{d}" in self.random or any(
                    self.is_random(_stage_ref(self, d, s)) for s in self.scheduled.get(d, ()))
            case ir.MetricRef(design=d, metric=m):
                return f"metric:{d}:{m}" in self.random
            case ir.GroupRef(group=g, name=n, kind="let"):
                return f"group:{g}:{n}" in self.random
            case ir.LoopCall(loop=f):
                if f in self.loop_random:
                    return True
        return any(self.is_random(c) for c in children(e))


def _sig(v: float) -> float:
    """`v` rounded to 15 significant digits: drops the last-bit noise of generated grids
    (0.15000000000000002 -> 0.15) so a grid value typed back with --set is the same number."""
    return float(f"{v:.15g}")


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
            values = list(range(start, stop, step))
        else:
            count = max(0, int(np.ceil((stop - start) / step)))
            values = [_sig(start + i * step) for i in range(count)]
    else:
        start, stop, num = args
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


def _param_range(p: ir.Param) -> tuple:
    """A checked param's declared (lo, hi) as values; None for an open end."""
    return (p.lo_value, p.hi_value)


def _stage_ref(ch: _Checker, design: str, stage: str) -> ir.Ref:
    if stage in ch.design_defs.get(design, {}):
        return ir.Ref(ir.NOWHERE, stage, "design", design)
    return ir.Ref(ir.NOWHERE, stage, "stage")


def _tname(t: str, article: bool = False) -> str:
    """A type for messages: 'enum:Mode' -> 'Mode'."""
    name = t[5:] if t.startswith("enum:") else t
    if not article:
        return name
    return ("an " if name[0] in "aeiouAEIOU" else "a ") + name


def _names(e) -> list[str]:
    """Bare names (and attribute bases) an unresolved expression mentions, in order."""
    out: list[str] = []
    match e:
        case ir.Name(name=n):
            out.append(n)
        case ir.Attr(base=b):
            out.append(b)
        case ir.Path(root=r):
            out.append(r)
    for c in children(e):
        out += _names(c)
    return out


def _arity(e: ir.Call, kind: str, callee) -> None:
    """A call of a spec function or loop passes one argument per parameter."""
    n, params = len(e.args), callee.params
    if n != len(params):
        fail(f"{kind} '{e.func}' takes {len(params)} argument{'s' if len(params) != 1 else ''} "
             f"({', '.join(params)}), got {n}", e.loc, (callee.loc, f"'{e.func}' is defined here"))


def _dependency_order(names, item_of, deps_of, check) -> tuple[dict[str, object], list[str]]:
    """Check each named definition after those it depends on: `check(name, item)` returns
    the checked item.  Returns ({name: checked item}, names in evaluation order); a cycle
    fails at the definition that closes it, naming the chain."""
    order: list[str] = []
    visiting: list[tuple[str, ir.Loc]] = []
    done: dict[str, object] = {}

    def visit(name: str):
        if name in done:
            return
        for n, loc in visiting:
            if n == name:
                chain = [x for x, _ in visiting[visiting.index((n, loc)):]] + [name]
                fail(f"circular definition: {' -> '.join(chain)}", loc)
        item = item_of(name)
        visiting.append((name, item.loc))
        for dep in deps_of(item):
            visit(dep)
        done[name] = check(name, item)
        visiting.pop()
        order.append(name)

    for name in names:
        visit(name)
    return done, order


def _layer_deps(item, table) -> list[str]:
    exprs = item.args if isinstance(item, ir.Random) else (item.expr,)
    deps = []
    for x in exprs:
        for n in _names(x):
            if n in table and not isinstance(table[n][1], (ir.State, ir.Loc)) and n not in deps:
                deps.append(n)
    return deps


def _show(e) -> str:
    match e:
        case ir.Name(name=n):
            return n
    return "expression"


def _close(name: str, candidates: list[str]) -> str | None:
    import difflib
    m = difflib.get_close_matches(name, candidates, n=1, cutoff=0.75)
    return m[0] if m else None


def check(module: ir.Module) -> ir.Program:
    """Resolve and check a parsed module; raises SpecError on the first user error."""
    from .errors import SpecError
    try:
        return _Checker(module).run()
    except SpecError as e:
        e.source = module.source
        raise


def column_bound(col: ir.Column) -> tuple | None:
    """A table column's bound as (op, lo, hi) numbers, or None; a bound must be literal
    numbers (a table is read before any param or formula is known)."""
    b = col.bound
    if b is None:
        return None
    lo = const_value(b.lo)
    hi = const_value(b.hi) if b.hi is not None else None
    for x, v in ((b.lo, lo), (b.hi, hi)):
        if x is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v)):
            fail(f"the bound of column '{col.name}' must be a finite number", x.loc)
    if hi is not None and hi < lo:
        fail(f"the bound of column '{col.name}' is empty: [{lo}, {hi}]", b.loc)
    return (b.op, lo, hi)
