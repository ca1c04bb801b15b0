"""Generated Python a person can read: every generated .py file parses, has no line over
100 characters, writes every string literal in double quotes, and its `simulate` assigns
no variable that nothing reads.  Checked on the committed files of the shipped specs and
on specs written here to stress the layout (60-character names, deep nesting, many
arguments, values nothing reads); the checks themselves are shown to fail on bad code."""

from __future__ import annotations

import ast
import importlib.util
import io
import sys
import tokenize
from pathlib import Path

import numpy as np
import pytest

from spattenc import driver as compiler
from spattenc.backends.layout import WIDTH, wrap_python

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = sorted(p for p in (ROOT / "generated").rglob("*.py"))

# ------------------------------------------------------------------ the checks


def long_lines(text: str) -> list[int]:
    """Line numbers of lines longer than WIDTH."""
    return [i for i, line in enumerate(text.split("\n"), 1) if len(line) > WIDTH]


def string_quotes(text: str) -> set[str]:
    """The quote characters string literals open with (f-strings included)."""
    quotes = set()
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type == tokenize.STRING or tok.type == getattr(tokenize, "FSTRING_START", -1):
            quotes.add(tok.string.lstrip("rRbBuUfF")[0])
    return quotes


_SCOPES = (ast.For, ast.AsyncFor, ast.While, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def unused_assignments(fn: ast.FunctionDef) -> list[tuple[str, int]]:
    """(name, line) of each variable `fn` assigns that is never read afterwards: no load of
    the name comes after the assigning statement (and before a later assignment of the
    name in the same block replaces the value), and none is inside a loop (or
    comprehension) around it, where a later iteration could read it."""
    parents = {child: node for node in ast.walk(fn) for child in ast.iter_child_nodes(node)}
    loads = [(n.id, (n.lineno, n.col_offset)) for n in ast.walk(fn)
             if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)]
    out = []
    for store in ast.walk(fn):
        if not (isinstance(store, ast.Name) and isinstance(store.ctx, ast.Store)):
            continue
        stmt, loops, node = None, [], store
        while node in parents:
            node = parents[node]
            if isinstance(node, _SCOPES):
                loops.append(node)
            if stmt is None and isinstance(node, ast.stmt):
                stmt = node
        # A loop variable is read in the body: "after" is the end of the loop's header.
        end = stmt.iter if isinstance(stmt, (ast.For, ast.AsyncFor)) else stmt
        after = (end.end_lineno, end.end_col_offset)
        until = (sys.maxsize, 0)
        block = next((b for b in (getattr(parents[stmt], f, None) for f in ("body", "orelse", "finalbody"))
                      if isinstance(b, list) and stmt in b), [])
        for later in block[block.index(stmt) + 1:] if stmt in block else []:
            if isinstance(later, ast.Assign) and any(isinstance(t, ast.Name) and t.id == store.id
                                                     for t in later.targets):
                until = (later.end_lineno, later.end_col_offset)  # its right side still reads
                break

        def inside(pos, lp):
            return (lp.lineno, lp.col_offset) <= pos <= (lp.end_lineno, lp.end_col_offset)

        if not any(name == store.id and (after < pos <= until or any(inside(pos, lp) for lp in loops))
                   for name, pos in loads):
            out.append((store.id, store.lineno))
    return out


def problems(name: str, text: str) -> list[str]:
    """Every readability problem of one generated Python file."""
    try:
        tree = ast.parse(text)
    except SyntaxError as e:
        return [f"{name}: does not parse: {e}"]
    out = [f"{name}:{n}: line of {len(text.split(chr(10))[n - 1])} characters" for n in long_lines(text)]
    quotes = string_quotes(text)
    if quotes - {'"'}:
        out.append(f"{name}: string literals quoted with {sorted(quotes)}")
    for fn in tree.body:
        if isinstance(fn, ast.FunctionDef) and fn.name == "simulate":
            out += [f"{name}:{line}: `{var}` is assigned and never read" for var, line in unused_assignments(fn)]
    return out


# ------------------------------------------------------------------ the checks can fail

_BAD = '''
def simulate(params, trials):
    x = 1
    total = 0
    for i in range(trials):
        total = total + i
        last = i
    carried = 0
    for i in range(3):
        y = carried
        carried = y + i
    squares = [k * k for k in range(trials)]
    a, unused_b = divmod(trials, 2)
    x = 2
    return total, squares, a, x, carried
'''


def test_unused_assignment_check_finds_dead_stores_and_not_loop_carried_ones():
    fn = ast.parse(_BAD).body[0]
    assert sorted(unused_assignments(fn), key=lambda x: x[1]) == [("x", 3), ("last", 7), ("unused_b", 13)]


def test_problems_are_reported():
    text = "def simulate(c):\n    v = 'single'\n    w = v + " + "1 + " * 30 + "1\n    return v\n"
    found = problems("bad.py", text)
    assert any("line of" in p for p in found)
    assert any("quoted with" in p for p in found)
    assert any("`w` is assigned and never read" in p for p in found)
    assert problems("bad.py", "x = (\n") == ["bad.py: does not parse: '(' was never closed (<unknown>, line 1)"]


# ------------------------------------------------------------------ the shipped specs


@pytest.mark.parametrize("path", SHIPPED, ids=[p.relative_to(ROOT / "generated").as_posix() for p in SHIPPED])
def test_committed_generated_python_is_readable(path: Path):
    assert not problems(path.name, path.read_text(encoding="utf-8"))


def test_every_shipped_spec_has_generated_python():
    specs = {p.stem for p in (ROOT / "specs").glob("*.spt")}
    assert {p.relative_to(ROOT / "generated").parts[0] for p in SHIPPED} == specs


@pytest.mark.parametrize("path", SHIPPED, ids=[p.relative_to(ROOT / "generated").as_posix() for p in SHIPPED])
def test_layout_changes_lines_not_programs(path: Path):
    """Laying a file out again, narrower, gives the same program (the same AST)."""
    text = path.read_text(encoding="utf-8")
    narrow = wrap_python(text, width=60)
    assert ast.dump(ast.parse(narrow)) == ast.dump(ast.parse(text))
    assert wrap_python(text) == text  # already laid out: unchanged


# ------------------------------------------------------------------ specs written here


def _n(base: str) -> str:
    """A name of 60 characters starting with `base`."""
    return (base + "_" + "long" * 20)[:60].rstrip("_")[:60].ljust(60, "x")


P, Q, R_ = _n("param_alpha"), _n("param_beta"), _n("param_gamma")
FN, ST1, ST2, DRAW, LET, DEAD, DS1, DS2, MET = (
    _n("func_cost"), _n("stage_load"), _n("stage_compute"), _n("hits"), _n("kept"), _n("dead_value"),
    _n("design_serial"), _n("design_overlap"), _n("metric_total"))

LONG_NAMES = f'''
spec long_names "A spec whose every name has 60 characters, to stress the layout of generated code"
trials 4
seed 1
fixed(frac_bits=16, stage_cycles=ceil)

param {P}: int = 8 in [1, 64] doc "{'a documentation string that goes on and on ' * 4}"
param {Q} = 0.5 in [0, 1] unit "fraction of something with a long unit name"
param {R_} = 2.0 in [0, 100]

def {FN}(a, b) = if a <= 0 or b <= 0 then 1 else max(1, min(1e6, a * b + {R_} * a - b / 2))

layers l in range({P}) {{
  state N: int = 16 then max(1, N - 1)
  random {DRAW} ~ binomial(N, {Q}) doc "draws with a long name"
  let {LET} = min({DRAW} * 2, N)
  let {DEAD} = {LET} * {R_}
  stage {ST1} = {FN}(N, {LET})
  stage {ST2} = {FN}({LET}, N) + {FN}(N, N)
}}

design {DS1} "Serial with a long title, long enough to need its own line in the table" {{
  schedule {ST1} -> {ST2}
  metric {MET} = last(end) label "a label"
}}

design {DS2} "Overlap" {{
  schedule ({ST1} | {ST2})
  metric {MET} = last(end)
}}
'''


def _nested(depth: int) -> str:
    e = "x"
    for i in range(depth):
        e = f"max({e} * 1.5 + {i}, min(y, {e} - {i}))" if i % 4 == 0 else f"({e} + y * {i} - z / {i + 1})"
    return e


ARGS = [f"argument_number_{i:02d}" for i in range(16)]
NESTED = f'''
spec nested "Deeply nested expressions and many arguments"
trials 3
seed 2

param x = 1.0 in [0, 10]
param y = 2.0 in [0, 10]
param z = 3.0 in [0, 10]
param n: int = 4 in [1, 8]

def many({", ".join(ARGS)}) = {" + ".join(f"{a} * {i + 1}" for i, a in enumerate(ARGS))}

let deep = {_nested(12)}

layers l in range(n) {{
  let unused_here = deep * 2
  random coin ~ bernoulli(0.5) doc "a draw nothing reads: it still runs"
  let wide = many({", ".join(f"deep + x * {i}" for i in range(16))})
  stage work = if wide > 0 then wide / (1 + x) else 1
}}

design only "Only" {{
  schedule work
  metric total = last(end)
  metric mean_work = mean(work)
}}
'''

WRITTEN = {"long_names": LONG_NAMES, "nested": NESTED}


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> dict[str, dict[str, str]]:
    out = {}
    for name, text in WRITTEN.items():
        folder = tmp_path_factory.mktemp(name)
        spec = folder / f"{name}.spt"
        spec.write_text(text, encoding="utf-8")
        files = compiler.outputs(compiler.load(spec))
        compiler.write_tree(files, folder / "out")
        out[name] = {k: v for k, v in files.items() if k.endswith(".py")} | {"_folder": str(folder / "out")}
    return out


@pytest.mark.parametrize("name", sorted(WRITTEN))
def test_written_spec_generated_python_is_readable(written, name):
    files = {k: v for k, v in written[name].items() if k != "_folder"}
    assert "sim.py" in files
    if name == "long_names":
        assert {"fixed_sim.py", "rtl/test_long_names.py"} <= set(files)
    found = [p for path, text in sorted(files.items()) for p in problems(path, text)]
    assert not found, "\n".join(found)


@pytest.mark.parametrize("name", sorted(WRITTEN))
def test_written_spec_simulators_run(written, name):
    """The laid-out simulators run; a draw nothing reads still runs (the coin)."""
    folder = Path(written[name]["_folder"])
    mod_spec = importlib.util.spec_from_file_location(f"_style_{name}", folder / "sim.py")
    sim = importlib.util.module_from_spec(mod_spec)
    sys.modules[mod_spec.name] = sim
    try:
        mod_spec.loader.exec_module(sim)
        R, C, _ = sim.run(trials=5, seed=3)
    finally:
        del sys.modules[mod_spec.name]
    assert all(v.shape in ((1, 5), (1, 1)) and np.all(np.isfinite(v)) for d in R.values() for v in d.values())
    if name == "nested":
        text = (folder / "sim.py").read_text(encoding="utf-8")
        assert "unused_here" not in text
        assert 'draw.bernoulli(0.5, name="coin")' in text and "coin = " not in text


# ------------------------------------------------------------------ hostile text


def _hostile_chunks() -> list[list[str]]:
    from test_hostile_specs import HOSTILE

    return [HOSTILE[i:i + 48] for i in range(0, len(HOSTILE), 48)]


@pytest.mark.parametrize("chunk", range(len(_hostile_chunks())))
def test_generated_python_of_hostile_text_is_readable(chunk, tmp_path):
    """Titles, docs, labels and units full of quotes, backslashes, newlines, control and
    bidi characters and 10000-character strings still give files that parse, fit in
    WIDTH columns and quote every literal the same way."""
    from test_hostile_specs import hostile_spec

    spec = tmp_path / "hostile.spt"
    spec.write_text(hostile_spec(_hostile_chunks()[chunk]), encoding="utf-8")
    files = compiler.outputs(compiler.load(spec))
    found = [p for path, text in sorted(files.items()) if path.endswith(".py") for p in problems(path, text)]
    assert not found, "\n".join(found[:20])
