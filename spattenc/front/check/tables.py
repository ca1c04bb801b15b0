"""Front end, checking: table specs (the rows block, groups, reductions over rows and groups)."""

from __future__ import annotations

import dataclasses
import math

from spattenc.ir.keys import Key
from spattenc.ir import nodes as ir
from spattenc.ir.errors import did_you_mean, fail
from spattenc.ir.visit import const_value
from spattenc.ir.nodes import walk
from spattenc.front.check.scope import NAME_CUTOFF, ROW_SCOPES, Scope, dependency_order, mentioned


class Tables:
    """A rows block over an input table and the groups that partition its rows."""

    def declare_rows(self, rows: ir.Rows):
        """Declare the row index, the table's columns and the per-row names before any
        global definition is checked (as declare_layers does for layers)."""
        table = self.decl.tables.get(rows.table)
        if table is None:
            known = ", ".join(self.decl.tables) or "none declared"
            fail(f"rows block reads unknown input '{rows.table}' (inputs: {known}); declare it with "
                 f"input {rows.table}: table {{ column NAME: int ... }}", rows.loc)
        self.declare_index(rows.index, rows.loc, "row")
        for col in table.columns:
            self.declare(col.name, Key("column", col.name), col.loc, self.decl.layer_defs)
            self.decl.layer_defs[col.name] = (Key("column", col.name), col.loc)
            self.facts.types[Key("column", col.name)] = col.type
        for item in rows.items:
            key = {ir.Let: "row", ir.Random: "random", ir.Stage: "stage"}[type(item)]
            self.declare(item.name, Key(key, item.name), item.loc, self.decl.layer_defs)
            self.decl.layer_defs[item.name] = (Key(key, item.name), item)

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
                if g.source not in self.decl.groups:
                    known = ", ".join(self.decl.groups) or "none"
                    fail(f"group '{g.name}' is built from unknown group '{g.source}' (groups: {known})", g.loc)
                visit(self.decl.groups[g.source], via + [g])
            out.append(self.check_group(g))
            state[g.name] = "done"

        for g in self.decl.groups.values():
            visit(g, [])
        return tuple(out)

    def check_group(self, g: ir.Group) -> ir.Group:
        """A group: its keys (columns, or keys of its source group) and its lets in dependency order."""
        if g.source is None:
            avail = {c.name: c.type for c in self.decl.tables[self.m.rows.table].columns}
            where = f"is not a column of table '{self.m.rows.table}'"
        else:
            avail = self.facts.group_keys[g.source]
            where = f"is not a key of group '{g.source}' (its keys: {', '.join(avail)})"
        keys: dict[str, str] = {}
        for k, loc in zip(g.keys, g.key_locs):
            if k not in avail:
                fail(f"group '{g.name}' cannot group by '{k}': it {where}"
                     + did_you_mean(k, avail, cutoff=NAME_CUTOFF), loc)
            if k in keys:
                fail(f"key '{k}' appears twice in group '{g.name}'", loc)
            keys[k] = avail[k]
        self.facts.group_keys[g.name] = keys
        mine = {let.name: let for let in g.lets}

        def check(name: str, let: ir.Let) -> ir.Let:
            scope = Scope("group", f"'{name}' in group '{g.name}'", group=g.name)
            e = self.expr(let.expr, scope)
            key = Key("group", name, g.name)
            self.facts.types[key] = self.type_of(e, scope)
            if self.is_random(e):
                self.facts.random.add(key)
            return dataclasses.replace(let, expr=e)

        done, _ = dependency_order(list(mine), mine.__getitem__,
                                    lambda let: [n for n in mentioned(let.expr) if n in mine], check)
        return dataclasses.replace(g, lets=tuple(done[let.name] for let in g.lets))

    def group_name(self, name: str, loc: ir.Loc, scope: Scope) -> ir.Expr | None:
        """Resolve `name` where per-group values may be visible; None to fall through."""
        owner = self.decl.group_lets.get(name)
        if scope.level == "group":
            g = self.decl.groups[scope.group]
            if not scope.in_reduction:
                if name in self.facts.group_keys[g.name]:
                    return ir.GroupRef(loc, g.name, name, "key")
                if owner is not None and owner[0] == g.name:
                    return ir.GroupRef(loc, g.name, name, "let")
                if owner is not None:
                    fail(f"'{name}' belongs to group '{owner[0]}'; group '{g.name}' can read only its own "
                         "values and keys", loc)
                if name in self.decl.layer_defs:
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
            if name in self.facts.group_keys[src]:
                return ir.GroupRef(loc, src, name, "key")
            if owner is not None and owner[0] == src:
                return ir.GroupRef(loc, src, name, "let")
            if owner is not None or name in self.decl.layer_defs:
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

    def table_reduce(self, e: ir.Call, scope: Scope) -> ir.Reduce:
        """A reduction in a table spec: over a group's members (in its lets) or over all
        rows / all groups of one group (in a metric: the axis is what the argument reads)."""
        f = e.func
        if scope.in_reduction:
            fail(f"reductions cannot be nested ('{f}' inside another reduction)", e.loc)
        if scope.level == "group":
            inner = Scope("group", scope.what, group=scope.group, in_reduction=True)
        else:
            inner = Scope("design", scope.what, design=scope.design, in_reduction=True)
        arg = self.reduced(e, inner, "", " (e.g. count(x > 0))")
        if scope.level == "group":
            src = self.decl.groups[scope.group].source
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
