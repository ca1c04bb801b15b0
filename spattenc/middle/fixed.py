"""Lowering, fixed-point part: a Plan -> integer arithmetic with one defined rounding per
operation, and register widths from interval analysis over the declared param ranges.

Every real value is an integer scaled by 2**F (F = the spec's `fixed(frac_bits=...)`,
32 unless declared); ints stay unscaled, conditions are single bits.  The rules (also in
docs/verilog.md) are:

- a real literal or param value v becomes round(v * 2**F), ties to even;
- + - and comparisons are exact (an int operand is scaled by 2**F first when mixed);
- int * real is exact; real * real is rounded to nearest, ties toward +inf;
- every / gives a real, truncated toward zero; x / 0 and x % 0 are 0;
- % is Python's floored modulo; x ^ k (k a literal >= 0) multiplies left to right;
- floor, ceil, trunc and round (ties to even) of a real give an int;
- with `stage_cycles`, every stage duration is rounded to whole cycles that way.

Both fixed-point back ends (the numpy simulator and the Verilog model) print the nodes
below and nothing else, so they agree bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import NoReturn

from spattenc.ir import keys
from spattenc.ir.keys import Key
from spattenc.ir import catalog
from spattenc.ir import nodes as ir
from spattenc.ir.errors import fail
from spattenc.middle.eval import Evaluator, const_value
from spattenc.ir.visit import Visitor
from spattenc.ir.nodes import walk
from spattenc.middle.lower import Accumulator, Plan, Step, Timing, time_var, var_of

#: Widest register the Verilog back end emits.
MAX_WIDTH = 128
#: Most layers the width analysis unrolls.
MAX_LAYERS = 4096
#: Roundings of Shr: Python's floor/ceil/trunc, "round" ties to even, "nearest" ties toward +inf.
SHIFT_MODES = ("floor", "ceil", "trunc", "round", "nearest")


# ---------------------------------------------------------------- nodes
# `kind` is "int" (unscaled), "fix" (scaled by 2**F) or "bool".  `loc` points at the spec
# text a node comes from; it takes no part in equality, so equal computations are shared.


@ir.frozen
class _Unary:
    """The fields of an operation on one operand."""

    kind: str
    a: Node
    loc: ir.Loc = field(default=ir.NOWHERE, compare=False)


@ir.frozen
class _Binary:
    """The fields of an operation on two operands."""

    kind: str
    a: Node
    b: Node
    loc: ir.Loc = field(default=ir.NOWHERE, compare=False)


@ir.frozen
class _Operator:
    """The fields of a comparison or logic operation: its operator `op` and two operands."""

    kind: str
    op: str
    a: Node
    b: Node
    loc: ir.Loc = field(default=ir.NOWHERE, compare=False)


@ir.frozen
class Lit:
    """A constant: `value` as an int, or scaled by 2**F when `kind` is "fix"."""

    kind: str
    value: int
    loc: ir.Loc = field(default=ir.NOWHERE, compare=False)


@ir.frozen
class Var:
    """A plan variable (a keys.Key: param x, state N, the end time of stage s of design d)."""

    kind: str
    var: Key
    loc: ir.Loc = field(default=ir.NOWHERE, compare=False)


@ir.frozen
class Shl:
    """a * 2**k (exact)."""

    kind: str
    a: Node
    k: int
    loc: ir.Loc = field(default=ir.NOWHERE, compare=False)


@ir.frozen
class Shr:
    """a / 2**k rounded by `mode` (one of SHIFT_MODES)."""

    kind: str
    a: Node
    k: int
    mode: str
    loc: ir.Loc = field(default=ir.NOWHERE, compare=False)


@ir.frozen
class Mux:
    """c ? a : b."""

    kind: str
    c: Node
    a: Node
    b: Node
    loc: ir.Loc = field(default=ir.NOWHERE, compare=False)


def _family(base: type, docs: dict[str, str]) -> tuple[type, ...]:
    """One frozen dataclass per entry of `docs` (name -> docstring), each adding nothing to
    `base` but its name: the operations of one form differ only in what they compute."""
    made = (type(name, (base,), {"__doc__": doc, "__module__": __name__, "__qualname__": name})
            for name, doc in docs.items())
    return tuple(ir.frozen(cls) for cls in made)


Add, Sub, Mul, Div, Mod, Min, Max = _family(_Binary, {
    "Add": "a + b.",
    "Sub": "a - b.",
    "Mul": "a * b (exact; the lowering shifts the scale back).",
    "Div": "a / b truncated toward zero; 0 when b is 0.",
    "Mod": "Floored remainder (sign of b), as Python's %; 0 when b is 0.",
    "Min": "The smaller of a and b.",
    "Max": "The larger of a and b.",
})
Neg, Not, Abs = _family(_Unary, {"Neg": "-a.", "Not": "The negation of a condition.", "Abs": "|a|."})
Cmp, Logic = _family(_Operator, {
    "Cmp": "a OP b for a comparison OP (a condition).",
    "Logic": "'and' / 'or' of two conditions.",
})

Node = Lit | Var | Add | Sub | Mul | Neg | Shl | Shr | Div | Mod | Cmp | Logic | Not | Mux | Min | Max | Abs


def operands(n: Node) -> tuple[Node, ...]:
    match n:
        case Lit() | Var():
            return ()
        case Neg(a=a) | Shl(a=a) | Shr(a=a) | Not(a=a) | Abs(a=a):
            return (a,)
        case Mux(c=c, a=a, b=b):
            return (c, a, b)
        case Add(a=a, b=b) | Sub(a=a, b=b) | Mul(a=a, b=b) | Div(a=a, b=b) | Mod(a=a, b=b) | \
                Cmp(a=a, b=b) | Logic(a=a, b=b) | Min(a=a, b=b) | Max(a=a, b=b):
            return (a, b)
    raise AssertionError(type(n).__name__)  # pragma: no cover


def postorder(n: Node):
    """Every node of a tree, operands first (each distinct node once)."""
    seen: set = set()

    def go(x):
        if x in seen:
            return
        for o in operands(x):
            yield from go(o)
        seen.add(x)
        yield x

    yield from go(n)


# ---------------------------------------------------------------- lowered plan


@ir.frozen
class Assign:
    """`var` = `node`; `name` is the spec's name for comments and messages."""

    var: Key
    name: str
    node: Node
    loc: ir.Loc


@ir.frozen
class Draw:
    """A random draw, one per layer: an input of the RTL model, drawn by the simulator
    from `dist` with `args` (int args as ints, real args as value / 2**F)."""

    var: Key
    name: str
    dist: str
    kind: str
    args: tuple[Node, ...]
    loc: ir.Loc


@ir.frozen
class Acc:
    """A per-layer accumulator: `var` starts at 0 and becomes `update` after each layer."""

    var: Key
    reduction: str
    kind: str
    update: Node
    loc: ir.Loc


@ir.frozen
class Output:
    """A metric (or DUT run output) computed from accumulators after the last layer."""

    name: str
    node: Node
    loc: ir.Loc
    attrs: ir.Attrs = ir.Attrs()


@ir.frozen
class Param:
    name: str
    var: Key
    kind: str
    lo: int
    hi: int
    loc: ir.Loc


@ir.frozen
class State:
    var: Key
    name: str
    kind: str
    init: Node
    next: Node
    loc: ir.Loc


@ir.frozen
class DesignFx:
    """A design's per-layer work: `steps` in order (stages, lets, start/end times), then
    the accumulators; `t_var` carries the time from one layer to the next.  Its times are
    of `time_kind` ("fix" when a stage duration is real, else "int")."""

    name: str
    title: str
    steps: tuple[Assign, ...]
    time_kind: str
    accs: tuple[Acc, ...]
    metrics: tuple[Output, ...]

    @property
    def t_var(self) -> Key:
        return keys.time(self.name, None, "t")

    @property
    def start_var(self) -> Key:
        return time_var(self.name, None, "start")

    @property
    def end_var(self) -> Key:
        return time_var(self.name, None, "end")


@ir.frozen
class HardwareFx:
    """A DUT check: its inputs (spec name, plan variable, kind), per-layer outputs computed
    after its design's steps, run outputs from accumulators."""

    hw: ir.Hardware
    inputs: tuple[tuple[str, str, str], ...]
    steps: tuple[Assign, ...]
    accs: tuple[Acc, ...]
    outputs: tuple[Output, ...]
    layer_outputs: tuple[tuple[str, str, str], ...]  # (name, var, kind)


@dataclass(frozen=True)
class FixedPlan:
    """The fixed-point program of a spec with the range of every variable and node."""

    plan: Plan
    params: tuple[Param, ...]
    consts: tuple[Assign, ...]
    count: Assign
    index_var: Key
    states: tuple[State, ...]
    layer: tuple[Assign | Draw, ...]
    designs: tuple[DesignFx, ...]
    hardware: tuple[HardwareFx, ...]
    kinds: dict[str, str]
    ranges: dict[str, tuple[int, int]]
    node_ranges: dict
    names: dict[str, str]  # var -> spec name, for messages
    #: Real literals that lost bits to the scaling (a literal's negation is listed too).
    inexact: frozenset = frozenset()
    #: Stages whose durations `stage_cycles` rounds to whole cycles (float keeps the fraction).
    rounded: frozenset = frozenset()
    #: Bound on |fixed - float64| of each metric (Key("metric", name, design)) over the
    #: declared ranges, same draws (middle/fixed_error; inf: none); None until computed.
    errors: dict | None = None

    @property
    def name(self) -> str:
        return self.plan.program.name

    @property
    def frac_bits(self) -> int:
        """F: a real value is held as an integer scaled by 2**F."""
        return self.plan.program.fixed.frac_bits

    @property
    def stage_cycles(self) -> str | None:
        """How stage durations are rounded to whole cycles (one of ir.ROUNDINGS), or None."""
        return self.plan.program.fixed.stage_cycles

    @property
    def count_hi(self) -> int:
        """The most layers any configuration runs."""
        return self.ranges[keys.COUNT][1]

    def width(self, var: Key) -> int:
        return width_of(self.kinds[var], *self.ranges[var])

    def node_width(self, n: Node) -> int:
        if isinstance(n, Var):
            return self.width(n.var)
        return width_of(n.kind, *self.node_ranges[n])

    def real(self, var: Key, raw: int) -> float:
        """A raw value of `var` as the number it stands for."""
        return raw / (1 << self.frac_bits) if self.kinds[var] == "fix" else raw


def width_of(kind: str, lo: int, hi: int) -> int:
    """Bits of a two's complement register holding [lo, hi] (conditions: 1 bit)."""
    if kind == "bool":
        return 1
    need = max(hi.bit_length() if hi > 0 else 0, (-lo - 1).bit_length() if lo < 0 else 0)
    return max(2, need + 1)


def to_fixed(value, frac_bits: int) -> int:
    """round(value * 2**frac_bits), ties to even (exact for any float or int)."""
    return round(Fraction(value) * (1 << frac_bits))


# ---------------------------------------------------------------- lowering


class FixedEval(Evaluator):
    """The fixed-point domain of the evaluator: an expression becomes a tree of integer
    nodes (`Node`), one defined rounding per operation.  The catalog names the rule
    (`fx_<rule>`) of each operator and builtin; `kinds` gives each plan variable's kind."""

    def __init__(self, funcs: dict[str, ir.Func], frac_bits: int):
        super().__init__(funcs)
        self.F = frac_bits
        self.kinds: dict[str, str] = {}
        self.reduce: dict[int, Node] | None = None
        self.inexact: set[Lit] = set()  # real literals that round: the error analysis starts there

    def expr(self, e: ir.Expr, local: dict[str, Node], reduce: dict[int, Node] | None = None) -> Node:
        """The node of `e`; `reduce` gives the final value of each layer reduction slot."""
        saved, self.reduce = self.reduce, reduce
        try:
            return self.visit(e, local)
        finally:
            self.reduce = saved

    # -- kinds and alignment
    def fix(self, n: Node) -> Node:
        if n.kind == "fix":
            return n
        if n.kind == "bool":  # pragma: no cover - the checker rejects conditions in arithmetic
            raise AssertionError("condition used as a number")
        return shl(n, self.F, "fix")

    def align(self, *ns: Node) -> tuple[Node, ...]:
        if all(n.kind == ns[0].kind for n in ns):
            return ns
        return tuple(self.fix(n) for n in ns)

    def to_int(self, a: Node, mode: str, loc: ir.Loc) -> Node:
        if a in self.inexact:  # kept as an operation, so the error analysis sees the rounded literal
            return Shr("int", a, self.F, mode, loc)
        return a if a.kind == "int" else shr(a, self.F, mode, "int", loc)

    # -- domain hooks
    def number(self, e: ir.Num) -> Node:
        if e.is_int:
            return Lit("int", int(e.value), e.loc)
        n = Lit("fix", to_fixed(e.value, self.F), e.loc)
        if Fraction(n.value, 1 << self.F) != Fraction(e.value):
            self.inexact |= {n, Lit("fix", -n.value)}
        return n

    def is_symbolic(self, x) -> bool:
        return True  # a node is a circuit: both sides of 'and'/'or' are built

    def visit_Bool(self, e: ir.Bool, local) -> Node:
        return Lit("bool", int(e.value), e.loc)

    def ref(self, e: ir.Ref, local) -> Node:
        var = var_of(e)
        return Var(self.kinds[var], var, e.loc)

    def visit_StageTime(self, e: ir.StageTime, local) -> Node:
        var = time_var(e.design, e.stage, e.which)
        return Var(self.kinds[var], var, e.loc)

    def visit_Reduce(self, e: ir.Reduce, local) -> Node:
        if e.axis != "layers":
            return self.unsupported(e)
        return self.reduce[e.slot]

    def visit_EnumConst(self, e, local):
        return self.unsupported(e)

    def visit_Comprehension(self, e, local):
        return self.unsupported(e)

    def unsupported(self, e):
        what = {"InputRef": "a value read from an input file",
                "Comprehension": f"{getattr(e, 'kind', '')}() over a range or an enum"}.get(type(e).__name__,
                                                                   f"this expression ({type(e).__name__})")
        fail(f"{what} has no fixed-point semantics here", getattr(e, "loc", None))

    def unary(self, op: str, a: Node, e: ir.Unary) -> Node:
        if op == "not":
            return Not("bool", a, e.loc)
        if isinstance(a, Lit):
            return Lit(a.kind, -a.value, e.loc)
        return Neg(a.kind, a, e.loc)

    def cond(self, test, then_fn, else_fn, e: ir.Cond) -> Node:
        a, b = self.align(then_fn(), else_fn())
        return Mux(a.kind, test, a, b, e.loc)

    def binary(self, op: str, a: Node, b: Node, e: ir.Binary) -> Node:
        return getattr(self, "fx_" + catalog.BINARY[op].fixed)(op, a, b, e)

    def builtin(self, f: str, args: list[Node], e: ir.Builtin) -> Node:
        rule = catalog.BUILTINS[f].fixed
        if rule is None:
            fail(f"{f}() has no fixed-point semantics; the Verilog back end supports + - * / % ^, comparisons, "
                 "and/or/not, if, min, max, clamp, abs, floor, ceil, round and trunc", e.loc)
        return getattr(self, "fx_" + rule)(f, args, e)

    # -- the rules of operators (docs/verilog.md)
    def fx_logic(self, op, a, b, e):
        return Logic("bool", op, a, b, e.loc)

    def fx_compare(self, op, a, b, e):
        a, b = self.align(a, b)
        return Cmp("bool", op, a, b, e.loc)

    def fx_add(self, op, a, b, e):
        a, b = self.align(a, b)
        return Add(a.kind, a, b, e.loc)

    def fx_sub(self, op, a, b, e):
        a, b = self.align(a, b)
        return Sub(a.kind, a, b, e.loc)

    def fx_mod(self, op, a, b, e):
        a, b = self.align(a, b)
        return Mod(a.kind, a, b, e.loc)

    def fx_mul(self, op, a, b, e):
        return self.mul(a, b, e.loc)

    def mul(self, a: Node, b: Node, loc: ir.Loc) -> Node:
        """int * int and int * real are exact; real * real rounds to nearest, ties toward +inf."""
        if a.kind == "int" and b.kind == "int":
            return Mul("int", a, b, loc)
        if a.kind == "int" or b.kind == "int":
            return Mul("fix", a, b, loc)
        return shr(Mul("fix2", a, b, loc), self.F, "nearest", "fix", loc)

    def fx_div(self, op, a, b, e):
        return self.div(a, b, e.loc)

    def div(self, a: Node, b: Node, loc: ir.Loc) -> Node:
        """Every / gives a real, truncated toward zero."""
        fa, fb = a.kind == "fix", b.kind == "fix"
        return Div("fix", shl(a, self.F * (1 - fa + fb), "fix2" if fb else "fix", loc), b, loc)

    def fx_power(self, op, a, b, e):
        right = e.right
        if not (isinstance(right, ir.Num) and right.is_int and right.value >= 0):
            fail("fixed-point semantics need a literal integer exponent >= 0 (x ^ 2, not x ^ y)", right.loc)
        k = int(right.value)
        if k == 0:
            return Lit(a.kind, 1 << self.F if a.kind == "fix" else 1, e.loc)
        out = a
        for _ in range(k - 1):
            out = self.mul(out, a, e.loc)
        return out

    # -- the rules of builtins
    def fx_min(self, f, args, e):
        return self._fold(Min, args, e.loc)

    def fx_max(self, f, args, e):
        return self._fold(Max, args, e.loc)

    def _fold(self, cls, args, loc):
        args = list(self.align(*args))
        out = args[0]
        for a in args[1:]:
            out = cls(out.kind, out, a, loc)
        return out

    def fx_clamp(self, f, args, e):
        x, lo, hi = self.align(*args)
        return Max(x.kind, lo, Min(x.kind, hi, x, e.loc), e.loc)

    def fx_to_int(self, f, args, e):
        return self.to_int(args[0], f, e.loc)

    def fx_abs(self, f, args, e):
        return Abs(args[0].kind, args[0], e.loc)


class _Lowerer(FixedEval):
    def __init__(self, plan: Plan):
        super().__init__({f.name: f for f in plan.funcs}, plan.program.fixed.frac_bits)
        self.plan = plan
        self.cycles = plan.program.fixed.stage_cycles
        self.names: dict[str, str] = {}
        self.rounded: set[Key] = set()

    def declare(self, var: Key, kind: str, name: str) -> None:
        self.kinds[var] = kind
        self.names[var] = name

    # -- the plan
    def lower(self) -> tuple:
        plan, prog = self.plan, self.plan.program
        params = []
        for p in prog.params:
            kind = {"int": "int", "real": "fix", "bool": "bool"}[p.type]
            var = Key("param", p.name)
            self.declare(var, kind, p.name)
            if kind == "bool":
                lo, hi = 0, 1
            else:
                if p.lo is None or p.hi is None:
                    fail(f"param '{p.name}' has no declared range; fixed-point widths need one "
                         f"(param {p.name} = ... in [LOW, HIGH])", p.loc)
                lo_v, hi_v = const_value(p.lo), const_value(p.hi)
                if kind == "int":
                    lo, hi = -((-Fraction(lo_v)).__floor__()), Fraction(hi_v).__floor__()
                else:
                    lo, hi = to_fixed(lo_v, self.F), to_fixed(hi_v, self.F)
            params.append(Param(p.name, var, kind, int(lo), int(hi), p.loc))
        consts = []
        for c in plan.consts:
            n = self.expr(c.expr, {})
            var = Key("const", c.name)
            self.declare(var, n.kind, c.name)
            consts.append(Assign(var, c.name, n, c.loc))
        count_node = self.expr(plan.layer_count, {})
        if count_node.kind != "int":  # pragma: no cover - checked by the front end
            fail("the layer count must be an integer", plan.layer_count.loc)
        count = Assign(keys.COUNT, "layer count", count_node, plan.layer_count.loc)
        self.declare(keys.COUNT, "int", "layer count")
        index_var = Key("index", plan.index)
        self.declare(index_var, "int", plan.index)
        for s in plan.states:
            kind = {"int": "int", "real": "fix", "bool": "bool"}[prog.types[Key("state", s.name)]]
            self.declare(Key("state", s.name), kind, s.name)
        inits = [self.state_expr(s.name, s.init) for s in plan.states]
        layer = [self.step(s) for s in plan.layer_steps]
        states = [State(Key("state", s.name), s.name, self.kinds[Key("state", s.name)], init,
                        self.state_expr(s.name, s.next), s.loc) for s, init in zip(plan.states, inits)]
        designs = [self.design(d) for d in plan.designs]
        hardware = [self.hardware(h) for h in prog.hardware]
        return params, consts, count, index_var, states, layer, designs, hardware

    def state_expr(self, name: str, e: ir.Expr) -> Node:
        """A state's initial or next value, scaled when the state is real."""
        n = self.expr(e, {})
        return self.fix(n) if self.kinds[Key("state", name)] == "fix" else n

    def step(self, s: Step) -> Assign | Draw:
        if s.kind == "random":
            dist = catalog.DISTRIBUTIONS[s.dist]
            if dist.fixed is None:
                if dist.no_fixed:
                    fail(dist.no_fixed, s.loc)
                drawn = ", ".join(d.name for d in catalog.DISTRIBUTIONS.values() if d.fixed is not None)
                fail(f"{s.dist} draws have no fixed-point semantics; it draws {drawn} (random '{s.name}')", s.loc)
            kind, rule = dist.fixed
            if rule == "max" and len(s.args) == len(dist.params):
                fail(dist.no_fixed, s.loc)
            self.declare(s.var, kind, s.name)
            return Draw(s.var, s.name, s.dist, kind, self.draw_args(dist, s.args), s.loc)
        n = self.expr(s.expr, {})
        if s.kind == "stage" and self.cycles is not None:
            if n.kind != "int":
                self.rounded.add(s.var)
            n = self.to_int(n, self.cycles, s.loc)
        self.declare(s.var, n.kind, s.name)
        return Assign(s.var, s.name, n, s.loc)

    def draw_args(self, dist: catalog.Distribution, args: tuple[ir.Expr, ...]) -> tuple[Node, ...]:
        """A draw's arguments as the simulators pass them to numpy: a count (binomial's n)
        and a declared max as ints, every other argument (probabilities, bounds) as a real,
        so an int argument (`uniform(k, k + 1)`, `bernoulli(1)`) is scaled like a real one."""
        names = dist.params + ("max",) * (len(args) - len(dist.params))
        return tuple(n if name in ("n", "max") else self.fix(n)
                     for name, n in zip(names, (self.expr(a, {}) for a in args)))

    def accumulators(self, accs: list[Accumulator]) -> list[Acc]:
        out = []
        index = Var("int", Key("index", self.plan.index))
        for a in accs:
            var = a.var
            arg = self.expr(a.arg, {})
            kind = "int" if a.kind == "count" else arg.kind
            acc = Var(kind, var)
            match a.kind:
                case "sum" | "mean":
                    upd = Add(kind, acc, arg)
                case "count":
                    upd = Add("int", acc, Mux("int", arg, Lit("int", 1), Lit("int", 0)))
                case "last":
                    upd = arg
                case "first":
                    upd = Mux(kind, Cmp("bool", "==", index, Lit("int", 0)), arg, acc)
                case "max_over" | "min_over":
                    cls = Max if a.kind == "max_over" else Min
                    upd = Mux(kind, Cmp("bool", "==", index, Lit("int", 0)), arg, cls(kind, acc, arg))
                case _:  # pragma: no cover
                    raise AssertionError(a.kind)
            self.declare(var, kind, f"{a.kind}() in {a.metric}")
            out.append(Acc(var, a.kind, kind, upd, a.arg.loc))
        return out

    def finals(self, accs: list[Accumulator], fx: list[Acc]) -> dict[int, Node]:
        """Reduction slot -> its final value (mean divides by the layer count)."""
        out = {}
        count = Var("int", keys.COUNT)
        for a, f in zip(accs, fx):
            slot = int(a.var.part)
            v = Var(f.kind, f.var)
            out[slot] = self.div(v, count, a.arg.loc) if a.kind == "mean" else v
        return out

    def design(self, d) -> DesignFx:
        loc = self.plan.program.design(d.name).loc
        steps: list[Assign] = []
        for s in d.pre:
            steps.append(self.step(s))
        stage_kinds = [self.kinds[t.stage_var] for t in d.timeline if isinstance(t, Timing)]
        time_kind = "fix" if "fix" in stage_kinds else "int"
        start = time_var(d.name, None, "start")
        t_var = keys.time(d.name, None, "t")
        self.declare(t_var, time_kind, f"time of design {d.name}")
        steps.append(Assign(start, f"{d.name} layer start", Var(time_kind, t_var), loc))
        self.declare(start, time_kind, f"{d.name} layer start")
        for t in d.timeline:
            if isinstance(t, Timing):
                sv = time_var(d.name, t.stage, "start")
                steps.append(Assign(sv, f"{t.stage}.start", Var(time_kind, t.start), loc))
                self.declare(sv, time_kind, f"{t.stage}.start")
                a, b = self.align(Var(time_kind, t.start), Var(self.kinds[t.stage_var], t.stage_var))
                steps.append(Assign(t.end, f"{t.stage}.end", Add(time_kind, a, b), loc))
                self.declare(t.end, time_kind, f"{t.stage}.end")
            else:
                out = Var(time_kind, t.parts[0])
                for p in t.parts[1:]:
                    out = Max(time_kind, out, Var(time_kind, p))
                steps.append(Assign(t.var, "parallel join", out, loc))
                self.declare(t.var, time_kind, "parallel join")
        end = time_var(d.name, None, "end")
        end_node = Var(time_kind, d.end_var) if d.end_var else Var(time_kind, start)
        steps.append(Assign(end, f"{d.name} layer end", end_node, loc))
        self.declare(end, time_kind, f"{d.name} layer end")
        for s in d.post:
            steps.append(self.step(s))
        accs = self.accumulators(list(d.accumulators))
        metrics = []
        for mt in d.metrics:
            mine = [(a, f) for a, f in zip(d.accumulators, accs) if a.metric == mt.name]
            finals = self.finals([a for a, _ in mine], [f for _, f in mine])
            metrics.append(Output(mt.name, self.expr(mt.expr, {}, finals), mt.loc, mt.attrs))
        return DesignFx(d.name, d.title, tuple(steps), time_kind, tuple(accs), tuple(metrics))

    def hardware(self, h: ir.Hardware) -> HardwareFx:
        inputs = []
        for i in h.inputs:
            var = Key(i.scope, i.name)
            inputs.append((i.name, var, self.kinds[var]))
        steps, layer_outputs = [], []
        for o in h.layer_outputs:
            n = self.expr(o.expr, {})
            var = Key("hw", o.name, h.name)
            self.declare(var, n.kind, o.name)
            steps.append(Assign(var, o.name, n, o.loc))
            layer_outputs.append((o.name, var, n.kind))
        outputs, accs = [], []
        for o in h.outputs:
            mine = []
            for node in walk(o.expr):
                if isinstance(node, ir.Reduce) and node.axis == "layers":
                    mine.append(Accumulator(keys.hw_acc(h.name, o.name, node.slot), node.kind, node.arg,
                                            h.design, o.name))
            fx = self.accumulators(mine)
            accs += fx
            outputs.append(Output(o.name, self.expr(o.expr, {}, self.finals(mine, fx)), o.loc, o.attrs))
        return HardwareFx(h, tuple(inputs), tuple(steps), tuple(accs), tuple(outputs), tuple(layer_outputs))


def shl(a: Node, k: int, kind: str, loc: ir.Loc = ir.NOWHERE) -> Node:
    if k == 0:
        return a
    if isinstance(a, Lit):
        return Lit(kind, a.value << k, a.loc)
    return Shl(kind, a, k, loc)


def shr(a: Node, k: int, mode: str, kind: str, loc: ir.Loc = ir.NOWHERE) -> Node:
    if k == 0:
        return a if a.kind == kind else replace(a, kind=kind)
    if isinstance(a, Lit):
        return Lit(kind, shift_right(a.value, k, mode), a.loc)
    return Shr(kind, a, k, mode, loc)


# ---------------------------------------------------------------- integer semantics (reference)


def shift_right(x: int, k: int, mode: str) -> int:
    """x / 2**k rounded by `mode` (the semantics every back end prints)."""
    if k == 0:
        return x
    match mode:
        case "floor":
            return x >> k
        case "ceil":
            return -((-x) >> k)
        case "trunc":
            return x >> k if x >= 0 else -((-x) >> k)
        case "nearest":
            return (x + (1 << (k - 1))) >> k
        case "round":
            q, r = x >> k, x & ((1 << k) - 1)
            half = 1 << (k - 1)
            return q + (1 if r > half or (r == half and q & 1) else 0)
    raise AssertionError(mode)  # pragma: no cover


def tdiv(a: int, b: int) -> int:
    """a / b truncated toward zero; 0 when b is 0."""
    if b == 0:
        return 0
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def fmod(a: int, b: int) -> int:
    """Python's floored a % b; 0 when b is 0."""
    return 0 if b == 0 else a % b


# ---------------------------------------------------------------- interval analysis


class _Ranges(Visitor):
    """The interval domain: interval arithmetic over the nodes the lowering produced, for
    one assignment of variable intervals (a method per node class).

    Plain interval arithmetic forgets that two operands share terms: `end - start` of a
    layer would range over [end_lo - start_hi, ...], negative and as wide as the whole run.
    So differences and comparisons are also bounded through linear forms: each operand is
    expanded, through the exact operations (+ - neg, shifts left, products with literals)
    and the current layer's definitions `defs`, into a sum of atoms; shared atoms cancel,
    and a max/min/if atom is split into its arms.  Both bounds are sound; the tighter wins.
    """

    #: Splits of one difference that carry every shared term; later ones carry the widest.
    EXACT_SPLITS = 8

    def __init__(self, env: dict[str, tuple[int, int]], defs: dict | None = None):
        self.env = env
        self.defs = defs if defs is not None else {}
        self.memo: dict = {}
        self.forms: dict = {}
        self.deeps: dict = {}
        self.splits: dict = {}
        self.budget = 0

    def of(self, n: Node) -> tuple[int, int]:
        r = self.memo.get(n)
        if r is None:
            for o in operands(n):  # every operand gets a range, conditions' too
                self.of(o)
            r = self.memo[n] = self.visit(n)
        return r

    # -- linear forms: (atom -> coefficient, constant)
    def form(self, n: Node) -> tuple[dict, int]:
        """`n` as a linear form (memoized for this layer)."""
        f = self.forms.get(n)
        if f is None:
            f = self.forms[n] = self._build_form(n)
        return f

    def _build_form(self, n: Node) -> tuple[dict, int]:
        match n:
            case Lit(value=v):
                return {}, v
            case Var(var=v) if v in self.defs:
                return self.form(self.defs[v])
            case Add(a=a, b=b):
                return _combine(self.form(a), 1, self.form(b), 1)
            case Sub(a=a, b=b):
                return _combine(self.form(a), 1, self.form(b), -1)
            case Neg(a=a):
                return _combine(self.form(a), -1, ({}, 0), 0)
            case Shl(a=a, k=k):
                return _combine(self.form(a), 1 << k, ({}, 0), 0)
            case Mul(a=a, b=Lit(value=v)) | Mul(a=Lit(value=v), b=a):
                return _combine(self.form(a), v, ({}, 0), 0)
        return {n: 1}, 0

    def arms(self, atom: Node) -> tuple[Node, ...]:
        """The values a max, min or if term takes its value from (an if: the arms its
        condition can select)."""
        if isinstance(atom, Mux):
            return {(1, 1): (atom.a,), (0, 0): (atom.b,)}.get(self.of(atom.c), (atom.a, atom.b))
        return atom.a, atom.b

    def deep(self, atom: Node) -> frozenset:
        """Every term the arms of a max, min or if term expand into, through nested ones."""
        d = self.deeps.get(atom)
        if d is None:
            out: set = set()
            for arm in self.arms(atom):
                for a in self.form(arm)[0]:
                    out.add(a)
                    if isinstance(a, _SPLIT):
                        out |= self.deep(a)
            d = self.deeps[atom] = frozenset(out)
        return d

    def form_range(self, terms: dict, const: int) -> tuple[int, int]:
        """The range of sum(c * atom) + const.  A max, min or if term M is split into its
        arms together with the terms its arms share (c * max(x, y) + S is
        max(c*x + S, c*y + S) for c > 0, the min for c < 0); the other terms add their own
        range.  Each split is memoized, so a chain of joins costs one split per join."""
        split = next((a for a in terms if isinstance(a, _SPLIT)), None)
        if split is None:
            lo = hi = const
            for atom, c in terms.items():
                al, ah = self.of(atom)
                lo, hi = (lo + c * al, hi + c * ah) if c > 0 else (lo + c * ah, hi + c * al)
            return lo, hi
        deep, c = self.deep(split), terms[split]
        shared = {a: v for a, v in terms.items() if a in deep}
        if self.budget <= 0 and len(shared) > 1:
            # Out of exact splits: keep only the widest shared term (a layer's start time,
            # typically), so the splits of a chain of joins stay one per join.
            widest = max(shared, key=lambda a: abs(shared[a]) * (self.of(a)[1] - self.of(a)[0]))
            shared = {widest: shared[widest]}
        self.budget -= 1
        other = {a: v for a, v in terms.items() if a != split and a not in shared}
        key = (split, c, frozenset(shared.items()))
        r = self.splits.get(key)
        if r is None:
            rs = [self.form_range(*_combine((shared, 0), 1, self.form(arm), c)) for arm in self.arms(split)]
            los, his = [x[0] for x in rs], [x[1] for x in rs]
            if isinstance(split, Mux):
                r = min(los), max(his)
            else:
                pick = max if isinstance(split, Max) == (c > 0) else min
                r = pick(los), pick(his)
            self.splits[key] = r
        olo, ohi = self.form_range(other, const)
        return r[0] + olo, r[1] + ohi

    def difference(self, a: Node, b: Node) -> tuple[int, int]:
        """The range of a - b: interval arithmetic, tightened by the linear forms."""
        (al, ah), (bl, bh) = self.of(a), self.of(b)
        self.budget = self.EXACT_SPLITS
        lo, hi = self.form_range(*_combine(self.form(a), 1, self.form(b), -1))
        return max(al - bh, lo), min(ah - bl, hi)

    def visit_Lit(self, n: Lit):
        return n.value, n.value

    def visit_Var(self, n: Var):
        return self.env[n.var]

    def visit_Add(self, n: Add):
        (al, ah), (bl, bh) = self.of(n.a), self.of(n.b)
        return al + bl, ah + bh

    def visit_Sub(self, n: Sub):
        return self.difference(n.a, n.b)

    def visit_Mul(self, n: Mul):
        (al, ah), (bl, bh) = self.of(n.a), self.of(n.b)
        if not isinstance(n.b, Lit) and _power_chain(n.a, n.b):
            # x * x * ... * x (x ^ k): on each side of 0 the product, each step rounded,
            # is monotone in x, so its extremes are at the ends of x's range and at 0.
            xs = {bl, bh} | ({0} if bl < 0 < bh else set())
            p = [_power_value(n, n.b, x) for x in xs]
            return min(p), max(p)
        p = (al * bl, al * bh, ah * bl, ah * bh)
        return min(p), max(p)

    def visit_Neg(self, n: Neg):
        al, ah = self.of(n.a)
        return -ah, -al

    def visit_Shl(self, n: Shl):
        al, ah = self.of(n.a)
        return al << n.k, ah << n.k

    def visit_Shr(self, n: Shr):
        al, ah = self.of(n.a)
        return shift_right(al, n.k, n.mode), shift_right(ah, n.k, n.mode)

    def visit_Div(self, n: Div):
        (al, ah), (bl, bh) = self.of(n.a), self.of(n.b)
        qs = []
        for lo, hi in ((bl, min(bh, -1)), (max(bl, 1), bh)):
            if lo <= hi:
                qs += [tdiv(x, y) for x in (al, ah) for y in (lo, hi)]
        if bl <= 0 <= bh:
            qs.append(0)
        return min(qs), max(qs)

    def visit_Mod(self, n: Mod):
        (al, ah), (bl, bh) = self.of(n.a), self.of(n.b)
        if bl > 0 and al >= 0:
            return 0, min(ah, bh - 1)
        return min(0, bl + 1), max(0, bh - 1)

    def visit_Cmp(self, n: Cmp):
        """1 or 0 when the operands' ranges decide the comparison, else either (the
        linear forms are tried only when plain intervals leave it open)."""
        (al, ah), (bl, bh) = self.of(n.a), self.of(n.b)
        decided = _decide(n.op, al - bh, ah - bl)
        return decided if decided != (0, 1) else _decide(n.op, *self.difference(n.a, n.b))

    def visit_Logic(self, n: Logic):
        (al, ah), (bl, bh) = self.of(n.a), self.of(n.b)
        return (al & bl, ah & bh) if n.op == "and" else (al | bl, ah | bh)

    def visit_Not(self, n: Not):
        al, ah = self.of(n.a)
        return 1 - ah, 1 - al

    def visit_Mux(self, n: Mux):
        """The union of the arms the condition can select."""
        arms = {(1, 1): (n.a,), (0, 0): (n.b,)}.get(self.of(n.c), (n.a, n.b))
        rs = [self.of(x) for x in arms]
        return min(r[0] for r in rs), max(r[1] for r in rs)

    def visit_Min(self, n: Min):
        (al, ah), (bl, bh) = self.of(n.a), self.of(n.b)
        return min(al, bl), min(ah, bh)

    def visit_Max(self, n: Max):
        (al, ah), (bl, bh) = self.of(n.a), self.of(n.b)
        return max(al, bl), max(ah, bh)

    def visit_Abs(self, n: Abs):
        al, ah = self.of(n.a)
        if al >= 0:
            return al, ah
        if ah <= 0:
            return -ah, -al
        return 0, max(-al, ah)


def _power_chain(n: Node, base: Node) -> bool:
    """Whether `n` is `base`, or base * ... * base multiplied left to right (each real
    product shifted back to nearest, as the lowering of x ^ k and of x * x * x does)."""
    while n != base:
        if isinstance(n, Shr) and n.mode == "nearest" and isinstance(n.a, Mul) and n.a.kind == "fix2":
            n = n.a
        if not (isinstance(n, Mul) and n.b == base):
            return False
        n = n.a
    return True


def _power_value(n: Node, base: Node, x: int) -> int:
    """The value of the power chain `n` when `base` is x (the integer semantics)."""
    if n == base:
        return x
    if isinstance(n, Shr):
        return shift_right(_power_value(n.a, base, x), n.k, n.mode)
    return _power_value(n.a, base, x) * x


def _decide(op: str, lo: int, hi: int) -> tuple[int, int]:
    """The values of `a OP b` when a - b lies in [lo, hi]."""
    always, never = {"<": (hi < 0, lo >= 0), "<=": (hi <= 0, lo > 0), ">": (lo > 0, hi <= 0),
                     ">=": (lo >= 0, hi < 0), "==": (lo == hi == 0, lo > 0 or hi < 0),
                     "!=": (lo > 0 or hi < 0, lo == hi == 0)}[op]
    return (1, 1) if always else (0, 0) if never else (0, 1)


#: The terms of a linear form that are split into their arms.
_SPLIT = (Max, Min, Mux)


def _combine(f: tuple[dict, int], cf: int, g: tuple[dict, int], cg: int) -> tuple[dict, int]:
    """The linear form cf * f + cg * g (atoms whose coefficients cancel are dropped)."""
    terms = {k: cf * v for k, v in f[0].items()} if cf else {}
    for k, v in g[0].items():
        c = terms.get(k, 0) + cg * v
        if c:
            terms[k] = c
        else:
            terms.pop(k, None)
    return {k: v for k, v in terms.items() if v}, cf * f[1] + cg * g[1]


def _union(r: dict, key, lo: int, hi: int) -> None:
    old = r.get(key)
    r[key] = (lo, hi) if old is None else (min(old[0], lo), max(old[1], hi))


def _draw_range(d: Draw, args: list[tuple[int, int]]) -> tuple[int, int]:
    """The values a draw can take, by its distribution's fixed-point range rule."""
    match catalog.DISTRIBUTIONS[d.dist].fixed[1]:
        case "count":  # 0..n
            return 0, max(0, args[0][1])
        case "bit":
            return 0, 1
        case "max":  # 0..the declared max (the last argument)
            return 0, max(0, args[-1][1])
    return min(args[0][0], args[1][0]), max(args[0][1], args[1][1])  # between the arguments' bounds


class NoErrors:
    """The hooks `_analyze` calls for an error domain run in lockstep with the ranges
    (middle/fixed_error); this one tracks nothing."""

    def of(self, r: _Ranges, n: Node) -> float:
        return 0.0

    def draw(self, d: Draw, layer_no: int, rng: tuple[int, int]) -> tuple[int, int]:
        """The range of draw `d` at layer `layer_no` (an error domain may know the draw)."""
        return rng

    def set(self, var: Key, e: float, assign: Assign | None = None) -> None:
        pass

    def final(self, var: Key, e: float) -> None:
        """`var`'s error is one its value may have when the metrics read it."""

    def finish(self, r: _Ranges, accs: list[Acc], designs) -> None:
        pass


def _analyze(params, consts, count, index_var, states, layer, designs, hardware, track=NoErrors()):
    """Ranges of every variable and node: the layer loop is unrolled up to the largest
    layer count, so states, times and accumulators get their exact interval bounds.
    `track` follows every value through the same steps (an error domain)."""
    ranges: dict[str, tuple[int, int]] = {}
    node_ranges: dict = {}
    env: dict[str, tuple[int, int]] = {p.var: (p.lo, p.hi) for p in params}
    ranges.update(env)

    def assign(r: _Ranges, a: Assign):
        lo, hi = r.of(a.node)
        env[a.var] = (lo, hi)
        r.defs[a.var] = a.node
        _union(ranges, a.var, lo, hi)
        track.set(a.var, track.of(r, a.node), a)

    def record(r: _Ranges):
        for n, (lo, hi) in r.memo.items():
            _union(node_ranges, n, lo, hi)

    r = _Ranges(env)
    for c in consts:
        assign(r, c)
    const_defs = dict(r.defs)  # every layer's linear forms may expand the constants
    assign(r, count)
    record(r)
    count_lo, count_hi = env[keys.COUNT]
    if count_hi > MAX_LAYERS:
        fail(f"the layer count can reach {count_hi}; the fixed-point width analysis unrolls at most "
             f"{MAX_LAYERS} layers (narrow the declared range of what the count depends on)", count.loc)
    for s in states:
        env[s.var] = r.of(s.init)
        track.set(s.var, track.of(r, s.init))
    record(r)
    all_accs = [a for d in designs for a in d.accs] + [a for h in hardware for a in h.accs]
    for var in [a.var for a in all_accs] + [d.t_var for d in designs] + [index_var]:
        env[var] = (0, 0)
        _union(ranges, var, 0, 0)
        track.set(var, 0.0)
    _union(ranges, index_var, 0, max(0, count_hi - 1))
    finals: dict = {}  # the accumulators' values after a number of layers the count can be
    for a in all_accs if count_lo == 0 else ():
        _union(finals, a.var, 0, 0)
        track.final(a.var, 0.0)
    for layer_no in range(count_hi):
        env[index_var] = (layer_no, layer_no)
        for s in states:
            _union(ranges, s.var, *env[s.var])
        r = _Ranges(env, dict(const_defs))
        for item in layer:
            if isinstance(item, Draw):  # an input: both semantics see the same draw
                rng = env[item.var] = track.draw(item, layer_no, _draw_range(item, [r.of(x) for x in item.args]))
                _union(ranges, item.var, *rng)
                track.set(item.var, 0.0)
            else:
                assign(r, item)
        for a in [a for d in designs for a in d.steps] + [a for h in hardware for a in h.steps]:
            assign(r, a)
        updates = [(a.var, a.update) for a in all_accs] + [(s.var, s.next) for s in states]
        news = [(var, r.of(n), track.of(r, n)) for var, n in updates]
        news += [(d.t_var, env[d.end_var], track.of(r, Var(d.time_kind, d.end_var))) for d in designs]
        record(r)
        for var, rng, e in news:
            env[var] = rng
            track.set(var, e)
            if var.kind != "state":
                _union(ranges, var, *rng)
            if var.kind in ("acc", "hwacc") and layer_no + 1 >= count_lo:
                _union(finals, var, *rng)
                track.final(var, e)
    # Metrics see the accumulators after any number of layers the count allows.
    r = _Ranges(env | finals, dict(const_defs))
    for n in [m.node for d in designs for m in d.metrics] + [o.node for h in hardware for o in h.outputs]:
        r.of(n)
    record(r)
    track.finish(r, all_accs, designs)
    return ranges, node_ranges


def lower_fixed(plan: Plan) -> FixedPlan:
    """The fixed-point program of a plan, with widths checked against MAX_WIDTH."""
    _check_supported(plan.program)
    lw = _Lowerer(plan)
    params, consts, count, index_var, states, layer, designs, hardware = lw.lower()
    ranges, node_ranges = _analyze(params, consts, count, index_var, states, layer, designs, hardware)
    fp = FixedPlan(plan, tuple(params), tuple(consts), count, index_var, tuple(states), tuple(layer),
                   tuple(designs), tuple(hardware), dict(lw.kinds), ranges, node_ranges, dict(lw.names),
                   frozenset(lw.inexact), frozenset(lw.rounded))
    _check_widths(fp)
    return fp


def _check_supported(prog: ir.Program) -> None:
    """Fail on the features the fixed-point semantics does not cover: it models params,
    constants and per-layer recurrences, evaluated for one configuration."""
    for what, decls in (("an input file", prog.inputs), ("an input table", prog.tables), ("a loop", prog.loops)):
        if decls:
            fail(f"fixed point: specs that read {what} have no fixed-point semantics "
                 "(it covers params, constants and per-layer recurrences)", decls[0].loc)
    if prog.rows is not None:
        fail("fixed point: a rows block has no fixed-point semantics", prog.rows.loc)
    per_trial = prog.draws + tuple(r for d in prog.designs for r in d.draws)
    if per_trial:
        fail(f"fixed point: random '{per_trial[0].name}' is drawn once per trial (declared outside the layers "
             "block); the fixed-point semantics and the RTL take per-layer draws only", per_trial[0].loc)
    if not any(d.metrics for d in prog.designs):  # the RTL's outputs are the metrics
        fail("fixed point: the model computes the designs' metrics, and this spec declares none",
             prog.designs[0].loc if prog.designs else prog.fixed.loc)


def _show_range(fp: FixedPlan, kind: str, lo: int, hi: int) -> str:
    if kind in ("fix", "fix2"):
        bits = fp.frac_bits * (2 if kind == "fix2" else 1)
        return f"[{lo / (1 << bits):.6g}, {hi / (1 << bits):.6g}] (raw [{lo}, {hi}] in units of 2^-{bits})"
    return f"[{lo}, {hi}]"


def _definitions(fp: FixedPlan) -> dict[Key, tuple[tuple[Node, ...], ir.Loc]]:
    """Each variable's defining nodes (none for params and draws; a state's initial and
    next values) and its declaration."""
    defs: dict[Key, tuple[tuple[Node, ...], ir.Loc]] = {p.var: ((), p.loc) for p in fp.params}
    for a in fp.consts + (fp.count,):
        defs[a.var] = ((a.node,), a.loc)
    for s in fp.states:
        defs[s.var] = ((s.init, s.next), s.loc)
    for item in fp.layer:
        defs[item.var] = ((item.node,) if isinstance(item, Assign) else (), item.loc)
    for d in list(fp.designs) + list(fp.hardware):
        for a in d.steps:
            defs[a.var] = ((a.node,), a.loc)
        for c in d.accs:
            defs[c.var] = ((c.update,), c.loc)
    for d in fp.designs:
        defs[d.t_var] = ((Var(d.time_kind, d.end_var),), defs[d.end_var][1])
    return defs


def _spread(lo: int, hi: int) -> int:
    """Bits between a range's largest magnitude and its smallest nonzero one: how much a
    quantity grew (as a divisor, its small end makes quotients wide)."""
    big = max(abs(lo), abs(hi))
    small = 1 if lo <= 0 <= hi else min(abs(lo), abs(hi))
    return big.bit_length() - small.bit_length()


def _growth_chain(fp: FixedPlan, defs: dict, nodes: tuple[Node, ...]) -> list[Key]:
    """The quantities too-wide `nodes` grew from: repeatedly the variable they read whose
    range spreads over the most bits, then that variable's definition, down to a param."""
    chain: list[Key] = []
    while nodes and len(chain) < 12:
        read = [x.var for n in nodes for x in postorder(n)
                if isinstance(x, Var) and x.var in defs and x.var not in chain]
        if not read:
            break
        var = max(read, key=lambda v: _spread(*fp.ranges[v]))
        chain.append(var)
        nodes = defs[var][0]
    return chain


def _short_range(fp: FixedPlan, var: Key) -> str:
    """A variable's range in the units of the spec (reals unscaled), for messages."""
    lo, hi = fp.ranges[var]
    if fp.kinds[var] == "fix":
        lo, hi = lo / (1 << fp.frac_bits), hi / (1 << fp.frac_bits)
    return f"[{lo:.6g}, {hi:.6g}]"


def _width_error(fp: FixedPlan, what: str, nodes: tuple[Node, ...], loc: ir.Loc) -> NoReturn:
    """Fail with `what`, the chain of quantities whose ranges made it wide (each cited at
    its declaration) and what to do about it."""
    defs = _definitions(fp)
    chain = _growth_chain(fp, defs, nodes)
    links = [f"'{fp.names.get(v, v)}' {_short_range(fp, v)}" + (" (a param)" if v.kind == "param" else "")
             for v in chain]
    along = f"; it grows from {' <- '.join(links)}" if links else ""
    notes = [(defs[v][1], f"'{fp.names.get(v, v)}' ranges over {_short_range(fp, v)}") for v in chain
             if defs[v][1] is not ir.NOWHERE and defs[v][1].line]
    fail(f"fixed point: {what}, and registers are at most {MAX_WIDTH} bits{along} "
         "(narrow the declared ranges of the params it depends on, or lower frac_bits)", loc, *notes)


def _check_widths(fp: FixedPlan) -> None:
    def check_var(var: Key, loc: ir.Loc):
        w = fp.width(var)
        if w > MAX_WIDTH:
            nodes = _definitions(fp).get(var, ((), loc))[0]
            _width_error(fp, f"'{fp.names.get(var, var)}' needs a {w}-bit register; its range is "
                             f"{_show_range(fp, fp.kinds[var], *fp.ranges[var])}", nodes, loc)

    def check_node(n: Node, name: str, loc: ir.Loc):
        for x in postorder(n):
            if isinstance(x, (Lit, Var)) or x not in fp.node_ranges:
                continue
            w = fp.node_width(x)
            if w > MAX_WIDTH:
                where = x.loc if x.loc is not ir.NOWHERE and x.loc.line else loc
                _width_error(fp, f"a step of '{name}' needs {w} bits; its range is "
                                 f"{_show_range(fp, x.kind, *fp.node_ranges[x])}", (x,), where)

    for p in fp.params:
        check_var(p.var, p.loc)
    for a in fp.consts + (fp.count,):
        check_node(a.node, a.name, a.loc)
        check_var(a.var, a.loc)
    for s in fp.states:
        check_node(s.next, s.name, s.loc)
        check_var(s.var, s.loc)
    for item in fp.layer:
        if isinstance(item, Assign):
            check_node(item.node, item.name, item.loc)
        check_var(item.var, item.loc)
    for d in list(fp.designs) + list(fp.hardware):
        for a in d.steps:
            check_node(a.node, a.name, a.loc)
            check_var(a.var, a.loc)
        for a in d.accs:
            check_node(a.update, fp.names[a.var], a.loc)
            check_var(a.var, a.loc)
    for d in fp.designs:
        check_var(d.t_var, ir.NOWHERE)
        for m in d.metrics:
            check_node(m.node, m.name, m.loc)
    for h in fp.hardware:
        for o in h.outputs:
            check_node(o.node, o.name, o.loc)
