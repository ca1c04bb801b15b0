"""Units carried through: a spec whose stages are in seconds and whose metrics are in ms
and pJ is shown in those units everywhere (inspect and closed_forms.md headings, the
eval table, the Gantt chart's time axis, sweep plot axes, the HTML report), never in a
unit the code assumes; stages without a unit are cycles, as the shipped specs are."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from spattenc import cli
from spattenc.driver import front_end, outputs
from spattenc.present import plotset

ROOT = Path(__file__).resolve().parents[1]
CV_DEMO = str(ROOT / "specs" / "cv_demo.spt")

SECONDS = """\
spec secs "Seconds everywhere"
trials 1
param n: int = 4 in [1, 64] unit "tokens"
param t_tok = 0.002 in [0, 1] unit "s" doc "time per token"
param e_tok = 3.5 in [0, 100] unit "pJ"
layers l in range(3) {
  let N = n + l
  stage load = N * t_tok unit "s"
  stage work = 2 * N * t_tok unit "s"
}
design serial "Serial" {
  schedule load -> work
  metric latency_ms = last(end) * 1000 label "Latency" unit "ms"
  metric energy_pj = sum(N) * e_tok label "Energy" unit "pJ"
}
design overlap "Overlapped" {
  schedule load | work
  metric latency_ms = last(end) * 1000 label "Latency" unit "ms"
  metric energy_pj = sum(N) * e_tok label "Energy" unit "pJ"
}
compare speedup = mean(serial.latency_ms) / mean(overlap.latency_ms) unit "x"
sweep size "Tokens" { axis n = [2, 4, 8] }
"""


def _spec(tmp_path: Path, text: str = SECONDS, name: str = "secs.spt") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def _run(*argv: str) -> cli.Run:
    return cli.Run(cli.build_parser().parse_args(list(argv)))


def test_inspect_and_closed_forms_headings_take_the_stage_unit(tmp_path, capsys):
    spec = _spec(tmp_path)
    assert cli.main(["inspect", spec]) == 0
    text = capsys.readouterr().out
    assert "## Stages (s per layer)" in text and "cycles" not in text
    md = outputs(front_end(SECONDS, spec))["closed_forms.md"]
    assert "## Stages (s per layer)" in md and "cycles" not in md
    # The shipped specs' stages declare no unit: cycles, as before.
    assert "## Stages (cycles per layer)" in (ROOT / "generated" / "cv_demo" / "closed_forms.md").read_text()


def test_mixed_stage_units_are_all_named(tmp_path, capsys):
    """A stage without a unit is in cycles; a schedule mixing it with seconds claims
    neither unit alone: the heading and the Gantt axis name both."""
    spec = _spec(tmp_path, SECONDS.replace('stage work = 2 * N * t_tok unit "s"', "stage work = 2 * N * t_tok"))
    assert cli.main(["inspect", spec]) == 0
    assert "## Stages (per layer; mixed units: s, cycles)" in capsys.readouterr().out
    run = _run("eval", spec)
    ((_, _, g),) = plotset.point_plots(tmp_path, "png", run, run.point(quiet=True, samples=True))
    assert g.figure.axes[0].get_xlabel() == "time (mixed units: s, cycles)"


def test_eval_table_shows_each_metric_in_its_unit(tmp_path, capsys):
    assert cli.main(["eval", _spec(tmp_path)]) == 0
    rows = {ln.split("|")[0].strip(): [c.strip() for c in ln.split("|")[1:]]
            for ln in capsys.readouterr().out.splitlines() if "|" in ln}
    # latency: serial 3 layers of 3 * N * 2 ms (N = 4, 5, 6) = 90 ms; overlapped 2 * N * 2 ms = 60 ms
    assert rows["Latency (ms)"] == ["90.00", "60.00"]
    assert rows["Energy (pJ)"] == ["52.50", "52.50"]  # (4 + 5 + 6) * 3.5 pJ


def test_gantt_axis_is_in_the_stage_unit(tmp_path):
    run = _run("eval", _spec(tmp_path))
    ((name, _, g),) = plotset.point_plots(tmp_path, "png", run, run.point(quiet=True, samples=True))
    assert name == "gantt.png"
    assert g.figure.axes[0].get_xlabel() == "time (s)"
    # serial: load [0, 0.008), work [0.008, 0.024) in layer 0 (N = 4, 2 ms per token)
    first = [(b.stage, b.start, b.end) for b in g.bars if b.design == "serial" and b.layer == 0]
    assert first == [("load", 0.0, 0.008), ("work", 0.008, 0.024)]
    zoom = [ax.get_xlabel() for ax in g.figure.axes[1:] if ax.get_xlabel()]
    assert zoom and all(re.search(r"\(s\)", label) for label in zoom)
    # The shipped specs' stages declare no unit: their time axis stays in cycles.
    assert plotset.stage_time_unit(front_end(Path(CV_DEMO).read_text(), CV_DEMO).program) == "cycles"


def test_sweep_plot_axes_are_in_the_declared_units(tmp_path):
    run = _run("eval", _spec(tmp_path), "--sweep", "size")
    entries = {name: plot for name, _, plot in plotset.sweep_plots(tmp_path, "png", run, run.swept(quiet=True))[0]}
    latency = entries["sweep_size_latency_ms.png"].figure.axes[0]
    assert (latency.get_xlabel(), latency.get_ylabel()) == ("n (tokens)", "Latency (ms)")
    energy = entries["sweep_size_energy_pj.png"].figure.axes[0]
    assert energy.get_ylabel() == "Energy (pJ)"


def test_html_report_in_the_declared_units(tmp_path, capsys):
    out = tmp_path / "report"
    assert cli.main(["report", _spec(tmp_path), "--out", str(out)]) == 0
    page = (out / "report.html").read_text()
    assert "## Stages (s per layer)" in page
    assert "Latency (ms)" in page and "Energy (pJ)" in page
    assert "cycles" not in page


def test_parquet_columns_carry_their_units(tmp_path, capsys):
    import pyarrow.parquet as pq

    out = tmp_path / "out"
    assert cli.main(["eval", _spec(tmp_path), "--sweep", "size", "--parquet", "--out", str(out)]) == 0
    path = out / "results.parquet"
    units = {f.name: (f.metadata or {}).get(b"unit", b"").decode() for f in pq.read_schema(path)}
    assert units["n"] == "tokens" and units["speedup"] == "x"
    assert units["serial.latency_ms.mean"] == units["overlap.latency_ms.std"] == "ms"
    assert units["serial.energy_pj.mean"] == "pJ" and units["point"] == ""
    # The values are the spec's, unscaled: 3 layers of 3 * N * 2 ms for N = n, n + 1, n + 2.
    assert pq.read_table(path).column("serial.latency_ms.mean").to_pylist() == pytest.approx(
        [3 * 2 * (n + n + 1 + n + 2) for n in (2, 4, 8)], rel=1e-12)
