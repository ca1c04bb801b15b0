"""Running a generated simulator over design-space points: sweep axes (declared in the
spec or given on the command line), chunked evaluation within a memory budget, and
per-point summaries (mean, population std, min, max over trials).

A sweep is a list of groups: the axes of a group are zipped (equal lengths), groups are
combined as a product with the last group varying fastest.  A declared `combine product`
sweep has one axis per group; `combine zip` puts all its axes in one group.  The cases of
a `cases` block are one zipped group too, with a label per point.

Every point draws from its own random stream (see `generators` in the generated sim.py),
so a point's results are those of a single-point run with the same seed and trials, and
do not depend on the chunk size, the memory budget or the other points.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import io
import math
import re
import threading
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import ModuleType

import numpy as np

from spattenc.run import progress as _progress
from spattenc.front.check import axis_values
from spattenc.driver import Compiled
from spattenc.ir.errors import SpecError, did_you_mean
from spattenc.ir.visit import const_value
from spattenc.files import human_size as _bytes
from spattenc.files import parse_size  # noqa: F401  (sweep.parse_size: the --mem-budget syntax)
from spattenc.run.loader import check_range, parse_value, portable_sim, rebuild_sim
from spattenc.run.meta import QuantityInfo, SpecInfo, spec_info

DEFAULT_MEM_BUDGET = 2 * 1024**3

# Elements (points x trials) of the first chunk, which also measures memory per element.
_CALIBRATION_ELEMENTS = 1 << 15
# Larger chunks stop paying off (the per-layer Python work is amortized long before) and
# only delay progress updates; smaller ones fit the cache better.
_MAX_CHUNK_ELEMENTS = 1 << 17
# Histograms keep at most this many samples per quantity.
MAX_KEPT_SAMPLES = 1 << 20


# ---------------------------------------------------------------- sweep description


@dataclass(frozen=True)
class Axis:
    """One swept param and its values, in order."""

    param: str
    values: tuple[float | int | bool, ...]


@dataclass(frozen=True)
class SweepSpec:
    """Points to evaluate: groups of zipped axes, combined as a product.

    `name` is the declared sweep's name (or "cli" for axes given only on the command
    line); `trials` is the declared sweep's trials, if any.  `labels` names each point
    of a `cases` block (then `name` is the block's)."""

    name: str
    title: str
    groups: tuple[tuple[Axis, ...], ...]
    trials: int | None = None
    labels: tuple[str, ...] | None = None

    @property
    def axes(self) -> tuple[Axis, ...]:
        return tuple(a for g in self.groups for a in g)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(g[0].values) for g in self.groups)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def combine(self) -> str:
        if len(self.groups) == 1 and len(self.groups[0]) > 1:
            return "zip"
        return "product"

    @property
    def params(self) -> list[str]:
        """The swept params, in column order."""
        return [a.param for a in self.axes]

    @functools.cached_property
    def _axis_arrays(self) -> dict[str, np.ndarray]:
        return {a.param: np.asarray(a.values, dtype=_dtype(a.values)) for a in self.axes}

    def columns(self, lo: int = 0, hi: int | None = None) -> dict[str, np.ndarray]:
        """Each swept param's value at points [lo, hi) (default: every point; point order:
        last group fastest), computed for that range only."""
        hi = self.size if hi is None else hi
        idx = np.unravel_index(np.arange(lo, hi), self.shape)
        arrays = self._axis_arrays
        return {a.param: arrays[a.param][idx[g]] for g, group in enumerate(self.groups) for a in group}

    def describe(self) -> dict:
        if self.labels is not None:
            return {"name": self.name, "title": self.title, "points": self.size, "cases": list(self.labels),
                    "params": [a.param for a in self.axes]}
        return {"name": self.name, "title": self.title, "combine": self.combine, "points": self.size,
                "axes": {a.param: list(a.values) for a in self.axes},
                "groups": [[a.param for a in g] for g in self.groups]}


def _dtype(values) -> type:
    """bool for booleans, int64 for ints, else float64 (numpy's view of the tuple, so long
    axes are not walked in Python)."""
    kind = np.asarray(values).dtype.kind
    return np.bool_ if kind == "b" else np.int64 if kind in "iu" else np.float64


def declared(compiled: Compiled, name: str) -> SweepSpec:
    """The spec's sweep `name` as a SweepSpec."""
    prog = compiled.program
    names = [s.name for s in prog.sweeps]
    if name not in names:
        hint = did_you_mean(name, names)
        have = f"; declared sweeps: {', '.join(names)}" if names else f"; spec '{prog.name}' declares no sweeps"
        raise SpecError(f"--sweep {name}: no sweep named '{name}'{hint}{have} "
                        "(or give axes as NAME=START:STOP:NUM or NAME=v1,v2,...)")
    sw = prog.sweep(name)
    axes = tuple(Axis(a.param, tuple(a.values)) for a in sw.axes)
    groups = (axes,) if sw.combine == "zip" else tuple((a,) for a in axes)
    return SweepSpec(sw.name, sw.title or sw.name, groups, sw.trials)


_RANGE = re.compile(r"^([^:]+):([^:]+):([^:]+)(?::(lin|log))?$")


def from_cli(compiled: Compiled, items: list[str]) -> SweepSpec | None:
    """Combine --sweep options: each is a declared sweep name, NAME=START:STOP:NUM
    (inclusive linspace; add :log for a geometric grid) or NAME=v1,v2,...; several
    options form a product, in the order given."""
    if not items:
        return None
    groups: list[tuple[Axis, ...]] = []
    names: list[str] = []
    trials = None
    seen: dict[str, str] = {}
    for item in items:
        if "=" not in item:
            sw = declared(compiled, item.strip())
            for g in sw.groups:
                for a in g:
                    _once(seen, a.param, item)
            groups += sw.groups
            names.append(sw.name)
            trials = sw.trials if trials is None else max(trials, sw.trials or 0)
            continue
        name, text = (x.strip() for x in item.split("=", 1))
        if name not in {p.name for p in compiled.program.params}:
            parse_value(compiled, name, text, "--sweep")  # raises: not a param (with a hint)
        _once(seen, name, item)
        ptype = compiled.program.param(name).type
        m = _RANGE.match(text)
        if m and ptype != "bool":
            try:
                start, stop, num = float(m[1]), float(m[2]), m[3].strip()
                num = int(num)
            except ValueError:
                raise SpecError(f"--sweep {item}: expected NAME=START:STOP:NUM with numbers and an integer NUM") from None
            if not (math.isfinite(start) and math.isfinite(stop)):
                raise SpecError(f"--sweep {item}: expected finite START and STOP")
            try:
                values = axis_values("geomspace" if m[4] == "log" else "linspace", [start, stop, num], ptype)
            except ValueError as e:
                raise SpecError(f"--sweep {item}: {e}") from None
            for v in values:
                check_range(compiled, name, v, f"--sweep {item}")
        else:
            parts = [p.strip() for p in text.split(",")]
            if not all(parts):
                raise SpecError(f"--sweep {item}: expected NAME=START:STOP:NUM or NAME=v1,v2,... (empty value)")
            values = [parse_value(compiled, name, p, "--sweep") for p in parts]
        groups.append((Axis(name, tuple(values)),))
        names.append(name)
    if len(items) == 1 and "=" not in items[0]:
        return sw  # the declared sweep itself
    return SweepSpec("cli", " x ".join(names), tuple(groups), trials)


def from_cases(compiled: Compiled, name: str, base: dict) -> tuple[SweepSpec, dict]:
    """The cases of the spec's `cases NAME` block as a zipped sweep, one point per case:
    a param a case sets takes that value, else its `base` (--set) value, else its default.
    Returns the sweep and `base` without the params the cases vary."""
    prog = compiled.program
    block = next((cs for cs in prog.cases if cs.name == name), None)
    if block is None:
        names = [cs.name for cs in prog.cases]
        hint = did_you_mean(name, names)
        have = f"; its cases: {', '.join(names)}" if names else f"; spec '{prog.name}' declares no cases"
        raise SpecError(f"--cases {name}: no cases block named '{name}'{hint}{have}")
    sets = [{st.name: const_value(st.value) for st in case.sets} for case in block.cases]
    varied = [p.name for p in prog.params if any(p.name in s for s in sets)] or [prog.params[0].name]
    axes = []
    for param in varied:
        fallback = base[param] if param in base else const_value(prog.param(param).default)
        axes.append(Axis(param, tuple(s.get(param, fallback) for s in sets)))
    sweep = SweepSpec(block.name, block.title or block.name, (tuple(axes),), None,
                      tuple(case.label for case in block.cases))
    return sweep, {k: v for k, v in base.items() if k not in varied}


def _once(seen: dict[str, str], param: str, item: str) -> None:
    if param in seen:
        raise SpecError(f"--sweep {item}: '{param}' is already swept by --sweep {seen[param]}")
    seen[param] = item


# ---------------------------------------------------------------- results


@dataclass
class Stats:
    """Per-point statistics over trials: arrays of shape (points,)."""

    mean: np.ndarray
    std: np.ndarray
    min: np.ndarray
    max: np.ndarray

    def point(self, i: int) -> dict:
        return {"mean": float(self.mean[i]), "std": float(self.std[i]),
                "min": float(self.min[i]), "max": float(self.max[i])}


STATS = ("mean", "std", "min", "max")


def stat_key(design: str | None, name: str, stat: str) -> str:
    """The column of a metric's (design.metric.stat) or a comparison's statistic (the
    comparison's name for its mean, name.stat for the others)."""
    if design is not None:
        return f"{design}.{name}.{stat}"
    return name if stat == "mean" else f"{name}.{stat}"


@dataclass
class Results:
    """Summaries of every point; with keep_samples (one point) the per-trial samples."""

    sweep: SweepSpec | None
    columns: dict[str, np.ndarray]
    points: int
    trials: int
    seed: int
    rng: str
    designs: dict[str, dict[str, Stats]]
    compares: dict[str, Stats]
    samples: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    compare_samples: dict[str, np.ndarray] = field(default_factory=dict)
    report: dict[str, np.ndarray] = field(default_factory=dict)  # report entry path -> its value per point
    events: list = field(default_factory=list)  # (design, layer, stage, start, end) of the recorded trial
    tables: dict = field(default_factory=dict)  # input name -> runtime.TableData the run read
    groups: dict = field(default_factory=dict)  # a table spec's single point: group -> {name: array}
    shows: list = field(default_factory=list)  # (design, layer, name, start, end, kind) of that trial
    chunks: int = 0
    chunk_points: int = 0
    mem_per_element: float = 0.0
    # What the run keeps besides the statistics (a single point): samples, the trial drawn
    # in the Gantt chart, and a table spec's per-group values of each block.
    keep_samples: bool = False
    record: int | None = None
    group_parts: list | None = None

    def stat_columns(self) -> dict[str, np.ndarray]:
        """Every statistic as a column (see stat_key), designs then comparisons."""
        out = {}
        for d, ms in self.designs.items():
            for m, st in ms.items():
                out.update({stat_key(d, m, s): getattr(st, s) for s in STATS})
        for c, st in self.compares.items():
            out.update({stat_key(None, c, s): getattr(st, s) for s in STATS})
        return out


# The hand-written bar is gone: progress.Progress (tqdm) replaces it; the name stays for callers.
Progress = _progress.Progress


@dataclass
class Chunk:
    """The results of points [lo, hi): their swept values and every statistic as columns
    (see stat_key), and their report entries (path -> object array) for a report spec."""

    lo: int
    hi: int
    columns: dict[str, np.ndarray]
    report: dict[str, np.ndarray] | None = None

    @property
    def size(self) -> int:
        return self.hi - self.lo


def _stats_of(values: np.ndarray, random: bool, k: int) -> tuple[np.ndarray, ...]:
    """(mean, population std, min, max) per point of one chunk's samples."""
    x = np.asarray(values, dtype=np.float64)
    if not random:
        v = np.broadcast_to(x, (k, x.shape[-1] if x.ndim == 2 else 1))[:, 0].copy()
        return v, np.zeros(k), v, v
    mean = x.mean(axis=1)
    std = x.std(axis=1)
    return mean, std, x.min(axis=1), x.max(axis=1)


class _Acc:
    """Merges per-block statistics of a chunk (Chan et al.'s parallel variance)."""

    def __init__(self):
        self.n = 0
        self.mean = self.m2 = self.lo = self.hi = self.std = None

    def add(self, n: int, mean, std, lo, hi):
        m2 = std * std * n
        if self.mean is None:  # one block: its statistics exactly as computed
            self.n, self.mean, self.m2, self.lo, self.hi, self.std = n, mean, m2, lo, hi, std
            return
        self.std = None
        tot = self.n + n
        delta = mean - self.mean
        self.mean = self.mean + delta * (n / tot)
        self.m2 = self.m2 + m2 + delta * delta * (self.n * n / tot)
        self.n = tot
        self.lo, self.hi = np.minimum(self.lo, lo), np.maximum(self.hi, hi)

    def result(self):
        std = self.std if self.std is not None else np.sqrt(self.m2 / self.n)
        return self.mean, std, self.lo, self.hi


@dataclass
class Evaluation:
    """What evaluating any range of a run's points needs: the simulator, the base params,
    the sweep and the run settings.  Every point draws from its own stream, so a range's
    results do not depend on how the points are split (chunks, Dask tasks, workers).
    `info` says which metrics and comparisons depend on a draw (and names the table a
    table spec reads)."""

    sim: ModuleType
    info: SpecInfo
    base: dict
    sweep: SweepSpec | None
    trials: int
    seed: int
    rng: str = "pcg64"
    mem_budget: int = DEFAULT_MEM_BUDGET
    tables: dict = field(default_factory=dict)
    # Bytes per trial-evaluation, once measured: tasks sent to workers carry it, so each
    # task does not trace its own first chunk again (tracing slows numpy several-fold).
    element_bytes: float | None = None

    def __post_init__(self):
        self.extra = table_input(self.info, self.tables)
        self.has_report = hasattr(self.sim, "report")

    @property
    def dmeta(self) -> dict[str, dict[str, bool]]:
        """{design: {metric: depends on a draw}}."""
        return self.info.metric_random()

    @property
    def cmeta(self) -> dict[str, bool]:
        """{comparison: depends on a draw}."""
        return self.info.compare_random()

    @property
    def points(self) -> int:
        return self.sweep.size if self.sweep is not None else 1

    def overrides(self, lo: int, hi: int) -> dict:
        """The params of points [lo, hi): the base values and each swept param's column."""
        o = dict(self.base)
        if self.sweep is not None:
            o.update(self.sweep.columns(lo, hi))
        return o

    def chunk(self, lo: int, hi: int, dstats: dict, cstats: dict, values: dict | None) -> Chunk:
        """A Chunk from per-design and per-comparison (mean, std, min, max) arrays."""
        cols = self.sweep.columns(lo, hi) if self.sweep is not None else {}
        for d, ms in dstats.items():
            for m, st in ms.items():
                cols.update({stat_key(d, m, s): np.asarray(v, dtype=np.float64) for s, v in zip(STATS, st)})
        for c, st in cstats.items():
            cols.update({stat_key(None, c, s): np.asarray(v, dtype=np.float64) for s, v in zip(STATS, st)})
        report = None
        if values is not None:
            report = {path: _point_values(x, hi - lo) for path, x in values.items()}
        return Chunk(lo, hi, cols, report)

    def __getstate__(self) -> dict:
        """For a Dask worker: the simulator travels as its source text (and bound inputs)."""
        state = dict(self.__dict__)
        state["sim"] = portable_sim(self.sim)
        return state

    def __setstate__(self, state: dict) -> None:
        state["sim"] = rebuild_sim(*state["sim"])
        self.__dict__.update(state)

    @contextlib.contextmanager
    def portable_errors(self):
        """A generated simulator's DrawError re-raised as sweep.DrawError, which a worker
        can send back (the generated module does not exist where it is unpickled); its
        EmptyRange as a SpecError."""
        try:
            yield
        except ValueError as e:
            if type(e).__name__ == "EmptyRange":
                raise SpecError(f"evaluation failed: {e}") from None
            if type(e).__name__ != "DrawError" or isinstance(e, DrawError):
                raise
            raise DrawError(e.var, e.message) from None

    def chunks(self, lo: int, hi: int, on_done=None, res: Results | None = None) -> Iterator[Chunk]:
        """Evaluate points [lo, hi) chunk after chunk (memory bounded by mem_budget);
        `on_done(n)` is told each chunk's trial-evaluations; `res` (single point) collects
        samples, the recorded trial's events and a table spec's groups."""
        if self.rng == "legacy":
            yield from _legacy_chunks(self, lo, hi, on_done, res)
        else:
            yield from _pcg64_chunks(self, lo, hi, on_done, res)


class DrawError(ValueError):
    """A draw's arguments outside its distribution's domain (as the generated simulator's
    DrawError: `var` names the random variable), in a form that pickles."""

    def __init__(self, var: str, message: str):
        super().__init__(f"random {var}: {message}")
        self.var, self.message = var, message

    def __reduce__(self):
        return DrawError, (self.var, self.message)


def evaluate(compiled: Compiled, sim: ModuleType, base: dict, sweep: SweepSpec | None, trials: int, seed: int,
             rng: str = "pcg64", mem_budget: int = DEFAULT_MEM_BUDGET, progress: Progress | None = None,
             keep_samples: bool = False, record: int | None = None, tables: dict | None = None) -> Results:
    """Evaluate every point of `sweep` (or the single point `base`) with `trials` trials,
    all results in memory (for plots, reports and the API; `stream` writes chunk by chunk).

    `base` holds param overrides shared by all points.  Work is split into chunks of
    points (and blocks of trials) whose simulation fits `mem_budget` bytes, measured on
    the first chunk.  A table spec reads its table from `tables` (input name ->
    runtime.TableData); at a single point its per-group values are kept too."""
    ev = evaluation(spec_info(compiled), sim, base, sweep, trials, seed, rng, mem_budget, tables)
    npoints = ev.points
    if keep_samples and npoints != 1:
        raise ValueError("keep_samples needs a single point")
    res = Results(sweep, {}, npoints, trials, seed, rng, {}, {}, tables=dict(ev.tables), keep_samples=keep_samples,
                  record=record, group_parts=[] if ev.extra and npoints == 1 else None)
    progress = progress or Progress(npoints * trials, enabled=False)
    with loop_errors(compiled):
        parts = list(ev.chunks(0, npoints, counter(progress), res))
    progress.close()
    if res.group_parts:
        res.groups = sim.join_groups(res.group_parts, 2)
    _fill(res, ev, parts)
    return res


def evaluation(info: SpecInfo, sim, base, sweep, trials, seed, rng, mem_budget, tables) -> Evaluation:
    """An Evaluation, after checking that no --set value is also swept."""
    if sweep is not None:
        for name in sweep.params:
            if name in base:
                raise SpecError(f"--set {name}=... conflicts with --sweep: '{name}' is swept")
    return Evaluation(sim, info, dict(base), sweep, trials, seed, rng, mem_budget, dict(tables or {}))


def results_of(ev: Evaluation, parts: list[Chunk]) -> Results:
    """In-memory Results of the chunks of every point of `ev` (a sweep)."""
    res = Results(ev.sweep, {}, ev.points, ev.trials, ev.seed, ev.rng, {}, {}, tables=dict(ev.tables))
    _fill(res, ev, parts)
    return res


def _fill(res: Results, ev: Evaluation, parts: list[Chunk]) -> None:
    """Results' columns, statistics and report entries from the chunks of every point."""
    cols = concat_chunks(parts)
    res.columns = {name: cols[name] for name in (ev.sweep.params if ev.sweep is not None else ())}
    res.designs = {d: {m: Stats(*(cols[stat_key(d, m, s)] for s in STATS)) for m in ms}
                   for d, ms in ev.dmeta.items()}
    res.compares = {c: Stats(*(cols[stat_key(None, c, s)] for s in STATS)) for c in ev.cmeta}
    if ev.has_report and parts:
        res.report = {path: np.concatenate([p.report[path] for p in parts]) for path in parts[0].report}


def concat_chunks(parts: list[Chunk]) -> dict[str, np.ndarray]:
    """The columns of consecutive chunks joined into one column each."""
    if not parts:
        return {}
    if len(parts) == 1:
        return dict(parts[0].columns)
    return {name: np.concatenate([p.columns[name] for p in parts]) for name in parts[0].columns}


def counter(progress: Progress):
    """A callback adding each chunk's trial-evaluations to `progress`."""
    done = [0]

    def on_done(n: int) -> None:
        done[0] += n
        progress.update(done[0])
    return on_done


@contextlib.contextmanager
def loop_errors(compiled: Compiled):
    """A generated loop that never ends names itself: report it at its declaration."""
    try:
        yield
    except RuntimeError as e:
        words = str(e).split()
        loop = next((lp for lp in compiled.program.loops if words[:2] == ["loop", lp.name]), None)
        if loop is None:
            raise
        raise SpecError(f"{e} (check its 'while' condition)", loop.loc, source=compiled.program.source) from None


# Legacy points run one by one; this many are handed on together.
_LEGACY_BATCH = 256


def _legacy_chunks(ev: Evaluation, lo: int, hi: int, on_done, res: Results | None) -> Iterator[Chunk]:
    """Points one by one, each from its own RandomState(seed), trial by trial."""
    sim = ev.sim
    keep = res is not None and res.keep_samples
    record = res.record if res is not None else None
    shows = res.shows if res is not None else None
    group_parts = res.group_parts if res is not None else None
    batch: list[Chunk] = []
    for i in range(lo, hi):
        G = {} if group_parts is not None else None
        R, C, events = sim.run(ev.overrides(i, i + 1), trials=ev.trials, seed=ev.seed, rng="legacy",
                               record=record if i == 0 else None, shows=shows, **ev.extra, **_groups_arg(G))
        if G is not None:
            group_parts.append(G)
        params = sim.param_arrays(ev.overrides(i, i + 1)) if ev.has_report or keep else None
        if res is not None:
            res.events += events
            res.chunks += 1
            res.chunk_points = 1
        if keep:  # a single point: i == 0
            _keep(res, R, sim.compare(params, R, per_trial=True), ev.dmeta, ev.trials)
        dstats = {d: {m: _stats_of(R[d][m], r, 1) for m, r in ms.items()} for d, ms in ev.dmeta.items()}
        cstats = {c: _stats_of(C[c], r, 1) for c, r in ev.cmeta.items()}
        batch.append(ev.chunk(i, i + 1, dstats, cstats, sim.report(params, R, C) if ev.has_report else None))
        if on_done is not None:
            on_done(ev.trials)
        if len(batch) == _LEGACY_BATCH or i == hi - 1:
            yield join_chunks(batch)
            batch = []


def join_chunks(parts: list[Chunk]) -> Chunk:
    """Consecutive chunks as one."""
    report = None
    if parts[0].report is not None:
        report = {k: np.concatenate([p.report[k] for p in parts]) for k in parts[0].report}
    return Chunk(parts[0].lo, parts[-1].hi, concat_chunks(parts), report)


def table_input(info: SpecInfo, tables: dict) -> dict:
    """The keyword argument a table simulator reads its table from ({} for other specs)."""
    name = info.table
    if name is None:
        return {}
    if name not in tables:
        raise SpecError(f"spec '{info.name}' reads table '{name}': give it with --input {name}=FILE")
    return {"table": tables[name].columns}


def _groups_arg(G: dict | None) -> dict:
    return {} if G is None else {"groups": G}


def _keep(res: Results, R: dict, per_trial: dict, dmeta: dict, width: int) -> None:
    """Append one block's per-trial samples of point 0 to the kept samples (up to
    MAX_KEPT_SAMPLES each): every random metric, and every comparison that takes a value
    per trial (`width` values in this block) when computed from each trial alone."""
    def add(store: dict, key: str, x) -> None:
        x = np.asarray(x, dtype=np.float64)
        row = x.reshape(-1, x.shape[-1])[0]
        prev = store.get(key)
        row = row[:max(0, MAX_KEPT_SAMPLES - (0 if prev is None else len(prev)))]
        store[key] = row.copy() if prev is None else np.concatenate([prev, row])

    for d, ms in dmeta.items():
        for m, random in ms.items():
            if random:
                add(res.samples.setdefault(d, {}), m, np.broadcast_to(R[d][m], (1, width)))
    for c, x in per_trial.items():
        if np.shape(x)[-1] == width:
            add(res.compare_samples, c, x)


def _point_values(x, k: int) -> np.ndarray:
    """A report entry's value at each of k points (an array), from its array of
    shape (points or 1, trials, ...): the mean over trials (a condition, or an entry with
    one value per point: its value at the first trial)."""
    a = np.asarray(x)
    if a.ndim == 0:
        a = a.reshape(1, 1)
    if a.shape[0] == 1 and k > 1:
        a = np.broadcast_to(a, (k,) + a.shape[1:])
    rows = a.reshape(a.shape[0], -1)
    if rows.shape[1] == 1 or rows.dtype == bool:
        return rows[:, 0].copy()
    return rows.mean(axis=1)


def _check_blocks(ev: Evaluation, block: int, multi: bool) -> None:
    """More than one block of trials summarizes comparisons from trial means and stds only."""
    random_cmp = [c for c, r in ev.cmeta.items() if r]
    if multi and random_cmp:
        raise SpecError(f"comparison '{random_cmp[0]}' is computed per trial; with more than "
                        f"{block} trials it cannot be summarized block by block (use --trials {block} or fewer)")


def _pcg64_chunks(ev: Evaluation, lo: int, hi: int, on_done, res: Results | None) -> Iterator[Chunk]:
    """Chunks of points (calibrated on the first), each run block of trials by block."""
    sim, trials = ev.sim, ev.trials
    block = int(getattr(sim, "TRIAL_BLOCK", trials)) or trials
    blocks = [(tlo, min(block, trials - tlo)) for tlo in range(0, trials, block)]
    width = blocks[0][1]  # trials per simulate call
    _check_blocks(ev, block, len(blocks) > 1)
    bpe = ev.element_bytes
    # The first chunk measures the memory per element; until then assume a generous 1 KiB.
    chunk_pts = max(1, min(hi - lo, min(_CALIBRATION_ELEMENTS, ev.mem_budget // 1024) // width))
    if bpe is not None:
        chunk_pts = _chunk_points(ev, bpe, width)
    start = lo
    while start < hi:
        end = min(hi, start + chunk_pts)
        chunk, measured = _pcg64_chunk(ev, start, end, blocks, bpe is None, res)
        bpe = bpe or measured
        ev.element_bytes = bpe
        if res is not None:
            res.mem_per_element = res.mem_per_element or bpe
            res.chunks += 1
            res.chunk_points = max(res.chunk_points, end - start)
        if on_done is not None:
            on_done((end - start) * trials)
        yield chunk
        start = end
        chunk_pts = _chunk_points(ev, bpe, width)


def _chunk_points(ev: Evaluation, bpe: float, width: int) -> int:
    """Points per chunk: as many as the budget holds at `bpe` bytes per element, capped
    where larger chunks stop helping."""
    fit = int(ev.mem_budget / (bpe * width))
    if fit < 1:
        raise SpecError(f"--mem-budget {ev.mem_budget} bytes is too small for {width} trials of one point "
                        f"(about {bpe * width:.0f} bytes needed)")
    return max(1, min(fit, max(1, _MAX_CHUNK_ELEMENTS // width)))


def _pcg64_chunk(ev: Evaluation, lo: int, hi: int, blocks: list, calibrate: bool,
                 res: Results | None) -> tuple[Chunk, float]:
    """Points [lo, hi), block of trials by block; (the chunk, bytes per element measured
    when `calibrate`, else 0)."""
    sim, k = ev.sim, hi - lo
    params = sim.param_arrays(ev.overrides(lo, hi))
    accs = {d: {m: _Acc() for m in ms} for d, ms in ev.dmeta.items()}
    record = res.record if res is not None else None
    bpe = 0.0
    last_R = None
    for b, (tlo, n) in enumerate(blocks):
        rec = record - tlo if record is not None and lo == 0 and tlo <= record < tlo + n else None
        G = {} if res is not None and res.group_parts is not None else None

        def simulate():
            return sim.simulate(params, n, sim.Draws(sim.generators(ev.seed, k, b), n), rec,
                                res.shows if res is not None else None, **ev.extra, **_groups_arg(G))
        if calibrate and b == 0:
            (R, events), peak = _traced(simulate)
            bpe = max(8.0, peak / (k * n)) if peak else 1024.0
        else:
            R, events = simulate()
        if G is not None:
            res.group_parts.append(G)
        if res is not None:
            res.events += events
            if res.keep_samples:
                _keep(res, R, sim.compare(params, R, per_trial=True), ev.dmeta, n)
        for d, ms in ev.dmeta.items():
            for m, random in ms.items():
                accs[d][m].add(n, *_stats_of(R[d][m], random, k))
        last_R = R
    dstats = {d: {m: a.result() for m, a in ms.items()} for d, ms in accs.items()}
    C, values = _summaries(ev, params, dstats, last_R, len(blocks) > 1)
    cstats = {c: _stats_of(C[c], r, k) for c, r in ev.cmeta.items()}
    return ev.chunk(lo, hi, dstats, cstats, values), bpe


# tracemalloc is process-wide: tasks on Dask's threaded scheduler calibrate one at a time
# (starting and stopping it from several threads at once can crash the interpreter).
_TRACING = threading.Lock()


def _traced(fn):
    """(fn(), the peak of memory traced while it ran); when something else is already
    tracing, the peak is not measured and a generous 1 KiB per element is assumed."""
    with _TRACING:
        if tracemalloc.is_tracing():
            return fn(), 0.0
        tracemalloc.start()
        try:
            out = fn()
            return out, tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()


def _summaries(ev: Evaluation, params: dict, dstats: dict, last_R: dict, multi: bool):
    """The comparisons and report entries of a chunk; over several blocks of trials from
    the merged trial means and stds (a formula reading more cannot be summarized)."""
    sim = ev.sim
    if not multi:
        C = sim.compare(params, last_R)
        return C, sim.report(params, last_R, C) if ev.has_report else None
    Rs = {d: {m: (sim.TrialStats(dstats[d][m][0][:, None], dstats[d][m][1][:, None]) if r else last_R[d][m])
              for m, r in ms.items()} for d, ms in ev.dmeta.items()}
    block = int(getattr(sim, "TRIAL_BLOCK", ev.trials))
    try:
        C = sim.compare(params, Rs)
        return C, sim.report(params, Rs, C) if ev.has_report else None
    except (TypeError, AttributeError):
        raise SpecError(f"a comparison or report entry reads more than trial means and stds of metrics; "
                        f"with more than {block} trials it cannot be summarized block by block "
                        f"(use --trials {block} or fewer)") from None


# ---------------------------------------------------------------- output


def point_fields(res: Results, i: int, compares: dict[str, QuantityInfo]) -> dict:
    """The `designs` and `compare` fields of point i (DESIGN.md section 5)."""
    designs = {d: {m: st.point(i) for m, st in ms.items()} for d, ms in res.designs.items()}
    compare = {c: (st.point(i) if compares[c].random else float(st.mean[i])) for c, st in res.compares.items()}
    return {"designs": designs, "compare": compare}


def _plain(v):
    return v.item() if isinstance(v, np.generic) else v


def doc_head(compiled: Compiled, base: dict, trials: int, seed: int, rng: str,
             sweep: SweepSpec | None, tables: dict | None = None) -> dict:
    """The JSON document's fields before the results: spec, run settings, params (base
    values: defaults and --set), input files, and the sweep or cases it covers."""
    params = {name: _plain(base[name]) if name in base else p.default
              for name, p in spec_info(compiled).params.items()}
    doc = {"spec": compiled.name, "mode": "mc", "trials": trials, "seed": seed, "rng": rng,
           "numeric": "float", "params": params}
    if tables:
        doc["inputs"] = {name: {"file": t.path, "rows": t.rows, "config": t.config} for name, t in tables.items()}
    if sweep is not None:
        doc["cases" if sweep.labels is not None else "sweep"] = sweep.describe()
    return doc


def in_memory(sweep: SweepSpec | None, info: SpecInfo, mem_budget: int, what: str) -> None:
    """Refuse, before any work, an output that holds every point's results in memory
    (`what`: plots, the report, a cases table) when they would not fit `mem_budget`."""
    if sweep is None:
        return
    quantities = sum(len(d.metrics) for d in info.designs.values()) + len(info.compares)
    columns = len(sweep.axes) + len(STATS) * quantities
    # Each value is a float64, and building the output holds about one more copy.
    need = sweep.size * columns * 8 * 2
    if need > mem_budget:
        raise SpecError(f"{what}: the sweep has {sweep.size:,} points; {what} holds every point's results in memory "
                        f"(about {_bytes(need)}), more than --mem-budget {_bytes(mem_budget)}: use a coarser grid, "
                        "or write every point with --csv, --json or --parquet and --out (streamed, chunk by chunk)")


# ---------------------------------------------------------------- declared CSV layouts


def declared_layout(compiled: Compiled, sweep: SweepSpec | None):
    """The `columns` layout of the run's sweep, when it is one declared sweep that has one."""
    if sweep is None or sweep.name == "cli" or sweep.labels is not None:
        return None
    return compiled.program.sweep(sweep.name).table


def table_values(res: Results, info: SpecInfo, table, base: dict) -> list[tuple[str, np.ndarray, str | None]]:
    """Each column of a declared layout at every point: (name, values, fmt); params are
    their swept or base values (fmt None), metrics the design's means shown as the table
    shows them (the metric's scale and fmt)."""
    m = info.designs[table.design.name].metrics
    out = []
    for col in table.columns:
        name = col.name
        if name in m:
            q = m[name]
            out.append((name, res.designs[table.design.name][name].mean * q.scale, q.fmt.replace(",", "")))
        elif name in res.columns:
            out.append((name, np.asarray(res.columns[name]), None))
        else:
            value = base[name] if name in base else info.params[name].default
            out.append((name, np.full(res.points, value), None))
    return out


def _cell(v, fmt: str | None) -> str:
    if fmt is not None:
        return format(float(v), fmt)
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if isinstance(v, (int, np.integer)) or float(v).is_integer():
        return str(int(v))
    return repr(float(v))


def _write(header: list[str], rows: list[list[str]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def table_csv(res: Results, info: SpecInfo, table, base: dict) -> str:
    """One row per point with exactly the declared columns, metrics in their fmt."""
    cols = table_values(res, info, table, base)
    rows = [[_cell(values[i], fmt) for _, values, fmt in cols] for i in range(res.points)]
    return _write([name for name, _, _ in cols], rows)


def aggregated_csv(res: Results, info: SpecInfo, table, base: dict) -> str:
    """Rows with equal values of the `aggregate` column averaged (every column's mean over
    the group), one row per value, ascending."""
    cols = table_values(res, info, table, base)
    key = next(values for name, values, _ in cols if name == table.aggregate.name)
    groups, inverse = np.unique(np.asarray(key, dtype=np.float64), return_inverse=True)
    arrays = [(np.asarray(values, dtype=np.float64), fmt) for _, values, fmt in cols]
    rows = []
    for g in range(len(groups)):
        members = inverse == g
        rows.append([_cell(values[members].mean(), fmt) for values, fmt in arrays])
    return _write([name for name, _, _ in cols], rows)
