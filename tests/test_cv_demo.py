"""specs/cv_demo.spt against the seed-000 simulator: published figures and many overrides.

The reference figures are `tests/data/cv_demo_expected.json` (the seed's published run) and
`tests/reference_seed000.py` (an independent scalar restatement of the seed's model).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

import reference_seed000 as ref
from conftest import SPEC, run_subprocess

EXPECTED = json.loads((Path(__file__).parent / "data" / "cv_demo_expected.json").read_text())

REL, ABS = 1e-9, 1e-12


def close(got: float, want: float, abs_tol: float = ABS) -> bool:
    return math.isclose(got, want, rel_tol=REL, abs_tol=abs_tol)


def assert_matches_expected(doc: dict) -> None:
    assert doc["spec"] == "cv_demo"
    assert (doc["trials"], doc["seed"], doc["rng"]) == (50, 42, "legacy")
    assert set(doc["designs"]) == set(EXPECTED["designs"])
    for design, metrics in EXPECTED["designs"].items():
        assert set(doc["designs"][design]) == set(metrics), design
        for metric, want in metrics.items():
            got = doc["designs"][design][metric]
            for field in ("mean", "std"):
                assert close(got[field], want[field]), (design, metric, field, got[field], want[field])
    assert close(doc["compare"]["improvement_pct"], EXPECTED["compare"]["improvement_pct"])


PUBLISHED_ARGS = ("eval", str(SPEC), "--rng", "legacy", "--trials", "50", "--seed", "42")


def test_published_json_subprocess():
    r = run_subprocess("eval", "specs/cv_demo.spt", "--rng", "legacy", "--trials", "50", "--seed", "42", "--json")
    assert r.code == 0, r.err
    assert_matches_expected(json.loads(r.out))


def test_published_json_in_process(cli):
    r = cli(*PUBLISHED_ARGS, "--json")
    assert r.code == 0, r.err
    assert_matches_expected(json.loads(r.out))


def test_defaults_are_the_published_run(cli):
    """Without --trials/--seed the spec's own defaults (50 trials, seed 42) apply."""
    r = cli("eval", str(SPEC), "--rng", "legacy", "--json")
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert_matches_expected(doc)
    assert doc["params"] == ref.DEFAULTS


# (row label, baseline cell, lookahead cell) exactly as the seed prints them.
SEED_ROWS = [
    ("Total Cycles", "6,224,129", "1905201 ± 85"),
    ("DRAM Traffic (MB)", "10.90", "13.80 ± 0.01"),
    ("-> Wasted Traffic (MB)", "N/A", "0.01 ± 0.00"),
    ("Avg Hidden Time (cycles)", "N/A", "3835 ± 7"),
    ("Lookahead Finish Rate (%)", "N/A", "100.00 ± 0.00"),
]


def check_table(text: str) -> None:
    lines = text.splitlines()
    for label, base, look in SEED_ROWS:
        row = [ln for ln in lines if ln.strip().startswith(label)]
        assert len(row) == 1, (label, text)
        cells = [c.strip() for c in row[0].split("|")]
        assert cells == [label, base, look], row[0]
    assert "Net Performance Improvement (mean): 69.39%" in lines


def test_published_table_subprocess():
    r = run_subprocess("eval", "specs/cv_demo.spt", "--rng", "legacy", "--trials", "50", "--seed", "42")
    assert r.code == 0, r.err
    check_table(r.out)
    for figure in ("6,224,129", "1905201 ± 85", "10.90", "13.80 ± 0.01", "0.01 ± 0.00", "3835 ± 7",
                   "100.00 ± 0.00", "69.39%"):
        assert figure in r.out


def test_published_table_in_process(cli):
    r = cli(*PUBLISHED_ARGS)
    assert r.code == 0, r.err
    check_table(r.out)


def test_reference_restatement_reproduces_published_figures():
    """The scalar reference itself reproduces the seed's data (so it can judge overrides)."""
    doc = ref.simulate(trials=50, seed=42)
    for design, metrics in EXPECTED["designs"].items():
        for metric, want in metrics.items():
            for field in ("mean", "std"):
                assert close(doc["designs"][design][metric][field], want[field]), (design, metric, field)
    assert close(doc["compare"]["improvement_pct"], EXPECTED["compare"]["improvement_pct"])


# ---------------------------------------------------------------- --set overrides

# One token, one head, no pruning, unit-cost lookahead stages and a 32-cycle speculative fetch
# (20 cycles of latency + 1536 bytes / 128 bytes per cycle), all in exact integer arithmetic.
TIE = {"initial_seq_len": 1, "initial_heads": 1, "token_pruning_rate": 0.0, "predictor_compute_factor": 0.0,
       "proxy_col_sum_factor": 0.0, "top_k_factor": 0.0, "predictor_recall": 1.0, "predictor_precision": 1.0}

OVERRIDES: list[dict] = [
    {},
    # lookahead slower than AV in some layers (slow predictor), in all layers (slow proxy)
    {"predictor_compute_factor": 200.0},
    {"proxy_col_sum_factor": 2.0},
    # large speculative fetch against a cheap AV: finishes early layers only
    {"speculative_fetch_vecs": 16, "av_mult_factor": 0.02, "initial_seq_len": 4096},
    # token counts hit the floor of 1
    {"token_pruning_rate": 0.9, "num_layers": 8},
    {"num_layers": 60, "initial_seq_len": 16},
    {"token_pruning_rate": 1.0, "num_layers": 5, "initial_seq_len": 3},
    {"initial_seq_len": 1, "initial_heads": 1, "num_layers": 1},
    {"num_layers": 256, "initial_seq_len": 2048, "token_pruning_rate": 0.05},
    # predictor quality
    {"predictor_precision": 0.3, "predictor_recall": 0.4},
    {"predictor_precision": 0.4, "predictor_recall": 0.7},
    {"predictor_precision": 0.8, "predictor_recall": 0.5, "initial_seq_len": 40},
    {"predictor_precision": 1.0, "predictor_recall": 1.0},
    {"predictor_recall": 0.0},
    {"predictor_precision": 0.001, "predictor_recall": 0.9},
    # memory system
    {"saturation_window_multiplier": 0.0},
    {"mem_latency": 0},
    {"mem_latency": 0, "saturation_window_multiplier": 3.5, "bandwidth_Gb_per_s": 8.0, "clock_speed_ghz": 2.0},
    {"bandwidth_Gb_per_s": 0.001, "clock_speed_ghz": 100.0, "initial_seq_len": 1048576, "num_layers": 3},
    {"bytes_per_token_vecs": 1, "embedding_dim": 64, "bytes_per_element": 1},
    {"corrective_fetch_vecs": 0, "speculative_fetch_vecs": 0},
    {"corrective_fetch_vecs": 0, "predictor_recall": 0.6},
    {"speculative_fetch_vecs": 0, "predictor_precision": 0.5},
    # compute factors: zero (every stage 1 cycle) and huge (capped at 1e12)
    {"score_comp_factor": 0.0, "top_k_factor": 0.0, "qk_mult_factor": 0.0, "softmax_factor": 0.0,
     "av_mult_factor": 0.0, "predictor_compute_factor": 0.0, "proxy_col_sum_factor": 0.0},
    {"qk_mult_factor": 1e6, "initial_heads": 1024, "initial_seq_len": 1048576, "num_layers": 2},
    {"token_pruning_rate": 0.0, "num_layers": 4},
    {"token_pruning_rate": 0.33, "initial_heads": 3, "score_comp_factor": 0.07, "top_k_factor": 3.0},
    # exact tie: lookahead path + speculative fetch = 1 + 1 + 1 + 32 cycles = AV (counts as finished)
    dict(TIE, av_mult_factor=35.0),
    dict(TIE, av_mult_factor=34.0),
]


def _set_args(overrides: dict) -> list[str]:
    out = []
    for name, value in overrides.items():
        out += ["--set", f"{name}={value!r}"]
    return out


def assert_matches_reference(doc: dict, want: dict, what) -> None:
    for design, metrics in want["designs"].items():
        assert set(doc["designs"][design]) == set(metrics), (what, design)
        for metric, stats in metrics.items():
            got = doc["designs"][design][metric]
            for field in ("mean", "min", "max"):
                assert close(got[field], stats[field]), (what, design, metric, field, got[field], stats[field])
            # Equal samples give a std of exactly 0 or of rounding noise in the mean (ulps of
            # the mean); either is a std of 0 at a precision of 1e-9 relative to the mean.
            assert close(got["std"], stats["std"], abs_tol=ABS + REL * abs(stats["mean"])), \
                (what, design, metric, "std", got["std"], stats["std"])
    assert close(doc["compare"]["improvement_pct"], want["compare"]["improvement_pct"]), what


@pytest.mark.parametrize("overrides", OVERRIDES, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()) or "defaults")
def test_overrides_match_reference(cli, overrides):
    trials, seed = 4, 1000 + len(overrides)
    r = cli("eval", str(SPEC), "--rng", "legacy", "--trials", str(trials), "--seed", str(seed), "--json",
            *_set_args(overrides))
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert doc["params"] == dict(ref.DEFAULTS, **overrides)
    assert_matches_reference(doc, ref.simulate(trials=trials, seed=seed, **overrides), overrides)


def test_override_set_covers_the_hard_cases():
    """The configurations above include partial lookahead finishing and the token floor."""
    finish_rates = []
    floors = 0
    for o in OVERRIDES:
        model = ref.Model(**o)
        n = model.p["initial_seq_len"]
        for _ in range(model.p["num_layers"]):
            n = model.next_tokens(n)
        floors += n == 1
        finish_rates.append(ref.simulate(trials=2, seed=0, **o)["designs"]["lookahead"]["lookahead_finish_rate"]["mean"])
    assert any(0 < f < 1 for f in finish_rates)
    assert finish_rates[OVERRIDES.index(dict(TIE, av_mult_factor=35.0))] == 1.0
    assert finish_rates[OVERRIDES.index(dict(TIE, av_mult_factor=34.0))] == 0.0
    assert any(f == 0 for f in finish_rates)
    assert floors >= 4


def test_override_subprocess_partial_finish():
    """One override run through a real process too (slow predictor; token floor reached)."""
    o = {"predictor_compute_factor": 50.0, "num_layers": 30, "predictor_recall": 0.8}
    r = run_subprocess("eval", "specs/cv_demo.spt", "--rng", "legacy", "--trials", "6", "--seed", "3", "--json",
                       *_set_args(o))
    assert r.code == 0, r.err
    want = ref.simulate(trials=6, seed=3, **o)
    rate = want["designs"]["lookahead"]["lookahead_finish_rate"]["mean"]
    assert 0 < rate < 1
    assert_matches_reference(json.loads(r.out), want, o)


def _random_config(rnd) -> dict:
    """A configuration drawn across the declared ranges (values the seed model accepts)."""
    o: dict = {}
    choices = {
        "num_layers": [1, 2, 5, 12, 30, 100], "initial_seq_len": [1, 2, 3, 7, 50, 512, 4096, 100000],
        "initial_heads": [1, 2, 12, 64], "token_pruning_rate": [0.0, 0.1, 0.2, 0.37, 0.5, 0.9, 1.0],
        "mem_latency": [0, 1, 20, 300], "bytes_per_token_vecs": [1, 2, 3, 16], "embedding_dim": [1, 64, 768, 4096],
        "bytes_per_element": [1, 2, 4], "bandwidth_Gb_per_s": [0.001, 1.0, 64.0, 1024.0, 1e6],
        "clock_speed_ghz": [0.001, 0.5, 1.0, 3.3, 100.0], "saturation_window_multiplier": [0.0, 0.5, 1.0, 10.0],
        "predictor_precision": [0.001, 0.3, 0.5, 0.8, 0.995, 1.0], "predictor_recall": [0.0, 0.3, 0.5, 0.8, 0.995, 1.0],
        "speculative_fetch_vecs": [0, 1, 2, 16], "corrective_fetch_vecs": [0, 1, 2, 16],
    }
    for name in ("score_comp_factor", "proxy_col_sum_factor", "top_k_factor", "qk_mult_factor", "softmax_factor",
                 "av_mult_factor", "predictor_compute_factor"):
        choices[name] = [0.0, 1e-4, 0.01, 0.3, 5.0, 1000.0]
    for name, values in choices.items():
        if rnd.random() < 0.4:
            o[name] = rnd.choice(values + ([round(rnd.random(), 6)] if isinstance(values[0], float) else []))
    if o.get("predictor_precision") == 0.0:
        o["predictor_precision"] = 0.001
    return o


def test_random_configurations_match_reference(cli):
    """40 configurations drawn (fixed seed) across the params' ranges, 1-3 trials each."""
    import random

    rnd = random.Random(2024)
    for _ in range(40):
        o = _random_config(rnd)
        trials, seed = rnd.choice([1, 2, 3]), rnd.randrange(10_000)
        r = cli("eval", str(SPEC), "--rng", "legacy", "--trials", str(trials), "--seed", str(seed), "--json",
                *_set_args(o))
        assert r.code == 0, (o, r.err)
        assert_matches_reference(json.loads(r.out), ref.simulate(trials=trials, seed=seed, **o), (o, trials, seed))


@pytest.mark.parametrize("overrides", [
    {"predictor_recall": 1.0, "predictor_precision": 1.0},
    {"predictor_recall": 1.0, "predictor_precision": 0.4, "num_layers": 30},
    {"predictor_recall": 0.0, "num_layers": 20, "initial_seq_len": 64},
    dict(TIE, av_mult_factor=35.0),
], ids=["recall1", "recall1-precision0.4", "recall0", "tie"])
@pytest.mark.parametrize("trials", [5, 30000])
def test_pcg64_without_randomness_matches_reference(cli, overrides, trials):
    """With recall 0 or 1 every draw is certain, so PCG64 mode (many trials, one array
    pass) must equal the reference exactly as legacy mode does."""
    r = cli("eval", str(SPEC), "--trials", str(trials), "--json", *_set_args(overrides))
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert doc["rng"] == "pcg64" and doc["trials"] == trials
    assert_matches_reference(doc, ref.simulate(trials=1, seed=0, **overrides), overrides)


# ---------------------------------------------------------------- PCG64 vs legacy

def _per_trial(overrides: dict, trials: int, seed: int, rng: str):
    from spattenc.driver import load
    from spattenc.run.loader import simulator

    sim = simulator(load(SPEC))
    R, _, _ = sim.run(overrides, trials=trials, seed=seed, rng=rng)
    return R["lookahead"]


@pytest.mark.parametrize("overrides,trials", [({}, 2000), ({"predictor_recall": 0.7, "predictor_precision": 0.8}, 1000)])
def test_pcg64_agrees_with_legacy_statistically(overrides, trials):
    """PCG64 and legacy draws give the same lookahead distribution.

    Bound: for total_cycles and avg_hidden_cycles, |mean_pcg64 - mean_legacy| <= 5 * SE with
    SE = sqrt(s_pcg64^2 / n + s_legacy^2 / n) (population std, n trials each).  Two
    independent samples of one distribution exceed it with probability about 6e-7.
    """
    pcg = _per_trial(overrides, trials, 42, "pcg64")
    leg = _per_trial(overrides, trials, 42, "legacy")
    for metric in ("total_cycles", "avg_hidden_cycles"):
        a, b = np.asarray(pcg[metric], float).ravel(), np.asarray(leg[metric], float).ravel()
        assert a.shape == b.shape == (trials,)
        se = math.sqrt(a.var() / trials + b.var() / trials)
        assert se > 0, metric  # both samples really vary
        assert abs(a.mean() - b.mean()) <= 5 * se, (metric, a.mean(), b.mean(), se)
    # Not the same stream: the modes draw differently.
    assert not np.array_equal(np.asarray(pcg["total_cycles"]), np.asarray(leg["total_cycles"]))
    # The legacy run itself is the reference model exactly.
    want = ref.simulate(trials=trials, seed=42, **overrides)["designs"]["lookahead"]["total_cycles"]
    assert close(float(np.mean(leg["total_cycles"])), want["mean"])


# ---------------------------------------------------------------- nothing to fetch


@pytest.mark.parametrize("mem_latency,fetch_qkv", [(20, 20 + 4608 / 128 + (4608 - 2560) / 128), (0, 4608 / 128)])
def test_a_fetch_of_zero_bytes_costs_one_cycle(cli, mem_latency, fetch_qkv):
    """The seed charges one cycle for a fetch with no bytes per token (zero vectors), not
    the DRAM latency: with one token, unit lookahead stages and `speculative_fetch_vecs=0`,
    the speculative fetch is 1 cycle, so the lookahead path (1 + 1 + 1 + 1) ties AV (4)."""
    o = dict(TIE, speculative_fetch_vecs=0, av_mult_factor=4.0, num_layers=1, mem_latency=mem_latency)
    r = cli("eval", str(SPEC), "--rng", "legacy", "--trials", "1", "--json", *_set_args(o))
    assert r.code == 0, r.err
    look = json.loads(r.out)["designs"]["lookahead"]
    # fetch QKV, QK (1), softmax (1), then max(AV 4 + corrective fetch of no tokens 1, 3 + 1)
    assert look["total_cycles"]["mean"] == fetch_qkv + 1 + 1 + 5
    assert look["avg_hidden_cycles"]["mean"] == 4
    assert look["lookahead_finish_rate"]["mean"] == 1.0
    assert_matches_reference(json.loads(r.out), ref.simulate(trials=1, seed=42, **o), o)
