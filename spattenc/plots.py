"""Matplotlib plots of performance-model results: Gantt charts, histograms,
contour maps, parameter sweeps, heatmaps, bar charts and a Markdown index.

Every plotting function builds its own ``matplotlib.figure.Figure`` (Agg
canvas, no pyplot global state), saves it to ``path`` with the format taken
from the suffix (``.png`` default, ``.svg``, ``.pdf``) and returns a frozen
dataclass holding the plotted data and the Figure, so callers and tests can
check what was drawn rather than only that a file exists.

Inputs are plain numpy arrays and Python values; nothing here depends on the
rest of ``spattenc``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import Normalize, TwoSlopeNorm, to_rgba
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.text import Text
from matplotlib.ticker import FixedFormatter, MaxNLocator

from .backends import naming

__all__ = [
    "GANTT_KINDS",
    "GanttBar",
    "GanttPlot",
    "HistogramEntry",
    "HistogramPlot",
    "ContourPlot",
    "SweepSeries",
    "SweepPlot",
    "HeatmapPlot",
    "BarPlot",
    "OverlaySeries",
    "OverlayPanel",
    "OverlayPlot",
    "RooflineGroup",
    "RooflinePlot",
    "gantt",
    "histograms",
    "contour",
    "sweep_lines",
    "heatmap",
    "bars",
    "measured_overlay",
    "roofline",
    "write_index",
]

# Default geometry: readable on a laptop screen and in a report without zoom.
FIGSIZE = (10.0, 6.0)
DPI = 120

# Suffix -> matplotlib format name; a missing suffix means PNG.
_FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}

GANTT_KINDS = ("stage", "overlay", "wasted", "corrective")

# Above this many bins a histogram is unreadable; "auto" binning can produce
# thousands of bins for heavy-tailed data, so the bin count is capped.
_MAX_HIST_BINS = 200

# Heatmap cells are annotated with their value only while they stay legible.
_MAX_ANNOTATED_CELLS = 12


# --------------------------------------------------------------------------
# shared helpers
# --------------------------------------------------------------------------


def _figure(nrows: int = 1, ncols: int = 1, figsize: tuple[float, float] = FIGSIZE):
    """Create a Figure with an Agg canvas and a 2-D array of axes, avoiding pyplot state."""
    fig = Figure(figsize=figsize, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, axes


def _literal_text(fig: Figure) -> None:
    """Show every title, label, legend entry and fixed tick label literally: a `$` of a
    spec's text never starts mathtext (naming.plot_text).  Tick labels a formatter
    computes (log-scale powers of ten) keep their own mathtext."""
    computed = set()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            formatter = axis.get_major_formatter()
            if isinstance(formatter, FixedFormatter):
                formatter.seq = [naming.plot_text(t) for t in formatter.seq]
            computed.update(axis.get_ticklabels(which="both"))
    for text in fig.findobj(Text):
        if text not in computed:
            text.set_text(naming.plot_text(text.get_text()))


def _save(fig: Figure, path: str | Path) -> Path:
    """Save ``fig`` to ``path`` in the format named by its suffix and return the path."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == "":
        fmt = "png"
    elif suffix in _FORMATS:
        fmt = _FORMATS[suffix]
    else:
        raise ValueError(
            f"unsupported plot format {p.suffix!r} for {p}; use one of {sorted(_FORMATS)}"
        )
    p.parent.mkdir(parents=True, exist_ok=True)
    # Dropping the creation date and fixing the SVG id salt makes repeated
    # runs produce byte-identical files, which keeps generated outputs diffable.
    metadata = {"png": None, "svg": {"Date": None}, "pdf": {"CreationDate": None}}[fmt]
    _literal_text(fig)
    with matplotlib.rc_context({"svg.hashsalt": "spattenc"}):
        fig.savefig(p, format=fmt, dpi=DPI, metadata=metadata)
    return p


def _fmt(value: object) -> str:
    """Format a tick or annotation value compactly (numbers with 3 significant digits)."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.3g}"
    return str(value)


def _as_1d(name: str, values: object) -> np.ndarray:
    """Convert ``values`` to a 1-D float array, rejecting other shapes early."""
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    return arr


def _qualitative_colors(names: Sequence[str]) -> dict[str, tuple[float, float, float, float]]:
    """Assign colors to sorted ``names`` from a qualitative colormap so a stage keeps its color across plots."""
    ordered = sorted(set(names))
    # tab10 is the most distinguishable palette; tab20 only when needed.
    cmap = matplotlib.colormaps["tab10" if len(ordered) <= 10 else "tab20"]
    return {name: cmap(i % cmap.N) for i, name in enumerate(ordered)}


# --------------------------------------------------------------------------
# Gantt chart
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class GanttBar:
    """One interval on a Gantt chart: ``stage`` of ``layer`` in ``design`` runs over [start, end)."""

    design: str
    layer: int
    stage: str
    start: float
    end: float
    kind: str = "stage"

    def __post_init__(self) -> None:
        if self.kind not in GANTT_KINDS:
            raise ValueError(f"GanttBar kind must be one of {GANTT_KINDS}, got {self.kind!r}")
        if not (math.isfinite(self.start) and math.isfinite(self.end)):
            raise ValueError(f"GanttBar times must be finite, got [{self.start}, {self.end}]")
        if self.end < self.start:
            raise ValueError(f"GanttBar end {self.end} precedes start {self.start}")


@dataclass(frozen=True, eq=False)
class GanttPlot:
    """Result of :func:`gantt`: bars in drawing order (``patches[i]`` draws ``bars[i]``)."""

    figure: Figure
    path: Path
    bars: tuple[GanttBar, ...]
    row_labels: tuple[str, ...]
    bar_rows: tuple[int, ...]
    stage_colors: Mapping[str, tuple[float, float, float, float]]
    patches: tuple[object, ...]


# Per-kind drawing style: bar height (fraction of a row), face alpha,
# hatch pattern, edge color, edge width and z-order. Overlays are thin bars
# drawn above the stage they overlap so both stay visible in the same row.
_GANTT_STYLE = {
    "stage": dict(height=0.8, alpha=1.0, hatch=None, edge="black", lw=0.5, z=2.0),
    "overlay": dict(height=0.36, alpha=0.9, hatch="////", edge="dimgray", lw=0.8, z=3.0),
    "wasted": dict(height=0.8, alpha=0.35, hatch="xxx", edge="firebrick", lw=1.4, z=2.5),
    "corrective": dict(height=0.8, alpha=0.75, hatch="...", edge="navy", lw=1.4, z=2.6),
}

_GANTT_KIND_LABELS = {
    "overlay": "overlay (overlapped work)",
    "wasted": "wasted work",
    "corrective": "corrective work",
}


def gantt(
    rows: Sequence[GanttBar],
    path: str | Path,
    *,
    title: str,
    time_unit: str = "cycles",
) -> GanttPlot:
    """Draw per-(design, layer) pipeline timelines on a shared time axis to compare schedules."""
    bars = tuple(rows)
    if not bars:
        raise ValueError("gantt: no bars to draw")
    for bar in bars:
        if not isinstance(bar, GanttBar):
            raise TypeError(f"gantt rows must be GanttBar, got {type(bar).__name__}")

    # Designs keep their first-appearance order (callers list the baseline
    # first); layers are ascending within a design.
    design_order: list[str] = []
    for bar in bars:
        if bar.design not in design_order:
            design_order.append(bar.design)
    keys = sorted(
        {(bar.design, bar.layer) for bar in bars},
        key=lambda k: (design_order.index(k[0]), k[1]),
    )
    row_index = {key: i for i, key in enumerate(keys)}
    row_labels = tuple(f"{design} L{layer}" for design, layer in keys)

    colors = _qualitative_colors([bar.stage for bar in bars])
    height = max(FIGSIZE[1], 1.5 + 0.4 * len(keys))
    fig, axes = _figure(figsize=(FIGSIZE[0], height))
    ax = axes[0, 0]

    patches = []
    bar_rows = []
    for bar in bars:
        style = _GANTT_STYLE[bar.kind]
        y = row_index[(bar.design, bar.layer)]
        container = ax.barh(
            y,
            bar.end - bar.start,
            left=bar.start,
            height=style["height"],
            # Alpha goes on the face color only so hatches and edges stay crisp.
            color=to_rgba(colors[bar.stage], style["alpha"]),
            edgecolor=style["edge"],
            linewidth=style["lw"],
            hatch=style["hatch"],
            zorder=style["z"],
        )
        patches.append(container.patches[0])
        bar_rows.append(y)

    # Dotted separators between designs make the grouping visible.
    for i in range(1, len(keys)):
        if keys[i][0] != keys[i - 1][0]:
            ax.axhline(i - 0.5, color="gray", linestyle=":", linewidth=1.0, zorder=1)

    ax.set_yticks(range(len(keys)), row_labels)
    ax.set_ylim(len(keys) - 0.5, -0.5)  # first design at the top
    ax.set_xlabel(f"time ({time_unit})")
    ax.set_ylabel("design / layer")
    ax.set_title(title)
    ax.grid(axis="x", linestyle=":", alpha=0.6, zorder=0)

    handles = [Patch(facecolor=colors[s], edgecolor="black", label=s) for s in sorted(colors)]
    for kind in GANTT_KINDS[1:]:
        if any(bar.kind == kind for bar in bars):
            style = _GANTT_STYLE[kind]
            handles.append(
                Patch(
                    facecolor=to_rgba("lightgray", style["alpha"]),
                    edgecolor=style["edge"],
                    hatch=style["hatch"],
                    linewidth=style["lw"],
                    label=_GANTT_KIND_LABELS[kind],
                )
            )
    ax.legend(handles=handles, title="stage / kind", loc="upper left", bbox_to_anchor=(1.01, 1.0))

    saved = _save(fig, path)
    return GanttPlot(
        figure=fig,
        path=saved,
        bars=bars,
        row_labels=row_labels,
        bar_rows=tuple(bar_rows),
        stage_colors=colors,
        patches=tuple(patches),
    )


# --------------------------------------------------------------------------
# histograms
# --------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class HistogramEntry:
    """Histogram of one sample set: ``counts[i]`` values fall in ``[edges[i], edges[i+1])``."""

    name: str
    counts: np.ndarray
    edges: np.ndarray
    mean: float
    xlabel: str
    dropped: int  # non-finite values excluded from the histogram


@dataclass(frozen=True, eq=False)
class HistogramPlot:
    """Result of :func:`histograms`: one entry per subplot, in input order."""

    figure: Figure
    path: Path
    entries: tuple[HistogramEntry, ...]


def _histogram(values: np.ndarray, bins: int | str | Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Histogram ``values`` robustly: constant data gets one bin, huge bin counts are capped."""
    lo, hi = float(values.min()), float(values.max())
    if lo == hi:
        # numpy would invent a unit-wide range; a bin scaled to the value
        # keeps tiny quantities (e.g. seconds) readable.
        half = abs(lo) * 0.01 if lo != 0.0 else 0.5
        edges = np.array([lo - half, lo + half])
        return np.array([values.size]), edges
    edges = np.histogram_bin_edges(values, bins=bins)
    if edges.size - 1 > _MAX_HIST_BINS:
        edges = np.histogram_bin_edges(values, bins=_MAX_HIST_BINS)
    counts, edges = np.histogram(values, bins=edges)
    return counts, edges


def histograms(
    samples: Sequence[tuple[str, np.ndarray, str]],
    path: str | Path,
    *,
    title: str,
    bins: int | str | Sequence[float] = "auto",
) -> HistogramPlot:
    """Plot one histogram per sample set with its mean, to show spread of Monte-Carlo results."""
    samples = list(samples)
    if not samples:
        raise ValueError("histograms: no sample sets given")
    n = len(samples)
    ncols = 1 if n == 1 else 2
    nrows = math.ceil(n / ncols)
    fig, axes = _figure(nrows, ncols, figsize=(FIGSIZE[0], max(FIGSIZE[1], 3.2 * nrows)))
    fig.suptitle(title)

    entries = []
    for k, (name, raw, xlabel) in enumerate(samples):
        ax = axes[k // ncols, k % ncols]
        values = np.asarray(raw, dtype=float).ravel()
        finite = values[np.isfinite(values)]
        dropped = int(values.size - finite.size)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("count (samples)")
        suffix = f" ({dropped} non-finite dropped)" if dropped else ""
        ax.set_title(f"{name}: n = {finite.size}{suffix}")
        if finite.size == 0:
            ax.text(0.5, 0.5, "no finite samples", ha="center", va="center", transform=ax.transAxes)
            entries.append(
                HistogramEntry(name, np.zeros(0, dtype=int), np.zeros(0), math.nan, xlabel, dropped)
            )
            continue
        counts, edges = _histogram(finite, bins)
        mean = float(finite.mean())
        ax.stairs(counts, edges, fill=True, alpha=0.75, color="tab:blue", label="samples")
        ax.axvline(mean, color="tab:red", linestyle="--", linewidth=2.0, label=f"mean = {mean:.4g}")
        if counts.size == 1:
            # A lone bin would fill the axis and look like a plotting error;
            # side margins show it as one narrow bar around the value.
            width = edges[1] - edges[0]
            ax.set_xlim(edges[0] - 2 * width, edges[1] + 2 * width)
        ax.legend(loc="best")
        ax.grid(axis="y", linestyle=":", alpha=0.6)
        entries.append(HistogramEntry(name, counts, edges, mean, xlabel, dropped))

    # Hide unused cells of the subplot grid (odd number of entries).
    for k in range(n, nrows * ncols):
        axes[k // ncols, k % ncols].set_visible(False)

    saved = _save(fig, path)
    return HistogramPlot(figure=fig, path=saved, entries=tuple(entries))


# --------------------------------------------------------------------------
# contour map
# --------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ContourPlot:
    """Result of :func:`contour`: filled levels, and whether the z = 0 break-even line was drawn."""

    figure: Figure
    path: Path
    levels: np.ndarray
    sign_change: bool
    zero_line: bool
    note: str | None
    operating_point: tuple[float, float] | None


def _sign_note(zmin: float, zmax: float) -> str:
    """Describe why a grid has no break-even line."""
    if zmin > 0:
        kind = "all positive"
    elif zmax < 0:
        kind = "all negative"
    elif zmin == 0 and zmax == 0:
        kind = "all zero"
    elif zmin == 0:
        kind = "all non-negative, touches 0"
    else:
        kind = "all non-positive, touches 0"
    return f"no break-even in grid ({kind})"


def contour(
    x: Sequence[float],
    y: Sequence[float],
    z: np.ndarray,
    path: str | Path,
    *,
    xlabel: str,
    ylabel: str,
    zlabel: str,
    title: str,
    operating_point: tuple[float, float] | None = None,
    zero_level: bool = True,
) -> ContourPlot:
    """Draw a filled contour of z(x, y) with its break-even (z = 0) line, to show where a design wins."""
    xs = _as_1d("x", x)
    ys = _as_1d("y", y)
    zs = np.asarray(z, dtype=float)
    if zs.shape != (ys.size, xs.size):
        raise ValueError(f"z must have shape (len(y), len(x)) = {(ys.size, xs.size)}, got {zs.shape}")
    if xs.size < 2 or ys.size < 2:
        raise ValueError("contour needs at least a 2 x 2 grid")
    finite = zs[np.isfinite(zs)]
    if finite.size == 0:
        raise ValueError("contour: z has no finite values")
    zmin, zmax = float(finite.min()), float(finite.max())
    # A break-even line exists only where the grid takes both signs; grids
    # that merely touch 0 have no crossing to draw.
    sign_change = zmin < 0.0 < zmax

    fig, axes = _figure()
    ax = axes[0, 0]
    zm = np.ma.masked_invalid(zs)
    if zmin == zmax:
        half = abs(zmin) * 0.01 if zmin != 0.0 else 0.5
        levels = np.array([zmin - half, zmin + half])
    else:
        # "Nice" ticks are multiples of the step, so 0 is a level boundary
        # whenever the range spans it and the break-even line sits on a
        # color boundary.
        levels = MaxNLocator(nbins=15).tick_values(zmin, zmax)
    if sign_change:
        # A diverging map centered at 0 shows gain and loss at a glance.
        norm: Normalize = TwoSlopeNorm(vcenter=0.0, vmin=float(levels[0]), vmax=float(levels[-1]))
        cmap = "RdBu_r"
    else:
        norm = Normalize(vmin=float(levels[0]), vmax=float(levels[-1]))
        cmap = "viridis"
    filled = ax.contourf(xs, ys, zm, levels=levels, cmap=cmap, norm=norm)
    fig.colorbar(filled, ax=ax, label=zlabel)

    handles = []
    zero_line = False
    note = None
    if zero_level and sign_change:
        zc = ax.contour(xs, ys, zm, levels=[0.0], colors="black", linewidths=3.0, zorder=3)
        paths = zc.get_paths()
        zero_line = bool(paths) and any(len(p.vertices) > 0 for p in paths)
        if zero_line:
            handles.append(Line2D([], [], color="black", linewidth=3.0, label=f"break-even ({zlabel} = 0)"))
    if zero_level and not sign_change:
        note = _sign_note(zmin, zmax)
        ax.text(
            0.02,
            0.98,
            note,
            transform=ax.transAxes,
            ha="left",
            va="top",
            fontsize=10,
            bbox=dict(boxstyle="round", facecolor="white", alpha=0.85),
            zorder=5,
        )

    op = None
    if operating_point is not None:
        op = (float(operating_point[0]), float(operating_point[1]))
        (marker,) = ax.plot(
            [op[0]],
            [op[1]],
            linestyle="none",
            marker="*",
            markersize=18,
            markerfacecolor="gold",
            markeredgecolor="black",
            zorder=4,
            label=f"operating point ({_fmt(op[0])}, {_fmt(op[1])})",
        )
        handles.append(marker)

    if handles:
        ax.legend(handles=handles, loc="lower right")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)

    saved = _save(fig, path)
    return ContourPlot(
        figure=fig,
        path=saved,
        levels=np.asarray(filled.levels, dtype=float),
        sign_change=sign_change,
        zero_line=zero_line,
        note=note,
        operating_point=op,
    )


# --------------------------------------------------------------------------
# sweep lines
# --------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SweepSeries:
    """One swept quantity: ``mean[i] +- std[i]`` at ``x[i]``."""

    label: str
    mean: np.ndarray
    std: np.ndarray


@dataclass(frozen=True, eq=False)
class SweepPlot:
    """Result of :func:`sweep_lines`."""

    figure: Figure
    path: Path
    x: np.ndarray
    series: tuple[SweepSeries, ...]
    log_x: bool


def sweep_lines(
    x: Sequence[float],
    series: Sequence[tuple[str, np.ndarray, np.ndarray]],
    path: str | Path,
    *,
    xlabel: str,
    ylabel: str,
    title: str,
    logx: bool = False,
) -> SweepPlot:
    """Plot mean +- std curves over a swept parameter, to compare designs across its range."""
    xs = _as_1d("x", x)
    drawn = []
    for label, mean, std in series:
        m = _as_1d(f"mean of {label!r}", mean)
        s = _as_1d(f"std of {label!r}", std)
        if m.shape != xs.shape or s.shape != xs.shape:
            raise ValueError(
                f"series {label!r}: mean {m.shape} and std {s.shape} must match x {xs.shape}"
            )
        drawn.append(SweepSeries(str(label), m, s))
    if not drawn:
        raise ValueError("sweep_lines: no series given")

    positive = xs.size > 0 and bool(np.all(xs > 0))
    if logx and not positive:
        raise ValueError("sweep_lines: logx=True needs strictly positive x values")
    # Spans of two decades or more are unreadable on a linear axis.
    log_x = logx or (positive and xs.max() / xs.min() >= 100.0)

    fig, axes = _figure()
    ax = axes[0, 0]
    for s in drawn:
        ax.errorbar(xs, s.mean, yerr=s.std, marker="o", markersize=4, capsize=3, linewidth=1.5, label=s.label)
    if log_x:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, which="both", linestyle=":", alpha=0.6)
    ax.legend(title="mean ± std")

    saved = _save(fig, path)
    return SweepPlot(figure=fig, path=saved, x=xs, series=tuple(drawn), log_x=bool(log_x))


# --------------------------------------------------------------------------
# heatmap
# --------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class HeatmapPlot:
    """Result of :func:`heatmap`: the grid and, when annotated, each cell's text (row-major, y then x)."""

    figure: Figure
    path: Path
    z: np.ndarray
    annotated: bool
    cell_text: tuple[tuple[str, ...], ...]


def _tick_positions(n: int, max_ticks: int = 12) -> list[int]:
    """Pick at most ``max_ticks`` evenly spaced indices so tick labels never overlap."""
    step = max(1, math.ceil(n / max_ticks))
    return list(range(0, n, step))


def heatmap(
    x: Sequence[object],
    y: Sequence[object],
    z: np.ndarray,
    path: str | Path,
    *,
    xlabel: str,
    ylabel: str,
    zlabel: str,
    title: str,
) -> HeatmapPlot:
    """Draw z over a (possibly non-uniform or categorical) x-y grid, annotating small grids cell by cell."""
    xv, yv = list(x), list(y)
    zs = np.asarray(z, dtype=float)
    if zs.shape != (len(yv), len(xv)):
        raise ValueError(f"z must have shape (len(y), len(x)) = {(len(yv), len(xv))}, got {zs.shape}")
    if zs.size == 0:
        raise ValueError("heatmap: empty grid")

    fig, axes = _figure()
    ax = axes[0, 0]
    # Cells are drawn on index coordinates so uneven or categorical sweeps
    # still get equal-sized cells; the real values appear as tick labels.
    zm = np.ma.masked_invalid(zs)
    image = ax.imshow(zm, origin="lower", aspect="auto", cmap="viridis", interpolation="nearest")
    fig.colorbar(image, ax=ax, label=zlabel)
    xt, yt = _tick_positions(len(xv)), _tick_positions(len(yv))
    ax.set_xticks(xt, [_fmt(xv[i]) for i in xt])
    ax.set_yticks(yt, [_fmt(yv[i]) for i in yt])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)

    annotated = len(xv) <= _MAX_ANNOTATED_CELLS and len(yv) <= _MAX_ANNOTATED_CELLS
    cell_text: list[tuple[str, ...]] = []
    if annotated:
        norm = image.norm
        for i in range(len(yv)):
            row = []
            for j in range(len(xv)):
                v = zs[i, j]
                text = _fmt(float(v)) if np.isfinite(v) else "n/a"
                # viridis is bright at the top: dark text there, light below;
                # missing cells are left blank (white), so they get dark text.
                dark_text = not np.isfinite(v) or float(norm(v)) > 0.6
                ax.text(j, i, text, ha="center", va="center", fontsize=10, color="black" if dark_text else "white")
                row.append(text)
            cell_text.append(tuple(row))

    saved = _save(fig, path)
    return HeatmapPlot(figure=fig, path=saved, z=zs, annotated=annotated, cell_text=tuple(cell_text))


# --------------------------------------------------------------------------
# bar chart
# --------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class BarPlot:
    """Result of :func:`bars`: one value per label, plus the annotation text shown on each bar."""

    figure: Figure
    path: Path
    labels: tuple[str, ...]
    values: np.ndarray
    annotations: tuple[str, ...]


def bars(
    labels: Sequence[str],
    values: Sequence[float],
    path: str | Path,
    *,
    ylabel: str,
    title: str,
    xlabel: str = "configuration",
) -> BarPlot:
    """Draw an annotated bar chart, used to compare ablation variants side by side."""
    names = tuple(str(label) for label in labels)
    vals = _as_1d("values", values)
    if vals.size != len(names):
        raise ValueError(f"bars: {len(names)} labels but {vals.size} values")
    if not names:
        raise ValueError("bars: nothing to draw")

    fig, axes = _figure()
    ax = axes[0, 0]
    positions = np.arange(len(names))
    container = ax.bar(positions, vals, color="tab:blue", edgecolor="black", linewidth=0.5, zorder=2)
    annotations = tuple(_fmt(float(v)) for v in vals)
    ax.bar_label(container, labels=list(annotations), padding=3, fontsize=9)
    # Long or many labels are rotated so they do not collide.
    rotate = len(names) > 6 or max(len(n) for n in names) > 12
    ax.set_xticks(positions, names, rotation=30 if rotate else 0, ha="right" if rotate else "center")
    ax.axhline(0.0, color="black", linewidth=0.8, zorder=1)
    ax.margins(y=0.12)  # headroom for the value labels
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(axis="y", linestyle=":", alpha=0.6, zorder=0)

    saved = _save(fig, path)
    return BarPlot(figure=fig, path=saved, labels=names, values=vals, annotations=annotations)


# --------------------------------------------------------------------------
# model vs measured overlay
# --------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class OverlaySeries:
    """One measured table in a panel: measured and model values at ``x``."""

    label: str
    x: np.ndarray
    measured: np.ndarray
    model: np.ndarray


@dataclass(frozen=True, eq=False)
class OverlayPanel:
    """One quantity: its series, and whether its y axis is logarithmic."""

    name: str
    ylabel: str
    series: tuple[OverlaySeries, ...]
    log_y: bool


@dataclass(frozen=True, eq=False)
class OverlayPlot:
    """Result of :func:`measured_overlay`."""

    figure: Figure
    path: Path
    panels: tuple[OverlayPanel, ...]
    log_x: bool


def _wide_range(values: np.ndarray) -> bool:
    """Positive values spanning two decades or more: unreadable on a linear axis."""
    v = values[np.isfinite(values)]
    return v.size > 0 and bool(np.all(v > 0)) and v.max() / v.min() >= 100.0


def measured_overlay(
    panels: Sequence[tuple[str, str, Sequence[tuple[str, Sequence[float], Sequence[float], Sequence[float]]]]],
    path: str | Path,
    *,
    xlabel: str,
    title: str,
) -> OverlayPlot:
    """Measured values (markers) and the model's (lines) of several quantities against one
    axis, one panel per quantity, several measured tables overlaid in matching colors.

    ``panels`` holds (name, ylabel, series) with series (label, x, measured, model);
    axes are logarithmic where the values span two decades or more.
    """
    drawn: list[OverlayPanel] = []
    all_x = []
    for name, ylabel, series in panels:
        ss = []
        for label, x, measured, model in series:
            xs = _as_1d(f"x of {label!r}", x)
            me = _as_1d(f"measured of {label!r}", measured)
            mo = _as_1d(f"model of {label!r}", model)
            if not (xs.shape == me.shape == mo.shape):
                raise ValueError(f"series {label!r} of {name!r}: x {xs.shape}, measured {me.shape} and model "
                                 f"{mo.shape} must match")
            ss.append(OverlaySeries(str(label), xs, me, mo))
            all_x.append(xs)
        if not ss:
            raise ValueError(f"measured_overlay: panel {name!r} has no series")
        ys = np.concatenate([np.concatenate([x.measured, x.model]) for x in ss])
        drawn.append(OverlayPanel(str(name), str(ylabel), tuple(ss), _wide_range(ys)))
    if not drawn:
        raise ValueError("measured_overlay: no panels to draw")
    log_x = _wide_range(np.concatenate(all_x))

    ncols = 1 if len(drawn) == 1 else 2 if len(drawn) <= 4 else 3
    nrows = math.ceil(len(drawn) / ncols)
    fig, axes = _figure(nrows, ncols, figsize=(5.0 * ncols, 3.8 * nrows))
    labels = sorted({s.label for p in drawn for s in p.series})
    colors = {label: matplotlib.colormaps["tab10"](i % 10) for i, label in enumerate(labels)}
    for k, panel in enumerate(drawn):
        ax = axes[k // ncols, k % ncols]
        for s in panel.series:
            order = np.argsort(s.x, kind="stable")
            ax.plot(s.x[order], s.model[order], "-", color=colors[s.label], linewidth=1.5)
            ax.plot(s.x[order], s.measured[order], "o", color=colors[s.label], markersize=5, markerfacecolor="none")
        if log_x:
            ax.set_xscale("log")
        if panel.log_y:
            ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(panel.ylabel)
        ax.set_title(panel.name)
        ax.grid(True, which="both", linestyle=":", alpha=0.6)
    for k in range(len(drawn), nrows * ncols):
        axes[k // ncols, k % ncols].set_visible(False)
    handles = [Line2D([], [], color=colors[label], marker="o", markerfacecolor="none", linestyle="-", label=label)
               for label in labels]
    handles += [Line2D([], [], color="gray", marker="o", markerfacecolor="none", linestyle="none", label="measured"),
                Line2D([], [], color="gray", linestyle="-", label="model")]
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 6))
    fig.suptitle(title)

    saved = _save(fig, path)
    return OverlayPlot(figure=fig, path=saved, panels=tuple(drawn), log_x=bool(log_x))


# --------------------------------------------------------------------------
# roofline
# --------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class RooflineGroup:
    """Points placed on a roofline: ``kind`` is "model" (crosses) or "measured" (hollow circles);
    groups with the same ``label`` (one table or design) share a color."""

    label: str
    intensity: np.ndarray
    throughput: np.ndarray
    kind: str


@dataclass(frozen=True, eq=False)
class RooflinePlot:
    """Result of :func:`roofline`: the roofs (and their ridge points) and the groups drawn."""

    figure: Figure
    path: Path
    peak: float
    bandwidth: float
    ridge: float
    achievable_peak: float | None
    achievable_bandwidth: float | None
    achievable_ridge: float | None
    groups: tuple[RooflineGroup, ...]


def roofline(
    groups: Sequence[tuple[str, Sequence[float], Sequence[float], str]],
    path: str | Path,
    *,
    peak: float,
    bandwidth: float,
    xlabel: str,
    ylabel: str,
    title: str,
    achievable_peak: float | None = None,
    achievable_bandwidth: float | None = None,
) -> RooflinePlot:
    """Attainable throughput against arithmetic intensity on log-log axes:
    min(peak, bandwidth * intensity), the achievable roof dashed when given, and the points."""
    if not (peak > 0 and bandwidth > 0):
        raise ValueError(f"roofline: peak {peak} and bandwidth {bandwidth} must be positive")
    drawn = []
    for label, x, y, kind in groups:
        if kind not in ("model", "measured"):
            raise ValueError(f"roofline group {label!r}: kind must be 'model' or 'measured', got {kind!r}")
        xs, ys = _as_1d(f"intensity of {label!r}", x), _as_1d(f"throughput of {label!r}", y)
        if xs.shape != ys.shape:
            raise ValueError(f"roofline group {label!r}: intensity {xs.shape} and throughput {ys.shape} differ")
        drawn.append(RooflineGroup(str(label), xs, ys, kind))
    ridge = peak / bandwidth
    a_ridge = None
    if achievable_peak is not None and achievable_bandwidth is not None:
        a_ridge = achievable_peak / achievable_bandwidth

    xs_all = [ridge] + ([a_ridge] if a_ridge else []) + [float(v) for g in drawn for v in g.intensity if v > 0]
    lo, hi = min(xs_all) / 8.0, max(xs_all) * 8.0
    grid = np.geomspace(lo, hi, 400)

    fig, axes = _figure()
    ax = axes[0, 0]
    ax.plot(grid, np.minimum(peak, bandwidth * grid), "-", color="black", linewidth=2.0,
            label=f"roof: {_fmt(peak)} peak, {_fmt(bandwidth)} per unit intensity")
    if a_ridge is not None:
        ax.plot(grid, np.minimum(achievable_peak, achievable_bandwidth * grid), "--", color="dimgray", linewidth=1.5,
                label=f"achievable: {_fmt(achievable_peak)}, {_fmt(achievable_bandwidth)}")
    ax.axvline(ridge, color="black", linestyle=":", linewidth=0.8)
    # A label names a series (a table, a design): its measured and model groups share a color.
    colors = _qualitative_colors([g.label for g in drawn])
    for g in drawn:
        color = colors[g.label]
        if g.kind == "measured":
            ax.plot(g.intensity, g.throughput, "o", color=color, markerfacecolor="none", markersize=7,
                    label=f"{g.label} (measured)")
        else:
            ax.plot(g.intensity, g.throughput, "x", color=color, markersize=6, label=f"{g.label} (model)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(lo, hi)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, which="both", linestyle=":", alpha=0.6)
    ax.legend(fontsize=8)

    saved = _save(fig, path)
    return RooflinePlot(figure=fig, path=saved, peak=float(peak), bandwidth=float(bandwidth), ridge=float(ridge),
                        achievable_peak=achievable_peak, achievable_bandwidth=achievable_bandwidth,
                        achievable_ridge=a_ridge, groups=tuple(drawn))


# --------------------------------------------------------------------------
# index
# --------------------------------------------------------------------------


def write_index(out_dir: str | Path, entries: Sequence[tuple[str, str]]) -> Path:
    """Write ``index.md`` in ``out_dir`` listing each plot file with a one-line caption, for browsing outputs."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    lines = ["# Plots", ""]
    for filename, caption in entries:
        # Captions are forced onto one line so each entry stays one list item.
        one_line = " ".join(str(caption).split())
        name = str(filename)
        # Angle brackets let link targets contain spaces or parentheses.
        lines.append(f"- [{name}](<{name}>): {one_line}")
    lines.append("")
    index = out / "index.md"
    index.write_text("\n".join(lines), encoding="utf-8")
    return index
