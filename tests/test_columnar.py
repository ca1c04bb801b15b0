"""Columnar sweep results: the streamed outputs equal the per-point engine's (bytes of
tests/data/sweeps_before, written before the change), Parquet round-trips every column,
the schedulers agree bit for bit, and grids too large for memory are refused up front."""

from __future__ import annotations

import gzip
import json
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from spattenc import api
from spattenc import cli
from spattenc import driver as compiler
from spattenc.run import schedule
from spattenc.run import sweep as sweeps

ROOT = Path(__file__).resolve().parents[1]
BEFORE = ROOT / "tests" / "data" / "sweeps_before"
CASES = [line.split(None, 1) for line in (BEFORE / "cases.txt").read_text().splitlines() if line.strip()]


def _run(capsys, argv: list[str]) -> tuple[int, str, str]:
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def _argv(args: str) -> list[str]:
    """The eval command of a cases.txt line (its paths are relative to the repository)."""
    return ["eval", *shlex.split(args)]


@pytest.mark.parametrize("name,args", CASES, ids=[c[0] for c in CASES])
def test_streamed_outputs_equal_the_per_point_engine(capsys, monkeypatch, name, args):
    monkeypatch.chdir(ROOT)  # the documents name their input files as given
    for fmt in ("csv", "json"):
        ref = BEFORE / f"{name}.{fmt}"
        if not ref.exists():
            ref = BEFORE / f"{name}.{fmt}.gz"
            if not ref.exists():
                continue
            want = gzip.decompress(ref.read_bytes()).decode()
        else:
            want = ref.read_text()
        code, out, err = _run(capsys, _argv(args) + [f"--{fmt}"])
        assert code == 0, err
        assert out == want, f"{name} --{fmt} differs from the per-point engine's output"


ZIP = ["eval", "specs/cv_demo.spt", "--sweep", "predictor_recall=0.8:1:5", "--sweep", "num_layers=2,4",
       "--set", "initial_seq_len=64", "--trials", "30", "--seed", "9"]


def test_parquet_round_trips_every_column(capsys, monkeypatch, tmp_path):
    import pyarrow.parquet as pq

    monkeypatch.chdir(ROOT)
    target = tmp_path / "grid.parquet"
    code, _, err = _run(capsys, ZIP + ["--parquet", "--out", str(target)])
    assert code == 0, err
    table = pq.read_table(target)
    want = (BEFORE / "cv_cli_zip.csv").read_text().splitlines()
    header = want[0].split(",")
    assert table.column_names == header
    rows = [line.split(",") for line in want[1:]]
    assert table.num_rows == len(rows) == 10
    for j, name in enumerate(header):
        col = table.column(name).to_pylist()
        kind = str(table.schema.field(name).type)
        # ints stay int64 (point, num_layers), the rest float64: each value exactly the CSV's repr
        assert kind == ("int64" if name in ("point", "num_layers") else "double"), name
        assert [repr(v) for v in col] == [r[j] for r in rows], name
    meta = {k.decode(): json.loads(v) for k, v in table.schema.metadata.items()}
    assert meta["spec"] == "cv_demo" and meta["seed"] == 9 and meta["rng"] == "pcg64" and meta["trials"] == 30
    assert meta["params"]["initial_seq_len"] == 64 and meta["sweep"]["groups"] == [["predictor_recall"], ["num_layers"]]
    assert meta["spattenc_version"]
    # --out DIR --parquet: DIR/results.parquet, and only that
    folder = tmp_path / "out"
    assert _run(capsys, ZIP + ["--parquet", "--out", str(folder)])[0] == 0
    assert sorted(p.name for p in folder.iterdir()) == ["results.parquet"]
    assert pq.read_table(folder / "results.parquet").equals(table.replace_schema_metadata(None).cast(
        pq.read_table(folder / "results.parquet").schema))


def test_parquet_needs_a_destination(capsys):
    code, _, err = _run(capsys, ZIP + ["--parquet"])
    assert code == 2 and "--parquet needs --out DIR" in err and "Traceback" not in err


def _cli(*args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "spattenc", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def test_schedulers_give_identical_csvs(capsys, monkeypatch):
    # A random model, trial blocks and several tasks: every scheduler writes the same bytes.
    # Generous timeouts and no timing: the machine running the tests may be loaded.
    from distributed import LocalCluster

    argv = ["eval", "specs/cv_demo.spt", "--sweep", "pr_coarse", "--trials", "40", "--csv"]
    outs = {}
    # The schedulers that start no worker process run here; the others from a fresh process.
    monkeypatch.chdir(ROOT)
    for scheduler in ("inline", "threads"):
        code, out, err = _run(capsys, [*argv, "--scheduler", scheduler])
        assert code == 0, (scheduler, err)
        outs[scheduler] = out
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=True, host="127.0.0.1", scheduler_port=0,
                      dashboard_address=None, timeout=300) as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tcp://127.0.0.1:")
        for scheduler in ("processes", "local:2", address):
            r = _cli(*argv, "--scheduler", scheduler)
            assert r.returncode == 0, (scheduler, r.stderr)
            outs[scheduler] = r.stdout
    assert len(outs["inline"].splitlines()) == 101
    for scheduler, out in outs.items():
        assert out == outs["inline"], scheduler


def test_a_cluster_takes_over_where_this_process_stopped(monkeypatch):
    # local:N (forked workers) evaluates the first chunk here, then starts its cluster and
    # hands the rest out; a cluster that starts elsewhere (tcp://, spawned workers: feigned
    # here) is started while this process evaluates chunks, until it is up.  Wherever the
    # hand-over falls, the chunks are the inline ones, in point order, value for value.
    monkeypatch.chdir(ROOT)
    run = api.Run(compiler.load("specs/cv_demo.spt"), sweep=["pr_coarse"], trials=3000)
    want = list(schedule.chunks(run.evaluation(), "inline"))
    for forks, overlap in ((True, True), (False, True), (False, False)):
        monkeypatch.setattr(schedule, "_forks", lambda scheduler, forks=forks: forks)
        got = list(schedule.chunks(run.evaluation(), "local:2", overlap=overlap))
        assert [c.lo for c in got] == sorted(c.lo for c in got) and got[-1].hi == want[-1].hi == 100
        a, b = sweeps.join_chunks(want), sweeps.join_chunks(got)
        assert a.columns.keys() == b.columns.keys()
        for key, column in a.columns.items():
            np.testing.assert_array_equal(b.columns[key], column, err_msg=f"{key} (forks={forks}, overlap={overlap})")
        if forks or not overlap:
            assert len(got) > 2  # the first chunk here, the rest as tasks


def test_tasks_cover_the_points_and_shrink_towards_the_end():
    class Ev:  # the two fields _ranges reads
        points, trials = 10_000, 1000
    for start in (0, 32, 9_999):
        ranges = schedule._ranges(Ev, 2, start)
        sizes = [hi - lo for lo, hi in ranges]
        assert ranges[0][0] == start and ranges[-1][1] == Ev.points
        assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:]))
        assert max(sizes) <= schedule._TASK_ELEMENTS // Ev.trials
        assert sizes[:-1] == sorted(sizes[:-1], reverse=True)
    assert sizes == [1]


def test_a_scheduler_option_is_checked(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(ZIP + ["--scheduler", "somewhere"])
    assert e.value.code == 2
    assert "expected inline, threads, processes, local:N or tcp://HOST:PORT" in capsys.readouterr().err


def test_without_dask_a_scheduler_is_a_clear_error(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.setitem(sys.modules, "dask", None)  # import dask now fails
    code, _, err = _run(capsys, ZIP + ["--scheduler", "threads", "--csv"])
    assert code == 2 and "needs Dask, which is not installed" in err and "pip install 'spattenc[dask]'" in err


HUGE = ["--sweep", "predictor_precision=0.5:1:100000", "--sweep", "predictor_recall=0:1:100000"]


@pytest.mark.parametrize("command", [["eval", "specs/cv_demo.spt", *HUGE, "--plots", "--out"],
                                     ["report", "specs/cv_demo.spt", *HUGE, "--out"]], ids=["plots", "report"])
def test_a_grid_too_large_for_memory_is_refused_before_any_work(capsys, monkeypatch, tmp_path, command):
    monkeypatch.chdir(ROOT)
    out = tmp_path / "out"
    code, stdout, err = _run(capsys, command + [str(out)])
    assert code == 2 and "Traceback" not in err
    assert "10,000,000,000 points" in err and "--mem-budget 2 GiB" in err and "--parquet" in err
    assert not out.exists()


def test_a_sweep_streams_within_a_small_memory_budget(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(ROOT)
    code, _, err = _run(capsys, ["eval", "specs/spatten_cascade.spt", "--sweep", "token_keep=0.1:1:400",
                                 "--sweep", "head_keep=0.1:1:250", "--mem-budget", "1MiB", "--csv",
                                 "--out", str(tmp_path)])
    assert code == 0, err
    lines = (tmp_path / "results.csv").read_text().splitlines()
    assert len(lines) == 100_001 and lines[-1].startswith("99999,1.0,1.0,")
    # the last point (no pruning) against the dense baseline: the same DRAM traffic and MACs
    # would need quantization off; with it on, SpAtten still fetches fewer key bits
    row = dict(zip(lines[0].split(","), lines[-1].split(",")))
    assert float(row["spatten.dram_mb.mean"]) < float(row["dense.dram_mb.mean"])


def test_number_text_is_pythons_repr_at_every_magnitude():
    from spattenc.present.writers import json_column, text_array

    rng = np.random.default_rng(5)
    x = rng.random(200_000) * 10.0 ** rng.integers(-12, 24, 200_000)
    x[::5] = np.round(x[::5], 3)  # integral and short values
    x[::7] *= -1
    special = [0.0, -0.0, 1.0, 1e-4, 9.999999999999999e-05, 1e16, 9999999999999998.0, 5e-324, 1.7976931348623157e308,
               float("nan"), float("inf"), -float("inf"), 0.1, 123456789012345.67]
    x = np.concatenate([x, special])
    assert text_array(x).to_pylist() == [repr(v) for v in x.tolist()]
    assert text_array(np.full(3, -0.0)).to_pylist() == ["-0.0"] * 3  # a constant column: one repr
    assert text_array(np.array([3, -7], dtype=np.int64)).to_pylist() == ["3", "-7"]
    assert text_array(np.array([True, False])).to_pylist() == ["true", "false"]
    assert json_column(np.array(special)) == [json.dumps(v) for v in special]
