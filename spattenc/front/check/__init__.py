"""Front end, phase 2: resolve names, infer types and randomness, order definitions.

Turns a parsed `Module` into a checked `Program`.  Every user error is raised with the
location of the offending text (and, for conflicts, of the other place involved).  One
section of the language per module: scope (names), types, exprs, decls, designs, layers,
tables, inputs, loops; `Checker` joins them over the state they share.
"""

from __future__ import annotations

import dataclasses

from spattenc.ir.keys import Key
from spattenc.ir import nodes as ir
from spattenc.ir.errors import SpecError, fail
from spattenc.front.check.decls import Decls, Globals, axis_values
from spattenc.front.check.designs import Designs
from spattenc.front.check.exprs import Exprs
from spattenc.front.check.inputs import Inputs
from spattenc.front.check.layers import Layers
from spattenc.front.check.loops import Loops
from spattenc.ir.catalog import BUILTINS, DISTRIBUTIONS
from spattenc.front.check.scope import Declared, Names, Scope, once
from spattenc.front.check.tables import Tables, column_bound
from spattenc.front.check.types import Facts, Types

__all__ = ["check", "axis_values", "column_bound"]


class Checker(Names, Types, Exprs, Decls, Designs, Layers, Tables, Inputs, Loops):
    """One check of one module: what its names mean (`decl`), what has been found out
    about them (`facts`), the globals being resolved, and the few values that follow the
    walk (the enclosing local frames, the next reduction slot, the input being checked)."""

    def __init__(self, module: ir.Module):
        self.m = module
        self.decl = Declared.of(module)
        self.facts = Facts()
        self.globals = Globals()
        self.local_types: list[dict[str, str]] = []  # frames of function and comprehension locals
        self.reduce_slot = 0  # the next accumulator slot of the metric (or loop result) being checked
        self.loop_locals: dict[str, str] = {}  # the per-step names of the loop whose result is checked
        self._checking_input: ir.Input | None = None
        # Table specs (a rows block over an input table) and specs without a layers block.
        self.rows_mode = module.rows is not None
        self.item_word = "per-row" if self.rows_mode else "per-layer"
        self.implicit_layers = False

    def run(self) -> ir.Program:
        """Declare every name, then check each section; the checked Program."""
        if self.m.name is None:
            fail("missing 'spec NAME' declaration (e.g. spec my_model \"A title\")",
                 ir.Loc(self.m.file, 1, 1, 1, 2))
        self.declare_globals(self.m)
        self.declare_iteration(self.m)
        m = self.m
        params = tuple(self.check_param(p) for p in m.params)
        for let in m.lets:
            self.resolve_key(Key("const", let.name))
        # In dependency order (the order resolution completed), not the written one: every
        # back end evaluates the constants in this order.
        consts = tuple(v for k, v in self.globals.resolved.items() if k.kind == "const")
        funcs = tuple(self.check_func(f) for f in m.funcs)
        draws = tuple(self.check_draw(r, Key("random", r.name), Scope("const", f"the arguments of random '{r.name}'"))
                      for r in m.draws)
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
        loops = tuple(self.resolve_key(Key("loop", lp.name)) for lp in m.loops)
        cases = self.check_cases(m.cases, params)
        compares = self.check_compares(m.compares)
        sweeps = self.check_sweeps(m.sweeps, params)
        measured = self.check_measured(m.measured, designs)
        roofline = self.check_roofline(m.roofline, designs) if m.roofline is not None else None
        solves = self.check_solves(m.solves)
        report = self.check_report(m.report) if m.report is not None else None
        hardware = self.check_hardwares(m.hardware, params)
        facts = self.facts
        return ir.Program(
            file=m.file, source=m.source, name=m.name, title=m.title, trials=trials, seed=seed,
            params=params, consts=consts, funcs=funcs, layers=layers, layer_items=layer_items,
            designs=designs, compares=compares, types=dict(sorted(facts.types.items(), key=lambda kv: str(kv[0]))),
            random=frozenset(facts.random), sweeps=sweeps, measured=measured, roofline=roofline, solves=solves,
            enums=tuple(m.enums), inputs=tuple(facts.inputs.values()),
            leaves=tuple(facts.leaves.values()), report=report,
            tables=m.tables, rows=rows, row_items=row_items, groups=groups, loops=loops, cases=cases,
            fixed=m.fixed or ir.DEFAULT_FIXED, hardware=hardware, draws=draws,
        )

    def declare_globals(self, m: ir.Module) -> None:
        """Declare every global name (each once) before anything is checked, so order in
        the file does not matter; input schemas are checked here (globals may read them)."""
        for p in m.params:
            self.declare(p.name, Key("param", p.name), p.loc)
            self.facts.types[Key("param", p.name)] = p.type
        for let in m.lets:
            self.declare(let.name, Key("const", let.name), let.loc)
            self.globals.pending[Key("const", let.name)] = let
        for r in m.draws:
            if m.rows is not None:
                fail(f"random '{r.name}': a spec-level draw (one per trial) is not available in a table spec; "
                     "declare it in the rows block (one draw per row)", r.loc)
            self.declare(r.name, Key("random", r.name), r.loc)
            self.facts.types[Key("random", r.name)] = DISTRIBUTIONS[r.dist].value
            self.facts.random.add(Key("random", r.name))
        for f in m.funcs:
            self.declare(f.name, Key("func", f.name), f.loc)
            if f.name in BUILTINS:
                fail(f"'{f.name}' is a builtin function and cannot be redefined", f.loc)
            if len(set(f.params)) != len(f.params):
                fail(f"function '{f.name}' repeats a parameter name", f.loc)
        for kind, items in (("design", m.designs), ("enum", m.enums), ("record", m.records),
                            ("input", m.inputs), ("table", m.tables)):
            for item in items:
                self.declare(item.name, Key(kind, item.name), item.loc)
        for e in m.enums:
            for member in e.members:
                if member in ("start", "end"):
                    fail(f"'{member}' is a reserved name and cannot be an enum member", e.loc)
        for t in m.tables:
            self.decl.tables[t.name] = t
            for col in t.columns:
                column_bound(col)
        for inp in m.inputs:
            self.facts.inputs[inp.name] = self.check_input(inp)
        for lp in m.loops:
            self.declare(lp.name, Key("loop", lp.name), lp.loc)
            if lp.name in BUILTINS:
                fail(f"'{lp.name}' is a builtin function and cannot be redefined", lp.loc)
        for g in m.groups:
            self.declare(g.name, Key("group", g.name), g.loc)
        for g in m.groups:
            for let in g.lets:
                self.declare(let.name, Key("group", let.name, g.name), let.loc)
                self.decl.group_lets[let.name] = (g.name, let)

    def declare_iteration(self, m: ir.Module) -> None:
        """What the spec iterates over (layers, or the rows of its one input table), its
        per-item names declared; a spec with neither gets one implicit layer."""
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
            return
        if m.layers is None:
            # No per-layer structure (e.g. a roofline model): one implicit layer, and
            # metrics read per-layer values directly.
            self.implicit_layers = True
            m = dataclasses.replace(m, layers=ir.Layers(ir.NOWHERE, "_l", ir.Num(ir.NOWHERE, 1, True), ()))
            self.m = m
        if not m.designs:
            fail("a spec needs at least one 'design' block", m.layers.loc if m.layers.loc != ir.NOWHERE else _end(m))
        self.declare_layers(m.layers)

    def check_compares(self, compares: tuple[ir.Compare, ...]) -> tuple[ir.Compare, ...]:
        """Comparisons between designs, each a new global name."""
        out = []
        seen_c = self.decl.compare_names
        for c in compares:
            if c.name in seen_c or c.name in self.decl.defs:
                other = seen_c.get(c.name) or self.decl.defs[c.name][1]
                fail(f"'{c.name}' is defined more than once", c.loc, (other, "first defined here"))
            scope = Scope("compare", f"comparison '{c.name}'")
            expr = self.expr(c.expr, scope)
            self.facts.types[Key("compare", c.name)] = self.type_of(expr, scope)
            seen_c[c.name] = c.loc
            out.append(dataclasses.replace(c, expr=expr))
        return tuple(out)

    def check_hardwares(self, blocks: tuple[ir.Hardware, ...], params: tuple[ir.Param, ...]) -> tuple[ir.Hardware, ...]:
        """Every hardware block, each name once."""
        hardware = tuple(self.check_hardware(h, params) for h in blocks)
        seen_h: dict[str, ir.Loc] = {}
        for h in hardware:
            once(seen_h, h.name, h.loc, f"hardware '{h.name}' is declared more than once", "first declared here")
        return hardware


def check(module: ir.Module) -> ir.Program:
    """Resolve and check a parsed module; raises SpecError on the first user error."""
    try:
        return Checker(module).run()
    except SpecError as e:
        e.source = module.source
        raise


def _end(m: ir.Module) -> ir.Loc:
    """The last line of a spec: where a missing block was expected."""
    lines = m.source.splitlines() or [""]
    return ir.Loc(m.file, len(lines), 1, len(lines), len(lines[-1]) + 1)
