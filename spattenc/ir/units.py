"""The unit of time of stages and schedules, read from the spec's `unit` attributes.

A stage is a latency: in cycles unless it declares another unit (`stage load = ... unit
"s"`).  Times built from stages (a schedule's start and end, the stage headings of
`inspect`, a Gantt chart's axis) take the stages' common unit; stages that disagree are
not an error (a unit is a display attribute, never checked in arithmetic), so the text
names every unit instead of claiming one.
"""

from __future__ import annotations

from collections.abc import Iterable

from spattenc.ir import nodes as ir

#: The unit of a stage that declares none: the language's stages are latencies in cycles.
STAGE_UNIT = "cycles"


def stage_unit(stage: ir.Stage) -> str:
    """A stage's unit: the declared one, else STAGE_UNIT."""
    return stage.attrs.unit or STAGE_UNIT


def time_unit(stages: Iterable[ir.Stage]) -> str:
    """The unit of times built from `stages`: their common unit ("s"); when they disagree,
    "mixed units: cycles, s" (in the order the stages are given); STAGE_UNIT for none."""
    units = list(dict.fromkeys(stage_unit(s) for s in stages))
    if len(units) > 1:
        return "mixed units: " + ", ".join(units)
    return units[0] if units else STAGE_UNIT


def per(stages: Iterable[ir.Stage], what: str) -> str:
    """"s per layer" for stages in one unit (`what` = "layer"), "per layer; mixed units:
    cycles, s" for stages that disagree: the parenthesis of a stages heading."""
    unit = time_unit(stages)
    return f"per {what}; {unit}" if unit.startswith("mixed units: ") else f"{unit} per {what}"


def scheduled(sched: ir.Sched | None) -> list[str]:
    """The stage names a schedule places, in the order written."""
    if sched is None:
        return []
    if isinstance(sched, ir.SchedStage):
        return [sched.stage]
    return [name for part in sched.parts for name in scheduled(part)]


def schedule_stages(program: ir.Program) -> list[ir.Stage]:
    """The stages the designs' schedules place (a design's own stage before a shared one of
    the same name), in declaration order; every stage of the spec when no design has a
    schedule (a table spec, or one whose designs only declare stages)."""
    shared = {s.name: s for s in (*program.layer_items, *program.row_items) if isinstance(s, ir.Stage)}
    out: list[ir.Stage] = []
    for d in program.designs:
        own = {s.name: s for s in d.lets if isinstance(s, ir.Stage)}
        out += [own.get(n) or shared[n] for n in scheduled(d.schedule) if n in own or n in shared]
    if out:
        return out
    return [*shared.values(), *(s for d in program.designs for s in d.lets if isinstance(s, ir.Stage))]
