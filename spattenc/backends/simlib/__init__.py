"""Back end: the static runtime helpers of the generated simulators, as real modules.

Each module here is ordinary Python that needs only numpy and the standard library, and
is imported and tested like any other; the templates paste its source (after its
docstring and imports) into the generated file verbatim, so sim.py and fixed_sim.py stay
standalone.  A module's imports of its siblings name what the generated file defines
before the pasted text.
"""

from __future__ import annotations

import ast
from pathlib import Path

from ..naming import Code

__all__ = ["MODULES", "source"]

_HERE = Path(__file__).resolve().parent

#: The modules a template may paste.
MODULES = ("common", "fixed", "layers", "lookup", "loops", "rounding", "sums", "table")


def _segments(text: str) -> tuple[list[str], list[tuple[list[str], int, int]], int]:
    """The module's lines, each top-level statement after the imports as (the names it
    defines, first line index with its comment lines just above, last line index), and
    the index of the first line after the docstring and imports."""
    lines = text.splitlines()
    tree = ast.parse(text)
    stmts: list[tuple[list[str], int, int]] = []
    body_start = 0
    for stmt in tree.body:
        if (
            isinstance(stmt, (ast.Import, ast.ImportFrom))
            or (
                isinstance(stmt, ast.Expr)
                and isinstance(stmt.value, ast.Constant)
                and stmt is tree.body[0]
            )
        ):
            body_start = stmt.end_lineno
            continue
        first = stmt.lineno - 1
        while first > 0 and lines[first - 1].startswith("#"):
            first -= 1
        stmts.append((_bound_names(stmt), first, stmt.end_lineno - 1))
    return lines, stmts, body_start


def _bound_names(stmt: ast.stmt) -> list[str]:
    """The names a top-level statement defines (a def, a class, an assignment)."""
    if isinstance(stmt, (ast.FunctionDef, ast.ClassDef)):
        return [stmt.name]
    if isinstance(stmt, (ast.Assign, ast.AnnAssign)):
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        return [t.id for t in targets if isinstance(t, ast.Name)]
    return []


def source(module: str, *names: str) -> Code:
    """The text of simlib/<module>.py after its docstring and imports; given `names` (in
    the module's order), only those top-level definitions, with the module's own text
    between two that are neighbours there and two blank lines between others.  No final
    newline: the template line that pastes the text ends it."""
    if module not in MODULES:
        raise ValueError(
            f"no runtime helper module {module!r}; expected one of {', '.join(MODULES)}"
        )
    lines, stmts, body_start = _segments((_HERE / f"{module}.py").read_text(encoding="utf-8"))
    if not names:
        return Code("\n".join(lines[body_start:]).strip("\n"))
    picked = [i for i, (bound, _, _) in enumerate(stmts) if set(bound) & set(names)]
    if (
        sorted({n for i in picked for n in stmts[i][0]} & set(names)) != sorted(set(names))
        or len(names) != len(set(names))
    ):
        raise ValueError(f"simlib/{module}.py does not define each of {', '.join(names)} once")
    if [n for i in picked for n in stmts[i][0] if n in names] != list(names):
        raise ValueError(f"simlib/{module}.py: ask for {', '.join(names)} in the module's order")
    out: list[str] = []
    for k, i in enumerate(picked):
        _, first, last = stmts[i]
        if k and picked[k - 1] == i - 1:
            first = stmts[i - 1][2] + 1  # a neighbour: keep the text between them
        elif k:
            out += ["", ""]
        out += lines[first:last + 1]
    return Code("\n".join(out))
