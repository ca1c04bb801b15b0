"""Running a generated simulator: load it, bind params, summarize trials."""

from __future__ import annotations

import functools
import importlib.util
import math
import os
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np

from spattenc.driver import Compiled, cached_fixed_sim, cached_sim
from spattenc.ir.catalog import DISTRIBUTIONS
from spattenc.ir.errors import InputError, SpecError, did_you_mean
from spattenc.files import check_readable
from spattenc.ir.keys import Key
from spattenc.ir.visit import const_value
from spattenc.middle.fixed import lower_fixed
from spattenc.middle.fixed_error import error_bounds
from spattenc.run.meta import QuantityInfo


def load_module(path: Path) -> ModuleType:
    """Import a generated sim.py from its path (a fresh module object each call)."""
    name = f"spattenc_sim_{path.parent.name.replace('-', '_')}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_source(source: str, filename: str) -> ModuleType:
    """A generated simulator module from its source text (as a Dask worker rebuilds it)."""
    module = ModuleType(f"spattenc_sim_{Path(filename).parent.name.replace('-', '_')}")
    module.__file__ = filename
    exec(compile(source, filename, "exec"), module.__dict__)  # generated code, never spec text
    return module


def portable_sim(sim) -> tuple[str, str, dict | None]:
    """(source, file name, bound inputs) of a simulator, to rebuild it elsewhere."""
    module = sim.module if isinstance(sim, BoundSimulator) else sim
    inputs = sim.inputs if isinstance(sim, BoundSimulator) else None
    return Path(module.__file__).read_text(encoding="utf-8"), module.__file__, inputs


def rebuild_sim(source: str, filename: str, inputs: dict | None):
    """The simulator `portable_sim` described."""
    module = load_source(source, filename)
    return module if inputs is None else BoundSimulator(module, inputs)


def simulator(compiled: Compiled, inputs: dict | None = None):
    """The spec's generated simulator module; with `inputs` (bound input leaves, see
    inputs.bind), a BoundSimulator that passes them to every evaluation."""
    module = load_module(cached_sim(compiled))
    if inputs is None:
        return module
    # Only the leaves the simulator reads (string leaves and their flags are not numbers).
    read = {leaf.var for leaf in compiled.plan.leaves}
    return BoundSimulator(module, {k: v for k, v in inputs.items() if k.rstrip("?") in read})


class BoundSimulator:
    """A simulator module with its input files bound: `run`, `simulate`, `compare` and
    `report` take the inputs, everything else is the module's, so code that drives a
    simulator (sweeps, measured tables, fits, plots) works the same with or without inputs.
    A table read outside its axis (an index computed from the inputs) is a SpecError."""

    _TAKE_INPUTS = ("run", "simulate", "compare", "report")

    def __init__(self, module: ModuleType, inputs: dict):
        self.module = module
        self.inputs = dict(inputs)  # the leaves the simulator reads (see `simulator`)
        for name in self._TAKE_INPUTS:
            if hasattr(module, name):
                setattr(self, name, self._bound(getattr(module, name)))

    def _bound(self, fn):
        @functools.wraps(fn)
        def call(*args, **kwargs):
            try:
                return fn(*args, inputs=self.inputs, **kwargs)
            except IndexError as e:
                raise SpecError(f"evaluation failed: {e}") from None
            except ValueError as e:
                if type(e).__name__ != "EmptyRange":  # raised by a generated simulator
                    raise
                raise SpecError(f"evaluation failed: {e}") from None
        return call

    def __getattr__(self, name: str):
        return getattr(self.module, name)


def parse_value(compiled: Compiled, name: str, text: str, origin: str = "--set"):
    """Parse and check a param value given on the command line (type and range)."""
    prog = compiled.program
    params = {p.name: p for p in prog.params}
    if name not in params:
        raise SpecError(f"{origin} {name}={text}: '{name}' is not a param of spec '{prog.name}'"
                        + did_you_mean(name, params))
    p = params[name]
    try:
        if p.type == "bool":
            if text.lower() not in ("true", "false", "1", "0"):
                raise ValueError
            value = text.lower() in ("true", "1")
        else:
            value = float(text.replace("_", ""))
            if p.type == "int":
                if not value.is_integer():
                    raise ValueError
                value = int(value)
    except ValueError:
        raise SpecError(f"{origin} {name}={text}: expected {'an integer' if p.type == 'int' else 'a boolean' if p.type == 'bool' else 'a number'}",
                        p.loc, source=prog.source) from None
    if not (isinstance(value, bool)) and not math.isfinite(value):
        raise SpecError(f"{origin} {name}={text}: expected a finite number", p.loc, source=prog.source)
    check_range(compiled, name, value, f"{origin} {name}={text}")
    return value


def check_range(compiled: Compiled, name: str, value, what: str) -> None:
    p = compiled.program.param(name)
    lo, hi = p.lo_value, p.hi_value
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise SpecError(f"{what}: value {value!r} is outside the declared range [{lo}, {hi}] of '{name}'",
                        p.loc, source=compiled.program.source)


@dataclass(frozen=True)
class Stat:
    mean: float
    std: float
    min: float
    max: float

    def as_dict(self) -> dict:
        return {"mean": self.mean, "std": self.std, "min": self.min, "max": self.max}


def summarize(values: np.ndarray, random: bool) -> list[Stat]:
    """Per point: mean, population std (ddof=0), min and max over trials.

    A metric that depends on no draw has one value per point: reported exactly, std 0.
    """
    values = np.asarray(values, dtype=np.float64)
    out = []
    for row in values:
        if not random:
            v = float(row[0])
            out.append(Stat(v, 0.0, v, v))
        else:
            out.append(Stat(float(np.mean(row)), float(np.std(row)), float(np.min(row)), float(np.max(row))))
    return out


# ---------------------------------------------------------------- input tables
@dataclass(frozen=True)
class TableData:
    """A table read for a spec's input: its columns, row count and config-name line."""

    name: str
    path: str
    columns: dict
    rows: int
    config: str | None


def read_tables(sim: ModuleType, inputs: dict[str, str]) -> dict[str, TableData]:
    """Read each input table with the simulator's reader; a bad file raises InputError
    rendered `FILE:line: column: message`."""
    out = {}
    for name, path in inputs.items():
        if os.path.exists(path):  # a missing file is the reader's to report
            check_readable(path, "table")
        try:
            columns, rows, config = sim.read_table(path)
        except sim.TableError as e:
            where = f"{e.path}:{e.line}" if e.line else str(e.path)
            raise InputError(where, e.column, e.message) from None
        out[name] = TableData(name, path, columns, rows, config)
    return out


def group_rows(values: dict, keys: list[str], meta: dict[str, QuantityInfo],
               point: int = 0) -> tuple[list[dict], list[str]]:
    """Per-group records at one point: key values, then each value's mean over trials
    (and its population std under "std" for values that depend on a draw)."""
    n = len(values[keys[0]]) if keys else 0
    random = [name for name, q in meta.items() if q.random]
    records = []
    for i in range(n):
        rec: dict = {k: _plain(values[k][i]) for k in keys}
        for name, q in meta.items():
            v = np.asarray(values[name][i, point], dtype=np.float64 if q.random else None)
            rec[name] = float(np.mean(v)) if q.random else _plain(v.reshape(-1)[0])
        if random:
            rec["std"] = {name: float(np.std(np.asarray(values[name][i, point], dtype=np.float64)))
                          for name in random}
        records.append(rec)
    return records, random


def _plain(x):
    """A numpy scalar as a JSON-friendly Python value (int, float or bool)."""
    return np.asarray(x).item()


def fixed_simulator(compiled: Compiled) -> ModuleType:
    """The generated fixed-point simulator (fixed_sim.py) of a spec."""
    return load_module(cached_fixed_sim(compiled))


def fixed_kinds(compiled: Compiled) -> dict[str, dict[str, str]]:
    """{design: {metric: kind of its raw fixed-point value}} ('fix': scaled by 2^frac_bits),
    from the spec's fixed-point plan."""
    return {d.name: {m.name: m.node.kind for m in d.metrics} for d in lower_fixed(compiled.plan).designs}


def fixed_error_bounds(compiled: Compiled, overrides: dict) -> dict[str, dict[str, float | None]]:
    """{design: {metric: bound on |fixed - float64|}} at one configuration (the defaults
    with `overrides`), for any draws (None: no finite bound)."""
    point = {p.name: const_value(p.default) for p in compiled.program.params} | dict(overrides)
    fp = lower_fixed(compiled.plan)
    bounds = error_bounds(fp, point)
    return {d.name: {m.name: (None if math.isinf(b := bounds[Key("metric", m.name, d.name)]) else b)
                     for m in d.metrics} for d in fp.designs}


def run_fixed(compiled: Compiled, overrides: dict, trials: int, seed: int, rng: str):
    """Run the fixed-point semantics: (metrics as float arrays, raw metrics, draws per layer)."""
    sim = fixed_simulator(compiled)  # a spec without a fixed-point form fails here, with its source
    kinds = fixed_kinds(compiled)
    raw, draws = sim.run(overrides, trials=trials, seed=seed, rng=rng)
    real = {d: {m: np.vectorize(lambda x, k=kinds[d][m]: sim.real(k, int(x)), otypes=[np.float64])(v)
                for m, v in ms.items()} for d, ms in raw.items()}
    return real, raw, draws


# ---------------------------------------------------------------- recorded and given draws
class RecordedDraws:
    """A layer simulator's draw source that keeps what it draws: `values` maps each random
    variable to its values at each layer (arrays (points, trials)), so the same numbers can
    be replayed elsewhere (the reference interpreter, another run of a simulator)."""

    def __init__(self, inner, shape: tuple[int, int]):
        self.inner = inner
        self.shape = shape
        self.values: dict[str, list[np.ndarray]] = {}

    def __getattr__(self, method: str):
        fn = getattr(self.inner, method)
        if method not in DISTRIBUTIONS:
            return fn

        def call(*args, name="?"):
            x = fn(*args, name=name)
            self.values.setdefault(name, []).append(np.array(np.broadcast_to(x, self.shape)))
            return x
        return call


class GivenDraws:
    """A layer simulator's draw source that replays `values` ({random variable: one array
    per layer, in the order the simulator draws them}) instead of drawing."""

    def __init__(self, values: dict[str, list]):
        self.values = values
        self.used: dict[str, int] = {}

    def __getattr__(self, method: str):
        if method not in DISTRIBUTIONS:
            raise AttributeError(method)

        def call(*args, name="?"):
            i = self.used.get(name, 0)
            self.used[name] = i + 1
            return self.values[name][i]
        return call


def run_layers(sim: ModuleType, overrides: dict | None, trials: int, draws) -> tuple[dict, dict]:
    """One point of a layer simulator with the draw source `draws` (RecordedDraws,
    GivenDraws): the per-trial metrics and each trial's comparisons computed from it alone."""
    params = sim.param_arrays(overrides)
    R, _ = sim.simulate(params, trials, draws)
    return R, sim.compare(params, R, per_trial=True)


def recorded_run(sim: ModuleType, overrides: dict | None, trials: int, seed: int) -> tuple[dict, dict, dict]:
    """A pcg64 run of one point that records its draws: (metrics, per-trial comparisons,
    {random variable: [values (1, trials) per layer]})."""
    rec = RecordedDraws(sim.Draws(sim.generators(seed, 1), trials), (1, trials))
    R, C = run_layers(sim, overrides, trials, rec)
    return R, C, rec.values
