"""The `spattenc report` document: one self-contained HTML file with the spec's params,
the results at its operating point, its report block and closed forms, and embedded
plots (Gantt, histograms, and for a sweep its tables, lines, heatmaps and contours).

Every number is shown as the spec declares it (its `fmt`, `unit` and scale); quantities
that depend on no random draw show one exact value, never a std/min/max that repeats it."""

from __future__ import annotations

import math
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np

from spattenc.ir import nodes as ir
from spattenc.present import plotset
from spattenc.present.document import flatten, report_document
from spattenc.present.inspect import inspect_spec
from spattenc.present.html import Image, Note, Num, Preformatted, Section, Table, render_html, write_html
from spattenc.run import sweep as sweeps
from spattenc.run.meta import QuantityInfo

#: Rows of a sweep shown in the report's tables; the rest are summarized.
MAX_TABLE_ROWS = 200
#: A report block's `points` with at most this many points are shown one column per point.
MAX_POINT_COLUMNS = 12


def closed_forms(run) -> str:
    """The closed forms as `spattenc inspect` prints them."""
    return inspect_spec(run.compiled, run.bound, overrides=run.overrides)


# ---------------------------------------------------------------- numbers as the spec shows them


def number(value, fmt: str | None = None, scale: float = 1.0) -> Num:
    """A value in the spec's `fmt` (thousands grouped), else in a readable default: whole
    numbers grouped, others to 6 significant digits without an exponent below 10^15."""
    if value is None:
        return Num("")
    if isinstance(value, (bool, np.bool_)):
        return Num("true" if value else "false")
    if isinstance(value, str):
        return Num(value)
    v = float(value) * scale
    if not math.isfinite(v):
        return Num("nan" if v != v else ("inf" if v > 0 else "-inf"))
    if fmt:
        text = format(v, fmt if fmt.startswith(",") else "," + fmt)
        g = re.fullmatch(r",?\.?(\d*)g", fmt)
        if "e+" not in text or g is None or abs(v) >= 1e15:
            return Num(text)
        # A `g` format switches to an exponent for large values; a table reads better
        # with the same significant digits written out (6,224,130, not 6.22413e+06).
        return _significant(v, int(g[1] or 6))
    if v.is_integer() and abs(v) < 1e15:
        return Num(f"{int(v):,}")
    return _significant(v, 6)


def _significant(v: float, digits: int) -> Num:
    """v to `digits` significant digits, grouped, without an exponent for 1e-4 <= |v| < 1e15."""
    if not 1e-4 <= abs(v) < 1e15:
        return Num(f"{v:.{digits}g}")
    v = float(f"{v:.{digits}g}")
    places = max(0, digits - 1 - math.floor(math.log10(abs(v))))
    text = f"{v:,.{places}f}"
    return Num(text.rstrip("0").rstrip(".") if "." in text else text)


def _stat_cells(st: sweeps.Stats, i: int, q: QuantityInfo, spread: bool) -> list[Num]:
    """Mean (and std, min, max when `spread`) of point i of a quantity, in its fmt."""
    cells = [number(st.mean[i], q.fmt, q.scale)]
    if spread:
        cells += [number(st.std[i], q.fmt, q.scale), number(st.min[i], q.fmt, q.scale),
                  number(st.max[i], q.fmt, q.scale)] if q.random else [Num("")] * 3
    return cells


def _mean_cell(st: sweeps.Stats, i: int, q: QuantityInfo) -> Num:
    """Point i's mean in the quantity's fmt, with ± its std when it is random."""
    text = number(st.mean[i], q.fmt, q.scale)
    return Num(f"{text} ± {number(st.std[i], q.fmt, q.scale)}") if q.random else text


def _label(q: QuantityInfo) -> str:
    """A quantity's column header: its label with its unit."""
    return plotset.axis_label(q.label, q.unit, q.scale)


def _random(run) -> bool:
    """Whether any metric or comparison of the spec depends on a random draw."""
    return run.info.random


# ---------------------------------------------------------------- the spec and its operating point


def _run_table(run) -> Table:
    """How the report was evaluated: the spec file, the trials (or none), the sweep."""
    c = run.compiled
    sweep = (f"{'cases' if run.sweep.labels is not None else 'sweep'} {run.sweep.name}"
             if run.sweep is not None else "none")
    if not _random(run):
        return Table("Run", ["spec file", "evaluation", "sweep"],
                     [[c.path, "deterministic (no random draws): one exact evaluation per point", sweep]])
    swept = f"{run.settings.trials:,} per point" if run.sweep is not None else "-"
    return Table("Run", ["spec file", "trials (operating point)", "trials (sweep)", "seed", "rng", "sweep"],
                 [[c.path, Num(f"{run.settings.point_trials:,}"), Num(swept), run.settings.seed, run.settings.rng, sweep]])


def _params_table(run) -> Table:
    """Every param at the operating point: value, unit, type, range, and where it comes from."""
    rows = []
    swept_params = {a.param for a in run.sweep.axes} if run.sweep is not None else set()
    for name, p in run.info.params.items():
        value = run.overrides.get(name, p.default)
        if name in swept_params:
            source = "varied by the cases" if run.sweep.labels is not None else "swept"
        else:
            source = "--set" if name in run.overrides else "default"
        rng = "" if p.lo is None and p.hi is None else f"[{number(p.lo)}, {number(p.hi)}]"
        rows.append([name, number(value), p.unit or "", p.type, rng, source, p.doc or ""])
    return Table("Params (operating point)", ["param", "value", "unit", "type", "range", "source", "description"],
                 rows)


def _results_tables(run, res: sweeps.Results) -> list[Table]:
    """The operating point's metrics (mean, and std/min/max over trials only for random
    ones) and comparisons, in the spec's fmt."""
    info = run.info
    metrics = [(info.designs[d].title, st, info.designs[d].metrics[name]) for d, ms in res.designs.items()
               for name, st in ms.items()]
    spread = any(q.random for _, _, q in metrics)
    if spread:
        rows = [[title, _label(q), *_stat_cells(st, 0, q, spread)] for title, st, q in metrics]
        note = (f"Over {res.trials:,} trials (seed {res.seed}, {res.rng}); std is the population std. Metrics "
                "that depend on no random draw are exact: their std, min and max are left empty.")
        out = [Table("Metrics", ["design", "metric", "mean", "std", "min", "max"], rows, note)]
    else:
        out = [_metrics_by_design(info, res)]
    if res.compares:
        compares = [(st, info.compares[c]) for c, st in res.compares.items()]
        spread = any(q.random for _, q in compares)
        out.append(Table("Comparisons", ["comparison", *(["mean", "std", "min", "max"] if spread else ["value"])],
                         [[_label(q), *_stat_cells(st, 0, q, spread)] for st, q in compares]))
    return out


def _metrics_by_design(info, res: sweeps.Results) -> Table:
    """Exact metrics as a row per metric and a column per design (as `eval` prints them)."""
    designs = list(res.designs)
    names = list(dict.fromkeys(name for d in designs for name in res.designs[d]))
    rows = []
    for name in names:
        q = next(info.designs[d].metrics[name] for d in designs if name in res.designs[d])
        rows.append([_label(q), *(number(res.designs[d][name].mean[0], info.designs[d].metrics[name].fmt,
                                         info.designs[d].metrics[name].scale) if name in res.designs[d] else "N/A"
                                  for d in designs)])
    return Table("Metrics", ["metric", *(info.designs[d].title for d in designs)], rows,
                 "Exact values: no metric depends on a random draw.")


# ---------------------------------------------------------------- the spec's report block


def _report_formats(run) -> dict[str, QuantityInfo]:
    """Display info of the report block's entries that name a metric or a comparison, by
    key path (inside `points`, relative to the point)."""
    info = run.info
    out: dict[str, QuantityInfo] = {}

    def walk(items, prefix: str) -> None:
        for it in items:
            if it.kind in ("object", "points"):
                walk(it.items, "" if it.kind == "points" else f"{prefix}{it.name}.")
            elif it.kind == "value" and isinstance(it.expr, ir.MetricRef):
                out[f"{prefix}{it.name}"] = info.designs[it.expr.design].metrics[it.expr.metric]
            elif it.kind == "value" and isinstance(it.expr, ir.Ref) and it.expr.name in info.compares:
                out[f"{prefix}{it.name}"] = info.compares[it.expr.name]

    walk(run.compiled.program.report.items, "")
    return out


def _entry(key: str, formats: dict) -> str:
    """A report entry's row label: its key path, with the unit of the quantity it names."""
    q = formats.get(key)
    return f"{key} ({q.unit})" if q and q.unit else key


def _value(key: str, v, formats: dict) -> Num:
    """A report entry's value in the fmt of the quantity it names; null as "none"."""
    if v is None:
        return Num("none")
    q = formats.get(key)
    return number(v, q.fmt, q.scale) if q else number(v)


def _points_table(points: list[dict], params: list[str], formats: dict) -> Table:
    """A report's `points`: one column per point (few points) or one row per point."""
    flat = [flatten({k: v for k, v in p.items() if k not in params}) for p in points]
    keys = list(dict.fromkeys(k for f in flat for k in f))
    heads = [", ".join(f"{p} = {number(pt[p])}" for p in params) or f"point {i}" for i, pt in enumerate(points)]
    if len(points) <= MAX_POINT_COLUMNS:
        rows = [[_entry(k, formats), *(_value(k, f.get(k), formats) for f in flat)] for k in keys]
        return Table("Per point", ["entry", *heads], rows)
    rows = [[*(number(pt[p]) for p in params), *(_value(k, f.get(k), formats) for k in keys)]
            for pt, f in zip(points[:MAX_TABLE_ROWS], flat)]
    return Table("Per point", [*params, *(_entry(k, formats) for k in keys)], rows,
                 _more(len(points)))


def _report_tables(doc: dict, notes: dict[str, str], formats: dict) -> list:
    """The report document as tables: its points, then each object as an entry/value table,
    then the loose values (with the reason of a `solve` that has no solution)."""
    items: list = []
    if doc.get("points"):
        first = doc["points"][0]
        params = [k for k, v in first.items() if not isinstance(v, (dict, list))
                  and not any(isinstance(p.get(k), (dict, list)) for p in doc["points"])][:4]
        items.append(_points_table(doc["points"], params, formats))
    loose = []
    for key, val in doc.items():
        if key == "points":
            continue
        if isinstance(val, dict):
            rows = [[k, _value(f"{key}.{k}", v, formats), notes.get(f"{key}.{k}", "")]
                    for k, v in flatten(val).items()]
            items.append(Table(key, ["entry", "value", "note"] if any(r[2] for r in rows) else ["entry", "value"],
                               [r if any(x[2] for x in rows) else r[:2] for r in rows]))
        else:
            loose.append([_entry(key, formats), _value(key, val, formats), notes.get(key, "")])
    if loose:
        has_notes = any(r[2] for r in loose)
        items.append(Table("Other entries", ["entry", "value", *(["note"] if has_notes else [])],
                           [r if has_notes else r[:2] for r in loose]))
    return items


# ---------------------------------------------------------------- a sweep or cases


def _more(points: int) -> str:
    return "" if points <= MAX_TABLE_ROWS else \
        f"First {MAX_TABLE_ROWS} of {points:,} points (spattenc eval ... --csv gives all)."


def _varies(st: sweeps.Stats) -> bool:
    mean = np.asarray(st.mean, dtype=np.float64)
    return mean.size > 1 and not np.allclose(mean, mean[0], rtol=1e-12, atol=0, equal_nan=True)


def _point_heads(run, res: sweeps.Results) -> tuple[list[str], list[list]]:
    """The leading columns of a sweep table (point, case, swept params with units) and
    their cells for each shown point."""
    labels = res.sweep.labels
    cols = list(res.columns)
    heads = ["#", *(["case"] if labels is not None else []), *(plotset.param_label(run.info, k) for k in cols)]
    rows = [[i, *([labels[i]] if labels is not None else []), *(number(res.columns[k][i].item()) for k in cols)]
            for i in range(min(res.points, MAX_TABLE_ROWS))]
    return heads, rows


def _quantity_table(title: str, quantities: list[tuple[str, sweeps.Stats, QuantityInfo]], heads, lead) -> list:
    """One table of a sweep: a row per point, a column per quantity that varies; the
    quantities that do not vary are listed once, under it (or alone, as a note)."""
    varying = [(k, st, q) for k, st, q in quantities if _varies(st)]
    same = [f"{_label(q)} {_mean_cell(st, 0, q)}" for k, st, q in quantities if not _varies(st)]
    note = ("Same at every point: " + "; ".join(same) + ".") if same else ""
    if not varying:
        return [Note(note, title)] if note else []
    rows = [row + [_mean_cell(st, i, q) for _, st, q in varying] for i, row in enumerate(lead)]
    return [Table(title, [*heads, *(_label(q) for _, _, q in varying)], rows, note)]


def _sweep_tables(run, res: sweeps.Results) -> list:
    """A sweep's results: the comparisons, then one table per design, means (± std for
    random quantities) in the spec's fmt."""
    info = run.info
    heads, lead = _point_heads(run, res)
    items = []
    if res.compares:
        items += _quantity_table("Comparisons", [(c, st, info.compares[c]) for c, st in res.compares.items()],
                                 heads, lead)
    for d, ms in res.designs.items():
        di = info.designs[d]
        items += _quantity_table(di.title, [(k, st, di.metrics[k]) for k, st in ms.items()], heads, lead)
    if res.points > MAX_TABLE_ROWS:
        items.append(Note(_more(res.points)))
    return items


def _axes_table(run) -> Table:
    sw = run.sweep
    kind = "Sweep" if sw.labels is None else "Cases"
    return Table(f"{kind} {sw.name}: {sw.title}", ["param", "values", "combined"],
                 [[plotset.param_label(run.info, a.param), ", ".join(number(v) for v in a.values),
                   "zip" if len(g) > 1 else "product"] for g in sw.groups for a in g])


def _images(folder: Path, entries) -> list[Image]:
    """The rendered plots as report images, each with a text alternative."""
    return [Image(_image_title(name, caption), folder / name, caption, alt=f"Plot: {caption or name}")
            for name, caption, _ in entries]


def _image_title(name: str, caption: str) -> str:
    """A plot's heading: the first sentence of its caption, up to a semicolon when long
    (else its file name)."""
    head = caption.split(". ", 1)[0].rstrip(".").strip()
    if len(head) > 100:
        head = head.split("; ", 1)[0]
    return head or name


# ---------------------------------------------------------------- the document


def build(run, folder: Path) -> str:
    """Evaluate the run, render its plots into `folder`, and return the report's HTML."""
    point = run.point(quiet=True, samples=True)
    swept = run.swept(quiet=run.settings.quiet) if run.sweep is not None else None
    c = run.compiled
    title = f"{c.name}: {c.program.title or c.name}"
    sections = [Section("Spec", [_run_table(run), _params_table(run)]),
                Section("Results at the operating point", _results_tables(run, point))]
    if c.program.report is not None:
        doc, notes = report_document(c, swept if swept is not None else point, run.params, run.inputs)
        sections.append(Section("Report", _report_tables(doc, notes, _report_formats(run))))
    sections.append(Section("Closed forms", [Preformatted("spattenc inspect " + c.path, closed_forms(run))]))
    entries, _ = plotset.render(folder, "png", run, point, None)
    sections.append(Section("Plots at the operating point", _images(folder, entries) or [
        Note("None: this spec's operating point has no schedule to draw and no random samples.")]))
    if swept is not None:
        more, notes = plotset.swept_plots(folder, "png", run, swept)
        items = [_axes_table(run), *_sweep_tables(run, swept), *_images(folder, more)]
        items += [Note(n, "Note") for n in notes]
        kind = "Sweep" if run.sweep.labels is None else "Cases"
        trials = f" x {swept.trials:,} trials" if _random(run) else ""
        sections.append(Section(f"{kind} {run.sweep.name} ({swept.points:,} points{trials})", items))
    return render_html(title, sections)


def write_report(out: Path, run) -> Path:
    """Write out/report.html (plots rendered in a temporary folder and embedded)."""
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".report.", dir=out))
    try:
        return write_html(out / "report.html", build(run, tmp))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
