"""Plots of runs and sweeps: the plotted data is checked, not only the files.

Gantt bars against the simulator's recorded event times (and hand-computed stage times),
histogram counts against the trials and the raw Monte-Carlo samples, contour levels
against the sign of the grid, line plots against the CSV of a separate run."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pytest

from spattenc import cli
from spattenc.present import plotset

ROOT = Path(__file__).resolve().parents[1]
CV_DEMO = str(ROOT / "specs" / "cv_demo.spt")

DUEL = """\
spec duel "Two designs racing"
trials 3
param x = 1.0 in [0, 10]
param y = 1.0 in [0, 10]
param p = 0.5 in [0, 1]
layers l in range(2) {
  random hits ~ binomial(10, p)
  stage slow = 10 * x + hits
  stage fast = 10 * y + hits
}
design a { schedule slow metric total = last(end) }
design b { schedule fast metric total = last(end) }
compare gain = (mean(a.total) - mean(b.total)) / mean(a.total) * 100 unit "%"
sweep grid { axis x = linspace(0.5, 2, 4) axis y = linspace(0.5, 2, 5) }
sweep upper { axis x = linspace(1.5, 2, 3) axis y = linspace(0.5, 1, 3) }
"""


def make_run(*argv: str) -> cli.Run:
    return cli.Run(cli.build_parser().parse_args(list(argv)))


def test_gantt_bars_are_the_simulators_event_times(tmp_path):
    run = make_run("eval", CV_DEMO, "--trials", "5", "--trial", "3", "--set", "num_layers=3", "--seed", "11")
    res = run.point(quiet=True, samples=True)
    entries = plotset.point_plots(tmp_path, "png", run, res)
    name, _, g = entries[0]
    assert name == "gantt.png" and (tmp_path / name).is_file()

    # The same trial, recorded by a separate run of the simulator.
    shows: list = []
    _, _, events = run.sim.run({"num_layers": 3}, trials=5, seed=11, record=3, shows=shows)
    kinds = run.sim.GANTT
    expect = [(d, l, s, a, b, kinds[d][s]) for d, l, s, a, b in events if kinds[d][s] != "none"] + shows
    assert [(b.design, b.layer, b.stage, b.start, b.end, b.kind) for b in g.bars] == expect
    for bar, rect in zip(g.bars, g.patches):
        assert rect.get_x() == bar.start
        assert rect.get_x() + rect.get_width() == pytest.approx(bar.end, rel=1e-15)

    bars = {(b.design, b.layer, b.stage): b for b in g.bars}
    # Hand-computed baseline, layer 0 (N = 512, H = 12, 128 bytes/cycle, 2560-byte window).
    fetch = 20 + 512 * 4608 / 128 + (512 * 4608 - 2560) / 128
    qk = 0.1 * 512 * 512 * 12
    assert (bars["baseline", 0, "fetch_qkv"].start, bars["baseline", 0, "fetch_qkv"].end) == (0.0, fetch)
    assert bars["baseline", 0, "qk"].end == pytest.approx(fetch + qk, rel=1e-15)
    assert bars["baseline", 1, "fetch_qkv"].start == bars["baseline", 0, "top_k"].end
    # Lookahead: overlays inside the layer, the corrective fetch after AV, the wasted
    # share at the end of the speculative fetch.
    for layer in range(3):
        av, spec = bars["lookahead", layer, "av"], bars["lookahead", layer, "spec_fetch"]
        assert bars["lookahead", layer, "corrective"].start == av.end
        assert bars["lookahead", layer, "corrective"].kind == "corrective"
        assert bars["lookahead", layer, "predictor"].start == av.start and spec.kind == "overlay"
        assert bars["lookahead", layer, "wasted_fetch"].end == spec.end
        assert bars["lookahead", layer, "wasted_fetch"].kind == "wasted"
        assert ("lookahead", layer, "lookahead_path") not in bars
    assert {b.layer for b in g.bars} == {0, 1, 2}
    legend = {t.get_text() for t in g.figure.axes[0].get_legend().get_texts()}
    assert {"wasted work", "corrective work", "overlay (overlapped work)"} <= legend


def test_histograms_are_of_the_monte_carlo_samples(tmp_path):
    trials = 37
    run = make_run("eval", CV_DEMO, "--trials", str(trials), "--set", "num_layers=4", "--set",
                   "predictor_recall=0.8", "--seed", "5")
    res = run.point(quiet=True, samples=True)
    entries = {name: plot for name, _, plot in plotset.point_plots(tmp_path, "png", run, res)}
    R, _, _ = run.sim.run({"num_layers": 4, "predictor_recall": 0.8}, trials=trials, seed=5)
    names = {"hist_improvement_pct.png", "hist_lookahead_avg_hidden_cycles.png", "hist_lookahead_total_cycles.png"}
    assert names <= set(entries)
    for name in names:
        (e,) = entries[name].entries
        assert int(e.counts.sum()) + e.dropped == trials
    base, look = R["baseline"]["total_cycles"][0], R["lookahead"]["total_cycles"][0]
    per_trial = (base - look) / base * 100
    (e,) = entries["hist_improvement_pct.png"].entries
    assert e.mean == pytest.approx(per_trial.mean(), rel=1e-12)
    assert np.array_equal(e.counts, np.histogram(per_trial, bins=e.edges)[0])
    (e,) = entries["hist_lookahead_total_cycles.png"].entries
    look_cycles = R["lookahead"]["total_cycles"][0]
    assert np.array_equal(e.counts, np.histogram(look_cycles, bins=e.edges)[0]) and np.ptp(look_cycles) > 0
    # The wasted traffic is the same in every one of these trials: a note, no histogram.
    assert np.ptp(R["lookahead"]["wasted_mb"][0]) == 0 and "hist_lookahead_wasted_mb.png" not in entries


def _duel(tmp_path: Path) -> str:
    path = tmp_path / "duel.spt"
    path.write_text(DUEL)
    return str(path)


def test_contour_has_the_zero_level_exactly_when_the_grid_changes_sign(tmp_path):
    spec = _duel(tmp_path)
    for sweep, changes in (("grid", True), ("upper", False)):
        run = make_run("eval", spec, "--sweep", sweep)
        res = run.swept(quiet=True)
        entries = {name: plot for name, _, plot in plotset.sweep_plots(tmp_path, "png", run, res)[0]}
        heat = entries[f"heatmap_{sweep}_gain.png"]
        contour = entries[f"contour_{sweep}_gain.png"]
        xs, ys = run.sweep.groups[0][0].values, run.sweep.groups[1][0].values
        # gain > 0 exactly where the slow design is slower (x > y): rows are y, columns x.
        sign = np.sign(np.subtract.outer(np.asarray(xs), np.asarray(ys)).T)
        assert np.array_equal(np.sign(heat.z), sign)
        assert (heat.z.min() < 0 < heat.z.max()) == changes
        assert contour.sign_change == changes and contour.zero_line == changes
        assert (0.0 in contour.levels) == changes
        assert contour.operating_point == (1.0, 1.0)
        if not changes:
            assert contour.note == "no break-even in grid (all positive)"


def test_line_plots_match_a_separate_csv_run(tmp_path, capsys):
    args = ("--sweep", "bandwidth", "--trials", "6", "--set", "num_layers=3")
    run = make_run("eval", CV_DEMO, *args)
    res = run.swept(quiet=True)
    entries = {name: plot for name, _, plot in plotset.sweep_plots(tmp_path, "png", run, res)[0]}
    assert cli.main(["eval", CV_DEMO, *args, "--csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    lines = entries["sweep_bandwidth_total_cycles.png"]
    assert lines.x.tolist() == [32, 64, 128, 256, 512, 1024] and lines.log_x
    (base, look) = lines.series
    assert base.label == "Baseline" and look.label == "Pipelined (Lookahead)"
    assert look.mean.tolist() == [float(r["lookahead.total_cycles.mean"]) for r in rows]
    assert look.std.tolist() == [float(r["lookahead.total_cycles.std"]) for r in rows]
    rate = entries["sweep_bandwidth_lookahead_finish_rate.png"].series[0]
    assert rate.mean.tolist() == [100 * float(r["lookahead.lookahead_finish_rate.mean"]) for r in rows]
    ax = lines.figure.axes[0]
    # Millions of cycles: the power of ten is written into the unit, not as a bare offset.
    assert ax.get_xlabel() == "bandwidth_Gb_per_s (Gb/s)" and ax.get_ylabel() == "Total Cycles (×10⁶ cycles)"


def test_eval_plots_writes_files_and_index(tmp_path, capsys):
    out = tmp_path / "out"
    code = cli.main(["eval", CV_DEMO, "--trials", "3", "--set", "num_layers=2", "--sweep", "spec_fetch",
                     "--plots", "--out", str(out), "--format", "svg"])
    assert code == 0
    index = (out / "index.md").read_text()
    listed = sorted(line.split("](<")[1].split(">)")[0] for line in index.splitlines() if line.startswith("- ["))
    files = sorted(p.name for p in out.iterdir() if p.suffix == ".svg")
    assert listed == files and "gantt.svg" in files and "sweep_spec_fetch_dram_mb.svg" in files
    # The speculative fetch hides behind AV: total cycles, hence the improvement, are the
    # same at every point (the CSV says so), so they get a note in index.md, not a plot.
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert len({r["improvement_pct"] for r in rows}) == 1
    assert "sweep_spec_fetch_improvement_pct.svg" not in files
    notes = index.split("## Not plotted")[1]
    assert "Net Performance Improvement (improvement_pct) is the same at every point of 'spec_fetch'" in notes
    assert all((out / f).read_bytes().lstrip().startswith(b"<?xml") for f in files)
    assert {"results.csv", "results.json"} <= {p.name for p in out.iterdir()}
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary folder left


@pytest.mark.parametrize("label, unit, scale, shown", [
    ("Total Cycles", "cycles", 1.0, "Total Cycles (cycles)"),
    ("  -> Wasted Traffic (MB)", "MB", 1.0, "Wasted Traffic (MB)"),
    ("Lookahead Finish Rate (%)", "fraction", 100.0, "Lookahead Finish Rate (%)"),
    ("Finish rate", "fraction", 100.0, "Finish rate (%)"),
    ("gain", None, 1.0, "gain"),
])
def test_axis_labels(label, unit, scale, shown):
    assert plotset.axis_label(label, unit, scale) == shown
