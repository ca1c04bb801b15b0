"""The measured / roofline / solve declarations, measured-table reading and its errors,
the fit on synthetic data, and the overlay and roofline plots — on small specs whose
figures are computed by hand."""

from __future__ import annotations

import json

import numpy as np
import pytest

from spattenc.present import plots
from spattenc.driver import load
from spattenc.run.measured import half_unit, mean_by
from spattenc.run.loader import simulator

BASE = """
spec m "a measured toy"
param n: int = 4 in [1, 100]
param eff = 0.5 in [0.01, 1]
param launch = 1.0 in [0, 100]
let work = 2.0 * n
design d {
  stage run = work / eff + launch
  schedule run
  let t = end
  metric t = t label "Time" unit "s"
  metric rate = work / t label "Rate"
}
"""
MEASURED = "measured rows { design d config n observe t axis n }\n"


def write(tmp_path, text: str, name: str = "m.spt") -> str:
    p = tmp_path / name
    p.write_text(text)
    return str(p)


@pytest.mark.parametrize("extra, message", [
    ("measured x { design e config n observe t }", "14:21: error: unknown design 'e'; designs: d"),
    ("measured x { design d config work observe t }", "14:30: error: a config column must be a param; 'work' is not"),
    ("measured x { design d config n observe rate }",
     "error: an observed value must be a let or stage of design 'd' (the measured column replaces it); "
     "'rate' is not a let or stage of design 'd'"),
    ("measured x { design d config n observe run }",
     "error: design 'd' needs a metric 'run': the model's value that the measured column is compared with "
     "(e.g. metric run = run)"),
    ("measured x { design d config n, n observe t }", "error: 'n' is listed twice"),
    ("measured x { design d config n observe t axis eff }",
     "error: the axis must be a config param or a metric of design 'd'; 'eff' is neither"),
    ("measured x { design d config n observe t design d }", "error: 'design' is given more than once in measured 'x'"),
    ("measured x { config n observe t }", "error: measured 'x' needs 'design' (design NAME)"),
    ("roofline { compute 1.0 memory 2.0 intensity rate }", "error: the roofline needs 'throughput' (throughput METRIC)"),
    ("roofline { compute 1.0 memory 2.0 intensity rate throughput nope }",
     "error: 'nope' must be a metric of every design; design 'd' has none"),
    ("roofline { compute n > 1 memory 2.0 intensity rate throughput t }",
     "error: the roofline's compute roof must be a number, not a condition"),
    ("solve s for work in d: run == 1", "error: the unknown of a solve must be a param; 'work' is not"),
    ("solve s for n in d: end == 1", "error: a solve cannot read schedule times (no closed form); use stage durations"),
    ("solve s for n in d: run < 1", "error: a solve needs an equation 'a == b', or a number expression (solved for zero)"),
    ("solve s for n: work == 3 solve s for n: work == 4", "error: solve 's' is defined more than once"),
])
def test_declaration_errors(cli, tmp_path, extra, message):
    r = cli("check", write(tmp_path, BASE + extra + "\n"))
    assert r.code == 2
    assert message in r.err
    assert "Traceback" not in r.err


def test_measured_needs_a_spec_without_layers(cli, tmp_path):
    text = BASE.replace("metric t = t", "metric t = last(t)").replace("metric rate = work / t", "metric rate = work")
    text += "layers l in range(2) { let x = 1 }\n" + MEASURED
    r = cli("check", write(tmp_path, text))
    assert r.code == 2
    assert "error: measured tables need a spec without a layers block (one model value per row)" in r.err


def test_block_words_are_keywords_only_inside_their_blocks(cli, tmp_path):
    text = """
spec kw "names"
param config: int = 4 in [1, 100]
param memory = 2.0
param compute = 1.0
let observe = config * memory
let axis = observe + compute
design d {
  stage intensity = axis
  schedule intensity
  metric t = end
  metric intensity = intensity
}
roofline { compute compute, compute / 2 memory memory intensity t throughput t }
measured harness { design d config config observe intensity }
"""
    r = cli("check", write(tmp_path, text))
    assert r.code == 0, r.err


def test_solve_gives_the_closed_form_and_its_value(cli, tmp_path):
    # run = 2 n / eff + launch = 10  =>  n = (10 - launch) eff / 2 = 2.25 at eff 0.5, launch 1
    text = BASE + "solve n_at for n in d: run == 10 doc \"n where a run takes 10\"\n"
    r = cli("inspect", write(tmp_path, text), "n_at")
    assert r.code == 0, r.err
    assert "n = eff*(10 - launch)/2" in r.out or "n = -eff*(launch - 10)/2" in r.out
    assert "= 2.25 at the current params" in r.out
    r = cli("inspect", write(tmp_path, text), "n_at", "--set", "eff=0.2")
    assert "= 0.9 at the current params" in r.out
    r = cli("inspect", write(tmp_path, BASE + "solve never for n in d: run == run + 1\n"), "never")
    assert "no solution" in r.out or "does not depend on n" in r.out


def test_observed_values_replace_the_model_in_every_metric(tmp_path):
    sim = simulator(load(write(tmp_path, BASE + MEASURED)))
    assert sim.OBSERVABLE == ["d.t"]
    R, _, _ = sim.run({"n": np.array([1, 4, 10])}, trials=1)
    assert R["d"]["t"][:, 0].tolist() == [2 * n / 0.5 + 1.0 for n in (1, 4, 10)]
    R, _, _ = sim.run({"n": np.array([1, 4, 10])}, trials=1, observed={"d.t": [2.0, 4.0, 8.0]})
    assert R["d"]["t"][:, 0].tolist() == [2.0, 4.0, 8.0]
    assert R["d"]["rate"][:, 0].tolist() == [2.0 * 1 / 2.0, 2.0 * 4 / 4.0, 2.0 * 10 / 8.0]


def _csv(tmp_path, text, name="rows.csv"):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def test_eval_measured_report(cli, tmp_path):
    spec = write(tmp_path, BASE + MEASURED)
    # model t = 4 n + 1: n=1 -> 5, n=4 -> 17; measured 4 and 20 -> errors +25%, -15%
    rows = _csv(tmp_path, "n,t,rate,extra\n1,4,0.5,x\n4,20.0,0.40,y\n")
    r = cli("eval", spec, "--measured", rows)
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert lines[1].split() == ["n", "t", "measured", "t", "model", "error", "%"]
    assert lines[2].split() == ["1", "4", "5", "+25.00"]
    assert lines[3].split() == ["4", "20.0", "17", "-15.00"]
    assert "MAPE t: 20.00% over 2 rows (max |error| 25.00%)" in r.out
    assert "derived columns recomputed from measured t (rate): all agree with the file within rounding" in r.out
    assert "not compared (no metric of that name): extra" in r.out
    r = cli("eval", spec, "--measured", rows, "--csv")
    assert r.out.splitlines()[0] == ("file,line,n,t.measured,t.model,t.recomputed,t.error_pct,"
                                     "rate.measured,rate.model,rate.recomputed,rate.error_pct")
    assert r.out.splitlines()[2].split(",")[1:7] == ["3", "4", "20.0", "17.0", "20.0", "-15.0"]
    doc = json.loads(cli("eval", spec, "--measured", rows, "--json").out)
    t = doc["tables"][0]
    assert t["rows"][1]["model"]["rate"] == pytest.approx(8.0 / 17.0)
    assert t["rows"][1]["recomputed"]["rate"] == pytest.approx(8.0 / 20.0)
    assert t["mape_pct"]["t"] == pytest.approx(20.0)


@pytest.mark.parametrize("text, message", [
    ("n,rate\n1,2\n", "rows.csv: line 1: error: missing column t (measured 'rows' of spec 'm' needs n, t)"),
    ("n,t\n1,abc\n", "rows.csv: line 2, column 't': error: expected a number, got 'abc'"),
    ("n,t\n1.5,2\n", "rows.csv: line 2, column 'n': error: param 'n' is an integer, got '1.5'"),
    ("n,t\n1,2\n\n500,2\n", "rows.csv: line 4, column 'n': error: value 500 is outside the declared range [1, 100] of 'n'"),
    ("n,t\n1,2,3\n", "rows.csv: line 2: error: 3 fields, but the header has 2"),
    ("n,t,n\n1,2,3\n", "rows.csv: line 1: error: column 'n' appears twice in the header"),
    ("n,t\n", "rows.csv: error: no data rows"),
])
def test_bad_measured_tables(cli, tmp_path, text, message):
    r = cli("eval", write(tmp_path, BASE + MEASURED), "--measured", _csv(tmp_path, text))
    assert r.code == 2
    assert r.err.strip().endswith(message), r.err


def test_measured_option_errors(cli, tmp_path):
    rows = _csv(tmp_path, "n,t\n1,2\n")
    r = cli("eval", write(tmp_path, BASE), "--measured", rows)
    assert r.code == 2 and "spec 'm' has no 'measured' block" in r.err
    two = BASE + MEASURED + "measured other { design d config n observe t }\n"
    r = cli("eval", write(tmp_path, two), "--measured", rows)
    assert r.code == 2 and "several measured blocks (rows, other); choose one with --layout NAME" in r.err
    r = cli("eval", write(tmp_path, two), "--measured", rows, "--layout", "other")
    assert r.code == 0, r.err
    r = cli("eval", write(tmp_path, BASE + MEASURED), "--measured", rows, "--set", "n=3")
    assert r.code == 2 and "'n' is a config column of measured 'rows'; each row sets it" in r.err
    r = cli("eval", write(tmp_path, BASE + MEASURED), "--measured", rows, "--plots")
    assert r.code == 2 and "--plots needs --out DIR" in r.err


def test_fit_on_a_toy_is_exact(cli, tmp_path):
    """t = 2 n / eff + launch; rows made with eff 0.25, launch 3; start elsewhere."""
    spec = write(tmp_path, BASE + MEASURED)
    rows = _csv(tmp_path, "n,t\n" + "".join(f"{n},{2 * n / 0.25 + 3!r}\n" for n in (1, 2, 5, 9, 30)))
    r = cli("fit", spec, "--measured", rows, "--params", "eff,launch", "--json")
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert doc["fitted"]["eff"] == pytest.approx(0.25, rel=1e-7)
    assert doc["fitted"]["launch"] == pytest.approx(3.0, rel=1e-6)
    assert doc["start"] == {"eff": 0.5, "launch": 1.0}
    # Held out: fit rows 1, 3, 5 and report rows 2, 4 — exact data, so both errors vanish.
    r = cli("fit", spec, "--measured", rows, "--params", "eff,launch", "--holdout", "even", "--json")
    doc = json.loads(r.out)
    assert (doc["fit_rows"], doc["held_rows"]) == (3, 2)
    assert doc["held_error"]["mape_pct"]["after"] < 1e-5
    # A bound the optimum lies outside of: the fit stops at it.
    r = cli("fit", spec, "--measured", rows, "--params", "launch", "--set", "eff=1.0", "--json")
    assert json.loads(r.out)["fitted"]["launch"] <= 100.0
    r = cli("fit", spec, "--measured", rows, "--params", "n")
    assert r.code == 2 and "'n' is int; a fit adjusts real params" in r.err


def test_half_unit_and_mean_by():
    assert half_unit("0.016083") == pytest.approx(5e-7)
    assert half_unit("64") == 0.5
    assert half_unit("1.25e-3") == pytest.approx(5e-6)
    assert half_unit("-2.50") == pytest.approx(5e-3)
    keys, means = mean_by(np.array([256, 16, 256, 256]), np.array([1.0, 2.0, 3.0, 5.0]))
    assert keys.tolist() == [16.0, 256.0] and means.tolist() == [2.0, 3.0]


# ------------------------------------------------------------------ plots


def test_measured_overlay_panels(tmp_path):
    x = np.array([16.0, 128.0, 4096.0])
    panels = [("latency_ms", "Latency (ms)", [("a", x, [0.004, 0.02, 0.5], [0.005, 0.02, 0.45]),
                                              ("b", x[:2], [0.008, 0.009], [0.011, 0.02])]),
              ("tflops", "TFLOP/s", [("a", x, [2.0, 12.0, 23.0], [1.8, 12.0, 24.0])])]
    out = plots.measured_overlay(panels, tmp_path / "o.png", xlabel="blocks", title="t")
    assert out.path.exists() and out.log_x
    assert [p.name for p in out.panels] == ["latency_ms", "tflops"]
    assert [p.log_y for p in out.panels] == [True, False]  # 0.004 .. 0.5 spans 125x; 1.8 .. 24 only 13x
    assert out.panels[0].series[1].measured.tolist() == [0.008, 0.009]
    with pytest.raises(ValueError, match="must match"):
        plots.measured_overlay([("p", "y", [("a", x, [1.0], [1.0, 2.0, 3.0])])], tmp_path / "e.png", xlabel="x", title="t")


def test_roofline_plot(tmp_path):
    out = plots.roofline([("s", [64, 64], [20.0, 25.0], "measured"), ("s", [64], [24.0], "model")],
                         tmp_path / "r.png", peak=989.0, bandwidth=3.35, achievable_peak=741.75,
                         achievable_bandwidth=0.4, xlabel="FLOP/byte", ylabel="TFLOP/s", title="r")
    assert out.ridge == pytest.approx(989.0 / 3.35)
    assert out.achievable_ridge == pytest.approx(741.75 / 0.4)
    assert [g.kind for g in out.groups] == ["measured", "model"]
    assert out.groups[0].throughput.tolist() == [20.0, 25.0]
    with pytest.raises(ValueError, match="kind must be"):
        plots.roofline([("s", [1], [1], "guess")], tmp_path / "x.png", peak=1, bandwidth=1, xlabel="", ylabel="", title="")


@pytest.mark.parametrize("extra, message", [
    ("columns e: n, t", "error: unknown design 'e'; designs: d"),
    ("columns d: n, rat", "error: column 'rat' is neither a param nor a metric of design 'd'; did you mean 'rate'?"),
    ("columns d: n, t, n", "error: column 'n' is listed twice"),
    ("columns d: n, t aggregate rate", "error: 'aggregate rate': 'rate' is not one of the sweep's columns"),
    ("aggregate n", "error: sweep 's': 'aggregate' averages rows of the 'columns' table; declare"),
])
def test_sweep_table_errors(cli, tmp_path, extra, message):
    text = BASE + "sweep s { axis n = [1, 2] " + extra + " }\n"
    r = cli("check", write(tmp_path, text))
    assert r.code == 2
    assert message in r.err


def test_sweep_table_layout_and_aggregate(cli, tmp_path):
    """t = 2 n / 0.5 + 1 = 4 n + 1; rate = 2 n / t; rows of equal n averaged."""
    text = BASE.replace('metric t = t label "Time" unit "s"', 'metric t = t fmt ".3f"') + \
        "sweep s { axis n = [3, 1, 3] columns d: eff, n, t aggregate n }\n"
    spec = write(tmp_path, text)
    r = cli("eval", spec, "--sweep", "s", "--csv", "--out", str(tmp_path / "o"))
    assert r.code == 0, r.err
    assert r.out == "eff,n,t\n0.5,3,13.000\n0.5,1,5.000\n0.5,3,13.000\n"
    assert (tmp_path / "o" / "results_by_n.csv").read_text() == "eff,n,t\n0.5,1,5.000\n0.5,3,13.000\n"
    # Combined with another axis on the command line, the run is no longer the declared
    # sweep: the generic layout is used.
    r = cli("eval", spec, "--sweep", "s", "--sweep", "eff=0.5,1", "--csv")
    assert r.out.startswith("point,n,eff,")
