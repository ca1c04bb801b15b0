"""Hostile specs: spec text reaches generated files only through its target's escaping rule.

Over 200 hostile strings (quotes, backslashes, escape sequences, newlines, control and bidi
characters, template and Verilog syntax, HTML, 10,000 characters) are placed in every string
position of the language, a chunk of them per spec; each spec is compiled, every generated
Python file parsed, the RTL built with `iverilog -g2012` and its testbench run, sim.py and
fixed_sim.py run, and `eval` and `report` run.  Payloads try to write canary files: none
may appear.  Names that are Python or Verilog keywords, builtins or spellings of generated
names must give the numbers of the same spec under plain names.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jinja2
import markupsafe
import pytest
from jinja2 import nodes

from spattenc import driver as compiler
from spattenc.backends import naming
from spattenc.backends.templates_env import ESCAPING_FILTERS, environment, template_dir

ROOT = Path(__file__).resolve().parent.parent
CANARIES = ("pwned_title.txt", "pwned_doc.txt", "PWN", "pwn_v.txt", "pwned.txt")

needs_icarus = pytest.mark.skipif(shutil.which("iverilog") is None, reason="needs Icarus Verilog")

# ------------------------------------------------------------------ the hostile strings

_PAYLOADS = [
    '"', '""', '"""', "'", "'''", "\\", "\\\\", "a\\", "\\u0041", "\\x41", "\\N{BULLET}", "\\n", "\\0",
    "C:\\users\\me", 'the "fill"', "it's", 'x"""\nopen("pwned_title.txt", "w").write("pwned")\n"""',
    "\"\"\"; open('pwned_doc.txt', 'w').write('x'); \"\"\"", "\n__import__('os').system('touch PWN')\n#",
    "\n", "\n\n", "\r", "\r\n", "\x00", "\t", "\x0b", "\x0c", "\x1b[31mred\x1b[0m", "\x7f", "\x85",
    "\u202e", "\u2066x\u2069", "\u200f", "\u2028", "\u2029", "\ufeff", "\ud7ff", "🙂", "é", "中文",
    "{{ 7*7 }}", "{{", "}}", "{% for x in y %}", "{%", "%}", "{# c #}", "{{ cycler.__init__ }}",
    "*/", "/*", "//", "`define X 1", "`include \"x.v\"", "`timescale 1ns/1ps", "$system(\"touch PWN\")",
    "$finish;", "$fopen(\"pwn_v.txt\", \"w\")", "\nmodule pwn; initial begin $fopen(\"pwn_v.txt\", \"w\"); end endmodule\n//",
    "endmodule", "*/ endmodule /*", "</script><script>alert(1)</script>", "<img src=x onerror=alert(1)>",
    "&amp;", "&lt;", "<!-- x -->", "-->", "]]>", "<b>bold</b>", "$x$", "$", "$$", "$\\frac{$", "\\$",
    "%d %s %%", "%", "{}", "{0}", "{name}", "${HOME}", "$(touch PWN)", "`touch PWN`", "; rm -rf x",
    "#", "# x", "x\n#", "```", "````\n", "|a|b|", "[x](javascript:alert(1))", "*em*", "_u_",
    "\\\n", "' + '", "\" + \"", "\\'", "\\\"", "\"\"\"\"", "lambda", "import", "None",
    "A" * 10000,
]


def _variants(p: str) -> list[str]:
    return [p, "x" + p, p + "x", f"label {p} end"]


def hostile_strings() -> list[str]:
    """Every payload alone, prefixed, suffixed and inside text: distinct strings."""
    out: list[str] = []
    for p in _PAYLOADS:
        for v in _variants(p):
            if v not in out:
                out.append(v)
    return out


HOSTILE = hostile_strings()


def test_there_are_over_200_hostile_strings():
    assert len(HOSTILE) >= 200


def spt(s: str) -> str:
    """`s` as a .spt string literal (the language's escapes: \\\\, \\\" and \\n)."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


# ------------------------------------------------------------------ one spec per chunk of strings

def hostile_spec(strings: list[str], hw_path: str | None = None) -> str:
    """A spec with `strings` in every string position: the title, the designs', the
    sweep's and the cases' titles (all joined), the labels and units of metrics and
    comparisons (a quarter each, joined), and each string alone as a param's unit, label
    and doc, a stage's doc and unit, a case name; the first and the middle one, joined, as
    the hardware block's path."""
    joined = " | ".join(s[:200] for s in strings)
    k = len(strings)
    lines = [f"spec hostile {spt(joined)}", "fixed(frac_bits=16)"]
    for i, s in enumerate(strings):
        lines.append(f"param p{i} = 0.5 in [0, 1] unit {spt(s)} label {spt(s)} doc {spt(s)}")
    lines.append("param n: int = 2 in [1, 3]")
    lines.append("layers l in range(n) {")
    lines.append("  random r ~ binomial(n, p0)")
    for i, s in enumerate(strings):
        lines.append(f"  stage s{i} = 1 + p{i} + r doc {spt(s)} unit {spt(s)}")
    lines.append("}")
    lines.append(f"design d {spt(joined)} {{")
    lines.append("  schedule " + " -> ".join(f"s{i}" for i in range(k)))
    # Few metrics and comparisons (each one more table row and histogram), each labelled
    # with a quarter of the strings.
    quarters = [" ~ ".join(strings[j::4]) for j in range(min(4, k))]
    for j, q in enumerate(quarters):
        lines.append(f"  metric m{j} = sum(s{j}) label {spt(q)} unit {spt(q)}")
    lines.append("  metric total = last(end)")
    lines.append("}")
    lines.append(f"design e {spt(joined)} {{")
    lines.append("  schedule s0")
    lines.append("  metric total = last(end)")
    lines.append("}")
    for j, q in enumerate(quarters):
        lines.append(f"compare c{j} = mean(d.m{j}) - mean(e.total) label {spt(q)} unit {spt(q)}")
    lines.append(f"sweep sw {spt(joined)} {{")
    lines.append("  axis p0 = [0.25, 0.5]")
    lines.append("}")
    lines.append(f"cases cs {spt(joined)} {{")
    for i, s in enumerate(strings):
        lines.append(f"  case {spt(s)} {{ p0 = {0.25 + 0.5 * i / max(1, k)} }}")
    lines.append("}")
    path = hw_path if hw_path is not None else strings[0] + (strings[k // 2] if k > 1 else "")
    lines.append(f"hardware hw {spt(path)} checks d {{")
    lines.append("  input p0, n")
    lines.append("  output total = last(end)")
    lines.append("}")
    return "\n".join(lines) + "\n"


#: Strings per spec: 9 specs cover every string (a spec's cost hardly grows with its strings).
CHUNK = 48
CHUNKS = [HOSTILE[i:i + CHUNK] for i in range(0, len(HOSTILE), CHUNK)]


def _no_canaries(*folders: Path):
    for folder in folders:
        for name in CANARIES:
            assert not (folder / name).exists(), f"a payload ran: {folder / name} exists"


def _parse_python(folder: Path):
    py = sorted(folder.rglob("*.py"))
    assert py
    for f in py:
        ast.parse(f.read_text(encoding="utf-8"), filename=str(f))


def _build_rtl(rtl: Path):
    """iverilog -g2012 the testbench and model, and the harness with a stub of the DUT."""
    tb = subprocess.run(["iverilog", "-g2012", "-o", "tb.vvp", "hostile_tb.v", "hostile_model.v"], cwd=rtl,
                        capture_output=True, text=True)
    assert tb.returncode == 0, tb.stderr
    run = subprocess.run(["vvp", "-n", "tb.vvp"], cwd=rtl, capture_output=True, text=True, timeout=120)
    assert "PASS" in run.stdout, run.stdout + run.stderr
    stub = rtl / "stub.v"
    stub.write_text("module hw(input clk, input rst, input start, output done, output [31:0] layer,\n"
                    "  output layer_done, input signed [63:0] p0, input signed [63:0] n,\n"
                    "  output signed [63:0] total);\nendmodule\n")
    h = subprocess.run(["iverilog", "-g2012", "-o", "h.vvp", "hostile_harness.v", "hostile_model.v", "stub.v"],
                       cwd=rtl, capture_output=True, text=True)
    # Port widths of the stub may differ (a warning), never a syntax error in generated text.
    assert "syntax error" not in h.stderr and "Unknown module" not in h.stderr, h.stderr


@pytest.mark.parametrize("chunk", range(len(CHUNKS)))
def test_hostile_strings_in_every_position(chunk, tmp_path, monkeypatch, cli):
    """Compile, parse, build and run everything a chunk of hostile strings reaches."""
    strings = CHUNKS[chunk]
    source = hostile_spec(strings)
    monkeypatch.chdir(tmp_path)
    # In-process compile of the exact text (a raw CR survives here; a spec *file* reads
    # CR as a line end).
    compiled = compiler.front_end(source, "hostile.spt")
    files = compiler.outputs(compiled)
    out = tmp_path / "gen"
    compiler.write_tree(files, out)
    _parse_python(out)
    assert json.loads((out / "ir.json").read_text(encoding="utf-8"))["program"]
    md = (out / "closed_forms.md").read_text(encoding="utf-8")
    first, _, body = md.partition("\n\n")
    assert first.startswith("<!-- ") and first.count("-->") == 1 and first.endswith(" -->")
    fence = body.splitlines()[0]
    assert set(fence) == {"`"} and body.rstrip("\n").endswith(fence)
    assert all(len(run) < len(fence) for run in re.findall(r"`+", body[len(fence):-len(fence) - 1]))
    if shutil.which("iverilog"):
        _build_rtl(out / "rtl")
    for sim in ("sim.py", "fixed_sim.py"):
        p = subprocess.run([sys.executable, sim], cwd=out, capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, p.stderr[-2000:]
    _no_canaries(tmp_path, out, ROOT)


@pytest.mark.parametrize("chunk", range(len(CHUNKS)))
def test_hostile_strings_eval_and_report(chunk, tmp_path, monkeypatch, cli):
    """`eval`, `eval --cases` and `report` of a spec file: the HTML shows the text literally."""
    strings = [s for s in CHUNKS[chunk] if "\r" not in s and "\x85" not in s]  # a file's CR is a line end
    spec = tmp_path / "hostile.spt"
    spec.write_text(hostile_spec(strings), encoding="utf-8", newline="")
    monkeypatch.chdir(tmp_path)
    r = cli("eval", str(spec), "--trials", "4")
    assert r.code == 0, r.err
    r = cli("eval", str(spec), "--cases", "cs", "--trials", "2", "--json")
    assert r.code == 0, r.err
    json.loads(r.out)
    r = cli("report", str(spec), "--trials", "2", "--out", str(tmp_path / "rep"))
    assert r.code == 0, r.err
    page = (tmp_path / "rep" / "report.html").read_text(encoding="utf-8")
    for bad in ("<script>alert", "<img src=x", "<b>bold</b>", "\x00"):
        assert bad not in page
    for s in strings:
        if s.isprintable() and len(s) < 200:
            assert str(markupsafe.escape(s)) in page, s
    _no_canaries(tmp_path, ROOT)


# ------------------------------------------------------------------ the issue's reproductions

def _compile_text(tmp_path: Path, text: str, name: str = "x.spt") -> dict[str, str]:
    spec = tmp_path / name
    spec.write_text(text, encoding="utf-8")
    return compiler.outputs(compiler.load(spec))


_SMALL = """spec {name} {title}
param p = 0.5 in [0, 1]
layers l in range(2) {{
  stage s = 1 + p doc {doc}
}}
design d {{
  schedule s
  metric m = last(end)
}}
"""


def _small(title="\"t\"", doc="\"d\"", name="small") -> str:
    return _SMALL.format(name=name, title=title, doc=doc)


def test_title_triple_quote_runs_nothing(tmp_path, cli, monkeypatch):
    """The issue's title_exec: a title closing the docstring wrote a file on `eval`."""
    monkeypatch.chdir(tmp_path)
    title = spt("x\"\"\"\nopen('pwned_title.txt', 'w').write('pwned')\n\"\"\"")
    spec = tmp_path / "title_exec.spt"
    spec.write_text(_small(title=title, name="title_exec"), encoding="utf-8")
    r = cli("eval", str(spec), "--trials", "2")
    assert r.code == 0, r.err
    r = cli("compile", str(spec), "-o", str(tmp_path / "gen"))
    assert r.code == 0, r.err
    for f in (tmp_path / "gen" / "title_exec").rglob("*.py"):
        ast.parse(f.read_text(encoding="utf-8"))
    _no_canaries(tmp_path)


def test_doc_with_backslash_u_and_trailing_quote_parse(tmp_path):
    """`\\u` in a doc was a SyntaxError in sim.py; a doc ending in a quote closed it early."""
    for doc in ('"results in C:\\\\users\\\\me"', '"the \\"fill\\""'):
        files = _compile_text(tmp_path, _small(doc=doc))
        ast.parse(files["sim.py"])


@needs_icarus
def test_verilog_newline_in_title_stays_a_comment(tmp_path):
    """A title with a newline and a module ended the `//` comment in the generated model."""
    payload = "x\nmodule pwn; initial begin $fopen(\"pwn_v.txt\", \"w\"); $finish; end endmodule\n//"
    text = _small(title=spt(payload)).replace("param p = 0.5 in [0, 1]", "fixed(frac_bits=16)\nparam p = 0.5 in [0, 1]")
    files = _compile_text(tmp_path, text)
    model = files["rtl/small_model.v"]
    assert "module pwn" not in "\n".join(line.split("//")[0] for line in model.splitlines())
    rtl = tmp_path / "rtl"
    compiler.write_files(tmp_path, files)
    p = subprocess.run(["iverilog", "-g2012", "-o", "tb.vvp", "small_tb.v", "small_model.v"], cwd=rtl,
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    p = subprocess.run(["vvp", "-n", "tb.vvp"], cwd=rtl, capture_output=True, text=True)
    assert "PASS" in p.stdout
    _no_canaries(rtl, tmp_path)


_COLLIDE = """spec collide
fixed(frac_bits=20)
param p = 0.25 in [0, 1]
param q: int = 3 in [1, 8]
layers l in range(q) {{
  let {x} = q + l
  stage {a} = 1 + p * {x}
  stage b = 2 + {x}
}}
design {d} {{
  schedule {a} -> b
  let {y} = b * 2
  metric total = last(end)
  metric ys = sum({y})
  metric t0 = first({a}.start)
}}
"""


def _collide_values(tmp_path: Path, cli, **names) -> dict:
    spec = tmp_path / ("c_" + "_".join(names.values()) + ".spt")
    spec.write_text(_COLLIDE.format(**names), encoding="utf-8")
    r = cli("eval", str(spec), "--trials", "3", "--json")
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    d = next(iter(doc["designs"].values()))
    r2 = cli("eval", str(spec), "--trials", "3", "--json", "--numeric", "fixed")
    assert r2.code == 0, r2.err
    d2 = next(iter(json.loads(r2.out)["designs"].values()))
    return {k: v["mean"] for k, v in d.items()} | {"fixed_" + k: v["mean"] for k, v in d2.items()}


@pytest.mark.parametrize("names", [
    dict(x="a__t", a="s", d="a", y="y"),              # a let spelt like design a's layer start time
    dict(x="x", a="a__start", d="a", y="y"),          # a stage spelt like a start time
    dict(x="import", a="lambda", d="class", y="def"),  # Python keywords
    dict(x="np", a="c", d="R", y="math"),             # names the simulator uses for itself
    dict(x="reg", a="wire", d="module", y="input"),    # Verilog keywords
    dict(x="bytes", a="sim", d="run", y="range"),      # builtins and module functions
    dict(x="a__s", a="a__ix", d="a", y="s"),           # tags of generated composite names
    dict(x="_x", a="x_", d="_0a", y="fn_b"),          # underscores and generated prefixes
])
def test_colliding_names_give_the_numbers_of_plain_names(names, tmp_path, cli, monkeypatch):
    """Hand-computed: N layers (q=3), x = q + l, stage a = 1 + p*x, b = 2 + x; last(end) is
    the sum of both stages over the layers, ys = sum(2 b), t0 the first stage's start (0)."""
    monkeypatch.chdir(tmp_path)
    got = _collide_values(tmp_path, cli, **names)
    plain = _collide_values(tmp_path, cli, x="x", a="s", d="dd", y="y")
    xs = [3 + l for l in range(3)]
    total = sum(1 + 0.25 * x + 2 + x for x in xs)
    assert got["total"] == pytest.approx(total) and plain["total"] == pytest.approx(total)
    assert got["ys"] == pytest.approx(sum(2 * (2 + x) for x in xs))
    assert got["t0"] == 0
    assert got == plain


def test_issue_11_param_names_compile_and_evaluate(tmp_path, cli, monkeypatch):
    """Params named after the generated module's own names and keywords (issue 11)."""
    monkeypatch.chdir(tmp_path)
    names = "c np R math bytes sim run lambda module wire".split()
    lines = ["spec names", "fixed(frac_bits=20)"]
    lines += [f"param {n} = {i + 1} in [0, 20]" for i, n in enumerate(names)]
    lines += ["layers l in range(2) {", "  stage s = " + " + ".join(names), "}",
              "design d {", "  schedule s", "  metric total = last(end)", "}"]
    spec = tmp_path / "names.spt"
    spec.write_text("\n".join(lines) + "\n", encoding="utf-8")
    for numeric in ("float", "fixed"):
        r = cli("eval", str(spec), "--json", "--trials", "2", "--numeric", numeric)
        assert r.code == 0, r.err
        assert json.loads(r.out)["designs"]["d"]["total"]["mean"] == 2 * sum(range(1, 11))
    r = cli("eval", str(spec), "--json", "--trials", "2", "--set", "lambda=0")
    assert json.loads(r.out)["designs"]["d"]["total"]["mean"] == 2 * (sum(range(1, 11)) - 8)
    files = compiler.outputs(compiler.load(spec))
    for rel, text in files.items():
        if rel.endswith(".py"):
            ast.parse(text)


@pytest.mark.parametrize("name", [
    "x\n__import__(\"os\").system(\"touch PWN\")\n#.spt",
    "it's \"quoted\".spt",
    "back\\slash \u202e.spt",
    "*\\ `define x $(touch PWN).spt",
])
def test_hostile_file_names_reach_headers_escaped(name, tmp_path, cli, monkeypatch):
    """A spec file's name is text in every header: eval and compile run nothing."""
    monkeypatch.chdir(tmp_path)
    spec = tmp_path / name
    spec.write_text(_small(name="fname"), encoding="utf-8")
    r = cli("eval", str(spec), "--trials", "2")
    assert r.code == 0, r.err
    r = cli("compile", str(spec), "-o", str(tmp_path / "gen"))
    assert r.code == 0, r.err
    for f in (tmp_path / "gen" / "fname").rglob("*.py"):
        text = f.read_text(encoding="utf-8")
        ast.parse(text)
        assert text.splitlines()[0].startswith("# Generated by spattenc from ")
    _no_canaries(tmp_path)


def test_long_spec_names_make_bounded_file_names(tmp_path, cli):
    """A 300-character spec name gives file names far below 255 bytes, still unique."""
    name = "s" * 300
    spec = tmp_path / "long.spt"
    spec.write_text(_small(name=name).replace("param p", "fixed(frac_bits=16)\nparam p"), encoding="utf-8")
    r = cli("compile", str(spec), "-o", str(tmp_path / "gen"))
    assert r.code == 0, r.err
    paths = list((tmp_path / "gen").rglob("*"))
    assert paths and max(len(p.name.encode()) for p in paths) <= 130
    other = naming.file_stem("s" * 299 + "t")
    assert other != naming.file_stem(name) and len(other) <= naming.STEM_MAX
    r = cli("eval", str(spec), "--trials", "2")
    assert r.code == 0, r.err


def test_headers_do_not_depend_on_the_working_folder(tmp_path, monkeypatch):
    """compile from another folder writes byte-identical files (the path is taken from the
    project root, the folder holding pyproject.toml)."""
    proj = tmp_path / "proj"
    (proj / "specs").mkdir(parents=True)
    (proj / "pyproject.toml").write_text("")
    spec = proj / "specs" / "a.spt"
    spec.write_text(_small(name="a"), encoding="utf-8")
    monkeypatch.chdir(proj)
    one = compiler.outputs(compiler.load("specs/a.spt"))
    monkeypatch.chdir(tmp_path)
    two = compiler.outputs(compiler.load(str(spec)))
    assert one == two
    assert one["sim.py"].startswith("# Generated by spattenc from specs/a.spt ")


# ------------------------------------------------------------------ every template escapes

def _unescaped(template_source: str, env: jinja2.Environment, html: bool = False) -> list[str]:
    """The `{{ ... }}` of a template that print a value without an escaping filter (in an
    autoescaped HTML template: that are marked safe)."""
    tree = env.parse(template_source)
    if html:
        return [f"line {f.lineno}: |safe" for f in tree.find_all(nodes.Filter) if f.name == "safe"] + [
            f"line {m.lineno}: markup" for m in tree.find_all(nodes.MarkSafe)]
    macros = {m.name for m in tree.find_all(nodes.Macro)}
    bad = []
    for out in tree.find_all(nodes.Output):
        for e in out.nodes:
            if isinstance(e, nodes.TemplateData):
                continue
            if not _escaped(e, macros):
                bad.append(f"line {e.lineno}: {{{{ {_show(e)} }}}}")
    return bad


def _escaped(e: nodes.Expr, macros: set[str]) -> bool:
    """A constant, a constant choice, a call of one of the template's macros (their bodies
    are checked too), or a value whose last filter escapes."""
    match e:
        case nodes.Const():
            return True
        case nodes.CondExpr(expr1=a, expr2=b):
            return _escaped(a, macros) and (b is None or _escaped(b, macros))
        case nodes.Filter(name=name):
            return name in ESCAPING_FILTERS
        case nodes.Call(node=nodes.Name(name=name)):
            return name in macros
    return False


def _show(e: nodes.Expr) -> str:
    return type(e).__name__ + (f" {e.name}" if hasattr(e, "name") else "")


def test_every_template_escapes_every_interpolation():
    env = environment()
    bad = {}
    for path in sorted(template_dir().glob("*.j2")):
        found = _unescaped(path.read_text(encoding="utf-8"), env, html=path.name.endswith(".html.j2"))
        if found:
            bad[path.name] = found
    assert not bad, bad


def test_the_template_check_finds_raw_interpolations():
    """The walker above flags a raw value, a non-escaping filter and a raw join."""
    env = environment()
    assert _unescaped("x {{ title }} y", env)
    assert _unescaped("{{ title|upper }}", env)
    assert _unescaped("{{ names|join(', ') }}", env)
    assert not _unescaped("{{ title|py_str }} {{ 'k' }} {{ n|num }}", env)


@pytest.mark.parametrize("flt, value", [
    ("ident", "a b"), ("ident", "import"), ("ident", "x\n"), ("code", "np.x"), ("num", "1"), ("num", True),
    ("v_ident", "wire"), ("v_ident", "a-b"), ("name", "a\"b"), ("file", "a/b"), ("spaces", "\tx"),
])
def test_escaping_filters_refuse_what_they_cannot_escape(flt, value):
    env = environment()
    with pytest.raises((ValueError, TypeError)):
        env.from_string("{{ v|%s }}" % flt).render(v=value)


# ------------------------------------------------------------------ the escaping rules themselves

@pytest.mark.parametrize("s", HOSTILE)
def test_python_rules_round_trip(s):
    """A py_str literal evaluates back to the string; a py_comment stays on one line."""
    assert ast.literal_eval(naming.py_str(s)) == s
    line = "# " + naming.py_comment(s)
    assert len(line.splitlines()) == 1 and line.isprintable()
    assert ast.parse(line + "\nx = 1\n")


@pytest.mark.parametrize("s", HOSTILE)
def test_verilog_and_markdown_rules(s):
    """One ASCII line without comment delimiters or directives; Markdown comments intact."""
    c = naming.v_comment(s)
    assert c.isascii() and c.isprintable() and "*/" not in c and "/*" not in c and "`" not in c
    v = naming.v_str(s)
    assert v.isascii() and v.isprintable() and not re.search(r'(?<!\\)"', v.replace("\\\\", ""))
    m = naming.md_comment(s)
    assert "--" not in m and len(m.splitlines()) <= 1
    assert naming.plot_text(s).count("$") == naming.plot_text(s).count("\\$")


def test_identifier_mapping_is_injective():
    """Distinct names give distinct identifiers, none a keyword, none with `__`, and
    composites of distinct parts differ."""
    names = ["a", "a_", "_a", "a__t", "a_0_0t", "_0a", "import", "_0import", "np", "c", "fn_x", "t", "s",
             "given", "x_2", "A", "_", "__", "___", "a_b", "ab"]
    idents = [naming.py_ident(n) for n in names]
    assert len(set(idents)) == len(idents)
    assert all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", i) and "__" not in i for i in idents)
    import keyword

    assert not any(keyword.iskeyword(i) for i in idents)
    parts = [naming.py_part(n) for n in names]
    combos = {naming.py_join(a, b) for a in parts for b in parts}
    assert len(combos) == len(parts) ** 2
