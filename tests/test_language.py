"""Language features beyond cv_demo, each checked against figures computed by hand."""

from __future__ import annotations

import json

import pytest


def write(tmp_path, text: str, name: str = "t.spt"):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


ROOFLINE = """
spec roof "a spec without per-layer structure"
param n: int = 4 in [1, 100]
param peak = 10.0
let flops = 2 * n ^ 2
design d {
  stage compute = flops / peak
  stage mem = n * 3.0
  schedule compute | mem
  metric latency = end
  metric fl = flops
  metric c = compute
  metric c_end = compute.end
}
"""


@pytest.mark.parametrize("n, latency", [(4, 12.0), (20, 80.0)])
def test_spec_without_layers_reads_values_directly(cli, tmp_path, n, latency):
    """No layers block: one evaluation; metrics read stages and times directly.
    n=4: compute = 32/10 = 3.2, mem = 12 -> 12; n=20: compute = 80, mem = 60 -> 80."""
    r = cli("eval", write(tmp_path, ROOFLINE), "--set", f"n={n}", "--json")
    assert r.code == 0, r.err
    d = json.loads(r.out)["designs"]["d"]
    assert d["latency"]["mean"] == latency
    assert d["fl"]["mean"] == 2 * n * n
    assert d["c"]["mean"] == pytest.approx(2 * n * n / 10.0, rel=1e-15)
    assert d["c_end"]["mean"] == d["c"]["mean"]
    assert d["latency"]["std"] == 0.0


def test_spec_without_layers_inspect(cli, tmp_path):
    r = cli("inspect", write(tmp_path, ROOFLINE))
    assert r.code == 0, r.err
    assert "time = Max(d.compute, d.mem)" in r.out
    assert "= Max(3.0*n, flops/peak)" in r.out or "= Max(flops/peak, 3.0*n)" in r.out


def test_metric_outside_reduction_is_an_error_with_layers(cli, tmp_path):
    text = ROOFLINE.replace("design d {", "layers l in range(2) { let x = 1 }\ndesign d {")
    r = cli("check", write(tmp_path, text))
    assert r.code == 2
    assert "'end' is a per-layer time; use it inside a reduction such as last(end)" in r.err
