"""User errors: the full text of each message (position, source line, caret), exit code 2,
and no traceback.  Specs are small edits of BASE written to a temporary folder."""

from __future__ import annotations

from typing import NamedTuple

import pytest

from conftest import run_subprocess

BASE = """\
spec tiny "A tiny model"
trials 5
seed 1

param layers_n: int = 3 in [1, 10]
param rate = 0.5 in [0, 1] doc "pruning rate"
param cost = 2.0

let twice = cost * 2

def work(n, f) = f * n

layers l in range(layers_n) {
  state N: int = 8 then trunc(max(1, N * (1 - rate)))
  random hits ~ binomial(N, rate)
  stage a = work(N, cost)
  stage b = twice + hits
}

design one "One" {
  schedule a -> b
  metric total = last(end) label "Total"
}

design two {
  schedule a | b
  metric total = last(end)
}

compare gain = mean(one.total) - mean(two.total)
"""


class Case(NamedTuple):
    id: str
    old: str | None  # replaced once by `new`; None appends `new`
    new: str
    expected: str    # the whole of stderr


def spec_text(case: Case) -> str:
    if case.old is None:
        return BASE + case.new
    assert BASE.count(case.old) == 1, case.old
    return BASE.replace(case.old, case.new)


SPEC_CASES = [
    Case('unexpected_token', 'let twice = cost * 2', 'let twice = cost * * 2', '''\
bad.spt:9:20: error: unexpected '*'; expected '(', '+', '-', 'false', 'true', a name, a number
  let twice = cost * * 2
                     ^
'''),
    Case('unexpected_token_in_param', 'param rate = 0.5', 'param rate 0.5', '''\
bad.spt:6:12: error: unexpected '0.5'; expected ':', '='
  param rate 0.5 in [0, 1] doc "pruning rate"
             ^~~
'''),
    Case('unexpected_end_of_file', None, '\ndesign three {\n', '''\
bad.spt:32:15: error: unexpected end of file; expected 'let', 'metric', 'random', 'schedule', 'show', 'stage', '}'
  design three {
                ^
'''),
    Case('unexpected_character', 'let twice = cost * 2', 'let twice = cost $ 2', '''\
bad.spt:9:18: error: unexpected character '$'
  let twice = cost $ 2
                   ^
'''),
    Case('unknown_name_did_you_mean', 'let twice = cost * 2', 'let twice = cots * 2', '''\
bad.spt:9:13: error: unknown name 'cots'; did you mean 'cost'?
  let twice = cots * 2
              ^~~~
'''),
    Case('unknown_name', 'let twice = cost * 2', 'let twice = zzz * 2', '''\
bad.spt:9:13: error: unknown name 'zzz'
  let twice = zzz * 2
              ^~~
'''),
    Case('duplicate_global', 'let twice = cost * 2', 'let twice = cost * 2\nlet cost = 3', '''\
bad.spt:10:5: error: 'cost' is defined more than once
  let cost = 3
      ^~~~
bad.spt:7:7: note: first defined here
  param cost = 2.0
        ^~~~
'''),
    Case('duplicate_in_layers', '  stage b = twice + hits', '  stage b = twice + hits\n  let a = 2', '''\
bad.spt:18:7: error: 'a' is defined more than once
    let a = 2
        ^
bad.spt:16:9: note: first defined here
    stage a = work(N, cost)
          ^
'''),
    Case('duplicate_metric', 'metric total = last(end) label "Total"', 'metric total = last(end)\n  metric total = sum(N)', '''\
bad.spt:23:10: error: metric 'total' is defined more than once in design 'one'
    metric total = sum(N)
           ^~~~~
bad.spt:22:10: note: first defined here
    metric total = last(end)
           ^~~~~
'''),
    Case('duplicate_comparison', None, 'compare gain = 1\n', '''\
bad.spt:31:9: error: 'gain' is defined more than once
  compare gain = 1
          ^~~~
bad.spt:30:9: note: first defined here
  compare gain = mean(one.total) - mean(two.total)
          ^~~~
'''),
    Case('declared_twice', 'trials 5', 'trials 5\ntrials 6', '''\
bad.spt:3:1: error: 'trials' is declared more than once
  trials 6
  ^~~~~~~~
bad.spt:2:1: note: first declared here
  trials 5
  ^~~~~~~~
'''),
    Case('cycle_between_lets', 'let twice = cost * 2', 'let twice = thrice * 2\nlet thrice = twice + 1', '''\
bad.spt:9:5: error: circular definition: twice -> thrice -> twice
  let twice = thrice * 2
      ^~~~~
'''),
    Case('cycle_between_functions', 'def work(n, f) = f * n', 'def work(n, f) = play(n, f)\ndef play(n, f) = work(f, n)', '''\
bad.spt:11:5: error: circular definition: work -> play -> work
  def work(n, f) = play(n, f)
      ^~~~
'''),
    Case('user_function_arity', 'stage a = work(N, cost)', 'stage a = work(N)', '''\
bad.spt:16:13: error: function 'work' takes 2 arguments (n, f), got 1
    stage a = work(N)
              ^~~~
bad.spt:11:5: note: 'work' is defined here
  def work(n, f) = f * n
      ^~~~
'''),
    Case('builtin_arity_exact', 'trunc(max(1, N * (1 - rate)))', 'trunc(max(1, N * (1 - rate)), 2)', '''\
bad.spt:14:25: error: trunc() takes 1 argument, got 2
    state N: int = 8 then trunc(max(1, N * (1 - rate)), 2)
                          ^~~~~
'''),
    Case('builtin_arity_at_least', 'trunc(max(1, N * (1 - rate)))', 'trunc(max(N * (1 - rate)))', '''\
bad.spt:14:31: error: max() takes at least 2 arguments, got 1
    state N: int = 8 then trunc(max(N * (1 - rate)))
                                ^~~
'''),
    Case('unknown_function', 'stage a = work(N, cost)', 'stage a = wrok(N, cost)', '''\
bad.spt:16:13: error: unknown function 'wrok'; did you mean 'work'? known functions: abs, ceil, clamp, exp, floor, log, log10, log2, max, min, round, sqrt, trunc, work
    stage a = wrok(N, cost)
              ^~~~
'''),
    Case('random_layer_count', 'layers l in range(layers_n)', 'layers l in range(hits)', '''\
bad.spt:13:19: error: 'hits' is a per-layer random variable, but the layer count must be constant across layers and trials
  layers l in range(hits) {
                    ^~~~
'''),
    Case('random_in_global_let', 'let twice = cost * 2', 'let twice = hits * 2', '''\
bad.spt:9:13: error: 'hits' is a per-layer random variable, but global let 'twice' must be constant across layers and trials
  let twice = hits * 2
              ^~~~
'''),
    Case('per_layer_in_global_let', 'let twice = cost * 2', 'let twice = N * 2', '''\
bad.spt:9:13: error: 'N' is a per-layer quantity, but global let 'twice' must be constant across layers and trials
  let twice = N * 2
              ^
'''),
    Case('per_layer_in_function', 'def work(n, f) = f * n', 'def work(n, f) = f * N', '''\
bad.spt:11:22: error: 'N' is a per-layer quantity; function 'work' cannot use per-layer values (pass them as arguments)
  def work(n, f) = f * N
                       ^
'''),
    Case('real_layer_count', 'layers l in range(layers_n)', 'layers l in range(cost)', '''\
bad.spt:13:19: error: the layer count must be an integer (use trunc/round/floor/ceil on a real)
  layers l in range(cost) {
                    ^~~~
'''),
    Case('schedule_unknown_stage', 'schedule a -> b', 'schedule a -> c', '''\
bad.spt:21:17: error: unknown stage 'c'; stages: a, b
    schedule a -> c
                  ^
'''),
    Case('schedule_not_a_stage', 'schedule a -> b', 'schedule a -> twice', '''\
bad.spt:21:17: error: 'twice' is not a stage; a schedule lists stages: a, b
    schedule a -> twice
                  ^~~~~
'''),
    Case('schedule_stage_twice', 'schedule a -> b', 'schedule a -> b -> a', '''\
bad.spt:21:22: error: stage 'a' appears twice in the schedule of design 'one'
    schedule a -> b -> a
                       ^
bad.spt:21:12: note: first scheduled here
    schedule a -> b -> a
             ^
'''),
    Case('two_schedules', 'schedule a -> b', 'schedule a -> b\n  schedule a', '''\
bad.spt:22:3: error: design 'one' has more than one schedule
    schedule a
    ^~~~~~~~~~
bad.spt:21:12: note: first schedule here
    schedule a -> b
             ^~~~~~
'''),
    Case('end_of_unscheduled_stage', 'schedule a -> b\n  metric total = last(end) label "Total"', 'schedule a\n  metric total = last(b.end) label "Total"', '''\
bad.spt:22:23: error: 'b' is not in the schedule of design 'one', so it has no .end
    metric total = last(b.end) label "Total"
                        ^~~~~
'''),
    Case('end_of_unknown_stage', 'metric total = last(end) label "Total"', 'metric total = last(end) label "Total"\n  metric x = count(c.end <= a.end)', '''\
bad.spt:23:20: error: 'c' is not a stage; design 'one' schedules a, b
    metric x = count(c.end <= a.end)
                     ^~~~~
'''),
    Case('unknown_stage_attribute', 'last(end) label', 'last(a.stop) label', '''\
bad.spt:22:23: error: unknown attribute '.stop'; a stage has .start and .end
    metric total = last(a.stop) label "Total"
                        ^~~~~~
'''),
    Case('stage_time_outside_design', 'let twice = cost * 2', 'let twice = a.end', '''\
bad.spt:9:13: error: 'a.end': stage times are only available inside designs, and design metrics only inside comparisons
  let twice = a.end
              ^~~~~
'''),
    Case('metric_per_layer_outside_reduction', 'metric total = last(end) label "Total"', 'metric total = N', '''\
bad.spt:22:18: error: 'N' is a per-layer quantity; use it inside a reduction (sum, mean, last, ...)
    metric total = N
                   ^
'''),
    Case('reduction_in_global_let', 'let twice = cost * 2', 'let twice = sum(cost)', '''\
bad.spt:9:13: error: 'sum' reduces over layers and is only allowed in a design metric
  let twice = sum(cost)
              ^~~
'''),
    Case('reduction_in_layer', '  stage b = twice + hits', '  stage b = twice + hits\n  let s = sum(N)', '''\
bad.spt:18:11: error: 'sum' reduces over layers and is only allowed in a design metric
    let s = sum(N)
            ^~~
'''),
    Case('nested_reduction', 'metric total = last(end) label "Total"', 'metric total = sum(sum(N))', '''\
bad.spt:22:22: error: reductions cannot be nested ('sum' inside another reduction)
    metric total = sum(sum(N))
                       ^~~
'''),
    Case('count_of_a_number', 'metric total = last(end) label "Total"', 'metric total = count(N)', '''\
bad.spt:22:24: error: count() takes a condition (e.g. count(a.end <= b.end))
    metric total = count(N)
                         ^
'''),
    Case('comparison_unknown_design', 'mean(two.total)', 'mean(three.total)', '''\
bad.spt:30:39: error: unknown design 'three'; designs: one, two
  compare gain = mean(one.total) - mean(three.total)
                                        ^~~~~~~~~~~
'''),
    Case('comparison_unknown_metric', 'mean(two.total)', 'mean(two.totl)', '''\
bad.spt:30:39: error: design 'two' has no metric 'totl'; its metrics: total
  compare gain = mean(one.total) - mean(two.totl)
                                        ^~~~~~~~
'''),
    Case('comparison_per_layer', 'mean(two.total)', 'N', '''\
bad.spt:30:34: error: 'N' is a per-layer quantity; comparisons combine design metrics
  compare gain = mean(one.total) - N
                                   ^
'''),
    Case('binomial_real_n', 'binomial(N, rate)', 'binomial(N * rate, rate)', '''\
bad.spt:15:28: error: binomial n must be an integer, but this expression is real (use trunc/round/floor/ceil)
    random hits ~ binomial(N * rate, rate)
                             ^
'''),
    Case('binomial_arity', 'binomial(N, rate)', 'binomial(N)', '''\
bad.spt:15:17: error: binomial() takes 2 arguments (n, p), got 1
    random hits ~ binomial(N)
                  ^~~~~~~~
'''),
    Case('unknown_distribution', 'binomial(N, rate)', 'binomal(N, rate)', '''\
bad.spt:15:17: error: unknown distribution 'binomal'; expected one of bernoulli, binomial, categorical, geometric, integers, normal, uniform
    random hits ~ binomal(N, rate)
                  ^~~~~~~
'''),
    Case('int_param_real_default', 'param layers_n: int = 3', 'param layers_n: int = 3.5', '''\
bad.spt:5:23: error: param 'layers_n' is declared int but its default 3.5 is not an integer
  param layers_n: int = 3.5 in [1, 10]
                        ^~~
'''),
    Case('default_outside_range', 'param rate = 0.5 in [0, 1]', 'param rate = 1.5 in [0, 1]', '''\
bad.spt:6:14: error: default 1.5 of param 'rate' is outside its range [0, 1]
  param rate = 1.5 in [0, 1] doc "pruning rate"
               ^~~
'''),
    Case('empty_range', 'param rate = 0.5 in [0, 1]', 'param rate = 0.5 in [1, 0]', '''\
bad.spt:6:22: error: empty range [1, 0] for param 'rate'
  param rate = 0.5 in [1, 0] doc "pruning rate"
                       ^
'''),
    Case('param_default_not_literal', 'param cost = 2.0', 'param cost = twice', '''\
bad.spt:7:14: error: the default of param 'cost' must be a literal number, not 'twice'
  param cost = twice
               ^~~~~
'''),
    Case('unknown_type', 'param layers_n: int', 'param layers_n: integer', '''\
bad.spt:5:17: error: unknown type 'integer'; expected int, real or bool
  param layers_n: integer = 3 in [1, 10]
                  ^~~~~~~
'''),
    Case('missing_spec_declaration', 'spec tiny "A tiny model"\n', '', '''\
bad.spt:1:1: error: missing 'spec NAME' declaration (e.g. spec my_model "A title")
  trials 5
  ^
'''),
    Case('no_design', BASE[BASE.index('design one'):], '', '''\
bad.spt:13:1: error: a spec needs at least one 'design' block
  layers l in range(layers_n) {
  ^~~~~~~~~~~~~~~~~~~~~~~~~~~~~
'''),
    Case('condition_in_arithmetic', 'let twice = cost * 2', 'let twice = (cost > 1) * 2', '''\
bad.spt:9:19: error: a condition cannot be used with '*' (as a number: if C then 1 else 0)
  let twice = (cost > 1) * 2
                    ^
'''),
    Case('if_test_not_a_condition', 'let twice = cost * 2', 'let twice = if cost then 1 else 2', '''\
bad.spt:9:16: error: the test of 'if' must be a condition (a comparison, and/or/not)
  let twice = if cost then 1 else 2
                 ^~~~
'''),
    Case('reserved_name', 'let twice = cost * 2', 'let twice = cost * 2\nlet end = 3', '''\
bad.spt:10:5: error: 'end' is a reserved name and cannot be defined
  let end = 3
      ^~~
'''),
    Case('function_used_as_value', 'let twice = cost * 2', 'let twice = work * 2', '''\
bad.spt:9:13: error: 'work' is a function; call it with arguments
  let twice = work * 2
              ^~~~
'''),
    Case('design_used_as_value', 'let twice = cost * 2', 'let twice = one * 2', '''\
bad.spt:9:13: error: 'one' is a design; refer to one of its metrics as one.METRIC
  let twice = one * 2
              ^~~
'''),
    Case('int_state_real_next', 'state N: int = 8 then trunc(max(1, N * (1 - rate)))', 'state N: int = 8 then max(1, N * (1 - rate))', '''\
bad.spt:14:25: error: state 'N' is int but its next value is real (use trunc/round/floor/ceil)
    state N: int = 8 then max(1, N * (1 - rate))
                          ^~~
'''),
    Case('zero_trials', 'trials 5', 'trials 0', '''\
bad.spt:2:8: error: 'trials' must be a positive integer, got 0
  trials 0
         ^
'''),
    Case('bad_format_attribute', 'label "Total"', 'fmt "zz"', '''\
bad.spt:22:28: error: invalid format 'zz' (a Python format spec such as '.2f' or ',.0f')
    metric total = last(end) fmt "zz"
                             ^~~~~~~~
'''),
    Case('scale_not_a_number', 'label "Total"', 'scale "x"', '''\
bad.spt:22:28: error: 'scale' takes a number
    metric total = last(end) scale "x"
                             ^~~~~~~~~
'''),
    Case('division_by_literal_zero', 'let twice = cost * 2', 'let twice = cost / 0', '''\
bad.spt:9:20: error: division by zero: the divisor of '/' is always 0
  let twice = cost / 0
                     ^
'''),
    Case('remainder_by_folded_zero', 'stage b = twice + hits', 'stage b = twice % (1 - 1) + hits', '''\
bad.spt:17:24: error: division by zero: the divisor of '%' is always 0
    stage b = twice % (1 - 1) + hits
                         ^
'''),

]

assert len({c.id for c in SPEC_CASES}) == len(SPEC_CASES)


def test_base_spec_is_valid(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "base.spt").write_text(BASE)
    r = cli("check", "base.spt")
    assert (r.code, r.err) == (0, "")
    assert r.out == "base.spt: ok: spec 'tiny', 3 params, 1 constant, 2 stages, 2 designs (one, two), 1 comparison\n"


@pytest.mark.parametrize("case", SPEC_CASES, ids=lambda c: c.id)
def test_spec_error(cli, tmp_path, monkeypatch, case):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.spt").write_text(spec_text(case))
    for command in ("check", "eval"):
        r = cli(command, "bad.spt")
        assert r.code == 2, (command, r.out)
        assert r.out == ""
        assert r.err == case.expected, command
        assert "Traceback" not in r.err


# A few through a real process: same text, exit code 2, nothing else on stderr.
@pytest.mark.parametrize("case", [c for c in SPEC_CASES if c.id in (
    "unexpected_token", "unknown_name_did_you_mean", "duplicate_global", "random_layer_count", "binomial_real_n")],
    ids=lambda c: c.id)
def test_spec_error_subprocess(tmp_path, case):
    (tmp_path / "bad.spt").write_text(spec_text(case))
    r = run_subprocess("check", "bad.spt", cwd=tmp_path)
    assert (r.code, r.out, r.err) == (2, "", case.expected)


# ---------------------------------------------------------------- options and --set

OPTION_CASES = [
    ("set_outside_range", ["--set", "rate=1.5"], """\
base.spt:6:7: error: --set rate=1.5: value 1.5 is outside the declared range [0, 1] of 'rate'
  param rate = 0.5 in [0, 1] doc "pruning rate"
        ^~~~
"""),
    ("set_below_range", ["--set", "layers_n=0"], """\
base.spt:5:7: error: --set layers_n=0: value 0 is outside the declared range [1, 10] of 'layers_n'
  param layers_n: int = 3 in [1, 10]
        ^~~~~~~~
"""),
    ("set_unknown_param", ["--set", "rat=0.2"], """\
error: --set rat=0.2: 'rat' is not a param of spec 'tiny'; did you mean 'rate'?
"""),
    ("set_not_a_number", ["--set", "rate=abc"], """\
base.spt:6:7: error: --set rate=abc: expected a number
  param rate = 0.5 in [0, 1] doc "pruning rate"
        ^~~~
"""),
    ("set_not_an_integer", ["--set", "layers_n=2.5"], """\
base.spt:5:7: error: --set layers_n=2.5: expected an integer
  param layers_n: int = 3 in [1, 10]
        ^~~~~~~~
"""),
    ("set_not_finite", ["--set", "cost=nan"], """\
base.spt:7:7: error: --set cost=nan: expected a finite number
  param cost = 2.0
        ^~~~
"""),
    ("set_without_equals", ["--set", "rate"], """\
error: --set rate: expected NAME=VALUE
"""),
]


@pytest.mark.parametrize("case_id,args,expected", OPTION_CASES, ids=[c[0] for c in OPTION_CASES])
def test_set_error(cli, tmp_path, monkeypatch, case_id, args, expected):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "base.spt").write_text(BASE)
    r = cli("eval", "base.spt", *args)
    assert (r.code, r.out, r.err) == (2, "", expected)


ARGPARSE_CASES = [
    (["--rng", "foo"], "spattenc: error: argument --rng: invalid choice: 'foo' (choose from 'pcg64', 'legacy')"),
    (["--trials", "0"], "spattenc: error: argument --trials: expected a positive integer, got '0'"),
    (["--trials", "ten"], "spattenc: error: argument --trials: expected a positive integer, got 'ten'"),
    (["--seed", "-1"], "spattenc: error: argument --seed: expected an integer in [0, 2**32), got '-1'"),
    (["--json", "--csv"], "spattenc: error: argument --csv: not allowed with argument --json"),
]


@pytest.mark.parametrize("args,last_line", ARGPARSE_CASES, ids=[" ".join(a) for a, _ in ARGPARSE_CASES])
def test_bad_option(cli, tmp_path, monkeypatch, args, last_line):
    """A bad option: exit 2, the usage line, then one clear message; no traceback."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "base.spt").write_text(BASE)
    r = cli("eval", "base.spt", *args)
    assert r.code == 2 and r.out == ""
    assert r.err.startswith("usage: spattenc eval")
    assert r.err.rstrip("\n").splitlines()[-1] == last_line
    assert "Traceback" not in r.err


def test_bad_option_subprocess(tmp_path):
    (tmp_path / "base.spt").write_text(BASE)
    r = run_subprocess("eval", "base.spt", "--rng", "foo", cwd=tmp_path)
    assert r.code == 2 and r.out == "" and "Traceback" not in r.err
    assert r.err.splitlines()[-1] == ARGPARSE_CASES[0][1]


def test_missing_file(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for command in ("check", "eval", "inspect", "compile"):
        r = cli(command, "nope.spt")
        assert (r.code, r.out, r.err) == (2, "", "error: nope.spt: no such spec file\n"), command
    r = run_subprocess("eval", "nope.spt", cwd=tmp_path)
    assert (r.code, r.out, r.err) == (2, "", "error: nope.spt: no such spec file\n")


def test_errors_in_shipped_spec_cite_its_lines(cli, tmp_path, monkeypatch):
    """An edit of the shipped spec: the message cites the edited line of that file."""
    from conftest import SPEC

    text = SPEC.read_text().replace("stage qk = compute(qk_mult_factor, N^2 * H, N, H)",
                                    "stage qk = compute(qk_mult_factor, N^2 * H, N)")
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if ln.startswith("  stage qk ="))
    def_line = next(i for i, ln in enumerate(text.splitlines(), 1) if ln.startswith("def compute("))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cv.spt").write_text(text)
    r = cli("check", "cv.spt")
    assert r.code == 2
    assert r.err == (
        f"cv.spt:{line}:14: error: function 'compute' takes 4 arguments (factor, work, n, h), got 3\n"
        "    stage qk = compute(qk_mult_factor, N^2 * H, N)\n"
        "               ^~~~~~~\n"
        f"cv.spt:{def_line}:5: note: 'compute' is defined here\n"
        f"  {text.splitlines()[def_line - 1]}\n"
        "      ^~~~~~~\n")


def test_a_spec_without_designs_or_layers_points_at_its_end(cli, tmp_path, monkeypatch):
    """A roofline-style spec (no layers block) without a design: the error cites the
    spec's last line, not a position outside the file."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bare.spt").write_text("spec t\nparam x = 1\nlet y = x * 2\n")
    r = cli("check", "bare.spt")
    assert (r.code, r.out) == (2, "")
    assert r.err == "bare.spt:3:1: error: a spec needs at least one 'design' block\n  let y = x * 2\n  ^~~~~~~~~~~~~\n"
