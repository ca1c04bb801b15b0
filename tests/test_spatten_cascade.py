"""specs/spatten_cascade.spt against the model's semantics restated here as a plain
Python loop over layers, the dense limit, the ablation cases and their bar charts, and
the closed forms of the reductions printed by `inspect`."""

from __future__ import annotations

import json
import re

import pytest

from conftest import ROOT

SPEC = ROOT / "specs" / "spatten_cascade.spt"

DEFAULTS = dict(num_layers=12, num_heads=12, head_dim=64, seq_len=512, generative=False, gen_tokens=32,
                token_keep=0.85, head_keep=0.95, local_v_keep=0.5, quantization=True, key_msb_bits=8,
                key_lsb_bits=4, value_bits=8, query_bits=16, lsb_refetch_prob=0.07, lsb_threshold=0.0,
                max_prob_low=0.05, max_prob_high=0.95, dense_bits=16,
                num_multipliers=512, topk_parallelism=32, topk_passes=3.0, hbm_channels=16, channel_gbps=32.0,
                clock_ghz=1.0, e_dram_pj_per_byte=31.2, e_mac_pj=0.4, e_compare_pj=0.05, static_power_w=1.0)

DENSE_LIMIT = dict(token_keep=1, head_keep=1, local_v_keep=1, quantization=False)


def reference(**overrides) -> dict:
    """DRAM MB, GMACs, cycles and energy (uJ) of both designs, layer by layer."""
    p = dict(DEFAULTS, **overrides)
    S, G, D = p["seq_len"], p["gen_tokens"], p["head_dim"]
    gen = p["generative"]
    q = p["quantization"]
    kb = p["key_msb_bits"] if q else p["dense_bits"]
    lsb = p["key_lsb_bits"] if q else 0
    pl = p["lsb_refetch_prob"] if q else 0
    if q and p["lsb_threshold"] > 0:  # P(max attention prob < threshold), max prob ~ uniform(low, high)
        lo, hi, t = p["max_prob_low"], p["max_prob_high"], p["lsb_threshold"]
        pl = min(1.0, max(0.0, (t - lo) / (hi - lo))) if hi > lo else float(t > lo)
    vb = p["value_bits"] if q else p["dense_bits"]
    qb = p["query_bits"] if q else p["dense_bits"]
    context = sum(S + s for s in range(G)) if gen else S  # tokens attended, over all passes
    passes = G if gen else 1
    per_cycle = p["hbm_channels"] * p["channel_gbps"] / p["clock_ghz"]
    static = p["static_power_w"] * 1000 / p["clock_ghz"]

    def layer(heads, frac, kbits, lsb_, p_, vkeep, vbits, qbits, topk_on):
        keys = heads * frac * context
        queries = heads * (passes if gen else frac * S)
        dram = (keys * (kbits + p_ * lsb_) + vkeep * keys * vbits + queries * qbits) * D / 8
        pairs = frac * context if gen else (frac * S) ** 2
        qk = heads * pairs * D * (1 + p_)
        av = heads * vkeep * pairs * D
        topk = 0.0
        if topk_on:
            topk = p["topk_passes"] * ((frac * context if p["token_keep"] < 1 else 0)
                                       + (heads * passes if p["head_keep"] < 1 else 0)
                                       + (heads * pairs if p["local_v_keep"] < 1 else 0))
        cycles = max(dram / per_cycle, qk / p["num_multipliers"], av / p["num_multipliers"],
                     topk / p["topk_parallelism"])
        energy = dram * p["e_dram_pj_per_byte"] + (qk + av) * p["e_mac_pj"] + topk * p["e_compare_pj"]
        return dram, qk + av, cycles, energy

    out = {}
    for design in ("spatten", "dense"):
        frac = heads_live = 1.0
        dram = macs = cycles = energy = 0.0
        for _ in range(p["num_layers"]):
            if design == "spatten":
                x = layer(p["num_heads"] * heads_live, frac, kb, lsb, pl, p["local_v_keep"], vb, qb, True)
            else:
                d = p["dense_bits"]
                x = layer(p["num_heads"], 1, d, 0, 0, 1, d, d, False)
            dram, macs, cycles, energy = dram + x[0], macs + x[1], cycles + x[2], energy + x[3]
            frac *= p["token_keep"]
            heads_live *= p["head_keep"]
        out[design] = {"dram_mb": dram / 1e6, "gmacs": macs / 1e9, "cycles": cycles,
                       "energy_uj": (energy + cycles * static) / 1e6}
    s, d = out["spatten"], out["dense"]
    out["compare"] = {"dram_reduction": d["dram_mb"] / s["dram_mb"], "mac_reduction": d["gmacs"] / s["gmacs"],
                      "speedup": d["cycles"] / s["cycles"], "energy_reduction": d["energy_uj"] / s["energy_uj"]}
    return out


def sets(overrides: dict) -> list[str]:
    return [x for k, v in overrides.items() for x in ("--set", f"{k}={str(v).lower() if isinstance(v, bool) else v}")]


def run(cli, *args) -> dict:
    r = cli("eval", str(SPEC), "--json", *args)
    assert r.code == 0, r.err
    return json.loads(r.out)


VARIANTS = [
    {},
    {"generative": True},
    {"generative": True, "num_layers": 24, "num_heads": 16, "seq_len": 1000, "gen_tokens": 64},
    {"token_keep": 0.6, "head_keep": 0.8, "local_v_keep": 0.3, "lsb_refetch_prob": 0.2, "hbm_channels": 4},
    {"token_keep": 1, "head_keep": 0.9, "local_v_keep": 1, "quantization": False, "topk_parallelism": 2},
    {"lsb_threshold": 0.2},  # refetch probability (0.2 - 0.05) / 0.9 from the declared distribution
    {"lsb_threshold": 0.5, "max_prob_low": 0.3, "max_prob_high": 0.4, "generative": True},  # always below
    {"lsb_threshold": 0.5, "max_prob_low": 0.6, "max_prob_high": 0.6},  # a point mass above: never
    {"lsb_threshold": 0.5, "quantization": False},
]


@pytest.mark.parametrize("overrides", VARIANTS)
def test_figures_match_the_semantics(cli, overrides):
    doc = run(cli, *sets(overrides))
    ref = reference(**overrides)
    for design in ("spatten", "dense"):
        for metric, value in ref[design].items():
            assert doc["designs"][design][metric]["mean"] == pytest.approx(value, rel=1e-12), (design, metric)
    for name, value in ref["compare"].items():
        assert doc["compare"][name] == pytest.approx(value, rel=1e-12), name


@pytest.mark.parametrize("workload", [{}, {"generative": True}, {"generative": True, "num_layers": 24, "num_heads": 16}])
def test_keep_ratios_one_without_quantization_is_exactly_dense(cli, workload):
    doc = run(cli, *sets(dict(DENSE_LIMIT, **workload)))
    spatten, dense = doc["designs"]["spatten"], doc["designs"]["dense"]
    for metric in ("dram_mb", "gmacs", "cycles", "energy_uj"):
        assert spatten[metric]["mean"] == dense[metric]["mean"], metric
    assert all(v == 1.0 for v in doc["compare"].values()), doc["compare"]
    ref = reference(**workload)["dense"]
    for metric, value in ref.items():
        assert dense[metric]["mean"] == pytest.approx(value, rel=1e-12)


def test_dense_figures_by_hand(cli):
    """BERT-base, 512 tokens: K, V and Q of 12 heads x 12 layers at 16 bits:
    12 * 12 * 3 * 512 * 64 * 2 bytes = 28.311552 MB; MACs 2 * 12 * 12 * 512^2 * 64."""
    d = run(cli)["designs"]["dense"]
    assert d["dram_mb"]["mean"] == 12 * 12 * 3 * 512 * 64 * 2 / 1e6
    assert d["gmacs"]["mean"] == 2 * 12 * 12 * 512 ** 2 * 64 / 1e9
    assert d["cycles"]["mean"] == 12 * 12 * 512 ** 2 * 64 / 512


def test_ablation_cases(cli):
    doc = run(cli, "--cases", "ablation")
    labels = [p["case"] for p in doc["points"]]
    assert labels == ["dense", "+token", "+head", "+local V", "+prog. quant"]
    steps = [DENSE_LIMIT, dict(head_keep=1, local_v_keep=1, quantization=False),
             dict(local_v_keep=1, quantization=False), dict(quantization=False), {}]
    for point, overrides in zip(doc["points"], steps):
        ref = reference(**overrides)
        for name, value in ref["compare"].items():
            assert point["compare"][name] == pytest.approx(value, rel=1e-12), (point["case"], name)
    dense = doc["points"][0]
    assert dense["designs"]["spatten"] == dense["designs"]["dense"]
    reductions = [p["compare"]["dram_reduction"] for p in doc["points"]]
    assert reductions[0] == 1.0
    assert all(a < b for a, b in zip(reductions, reductions[1:])), reductions  # every technique cuts DRAM traffic


def test_ablation_bar_charts(cli, tmp_path):
    from spattenc import cli as cli_module
    from spattenc.present import plotset

    out = tmp_path / "ablation"
    r = cli("eval", str(SPEC), "--cases", "ablation", "--plots", "--out", str(out))
    assert r.code == 0, r.err
    png = out / "ablation_dram_reduction.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    index = (out / "index.md").read_text()
    assert "[ablation_dram_reduction.png]" in index and "[ablation_speedup.png]" in index
    assert "[gantt.png]" in index  # the operating point's plots come along, as for a sweep
    doc = json.loads((out / "results.json").read_text())
    # The charts show the JSON's figures.
    run_ = cli_module.Run(cli_module.build_parser().parse_args(["eval", str(SPEC), "--cases", "ablation"]))
    again = tmp_path / "again"
    again.mkdir()
    plots = {name: p for name, _, p in plotset.cases_plots(again, "png", run_, run_.swept(quiet=True))}
    bar = plots["ablation_dram_reduction.png"]
    assert list(bar.labels) == ["dense", "+token", "+head", "+local V", "+prog. quant"]
    assert list(bar.values) == [p["compare"]["dram_reduction"] for p in doc["points"]]


def inspect_values(out: str) -> dict[str, tuple[str, float, float]]:
    """name -> (closed form, its value, the simulator's value) from the comparisons section."""
    section = out.split("## Comparisons in closed form")[1]
    found = {}
    for m in re.finditer(r"^(\w+) = (.+)\n  = (\S+) at the current params; simulator (\S+)", section, re.M):
        found[m.group(1)] = (m.group(2), float(m.group(3)), float(m.group(4)))
    return found


@pytest.mark.parametrize("overrides", [{}, {"token_keep": 0.7, "head_keep": 0.8, "local_v_keep": 0.3},
                                       {"generative": True, "num_layers": 24}])
def test_inspect_closed_forms_of_the_reductions(cli, overrides):
    r = cli("inspect", str(SPEC), "dram_reduction", "mac_reduction", "speedup", "energy_reduction", *sets(overrides))
    assert r.code == 0, r.err
    forms = inspect_values(r.out)
    assert set(forms) == {"dram_reduction", "mac_reduction", "speedup", "energy_reduction"}
    ref = reference(**overrides)["compare"]
    for name, (form, value, sim) in forms.items():
        assert value == pytest.approx(ref[name], rel=1e-9), name
        assert sim == pytest.approx(ref[name], rel=1e-12), name
        assert "token_keep" in form and "head_keep" in form, form  # functions of the keep ratios
        assert "Sum(" not in form
    dram = forms["dram_reduction"][0]
    assert "local_v_keep" in dram
    if not overrides.get("generative"):
        assert "head_keep**num_layers*token_keep**num_layers - 1" in dram


def test_mac_reduction_closed_form_by_hand(cli):
    """BERT: MACs per layer ∝ heads * tokens^2 = H (hk tk^2)^l; the dense/SpAtten ratio
    sums a geometric series: 2 L (1 - hk tk^2) / ((1 - (hk tk^2)^L)(1 + vk + p))."""
    r = cli("inspect", str(SPEC), "mac_reduction")
    assert r.code == 0, r.err
    form, value, _ = inspect_values(r.out)["mac_reduction"]
    L, hk, tk, vk, p = 12, 0.95, 0.85, 0.5, 0.07
    q = hk * tk ** 2
    assert value == pytest.approx(2 * L * (1 - q) / ((1 - q ** L) * (1 + vk + p)), rel=1e-12)
    assert "(head_keep*token_keep**2 - 1)" in form and "token_keep**(2*num_layers)" in form


def test_inspect_metrics_closed_forms_match_the_simulator(cli):
    r = cli("inspect", str(SPEC), "spatten", "dense")
    assert r.code == 0, r.err
    ref = reference()
    for design in ("spatten", "dense"):
        part = r.out.split(f"## Design {design}")[1].split("## ")[0]
        for metric, value in ref[design].items():
            m = re.search(rf"^{metric} = .+\n  = (\S+) at the current params", part, re.M)
            assert m, (design, metric, part)
            assert float(m.group(1)) == pytest.approx(value, rel=1e-9)
