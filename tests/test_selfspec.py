"""specs/selfspec.spt against the seed PPA calculator: its published figures, and an
independent restatement of its accounting (written here, in plain Python) for other
inputs in the same file formats."""

from __future__ import annotations

import copy
import json
from fractions import Fraction
from pathlib import Path

import pytest
import yaml

from spattenc.cli import main

ROOT = Path(__file__).resolve().parents[1]
SPEC = str(ROOT / "specs" / "selfspec.spt")
DATA = Path("/work/shared/data/selfspec")
EXAMPLES = ROOT / "examples" / "selfspec"
METRICS = ("energy_pj_per_token", "latency_ns_per_token", "throughput_tokens_per_s", "tokens_per_joule")
BLOCKS = ("qkv", "wo", "ffn")


# ---------------------------------------------------------------------------------------
# The seed calculator's accounting, restated from its description (issue 7, Semantics).


def _steps(model: dict, hw: dict, L: int, quantity: str) -> dict[str, float]:
    """Draft, verify-drafted and verify-bonus step cost (summed over layers) of one token."""
    d_model, n_heads = model["d_model"], model["n_heads"]
    d_head = Fraction(d_model, n_heads)  # exact (d_model divides by n_heads); floats absorb it
    d_ff = model.get("d_ff")
    if d_ff is None:
        d_ff = round(d_model * model.get("ffn_expansion", 4.0))  # Python rounds half to even
    ffn_weights = (3 if model.get("ffn_type", "mlp") == "swiglu" else 2) * d_model * d_ff
    weights = {"qkv": 3 * d_model * d_model, "wo": d_model * d_model, "ffn": ffn_weights}
    costs = hw["costs"]
    policy = model.get("draft_policy") or {}
    default = policy.get("default") or {}
    per_layer = {int(k): (v or {}) for k, v in (policy.get("per_layer") or {}).items()}

    def cost(name):
        return costs[name][quantity]

    out = {"draft": 0, "verify_drafted": 0, "verify_bonus": 0}
    for layer in range(model["n_layers"]):
        # A per-layer entry replaces the default for the layer; unnamed blocks run draft.
        modes = per_layer[layer] if layer in per_layer else default
        digital = (2 * n_heads * L * d_head * cost("digital_attention") + n_heads * L * cost("digital_softmax")
                   + d_ff * cost("digital_elementwise") + d_model * cost("kv_cache"))
        for block in BLOCKS:
            mode = modes.get(block, "draft")
            out["draft"] += weights[block] * cost("analog_full" if mode == "full" else "analog_draft")
            out["verify_bonus"] += weights[block] * cost("analog_full")
            if hw["reuse_policy"] == "reread":
                out["verify_drafted"] += weights[block] * cost("analog_full")
            elif mode != "full":
                out["verify_drafted"] += weights[block] * cost("analog_verify_reuse")
        for step in out:
            out[step] += digital
    return out


def _metrics(energy: float, latency: float) -> dict:
    return {"energy_pj_per_token": energy, "latency_ns_per_token": latency,
            "throughput_tokens_per_s": 10**9 / latency if latency else None,
            "tokens_per_joule": 10**12 / energy if energy else None}


def reference_report(model: dict, hw: dict, stats: dict, prompt_lengths: list[int]) -> dict:
    k = stats["k"]
    weights = {int(a): w for a, w in stats["histogram"].items()}
    total = sum(weights.values())
    p = {a: (Fraction(w) if isinstance(w, int) else w) / total for a, w in weights.items()}
    committed = sum(pa * (a + 1) for a, pa in p.items())
    wasted = sum(pa * (k - a) for a, pa in p.items())
    points = []
    for L in prompt_lengths:
        e = _steps(model, hw, L, "energy_pj_per_mac")
        t = _steps(model, hw, L, "latency_ns_per_mac")
        spec = _metrics((k * e["draft"] + k * e["verify_drafted"] + e["verify_bonus"]) / committed,
                        (k * t["draft"] + k * t["verify_drafted"] + t["verify_bonus"]) / committed)
        base = _metrics(e["verify_bonus"], t["verify_bonus"])
        delta = {}
        for m in METRICS:
            s, b = spec[m], base[m]
            delta[f"{m}_ratio"] = None if (s is None or not b) else s / b
            delta[f"{m}_diff"] = None if (s is None or b is None) else s - b
        breakdown = {
            "draft": {"energy_pj": k * e["draft"] / committed, "latency_ns": k * t["draft"] / committed},
            "verify_drafted": {"energy_pj": k * e["verify_drafted"] / committed,
                               "latency_ns": k * t["verify_drafted"] / committed},
            "verify_bonus": {"energy_pj": e["verify_bonus"] / committed, "latency_ns": t["verify_bonus"] / committed},
            "total": {"energy_pj": spec["energy_pj_per_token"], "latency_ns": spec["latency_ns_per_token"]},
        }
        points.append({"l_prompt": L, "speculative": spec, "baseline": base, "delta": delta, "breakdown": breakdown})
    d_model, n = model["d_model"], model["n_layers"]
    d_ff = model.get("d_ff") or round(d_model * model.get("ffn_expansion", 4.0))
    per_weight = hw["costs"]["analog_weight_area"]["area_mm2_per_weight"]
    area = {"qkv_mm2": 3 * d_model * d_model * per_weight * n, "wo_mm2": d_model * d_model * per_weight * n,
            "ffn_mm2": (3 if model.get("ffn_type", "mlp") == "swiglu" else 2) * d_model * d_ff * per_weight * n,
            "digital_mm2": hw["costs"]["digital_overhead_area_mm2_per_layer"] * n}
    area["total_mm2"] = sum(area.values())
    # Break-even on the grid: the smallest prompt length whose ratio is above 1, in whatever
    # order the lengths were given.
    grid = min((pt["l_prompt"] for pt in points
                if pt["delta"]["tokens_per_joule_ratio"] is not None and pt["delta"]["tokens_per_joule_ratio"] > 1),
               default=None)
    return {"points": points, "area": area, "break_even": {"tokens_per_joule_l_prompt_grid": grid},
            "expected_committed_tokens": committed, "expected_wasted_verify_steps": wasted, "k": k}


def _exact(obj):
    """Every float of a config as the exact decimal fraction it was written as."""
    if isinstance(obj, dict):
        return {k: _exact(v) for k, v in obj.items()}
    if isinstance(obj, float):
        return Fraction(repr(obj))
    return obj


def exact_break_even(model: dict, hw: dict, stats: dict) -> Fraction | None:
    """The L where speculative and baseline energy per token are equal, in exact rational
    arithmetic (both are linear in L, so two evaluations fix each line), from the
    restatement above."""
    model, hw, stats = _exact(model), _exact(hw), _exact(stats)

    def energies(L):
        r = reference_report(model, hw, stats, [L])["points"][0]
        return r["speculative"]["energy_pj_per_token"], r["baseline"]["energy_pj_per_token"]
    s0, b0 = energies(0)
    s1, b1 = energies(1000)
    slope = (s1 - s0) - (b1 - b0)
    return None if slope == 0 else -(s0 - b0) / slope * 1000


# ---------------------------------------------------------------------------------------


def load_inputs(folder: Path) -> tuple[dict, dict, dict]:
    return (yaml.safe_load((folder / "model.yaml").read_text()), yaml.safe_load((folder / "hardware.yaml").read_text()),
            json.loads((folder / "stats.json").read_text()))


def run_eval(capsys, tmp_path: Path, model: dict, hw: dict, stats: dict, lengths, *extra, text: bool = False):
    """eval --json (the document), or the readable text with text=True."""
    (tmp_path / "model.yaml").write_text(yaml.safe_dump(model))
    (tmp_path / "hardware.yaml").write_text(yaml.safe_dump(hw))
    (tmp_path / "stats.json").write_text(json.dumps(stats))
    rc = main(["eval", SPEC, "--input", f"model={tmp_path / 'model.yaml'}", "--input",
               f"hardware={tmp_path / 'hardware.yaml'}", "--input", f"stats={tmp_path / 'stats.json'}",
               "--sweep", "l_prompt=" + ",".join(str(x) for x in lengths), *([] if text else ["--json"]), *extra])
    out = capsys.readouterr()
    assert rc == 0, out.err
    return out.out if text else json.loads(out.out)


def exact_reason(text: str) -> str:
    """The note printed after a null exact break-even in the readable output."""
    return note_of(text, "tokens_per_joule_l_prompt_exact: null")


def note_of(text: str, entry: str) -> str:
    """The `(note)` after `entry` in the readable output: on its line, or, when that line
    would pass 120 columns, on the more indented lines below it (within 120 columns)."""
    lines = text.splitlines()
    i = next(i for i, x in enumerate(lines) if x.strip().startswith(entry))
    line = lines[i]
    if line.strip() != entry:
        assert line.strip().startswith(entry + " (") and line.endswith(")"), line
        return line.split(entry + " (", 1)[1][:-1]
    indent = len(line) - len(line.lstrip())
    more = []
    for x in lines[i + 1:]:
        if len(x) - len(x.lstrip()) <= indent:
            break
        more.append(x)
    assert more and len(line) + len(" ".join(x.strip() for x in more)) + 1 > 120, (line, more)
    assert all(len(x) <= 120 for x in more), more
    note = " ".join(x.strip() for x in more)
    assert note.startswith("(") and note.endswith(")"), note
    return note[1:-1]


def assert_close(got, want, path="report"):
    if isinstance(want, dict):
        assert isinstance(got, dict), path
        for key in want:
            assert key in got, f"{path}.{key} missing"
            assert_close(got[key], want[key], f"{path}.{key}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), path
        for i, (g, w) in enumerate(zip(got, want)):
            assert_close(g, w, f"{path}[{i}]")
    elif want is None or isinstance(want, (bool, str)):
        assert got == want, f"{path}: {got!r} != {want!r}"
    else:
        assert got is not None, f"{path}: null, expected {want!r}"
        assert got == pytest.approx(want, rel=1e-9, abs=1e-12), f"{path}: {got!r} != {want!r}"


# ---------------------------------------------------------------------------------------
# The seed's published figures


def test_expected_report_every_field(capsys, tmp_path):
    expected = json.loads((DATA / "expected_report.json").read_text())
    model, hw, stats = load_inputs(DATA)
    got = run_eval(capsys, tmp_path, model, hw, stats, expected["inputs"]["prompt_lengths"])
    assert [p["l_prompt"] for p in got["points"]] == [64, 128, 256]
    checked = 0
    for gp, ep in zip(got["points"], expected["points"]):
        for part in ("speculative", "baseline", "delta"):
            assert set(gp[part]) == set(ep[part])
            for key, value in ep[part].items():
                assert gp[part][key] == pytest.approx(value, rel=1e-9), (gp["l_prompt"], part, key)
                checked += 1
    for key, value in expected["area"].items():
        assert got["area"][key] == pytest.approx(value, rel=1e-9), key
        checked += 1
    assert got["area"]["total_mm2"] == pytest.approx(sum(expected["area"].values()), rel=1e-9)
    assert got["break_even"]["tokens_per_joule_l_prompt_grid"] == expected["break_even_tokens_per_joule_l_prompt"]
    assert checked == 3 * 16 + 4
    # The seed's break-even whatever order the lengths are swept in.
    lengths = expected["inputs"]["prompt_lengths"]
    assert run_eval(capsys, tmp_path, model, hw, stats, lengths[::-1])["break_even"] == got["break_even"]
    # The exact break-even: the lines cross only at a negative prompt length.
    assert got["break_even"]["tokens_per_joule_l_prompt_exact"] is None
    crossing = exact_break_even(model, hw, stats)
    reason = exact_reason(run_eval(capsys, tmp_path, model, hw, stats, [64], text=True))
    assert "outside [1, 1048576]" in reason and f"{float(crossing):.6g}" in reason
    assert crossing == Fraction(-9426416, 25155)
    assert "-9426416/25155" in reason


def test_the_shipped_examples_are_the_seed_inputs_unchanged():
    for name in ("model.yaml", "hardware.yaml", "stats.json"):
        assert (EXAMPLES / name).read_bytes() == (DATA / name).read_bytes()
    assert "/work/shared/data/selfspec" in (EXAMPLES / "SOURCE.md").read_text()


def test_report_shape(capsys, tmp_path):
    got = run_eval(capsys, tmp_path, *load_inputs(DATA), [64])
    assert list(got) == ["points", "area", "break_even", "expected_committed_tokens", "expected_wasted_verify_steps",
                         "k"]
    point = got["points"][0]
    assert list(point) == ["l_prompt", "speculative", "baseline", "delta", "breakdown"]
    assert list(point["speculative"]) == list(METRICS) == list(point["baseline"])
    assert sorted(point["delta"]) == sorted(f"{m}_{x}" for m in METRICS for x in ("ratio", "diff"))
    assert list(point["breakdown"]) == ["draft", "verify_drafted", "verify_bonus", "total"]
    assert all(list(v) == ["energy_pj", "latency_ns"] for v in point["breakdown"].values())
    assert list(got["area"]) == ["qkv_mm2", "wo_mm2", "ffn_mm2", "digital_mm2", "total_mm2"]
    assert list(got["break_even"]) == ["tokens_per_joule_l_prompt_grid", "tokens_per_joule_l_prompt_exact"]
    assert got["k"] == 4 and isinstance(got["k"], int)
    assert got["expected_committed_tokens"] == pytest.approx(3.15, rel=1e-12)
    assert got["expected_wasted_verify_steps"] == pytest.approx(1.85, rel=1e-12)


# ---------------------------------------------------------------------------------------
# Other inputs in the same formats, against the restatement


def _base():
    return copy.deepcopy(load_inputs(DATA))


def _cfg_swiglu():
    model, hw, stats = _base()
    model["ffn_type"] = "swiglu"
    model["ffn_expansion"] = 2.5078125  # 64 * 2.5078125 = 160.5: rounds half to even, to 160
    return model, hw, stats


def _cfg_explicit_dff_reread():
    model, hw, stats = _base()
    model["d_ff"] = 200
    model["ffn_expansion"] = 9.0  # ignored: d_ff is given
    hw["reuse_policy"] = "reread"
    return model, hw, stats


def _cfg_per_layer():
    model, hw, stats = _base()
    model["n_layers"] = 5
    model["draft_policy"] = {"default": {"qkv": "full", "ffn": "full"},  # wo not named: draft
                             "per_layer": {1: {"wo": "full"}, 3: {}, 4: {"qkv": "full", "wo": "full", "ffn": "full"}}}
    return model, hw, stats


def _cfg_no_policy_counts():
    model, hw, stats = _base()
    del model["draft_policy"]
    del model["ffn_expansion"]
    model["n_layers"] = 3
    stats = {"k": 3, "histogram": {"0": 12, "2": 30, "3": 7}}  # counts, bin 1 absent
    return model, hw, stats


def _cfg_k16():
    model, hw, stats = _base()
    model.update(n_layers=12, d_model=256, n_heads=16)
    model["draft_policy"]["per_layer"] = {0: {"qkv": "full", "ffn": "full"}, 11: {"ffn": "full"}}
    stats = {"k": 16, "histogram": {str(a): (a * 7 + 3) % 11 + 1 for a in range(17)}}
    return model, hw, stats


def _cfg_reuse_full_blocks():
    model, hw, stats = _base()
    model["draft_policy"] = {"default": {"qkv": "full", "wo": "full", "ffn": "draft"}}
    stats = {"k": 8, "histogram": {"8": 5, "7": 2, "0": 1}}
    return model, hw, stats


@pytest.mark.parametrize("config", [_cfg_swiglu, _cfg_explicit_dff_reread, _cfg_per_layer, _cfg_no_policy_counts,
                                    _cfg_k16, _cfg_reuse_full_blocks])
def test_matches_restated_accounting(capsys, tmp_path, config):
    model, hw, stats = config()
    lengths = [1, 7, 64, 1000, 8192]
    got = run_eval(capsys, tmp_path, model, hw, stats, lengths)
    want = reference_report(model, hw, stats, lengths)
    assert_close(got, want)
    crossing = exact_break_even(model, hw, stats)
    exact = got["break_even"]["tokens_per_joule_l_prompt_exact"]
    if crossing is not None and 1 <= crossing <= 1048576:
        assert exact == pytest.approx(float(crossing), rel=1e-9)
    else:
        assert exact is None


def test_break_even_inside_the_range(capsys, tmp_path):
    """Cheap drafts that are always accepted win at short prompts; the digital attention
    paid by 2K+1 steps per burst loses at long ones: the tokens/J ratio crosses 1."""
    model, hw, stats = _base()
    hw["costs"]["analog_draft"]["energy_pj_per_mac"] = 0.0002
    hw["costs"]["analog_verify_reuse"]["energy_pj_per_mac"] = 0.0001
    stats = {"k": 4, "histogram": {"4": 1}}
    lengths = [64, 1024, 2048, 4096]
    got = run_eval(capsys, tmp_path, model, hw, stats, lengths)
    assert_close(got, reference_report(model, hw, stats, lengths))
    ratios = [p["delta"]["tokens_per_joule_ratio"] for p in got["points"]]
    assert ratios[0] > 1 > ratios[-1]
    assert got["break_even"]["tokens_per_joule_l_prompt_grid"] == 64  # the smallest swept L with ratio > 1
    crossing = exact_break_even(model, hw, stats)
    assert 1024 < crossing < 2048
    assert got["break_even"]["tokens_per_joule_l_prompt_exact"] == pytest.approx(float(crossing), rel=1e-12)
    assert "tokens_per_joule_l_prompt_exact: " + f"{float(crossing):.6g}" in run_eval(capsys, tmp_path, model, hw, stats,
                                                                            lengths, text=True)
    # The grid break-even is the smallest length whose ratio is above 1, whatever order the
    # sweep lists them in (1024 is above 1 too, and comes first in these two orders).
    for order in ([4096, 2048, 1024, 64], [1024, 4096, 64, 2048]):
        again = run_eval(capsys, tmp_path, model, hw, stats, order)
        assert [p["l_prompt"] for p in again["points"]] == order  # the points keep the sweep's order
        assert again["break_even"]["tokens_per_joule_l_prompt_grid"] == 64
        assert again["break_even"] == got["break_even"]
        assert reference_report(model, hw, stats, order)["break_even"]["tokens_per_joule_l_prompt_grid"] == 64
    none = run_eval(capsys, tmp_path, model, hw, stats, [2048, 4096])
    assert none["break_even"]["tokens_per_joule_l_prompt_grid"] is None


def test_no_speculation_equals_baseline(capsys, tmp_path):
    model, hw, stats = _base()
    stats = {"k": 0, "histogram": {"0": 3}}
    got = run_eval(capsys, tmp_path, model, hw, stats, [16, 4096])
    for p in got["points"]:
        for m in METRICS:
            assert p["speculative"][m] == pytest.approx(p["baseline"][m], rel=1e-15)
            assert p["delta"][f"{m}_ratio"] == pytest.approx(1.0, rel=1e-15)
    assert got["expected_committed_tokens"] == 1 and got["expected_wasted_verify_steps"] == 0
    assert got["break_even"]["tokens_per_joule_l_prompt_exact"] is None
    reason = exact_reason(run_eval(capsys, tmp_path, model, hw, stats, [16], text=True))
    assert reason == "the equation does not depend on l_prompt; it holds for every value"


def test_zero_baseline_gives_null_ratios(capsys, tmp_path):
    model, hw, stats = _base()
    for cost in hw["costs"].values():
        if isinstance(cost, dict) and "energy_pj_per_mac" in cost:
            cost["energy_pj_per_mac"] = 0.0
    got = run_eval(capsys, tmp_path, model, hw, stats, [64])
    want = reference_report(model, hw, stats, [64])
    assert_close(got["points"], want["points"])
    delta = got["points"][0]["delta"]
    assert delta["energy_pj_per_token_ratio"] is None and delta["tokens_per_joule_ratio"] is None
    assert got["points"][0]["speculative"]["tokens_per_joule"] is None
    assert delta["latency_ns_per_token_ratio"] == pytest.approx(want["points"][0]["delta"]["latency_ns_per_token_ratio"])


def test_per_layer_entry_replaces_the_default(capsys, tmp_path):
    """Layer 0 names only wo: its qkv and ffn run draft although the default says full."""
    model, hw, stats = _base()
    model["draft_policy"] = {"default": {"qkv": "full", "wo": "full", "ffn": "full"}, "per_layer": {0: {"wo": "full"}}}
    model["n_layers"] = 1
    got = run_eval(capsys, tmp_path, model, hw, stats, [64])
    d = 64
    full, draft = hw["costs"]["analog_full"]["energy_pj_per_mac"], hw["costs"]["analog_draft"]["energy_pj_per_mac"]
    digital = 2 * 8 * 64 * 8 * 0.0004 + 8 * 64 * 0.00005 + 256 * 0.00002 + 64 * 0.0001
    draft_step = 3 * d * d * draft + d * d * full + 2 * d * 256 * draft + digital
    got_draft = got["points"][0]["breakdown"]["draft"]["energy_pj"] * 3.15 / 4
    assert got_draft == pytest.approx(draft_step, rel=1e-12)
    inherited = 3 * d * d * full + d * d * full + 2 * d * 256 * full + digital
    assert abs(got_draft - inherited) > 1


def test_default_input_files_and_table(capsys):
    assert main(["eval", SPEC, "--sweep", "l_prompt=64,128"]) == 0
    out = capsys.readouterr().out
    assert "=== l_prompt = 64 ===" in out and "=== l_prompt = 128 ===" in out
    assert "speculative" in out and "baseline" in out and "breakdown" in out
    assert "287.322" in out and "203.236" in out  # energy per token at L = 64
    assert note_of(out, "tokens_per_joule_l_prompt_exact: null") == (
        "the equation holds only at l_prompt = -9426416/25155 (≈ -374.733), outside [1, 1048576]")
    assert all(len(line) <= 120 for line in out.splitlines())


def test_single_point_without_sweep(capsys):
    assert main(["eval", SPEC, "--set", "l_prompt=256", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [p["l_prompt"] for p in doc["points"]] == [256]
    assert doc["points"][0]["speculative"]["energy_pj_per_token"] == pytest.approx(343.934780952381, rel=1e-9)


def test_csv_one_row_per_point(capsys):
    assert main(["eval", SPEC, "--sweep", "l_prompt=64,128,256", "--csv"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    header = lines[0].split(",")
    assert len(lines) == 4 and header[0] == "l_prompt"
    assert "speculative.energy_pj_per_token" in header and "area.total_mm2" in header
    row = dict(zip(header, lines[1].split(",")))
    assert float(row["speculative.energy_pj_per_token"]) == pytest.approx(287.32220952380953, rel=1e-12)


def test_inspect_closed_forms(capsys):
    from spattenc.driver import load
    from spattenc.run.inputs import bind
    from spattenc.ir.keys import Key
    from spattenc.middle.interp import symbolic_interpreter
    import sympy

    assert main(["inspect", SPEC]) == 0
    out = capsys.readouterr().out
    assert "speculative.energy_pj_per_token" in out and "baseline.latency_ns_per_token" in out
    assert "= 258*l_prompt/875 + 3523424/13125" in out  # energy per committed token, exact
    assert "= 9*l_prompt/50 + 460872/3125" in out  # baseline latency per token
    # The closed forms agree with the restatement at any L.
    c = load(SPEC)
    bound = bind(c.program, {}, SPEC)
    _, forms = symbolic_interpreter(c.plan, {"l_prompt": 128}, bound.values, ("l_prompt",))
    model, hw, stats = load_inputs(DATA)
    x = sympy.Symbol("l_prompt", real=True)
    for L in (1, 300, 8192):
        ref = reference_report(model, hw, stats, [L])["points"][0]
        for design in ("speculative", "baseline"):
            for m in ("energy_pj_per_token", "latency_ns_per_token"):
                value = float(forms[Key("metric", m, design)].subs(x, L))
                assert value == pytest.approx(ref[design][m], rel=1e-12)


def test_plots_against_l_prompt(tmp_path, capsys):
    from spattenc import cli
    from spattenc.present import plotset

    assert main(["eval", SPEC, "--sweep", "l_prompt=256,64,128", "--out", str(tmp_path), "--plots"]) == 0
    capsys.readouterr()
    assert (tmp_path / "sweep_cli_energy_pj_per_token.png").stat().st_size > 0
    assert "sweep_cli_energy_pj_per_token.png" in (tmp_path / "index.md").read_text()
    assert (tmp_path / "sweep_cli_tokens_per_joule_ratio.png").stat().st_size > 0
    assert not list(tmp_path.glob("hist_*"))  # deterministic: no histograms of single values
    assert json.loads((tmp_path / "results.json").read_text())["k"] == 4
    run = cli.Run(cli.build_parser().parse_args(["eval", SPEC, "--sweep", "l_prompt=256,64,128"]))
    entries, _ = plotset.sweep_plots(tmp_path / "again", "png", run, run.swept(quiet=True))
    plot = {f: p for f, _, p in entries}["sweep_cli_energy_pj_per_token.png"]
    assert list(plot.x) == [64, 128, 256]
    ref = reference_report(*load_inputs(DATA), [64, 128, 256])["points"]
    labels = [s.label for s in plot.series]
    assert labels == ["Speculative (K drafts + K+1 verifies per burst)", "Baseline (no speculation)"]
    for series, design in zip(plot.series, ("speculative", "baseline")):
        assert list(series.mean) == pytest.approx([p[design]["energy_pj_per_token"] for p in ref], rel=1e-9)


def test_plots_need_out(capsys):
    assert main(["eval", SPEC, "--plots", "--sweep", "l_prompt=1,2"]) == 2
    assert "--plots needs --out DIR" in capsys.readouterr().err


def test_sweep_values_are_checked(capsys):
    assert main(["eval", SPEC, "--sweep", "l_prompt=64,0"]) == 2
    assert "outside the declared range [1, 1048576]" in capsys.readouterr().err
    assert main(["eval", SPEC, "--sweep", "l_prompt=64.5"]) == 2
    assert "expected an integer" in capsys.readouterr().err


def test_grid_sweep_matches_the_restatement(capsys, tmp_path):
    """`--sweep l_prompt=START:STOP:NUM:log` (the sweep engine's grid form) gives the report's
    points at the grid's values, each matching the restated accounting."""
    model, hw, stats = load_inputs(DATA)
    assert main(["eval", SPEC, "--sweep", "l_prompt=1:8192:14:log", "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    lengths = [p["l_prompt"] for p in got["points"]]
    assert lengths == [2 ** i for i in range(14)]
    ref = reference_report(model, hw, stats, lengths)
    for gp, rp in zip(got["points"], ref["points"]):
        for part in ("speculative", "baseline"):
            for key, value in rp[part].items():
                assert gp[part][key] == pytest.approx(value, rel=1e-9), (gp["l_prompt"], part, key)


def test_html_report_with_inputs(tmp_path, capsys):
    """`spattenc report` binds --input like eval and shows the report block's tables."""
    model, hw, stats = load_inputs(DATA)
    stats = {"k": 2, "histogram": {"0": 1, "1": 1, "2": 2}}
    (tmp_path / "stats.json").write_text(json.dumps(stats))
    out = tmp_path / "rep"
    assert main(["report", SPEC, "--input", f"stats={tmp_path / 'stats.json'}", "--sweep", "l_prompt=64,128",
                 "--out", str(out)]) == 0
    capsys.readouterr()
    html = (out / "report.html").read_text()
    assert "<h2>Report</h2>" in html and '<th scope="col">l_prompt = 128</th>' in html
    # E[committed] = (1*1 + 2*1 + 3*2) / 4 = 2.25, E[wasted] = (2*1 + 1*1 + 0*2) / 4 = 0.75
    assert '<td>expected_committed_tokens</td><td class="num">2.25</td>' in html
    assert '<td>expected_wasted_verify_steps</td><td class="num">0.75</td>' in html
    ref = reference_report(model, hw, stats, [64])["points"][0]["speculative"]["energy_pj_per_token"]
    assert f"{ref:.6g}" in html
    assert main(["report", SPEC, "--input", "stat=x.json", "--out", str(out)]) == 2
    assert "has no input 'stat'; did you mean 'stats'?" in capsys.readouterr().err


def test_committed_closed_forms_are_exact():
    """generated/selfspec/closed_forms.md (kept fresh by test_generated) has the energy per
    committed token as an exact function of l_prompt."""
    text = (ROOT / "generated" / "selfspec" / "closed_forms.md").read_text()
    assert "= 258*l_prompt/875 + 3523424/13125" in text
