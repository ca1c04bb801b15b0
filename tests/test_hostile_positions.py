"""Hostile strings in the string positions of the shipped specs' declarations that the
synthetic hostile spec lacks: input titles and their `from` paths, record titles, the
measured block's and the roofline's titles.  Each spec is compiled (every generated .py
parses), evaluated with plots and reported; nothing runs and the HTML shows the text
literally."""

from __future__ import annotations

import ast
import re
import shutil
from pathlib import Path

import markupsafe
import pytest

from spattenc import driver as compiler
from test_hostile_specs import HOSTILE, ROOT, _no_canaries, spt

# A sample of the hostile strings: each payload once (no CR, which ends a line in a file).
SAMPLE = [s for s in HOSTILE[::4] if "\r" not in s and "\x85" not in s and len(s) < 200]
STEP = 16
GROUPS = [SAMPLE[i:i + STEP] for i in range(0, len(SAMPLE), STEP)]


def _parse_generated(spec: Path) -> None:
    """Every generated Python file parses: sim.py, and fixed_sim.py and the cocotb test
    when the spec has a fixed-point form.  These are the .py files of `compile`
    (driver.outputs), rendered without its closed_forms.md, whose closed forms (the slow
    part, the same whatever the titles) `report` computes with the titles in any case."""
    compiled = compiler.load(spec)
    spec_path = compiler.display_path(compiled.path)
    command = compiler.command_for(spec_path)
    files = {"sim.py": compiler.render_sim(compiled.plan, spec_path, command)}
    if compiler.wants_fixed(compiled.program):
        fixed, err = compiler.fixed_outputs(compiled, spec_path, command)
        assert err is None, err
        files.update(fixed)
    py = [text for name, text in files.items() if name.endswith(".py")]
    assert ("fixed_sim.py" in files) == compiler.wants_fixed(compiled.program)
    for text in py:
        ast.parse(text)


def _check_page(page: str, strings: list[str]) -> None:
    for bad in ("<script>alert", "<img src=x", "<b>bold</b>", "\x00"):
        assert bad not in page
    for s in strings:
        if s.isprintable():
            assert str(markupsafe.escape(s)) in page, s


@pytest.mark.parametrize("group", range(len(GROUPS)))
def test_input_and_record_titles_and_input_paths(group, tmp_path, monkeypatch, cli):
    """selfspec with hostile input/record titles, and its default input files copied to a
    folder whose name is hostile where the file system allows it."""
    strings = GROUPS[group]
    text = (ROOT / "specs" / "selfspec.spt").read_text(encoding="utf-8")
    folder = re.sub(r"[/\x00\n]", "_", "".join(strings))[:100] or "x"
    data = tmp_path / folder
    data.mkdir()
    for f in ("model.yaml", "hardware.yaml", "stats.json"):
        shutil.copy(ROOT / "examples" / "selfspec" / f, data / f)
    titles = iter([" | ".join(strings)] * 4)  # every string in each of the four titles
    text = re.sub(r'^(input \w+) "[^"]*" from "\.\./examples/selfspec/([\w.]+)"',
                  lambda m: f"{m[1]} {spt(next(titles))} from {spt(folder + '/' + m[2])}", text, flags=re.M)
    text = re.sub(r'^(record \w+) "[^"]*"', lambda m: f"{m[1]} {spt(next(titles))}", text, flags=re.M)
    spec = tmp_path / "hostile_selfspec.spt"
    spec.write_text(text, encoding="utf-8", newline="")
    monkeypatch.chdir(tmp_path)
    _parse_generated(spec)
    r = cli("eval", str(spec), "--json")
    assert r.code == 0, r.err
    r = cli("report", str(spec), "--out", str(tmp_path / "rep"))
    assert r.code == 0, r.err
    # Long titles are shortened in the page, so only the absence of live markup is checked.
    _check_page((tmp_path / "rep" / "report.html").read_text(encoding="utf-8"), [])
    _no_canaries(tmp_path, ROOT)


@pytest.mark.parametrize("group", range(len(GROUPS)))
def test_measured_and_roofline_titles(group, tmp_path, monkeypatch, cli):
    """chunk_attention with hostile measured and roofline titles: eval --measured --plots
    and report."""
    strings = GROUPS[group]
    title = " | ".join(strings)
    text = (ROOT / "specs" / "chunk_attention.spt").read_text(encoding="utf-8")
    text = re.sub(r'^measured harness "[^"]*"', lambda m: f"measured harness {spt(title)}", text, flags=re.M)
    text = re.sub(r'^roofline "[^"]*"', lambda m: f"roofline {spt(title)}", text, flags=re.M)
    spec = tmp_path / "hostile_chunk.spt"
    spec.write_text(text, encoding="utf-8", newline="")
    monkeypatch.chdir(tmp_path)
    _parse_generated(spec)
    measured = str(ROOT / "examples" / "chunk_attention" / "sweep_native.csv")
    r = cli("eval", str(spec), "--measured", measured, "--plots", "--out", str(tmp_path / "o"))
    assert r.code == 0, r.err
    r = cli("report", str(spec), "--out", str(tmp_path / "rep"))
    assert r.code == 0, r.err
    _check_page((tmp_path / "rep" / "report.html").read_text(encoding="utf-8"), [])
    _no_canaries(tmp_path, ROOT)
