"""IR: the typed, immutable contract between the front end and every back end.

The parser builds these nodes with names unresolved (`Name`, `Attr`); the checker
(`check.py`) replaces them by resolved nodes (`Ref`, `StageTime`, `MetricRef`,
`Reduce`, `Builtin`, `Apply`) and returns a `Program`.  Every node carries `loc`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any, TypeVar, dataclass_transform

from spattenc.ir.keys import Key

_T = TypeVar("_T")


@dataclass_transform(frozen_default=True)
def frozen(cls: type[_T]) -> type[_T]:
    """Declares a node class: a frozen dataclass (immutable, so nodes can be shared and
    hashed) with slots (small, and no stray attributes)."""
    return dataclass(frozen=True, slots=True)(cls)


@frozen
class Loc:
    """A source span: 1-based line and column of the first character, and of the end."""

    file: str
    line: int
    col: int
    end_line: int
    end_col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


NOWHERE = Loc("<builtin>", 0, 0, 0, 0)


# ---------------------------------------------------------------- expressions


@frozen
class Num:
    """A numeric literal; `is_int` when written without a point or exponent."""

    loc: Loc
    value: float | int
    is_int: bool


@frozen
class Bool:
    loc: Loc
    value: bool


@frozen
class Name:
    """An unresolved identifier (parser output only)."""

    loc: Loc
    name: str


@frozen
class Attr:
    """`base.attr` before resolution: a stage time or another design's metric."""

    loc: Loc
    base: str
    attr: str


@frozen
class Path:
    """A longer access path before resolution: `a.b.c`, `a.b[i]`, `t[i][j]`.

    `steps` holds a field name (str) or an index expression per step, after `root`.
    """

    loc: Loc
    root: str
    steps: tuple[str | Expr, ...]


@frozen
class Comprehension:
    """`sum(var in DOMAIN: body)`: `body` summed in order over the members of enum
    `enum`, or over the integers lo <= var < hi (`range(lo, hi)`; `range(hi)` has lo 0).
    `var` is a local of the body (an int, or a value of the enum)."""

    loc: Loc
    kind: str
    var: str
    enum: str | None
    lo: Expr | None
    hi: Expr | None
    body: Expr


@frozen
class Unary:
    """`op` is '-' or 'not'."""

    loc: Loc
    op: str
    operand: Expr


@frozen
class Binary:
    """Arithmetic (+ - * / % ^), comparison (< <= > >= == !=) or logic (and, or).

    Evaluation order is the written order: back ends must not reassociate, so float
    results match a left-to-right Python evaluation of the same formula.
    """

    loc: Loc
    op: str
    left: Expr
    right: Expr


@frozen
class Cond:
    """`if test then then_ else else_`."""

    loc: Loc
    test: Expr
    then: Expr
    else_: Expr


@frozen
class Call:
    """A call before resolution (builtin, user function or reduction)."""

    loc: Loc
    func: str
    args: tuple[Expr, ...]


# Resolved forms ---------------------------------------------------------------

#: Scopes a resolved name can live in.
SCOPES = ("param", "const", "index", "state", "layer", "random", "stage", "design", "time", "local")


@frozen
class Ref:
    """A resolved name.  `scope` is one of SCOPES; `design` names the design for
    design-local stages and lets (None otherwise)."""

    loc: Loc
    name: str
    scope: str
    design: str | None = None


@frozen
class StageTime:
    """`stage.start` / `stage.end` of a scheduled stage in a design, or the layer's
    own `start` / `end` when `stage` is None."""

    loc: Loc
    design: str
    stage: str | None
    which: str


@frozen
class MetricRef:
    """`design.metric` inside a comparison: the per-trial samples of the metric."""

    loc: Loc
    design: str
    metric: str


@frozen
class Reduce:
    """A reduction.  Over layers inside a metric (sum, mean, count, last, first,
    max_over, min_over); over trials inside a comparison (mean, std, min, max).

    In a rows spec: axis "rows" runs over table rows and axis "groups" over the groups
    of group `over`; `within` names the group whose members are reduced (a group's
    lets), or is None for a reduction over all of them (a metric).  Axis "steps" runs
    over the steps of a loop (its `return`).
    """

    loc: Loc
    kind: str
    axis: str  # "layers" | "trials" | "rows" | "groups" | "steps"
    arg: Expr
    slot: int = 0  # accumulator number within its metric (layers axis) or loop (steps axis)
    over: str | None = None
    within: str | None = None


@frozen
class Builtin:
    """A builtin scalar function (min, max, floor, ceil, round, trunc, abs, sqrt, log, exp)."""

    loc: Loc
    func: str
    args: tuple[Expr, ...]


@frozen
class Apply:
    """A call of a user function; arity checked."""

    loc: Loc
    func: str
    args: tuple[Expr, ...]


@frozen
class EnumConst:
    """`Enum.member`: the member's position `value` (0-based) is its numeric code."""

    loc: Loc
    enum: str
    member: str
    value: int


@frozen
class InputRef:
    """A read of an input leaf (see `Leaf`): `var` names it ('model.d_model'); `index`
    has one expression per axis of the leaf (map keys, enum members), outermost first.
    With `given`, the read is the leaf's presence flag (an optional field, or whether
    a map has an entry at the index), whose axes are the leaf's map axes only."""

    loc: Loc
    var: str
    index: tuple[Expr, ...] = ()
    given: bool = False


@frozen
class GroupRef:
    """A per-group value of group `group`: a key column (`kind` 'key') or one of its
    lets (`kind` 'let')."""

    loc: Loc
    group: str
    name: str
    kind: str


@frozen
class LoopCall:
    """A call of a loop (see `Loop`): one independent run per element; arity checked."""

    loc: Loc
    loop: str
    args: tuple[Expr, ...]


Expr = (Num | Bool | Name | Attr | Path | Unary | Binary | Cond | Call | Comprehension | Ref | StageTime | MetricRef
        | Reduce | Builtin | Apply | EnumConst | InputRef | GroupRef | LoopCall)


# ---------------------------------------------------------------- declarations


@frozen
class Attrs:
    """Display and documentation attributes shared by declarations."""

    unit: str | None = None
    label: str | None = None
    doc: str | None = None
    fmt: str | None = None
    scale: float | None = None
    gantt: str | None = None  # how a Gantt chart draws the stage or segment (GANTT_KINDS)

    def shown_label(self, name: str) -> str:
        """The label a quantity is shown with: the declared one, else its name."""
        return self.label or name

    @property
    def shown_fmt(self) -> str:
        """The format a quantity is shown with: the declared one, else DEFAULT_FMT."""
        return self.fmt or DEFAULT_FMT

    @property
    def shown_scale(self) -> float:
        """The factor a quantity is shown multiplied by: the declared one, else 1."""
        return float(self.scale) if self.scale is not None else 1.0


#: The format of a quantity that declares none.
DEFAULT_FMT = ".2f"


#: Values of the `gantt` attribute: a full-height stage bar, a thin overlay (work that runs
#: alongside), a wasted or corrective segment, or none (recorded but not drawn).
GANTT_KINDS = ("stage", "overlay", "wasted", "corrective", "none")


@frozen
class Param:
    """A user-settable parameter: `type` is 'int', 'real' or 'bool'; `lo`/`hi` bound
    `--set` values when declared (inclusive).

    The checker folds the default and the range ends (literal expressions) into `value`,
    `lo_value` and `hi_value`, so later phases read numbers; they are None before the
    check, and the range ends None where no range is declared."""

    loc: Loc
    name: str
    type: str
    default: Expr
    lo: Expr | None
    hi: Expr | None
    attrs: Attrs
    value: int | float | bool | None = None
    lo_value: int | float | None = None
    hi_value: int | float | None = None


@frozen
class Definition:
    """The fields of a name defined by one expression: a let, a stage, a metric or a
    comparison (each its own node type, so equal fields of two kinds stay unequal)."""

    loc: Loc
    name: str
    expr: Expr
    attrs: Attrs


@frozen
class Let(Definition):
    """A derived definition (global, per-layer, or design-local per-layer)."""


@frozen
class Func:
    """A user function: `lets` are evaluated in order, then `body` is returned.

    `param_types` gives each parameter's declared type ('real' when not annotated;
    'int', or an enum type 'enum:NAME', when written `name: int` / `name: Enum`).
    """

    loc: Loc
    name: str
    params: tuple[str, ...]
    lets: tuple[Let, ...]
    body: Expr
    param_types: tuple[str, ...] = ()


@frozen
class State:
    """Per-layer state: `init` at layer 0, `next` gives the value for layer l+1."""

    loc: Loc
    name: str
    type: str | None
    init: Expr
    next: Expr
    attrs: Attrs


@frozen
class Random:
    """A random variable drawn once per layer (row, loop step) per trial, or once per
    trial when declared at spec level: `dist` names a distribution of
    catalog.DISTRIBUTIONS; a declared `max` cap is the last of `args`."""

    loc: Loc
    name: str
    dist: str
    args: tuple[Expr, ...]
    attrs: Attrs


@frozen
class Stage(Definition):
    """A named latency evaluated per layer (cycles unless `attrs.unit` says otherwise: ir.units)."""


@frozen
class SchedStage:
    loc: Loc
    stage: str


@frozen
class Seq:
    """Sequential composition: each part starts when the previous one ends."""

    loc: Loc
    parts: tuple[Sched, ...]


@frozen
class Par:
    """Parallel composition: parts start together; it ends when the last one ends."""

    loc: Loc
    parts: tuple[Sched, ...]


Sched = SchedStage | Seq | Par


@frozen
class Show:
    """A display-only interval of a design's layer, recorded with the Gantt events: it
    runs from `start` to `end` (design expressions that may read stage times).  It
    defines no name usable in expressions and changes no result."""

    loc: Loc
    name: str
    start: Expr
    end: Expr
    attrs: Attrs


@frozen
class Metric(Definition):
    """A design's result for one trial, usually a reduction over its layers (`last(end)`)."""


@frozen
class Design:
    """A design: its own stages and lets (per layer), a per-layer schedule, metrics, and
    its own draws (one per trial)."""

    loc: Loc
    name: str
    title: str | None
    lets: tuple[Let | Stage, ...]
    schedule: Sched | None
    metrics: tuple[Metric, ...]
    shows: tuple[Show, ...] = ()
    draws: tuple[Random, ...] = ()


@frozen
class Layers:
    """The per-layer block: `index` runs over range(count)."""

    loc: Loc
    index: str
    count: Expr
    items: tuple[Let | State | Random | Stage, ...]


@frozen
class Compare(Definition):
    """A spec-level value over designs' metrics (`design.metric` is its per-trial samples)."""


# ---------------------------------------------------------------- enums, inputs, reports


@frozen
class Enum:
    """`enum NAME { a, b, ... }`: values are written NAME.a; member i has code i."""

    loc: Loc
    name: str
    members: tuple[str, ...]
    attrs: Attrs


@frozen
class Bound:
    """A value constraint of an input field: `in [lo, hi]` (op 'in'), or `op lo` with op
    one of >= > <= < != (hi None)."""

    loc: Loc
    op: str
    lo: Expr
    hi: Expr | None = None


#: Bound comparison -> its words in messages ("must be at least 4").
BOUND_OPS = {">=": "at least", ">": "greater than", "<=": "at most", "<": "less than", "!=": "different from"}


@frozen
class Check:
    """`check a.b: condition "message"`: a condition over an input's fields; a file
    failing it is reported at key path `where` with `message`."""

    loc: Loc
    where: tuple[str, ...]
    expr: Expr
    message: str


@frozen
class Field:
    """One key of an input schema.

    kind 'scalar': a value of `type` (int, real, bool, string or 'enum:NAME'); with `per`
    (an enum name), a mapping with one such value per enum member.  kind 'map': a mapping
    from integer keys `key` in [key_lo, key_hi] to such values.  kind 'group': a nested
    mapping of `fields` (records are expanded into groups by the checker).
    `default` fills absent values (each member of `per`, each absent map entry's members);
    `optional` allows the key to be absent (a group whose fields all have defaults, or are
    optional, may always be absent); `nonempty` requires a map to have an entry.
    """

    loc: Loc
    name: str
    kind: str
    type: str | None = None
    per: str | None = None
    key: str | None = None
    key_lo: Expr | None = None
    key_hi: Expr | None = None
    bound: Bound | None = None
    default: Expr | None = None
    optional: bool = False
    nonempty: bool = False
    fields: tuple[Field, ...] = ()
    checks: tuple[Check, ...] = ()
    attrs: Attrs = Attrs()


@frozen
class Record:
    """`record NAME { fields }`: a group of fields reusable as a field type."""

    loc: Loc
    name: str
    title: str | None
    fields: tuple[Field, ...]
    checks: tuple[Check, ...]


@frozen
class Input:
    """`input NAME "title" from "default file" { fields }`: params bound from a YAML or
    JSON file given as `--input NAME=FILE` (or the default file, relative to the spec)."""

    loc: Loc
    name: str
    title: str | None
    file: str | None
    fields: tuple[Field, ...]
    checks: tuple[Check, ...]


@frozen
class Leaf:
    """A scalar-valued input variable, possibly a table: `var` is 'input.path.to.field'.

    `axes` are ('map', key name, lo, hi) or ('enum', enum name) per table dimension,
    outermost first; `given` names the presence flag ('' when the leaf is required and
    not in a map).  `field` is the schema entry it comes from (declared at `loc`).
    """

    loc: Loc
    var: str
    type: str
    axes: tuple[tuple, ...]
    given: str
    field: Field


@frozen
class ReportItem:
    """One entry of a `report` block.

    kind 'value' (`name = expr`), 'object' (`name { items }`), 'points' (`points p, q
    { items }`: one object per evaluated point, starting with the values of the params
    `params`), 'first' (`name = first expr where cond`: the least value of expr over
    the points where cond holds; null if none), 'solve' (`name = solve p where a == b`:
    the real p in p's declared range where the equation holds, solved exactly).
    """

    loc: Loc
    name: str
    kind: str
    expr: Expr | None = None
    cond: Expr | None = None
    items: tuple[ReportItem, ...] = ()
    params: tuple[str, ...] = ()


@frozen
class Report:
    loc: Loc
    items: tuple[ReportItem, ...]


#: Ways a real value becomes a whole number (Python semantics; "round" is half to even).
ROUNDINGS = ("floor", "ceil", "round", "trunc")


@frozen
class FixedOpts:
    """Fixed-point (RTL) semantics of a spec: every real value is an integer scaled by
    2**frac_bits; `stage_cycles` (one of ROUNDINGS, or None) rounds each stage duration to
    whole clock cycles in that semantics only (float results are unaffected)."""

    loc: Loc
    frac_bits: int = 32
    stage_cycles: str | None = None


DEFAULT_FIXED = FixedOpts(NOWHERE)


@frozen
class Limit:
    """`limit param in [lo, hi]`: a narrower range used only to draw DUT configurations."""

    loc: Loc
    param: str
    lo: Expr
    hi: Expr


@frozen
class HwInput:
    """A DUT input port carrying a spec quantity: `scope` is param | const | random once checked."""

    loc: Loc
    name: str
    scope: str = ""


@frozen
class Hardware:
    """Hand-written RTL (module `name` in `path`; see verify.find_hardware) checked
    against design `design`: it receives `inputs`, and must report each of `outputs`
    (per run, like metrics) and `layer_outputs` (per layer, like design lets) exactly as
    the spec's fixed-point semantics compute them, for `configs` random configurations
    drawn within the params' ranges narrowed by `limits`; configurations whose run lasts
    more than `max_cycles` cycles (the design's end time) are redrawn."""

    loc: Loc
    name: str
    path: str
    design: str
    design_loc: Loc
    inputs: tuple[HwInput, ...]
    limits: tuple[Limit, ...]
    outputs: tuple[Metric, ...]
    layer_outputs: tuple[Let, ...]
    configs: Expr | int = 200  # an Expr until checked
    max_cycles: Expr | int | None = None


@frozen
class SweepAxis:
    """One swept param.  `kind` is list | range | linspace | geomspace, `args` the written
    arguments (list items for a list); the checker folds them into `values`."""

    loc: Loc
    param: str
    kind: str
    args: tuple[Expr, ...]
    values: tuple[float | int | bool, ...] = ()


#: Axis generators: name -> (min args, max args).
SWEEP_GENERATORS = {"range": (1, 3), "linspace": (3, 3), "geomspace": (3, 3)}


@frozen
class Sweep:
    """A named design-space sweep.  `combine` is 'product' (every combination, the last
    axis varying fastest) or 'zip' (axes of equal length, taken together); `trials`
    overrides the spec's trials when set (an Expr before checking, an int after)."""

    loc: Loc
    name: str
    title: str | None
    axes: tuple[SweepAxis, ...]
    combine: str = "product"
    trials: Expr | int | None = None
    table: SweepTable | None = None


@frozen
class SweepTable:
    """A sweep's CSV in a fixed layout (e.g. a benchmark harness's): `columns` are params
    or metrics of `design`, in that order; `aggregate`, when given, names a column whose
    equal values are averaged into one row."""

    loc: Loc
    design: Ident
    columns: tuple[Ident, ...]
    aggregate: Ident | None = None


@frozen
class Ident:
    """A name written in a declaration that refers to another one (a param, design or
    metric), with its own position for error messages."""

    loc: Loc
    name: str


@frozen
class Measured:
    """How rows of a measured table map onto the model.

    `config` params are set from each row's columns of the same name; each `observe`
    name is a let or stage of `design` whose value the row's column replaces when the
    design's metrics are recomputed from the measurement (the design has a metric of
    the same name: the model's value to compare with); `axis` is the column (a config
    param or a metric) that plots put on x.
    """

    loc: Loc
    name: str
    title: str | None
    design: Ident
    config: tuple[Ident, ...]
    observe: tuple[Ident, ...]
    axis: Ident | None


@frozen
class Roofline:
    """A roofline chart: `compute` is the compute roof (and optionally an achievable
    one) in throughput units; `memory` the bandwidth roof (and optionally an achievable
    one) in throughput per unit of intensity; `intensity` and `throughput` name the
    metrics of every design that place a point on the chart."""

    loc: Loc
    title: str | None
    compute: tuple[Expr, ...]
    memory: tuple[Expr, ...]
    intensity: Ident
    throughput: Ident


@frozen
class Solve:
    """`solve NAME for PARAM [in DESIGN]: EQUATION`: the closed-form value of `unknown`
    that satisfies `expr` (an `a == b` equation, or an expression equal to zero), with
    the design's lets and stages in scope when `design` is given."""

    loc: Loc
    name: str
    unknown: Ident
    design: Ident | None
    expr: Expr
    attrs: Attrs


@frozen
class Column:
    """A declared column of an input table; `type` is 'int', 'real' or 'bool'; `bound`
    (literal numbers) is checked on every row when the table is read."""

    loc: Loc
    name: str
    type: str
    attrs: Attrs
    bound: Bound | None = None


@frozen
class TableInput:
    """`input NAME: table { column ... }`: a CSV file bound at run time with
    `--input NAME=FILE`.  Only the declared columns are read; others are ignored."""

    loc: Loc
    name: str
    title: str | None
    columns: tuple[Column, ...]


@frozen
class Rows:
    """The per-row block of a table spec: its items are evaluated for every row of
    `table` at once; `index` is the 0-based row number."""

    loc: Loc
    index: str
    table: str
    items: tuple[Let | Random | Stage, ...]


@frozen
class Group:
    """`group NAME by KEYS [from SOURCE] { let ... }`: partitions the table rows (or the
    groups of group `source`) by equal values of `keys`.  Lets are per group; the
    reductions inside them run over the group's members (rows in file order).  Groups
    are ordered by their key values."""

    loc: Loc
    name: str
    title: str | None
    keys: tuple[str, ...]
    key_locs: tuple[Loc, ...]
    source: str | None
    lets: tuple[Let, ...]


@frozen
class Loop:
    """`loop NAME(params) { state.. random.. let.. while COND  return EXPR }`.

    Each step, where `cond` (over the states) holds, draws the randoms, evaluates the
    lets and accumulates the reductions of `body`, then updates the states; the loop
    ends when `cond` fails.  `body` combines reductions over the steps (axis "steps")."""

    loc: Loc
    name: str
    params: tuple[str, ...]
    states: tuple[State, ...]
    items: tuple[Let | Random, ...]
    cond: Expr
    body: Expr


@frozen
class CaseSet:
    """`NAME = VALUE` inside a case: a literal param value."""

    loc: Loc
    name: str
    value: Expr


@frozen
class Case:
    loc: Loc
    label: str
    sets: tuple[CaseSet, ...]


@frozen
class Cases:
    """`cases NAME { case "label" { p = v, ... } ... }`: param settings evaluated side by
    side (`eval --cases NAME`); params a case does not set keep their defaults."""

    loc: Loc
    name: str
    title: str | None
    cases: tuple[Case, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Declarations:
    """The optional declarations a spec may hold, shared by the parsed Module and the
    checked Program (keyword-only: each is named where a spec is built)."""

    sweeps: tuple[Sweep, ...] = ()
    measured: tuple[Measured, ...] = ()
    roofline: Roofline | None = None
    solves: tuple[Solve, ...] = ()
    enums: tuple[Enum, ...] = ()
    inputs: tuple[Input, ...] = ()
    report: Report | None = None
    tables: tuple[TableInput, ...] = ()
    rows: Rows | None = None
    groups: tuple[Group, ...] = ()
    loops: tuple[Loop, ...] = ()
    cases: tuple[Cases, ...] = ()
    hardware: tuple[Hardware, ...] = ()
    draws: tuple[Random, ...] = ()  # spec-level `random`: one draw per trial, before the layers


@frozen
class Module(Declarations):
    """A parsed spec, before checking: declarations in source order."""

    file: str
    source: str
    name: str | None
    title: str | None
    trials: Expr | None
    seed: Expr | None
    params: tuple[Param, ...]
    lets: tuple[Let, ...]
    funcs: tuple[Func, ...]
    layers: Layers | None
    designs: tuple[Design, ...]
    compares: tuple[Compare, ...]
    decl_locs: tuple[tuple[str, Loc], ...] = ()
    records: tuple[Record, ...] = ()
    fixed: FixedOpts | None = None


@frozen
class Program(Declarations):
    """A checked spec: every name resolved, definitions in dependency order.

    `types` maps scoped names (keys.Key: const x, layer N, design d's x) to
    'int' | 'real' | 'bool' | 'enum:NAME'; `random` holds the keys that depend on a draw.

    A spec iterates either over layers (`layers`, `layer_items`) or over the rows of an
    input table (`rows`, `row_items`, `groups` in dependency order); the other is None/().
    """

    file: str
    source: str
    name: str
    title: str | None
    trials: int
    seed: int
    params: tuple[Param, ...]
    consts: tuple[Let, ...]
    funcs: tuple[Func, ...]
    layers: Layers | None
    layer_items: tuple[Let | State | Random | Stage, ...]
    designs: tuple[Design, ...]
    compares: tuple[Compare, ...]
    types: dict[Key, str] = field(default_factory=dict)
    random: frozenset[Key] = frozenset()
    leaves: tuple[Leaf, ...] = ()
    row_items: tuple[Let | Random | Stage, ...] = ()
    fixed: FixedOpts = DEFAULT_FIXED

    def sweep(self, name: str) -> Sweep:
        return next(s for s in self.sweeps if s.name == name)

    @property
    def implicit_layers(self) -> bool:
        """True when the spec has no layers block (one evaluation; metrics read values directly)."""
        return self.layers is not None and self.layers.loc == NOWHERE

    def enum(self, name: str) -> Enum:
        return next(e for e in self.enums if e.name == name)

    def leaf(self, var: str) -> Leaf:
        return next(x for x in self.leaves if x.var == var)

    def param(self, name: str) -> Param:
        return next(p for p in self.params if p.name == name)

    def design(self, name: str) -> Design:
        return next(d for d in self.designs if d.name == name)

    def group(self, name: str) -> Group:
        return next(g for g in self.groups if g.name == name)


def children(e: Any) -> tuple:
    """The direct sub-expressions of an expression node."""
    match e:
        case Unary(operand=x):
            return (x,)
        case Binary(left=a, right=b):
            return (a, b)
        case Cond(test=c, then=x, else_=y):
            return (c, x, y)
        case Call(args=a) | Builtin(args=a) | Apply(args=a) | LoopCall(args=a):
            return tuple(a)
        case Reduce(arg=a):
            return (a,)
        case Comprehension(lo=lo, hi=hi, body=b):
            return tuple(x for x in (lo, hi, b) if x is not None)
        case InputRef(index=idx):
            return tuple(idx)
        case Path(steps=steps):
            return tuple(x for x in steps if not isinstance(x, str))
    return ()


def walk(e: Any):
    """Every node of an expression, pre-order."""
    yield e
    for c in children(e):
        yield from walk(c)


def to_json(node: Any) -> Any:
    """Plain-JSON form of an IR value (node type under "node"), for ir.json dumps."""
    if isinstance(node, Key):
        return str(node)
    if is_dataclass(node) and not isinstance(node, type):
        out: dict[str, Any] = {"node": type(node).__name__}
        for f in fields(node):
            if f.name == "source":
                continue
            value = getattr(node, f.name)
            if isinstance(value, Loc):
                out[f.name] = f"{value.line}:{value.col}"
            else:
                out[f.name] = to_json(value)
        return out
    if isinstance(node, (tuple, list)):
        return [to_json(x) for x in node]
    if isinstance(node, frozenset):
        return sorted(str(x) for x in node)
    if isinstance(node, dict):
        return {str(k): to_json(v) for k, v in sorted(node.items(), key=lambda kv: str(kv[0]))}
    if isinstance(node, float) and node != node:
        return "nan"
    return node
