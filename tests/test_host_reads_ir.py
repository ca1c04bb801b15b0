"""Host code reads the checked Program and the lowered Plan (spattenc.run.meta), never the
metadata tables a generated simulator prints for itself (it is standalone): no module
under spattenc/ outside backends/ reads `X.PARAMS`, `.DESIGNS`, `.COMPARES`, `.METRICS`,
`.GROUPS` or `.DRAWS` of anything."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from spattenc.driver import load
from spattenc.run.loader import simulator
from spattenc.run.meta import spec_info

PACKAGE = Path(__file__).resolve().parent.parent / "spattenc"

#: The upper-case tables of generated sim.py / fixed_sim.py that host code must not read.
TABLES = frozenset({"PARAMS", "DESIGNS", "COMPARES", "METRICS", "GROUPS", "DRAWS"})

#: Where the generated files are written (the printers name the tables they print).
EXEMPT = ("backends",)


def table_reads(source: str, filename: str) -> list[str]:
    """`file:line: X.TABLE` for each attribute access of a generated table in `source`."""
    nodes = [n for n in ast.walk(ast.parse(source, filename)) if isinstance(n, ast.Attribute) and n.attr in TABLES]
    return [f"{filename}:{n.lineno}: {ast.unparse(n)}" for n in sorted(nodes, key=lambda n: (n.lineno, n.col_offset))]


def host_modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py")
                  if p.relative_to(PACKAGE).parts[0] not in EXEMPT and "generated" not in p.parts)


def test_the_check_finds_table_reads():
    """The check itself: every spelling of a table read is found, other names are not."""
    src = ("x = sim.PARAMS[name][4]\n"
           "for d, (t, ms) in run.sim.DESIGNS.items(): pass\n"
           "y = getattr(m, 'COMPARES')\n"  # a string, not an attribute: not this check's business
           "z = module.METRICS, a.b.GROUPS, s.DRAWS\n"
           "w = sim.PARAMS_OF, sim.params, sim.TITLE\n")
    assert [r.split(": ", 1)[1] for r in table_reads(src, "t.py")] == [
        "sim.PARAMS", "run.sim.DESIGNS", "module.METRICS", "a.b.GROUPS", "s.DRAWS"]


def test_host_code_reads_no_generated_tables():
    modules = host_modules()
    assert any(p.name == "cli.py" for p in modules) and any(p.parts[-2] == "present" for p in modules)
    found = [hit for p in modules
             for hit in table_reads(p.read_text(encoding="utf-8"), str(p.relative_to(PACKAGE.parent)))]
    assert not found, "host code reads a generated simulator's tables (use spattenc.run.meta):\n" + "\n".join(found)


@pytest.mark.parametrize("spec", sorted(p.name for p in (PACKAGE.parent / "specs").glob("*.spt")))
def test_spec_info_says_what_the_generated_tables_say(spec):
    """spec_info derives from the IR exactly the facts the generated simulator prints
    (same values, types and order), so host code and the simulator agree."""
    c = load(PACKAGE.parent / "specs" / spec)
    sim, info = simulator(c), spec_info(c)
    params = {n: (p.type, p.default, p.lo, p.hi, p.unit, p.doc) for n, p in info.params.items()}
    assert list(params.items()) == list(sim.PARAMS.items())
    assert [type(v) for p in params.values() for v in p] == [type(v) for p in sim.PARAMS.values() for v in p]

    def q(x):
        return (x.label, x.unit, x.fmt, x.scale, x.random)

    designs = {d: (di.title, {m: q(x) for m, x in di.metrics.items()}) for d, di in info.designs.items()}
    assert list(designs.items()) == list(sim.DESIGNS.items())
    assert [list(ms) for _, ms in designs.values()] == [list(ms) for _, ms in sim.DESIGNS.values()]
    assert {d: di.gantt for d, di in info.designs.items()} == getattr(sim, "GANTT", {d: {} for d in info.designs})
    assert list({k: q(x) for k, x in info.compares.items()}.items()) == list(sim.COMPARES.items())
    groups = {g: (gi.title, list(gi.keys), gi.source, {k: q(x) for k, x in gi.values.items()})
              for g, gi in info.groups.items()}
    assert groups == getattr(sim, "GROUPS", {})
    assert (info.name, info.table) == (sim.SPEC, getattr(sim, "TABLE", None))
