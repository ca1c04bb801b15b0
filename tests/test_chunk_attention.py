"""specs/chunk_attention.spt against the seed harness's measurements and against the
roofline model written out independently here (formulas from SOURCE.md and the spec's
header comment, not from the compiler's output)."""

from __future__ import annotations

import csv
import json
import math
import re

import numpy as np
import pytest

from conftest import ROOT

from spattenc.driver import load
from spattenc.ir.visit import const_value
from spattenc.run.loader import simulator

SPEC = ROOT / "specs" / "chunk_attention.spt"
DATA = ROOT / "examples" / "chunk_attention"
NATIVE = DATA / "sweep_native.csv"
TK = DATA / "sweep_tk.csv"
DOC = ROOT / "docs" / "chunk_attention.md"

# The harness's constants (SOURCE.md).
CHUNK, D_HEAD, ELEM, PEAK, BW = 64, 128, 2, 989.0, 3350.0


def read(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def harness_flops(ns, nh, nc):
    return 4 * ns * CHUNK * D_HEAD * nh * nc


def harness_kv_bytes(nh, nc):
    return 2 * CHUNK * D_HEAD * 2 * nh * nc


def defaults():
    prog = load(SPEC).program
    return {p.name: const_value(p.default) for p in prog.params}


def kernel_s(flops, nbytes, grid, p):
    """One kernel's latency (s): roofline + launch + wave quantization, as the spec's header states."""
    roof = max(flops / (p["peak_tflops"] * 1e12 * p["compute_eff"]), nbytes / (p["mem_bw_gbps"] * 1e9 * p["mem_eff"]))
    slots = p["sm_count"] * p["blocks_per_sm"]
    waves = math.ceil(grid / slots)
    return roof + p["launch_us"] * 1e-6 + roof * (waves * slots / grid - 1)


def shared_latency_ms(ns, nh, nc, p):
    return kernel_s(harness_flops(ns, nh, nc), harness_kv_bytes(nh, nc), nh * nc, p) * 1e3


def mape(model, measured):
    return 100.0 * float(np.mean([abs(m / x - 1) for m, x in zip(model, measured)]))


# ------------------------------------------------------------------ acceptance: derived columns


def _half(text):
    decimals = len(text.split(".")[1]) if "." in text else 0
    return 0.5 * 10.0 ** -decimals


@pytest.mark.parametrize("path", [NATIVE, TK], ids=["native", "tk"])
def test_derived_columns_equal_the_files_within_latency_rounding(cli, path):
    """Each derived cell lies within what the harness's formula gives over the rounding
    interval of latency_ms (6 decimals: +-5e-7 ms), widened by the cell's own rounding."""
    rows = read(path)
    for r in rows:
        ns, nh, nc = int(r["n_seqs"]), int(r["n_heads"]), int(r["n_chunks"])
        lat = float(r["latency_ms"])
        h = _half(r["latency_ms"])
        assert h == 5e-7
        formulas = {
            "tflops": lambda L: harness_flops(ns, nh, nc) / (L * 1e-3) / 1e12,
            "compute_eff_pct": lambda L: 100 * (harness_flops(ns, nh, nc) / (L * 1e-3) / 1e12) / PEAK,
            "kv_gbps": lambda L: harness_kv_bytes(nh, nc) / (L * 1e-3) / 1e9,
            "kv_mem_eff_pct": lambda L: 100 * (harness_kv_bytes(nh, nc) / (L * 1e-3) / 1e9) / BW,
        }
        assert int(r["blocks"]) == nh * nc
        for col, f in formulas.items():
            lo, hi = f(lat + h) - _half(r[col]), f(lat - h) + _half(r[col])
            assert lo <= float(r[col]) <= hi, (path.name, r, col)
    # The tool recomputes the same values from the spec's metric definitions, and agrees.
    res = cli("eval", str(SPEC), "--measured", str(path), "--json")
    assert res.code == 0, res.err
    table = json.loads(res.out)["tables"][0]
    assert table["derived_within_rounding"] == {"blocks": True, "tflops": True, "compute_eff_pct": True,
                                                "kv_gbps": True, "kv_mem_eff_pct": True}
    for r, out in zip(rows, table["rows"]):
        L = float(r["latency_ms"])
        flops = harness_flops(int(r["n_seqs"]), int(r["n_heads"]), int(r["n_chunks"]))
        kvb = harness_kv_bytes(int(r["n_heads"]), int(r["n_chunks"]))
        assert out["recomputed"]["tflops"] == pytest.approx(flops / (L * 1e-3) / 1e12, rel=1e-13)
        assert out["recomputed"]["kv_mem_eff_pct"] == pytest.approx(100 * (kvb / (L * 1e-3) / 1e9) / BW, rel=1e-13)
        assert out["measured"]["latency_ms"] == L


def test_a_cell_off_by_more_than_its_rounding_is_reported(cli, tmp_path):
    text = NATIVE.read_text().splitlines()
    # line 2: tflops 2.0864 -> 2.0874 (the rounding allows about +-1.2e-4 here)
    fields = text[1].split(",")
    assert fields[5] == "2.0864"
    fields[5] = "2.0874"
    text[1] = ",".join(fields)
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(text) + "\n")
    res = cli("eval", str(SPEC), "--measured", str(bad))
    assert res.code == 0, res.err
    assert "1 cell disagrees beyond rounding" in res.out
    # 33554432 FLOPs / 0.016083e-3 s = 2.08633 TFLOP/s; latency rounding +-5e-7 ms and the
    # cell's own (+-5e-5) allow [2.08621, 2.08644]
    assert "line 2 tflops: file 2.0874, recomputed 2.08633 (rounding allows [2.08621, 2.08644])" in res.out
    res = cli("eval", str(SPEC), "--measured", str(bad), "--json")
    assert json.loads(res.out)["tables"][0]["derived_within_rounding"]["tflops"] is False


# ------------------------------------------------------------------ acceptance: K/V bytes


def test_shared_kv_bytes_do_not_depend_on_n_seqs_nonshared_scale_with_it():
    sim = simulator(load(SPEC))
    ns = np.array([1, 2, 64, 1000, 4096])
    R, _, _ = sim.run({"n_seqs": ns, "n_heads": 8, "n_chunks": 32}, trials=1)
    kvb = harness_kv_bytes(8, 32)
    assert R["shared"]["kv_bytes"][:, 0].tolist() == [kvb] * len(ns)
    assert R["split"]["kv_bytes"][:, 0].tolist() == [kvb] * len(ns)
    assert R["nonshared"]["kv_bytes"][:, 0].tolist() == [n * kvb for n in ns]
    for d in ("shared", "nonshared"):
        assert R[d]["flops"][:, 0].tolist() == [harness_flops(n, 8, 32) for n in ns]
    # Arithmetic intensity: n_seqs FLOP/byte shared (2-byte elements), 1 non-shared.
    assert R["shared"]["flop_per_byte"][:, 0].tolist() == ns.tolist()
    assert R["nonshared"]["flop_per_byte"][:, 0].tolist() == [1.0] * len(ns)


def test_suffix_bytes_are_per_sequence_in_every_design():
    sim = simulator(load(SPEC))
    ns = np.array([1, 16, 256])
    R, _, _ = sim.run({"n_seqs": ns, "n_heads": 4, "n_chunks": 8, "suffix_len": 100}, trials=1)
    suffix = 2 * 100 * D_HEAD * ELEM * 4  # K and V of 100 tokens, 4 heads
    for d in ("shared", "split"):
        assert R[d]["kv_bytes"][:, 0].tolist() == [harness_kv_bytes(4, 8) + n * suffix for n in ns]
    assert R["nonshared"]["kv_bytes"][:, 0].tolist() == [n * (harness_kv_bytes(4, 8) + suffix) for n in ns]


# ------------------------------------------------------------------ the latency model


def test_model_latency_is_the_documented_roofline_at_every_measured_row():
    p = defaults()
    rows = read(NATIVE) + read(TK)
    sim = simulator(load(SPEC))
    cfg = {k: np.array([int(r[k]) for r in rows]) for k in ("n_seqs", "n_heads", "n_chunks")}
    R, _, _ = sim.run(cfg, trials=1)
    got = R["shared"]["latency_ms"][:, 0]
    want = [shared_latency_ms(int(r["n_seqs"]), int(r["n_heads"]), int(r["n_chunks"]), p) for r in rows]
    assert got == pytest.approx(want, rel=1e-12)
    # Wave quantization: 132 blocks fill one wave, 133 start a second.
    R, _, _ = sim.run({"n_seqs": 64, "n_heads": 1, "n_chunks": np.array([132, 133])}, trials=1)
    one, two = R["shared"]["latency_ms"][:, 0]
    roof_one_block = harness_kv_bytes(1, 1) / (p["mem_bw_gbps"] * 1e9 * p["mem_eff"]) * 1e3
    assert two - one == pytest.approx(132 * roof_one_block, rel=1e-9)


def test_split_design_is_three_kernels_combined():
    p = defaults()
    ns, nh, nc, sl = 16, 8, 32, 100
    sim = simulator(load(SPEC))
    R, _, _ = sim.run({"n_seqs": ns, "n_heads": nh, "n_chunks": nc, "suffix_len": sl}, trials=1)
    partials = ns * nh * (D_HEAD + 1) * 4
    out_bytes = ns * nh * D_HEAD * ELEM
    prefix = kernel_s(harness_flops(ns, nh, nc), harness_kv_bytes(nh, nc) + partials, nh * nc, p)
    suffix = kernel_s(4 * ns * sl * D_HEAD * nh, ns * sl * 2 * D_HEAD * ELEM * nh + partials,
                      ns * nh * math.ceil(sl / CHUNK), p)
    combine = kernel_s(ns * nh * (3 * D_HEAD + 8), 2 * partials + out_bytes, ns * nh, p)
    assert R["split"]["latency_ms"][0, 0] == pytest.approx((prefix + suffix + combine) * 1e3, rel=1e-12)
    # Without a suffix only the prefix kernel runs, writing the output directly.
    R, _, _ = sim.run({"n_seqs": ns, "n_heads": nh, "n_chunks": nc}, trials=1)
    alone = kernel_s(harness_flops(ns, nh, nc), harness_kv_bytes(nh, nc) + out_bytes, nh * nc, p)
    assert R["split"]["latency_ms"][0, 0] == pytest.approx(alone * 1e3, rel=1e-12)


# ------------------------------------------------------------------ calibration


def test_fit_recovers_known_params_from_synthetic_measurements(cli, tmp_path):
    """Latencies made here with mem_eff 0.2 and launch 5 us; the fit starts far away."""
    p = dict(defaults(), mem_eff=0.2, launch_us=5.0)
    path = tmp_path / "synthetic.csv"
    with open(path, "w") as fh:
        fh.write("n_seqs,n_heads,n_chunks,latency_ms\n")
        for r in read(NATIVE):
            ns, nh, nc = int(r["n_seqs"]), int(r["n_heads"]), int(r["n_chunks"])
            fh.write(f"{ns},{nh},{nc},{shared_latency_ms(ns, nh, nc, p):.12f}\n")
    res = cli("fit", str(SPEC), "--measured", str(path), "--params", "mem_eff,launch_us",
              "--set", "mem_eff=0.6", "--set", "launch_us=40", "--json")
    assert res.code == 0, res.err
    doc = json.loads(res.out)
    assert doc["converged"]
    assert doc["fitted"]["mem_eff"] == pytest.approx(0.2, rel=1e-6)
    assert doc["fitted"]["launch_us"] == pytest.approx(5.0, rel=1e-6)
    assert doc["fit_error"]["mape_pct"]["after"] < 1e-6
    assert doc["fit_error"]["mape_pct"]["before"] > 50


def _fit(cli, *extra):
    res = cli("fit", str(SPEC), "--measured", str(NATIVE), "--params", "mem_eff,launch_us",
              "--set", "mem_eff=0.5", "--set", "launch_us=1", "--json", *extra)
    assert res.code == 0, res.err
    return json.loads(res.out)


def test_spec_defaults_are_the_fit_on_native(cli):
    doc = _fit(cli)
    p = defaults()
    for name in ("mem_eff", "launch_us"):
        assert float(f"{doc['fitted'][name]:.6g}") == p[name], name
    # compute_eff cannot be identified: every measured point is memory-bound.
    res = cli("fit", str(SPEC), "--measured", str(NATIVE), "--params", "mem_eff,launch_us,compute_eff")
    assert "compute_eff" in res.out and "not constrained by these rows" in res.out


def test_reported_mape_figures_are_in_the_docs(cli):
    """MAPE at the shipped defaults on both files, and on each held-out half, computed here
    from the independent model, equal the tool's and appear in docs/chunk_attention.md."""
    doc_text = DOC.read_text()
    p = defaults()
    figures = {}
    for name, path in (("native", NATIVE), ("tk", TK)):
        rows = read(path)
        ours = mape([shared_latency_ms(int(r["n_seqs"]), int(r["n_heads"]), int(r["n_chunks"]), p) for r in rows],
                    [float(r["latency_ms"]) for r in rows])
        res = cli("eval", str(SPEC), "--measured", str(path), "--json")
        tool = json.loads(res.out)["tables"][0]["mape_pct"]["latency_ms"]
        assert tool == pytest.approx(ours, rel=1e-9)
        figures[name] = ours
    rows = read(NATIVE)
    for holdout in ("even", "odd"):
        doc = _fit(cli, "--holdout", holdout)
        q = dict(p, **doc["fitted"])
        held = [r for i, r in enumerate(rows, start=1) if (i % 2 == 0) == (holdout == "even")]
        ours = mape([shared_latency_ms(int(r["n_seqs"]), int(r["n_heads"]), int(r["n_chunks"]), q) for r in held],
                    [float(r["latency_ms"]) for r in held])
        assert doc["held_error"]["mape_pct"]["after"] == pytest.approx(ours, rel=1e-9)
        assert doc["held_rows"] == 9 and doc["fit_rows"] == 9
        figures[f"held-out {holdout}"] = ours
    for name, value in figures.items():
        assert f"{value:.2f}%" in doc_text, f"{name}: {value:.2f}% missing from docs/chunk_attention.md"


# ------------------------------------------------------------------ closed forms


def test_inspect_solves_the_compute_memory_crossover(cli):
    p = defaults()
    res = cli("inspect", str(SPEC), "n_seqs_ridge")
    assert res.code == 0, res.err
    value = float(re.search(r"= ([0-9.e+-]+) at the current params", res.out).group(1))
    # 4 ns X / (peak ce 1e12) = 2 X dt / (bw me 1e9)  =>  ns = 500 dt peak ce / (bw me)
    want = 500 * p["dtype_bytes"] * p["peak_tflops"] * p["compute_eff"] / (p["mem_bw_gbps"] * p["mem_eff"])
    assert value == pytest.approx(want, rel=1e-12)
    assert "n_seqs = 500*chunk_size*compute_eff*dtype_bytes*n_chunks*peak_tflops/" in res.out


def test_inspect_gives_intensity_and_latency_closed_forms(cli):
    res = cli("inspect", str(SPEC), "shared", "nonshared")
    assert res.code == 0, res.err
    assert ("metric flop_per_byte = shared.flops/shared.kv_bytes\n"
            "  = 2*n_seqs*(chunk_size*n_chunks + suffix_len)/(dtype_bytes*(chunk_size*n_chunks + n_seqs*suffix_len))"
            in res.out)
    assert "metric flop_per_byte = nonshared.flops/nonshared.kv_bytes\n  = 2/dtype_bytes" in res.out
    latency = res.out.split("metric latency_ms = shared.latency_ms\n  = ")[1].splitlines()[0]
    assert "0.001*launch_us" in latency and "ceiling(" in latency and "Max(" in latency


# ------------------------------------------------------------------ CLI, plots, generated files


def test_eval_measured_writes_overlay_and_roofline(cli, tmp_path):
    out = tmp_path / "out"
    res = cli("eval", str(SPEC), "--measured", str(NATIVE), "--measured", str(TK), "--out", str(out), "--plots")
    assert res.code == 0, res.err
    assert sorted(p.name for p in out.iterdir()) == ["index.md", "measured.csv", "measured.json", "measured_harness.png",
                                                     "roofline.png"]
    doc = json.loads((out / "measured.json").read_text())
    assert [t["file"] for t in doc["tables"]] == [str(NATIVE), str(TK)]
    assert [len(t["rows"]) for t in doc["tables"]] == [18, 12]


def test_eval_without_measured_plots_the_designs_on_the_roofline(cli, tmp_path):
    res = cli("eval", str(SPEC), "--out", str(tmp_path), "--plots")
    assert res.code == 0, res.err
    assert (tmp_path / "roofline.png").stat().st_size > 0


# ------------------------------------------------------------------ the harness's declared sweeps


@pytest.mark.parametrize("sweep, path", [("tk", TK), ("native", NATIVE)])
def test_declared_sweeps_write_the_harness_csv(cli, tmp_path, sweep, path):
    """The sweep's CSV has exactly the measured file's columns and configurations, with the
    model's values in the harness's formats; the aggregate averages rows of equal blocks."""
    p = defaults()
    measured = read(path)
    res = cli("eval", str(SPEC), "--sweep", sweep, "--csv", "--out", str(tmp_path))
    assert res.code == 0, res.err
    lines = res.out.splitlines()
    assert lines[0] == path.read_text().splitlines()[0]
    rows = list(csv.DictReader(res.out.splitlines()))
    assert len(rows) == len(measured)
    model = []
    for got, m in zip(rows, measured):
        ns, nh, nc = (int(m[k]) for k in ("n_seqs", "n_heads", "n_chunks"))
        assert (got["n_seqs"], got["n_heads"], got["n_chunks"], got["blocks"]) == (m["n_seqs"], m["n_heads"], m["n_chunks"], m["blocks"])
        lat = shared_latency_ms(ns, nh, nc, p)
        model.append((nh, nc, nh * nc, lat))
        assert got["latency_ms"] == f"{lat:.6f}"
        assert got["tflops"] == f"{harness_flops(ns, nh, nc) / (lat * 1e-3) / 1e12:.4f}"
        assert got["kv_gbps"] == f"{harness_kv_bytes(nh, nc) / (lat * 1e-3) / 1e9:.2f}"
    assert (tmp_path / "results.csv").read_text() == res.out
    agg = list(csv.DictReader((tmp_path / "results_by_blocks.csv").read_text().splitlines()))
    blocks = sorted({b for _, _, b, _ in model})
    assert [int(r["blocks"]) for r in agg] == blocks
    for r, b in zip(agg, blocks):
        group = [x for x in model if x[2] == b]
        assert r["latency_ms"] == f"{sum(x[3] for x in group) / len(group):.6f}"
        assert float(r["n_heads"]) == pytest.approx(sum(x[0] for x in group) / len(group), rel=1e-15)
