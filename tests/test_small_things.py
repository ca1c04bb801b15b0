"""Things a user trips on: file permissions of results, a param set twice, fit's exit
status and bound notes, a terminal table that fits the terminal, did-you-mean hints,
a copied spec away from its input files, error locations quoted in the docs, and values
printed as the spec language spells them."""

from __future__ import annotations

import os
import re
import shlex
import stat
import subprocess
import sys

import pytest

from conftest import ROOT, SPEC

SPECS = ROOT / "specs"
NATIVE = ROOT / "examples" / "chunk_attention" / "sweep_native.csv"


@pytest.fixture
def umask():
    """Run with a given umask, restored afterwards."""
    old = os.umask(0o022)
    os.umask(old)

    def set_mask(mask: int) -> None:
        os.umask(mask)

    yield set_mask
    os.umask(old)


@pytest.mark.parametrize("mask", [0o027, 0o002])
def test_result_files_honour_the_umask(cli, tmp_path, umask, mask):
    """results.*, measured.* and report.html get 0o666 less the umask, like any new file
    (not mkstemp's 0600)."""
    umask(mask)
    want = 0o666 & ~mask
    assert cli("eval", str(SPEC), "--trials", "2", "--out", str(tmp_path / "e")).code == 0
    assert cli("eval", str(SPEC), "--trials", "2", "--sweep", "bandwidth", "--out", str(tmp_path / "s")).code == 0
    assert cli("eval", str(SPECS / "chunk_attention.spt"), "--measured", str(NATIVE), "--out",
               str(tmp_path / "m")).code == 0
    files = [tmp_path / "e" / "results.csv", tmp_path / "e" / "results.json", tmp_path / "s" / "results.csv",
             tmp_path / "s" / "results.json", tmp_path / "m" / "measured.csv", tmp_path / "m" / "measured.json"]
    for f in files:
        assert stat.S_IMODE(f.stat().st_mode) == want, (f.name, oct(f.stat().st_mode))


def test_a_param_set_twice_is_an_error_naming_both(cli):
    r = cli("eval", str(SPEC), "--set", "predictor_recall=0.9", "--set", "predictor_recall=0.8")
    assert r.code == 2 and r.out == ""
    assert ("error: --set predictor_recall=0.9 and --set predictor_recall=0.8: param 'predictor_recall' is set "
            "twice; give it once") in r.err
    # different params are fine
    assert cli("eval", str(SPEC), "--set", "predictor_recall=0.9", "--set", "predictor_precision=0.9",
               "--trials", "2").code == 0


def test_fit_at_the_iteration_limit_exits_1_and_says_so(cli):
    args = ("fit", str(SPECS / "chunk_attention.spt"), "--measured", str(NATIVE), "--params", "mem_eff,launch_us")
    r = cli(*args, "--max-iterations", "1")
    assert r.code == 1
    assert "stopped at the iteration limit (1) without converging" in r.out
    assert "error: stopped at the iteration limit (1) without converging" in r.err
    r = cli(*args, "--max-iterations", "1", "--json")
    assert r.code == 1 and '"converged": false' in r.out
    r = cli(*args)
    assert r.code == 0 and "converged" in r.out and "iteration limit" not in r.out + r.err


def test_fit_says_a_param_pinned_at_its_bound_is_at_its_bound(cli):
    """With a tenth of the H100's bandwidth the model is ~30x too slow; the memory
    efficiency would have to exceed 1 and the launch overhead go below 0: both stop at
    their declared bounds ([0.0001, 1] and [0, 10000]), and the output says so."""
    r = cli("fit", str(SPECS / "chunk_attention.spt"), "--measured", str(NATIVE), "--params", "mem_eff,launch_us",
            "--set", "mem_bw_gbps=100")
    assert r.code == 0, r.err
    rows = {line.split()[0]: line for line in r.out.splitlines() if line.startswith("  mem_eff") or
            line.startswith("  launch_us")}
    assert re.search(r"mem_eff +0\.117152 +1 +at its upper bound", rows["mem_eff"]), r.out
    assert re.search(r"launch_us +7\.82696 +0 +at its lower bound", rows["launch_us"]), r.out
    assert "not constrained" not in r.out


SWEEPS = [("cv_demo", "pr_coarse"), ("cv_demo", "bandwidth"), ("cv_demo", "scaling"),
          ("chunk_attention", "native"), ("chunk_attention", "tk"), ("spatten_cascade", "seq_len=128,256,512"),
          ("selfspec", "l_prompt=64,128,256")]  # its report's break-even note once ran to 131 columns


@pytest.mark.parametrize("spec,sweep", SWEEPS)
def test_terminal_sweep_table_fits_120_columns(cli, monkeypatch, spec, sweep):
    monkeypatch.delenv("COLUMNS", raising=False)
    r = cli("eval", str(SPECS / f"{spec}.spt"), "--sweep", sweep, "--trials", "2")
    assert r.code == 0, r.err
    too_wide = [line for line in r.out.splitlines() if len(line) > 120]
    assert not too_wide, too_wide[:3]


def test_terminal_sweep_table_has_units_and_lists_constants_once(cli, monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    r = cli("eval", str(SPEC), "--sweep", "bandwidth", "--trials", "4")
    lines = r.out.splitlines()
    names = lines[1].split()
    assert names[:2] == ["bandwidth_Gb_per_s", "improvement_pct"]
    assert lines[2].split()[:2] == ["(Gb/s)", "(%)"]
    # lookahead_finish_rate is a fraction shown x100: its unit is %
    assert any("lookahead.lookahead_finish_rate" in ln for ln in lines)
    assert "(fraction)" not in r.out
    # the baseline's DRAM traffic does not depend on bandwidth: one line, not a column
    assert "baseline.dram_mb = 10.90 MB" in r.out and "baseline.dram_mb " not in lines[1]
    # every point's comparison is there, with the CSV's value
    csv = cli("eval", str(SPEC), "--sweep", "bandwidth", "--trials", "4", "--csv").out.splitlines()
    col = csv[0].split(",").index("improvement_pct")
    for row in csv[1:]:
        value = float(row.split(",")[col])
        bw = format(float(row.split(",")[csv[0].split(",").index("bandwidth_Gb_per_s")]), "g")
        assert any(re.match(rf"\s*{bw}\s+{value:.2f}\s", ln) for ln in lines), (bw, value)


@pytest.mark.parametrize("spec,wrong,right", [("cv_demo", "lookahed", "lookahead"),
                                              ("spatten_trace", "spaten", "spatten"),
                                              ("selfspec", "speculatve", "speculative"),
                                              ("chunk_attention", "shard", "shared")])
def test_inspect_unknown_name_has_a_did_you_mean(cli, spec, wrong, right):
    r = cli("inspect", str(SPECS / f"{spec}.spt"), wrong)
    assert r.code == 2 and r.out == ""
    assert f"'{wrong}' is not a" in r.err and r.err.rstrip().endswith(f"did you mean '{right}'?")


def test_copied_spec_without_its_input_files_says_how_to_give_them(cli, tmp_path):
    copy = tmp_path / "selfspec.spt"
    copy.write_text((SPECS / "selfspec.spt").read_text())
    r = cli("eval", str(copy))
    assert r.code == 2
    first = r.err.splitlines()[0]
    assert first.startswith(f"{copy}:33:7: error: input 'model': its default file \"../examples/selfspec/model.yaml\"")
    assert first.endswith("does not exist; give the file with --input model=FILE")
    examples = ROOT / "examples" / "selfspec"
    r = cli("eval", str(copy), *(f"--input={n}={examples / f}" for n, f in
                                 (("model", "model.yaml"), ("hardware", "hardware.yaml"), ("stats", "stats.json"))))
    assert r.code == 0, r.err


def _documented_errors():
    """Every `$ spattenc ...` example in README.md and docs/ whose next line is a
    `FILE:LINE:COL: error:` message: (doc, command, that line)."""
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        lines = doc.read_text().splitlines()
        for i, line in enumerate(lines[:-1]):
            if line.startswith("$ spattenc ") and re.match(r"\S+:\d+:\d+: error: ", lines[i + 1]):
                yield doc.name, line[2:], lines[i + 1]


DOCUMENTED = list(_documented_errors())


def test_the_docs_quote_error_messages():
    assert len(DOCUMENTED) >= 2  # README's --set example and sweeps.md's --sweep example


@pytest.mark.parametrize("doc,command,message", DOCUMENTED, ids=[f"{d}:{m.split(': error')[0]}"
                                                                  for d, _, m in DOCUMENTED])
def test_documented_error_locations_are_what_spattenc_prints(doc, command, message):
    argv = shlex.split(command)[1:]
    p = subprocess.run([sys.executable, "-m", "spattenc", *argv], cwd=ROOT, capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == 2
    assert p.stderr.splitlines()[0] == message, f"{doc} quotes a message spattenc no longer prints"


def test_values_are_printed_as_the_spec_spells_them(cli):
    """A bool param prints true/false; a deterministic spec says its numbers are exact,
    not "over 1 trials"; a random spec run once says "1 trial"."""
    r = cli("eval", str(SPECS / "spatten_cascade.spt"), "--set", "generative=true")
    assert r.code == 0
    assert r.out.splitlines()[0] == "Params: generative=true"
    assert r.out.splitlines()[1] == "--- Results (exact: no random draws) ---"
    assert "True" not in r.out and "trials" not in r.out
    r = cli("eval", str(SPECS / "spatten_cascade.spt"), "--cases", "ablation")
    assert "(exact: no random draws) ---" in r.out.splitlines()[0] and "1 trials" not in r.out
    r = cli("eval", str(SPEC), "--trials", "1")
    assert r.out.splitlines()[0] == "--- Results (Mean ± Std over 1 trial) ---"
