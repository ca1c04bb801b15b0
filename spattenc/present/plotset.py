"""Which plots a run gets, built from its results with spattenc.plots: a Gantt chart of
one trial, histograms of the Monte-Carlo samples, for sweeps line plots (one axis),
heatmaps and contours with the break-even line (two axes), and for cases a bar chart per
comparison and metric.  Knows nothing of any spec:
labels, units and scales come from the spec's attributes."""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from spattenc.driver import Compiled
from spattenc.ir.units import schedule_stages, time_unit
from spattenc.middle.symbolic import _numeric_subs, _values, expand_all, forms, to_sympy
from spattenc.present import plots
from spattenc.run.measured import Comparison, mean_by
from spattenc.run.meta import QuantityInfo, SpecInfo
from spattenc.run.sweep import Results, declared_layout


@dataclass(frozen=True)
class Quantity:
    """A plotted quantity: a design's metric or a comparison, with display attributes."""

    key: str  # "design.metric" or "compare"
    label: str  # axis label with unit
    title: str  # its label without the unit, for titles
    scale: float
    random: bool
    fmt: str | None = None  # the declared format of its values
    reference: tuple[float, str] | None = None  # a line worth drawing (a ratio's 1)


def _undecorated(label: str) -> str:
    """A spec label without the table decorations that indent it ("  -> Wasted (MB)");
    every other character is kept, shown literally."""
    return re.sub(r"^[\s\-\u2013\u2014>\u2192*\u2022\u00b7|]+", "", label).strip()


def axis_label(label: str, unit: str | None, scale: float = 1.0) -> str:
    """A label for an axis: the spec's label without table decorations, plus its unit
    unless the label already names one ("(MB)")."""
    text = _undecorated(label)
    if not unit:
        return text
    shown = shown_unit(unit, scale)
    return text if f"({shown})" in text else f"{text} ({shown})"


def shown_unit(unit: str, scale: float = 1.0) -> str:
    """The unit a value is shown in: its declared unit, or "%" for a fraction shown times
    100 (`unit "fraction" scale 100`)."""
    return "%" if scale == 100 and unit == "fraction" else unit


def row_label(label: str, unit: str | None, scale: float = 1.0) -> str:
    """A text table's row label: the spec's label as written, plus " (unit)" unless the
    label already states a unit: the unit as a word in any case ("Total Cycles" for
    cycles), or a trailing "(...)" ("Traffic (MB)", "MACs (G)"), so labels written like
    the seed's tables read unchanged."""
    if not unit:
        return label
    shown = shown_unit(unit, scale)
    if re.search(rf"(?<!\w){re.escape(shown)}(?!\w)", label, re.IGNORECASE) or re.search(r"\([^()]*\)\s*$", label):
        return label
    return f"{label} ({shown})"


def title_text(label: str) -> str:
    """A label for a title: without table decorations ("  -> ") or a trailing "(unit)"."""
    text = _undecorated(label)
    return re.sub(r"\s*\([^()]*\)$", "", text) or text


def reference_line(compare, unit: str | None) -> tuple[float, str] | None:
    """The line a comparison is read against: 1 for a ratio (a quotient, or unit "x"),
    0 for a difference."""
    expr = getattr(compare, "expr", None)
    op = getattr(expr, "op", None)
    if unit in ("x", "\u00d7") or (op == "/" and not unit):
        return 1.0, "ratio 1 (no change)"
    if op == "-":
        return 0.0, "no difference"
    return None


def quantities(info: SpecInfo, program=None) -> tuple[dict[str, dict[str, Quantity]], dict[str, Quantity]]:
    """Display attributes of every metric and comparison (from the spec's SpecInfo; with
    the program also the reference line of each comparison)."""
    designs = {}
    for d, di in info.designs.items():
        designs[d] = {name: _quantity(f"{d}.{name}", q, f"{di.title}: {title_text(q.label)}" if di.title else None)
                      for name, q in di.metrics.items()}
    decl = {c.name: c for c in program.compares} if program is not None else {}
    compares = {c: _quantity(c, q, None, reference_line(decl.get(c), q.unit)) for c, q in info.compares.items()}
    return designs, compares


def _quantity(key: str, q: QuantityInfo, title: str | None, reference=None) -> Quantity:
    return Quantity(key, axis_label(q.label, q.unit, q.scale), title or title_text(q.label), float(q.scale),
                    bool(q.random), _fmt_of(q.fmt), reference)


def _fmt_of(fmt: str | None) -> str | None:
    """A declared format usable with format(); "" or None means none was declared."""
    return fmt or None


def geometric(values) -> bool:
    """Whether swept values form a geometric grid (positive, a constant ratio, spanning at
    least a factor 8): such axes are drawn on a log scale."""
    x = np.asarray(values, dtype=float)
    if x.size < 3 or np.any(x <= 0):
        return False
    r = x[1:] / x[:-1]
    return bool(x.max() / x.min() >= 8 and np.allclose(r, r[0], rtol=1e-6) and r[0] != 1)


def _tag(name: str) -> str:
    """A sweep's name as a file-name part."""
    return re.sub(r"[^0-9A-Za-z_.-]+", "_", name)


def attrs_label(attrs, name: str) -> str:
    """A metric's axis label from its attributes as declared: its label (else its name)
    and its unit."""
    return attrs.shown_label(name) + (f" ({attrs.unit})" if attrs.unit else "")


def param_label(info: SpecInfo, name: str) -> str:
    unit = info.params[name].unit
    return f"{name} ({unit})" if unit else name


# ---------------------------------------------------------------- single point


def gantt_bars(info: SpecInfo, events, shows=()) -> list[plots.GanttBar]:
    """Gantt bars of a recorded trial: its scheduled stages (events: design, layer, stage,
    start, end), drawn as the spec's `gantt` attribute says, then its show intervals
    (design, layer, name, start, end, kind).  Kind 'none' is recorded but not drawn."""
    bars = []
    rows = [(d, l, n, s, e, info.designs[d].gantt.get(n, "stage")) for d, l, n, s, e in events] + list(shows)
    for design, layer, name, start, end, kind in rows:
        if kind == "none":
            continue
        bars.append(plots.GanttBar(design, int(layer), name, float(start), float(end), kind))
    return bars


def stage_time_unit(program) -> str:
    """The unit of a Gantt chart's time axis: the unit of the stages the designs schedule
    (`unit "s"`; cycles when a stage declares none; every unit when they disagree)."""
    return time_unit(schedule_stages(program))


def spec_title(compiled) -> str:
    """A spec's title for plot titles: its declared title, else its name."""
    return compiled.program.title or compiled.name


def gantt_plot(out: Path, fmt: str, run, res: Results, designs: dict, compares: dict) -> tuple[str, str, object]:
    """The Gantt chart of the recorded trial; "trial K of N" only when trials differ,
    layer rows only when the spec has layers."""
    prog = run.compiled.program
    random = any(q.random for ms in designs.values() for q in ms.values()) or any(q.random for q in compares.values())
    layered = prog.rows is None and not prog.implicit_layers
    which = f": trial {run.settings.trial} of {res.trials}" if random and res.trials > 1 else ""
    name = f"gantt.{fmt}"
    labels = {d: di.title for d, di in run.info.designs.items() if di.title}
    g = plots.gantt(gantt_bars(run.info, res.events, res.shows), out / name, time_unit=stage_time_unit(prog),
                    title=f"{spec_title(run.compiled)}: schedule{which}{_where(run)}", design_labels=labels,
                    layered=layered)
    zoom = "; below, " + " and ".join(f"{z.design} layer {z.layer}" for z in g.zooms) + \
        " zoomed with a stretched time axis" if g.zooms else ""
    if g.layers is not None:
        zoom += (f"; then every layer of {g.layers.design}, each row on its own stretched time axis from the "
                 "layer's start to its end, its duration on the right")
    rows = "a row per design and layer" if layered else "a row per design"
    return name, (f"Gantt chart{which.replace(':', ' of')}: {rows}, parallel branches in sub-rows, a color per "
                  f"stage, hatched overlays, wasted and corrective segments marked{zoom}."), g


def point_plots(out: Path, fmt: str, run, res: Results, notes: list[str] | None = None) -> list[tuple[str, str, object]]:
    """Gantt chart of the chosen trial and histograms of the per-trial samples; a
    quantity with the same value in every trial gets a note (appended to `notes`)
    instead of a histogram."""
    notes = [] if notes is None else notes
    entries = []
    designs, compares = quantities(run.info, run.compiled.program)
    where = _where(run)
    if res.events:
        entries.append(gantt_plot(out, fmt, run, res, designs, compares))
    kept = len(next(iter(res.compare_samples.values()))) if res.compare_samples else None
    for c, x in res.compare_samples.items():
        q = compares[c]
        if not _varies(x):  # the same value in every trial (e.g. no draw reaches it): nothing to show
            if res.trials > 1:
                notes.append(f"{q.title} ({c}) has the same value in every trial: no histogram")
            continue
        name = f"hist_{c}.{fmt}"
        xlabel = axis_label(f"{q.title} of one trial", run.info.compares[c].unit, q.scale)
        h = plots.histograms([(c, x * q.scale, xlabel)], out / name,
                             title=f"{q.title}: each trial alone ({_n(kept, res.trials)}){where}")
        entries.append((name, f"Histogram of {q.title} ({c}) computed from each trial alone.", h))
    for d, ms in res.samples.items():
        for m, x in ms.items():
            q = designs[d][m]
            if not _varies(x):
                notes.append(f"{q.title} ({d}.{m}) has the same value in every trial: no histogram")
                continue
            name = f"hist_{d}_{m}.{fmt}"
            h = plots.histograms([(f"{d}.{m}", x * q.scale, q.label)], out / name,
                                 title=f"{q.title} ({_n(len(x), res.trials)}){where}")
            entries.append((name, f"Histogram of the Monte-Carlo samples of {q.title} ({d}.{m}).", h))
    return entries


def _varies(x: np.ndarray) -> bool:
    """Whether samples take more than one value (a histogram of a constant shows nothing)."""
    x = np.asarray(x, dtype=float)
    return x[~np.isnan(x)].size > 1 and not _constant(x)


def _n(kept: int | None, trials: int) -> str:
    return f"{trials} trials" if kept is None or kept >= trials else f"first {kept} of {trials} trials"


def _where(run) -> str:
    return "" if not run.overrides else " at " + ", ".join(f"{k}={v}" for k, v in run.overrides.items())


# ---------------------------------------------------------------- sweeps


@dataclass(frozen=True)
class LineAxis:
    """The x axis of a one-group sweep's line plots: ascending positions `x`, and for
    every point the index of its position (`key`); points sharing a position (rows with
    equal values of a declared `aggregate` column) are averaged."""

    x: np.ndarray
    key: np.ndarray
    label: str
    title: str
    log: bool
    ticklabels: tuple[str, ...] | None = None
    name: str | None = None  # the aggregate metric drawn on the axis, not plotted against itself

    def reduce(self, values) -> np.ndarray:
        """Per-point values to one value per position: the mean over its points."""
        v = np.asarray(values, dtype=float)
        total = np.bincount(self.key, weights=v, minlength=self.x.size)
        return total / np.bincount(self.key, minlength=self.x.size)


def _numeric_axis(values) -> np.ndarray | None:
    """A swept axis's values as floats, or None for booleans (not a numeric axis)."""
    if any(isinstance(v, (bool, np.bool_)) for v in values):
        return None
    return np.asarray(values, dtype=float)


def _aggregate_axis(run, res: Results, table) -> LineAxis:
    """Zipped sweeps with a declared `aggregate` column: its values on the x axis."""
    name = table.aggregate.name
    designs, _ = quantities(run.info)
    d = table.design.name
    if name in res.designs.get(d, {}):
        q = designs[d][name]
        values, label, title = res.designs[d][name].mean * q.scale, q.label, title_text(q.label)
    elif name in res.columns:
        values, label, title = np.asarray(res.columns[name], float), param_label(run.info, name), name
    else:
        values, label, title = np.full(res.points, float(run.params[name])), param_label(run.info, name), name
    x, key = np.unique(values, return_inverse=True)
    return LineAxis(x, key, label, title, geometric(x) or _wide(x), name=name)


def _wide(x: np.ndarray) -> bool:
    """Positive values spanning two decades or more (drawn on a log axis)."""
    return x.size > 1 and bool(np.all(x > 0)) and x.max() / x.min() >= 100.0


def line_axis(run, res: Results) -> LineAxis:
    """The x axis for a one-group sweep: its declared aggregate column, else its first
    axis whose values are all distinct (the others zipped along), else the points by
    number, each tick naming its values."""
    sw = res.sweep
    group = sw.groups[0]
    table = declared_layout(run.compiled, res.sweep)
    if len(group) > 1 and table is not None and table.aggregate is not None:
        return _aggregate_axis(run, res, table)
    n = len(group[0].values)
    over = sw.title if sw.name != "cli" and len(group) == 1 else None
    for axis in group:
        x = _numeric_axis(axis.values)
        if x is not None and np.unique(x).size == n:
            others = [a.param for a in group if a is not axis]
            label = param_label(run.info, axis.param) + (f" (zipped with {', '.join(others)})" if others else "")
            xs, key = np.unique(x, return_inverse=True)
            return LineAxis(xs, key, label, over or axis.param, geometric(xs) or _wide(xs))
    ticks = tuple(", ".join(f"{a.param}={_value_text(a.values[i])}" for a in group) for i in range(n))
    title = over or " and ".join(a.param for a in group)
    return LineAxis(np.arange(n, dtype=float), np.arange(n), "point", title, False, ticks)


def _value_text(v) -> str:
    """A swept value as a tick label."""
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    return plots._fmt(v)


def _constant(values) -> bool:
    """Whether an array holds one value (ignoring NaN and differences of float rounding,
    1e-12 relative): nothing to plot."""
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    if v.size == 0:
        return True
    lo, hi = float(v.min()), float(v.max())
    return hi - lo <= 1e-12 * max(abs(lo), abs(hi))


def _const_note(title: str, key: str, values: dict[str, float], fmt_: str | None, where: str) -> str:
    """The note standing in for the plot of a quantity that does not vary."""
    shown = ", ".join(f"{k} {_num(v, fmt_)}" if k else _num(v, fmt_) for k, v in values.items())
    return f"{title} ({key}) is the same at every point of {where} ({shown}): not plotted"


def _num(v: float, fmt_: str | None) -> str:
    return format(float(v), fmt_) if fmt_ and np.isfinite(v) else plots._fmt(float(v))


def _per_trials(res: Results, random: bool) -> str:
    return f" ({res.trials} trials per point)" if random and res.trials > 1 else ""


def line_plots(out: Path, fmt: str, run, res: Results, notes: list[str]) -> list[tuple[str, str, object]]:
    """A line plot per metric (a line per design) and per comparison over a one-group sweep."""
    designs, compares = quantities(run.info, run.compiled.program)
    ax = line_axis(run, res)
    tag = _tag(res.sweep.name)
    entries = []
    by_metric: dict[str, list] = {}
    for d, ms in res.designs.items():
        for m, st in ms.items():
            by_metric.setdefault(m, []).append((d, st))
    for m, series in by_metric.items():
        if m == ax.name:
            continue
        q = designs[series[0][0]][m]
        means = {d: ax.reduce(st.mean * designs[d][m].scale) for d, st in series}
        if all(_constant(v) for v in means.values()):
            notes.append(_const_note(title_text(q.label), m, {run.info.design_title(d): v[0] for d, v in means.items()},
                                     q.fmt, f"'{res.sweep.name}'"))
            continue
        lines = [(run.info.design_title(d), means[d], ax.reduce(st.std * designs[d][m].scale)) for d, st in series]
        random = any(designs[d][m].random for d, _ in series)
        name = f"sweep_{tag}_{m}.{fmt}"
        p = plots.sweep_lines(ax.x, lines, out / name, xlabel=ax.label, ylabel=q.label, logx=ax.log,
                              xticklabels=ax.ticklabels,
                              title=f"{title_text(q.label)} over {ax.title}{_per_trials(res, random)}")
        entries.append((name, f"{title_text(q.label)} ({m}) of each design over {ax.title}"
                              + (": mean ± std over trials." if random and res.trials > 1 else "."), p))
    for c, st in res.compares.items():
        q = compares[c]
        mean = ax.reduce(st.mean * q.scale)
        if _constant(mean):
            notes.append(_const_note(q.title, c, {"": mean[0]}, q.fmt, f"'{res.sweep.name}'"))
            continue
        name = f"sweep_{tag}_{c}.{fmt}"
        p = plots.sweep_lines(ax.x, [(q.title, mean, ax.reduce(st.std * q.scale))], out / name, xlabel=ax.label,
                              ylabel=q.label, logx=ax.log, reference=q.reference, xticklabels=ax.ticklabels,
                              title=f"{q.title} over {ax.title}{_per_trials(res, q.random)}")
        entries.append((name, f"{q.title} ({c}) over {ax.title}"
                              + (": mean ± std over trials." if q.random and res.trials > 1 else ".")
                              + (f" The dashed line is {q.reference[1]}." if q.reference else ""), p))
    return entries


def grid_plots(out: Path, fmt: str, run, res: Results, notes: list[str]) -> list[tuple[str, str, object]]:
    """Heatmaps of every quantity and contours of the comparisons over a two-factor sweep."""
    info = run.info
    designs, compares = quantities(info, run.compiled.program)
    ax_x, ax_y = res.sweep.groups[0][0], res.sweep.groups[1][0]
    nx, ny = len(ax_x.values), len(ax_y.values)
    tag, where = _tag(res.sweep.name), f"'{res.sweep.name}'"

    def grid(values: np.ndarray) -> np.ndarray:
        return np.asarray(values, dtype=float).reshape(nx, ny).T  # rows: y, columns: x

    xv, yv = _numeric_axis(ax_x.values), _numeric_axis(ax_y.values)
    numeric = xv is not None and yv is not None
    contour_ok = numeric and nx >= 2 and ny >= 2 and all(info.params[a.param].type == "real" for a in (ax_x, ax_y))
    op = (float(run.params[ax_x.param]), float(run.params[ax_y.param])) if numeric else None
    xl, yl = param_label(info, ax_x.param), param_label(info, ax_y.param)
    over = f"{ax_x.param} × {ax_y.param}"
    entries = []
    for c, st in res.compares.items():
        q = compares[c]
        z = grid(st.mean * q.scale)
        if _constant(z):
            notes.append(_const_note(q.title, c, {"": z.flat[0]}, q.fmt, where))
            continue
        if contour_ok:
            name = f"contour_{tag}_{c}.{fmt}"
            p = plots.contour(xv, yv, z, out / name, xlabel=xl, ylabel=yl, zlabel=q.label, operating_point=op,
                              log_x=geometric(xv), log_y=geometric(yv),
                              title=f"{q.title} over {over}{_per_trials(res, q.random)}")
            entries.append((name, f"Contour of {q.title} ({c}); the black line is the break-even (0) level when "
                                  "the grid changes sign; the star is the operating point (the spec's values; the "
                                  "legend says when it lies outside the grid).", p))
        name = f"heatmap_{tag}_{c}.{fmt}"
        p = plots.heatmap(ax_x.values, ax_y.values, z, out / name, xlabel=xl, ylabel=yl, zlabel=q.label,
                          fmt=q.fmt, title=f"{q.title} over {over}")
        entries.append((name, f"Heatmap of {q.title} ({c}) over the grid.", p))
    for d, ms in res.designs.items():
        for m, st in ms.items():
            q = designs[d][m]
            z = grid(st.mean * q.scale)
            if _constant(z):
                notes.append(_const_note(q.title, f"{d}.{m}", {"": z.flat[0]}, q.fmt, where))
                continue
            name = f"heatmap_{tag}_{d}_{m}.{fmt}"
            p = plots.heatmap(ax_x.values, ax_y.values, z, out / name, xlabel=xl, ylabel=yl, zlabel=q.label,
                              fmt=q.fmt, title=f"{q.title}{' (mean)' if q.random else ''} over {over}")
            entries.append((name, f"Heatmap of {'the mean of ' if q.random else ''}{q.title} ({d}.{m}).", p))
    return entries


def sweep_plots(out: Path, fmt: str, run, res: Results) -> tuple[list[tuple[str, str, object]], list[str]]:
    """Line plots for one-axis sweeps, contours and heatmaps for two; notes for the rest
    (quantities that do not vary, sweeps of more factors)."""
    groups = res.sweep.groups
    notes: list[str] = []
    if len(groups) == 1:
        return line_plots(out, fmt, run, res, notes), notes
    if len(groups) == 2:
        return grid_plots(out, fmt, run, res, notes), notes
    notes.append(f"sweep '{res.sweep.name}' has {len(groups)} product axes; plots cover one or two "
                 "(see results.csv for every point)")
    return [], notes


# ---------------------------------------------------------------- cases


def cases_plots(out: Path, fmt: str, run, res: Results, notes: list[str] | None = None) -> list[tuple[str, str, object]]:
    """A bar chart per comparison and per metric, a bar per case (the means over trials);
    a quantity equal in every case gets a note instead."""
    sw = res.sweep
    notes = [] if notes is None else notes
    designs, compares = quantities(run.info, run.compiled.program)
    labels = list(sw.labels)
    tag = _tag(sw.name)
    entries = []
    for c, st in res.compares.items():
        q = compares[c]
        if _constant(st.mean):
            notes.append(_const_note(q.title, c, {"": st.mean[0] * q.scale}, q.fmt, f"'{sw.name}'"))
            continue
        name = f"{tag}_{c}.{fmt}"
        p = plots.bars(labels, st.mean * q.scale, out / name, ylabel=q.label, title=f"{q.title}: {sw.title}",
                       xlabel="case", fmt=q.fmt, reference=q.reference)
        entries.append((name, f"{q.title} ({c}) for each case of '{sw.name}'"
                              + (f"; the dashed line is {q.reference[1]}." if q.reference else "."), p))
    for d, ms in res.designs.items():
        for m, st in ms.items():
            q = designs[d][m]
            if _constant(st.mean):
                notes.append(_const_note(q.title, f"{d}.{m}", {"": st.mean[0] * q.scale}, q.fmt, f"'{sw.name}'"))
                continue
            name = f"{tag}_{d}_{m}.{fmt}"
            p = plots.bars(labels, st.mean * q.scale, out / name, ylabel=q.label, title=f"{q.title}: {sw.title}",
                           xlabel="case", fmt=q.fmt)
            entries.append((name, f"{q.title} ({d}.{m}) for each case of '{sw.name}'" + (" (mean over trials)."
                                                                                        if q.random else "."), p))
    return entries


def swept_plots(out: Path, fmt: str, run, res: Results) -> tuple[list[tuple[str, str, object]], list[str]]:
    """The plots of a run over many points: bar charts for cases, else the sweep's."""
    if res.sweep.labels is not None:
        notes: list[str] = []
        return cases_plots(out, fmt, run, res, notes), notes
    return sweep_plots(out, fmt, run, res)


# ---------------------------------------------------------------- roofline


def roof_values(compiled, overrides: dict) -> tuple[list[float], list[float]]:
    """The roofline's compute and memory roofs at the given params."""
    prog = compiled.program
    f = forms(prog)
    subs = _numeric_subs(prog, f, _values(compiled, overrides))
    out = []
    for exprs in (prog.roofline.compute, prog.roofline.memory):
        out.append([float(expand_all(to_sympy(e, prog, f.syms), prog, f).xreplace(subs).evalf()) for e in exprs])
    return out[0], out[1]


def roofline_plot(compiled, groups: list, out: Path, overrides: dict, fmt: str = "png") -> tuple[str, str, object]:
    """Draw the spec's roofline with the given point groups (label, intensity, throughput, kind)."""
    roof = compiled.program.roofline
    compute, memory = roof_values(compiled, overrides)
    design = compiled.program.designs[0]
    meta = {m.name: m.attrs for m in design.metrics}
    xa, ya = meta[roof.intensity.name], meta[roof.throughput.name]
    name = f"roofline.{fmt}"
    p = plots.roofline(groups, out / name, peak=compute[0], bandwidth=memory[0],
                   achievable_peak=compute[1] if len(compute) > 1 else None,
                   achievable_bandwidth=memory[1] if len(memory) > 1 else None,
                   xlabel=attrs_label(xa, roof.intensity.name), ylabel=attrs_label(ya, roof.throughput.name),
                   x_unit=xa.unit, y_unit=ya.unit, title=f"Roofline: {roof.title or spec_title(compiled)}")
    return name, f"roofline: {roof.throughput.name} against {roof.intensity.name}, with the points placed", p


def roofline_plots(out: Path, fmt: str, run, point: Results | None, swept: Results | None) -> list:
    """The spec's roofline (when it declares one) with each design at every evaluated point:
    the sweep's points, or the single point."""
    roof = run.compiled.program.roofline
    res = swept if swept is not None else point
    if roof is None or res is None:
        return []
    groups = []
    for d in run.compiled.program.designs:
        ms = res.designs[d.name]
        groups.append((d.title or d.name, ms[roof.intensity.name].mean, ms[roof.throughput.name].mean, "model"))
    return [roofline_plot(run.compiled, groups, out, run.overrides, fmt)]


# ---------------------------------------------------------------- measured tables


def measured_plots(compiled: Compiled, comparisons: list[Comparison], out: Path, fmt: str = "png",
                   overrides: dict | None = None) -> list[tuple[str, str]]:
    """Model against measured values of every compared metric, tables overlaid, rows with
    equal axis values averaged; and the roofline with the rows placed, when declared."""
    written: list[tuple[str, str]] = []
    first = comparisons[0]
    b = first.rows.block
    design = compiled.program.design(first.rows.design)
    meta = {m.name: m for m in design.metrics}
    if b.axis is not None:
        axis_name = b.axis.name
        names = [m for m in first.rows.compared if m != axis_name and all(m in c.rows.compared for c in comparisons)]
        panels = []
        for m in names:
            series = []
            for c in comparisons:
                x, meas = mean_by(c.axis, c.measured[m])
                _, mod = mean_by(c.axis, c.model[m])
                series.append((Path(c.rows.table.path).stem, x, meas, mod))
            panels.append((meta[m].attrs.shown_label(m), attrs_label(meta[m].attrs, m), series))
        if panels:
            axis_label = attrs_label(meta[axis_name].attrs, axis_name) if axis_name in meta else axis_name
            name = f"measured_{b.name}.{fmt}"
            plots.measured_overlay(panels, out / name, xlabel=axis_label,
                                   title=f"{compiled.program.title or compiled.name}: model of "
                                         f"{design.title or design.name} vs measured, mean per {axis_name}")
            written.append((name, f"model vs measured ({', '.join(Path(c.rows.table.path).name for c in comparisons)}) "
                                  f"against {axis_name}"))
    roof = compiled.program.roofline
    if roof is not None and roof.intensity.name in meta and roof.throughput.name in meta:
        groups = []
        for c in comparisons:
            stem = Path(c.rows.table.path).stem
            ai = c.model[roof.intensity.name]
            y_meas = c.recomputed[roof.throughput.name] if roof.throughput.name in c.recomputed else None
            if y_meas is not None:
                groups.append((stem, ai, y_meas, "measured"))
            groups.append((stem, ai, c.model[roof.throughput.name], "model"))
        name, caption, _ = roofline_plot(compiled, groups, out, overrides or {}, fmt)
        written.append((name, caption))
    return written


# ---------------------------------------------------------------- writing


def render(folder: Path, fmt: str, run, point: Results | None, swept: Results | None):
    """Render every plot of a run into `folder`; returns (entries, notes)."""
    entries, notes = [], []
    if point is not None:
        entries += point_plots(folder, fmt, run, point, notes)
    if swept is not None:
        more, swept_notes = swept_plots(folder, fmt, run, swept)
        entries += more
        notes += swept_notes
    entries += roofline_plots(folder, fmt, run, point, swept)
    return entries, notes


def write_plots(out: Path, fmt: str, run, point: Results | None, swept: Results | None) -> list[tuple[str, str]]:
    """Render the plots in a temporary folder, move them into `out` when all are done,
    and write out/index.md listing them and the notes on what was not plotted."""
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".plots.", dir=out))
    try:
        entries, notes = render(tmp, fmt, run, point, swept)
        for name, _, _ in entries:
            os.replace(tmp / name, out / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    listing = [(name, caption) for name, caption, _ in entries]
    plots.write_index(out, listing, notes)
    return listing
