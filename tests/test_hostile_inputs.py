"""Hostile and broken inputs end cleanly: input files (YAML tags, billion laughs, deep
nesting, huge numbers, out-of-range table cells), output paths, sizes, special files,
Ctrl-C, and a compile cache that never reuses another file's simulator."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT, run_subprocess

SPECS = ROOT / "specs"
CV = str(SPECS / "cv_demo.spt")
SELFSPEC = str(SPECS / "selfspec.spt")
TRACE_SPEC = str(SPECS / "spatten_trace.spt")
CHUNK = str(SPECS / "chunk_attention.spt")
EX = ROOT / "examples"
SELF_INPUTS = ["--input", f"model={EX / 'selfspec' / 'model.yaml'}",
               "--input", f"hardware={EX / 'selfspec' / 'hardware.yaml'}"]


def assert_clean(r, *fragments: str) -> None:
    """Exit 2, no traceback, every fragment in stderr."""
    assert r.code == 2, (r.code, r.err[-2000:])
    assert "Traceback" not in r.err, r.err[-2000:]
    for f in fragments:
        assert f in r.err, (f, r.err[-2000:])


def stats(cli, path: Path):
    """eval of selfspec with `path` as its stats input."""
    return cli("eval", SELFSPEC, *SELF_INPUTS, "--input", f"stats={path}")


# ---------------------------------------------------------------- YAML and JSON files


def test_yaml_python_tag_refused_with_position(cli, tmp_path):
    canary = tmp_path / "PWNED"
    f = tmp_path / "stats.yaml"
    f.write_text(f'k: !!python/object/apply:os.system ["touch {canary}"]\nhistogram: {{0: 1.0}}\n')
    r = stats(cli, f)
    assert_clean(r, f"{f}: line 1: error: invalid YAML at column 4: could not determine a constructor for the tag "
                    "'tag:yaml.org,2002:python/object/apply:os.system'")
    assert not canary.exists()


def test_billion_laughs_refused_quickly(cli, tmp_path):
    # 10 levels of 10 aliases each: 10**10 values if expanded.
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 10)]
    f = tmp_path / "lol.yaml"
    f.write_text("\n".join(lines) + "\n")
    start = time.process_time()
    r = stats(cli, f)
    assert time.process_time() - start < 30  # a bound, not a speed target: expansion would take hours
    assert_clean(r, f"{f}: line 6: error: invalid YAML at column", "expands to more than 1,000,000 values")


def test_yaml_nested_20000_deep(cli, tmp_path):
    f = tmp_path / "deep.yaml"
    f.write_text("k: 4\nhistogram: " + "[" * 20000 + "]" * 20000 + "\n")
    r = stats(cli, f)
    assert_clean(r, f"{f}: line 2: error: invalid YAML at column 211: nested more than 200 levels deep")


def test_json_nested_100000_deep(cli, tmp_path):
    f = tmp_path / "deep.json"
    f.write_text('{"k": 4, "histogram": ' + "[" * 100000 + "]" * 100000 + "}")
    r = stats(cli, f)
    # The 201st bracket: the mapping, then 200 lists; column 23 is the first '['.
    assert_clean(r, f"{f}: line 1: error: invalid JSON: nested more than 200 levels deep (column {23 + 199})")


def test_json_brackets_inside_strings_do_not_count(tmp_path):
    from spattenc.run.inputs import load_data

    f = tmp_path / "s.json"
    f.write_text(json.dumps({"k": "[" * 500 + '\\"{'}))
    assert load_data(str(f)) == {"k": "[" * 500 + '\\"{'}


def test_histogram_key_of_5000_digits(cli, tmp_path):
    f = tmp_path / "stats.json"
    f.write_text('{"k": 4, "histogram": {"0": 0.5, "' + "9" * 5000 + '": 0.5}}')
    r = stats(cli, f)
    assert_clean(r, "is not a 64-bit integer", "(5000 characters)")
    assert len(r.err) < 400  # the key is shortened, not printed whole


def test_yaml_integer_of_5000_digits(cli, tmp_path):
    f = tmp_path / "stats.yaml"
    f.write_text("k: " + "9" * 5000 + "\nhistogram: {0: 1.0}\n")
    assert_clean(stats(cli, f), f"{f}: line 1: error: invalid YAML at column 4: integer of 5000 characters is too long")


def test_yaml_integer_beyond_64_bits(cli, tmp_path):
    f = tmp_path / "stats.yaml"
    f.write_text("k: " + "9" * 30 + "\nhistogram: {0: 1.0}\n")
    assert_clean(stats(cli, f), f"{f}: k: error: expected a 64-bit integer, got 999999999999999999999999999999")


# ---------------------------------------------------------------- CSV tables


def _trace(tmp_path: Path, column: str, value: str) -> Path:
    """examples/spatten/small.csv with one cell of its first data row replaced."""
    rows = list(csv.reader((EX / "spatten" / "small.csv").open(newline="")))
    rows[1][rows[0].index(column)] = value
    out = tmp_path / f"{column}.csv"
    with out.open("w", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return out


@pytest.mark.parametrize("column, value, message", [
    ("key_fetch_num", "-5", "key_fetch_num: error: must be at least 0, got -5"),
    ("sentence_length_L", "-1", "sentence_length_L: error: must be at least 0, got -1"),
    ("embedding_length_D", "0", "embedding_length_D: error: must be greater than 0, got 0"),
    ("embedding_length_D", "0.0", "embedding_length_D: error: must be greater than 0, got 0"),
    ("key_fetch_num", "1e30", "key_fetch_num: error: expected a 64-bit integer, got '1e30'"),
    ("key_fetch_num", "9223372036854775808", "key_fetch_num: error: expected a 64-bit integer"),
    ("key_fetch_num", "=cmd|' /C calc'!A0", "key_fetch_num: error: expected an integer, got \"=cmd|' /C calc'!A0\""),
    ("quant_key_bit", "-2", "quant_key_bit: error: must be at least -1, got -2"),
])
def test_trace_cells_checked_against_declared_bounds(cli, tmp_path, column, value, message):
    f = _trace(tmp_path, column, value)
    r = cli("eval", TRACE_SPEC, "--input", f"trace={f}")
    assert_clean(r, f"{f}:2: {message}")


def test_trace_bounds_accept_the_shipped_traces(cli):
    for f in sorted((EX / "spatten").glob("*.csv")):
        r = cli("eval", TRACE_SPEC, "--input", f"trace={f}", "--json")
        assert r.code == 0, (f, r.err)


def test_column_bound_syntax_and_errors(tmp_path):
    from spattenc.driver import front_end
    from spattenc.ir.errors import SpecError

    base = (SPECS / "spatten_trace.spt").read_text()
    ok = base.replace("column topk: int >= -1", "column topk: int in [-1, 1 + 1]")
    assert "in [-1, 1 + 1]" in ok
    front_end(ok, "ok.spt")
    for bad, message in [
        ("column topk: int >= num_multipliers", "a literal number is required here"),
        ("column topk: int in [3, 1]", "the bound of column 'topk' is empty: [3, 1]"),
        ("column if_topk: bool >= 0", "a bound needs a numeric column; 'if_topk' is a bool"),
    ]:
        text = base.replace("column topk: int >= -1", bad) if "topk:" in bad else \
            base.replace("column if_topk: bool", bad)
        with pytest.raises(SpecError) as e:
            front_end(text, "bad.spt")
        assert message in e.value.message


@pytest.mark.parametrize("value", ["0", "-0.5", "0.0"])
def test_measured_latency_must_be_positive(cli, tmp_path, value):
    src = EX / "chunk_attention" / "sweep_native.csv"
    rows = list(csv.reader(src.open(newline="")))
    rows[2][rows[0].index("latency_ms")] = value
    f = tmp_path / "m.csv"
    with f.open("w", newline="") as fh:
        csv.writer(fh).writerows(rows)
    for command in (["eval", CHUNK, "--measured", str(f)],
                    ["fit", CHUNK, "--measured", str(f), "--params", "mem_eff"]):
        r = cli(*command)
        assert_clean(r, f"{f}: line 3, column 'latency_ms': error: a measured value must be greater than 0, "
                        f"got {value!r}")


def test_measured_formula_cell_is_data(cli, tmp_path):
    src = EX / "chunk_attention" / "sweep_native.csv"
    rows = list(csv.reader(src.open(newline="")))
    rows[1][rows[0].index("latency_ms")] = "=1+2"
    f = tmp_path / "m.csv"
    with f.open("w", newline="") as fh:
        csv.writer(fh).writerows(rows)
    assert_clean(cli("eval", CHUNK, "--measured", str(f)),
                 f"{f}: line 2, column 'latency_ms': error: expected a number, got '=1+2'")


# ---------------------------------------------------------------- special and huge files


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "pipe.spt"
    os.mkfifo(path)
    return path


def test_spec_special_files(cli, fifo):
    for path in ("/dev/zero", str(fifo)):
        r = cli("check", path)
        assert_clean(r, f"error: {path}: is not a regular file (a device, FIFO or socket); only regular files are read")


def test_input_special_files(cli, fifo):
    r = cli("eval", SELFSPEC, "--input", "model=/dev/zero", *SELF_INPUTS[2:],
            "--input", f"stats={EX / 'selfspec' / 'stats.json'}")
    assert_clean(r, "/dev/zero: error: is not a regular file")
    assert_clean(cli("eval", TRACE_SPEC, "--input", f"trace={fifo}"), f"{fifo}: error: is not a regular file")
    assert_clean(cli("eval", CHUNK, "--measured", str(fifo)), f"{fifo}: error: is not a regular file")


def test_size_limit_named_and_raised(cli, tmp_path, monkeypatch):
    big = tmp_path / "big.spt"
    text = (SPECS / "cv_demo.spt").read_text()
    big.write_text(text + "#" * (200 * 1024 * 1024))  # 200 MiB of comment
    r = cli("check", str(big))
    assert_clean(r, f"error: {big}: spec file is 200 MiB, over the 64 MiB limit (raise it with "
                    "SPATTENC_MAX_FILE_SIZE, e.g. SPATTENC_MAX_FILE_SIZE=1GiB)")
    small = tmp_path / "cv.spt"
    small.write_text(text)
    monkeypatch.setenv("SPATTENC_MAX_FILE_SIZE", "1KiB")
    assert_clean(cli("check", str(small)), "over the 1 KiB limit")
    monkeypatch.setenv("SPATTENC_MAX_FILE_SIZE", "1MiB")
    assert cli("check", str(small)).code == 0
    monkeypatch.setenv("SPATTENC_MAX_FILE_SIZE", "lots")
    assert_clean(cli("check", str(small)), "error: $SPATTENC_MAX_FILE_SIZE=lots: expected a size")


# ---------------------------------------------------------------- output paths


@pytest.fixture
def a_file(tmp_path):
    f = tmp_path / "afile"
    f.write_text("keep me\n")
    return f


OUT_COMMANDS = [("eval", "--out"), ("report", "--out"), ("compile", "-o")]


@pytest.mark.parametrize("command, option", OUT_COMMANDS)
def test_out_naming_a_file_or_device(cli, a_file, command, option):
    for path, what in ((str(a_file), "exists and is a file"), ("/dev/null", "exists and is not a folder"),
                       ("/dev/full", "exists and is not a folder")):
        r = cli(command, CV, option, path)
        assert_clean(r, f"error: {option} {path}: {what}")
    assert a_file.read_text() == "keep me\n"


@pytest.mark.parametrize("command, option", OUT_COMMANDS)
def test_out_under_a_file(cli, a_file, command, option):
    r = cli(command, CV, option, str(a_file / "sub" / "dir"))
    assert_clean(r, f"error: {option} {a_file / 'sub' / 'dir'}: {a_file} is a file, so no folder can be created under it")


@pytest.mark.parametrize("command, option", OUT_COMMANDS)
def test_out_in_read_only_folder(cli, tmp_path, command, option):
    if os.geteuid() == 0:
        pytest.skip("runs as root, who may write in a read-only folder (the path-under-a-file case covers the code)")
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        assert_clean(cli(command, CV, option, str(ro / "out")), f"{option} {ro / 'out'}: cannot write in {ro}")
    finally:
        ro.chmod(0o755)


def test_stdout_on_a_full_device():
    with open("/dev/full", "w") as full:
        p = subprocess.run([sys.executable, "-m", "spattenc", "eval", CV], stdout=full, stderr=subprocess.PIPE,
                           text=True, timeout=300, cwd=ROOT)
    assert p.returncode == 2
    assert p.stderr == "spattenc: error: cannot write the output: No space left on device\n"


def test_failed_eval_leaves_no_out_folder(cli, tmp_path):
    out = tmp_path / "new" / "out"
    r = cli("eval", CV, "--set", "predictor_recall=1.5", "--out", str(out), "--plots")
    assert_clean(r, "outside the declared range")
    assert list(tmp_path.iterdir()) == []


def test_eval_out_replaces_files_in_an_existing_folder(cli, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("x")
    (out / "results.json").write_text("old")
    assert cli("eval", CV, "--out", str(out)).code == 0
    assert sorted(p.name for p in out.iterdir()) == ["mine.txt", "results.csv", "results.json"]
    assert json.loads((out / "results.json").read_text())["spec"] == "cv_demo"


# ---------------------------------------------------------------- sizes


def test_trials_too_many(cli):
    r = cli("eval", CV, "--trials", "2" + "0" * 30)
    assert_clean(r, "argument --trials: 200000000000... (31 digits) trials is more than the 1,000,000,000 a run can do")
    assert_clean(cli("eval", CV, "--trials", "2e30"), "argument --trials: expected a positive integer, got '2e30'")
    assert_clean(cli("report", CV, "--out", "x", "--trials", str(10**9 + 1)), "more than the 1,000,000,000")


def test_trials_refused_by_memory_budget_when_all_are_held(cli):
    # cv_demo has 7 metrics: 900e6 trials hold at least 8 * 7 * 900e6 bytes = 46.9 GiB at once.
    r = cli("eval", CV, "--rng", "legacy", "--trials", "900000000")
    assert_clean(r, "error: --trials 900,000,000 with --rng legacy: all trials are held at once, at least "
                    "46.9 GiB for 7 values per trial; --mem-budget 2 GiB fits at most 38,347,922 trials")
    # --numeric fixed keeps every trial too: 8 * 7 * 100e6 bytes = 5.22 GiB.
    r = cli("eval", CV, "--numeric", "fixed", "--trials", "100000000")
    assert_clean(r, "error: --trials 100,000,000 with --numeric fixed: all trials are held at once, at least 5.22 GiB")
    # --measured: every row's trials at once (chunk_attention: 18 rows of the native sweep).
    r = cli("eval", CHUNK, "--measured", str(EX / "chunk_attention" / "sweep_native.csv"), "--trials", "100000000")
    assert_clean(r, "error: --trials 100,000,000 with --measured: all trials are held at once")


def test_vectors_too_many(cli):
    assert_clean(cli("verify", CV, "--vectors", "100000000000"),
                 "argument --vectors: 100000000000 vectors is more than the 100,000 that fit")


def test_mem_budget_overflow(cli):
    assert_clean(cli("eval", CV, "--mem-budget", "1e999"),
                 "argument --mem-budget: size '1e999' is too large (at most 2**63 bytes)")


def test_sweep_too_large_for_plots_refused_up_front(cli, tmp_path):
    r = cli("eval", CV, "--sweep", "predictor_recall=0:1:100000", "--sweep", "predictor_precision=0.5:1:100000",
            "--plots", "--out", str(tmp_path / "o"))
    assert_clean(r, "10,000,000,000 points")
    assert not (tmp_path / "o").exists()


# ---------------------------------------------------------------- Ctrl-C


def _interrupt(tmp_path: Path, pause: str, *args: str):
    """Run spattenc with the test hook pausing it at `pause` (output staged, not yet moved),
    send SIGINT there, and return (exit code, stderr after the pause)."""
    env = dict(os.environ, SPATTENC_TEST_PAUSE=pause)
    # SIGINT as a terminal delivers it, even when the tests run where it is ignored (a
    # background job of a script ignores it, and a child would inherit that and hang).
    p = subprocess.Popen([sys.executable, "-m", "spattenc", *args], cwd=tmp_path, env=env, text=True,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        before = []
        for line in p.stderr:
            if line.startswith(f"paused at {pause}"):
                break
            before.append(line)
        else:
            pytest.fail("the command ended before the pause point:\n" + "".join(before))
        assert any(n.name.startswith(".") for n in tmp_path.rglob("*")), "no staging folder while paused"
        p.send_signal(signal.SIGINT)
        _, rest = p.communicate(timeout=300)
        return p.returncode, rest
    finally:
        if p.poll() is None:
            p.kill()


#: A small spec for the interrupted commands: random draws (histograms), a schedule
#: (Gantt), a fixed-point form (rtl/ in the compiled tree), and nothing slow to compute
#: before the pause (cv_demo's closed forms and plots take seconds each time).
SMALL = """spec interrupted "a small spec to interrupt"
trials 20
fixed(frac_bits=16)
param p = 0.5 in [0, 1]
param n: int = 4 in [1, 8]
layers l in range(n) {
  random k ~ binomial(8, p)
  stage a = 1 + k
  stage b = 2 + p
}
design d "D" {
  schedule a -> b
  metric total = last(end)
}
"""


@pytest.fixture(scope="module")
def small_spec(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("small") / "interrupted.spt"
    path.write_text(SMALL, encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("pause, args", [
    ("compile", ("compile", "SPEC", "-o", "gen/x")),
    ("out", ("eval", "SPEC", "--plots", "--out", "new/plots")),
    ("out", ("report", "SPEC", "--out", "new/report")),
])
def test_ctrl_c_exits_130_and_leaves_nothing(tmp_path, pause, args, small_spec):
    code, err = _interrupt(tmp_path, pause, *(small_spec if a == "SPEC" else a for a in args))
    assert (code, err) == (130, "spattenc: interrupted\n")
    assert list(tmp_path.iterdir()) == []  # no staging folder, no partial output, no parent made


def test_ctrl_c_keeps_an_existing_out_folder_as_it_was(tmp_path, small_spec):
    out = tmp_path / "plots"
    out.mkdir()
    (out / "results.json").write_text("before")
    code, err = _interrupt(tmp_path, "out", "eval", small_spec, "--plots", "--out", "plots")
    assert code == 130
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["plots", "results.json"]
    assert (out / "results.json").read_text() == "before"


# ---------------------------------------------------------------- the compile cache


def test_cache_keyed_on_the_spec_file_name(tmp_path, cli, monkeypatch):
    """A hostile file name and an innocent one with the same text get separate simulators,
    each with its own name in the header."""
    text = (SPECS / "cv_demo.spt").read_text()
    hostile = tmp_path / 'x"y.spt'
    plain = tmp_path / "plain.spt"
    hostile.write_text(text)
    plain.write_text(text)
    env_cache = tmp_path / "cache"
    monkeypatch.setenv("SPATTENC_CACHE", str(env_cache))
    monkeypatch.chdir(tmp_path)
    for f in (hostile, plain):
        r = cli("eval", str(f), "--json", "--trials", "2")
        assert r.code == 0, r.err
    sims = sorted(env_cache.glob("*/sim.py"))
    assert len(sims) == 2  # one simulator per file name: the second eval did not reuse the first's
    heads = [s.read_text(encoding="utf-8")[:1000] for s in sims]
    plain_heads = [h for h in heads if "plain.spt" in h]
    assert len(plain_heads) == 1 and "x" not in plain_heads[0].split("plain.spt")[0][-3:]
    assert 'y.spt' not in plain_heads[0]


def test_cache_key_changes_with_package_and_name():
    from spattenc.driver import cache_key, load

    c = load(CV)
    assert cache_key(c, "sim.py", "a.spt") != cache_key(c, "sim.py", "b.spt")
    assert cache_key(c, "sim.py", "a.spt") != cache_key(c, "fixed_sim.py", "a.spt")
    assert cache_key(c, "sim.py", "a.spt") == cache_key(c, "sim.py", "a.spt")


def test_cli_runs_as_a_subprocess_without_traceback_on_bad_out(a_file):
    r = run_subprocess("eval", CV, "--out", str(a_file))
    assert_clean(r, f"error: --out {a_file}: exists and is a file")


def test_package_digest_follows_the_templates(tmp_path, monkeypatch):
    """A template edited in a source checkout (templates/ beside the package) gives a new
    cache key, so no simulator rendered by the old template is reused."""
    import shutil

    from spattenc import driver
    from spattenc.backends.templates_env import template_dir

    copy = tmp_path / "templates"
    shutil.copytree(template_dir(), copy)
    monkeypatch.setattr(driver, "template_dir", lambda: copy)
    before = driver.package_digest()
    (copy / "sim.py.j2").write_text((copy / "sim.py.j2").read_text() + "\n# edited\n")
    assert driver.package_digest() != before
