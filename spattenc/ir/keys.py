"""IR: typed keys of scoped names — what a type entry, a randomness fact, a plan variable
or an environment value is about.  A key is a value with fields, never a "a:b:c" string
built here and split apart there; its text form (`str(key)`) is for ir.json and messages.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The kinds of scoped names.
#: Global: param, const, func, design (the design itself), enum, record, input (an input
#: name, or a leaf 'model.d_ff' / its presence flag 'model.d_ff?'), table, loop, group
#: (the group itself), compare, report (a report entry's path).
#: Per layer / row: index, layer, row, state, state_init, state_next, stage, random.
#: Owned by a design, group or hardware block (`owner`): design (a design's stage or let),
#: metric, group (a group's let), hw (a hardware output), time (`name` the stage, '' for
#: the layer's own start/end and joins; `part` start | end | t | next | join<N>),
#: acc (a metric's per-layer accumulator; `part` its slot), hwacc (the same for a
#: hardware output).  Fixed point and RTL only: count (the layer count, name ''), bus (a
#: draw's input bus).  local: a function parameter or comprehension variable.
KINDS = frozenset({
    "column", "count", "hwacc", "bus", "local",
    "param", "const", "func", "design", "enum", "record", "input", "table", "loop", "group",
    "compare", "report", "index", "layer", "row", "state", "state_init", "state_next", "stage",
    "random", "metric", "hw", "time", "acc",
})


@dataclass(frozen=True, slots=True)
class Key:
    """A scoped name: `kind` (one of KINDS), `name`, the design/group/hardware block that
    owns it (`owner`, None for global and per-layer names) and, for times and
    accumulators, which `part`."""

    kind: str
    name: str
    owner: str | None = None
    part: str | None = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown key kind {self.kind!r}")

    def __str__(self) -> str:
        parts = [self.kind] + ([self.owner] if self.owner is not None else [])
        if self.name or self.part is not None:  # a design's "times are random" fact has neither
            parts.append(self.name)
        return ":".join(parts + ([self.part] if self.part is not None else []))


def time(design: str, stage: str | None, part: str) -> Key:
    """A time of a design's schedule: a stage's start/end, or (stage None) the layer's
    own start/end, a join or the running time."""
    return Key("time", stage or "", design, part)


def design_time(design: str) -> Key:
    """The fact "a design's schedule times depend on a draw"."""
    return Key("time", "", design)


def acc(design: str, metric: str, slot: int) -> Key:
    """The accumulator of the per-layer reduction number `slot` of a design's metric."""
    return Key("acc", metric, design, str(slot))


def hw_acc(hardware: str, output: str, slot: int) -> Key:
    """The accumulator of the per-layer reduction number `slot` of a hardware output."""
    return Key("hwacc", output, hardware, str(slot))


#: The layer count of the fixed-point plan.
COUNT = Key("count", "")
