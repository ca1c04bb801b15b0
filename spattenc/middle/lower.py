"""Lowering: a checked Program -> an execution Plan shared by every numeric back end.

The plan fixes the evaluation order once: constants, then per layer the shared
quantities, each design's stages, its schedule (start/end times) and its post-schedule
lets, the metric accumulators, and finally the state updates.  Back ends only print it.

A table spec (mode "rows") lowers instead to: the per-row steps over all rows at once,
then each group's lets (groups in dependency order), then the metrics, which reduce
over rows or groups directly.
"""

from __future__ import annotations


from spattenc.ir import keys
from spattenc.ir.keys import Key
from spattenc.ir import nodes as ir
from spattenc.ir.errors import fail
from spattenc.ir.nodes import children, walk


@ir.frozen
class Step:
    """Assign `expr` to the per-layer variable `var` (a keys.Key, e.g. layer x).

    `kind` is let | stage | random; for random steps `dist` and `args` replace `expr`.
    """

    var: Key
    name: str
    kind: str
    expr: ir.Expr | None
    loc: ir.Loc
    design: str | None = None
    dist: str | None = None
    args: tuple[ir.Expr, ...] = ()
    attrs: ir.Attrs = ir.Attrs()


@ir.frozen
class Timing:
    """A scheduled stage: it starts at `start` (a time variable) and ends at `end`."""

    design: str
    stage: str
    stage_var: Key
    start: Key
    end: Key


@ir.frozen
class Join:
    """`var` = max over `parts` (time variables) in the written order: a parallel join."""

    var: Key
    parts: tuple[Key, ...]


@ir.frozen
class Accumulator:
    """A per-layer reduction inside a metric: `var` accumulates `arg` with `kind`."""

    var: Key
    kind: str
    arg: ir.Expr
    design: str
    metric: str


@ir.frozen
class DesignPlan:
    name: str
    title: str
    pre: tuple[Step, ...]  # design stages and lets that do not depend on times
    timeline: tuple[Timing | Join, ...]
    end_var: Key | None
    post: tuple[Step, ...]  # design lets that read stage times
    accumulators: tuple[Accumulator, ...]
    metrics: tuple[ir.Metric, ...]
    random_metrics: frozenset[str]
    shows: tuple[ir.Show, ...] = ()  # display-only intervals, recorded after the post lets


@ir.frozen
class GroupStep:
    """A group let: `var` ('group:G:name') is `expr`, one value per group."""

    var: Key
    name: str
    expr: ir.Expr
    loc: ir.Loc
    attrs: ir.Attrs
    random: bool


@ir.frozen
class GroupPlan:
    """A group of a table spec: partition its source (None: the rows) by `keys`."""

    name: str
    title: str
    keys: tuple[str, ...]
    key_types: tuple[str, ...]
    source: str | None
    steps: tuple[GroupStep, ...]


@ir.frozen
class Plan:
    """`mode` 'layers': a loop over layers (`layer_count`, `index`, `states`,
    `layer_steps`), after the spec-level `draws` of the trial.  `mode` 'rows': all rows of `table` at once (`index` is the row
    number, `row_steps`, then `groups`).  `loops` are the spec's loops (either mode)."""

    program: ir.Program
    consts: tuple[ir.Let, ...]
    funcs: tuple[ir.Func, ...]
    layer_count: ir.Expr | None
    index: str
    states: tuple[ir.State, ...]
    layer_steps: tuple[Step, ...]
    designs: tuple[DesignPlan, ...]
    compares: tuple[ir.Compare, ...]
    random_compares: frozenset[str]
    observed: tuple[tuple[Key, str], ...] = ()  # (plan variable, key 'design.name') a measurement may replace
    leaves: tuple[ir.Leaf, ...] = ()
    report: ir.Report | None = None
    mode: str = "layers"
    table: ir.TableInput | None = None
    row_steps: tuple[Step, ...] = ()
    groups: tuple[GroupPlan, ...] = ()
    loops: tuple[ir.Loop, ...] = ()
    draws: tuple[Step, ...] = ()  # spec-level draws: one per trial, before the first layer


def var_of(ref: ir.Ref) -> Key:
    """The plan variable a resolved per-layer reference names."""
    if ref.scope == "design":
        return Key("design", ref.name, ref.design)
    return Key(ref.scope, ref.name)


def time_var(design: str, stage: str | None, which: str) -> Key:
    return keys.time(design, stage, which)


def _reads_time(e: ir.Expr, design_steps: dict[str, ir.Expr], seen: set[str] | None = None) -> ir.Loc | None:
    """Location of a stage time read by `e` (directly or through design lets), else None."""
    seen = seen if seen is not None else set()
    match e:
        case ir.StageTime(loc=loc):
            return loc
        case ir.Ref(scope="design", name=n):
            if n in seen:
                return None
            seen.add(n)
            inner = design_steps.get(n)
            return _reads_time(inner, design_steps, seen) if inner is not None else None
    for c in children(e):
        found = _reads_time(c, design_steps, seen)
        if found is not None:
            return found
    return None


def _item_steps(items, scope: str) -> list[Step]:
    """Steps of a layers block (`scope` 'layer') or rows block ('row'), states left out."""
    steps: list[Step] = []
    for item in items:
        match item:
            case ir.State():
                continue
            case ir.Random():
                steps.append(Step(Key("random", item.name), item.name, "random", None, item.loc,
                                  dist=item.dist, args=item.args, attrs=item.attrs))
            case ir.Stage():
                steps.append(Step(Key("stage", item.name), item.name, "stage", item.expr, item.loc, attrs=item.attrs))
            case ir.Let():
                steps.append(Step(Key(scope, item.name), item.name, "let", item.expr, item.loc, attrs=item.attrs))
    return steps


def _draws(program: ir.Program) -> tuple[Step, ...]:
    """The draws of a trial, made before its first layer: the spec's, in declaration
    order, then each design's, designs in declaration order."""
    steps = _item_steps(program.draws, "layer")
    steps += [Step(Key("design", r.name, d.name), r.name, "random", None, r.loc, design=d.name, dist=r.dist,
                   args=r.args, attrs=r.attrs) for d in program.designs for r in d.draws]
    return tuple(steps)


def lower_rows(program: ir.Program) -> Plan:
    """Fix the evaluation order of a table spec: rows, groups, metrics."""
    table = next(t for t in program.tables if t.name == program.rows.table)
    col_types = {c.name: c.type for c in table.columns}
    groups = []
    key_types: dict[str, dict[str, str]] = {}
    for g in program.groups:
        src = col_types if g.source is None else key_types[g.source]
        key_types[g.name] = {k: src[k] for k in g.keys}
        steps = tuple(GroupStep(Key("group", let.name, g.name), let.name, let.expr, let.loc, let.attrs,
                                Key("group", let.name, g.name) in program.random) for let in g.lets)
        ordered = []
        names = {st.name: st for st in steps}
        done: set[str] = set()

        def visit(st: GroupStep):
            if st.name in done:
                return
            done.add(st.name)
            for node in walk(st.expr):
                if isinstance(node, ir.GroupRef) and node.group == g.name and node.kind == "let":
                    visit(names[node.name])
            ordered.append(st)

        for st in steps:
            visit(st)
        groups.append(GroupPlan(g.name, g.title or g.name, g.keys, tuple(key_types[g.name][k] for k in g.keys),
                                g.source, tuple(ordered)))
    designs = []
    for d in program.designs:
        rnd = frozenset(mt.name for mt in d.metrics if Key("metric", mt.name, d.name) in program.random)
        designs.append(DesignPlan(d.name, d.title or d.name, (), (), None, (), (), d.metrics, rnd))
    rc = frozenset(c.name for c in program.compares if _compare_random(c.expr, program))
    return Plan(program, program.consts, program.funcs, None, program.rows.index, (), (), tuple(designs),
                program.compares, rc, leaves=_numeric_leaves(program), report=program.report, mode="rows",
                table=table, row_steps=tuple(_item_steps(program.row_items, "row")), groups=tuple(groups),
                loops=program.loops)


def lower(program: ir.Program) -> Plan:
    """Fix the evaluation order of a checked program."""
    if program.rows is not None:
        return lower_rows(program)
    steps = _item_steps(program.layer_items, "layer")
    states = tuple(i for i in program.layer_items if isinstance(i, ir.State))
    designs = []
    for d in program.designs:
        local = {i.name: i.expr for i in d.lets}
        pre, post = [], []
        for item in d.lets:
            kind = "stage" if isinstance(item, ir.Stage) else "let"
            step = Step(Key("design", item.name, d.name), item.name, kind, item.expr, item.loc, design=d.name,
                        attrs=item.attrs)
            t = _reads_time(item.expr, local)
            if t is not None and kind == "stage":
                fail(f"stage '{item.name}' cannot depend on schedule times (a duration must be known "
                     "before the stage is placed)", t)
            (post if t is not None else pre).append(step)
        timeline: list[Timing | Join] = []
        end_var = None
        if d.schedule is not None:
            counter = [0]
            stage_scope = {i.name for i in d.lets if isinstance(i, ir.Stage)}

            def emit(s: ir.Sched, start: Key) -> Key:
                if isinstance(s, ir.SchedStage):
                    sv = Key("design", s.stage, d.name) if s.stage in stage_scope else Key("stage", s.stage)
                    end = time_var(d.name, s.stage, "end")
                    timeline.append(Timing(d.name, s.stage, sv, start, end))
                    return end
                if isinstance(s, ir.Seq):
                    t = start
                    for p in s.parts:
                        t = emit(p, t)
                    return t
                ends = tuple(emit(p, start) for p in s.parts)
                counter[0] += 1
                var = keys.time(d.name, None, f"join{counter[0]}")
                timeline.append(Join(var, ends))
                return var

            end_var = emit(d.schedule, time_var(d.name, None, "start"))
        accs = []
        for mt in d.metrics:
            for node in walk(mt.expr):
                if isinstance(node, ir.Reduce) and node.axis == "layers":
                    accs.append(Accumulator(keys.acc(d.name, mt.name, node.slot), node.kind, node.arg,
                                            d.name, mt.name))
        rnd = frozenset(mt.name for mt in d.metrics if Key("metric", mt.name, d.name) in program.random)
        designs.append(DesignPlan(d.name, d.title or d.name, tuple(pre), tuple(timeline), end_var, tuple(post),
                                  tuple(accs), d.metrics, rnd, d.shows))
    rc = frozenset(c.name for c in program.compares if _compare_random(c.expr, program))
    observed = sorted({(Key("design", o.name, m.design.name), f"{m.design.name}.{o.name}")
                       for m in program.measured for o in m.observe}, key=lambda vk: str(vk[0]))
    leaves = _numeric_leaves(program)
    return Plan(program, program.consts, program.funcs, program.layers.count, program.layers.index, states,
                tuple(steps), tuple(designs), program.compares, rc, tuple(observed), leaves, program.report,
                loops=program.loops, draws=_draws(program))


def _numeric_leaves(program: ir.Program) -> tuple[ir.Leaf, ...]:
    """The input leaves a simulator reads (strings are for reports, not numbers)."""
    return tuple(leaf for leaf in program.leaves if leaf.type != "string")


def _compare_random(e: ir.Expr, program: ir.Program) -> bool:
    """A comparison is per-trial (random) when it reads a random metric outside a trial reduction."""
    match e:
        case ir.Reduce(axis="trials"):
            return False
        case ir.MetricRef(design=d, metric=m):
            return Key("metric", m, d) in program.random
    return any(_compare_random(c, program) for c in children(e))


def report_exprs(report: ir.Report | None) -> list[tuple[str, ir.Expr]]:
    """Every per-point expression of a report as (key path, expression), in order.

    Paths join keys with '.'; a 'first' entry contributes its value (`path`) and its
    condition (`path?`).  'solve' entries are not evaluated numerically.
    """
    out: list[tuple[str, ir.Expr]] = []

    def walk_items(items, prefix):
        for it in items:
            path = f"{prefix}{it.name}"
            match it.kind:
                case "value":
                    out.append((path, it.expr))
                case "object" | "points":
                    walk_items(it.items, path + ".")
                case "first":
                    out.append((path, it.expr))
                    out.append((path + "?", it.cond))
                case "solve":
                    pass

    if report is not None:
        walk_items(report.items, "")
    return out
