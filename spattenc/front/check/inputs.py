"""Front end, checking: input schemas (records expanded, fields, checks) and input field references."""

from __future__ import annotations

import dataclasses

from spattenc.ir.keys import Key
from spattenc.ir import nodes as ir
from spattenc.ir.errors import closest, fail
from spattenc.front.check.scope import NAME_CUTOFF, SCALAR_TYPES, Scope, once, tname


class Inputs:
    """Input declarations and the references to their fields."""

    def _input_fields(self, scope: Scope) -> dict[str, ir.Field]:
        """The fields of the input in scope (the one being checked while its schema is read)."""
        inp = self.facts.inputs.get(scope.input) or self._checking_input
        return {f.name: f for f in inp.fields}

    def input_path(self, input: str, first: str | None, steps: tuple, loc: ir.Loc, scope: Scope,
                   given: bool = False, relative: bool = False) -> ir.Expr:
        """Resolve `input.first.steps...` (first None: steps start at the input's root) to an InputRef.

        With `relative` (inside the input's own schema), `first` is looked up in the enclosing
        group, then in each group around it, up to the input's root.
        """
        inp = self.facts.inputs.get(input) or self._checking_input
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
                close = closest(step, list(fields), cutoff=NAME_CUTOFF)
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
        leaf = self.facts.leaves[var]
        if scope.level == "input" and scope.before is not None and var not in scope.before:
            fail(f"'{var.split('.', 1)[1]}' is not declared above this point of input '{input}' (bounds, key ranges "
                 "and defaults may only use the fields above them)", loc)
        index = []
        rest = steps[i:]
        for step in rest:
            if isinstance(step, str):
                more = "; index it with [...]" if len(index) < len(leaf.axes) else ""
                fail(f"'{var}' has no field '{step}'" + more, loc)
            if len(index) == len(leaf.axes):
                fail(f"'{var}' has {len(leaf.axes)} ind{'ex' if len(leaf.axes) == 1 else 'ices'}; too many [...]",
                     step.loc)
            axis = leaf.axes[len(index)]
            x = self.expr(step, scope)
            t = self.type_of(x, scope)
            if axis[0] == "map" and t != "int":
                fail(f"'{var}' is indexed by an integer {axis[1]}, got a {tname(t)} value", step.loc)
            if axis[0] == "enum" and t != f"enum:{axis[1]}":
                fail(f"'{var}' is indexed by a {axis[1]} value, got a {tname(t)} value", step.loc)
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
        """The fields of the group at `path` inside input `inp`."""
        fields = inp.fields
        for name in path:
            fields = next(f for f in fields if f.name == name).fields
        return fields

    def given(self, e: ir.Call, scope: Scope) -> ir.Expr:
        """given(field): whether an optional input field or map entry is present in the file."""
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
        if root not in self.facts.inputs:
            fail(f"given() takes an input field; '{root}' is not an input", a.loc)
        return self.input_path(root, None, steps, a.loc, scope, given=True)

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
        """Fields with records expanded into groups, types resolved; each key once per level."""
        seen: dict[str, ir.Loc] = {}
        out = []
        for f in fields:
            once(seen, f.name, f.loc, f"key '{f.name}' is declared more than once", "first declared here")
            if f.kind == "group":
                out.append(dataclasses.replace(f, fields=self.expand(f.fields, path + (f.name,), records)))
                continue
            t = f.type
            if t in self.decl.records:
                rec = self.decl.records[t]
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
            elif t in self.decl.enums:
                typ = f"enum:{t}"
            else:
                known = ", ".join(list(SCALAR_TYPES) + list(self.decl.enums) + list(self.decl.records))
                fail(f"unknown type '{t}'; expected one of {known}", f.loc)
            if f.per is not None and f.per not in self.decl.enums:
                fail(f"'per {f.per}': '{f.per}' is not an enum", f.loc)
            if f.kind == "scalar" and f.nonempty:
                fail("'nonempty' applies to maps", f.loc)
            if f.kind == "scalar" and f.optional and f.default is not None:
                fail(f"'{f.name}' has a default, so it is never missing; drop 'optional'", f.loc)
            if typ in ("string", "bool") or typ.startswith("enum:"):
                if f.bound is not None:
                    fail(f"a bound needs a numeric field; '{f.name}' is {tname(typ)}", f.bound.loc)
            out.append(dataclasses.replace(f, type=typ))
        return tuple(out)

    def register_leaves(self, input: str, fields: tuple[ir.Field, ...], path: tuple[str, ...]):
        """Record every leaf field of an input (its axes and whether it may be missing) and its type."""
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
            self.facts.leaves[var] = ir.Leaf(f.loc, var, f.type, axes, given, f)
            self.facts.types[Key("input", var)] = f.type

    def check_field(self, input: str, f: ir.Field, prefix: tuple[str, ...]) -> ir.Field:
        """A field's key range, bound and default checked in the input's scope (fields above it only)."""
        if f.kind == "group":
            inner = tuple(self.check_field(input, g, prefix + (f.name,)) for g in f.fields)
            return dataclasses.replace(f, fields=inner, checks=tuple(
                self.check_check(input, c, prefix + (f.name,)) for c in f.checks))
        var = ".".join((input,) + prefix + (f.name,))
        order = [v for v in self.facts.leaves if v.split(".", 1)[0] == input]
        before = frozenset(order[:order.index(var)])
        scope = Scope("input", f"'{f.name}' of input '{input}'", input=input, before=before, prefix=prefix)
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
                fail(f"the default of '{f.name}' must be {tname(f.type, article=True)}, got {tname(td, article=True)}",
                     f.default.loc)
            upd["default"] = d
        leaf_var = var
        leaf = self.facts.leaves[leaf_var]
        new = dataclasses.replace(f, **upd)
        axes = tuple(("map", a[1], new.key_lo, new.key_hi) if a[0] == "map" else a for a in leaf.axes)
        self.facts.leaves[leaf_var] = dataclasses.replace(leaf, axes=axes, field=new)
        return new

    def check_check(self, input: str, c: ir.Check, prefix: tuple[str, ...]) -> ir.Check:
        """A `check` condition of an input, at the group it names."""
        scope = Scope("input", f"a check of input '{input}'", input=input, prefix=prefix)
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
