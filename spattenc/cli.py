"""Command line: spattenc check | inspect | compile | eval."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from . import __version__
from .errors import SpecError

EPILOG = """\
exit codes: 0 success; 2 user error (bad spec, input or option), reported as
file:line:col: error: message with the source line and a caret.

examples (SPEC is a .spt file, e.g. one of the shipped specs/*.spt):
  spattenc check SPEC
  spattenc inspect SPEC STAGE DESIGN
  spattenc compile SPEC
  spattenc eval SPEC --rng legacy
  spattenc eval SPEC --set PARAM=0.9 --trials 1000 --json
"""


class _Parser(argparse.ArgumentParser):
    """argparse with our error format (exit 2, no usage dump on bad values)."""

    def error(self, message: str):
        self.print_usage(sys.stderr)
        print(f"spattenc: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="spattenc", description="Compile .spt accelerator performance specs into closed forms, "
                "numpy simulators and reports.", epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"spattenc {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    c = sub.add_parser("check", help="parse and check a spec; report errors with file:line:col",
                       description="Parse and check SPEC. Prints a one-line summary, or errors with positions.")
    c.add_argument("spec", metavar="SPEC")

    i = sub.add_parser("inspect", help="print closed-form (sympy) cost expressions",
                       description="Print simplified closed forms: each stage and per-layer quantity in the "
                       "layer's state (e.g. N, H), each design's per-layer time, and totals over layers "
                       "(exact unrolled value and continuous relaxation with its relative error).")
    i.add_argument("spec", metavar="SPEC")
    i.add_argument("names", nargs="*", metavar="NAME", help="only these stages, lets or designs")
    i.add_argument("--latex", action="store_true", help="print LaTeX instead of plain text")
    i.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="param value used for the numeric parts (repeatable)")

    k = sub.add_parser("compile", help="generate sim.py, ir.json and closed_forms.md",
                       description="Generate DIR/<spec>/ from SPEC: a standalone numpy simulator (sim.py), "
                       "the IR dump (ir.json) and the closed forms (closed_forms.md). Output is written to a "
                       "temporary folder and moved into place when complete.")
    k.add_argument("spec", metavar="SPEC")
    k.add_argument("-o", "--out", default="generated", metavar="DIR", help="output folder (default: generated/)")

    e = sub.add_parser("eval", help="run the Monte-Carlo simulator and print results",
                       description="Compile SPEC (cached by content hash), run it and print a table of "
                       "mean ± std per metric and design, then the comparisons; or JSON/CSV.",
                       epilog="std is the population standard deviation over trials (ddof=0). Metrics that "
                       "depend on no random draw are reported exactly, with std 0.",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    e.add_argument("spec", metavar="SPEC")
    e.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="override a param (repeatable); checked against its declared type and range")
    e.add_argument("--trials", type=_positive_int, default=None, metavar="N",
                   help="Monte-Carlo trials (default: the spec's 'trials')")
    e.add_argument("--seed", type=_nonneg_int, default=None, metavar="S", help="RNG seed (default: the spec's 'seed')")
    e.add_argument("--rng", choices=("pcg64", "legacy"), default="pcg64",
                   help="pcg64: numpy Generator(PCG64(seed)) (default); legacy: numpy RandomState(seed), "
                   "drawing trial by trial, layer by layer, as legacy scripts do")
    e.add_argument("--numeric", choices=("float",), default="float", help="numeric semantics (float64)")
    fmt = e.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print JSON (see docs/cli.md for the fields)")
    fmt.add_argument("--csv", action="store_true", help="print CSV, one row per metric")
    e.add_argument("--out", metavar="DIR", help="also write results.json and results.csv into DIR")
    return p


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return v


def _nonneg_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}") from None
    if v < 0 or v >= 2**32:
        raise argparse.ArgumentTypeError(f"expected an integer in [0, 2**32), got {text!r}")
    return v


def parse_sets(compiled, items: list[str]) -> dict:
    from .runtime import parse_value

    out = {}
    for item in items:
        if "=" not in item:
            raise SpecError(f"--set {item}: expected NAME=VALUE")
        name, value = item.split("=", 1)
        out[name.strip()] = parse_value(compiled, name.strip(), value.strip())
    return out


def cmd_check(args) -> int:
    from .compiler import load

    c = load(args.spec)
    prog = c.program
    n_stages = sum(1 for s in c.plan.layer_steps if s.kind == "stage")
    print(f"{args.spec}: ok: spec '{prog.name}', {len(prog.params)} params, {len(prog.consts)} constants, "
          f"{n_stages} stages, {len(prog.designs)} designs ({', '.join(d.name for d in prog.designs)}), "
          f"{len(prog.compares)} comparisons")
    return 0


def cmd_inspect(args) -> int:
    from .compiler import load
    from .symbolic import inspect_text

    c = load(args.spec)
    print(inspect_text(c, names=args.names, latex=args.latex, overrides=parse_sets(c, args.set)), end="")
    return 0


def cmd_compile(args) -> int:
    from .compiler import load, outputs, write_tree

    c = load(args.spec)
    files = outputs(c)
    dest = Path(args.out) / c.name
    write_tree(files, dest)
    for rel in sorted(files):
        print(dest / rel)
    return 0


def evaluate(compiled, overrides: dict, trials: int, seed: int, rng: str) -> dict:
    """Run a spec at one point; return the JSON document of DESIGN.md §5."""
    from .runtime import simulator, summarize

    sim = simulator(compiled)
    R, C, _ = sim.run(overrides, trials=trials, seed=seed, rng=rng)
    params = {name: (overrides[name] if name in overrides else spec[1]) for name, spec in sim.PARAMS.items()}
    doc = {"spec": compiled.name, "mode": "mc", "trials": trials, "seed": seed, "rng": rng, "numeric": "float",
           "params": params, "designs": {}, "compare": {}}
    for design, (title, metrics) in sim.DESIGNS.items():
        doc["designs"][design] = {m: summarize(R[design][m], meta[4])[0].as_dict() for m, meta in metrics.items()}
    for name, meta in sim.COMPARES.items():
        stats = summarize(C[name], meta[4])[0]
        doc["compare"][name] = stats.as_dict() if meta[4] else stats.mean
    doc["_meta"] = {"designs": {d: (t, {m: list(v) for m, v in ms.items()}) for d, (t, ms) in sim.DESIGNS.items()},
                    "compares": {k: list(v) for k, v in sim.COMPARES.items()}}
    return doc


def _fmt(value: float, fmt: str, group: bool) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "nan"
    spec = ("," + fmt) if group and not fmt.startswith(",") else fmt
    return format(value, spec)


def table(doc: dict) -> str:
    """The results table: a row per metric, a column per design, then the comparisons."""
    meta = doc["_meta"]
    designs = list(meta["designs"])
    rows: list[str] = []
    for d in designs:
        for m in meta["designs"][d][1]:
            if m not in rows:
                rows.append(m)
    label_of = {}
    for d in designs:
        for m, info in meta["designs"][d][1].items():
            label_of.setdefault(m, info[0])
    titles = [meta["designs"][d][0] for d in designs]
    widths = [max(21, len(t) + 4) for t in titles]
    lines = [f"--- Results (Mean ± Std over {doc['trials']} trials) ---"]
    header = "  " + f"{'Metric':<29}" + "".join(f"| {t:<{w}}" for t, w in zip(titles, widths))
    lines += [header, "-" * (len(header) - 1)]
    for m in rows:
        cells = []
        for d in designs:
            info = meta["designs"][d][1].get(m)
            if info is None:
                cells.append("N/A")
                continue
            _, unit, fmt, scale, random = info
            s = doc["designs"][d][m]
            if random:
                cells.append(f"{_fmt(s['mean'] * scale, fmt, False)} ± {_fmt(s['std'] * scale, fmt, False)}")
            else:
                cells.append(_fmt(s["mean"] * scale, fmt, True))
        lines.append("  " + f"{label_of[m]:<29}" + "".join(f"| {c:<{w}}" for c, w in zip(cells, widths)))
    if doc["compare"]:
        lines.append("")
    for name, (label, unit, fmt, scale, random) in meta["compares"].items():
        v = doc["compare"][name]
        suffix = "%" if unit == "%" else (f" {unit}" if unit else "")
        if random:
            lines.append(f"{label}: {_fmt(v['mean'] * scale, fmt, False)}{suffix} ± {_fmt(v['std'] * scale, fmt, False)}")
        else:
            lines.append(f"{label}: {_fmt(v * scale, fmt, False)}{suffix}")
    return "\n".join(lines) + "\n"


def csv_text(doc: dict) -> str:
    """One row per (design, metric) and per comparison: mean, std, min, max."""
    import csv
    import io

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


def public(doc: dict) -> dict:
    return {k: v for k, v in doc.items() if not k.startswith("_")}


def cmd_eval(args) -> int:
    from .compiler import load

    c = load(args.spec)
    overrides = parse_sets(c, args.set)
    trials = args.trials if args.trials is not None else c.program.trials
    seed = args.seed if args.seed is not None else c.program.seed
    doc = evaluate(c, overrides, trials, seed, args.rng)
    text_json = json.dumps(public(doc), indent=1) + "\n"
    if args.out:
        from .compiler import write_files
        write_files(Path(args.out), {"results.json": text_json, "results.csv": csv_text(doc)})
    if args.json:
        sys.stdout.write(text_json)
    elif args.csv:
        sys.stdout.write(csv_text(doc))
    else:
        if overrides:
            print("Params: " + ", ".join(f"{k}={v}" for k, v in overrides.items()))
        sys.stdout.write(table(doc))
    return 0


COMMANDS = {"check": cmd_check, "inspect": cmd_inspect, "compile": cmd_compile, "eval": cmd_eval}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except SpecError as e:
        print(e.render(), file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
