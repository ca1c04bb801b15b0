"""Sweep results written from columns, chunk after chunk: CSV, the JSON document (its
`points` list written point by point) and Parquet, each to a stream or to a file that is
moved into place only when complete; plus the text table's preview rows.

A writer takes `sweep.Chunk`s in point order (`write`) and finishes with `close()`;
`abort()` drops a half-written file.  Numbers are written exactly as the per-point code
wrote them: Python `repr`s in CSV (exact round trip), `json` float text in JSON, float64
in Parquet.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import tempfile
import textwrap
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from spattenc._version import __version__
from spattenc.run import sweep
from spattenc.driver import Compiled, file_mode
from spattenc.run.loader import group_rows
from spattenc.run.meta import SpecInfo, spec_info
from spattenc.run.sweep import STATS, Chunk, SweepSpec, stat_key

# The text table shows every point of sweeps up to this size, else the first and the last
# rows with a note (the CSV, JSON and Parquet outputs have every point).
MAX_TABLE_ROWS = 10_000
TABLE_HEAD, TABLE_TAIL = 20, 5


class Layout:
    """The columns of a sweep's outputs: CSV order (today's header) and the JSON fields,
    from the spec's quantities (`meta.spec_info`)."""

    def __init__(self, sweep: SweepSpec, info: SpecInfo):
        self.sweep = sweep
        self.info = info
        self.labels = sweep.labels
        self.params = sweep.params
        self.random_compares = info.compare_random()
        self.designs = {d: list(di.metrics) for d, di in info.designs.items()}

    def csv_columns(self) -> list[str]:
        """Column names of a sweep CSV (see docs/sweeps.md)."""
        cols = ["point", *(["case"] if self.labels is not None else []), *self.params]
        for d, ms in self.designs.items():
            for m in ms:
                cols += [stat_key(d, m, "mean"), stat_key(d, m, "std")]
        for c, random in self.random_compares.items():
            cols += [c] + ([stat_key(None, c, "std")] if random else [])
        return cols

    def csv_units(self) -> dict[str, str]:
        """The declared unit of each CSV column that has one: a swept param's, a metric's
        or a comparison's (its mean and std alike; values are written unscaled)."""
        units = {p: self.info.params[p].unit for p in self.params if p in self.info.params}
        for d, ms in self.designs.items():
            for m in ms:
                u = self.info.designs[d].metrics[m].unit
                units |= {stat_key(d, m, "mean"): u, stat_key(d, m, "std"): u}
        for c in self.random_compares:
            u = self.info.compares[c].unit
            units |= {c: u, stat_key(None, c, "std"): u}
        return {k: u for k, u in units.items() if u}


# ---------------------------------------------------------------- value text


def text_array(values: np.ndarray) -> pa.Array:
    """Each value's Python repr as an Arrow string array (booleans as true/false).

    Arrow formats floats with the same shortest round-trip digits as Python but chooses
    between positional and exponent notation differently, so its text is kept where it
    is positional with a point inside Python's positional range [1e-4, 1e16), and every
    other value (integral, tiny, huge, non-finite) gets Python's repr."""
    a = np.asarray(values)
    if a.dtype.kind == "b":
        return pc.if_else(pa.array(a), "true", "false")
    if a.size and _constant(a):
        return pa.array([_text(a[:1].tolist()[0])] * a.size, pa.string())
    text = pc.cast(pa.array(a), pa.string())
    if a.dtype.kind != "f":
        return text
    mag = np.abs(a)
    ok = (mag >= 1e-4) & (mag < 1e16) & _has(text, ".") & ~_has(text, "e")
    if ok.all():
        return text
    out = text.to_numpy(zero_copy_only=False)
    bad = np.flatnonzero(~ok)
    out[bad] = [repr(v) for v in a[bad].tolist()]
    return pa.array(out, pa.string())


def _has(text: pa.Array, part: str) -> np.ndarray:
    """Whether each string contains `part`, as a numpy bool array."""
    return pc.match_substring(text, part).to_numpy(zero_copy_only=False)


def _constant(a: np.ndarray) -> bool:
    """All values bit for bit equal (so -0.0 and 0.0 differ, as their reprs do)."""
    bits = a.view(np.int64) if a.dtype == np.float64 else a
    return bool((bits == bits[0]).all())


def _text(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return repr(v)


def json_column(values: np.ndarray) -> list[str]:
    """Each value as `json.dumps` writes it (NaN, Infinity, -Infinity for non-finite)."""
    a = np.asarray(values)
    out = text_array(a).to_pylist()
    if a.dtype.kind == "f" and not np.isfinite(a).all():
        names = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}
        out = [names.get(x, x) for x in out]
    return out


def _lines(columns: list[pa.Array]) -> str:
    """CSV text of string columns whose values need no quoting (numbers, true/false):
    the values of each row joined by commas, a newline after each row."""
    rows = pc.binary_join_element_wise(*columns, ",")
    rows = pc.binary_join_element_wise(rows, pa.scalar(""), "\n")
    offsets = np.frombuffer(rows.buffers()[1], dtype=np.int32)[rows.offset:rows.offset + len(rows) + 1]
    return rows.buffers()[2].to_pybytes()[offsets[0]:offsets[-1]].decode("utf-8")


# ---------------------------------------------------------------- files


class Target:
    """Where a writer's text or bytes go: a stream, or a file written under a temporary
    name beside it and moved into place by `commit` (so nothing half-written remains)."""

    def __init__(self, stream=None, path: Path | None = None, binary: bool = False):
        self.path = Path(path) if path is not None else None
        self.tmp = None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, self.tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp")
            stream = os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8", newline="")
        self.stream = stream

    def commit(self) -> None:
        """Finish: a file is moved into place, a stream flushed."""
        if self.tmp is not None:
            self.stream.close()
            os.chmod(self.tmp, file_mode())  # mkstemp's 0600 would ignore the umask
            os.replace(self.tmp, self.path)
            self.tmp = None
        else:
            self.stream.flush()

    def abort(self) -> None:
        """Drop a half-written file."""
        if self.tmp is not None:
            self.stream.close()
            os.unlink(self.tmp)
            self.tmp = None


class Tee:
    """Several targets written as one (stdout and a file get the same text)."""

    def __init__(self, targets: list[Target]):
        self.targets = targets
        self.stream = self

    def write(self, text: str) -> None:
        for t in self.targets:
            t.stream.write(text)

    def commit(self) -> None:
        for t in self.targets:
            t.commit()

    def abort(self) -> None:
        for t in self.targets:
            t.abort()


# ---------------------------------------------------------------- writers


class CsvWriter:
    """One row per point: index, (case), swept values, mean and std of every metric, the
    comparisons (docs/sweeps.md)."""

    def __init__(self, layout: Layout, target: Target):
        self.layout, self.target = layout, target
        self.columns = layout.csv_columns()
        self.out = csv.writer(target.stream, lineterminator="\n")
        self.out.writerow(self.columns)

    def write(self, chunk: Chunk) -> None:
        values = [text_array(np.arange(chunk.lo, chunk.hi))]
        labels = self.layout.labels
        start = 2 if labels is not None else 1
        values += [text_array(chunk.columns[name]) for name in self.columns[start:]]
        if labels is None:
            self.target.stream.write(_lines(values))
            return
        # Case labels are text: the csv module quotes them where needed.
        cols = [v.to_pylist() for v in values]
        cols.insert(1, list(labels[chunk.lo:chunk.hi]))
        self.out.writerows(zip(*cols))

    def close(self) -> None:
        self.target.commit()

    def abort(self) -> None:
        self.target.abort()


_MARK = "@@spattenc-{}@@"


class JsonWriter:
    """The run's JSON document (`head`: every field but `points`), its `points` written
    point by point with exactly the text `json.dumps(doc, indent=1)` gives."""

    def __init__(self, layout: Layout, head: dict, target: Target):
        self.layout, self.target = layout, target
        doc = dict(head)
        keys = list(doc)
        # `points` goes where the document has always had it: after sweep/cases.
        at = keys.index("cases" if "cases" in doc else "sweep") + 1
        doc = {k: doc[k] for k in keys[:at]} | {"points": [_MARK.format("points")]} | {k: doc[k] for k in keys[at:]}
        text = json.dumps(doc, indent=1) + "\n"
        self.prefix, self.suffix = text.split('  "' + _MARK.format("points") + '"')
        self.template, self.fields = self._template()
        self.started = False

    def _template(self) -> tuple[str, list[str]]:
        """A %-template of one point's text (indented as in the document) and the column
        of each placeholder ('point', 'case', a swept param or a statistic)."""
        fields: list[str] = []

        def mark(name: str) -> str:
            fields.append(name)
            return _MARK.format(len(fields) - 1)

        lay = self.layout
        point = {"index": mark("point"), **({"case": mark("case")} if lay.labels is not None else {}),
                 "values": {p: mark(p) for p in lay.params},
                 "designs": {d: {m: {s: mark(stat_key(d, m, s)) for s in STATS} for m in ms}
                             for d, ms in lay.designs.items()},
                 "compare": {c: ({s: mark(stat_key(None, c, s)) for s in STATS} if random else mark(c))
                             for c, random in lay.random_compares.items()}}
        text = "\n".join("  " + line for line in json.dumps(point, indent=1).split("\n"))
        text = text.replace("%", "%%")
        for i in range(len(fields)):
            text = text.replace(f'"{_MARK.format(i)}"', "%s")
        return text, fields

    def write(self, chunk: Chunk) -> None:
        lay = self.layout
        cols = []
        for name in self.fields:
            if name == "point":
                cols.append(list(map(str, range(chunk.lo, chunk.hi))))
            elif name == "case":
                cols.append([json.dumps(x) for x in lay.labels[chunk.lo:chunk.hi]])
            else:
                cols.append(json_column(chunk.columns[name]))
        out = self.target.stream
        out.write(self.prefix if not self.started else ",\n")
        self.started = True
        template = self.template
        out.write(",\n".join([template % row for row in zip(*cols)]))

    def close(self) -> None:
        if not self.started:  # no point at all: the list's brackets alone
            self.target.stream.write(self.prefix)
        self.target.stream.write(self.suffix)
        self.target.commit()

    def abort(self) -> None:
        self.target.abort()


def parquet_metadata(head: dict) -> dict[bytes, bytes]:
    """Key-value metadata of a results.parquet: spec, params, seed, rng, trials, sweep,
    spattenc version (each JSON text)."""
    meta = {"spec": head["spec"], "params": head["params"], "seed": head["seed"], "rng": head["rng"],
            "trials": head["trials"], "numeric": head.get("numeric", "float"),
            "sweep": head.get("sweep", head.get("cases")), "spattenc_version": __version__}
    return {k.encode(): json.dumps(v).encode() for k, v in meta.items()}


class ParquetWriter:
    """The CSV's columns as a Parquet file (float64, int64, bool, string), a row group per
    chunk, with the run's settings in the file's key-value metadata and each column's
    declared unit in its field metadata (`unit`)."""

    def __init__(self, layout: Layout, head: dict, target: Target):
        self.layout, self.target = layout, target
        self.columns = layout.csv_columns()
        self.head = head
        self.out = None

    def write(self, chunk: Chunk) -> None:
        table = arrow_table(self.layout, chunk, self.columns)
        if self.out is None:
            units = self.layout.csv_units()
            fields = [f.with_metadata({b"unit": units[f.name].encode()}) if f.name in units else f
                      for f in table.schema]
            schema = pa.schema(fields, metadata=parquet_metadata(self.head))
            self.out = pq.ParquetWriter(self.target.stream, schema)
        self.out.write_table(pa.Table.from_arrays(table.columns, schema=self.out.schema))

    def close(self) -> None:
        if self.out is not None:
            self.out.close()
        self.target.commit()

    def abort(self) -> None:
        if self.out is not None:
            self.out.close()
        self.target.abort()


def arrow_table(layout: Layout, chunk: Chunk, columns: list[str]):
    """A pyarrow.Table of a chunk's CSV columns."""
    arrays = {"point": pa.array(np.arange(chunk.lo, chunk.hi, dtype=np.int64))}
    if layout.labels is not None:
        arrays["case"] = pa.array(list(layout.labels[chunk.lo:chunk.hi]), type=pa.string())
    for name in columns[len(arrays):]:
        arrays[name] = pa.array(chunk.columns[name])
    return pa.table(arrays)


class Preview:
    """The rows the text table shows: every point of a sweep of at most MAX_TABLE_ROWS,
    else the first TABLE_HEAD and the last TABLE_TAIL (kept as the chunks pass)."""

    def __init__(self, points: int):
        self.points = points
        self.head: list[Chunk] = []
        self.tail: list[Chunk] = []

    def write(self, chunk: Chunk) -> None:
        if self.points <= MAX_TABLE_ROWS:
            self.head.append(chunk)
            return
        if chunk.lo < TABLE_HEAD:
            self.head.append(_slice(chunk, chunk.lo, min(chunk.hi, TABLE_HEAD)))
        if chunk.hi > self.points - TABLE_TAIL:
            self.tail.append(_slice(chunk, max(chunk.lo, self.points - TABLE_TAIL), chunk.hi))

    def close(self) -> None:
        pass

    def abort(self) -> None:
        pass


#: Width of the text table when stdout is not a terminal (a terminal gives its own).
TABLE_WIDTH = 120


def table_text(info: SpecInfo, sw: SweepSpec, trials: int, preview: Preview, width: int | None = None) -> str:
    """A text table of a sweep that fits `width` columns (default: the terminal's, else
    TABLE_WIDTH): a row per point, the swept values, then each comparison and the mean of
    each design's metrics (the spec's fmt and scale), headed by name and unit.  Quantities
    equal in every row are listed once under the table; the rest are split into panels
    side by side no wider than `width`, each repeating the swept values.  A sweep of more
    than MAX_TABLE_ROWS points shows its first and last rows, with a note."""
    width = width or shutil.get_terminal_size((TABLE_WIDTH, 24)).columns
    parts = [sweep.concat_chunks(p) for p in (preview.head, preview.tail) if p]
    lead = [_TextColumn(name, sw_unit, [format(v, ".6g") if isinstance(v, float) else str(v)
                                       for cols in parts for v in cols[name].tolist()])
            for name, sw_unit in ((n, info.params[n].unit if n in info.params else None) for n in sw.params)]
    columns = []
    for c, q in info.compares.items():
        columns.append(_TextColumn(c, q.unit, [_num(v * q.scale, q.fmt) + (f" ± {_num(e * q.scale, q.fmt)}"
                                                                          if q.random else "")
                                               for cols in parts for v, e in zip(cols[c].tolist(),
                                                                                 cols[stat_key(None, c, "std")].tolist())]))
    for d, di in info.designs.items():
        for name, q in di.metrics.items():
            columns.append(_TextColumn(f"{d}.{name}", q.unit, [_num(v * q.scale, q.fmt) for cols in parts
                                                               for v in cols[stat_key(d, name, "mean")].tolist()],
                                       q.scale))
    same = [c for c in columns if len(set(c.cells)) == 1 and len(c.cells) > 1]
    columns = [c for c in columns if c not in same]
    gap = len(parts[0][sw.params[0]]) if len(parts) > 1 and sw.params else None  # rows before the "..."
    exact = "; exact" if not info.random else f" x {trials} trial{'s' if trials != 1 else ''}; means"
    lines = [f"--- Sweep {sw.name}: {sw.title} ({sw.size:,} points{exact}) ---"]
    for panel in _panels(lead, columns, width):
        lines += _panel_lines(panel, gap) + [""]
    if same:
        lines.append(textwrap.fill("same at every point: " + "; ".join(
            f"{c.name} = {c.cells[0]}{' ' + c.unit if c.unit else ''}" for c in same), width))
    elif lines[-1] == "":
        lines.pop()
    if len(parts) > 1:
        lines.append(textwrap.fill(f"({sw.size:,} points: the first {TABLE_HEAD} and the last {TABLE_TAIL} are "
                                   "shown; --csv, --json or --parquet with --out DIR write every point)", width))
    return "\n".join(lines) + "\n"


class _TextColumn:
    """One column of the text table: its name, unit (a second header line) and cells."""

    def __init__(self, name: str, unit: str | None, cells: list[str], scale: float = 1.0):
        self.name, self.unit, self.cells = name, unit or "", cells
        if scale == 100 and self.unit == "fraction":  # shown in percent, as the spec's scale says
            self.unit = "%"
        self.width = max(len(name), len(self.unit) + 2 if self.unit else 0, *(len(x) for x in cells))


def _panels(lead: list[_TextColumn], columns: list[_TextColumn], width: int) -> list[list[_TextColumn]]:
    """The columns packed into panels no wider than `width`, each led by the swept values."""
    base = sum(c.width + 2 for c in lead)
    panels, current, used = [], [], base
    for c in columns:
        if current and used + c.width + 2 > width:
            panels.append(lead + current)
            current, used = [], base
        current.append(c)
        used += c.width + 2
    if current or not panels:
        panels.append(lead + current)
    return panels


def _panel_lines(panel: list[_TextColumn], gap: int | None) -> list[str]:
    """A panel's header (names, then units), rule and rows (a "..." row at `gap`)."""
    out = ["  ".join(c.name.rjust(c.width) for c in panel).rstrip()]
    if any(c.unit for c in panel):
        out.append("  ".join((f"({c.unit})" if c.unit else "").rjust(c.width) for c in panel).rstrip())
    out.append("  ".join("-" * c.width for c in panel))
    for i in range(len(panel[0].cells) if panel else 0):
        if i == gap:
            out.append("  ".join("...".rjust(c.width) for c in panel))
        out.append("  ".join(c.cells[i].rjust(c.width) for c in panel))
    return out


def _num(v: float, fmt: str) -> str:
    return "nan" if v != v else format(v, fmt)


def _slice(chunk: Chunk, lo: int, hi: int) -> Chunk:
    """Points [lo, hi) of a chunk."""
    a, b = lo - chunk.lo, hi - chunk.lo
    return Chunk(lo, hi, {k: v[a:b] for k, v in chunk.columns.items()})


class Collector:
    """Keeps every chunk (outputs that need the whole sweep: plots, declared layouts)."""

    def __init__(self):
        self.parts: list[Chunk] = []

    def write(self, chunk: Chunk) -> None:
        self.parts.append(chunk)

    def close(self) -> None:
        pass

    def abort(self) -> None:
        pass


# ---------------------------------------------------------------- in-memory results


def results_chunk(res: sweep.Results) -> Chunk:
    """Every point of in-memory Results as one chunk."""
    return Chunk(0, res.points, {**res.columns, **res.stat_columns()})


def json_text(res: sweep.Results, info: SpecInfo, head: dict) -> str:
    """The JSON document of a swept Results (`head`: its fields but `points`)."""
    buf = io.StringIO()
    w = JsonWriter(Layout(res.sweep, info), head, Target(buf))
    w.write(results_chunk(res))
    w.close()
    return buf.getvalue()


def csv_text(res: sweep.Results, info: SpecInfo) -> str:
    """The sweep CSV of in-memory Results."""
    buf = io.StringIO()
    w = CsvWriter(Layout(res.sweep, info), Target(buf))
    w.write(results_chunk(res))
    w.close()
    return buf.getvalue()


def to_doc(compiled: Compiled, res: sweep.Results, base: dict) -> dict:
    """The JSON document of a run: a single point's fields, or for a sweep a `points` list
    with each point's swept values and fields (the text writers.JsonWriter streams).
    Under "_meta" (not part of the document) the spec's SpecInfo, for the text tables."""
    doc = sweep.doc_head(compiled, base, res.trials, res.seed, res.rng, res.sweep, res.tables)
    info = spec_info(compiled)
    if res.sweep is None:
        doc.update(sweep.point_fields(res, 0, info.compares))
    else:
        doc["points"] = json.loads(json_text(res, info, doc))["points"]
    if res.groups:
        doc["groups"] = {}
        for g, gi in info.groups.items():
            records, random = group_rows(res.groups[g], list(gi.keys), gi.values)
            doc["groups"][g] = {"title": gi.title, "by": list(gi.keys), "from": gi.source, "count": len(records),
                                "random": random, "rows": records}
    doc["_meta"] = info
    return doc


