"""Differential testing on random specs (benchmarks/specgen.py, benchmarks/difftest.py):
300 generated specs through the numpy simulator and the reference interpreter on the same
draws, the closed forms, the fixed-point semantics against float, and 20 fixed-point
specs through the generated RTL on Icarus; every back end must agree.  The comparisons
can fail: a perturbed draw or golden word is caught."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
import difftest  # noqa: E402
import specgen  # noqa: E402
from spattenc.driver import front_end  # noqa: E402
from spattenc.run import loader  # noqa: E402
from test_rtl import needs_icarus  # noqa: E402

CHUNK = 50


@pytest.mark.parametrize("chunk", range(6))
def test_generated_specs_agree_on_every_back_end(chunk):
    tried: dict[str, int] = {}
    for seed in range(chunk * CHUNK, (chunk + 1) * CHUNK):
        g = specgen.generate(seed)
        for pair, (status, detail) in difftest.run_spec(g).items():
            assert status != "fail", f"spec {seed}: {detail}\n{g.text}"
            tried[pair] = tried.get(pair, 0) + 1
    # every comparison ran on a fair share of the specs
    assert tried["check"] == CHUNK
    assert tried["numpy sim vs interpreter"] >= CHUNK // 2
    assert tried["closed form vs numpy sim"] >= 5 and tried["fixed point vs float"] >= 5


def test_generator_covers_the_language():
    features = set()
    for seed in range(300):
        features |= specgen.generate(seed).features
    want = {"binomial", "bernoulli", "uniform", "normal", "integers", "categorical", "geometric",
            "sum", "mean", "count", "last", "first", "max_over", "min_over", "end", "parallel", "state",
            "def", "def_block", "enum", "enum_sum", "range_sum", "design_stage", "design_let", "compare",
            "compare_std", "loop", "table", "fixed", "sqrt", "log", "exp", "pow"}
    assert want <= features, want - features


DRAWN = """spec drawn
trials 4
fixed(frac_bits=24)
param q = 0.5 in [0, 1]
layers l in range(3) {
  random k ~ binomial(10, q)
  random u ~ uniform(0, 2)
  stage a = 1 + k + u
}
design d {
  schedule a
  metric total = last(end)
}
"""


def test_a_perturbed_draw_is_caught():
    c = front_end(DRAWN, "drawn.spt")
    sim = loader.simulator(c)
    params, trials, seed = difftest.point(c, 0), c.program.trials, c.program.seed
    difftest.sim_vs_interp(c, sim, params, trials, seed)  # agrees
    difftest.fixed_vs_float(c, sim, params, trials, seed)
    with pytest.raises(difftest.Mismatch, match="numpy sim vs interpreter"):
        difftest.sim_vs_interp(c, sim, params, trials, seed, perturb=True)
    with pytest.raises(difftest.Mismatch, match="fixed point vs float"):
        difftest.fixed_vs_float(c, sim, params, trials, seed, perturb=True)


def test_ulp_distance():
    assert difftest.ulps(1.0, 1.0) == 0 and difftest.ulps(float("nan"), float("nan")) == 0
    assert difftest.ulps(1.0, 1.0 + 2 ** -52) == 1
    assert difftest.ulps(-0.0, 0.0) == 0 and difftest.ulps(-(2 ** -1074), 2 ** -1074) == 2


def test_command_prints_the_table(capsys):
    code = difftest.main(["--specs", "6", "--seed", "2"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "back end pair" in out and "agreement: 100.00%" in out
    assert out.splitlines()[2].split()[:2] == ["check", "6"]


@pytest.mark.rtl
@needs_icarus
@pytest.mark.parametrize("chunk", range(2))
def test_generated_fixed_point_specs_agree_with_their_rtl(chunk):
    for seed in range(chunk * 10, (chunk + 1) * 10):
        g = specgen.generate(10_000 + seed, fixed=True)
        res = difftest.run_spec(g, rtl=True)
        assert res["rtl vs golden (icarus)"][0] == "pass", f"{res}\n{g.text}"
        for pair, (status, detail) in res.items():
            assert status != "fail", f"{detail}\n{g.text}"


@pytest.mark.rtl
@needs_icarus
def test_a_perturbed_golden_word_is_caught():
    g = specgen.generate(3, fixed=True)
    c = front_end(g.text, "g.spt")
    with tempfile.TemporaryDirectory() as tmp:
        difftest.rtl_vs_golden(c, Path(tmp) / "a")
        with pytest.raises(difftest.Mismatch, match="FAIL"):
            difftest.rtl_vs_golden(c, Path(tmp) / "b", perturb=True)
