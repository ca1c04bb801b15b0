"""The model lives in the spec: modified copies of specs/cv_demo.spt give the results
computed by hand here; the generated simulator is vectorized, standalone and deterministic;
the package knows nothing of cv_demo.

Hand configuration (HAND): 2 layers (3 for recurrences), N0 = 10 tokens, H = 2 heads,
pruning 0.5, recall = precision = 1 (so tp = k, predicted = k: no randomness).  With the
default memory system (1536 bytes per vector, 128 bytes per cycle, window 2560 bytes,
latency 20):
  fetch(N, 3) = 20 + 36N + (4608N - 2560)/128 = 72N            (N >= 1)
  fetch(k, 1) = 20 + 12k + (1536k - 2560)/128 = 24k            (k >= 2); fetch(0, v) = 1
  qk = av = 0.1*2N^2 = 0.2N^2, score = 0.5*2N^2 = N^2, softmax = top_k = predictor = proxy = 1
  baseline layer = 72N + 1.4N^2 + 2:   N=10: 862, N=5: 397
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT, SPEC, SUBPROCESS_TIMEOUT

CV = SPEC.read_text(encoding="utf-8")
HAND = {"num_layers": 2, "initial_seq_len": 10, "initial_heads": 2, "token_pruning_rate": 0.5,
        "predictor_recall": 1.0, "predictor_precision": 1.0}


def edit(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def evaluate(cli, tmp_path, text: str, overrides: dict, rng: str = "pcg64") -> dict:
    path = tmp_path / "modified.spt"
    path.write_text(text, encoding="utf-8")
    sets = [x for k, v in overrides.items() for x in ("--set", f"{k}={v}")]
    r = cli("eval", str(path), "--trials", "3", "--rng", rng, "--json", *sets)
    assert r.code == 0, r.err
    return json.loads(r.out)


def assert_metric(doc: dict, design: str, metric: str, value: float) -> None:
    s = doc["designs"][design][metric]
    assert s["mean"] == pytest.approx(value, rel=1e-12, abs=1e-12), (design, metric, s)
    assert s["min"] == pytest.approx(value, rel=1e-12, abs=1e-12)
    assert s["max"] == pytest.approx(value, rel=1e-12, abs=1e-12)
    assert s["std"] == pytest.approx(0.0, abs=1e-9 * max(1.0, abs(value)))


# Lookahead with HAND, layer by layer (fn = 0 so corrective = 1; look = 3):
#   l0: N=10, k=5: start 720, par 720+20+1 = 741, A = 741+20+1 = 762, spec = 24*5 = 120,
#       B = 741+3+120 = 864 > par+av = 761 (not finished), hidden min(20, 123) = 20, time 864
#   l1: N=5, k=2: start 864+360 = 1224, par 1224+5+1 = 1230, A = 1236, spec = 24*2 = 48,
#       B = 1230+3+48 = 1281, hidden min(5, 51) = 5, time 1281
#   dram = 10*4608 + 5*1536 + 5*4608 + 2*1536 = 79872 bytes
HAND_BASELINE = 862 + 397
HAND_LOOKAHEAD = 1281


@pytest.mark.parametrize("rng", ["pcg64", "legacy"])
def test_unmodified_spec_hand_configuration(cli, tmp_path, rng):
    doc = evaluate(cli, tmp_path, CV, HAND, rng)
    assert_metric(doc, "baseline", "total_cycles", HAND_BASELINE)
    assert_metric(doc, "baseline", "dram_mb", (10 + 5) * 4608 / 1e6)
    assert_metric(doc, "lookahead", "total_cycles", HAND_LOOKAHEAD)
    assert_metric(doc, "lookahead", "dram_mb", 79872 / 1e6)
    assert_metric(doc, "lookahead", "wasted_mb", 0.0)
    assert_metric(doc, "lookahead", "avg_hidden_cycles", (20 + 5) / 2)
    assert_metric(doc, "lookahead", "lookahead_finish_rate", 0.0)
    assert doc["compare"]["improvement_pct"] == pytest.approx((1259 - 1281) / 1259 * 100, rel=1e-12)


def test_changed_stage_formula(cli, tmp_path):
    """score works on N*H instead of N^2*H; the lookahead path costs 100 cycles more."""
    text = edit(CV, "stage score = compute(score_comp_factor, N^2 * H, N, H)",
                "stage score = compute(score_comp_factor, N * H, N, H)")
    text = edit(text, "stage lookahead_path = predictor + proxy + top_k",
                "stage lookahead_path = predictor + proxy + top_k + 100")
    doc = evaluate(cli, tmp_path, text, HAND)
    # score: 0.5*20 = 10 (was 100) and 0.5*10 = 5 (was 25)
    assert_metric(doc, "baseline", "total_cycles", (862 - 100 + 10) + (397 - 25 + 5))
    # l0: B = 741 + 103 + 120 = 964 -> time 964, hidden min(20, 223) = 20
    # l1: start 964+360 = 1324, par 1330, A = 1336, B = 1330 + 103 + 48 = 1481
    assert_metric(doc, "lookahead", "total_cycles", 1481)
    assert_metric(doc, "lookahead", "avg_hidden_cycles", 12.5)


def test_changed_function(cli, tmp_path):
    """Without the saturation penalty, fetch(N, 3) = 20 + 36N and fetch(k, 1) = 20 + 12k."""
    text = edit(CV, "let over = if window > 0 and bytes > window then (bytes - window) / bytes_per_cycle else 0",
                "let over = 0")
    doc = evaluate(cli, tmp_path, text, HAND)
    # baseline: (380 + 20+1+20+100+1) + (200 + 5+1+5+25+1) = 522 + 237
    assert_metric(doc, "baseline", "total_cycles", 759)
    # l0: start 380, par 401, A 422, spec 20+60 = 80, B = 401+3+80 = 484 -> 484
    # l1: start 484+200 = 684, par 690, A 696, spec 20+24 = 44, B = 690+3+44 = 737 -> 737
    assert_metric(doc, "lookahead", "total_cycles", 737)


def test_extra_stage_in_one_design(cli, tmp_path):
    """A per-layer `writeback` stage scheduled after top_k in the baseline only."""
    text = edit(CV, "  stage corrective = fetch(false_neg, corrective_fetch_vecs)",
                "  stage corrective = fetch(false_neg, corrective_fetch_vecs)\n  stage writeback = 7 + N")
    text = edit(text, "schedule fetch_qkv -> qk -> softmax -> av -> score -> top_k",
                "schedule fetch_qkv -> qk -> softmax -> av -> score -> top_k -> writeback")
    doc = evaluate(cli, tmp_path, text, HAND)
    assert_metric(doc, "baseline", "total_cycles", HAND_BASELINE + (7 + 10) + (7 + 5))
    assert_metric(doc, "lookahead", "total_cycles", HAND_LOOKAHEAD)


def test_third_design_and_comparison(cli, tmp_path):
    """A third design with its own stage and a parallel branch, a metric of each
    reduction kind used, and a comparison against the baseline."""
    ideal = """
design ideal "Ideal" {
  stage flush = 3 * N
  schedule (qk -> softmax | flush) -> av
  metric total_cycles = last(end) label "Total Cycles" fmt ".1f"
  metric flush_total = sum(flush)
  metric first_av_end = first(av.end)
  metric widest = max_over(N)
  metric flush_wins = count(flush.end > softmax.end)
  metric mean_av = mean(av)
}

compare ideal_speedup = mean(baseline.total_cycles) / mean(ideal.total_cycles) label "Ideal speedup" fmt ".3f"
"""
    doc = evaluate(cli, tmp_path, CV + ideal, HAND)
    # l0: max(20 + 1, 30) + 20 = 50; l1: start 50, max(5 + 1, 15) + 5 -> 50 + 20 = 70
    assert_metric(doc, "ideal", "total_cycles", 70)
    assert_metric(doc, "ideal", "flush_total", 30 + 15)
    assert_metric(doc, "ideal", "first_av_end", 50)
    assert_metric(doc, "ideal", "widest", 10)
    assert_metric(doc, "ideal", "flush_wins", 2)
    assert_metric(doc, "ideal", "mean_av", (20 + 5) / 2)
    assert doc["compare"]["ideal_speedup"] == pytest.approx(1259 / 70, rel=1e-12)
    # The original designs are untouched.
    assert_metric(doc, "baseline", "total_cycles", HAND_BASELINE)
    assert_metric(doc, "lookahead", "total_cycles", HAND_LOOKAHEAD)
    # And the table has a third column and the new comparison line.
    path = tmp_path / "modified.spt"
    sets = [x for k, v in HAND.items() for x in ("--set", f"{k}={v}")]
    r = cli("eval", str(path), "--trials", "3", *sets)
    assert r.code == 0, r.err
    row = next(ln for ln in r.out.splitlines() if ln.strip().startswith("Total Cycles"))
    assert [c.strip() for c in row.split("|")] == ["Total Cycles", "1,259", "1281 ± 0", "70.0"]
    assert f"Ideal speedup: {1259 / 70:.3f}" in r.out


# Three layers, N0 = 10, pruning 0.25, H = 2.  Baseline layer cost 72N + 1.4N^2 + 2 (N >= 3).
RECUR = dict(HAND, num_layers=3, token_pruning_rate=0.25)


def _baseline(ns):
    return sum(72 * n + 1.4 * n * n + 2 for n in ns)


def test_recurrence_as_shipped(cli, tmp_path):
    """trunc: N = 10, 7 (7.5), 5 (5.25)."""
    doc = evaluate(cli, tmp_path, CV, RECUR)
    assert_metric(doc, "baseline", "total_cycles", _baseline([10, 7, 5]))  # 862 + 574.6 + 397
    assert_metric(doc, "baseline", "dram_mb", (10 + 7 + 5) * 4608 / 1e6)


def test_recurrence_with_ceil(cli, tmp_path):
    """ceil instead of trunc: N = 10, 8 (7.5), 6 (6.0); k = 8, 6, 5 (4.5)."""
    text = edit(CV, "let N_next = trunc(max(1, N * (1 - token_pruning_rate)))",
                "let N_next = ceil(max(1, N * (1 - token_pruning_rate)))")
    doc = evaluate(cli, tmp_path, text, RECUR)
    assert_metric(doc, "baseline", "total_cycles", 862 + 667.6 + 484.4)
    assert_metric(doc, "baseline", "dram_mb", (10 + 8 + 6) * 4608 / 1e6)
    # l0: N=10, k=8: par 741, A 762, spec 24*8 = 192, B = 741+3+192 = 936 -> 936; hidden 20
    # l1: N=8, k=6: start 936+576 = 1512, qk = av = 12.8, par 1525.8, A 1539.6,
    #     spec 144, B = 1525.8+3+144 = 1672.8 -> 1672.8; hidden 12.8
    # l2: N=6, k=5: start 1672.8+432 = 2104.8, qk = av = 7.2, par 2113, A 2121.2,
    #     spec 120, B = 2113+3+120 = 2236 -> 2236; hidden 7.2
    assert_metric(doc, "lookahead", "total_cycles", 2236)
    assert_metric(doc, "lookahead", "avg_hidden_cycles", (20 + 12.8 + 7.2) / 3)
    assert_metric(doc, "lookahead", "dram_mb", ((10 + 8 + 6) * 4608 + (8 + 6 + 5) * 1536) / 1e6)


def test_recurrence_with_a_different_pruning_law(cli, tmp_path):
    """Prune a fixed 3 tokens per layer: N = 10, 7, 4."""
    text = edit(CV, "let N_next = trunc(max(1, N * (1 - token_pruning_rate)))", "let N_next = max(1, N - 3)")
    doc = evaluate(cli, tmp_path, text, RECUR)
    assert_metric(doc, "baseline", "total_cycles", 862 + 574.6 + 312.4)
    assert_metric(doc, "baseline", "dram_mb", (10 + 7 + 4) * 4608 / 1e6)


def test_predictor_over_prediction_is_wasted(cli, tmp_path):
    """precision 0.5, recall 1: predicted = min(2k, N), false positives min(2k, N) - k.
    l0: N=10, k=5 -> predicted 10, 5 wasted; l1: N=5, k=2 -> predicted 4, 2 wasted."""
    doc = evaluate(cli, tmp_path, CV, dict(HAND, predictor_precision=0.5))
    assert_metric(doc, "lookahead", "wasted_mb", (5 + 2) * 1536 / 1e6)
    assert_metric(doc, "lookahead", "dram_mb", ((10 + 5) * 4608 + (10 + 4) * 1536) / 1e6)
    # l0: spec = 24*10 = 240, B = 741+3+240 = 984; l1: start 984+360 = 1344, par 1350,
    #     spec = 24*4 = 96, B = 1350+3+96 = 1449
    assert_metric(doc, "lookahead", "total_cycles", 1449)


# ---------------------------------------------------------------- the generated simulator

def _sim():
    from spattenc.driver import load
    from spattenc.run.loader import simulator

    return simulator(load(SPEC))


def test_trials_are_an_array_axis():
    """PCG64 mode simulates every trial in one call; results are (points, trials) arrays."""
    sim = _sim()
    calls = []
    original = sim.simulate

    def counting(params, trials, draw, *rest):
        calls.append(trials)
        return original(params, trials, draw, *rest)

    sim.simulate = counting
    try:
        R, C, _ = sim.run({}, trials=700, seed=5, rng="pcg64")
    finally:
        sim.simulate = original
    assert calls == [700]
    assert np.shape(R["lookahead"]["total_cycles"]) == (1, 700)
    assert np.shape(R["lookahead"]["avg_hidden_cycles"]) == (1, 700)
    assert len(np.unique(np.asarray(R["lookahead"]["total_cycles"]))) > 10  # trials really differ
    assert np.shape(R["baseline"]["total_cycles"])[0] == 1


#: Every file `spattenc compile specs/cv_demo.spt` writes.
GENERATED = {"sim.py", "ir.json", "closed_forms.md", "fixed_sim.py", "rtl/cv_demo_model.v", "rtl/cv_demo_tb.v",
             "rtl/cv_demo_harness.v", "rtl/test_cv_demo.py", "rtl/cv_demo_vectors.hex"}


@pytest.fixture(scope="module")
def compiled(tmp_path_factory) -> Path:
    """`spattenc compile specs/cv_demo.spt -o TMP` run once (in-process: the generated
    sim.py is run from a fresh interpreter below); returns TMP/cv_demo."""
    import contextlib
    import io

    from spattenc.cli import main

    out = tmp_path_factory.mktemp("compiled")
    printed = io.StringIO()
    with contextlib.chdir(ROOT), contextlib.redirect_stdout(printed):
        code = main(["compile", "specs/cv_demo.spt", "-o", str(out)])
    assert code == 0
    assert printed.getvalue().splitlines() == [str(out / "cv_demo" / f) for f in sorted(GENERATED)]
    return out / "cv_demo"


def test_generated_simulate_loops_over_layers_only(compiled):
    """The only loop in simulate() runs over layers (range of the layer count)."""
    tree = ast.parse((compiled / "sim.py").read_text())
    fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "simulate")
    loops = [n for n in ast.walk(fn) if isinstance(n, (ast.For, ast.While, ast.comprehension))]
    layer_loops = [n for n in loops if isinstance(n, ast.For) and ast.unparse(n.iter) == "range(_lmax)"]
    assert len(layer_loops) == 1
    for n in loops:
        assert "trials" not in ast.unparse(n.iter), ast.unparse(n.iter)


def test_generated_sim_runs_standalone_with_numpy_only(compiled, tmp_path):
    sim = tmp_path / "sim.py"
    sim.write_bytes((compiled / "sim.py").read_bytes())  # alone in an empty folder
    imports = set()
    for node in ast.walk(ast.parse(sim.read_text())):
        if isinstance(node, ast.Import):
            imports |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imports.add((node.module or "").split(".")[0])
    assert imports <= {"numpy", "math"}, imports
    # Run it with the compiler's own dependencies made unimportable.
    blocker = ("import sys, runpy\n"
               "for m in ('spattenc', 'sympy', 'jinja2', 'lark', 'matplotlib', 'yaml'):\n"
               "    sys.modules[m] = None\n"
               f"runpy.run_path({str(sim)!r}, run_name='__main__')\n")
    p = subprocess.run([sys.executable, "-I", "-c", blocker], cwd=tmp_path, capture_output=True, text=True,
                       timeout=SUBPROCESS_TIMEOUT)
    assert p.returncode == 0, p.stderr
    out = dict(re.findall(r"^(\S+): mean (\S+),", p.stdout, re.M))
    assert float(out["baseline.total_cycles"]) == pytest.approx(6224128.6752, rel=1e-5)
    # PCG64 draws: the published legacy mean 1905201 to within a few standard errors.
    assert float(out["lookahead.total_cycles"]) == pytest.approx(1905201.3, abs=100)
    assert float(out["lookahead.lookahead_finish_rate"]) == 1.0
    # A plain `python sim.py` works too.
    p = subprocess.run([sys.executable, str(sim)], cwd=tmp_path, capture_output=True, text=True,
                       timeout=SUBPROCESS_TIMEOUT)
    assert p.returncode == 0, p.stderr
    assert "baseline.total_cycles: mean 6.22413e+06" in p.stdout


def test_compile_is_deterministic(compiled, cli, monkeypatch):
    """Compiling again over the first output gives byte-identical files (no leftovers)."""
    monkeypatch.chdir(ROOT)

    def snapshot(folder: Path) -> dict[str, bytes]:
        return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}

    first = snapshot(compiled)
    assert set(first) == GENERATED
    r = cli("compile", "specs/cv_demo.spt", "-o", str(compiled.parent))
    assert r.code == 0, r.err
    assert snapshot(compiled) == first
    assert [p.name for p in compiled.parent.iterdir()] == ["cv_demo"]  # no temporaries left


# ---------------------------------------------------------------- the package knows no spec

def _spec_names(text: str) -> set[str]:
    words = r"(?:param|let|def|state|random|stage|design|metric|compare|spec)"
    return set(re.findall(rf"^\s*{words}\s+([A-Za-z_]\w*)", text, re.M))


def test_package_does_not_mention_cv_demo():
    """No identifier of cv_demo that reads as its own (every defined name containing an
    underscore, plus its spec name and stage names) appears in spattenc/ or templates/."""
    names = _spec_names(CV)
    assert {"lookahead_path", "spec_fetch", "predictor_recall", "fetch_qkv", "cv_demo"} <= names
    distinctive = {n for n in names if "_" in n} | {"softmax"}
    files = [p for d in ("spattenc", "templates") for p in (ROOT / d).rglob("*")
             if p.is_file() and p.suffix in (".py", ".j2", ".lark", ".md", ".txt")]
    assert len(files) > 10
    hits = []
    for f in files:
        text = f.read_text(encoding="utf-8")
        for n in sorted(distinctive):
            if re.search(rf"\b{re.escape(n)}\b", text):
                hits.append(f"{f.relative_to(ROOT)}: {n}")
    assert hits == []
