"""specs/systolic_gemm.spt: its figures against the model restated here from its
comments (tile counts rounded up, double-buffered tiles, fill and drain), its
fixed-point RTL against the float figures, and `spattenc verify` (the generated RTL and
hardware/systolic_gemm.v) on Icarus and Verilator."""

from __future__ import annotations

import json
import math
import re
import subprocess

import pytest

from conftest import RTL_TIMEOUT, ROOT, run_subprocess

from spattenc.run.verify import Verilator, _environ

from test_rtl import needs_icarus, needs_verilator

SPEC = ROOT / "specs" / "systolic_gemm.spt"

DEFAULTS = dict(num_gemms=4, M=4096, N=4096, K=4096, bytes_per_element=2, array_rows=128, array_cols=128,
                clock_ghz=1.0, bandwidth_gbps=1600.0)


def reference(**overrides) -> dict:
    """The figures of design `array`: per GEMM, the first tile's load, the fill, the tiles
    (each max(compute, memory) cycles while the next one loads, the last one K cycles),
    the drain."""
    p = dict(DEFAULTS, **overrides)
    tiles = math.ceil(p["M"] / p["array_rows"]) * math.ceil(p["N"] / p["array_cols"])
    panel_bytes = (p["array_rows"] + p["array_cols"]) * p["K"] * p["bytes_per_element"]
    memory = math.ceil(panel_bytes / (p["bandwidth_gbps"] / p["clock_ghz"]))
    compute = p["K"]
    fill, drain = p["array_rows"] + p["array_cols"] - 2, p["array_rows"]
    gemm = memory + fill + (tiles - 1) * max(compute, memory) + compute + drain
    total = p["num_gemms"] * gemm
    macs = p["num_gemms"] * p["M"] * p["N"] * p["K"]
    time_us = total / (p["clock_ghz"] * 1000)
    return {"total_cycles": total, "time_us": time_us,
            "stall_cycles": p["num_gemms"] * (tiles - 1) * (max(compute, memory) - compute),
            "utilization": macs / (p["array_rows"] * p["array_cols"] * total),
            "tflops": 2 * macs / time_us / 1e6}


def _eval(cli, *args: str) -> dict:
    r = cli("eval", str(SPEC), "--json", *args)
    assert r.code == 0, r.err
    return {k: v["mean"] for k, v in json.loads(r.out)["designs"]["array"].items()}


def test_default_figures_by_hand(cli):
    """4 GEMMs of 4096^3 on 128 x 128 PEs at 1 GHz, 1600 GB/s, 2-byte elements:
    32 x 32 tiles; a tile's panels are 256 * 4096 * 2 = 2,097,152 bytes, ceil(1310.72) =
    1311 cycles at 1600 bytes/cycle, under the 4096 compute cycles (no stall); a GEMM is
    1311 + 254 (fill) + 1024 * 4096 + 128 (drain) = 4,195,997 cycles."""
    got = _eval(cli)
    assert got["total_cycles"] == 4 * (1311 + 254 + 1024 * 4096 + 128) == 16_783_988
    assert got["time_us"] == pytest.approx(16_783.988, rel=1e-15)
    assert got["stall_cycles"] == 0
    assert got["utilization"] == pytest.approx(4 * 4096**3 / (128 * 128 * 16_783_988), rel=1e-15)
    assert got["tflops"] == pytest.approx(2 * 4 * 4096**3 / 16_783.988e6, rel=1e-15)
    assert got == pytest.approx(reference(), rel=1e-15)


@pytest.mark.parametrize("overrides", [
    dict(bandwidth_gbps=100.0, M=1000),                # memory-bound, ragged tiles along M
    dict(K=64, N=130, array_cols=64, clock_ghz=2.5),   # short K: fill and drain matter
    dict(M=1, N=1, K=1, array_rows=1, array_cols=1, num_gemms=1),
])
def test_figures_match_the_model(cli, overrides):
    """Memory-bound, ragged and tiny GEMMs: 100 GB/s makes a tile's panels take
    ceil(2,097,152 / 100) = 20,972 cycles, 16,876 of them stalls, on 8 x 32 tiles."""
    got = _eval(cli, *[f"--set={k}={v}" for k, v in overrides.items()])
    assert got == pytest.approx(reference(**overrides), rel=1e-14)
    if overrides.get("bandwidth_gbps") == 100.0:
        assert got["stall_cycles"] == 4 * (8 * 32 - 1) * (20_972 - 4096)


def test_fixed_point_figures_follow_float(cli):
    """The RTL's semantics (32 fraction bits, whole cycles): cycles exact, the rest within
    the rounding of the arithmetic."""
    r = cli("eval", str(SPEC), "--numeric", "fixed", "--json", "--set=bandwidth_gbps=300")
    assert r.code == 0, r.err
    got = {k: v["mean"] for k, v in json.loads(r.out)["designs"]["array"].items()}
    want = reference(bandwidth_gbps=300.0)
    assert got["total_cycles"] == want["total_cycles"] and got["stall_cycles"] == want["stall_cycles"]
    for k in ("time_us", "utilization", "tflops"):
        assert got[k] == pytest.approx(want[k], rel=1e-8)


def _verify(sim: str, vectors: int):
    r = run_subprocess("verify", "specs/systolic_gemm.spt", "--sim", sim, "--vectors", str(vectors),
                       timeout=RTL_TIMEOUT)
    assert r.code == 0, r.out + r.err
    assert f"{vectors} golden vectors: PASS {vectors}/{vectors}" in r.out
    assert f"model vs fixed_sim.py, {vectors} random vectors: PASS {vectors}/{vectors}" in r.out
    assert re.search(r"DUT systolic_gemm \(hardware/systolic_gemm.v\) vs design array: PASS 200/200 configurations",
                     r.out), r.out
    assert r.out.rstrip().splitlines()[-1] == "result: PASS (3 of 3 checks passed)"


@pytest.mark.rtl
@needs_icarus
def test_verify_icarus():
    _verify("icarus", 200)


@pytest.mark.rtl
@needs_verilator
def test_verify_verilator():
    _verify("verilator", 200)


@pytest.mark.rtl
@needs_icarus
def test_a_dut_that_prefetches_after_the_last_tile_is_caught(tmp_path, cli, monkeypatch):
    """A copy of the DUT that also loads panels during the last tile (a memory-bound GEMM
    then stalls once more) disagrees with the spec: verify reports the figures, exit 1."""
    text = (ROOT / "hardware" / "systolic_gemm.v").read_text()
    old = "dma_left <= (tile + 1 < tiles) ? dma_cycles : 0;"
    assert text.count(old) == 1
    broken = tmp_path / "systolic_gemm.v"
    broken.write_text(text.replace(old, "dma_left <= dma_cycles;"))
    monkeypatch.chdir(ROOT)
    r = cli("verify", "specs/systolic_gemm.spt", "--vectors", "5", "--dut", str(broken))
    out = r.out + r.err
    assert r.code == 1, out
    assert f"DUT systolic_gemm ({broken}) vs design array: FAIL" in out
    assert re.search(r"stall_cycles: spec \d+, DUT \d+", out), out
    assert re.search(r"gemm_cycles\[layer 0\]: spec \d+, DUT \d+", out), out


@pytest.mark.rtl
@needs_verilator
def test_model_and_dut_are_lint_clean():
    """`verilator --lint-only -Wall` has nothing to say about the model or the DUT."""
    sim = Verilator()
    sim.check()
    for path in (ROOT / "generated" / "systolic_gemm" / "rtl" / "systolic_gemm_model.v",
                 ROOT / "hardware" / "systolic_gemm.v"):
        with _environ(sim.env()):
            p = subprocess.run(["verilator", "--lint-only", "-Wall", str(path)], capture_output=True, text=True)
        assert p.returncode == 0 and "%Warning" not in p.stderr and "%Error" not in p.stderr, p.stderr
