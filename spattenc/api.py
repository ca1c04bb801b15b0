"""The Python API (for notebooks and scripts; the command line is built on it).

    import numpy as np
    import spattenc

    spec = spattenc.load("specs/spatten_cascade.spt")
    r = spec.eval(set={"token_keep": 0.7})
    r.to_dict()                                   # the `spattenc eval --json` document
    r.samples("spatten", "cycles")                # one value per trial
    s = spec.sweep({"token_keep": np.linspace(0.5, 1, 50)})
    s.to_pandas()                                 # one row per point, the CSV's columns
    spec.closed_form("dram_reduction")            # a sympy expression

User errors (the spec, a `set=` value, an input file) raise spattenc.SpecError with the
message the command line prints (`str(e)`; `e.render()` adds the position and a caret).
See docs/api.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from spattenc.ir.keys import Key
from spattenc.driver import Compiled
from spattenc.driver import load as _load
from spattenc.ir.errors import SpecError
from spattenc.middle import symbolic
from spattenc.present import writers
from spattenc.present.document import report_document
from spattenc.run import schedule
from spattenc.run import sweep as sweeps
from spattenc.run.inputs import bind, parse_input_options
from spattenc.run.loader import parse_value, read_tables, simulator
from spattenc.run.meta import spec_info
from spattenc.run.progress import Progress


def parse_sets(compiled: Compiled, items: list[str]) -> dict:
    """--set NAME=VALUE items as checked param values; a param given twice is an error
    naming both options (no silent last-one-wins)."""
    out, given = {}, {}
    for item in items:
        if "=" not in item:
            raise SpecError(f"--set {item}: expected NAME=VALUE")
        name, value = (x.strip() for x in item.split("=", 1))
        if name in given:
            raise SpecError(f"--set {given[name]} and --set {item}: param '{name}' is set twice; give it once")
        given[name] = item
        out[name] = parse_value(compiled, name, value)
    return out


def bind_inputs(compiled: Compiled, items: list[str], tables: bool = False):
    """The spec's inputs bound from --input NAME=FILE options, each read as its declaration
    says: schema inputs from YAML/JSON (or their declared default files) as an inputs.Bound,
    None for a spec that declares none.  With `tables`, returns (Bound or None, {name:
    FILE}) with the spec's input tables too (CSV files its simulator reads; each required);
    without, a table's file is not needed."""
    prog = compiled.program
    given = parse_input_options(items)
    names = {t.name for t in prog.tables}
    files = {k: v for k, v in given.items() if k in names}
    schema = {k: v for k, v in given.items() if k not in names}
    bound = bind(prog, schema, compiled.path, also=sorted(names)) if prog.inputs or schema else None
    if not tables:
        return bound
    for t in prog.tables:
        if t.name not in files:
            raise SpecError(f"spec '{prog.name}' reads table '{t.name}': give it with --input {t.name}=FILE",
                            t.loc, source=prog.source)
    return bound, files


@dataclass(frozen=True)
class Settings:
    """How a run evaluates: trials and seeds, the random generator, memory, where chunks run.

    `trials` is per sweep point (a declared sweep's own, else the spec's); `point_trials`
    is the operating point's (never a sweep's, so its numbers are those `eval` prints
    without the sweep); `trial` is the one whose events the Gantt chart shows.
    """

    trials: int
    point_trials: int
    seed: int
    rng: str = "pcg64"
    mem_budget: int = sweeps.DEFAULT_MEM_BUDGET
    scheduler: str = "inline"
    quiet: bool = False
    trial: int = 0


class Run:
    """What every evaluation shares: the spec, its inputs, the base point and the sweep (or
    cases), plus the run's Settings, given as the command line's option values."""

    def __init__(self, compiled: Compiled, set_items=(), input_items=(), sweep=(), cases: str | None = None,
                 trials: int | None = None, seed: int | None = None, rng: str = "pcg64",
                 mem_budget: int = sweeps.DEFAULT_MEM_BUDGET, scheduler: str = "inline", quiet: bool = False,
                 trial: int | None = None):
        self.compiled = c = compiled
        self.info = spec_info(c)  # the spec's params and quantities
        self.overrides = parse_sets(c, list(set_items))
        self.bound, table_files = bind_inputs(c, list(input_items), tables=True)
        self.inputs = self.bound.values if self.bound is not None else None
        self._sim = None
        self.tables = read_tables(self.sim, table_files) if table_files else {}
        # The base point: --set values; with --cases, without the params the cases vary.
        self.base = self.overrides
        if cases is not None:
            if sweep:
                raise SpecError(f"--cases {cases}: cannot be combined with --sweep (each case is one point)")
            self.sweep, self.base = sweeps.from_cases(c, cases, self.overrides)
        else:
            self.sweep = sweeps.from_cli(c, list(sweep))
            for name in self.sweep.params if self.sweep is not None else ():
                if name in self.overrides:
                    raise SpecError(f"--set {name}=...: '{name}' is also swept by --sweep")
        declared = self.sweep.trials if self.sweep is not None else None
        point_trials = trials if trials is not None else c.program.trials
        trial = trial if trial is not None else point_trials - 1
        if trial >= point_trials:
            raise SpecError(f"--trial {trial}: there are only {point_trials} trials (0 to {point_trials - 1})")
        self.settings = Settings(
            trials=trials if trials is not None else (declared or c.program.trials), point_trials=point_trials,
            seed=seed if seed is not None else c.program.seed, rng=rng, mem_budget=mem_budget,
            scheduler=schedule.parse_scheduler(scheduler), quiet=quiet, trial=trial)

    @property
    def sim(self):
        if self._sim is None:
            self._sim = simulator(self.compiled, self.inputs)
        return self._sim

    @property
    def params(self) -> dict:
        """Every param's value at the operating point: its default, or its --set value."""
        return {name: self.overrides.get(name, p.default) for name, p in self.info.params.items()}

    def point(self, quiet: bool, samples: bool = False) -> sweeps.Results:
        """The base point, with per-trial samples and the Gantt trial's events when asked."""
        st = self.settings
        progress = Progress(st.point_trials, quiet=quiet)
        return sweeps.evaluate(self.compiled, self.sim, self.overrides, None, st.point_trials, st.seed, st.rng,
                               st.mem_budget, progress, keep_samples=samples,
                               record=st.trial if samples else None, tables=self.tables)

    def evaluation(self) -> sweeps.Evaluation:
        """The sweep (or single point) as an Evaluation a scheduler can run."""
        st = self.settings
        return sweeps.evaluation(self.info, self.sim, self.base, self.sweep, st.trials, st.seed, st.rng,
                                 st.mem_budget, self.tables)

    def stream(self, quiet: bool):
        """The sweep's chunks in point order, evaluated where the scheduler says."""
        ev = self.evaluation()
        with sweeps.loop_errors(self.compiled), Progress(ev.points * self.settings.trials, quiet=quiet) as bar:
            yield from schedule.chunks(ev, self.settings.scheduler, sweeps.counter(bar))

    def results(self, parts: list) -> sweeps.Results:
        """In-memory Results of the streamed chunks of every point."""
        return sweeps.results_of(self.evaluation(), parts)

    def swept(self, quiet: bool, what: str = "the report") -> sweeps.Results:
        """Every point of the sweep in memory (refused up front when they would not fit)."""
        sweeps.in_memory(self.sweep, self.info, self.settings.mem_budget, what)
        return self.results(list(self.stream(quiet)))

    def document(self, res: sweeps.Results) -> dict:
        """The `eval --json` document of evaluated results (a report spec's report)."""
        if self.compiled.program.report is not None:
            return report_document(self.compiled, res, self.params, self.inputs)[0]
        doc = writers.to_doc(self.compiled, res, self.overrides)
        return {k: v for k, v in doc.items() if not k.startswith("_")}


# ---------------------------------------------------------------- the notebook API


def load(path: str | Path) -> Spec:
    """Parse and check the spec at `path` (errors raise SpecError)."""
    return Spec(_load(path))


def _text(value) -> str:
    """A Python value as the command line would give it (exact for floats)."""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    raise SpecError(f"expected a number or a boolean, got {value!r}")


def _items(values: Mapping | None, what: str) -> list[str]:
    """set= or inputs= as the --set / --input texts the command line would pass."""
    if values is None:
        return []
    if not isinstance(values, Mapping):
        raise SpecError(f"{what}= expects a dict of name -> value, got {type(values).__name__}")
    return [f"{k}={v if what == 'inputs' else _text(v)}" for k, v in values.items()]


def _axes(axes) -> list[str]:
    """sweep(...)'s first argument as --sweep items: a declared sweep's name, a list of
    --sweep texts, or a dict of param -> values (a product, last param fastest)."""
    if isinstance(axes, str):
        return [axes]
    if isinstance(axes, Mapping):
        out = []
        for name, values in axes.items():
            vals = np.atleast_1d(np.asarray(values) if not isinstance(values, (list, tuple)) else values)
            if len(vals) == 0:
                raise SpecError(f"sweep: axis '{name}' has no values")
            out.append(f"{name}=" + ",".join(_text(v.item() if isinstance(v, np.generic) else v) for v in vals))
        return out
    if isinstance(axes, (list, tuple)) and all(isinstance(a, str) for a in axes):
        return list(axes)
    raise SpecError("sweep() takes a declared sweep's name, a dict of param -> values, or a list of --sweep texts")


class Spec:
    """A checked spec: evaluate it at a point or over a sweep, read its closed forms."""

    def __init__(self, compiled: Compiled):
        self.compiled = compiled
        self.name = compiled.name
        self.program = compiled.program

    def __repr__(self) -> str:
        return f"<spattenc.Spec {self.name!r} from {self.compiled.path}>"

    def _run(self, set, inputs, sweep=(), cases=None, **settings) -> Run:
        return Run(self.compiled, set_items=_items(set, "set"), input_items=_items(inputs, "inputs"),
                   sweep=sweep, cases=cases, quiet=True, **settings)

    def eval(self, set: Mapping | None = None, inputs: Mapping | None = None, trials: int | None = None,
             seed: int | None = None, rng: str = "pcg64", mem_budget: int = sweeps.DEFAULT_MEM_BUDGET) -> Result:
        """The spec at one point: defaults updated by `set`, input files from `inputs`
        (name -> path), `trials` Monte-Carlo trials (default: the spec's)."""
        run = self._run(set, inputs, trials=trials, seed=seed, rng=rng, mem_budget=mem_budget)
        return Result(run, run.point(quiet=True, samples=True))

    def sweep(self, axes, set: Mapping | None = None, inputs: Mapping | None = None, trials: int | None = None,
              seed: int | None = None, rng: str = "pcg64", scheduler: str = "inline",
              mem_budget: int = sweeps.DEFAULT_MEM_BUDGET) -> SweepResult:
        """Every point of a sweep: a declared sweep's name, a dict param -> values (their
        product, the last param varying fastest), or --sweep texts; evaluated where
        `scheduler` says (as --scheduler)."""
        run = self._run(set, inputs, sweep=_axes(axes), trials=trials, seed=seed, rng=rng, mem_budget=mem_budget,
                        scheduler=scheduler)
        return SweepResult(run, run.swept(quiet=True, what="a sweep's results"))

    def cases(self, name: str, set: Mapping | None = None, inputs: Mapping | None = None,
              trials: int | None = None, seed: int | None = None, rng: str = "pcg64") -> SweepResult:
        """Every case of the spec's `cases NAME` block, one point each."""
        run = self._run(set, inputs, cases=name, trials=trials, seed=seed, rng=rng)
        return SweepResult(run, run.swept(quiet=True, what="a cases block's results"))

    def closed_form(self, name: str, set: Mapping | None = None):
        """A sympy expression: a constant, per-layer quantity or stage (in the names it
        reads, as `spattenc inspect` prints it), or a metric 'design.metric' or a
        comparison in the params (reductions over layers summed at the `set` values)."""
        program = self.program
        f = symbolic.forms(program)
        for kind in ("const", "stage", "layer", "row"):
            if Key(kind, name) in f.direct:
                return f.direct[Key(kind, name)]
        values = {p.name: p.value for p in program.params}
        values.update(parse_sets(self.compiled, _items(set, "set")))
        design, _, metric = name.partition(".")
        for d in program.designs:
            for m in d.metrics if d.name == design else ():
                if m.name == metric:
                    return _form(lambda: symbolic.expand_all(
                        symbolic.metric_form(program, f, d, m.expr, values)[0], program, f), name)
        for c in program.compares:
            if c.name == name:
                return _form(lambda: symbolic.expand_all(
                    symbolic.compare_form(program, f, c, values), program, f), name)
        raise SpecError(f"closed_form: '{name}' is not a constant, per-layer quantity, stage, metric "
                        f"(design.metric) or comparison of spec '{program.name}'")


def _form(make, name: str):
    """make()'s closed form, or a SpecError saying there is none."""
    try:
        return make()
    except (ValueError, symbolic._NoForm) as e:
        raise SpecError(f"closed_form: '{name}' has no closed form ({e})") from None


@dataclass
class Result:
    """One point's results: `to_dict()` is the `eval --json` document."""

    run: Run
    res: sweeps.Results

    def to_dict(self) -> dict:
        return self.run.document(self.res)

    def samples(self, design: str, metric: str) -> np.ndarray:
        """The metric's value in each trial (up to 2**20 trials are kept); a metric that
        depends on no draw has the same value in every trial."""
        stats = self.res.designs.get(design, {}).get(metric)
        if stats is None:
            known = ", ".join(f"{d}.{m}" for d, ms in self.res.designs.items() for m in ms)
            raise SpecError(f"samples: no metric '{metric}' of design '{design}' (metrics: {known})")
        kept = self.res.samples.get(design, {}).get(metric)
        if kept is not None:
            return kept.copy()
        return np.full(min(self.res.trials, sweeps.MAX_KEPT_SAMPLES), stats.mean[0])


@dataclass
class SweepResult:
    """Every point of a sweep: a table with the CSV's columns (`to_arrow`, `to_pandas`),
    and `to_dict()`, the `eval --json` document."""

    run: Run
    res: sweeps.Results

    def __len__(self) -> int:
        return self.res.points

    def to_arrow(self):
        """A pyarrow.Table: one row per point, the columns of the sweep's CSV."""
        layout = writers.Layout(self.res.sweep, self.run.info)
        return writers.arrow_table(layout, writers.results_chunk(self.res), layout.csv_columns())

    def to_pandas(self):
        """A pandas.DataFrame of to_arrow()'s table."""
        return self.to_arrow().to_pandas()

    def to_dict(self) -> dict:
        return self.run.document(self.res)
