"""The checker's shared pieces: the one did-you-mean helper, the immutable scope, the
"each name once" rule, and params folded to values in the checked Program."""

from __future__ import annotations

import dataclasses

import pytest

from spattenc.ir.errors import SpecError, closest, did_you_mean
from spattenc.front.check import check
from spattenc.front.check.scope import NAME_CUTOFF, Scope, once
from spattenc.front.parser import parse
from spattenc.ir.nodes import Loc


def test_closest_picks_the_nearest_name_and_respects_the_cutoff():
    assert closest("cots", ["count", "cost", "x"]) == "cost"
    assert closest("zzzz", ["cost"]) is None
    # difflib ratio of 'abcde' and 'abcxy' is 2*3/10 = 0.6: close enough for options,
    # not for spec names.
    assert closest("abcde", ["abcxy"]) == "abcxy"
    assert closest("abcde", ["abcxy"], cutoff=NAME_CUTOFF) is None
    assert did_you_mean("trails", {"trials", "seed"}) == "; did you mean 'trials'?"
    assert did_you_mean("zzzz", {"trials"}) == ""


def test_closest_does_not_depend_on_the_order_of_the_candidates():
    names = ["alpha_b", "alpha_c", "beta"]
    assert closest("alpha_x", names) == closest("alpha_x", list(reversed(names)))


def test_scope_is_immutable():
    scope = Scope("const", "a test")
    with pytest.raises(dataclasses.FrozenInstanceError):
        scope.level = "layer"  # type: ignore[misc]


def test_once_cites_the_first_place():
    first, second = Loc("t.spt", 1, 1, 1, 2), Loc("t.spt", 3, 5, 3, 6)
    seen: dict = {}
    once(seen, "x", first, "'x' twice")
    with pytest.raises(SpecError) as err:
        once(seen, "x", second, "'x' twice", "first here")
    assert err.value.loc == second and err.value.notes == ((first, "first here"),)


SPEC = """spec folded
param n: int = 2 ^ 3 in [1, 4 * 4]
param p = 0.5 in [0, 1]
param flag = true
design d {
  metric m = n * p
}
"""


def test_checked_params_hold_folded_values():
    prog = check(parse(SPEC, "folded.spt"))
    by = {p.name: p for p in prog.params}
    assert (by["n"].value, by["n"].lo_value, by["n"].hi_value) == (8, 1, 16)
    assert (by["p"].value, by["p"].lo_value, by["p"].hi_value) == (0.5, 0, 1)
    assert (by["flag"].value, by["flag"].lo_value, by["flag"].hi_value) == (True, None, None)
    assert isinstance(by["n"].value, int)
