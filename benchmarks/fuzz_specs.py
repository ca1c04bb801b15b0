"""Mutation fuzzing of the shipped specs: hostile or odd spec text must end in a located
error (exit 2) or a correct run (exit 0), never a traceback, another exit code or a hang.

Each mutant is a shipped spec (specs/*.spt) with one to three edits: a character inserted,
deleted or replaced; a line deleted, duplicated or swapped with another; a number replaced
by an odd value (1e999, -1e999, nan, inf, -1, 0, 2^64, 10^400, a 5000-digit integer,
9223372036854775808, ...); unicode junk (invalid UTF-8 bytes, NUL, bidi controls, BOM,
emoji); an expression wrapped in 500 parentheses.  Each is run through `check`, and one
that passes through `eval --trials 3`, `inspect` and `compile -o TMPDIR`.

    python benchmarks/fuzz_specs.py --mutants 2000 --seed 1 --jobs 2 [--subprocess] [--save DIR]

Outcomes per command: ok (exit 0), located (exit 2 with `file:line:col: error:` or a
file-level `FILE: error:` / `error:` form), and failures (a traceback, another exit code,
more than --timeout seconds: CPU seconds in-process, wall seconds with --subprocess).  Failing mutants are written to --save (default
fuzz_failures/) with the command and its output, to reproduce them.  By default the
commands run in-process through `spattenc.cli.main` (a traceback escaping it is a
failure); --subprocess runs each as `python -m spattenc ...`.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import multiprocessing
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import traceback
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: Inputs the shipped specs read, given to eval as their usage lines show.
INPUTS = {
    "spatten_trace": ["--input", f"trace={ROOT / 'examples/spatten/summary-gpt2-small-wikitext2-per8.csv'}"],
}

ODD_NUMBERS = ["1e999", "-1e999", "nan", "inf", "-inf", "-1", "0", "0.0", "2^64", "2**64", "10^400",
               "1" + "0" * 4999, "9223372036854775808", "-9223372036854775809", "1e308", "1e-320",
               "0/0", "1/0", "1e+5", "4294967296", "1e9", "0x10", "1_000", "1e", ".5e-7"]
JUNK = ["\u202e", "\u2066", "\u2069", "\u200f", "\ufeff", "\x00", "\x1b[31m", "\t", "\r", "\u2028",
        "é", "🙂", "中", "\"", "'", "\\", "{", "}", "(", ")", "#", "~", "|", "&", "$", "`",
        "\u0661", "ﬁ", "x\u0301", "Ω", "\u00a0"]
JUNK_BYTES = [b"\xff", b"\xfe\xff", b"\xc3", b"\xed\xa0\x80", b"\x80\x80", b"\xf8\x88\x80\x80\x80"]
ALPHABET = "abcxyz_0123456789+-*/^()[]{}<>=!.,:;\"'# \n~?|&%@"
NUMBER = re.compile(rb"(?<![A-Za-z_0-9.])\d+(?:\.\d*)?(?:[eE][+-]?\d+)?")
LOCATED = re.compile(r"^(?:\S[^\n]*?:\d+:\d+: error: |\S[^\n]*?: error: |error: |spattenc: error: )", re.M)


# ------------------------------------------------------------------ mutations

def _pos(rng: random.Random, data: bytes) -> int:
    return rng.randrange(len(data) + 1)


def char_insert(rng, data: bytes) -> bytes:
    i = _pos(rng, data)
    return data[:i] + rng.choice(ALPHABET).encode() + data[i:]


def char_delete(rng, data: bytes) -> bytes:
    i = rng.randrange(len(data))
    return data[:i] + data[i + 1:]


def char_replace(rng, data: bytes) -> bytes:
    i = rng.randrange(len(data))
    return data[:i] + rng.choice(ALPHABET).encode() + data[i + 1:]


def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def _code_line(rng, lines: list[bytes]) -> int:
    """A line that is not blank or a comment (most edits there change meaning)."""
    code = [i for i, ln in enumerate(lines) if ln.strip() and not ln.strip().startswith(b"#")]
    return rng.choice(code) if code else rng.randrange(len(lines))


def line_delete(rng, data: bytes) -> bytes:
    lines = _lines(data)
    del lines[_code_line(rng, lines)]
    return b"\n".join(lines)


def line_duplicate(rng, data: bytes) -> bytes:
    lines = _lines(data)
    i = _code_line(rng, lines)
    lines.insert(i, lines[i])
    return b"\n".join(lines)


def line_swap(rng, data: bytes) -> bytes:
    """Swap two code lines, half the time neighbours (definitions out of order)."""
    lines = _lines(data)
    i = _code_line(rng, lines)
    if rng.random() < 0.5:
        j = i + 1
        while j < len(lines) and (not lines[j].strip() or lines[j].strip().startswith(b"#")):
            j += 1
        j = min(j, len(lines) - 1)
    else:
        j = _code_line(rng, lines)
    lines[i], lines[j] = lines[j], lines[i]
    return b"\n".join(lines)


def odd_number(rng, data: bytes) -> bytes:
    spans = [m.span() for m in NUMBER.finditer(data)]
    if not spans:
        return char_insert(rng, data)
    a, b = rng.choice(spans)
    return data[:a] + rng.choice(ODD_NUMBERS).encode() + data[b:]


def unicode_junk(rng, data: bytes) -> bytes:
    i = _pos(rng, data)
    junk = rng.choice(JUNK_BYTES) if rng.random() < 0.3 else rng.choice(JUNK).encode()
    return data[:i] + junk + data[i:]


def deep_nesting(rng, data: bytes) -> bytes:
    """500 parentheses around a number or a name (an expression, or a syntax error)."""
    spans = [m.span() for m in NUMBER.finditer(data)]
    if not spans:
        return data
    a, b = rng.choice(spans)
    n = rng.choice([100, 300, 500])
    return data[:a] + b"(" * n + data[a:b] + b")" * n + data[b:]


MUTATIONS = [char_insert, char_delete, char_replace, line_delete, line_duplicate, line_swap, line_swap,
             odd_number, odd_number, odd_number, unicode_junk, deep_nesting]


def mutant(specs: list[Path], seed: int, index: int) -> tuple[Path, bytes, list[str]]:
    """Mutant `index` of the run: its source spec, its bytes and the edits made."""
    rng = random.Random(f"{seed}:{index}")
    spec = specs[index % len(specs)]
    data = spec.read_bytes()
    edits = []
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        m = rng.choice(MUTATIONS)
        data = m(rng, data)
        edits.append(m.__name__)
    return spec, data, edits


# ------------------------------------------------------------------ running

@dataclass
class Outcome:
    command: str
    kind: str  # ok, located, failure
    code: object
    output: str


class Timeout(BaseException):
    """Raised by the timer in-process: the command ran over its CPU time."""


def _alarm(signum, frame):
    raise Timeout()


def run_inprocess(argv: list[str], timeout: int) -> tuple[object, str]:
    """cli.main(argv) with stdout and stderr captured; a traceback escaping it is returned."""
    from spattenc import cli

    out, err = io.StringIO(), io.StringIO()
    # CPU seconds, not wall time: a shared, busy machine must not turn a slow run into a "hang".
    old = signal.signal(signal.SIGPROF, _alarm)
    signal.setitimer(signal.ITIMER_PROF, timeout)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = cli.main(argv)
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else 2
    except Timeout:
        return "timeout", err.getvalue()
    except BaseException:  # noqa: BLE001 - a traceback is what the fuzzer looks for
        return "traceback", err.getvalue() + traceback.format_exc()
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, old)
    return code, err.getvalue()


def run_subprocess(argv: list[str], timeout: int) -> tuple[object, str]:
    """`python -m spattenc ARGV` with a time limit."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    try:
        p = subprocess.run([sys.executable, "-m", "spattenc", *argv], capture_output=True, timeout=timeout,
                           env=env, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return "timeout", ""
    return p.returncode, p.stderr.decode("utf-8", "replace")


def classify(code, err: str) -> str:
    """ok, located or failure."""
    if code == 0 and "Traceback" not in err:
        return "ok"
    if code == 2 and "Traceback" not in err and LOCATED.search(err):
        return "located"
    return "failure"


COMMANDS = ("eval", "inspect", "compile")


def commands(path: Path, stem: str, out: Path) -> list[tuple[str, list[str]]]:
    """The commands a mutant that passes check goes through."""
    return [("eval", ["eval", str(path), "--trials", "3", *INPUTS.get(stem, [])]),
            ("inspect", ["inspect", str(path), *INPUTS.get(stem, [])]),
            ("compile", ["compile", str(path), "-o", str(out)])]


def fuzz_one(job: tuple) -> tuple[int, str, list[str], list[Outcome]]:
    """Write mutant `index`, run it through check and, when it passes, the other commands."""
    specs, seed, index, timeout, use_subprocess, wanted = job
    spec, data, edits = mutant(specs, seed, index)
    run = run_subprocess if use_subprocess else run_inprocess
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="fuzz-") as tmp:
        path = Path(tmp) / spec.name
        path.write_bytes(data)
        code, err = run(["check", str(path)], timeout)
        outcomes.append(Outcome("check", classify(code, err), code, err))
        if code == 0:
            for name, argv in commands(path, spec.stem, Path(tmp) / "out"):
                if name not in wanted:
                    continue
                code, err = run(argv, timeout)
                outcomes.append(Outcome(name, classify(code, err), code, err))
    return index, spec.name, edits, outcomes


def save(folder: Path, index: int, spec: str, data: bytes, edits: list[str], o: Outcome) -> None:
    """Write a failing mutant and what the command printed."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{index:05d}_{Path(spec).stem}"
    (folder / f"{stem}.spt").write_bytes(data)
    (folder / f"{stem}.{o.command}.txt").write_text(
        f"edits: {', '.join(edits)}\ncommand: {o.command}\nexit: {o.code}\n\n{o.output[-6000:]}", errors="replace")


def fuzz(mutants: int, seed: int, jobs: int = 1, timeout: int = 60, use_subprocess: bool = False,
         save_dir: Path | None = None, specs: list[Path] | None = None, echo=print,
         wanted: tuple[str, ...] = COMMANDS) -> dict:
    """Run `mutants` mutants through check and, those that pass, the `wanted` commands;
    return counts per command and outcome, and the failures."""
    specs = specs or sorted((ROOT / "specs").glob("*.spt"))
    os.environ.setdefault("SPATTENC_CACHE", tempfile.mkdtemp(prefix="fuzz-cache-"))
    work = [(specs, seed, i, timeout, use_subprocess, wanted) for i in range(mutants)]
    counts: dict[str, dict[str, int]] = {c: {"ok": 0, "located": 0, "failure": 0}
                                         for c in ("check", "eval", "inspect", "compile")}
    failures = []
    if jobs > 1:
        pool = multiprocessing.get_context("fork").Pool(jobs, maxtasksperchild=200)
        results = pool.imap_unordered(fuzz_one, work)
    else:
        pool, results = None, map(fuzz_one, work)
    try:
        for done, (index, spec, edits, outcomes) in enumerate(results, 1):
            for o in outcomes:
                counts[o.command][o.kind] += 1
                if o.kind == "failure":
                    failures.append((index, spec, edits, o))
                    echo(f"FAIL mutant {index} ({spec}; {', '.join(edits)}) {o.command}: exit {o.code}: "
                         f"{_last_line(o.output)}")
                    if save_dir is not None:
                        save(save_dir, index, spec, mutant(specs, seed, index)[1], edits, o)
            if done % 100 == 0:
                echo(f"... {done}/{mutants} mutants, {len(failures)} failures", file=sys.stderr)
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    return {"counts": counts, "failures": failures}


def _last_line(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1][:200] if lines else ""


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--mutants", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--jobs", type=int, default=1)
    p.add_argument("--timeout", type=int, default=60, help="seconds per command (a hang is a failure): CPU seconds in-process, wall with --subprocess")
    p.add_argument("--subprocess", action="store_true", help="run each command as python -m spattenc")
    p.add_argument("--save", type=Path, default=Path("fuzz_failures"), help="folder for failing mutants")
    p.add_argument("--commands", default=",".join(COMMANDS),
                   help="the commands a mutant that passes check goes through (default: eval,inspect,compile)")
    args = p.parse_args(argv)
    result = fuzz(args.mutants, args.seed, args.jobs, args.timeout, args.subprocess, args.save,
                  echo=lambda *a, **k: print(*a, **k, flush=True), wanted=tuple(args.commands.split(",")))
    print(f"\n{args.mutants} mutants (seed {args.seed}):")
    print(f"{'command':<9} {'runs':>6} {'ok':>6} {'located':>8} {'failed':>7}")
    for command, c in result["counts"].items():
        print(f"{command:<9} {sum(c.values()):>6} {c['ok']:>6} {c['located']:>8} {c['failure']:>7}")
    return 1 if result["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
