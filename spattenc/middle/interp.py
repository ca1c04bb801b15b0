"""Reference interpreter: evaluates resolved IR (and a whole lowered Plan) over Python
numbers, or over sympy expressions with chosen params left as symbols.

The Python-number domain checks input files (bounds, key ranges, defaults, `check`
conditions).  The sympy domain gives closed forms of a deterministic spec's metrics as
functions of its params, with inputs bound to their (exact, decimal) values; those are
what `inspect` prints and what report `solve` entries solve.  Nothing here reads spec
text: it walks IR nodes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy

from spattenc.ir import keys
from spattenc.ir.keys import Key
from spattenc.ir import nodes as ir
from spattenc.ir.errors import fail
from spattenc.middle.eval import PythonEval, SympyEval, Unsupported, exact
from spattenc.middle.lower import Join, Plan, Timing, report_exprs, time_var, var_of

__all__ = ["Env", "Interpreter", "SympyInterpreter", "Unsupported", "exact", "reads", "symbolic_interpreter",
           "unneeded"]


@dataclass
class Env:
    """Values by keys.Key: params, constants, input leaves (`Key("input", "model.d_model")`:
    a scalar or a numpy table; "model.d_ff?" its presence), per-layer keys while a layer
    runs, metrics and comparisons once computed."""

    values: dict[Key, Any] = field(default_factory=dict)


class Interpreter(PythonEval):
    """Evaluates IR expressions over Python numbers (int, float, bool), reading names
    from an environment (the semantics itself is eval.Evaluator's)."""

    def __init__(self, program: ir.Program, env: Env, draws: dict[str, list] | None = None):
        super().__init__({f.name: f for f in program.funcs})
        self.program = program
        self.env = env
        # Given draws: {random variable: its value at each layer} (one trial); a random
        # step takes its layer's value instead of being unsupported, so a recorded run of
        # the simulator can be replayed here.
        self.draws = draws
        self.plan_index = ""  # the layer index's name, once run_plan starts
        self.leaves = {leaf.var: leaf for leaf in program.leaves}
        self.reduce_values: dict[int, Any] = {}

    def scalar(self, x):
        """A table element or input scalar as a domain value."""
        return x.item() if isinstance(x, np.generic) else x

    def index(self, x) -> int:
        if isinstance(x, bool) or int(x) != x:
            raise Unsupported(f"table index {x!r} is not an integer")
        return int(x)

    def enum_members(self, enum: str) -> tuple[str, ...]:
        return self.program.enum(enum).members

    # ---- names
    def ref(self, e: ir.Ref, local):
        return self.env.values[var_of(e)]

    def visit_MetricRef(self, e: ir.MetricRef, local):
        return self.env.values[Key("metric", e.metric, e.design)]

    def visit_StageTime(self, e: ir.StageTime, local):
        return self.env.values[time_var(e.design, e.stage, e.which)]

    def visit_Reduce(self, e: ir.Reduce, local):
        if e.axis == "layers":
            return self.reduce_values[e.slot]
        if e.axis == "trials":
            # One trial (a deterministic spec, or one replayed trial): the mean is the value,
            # the population std 0, even of nan (as the simulators' per-trial comparisons).
            if e.kind == "std":
                return self.number(ir.Num(e.loc, 0, True))
            return self.visit(e.arg, local)
        return self.unsupported(e)

    def visit_InputRef(self, e: ir.InputRef, local):
        leaf = self.leaves[e.var]
        value = self.env.values[Key("input", leaf.given if e.given else e.var)]
        if e.index:
            pos = []
            for axis, x in zip(leaf.axes, e.index):
                i = self.index(self.visit(x, local))
                if axis[0] == "map":
                    i -= self.index(self.visit(axis[2], local))
                if not 0 <= i < value.shape[len(pos)]:
                    fail(f"index {i} is outside the table '{e.var}'", e.loc)
                pos.append(i)
            value = value[tuple(pos)]
        return self.scalar(value)

    # ---- a whole plan (deterministic specs)
    def run_plan(self, plan: Plan, skip: frozenset[Key] = frozenset(),
                 stage_times: dict[str, list[list[tuple[Any, Any]]]] | None = None) -> dict[Key, Any]:
        """Evaluate constants, every layer, the metrics, comparisons and report values.

        Returns {Key: value} for every metric, comparison and report entry.  A random
        draw raises Unsupported, unless its key is in `skip`: then every value whose key is
        in `skip` (the program's `random` set: the values that depend on draws, and
        keys.design_time(d) for a design whose schedule does) is left out, and the others are
        computed.  A per-trial draw (`plan.draws`) whose value the environment holds is
        taken as drawn: a simulator's trial replayed.  `stage_times`, when given, receives
        for each design with a computed schedule the (start, end) of each scheduled stage,
        a list per layer."""
        vals = self.env.values
        self.plan_index = plan.index
        for k in plan.consts:
            vals[Key("const", k.name)] = self.eval(k.expr)
        for step in plan.draws:
            if step.var not in vals:  # a per-trial draw the caller gives is taken as drawn
                self._step(step, skip)
        count = self.eval(plan.layer_count)
        if self.is_symbolic(count):
            raise Unsupported("the layer count depends on a symbolic param")
        states = {s.name: self.eval(s.init) for s in plan.states if Key("state", s.name) not in skip}
        accs: dict[Key, Any] = {}
        for d in plan.designs:
            vals[time_var(d.name, None, "start")] = 0
            for a in d.accumulators:
                accs[a.var] = None
            if stage_times is not None and keys.design_time(d.name) not in skip:
                stage_times[d.name] = []
        for layer in range(int(count)):
            vals[Key("index", plan.index)] = layer
            vals.update({Key("state", name): v for name, v in states.items()})
            for step in plan.layer_steps:
                self._step(step, skip)
            for d in plan.designs:
                self._design_layer(d, accs, skip, stage_times)
            for s in plan.states:
                if s.name in states:
                    states[s.name] = self.eval(s.next)
        out = self._metrics(plan, accs, int(count), skip)
        for c in plan.compares:
            if Key("compare", c.name) not in skip and not _mentions(c.expr, skip):
                vals[Key("compare", c.name)] = out[Key("compare", c.name)] = self.eval(c.expr)
        for path, expr in report_exprs(plan.report):
            if Key("report", path) not in skip and not _mentions(expr, skip):
                out[Key("report", path)] = self.eval(expr)
        return out

    def _step(self, step, skip: frozenset[Key]) -> None:
        """One per-layer step (a let, stage or draw) of a plan."""
        if step.var in skip:
            return
        if step.kind == "random":
            if self.draws is None or step.name not in self.draws:
                raise Unsupported(f"'{step.name}' is a random draw")
            layer = self.env.values[Key("index", self.plan_index)]
            self.env.values[step.var] = self.scalar(self.draws[step.name][layer])
            return
        self.env.values[step.var] = self.eval(step.expr)

    def _design_layer(self, d, accs: dict[Key, Any], skip: frozenset[Key], stage_times) -> None:
        """One layer of a design: its lets, its schedule (unless it depends on draws), its
        accumulators (those of metrics that do not)."""
        vals = self.env.values
        timed = keys.design_time(d.name) not in skip
        t0 = vals.get(keys.time(d.name, None, "next"), 0)
        vals[time_var(d.name, None, "start")] = t0
        for step in d.pre:
            self._step(step, skip)
        if timed:
            for t in d.timeline:
                if isinstance(t, Timing):
                    vals[time_var(d.name, t.stage, "start")] = vals[t.start]
                    vals[t.end] = vals[t.start] + vals[t.stage_var]
                elif isinstance(t, Join):
                    vals[t.var] = self.builtin("max", [vals[p] for p in t.parts], None)
            end = vals[d.end_var] if d.end_var else t0
            vals[time_var(d.name, None, "end")] = end
            if stage_times is not None:
                stage_times[d.name].append([(vals[t.start], vals[t.end]) for t in d.timeline if isinstance(t, Timing)])
        for step in d.post:
            self._step(step, skip)
        for a in d.accumulators:
            if Key("metric", a.metric, d.name) not in skip:
                old = accs[a.var]
                if a.kind in ("sum", "mean") and old is not None:
                    accs[a.var] = self._add_into(old, a.arg)
                else:
                    accs[a.var] = self._accumulate(a.kind, old, self.eval(a.arg))
        if timed:
            vals[keys.time(d.name, None, "next")] = end

    def _add_into(self, acc, e: ir.Expr):
        """acc + e as the simulators add a layer's term to a running sum: a top-level chain
        of + and - in e continues the sum left to right (acc + a + b is (acc + a) + b),
        so float sums agree with the simulator's bit for bit."""
        if isinstance(e, ir.Binary) and e.op in ("+", "-"):
            return self.binary(e.op, self._add_into(acc, e.left), self.eval(e.right), e)
        return self.binary("+", acc, self.eval(e), e)

    def _accumulate(self, kind: str, old, x):
        match kind:
            case "sum" | "mean":
                return x if old is None else old + x
            case "count":
                return (old or 0) + (1 if self.truth(x) else 0)
            case "last":
                return x
            case "first":
                return x if old is None else old
            case "max_over":
                return x if old is None else self.builtin("max", [old, x], None)
            case "min_over":
                return x if old is None else self.builtin("min", [old, x], None)
        raise AssertionError(kind)  # pragma: no cover

    def _metrics(self, plan: Plan, accs: dict[Key, Any], count: int, skip: frozenset[Key]) -> dict[Key, Any]:
        """Every design metric (those not in `skip`) from the accumulators."""
        vals = self.env.values
        out: dict[str, Any] = {}
        for d in plan.designs:
            for mt in d.metrics:
                key = Key("metric", mt.name, d.name)
                if key in skip:
                    continue
                self.reduce_values = {}
                for a in d.accumulators:
                    if a.metric == mt.name:
                        slot = int(a.var.part)
                        v = accs[a.var]
                        if a.kind == "mean":
                            v = v / count
                        if v is None:
                            v = 0 if a.kind in ("sum", "count") else math.nan
                        self.reduce_values[slot] = v
                vals[key] = out[key] = self.eval(mt.expr)
        return out


def _mentions(e: ir.Expr, keys: frozenset[str]) -> bool:
    """Whether `e` reads a metric or plan variable named in `keys`."""
    if not keys:
        return False
    for node in ir.walk(e):
        if isinstance(node, ir.MetricRef) and Key("metric", node.metric, node.design) in keys:
            return True
        if isinstance(node, ir.Ref) and node.scope not in ("local", "param", "const") and var_of(node) in keys:
            return True
    return False


class SympyInterpreter(SympyEval, Interpreter):
    """Evaluates IR over exact sympy numbers, with some params as symbols."""

    def _accumulate(self, kind: str, old, x):
        # A count whose condition depends on a symbol counts a Piecewise 1 or 0.
        if kind == "count" and self.is_symbolic(x):
            return (old or 0) + sympy.Piecewise((1, x), (0, True))
        return super()._accumulate(kind, old, x)

    def visit_LoopCall(self, e: ir.LoopCall, local):
        raise Unsupported(f"it reads the loop {e.loop}(...), whose steps are random")

    def scalar(self, x):
        return exact(super().scalar(x))

    def index(self, x) -> int:
        if self.is_symbolic(x):
            raise Unsupported("a table index that depends on a symbolic param")
        return super().index(int(x) if isinstance(x, sympy.Integer) else x)


def reads(e: ir.Expr | None) -> set[Key]:
    """The plan variables, metrics, comparisons and schedules an expression reads."""
    out: set[Key] = set()
    for node in ir.walk(e) if e is not None else ():
        if isinstance(node, ir.Ref) and node.scope not in ("local", "param", "const", "index"):
            key = var_of(node)
            out.add(keys.design_time(key.owner) if key.kind == "time" and key.owner else key)
        elif isinstance(node, ir.MetricRef):
            out.add(Key("metric", node.metric, node.design))
        elif isinstance(node, ir.StageTime):
            out.add(keys.design_time(node.design))
    return out


def _plan_reads(plan: Plan) -> dict[Key, set[Key]]:
    """What each value of a layers plan reads: states, steps, schedules, metrics, comparisons."""
    g: dict[Key, set[Key]] = {}
    for s in plan.states:
        g[Key("state", s.name)] = reads(s.init) | reads(s.next)
    for st in plan.layer_steps + tuple(st for d in plan.designs for st in d.pre + d.post):
        g[st.var] = reads(st.expr).union(*(reads(a) for a in st.args))
    for d in plan.designs:
        g[keys.design_time(d.name)] = {t.stage_var for t in d.timeline if isinstance(t, Timing)}
        for mt in d.metrics:
            g[Key("metric", mt.name, d.name)] = reads(mt.expr).union(
                *(reads(a.arg) for a in d.accumulators if a.metric == mt.name))
    for c in plan.compares:
        g[Key("compare", c.name)] = reads(c.expr)
    g.update({Key("report", path): reads(e) for path, e in report_exprs(plan.report)})
    return g


def unneeded(plan: Plan, exprs: list[ir.Expr] = (), roots: list[Key] = ()) -> frozenset[Key]:
    """The values of a plan that `exprs` (and the values `roots`) do not read, directly or
    through others: what a closed form of them skips, so an unrelated metric, draw or
    loop never matters."""
    g = _plan_reads(plan)
    todo = [k for e in exprs for k in reads(e)] + list(roots)
    seen: set[Key] = set()
    while todo:
        k = todo.pop()
        if k not in seen:
            seen.add(k)
            todo.extend(g.get(k, ()))
    return frozenset(g) - seen


def count_params(plan: Plan) -> set[str]:
    """The params the layer count reads (through constants and functions): a count must be
    a number, so the symbolic interpreter needs them at their values."""
    if plan.layer_count is None:
        return set()
    defs = {("const", c.name): [c.expr] for c in plan.consts}
    defs.update({("func", f.name): [f.body] + [let.expr for let in f.lets] for f in plan.funcs})
    out, seen, todo = set(), set(), [plan.layer_count]
    while todo:
        for n in ir.walk(todo.pop()):
            if isinstance(n, ir.Ref) and n.scope == "param":
                out.add(n.name)
            key = ("const", n.name) if isinstance(n, ir.Ref) and n.scope == "const" else \
                ("func", n.func) if isinstance(n, ir.Apply) else None
            if key in defs and key not in seen:
                seen.add(key)
                todo.extend(defs[key])
    return out


def symbolic_interpreter(plan: Plan, params: dict[str, Any], inputs: dict[str, Any], free: tuple[str, ...],
                         skip: frozenset[Key] = frozenset()) -> tuple[SympyInterpreter, dict[str, sympy.Expr]]:
    """Closed forms of every metric, comparison and report value of a deterministic plan.

    Params named in `free` become real symbols; the others take their values from `params`
    (Python numbers); inputs are bound (leaf -> scalar or numpy table, as the binder gives
    them).  Returns the interpreter (to evaluate further expressions in the same
    environment) and {Key of a metric, comparison or report entry: expression}.
    Raises Unsupported when a value has no closed form (random draws, rounding of a symbol).
    `skip`: values left out (`unneeded`).
    """
    env = Env()
    for name, value in params.items():
        env.values[Key("param", name)] = sympy.Symbol(name, real=True) if name in free else exact(value)
    for var, value in inputs.items():
        # Tables stay numpy arrays (elements are made exact when read); scalars become exact now.
        env.values[Key("input", var)] = value if isinstance(value, np.ndarray) else exact(value)
    interp = SympyInterpreter(plan.program, env)
    return interp, interp.run_plan(plan, skip)
