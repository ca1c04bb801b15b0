"""Sweeps: the `sweep` declaration, --sweep options, chunked evaluation, CSV and JSON.

Sweep results are checked against separate single-point `eval` runs and against figures
computed here independently of the compiler."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

import numpy as np
import pytest

from spattenc import cli
from spattenc.run import progress
from spattenc.run import sweep as sweeps
from spattenc.driver import front_end, load
from spattenc.ir.errors import SpecError
from spattenc.run.loader import simulator

ROOT = Path(__file__).resolve().parents[1]
CV_DEMO = str(ROOT / "specs" / "cv_demo.spt")

TINY = """\
spec tiny "A two-design toy"
trials 4
seed 1
param x = 1.0 in [0, 10]
param k: int = 2 in [1, 8]
param p = 0.5 in [0, 1]
param flag = true
layers l in range(k) {
  let N = 10
  random hits ~ binomial(N, p)
  stage work = x * N + hits
  stage other = 3
}
design a { schedule work -> other  metric total = last(end) }
design b { schedule work | other  metric total = last(end) }
compare gain = (mean(a.total) - mean(b.total)) / mean(a.total) * 100
"""


def compiled(extra: str = "", file: str = "tiny.spt"):
    return front_end(TINY + extra, file)


def error(extra: str) -> str:
    with pytest.raises(SpecError) as e:
        compiled(extra)
    return e.value.render()


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# ---------------------------------------------------------------- declaration


def test_axis_kinds_fold_to_values():
    c = compiled("""
sweep lists "Lists" { axis x = [1, 2.5, 2^3, -0] axis flag = [true, false] }
sweep ranges { axis k = range(1, 8, 3) axis x = range(0.5, 2, 0.5) combine zip }
sweep grids { axis x = linspace(0, 1, 5) axis p = geomspace(0.001, 1, 4) trials 12 }
""")
    sw = {s.name: s for s in c.program.sweeps}
    assert [(a.param, a.values) for a in sw["lists"].axes] == [("x", (1.0, 2.5, 8.0, 0.0)), ("flag", (True, False))]
    assert sw["lists"].title == "Lists" and sw["lists"].combine == "product" and sw["lists"].trials is None
    assert [(a.param, a.values) for a in sw["ranges"].axes] == [("k", (1, 4, 7)), ("x", (0.5, 1.0, 1.5))]
    assert sw["ranges"].combine == "zip"
    assert sw["grids"].axes[0].values == (0.0, 0.25, 0.5, 0.75, 1.0)
    assert sw["grids"].axes[1].values == (0.001, 0.01, 0.1, 1.0)
    assert sw["grids"].trials == 12
    # int params keep ints, real params get floats
    assert all(type(v) is int for v in sw["ranges"].axes[0].values)
    assert all(type(v) is float for v in sw["lists"].axes[0].values)


def test_linspace_values_drop_float_noise():
    c = compiled("sweep s { axis p = linspace(0.05, 0.5, 10) }")
    assert c.program.sweeps[0].axes[0].values == (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5)


@pytest.mark.parametrize("extra, message", [
    ("sweep s { axis y = [1] }", "tiny.spt:17:16: error: 'y' is not defined; a sweep axis varies a param\n"
                                 "  sweep s { axis y = [1] }\n"
                                 "                 ^"),
    ("sweep s { axis x = [1, 11] }",
     "tiny.spt:17:16: error: axis 'x': value 11.0 is outside the declared range [0, 10]\n"
     "  sweep s { axis x = [1, 11] }\n"
     "                 ^\n"
     "tiny.spt:4:7: note: 'x' is declared here\n"
     "  param x = 1.0 in [0, 10]\n"
     "        ^"),
    ("sweep s { axis k = linspace(1, 4, 3) }", "error: axis 'k': the param is int; 2.5 is not an integer"),
    ("sweep s { axis x = [1, 2] axis p = [0.1] combine zip }",
     "error: sweep 's' zips axes of different lengths (x: 2, p: 1)"),
    ("sweep s { axis x = [1] axis x = [2] }", "error: 'x' is swept more than once in sweep 's'"),
    ("sweep s { axis x = [1] }\nsweep s { axis p = [0.5] }", "error: sweep 's' is defined more than once"),
    ("sweep s { axis x = logspace(1, 2, 3) }", "error: unknown axis generator 'logspace'"),
    ("sweep s { axis x = linspace(1, 2) }", "error: linspace() takes 3 arguments (start, stop, num), got 2"),
    ("sweep s { axis x = [1] combine cross }", "error: unknown combination 'cross'; expected product or zip"),
    ("sweep s { trials 3 }", "error: sweep 's' has no axes"),
    ("sweep s { axis x = [1] trials 0 }", "error: 'trials' must be a positive integer, got 0"),
    ("sweep s { axis x = range(1, 1) }", "error: axis 'x': range() gives no values"),
    ("sweep s { axis x = geomspace(0, 1, 3) }", "error: axis 'x': geomspace() needs positive start and stop"),
    ("sweep s { axis x = [N] }", "error: a value of axis 'x' must be a literal number, not 'N'"),
    ("sweep s { axis flag = [1] }", "error: axis 'flag': the param is bool; got 1 (use true or false)"),
])
def test_declaration_errors(extra, message):
    assert message in error(extra)


def test_show_and_gantt_attribute_errors():
    assert "error: unknown gantt kind 'bar'; expected one of stage, overlay, wasted, corrective, none" in \
        error("design c { schedule work metric t = last(end) show w from work.start to zz gantt \"bar\" }")
    assert "error: unknown name 'zz'" in error("design c { schedule work metric t = last(end) show w from work.start to zz }")
    assert "error: 'show w' appears more than once in design 'c'" in error(
        "design c { schedule work metric t = last(end) show w from 0 to 1 show w from 1 to 2 }")


# ---------------------------------------------------------------- command line


def test_cli_axes_form_a_product_in_order(tmp_path):
    c = load(CV_DEMO)
    sw = sweeps.from_cli(c, ["predictor_recall=0.8:1:3", "initial_heads=8,12", "predictor_compute_factor=1e-3:1:4:log"])
    assert sw.shape == (3, 2, 4) and sw.size == 24 and sw.combine == "product"
    cols = sw.columns()
    assert cols["predictor_recall"].tolist() == [0.8] * 8 + [0.9] * 8 + [1.0] * 8
    assert cols["initial_heads"].tolist()[:8] == [8, 8, 8, 8, 12, 12, 12, 12]
    assert cols["predictor_compute_factor"].tolist()[:4] == [0.001, 0.01, 0.1, 1.0]
    declared = sweeps.from_cli(c, ["scaling"])
    assert declared.name == "scaling" and declared.shape == (3, 4)


@pytest.mark.parametrize("item, message", [
    ("nosuch", "error: --sweep nosuch: no sweep named 'nosuch'; declared sweeps: pr_coarse"),
    ("predictor_recal=0.5,0.6", "'predictor_recal' is not a param of spec 'cv_demo'; did you mean 'predictor_recall'?"),
    ("predictor_recall=0.5:1.2:3", "value 1.2 is outside the declared range [0, 1] of 'predictor_recall'"),
    ("num_layers=1:10:3", "error: --sweep num_layers=1:10:3: the param is int; 5.5 is not an integer"),
    ("predictor_recall=0.5:1:x", "expected NAME=START:STOP:NUM with numbers and an integer NUM"),
    ("initial_heads=4,x", "--sweep initial_heads=x: expected an integer"),
])
def test_cli_sweep_errors(capsys, item, message):
    code, out, err = run_cli(capsys, "eval", CV_DEMO, "--sweep", item)
    assert code == 2 and message in err and "Traceback" not in err and out == ""


def test_cli_sweep_conflicts(capsys):
    code, _, err = run_cli(capsys, "eval", CV_DEMO, "--sweep", "predictor_recall=0.5,0.6", "--sweep", "pr_coarse")
    assert code == 2 and "'predictor_recall' is already swept by --sweep predictor_recall=0.5,0.6" in err
    code, _, err = run_cli(capsys, "eval", CV_DEMO, "--sweep", "bandwidth", "--set", "bandwidth_Gb_per_s=64")
    assert code == 2 and "'bandwidth_Gb_per_s' is also swept by --sweep" in err
    code, _, err = run_cli(capsys, "eval", CV_DEMO, "--plots")
    assert code == 2 and "--plots needs --out DIR" in err


@pytest.mark.parametrize("text, value", [("2GiB", 2 * 1024**3), ("512MiB", 512 * 1024**2), ("1.5G", int(1.5 * 1024**3)),
                                         ("100000000", 100000000), ("64m", 64 * 1024**2)])
def test_parse_size(text, value):
    assert sweeps.parse_size(text) == value


def test_parse_size_rejects():
    for bad in ("lots", "12", "-1G"):
        with pytest.raises(ValueError):
            sweeps.parse_size(bad)


# ---------------------------------------------------------------- agreement with single points


def _single(capsys, *args: str) -> dict:
    code, out, _ = run_cli(capsys, "eval", CV_DEMO, "--json", *args)
    assert code == 0
    return json.loads(out)


SMALL = ("--set", "initial_seq_len=96", "--trials", "24", "--seed", "7")


def test_sweep_json_and_csv_agree_with_single_point_evals(capsys, tmp_path):
    argv = ["eval", CV_DEMO, "--sweep", "predictor_precision=0.8,0.9", "--sweep", "predictor_recall=0.85,0.95,0.99",
            *SMALL, "--out", str(tmp_path)]
    code, out, _ = run_cli(capsys, *argv, "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["sweep"]["groups"] == [["predictor_precision"], ["predictor_recall"]]
    assert len(doc["points"]) == 6 and "designs" not in doc
    assert json.loads((tmp_path / "results.json").read_text()) == doc
    assert not (tmp_path / "results.csv").exists()  # --json --out writes the format asked for
    code, _, _ = run_cli(capsys, *argv)  # no format option: --out writes both
    assert code == 0 and json.loads((tmp_path / "results.json").read_text()) == doc
    rows = list(csv.DictReader(io.StringIO((tmp_path / "results.csv").read_text())))
    assert len(rows) == 6
    for point, row in zip(doc["points"], rows):
        p, r = point["values"]["predictor_precision"], point["values"]["predictor_recall"]
        assert float(row["predictor_precision"]) == p and float(row["predictor_recall"]) == r
        one = _single(capsys, *SMALL, "--set", f"predictor_precision={p}", "--set", f"predictor_recall={r}")
        assert point["designs"] == one["designs"]
        assert point["compare"] == one["compare"]
        for d, metrics in one["designs"].items():
            for m, stats in metrics.items():
                assert float(row[f"{d}.{m}.mean"]) == stats["mean"]
                assert float(row[f"{d}.{m}.std"]) == stats["std"]
        assert float(row["improvement_pct"]) == one["compare"]["improvement_pct"]
    # the random metrics really vary with the predictor: not one value copied around
    assert len({pt["designs"]["lookahead"]["wasted_mb"]["mean"] for pt in doc["points"]}) == 6


def test_points_with_different_layer_counts_agree_with_single_points(capsys):
    code, out, _ = run_cli(capsys, "eval", CV_DEMO, "--sweep", "num_layers=2,5,3", "--sweep", "initial_seq_len=64,40",
                           "--trials", "9", "--json")
    assert code == 0
    doc = json.loads(out)
    for point in doc["points"]:
        v = point["values"]
        one = _single(capsys, "--trials", "9", "--set", f"num_layers={v['num_layers']}",
                      "--set", f"initial_seq_len={v['initial_seq_len']}")
        assert point["designs"] == one["designs"] and point["compare"] == one["compare"]


def test_legacy_sweep_agrees_with_single_point_legacy_evals(capsys):
    code, out, _ = run_cli(capsys, "eval", CV_DEMO, "--rng", "legacy", "--sweep", "predictor_recall=0.9,0.995",
                           "--trials", "6", "--set", "initial_seq_len=64", "--json")
    assert code == 0
    for point in json.loads(out)["points"]:
        one = _single(capsys, "--rng", "legacy", "--trials", "6", "--set", "initial_seq_len=64",
                      "--set", f"predictor_recall={point['values']['predictor_recall']}")
        assert point["designs"] == one["designs"]


def _baseline_cycles(bandwidth_gbps: float, n0: int = 512, layers: int = 12) -> float:
    """The seed's baseline (no lookahead), written out from its description: fetch Q/K/V,
    QK, softmax, AV, score and top-k, one after the other, tokens pruned by 20% a layer."""
    bpc = bandwidth_gbps * 1e9 / 8 / 1e9
    window = bpc * 20 * 1.0
    t, n = 0.0, n0
    for _ in range(layers):
        nbytes = n * 768 * 2 * 3
        over = (nbytes - window) / bpc if nbytes > window else 0
        fetch = max(1, min(1e12, 20 + nbytes / bpc + over))
        work = n * n * 12
        stages = [fetch] + [max(1, min(1e12, f * work)) for f in (0.1, 0.0008, 0.1, 0.5)] + [max(1, min(1e12, 0.01 * n))]
        for s in stages:
            t = t + s
        n = math.trunc(max(1, n * (1 - 0.2)))
    return t


def test_bandwidth_sweep_matches_independent_baseline(capsys, tmp_path):
    code, out, _ = run_cli(capsys, "eval", CV_DEMO, "--sweep", "bandwidth", "--trials", "3", "--csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [float(r["bandwidth_Gb_per_s"]) for r in rows] == [32, 64, 128, 256, 512, 1024]
    for r in rows:
        expect = _baseline_cycles(float(r["bandwidth_Gb_per_s"]))
        assert float(r["baseline.total_cycles.mean"]) == pytest.approx(expect, rel=1e-12)
        assert float(r["baseline.total_cycles.std"]) == 0.0
    # the seed's published baseline at 1024 Gb/s
    assert float(rows[-1]["baseline.total_cycles.mean"]) == pytest.approx(6224128.6752, rel=1e-12)


def test_csv_columns(capsys):
    code, out, _ = run_cli(capsys, "eval", CV_DEMO, "--sweep", "spec_fetch", "--trials", "2", "--csv")
    assert code == 0
    header = out.splitlines()[0].split(",")
    metrics = [("baseline", "total_cycles"), ("baseline", "dram_mb"), ("lookahead", "total_cycles"),
               ("lookahead", "dram_mb"), ("lookahead", "wasted_mb"), ("lookahead", "avg_hidden_cycles"),
               ("lookahead", "lookahead_finish_rate")]
    expect = ["point", "speculative_fetch_vecs"] + [f"{d}.{m}.{s}" for d, m in metrics for s in ("mean", "std")] + \
        ["improvement_pct"]
    assert header == expect
    assert [line.split(",")[:2] for line in out.splitlines()[1:]] == [["0", "1"], ["1", "2"], ["2", "3"]]


# ---------------------------------------------------------------- chunking


def test_results_do_not_depend_on_chunking(monkeypatch):
    c = load(CV_DEMO)
    sim = simulator(c)
    sw = sweeps.from_cli(c, ["predictor_recall=0.8:0.99:7", "initial_seq_len=32,48"])
    base = {"num_layers": 4}
    whole = sweeps.evaluate(c, sim, base, sw, 40, 3)
    assert whole.chunks == 1
    monkeypatch.setattr(sweeps, "_CALIBRATION_ELEMENTS", 40)
    monkeypatch.setattr(sweeps, "_MAX_CHUNK_ELEMENTS", 120)
    parts = sweeps.evaluate(c, sim, base, sw, 40, 3)
    assert parts.chunks == 1 + 5 and parts.chunk_points == 3  # one calibration point, then 3 a chunk
    for d, ms in whole.designs.items():
        for m, st in ms.items():
            for field in ("mean", "std", "min", "max"):
                assert np.array_equal(getattr(st, field), getattr(parts.designs[d][m], field))
    assert np.array_equal(whole.compares["improvement_pct"].mean, parts.compares["improvement_pct"].mean)


def test_memory_budget_sizes_the_chunks():
    c = load(CV_DEMO)
    sim = simulator(c)
    sw = sweeps.from_cli(c, ["predictor_recall=0.8:0.99:400"])
    res = sweeps.evaluate(c, sim, {"num_layers": 2, "initial_seq_len": 16}, sw, 2000, 1, mem_budget=1 << 20)
    # measured bytes per trial-evaluation, and chunks that fit the 1 MiB budget
    assert res.mem_per_element > 8
    assert res.chunk_points * 2000 * res.mem_per_element <= (1 << 20) * 1.0001
    assert res.chunks > 10


def test_trial_blocks_merge_to_the_statistics_of_all_samples(monkeypatch):
    c = load(CV_DEMO)
    sim = simulator(c)
    monkeypatch.setattr(sim, "TRIAL_BLOCK", 7)
    base = {"num_layers": 3, "initial_seq_len": 40, "predictor_recall": 0.7}
    res = sweeps.evaluate(c, sim, base, None, 30, 5, keep_samples=True)
    R, C, _ = sim.run(base, trials=30, seed=5)  # the same blocks, all samples at once
    for m in ("total_cycles", "dram_mb", "avg_hidden_cycles"):
        x = R["lookahead"][m][0]
        st = res.designs["lookahead"][m]
        assert st.mean[0] == pytest.approx(np.mean(x), rel=1e-13)
        assert st.std[0] == pytest.approx(np.std(x), rel=1e-9, abs=1e-9)
        assert (st.min[0], st.max[0]) == (np.min(x), np.max(x))
        assert np.array_equal(res.samples["lookahead"][m], x)
    assert res.compares["improvement_pct"].mean[0] == pytest.approx(C["improvement_pct"][0, 0], rel=1e-12)


# ---------------------------------------------------------------- progress


class _Tty(io.StringIO):
    def isatty(self):
        return True


def test_progress_only_on_a_terminal_and_after_the_delay(monkeypatch):
    monkeypatch.setattr(progress, "MIN_INTERVAL", 0.0)
    tty = _Tty()
    p = sweeps.Progress(100, stream=tty, delay=0.0)
    p.update(50)
    p.update(100)
    p.close()
    text = tty.getvalue()
    assert " 50%|" in text and "50/100 trial-evaluations" in text and "100/100" in text
    assert text.endswith("\r")  # erased when done (tqdm leave=False)
    for stream, kw in ((_Tty(), {}), (_Tty(), {"delay": 0.0, "quiet": True}), (io.StringIO(), {"delay": 0.0})):
        p = sweeps.Progress(100, stream=stream, **kw)  # quick work, --quiet, or not a terminal: nothing
        p.update(100)
        p.close()
        assert stream.getvalue() == "", kw


def test_eval_is_silent_on_stderr_when_piped(capsys):
    code, out, err = run_cli(capsys, "eval", CV_DEMO, "--sweep", "pr_coarse", "--trials", "2", "--csv")
    assert code == 0 and err == "" and len(out.splitlines()) == 101


def test_eval_draws_progress_on_a_terminal_but_not_with_json(monkeypatch, capsys):
    monkeypatch.setattr(progress, "PROGRESS_DELAY", 0.0)
    monkeypatch.setattr(progress, "MIN_INTERVAL", 0.0)
    for extra, shown in (((), True), (("--json",), False), (("--quiet",), False)):
        tty = _Tty()
        monkeypatch.setattr("sys.stderr", tty)
        assert cli.main(["eval", CV_DEMO, "--sweep", "pr_coarse", "--trials", "2", *extra]) == 0
        assert ("200/200 trial-evaluations" in tty.getvalue()) == shown, tty.getvalue()
        capsys.readouterr()
