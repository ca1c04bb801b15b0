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

import math
import re
import sys
import time
import tracemalloc
from dataclasses import dataclass, field
from types import ModuleType

import numpy as np

from .check import axis_values
from .compiler import Compiled
from .errors import SpecError
from .files import parse_size  # noqa: F401  (sweep.parse_size: the --mem-budget syntax)

DEFAULT_MEM_BUDGET = 2 * 1024**3

# Elements (points x trials) of the first chunk, which also measures memory per element.
_CALIBRATION_ELEMENTS = 1 << 15
# Larger chunks stop paying off (the per-layer Python work is amortized long before) and
# only delay progress updates; smaller ones fit the cache better.
_MAX_CHUNK_ELEMENTS = 1 << 17
# The progress bar appears only for work that has run this long (seconds).
PROGRESS_DELAY = 1.0
# Histograms keep at most this many samples per quantity.
MAX_KEPT_SAMPLES = 1 << 20


# ---------------------------------------------------------------- sweep description


@dataclass(frozen=True)
class Axis:
    """One swept param and its values, in order."""

    param: str
    values: tuple


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

    def columns(self) -> dict[str, np.ndarray]:
        """Each swept param's value at every point (point order: last group fastest)."""
        shape = self.shape
        idx = np.indices(shape).reshape(len(shape), -1) if shape else np.zeros((0, 1), int)
        out = {}
        for g, group in enumerate(self.groups):
            for axis in group:
                out[axis.param] = np.asarray(axis.values, dtype=_dtype(axis.values))[idx[g]]
        return out

    def describe(self) -> dict:
        if self.labels is not None:
            return {"name": self.name, "title": self.title, "points": self.size, "cases": list(self.labels),
                    "params": [a.param for a in self.axes]}
        return {"name": self.name, "title": self.title, "combine": self.combine, "points": self.size,
                "axes": {a.param: list(a.values) for a in self.axes},
                "groups": [[a.param for a in g] for g in self.groups]}


def _dtype(values) -> type:
    if all(isinstance(v, bool) for v in values):
        return np.bool_
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return np.int64
    return np.float64


def declared(compiled: Compiled, name: str) -> SweepSpec:
    """The spec's sweep `name` as a SweepSpec."""
    prog = compiled.program
    names = [s.name for s in prog.sweeps]
    if name not in names:
        hint = _did_you_mean(name, names)
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
    from .runtime import check_range, parse_value

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
    from .evaluate import const_value

    prog = compiled.program
    block = next((cs for cs in prog.cases if cs.name == name), None)
    if block is None:
        names = [cs.name for cs in prog.cases]
        hint = _did_you_mean(name, names)
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


def _did_you_mean(name: str, names: list[str]) -> str:
    """"; did you mean 'X'?" for the closest of `names`, or ""."""
    import difflib

    close = difflib.get_close_matches(name, names, n=1)
    return f"; did you mean '{close[0]}'?" if close else ""


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


class Progress:
    """A one-line progress bar on stderr: drawn only on a terminal, only once the work
    has taken more than `delay` seconds, and erased when done."""

    def __init__(self, total: int, unit: str = "trial-evaluations", enabled: bool | None = None,
                 delay: float | None = None, stream=None):
        self.stream = stream or sys.stderr
        self.total = max(1, total)
        self.unit = unit
        self.enabled = (self.stream.isatty() if enabled is None else enabled)
        self.delay = PROGRESS_DELAY if delay is None else delay
        self.start = time.perf_counter()
        self.shown = False
        self.last = 0.0

    def update(self, done: int) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        elapsed = now - self.start
        if elapsed < self.delay or (now - self.last < 0.1 and done < self.total):
            return
        self.last = now
        frac = min(1.0, done / self.total)
        width = 30
        bar = "#" * int(frac * width) + "-" * (width - int(frac * width))
        left = f", ~{elapsed / frac - elapsed:.0f} s left" if frac > 0 else ""
        self.stream.write(f"\r[{bar}] {frac * 100:5.1f}% of {self.total:,} {self.unit}, {elapsed:.0f} s{left} ")
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()


def _meta(sim: ModuleType):
    designs = {d: {m: bool(info[4]) for m, info in metrics.items()} for d, (_, metrics) in sim.DESIGNS.items()}
    compares = {c: bool(info[4]) for c, info in sim.COMPARES.items()}
    return designs, compares


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


def evaluate(compiled: Compiled, sim: ModuleType, base: dict, sweep: SweepSpec | None, trials: int, seed: int,
             rng: str = "pcg64", mem_budget: int = DEFAULT_MEM_BUDGET, progress: Progress | None = None,
             keep_samples: bool = False, record: int | None = None, tables: dict | None = None) -> Results:
    """Evaluate every point of `sweep` (or the single point `base`) with `trials` trials.

    `base` holds param overrides shared by all points.  Work is split into chunks of
    points (and blocks of trials) whose simulation fits `mem_budget` bytes, measured on
    the first chunk.  A table spec reads its table from `tables` (input name ->
    runtime.TableData); at a single point its per-group values are kept too."""
    columns = sweep.columns() if sweep is not None else {}
    for name in columns:
        if name in base:
            raise SpecError(f"--set {name}=... conflicts with --sweep: '{name}' is swept")
    npoints = sweep.size if sweep is not None else 1
    dmeta, cmeta = _meta(sim)
    if keep_samples and npoints != 1:
        raise ValueError("keep_samples needs a single point")
    res = Results(sweep, columns, npoints, trials, seed, rng,
                  {d: {} for d in dmeta}, {}, tables=dict(tables or {}))
    extra = table_input(sim, res.tables)
    group_parts = [] if extra and npoints == 1 else None
    out_d = {d: {m: [np.empty(npoints) for _ in range(4)] for m in ms} for d, ms in dmeta.items()}
    out_c = {c: [np.empty(npoints) for _ in range(4)] for c in cmeta}
    progress = progress or Progress(npoints * trials, enabled=False)

    def overrides(lo: int, hi: int) -> dict:
        o = dict(base)
        for name, col in columns.items():
            o[name] = col[lo:hi]
        return o

    def store(lo: int, hi: int, dstats: dict, cstats: dict):
        for d, ms in dstats.items():
            for m, st in ms.items():
                for arr, v in zip(out_d[d][m], st):
                    arr[lo:hi] = v
        for c, st in cstats.items():
            for arr, v in zip(out_c[c], st):
                arr[lo:hi] = v

    def store_report(lo: int, hi: int, values: dict):
        for path, x in values.items():
            res.report.setdefault(path, np.empty(npoints, dtype=object))[lo:hi] = _point_values(x, hi - lo)

    report = store_report if hasattr(sim, "report") else None
    try:
        _run_points(sim, res, overrides, store, report, dmeta, cmeta, npoints, trials, seed, rng, mem_budget,
                    progress, keep_samples, record, extra, group_parts)
    except RuntimeError as e:  # a generated loop that never ends names itself: report it at its declaration
        words = str(e).split()
        loop = next((lp for lp in compiled.program.loops if words[:2] == ["loop", lp.name]), None)
        if loop is None:
            raise
        raise SpecError(f"{e} (check its 'while' condition)", loop.loc, source=compiled.program.source) from None
    progress.close()
    if group_parts:
        res.groups = sim.join_groups(group_parts, 2)
    for d, ms in out_d.items():
        res.designs[d] = {m: Stats(*arrs) for m, arrs in ms.items()}
    res.compares = {c: Stats(*arrs) for c, arrs in out_c.items()}
    return res


def _run_points(sim, res, overrides, store, report, dmeta, cmeta, npoints, trials, seed, rng, mem_budget, progress,
                keep_samples, record, extra, group_parts):
    """Simulate every point: legacy point by point (each its own RandomState), pcg64 in chunks."""
    if rng == "legacy":
        for i in range(npoints):
            G = {} if group_parts is not None else None
            R, C, ev = sim.run(overrides(i, i + 1), trials=trials, seed=seed, rng="legacy",
                               record=record if i == 0 else None, shows=res.shows, **extra, **_groups_arg(G))
            if G is not None:
                group_parts.append(G)
            res.events += ev
            store(i, i + 1, {d: {m: _stats_of(R[d][m], r, 1) for m, r in ms.items()} for d, ms in dmeta.items()},
                  {c: _stats_of(C[c], r, 1) for c, r in cmeta.items()})
            params = sim.param_arrays(overrides(i, i + 1)) if report is not None or keep_samples else None
            if report is not None:
                report(i, i + 1, sim.report(params, R, C))
            if keep_samples:  # a single point: i == 0
                _keep(res, R, sim.compare(params, R, per_trial=True), dmeta, trials)
            progress.update((i + 1) * trials)
            res.chunks += 1
        res.chunk_points = 1
    else:
        _run_pcg64(sim, res, overrides, store, report, dmeta, cmeta, npoints, trials, seed, mem_budget,
                   progress, keep_samples, record, extra, group_parts)


def table_input(sim: ModuleType, tables: dict) -> dict:
    """The keyword argument a table simulator reads its table from ({} for other specs)."""
    name = getattr(sim, "TABLE", None)
    if name is None:
        return {}
    if name not in tables:
        raise SpecError(f"spec '{sim.SPEC}' reads table '{name}': give it with --input {name}=FILE")
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


def _point_values(x, k: int) -> list:
    """A report entry's value at each of k points, from its array of shape (points or 1,
    trials): the mean over trials (a condition: its value at the first trial)."""
    a = np.asarray(x)
    if a.ndim == 0:
        a = a.reshape(1, 1)
    if a.shape[0] == 1 and k > 1:
        a = np.broadcast_to(a, (k,) + a.shape[1:])
    return [row.mean() if row.size > 1 and row.dtype != bool else row.reshape(-1)[0] for row in a]


def _run_pcg64(sim, res, overrides, store, report, dmeta, cmeta, npoints, trials, seed, mem_budget,
               progress, keep_samples, record, extra, group_parts):
    """Chunks of points (calibrated on the first), each run block of trials by block;
    `extra` is passed to simulate, and with `group_parts` each block's groups kept."""
    block = int(getattr(sim, "TRIAL_BLOCK", trials)) or trials
    blocks = [(lo, min(block, trials - lo)) for lo in range(0, trials, block)]
    width = blocks[0][1]  # trials per simulate call
    multi = len(blocks) > 1
    if multi:
        random_cmp = [c for c, r in cmeta.items() if r]
        if random_cmp:
            raise SpecError(f"comparison '{random_cmp[0]}' is computed per trial; with more than "
                            f"{block} trials it cannot be summarized block by block (use --trials {block} or fewer)")
    done_elems = 0
    lo = 0
    bpe = None
    # The first chunk measures the memory per element; until then assume a generous 1 KiB.
    chunk_pts = max(1, min(npoints, min(_CALIBRATION_ELEMENTS, mem_budget // 1024) // width))
    while lo < npoints:
        hi = min(npoints, lo + chunk_pts)
        k = hi - lo
        params = sim.param_arrays(overrides(lo, hi))
        accs = {d: {m: _Acc() for m in ms} for d, ms in dmeta.items()}
        last_R = None
        for b, (tlo, n) in enumerate(blocks):
            rec = None
            if record is not None and lo == 0 and tlo <= record < tlo + n:
                rec = record - tlo
            calibrate = bpe is None
            if calibrate:
                tracemalloc.start()
            G = {} if group_parts is not None else None
            R, events = sim.simulate(params, n, sim.Draws(sim.generators(seed, k, b), n), rec, res.shows,
                                     **extra, **_groups_arg(G))
            if G is not None:
                group_parts.append(G)
            if calibrate:
                _, peak = tracemalloc.get_traced_memory()
                tracemalloc.stop()
                bpe = max(8.0, peak / (k * n))
                res.mem_per_element = bpe
            res.events += events
            if keep_samples:
                _keep(res, R, sim.compare(params, R, per_trial=True), dmeta, n)
            for d, ms in dmeta.items():
                for m, random in ms.items():
                    mean, std, mn, mx = _stats_of(R[d][m], random, k)
                    accs[d][m].add(n, mean, std, mn, mx)
            last_R = R
            done_elems += k * n
            progress.update(done_elems)
        dstats = {d: {m: a.result() for m, a in ms.items()} for d, ms in accs.items()}
        if multi:
            Rs = {d: {m: (sim.TrialStats(dstats[d][m][0][:, None], dstats[d][m][1][:, None]) if r
                          else last_R[d][m]) for m, r in ms.items()} for d, ms in dmeta.items()}
            try:
                C = sim.compare(params, Rs)
                values = sim.report(params, Rs, C) if report is not None else None
            except (TypeError, AttributeError):
                raise SpecError(f"a comparison or report entry reads more than trial means and stds of metrics; "
                                f"with more than {block} trials it cannot be summarized block by block "
                                f"(use --trials {block} or fewer)") from None
        else:
            C = sim.compare(params, last_R)
            values = sim.report(params, last_R, C) if report is not None else None
        store(lo, hi, dstats, {c: _stats_of(C[c], r, k) for c, r in cmeta.items()})
        if report is not None:
            report(lo, hi, values)
        res.chunks += 1
        res.chunk_points = max(res.chunk_points, k)
        lo = hi
        # Size the next chunks to the budget (measured), capped where larger stops helping.
        fit = int(mem_budget / (bpe * width))
        chunk_pts = max(1, min(fit, max(1, _MAX_CHUNK_ELEMENTS // width)))
        if fit < 1:
            raise SpecError(f"--mem-budget {mem_budget} bytes is too small for {width} trials of one point "
                            f"(about {bpe * width:.0f} bytes needed)")


# ---------------------------------------------------------------- output


def meta(sim: ModuleType) -> dict:
    """Display metadata of a simulator's designs and comparisons (labels, units, formats)."""
    return {"designs": {d: (t, {m: list(v) for m, v in ms.items()}) for d, (t, ms) in sim.DESIGNS.items()},
            "compares": {k: list(v) for k, v in sim.COMPARES.items()}}


def point_fields(res: Results, i: int, cmeta: dict) -> dict:
    """The `designs` and `compare` fields of point i (DESIGN.md section 5)."""
    designs = {d: {m: st.point(i) for m, st in ms.items()} for d, ms in res.designs.items()}
    compare = {c: (st.point(i) if cmeta[c][4] else float(st.mean[i])) for c, st in res.compares.items()}
    return {"designs": designs, "compare": compare}


def _plain(v):
    return v.item() if isinstance(v, np.generic) else v


def to_doc(compiled: Compiled, sim: ModuleType, res: Results, base: dict) -> dict:
    """The JSON document of a run: a single point's fields, or for a sweep a `points` list
    with each point's swept values and fields."""
    params = {name: _plain(base[name]) if name in base else spec[1] for name, spec in sim.PARAMS.items()}
    doc = {"spec": compiled.name, "mode": "mc", "trials": res.trials, "seed": res.seed, "rng": res.rng,
           "numeric": "float", "params": params}
    m = meta(sim)
    if res.tables:
        doc["inputs"] = {name: {"file": t.path, "rows": t.rows, "config": t.config} for name, t in res.tables.items()}
    if res.sweep is None:
        doc.update(point_fields(res, 0, m["compares"]))
    else:
        labels = res.sweep.labels
        doc["cases" if labels is not None else "sweep"] = res.sweep.describe()
        doc["points"] = [{"index": i, **({"case": labels[i]} if labels is not None else {}),
                          "values": {k: _plain(col[i]) for k, col in res.columns.items()},
                          **point_fields(res, i, m["compares"])} for i in range(res.points)]
    if res.groups:
        from .runtime import group_rows

        doc["groups"] = {}
        for g, (title, keys, source, gmeta) in sim.GROUPS.items():
            records, random = group_rows(res.groups[g], keys, gmeta)
            doc["groups"][g] = {"title": title, "by": keys, "from": source, "count": len(records),
                                "random": random, "rows": records}
        m["groups"] = {g: {k: list(v) for k, v in gmeta.items()} for g, (_, _, _, gmeta) in sim.GROUPS.items()}
    doc["_meta"] = m
    return doc


def csv_columns(res: Results, cmeta: dict) -> list[str]:
    """Column names of a sweep CSV (see docs/sweeps.md)."""
    cols = ["point", *(["case"] if res.sweep is not None and res.sweep.labels is not None else []), *res.columns]
    for d, ms in res.designs.items():
        for m in ms:
            cols += [f"{d}.{m}.mean", f"{d}.{m}.std"]
    for c in res.compares:
        cols += [c] + ([f"{c}.std"] if cmeta[c][4] else [])
    return cols


def csv_text(res: Results, sim: ModuleType) -> str:
    """One row per point: its index, swept values, mean and std of every metric of every
    design, and the comparisons (values are Python reprs: exact round trip)."""
    import csv
    import io

    cmeta = meta(sim)["compares"]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(csv_columns(res, cmeta))
    cols = [(name, col.tolist()) for name, col in res.columns.items()]
    dm = [(st.mean.tolist(), st.std.tolist()) for ms in res.designs.values() for st in ms.values()]
    cm = [(st.mean.tolist(), st.std.tolist(), cmeta[c][4]) for c, st in res.compares.items()]
    labels = res.sweep.labels if res.sweep is not None else None
    for i in range(res.points):
        row = [i] + ([labels[i]] if labels is not None else []) + [_csv_value(col[i]) for _, col in cols]
        for mean, std in dm:
            row += [repr(mean[i]), repr(std[i])]
        for mean, std, random in cm:
            row += [repr(mean[i])] + ([repr(std[i])] if random else [])
        w.writerow(row)
    return buf.getvalue()


def _csv_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return repr(v)


def table(res: Results, sim: ModuleType) -> str:
    """A text table of a sweep: a row per point, swept values then each comparison and the
    mean of each design's metrics (formatted with the spec's fmt and scale)."""
    m = meta(sim)
    heads, cols = [], []
    for name, col in res.columns.items():
        heads.append(name)
        cols.append([format(v, ".6g") if isinstance(v, float) else str(v) for v in col.tolist()])
    for c, st in res.compares.items():
        label, unit, fmt, scale, random = m["compares"][c]
        heads.append(c + (f" ({unit})" if unit else ""))
        cols.append([_num(v * scale, fmt) + (f" ± {_num(s * scale, fmt)}" if random else "")
                     for v, s in zip(st.mean.tolist(), st.std.tolist())])
    for d, ms in res.designs.items():
        for name, st in ms.items():
            label, unit, fmt, scale, random = m["designs"][d][1][name]
            heads.append(f"{d}.{name}")
            cols.append([_num(v * scale, fmt) for v in st.mean.tolist()])
    widths = [max(len(h), *(len(x) for x in col)) for h, col in zip(heads, cols)]
    title = res.sweep.title if res.sweep else ""
    lines = [f"--- Sweep {res.sweep.name if res.sweep else ''}: {title} "
             f"({res.points} points x {res.trials} trials; means) ---"]
    lines.append("  ".join(h.rjust(w) for h, w in zip(heads, widths)))
    lines.append("  ".join("-" * w for w in widths))
    for i in range(res.points):
        lines.append("  ".join(col[i].rjust(w) for col, w in zip(cols, widths)))
    return "\n".join(lines) + "\n"


def _num(v: float, fmt: str) -> str:
    return "nan" if v != v else format(v, fmt)


# ---------------------------------------------------------------- declared CSV layouts


def declared_table(compiled: Compiled, res: Results):
    """The `columns` layout of the run's sweep, when it is one declared sweep that has one."""
    if res.sweep is None or res.sweep.name == "cli" or res.sweep.labels is not None:
        return None
    return compiled.program.sweep(res.sweep.name).table


def table_values(res: Results, sim: ModuleType, table, base: dict) -> list[tuple[str, np.ndarray, str | None]]:
    """Each column of a declared layout at every point: (name, values, fmt); params are
    their swept or base values (fmt None), metrics the design's means shown as the table
    shows them (the metric's scale and fmt)."""
    m = meta(sim)["designs"][table.design.name][1]
    out = []
    for col in table.columns:
        name = col.name
        if name in m:
            _, _, fmt, scale, _ = m[name]
            out.append((name, res.designs[table.design.name][name].mean * scale, fmt.replace(",", "")))
        elif name in res.columns:
            out.append((name, np.asarray(res.columns[name]), None))
        else:
            value = base[name] if name in base else sim.PARAMS[name][1]
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
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def table_csv(res: Results, sim: ModuleType, table, base: dict) -> str:
    """One row per point with exactly the declared columns, metrics in their fmt."""
    cols = table_values(res, sim, table, base)
    rows = [[_cell(values[i], fmt) for _, values, fmt in cols] for i in range(res.points)]
    return _write([name for name, _, _ in cols], rows)


def aggregated_csv(res: Results, sim: ModuleType, table, base: dict) -> str:
    """Rows with equal values of the `aggregate` column averaged (every column's mean over
    the group), one row per value, ascending."""
    cols = table_values(res, sim, table, base)
    key = next(values for name, values, _ in cols if name == table.aggregate.name)
    groups, inverse = np.unique(np.asarray(key, dtype=np.float64), return_inverse=True)
    arrays = [(np.asarray(values, dtype=np.float64), fmt) for _, values, fmt in cols]
    rows = []
    for g in range(len(groups)):
        members = inverse == g
        rows.append([_cell(values[members].mean(), fmt) for values, fmt in arrays])
    return _write([name for name, _, _ in cols], rows)
