"""Plots judged by their pixels: every plot kind rendered for the shipped specs (their
declared sweeps, few trials, in-process) and checked with matplotlib's geometry (axes
boxes and artist extents in pixels) and the rendered PNG as a numpy array.

Each check is written against a figure a person would find wrong: a contour squeezed
into a sliver, axes running past the grid, invisible Gantt bars, parallel branches on
top of each other, plots of quantities that never change, hidden model lines."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest
from matplotlib.colors import to_rgba

from spattenc import cli
from spattenc.present import plots
from spattenc.present import plotset

ROOT = Path(__file__).resolve().parents[1]
SPECS = ROOT / "specs"
EXAMPLES = ROOT / "examples"


def make_run(*argv: str) -> cli.Run:
    return cli.Run(cli.build_parser().parse_args(list(argv)))


def swept(tmp: Path, *argv: str):
    """Render a sweep's (or cases') plots; returns ({file: plot}, notes, run, results)."""
    run = make_run("eval", *argv)
    res = run.swept(quiet=True)
    entries, notes = plotset.swept_plots(tmp, "png", run, res)
    return {name: p for name, _, p in entries}, notes, run, res


def pixels(path: Path) -> np.ndarray:
    """The saved PNG as an (H, W, 3) float array."""
    return matplotlib.image.imread(str(path))[..., :3]


def box(artist_or_ax, height: int) -> tuple[int, int, int, int]:
    """An artist's pixel box in the PNG as (row0, row1, col0, col1), rows top down."""
    bb = artist_or_ax.get_window_extent()
    return (int(math.ceil(height - bb.y1)), int(math.floor(height - bb.y0)), int(math.ceil(bb.x0)),
            int(math.floor(bb.x1)))


def drawn_fraction(img: np.ndarray, ax) -> float:
    """Share of an axes' interior pixels that are not background white."""
    r0, r1, c0, c1 = box(ax, img.shape[0])
    inner = img[r0 + 2:r1 - 2, c0 + 2:c1 - 2]
    return float(np.mean(np.any(inner < 0.97, axis=-1)))


# ---------------------------------------------------------------- contour


@pytest.fixture(scope="module")
def cv_grid(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cv_grid")
    return tmp, *swept(tmp, str(SPECS / "cv_demo.spt"), "--sweep", "pr_coarse", "--trials", "2",
                       "--set", "num_layers=4")


@pytest.mark.parametrize("grid", [
    # The declared P/R grid (the operating point 0.995 inside it) ...
    ("--sweep", "pr_coarse"),
    # ... a grid the operating point (0.995, 0.995) lies outside ...
    ("--sweep", "predictor_precision=0.5:0.9:5", "--sweep", "predictor_recall=0.5:0.9:5"),
    # ... and a geometric one over three decades.
    ("--sweep", "mem_latency=1:3000:5:log", "--sweep", "predictor_recall=0.8:1:3"),
])
def test_contour_fills_its_axes_which_end_at_the_grid(tmp_path, grid, request):
    if grid == ("--sweep", "pr_coarse"):
        _, entries, _, run, _ = request.getfixturevalue("cv_grid")  # the same sweep, rendered once
    else:
        entries, _, run, _ = swept(tmp_path, str(SPECS / "cv_demo.spt"), *grid, "--trials", "2",
                                   "--set", "num_layers=3")
    (name,) = [n for n in entries if n.startswith("contour_")]
    plot = entries[name]
    ax = plot.figure.axes[0]
    xs = np.asarray(run.sweep.groups[0][0].values, float)
    ys = np.asarray(run.sweep.groups[1][0].values, float)
    # No axis extends past the grid.
    assert ax.get_xlim() == pytest.approx((xs.min(), xs.max()))
    assert ax.get_ylim() == pytest.approx((ys.min(), ys.max()))
    # The filled contour covers the axes (not a sliver at one edge).
    assert drawn_fraction(pixels(plot.path), ax) >= 0.8
    if plotset.geometric(xs):
        # A log axis ticked at the swept values.
        assert ax.get_xscale() == "log"
        assert ax.get_xticks() == pytest.approx(np.unique(xs))
        assert [t.get_text() for t in ax.get_xticklabels()] == [plots._fmt(float(v)) for v in np.unique(xs)]
    op = (run.params[run.sweep.groups[0][0].param], run.params[run.sweep.groups[1][0].param])
    inside = xs.min() <= op[0] <= xs.max() and ys.min() <= op[1] <= ys.max()
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(t.startswith("operating point") and t.endswith(": outside the grid") != inside for t in legend)
    if inside:
        # The star is drawn whole, even in the grid's corner (not clipped).
        (star,) = [line for line in ax.get_lines() if line.get_marker() == "*"]
        assert not star.get_clip_on()
    assert plot.operating_point_inside == inside


# ---------------------------------------------------------------- Gantt


def gantt_of(tmp: Path, *argv: str):
    run = make_run("eval", *argv)
    res = run.point(quiet=True, samples=True)
    (g,) = [p for name, _, p in plotset.point_plots(tmp, "png", run, res) if name == "gantt.png"]
    return g, run


def shown_color(patch, under=(1.0, 1.0, 1.0)) -> np.ndarray:
    """The color a bar's face shows: its face alpha-blended over what lies beneath."""
    rgba = np.asarray(patch.get_facecolor())
    return rgba[:3] * rgba[3] + (1 - rgba[3]) * np.asarray(under)


def face_share(img: np.ndarray, patch, under=(1.0, 1.0, 1.0)) -> float:
    """Share of a bar's pixels showing its own face color."""
    r0, r1, c0, c1 = box(patch, img.shape[0])
    region = img[r0 + 1:r1 - 1, c0:c1 + 1]
    return float(np.mean(np.all(np.abs(region - shown_color(patch, under)) < 0.08, axis=-1)))


def beneath(zoom, bar):
    """The color under a bar: a wasted segment lies over the bar it marks."""
    if bar.kind != "wasted":
        return (1.0, 1.0, 1.0)
    lane = zoom.lanes[zoom.bars.index(bar)]
    host = next(p for b, p, k in zip(zoom.bars, zoom.patches, zoom.lanes)
                if k == lane and b.kind != "wasted" and b.start <= bar.start and bar.end <= b.end)
    return shown_color(host)


@pytest.fixture(scope="module")
def cv_gantt(tmp_path_factory):
    """cv_demo's Gantt chart (2 trials), rendered once for the tests that only read it."""
    return gantt_of(tmp_path_factory.mktemp("cv_gantt"), str(SPECS / "cv_demo.spt"), "--trials", "2")


@pytest.mark.parametrize("spec", ["cv_demo", "spatten_cascade"])
def test_gantt_zoom_shows_every_bar_of_the_parallel_branches(tmp_path, spec, request):
    if spec == "cv_demo":
        g, _ = request.getfixturevalue("cv_gantt")
    else:
        g, _ = gantt_of(tmp_path, str(SPECS / f"{spec}.spt"), "--trials", "2")
    img = pixels(g.path)
    assert g.zooms, "parallel branches get a zoom panel"
    if spec == "spatten_cascade":
        # Its layers are the first one scaled in time: the zoom shows them all.
        assert g.layers is None
    for zoom in g.zooms:
        assert len({(b.stage, b.start) for b in zoom.bars}) == len(zoom.bars)
        for bar, patch in zip(zoom.bars, zoom.patches):
            # Every bar at least 3 pixels wide, and its color is really on screen.
            assert patch.get_window_extent().width >= 3.0, bar
            assert face_share(img, patch, beneath(zoom, bar)) >= 0.2, bar
        # Bars of one zoom that overlap in time are in different sub-rows: their pixel
        # rows do not intersect.
        for i, (a, pa) in enumerate(zip(zoom.bars, zoom.patches)):
            for b, pb in zip(zoom.bars[i + 1:], zoom.patches[i + 1:]):
                if a.start < b.end and b.start < a.end and a.kind != "wasted" and b.kind != "wasted":
                    ea, eb = pa.get_window_extent(), pb.get_window_extent()
                    assert ea.y1 <= eb.y0 + 0.5 or eb.y1 <= ea.y0 + 0.5, (a, b)
    # The main chart: overlapping bars of one row are in different sub-rows too.
    rows = {}
    for bar, lane, r in zip(g.bars, g.bar_lanes, g.bar_rows):
        rows.setdefault(r, []).append((bar, lane))
    for members in rows.values():
        for i, (a, la) in enumerate(members):
            for b, lb in members[i + 1:]:
                if a.start < b.end - 1e-6 * b.end and b.start < a.end - 1e-6 * a.end and "wasted" not in (a.kind, b.kind):
                    assert la != lb, (a, b)
    # The legend lists only stages one can see (≥ 1 px somewhere, or in a zoom).
    legend = {t.get_text() for t in g.figure.axes[0].get_legend().get_texts()}
    zoomed = {b.stage for z in g.zooms for b in z.bars}
    for stage in g.legend_stages:
        assert stage in legend
        wide = [p for b, p in zip(g.bars, g.patches) if b.stage == stage and p.get_window_extent().width >= 1]
        assert wide or stage in zoomed
    # No bare "1e6" offset: the power of ten is in the unit.
    ax = g.figure.axes[0]
    assert ax.xaxis.get_offset_text().get_text() == ""
    assert "cycles" in ax.get_xlabel()


def test_gantt_of_cv_demo_zooms_on_the_lookahead_path(cv_gantt):
    g, _ = cv_gantt
    (zoom,) = g.zooms
    assert zoom.design == "lookahead"
    stages = {b.stage for b in zoom.bars}
    assert {"predictor", "proxy", "top_k", "spec_fetch", "av", "corrective"} <= stages
    # In the main chart the predictor lasts about a cycle out of millions: invisible
    # there, yet in the legend because the zoom shows it.
    pred = [p for b, p in zip(g.bars, g.patches) if b.stage == "predictor"]
    assert max(p.get_window_extent().width for p in pred) < 1 and "predictor" in g.legend_stages


def test_gantt_of_cv_demo_gives_every_layer_its_own_width(cv_gantt):
    g, _ = cv_gantt
    img = pixels(g.path)
    panel = g.layers
    assert panel is not None and panel.design == "lookahead" and panel.layers == tuple(range(12))
    ax = panel.axes
    main = g.figure.axes[0].get_window_extent().width
    for r, layer in enumerate(panel.layers):
        members = [(b, p, k) for b, p, k, row in zip(panel.bars, panel.patches, panel.lanes, panel.rows) if row == r]
        # In the shared chart a late layer is a sliver ...
        spans = [p.get_window_extent() for b, p in zip(g.bars, g.patches) if b.design == "lookahead" and b.layer == layer]
        if layer >= 6:
            assert max(e.x1 for e in spans) - min(e.x0 for e in spans) < 0.05 * main
        # ... here its branch 1 covers the panel's width, read off the PNG's pixels.
        lane0 = [p for b, p, k in members if k == 0]
        r0, r1, c0, c1 = box(ax, img.shape[0])
        b0, b1, _, _ = box(lane0[0], img.shape[0])
        band = img[(b0 + b1) // 2, c0 + 2:c1 - 2]
        assert np.mean(np.any(band < 0.97, axis=-1)) >= 0.95, layer
        for bar, patch, lane in members:
            assert patch.get_window_extent().width >= 3.0, bar
            under = (1.0, 1.0, 1.0)
            if bar.kind == "wasted":
                under = shown_color(next(p for b, p, k in members if k == lane and b.kind != "wasted"
                                         and b.start <= bar.start and bar.end <= b.end))
            assert face_share(img, patch, under) >= 0.2, bar
        # The overlap the model is about: the speculative fetch runs, in its own sub-row,
        # during the layer's av, by at least 3 pixels.
        (av,) = [p.get_window_extent() for b, p, k in members if b.stage == "av"]
        (fetch,) = [p.get_window_extent() for b, p, k in members if b.stage == "spec_fetch"]
        assert min(av.x1, fetch.x1) - max(av.x0, fetch.x0) >= 3.0
        assert fetch.y1 <= av.y0 + 0.5 or av.y1 <= fetch.y0 + 0.5
    # Each row's duration is printed on the right (×10³ cycles here).
    right = [a for a in g.figure.axes if a is not ax and a.bbox.bounds == ax.bbox.bounds]
    (twin,) = right
    assert "10³ cycles" in twin.get_ylabel()
    labels = [float(t.get_text()) for t in twin.get_yticklabels()]
    for r, value in enumerate(labels):
        bars = [b for b, row in zip(panel.bars, panel.rows) if row == r]
        assert value == pytest.approx((max(b.end for b in bars) - min(b.start for b in bars)) / 1e3, rel=1e-3)
    assert labels == sorted(labels, reverse=True)


def test_gantt_of_a_spec_without_layers_or_randomness(tmp_path):
    g, run = gantt_of(tmp_path, str(SPECS / "chunk_attention.spt"))
    ax = g.figure.axes[0]
    # Stage durations are declared in seconds: the axis says so (scaled to ms), not cycles.
    assert ax.get_xlabel() == "time (×10⁻³ s)"
    assert all(" L" not in label for label in g.row_labels)
    assert g.row_labels[0] == run.sim.DESIGNS["shared"][0]
    assert "trial" not in ax.get_title()
    # The split design's suffix and combine kernels take no time at these params: not in the legend.
    assert set(g.legend_stages) == {"attention", "prefix"}


# ---------------------------------------------------------------- sweeps


def test_constant_metrics_get_a_note_not_a_plot(tmp_path, cv_grid):
    entries, notes, run, res = swept(tmp_path, str(SPECS / "cv_demo.spt"), "--sweep", "bandwidth", "--trials", "2",
                                     "--set", "num_layers=3")
    # DRAM traffic does not depend on the bandwidth (it is bytes, not time).
    for d in ("baseline", "lookahead"):
        assert np.ptp(res.designs[d]["dram_mb"].mean) == 0
    assert "sweep_bandwidth_dram_mb.png" not in entries
    assert any("(dram_mb) is the same at every point of 'bandwidth'" in n for n in notes)
    assert "sweep_bandwidth_total_cycles.png" in entries
    # On the P/R grid the baseline (no predictor) never changes: no heatmap of it.
    grid_entries, grid_notes = cv_grid[1], cv_grid[2]
    assert not [n for n in grid_entries if n.startswith("heatmap_pr_coarse_baseline_")]
    assert any("(baseline.total_cycles) is the same at every point" in n for n in grid_notes)


def test_zipped_sweep_is_drawn_against_its_aggregate_axis(tmp_path):
    entries, _, run, _ = swept(tmp_path, str(SPECS / "chunk_attention.spt"), "--sweep", "native")
    group = run.sweep.groups[0]
    heads = np.asarray(group[0].values) if group[0].param == "n_heads" else np.asarray(group[1].values)
    chunks = np.asarray(group[1].values) if group[1].param == "n_chunks" else np.asarray(group[0].values)
    blocks = np.unique(heads * chunks)  # the spec's `blocks = n_heads * n_chunks`, averaged per value
    plot = entries["sweep_native_latency_ms.png"]
    ax = plot.figure.axes[0]
    assert plot.x.tolist() == blocks.tolist() and ax.get_xlabel() == "Blocks"
    assert "sweep_native_blocks.png" not in entries  # not against itself
    # Every line runs left to right: its pixel x coordinates strictly increase.
    for line in ax.get_lines():
        px = ax.transData.transform(line.get_xydata())[:, 0]
        assert np.all(np.diff(px) > 0)
    # Latency spans decades: a log axis, labelled in plain numbers.
    assert plot.log_y and all("$" not in t.get_text() for t in ax.get_yticklabels())
    # FLOPs (3e7 to 1.4e11) on a log axis: the power of ten in the label, ticks in plain
    # numbers that, times it, are where they stand (never "1e+11").
    flops = entries["sweep_native_flops.png"]
    fig = flops.figure
    fig.canvas.draw()
    fax = fig.axes[0]
    assert flops.log_y and fax.get_ylabel() == "FLOPs (\u00d710\u2079)"
    lo, hi = fax.get_ylim()
    shown = [(t.get_position()[1], t.get_text()) for t in fax.yaxis.get_majorticklabels()
             if lo <= t.get_position()[1] <= hi and t.get_text()]
    assert len(shown) >= 3
    for at, text in shown:
        assert "e" not in text.lower() and float(text) * 1e9 == pytest.approx(at, rel=1e-9), (at, text)
    # The three designs' FLOPs are equal: no line may hide another. Each design's color
    # shows in the plot area (nested lines), and the legend says which lines coincide.
    img = pixels(flops.path)
    r0, r1, c0, c1 = box(fax, img.shape[0])
    area = img[r0:r1, c0:c1]
    lines = [ln for ln in fax.get_lines() if ln.get_label() and not ln.get_label().startswith("_")]
    assert len(lines) == 3
    for ln in lines:
        want = np.asarray(to_rgba(ln.get_color())[:3])
        seen = int(np.sum(np.all(np.abs(area - want) < 0.03, axis=-1)))
        assert seen > 500, (ln.get_label(), seen)
    first = lines[0].get_label()
    assert [ln.get_label().endswith(f"(same as {first})") for ln in lines] == [False, True, True]


def test_deterministic_lines_have_no_std_and_ratios_a_line_at_one(tmp_path):
    entries, _, run, res = swept(tmp_path, str(SPECS / "selfspec.spt"), "--sweep", "l_prompt=64,128,256,512,1024")
    plot = entries["sweep_cli_energy_pj_per_token_ratio.png"]
    ax = plot.figure.axes[0]
    assert ax.get_legend().get_title().get_text() == ""
    assert not any("±" in t.get_text() for t in ax.get_legend().get_texts())
    # A geometric grid: a log axis ticked at the swept values.
    assert ax.get_xscale() == "log" and ax.get_xticks().tolist() == [64, 128, 256, 512, 1024]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["64", "128", "256", "512", "1024"]
    # The dashed reference line at ratio 1 is drawn: dark pixels across the axes at y = 1.
    img = pixels(plot.path)
    _, y1 = ax.transData.transform((100.0, 1.0))
    row = int(round(img.shape[0] - y1))
    r0, r1, c0, c1 = box(ax, img.shape[0])
    assert r0 < row < r1
    band = img[row - 1:row + 2, c0 + 2:c1 - 2]
    dark = np.any(np.all(band < 0.3, axis=-1), axis=0)
    assert dark.mean() > 0.4  # a dashed line: dashes and gaps
    # The difference gets no ratio line.
    diff = entries["sweep_cli_energy_pj_per_token_diff.png"].figure.axes[0]
    assert not any(line.get_ydata()[0] == 1.0 and line.get_linestyle() == "--" for line in diff.get_lines())


def test_heatmap_cells_use_the_declared_format(cv_grid):
    tmp, entries, _, run, res = cv_grid
    heat = entries["heatmap_pr_coarse_improvement_pct.png"]
    fmt = run.sim.COMPARES["improvement_pct"][2]
    z = res.compares["improvement_pct"].mean.reshape(10, 10).T
    assert heat.annotated and heat.cell_text == tuple(tuple(format(v, fmt) for v in row) for row in z)
    cycles = entries["heatmap_pr_coarse_lookahead_total_cycles.png"]
    assert cycles.annotated and not any("e+" in t for row in cycles.cell_text for t in row)
    # The colorbar carries the power of ten in its label, no offset text.
    bar_ax = cycles.figure.axes[1]
    assert "×10⁶" in bar_ax.get_ylabel() and bar_ax.yaxis.get_offset_text().get_text() == ""


def test_histogram_has_one_title_from_the_label(tmp_path):
    run = make_run("eval", str(SPECS / "cv_demo.spt"), "--trials", "20", "--set", "num_layers=3")
    res = run.point(quiet=True, samples=True)
    entries = {n: p for n, _, p in plotset.point_plots(tmp_path, "png", run, res)}
    h = entries["hist_lookahead_total_cycles.png"]
    assert h.figure._suptitle is None  # noqa: SLF001 -- no second, figure-level title
    (ax,) = [a for a in h.figure.axes if a.get_visible()]
    assert ax.get_title().startswith("Pipelined (Lookahead): Total Cycles")
    assert drawn_fraction(pixels(h.path), ax) > 0.05


# ---------------------------------------------------------------- measured, roofline, cases


@pytest.fixture(scope="module")
def measured_plots(tmp_path_factory):
    out = tmp_path_factory.mktemp("measured")
    code = cli.main(["eval", str(SPECS / "chunk_attention.spt"),
                     "--measured", str(EXAMPLES / "chunk_attention" / "sweep_native.csv"),
                     "--measured", str(EXAMPLES / "chunk_attention" / "sweep_tk.csv"), "--out", str(out), "--plots"])
    assert code == 0
    return out


def test_measured_overlay_draws_each_tables_model_visibly(measured_plots):
    img = pixels(measured_plots / "measured_harness.png")
    # The same figure rebuilt from the plot module's result is not available after the
    # CLI run, so the colors are checked in the pixels: both tables' model lines show.
    blue, orange = np.array(to_rgba("tab:blue")[:3]), np.array(to_rgba("tab:orange")[:3])
    near = lambda c: np.all(np.abs(img - c) < 0.1, axis=-1)  # noqa: E731
    assert near(blue).sum() > 2000 and near(orange).sum() > 2000


def test_measured_overlay_lines_differ_per_table(tmp_path):
    series = [("native", [1, 2, 3], [1.0, 2.0, 3.5], [1.0, 2.0, 3.0]),
              ("tk", [1, 2, 3], [0.5, 1.5, 2.0], [1.0, 2.0, 3.0])]  # identical model values
    p = plots.measured_overlay([("Latency", "Latency (ms)", series)], tmp_path / "o.png", xlabel="Blocks", title="t")
    ax = p.figure.axes[0]
    model_lines = [line for line in ax.get_lines() if line.get_linestyle() != "None"]
    assert len(model_lines) == 2
    a, b = model_lines
    assert (a.get_linestyle(), a.get_linewidth()) != (b.get_linestyle(), b.get_linewidth())
    # Both colors are on screen although the lines coincide.
    img = pixels(p.path)
    for line in model_lines:
        c = np.array(to_rgba(line.get_color())[:3])
        assert np.all(np.abs(img - c) < 0.1, axis=-1).sum() > 200


def test_roofline_states_units_and_labels_its_ridge(measured_plots, tmp_path):
    run = make_run("eval", str(SPECS / "chunk_attention.spt"))
    _, _, p = plotset.roofline_plot(run.compiled, [("x", [64.0], [20.0], "model")], tmp_path, {}, "png")
    ax = p.figure.axes[0]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    # The H100's 989 TFLOP/s and 3350 GB/s: ridge at 989 / 3.35 = 295 FLOP/byte.
    assert p.ridge == pytest.approx(989 / 3.35)
    assert legend[0] == "roof: peak 989 TFLOP/s, slope 3.35 TFLOP/s per FLOP/byte"
    assert "ridge 295 FLOP/byte" in [t.get_text() for t in ax.texts]
    assert any(t.startswith("every point at intensity 64") for t in legend)
    assert all("$" not in t.get_text() for t in ax.get_xticklabels() + ax.get_yticklabels())


def test_cases_bars_use_fmt_and_a_ratio_line(tmp_path):
    entries, notes, run, res = swept(tmp_path, str(SPECS / "spatten_cascade.spt"), "--cases", "ablation")
    speed = entries["ablation_speedup.png"]
    fmt = run.sim.COMPARES["speedup"][2]
    assert speed.annotations == tuple(format(v, fmt) for v in res.compares["speedup"].mean)
    ax = speed.figure.axes[0]
    assert any(list(line.get_ydata()) == [1.0, 1.0] for line in ax.get_lines())
    # The dense baseline is the same in every case: notes, no bar charts of it.
    assert "ablation_dense_cycles.png" not in entries
    assert any("(dense.cycles) is the same at every point of 'ablation'" in n for n in notes)


# ---------------------------------------------------------------- formats, user text


@pytest.mark.parametrize("suffix, magic", [(".svg", b"<svg"), (".pdf", b"%PDF")])
def test_vector_formats_keep_text_as_text(tmp_path, suffix, magic):
    p = plots.bars(["dense", "+token"], [1.0, 3.4], tmp_path / f"b{suffix}", ylabel="Speedup (x)", title="t")
    data = p.path.read_bytes()
    assert magic in data[:400]
    if suffix == ".pdf":
        assert b"/FontFile2" in data  # TrueType fonts embedded (print quality, selectable text)


def test_user_text_is_shown_literally(tmp_path):
    title = "$system {{ x }} " + "L" * 10_000
    p = plots.sweep_lines([1, 2, 3], [("$a$", [1, 2, 3], [0, 0, 0])], tmp_path / "s.png", xlabel="$x$ (s)",
                          ylabel="$y$", title=title)
    ax = p.figure.axes[0]
    assert ax.get_xlabel() == "$x$ (s)" and ax.get_ylabel() == "$y$"
    assert ax.get_title().startswith("$system {{ x }} LLL") and len(ax.get_title()) <= 100
    assert not any(t.get_parse_math() for t in p.figure.findobj(lambda a: hasattr(a, "get_parse_math")))
