"""Which plots a run gets, built from its results with spattenc.plots: a Gantt chart of
one trial, histograms of the Monte-Carlo samples, for sweeps line plots (one axis),
heatmaps and contours with the break-even line (two axes), and for cases a bar chart per
comparison and metric.  Knows nothing of any spec:
labels, units and scales come from the spec's attributes."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import plots
from .sweep import Results, meta


@dataclass(frozen=True)
class Quantity:
    """A plotted quantity: a design's metric or a comparison, with display attributes."""

    key: str  # "design.metric" or "compare"
    label: str  # axis label with unit
    title: str
    scale: float
    random: bool


def axis_label(label: str, unit: str | None, scale: float = 1.0) -> str:
    """A label for an axis: the spec's label without table decorations, plus its unit
    unless the label already names one ("(MB)")."""
    text = re.sub(r"^[^0-9A-Za-z]+", "", label).strip()
    if not unit:
        return text
    shown = "%" if scale == 100 and unit == "fraction" else unit
    return text if f"({shown})" in text else f"{text} ({shown})"


def quantities(sim) -> tuple[dict[str, dict[str, Quantity]], dict[str, Quantity]]:
    m = meta(sim)
    designs = {}
    for d, (title, ms) in m["designs"].items():
        designs[d] = {name: Quantity(f"{d}.{name}", axis_label(info[0], info[1], info[3]), f"{title}: {name}",
                                     float(info[3]), bool(info[4])) for name, info in ms.items()}
    compares = {c: Quantity(c, axis_label(info[0], info[1], info[3]), c, float(info[3]), bool(info[4]))
                for c, info in m["compares"].items()}
    return designs, compares


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
    return (attrs.label or name) + (f" ({attrs.unit})" if attrs.unit else "")


def param_label(sim, name: str) -> str:
    unit = sim.PARAMS[name][4]
    return f"{name} ({unit})" if unit else name


# ---------------------------------------------------------------- single point


def gantt_bars(sim, events, shows=()) -> list[plots.GanttBar]:
    """Gantt bars of a recorded trial: its scheduled stages (events: design, layer, stage,
    start, end), drawn as the spec's `gantt` attribute says, then its show intervals
    (design, layer, name, start, end, kind).  Kind 'none' is recorded but not drawn."""
    bars = []
    kinds = getattr(sim, "GANTT", {})
    rows = [(d, l, n, s, e, kinds.get(d, {}).get(n, "stage")) for d, l, n, s, e in events] + list(shows)
    for design, layer, name, start, end, kind in rows:
        if kind == "none":
            continue
        bars.append(plots.GanttBar(design, int(layer), name, float(start), float(end), kind))
    return bars


def point_plots(out: Path, fmt: str, run, res: Results) -> list[tuple[str, str, object]]:
    """Gantt chart of the chosen trial and histograms of the per-trial samples."""
    sim = run.sim
    entries = []
    designs, compares = quantities(sim)
    where = _where(run)
    if res.events:
        name = f"gantt.{fmt}"
        g = plots.gantt(gantt_bars(sim, res.events, res.shows), out / name,
                        title=f"{run.compiled.name}: trial {run.trial} of {res.trials}{where}", time_unit="cycles")
        entries.append((name, f"Gantt chart of trial {run.trial}: a row per design and layer, a color per "
                              "stage; thin hatched bars run alongside, wasted and corrective segments marked.", g))
    kept = len(next(iter(res.compare_samples.values()))) if res.compare_samples else None
    for c, x in res.compare_samples.items():
        if not _varies(x):  # the same value in every trial (e.g. no draw reaches it): nothing to show
            continue
        q = compares[c]
        name = f"hist_{c}.{fmt}"
        xlabel = axis_label(f"{c} of one trial", run.sim.COMPARES[c][1], q.scale)
        h = plots.histograms([(f"{c} per trial", x * q.scale, xlabel)], out / name,
                             title=f"{c}: each trial's comparison ({_n(kept, res.trials)}){where}")
        entries.append((name, f"Histogram of {c} computed from each trial alone.", h))
    for d, ms in res.samples.items():
        for m, x in ms.items():
            q = designs[d][m]
            name = f"hist_{d}_{m}.{fmt}"
            h = plots.histograms([(f"{d}.{m}", x * q.scale, q.label)], out / name,
                                 title=f"{q.title} ({_n(len(x), res.trials)}){where}")
            entries.append((name, f"Histogram of the Monte-Carlo samples of {d}.{m}.", h))
    return entries


def _varies(x: np.ndarray) -> bool:
    """Whether samples take more than one value (a histogram of a constant shows nothing)."""
    x = np.asarray(x, dtype=float)
    x = x[~np.isnan(x)]
    return x.size > 1 and bool(x.max() > x.min())


def _n(kept: int | None, trials: int) -> str:
    return f"{trials} trials" if kept is None or kept >= trials else f"first {kept} of {trials} trials"


def _where(run) -> str:
    return "" if not run.overrides else " at " + ", ".join(f"{k}={v}" for k, v in run.overrides.items())


# ---------------------------------------------------------------- sweeps


def sweep_plots(out: Path, fmt: str, run, res: Results) -> tuple[list[tuple[str, str, object]], list[str]]:
    """Line plots for one-axis sweeps, contours and heatmaps for two; notes for the rest."""
    sim = run.sim
    sw = res.sweep
    designs, compares = quantities(sim)
    entries, notes = [], []
    groups = sw.groups
    tag = _tag(sw.name)
    if len(groups) == 1:
        xaxis = groups[0][0]
        x = np.asarray(xaxis.values, dtype=float) if not isinstance(xaxis.values[0], bool) else \
            np.arange(len(xaxis.values), dtype=float)
        order = np.argsort(x, kind="stable")  # lines run left to right whatever the sweep's order
        x = x[order]
        logx = geometric(x)
        zipped = "" if len(groups[0]) == 1 else " (zipped with " + ", ".join(a.param for a in groups[0][1:]) + ")"
        by_metric: dict[str, list] = {}
        for d, ms in res.designs.items():
            for m, st in ms.items():
                by_metric.setdefault(m, []).append((d, st))
        for m, series in by_metric.items():
            q = designs[series[0][0]][m]
            name = f"sweep_{tag}_{m}.{fmt}"
            p = plots.sweep_lines(x, [(run.sim.DESIGNS[d][0], st.mean[order] * q.scale, st.std[order] * q.scale)
                                      for d, st in series],
                                  out / name, xlabel=param_label(sim, xaxis.param) + zipped, ylabel=q.label, logx=logx,
                                  title=f"{m} over {xaxis.param} ({res.trials} trials per point)")
            entries.append((name, f"{m} of each design over {xaxis.param}: mean ± std over trials.", p))
        for c, st in res.compares.items():
            q = compares[c]
            name = f"sweep_{tag}_{c}.{fmt}"
            p = plots.sweep_lines(x, [(c, st.mean[order] * q.scale, st.std[order] * q.scale)], out / name,
                                  xlabel=param_label(sim, xaxis.param) + zipped, ylabel=q.label, logx=logx,
                                  title=f"{c} over {xaxis.param} ({res.trials} trials per point)")
            entries.append((name, f"{c} over {xaxis.param}" + (": mean ± std over trials." if q.random else "."), p))
    elif len(groups) == 2:
        ax_x, ax_y = groups[0][0], groups[1][0]
        nx, ny = len(ax_x.values), len(ax_y.values)

        def grid(values: np.ndarray) -> np.ndarray:
            return np.asarray(values, dtype=float).reshape(nx, ny).T  # rows: y, columns: x

        numeric = all(not isinstance(a.values[0], bool) for a in (ax_x, ax_y))
        contour_ok = numeric and nx >= 2 and ny >= 2 and all(sim.PARAMS[a.param][0] == "real" for a in (ax_x, ax_y))
        base = {n: run.overrides.get(n, spec[1]) for n, spec in sim.PARAMS.items()}
        op = (float(base[ax_x.param]), float(base[ax_y.param])) if numeric else None
        xl, yl = param_label(sim, ax_x.param), param_label(sim, ax_y.param)
        for c, st in res.compares.items():
            q = compares[c]
            z = grid(st.mean * q.scale)
            if contour_ok:
                name = f"contour_{tag}_{c}.{fmt}"
                p = plots.contour(np.asarray(ax_x.values, float), np.asarray(ax_y.values, float), z, out / name,
                                  xlabel=xl, ylabel=yl, zlabel=q.label, operating_point=op,
                                  title=f"{c} over {ax_x.param} x {ax_y.param} ({res.trials} trials per point)")
                entries.append((name, f"Contour of {c}; the black line is the break-even (0) level when the grid "
                                      "changes sign; the star is the operating point (the spec's values).", p))
            name = f"heatmap_{tag}_{c}.{fmt}"
            p = plots.heatmap(ax_x.values, ax_y.values, z, out / name, xlabel=xl, ylabel=yl, zlabel=q.label,
                              title=f"{c} over {ax_x.param} x {ax_y.param}")
            entries.append((name, f"Heatmap of {c} over the grid.", p))
        for d, ms in res.designs.items():
            for m, st in ms.items():
                q = designs[d][m]
                name = f"heatmap_{tag}_{d}_{m}.{fmt}"
                p = plots.heatmap(ax_x.values, ax_y.values, grid(st.mean * q.scale), out / name, xlabel=xl,
                                  ylabel=yl, zlabel=q.label, title=f"{q.title} (mean) over {ax_x.param} x {ax_y.param}")
                entries.append((name, f"Heatmap of the mean of {d}.{m}.", p))
    else:
        notes.append(f"sweep '{sw.name}' has {len(groups)} product axes; plots cover one or two "
                     "(see results.csv for every point)")
    return entries, notes


# ---------------------------------------------------------------- cases


def cases_plots(out: Path, fmt: str, run, res: Results) -> list[tuple[str, str, object]]:
    """A bar chart per comparison and per metric, a bar per case (the means over trials)."""
    sw = res.sweep
    designs, compares = quantities(run.sim)
    labels = list(sw.labels)
    tag = _tag(sw.name)
    entries = []
    for c, st in res.compares.items():
        q = compares[c]
        name = f"{tag}_{c}.{fmt}"
        p = plots.bars(labels, st.mean * q.scale, out / name, ylabel=q.label, title=f"{sw.title}: {c}", xlabel="case")
        entries.append((name, f"{c} for each case of '{sw.name}'.", p))
    for d, ms in res.designs.items():
        for m, st in ms.items():
            q = designs[d][m]
            name = f"{tag}_{d}_{m}.{fmt}"
            p = plots.bars(labels, st.mean * q.scale, out / name, ylabel=q.label, title=f"{q.title} ({sw.title})",
                           xlabel="case")
            entries.append((name, f"{d}.{m} for each case of '{sw.name}'" + (" (mean over trials)." if q.random
                                                                                 else "."), p))
    return entries


def swept_plots(out: Path, fmt: str, run, res: Results) -> tuple[list[tuple[str, str, object]], list[str]]:
    """The plots of a run over many points: bar charts for cases, else the sweep's."""
    if res.sweep.labels is not None:
        return cases_plots(out, fmt, run, res), []
    return sweep_plots(out, fmt, run, res)


# ---------------------------------------------------------------- roofline


def roof_values(compiled, overrides: dict) -> tuple[list[float], list[float]]:
    """The roofline's compute and memory roofs at the given params."""
    from .symbolic import _numeric_subs, _values, expand_all, forms, to_sympy

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
                   title=f"{compiled.name}: {roof.title or 'roofline'}")
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


# ---------------------------------------------------------------- writing


def render(folder: Path, fmt: str, run, point: Results | None, swept: Results | None):
    """Render every plot of a run into `folder`; returns (entries, notes)."""
    entries, notes = [], []
    if point is not None:
        entries += point_plots(folder, fmt, run, point)
    if swept is not None:
        more, notes = swept_plots(folder, fmt, run, swept)
        entries += more
    entries += roofline_plots(folder, fmt, run, point, swept)
    return entries, notes


def write_plots(out: Path, fmt: str, run, point: Results | None, swept: Results | None) -> list[tuple[str, str]]:
    """Render the plots in a temporary folder, move them into `out` when all are done,
    and write out/index.md listing them."""
    import sys

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
    plots.write_index(out, listing)
    return listing
