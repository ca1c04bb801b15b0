"""Front end, checking: loops (states, a while condition, per-step items, a reduced result)."""

from __future__ import annotations

import dataclasses

from spattenc.ir.keys import Key
from spattenc.ir import nodes as ir
from spattenc.ir.catalog import DISTRIBUTIONS
from spattenc.ir.errors import fail
from spattenc.front.check.scope import RESERVED, Scope, check_arity, once


class Loops:
    """A loop declaration and its calls."""

    def check_loop(self, lp: ir.Loop) -> ir.Loop:
        """A loop: states, while condition, per-step items and a result reduced over the steps."""
        seen: dict[str, ir.Loc] = {}
        for p in lp.params:
            if p in seen:
                fail(f"loop '{lp.name}' repeats a parameter name", lp.loc)
            seen[p] = lp.loc
        for item in lp.states + lp.items:
            if item.name in RESERVED:
                fail(f"'{item.name}' is a reserved name and cannot be defined", item.loc)
            once(seen, item.name, item.loc, f"'{item.name}' is defined more than once in loop '{lp.name}'")
        what = f"loop '{lp.name}'"
        params = {p: "real" for p in lp.params}
        states, inits = [], {}
        for s_ in lp.states:
            init = self.expr(s_.init, Scope("loop", f"the initial value of state '{s_.name}' in {what}",
                                             locals=dict(params)))
            t = s_.type or self.type_of(init, None)
            if (t == "bool") != (self.type_of(init, None) == "bool"):
                fail(f"state '{s_.name}' is declared {t} but its initial value is "
                     f"{'a condition' if t != 'bool' else 'a number'}", s_.init.loc)
            inits[s_.name] = (init, t)
        local = dict(params) | {name: t for name, (_, t) in inits.items()}
        cond_scope = Scope("loop", f"the 'while' condition of {what}", locals=dict(local))
        cond = self.expr(lp.cond, cond_scope)
        if self.type_of(cond, cond_scope) != "bool":
            fail(f"the 'while' of {what} must be a condition (a comparison, and/or/not)", lp.cond.loc)
        items = []
        for item in lp.items:
            scope = Scope("loop", f"'{item.name}' in {what}", locals=dict(local))
            if isinstance(item, ir.Random):
                args = tuple(self.expr(a, scope) for a in item.args)
                items.append(dataclasses.replace(item, args=args))
                self.check_draw_args(item, args)
                local[item.name] = DISTRIBUTIONS[item.dist].value
            else:
                e = self.expr(item.expr, scope)
                items.append(dataclasses.replace(item, expr=e))
                local[item.name] = self.type_of(e, scope)
        for s_ in lp.states:
            scope = Scope("loop", f"the next value of state '{s_.name}' in {what}", locals=dict(local))
            nxt = self.expr(s_.next, scope)
            init, t = inits[s_.name]
            if (t == "bool") != (self.type_of(nxt, scope) == "bool"):
                fail(f"the next value of state '{s_.name}' must be {'a condition' if t == 'bool' else 'a number'}",
                     s_.next.loc)
            states.append(dataclasses.replace(s_, init=init, next=nxt, type=t))
        self.loop_locals = dict(local)
        self.reduce_slot = 0
        ret_scope = Scope("loop_return", f"the result of {what}", locals=dict(params))
        body = self.expr(lp.body, ret_scope)
        self.facts.loop_types[lp.name] = self.type_of(body, ret_scope)
        self.facts.types[Key("loop", lp.name)] = self.facts.loop_types[lp.name]
        if any(isinstance(i, ir.Random) for i in lp.items):
            self.facts.loop_random.add(lp.name)
        return dataclasses.replace(lp, states=tuple(states), items=tuple(items), cond=cond, body=body)

    def loop_call(self, e: ir.Call, scope: Scope) -> ir.LoopCall:
        """A call of a loop: once per layer (or row) and trial, with numeric arguments."""
        f = e.func
        lp = self.decl.loops[f]
        if scope.level in ("loop", "loop_return"):
            fail(f"a loop cannot call a loop ('{f}' inside {scope.what})", e.loc)
        if scope.level not in (("layer",) if self.rows_mode else ("layer", "design")):
            fail(f"loop '{f}' runs once per {self.item_word[4:]} and trial; it cannot be called in {scope.what}",
                 e.loc)
        check_arity(e, "loop", lp)
        self.resolve_key(Key("loop", f))
        args = self.numbers(e.args, scope, f"arguments of loop '{f}' must be numbers, not conditions",
                            f"arguments of loop '{f}' must be numbers, not {{}} values")
        return ir.LoopCall(e.loc, f, args)
