"""Measured tables against the model: read CSV rows, join them to model points through a
spec's `measured` block, recompute the design's metrics from the measured values, and
report the model's error per row.

Nothing here knows a particular spec: which params identify a row (`config`), which
value is measured (`observe`) and which metrics to compare all come from the spec.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass

import numpy as np

from spattenc.ir import nodes as ir
from spattenc.driver import Compiled
from spattenc.ir.errors import InputError, SpecError
from spattenc.files import read_text


@dataclass(frozen=True)
class Table:
    """A CSV file as text cells: `rows[i][column]`; `lines[i]` is row i's line in the file."""

    path: str
    columns: tuple[str, ...]
    rows: tuple[dict[str, str], ...]
    lines: tuple[int, ...]


def read_table(path: str) -> Table:
    """Read a CSV file with a header row; errors name the file and line."""
    reader = csv.reader(io.StringIO(read_text(path, "file"), newline=""))
    try:
        records = [(reader.line_num, rec) for rec in reader]
    except csv.Error as e:
        raise InputError(path, f"line {reader.line_num}", f"cannot read CSV: {e}") from None
    records = [(n, rec) for n, rec in records if rec and any(c.strip() for c in rec)]
    if not records:
        raise InputError(path, "", "empty file; expected a header row and data rows")
    header = tuple(c.strip() for c in records[0][1])
    seen: set[str] = set()
    for c in header:
        if not c:
            raise InputError(path, "line 1", "empty column name in the header")
        if c in seen:
            raise InputError(path, "line 1", f"column '{c}' appears twice in the header")
        seen.add(c)
    rows, lines = [], []
    for n, rec in records[1:]:
        if len(rec) != len(header):
            raise InputError(path, f"line {n}", f"{len(rec)} fields, but the header has {len(header)}")
        rows.append({c: v.strip() for c, v in zip(header, rec)})
        lines.append(n)
    if not rows:
        raise InputError(path, "", "no data rows")
    return Table(path, header, tuple(rows), tuple(lines))


def half_unit(text: str) -> float:
    """Half a unit in the last written digit of a number: the rounding interval's half width
    ('0.016083' -> 5e-7, '64' -> 0.5, '1.25e-3' -> 5e-6)."""
    t = text.strip().lower().lstrip("+-")
    mantissa, _, exp = t.partition("e")
    decimals = len(mantissa.split(".", 1)[1]) if "." in mantissa else 0
    return 0.5 * 10.0 ** (-decimals + (int(exp) if exp else 0))


def _number(table: Table, i: int, column: str) -> float:
    text = table.rows[i][column]
    try:
        value = float(text)
    except ValueError:
        raise InputError(table.path, f"line {table.lines[i]}, column '{column}'", f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise InputError(table.path, f"line {table.lines[i]}, column '{column}'", f"expected a finite number, got {text!r}")
    return value


def _column(table: Table, column: str) -> np.ndarray:
    """A column's values as numbers, every cell checked."""
    return np.array([_number(table, i, column) for i in range(len(table.rows))], dtype=np.float64)


def _positive_column(table: Table, column: str) -> np.ndarray:
    """An observed column: every cell a number greater than 0 (a measured time, size or
    rate; the error against the model is relative and `fit` works on its logarithm)."""
    values = _column(table, column)
    bad = np.flatnonzero(~(values > 0))
    if bad.size:
        i = bad[0]
        raise InputError(table.path, f"line {table.lines[i]}, column '{column}'",
                         f"a measured value must be greater than 0, got {table.rows[i][column]!r}")
    return values


def block(compiled: Compiled, name: str | None = None) -> ir.Measured:
    """The spec's `measured` block called `name`, or its only one."""
    blocks = compiled.program.measured
    if not blocks:
        raise SpecError(f"spec '{compiled.name}' has no 'measured' block: declare which params are a row's "
                        "config columns and which value is measured (see docs/language.md)")
    if name is None:
        if len(blocks) > 1:
            raise SpecError(f"spec '{compiled.name}' has several measured blocks "
                            f"({', '.join(b.name for b in blocks)}); choose one with --layout NAME")
        return blocks[0]
    for b in blocks:
        if b.name == name:
            return b
    raise SpecError(f"--layout {name}: spec '{compiled.name}' has no measured block '{name}'; "
                    f"blocks: {', '.join(b.name for b in blocks)}")


@dataclass(frozen=True)
class Rows:
    """A table's rows as model inputs: `config` param values and `observed` measured values
    (column -> array over rows), plus the design metrics the table also has (`compared`)."""

    table: Table
    block: ir.Measured
    config: dict[str, np.ndarray]
    observed: dict[str, np.ndarray]
    compared: tuple[str, ...]
    ignored: tuple[str, ...]

    @property
    def design(self) -> str:
        return self.block.design.name

    def select(self, mask: np.ndarray) -> Rows:
        """The rows where `mask` is true."""
        keep = [i for i, m in enumerate(mask) if m]
        table = Table(self.table.path, self.table.columns, tuple(self.table.rows[i] for i in keep),
                      tuple(self.table.lines[i] for i in keep))
        return Rows(table, self.block, {k: v[mask] for k, v in self.config.items()},
                    {k: v[mask] for k, v in self.observed.items()}, self.compared, self.ignored)

    def column(self, name: str) -> np.ndarray:
        return _column(self.table, name)

    def half_units(self, name: str) -> np.ndarray:
        return np.array([half_unit(r[name]) for r in self.table.rows], dtype=np.float64)


def rows_of(compiled: Compiled, table: Table, b: ir.Measured) -> Rows:
    """Check a table against a measured block and read its config and observed columns."""
    prog = compiled.program
    design = prog.design(b.design.name)
    metrics = [m.name for m in design.metrics]
    needed = [c.name for c in b.config] + [o.name for o in b.observe]
    missing = [c for c in needed if c not in table.columns]
    if missing:
        raise InputError(table.path, "line 1", f"missing column{'s' if len(missing) > 1 else ''} "
                         f"{', '.join(missing)} (measured '{b.name}' of spec '{prog.name}' needs "
                         f"{', '.join(needed)})")
    config: dict[str, np.ndarray] = {}
    for ident in b.config:
        p = prog.param(ident.name)
        lo, hi = p.lo_value, p.hi_value
        values = []
        for i in range(len(table.rows)):
            v = _number(table, i, ident.name)
            where = f"line {table.lines[i]}, column '{ident.name}'"
            if p.type == "int":
                if not float(v).is_integer():
                    raise InputError(table.path, where, f"param '{p.name}' is an integer, got {table.rows[i][ident.name]!r}")
                v = int(v)
            if (lo is not None and v < lo) or (hi is not None and v > hi):
                raise InputError(table.path, where, f"value {v!r} is outside the declared range [{lo}, {hi}] of '{p.name}'")
            values.append(v)
        config[ident.name] = np.array(values, dtype=np.int64 if p.type == "int" else np.float64)
    observed = {o.name: _positive_column(table, o.name) for o in b.observe}
    compared = tuple(c for c in table.columns if c in metrics and c not in config)
    ignored = tuple(c for c in table.columns if c not in metrics and c not in config)
    for c in compared:  # every compared cell must be a number
        _column(table, c)
    return Rows(table, b, config, observed, compared, ignored)


def model_values(sim, rows: Rows, overrides: dict, trials: int, seed: int,
                 observed: dict[str, np.ndarray] | None = None, repeat: int = 1) -> dict[str, np.ndarray]:
    """The design's metrics at every row (mean over trials), optionally with measured values
    replacing the model's; `repeat` tiles the rows (for perturbed observations)."""
    params = dict(overrides)
    for k, v in rows.config.items():
        params[k] = np.tile(v, repeat)
    obs = None
    if observed is not None:
        obs = {f"{rows.design}.{k}": v for k, v in observed.items()}
    R, _, _ = sim.run(params, trials=trials, seed=seed, rng="pcg64", observed=obs)
    n = len(rows.table.rows) * repeat
    return {m: np.broadcast_to(np.asarray(v, dtype=np.float64).mean(axis=1), (n,)).copy()
            for m, v in R[rows.design].items()}


@dataclass(frozen=True)
class Comparison:
    """Model against measurement for one table.

    `model[m]` is the model's metric m per row; `measured[m]` the table's column;
    `recomputed[m]` the metric evaluated with the measured values in place of the
    model's (the table's own derived columns, recomputed); `low`/`high` bound what
    `recomputed` can be when the observed columns are rounded as written, widened by
    the rounding of column m itself.
    """

    rows: Rows
    model: dict[str, np.ndarray]
    measured: dict[str, np.ndarray]
    recomputed: dict[str, np.ndarray]
    low: dict[str, np.ndarray]
    high: dict[str, np.ndarray]
    axis: np.ndarray | None

    def error_pct(self, metric: str) -> np.ndarray:
        """Model error per row, percent of the measured value."""
        return 100.0 * (self.model[metric] - self.measured[metric]) / self.measured[metric]

    def mape(self, metric: str) -> float:
        """Mean absolute percentage error of the model."""
        return float(np.mean(np.abs(self.error_pct(metric))))

    def consistent(self, metric: str) -> np.ndarray:
        """Per row: the table's value lies within the rounding interval of its recomputation."""
        return (self.measured[metric] >= self.low[metric]) & (self.measured[metric] <= self.high[metric])

    @property
    def observed(self) -> tuple[str, ...]:
        return tuple(o.name for o in self.rows.block.observe)

    @property
    def derived(self) -> tuple[str, ...]:
        """Compared columns that are not themselves measured."""
        return tuple(m for m in self.rows.compared if m not in self.observed)


def compare(compiled: Compiled, sim, rows: Rows, overrides: dict, trials: int, seed: int) -> Comparison:
    """Evaluate the model at every row, and the metrics recomputed from the measured values."""
    n = len(rows.table.rows)
    model = model_values(sim, rows, overrides, trials, seed)
    # Measured values as written, and at both ends of their rounding intervals.
    obs = {}
    for k, v in rows.observed.items():
        h = rows.half_units(k)
        obs[k] = np.concatenate([v, v - h, v + h])
    rec3 = model_values(sim, rows, overrides, trials, seed, observed=obs, repeat=3)
    measured, recomputed, low, high = {}, {}, {}, {}
    for m in rows.compared:
        measured[m] = rows.column(m)
        mid, a, b = rec3[m][:n], rec3[m][n:2 * n], rec3[m][2 * n:]
        h = rows.half_units(m)
        recomputed[m] = mid
        low[m] = np.minimum(np.minimum(a, b), mid) - h
        high[m] = np.maximum(np.maximum(a, b), mid) + h
    axis = None
    ax = rows.block.axis
    if ax is not None:
        axis = rows.config[ax.name].astype(np.float64) if ax.name in rows.config else model[ax.name]
    return Comparison(rows, model, measured, recomputed, low, high, axis)


def mean_by(keys: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows grouped by equal keys (ascending), each group's values averaged."""
    keys = np.asarray(keys, dtype=np.float64)
    uniq, inverse = np.unique(keys, return_inverse=True)
    sums = np.zeros(len(uniq))
    np.add.at(sums, inverse, np.asarray(values, dtype=np.float64))
    counts = np.bincount(inverse, minlength=len(uniq))
    return uniq, sums / counts


# ------------------------------------------------------------------ reports


def _rows(n: int) -> str:
    return f"{n} row" if n == 1 else f"{n} rows"


def _cell(v: float) -> str:
    return f"{v:.6g}"


def report_text(compiled: Compiled, comparisons: list[Comparison]) -> str:
    """Per table: each row's config, measured and model values and error; MAPE; and
    whether the table's derived columns agree with their recomputation within rounding."""
    out: list[str] = []
    for c in comparisons:
        rows = c.rows
        b = rows.block
        design = compiled.program.design(rows.design)
        out.append(f"== {rows.table.path}: {_rows(len(rows.table.rows))}, measured '{b.name}', design {design.name}"
                   + (f" ({design.title})" if design.title else ""))
        config = [x.name for x in b.config]
        extra = [c_ for c_ in ([b.axis.name] if b.axis is not None and b.axis.name not in config else [])]
        header = config + extra
        for o in c.observed:
            header += [f"{o} measured", f"{o} model", "error %"]
        errs = {o: c.error_pct(o) for o in c.observed}
        cells = []
        for i in range(len(rows.table.rows)):
            row = [str(rows.table.rows[i][k]) for k in config]
            row += [_cell(c.axis[i])] if extra else []
            for o in c.observed:
                row += [rows.table.rows[i][o], _cell(c.model[o][i]), f"{errs[o][i]:+.2f}"]
            cells.append(row)
        widths = [max(len(h), *(len(r[j]) for r in cells)) for j, h in enumerate(header)]
        out.append("  " + "  ".join(h.rjust(w) for h, w in zip(header, widths)))
        for r in cells:
            out.append("  " + "  ".join(x.rjust(w) for x, w in zip(r, widths)))
        for o in c.observed:
            err = np.abs(errs[o])
            out.append(f"  MAPE {o}: {c.mape(o):.2f}% over {_rows(len(err))} (max |error| {err.max():.2f}%)")
        others = [m for m in c.derived if np.ptp(c.measured[m]) > 0]
        if others:
            out.append("  MAPE of the other columns: " + ", ".join(f"{m} {c.mape(m):.2f}%" for m in others))
        if c.derived:
            bad = [(m, i) for m in c.derived for i in np.flatnonzero(~c.consistent(m))]
            what = ", ".join(c.observed)
            if not bad:
                out.append(f"  derived columns recomputed from measured {what} ({', '.join(c.derived)}): "
                           "all agree with the file within rounding")
            else:
                verb = "cell disagrees" if len(bad) == 1 else "cells disagree"
                out.append(f"  derived columns recomputed from measured {what}: {len(bad)} {verb} beyond rounding:")
                for m, i in bad[:10]:
                    out.append(f"    line {rows.table.lines[i]} {m}: file {rows.table.rows[i][m]}, recomputed "
                               f"{c.recomputed[m][i]:.6g} (rounding allows [{c.low[m][i]:.6g}, {c.high[m][i]:.6g}])")
        if rows.ignored:
            out.append(f"  not compared (no metric of that name): {', '.join(rows.ignored)}")
        out.append("")
    return "\n".join(out)


def report_json(compiled: Compiled, comparisons: list[Comparison]) -> dict:
    """The comparison as plain JSON: per table, each row and the summary figures."""
    tables = []
    for c in comparisons:
        rows = c.rows
        errs = {m: c.error_pct(m) for m in rows.compared}
        out_rows = []
        for i in range(len(rows.table.rows)):
            out_rows.append({
                "line": rows.table.lines[i],
                "config": {k: rows.config[k][i].item() for k in rows.config},
                "measured": {m: float(c.measured[m][i]) for m in rows.compared},
                "model": {m: float(c.model[m][i]) for m in rows.compared},
                "recomputed": {m: float(c.recomputed[m][i]) for m in rows.compared},
                "error_pct": {m: float(errs[m][i]) for m in rows.compared},
            })
        tables.append({
            "file": rows.table.path, "measured": rows.block.name, "design": rows.design,
            "observed": list(c.observed), "rows": out_rows,
            "mape_pct": {m: c.mape(m) for m in rows.compared if np.all(c.measured[m] != 0)},
            "derived_within_rounding": {m: bool(np.all(c.consistent(m))) for m in c.derived},
            "ignored_columns": list(rows.ignored),
        })
    return {"spec": compiled.name, "tables": tables}


def report_csv(comparisons: list[Comparison]) -> str:
    """One row per measured row of every table: file, line, config, and for each compared
    column its measured, model and recomputed values and the model's error (%)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    first = comparisons[0].rows
    config = list(first.config)
    compared = [m for m in first.compared if all(m in c.rows.compared for c in comparisons)]
    header = ["file", "line", *config]
    for m in compared:
        header += [f"{m}.measured", f"{m}.model", f"{m}.recomputed", f"{m}.error_pct"]
    w.writerow(header)
    for c in comparisons:
        rows = c.rows
        errs = {m: c.error_pct(m) for m in compared}
        for i in range(len(rows.table.rows)):
            row = [rows.table.path, rows.table.lines[i], *(rows.config[k][i].item() for k in config)]
            for m in compared:
                row += [rows.table.rows[i][m], repr(float(c.model[m][i])), repr(float(c.recomputed[m][i])),
                        repr(float(errs[m][i]))]
            w.writerow(row)
    return buf.getvalue()
