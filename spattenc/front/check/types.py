"""Front end, checking: the type and the randomness of a checked expression."""

from __future__ import annotations

from dataclasses import dataclass, field

from spattenc.ir import keys
from spattenc.ir.keys import Key
from spattenc.ir import nodes as ir
from spattenc.ir.nodes import children
from spattenc.ir.catalog import COMPREHENSIONS, binary_result, builtin_result, reduction_result
from spattenc.front.check.scope import Scope


@dataclass
class Facts:
    """What checking has found out: the type of every scoped key, which keys depend on a
    random draw, function/loop result types, each design's scheduled stages, group keys,
    and the checked inputs with their leaves."""

    types: dict[Key, str] = field(default_factory=dict)
    random: set[Key] = field(default_factory=set)
    func_types: dict[str, str] = field(default_factory=dict)
    loop_types: dict[str, str] = field(default_factory=dict)
    loop_random: set[str] = field(default_factory=set)
    scheduled: dict[str, set[str]] = field(default_factory=dict)
    group_keys: dict[str, dict[str, str]] = field(default_factory=dict)  # group -> key -> type
    inputs: dict[str, ir.Input] = field(default_factory=dict)  # checked, records expanded
    leaves: dict[str, ir.Leaf] = field(default_factory=dict)


class Types:
    """Result types and randomness, read from the facts found so far."""

    def type_of(self, e: ir.Expr, scope: Scope | None) -> str:
        """The type of a checked expression: int, real, bool, string or enum:NAME."""
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
                return self.facts.types.get(Key("compare", n), "real")
            case ir.EnumConst(enum=en):
                return f"enum:{en}"
            case ir.InputRef(var=v, given=g):
                return "bool" if g else self.facts.leaves[v].type
            case ir.Comprehension(kind=k, var=v, enum=en, body=body):
                vtype = f"enum:{en}" if en is not None else "int"
                if COMPREHENSIONS[k].result == "member":
                    return vtype
                self.local_types.append({v: vtype})
                t = self.type_of(body, scope)
                self.local_types.pop()
                return "int" if t == "int" else "real"
            case ir.GroupRef(group=g, name=n, kind="key"):
                return self.facts.group_keys[g][n]
            case ir.GroupRef(group=g, name=n):
                return self.facts.types.get(Key("group", n, g), "real")
            case ir.LoopCall(loop=f):
                return self.facts.loop_types[f]
            case ir.Ref(name=n, scope=s, design=d):
                if s == "design":
                    return self.facts.types.get(Key("design", n, d), "real")
                if s == "index":
                    return "int"
                return self.facts.types.get(Key(s, n), "real")
            case ir.StageTime():
                return "real"
            case ir.MetricRef(design=d, metric=m):
                return self.facts.types[Key("metric", m, d)]
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
                return self.facts.func_types.get(f, "real")
        raise AssertionError(type(e).__name__)  # pragma: no cover

    def is_random(self, e: ir.Expr) -> bool:
        """Whether a checked expression depends on a random draw."""
        match e:
            case ir.Ref(name=n, scope=s, design=d):
                if s == "design":
                    return Key("design", n, d) in self.facts.random
                return Key(s, n) in self.facts.random
            case ir.StageTime(design=d):
                return keys.design_time(d) in self.facts.random or any(
                    self.is_random(stage_ref(self, d, s)) for s in self.facts.scheduled.get(d, ()))
            case ir.MetricRef(design=d, metric=m):
                return Key("metric", m, d) in self.facts.random
            case ir.GroupRef(group=g, name=n, kind="let"):
                return Key("group", n, g) in self.facts.random
            case ir.LoopCall(loop=f):
                if f in self.facts.loop_random:
                    return True
        return any(self.is_random(c) for c in children(e))


def stage_ref(ch, design: str, stage: str) -> ir.Ref:
    """A reference to a stage of `design` (its own, or a per-layer one)."""
    if stage in ch.decl.design_defs.get(design, {}):
        return ir.Ref(ir.NOWHERE, stage, "design", design)
    return ir.Ref(ir.NOWHERE, stage, "stage")
