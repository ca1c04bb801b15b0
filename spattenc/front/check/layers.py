"""Front end, checking: the layers block (layer index, states, per-layer items)."""

from __future__ import annotations

import dataclasses

from spattenc.ir.keys import Key
from spattenc.ir import nodes as ir
from spattenc.ir.catalog import DISTRIBUTIONS
from spattenc.ir.errors import fail
from spattenc.ir.visit import const_value
from spattenc.front.check.exprs import literal_only
from spattenc.front.check.scope import Scope, dependency_order, layer_deps, shown


class Layers:
    """The per-layer structure: declared before globals are checked, then checked in dependency order."""

    def declare_layers(self, layers: ir.Layers):
        """Declare the layer index and per-layer names before any global definition is
        checked, so a global that uses one is told it is per-layer (not unknown)."""
        self.declare_index(layers.index, layers.loc, "layer")
        for item in layers.items:
            key = {ir.Let: "layer", ir.State: "state", ir.Random: "random", ir.Stage: "stage"}[type(item)]
            self.declare(item.name, Key(key, item.name), item.loc, self.decl.layer_defs)
            self.decl.layer_defs[item.name] = (Key(key, item.name), item)

    def check_layers(self, layers: ir.Layers):
        """The layers block: states first (their initial values), the items, then the states' next values."""
        count = self.expr(layers.count, Scope("const", "the layer count"))
        if self.type_of(count, None) not in ("int",):
            fail("the layer count must be an integer (use trunc/round/floor/ceil on a real)", layers.count.loc)
        # States first: their type comes from the initial value, and they are inputs to the layer.
        states = [i for i in layers.items if isinstance(i, ir.State)]
        resolved: dict[str, object] = {}
        for s in states:
            init = self.expr(s.init, Scope("layer", f"the initial value of state '{s.name}'"))
            t = self.type_of(init, None)
            if s.type is not None:
                if s.type == "int" and t == "real":
                    fail(f"state '{s.name}' is declared int but its initial value is real "
                         "(use trunc/round/floor/ceil)", s.init.loc)
                t = s.type
            self.facts.types[Key("state", s.name)] = t
            if self.is_random(init):
                self.facts.random.add(Key("state", s.name))
            resolved[s.name] = init
        done, order = self.check_items([i for i in layers.items if not isinstance(i, ir.State)])
        # Then the states' next values (they may use any layer quantity).
        new_states = {}
        for s in states:
            nxt = self.expr(s.next, Scope("layer", f"the next value of state '{s.name}'"))
            t, tn = self.facts.types[Key("state", s.name)], self.type_of(nxt, None)
            if t == "int" and tn == "real":
                fail(f"state '{s.name}' is int but its next value is real (use trunc/round/floor/ceil)", s.next.loc)
            if self.is_random(nxt):
                self.facts.random.add(Key("state", s.name))
            new_states[s.name] = dataclasses.replace(s, init=resolved[s.name], next=nxt, type=t)
        # A state that becomes random makes everything using it random: recompute.
        if any(Key("state", s.name) in self.facts.random for s in states):
            for name in order:
                item = done[name]
                key = self.decl.layer_defs[name][0]
                expr = item.expr if not isinstance(item, ir.Random) else None
                if expr is not None and self.is_random(expr):
                    self.facts.random.add(key)
        items = tuple(new_states[s.name] for s in states) + tuple(done[n] for n in order)
        in_file_order = tuple(new_states[i.name] if isinstance(i, ir.State) else done[i.name] for i in layers.items)
        return dataclasses.replace(layers, count=count, items=in_file_order), items

    def check_draw_args(self, item: ir.Random, args: tuple[ir.Expr, ...]) -> None:
        """A draw's declared `max` (its last argument) must be an integer, and a literal
        argument must lie in its domain (a probability of 1e5 is an error here, not when drawing)."""
        dist = DISTRIBUTIONS[item.dist]
        if dist.capped and len(args) > len(dist.params):
            if self.type_of(args[-1], None) != "int":
                fail(f"the max of a {item.dist} draw must be an integer (use trunc/round/floor/ceil)", args[-1].loc)
        for name, test, text in dist.domains:
            arg = args[dist.params.index(name)]
            if literal_only(arg) and not test(const_value(arg)):
                fail(f"{item.dist} {name} must be {text}, got {const_value(arg)!r}", arg.loc)

    def check_draw(self, item: ir.Random, key: Key, scope: Scope) -> ir.Random:
        """A `random` declaration: its arguments checked in `scope`, its value typed by its
        distribution and random."""
        args = tuple(self.expr(a, scope) for a in item.args)
        if item.dist == "binomial" and self.type_of(args[0], None) != "int":
            what = f"'{shown(item.args[0])}' is" if isinstance(item.args[0], ir.Name) else "this expression is"
            fail(f"binomial n must be an integer, but {what} real (use trunc/round/floor/ceil)", item.args[0].loc)
        self.check_draw_args(item, args)
        self.facts.types[key] = DISTRIBUTIONS[item.dist].value
        self.facts.random.add(key)
        return dataclasses.replace(item, args=args)

    def check_items(self, items) -> tuple[dict[str, object], list[str]]:
        """Check per-layer or per-row lets, stages and randoms in dependency order: returns
        ({name: checked item}, names in evaluation order); a cycle is an error."""
        def check(name: str, item):
            key = self.decl.layer_defs[name][0]
            scope = Scope("layer", f"'{name}'")
            if isinstance(item, ir.Random):
                return self.check_draw(item, key, scope)
            e = self.expr(item.expr, scope)
            self.facts.types[key] = self.type_of(e, None)
            if self.is_random(e):
                self.facts.random.add(key)
            return dataclasses.replace(item, expr=e)

        return dependency_order([i.name for i in items], lambda n: self.decl.layer_defs[n][1],
                                 lambda item: layer_deps(item, self.decl.layer_defs), check)
