"""The Python API: docs/api.md's examples run, to_dict() is `eval --json`, sweeps are the
CSV's table, and user errors raise SpecError with the command line's message."""

from __future__ import annotations

import doctest
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import spattenc

ROOT = Path(__file__).resolve().parents[1]
CV_DEMO = str(ROOT / "specs" / "cv_demo.spt")


def _cli_json(*args: str) -> dict:
    r = subprocess.run([sys.executable, "-m", "spattenc", "eval", *args, "--json"], cwd=ROOT, capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_the_examples_of_docs_api_md_run(monkeypatch):
    monkeypatch.chdir(ROOT)
    result = doctest.testfile(str(ROOT / "docs" / "api.md"), module_relative=False, verbose=False,
                              optionflags=doctest.ELLIPSIS)
    assert result.attempted > 10 and result.failed == 0


def test_to_dict_is_the_eval_json_document():
    spec = spattenc.load(CV_DEMO)
    r = spec.eval(set={"predictor_recall": 0.9, "num_layers": 6}, trials=200, seed=42, rng="pcg64")
    assert r.to_dict() == _cli_json(CV_DEMO, "--set", "predictor_recall=0.9", "--set", "num_layers=6",
                                    "--trials", "200", "--seed", "42")
    legacy = spec.eval(trials=5, rng="legacy")
    assert legacy.to_dict() == _cli_json(CV_DEMO, "--trials", "5", "--rng", "legacy")


def test_a_sweep_is_the_csv_table_and_its_json(tmp_path):
    spec = spattenc.load(CV_DEMO)
    s = spec.sweep({"predictor_precision": np.linspace(0.8, 1, 3), "predictor_recall": [0.85, 0.95]}, trials=20)
    want = _cli_json(CV_DEMO, "--sweep", "predictor_precision=0.8:1:3", "--sweep", "predictor_recall=0.85,0.95",
                     "--trials", "20")
    doc = s.to_dict()
    assert doc["points"] == want["points"]  # the same values; the sweep's axes are given differently
    r = subprocess.run([sys.executable, "-m", "spattenc", "eval", CV_DEMO, "--sweep", "predictor_precision=0.8:1:3",
                        "--sweep", "predictor_recall=0.85,0.95", "--trials", "20", "--csv"], cwd=ROOT,
                       capture_output=True, text=True, timeout=600)
    rows = [line.split(",") for line in r.stdout.splitlines()]
    df = s.to_pandas()
    assert list(df.columns) == rows[0] and len(df) == 6
    for j, name in enumerate(rows[0]):
        assert [repr(v) for v in df[name].tolist()] == [row[j] for row in rows[1:]], name
    assert s.to_arrow().num_rows == 6 and len(spec.sweep("pr_coarse", trials=2)) == 100


def test_samples_are_the_trials_and_their_mean_the_reported_mean():
    spec = spattenc.load(CV_DEMO)
    r = spec.eval(trials=300, seed=3)
    x = r.samples("lookahead", "wasted_mb")
    stats = r.to_dict()["designs"]["lookahead"]["wasted_mb"]
    assert x.shape == (300,) and x.min() == stats["min"] and x.max() == stats["max"]
    assert x.mean() == pytest.approx(stats["mean"], rel=1e-12) and np.std(x) == pytest.approx(stats["std"], rel=1e-9)
    base = r.samples("baseline", "total_cycles")  # no draw: the same value in every trial
    assert np.all(base == r.to_dict()["designs"]["baseline"]["total_cycles"]["mean"])
    with pytest.raises(spattenc.SpecError, match="no metric 'nope' of design 'lookahead'"):
        r.samples("lookahead", "nope")


def test_inputs_are_files_by_name():
    spec = spattenc.load(ROOT / "specs" / "spatten_trace.spt")
    trace = str(ROOT / "examples" / "spatten" / "small.csv")
    r = spec.eval(inputs={"trace": trace})
    assert r.to_dict() == _cli_json(str(ROOT / "specs" / "spatten_trace.spt"), "--input", f"trace={trace}")
    with pytest.raises(spattenc.SpecError, match="give it with --input trace=FILE"):
        spec.eval()


def test_user_errors_raise_spec_error_with_the_cli_message(tmp_path):
    bad = tmp_path / "bad.spt"
    bad.write_text("spec x\nparam a = 1 in [0, 2]\nparam a = 2\n")
    with pytest.raises(spattenc.SpecError) as e:
        spattenc.load(bad)
    r = subprocess.run([sys.executable, "-m", "spattenc", "check", str(bad)], capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 2 and r.stderr.strip() == e.value.render().strip()
    spec = spattenc.load(CV_DEMO)
    with pytest.raises(spattenc.SpecError, match="'predictor_recal' is not a param of spec 'cv_demo'"):
        spec.eval(set={"predictor_recal": 0.9})
    with pytest.raises(spattenc.SpecError, match="no sweep named 'pr_nope'"):
        spec.sweep("pr_nope")
    with pytest.raises(spattenc.SpecError, match="is not a constant, per-layer quantity, stage"):
        spec.closed_form("nope")


def test_closed_forms_are_sympy_and_agree_with_the_simulator():
    import sympy

    spec = spattenc.load(CV_DEMO)
    qk = spec.closed_form("qk")
    assert isinstance(qk, sympy.Expr) and {"H", "N"} <= {str(s) for s in qk.free_symbols}
    # qk = H * N^2 * qk_mult_factor, clamped to [1, 1e12]: by hand at H = 12, N = 512
    factor = spec.eval(trials=1).to_dict()["params"]["qk_mult_factor"]
    at = {s: {"H": 12, "N": 512, "qk_mult_factor": factor}[str(s)] for s in qk.free_symbols}
    assert float(qk.subs(at)) == 12 * 512**2 * factor
    # cv_demo's totals floor token counts (the closed form relaxes them); the parametric
    # SpAtten model has none: its comparison in closed form equals the simulator's figure
    sc = spattenc.load(ROOT / "specs" / "spatten_cascade.spt")
    form = sc.closed_form("speedup", set={"seq_len": 384})
    doc = sc.eval(set={"seq_len": 384}).to_dict()
    assert {str(s) for s in form.free_symbols} <= set(doc["params"])
    value = float(form.subs({s: doc["params"][str(s)] for s in form.free_symbols}))
    assert value == pytest.approx(doc["compare"]["speedup"], rel=1e-12)
