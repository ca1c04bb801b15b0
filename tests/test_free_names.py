"""The words docs/language.md ("Reserved words") calls free work as names in every target:
a spec naming its params, per-layer values, stages, designs and metrics after language
words and Python and Verilog keywords compiles, evaluates in float and fixed point, and
its RTL builds and passes its testbench."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from spattenc import driver

#: Language words that are keywords only at the start of their statements or inside
#: their blocks, and words of the generated Python and Verilog.
FREE = ("spec trials seed param let def return layers in range state then else and or random stage design "
        "schedule metric compare unit label doc fmt scale gantt show from to sweep axis combine columns "
        "aggregate measured config observe roofline compute memory intensity throughput solve for enum record "
        "map per optional nonempty check report points where column rows group by loop while "
        "cases case fixed hardware checks limit configs max_cycles layer std linspace geomspace "
        "always initial endmodule integer logic lambda class None import").split()
# The per-layer values, stages, designs, metrics and the comparison below are named after
# Verilog keywords and language words: wire, begin, output, module, input, reg, assign.


def _spec() -> str:
    lines = ["spec free_names", "fixed(frac_bits=16)"]
    lines += [f"param {w} = {i % 7 + 1} in [0, 20]" for i, w in enumerate(FREE)]
    lines += ["layers layer_ in range(2) {", "  let module_ = 0", "  let wire = " + " + ".join(FREE),
              "  stage begin = wire + layer_", "}",
              "design output {", "  schedule begin", "  metric input = last(begin.end)", "  metric reg = sum(wire)", "}",
              "design module {", "  schedule begin", "  metric input = sum(begin)", "}",
              "compare assign = mean(output.input) - mean(module.input)"]
    return "\n".join(lines) + "\n"


def test_free_words_compile_evaluate_and_build(tmp_path, cli):
    """Per layer wire = the sum of the params (1, 2, ..., 7, 1, 2, ...); begin = wire + l."""
    spec = tmp_path / "free_names.spt"
    spec.write_text(_spec(), encoding="utf-8")
    wire = sum(i % 7 + 1 for i in range(len(FREE)))
    for numeric in ("float", "fixed"):
        r = cli("eval", str(spec), "--json", "--trials", "2", "--numeric", numeric)
        assert r.code == 0, r.err
        out = json.loads(r.out)
        assert out["designs"]["output"]["input"]["mean"] == 2 * wire + 1
        assert out["designs"]["output"]["reg"]["mean"] == 2 * wire
        assert out["designs"]["module"]["input"]["mean"] == 2 * wire + 1
        assert out["compare"]["assign"] == 0
    r = cli("inspect", str(spec))
    assert r.code == 0 and "no numeric value" not in r.out, r.err
    files = driver.outputs(driver.load(spec))
    driver.write_files(tmp_path / "gen", files)
    if shutil.which("iverilog") is None:
        pytest.skip("needs Icarus Verilog to build the RTL")
    rtl = tmp_path / "gen" / "rtl"
    p = subprocess.run(["iverilog", "-g2012", "-o", "tb.vvp", "free_names_tb.v", "free_names_model.v"], cwd=rtl,
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    p = subprocess.run(["vvp", "-n", "tb.vvp"], cwd=rtl, capture_output=True, text=True, timeout=120)
    assert "PASS" in p.stdout and "FAIL" not in p.stdout, p.stdout


@pytest.mark.parametrize("word", ["true", "false", "if", "not", "start", "end", "given", "max", "sum", "first",
                                  "max_over", "sqrt"])
def test_reserved_words_are_refused_as_names(tmp_path, cli, word):
    spec = tmp_path / "r.spt"
    spec.write_text(f"spec r\nlet {word} = 1\ndesign d {{ metric m = 1 }}\n", encoding="utf-8")
    r = cli("check", str(spec))
    assert r.code == 2 and f":2:5: error: '{word}' is a reserved name and cannot be defined" in r.err, r.err
