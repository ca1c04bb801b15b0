"""What host code knows of a spec's quantities, read from the checked Program and the
lowered Plan (never from a generated module's tables): each param's type, default, range,
unit and doc; each design's title and its metrics', each comparison's and each group
value's display attributes (label, unit, fmt, scale) and whether it depends on a random
draw.  The generated simulator prints the same facts into its own tables (it is
standalone); these are the host's, typed."""

from __future__ import annotations

from dataclasses import dataclass

from spattenc.driver import Compiled
from spattenc.ir import nodes as ir
from spattenc.middle.lower import Plan, Timing

@dataclass(frozen=True, slots=True)
class QuantityInfo:
    """Display attributes of a metric, a comparison or a group value: `label` (its name
    when none is declared), `unit`, `fmt` (".2f" when none), `scale` (1.0 when none), and
    `random`: whether its value depends on a random draw (so it differs between trials)."""

    label: str
    unit: str | None
    fmt: str
    scale: float
    random: bool

    @classmethod
    def of(cls, name: str, attrs: ir.Attrs, random: bool) -> QuantityInfo:
        return cls(attrs.shown_label(name), attrs.unit, attrs.shown_fmt, attrs.shown_scale, bool(random))


@dataclass(frozen=True, slots=True)
class ParamInfo:
    """A param: its type ('int', 'real', 'bool'), default value, range (None when it
    declares none), unit and doc."""

    type: str
    default: int | float | bool
    lo: int | float | None
    hi: int | float | None
    unit: str | None
    doc: str | None


@dataclass(frozen=True, slots=True)
class DesignInfo:
    """A design: its title (None when it declares none), its metrics, in order, and how a
    Gantt chart draws each of its scheduled stages (the stage's `gantt` attribute: stage,
    overlay, wasted, corrective or none; a stage not listed is drawn as a stage)."""

    title: str | None
    metrics: dict[str, QuantityInfo]
    gantt: dict[str, str]


@dataclass(frozen=True, slots=True)
class GroupInfo:
    """A group of a table spec: its title, key columns, source group (None: the rows) and
    its values, in order."""

    title: str
    keys: tuple[str, ...]
    source: str | None
    values: dict[str, QuantityInfo]


@dataclass(frozen=True, slots=True)
class SpecInfo:
    """Everything host code reads about a spec's params and quantities, in declaration order."""

    name: str
    table: str | None  # the input table a table spec reads (None for other specs)
    params: dict[str, ParamInfo]
    designs: dict[str, DesignInfo]
    compares: dict[str, QuantityInfo]
    groups: dict[str, GroupInfo]

    @property
    def random(self) -> bool:
        """Whether any metric or comparison depends on a random draw."""
        return any(q.random for d in self.designs.values() for q in d.metrics.values()) or \
            any(q.random for q in self.compares.values())

    def design_title(self, design: str) -> str:
        """A design's title, else its name."""
        return self.designs[design].title or design

    def metric_random(self) -> dict[str, dict[str, bool]]:
        """{design: {metric: depends on a draw}}."""
        return {d: {m: q.random for m, q in di.metrics.items()} for d, di in self.designs.items()}

    def compare_random(self) -> dict[str, bool]:
        """{comparison: depends on a draw}."""
        return {c: q.random for c, q in self.compares.items()}


def spec_info(compiled: Compiled) -> SpecInfo:
    """The SpecInfo of a checked and lowered spec."""
    prog, plan = compiled.program, compiled.plan
    params = {p.name: ParamInfo(p.type, p.value, p.lo_value, p.hi_value, p.attrs.unit, p.attrs.doc)
              for p in prog.params}
    gantt = _gantt_kinds(plan)
    designs = {d.name: DesignInfo(d.title, {m.name: QuantityInfo.of(m.name, m.attrs, m.name in d.random_metrics)
                                            for m in d.metrics}, gantt.get(d.name, {}))
               for d in plan.designs}
    compares = {c.name: QuantityInfo.of(c.name, c.attrs, c.name in plan.random_compares) for c in plan.compares}
    groups = {g.name: GroupInfo(g.title, tuple(g.keys), g.source,
                                {s.name: QuantityInfo.of(s.name, s.attrs, s.random) for s in g.steps})
              for g in plan.groups}
    table = plan.table.name if plan.mode == "rows" and plan.table is not None else None
    return SpecInfo(prog.name, table, params, designs, compares, groups)


def _gantt_kinds(plan: Plan) -> dict[str, dict[str, str]]:
    """{design: {scheduled stage: how a Gantt chart draws it}} of a per-layer spec (a table
    spec records no schedule kinds: its stages are drawn as stages)."""
    if plan.mode != "layers":
        return {}
    steps = [*plan.layer_steps, *(s for d in plan.designs for s in d.pre)]
    attrs = {s.var: s.attrs for s in steps if s.kind == "stage"}
    return {d.name: {t.stage: attrs[t.stage_var].gantt or "stage" for t in d.timeline if isinstance(t, Timing)}
            for d in plan.designs}
