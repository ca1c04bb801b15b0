"""Input tables, groups, loops and cases: language features checked against figures
worked out by hand, bad tables and bad specs with their exact messages."""

from __future__ import annotations

import json

import pytest


def write(tmp_path, text: str, name: str = "t.spt"):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


TABLE_SPEC = """
spec tab "table features"
trials 3
param scale = 2.0 in [0, 10]
input t: table "a small table" {
  column a: int
  column b: int
  column x: real
  column on: bool
}
rows r in t {
  let y = if on then x * scale else 0
  stage s = x + r
}
group ab "by (a, b)" by (a, b) {
  let n = count(true)
  let total = sum(y)
  let avg = mean(x)
  let first_x = first(x)
  let last_x = last(x)
  let hi = max_over(x)
  let lo = min_over(x)
  let on_count = count(on)
  let keyed = total + 100 * a + 10 * b
}
group by_a by a from ab {
  let a_total = sum(total)
  let a_groups = count(true)
  let a_last = last(keyed)
}
design d {
  metric total_y = sum(y)
  metric rows_on = count(on)
  metric max_s = max_over(s)
  metric last_s = last(s)
  metric first_r = first(r)
  metric groups = count(ab.n > 0)
  metric sum_n = sum(n)
  metric mean_avg = mean(avg)
  metric a_sum = sum(by_a.a_total)
}
design other { metric tot = sum(x) }
compare ratio = mean(d.total_y) / mean(other.tot)
cases c { case "double" { scale = 4 } case "none" { scale = 0 } }
"""

# A config line first, an extra column, rows out of key order, every bool spelling.
TABLE_CSV = """run/config.yml,,,,
b,a,x,on,junk
1,0,1.5,True,z
0,0,2.0,false,z
1,1,4.0,1,z
0,0,3.0,0,z
1,0,0.5,TRUE,z
"""


def run_table(cli, tmp_path, *extra, spec=TABLE_SPEC, table=TABLE_CSV):
    csv_path = tmp_path / "t.csv"
    csv_path.write_text(table)
    return cli("eval", write(tmp_path, spec), "--input", f"t={csv_path}", *extra)


def test_rows_groups_and_metrics_by_hand(cli, tmp_path):
    """Rows r0..r4: (a, b, x, on) = (0,1,1.5,T) (0,0,2,F) (1,1,4,T) (0,0,3,F) (0,1,0.5,T);
    y = 3, 0, 8, 0, 1 (scale 2); s = x + r = 1.5, 3, 6, 6, 4.5."""
    r = run_table(cli, tmp_path, "--json")
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert doc["inputs"]["t"] == {"file": str(tmp_path / "t.csv"), "rows": 5, "config": "run/config.yml"}
    ab = doc["groups"]["ab"]
    assert ab["by"] == ["a", "b"] and ab["count"] == 3 and ab["title"] == "by (a, b)"
    rows = [{k: v for k, v in g.items()} for g in ab["rows"]]
    assert [(g["a"], g["b"]) for g in rows] == [(0, 0), (0, 1), (1, 1)]  # ordered by key
    assert [g["n"] for g in rows] == [2, 2, 1]
    assert [g["total"] for g in rows] == [0.0, 4.0, 8.0]
    assert [g["avg"] for g in rows] == [2.5, 1.0, 4.0]
    assert [g["first_x"] for g in rows] == [2.0, 1.5, 4.0]
    assert [g["last_x"] for g in rows] == [3.0, 0.5, 4.0]  # file order within a group
    assert [g["hi"] for g in rows] == [3.0, 1.5, 4.0]
    assert [g["lo"] for g in rows] == [2.0, 0.5, 4.0]
    assert [g["on_count"] for g in rows] == [0, 2, 1]
    assert [g["keyed"] for g in rows] == [0.0, 14.0, 118.0]
    by_a = doc["groups"]["by_a"]
    assert by_a["from"] == "ab"
    assert [(g["a"], g["a_total"], g["a_groups"], g["a_last"]) for g in by_a["rows"]] == [(0, 4.0, 2, 14.0),
                                                                                         (1, 8.0, 1, 118.0)]
    d = {k: v["mean"] for k, v in doc["designs"]["d"].items()}
    assert d == {"total_y": 12.0, "rows_on": 3, "max_s": 6.0, "last_s": 4.5, "first_r": 0, "groups": 3,
                 "sum_n": 5, "mean_avg": 2.5, "a_sum": 12.0}
    assert doc["compare"]["ratio"] == 12.0 / 11.0


def test_cases_run_side_by_side_on_a_table(cli, tmp_path):
    r = run_table(cli, tmp_path, "--cases", "c", "--json")
    assert r.code == 0, r.err
    points = json.loads(r.out)["points"]
    assert [p["case"] for p in points] == ["double", "none"]
    assert [p["designs"]["d"]["total_y"]["mean"] for p in points] == [24.0, 0.0]
    assert points[0]["values"] == {"scale": 4}


def test_text_output_lists_groups(cli, tmp_path):
    r = run_table(cli, tmp_path)
    assert r.code == 0, r.err
    assert "Input t:" in r.out and "(5 rows, config run/config.yml)" in r.out
    assert "--- by (a, b) (3 groups by a, b) ---" in r.out


RANDOM_SPEC = """
spec rnd "random rows"
trials 4000
seed 5
input t: table { column k: int }
rows r in t {
  random coin ~ bernoulli(0.5)
  let heads = if coin then 1 else 0
}
group g by k { let h = sum(heads) }
design d { metric heads = count(coin) metric gh = sum(h) }
"""


@pytest.mark.parametrize("rng", ["pcg64", "legacy"])
def test_random_rows(cli, tmp_path, rng):
    r = run_table(cli, tmp_path, "--json", "--rng", rng, "--trials", "2000" if rng == "legacy" else "4000",
                  spec=RANDOM_SPEC, table="k\n1\n1\n2\n2\n2\n")
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    heads = doc["designs"]["d"]["heads"]
    assert heads["mean"] == pytest.approx(2.5, abs=0.1)  # 5 fair coins
    assert heads["std"] == pytest.approx((5 * 0.25) ** 0.5, rel=0.1)
    assert doc["designs"]["d"]["gh"]["mean"] == heads["mean"]
    g = doc["groups"]["g"]
    assert g["random"] == ["h"]
    assert [x["h"] for x in g["rows"]] == pytest.approx([1.0, 1.5], abs=0.1)
    assert all(x["std"]["h"] > 0 for x in g["rows"])


# ---------------------------------------------------------------- loops
LOOPS = """
loop halve(n0) {
  state n = n0 then floor(n / 2)
  while n >= 1
  return 1000 * count(true) + sum(n)
}
loop stats(n0) {
  state n = n0 then floor(n / 2)
  while n >= 1
  return first(n) + 10 * last(n) + 100 * max_over(n) + 1000 * min_over(n) + 10000 * mean(n)
}
loop tries(p) {
  state done = false then hit
  while not done
  random hit ~ bernoulli(p)
  return count(true)
}
"""


def test_loops_in_a_layers_spec(cli, tmp_path):
    """halve(10): n = 10, 5, 2, 1 -> 4 steps, sum 18 -> 4018; halve(20) -> 5038; halve(30) -> 5056.
    stats(10): first 10 + 10*last 1 + 100*max 10 + 1000*min 1 + 10000*mean 4.5 = 47020."""
    spec = "spec lp\ntrials 3000\nseed 1\n" + LOOPS + """
layers l in range(3) {
  let h = halve(10 * (l + 1))
  let st = stats(10)
  let z = halve(0)
  let t = tries(0.25)
}
design d {
  metric total = sum(h)
  metric st = last(st)
  metric z = sum(z)
  metric tries = last(t)
}
"""
    r = cli("eval", write(tmp_path, spec), "--json")
    assert r.code == 0, r.err
    d = json.loads(r.out)["designs"]["d"]
    assert d["total"]["mean"] == 4018 + 5038 + 5056
    assert d["st"]["mean"] == 47020
    assert d["z"]["mean"] == 0
    assert d["tries"]["mean"] == pytest.approx(4.0, rel=0.05)  # geometric, p = 1/4
    assert d["tries"]["min"] == 1


@pytest.mark.parametrize("rng", ["pcg64", "legacy"])
def test_random_loops_draw_from_their_points_stream(cli, tmp_path, rng):
    """A loop's draws come from its point's stream: a swept point equals the single point,
    and the figures follow the parameter (geometric tries, mean 1/p)."""
    spec = "spec lp\ntrials 400\nseed 2\nparam p = 0.25 in [0.01, 1]\n" + LOOPS.replace("tries(p)", "tries(q)") + """
layers l in range(2) { let t = tries(p) }
design d { metric tries = sum(t) }
"""
    path = write(tmp_path, spec)
    swept = json.loads(cli("eval", path, "--rng", rng, "--sweep", "p=1,0.25,0.5", "--json").out)
    alone = json.loads(cli("eval", path, "--rng", rng, "--json").out)
    assert swept["points"][1]["designs"] == alone["designs"]
    means = [pt["designs"]["d"]["tries"]["mean"] for pt in swept["points"]]
    assert means[0] == 2.0  # p = 1: one try per layer
    assert means[1] == pytest.approx(8.0, rel=0.1) and means[2] == pytest.approx(4.0, rel=0.1)


def test_loops_in_a_table_spec(cli, tmp_path):
    spec = "spec lp\ntrials 2\n" + LOOPS + """
input t: table { column n: int }
rows r in t { let h = halve(n) }
design d { metric total = sum(h) }
"""
    r = run_table(cli, tmp_path, "--json", spec=spec, table="n\n10\n1\n0\n20\n")
    assert r.code == 0, r.err
    assert json.loads(r.out)["designs"]["d"]["total"]["mean"] == 4018 + 1001 + 0 + 5038


def test_inspect_shows_loops_and_groups(cli, tmp_path):
    r = cli("inspect", write(tmp_path, TABLE_SPEC))
    assert r.code == 0, r.err
    assert "## Group ab: the rows by a, b" in r.out
    assert "keyed = 100*a + 10*b + total" in r.out
    assert "## Group by_a: the groups of ab by a" in r.out
    assert "a_total = sum(total)" in r.out
    assert "y = Piecewise((scale*x, on), (0, True))" in r.out
    r = cli("inspect", write(tmp_path, "spec lp\n" + LOOPS + "layers l in range(1) { let h = halve(4) }\n"
                             "design d { metric m = sum(h) }\n"), "halve")
    assert r.code == 0, r.err
    assert "state n: n[0] = n0; n[t+1] = floor(n/2)" in r.out
    assert "while n >= 1" in r.out
    assert "return sum(n) + 1000*count(True)" in r.out


def test_inspect_solves_in_a_table_spec(cli, tmp_path):
    """A solve in a table spec is solved as in any spec: 3 * scale = 12 at scale = 4."""
    spec = TABLE_SPEC + "solve z for scale: 3 * scale == 12\n"
    r = cli("inspect", write(tmp_path, spec), "z")
    assert r.code == 0, r.err
    assert "z: scale such that 3*scale - 12 = 0" in r.out and "  scale = 4\n" in r.out


# ---------------------------------------------------------------- bad tables
HEADER = "a,b,x,on"


@pytest.mark.parametrize("table, where, message", [
    ("a,b,on\n0,1,True\n", "t.csv:1: x", "missing column (the header has: a, b, on)"),
    (f"{HEADER}\n0,1,1.5,True\n0,zero,2,False\n", "t.csv:3: b", "expected an integer, got 'zero'"),
    (f"{HEADER}\n0,1.5,1.5,True\n", "t.csv:2: b", "expected an integer, got '1.5'"),
    (f"{HEADER}\n0,1,1.5,maybe\n", "t.csv:2: on", "expected True or False, got 'maybe'"),
    (f"{HEADER}\n0,1,,True\n", "t.csv:2: x", "missing value"),
    (f"{HEADER}\n0,1,nan,True\n", "t.csv:2: x", "expected a finite number, got 'nan'"),
    (f"{HEADER}\n0,1,abc,True\n", "t.csv:2: x", "expected a number, got 'abc'"),
    (f"{HEADER}\n0,1,1.5\n", "t.csv:2", "row has 3 fields; the header has 4"),
    (f"{HEADER}\n0,1,1.5,True,9\n", "t.csv:2", "row has 5 fields; the header has 4"),
    ("a,b,x,on,x\n0,1,1.5,True,2\n", "t.csv:1: x", "column appears twice in the header"),
    (f"{HEADER}\n", "t.csv:1", "no data rows after the header"),
    (f"cfg.yml,,,\n{HEADER}\ncfg.yml,,,\n", "t.csv:2", "no data rows after the header"),
    ("", "t.csv", "empty table: expected a header line naming the columns"),
    ("\n\n", "t.csv", "empty table: expected a header line naming the columns"),
])
def test_bad_table(cli, tmp_path, table, where, message):
    r = run_table(cli, tmp_path, table=table)
    assert r.code == 2
    assert r.err.strip() == f"{tmp_path / where}: error: {message}"
    assert "Traceback" not in r.err


def test_missing_table_file(cli, tmp_path):
    r = cli("eval", write(tmp_path, TABLE_SPEC), "--input", f"t={tmp_path / 'nope.csv'}")
    assert r.code == 2
    assert r.err.startswith(f"{tmp_path / 'nope.csv'}: error: cannot read the table: No such file or directory")


@pytest.mark.parametrize("args, message", [
    ([], "spec 'tab' reads table 't': give it with --input t=FILE"),
    (["--input", "u=x.csv"], "--input u=...: spec 'tab' has no input 'u'; its inputs: t"),
    (["--input", "tt=x.csv"], "--input tt=...: spec 'tab' has no input 'tt'; did you mean 't'?"),
    (["--input", "t"], "--input t: expected NAME=FILE"),
    (["--input", "t=a.csv", "--input", "t=b.csv"], "--input t=...: given more than once"),
    (["--input", "t="], "--input t=: expected NAME=FILE"),
])
def test_bad_input_options(cli, tmp_path, args, message):
    r = cli("eval", write(tmp_path, TABLE_SPEC), *args)
    assert r.code == 2
    assert message in r.err


def test_input_option_on_a_spec_without_inputs(cli, tmp_path):
    spec = "spec s\nlayers l in range(2) { let x = 1 }\ndesign d { metric m = sum(x) }\n"
    r = cli("eval", write(tmp_path, spec), "--input", "t=a.csv")
    assert r.code == 2
    assert "--input t=...: spec 's' has no input 't'; it declares no inputs" in r.err


def test_cases_take_set_values_for_params_they_leave(cli, tmp_path):
    """A case's own value beats --set, and --set beats the default (scale 2)."""
    spec = TABLE_SPEC.replace('cases c {', 'cases k { case "own" { scale = 4 } case "left" { } }\ncases c {')
    r = run_table(cli, tmp_path, "--cases", "k", "--set", "scale=3", "--json", spec=spec)
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert doc["cases"] == {"name": "k", "title": "k", "points": 2, "cases": ["own", "left"], "params": ["scale"]}
    assert doc["params"]["scale"] == 3  # the base point
    # total_y = scale * (1.5 + 4 + 0.5)
    assert [(p["case"], p["values"], p["designs"]["d"]["total_y"]["mean"]) for p in doc["points"]] == [
        ("own", {"scale": 4.0}, 24.0), ("left", {"scale": 3.0}, 18.0)]
    csv_text = run_table(cli, tmp_path, "--cases", "k", "--csv", spec=spec).out
    assert csv_text.splitlines()[0].startswith("point,case,scale,")
    assert csv_text.splitlines()[1].startswith("0,own,4.0,")


def test_sweeps_over_a_table_spec_agree_with_single_points(cli, tmp_path):
    """--sweep works on a table spec: each point equals a run with --set at that value."""
    r = run_table(cli, tmp_path, "--sweep", "scale=0,1,2.5", "--json")
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert doc["sweep"]["axes"] == {"scale": [0.0, 1.0, 2.5]} and "groups" not in doc
    assert doc["inputs"]["t"]["rows"] == 5
    for p in doc["points"]:
        one = json.loads(run_table(cli, tmp_path, "--set", f"scale={p['values']['scale']}", "--json").out)
        assert p["designs"] == one["designs"] and p["compare"] == one["compare"]
    assert [p["designs"]["d"]["total_y"]["mean"] for p in doc["points"]] == [0.0, 6.0, 15.0]


def test_random_table_sweep_points_draw_their_own_streams(cli, tmp_path):
    """A point's random draws do not depend on the other points of a sweep (as for layers)."""
    spec = RANDOM_SPEC.replace('trials 4000', 'trials 50\nparam p = 0.5 in [0, 1]').replace('bernoulli(0.5)',
                                                                                        'bernoulli(p)')
    table = "k\n1\n1\n2\n2\n2\n"
    for rng in ("pcg64", "legacy"):
        swept = json.loads(run_table(cli, tmp_path, "--sweep", "p=0.2,0.5,0.9", "--rng", rng, "--json",
                                     spec=spec, table=table).out)
        alone = json.loads(run_table(cli, tmp_path, "--set", "p=0.5", "--rng", rng, "--json",
                                     spec=spec, table=table).out)
        assert swept["points"][1]["designs"] == alone["designs"], rng


def test_table_spec_plots_and_report(cli, tmp_path):
    """--plots on a table spec: histograms of its random metrics; report takes --input."""
    csv_path = tmp_path / "t.csv"
    csv_path.write_text("k\n1\n1\n2\n2\n2\n")
    spec = write(tmp_path, RANDOM_SPEC.replace("trials 4000", "trials 200"))
    out = tmp_path / "plots"
    r = cli("eval", spec, "--input", f"t={csv_path}", "--plots", "--out", str(out))
    assert r.code == 0, r.err
    index = (out / "index.md").read_text()
    assert "[hist_d_heads.png]" in index and "gantt" not in index  # nothing is scheduled in a table spec
    assert (out / "groups_g.csv").read_text().splitlines()[0] == "k,h,h_std"
    r = cli("report", spec, "--input", f"t={csv_path}", "--out", str(tmp_path / "rep"))
    assert r.code == 0, r.err
    html = (tmp_path / "rep" / "report.html").read_text()
    assert "<h3>Histogram of the Monte-Carlo samples of d: heads (d.heads)</h3>" in html
    r = cli("report", spec, "--out", str(tmp_path / "rep2"))
    assert r.code == 2 and "give it with --input t=FILE" in r.err


def test_table_spec_with_a_schema_input(cli, tmp_path):
    """One --input option binds both kinds, each read as declared: the table from CSV, the
    schema input from YAML; y = x * scale * lanes * w[mode] = x * 2 * 4 * 0.5 per row."""
    spec = """
spec mix
trials 1
enum Mode { fast, slow }
input hw "hardware" {
  lanes: int >= 1
  mode: Mode = Mode.fast
  w: real per Mode = 1.0
}
param scale = 2.0 in [0, 10]
input t: table { column k: int  column x: real }
rows r in t { let y = x * scale * hw.lanes * hw.w[hw.mode] }
group g by k { let s = sum(y) }
design d { metric total = sum(y) }
"""
    (tmp_path / "hw.yaml").write_text("lanes: 4\nmode: slow\nw: {slow: 0.5}\n")
    (tmp_path / "t.csv").write_text("k,x\n1,1.0\n1,2.0\n2,4.0\n")
    path = write(tmp_path, spec)
    r = cli("eval", path, "--input", f"t={tmp_path / 't.csv'}", "--input", f"hw={tmp_path / 'hw.yaml'}", "--json")
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert doc["designs"]["d"]["total"]["mean"] == 28.0
    assert [g["s"] for g in doc["groups"]["g"]["rows"]] == [12.0, 16.0]
    r = cli("eval", path, "--input", f"t={tmp_path / 'hw.yaml'}", "--input", f"hw={tmp_path / 't.csv'}")
    assert r.code == 2 and "Traceback" not in r.err  # each file is read as its own input's kind
    r = cli("eval", path, "--input", f"hw={tmp_path / 'hw.yaml'}")
    assert r.code == 2 and "give it with --input t=FILE" in r.err


@pytest.mark.parametrize("args, message", [
    (["--cases", "nope"], "--cases nope: no cases block named 'nope'; its cases: c"),
    (["--cases", "c", "--sweep", "scale=1,2"], "--cases c: cannot be combined with --sweep (each case is one point)"),
    (["--plots"], "--plots needs --out DIR (the folder for the plot files)"),
])
def test_bad_cases_options(cli, tmp_path, args, message):
    r = run_table(cli, tmp_path, *args)
    assert r.code == 2
    assert message in r.err


# ---------------------------------------------------------------- bad specs
def replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def position(text: str, at: str) -> tuple[int, int]:
    """1-based line and column of the only occurrence of `at` in `text`."""
    assert text.count(at) == 1, at
    i = text.index(at)
    return text.count("\n", 0, i) + 1, i - (text.rfind("\n", 0, i) + 1) + 1


def check_error(cli, path: str, text: str, at: str, message: str):
    r = cli("check", path)
    assert r.code == 2, r.out
    line, col = position(text, at)
    first = r.err.splitlines()[0]
    assert first.startswith(f"{path}:{line}:{col}: error: "), r.err
    assert message in first, r.err
    assert "^" in r.err and "Traceback" not in r.err


@pytest.mark.parametrize("old, new, at, message", [
    ("rows r in t {", "rows r in u {", "rows r in u", "rows block reads unknown input 'u' (inputs: t)"),
    ("by (a, b) {", "by (a, c) {", "c) {", "group 'ab' cannot group by 'c': it is not a column of table 't'"),
    ("by (a, b) {", "by (a, a) {", "a) {", "key 'a' appears twice in group 'ab'"),
    ("by a from ab {", "by b2 from ab {", "b2", "group 'by_a' cannot group by 'b2': it is not a key of group 'ab'"),
    ("from ab {", "from abc {", "by_a by", "group 'by_a' is built from unknown group 'abc' (groups: ab, by_a)"),
    ("let n = count(true)", "let n = x", "x\n", "'x' is a per-row quantity; in group 'ab' use it inside a reduction"),
    ("let a_total = sum(total)", "let a_total = sum(y)", "y)\n  let a_groups",
     "group 'by_a' reduces over the groups of 'ab'; 'y' is not one of its values (reduce it in group 'ab' first)"),
    ("let avg = mean(x)", "let avg = mean(total)", "total)\n  let first_x",
     "'total' is a value of group 'ab' itself; a reduction runs over the group's rows"),
    ("metric a_sum = sum(by_a.a_total)", "metric a_sum = sum(by_a.a_total + n)", "sum(by_a",
     "sum() mixes values of groups 'ab', 'by_a'; reduce one group at a time"),
    ("metric a_sum = sum(by_a.a_total)", "metric a_sum = sum(y + n)", "y + n",
     "sum() mixes per-row 'y' with values of group 'ab'"),
    ("metric a_sum = sum(by_a.a_total)", "metric a_sum = n", "n\n}",
     "'n' is a per-group value of 'ab'; use it inside a reduction"),
    ("metric a_sum = sum(by_a.a_total)", "metric a_sum = y", "y\n}", "'y' is a per-row quantity; use it inside a reduction"),
    ("metric a_sum = sum(by_a.a_total)", "metric a_sum = sum(by_a.nope)", "by_a.nope",
     "group 'by_a' has no value 'nope'; its keys and values: a, a_total, a_groups, a_last"),
    ("stage s = x + r", "stage s = x + n", "n\n}", "'n' is a per-group value of 'ab'; rows cannot read group values"),
    ("stage s = x + r", "stage s = sum(x)", "sum(x)\n",
     "'sum' reduces over rows or groups and is only allowed in a group's lets or a design metric"),
    ("stage s = x + r", "state s = x then x", "s = x then", "state 's' is not allowed in a rows block"),
    ("column on: bool", "column on: text", "text", "unknown column type 'text'; expected int, real or bool"),
    ("column on: bool", "column a: bool", "a: bool", "column 'a' is declared more than once in input 't'"),
    ("input t: table", "input t: yaml", "yaml", "unknown input kind 'yaml'; expected table"),
    ("param scale = 2.0 in [0, 10]", "param scale = 2.0 in [0, 10]\nlet k = x", "x\ninput",
     "'x' is a table column, but global let 'k' must be constant across rows and trials"),
    ("design other { metric tot = sum(x) }", "design other { let q = 1 metric tot = sum(x) }", "q = 1",
     "design 'other': in a table spec designs hold metrics only"),
    ("design other { metric tot = sum(x) }", "design other { show w from 0 to 1 metric tot = sum(x) }", "w from",
     "design 'other': in a table spec designs hold metrics only"),
    ("design other {", "measured m { design d config scale observe total_y }\ndesign other {", "m {",
     "measured tables need a spec without a rows block"),
    ("metric max_s = max_over(s)", "metric max_s = max_over(end)", "end)",
     "'end' is a schedule time; a table spec has no schedule"),
    ('case "double" { scale = 4 }', 'case "double" { scal = 4 }', "scal =",
     "case 'double' sets 'scal', which is not a param; did you mean 'scale'?"),
    ('case "double" { scale = 4 }', 'case "double" { scale = 40 }', "40",
     "40 is outside the declared range [0, 10] of 'scale'"),
    ('case "double" { scale = 4 }', 'case "double" { scale = true }', "true }", "param 'scale' is real; set it to a number"),
    ('case "none" { scale = 0 }', 'case "double" { scale = 0 }', '"double" { scale = 0',
     "case 'double' appears more than once in cases 'c'"),
    ('case "none" { scale = 0 }', 'case "none" { scale = 0, scale = 1 }', "scale = 1",
     "'scale' is set more than once in case 'none'"),
])
def test_table_spec_errors(cli, tmp_path, old, new, at, message):
    text = replace_once(TABLE_SPEC, old, new)
    check_error(cli, write(tmp_path, text), text, at, message)


LOOP_OK = "loop f(a) { state n = a then n - 1 while n > 0 return sum(n) }\n"
USE = "layers l in range(2) { let x = f(1) }\ndesign d { metric m = sum(x) }\n"


@pytest.mark.parametrize("text, at, message", [
    ("spec s\ninput t: table { column k: int }\nlayers l in range(2) { let x = 1 }\ndesign d { metric m = sum(x) }\n",
     "t: table", "input 't' is not read: add a rows block"),
    ("spec s\ninput t: table { column k: int }\nrows r in t { let x = k }\nlayers l in range(2) { let y = 1 }\n"
     "design d { metric m = sum(x) }\n", "rows r", "a spec iterates either over layers or over the rows of a table"),
    ("spec s\ninput t: table { column k: int }\ninput u: table { column k: int }\nrows r in t { let x = k }\n"
     "design d { metric m = sum(x) }\n", "u: table", "a spec reads at most one input table"),
    ("spec s\nlayers l in range(2) { let x = 1 }\ngroup g by k { let y = 1 }\ndesign d { metric m = sum(x) }\n",
     "g by", "group 'g' needs a table"),
    ("spec s\nloop f(a) { state n = a then n - 1 return sum(n) }\n" + USE, "f(a)", "loop 'f' needs a 'while CONDITION'"),
    ("spec s\nloop f(a) { state n = a then n - 1 while n > 0 while n > 1 return sum(n) }\n" + USE,
     "while n > 1", "loop 'f' has more than one 'while'"),
    ("spec s\n" + LOOP_OK + "layers l in range(2) { let x = f(1, 2) }\ndesign d { metric m = sum(x) }\n",
     "f(1, 2)", "loop 'f' takes 1 argument (a), got 2"),
    ("spec s\nloop f(a) { state n = a then n - 1 while n + 1 return sum(n) }\n" + USE,
     "+ 1", "the 'while' of loop 'f' must be a condition"),
    ("spec s\nloop f(a) { state n = a then n - 1 while n > 0 return n }\n" + USE,
     "n }", "'n' changes at every step; use it inside a reduction"),
    ("spec s\nloop f(a) { state n = a then n - 1 while n > 0 let q = sum(n) return sum(n) }\n" + USE,
     "sum(n) return", "'sum' reduces over the steps of a loop and is only allowed in its 'return'"),
    ("spec s\nloop f(a) { state n = a then n - 1 while n > 0 return sum(l) }\n" + USE,
     "l) }", "'l' is a per-layer quantity; the result of loop 'f' cannot read it"),
    ("spec s\n" + LOOP_OK + "let c = f(2)\nlayers l in range(2) { let x = 1 }\ndesign d { metric m = sum(x) }\n",
     "f(2)", "loop 'f' runs once per layer and trial; it cannot be called in global let 'c'"),
    ("spec s\n" + LOOP_OK + "loop g(a) { state n = a then f(n) while n > 0 return sum(n) }\n"
     "layers l in range(2) { let x = g(1) }\ndesign d { metric m = sum(x) }\n",
     "f(n)", "a loop cannot call a loop ('f' inside the next value of state 'n' in loop 'g')"),
    ("spec s\n" + LOOP_OK + "layers l in range(2) { let x = f }\ndesign d { metric m = sum(x) }\n",
     "f }", "'f' is a loop; call it with arguments"),
])
def test_loop_and_input_errors(cli, tmp_path, text, at, message):
    check_error(cli, write(tmp_path, text), text, at, message)


def test_a_loop_that_never_ends_is_a_user_error(cli, tmp_path):
    spec = ("spec s\nloop spin(a) { state n = a then n + 1 while n > 0 return count(true) }\n"
            "layers l in range(1) { let x = spin(1) }\ndesign d { metric m = sum(x) }\n")
    path = write(tmp_path, spec)
    r = cli("eval", path, "--trials", "1")
    assert r.code == 2
    assert r.err.splitlines()[0] == (f"{path}:2:6: error: loop spin ran 100000 steps without its 'while' failing "
                                     "(check its 'while' condition)")
