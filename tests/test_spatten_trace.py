"""specs/spatten_trace.spt on workload traces, against the behavior model's formulas
computed here independently (integer arithmetic over the CSV rows, read with the csv
module) and a direct simulation of the top-k quickselect on actual score arrays."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT, SUBPROCESS_TIMEOUT, run_subprocess

SPEC = ROOT / "specs" / "spatten_trace.spt"
TRACES = ROOT / "examples" / "spatten"
SMALL = TRACES / "small.csv"
GPT2_SMALL = TRACES / "summary-gpt2-small-wikitext2-per8.csv"
GPT2_MEDIUM = TRACES / "summary-gpt2-medium-wikitext2-per0-hp-step5+dedic+glob_p+local_p+hp+topk+quant.csv"
SHIPPED = [SMALL, GPT2_SMALL, GPT2_MEDIUM]

HW = dict(num_dram_channels=16, num_multipliers=512, topk_parallelism=4, bits_per_transaction=256)


# ---------------------------------------------------------------- the model, restated
def read_rows(path: Path) -> list[dict]:
    """Data rows of a trace: lines whose first field is an integer (the header and the
    config-name line are skipped)."""
    with open(path, newline="") as fh:
        lines = list(csv.reader(fh))
    header = next(r for r in lines if r and r[0] == "iteration_id")
    out = []
    for r in lines:
        if r and r[0].strip().lstrip("-").isdigit():
            out.append(dict(zip(header, r)))
    return out


def width(bits: int) -> int:
    return 8 if bits == 6 or bits > 8 or bits < 0 else bits


def row_figures(r: dict, hw: dict) -> dict:
    D = int(float(r["embedding_length_D"]))
    L = int(r["sentence_length_L"])
    fk, fv = int(r["key_fetch_num"]), int(r["value_fetch_num"])
    kb, vb = width(int(r["quant_key_bit"])), width(int(r["quant_value_bit"]))
    par = hw["num_multipliers"] // D
    bk, bv = -(-fk // par), -(-fv // par)
    tx_bytes = hw["bits_per_transaction"] // 8
    key_tx = (bk * par * D * kb // 8) // tx_bytes
    val_tx = (bv * par * D * vb // 8) // tx_bytes
    ch = hw["num_dram_channels"]
    return {
        "dram": -(-key_tx // ch) + -(-val_tx // ch),
        "fill": L * bk,
        "batch_k": bk,
        "par": par,
        "fetched8": (fk * kb + fv * vb) * D,  # bytes * 8
        "dense8": 2 * L * D * 16,
        "topk": r["if_topk"].strip() == "True",
        "k": int(r["topk"]),
        "n": fk,
    }


def reference(path: Path, hw: dict = HW) -> dict:
    """Per (iteration, layer): DRAM, fill and drain cycles; totals; bytes."""
    groups: dict[tuple[int, int], list[dict]] = defaultdict(list)
    for r in read_rows(path):
        groups[(int(r["iteration_id"]), int(r["layer_id"]))].append(row_figures(r, hw))
    layers = {}
    for key, rows in groups.items():
        layers[key] = {
            "dram": sum(x["dram"] for x in rows),
            "fill": sum(x["fill"] for x in rows),
            "drain": 11 + (7 + 21 + 23 + 29 + 7 + rows[-1]["batch_k"]) + 1 + 1 + 3,
            "rows": rows,
        }
    fetched8 = sum(x["fetched8"] for g in layers.values() for x in g["rows"])
    dense8 = sum(x["dense8"] for g in layers.values() for x in g["rows"])
    return {"layers": layers, "fetched8": fetched8, "dense8": dense8}


def quickselect_cycles(n: int, k: int, ze: int, rng: np.random.Generator) -> int:
    """Random-pivot quickselect of the k-th largest of n distinct scores, on an actual
    array: each round over m candidates costs m // ze + 4.  (k > n: nothing to select.)"""
    if k < 1 or k > n:
        return 0
    seq = rng.permutation(n)
    cycles = 0
    while seq.size:
        pivot = seq[rng.integers(seq.size)]
        greater = seq[seq > pivot]
        cycles += seq.size // ze + 4
        if greater.size == k - 1:
            break
        if greater.size >= k:
            seq = greater
        else:
            k -= greater.size + 1
            seq = seq[seq < pivot]
    return cycles


# ---------------------------------------------------------------- running the spec
def eval_json(cli, trace: Path, *extra: str) -> dict:
    r = cli("eval", str(SPEC), "--input", f"trace={trace}", "--json", *extra)
    assert r.code == 0, r.err
    return json.loads(r.out)


def by_layer(doc: dict) -> dict:
    return {(g["iteration_id"], g["layer_id"]): g for g in doc["groups"]["layer"]["rows"]}


def check_layers_exact(doc: dict, ref: dict):
    got = by_layer(doc)
    assert sorted(got) == sorted(ref["layers"])
    for key, exp in ref["layers"].items():
        g = got[key]
        assert g["dram_cycles"] == exp["dram"], key
        assert g["fill_cycles"] == exp["fill"], key
        assert g["drain_cycles"] == exp["drain"], key
        assert g["heads"] == len(exp["rows"]), key


def test_command_line_json_on_the_gpt2_small_trace():
    """The acceptance command itself, in a fresh interpreter."""
    r = run_subprocess("eval", "specs/spatten_trace.spt", "--input",
                       f"trace={GPT2_SMALL.relative_to(ROOT)}", "--json", "--trials", "20")
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    check_layers_exact(doc, reference(GPT2_SMALL))
    assert doc["inputs"]["trace"]["rows"] == 4608
    assert doc["inputs"]["trace"]["config"].startswith("configs/gpt2/wikitext2/gpt2_pp11")


@pytest.mark.parametrize("trace", SHIPPED, ids=lambda p: p.name[:24])
def test_per_layer_dram_fill_drain_exact(cli, trace):
    doc = eval_json(cli, trace, "--trials", "8")
    ref = reference(trace)
    check_layers_exact(doc, ref)
    spatten = doc["designs"]["spatten"]
    assert spatten["dram_cycles"]["mean"] == sum(g["dram"] for g in ref["layers"].values())
    assert spatten["fill_cycles"]["mean"] == sum(g["fill"] for g in ref["layers"].values())
    assert spatten["drain_cycles"]["mean"] == sum(g["drain"] for g in ref["layers"].values())
    # Per iteration: the sum of its layers.
    it = {g["iteration_id"]: g for g in doc["groups"]["iteration"]["rows"]}
    for i, g in it.items():
        layers = [x for k, x in by_layer(doc).items() if k[0] == i]
        assert g["layers"] == len(layers)
        assert g["step_cycles"] == pytest.approx(sum(x["cycles"] for x in layers), rel=1e-12)


def test_dram_reduction_of_an_unpruned_unquantized_trace_is_exactly_two(cli):
    """small.csv fetches every key and value (Fk = Fv = L) with widths -1: the 8-bit
    datapath alone halves the 16-bit dense traffic."""
    doc = eval_json(cli, SMALL)
    assert doc["designs"]["spatten"]["dram_reduction"]["mean"] == 2.0
    ref = reference(SMALL)
    assert ref["dense8"] == 2 * ref["fetched8"]


@pytest.mark.parametrize("trace", [GPT2_SMALL, GPT2_MEDIUM], ids=["gpt2-small", "gpt2-medium"])
def test_dram_reduction_of_pruned_traces(cli, trace):
    doc = eval_json(cli, trace, "--trials", "2")
    ref = reference(trace)
    expected = ref["dense8"] / ref["fetched8"]
    got = doc["designs"]["spatten"]["dram_reduction"]["mean"]
    assert got == pytest.approx(expected, rel=1e-12)
    assert got > 2.0
    assert doc["designs"]["spatten"]["dram_mb"]["mean"] == pytest.approx(ref["fetched8"] / 8 / 1e6, rel=1e-12)
    assert doc["designs"]["spatten"]["dense_mb"]["mean"] == pytest.approx(ref["dense8"] / 8 / 1e6, rel=1e-12)


def test_reduction_figures_of_the_shipped_traces(cli):
    """The figures docs/spatten.md quotes."""
    figures = {p.name: eval_json(cli, p, "--trials", "2")["designs"]["spatten"]["dram_reduction"]["mean"]
               for p in SHIPPED}
    assert figures[SMALL.name] == 2.0
    assert round(figures[GPT2_SMALL.name], 3) == 12.083
    assert round(figures[GPT2_MEDIUM.name], 3) == 5.718


def direct_topk(n: int, k: int, par: int, rng: np.random.Generator, runs: int = 400) -> float:
    """Mean top-k engine cycles of one row: buffer fill, quickselect, buffer drain."""
    qs = np.mean([quickselect_cycles(n, k, HW["topk_parallelism"], rng) for _ in range(runs)])
    return -(-n // par) + qs + -(-k // par)


@pytest.mark.parametrize("trace", [GPT2_SMALL, GPT2_MEDIUM], ids=["gpt2-small", "gpt2-medium"])
def test_topk_cycles_match_a_direct_quickselect_simulation(cli, trace):
    """Top-k cycles, spec Monte Carlo vs quickselect run on real arrays here, within 5%:
    in total, and per (n = Fk, k) configuration that occurs in at least 20 layers."""
    doc = eval_json(cli, trace, "--trials", "64", "--seed", "7")
    ref = reference(trace)
    layers = by_layer(doc)
    spec: dict[tuple[int, int], list[float]] = defaultdict(list)
    par = {}
    for key, g in ref["layers"].items():
        top = [x for x in g["rows"] if x["topk"]]
        if not top:
            assert layers[key]["topk_cycles"] == 0
            continue
        assert len(top) == 1
        x = top[0]
        spec[(x["n"], x["k"])].append(layers[key]["topk_cycles"])
        par[(x["n"], x["k"])] = x["par"]
    assert spec, "the trace has top-k rows"
    rng = np.random.default_rng(2024)
    direct = {cfg: direct_topk(*cfg, par[cfg], rng) for cfg in spec}
    total_spec = sum(sum(v) for v in spec.values())
    total_direct = sum(direct[cfg] * len(v) for cfg, v in spec.items())
    assert total_spec == pytest.approx(total_direct, rel=0.05)
    assert doc["designs"]["spatten"]["topk_cycles"]["mean"] == pytest.approx(total_spec, rel=1e-9)
    checked = 0
    for cfg, values in spec.items():
        if len(values) >= 20:
            assert np.mean(values) == pytest.approx(direct[cfg], rel=0.05), cfg
            checked += 1
    assert checked >= 3
    assert doc["designs"]["spatten"]["total_cycles"]["std"] > 0  # the quickselect is sampled


def topk_trace(path: Path, configs, per: int, dim) -> Path:
    """A trace of top-k rows only: `per` iterations of each (n, k), one layer per config."""
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["iteration_id", "layer_id", "head_id", "embedding_length_D", "sentence_length_L",
                    "key_fetch_num", "quant_key_bit", "value_fetch_num", "quant_value_bit", "if_topk", "topk"])
        for layer, (n, k) in enumerate(configs):
            for it in range(per):
                w.writerow([it, layer, 0, dim, 1000, n, 8, n, 8, "True", k])
    return path


def test_topk_cycles_per_configuration(cli, tmp_path):
    """A trace of top-k rows only, 150 rows per (n, k) (k = 1, k = n, k > n, n = 1 included):
    every configuration's mean within 5% of the direct simulation."""
    configs = [(995, 921), (921, 716), (204, 102), (614, 307), (100, 100), (100, 1), (1, 1), (2, 2), (50, 60)]
    trace = topk_trace(tmp_path / "topk.csv", configs, 150, "64.0")
    doc = eval_json(cli, trace, "--trials", "20", "--seed", "3")
    rng = np.random.default_rng(11)
    for layer, (n, k) in enumerate(configs):
        values = [g["topk_cycles"] for g in doc["groups"]["layer"]["rows"] if g["layer_id"] == layer]
        assert len(values) == 150
        assert np.mean(values) == pytest.approx(direct_topk(n, k, 8, rng), rel=0.05), (n, k)


# ---------------------------------------------------------------- other traces in the same format
def write_trace(path: Path, rng: np.random.Generator, config_first: bool, shuffle: bool) -> None:
    header = ["iteration_id", "layer_id", "head_id", "embedding_length_D", "sentence_length_L", "key_fetch_num",
              "quant_key_bit", "quant_query_bit", "auto_requant_thres", "if_requant", "auto_requant_incre",
              "value_fetch_num", "quant_value_bit", "if_accumulate_importance", "if_rescale_previous_importance",
              "if_topk", "topk"]
    rows = []
    for it in range(3):
        for layer in range(4):
            heads = int(rng.integers(1, 6))
            for h in range(heads):
                D = int(rng.choice([32, 64, 128]))
                L = int(rng.integers(20, 900))
                fk = int(rng.integers(1, L + 1))
                fv = int(rng.integers(1, fk + 1))
                topk = h == heads - 1 and rng.random() < 0.5
                k = int(rng.integers(1, fk + 3)) if topk else -1
                rows.append([it, layer, h, f"{D}.0", L, fk, int(rng.choice([-1, 4, 6, 8, 12, 16])), 16, -1,
                             "False", -1, fv, int(rng.choice([-1, 4, 6, 8, 12])), "True", "False",
                             "True" if topk else "False", k])
    if shuffle:  # groups interleaved; within a group the file order is kept
        order = sorted(range(len(rows)), key=lambda i: (rows[i][1], rows[i][0]))
        rows = [rows[i] for i in order]
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        note = ["configs/synthetic/run.yml"] + [""] * (len(header) - 1)
        if config_first:
            w.writerow(note)
        w.writerow(header)
        w.writerows(rows)
        if not config_first:
            w.writerow(note)


@pytest.mark.parametrize("seed, config_first, shuffle, hw", [
    (1, True, False, HW),
    (2, False, True, HW),
    (3, True, True, dict(num_dram_channels=8, num_multipliers=256, topk_parallelism=2, bits_per_transaction=512)),
    (4, False, False, dict(num_dram_channels=3, num_multipliers=1000, topk_parallelism=7, bits_per_transaction=64)),
])
def test_other_traces_in_the_same_format(cli, tmp_path, seed, config_first, shuffle, hw):
    trace = tmp_path / f"trace{seed}.csv"
    write_trace(trace, np.random.default_rng(seed), config_first, shuffle)
    sets = [x for k, v in hw.items() for x in ("--set", f"{k}={v}")]
    doc = eval_json(cli, trace, "--trials", "4", *sets)
    ref = reference(trace, hw)
    check_layers_exact(doc, ref)
    assert doc["inputs"]["trace"]["config"] == "configs/synthetic/run.yml"
    assert doc["designs"]["spatten"]["dram_reduction"]["mean"] == pytest.approx(ref["dense8"] / ref["fetched8"],
                                                                                rel=1e-12)
    # Top-k rows whose k exceeds Fk select nothing: fill and drain of the engine only.
    for key, g in ref["layers"].items():
        for x in g["rows"]:
            if x["topk"] and x["k"] > x["n"]:
                assert by_layer(doc)[key]["topk_cycles"] == x["batch_k"] + -(-x["k"] // x["par"])


def test_legacy_rng_gives_the_same_deterministic_parts(cli):
    a = eval_json(cli, GPT2_SMALL, "--trials", "3", "--rng", "legacy")
    b = eval_json(cli, GPT2_SMALL, "--trials", "3")
    for key in ("dram_cycles", "fill_cycles", "drain_cycles", "dram_reduction"):
        assert a["designs"]["spatten"][key] == b["designs"]["spatten"][key]
    again = eval_json(cli, GPT2_SMALL, "--trials", "3", "--rng", "legacy")
    assert again["designs"] == a["designs"]  # reproducible


def test_text_table_and_out_folder(cli, tmp_path):
    r = cli("eval", str(SPEC), "--input", f"trace={GPT2_SMALL}", "--trials", "4", "--out", str(tmp_path / "o"))
    assert r.code == 0, r.err
    assert "Per (iteration, layer) (384 groups by iteration_id, layer_id)" in r.out
    assert "DRAM Reduction vs Dense (x)  | 12.083" in r.out  # a ratio: its unit, x
    with open(tmp_path / "o" / "groups_layer.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 384 and "topk_cycles_std" in rows[0]
    ref = reference(GPT2_SMALL)
    assert int(rows[0]["dram_cycles"]) == ref["layers"][(0, 0)]["dram"]


def test_generated_table_simulator_runs_standalone(tmp_path):
    """generated/spatten_trace/sim.py needs only numpy and the trace."""
    import subprocess
    import sys

    p = subprocess.run([sys.executable, str(ROOT / "generated" / "spatten_trace" / "sim.py"), str(SMALL)],
                       capture_output=True, text=True, cwd=tmp_path, timeout=SUBPROCESS_TIMEOUT)
    assert p.returncode == 0, p.stderr
    assert "spatten.dram_reduction: mean 2," in p.stdout
    assert "spatten.fill_cycles: mean 124125," in p.stdout


def exact_quickselect_mean(n_max: int, ze: int) -> list[list[float]]:
    """E[cycles] of the quickselect for every (n <= n_max, 1 <= k <= n), by the recurrence
    E(n, k) = floor(n/ze) + 4 + (1/n) [sum_{p<k} E(n-p, k-p) + sum_{p>k} E(p-1, k)]."""
    E = [[0.0] * (n_max + 2) for _ in range(n_max + 1)]
    col = [[0.0] * (n_max + 2) for _ in range(n_max + 2)]  # col[m][k] = sum_{q<m} E[q][k]
    diag = [[0.0] * (n_max + 2) for _ in range(n_max + 1)]  # diag[d][k] = sum_{t<k} E[d+t][t]
    for m in range(1, n_max + 1):
        for k in range(1, m + 1):
            d = m - k
            E[m][k] = m // ze + 4 + (col[m][k] - col[k][k] + diag[d][k]) / m
        for k in range(n_max + 1):
            col[m + 1][k] = col[m][k] + E[m][k]
        for k in range(1, m + 1):
            diag[m - k][k + 1] = diag[m - k][k] + E[m][k]
    return E


def test_topk_monte_carlo_matches_the_exact_expectation(cli, tmp_path):
    """The loop's mean cycles equal the quickselect's exact expected cost (a recurrence
    solved here), within 1.5% over 6,000 runs per configuration."""
    configs = [(300, 150), (300, 1), (300, 300), (120, 17), (57, 56), (9, 3)]
    E = exact_quickselect_mean(300, 4)
    trace = topk_trace(tmp_path / "qs.csv", configs, 200, 64)
    doc = eval_json(cli, trace, "--trials", "30", "--seed", "9")
    for layer, (n, k) in enumerate(configs):
        values = [g["topk_cycles"] for g in doc["groups"]["layer"]["rows"] if g["layer_id"] == layer]
        fixed = -(-n // 8) + -(-k // 8)
        assert np.mean(values) - fixed == pytest.approx(E[n][k], rel=0.015), (n, k)
