"""RTL checks on real simulators: `spattenc verify` on Icarus and Verilator, the generated
testbench alone, eval's fixed-point trials against the RTL, and the hand-written DUT
check catching a broken copy of the DUT and an edited spec."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import numpy as np
import pytest

from conftest import RTL_TIMEOUT, ROOT, SPEC, run_subprocess

from spattenc.driver import load
from spattenc.ir.errors import SpecError
from spattenc.run.loader import fixed_simulator
from spattenc.run.verify import Icarus, Verilator


def _available(sim) -> str | None:
    try:
        sim.check()
        return None
    except SpecError as e:
        return e.message


ICARUS_MISSING = _available(Icarus())
VERILATOR_MISSING = _available(Verilator())
needs_icarus = pytest.mark.skipif(ICARUS_MISSING is not None, reason=f"Icarus Verilog: {ICARUS_MISSING}")
needs_verilator = pytest.mark.skipif(VERILATOR_MISSING is not None, reason=f"Verilator: {VERILATOR_MISSING}")
DUT = ROOT / "hardware" / "spatten_lookahead.v"

# Every test here runs a simulator: `pytest -m rtl` selects them, `-m "not rtl"` leaves them out.
pytestmark = pytest.mark.rtl


def _assert_verify_passes(sim: str, vectors: int):
    r = run_subprocess("verify", "specs/cv_demo.spt", "--sim", sim, "--vectors", str(vectors), timeout=RTL_TIMEOUT)
    assert r.code == 0, r.out + r.err
    lines = r.out.splitlines()
    assert lines[0].startswith(f"verify cv_demo on {sim}")
    n = f"{vectors} golden vectors: PASS {vectors}/{vectors}"
    assert any(re.search(rf"testbench .*{n}", ln) for ln in lines), r.out
    n = f"{vectors} random vectors: PASS {vectors}/{vectors}"
    assert any(re.search(rf"model vs fixed_sim.py, {n}", ln) for ln in lines), r.out
    assert any(re.search(r"DUT spatten_lookahead \(hardware/spatten_lookahead.v\) vs design lookahead: "
                         r"PASS 200/200 configurations", ln) for ln in lines), r.out
    assert lines[-1] == "result: PASS (3 of 3 checks passed)"


@needs_icarus
def test_verify_icarus():
    # Icarus interprets: its vectors cost time (the golden vectors' values are also
    # checked by the fixed-point tests); the DUT check runs all 200 configurations.
    _assert_verify_passes("icarus", 300)


@needs_verilator
def test_verify_verilator():
    # Verilator's cost is its builds; its vectors are cheap: verify's default 1000.
    _assert_verify_passes("verilator", 1000)


@needs_icarus
def test_generated_testbench_alone(tmp_path):
    """generated/cv_demo/rtl/ as shipped: plain iverilog -g2012 + vvp, no Python."""
    rtl = ROOT / "generated" / "cv_demo" / "rtl"
    for f in ("cv_demo_tb.v", "cv_demo_model.v", "cv_demo_vectors.hex"):
        shutil.copy(rtl / f, tmp_path / f)
    subprocess.run(["iverilog", "-g2012", "-o", "tb.vvp", "cv_demo_tb.v", "cv_demo_model.v"], cwd=tmp_path,
                   check=True, capture_output=True)
    p = subprocess.run(["vvp", "-n", "tb.vvp"], cwd=tmp_path, capture_output=True, text=True)
    assert p.returncode == 0
    assert "PASS 32/32" in p.stdout


def _run_tb(tmp_path, vectors_text: str) -> subprocess.CompletedProcess:
    rtl = ROOT / "generated" / "cv_demo" / "rtl"
    (tmp_path / "v.hex").write_text(vectors_text)
    if not (tmp_path / "tb.vvp").exists():
        subprocess.run(["iverilog", "-g2012", "-o", str(tmp_path / "tb.vvp"), str(rtl / "cv_demo_tb.v"),
                        str(rtl / "cv_demo_model.v")], check=True, capture_output=True)
    return subprocess.run(["vvp", "-n", str(tmp_path / "tb.vvp"), f"+vectors={tmp_path / 'v.hex'}"],
                          capture_output=True, text=True)


@needs_icarus
def test_eval_fixed_agrees_with_rtl_on_every_trial(cli, tmp_path):
    """`eval --numeric fixed --rng legacy --trials 50 --seed 42 --json`: the RTL model,
    fed each trial's draws, reproduces every metric of every trial, and the printed
    statistics are those of these per-trial values."""
    r = cli("eval", str(SPEC), "--numeric", "fixed", "--rng", "legacy", "--trials", "50", "--seed", "42", "--json")
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    sim = fixed_simulator(load(SPEC))
    vectors = sim.trial_vectors(None, 50, 42, "legacy")
    p = _run_tb(tmp_path, sim.format_vectors(vectors))
    assert "PASS 50/50" in p.stdout, p.stdout
    for design, metrics in doc["designs"].items():
        for metric, stats in metrics.items():
            kind = sim.METRICS[design][metric][0]
            values = np.array([v["metrics"][design][metric] / (2**32 if kind == "fix" else 1) for v in vectors])
            assert stats["mean"] == pytest.approx(values.mean(), rel=1e-12)
            assert stats["min"] == values.min() and stats["max"] == values.max()
            assert stats["std"] == pytest.approx(values.std(), rel=1e-9, abs=1e-12)
    # The check can fail: one metric of one trial off by one unit is reported and stops the run.
    vectors[7]["metrics"]["lookahead"]["avg_hidden_cycles"] += 1
    p = _run_tb(tmp_path, sim.format_vectors(vectors))
    assert p.returncode != 0
    expected = vectors[7]["metrics"]["lookahead"]["avg_hidden_cycles"]
    assert (f"FAIL vector 7 field lookahead.avg_hidden_cycles: expected {expected}, actual {expected - 1}"
            in p.stdout), p.stdout
    assert "PASS" not in p.stdout


def _verify(*args) -> tuple[int, str]:
    r = run_subprocess("verify", *args, timeout=RTL_TIMEOUT)
    return r.code, r.out + r.err


@needs_icarus
def test_off_by_one_dut_is_caught(tmp_path, cli, monkeypatch):
    """A copy of the DUT whose fetch timer runs one cycle too long fails the check
    (in-process: test_verify_icarus runs verify from a fresh interpreter)."""
    text = DUT.read_text()
    assert text.count("FETCH: if (left == 1) begin") == 1
    broken = tmp_path / "spatten_lookahead.v"
    broken.write_text(text.replace("FETCH: if (left == 1) begin", "FETCH: if (left == 0) begin"))
    monkeypatch.chdir(ROOT)
    r = cli("verify", "specs/cv_demo.spt", "--vectors", "20", "--dut", str(broken))
    code, out = r.code, r.out + r.err
    assert code == 1, out
    assert "model vs fixed_sim.py, 20 random vectors: PASS 20/20" in out
    assert f"DUT spatten_lookahead ({broken}) vs design lookahead: FAIL" in out
    assert "disagrees with spec cv_demo, design lookahead:" in out
    # Every layer's fetch is one cycle longer: the total differs by exactly the layer count.
    diffs = re.findall(r"configuration \d+: num_layers=(\d+),.*\n.*\n\s+total_cycles: spec (\d+), DUT (\d+)", out)
    assert diffs, out
    for layers, spec, dut in diffs:
        assert int(dut) - int(spec) == int(layers)
    assert out.rstrip().endswith("result: FAIL (2 of 3 checks passed)")


@needs_icarus
def test_edited_stage_formula_is_reported(tmp_path):
    """A copy of cv_demo whose AV stage costs twice as much: the unchanged DUT disagrees
    with it (exit 1), and the generated model still agrees with its own spec."""
    text = SPEC.read_text()
    old = "stage av = compute(av_mult_factor, N^2 * H, N, H)"
    assert text.count(old) == 1
    edited = tmp_path / "cv_demo.spt"
    edited.write_text(text.replace(old, "stage av = compute(2 * av_mult_factor, N^2 * H, N, H)"))
    code, out = _verify(str(edited), "--vectors", "20")
    assert code == 1, out
    assert "PASS 20/20" in out  # testbench and model: the RTL follows the edited spec
    assert "DUT spatten_lookahead (hardware/spatten_lookahead.v) vs design lookahead: FAIL" in out
    assert re.search(r"total_cycles: spec \d+, DUT \d+", out)
    assert re.search(r"hidden_cycles\[layer \d+\]: spec \d+, DUT \d+", out)
    # The committed tree was not touched by the copy.
    assert "2 * av_mult_factor" not in (ROOT / "generated" / "cv_demo" / "fixed_sim.py").read_text()


@needs_icarus
def test_keywords_are_escaped(tmp_path, cli):
    """Spec names that are Verilog keywords become legal identifiers; the testbench passes."""
    spec = tmp_path / "kw.spt"
    spec.write_text("""spec kw
fixed(frac_bits=32)
param reg: int = 3 in [1, 9]
param wire = 0.25 in [0, 1]
layers always in range(reg) {
  state begin: int = reg then begin + 1
  random output ~ binomial(begin, wire)
  let module = begin * wire + output
  stage end_ = max(1, module)
}
design assign {
  schedule end_
  let logic = end_ * 2
  metric input = sum(logic)
  metric final = last(end)
}
""")
    r = cli("compile", str(spec), "-o", str(tmp_path / "gen"))
    assert r.code == 0, r.err
    rtl = tmp_path / "gen" / "kw" / "rtl"
    model = (rtl / "kw_model.v").read_text()
    for name in ("begin_", "module_", "output_", "assign__logic"):
        assert re.search(rf"\b{name}\b", model), name
    assert re.search(r"input  wire signed \[\d+:0\] p_reg,", model)
    subprocess.run(["iverilog", "-g2012", "-o", "tb.vvp", "kw_tb.v", "kw_model.v"], cwd=rtl, check=True,
                   capture_output=True)
    p = subprocess.run(["vvp", "-n", "tb.vvp"], cwd=rtl, capture_output=True, text=True)
    assert "PASS 32/32" in p.stdout, p.stdout


@needs_verilator
def test_generated_model_and_dut_are_lint_clean():
    """`verilator --lint-only -Wall` has nothing to say about the model or the DUT."""
    sim = Verilator()
    sim.check()
    from spattenc.run.verify import _environ

    for path in (ROOT / "generated" / "cv_demo" / "rtl" / "cv_demo_model.v", DUT):
        with _environ(sim.env()):
            p = subprocess.run(["verilator", "--lint-only", "-Wall", str(path)], capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
        assert "%Warning" not in p.stderr and "%Error" not in p.stderr, p.stderr


def _without_cocotb(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name.split(".")[0] in ("cocotb", "cocotb_tools") else real(name, *a))


@needs_icarus
def test_verify_without_cocotb_runs_the_testbench_alone(monkeypatch, capsys):
    """Without cocotb installed, verify still runs the testbench (it needs only iverilog)
    and says the cocotb checks were skipped and how to get them."""
    _without_cocotb(monkeypatch)
    from spattenc import cli

    assert cli.main(["verify", str(SPEC), "--vectors", "5"]) == 0
    out = capsys.readouterr().out
    assert "testbench   cv_demo_tb.v, 5 golden vectors: PASS 5/5" in out
    assert "model vs fixed_sim.py" not in out and "DUT spatten_lookahead (" not in out
    assert re.search(r"cocotb +skipped: cocotb is not installed \(pip install 'spattenc\[test\]'", out), out
    assert out.rstrip().splitlines()[-1] == "result: PASS (1 of 1 checks passed; 1 skipped)"


@needs_icarus
def test_verify_outside_the_repository_skips_the_missing_dut(tmp_path):
    """A copy of cv_demo in a folder without hardware/: the testbench and the model check
    run; the DUT check is skipped with a note naming the file and --dut."""
    # Fewer DUT configurations than the shipped 200 (test_verify_icarus runs those): here
    # only whether the DUT check is skipped, then run, matters.
    text = SPEC.read_text()
    assert text.count("  configs 200\n") == 1
    (tmp_path / "cv_demo.spt").write_text(text.replace("  configs 200\n", "  configs 20\n"))
    r = run_subprocess("verify", "cv_demo.spt", "--vectors", "10", cwd=tmp_path, timeout=RTL_TIMEOUT)
    assert r.code == 0, r.out + r.err
    assert "testbench   cv_demo_tb.v, 10 golden vectors: PASS 10/10" in r.out
    assert "model vs fixed_sim.py, 10 random vectors: PASS 10/10" in r.out
    assert ("DUT         spatten_lookahead skipped: its RTL file 'hardware/spatten_lookahead.v' is not in the "
            "current folder, the spec's folder or any folder above it; give it with --dut spatten_lookahead=FILE"
            in r.out), r.out
    assert r.out.rstrip().splitlines()[-1] == "result: PASS (2 of 2 checks passed; 1 skipped)"
    # --dut names the file: the check runs again, and passes.
    r = run_subprocess("verify", "cv_demo.spt", "--vectors", "10", "--dut", str(DUT), cwd=tmp_path,
                       timeout=RTL_TIMEOUT)
    assert r.code == 0 and r.out.rstrip().endswith("result: PASS (3 of 3 checks passed)"), r.out + r.err
    assert "vs design lookahead: PASS 20/20 configurations" in r.out, r.out


class _Recorder:
    """A stdout that keeps what has been flushed, so a test can see what a reader of a
    file or pipe had at a given moment."""

    def __init__(self):
        self.written, self.flushed = "", ""

    def write(self, text):
        self.written += text
        return len(text)

    def flush(self):
        self.flushed = self.written

    def isatty(self):
        return False


@needs_icarus
def test_verify_prints_each_step_before_running_it(monkeypatch):
    """With stdout not a terminal, each line is flushed as it is known: when a simulator
    command starts, the lines saying what runs are already out, and the testbench's
    result is out before cocotb starts."""
    from spattenc import cli
    from spattenc.run import verify

    out = _Recorder()
    seen: list[str] = []
    real_run = verify._run

    def run(cmd, cwd, log, timeout=3600):
        seen.append(out.flushed)
        return real_run(cmd, cwd, log, timeout)

    real_cocotb = verify._cocotb

    def cocotb(*a, **k):
        seen.append(out.flushed)
        return real_cocotb(*a, **k)

    monkeypatch.setattr(verify, "_run", run)
    monkeypatch.setattr(verify, "_cocotb", cocotb)
    monkeypatch.setattr("sys.stdout", out)
    assert cli.main(["verify", str(SPEC), "--vectors", "5"]) == 0
    first, at_cocotb = seen[0], seen[-1]
    assert first.startswith("verify cv_demo on icarus") and "testbench: 5 golden vectors on icarus" in first
    assert "PASS 5/5" in at_cocotb and "cocotb: building the harness" in at_cocotb
    assert out.flushed == out.written and out.written.rstrip().endswith("result: PASS (3 of 3 checks passed)")


@needs_icarus
def test_verify_a_spec_without_a_fixed_declaration(tmp_path):
    """A spec with no `fixed(...)` gets no rtl/ from compile; verify builds its RTL in the
    cache instead of a generated/ folder in the working directory, and passes."""
    (tmp_path / "nofix.spt").write_text(
        "spec nofix\nparam n: int = 4 in [1, 20]\nparam p = 0.5 in [0, 1]\nlayers l in range(3) {\n"
        "  random k ~ binomial(n, p)\n  stage s = k + 1\n}\ndesign d {\n  schedule s\n  metric m = sum(s)\n}\n")
    r = run_subprocess("verify", "nofix.spt", "--vectors", "10", cwd=tmp_path, timeout=RTL_TIMEOUT)
    assert r.code == 0, r.out + r.err
    assert "testbench   nofix_tb.v, 10 golden vectors: PASS 10/10" in r.out
    assert r.out.rstrip().endswith("result: PASS (2 of 2 checks passed)")
    assert not (tmp_path / "generated").exists()
