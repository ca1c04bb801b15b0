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


@dataclass(frozen=True, slots=True)
class _Unary:
    """The fields of an operation on one operand."""

    kind: str
    a: Node
    loc: ir.Loc = field(default=ir.NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class _Binary:
    """The fields of an operation on two operands."""

    kind: str
    a: Node
    b: Node
    loc: ir.Loc = field(default=ir.NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class _Operator:
    """The fields of a comparison or logic operation: its operator `op` and two operands."""

    kind: str
    op: str
    a: Node
    b: Node
    loc: ir.Loc = field(default=ir.NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class Lit:
    kind: str
    value: int
    loc: ir.Loc = field(default=ir.NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class Var:
    """A plan variable (a keys.Key: param x, state N, the end time of stage s of design d)."""

    kind: str
    var: Key
    loc: ir.Loc = field(default=ir.NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class Add(_Binary):
    """a + b."""


@dataclass(frozen=True, slots=True)
class Sub(_Binary):
    """a - b."""


@dataclass(frozen=True, slots=True)
class Mul(_Binary):
    """a * b (exact; the lowering shifts the scale back)."""


@dataclass(frozen=True, slots=True)
class Neg(_Unary):
    """-a."""


@dataclass(frozen=True, slots=True)
class Shl:
    """a * 2**k (exact)."""

    kind: str
    a: Node
    k: int
    loc: ir.Loc = field(default=ir.NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class Shr:
    """a / 2**k rounded by `mode` (one of SHIFT_MODES)."""

    kind: str
    a: Node
    k: int
    mode: str
    loc: ir.Loc = field(default=ir.NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class Div(_Binary):
    """a / b truncated toward zero; 0 when b is 0."""


@dataclass(frozen=True, slots=True)
class Mod(_Binary):
    """Floored remainder (sign of b), as Python's %; 0 when b is 0."""


@dataclass(frozen=True, slots=True)
class Cmp(_Operator):
    """a OP b for a comparison OP (a condition)."""


@dataclass(frozen=True, slots=True)
class Logic(_Operator):
    """'and' / 'or' of two conditions."""


@dataclass(frozen=True, slots=True)
class Not(_Unary):
    """The negation of a condition."""


@dataclass(frozen=True, slots=True)
class Mux:
    """c ? a : b."""

    kind: str
    c: Node
    a: Node
    b: Node
    loc: ir.Loc = field(default=ir.NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class Min(_Binary):
    """The smaller of a and b."""


@dataclass(frozen=True, slots=True)
class Max(_Binary):
    """The larger of a and b."""


@dataclass(frozen=True, slots=True)
class Abs(_Unary):
    """|a|."""


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


@dataclass(frozen=True, slots=True)
class Assign:
    """`var` = `node`; `name` is the spec's name for comments and messages."""

    var: Key
    name: str
    node: Node
    loc: ir.Loc


@dataclass(frozen=True, slots=True)
class Draw:
    """A random draw, one per layer: an input of the RTL model, drawn by the simulator
    from `dist` with `args` (int args as ints, real args as value / 2**F)."""

    var: Key
    name: str
    dist: str
    kind: str
    args: tuple[Node, ...]
    loc: ir.Loc


@dataclass(frozen=True, slots=True)
class Acc:
    """A per-layer accumulator: `var` starts at 0 and becomes `update` after each layer."""

    var: Key
    reduction: str
    kind: str
    update: Node
    loc: ir.Loc


@dataclass(frozen=True, slots=True)
class Output:
    """A metric (or DUT run output) computed from accumulators after the last layer."""

    name: str
    node: Node
    loc: ir.Loc
    attrs: ir.Attrs = ir.Attrs()


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    var: Key
    kind: str
    lo: int
    hi: int
    loc: ir.Loc


@dataclass(frozen=True, slots=True)
class State:
    var: Key
    name: str
    kind: str
    init: Node
    next: Node
    loc: ir.Loc


@dataclass(frozen=True, slots=True)
class DesignFx:
    """A design's per-layer work: `steps` in order (stages, lets, start/end times), then
    the accumulators; `t_var` carries the time from one layer to the next."""

    name: str
    title: str
    steps: tuple[Assign, ...]
    t_var: Key
    start_var: Key
    end_var: Key
    time_kind: str
    accs: tuple[Acc, ...]
    metrics: tuple[Output, ...]


@dataclass(frozen=True, slots=True)
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
    frac_bits: int
    stage_cycles: str | None
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

    @property
    def name(self) -> str:
        return self.plan.program.name

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
        return a if a.kind == "int" else shr(a, self.F, mode, "int", loc)

    # -- domain hooks
    def number(self, e: ir.Num) -> Node:
        if e.is_int:
            return Lit("int", int(e.value), e.loc)
        return Lit("fix", to_fixed(e.value, self.F), e.loc)

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
        what = {"InputRef": "a value read from an input file"}.get(type(e).__name__,
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
        return DesignFx(d.name, d.title, tuple(steps), t_var, start, end, time_kind, tuple(accs), tuple(metrics))

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
    one assignment of variable intervals (a method per node class)."""

    def __init__(self, env: dict[str, tuple[int, int]]):
        self.env = env
        self.memo: dict = {}

    def of(self, n: Node) -> tuple[int, int]:
        r = self.memo.get(n)
        if r is None:
            for o in operands(n):  # every operand gets a range, conditions' too
                self.of(o)
            r = self.memo[n] = self.visit(n)
        return r

    def visit_Lit(self, n: Lit):
        return n.value, n.value

    def visit_Var(self, n: Var):
        return self.env[n.var]

    def visit_Add(self, n: Add):
        (al, ah), (bl, bh) = self.of(n.a), self.of(n.b)
        return al + bl, ah + bh

    def visit_Sub(self, n: Sub):
        (al, ah), (bl, bh) = self.of(n.a), self.of(n.b)
        return al - bh, ah - bl

    def visit_Mul(self, n: Mul):
        (al, ah), (bl, bh) = self.of(n.a), self.of(n.b)
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

    def _bit(self, n):
        return 0, 1

    visit_Cmp = visit_Logic = visit_Not = _bit

    def visit_Mux(self, n: Mux):
        (al, ah), (bl, bh) = self.of(n.a), self.of(n.b)
        return min(al, bl), max(ah, bh)

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


def _analyze(params, consts, count, index_var, states, layer, designs, hardware):
    """Ranges of every variable and node: the layer loop is unrolled up to the largest
    layer count, so states, times and accumulators get their exact interval bounds."""
    ranges: dict[str, tuple[int, int]] = {}
    node_ranges: dict = {}
    env: dict[str, tuple[int, int]] = {p.var: (p.lo, p.hi) for p in params}
    ranges.update(env)

    def assign(r: _Ranges, a: Assign):
        lo, hi = r.of(a.node)
        env[a.var] = (lo, hi)
        _union(ranges, a.var, lo, hi)

    def record(r: _Ranges):
        for n, (lo, hi) in r.memo.items():
            _union(node_ranges, n, lo, hi)

    r = _Ranges(env)
    for c in consts:
        assign(r, c)
    assign(r, count)
    record(r)
    count_lo, count_hi = env[keys.COUNT]
    if count_hi > MAX_LAYERS:
        fail(f"the layer count can reach {count_hi}; the fixed-point width analysis unrolls at most "
             f"{MAX_LAYERS} layers (narrow the declared range of what the count depends on)", count.loc)
    for s in states:
        env[s.var] = r.of(s.init)
    record(r)
    all_accs = [a for d in designs for a in d.accs] + [a for h in hardware for a in h.accs]
    for a in all_accs:
        env[a.var] = (0, 0)
        _union(ranges, a.var, 0, 0)
    for d in designs:
        env[d.t_var] = (0, 0)
        _union(ranges, d.t_var, 0, 0)
    _union(ranges, index_var, 0, max(0, count_hi - 1))
    for layer_no in range(count_hi):
        env[index_var] = (layer_no, layer_no)
        for s in states:
            _union(ranges, s.var, *env[s.var])
        r = _Ranges(env)
        for item in layer:
            if isinstance(item, Draw):
                rng = env[item.var] = _draw_range(item, [r.of(x) for x in item.args])
                _union(ranges, item.var, *rng)
            else:
                assign(r, item)
        for d in designs:
            for a in d.steps:
                assign(r, a)
        for h in hardware:
            for a in h.steps:
                assign(r, a)
        updates = [(a.var, r.of(a.update)) for a in all_accs]
        nexts = [(s.var, r.of(s.next)) for s in states]
        ends = [(d.t_var, env[d.end_var]) for d in designs]
        record(r)
        for var, rng in updates + nexts + ends:
            env[var] = rng
            if var.kind != "state":
                _union(ranges, var, *rng)
    # Metrics see the accumulators after any number of layers.
    final_env = dict(env)
    for a in all_accs:
        final_env[a.var] = ranges[a.var]
    r = _Ranges(final_env)
    for d in designs:
        for m in d.metrics:
            r.of(m.node)
    for h in hardware:
        for o in h.outputs:
            r.of(o.node)
    record(r)
    return ranges, node_ranges


def lower_fixed(plan: Plan) -> FixedPlan:
    """The fixed-point program of a plan, with widths checked against MAX_WIDTH."""
    _check_supported(plan.program)
    lw = _Lowerer(plan)
    params, consts, count, index_var, states, layer, designs, hardware = lw.lower()
    ranges, node_ranges = _analyze(params, consts, count, index_var, states, layer, designs, hardware)
    fp = FixedPlan(plan, lw.F, lw.cycles, tuple(params), tuple(consts), count, index_var, tuple(states),
                   tuple(layer), tuple(designs), tuple(hardware), dict(lw.kinds), ranges, node_ranges,
                   dict(lw.names))
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
    if not any(d.metrics for d in prog.designs):  # the RTL's outputs are the metrics
        fail("fixed point: the model computes the designs' metrics, and this spec declares none",
             prog.designs[0].loc if prog.designs else prog.fixed.loc)


def _show_range(fp: FixedPlan, kind: str, lo: int, hi: int) -> str:
    if kind in ("fix", "fix2"):
        bits = fp.frac_bits * (2 if kind == "fix2" else 1)
        return f"[{lo / (1 << bits):.6g}, {hi / (1 << bits):.6g}] (raw [{lo}, {hi}] in units of 2^-{bits})"
    return f"[{lo}, {hi}]"


def _check_widths(fp: FixedPlan) -> None:
    def check_var(var: Key, loc: ir.Loc):
        w = fp.width(var)
        if w > MAX_WIDTH:
            fail(f"fixed point: '{fp.names.get(var, var)}' needs a {w}-bit register; its range is "
                 f"{_show_range(fp, fp.kinds[var], *fp.ranges[var])}, and registers are at most {MAX_WIDTH} bits "
                 "(narrow the declared ranges of the params it depends on, or lower frac_bits)", loc)

    def check_node(n: Node, name: str, loc: ir.Loc):
        for x in postorder(n):
            if isinstance(x, (Lit, Var)) or x not in fp.node_ranges:
                continue
            w = fp.node_width(x)
            if w > MAX_WIDTH:
                where = x.loc if x.loc is not ir.NOWHERE and x.loc.line else loc
                fail(f"fixed point: a step of '{name}' needs {w} bits; its range is "
                     f"{_show_range(fp, x.kind, *fp.node_ranges[x])}, and registers are at most {MAX_WIDTH} bits "
                     "(narrow the declared ranges of the params it depends on, or lower frac_bits)", where)

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
