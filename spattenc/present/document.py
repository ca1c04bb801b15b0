"""A spec's `report` document (JSON, table, CSV) assembled from evaluated points
(sweep.Results), and the exact solves of its `solve` entries.

A report's layout comes from the spec's `report` block; this module only walks it:
`points` entries become one object per point (swept values first), other entries are
evaluated once (they must not vary across points), `first` picks the point with the least
value where its condition holds, and `solve` entries are solved exactly with sympy on the
closed forms (see interp.py).
"""

from __future__ import annotations

import csv
import io
import math
import textwrap
from typing import Any

import numpy as np

from spattenc.ir.keys import Key
from spattenc.backends.closed_forms import closed_forms_text
from spattenc.ir import nodes as ir
from spattenc.ir.errors import SpecError
from spattenc.middle.report_solve import Solution, solve

__all__ = ["Solution", "closed_forms_text", "flatten", "render_object", "report_csv", "report_document", "report_text",
           "solve", "solve_entry", "to_json_value"]

def to_json_value(x, type_: str | None = None, program: ir.Program | None = None):
    """A numpy/Python value as JSON: non-finite numbers become null, enum codes their names."""
    if isinstance(x, np.ndarray):
        x = x.item() if x.size == 1 else [to_json_value(v, type_, program) for v in x.tolist()]
        if isinstance(x, list):
            return x
    if isinstance(x, np.generic):
        x = x.item()
    if type_ and type_.startswith("enum:") and program is not None and isinstance(x, (int, float)):
        return program.enum(type_[5:]).members[int(x)]
    if isinstance(x, bool) or x is None:
        return x
    if type_ == "int" and isinstance(x, (int, float)) and math.isfinite(x):
        return int(x)
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


# ------------------------------------------------------------------ report document


def report_document(compiled, res, params: dict, inputs: dict | None) -> tuple[dict, dict[str, str]]:
    """The JSON document laid out by the spec's report block, from the evaluated points
    `res` (sweep.Results: the swept values and each report entry's value per point;
    `params` are the values of the params that are not swept, defaults and --set), and
    notes: for each `solve` entry without a solution, its key path -> why (shown with the
    table, not in the JSON, whose shape is the report block's)."""
    notes: dict[str, str] = {}
    prog = compiled.program
    report = prog.report
    swept = list(res.columns)
    n = res.points

    def value(path: str, i: int):
        return to_json_value(res.report[path][i], prog.types.get(Key("report", path)), prog)

    def param_value(p: str, i: int):
        return res.columns[p][i] if p in res.columns else params.get(p)

    def build(items, prefix: str, i: int | None) -> dict:
        out: dict[str, Any] = {}
        for it in items:
            path = f"{prefix}{it.name}"
            match it.kind:
                case "value":
                    if i is not None:
                        out[it.name] = value(path, i)
                    else:
                        vals = [value(path, j) for j in range(n)]
                        if any(not _same(v, vals[0]) for v in vals[1:]):
                            raise SpecError(f"report entry '{path}' varies across the points (it depends on a swept "
                                            "param); move it inside 'points'", it.loc, source=prog.source)
                        out[it.name] = vals[0]
                case "object":
                    out[it.name] = build(it.items, path + ".", i)
                case "points":
                    rows = []
                    for j in range(n):
                        head = {}
                        for p in list(it.params) + [s for s in swept if s not in it.params]:
                            head[p] = to_json_value(param_value(p, j), prog.param(p).type)
                        head.update(build(it.items, path + ".", j))
                        rows.append(head)
                    out["points"] = rows
                case "first":
                    j = _least_where(res.report[path], res.report[path + "?"])
                    out[it.name] = None if j is None else value(path, j)
                case "solve":
                    result = solve_entry(compiled, it, swept, params, inputs)
                    out[it.name] = result.value
                    if result.reason is not None or result.others() is not None:
                        notes[path] = result.reason or result.others()
        return out

    return build(report.items, "", None), notes


def _least_where(values, holds) -> int | None:
    """The point of a report's `first X where C`: among the points where C holds, the one
    with the least X (the earlier point on a tie), so `first l_prompt where ...` is the
    smallest such length whatever order the sweep lists the lengths in; None if C never
    holds.  A value that is not a number (NaN) is taken only when no other point has one."""
    best = None
    for j in range(len(values)):
        if not bool(holds[j]):
            continue
        x = float(values[j])
        if best is None or (not math.isnan(x) and (math.isnan(best[1]) or x < best[1])):
            best = (j, x)
    return None if best is None else best[0]


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return a == b


def solve_entry(compiled, it: ir.ReportItem, swept: list[str], params: dict, inputs: dict | None) -> Solution:
    """Solve a report's `solve p where A == B` at the run's params (p itself left free)."""
    swept_others = [p for p in swept if p != it.expr.name]
    if swept_others:
        return Solution(None, f"other params are swept too ({', '.join(swept_others)}); sweep only "
                              f"{it.expr.name} to solve")
    return solve(compiled, it, params, inputs)


# ------------------------------------------------------------------ text and CSV


def _fmt(v) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def _is_row(obj) -> bool:
    return isinstance(obj, dict) and obj and all(not isinstance(v, (dict, list)) for v in obj.values())


def _table(title: str, columns: list[str], rows: list[tuple[str, list]]) -> list[str]:
    cells = [[name] + [_fmt(v) for v in vals] for name, vals in rows]
    head = [title] + columns
    widths = [max(len(r[i]) for r in cells + [head]) for i in range(len(head))]
    line = "  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(head, widths)))
    out = [line, "-" * len(line)]
    for r in cells:
        out.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
    return out


#: Columns of a terminal line of the report: a note that would run past them goes on lines of its own.
WIDTH = 120


def _entry(line: str, note: str | None, indent: str) -> list[str]:
    """`key: value (note)`, the note wrapped onto indented lines below when the line is too wide."""
    if not note:
        return [line]
    if len(line) + len(note) + 3 <= WIDTH:
        return [f"{line} ({note})"]
    pad = indent + "    "
    return [line] + textwrap.wrap(f"({note})", WIDTH, initial_indent=pad, subsequent_indent=pad + " ",
                                  break_on_hyphens=False)


def render_object(obj: dict, indent: str = "", notes: dict | None = None, prefix: str = "") -> list[str]:
    """Readable text of a report object: side-by-side tables for sibling objects with the
    same keys, a table for an object of such objects, `key: value` lines otherwise (with
    the note of a value that has one)."""
    notes = notes or {}
    lines: list[str] = []
    items = list(obj.items())
    i = 0
    while i < len(items):
        key, val = items[i]
        if _is_row(val):
            group = [(key, val)]
            while i + 1 < len(items) and _is_row(items[i + 1][1]) and list(items[i + 1][1]) == list(val):
                i += 1
                group.append(items[i])
            rows = [(k, [g[1][k] for g in group]) for k in val]
            lines += [indent + x for x in _table("", [g[0] for g in group], rows)] + [""]
        elif isinstance(val, dict) and val and all(_is_row(v) for v in val.values()) and \
                len({tuple(v) for v in val.values()}) == 1:
            cols = list(next(iter(val.values())))
            rows = [(k, [v[c] for c in cols]) for k, v in val.items()]
            lines += [indent + x for x in _table(key, cols, rows)] + [""]
        elif isinstance(val, dict):
            lines.append(f"{indent}{key}:")
            lines += render_object(val, indent + "  ", notes, f"{prefix}{key}.")
        else:
            lines += _entry(f"{indent}{key}: {_fmt(val)}", notes.get(f"{prefix}{key}"), indent)
        i += 1
    return lines


def report_text(doc: dict, spec_title: str, notes: dict | None = None) -> str:
    notes = notes or {}
    lines = [f"--- {spec_title} ---", ""]
    for key, val in doc.items():
        if key == "points":
            for pt in val:
                head = {k: v for k, v in pt.items() if not isinstance(v, (dict, list))}
                rest = {k: v for k, v in pt.items() if isinstance(v, (dict, list))}
                lines.append("=== " + ", ".join(f"{k} = {_fmt(v)}" for k, v in head.items()) + " ===")
                lines += render_object(rest, "  ")
        elif isinstance(val, dict):
            lines.append(f"{key}:")
            lines += render_object(val, "  ", notes, f"{key}.")
        else:
            lines += _entry(f"{key}: {_fmt(val)}", notes.get(key), "")
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines) + "\n"


def flatten(obj: dict, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in obj.items():
        if isinstance(v, dict):
            out.update(flatten(v, f"{prefix}{k}."))
        elif not isinstance(v, list):
            out[f"{prefix}{k}"] = v
    return out


def report_csv(doc: dict) -> str:
    """One row per point: the point's flattened keys, then the report's other entries."""
    top = flatten({k: v for k, v in doc.items() if k != "points"})
    rows = [{**flatten(p), **top} for p in doc.get("points", [{}])]
    columns: list[str] = []
    for r in rows:
        for k in r:
            if k not in columns:
                columns.append(k)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    for r in rows:
        w.writerow(["" if r.get(c) is None else repr(r[c]) if isinstance(r.get(c), float) else r.get(c)
                    for c in columns])
    return buf.getvalue()
