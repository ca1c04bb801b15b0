"""The generated simulators' runtime helpers (spattenc/backends/simlib/): tested here as
ordinary modules, and found verbatim in the committed generated files."""

from __future__ import annotations

import ast
import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT

from spattenc.backends import simlib
from spattenc.backends.simlib import common
from spattenc.backends.simlib import fixed
from spattenc.backends.simlib import layers
from spattenc.backends.simlib import lookup
from spattenc.backends.simlib import loops
from spattenc.backends.simlib import rounding
from spattenc.backends.simlib import sums
from spattenc.backends.simlib import table

SIMLIB = Path(simlib.__file__).parent
GENERATED = sorted((ROOT / "generated").rglob("*sim.py"))


def test_every_module_is_listed_and_needs_only_numpy_and_its_siblings():
    """A pasted module may import numpy, the standard library and its siblings (whose
    text the generated file holds), nothing of spattenc."""
    assert sorted(p.stem for p in SIMLIB.glob("*.py") if p.stem != "__init__") == sorted(simlib.MODULES)
    for name in simlib.MODULES:
        tree = ast.parse((SIMLIB / f"{name}.py").read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                assert all(a.name in ("numpy", "fractions", "csv") for a in node.names), name
            elif isinstance(node, ast.ImportFrom):
                assert node.level == 1 and node.module in simlib.MODULES, (name, node.module)


def test_generated_simulators_hold_the_helpers_verbatim_and_import_only_numpy():
    """Each committed simulator contains the text of the helper modules it uses, and
    imports nothing but numpy and the standard library (it runs without spattenc)."""
    used = {"common": 0, "layers": 0, "table": 0, "fixed": 0, "loops": 0, "rounding": 0}
    for path in GENERATED:
        text = path.read_text(encoding="utf-8")
        for name in used:
            body = simlib.source(name)
            first_def = body[body.index("\ndef ") + 1:] if "\ndef " in body else body
            chunk = first_def.split("\n\n\n")[0]
            if chunk in text:
                used[name] += 1
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Import):
                assert {a.name for a in node.names} <= {"numpy", "csv", "sys"}, path
            elif isinstance(node, ast.ImportFrom):
                assert node.module in ("fractions", "numpy"), path
    assert all(used.values()), used
    assert simlib.source("loops") in (ROOT / "generated" / "spatten_trace" / "sim.py").read_text()
    assert simlib.source("common") in (ROOT / "generated" / "cv_demo" / "sim.py").read_text()


def test_source_picks_definitions_in_module_order():
    text = simlib.source("sums", "_sum_range")
    assert text.startswith("def _sum_range(") and "_sum_members" not in text
    every = simlib.source("sums", "_sum_members", "_sum_range", "_fold_members", "EmptyRange", "_fold_range")
    assert every == simlib.source("sums")
    with pytest.raises(ValueError):
        simlib.source("sums", "_sum_range", "_sum_members")
    with pytest.raises(ValueError):
        simlib.source("sums", "nothing")
    with pytest.raises(ValueError):
        simlib.source("os")


def test_rounding_follows_python():
    xs = [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 2.4999, -3.7, 3.7, 0.0]
    assert rounding._trunc(np.array(xs)).tolist() == [int(x) for x in xs]
    assert rounding._round(np.array(xs)).tolist() == [round(x) for x in xs]
    assert rounding._floor(np.array(xs)).tolist() == [math.floor(x) for x in xs]
    assert rounding._ceil(np.array(xs)).tolist() == [math.ceil(x) for x in xs]


def test_fixed_integer_helpers_are_exact():
    """Division truncates toward zero, % is Python's, shifts round as their names say,
    ties to even; all on Python ints wider than 64 bits."""
    big = 1 << 80
    for a in (-7, -6, -1, 0, 1, 6, 7, big + 3, -big - 3):
        for b in (-3, -2, 2, 3, 0):
            q = 0 if b == 0 else int(Fraction(a, b))
            assert fixed._div(a, b) == q
            assert fixed._mod(a, b) == (0 if b == 0 else a % b)
        for k in (1, 2, 3):
            x = Fraction(a, 1 << k)
            assert fixed._shr_floor(a, k) == math.floor(x)
            assert fixed._shr_ceil(a, k) == math.ceil(x)
            assert fixed._shr_trunc(np.array([a], dtype=object), k)[0] == int(x)
            assert fixed._shr_nearest(a, k) == math.floor(x + Fraction(1, 2))
            assert fixed._shr_round(a, k) == round(x)


def test_lookup_refuses_an_index_outside_the_table():
    t = np.arange(12).reshape(3, 4)
    assert lookup._lookup(t, np.array([0, 2]), np.array([3, 1])).tolist() == [3, 9]
    with pytest.raises(IndexError, match="outside a table axis of 3 entries"):
        lookup._lookup(t, 3, 0)


def test_sums_over_members_and_ranges():
    assert sums._sum_members(lambda i: 10 ** i, 3) == 111
    lo, hi = np.array([[0], [2]]), np.array([[3], [4]])
    assert sums._sum_range(lambda i: i, lo, hi).tolist() == [[0 + 1 + 2], [2 + 3]]
    assert sums._sum_range(lambda i: i, 2, 2) == 0


def test_support_tables_gather_each_trials_value():
    n = np.array([[3], [2]])
    draws = np.array([[0, 3, 1] * 11, [2, 2, 0] * 11])  # 33 trials: (3 + 1) * 8 <= 33
    values, index = layers._support(n, draws, draws.shape[1])
    assert values.tolist() == [[0, 1, 2, 3]] and index is draws
    table_ = values * 10 + np.array([[0], [1]])
    assert layers._gather(table_, index).tolist() == (draws * 10 + np.array([[0], [1]])).tolist()
    assert layers._support(n, draws, 4)[1] is None


def test_draws_check_their_arguments():
    d = layers.Draws([np.random.Generator(np.random.PCG64(1))], 5)
    with pytest.raises(common.DrawError, match="random x: binomial p must be in \\[0, 1\\] \\(got 1.5\\)"):
        d.binomial(3, 1.5, name="x")
    k = d.categorical(0.0, 1.0, 0.0, name="k")
    assert k.tolist() == [[1] * 5]


def test_streams_are_made_lazily_and_equal_generators():
    s = common.generators(3, 2, block=1)
    assert s._made == [None, None]
    a = s[1].random(3)
    ref = np.random.Generator(np.random.PCG64(3).jumped(1)).random(3)
    assert a.tolist() == ref.tolist() and s._made[0] is None


def test_grouping_and_group_reductions():
    g = table.Grouping([np.array([2, 1, 2, 1, 3])])
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0]).reshape(-1, 1, 1)
    assert g.keys[0].reshape(-1).tolist() == [1, 2, 3]
    assert table._greduce("sum", x, g).reshape(-1).tolist() == [6.0, 4.0, 5.0]
    assert table._greduce("first", x, g).reshape(-1).tolist() == [2.0, 1.0, 5.0]
    assert table._greduce("mean", x, g).reshape(-1).tolist() == [3.0, 2.0, 5.0]
    assert table._reduce_all("max_over", x, 5).tolist() == [[5.0]]
    with pytest.raises(ValueError, match="must be in \\[0, 5\\], got 7"):
        table._value("7", "int", ("in", 0, 5))


def test_loop_helpers_narrow_any_constants_object():
    class K:
        pass

    c = K()
    c.a = np.array([1, 2, 3])
    out = loops._narrow(c, np.array([True, False, True]))
    assert type(out) is K and out.a.tolist() == [1, 3]
    assert loops._flat(np.array([[1], [2]]), (2, 2)).tolist() == [1, 1, 2, 2]
