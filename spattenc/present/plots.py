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

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from spattenc.backends import naming
from spattenc.ir.units import STAGE_UNIT

# matplotlib is imported where a figure is drawn: a command that draws nothing does not pay
# for it.
if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "GANTT_KINDS",
    "SavedPlot",
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

# The package's style sheet: every plot is drawn under it (see _styled).
STYLE = Path(__file__).with_name("plot.mplstyle")

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
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=figsize, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, axes


def _literal_text(fig: Figure) -> None:
    """Show every title, label, legend entry and fixed tick label literally: a `$` of a
    spec's text never starts mathtext (naming.plot_text).  Tick labels a formatter
    computes (log-scale powers of ten) keep their own mathtext."""
    import matplotlib
    from matplotlib.text import Text
    from matplotlib.ticker import FixedFormatter
    computed = set()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            formatter = axis.get_major_formatter()
            # Tick labels are made at draw time with the rc in force then: escaped only
            # where that rc parses mathtext (the style sheet turns it off).
            if isinstance(formatter, FixedFormatter) and matplotlib.rcParams["text.parse_math"]:
                formatter.seq = [naming.plot_text(t) for t in formatter.seq]
            computed.update(axis.get_ticklabels(which="both"))
    for text in fig.findobj(Text):
        # A text that parses no mathtext already shows a `$` as it is: escaping it would
        # print the backslash.
        if text not in computed and text.get_parse_math():
            text.set_text(naming.plot_text(text.get_text()))


# User text longer than this (a label, title or legend entry) is cut with an ellipsis:
# the chart stays legible and its layout does not collapse.
_MAX_TEXT = 100


_MAX_TICK_TEXT = 40


def _clip(s: str, n: int = _MAX_TICK_TEXT) -> str:
    """``s`` cut to ``n`` characters with an ellipsis (tick labels from user text get
    the shorter limit: they share the figure's width with the plot)."""
    return s if len(s) <= n else s[: n - 1] + "\u2026"


def _clip_texts(fig: Figure) -> None:
    """Cut every over-long text of ``fig`` (titles, labels, tick labels, legend entries)."""
    from matplotlib.text import Text
    for text in fig.findobj(Text):
        s = text.get_text()
        if len(s) > _MAX_TEXT:
            text.set_text(_clip(s, _MAX_TEXT))


def _save(fig: Figure, path: str | Path) -> Path:
    """Save ``fig`` to ``path`` in the format named by its suffix and return the path."""
    import matplotlib
    _clip_texts(fig)
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


def _styled(fn):
    """Run a plotting function under the package's style sheet, so every chart looks alike."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        import matplotlib

        with matplotlib.rc_context(fname=str(STYLE)):
            return fn(*args, **kwargs)

    return wrapper


_SUPERSCRIPT = str.maketrans("-0123456789", "\u207b\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079")


def _exponent(values) -> int:
    """The power of 1000 to move into an axis label: 0 while the largest |value| is
    readable as is (0.01 to 1e5), else the one bringing it into [1, 1000)."""
    v = np.abs(np.asarray(values, dtype=float)).ravel()
    v = v[np.isfinite(v) & (v > 0)]
    if v.size == 0:
        return 0
    top = float(v.max())
    if 1e-2 <= top < 1e5:
        return 0
    return 3 * math.floor(math.log10(top) / 3)


def _scaled_label(label: str, e: int) -> str:
    """``label`` with a factor 10^e written into its unit: "t (cycles)" -> "t (×10⁶ cycles)"."""
    if e == 0:
        return label
    factor = "\u00d710" + str(e).translate(_SUPERSCRIPT)
    if label.endswith(")") and "(" in label:
        i = label.rindex("(")
        return f"{label[:i]}({factor} {label[i + 1:]}"
    return f"{label} ({factor})"


def _fmt_scaled(value: float, e: int) -> str:
    """A tick value divided by 10^e, in the shortest plain form."""
    return f"{float(value) / 10.0 ** e:.4g}"


@functools.cache
def _scaled_formatter_class() -> type:
    """The tick formatter of scaled axes (a matplotlib Formatter, defined on first use)."""
    from matplotlib.ticker import Formatter

    class _ScaledFormatter(Formatter):
        """Tick labels divided by 10^e, with as many decimals as the tick spacing needs (so
        ticks 1905100, 1905200 read 1.9051, 1.9052 on a ×10⁶ axis, never all "1.905")."""

        def __init__(self, e: int):
            self.e = e
            self.ticks: np.ndarray = np.zeros(0)

        def set_locs(self, locs) -> None:
            self.ticks = np.sort(np.asarray(locs, dtype=float))

        def __call__(self, x, pos=None) -> str:
            scale = 10.0 ** self.e
            locs = self.ticks / scale
            steps = np.diff(locs)
            steps = steps[steps > 0]
            decimals = max(0, -math.floor(math.log10(float(steps.min())) + 1e-9)) if steps.size else 3
            return f"{x / scale:.{min(decimals, 9)}f}"

    return _ScaledFormatter


def _precise(v: float, digits: int = 6) -> str:
    """A value with ``digits`` significant digits in plain notation (1905190, 0.01325)."""
    v = float(v)
    if not math.isfinite(v) or v == 0 or not 1e-4 <= abs(v) < 1e12:
        return f"{v:.{digits}g}"
    decimals = digits - 1 - math.floor(math.log10(abs(v)))
    return f"{v:.{max(decimals, 0)}f}"


def _scaled_axis(ax, which: str, values, label: str) -> int:
    """Label a linear axis, a power of 1000 of large or tiny values moved into the label
    (never a bare "1e6" in the corner); returns the exponent used."""
    axis = ax.xaxis if which == "x" else ax.yaxis
    e = _exponent(values)
    if e:
        axis.set_major_formatter(_scaled_formatter_class()(e))
    axis.set_label_text(_scaled_label(label, e))
    return e


def _tick_positions(n: int, max_ticks: int = 12) -> list[int]:
    """Pick at most ``max_ticks`` evenly spaced indices so tick labels never overlap."""
    step = max(1, math.ceil(n / max_ticks))
    return list(range(0, n, step))


def _value_ticks(axis, values, max_ticks: int = 10) -> None:
    """Ticks of a swept axis at the swept values (an evenly spaced subset when there are
    many), labelled plainly; minor ticks off."""
    from matplotlib.ticker import FixedFormatter, FixedLocator, NullLocator
    v = np.asarray(values, dtype=float)
    v = np.unique(v[np.isfinite(v)])
    v = v[_tick_positions(v.size, max_ticks)]
    axis.set_major_locator(FixedLocator(v))
    axis.set_major_formatter(FixedFormatter([_fmt(float(x)) for x in v]))
    axis.set_minor_locator(NullLocator())


def _plain_log(axis, values=None, label: str | None = None) -> None:
    """A log axis labelled in plain numbers (mathtext is off: user text is shown
    literally), ticked at 1, 2 and 5 times each decade over up to three decades of
    ``values``, at each decade over more.  With ``label``, large or tiny values have
    their power of 1000 moved into it, as on a linear axis (FLOPs (×10⁹), ticks
    0.1 ... 100, never "1e+11")."""
    from matplotlib.ticker import FuncFormatter, LogLocator

    v = np.asarray(values if values is not None else axis.get_view_interval(), dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    decades = math.log10(v.max() / v.min()) if v.size else 0.0
    e = _exponent(v) if label is not None else 0
    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0) if decades <= 3 else (1.0,)))
    axis.set_major_formatter(FuncFormatter(lambda x, _pos: _fmt(float(x) / 10.0 ** e)))
    if label is not None:
        axis.set_label_text(_scaled_label(label, e))
    axis.set_minor_locator(LogLocator(base=10, subs="auto"))
    axis.set_minor_formatter(FuncFormatter(lambda v, _pos: ""))


def _fmt(value: object) -> str:
    """Format a tick or annotation value compactly (numbers with 3 significant digits)."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        v = float(value)
        # Plain digits up to ten million (no "1e+03" on an axis of cycle counts).
        if math.isfinite(v) and 1000 <= abs(v) < 1e7:
            return f"{v:.0f}"
        return f"{v:.3g}"
    return str(value)


def _as_1d(name: str, values: object) -> np.ndarray:
    """Convert ``values`` to a 1-D float array, rejecting other shapes early."""
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    return arr


def _qualitative_colors(names: Sequence[str]) -> dict[str, tuple[float, float, float, float]]:
    """Assign colors to sorted ``names`` from a qualitative colormap so a stage keeps its color across plots."""
    import matplotlib
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
class GanttPanel:
    """A panel drawn beside a Gantt chart: its matplotlib axes, the design it shows, and
    its bars (``patches[i]`` draws ``bars[i]``)."""

    axes: object
    design: str
    bars: tuple[GanttBar, ...]
    patches: tuple[object, ...]


@dataclass(frozen=True, eq=False)
class GanttZoom(GanttPanel):
    """One zoom panel: the bars of one (design, layer) row on a stretched time axis."""

    layer: int
    lanes: tuple[int, ...] = ()


@dataclass(frozen=True, eq=False)
class GanttLayers(GanttPanel):
    """The layer-by-layer panel: every layer of one design on its own stretched time
    axis, so the short late layers get the width of the first; ``bars`` keep their true
    times, ``patches[i]`` draws ``bars[i]`` in the sub-row ``lanes[i]`` of row
    ``rows[i]`` (an index into ``layers``)."""

    layers: tuple[int, ...]
    rows: tuple[int, ...]
    lanes: tuple[int, ...]


@dataclass(frozen=True, eq=False)
class SavedPlot:
    """What every drawing function returns first: the figure, and the file it was saved to."""

    figure: Figure
    path: Path


@dataclass(frozen=True, eq=False)
class GanttPlot(SavedPlot):
    """Result of :func:`gantt`: bars in drawing order (``patches[i]`` draws ``bars[i]``);
    ``bar_rows[i]`` is the row of ``bars[i]`` and ``bar_lanes[i]`` its sub-row (parallel
    branches of a row get their own sub-rows); ``zooms`` are the zoom panels."""

    bars: tuple[GanttBar, ...]
    row_labels: tuple[str, ...]
    bar_rows: tuple[int, ...]
    bar_lanes: tuple[int, ...]
    stage_colors: Mapping[str, tuple[float, float, float, float]]
    patches: tuple[object, ...]
    zooms: tuple[GanttZoom, ...]
    legend_stages: tuple[str, ...]
    layers: GanttLayers | None = None


# Per-kind drawing style: bar height (fraction of a sub-row), face alpha, hatch
# pattern, edge color, edge width and z-order. Wasted segments are drawn over the
# bar they belong to, in its sub-row.
_GANTT_STYLE = {
    "stage": dict(height=0.8, alpha=1.0, hatch=None, edge="black", lw=0.5, z=2.0),
    "overlay": dict(height=0.8, alpha=0.9, hatch="////", edge="dimgray", lw=0.8, z=2.0),
    "wasted": dict(height=0.8, alpha=0.35, hatch="xxx", edge="firebrick", lw=1.4, z=2.5),
    "corrective": dict(height=0.8, alpha=0.75, hatch="...", edge="navy", lw=1.4, z=2.6),
}

_GANTT_KIND_LABELS = {
    "overlay": "overlay (overlapped work)",
    "wasted": "wasted work",
    "corrective": "corrective work",
}

# A bar narrower than this many pixels in every panel is not listed in the legend;
# the zoom panels stretch time so every interval there is at least _ZOOM_MIN_PX wide.
_VISIBLE_PX = 1.0
_ZOOM_MIN_PX = 14.0
_MAX_ZOOMS = 2
# The layer-by-layer panel is drawn for a design with parallel branches when at least
# _THIN_ROWS of its layers each take less than _THIN_SHARE of the chart's time (a
# pipeline whose layers shrink layer by layer); its intervals get at least _LAYER_MIN_PX,
# the rest of a row's width stays in proportion to time.
_THIN_SHARE = 0.1
_THIN_ROWS = 3
_LAYER_MIN_PX = 12.0
# Layers whose bars all sit within this share of a row of where they sit in the first
# layer are scaled copies of it: the zoom of one layer shows them, no panel is drawn.
_SAME_SHAPE = 0.1


def _lanes(bars: Sequence[GanttBar]) -> list[int]:
    """Sub-row of each bar of one row: a bar overlapping a busy sub-row runs in parallel
    and opens a new one; a wasted segment stays in the sub-row of the bar it marks."""
    order = sorted(range(len(bars)), key=lambda i: (bars[i].start, bars[i].kind == "wasted", -bars[i].end))
    # Times computed along different paths (a + (b + c) against (a + b) + c) differ by
    # rounding: overlaps below this tolerance are not parallel work.
    tol = 1e-9 * max((abs(b.end) for b in bars), default=0.0)
    lane_of = [0] * len(bars)
    lane_end: list[float] = []
    placed: list[int] = []
    for i in order:
        b = bars[i]
        if b.kind == "wasted":
            host = next((j for j in reversed(placed)
                         if bars[j].start <= b.start + tol and b.end <= bars[j].end + tol), None)
            if host is not None:
                lane_of[i] = lane_of[host]
                continue
        lane = next((k for k, end in enumerate(lane_end) if end <= b.start + tol), None)
        if lane is None:
            lane = len(lane_end)
            lane_end.append(b.end)
        lane_end[lane] = max(lane_end[lane], b.end)
        lane_of[i] = lane
        placed.append(i)
    return lane_of


def _gantt_rows(bars: tuple[GanttBar, ...]) -> tuple[list[tuple[str, int]], list[int], list[int]]:
    """The (design, layer) rows in drawing order (designs in first-appearance order,
    layers ascending), and each bar's row and sub-row."""
    design_order: list[str] = []
    for bar in bars:
        if bar.design not in design_order:
            design_order.append(bar.design)
    keys = sorted({(b.design, b.layer) for b in bars}, key=lambda k: (design_order.index(k[0]), k[1]))
    row_index = {key: i for i, key in enumerate(keys)}
    rows = [row_index[(b.design, b.layer)] for b in bars]
    lanes = [0] * len(bars)
    for r in range(len(keys)):
        members = [i for i, row in enumerate(rows) if row == r]
        for i, lane in zip(members, _lanes([bars[i] for i in members])):
            lanes[i] = lane
    return keys, rows, lanes


def _draw_bar(ax, bar: GanttBar, y: float, color, scale: float = 1.0):
    """Draw one Gantt bar centred on ``y`` in the style of its kind; returns its patch."""
    from matplotlib.colors import to_rgba
    style = _GANTT_STYLE[bar.kind]
    container = ax.barh(
        y, bar.end - bar.start, left=bar.start, height=style["height"] * scale,
        # Alpha goes on the face color only so hatches and edges stay crisp.
        color=to_rgba(color, style["alpha"]), edgecolor=style["edge"], linewidth=style["lw"],
        hatch=style["hatch"], zorder=style["z"],
    )
    return container.patches[0]


def _stretch(bars: Sequence[GanttBar], width_px: float, min_px: float = _ZOOM_MIN_PX) -> tuple[np.ndarray, np.ndarray]:
    """A piecewise-linear time axis for a zoom panel: every interval between two bar
    boundaries gets at least ``min_px`` of ``width_px``, the rest shared in
    proportion to duration.  Returns (true times, positions in [0, 1])."""
    times = np.unique(np.array([t for b in bars for t in (b.start, b.end)], dtype=float))
    gaps = np.diff(times)
    share = gaps / gaps.sum()
    floor = min_px / max(width_px, 1.0)
    # Intervals below the floor are raised to it; the others shrink to make room.
    small = share < floor
    rest = max(1.0 - floor * small.sum(), 0.05)
    big_total = share[~small].sum()
    widths = np.where(small, floor, share * (rest / big_total if big_total > 0 else 0.0))
    positions = np.concatenate([[0.0], np.cumsum(widths)])
    return times, positions / positions[-1]


def _zoom_candidates(keys, rows, lanes) -> list[int]:
    """Rows worth a zoom panel: per design, its first row with the most sub-rows (parallel
    branches), when that is more than one."""
    best: dict[str, tuple[int, int]] = {}
    for r, (design, _) in enumerate(keys):
        n = 1 + max((lane for row, lane in zip(rows, lanes) if row == r), default=0)
        if n > 1 and (design not in best or n > best[design][1]):
            best[design] = (r, n)
    return [r for r, _ in best.values()][:_MAX_ZOOMS]


def _time_ticks(axis, times: np.ndarray, positions: np.ndarray, origin: float, min_gap: float = 0.07) -> None:
    """Ticks of a stretched time axis: a mark at every boundary, a label (time since
    ``origin``) where it does not collide with the previous one."""
    from matplotlib.ticker import FixedFormatter, FixedLocator
    keep, last = [], -1.0
    for t, p in zip(times, positions):
        if p - last >= min_gap or t == times[-1] and p - last >= min_gap / 2:
            keep.append(t)
            last = p
    e = _exponent(times - origin)
    axis.set_major_locator(FixedLocator(keep))
    axis.set_major_formatter(FixedFormatter([_fmt_scaled(t - origin, e) for t in keep]))
    axis.set_minor_locator(FixedLocator(times))
    return e


def _draw_zoom(fig, ax, bars: list[GanttBar], colors, label: str, time_unit: str) -> tuple[list, list[int]]:
    """Draw one row's bars on a stretched time axis, one sub-row per parallel branch;
    returns their patches and sub-rows."""
    lanes = _lanes(bars)
    width_px = ax.get_position().width * fig.get_figwidth() * fig.dpi
    times, positions = _stretch(bars, width_px)
    ax.set_xscale("function", functions=(lambda t: np.interp(t, times, positions),
                                         lambda p: np.interp(p, positions, times)))
    patches = [_draw_bar(ax, b, lane, colors[b.stage]) for b, lane in zip(bars, lanes)]
    ax.set_xlim(times[0], times[-1])
    nl = max(lanes) + 1
    ax.set_ylim(nl - 0.5, -0.5)
    ax.set_yticks(range(nl), [f"branch {k + 1}" for k in range(nl)])
    e = _time_ticks(ax.xaxis, times, positions, times[0])
    ax.set_xlabel(_scaled_label(f"time since the layer's start ({time_unit})", e)
                  + ", stretched so every interval shows; ticks at true times")
    ax.set_title(_clip(f"zoom: {label}", 60), loc="left", fontsize=10)
    ax.grid(axis="y", visible=False)
    return patches, lanes


def _layers_design(keys, rows, lanes, bars) -> str | None:
    """The design worth a layer-by-layer panel: one with parallel branches and at least
    _THIN_ROWS layers too short to read on the shared time axis (the most such layers
    wins; the first design on a tie); None when there is none."""
    total = max(b.end for b in bars) - min(b.start for b in bars)
    span: dict[int, list[float]] = {}
    for b, r in zip(bars, rows):
        lo, hi = span.get(r, [b.start, b.end])
        span[r] = [min(lo, b.start), max(hi, b.end)]
    parallel = {keys[r][0] for r, lane in zip(rows, lanes) if lane > 0}
    thin: dict[str, int] = {}
    for r, (design, _) in enumerate(keys):
        if design in parallel and span[r][1] - span[r][0] < _THIN_SHARE * total:
            thin[design] = thin.get(design, 0) + 1
    thin = {d: n for d, n in thin.items() if not _scaled_copies([r for r, k in enumerate(keys) if k[0] == d],
                                                                 rows, lanes, bars, span)}
    best = max(thin.values(), default=0)
    return next((d for d in thin if thin[d] == best), None) if best >= _THIN_ROWS else None


def _scaled_copies(design_rows, rows, lanes, bars, span) -> bool:
    """Whether every layer of a design is its first layer scaled in time (each bar within
    _SAME_SHAPE of the row's width of where it is in the first): the zoom panel of one
    layer then shows them all."""
    def shape(r):
        lo, hi = span[r]
        width = (hi - lo) or 1.0
        return {(b.stage, b.kind, lane): ((b.start - lo) / width, (b.end - lo) / width)
                for b, row, lane in zip(bars, rows, lanes) if row == r}
    first = shape(design_rows[0])
    for r in design_rows[1:]:
        other = shape(r)
        if other.keys() != first.keys() or any(abs(a - b) > _SAME_SHAPE for k in first
                                               for a, b in zip(first[k], other[k])):
            return False
    return True


def _draw_layers(fig, ax, design: str, label: str, groups, colors, time_unit: str) -> GanttLayers:
    """Draw each layer of ``design`` as its own row, its time stretched from the layer's
    start to its end (every interval ≥ _LAYER_MIN_PX), its duration on the right axis.
    ``groups`` holds (layer, bars, sub-rows) in layer order."""
    drawn, patches, rows, lanes, ticks = [], [], [], [], []
    y = 0
    for r, (layer, members, sub) in enumerate(groups):
        for bar, lane in zip(members, sub):
            # Placed on the stretched axis by _place_layers once the layout is final.
            patches.append(_draw_bar(ax, replace(bar, start=0.0, end=0.0), y + lane, colors[bar.stage]))
            drawn.append(bar)
            rows.append(r)
            lanes.append(lane)
        n = max(sub) + 1
        ticks.append(y + (n - 1) / 2)
        y += n
        if r < len(groups) - 1:
            ax.axhline(y - 0.5, color="lightgray", linewidth=0.6, zorder=1)
    durations = [max(b.end for b in m) - min(b.start for b in m) for _, m, _ in groups]
    ax.set_xlim(0.0, 1.0)
    ax.set_ylim(y - 0.5, -0.5)
    ax.set_yticks(ticks, [f"L{layer}" for layer, _, _ in groups])
    ax.set_xticks([0.0, 1.0], ["layer start", "layer end"])
    ax.set_xlabel(f"each row on its own time axis, from its layer's start to its end; intervals under "
                  f"{_LAYER_MIN_PX:g} px widened")
    ax.set_title(_clip(f"{label}, layer by layer", 60), loc="left", fontsize=10)
    ax.grid(visible=False)
    right = ax.twinx()
    right.set_ylim(y - 0.5, -0.5)
    e = _exponent(durations)
    right.set_yticks(ticks, [_fmt_scaled(d, e) for d in durations])
    right.set_ylabel(_scaled_label(f"layer duration ({time_unit})", e))
    right.grid(visible=False)
    return GanttLayers(ax, design, tuple(drawn), tuple(patches), layers=tuple(layer for layer, _, _ in groups),
                       rows=tuple(rows), lanes=tuple(lanes))


def _place_layers(fig, layers: GanttLayers) -> None:
    """Set each bar of the layer-by-layer panel on its row's stretched axis, sized from
    the panel's final width (the legend and the duration axis take room first)."""
    fig.canvas.draw()
    width_px = layers.axes.get_window_extent().width
    for r in range(len(layers.layers)):
        idx = [i for i, row in enumerate(layers.rows) if row == r]
        times, positions = _stretch([layers.bars[i] for i in idx], width_px, _LAYER_MIN_PX)
        for i in idx:
            x0, x1 = np.interp([layers.bars[i].start, layers.bars[i].end], times, positions)
            layers.patches[i].set_x(float(x0))
            layers.patches[i].set_width(float(x1 - x0))


def _patch_px(patch) -> float:
    """Rendered width of a bar in pixels (after a draw)."""
    return float(patch.get_window_extent().width)


def _gantt_legend(fig, ax, bars, patches, zoom_stages, colors) -> tuple[str, ...]:
    """A legend of the stages visible somewhere (≥ 1 px in the chart, or in a zoom
    panel) and of the kinds drawn; stages too short to see anywhere are left out."""
    from matplotlib.colors import to_rgba
    from matplotlib.patches import Patch
    _clip_texts(fig)
    fig.canvas.draw()
    seen = set(zoom_stages)
    for bar, patch in zip(bars, patches):
        if _patch_px(patch) >= _VISIBLE_PX:
            seen.add(bar.stage)
    shown = tuple(s for s in sorted(colors) if s in seen)
    handles = [Patch(facecolor=colors[s], edgecolor="black", label=s) for s in shown]
    for kind in GANTT_KINDS[1:]:
        if any(bar.kind == kind for bar in bars):
            style = _GANTT_STYLE[kind]
            handles.append(Patch(facecolor=to_rgba("lightgray", style["alpha"]), edgecolor=style["edge"],
                                 hatch=style["hatch"], linewidth=style["lw"], label=_GANTT_KIND_LABELS[kind]))
    ax.legend(handles=handles, title="stage / kind", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    _clip_texts(fig)
    return shown


@_styled
def gantt(
    rows: Sequence[GanttBar],
    path: str | Path,
    *,
    title: str,
    time_unit: str = STAGE_UNIT,
    design_labels: Mapping[str, str] | None = None,
    layered: bool = True,
) -> GanttPlot:
    """Draw per-(design, layer) pipeline timelines on a shared time axis to compare
    schedules: parallel branches in sub-rows, and a zoom panel per design of the layer
    where its branches overlap, stretched so every stage can be seen.

    ``design_labels`` maps a design to its row label; ``layered=False`` (a spec without
    layers) labels rows by design only."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    bars = tuple(rows)
    if not bars:
        raise ValueError("gantt: no bars to draw")
    for bar in bars:
        if not isinstance(bar, GanttBar):
            raise TypeError(f"gantt rows must be GanttBar, got {type(bar).__name__}")
    names = dict(design_labels or {})
    keys, bar_rows, bar_lanes = _gantt_rows(bars)
    nlanes = [1 + max(lane for row, lane in zip(bar_rows, bar_lanes) if row == r) for r in range(len(keys))]
    tops = np.concatenate([[0.0], np.cumsum(nlanes)])  # first sub-row of each row
    row_labels = tuple(_clip(names.get(d, d) + (f" L{layer}" if layered else "")) for d, layer in keys)
    zoom_rows = _zoom_candidates(keys, bar_rows, bar_lanes)
    by_layer = _layers_design(keys, bar_rows, bar_lanes, bars) if layered else None
    layer_rows = [r for r, (d, _) in enumerate(keys) if d == by_layer]

    colors = _qualitative_colors([bar.stage for bar in bars])
    # Sub-rows shrink rather than the chart grow; the layer-by-layer panel, when there
    # is one, carries the detail, so the shared chart is then kept shorter.
    main_h = min(7.0 if layer_rows else 10.0, max(3.0, 1.0 + 0.3 * tops[-1]))
    zoom_h = [1.6 + 0.45 * nlanes[r] for r in zoom_rows]
    heights = [main_h, *zoom_h] + ([1.2 + 0.2 * sum(nlanes[r] for r in layer_rows)] if layer_rows else [])
    fig = Figure(figsize=(FIGSIZE[0], sum(heights)), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    axs = fig.subplots(len(heights), 1, squeeze=False, height_ratios=heights)[:, 0]
    ax = axs[0]

    patches = []
    for bar, r, lane in zip(bars, bar_rows, bar_lanes):
        patches.append(_draw_bar(ax, bar, tops[r] + lane, colors[bar.stage]))
    for i in range(1, len(keys)):
        if keys[i][0] != keys[i - 1][0]:  # dotted separators between designs
            ax.axhline(tops[i] - 0.5, color="gray", linestyle=":", linewidth=1.0, zorder=1)
    ax.set_yticks([tops[r] + (nlanes[r] - 1) / 2 for r in range(len(keys))], row_labels)
    ax.set_ylim(tops[-1] - 0.5, -0.5)  # first design at the top
    ax.set_xlim(min(b.start for b in bars), max(b.end for b in bars))
    _scaled_axis(ax, "x", [b.end for b in bars], f"time ({time_unit})")
    ax.set_ylabel("design / layer" if layered else "design")
    ax.set_title(title)
    ax.grid(axis="y", visible=False)

    _clip_texts(fig)
    fig.canvas.draw()  # zoom panels size their stretched axis from the laid-out width
    zooms, zoom_stages = [], set()
    for zax, r in zip(axs[1:], zoom_rows):
        members = [b for b, row in zip(bars, bar_rows) if row == r and b.end > b.start]
        zp, zl = _draw_zoom(fig, zax, members, colors, row_labels[r], time_unit)
        zooms.append(GanttZoom(zax, keys[r][0], tuple(members), tuple(zp), layer=keys[r][1], lanes=tuple(zl)))
        zoom_stages |= {b.stage for b in members}
    layers = None
    if layer_rows:
        groups = [(keys[r][1], *map(list, zip(*[(b, lane) for b, row, lane in zip(bars, bar_rows, bar_lanes)
                                                 if row == r and b.end > b.start]))) for r in layer_rows]
        layers = _draw_layers(fig, axs[-1], by_layer, names.get(by_layer, by_layer), groups, colors, time_unit)
        zoom_stages |= {b.stage for b in layers.bars}
    shown = _gantt_legend(fig, ax, bars, patches, zoom_stages, colors)
    if layers is not None:
        _place_layers(fig, layers)

    saved = _save(fig, path)
    return GanttPlot(figure=fig, path=saved, bars=bars, row_labels=row_labels, bar_rows=tuple(bar_rows),
                     bar_lanes=tuple(bar_lanes), stage_colors=colors, patches=tuple(patches), zooms=tuple(zooms),
                     legend_stages=shown, layers=layers)


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
class HistogramPlot(SavedPlot):
    """Result of :func:`histograms`: one entry per subplot, in input order."""

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


@_styled
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
    # One title: a lone histogram carries it on its axes, several share a figure title.
    if n > 1:
        fig.suptitle(title)

    entries = []
    for k, (name, raw, xlabel) in enumerate(samples):
        ax = axes[k // ncols, k % ncols]
        values = np.asarray(raw, dtype=float).ravel()
        finite = values[np.isfinite(values)]
        dropped = int(values.size - finite.size)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("count (samples)")
        suffix = f", {dropped} non-finite dropped" if dropped else ""
        ax.set_title(title if n == 1 else name)
        if finite.size == 0:
            ax.text(0.5, 0.5, "no finite samples", ha="center", va="center", transform=ax.transAxes)
            entries.append(
                HistogramEntry(name, np.zeros(0, dtype=int), np.zeros(0), math.nan, xlabel, dropped)
            )
            continue
        counts, edges = _histogram(finite, bins)
        mean = float(finite.mean())
        ax.stairs(counts, edges, fill=True, alpha=0.75, color="tab:blue", label=f"samples (n = {finite.size}{suffix})")
        _scaled_axis(ax, "x", edges, xlabel)
        ax.axvline(mean, color="tab:red", linestyle="--", linewidth=2.0, label=f"mean = {_precise(mean)}")
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
class ContourPlot(SavedPlot):
    """Result of :func:`contour`: filled levels, and whether the z = 0 break-even line was drawn."""

    levels: np.ndarray
    sign_change: bool
    zero_line: bool
    note: str | None
    operating_point: tuple[float, float] | None
    operating_point_inside: bool = False


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


@_styled
def contour(
    x: Sequence[float],
    y: Sequence[float],
    z: np.ndarray,
    path: str | Path,
    *,
    xlabel: str, ylabel: str, zlabel: str, title: str,
    operating_point: tuple[float, float] | None = None,
    zero_level: bool = True,
    log_x: bool = False,
    log_y: bool = False,
) -> ContourPlot:
    """Draw a filled contour of z(x, y) with its break-even (z = 0) line, to show where a
    design wins.  The axes span exactly the grid (log axes, ticked at the grid's values,
    for geometric grids); an operating point off the grid is named in the legend."""
    from matplotlib.lines import Line2D
    xs, ys, zs = _sorted_grid(x, y, z)
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
    levels, norm, cmap = _contour_levels(zmin, zmax, sign_change)
    filled = ax.contourf(xs, ys, zm, levels=levels, cmap=cmap, norm=norm)
    bar = fig.colorbar(filled, ax=ax)
    _scaled_axis(bar.ax, "y", levels, zlabel)

    handles = []
    zero_line = False
    note = None
    if zero_level and sign_change:
        zc = ax.contour(xs, ys, zm, levels=[0.0], colors="black", linewidths=3.0, zorder=3)
        zero_line = any(len(p.vertices) > 0 for p in zc.get_paths())
        if zero_line:
            handles.append(Line2D([], [], color="black", linewidth=3.0, label=f"break-even ({zlabel} = 0)"))
    if zero_level and not sign_change:
        note = _sign_note(zmin, zmax)
        handles.append(Line2D([], [], linestyle="none", label=note))

    op, inside = None, False
    if operating_point is not None:
        op = (float(operating_point[0]), float(operating_point[1]))
        inside = bool(xs[0] <= op[0] <= xs[-1] and ys[0] <= op[1] <= ys[-1])
        handles.append(_operating_point(ax, op, inside))

    _grid_axes(ax, xs, ys, xlabel, ylabel, log_x, log_y)
    if handles:
        # Below the axes, so neither the legend nor the note hides part of the map.
        ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncols=min(len(handles), 3),
                  frameon=False)
    ax.set_title(title)

    saved = _save(fig, path)
    return ContourPlot(figure=fig, path=saved, levels=np.asarray(filled.levels, dtype=float),
                       sign_change=sign_change, zero_line=zero_line, note=note, operating_point=op,
                       operating_point_inside=inside)


def _sorted_grid(x, y, z) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Check a z(y, x) grid and return it with both axes ascending (a sweep may list its
    values in any order)."""
    xs = _as_1d("x", x)
    ys = _as_1d("y", y)
    zs = np.asarray(z, dtype=float)
    if zs.shape != (ys.size, xs.size):
        raise ValueError(f"z must have shape (len(y), len(x)) = {(ys.size, xs.size)}, got {zs.shape}")
    if xs.size < 2 or ys.size < 2:
        raise ValueError("contour needs at least a 2 x 2 grid")
    ox, oy = np.argsort(xs, kind="stable"), np.argsort(ys, kind="stable")
    return xs[ox], ys[oy], zs[np.ix_(oy, ox)]


def _contour_levels(zmin: float, zmax: float, sign_change: bool):
    """Filled-contour levels, norm and colormap: a diverging map centred on 0 when the
    grid changes sign (gain and loss at a glance), viridis otherwise."""
    from matplotlib.colors import Normalize, TwoSlopeNorm
    from matplotlib.ticker import MaxNLocator
    if zmin == zmax:
        half = abs(zmin) * 0.01 if zmin != 0.0 else 0.5
        levels = np.array([zmin - half, zmin + half])
    else:
        # "Nice" ticks are multiples of the step, so 0 is a level boundary whenever
        # the range spans it and the break-even line sits on a color boundary.
        levels = MaxNLocator(nbins=15).tick_values(zmin, zmax)
    if sign_change:
        return levels, TwoSlopeNorm(vcenter=0.0, vmin=float(levels[0]), vmax=float(levels[-1])), "RdBu_r"
    return levels, Normalize(vmin=float(levels[0]), vmax=float(levels[-1])), "viridis"


def _operating_point(ax, op: tuple[float, float], inside: bool):
    """Mark the operating point with a star (never clipped at the grid's edge); off the
    grid it is not drawn, and its legend entry says where it is."""
    from matplotlib.lines import Line2D
    label = f"operating point ({_fmt(op[0])}, {_fmt(op[1])})"
    style = dict(linestyle="none", marker="*", markersize=18, markerfacecolor="gold", markeredgecolor="black")
    if inside:
        (marker,) = ax.plot([op[0]], [op[1]], zorder=4, clip_on=False, label=label, **style)
        return marker
    return Line2D([], [], label=label + ": outside the grid", **{**style, "markerfacecolor": "none"})


def _grid_axes(ax, xs: np.ndarray, ys: np.ndarray, xlabel: str, ylabel: str, log_x: bool, log_y: bool) -> None:
    """Axes spanning exactly the swept grid; log axes get ticks at the swept values."""
    if log_x:
        ax.set_xscale("log")
        _value_ticks(ax.xaxis, xs)
    if log_y:
        ax.set_yscale("log")
        _value_ticks(ax.yaxis, ys)
    ax.set_xlim(float(xs[0]), float(xs[-1]))
    ax.set_ylim(float(ys[0]), float(ys[-1]))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)


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
class SweepPlot(SavedPlot):
    """Result of :func:`sweep_lines`."""

    x: np.ndarray
    series: tuple[SweepSeries, ...]
    log_x: bool
    log_y: bool = False


@_styled
def sweep_lines(
    x: Sequence[float],
    series: Sequence[tuple[str, np.ndarray, np.ndarray]],
    path: str | Path,
    *,
    xlabel: str,
    ylabel: str,
    title: str,
    logx: bool = False,
    reference: tuple[float, str] | None = None,
    xticklabels: Sequence[str] | None = None,
) -> SweepPlot:
    """Plot curves over a swept parameter, to compare designs across its range: error
    bars of ± one std only where results vary over trials; a log axis ticked at the swept
    values for geometric or wide grids; ``reference`` (value, label) draws a horizontal
    line (a ratio's 1); ``xticklabels`` names each x (points without a numeric axis)."""
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
    log_x = xticklabels is None and (logx or (positive and xs.max() / xs.min() >= 100.0))
    varies = any(bool(np.any(np.nan_to_num(s.std) > 0)) for s in drawn)

    fig, axes = _figure()
    ax = axes[0, 0]
    same = _coinciding(drawn)
    for i, s in enumerate(drawn):
        # A line on top of an earlier identical one is drawn thinner, so every color shows,
        # and its legend entry says whose line it follows.
        label = s.label if same[i] is None else f"{s.label} (same as {drawn[same[i]].label})"
        width = 1.5 + 2.0 * sum(1 for j in range(i + 1, len(drawn)) if same[j] is not None and
                                (same[j] == i or same[j] == same[i]))
        if varies:
            ax.errorbar(xs, s.mean, yerr=s.std, marker="o", markersize=4 + width - 1.5, capsize=3, label=label,
                        linewidth=width)
        else:
            ax.plot(xs, s.mean, marker="o", markersize=4 + width - 1.5, label=label, linewidth=width)
    if reference is not None:
        ax.axhline(reference[0], color="black", linestyle="--", linewidth=1.0, zorder=1, label=reference[1])
    if log_x:
        ax.set_xscale("log")
        _value_ticks(ax.xaxis, xs)
    elif xticklabels is not None:
        ax.set_xticks(xs, list(xticklabels), rotation=30, ha="right")
    ax.set_xlabel(xlabel)
    ys = np.concatenate([s.mean for s in drawn])
    # Values over two decades or more (latency against a geometric grid) on a log axis.
    log_y = _wide_range(ys) and not varies and reference is None
    if log_y:
        ax.set_yscale("log")
        _plain_log(ax.yaxis, ys, ylabel)
    else:
        _scaled_axis(ax, "y", ys, ylabel)
    ax.set_title(title)
    ax.legend(title="mean ± std over trials" if varies else None)

    saved = _save(fig, path)
    return SweepPlot(figure=fig, path=saved, x=xs, series=tuple(drawn), log_x=bool(log_x), log_y=bool(log_y))


def _coinciding(drawn: Sequence[SweepSeries]) -> list[int | None]:
    """For each series, the index of the first earlier one with the same means and stds
    (to 1e-12), else None: lines that would hide one another."""
    out: list[int | None] = []
    for i, s in enumerate(drawn):
        out.append(next((j for j in range(i) if out[j] is None and
                         np.allclose(s.mean, drawn[j].mean, rtol=1e-12, atol=0, equal_nan=True) and
                         np.allclose(s.std, drawn[j].std, rtol=1e-12, atol=0, equal_nan=True)), None))
    return out


# --------------------------------------------------------------------------
# heatmap
# --------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class HeatmapPlot(SavedPlot):
    """Result of :func:`heatmap`: the grid and, when annotated, each cell's text (row-major, y then x)."""

    z: np.ndarray
    annotated: bool
    cell_text: tuple[tuple[str, ...], ...]


@_styled
def heatmap(
    x: Sequence[object],
    y: Sequence[object],
    z: np.ndarray,
    path: str | Path,
    *,
    xlabel: str, ylabel: str, zlabel: str, title: str,
    fmt: str | None = None,
) -> HeatmapPlot:
    """Draw z over a (possibly non-uniform or categorical) x-y grid, annotating cells
    with their value in ``fmt`` (the quantity's declared format) while the text fits."""
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
    bar = fig.colorbar(image, ax=ax)
    _scaled_axis(bar.ax, "y", zs, zlabel)
    xt, yt = _tick_positions(len(xv)), _tick_positions(len(yv))
    ax.set_xticks(xt, [_fmt(xv[i]) for i in xt])
    ax.set_yticks(yt, [_fmt(yv[i]) for i in yt])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(False)

    texts = [[_cell_text(v, fmt, zs) for v in row] for row in zs]
    _clip_texts(fig)
    fig.canvas.draw()  # the cell size in pixels decides whether the text fits
    cell_px = ax.get_window_extent().width / len(xv)
    longest = max(len(t) for row in texts for t in row)
    # About 0.6 em per character; below 6 pt the numbers are unreadable.
    size = min(10.0, cell_px / (0.62 * longest) * 72.0 / fig.dpi)
    annotated = len(xv) <= _MAX_ANNOTATED_CELLS and len(yv) <= _MAX_ANNOTATED_CELLS and size >= 6.0
    if annotated:
        norm = image.norm
        for i, row in enumerate(texts):
            for j, text in enumerate(row):
                v = zs[i, j]
                # viridis is bright at the top: dark text there, light below;
                # missing cells are left blank (white), so they get dark text.
                dark_text = not np.isfinite(v) or float(norm(v)) > 0.6
                ax.text(j, i, text, ha="center", va="center", fontsize=size, color="black" if dark_text else "white")
    cell_text = tuple(tuple(row) for row in texts) if annotated else ()

    saved = _save(fig, path)
    return HeatmapPlot(figure=fig, path=saved, z=zs, annotated=annotated, cell_text=cell_text)


def _cell_text(v: float, fmt: str | None, grid: np.ndarray) -> str:
    """A heatmap cell's text: the declared ``fmt``; without one, the fewest significant
    digits (3 to 8) that tell the grid's distinct values apart."""
    if not np.isfinite(v):
        return "n/a"
    if fmt:
        return format(float(v), fmt)
    values = np.unique(grid[np.isfinite(grid)])
    for digits in range(3, 9):
        if len({_short(x, digits) for x in values}) == values.size:
            break
    return _short(float(v), digits)


def _short(v: float, digits: int) -> str:
    """``v`` with ``digits`` significant digits, in plain notation where it is readable."""
    s = f"{float(v):.{digits}g}"
    return _precise(v, digits) if "e" in s and 1e-4 <= abs(v) < 1e12 else s


# --------------------------------------------------------------------------
# bar chart
# --------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class BarPlot(SavedPlot):
    """Result of :func:`bars`: one value per label, plus the annotation text shown on each bar."""

    labels: tuple[str, ...]
    values: np.ndarray
    annotations: tuple[str, ...]


@_styled
def bars(
    labels: Sequence[str],
    values: Sequence[float],
    path: str | Path,
    *,
    ylabel: str,
    title: str,
    xlabel: str = "configuration",
    fmt: str | None = None,
    reference: tuple[float, str] | None = None,
) -> BarPlot:
    """Draw an annotated bar chart, used to compare ablation variants side by side: each
    bar labelled with its value in ``fmt`` (the quantity's declared format), and
    ``reference`` (value, label) drawn as a dashed line (a ratio's 1)."""
    names = tuple(_clip(str(label)) for label in labels)
    vals = _as_1d("values", values)
    if vals.size != len(names):
        raise ValueError(f"bars: {len(names)} labels but {vals.size} values")
    if not names:
        raise ValueError("bars: nothing to draw")

    fig, axes = _figure()
    ax = axes[0, 0]
    positions = np.arange(len(names))
    container = ax.bar(positions, vals, color="tab:blue", edgecolor="black", linewidth=0.5, zorder=2)
    annotations = tuple(format(float(v), fmt) if fmt and math.isfinite(v) else _fmt(float(v)) for v in vals)
    ax.bar_label(container, labels=list(annotations), padding=3, fontsize=9)
    # Long or many labels are rotated so they do not collide.
    rotate = len(names) > 6 or max(len(n) for n in names) > 12
    ax.set_xticks(positions, names, rotation=30 if rotate else 0, ha="right" if rotate else "center")
    ax.axhline(0.0, color="black", linewidth=0.8, zorder=1)
    if reference is not None:
        ax.axhline(reference[0], color="black", linestyle="--", linewidth=1.0, zorder=3, label=reference[1])
        ax.legend(loc="upper left")
    ax.margins(y=0.12)  # headroom for the value labels
    ax.set_xlabel(xlabel)
    _scaled_axis(ax, "y", vals, ylabel)
    ax.set_title(title)
    ax.grid(axis="x", visible=False)

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
class OverlayPlot(SavedPlot):
    """Result of :func:`measured_overlay`."""

    panels: tuple[OverlayPanel, ...]
    log_x: bool


def _wide_range(values: np.ndarray) -> bool:
    """Positive values spanning two decades or more: unreadable on a linear axis."""
    v = values[np.isfinite(values)]
    return v.size > 0 and bool(np.all(v > 0)) and v.max() / v.min() >= 100.0


_OVERLAY_DASHES = (("-", 3.0), ("--", 1.6), ("-.", 1.6), (":", 2.0))


def _overlay_panel(ax, panel: OverlayPanel, colors, dashes, xlabel: str, log_x: bool) -> None:
    """One quantity of the overlay: each table's model line and measured markers."""
    for s in panel.series:
        order = np.argsort(s.x, kind="stable")
        style, width = dashes[s.label]
        ax.plot(s.x[order], s.model[order], linestyle=style, color=colors[s.label], linewidth=width)
        ax.plot(s.x[order], s.measured[order], "o", color=colors[s.label], markersize=5, markerfacecolor="none")
    if log_x:
        ax.set_xscale("log")
        _plain_log(ax.xaxis, np.concatenate([s.x for s in panel.series]))
    if panel.log_y:
        ax.set_yscale("log")
        _plain_log(ax.yaxis, np.concatenate([np.concatenate([s.measured, s.model]) for s in panel.series]),
                   panel.ylabel)
    else:
        _scaled_axis(ax, "y", np.concatenate([np.concatenate([s.measured, s.model]) for s in panel.series]),
                     panel.ylabel)
    ax.set_xlabel(xlabel)
    ax.set_title(panel.name)


@_styled
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
    import matplotlib
    from matplotlib.lines import Line2D
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
    # Each table's model line has its own dash pattern and width, so model lines that
    # coincide (the same configurations in two tables) stay visible one over the other.
    dashes = {label: _OVERLAY_DASHES[i % len(_OVERLAY_DASHES)] for i, label in enumerate(labels)}
    for k, panel in enumerate(drawn):
        _overlay_panel(axes[k // ncols, k % ncols], panel, colors, dashes, xlabel, log_x)
    for k in range(len(drawn), nrows * ncols):
        axes[k // ncols, k % ncols].set_visible(False)
    handles = []
    for label in labels:
        handles.append(Line2D([], [], color=colors[label], marker="o", markerfacecolor="none", linestyle="none",
                              label=f"{label}: measured"))
        handles.append(Line2D([], [], color=colors[label], linestyle=dashes[label][0], linewidth=dashes[label][1],
                              label=f"{label}: model at its rows"))
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 4))
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
class RooflinePlot(SavedPlot):
    """Result of :func:`roofline`: the roofs (and their ridge points) and the groups drawn."""

    peak: float
    bandwidth: float
    ridge: float
    achievable_peak: float | None
    achievable_bandwidth: float | None
    achievable_ridge: float | None
    groups: tuple[RooflineGroup, ...]


def _ridge(ax, ridge: float, peak: float, x_unit: str | None, color: str, below: bool = False) -> None:
    """Mark a roof's ridge point (where memory-bound turns compute-bound) and label it,
    above its roof (``below``: under it, clear of the roof drawn above)."""
    ax.axvline(ridge, color=color, linestyle=":", linewidth=0.8)
    ax.annotate(f"ridge {_fmt(ridge)}{' ' + x_unit if x_unit else ''}", (ridge, peak),
                xytext=(4, -4 if below else 4), textcoords="offset points", fontsize=8, color=color, ha="left",
                va="top" if below else "bottom")


@_styled
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
    x_unit: str | None = None,
    y_unit: str | None = None,
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
    lo, hi = min(xs_all) / 4.0, max(xs_all) * 4.0
    grid = np.geomspace(lo, hi, 400)

    fig, axes = _figure()
    ax = axes[0, 0]
    yu = f" {y_unit}" if y_unit else ""
    per = f" per {x_unit}" if x_unit else " per unit of intensity"
    ax.plot(grid, np.minimum(peak, bandwidth * grid), "-", color="black", linewidth=2.0,
            label=f"roof: peak {_fmt(peak)}{yu}, slope {_fmt(bandwidth)}{yu}{per}")
    _ridge(ax, ridge, peak, x_unit, "black")
    if a_ridge is not None:
        ax.plot(grid, np.minimum(achievable_peak, achievable_bandwidth * grid), "--", color="dimgray", linewidth=1.5,
                label=f"achievable: peak {_fmt(achievable_peak)}{yu}, slope {_fmt(achievable_bandwidth)}{yu}{per}")
        _ridge(ax, a_ridge, achievable_peak, x_unit, "dimgray", below=True)
    # A label names a series (a table, a design): its measured and model groups share a color.
    colors = _qualitative_colors([g.label for g in drawn])
    for g in drawn:
        color = colors[g.label]
        if g.kind == "measured":
            ax.plot(g.intensity, g.throughput, "o", color=color, markerfacecolor="none", markersize=7,
                    label=f"{g.label} (measured)")
        else:
            ax.plot(g.intensity, g.throughput, "x", color=color, markersize=6, label=f"{g.label} (model)")
    intensities = np.unique([float(v) for g in drawn for v in g.intensity if np.isfinite(v)])
    if intensities.size == 1:
        # The model's intensity does not depend on what was swept: say so rather than
        # leave a lone column of points unexplained.
        ax.plot([], [], linestyle="none",
                label=f"every point at intensity {_fmt(float(intensities[0]))}{' ' + x_unit if x_unit else ''}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    _plain_log(ax.xaxis)
    _plain_log(ax.yaxis)
    ax.set_xlim(lo, hi)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=8, loc="lower right")

    saved = _save(fig, path)
    return RooflinePlot(figure=fig, path=saved, peak=float(peak), bandwidth=float(bandwidth), ridge=float(ridge),
                        achievable_peak=achievable_peak, achievable_bandwidth=achievable_bandwidth,
                        achievable_ridge=a_ridge, groups=tuple(drawn))


# --------------------------------------------------------------------------
# index
# --------------------------------------------------------------------------


def write_index(out_dir: str | Path, entries: Sequence[tuple[str, str]], notes: Sequence[str] = ()) -> Path:
    """Write ``index.md`` in ``out_dir`` listing each plot file with a one-line caption,
    then the notes on what was not plotted (and why), for browsing outputs."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    lines = ["# Plots", ""]
    for filename, caption in entries:
        # Captions are forced onto one line so each entry stays one list item.
        one_line = " ".join(str(caption).split())
        name = str(filename)
        # Angle brackets let link targets contain spaces or parentheses.
        lines.append(f"- [{name}](<{name}>): {one_line}")
    if notes:
        lines += ["", "## Not plotted", ""]
        lines += [f"- {' '.join(str(note).split())}" for note in notes]
    lines.append("")
    index = out / "index.md"
    index.write_text("\n".join(lines), encoding="utf-8")
    return index
