"""Tests for spattenc.plots: the plotted data, not only the files written."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.patches import Rectangle

from spattenc.present import plots
from spattenc.present.plots import GanttBar


def _gantt_rows() -> list[GanttBar]:
    """A small two-design schedule using every bar kind."""
    return [
        GanttBar("baseline", 0, "qk", 0.0, 10.0, "stage"),
        GanttBar("baseline", 0, "softmax", 10.0, 14.5, "stage"),
        GanttBar("baseline", 1, "qk", 14.5, 24.5, "stage"),
        GanttBar("spatten", 0, "qk", 0.0, 6.0, "stage"),
        GanttBar("spatten", 0, "topk", 4.0, 7.25, "overlay"),
        GanttBar("spatten", 1, "qk", 7.25, 9.0, "wasted"),
        GanttBar("spatten", 1, "qk", 9.0, 12.0, "corrective"),
    ]


def test_gantt_rectangles_match_bars(tmp_path):
    rows = _gantt_rows()
    result = plots.gantt(rows, tmp_path / "g.png", title="schedule", time_unit="cycles")
    assert result.path.is_file() and result.path.stat().st_size > 0
    assert [(b.design, b.layer, b.stage, b.start, b.end) for b in result.bars] == [
        (b.design, b.layer, b.stage, b.start, b.end) for b in rows
    ]

    ax = result.figure.axes[0]
    rects = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(rects) == len(rows)
    assert list(result.patches) == rects
    for bar, rect in zip(rows, rects):
        assert rect.get_x() == bar.start
        assert rect.get_width() == pytest.approx(bar.end - bar.start, abs=0.0)

    # Rows are grouped by design (first-appearance order), layers ascending.
    assert result.row_labels == ("baseline L0", "baseline L1", "spatten L0", "spatten L1")
    assert [lbl.get_text() for lbl in ax.get_yticklabels()] == list(result.row_labels)
    assert result.bar_rows == (0, 0, 1, 2, 2, 3, 3)
    # spatten L0's topk [4, 7.25) overlaps its qk [0, 6): a parallel branch, in a second
    # sub-row; the wasted and corrective segments of L1 follow each other in one.
    assert result.bar_lanes == (0, 0, 0, 0, 1, 0, 0)
    # Bars sit on their sub-row: rows take one unit per sub-row, top to bottom.
    for y, rect in zip((0, 0, 1, 2, 3, 4, 4), rects):
        assert rect.get_y() + rect.get_height() / 2 == pytest.approx(y)
    # The row label sits between its sub-rows.
    assert list(ax.get_yticks()) == [0.0, 1.0, 2.5, 4.0]
    # The overlapping row gets a zoom panel holding exactly its bars.
    (zoom,) = result.zooms
    assert (zoom.design, zoom.layer) == ("spatten", 0)
    assert [(b.stage, b.start, b.end) for b in zoom.bars] == [("qk", 0.0, 6.0), ("topk", 4.0, 7.25)]

    assert ax.get_xlabel() == "time (cycles)"
    assert ax.get_title() == "schedule"
    legend_texts = {t.get_text() for t in ax.get_legend().get_texts()}
    assert {"qk", "softmax", "topk"} <= legend_texts
    assert {"overlay (overlapped work)", "wasted work", "corrective work"} <= legend_texts


def test_gantt_styles_and_stable_colors(tmp_path):
    rows = _gantt_rows()
    result = plots.gantt(rows, tmp_path / "g.svg", title="t")
    # Colors come from sorted stage names, independent of input order.
    again = plots.gantt(list(reversed(rows)), tmp_path / "g2.png", title="t")
    assert dict(result.stage_colors) == dict(again.stage_colors)
    assert list(result.stage_colors) == ["qk", "softmax", "topk"]

    by_kind = {bar.kind: rect for bar, rect in zip(result.bars, result.patches)}
    # An overlay is hatched and drawn in its own sub-row, below the stage it overlaps.
    assert by_kind["overlay"].get_y() > by_kind["stage"].get_y() + by_kind["stage"].get_height() - 1
    assert by_kind["stage"].get_hatch() is None
    hatches = {by_kind[k].get_hatch() for k in ("overlay", "wasted", "corrective")}
    assert None not in hatches and len(hatches) == 3


def test_gantt_rejects_bad_bars(tmp_path):
    with pytest.raises(ValueError):
        GanttBar("d", 0, "s", 5.0, 1.0, "stage")
    with pytest.raises(ValueError):
        GanttBar("d", 0, "s", 0.0, 1.0, "bogus")
    with pytest.raises(ValueError):
        plots.gantt([], tmp_path / "empty.png", title="t")


def test_histogram_counts_sum_to_sample_count(tmp_path):
    rng = np.random.default_rng(0)
    a = rng.normal(100.0, 5.0, size=500)
    b = rng.exponential(2.0, size=123)
    c = np.array([1.0, 2.0, 3.0])
    result = plots.histograms(
        [("latency", a, "latency (cycles)"), ("energy", b, "energy (nJ)"), ("few", c, "x (units)")],
        tmp_path / "h.png",
        title="distributions",
    )
    assert len(result.entries) == 3
    for entry, values in zip(result.entries, (a, b, c)):
        assert entry.counts.sum() == len(values)
        assert len(entry.edges) == len(entry.counts) + 1
        assert entry.edges[0] <= values.min() and entry.edges[-1] >= values.max()
        assert entry.mean == pytest.approx(values.mean())
    # The mean is marked on each subplot.
    ax0 = result.figure.axes[0]
    assert any(line.get_xdata()[0] == pytest.approx(a.mean()) for line in ax0.get_lines())
    assert ax0.get_xlabel() == "latency (cycles)"
    # Odd entry count: the spare subplot cell is hidden.
    assert sum(ax.get_visible() for ax in result.figure.axes) == 3


def test_histogram_constant_and_explicit_bins(tmp_path):
    constant = np.full(40, 7.5)
    result = plots.histograms([("flat", constant, "value (cycles)")], tmp_path / "c.png", title="t")
    (entry,) = result.entries
    assert entry.counts.tolist() == [40]
    assert entry.edges[0] < 7.5 < entry.edges[1]

    zeros = np.zeros(5)
    result = plots.histograms([("zero", zeros, "value (cycles)")], tmp_path / "z.png", title="t", bins=10)
    assert result.entries[0].counts.tolist() == [5]

    data = np.arange(100, dtype=float)
    result = plots.histograms([("ramp", data, "x (units)")], tmp_path / "b.png", title="t", bins=10)
    assert len(result.entries[0].counts) == 10
    assert result.entries[0].counts.sum() == 100


def test_histogram_drops_non_finite(tmp_path):
    values = np.array([1.0, 2.0, np.nan, np.inf, 3.0])
    result = plots.histograms([("v", values, "v (units)")], tmp_path / "n.png", title="t")
    entry = result.entries[0]
    assert entry.dropped == 2
    assert entry.counts.sum() == 3


def _zero_paths(ax) -> int:
    """Count vertices of black zero-level contour lines drawn on ``ax``."""
    from matplotlib.contour import ContourSet

    total = 0
    for coll in ax.collections:
        if isinstance(coll, ContourSet) and not coll.filled and list(coll.levels) == [0.0]:
            total += sum(len(p.vertices) for p in coll.get_paths())
    return total


def test_contour_zero_line_present_when_sign_changes(tmp_path):
    x = np.linspace(0.0, 1.0, 21)
    y = np.linspace(0.0, 2.0, 11)
    z = x[None, :] - 0.5 * y[:, None]  # crosses zero along x = y / 2
    result = plots.contour(
        x, y, z, tmp_path / "c.png",
        xlabel="sparsity (fraction)", ylabel="bandwidth (GB/s)", zlabel="speedup gain (x)",
        title="break-even", operating_point=(0.3, 1.0),
    )
    assert result.sign_change and result.zero_line
    assert result.note is None
    ax = result.figure.axes[0]
    assert _zero_paths(ax) > 0
    assert result.levels.min() <= z.min() and result.levels.max() >= z.max()
    legend_texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("break-even" in t for t in legend_texts)
    assert any("operating point" in t for t in legend_texts)
    star = [ln for ln in ax.get_lines() if ln.get_marker() == "*"]
    assert len(star) == 1 and star[0].get_xdata()[0] == 0.3 and star[0].get_ydata()[0] == 1.0


def test_contour_no_zero_line_when_all_positive(tmp_path):
    x = np.linspace(1.0, 2.0, 5)
    y = np.linspace(1.0, 3.0, 4)
    z = x[None, :] * y[:, None]
    result = plots.contour(
        x, y, z, tmp_path / "c.png",
        xlabel="a (units)", ylabel="b (units)", zlabel="z (units)", title="positive",
    )
    assert not result.sign_change and not result.zero_line
    assert result.note == "no break-even in grid (all positive)"
    ax = result.figure.axes[0]
    assert _zero_paths(ax) == 0
    assert result.note in [t.get_text() for t in ax.get_legend().get_texts()]


def test_contour_all_negative_and_touching_zero(tmp_path):
    x = np.arange(3.0)
    y = np.arange(2.0)
    neg = -np.ones((2, 3)) - x[None, :]
    result = plots.contour(x, y, neg, tmp_path / "n.png", xlabel="x", ylabel="y", zlabel="z", title="t")
    assert not result.zero_line and "all negative" in result.note

    touch = np.array([[0.0, 1.0, 2.0], [1.0, 2.0, 3.0]])
    result = plots.contour(x, y, touch, tmp_path / "t.png", xlabel="x", ylabel="y", zlabel="z", title="t")
    assert not result.sign_change and not result.zero_line

    with_zero = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0]])
    result = plots.contour(x, y, with_zero, tmp_path / "w.png", xlabel="x", ylabel="y", zlabel="z", title="t")
    assert result.sign_change and result.zero_line


def test_contour_constant_grid_and_shape_check(tmp_path):
    x = np.arange(3.0)
    y = np.arange(2.0)
    result = plots.contour(x, y, np.full((2, 3), 4.0), tmp_path / "k.png", xlabel="x", ylabel="y", zlabel="z", title="t")
    assert not result.zero_line
    with pytest.raises(ValueError):
        plots.contour(x, y, np.ones((3, 2)), tmp_path / "bad.png", xlabel="x", ylabel="y", zlabel="z", title="t")


@pytest.mark.parametrize(
    ("suffix", "magic"),
    [(".png", b"\x89PNG"), (".svg", b"<?xml"), (".pdf", b"%PDF")],
)
def test_sweep_lines_format_from_suffix(tmp_path, suffix, magic):
    x = np.array([1.0, 2.0, 4.0, 8.0])
    series = [
        ("baseline", np.array([1.0, 2.0, 3.0, 4.0]), np.array([0.1, 0.1, 0.2, 0.2])),
        ("spatten", np.array([0.5, 1.0, 1.2, 1.5]), np.zeros(4)),
    ]
    result = plots.sweep_lines(
        x, series, tmp_path / f"s{suffix}", xlabel="heads (count)", ylabel="latency (cycles)", title="sweep"
    )
    data = result.path.read_bytes()
    assert data.startswith(magic)
    assert not result.log_x
    ax = result.figure.axes[0]
    assert ax.get_xscale() == "linear"
    assert [s.label for s in result.series] == ["baseline", "spatten"]
    assert len(ax.get_legend().get_texts()) == 2
    # The plotted line data equal the given means.
    lines = [ln for ln in ax.get_lines() if ln.get_marker() == "o"]
    assert np.array_equal(lines[0].get_ydata(), series[0][1])
    assert np.array_equal(lines[1].get_xdata(), x)


def test_sweep_lines_log_axis(tmp_path):
    x = np.array([1.0, 10.0, 100.0, 1000.0])
    s = [("a", np.ones(4), np.zeros(4))]
    auto = plots.sweep_lines(x, s, tmp_path / "a.png", xlabel="n (tokens)", ylabel="t (s)", title="t")
    assert auto.log_x and auto.figure.axes[0].get_xscale() == "log"

    narrow = np.array([1.0, 2.0, 3.0, 4.0])
    forced = plots.sweep_lines(narrow, s, tmp_path / "f.png", xlabel="n", ylabel="t", title="t", logx=True)
    assert forced.log_x

    with pytest.raises(ValueError):
        plots.sweep_lines(np.array([0.0, 1.0, 2.0, 3.0]), s, tmp_path / "z.png", xlabel="n", ylabel="t", title="t", logx=True)
    with pytest.raises(ValueError):
        plots.sweep_lines(x, [("bad", np.ones(3), np.ones(3))], tmp_path / "b.png", xlabel="n", ylabel="t", title="t")
    with pytest.raises(ValueError):
        plots.sweep_lines(x, s, tmp_path / "s.jpg", xlabel="n", ylabel="t", title="t")


def test_heatmap_annotates_small_grids_only(tmp_path):
    x = [1, 2, 4]
    y = ["fp16", "int8"]
    z = np.array([[1.0, 2.5, np.nan], [4.0, 5.0, 6.0]])
    result = plots.heatmap(x, y, z, tmp_path / "h.png", xlabel="batch (count)", ylabel="precision", zlabel="energy (nJ)", title="t")
    assert result.annotated
    assert result.cell_text == (("1", "2.5", "n/a"), ("4", "5", "6"))
    ax = result.figure.axes[0]
    assert [t.get_text() for t in ax.texts] == ["1", "2.5", "n/a", "4", "5", "6"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "2", "4"]

    big = np.arange(20 * 13, dtype=float).reshape(13, 20)
    result = plots.heatmap(np.arange(20), np.arange(13), big, tmp_path / "big.png", xlabel="x", ylabel="y", zlabel="z", title="t")
    assert not result.annotated and result.cell_text == ()
    assert len(result.figure.axes[0].texts) == 0


def test_bars_values_and_annotations(tmp_path):
    labels = ["full", "no-prune", "no-quant"]
    values = [1.0, 1.75, -0.25]
    result = plots.bars(labels, values, tmp_path / "b.png", ylabel="speedup (x)", title="ablation")
    ax = result.figure.axes[0]
    rects = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert [r.get_height() for r in rects] == values
    assert result.annotations == ("1", "1.75", "-0.25")
    assert {"1", "1.75", "-0.25"} <= {t.get_text() for t in ax.texts}
    with pytest.raises(ValueError):
        plots.bars(["a"], [1.0, 2.0], tmp_path / "x.png", ylabel="y", title="t")


def test_write_index(tmp_path):
    index = plots.write_index(tmp_path / "out", [("gantt.png", "Schedule of\nall designs"), ("sweep.svg", "Latency sweep")])
    text = index.read_text(encoding="utf-8")
    assert index.name == "index.md"
    assert "- [gantt.png](<gantt.png>): Schedule of all designs" in text
    assert "- [sweep.svg](<sweep.svg>): Latency sweep" in text
