"""The compiler driver: a flat list of named passes from spec text to generated files."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from spattenc._version import __version__
from spattenc.ir import nodes as ir
from spattenc.backends.closed_forms import closed_forms_markdown
from spattenc.backends.ir_json import render_ir_json
from spattenc.backends.naming import command_for, display_path, file_stem
from spattenc.backends.numpy_fixed import render_fixed_sim
from spattenc.backends.numpy_sim import render_sim
from spattenc.backends.templates_env import template_dir
from spattenc.backends.verilog import render_rtl
from spattenc.front.check import check
from spattenc.front.parser import parse
from spattenc.ir.errors import InputError, SpecError
from spattenc.files import missing_parents, pause_point, read_text, remove_dirs
from spattenc.middle import golden
from spattenc.middle.fixed import FixedPlan, lower_fixed
from spattenc.middle.fixed_error import error_bounds
from spattenc.middle.lower import Plan, lower


@dataclass(frozen=True)
class Compiled:
    """A checked and lowered spec, with its source path as the user wrote it."""

    path: str
    program: ir.Program
    plan: Plan

    @property
    def name(self) -> str:
        return self.program.name


def read_spec(path: str | os.PathLike) -> str:
    """A spec's text: a regular UTF-8 file within the size limit (files.read_text)."""
    try:
        return read_text(path, "spec file")
    except InputError as e:
        if hasattr(e, "line"):  # not UTF-8: cited at the bad byte, like any spec error
            loc = ir.Loc(str(path), e.line, e.col, e.line, e.col + 1)
            raise SpecError(e.message.replace(f" at column {e.col}", ""), loc, source=e.text) from None
        raise SpecError(f"{path}: {e.message}") from None


def front_end(source: str, file: str) -> Compiled:
    """Passes parse -> check -> lower."""
    module = parse(source, file)
    program = check(module)
    try:
        plan = lower(program)
    except SpecError as e:
        e.source = source
        raise
    return Compiled(file, program, plan)


def load(path: str | os.PathLike) -> Compiled:
    return front_end(read_spec(path), str(path))


def outputs(compiled: Compiled, bound=None) -> dict[str, str]:
    """Every generated file of a spec: relative path -> text (deterministic).

    A spec that reads input files shows its closed forms with them bound: `bound` holds
    them (run.inputs.Bound, e.g. from present.inspect.default_inputs); the driver itself
    reads no data files and runs no generated code."""
    prog = compiled.program
    if bound is None and prog.inputs and prog.rows is None:
        raise ValueError(f"outputs(): spec '{prog.name}' reads input files; bind them (run.inputs.bind) and "
                         "pass them as `bound`")
    spec_path = display_path(compiled.path)
    command = command_for(spec_path)
    files = {
        "sim.py": render_sim(compiled.plan, spec_path, command),
        "ir.json": render_ir_json(compiled.program, spec_path, command),
        "closed_forms.md": closed_forms_markdown(compiled, spec_path, command, bound),
    }
    if wants_fixed(compiled.program):
        fixed, err = fixed_outputs(compiled, spec_path, command)
        if err is not None:
            raise err
        files.update(fixed)
    return files


def wants_fixed(program: ir.Program) -> bool:
    """Whether `compile` writes the fixed-point simulator and RTL: the spec declares its
    fixed-point form (`fixed(...)`) or hardware to check.  Any spec can still be run with
    `eval --numeric fixed` (32 fraction bits unless declared)."""
    return program.fixed is not ir.DEFAULT_FIXED or bool(program.hardware)


#: Golden vectors shipped in generated/<spec>/rtl/ for the standalone testbench.
DEFAULT_VECTORS = 32


def fixed_outputs(compiled: Compiled, spec_path: str | None = None, command: str | None = None
                  ) -> tuple[dict[str, str], SpecError | None]:
    """fixed_sim.py, the RTL files and their golden vectors; or, when the spec has no
    fixed-point form (an unsupported function, a param without a range, a register wider
    than 128 bits), no files and the reason.  The golden vectors come from the middle
    layer's evaluator of the fixed-point plan (middle/golden), the same numbers the
    generated fixed_sim.py computes; no generated code is run."""
    spec_path = spec_path or display_path(compiled.path)
    command = command or command_for(spec_path)
    try:
        fp = _lower_fixed(compiled)
    except SpecError as e:
        return {}, e
    vectors = golden.random_vectors(fp, DEFAULT_VECTORS, compiled.program.seed)
    note = f"{DEFAULT_VECTORS} vectors, seed {compiled.program.seed}; regenerate with: {command}"
    words = 1 + sum(len(golden.vector_words(fp, v)) for v in vectors)  # the testbench's default memory depth
    files = {"fixed_sim.py": render_fixed_sim(fp, spec_path, command)}
    files.update(render_rtl(fp, spec_path, command, depth=words))
    files[f"rtl/{file_stem(compiled.name)}_vectors.hex"] = golden.format_vectors(fp, vectors, note)
    return files, None


def harness_without(compiled: Compiled, omit: frozenset[str]) -> dict[str, str]:
    """The cocotb harness and test of the spec with the hardware blocks in `omit` left
    out (file name under rtl/ -> text), for checking the model when their RTL is absent."""
    spec_path = _display_path(compiled.path)
    files = render_rtl(_lower_fixed(compiled), spec_path, command_for(spec_path), omit=omit)
    return {Path(k).name: v for k, v in files.items() if k.endswith(("_harness.v", ".py"))}


def _lower_fixed(compiled: Compiled) -> FixedPlan:
    """The spec's fixed-point plan with its metrics' error bounds; a spec without a
    fixed-point form raises its SpecError."""
    try:
        fp = lower_fixed(compiled.plan)
        return replace(fp, errors=error_bounds(fp))
    except SpecError as e:
        e.source = compiled.program.source
        raise


#: verify's name for the header path rule (naming.display_path).
_display_path = display_path


def output_dir(out: str | os.PathLike, compiled: Compiled) -> Path:
    """The folder `compile -o OUT` writes a spec's files to: OUT/<spec name>, the name cut
    to a bounded length (naming.file_stem) so no path component exceeds 255 bytes."""
    return Path(out) / file_stem(compiled.name)


def write_tree(files: dict[str, str], dest: Path) -> None:
    """Write all files to `dest` atomically: a temporary sibling folder, then a rename."""
    created = missing_parents(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        for rel, text in sorted(files.items()):
            target = tmp / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        pause_point("compile")
        if dest.exists():
            old = dest.with_name(f".{dest.name}.old")
            if old.exists():
                shutil.rmtree(old)
            dest.rename(old)
            tmp.rename(dest)
            shutil.rmtree(old)
        else:
            tmp.rename(dest)
    except BaseException:  # an error or Ctrl-C: leave no folder this call created
        shutil.rmtree(tmp, ignore_errors=True)
        remove_dirs(created)
        raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def cache_dir() -> Path:
    base = os.environ.get("SPATTENC_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "spattenc")
    return Path(base)


def cached_sim(compiled: Compiled) -> Path:
    """Path of the generated sim.py for this spec, compiled once per cache key (_cached)."""
    def text(name: str):
        return render_sim(compiled.plan, name, command_for(name))

    return _cached(compiled, "sim.py", text)


def cached_fixed_sim(compiled: Compiled) -> Path:
    """Path of the generated fixed_sim.py (fixed-point semantics), compiled once per cache
    key; a spec without a fixed-point form raises its SpecError."""

    def text(name: str):
        return render_fixed_sim(_lower_fixed(compiled), name, command_for(name))

    return _cached(compiled, "fixed_sim.py", text)


def package_digest() -> str:
    """A hash of the installed package's code, grammar and templates (inside the package
    in a wheel, beside it in a source checkout): a changed back end or template never
    reuses output generated by an older one."""
    h = hashlib.sha256(__version__.encode())
    for root in (Path(__file__).resolve().parent, template_dir()):
        for path in sorted(root.rglob("*")):
            if path.suffix in (".py", ".lark", ".j2") and "__pycache__" not in path.parts:
                h.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def cache_key(compiled: Compiled, filename: str, header_name: str) -> str:
    """The cache key of a generated file: everything its text depends on (the spec's text,
    its name as written in the file's header, which file, and the generator's code)."""
    h = hashlib.sha256()
    for part in (package_digest(), filename, header_name, compiled.program.source):
        h.update(len(part.encode()).to_bytes(8, "big") + part.encode())  # length-prefixed: no ambiguity
    return h.hexdigest()[:24]


def _cached(compiled: Compiled, filename: str, text) -> Path:
    """The generated file `filename` of a spec in the cache, written by `text(name)` when
    missing (name: the spec's file name, as the header shows it)."""
    header_name = Path(compiled.path).name
    folder = cache_dir() / f"{compiled.name[:64]}-{cache_key(compiled, filename, header_name)}"
    sim = folder / filename
    if not sim.exists():
        body = text(header_name)
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(body)
            os.replace(tmp, sim)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    return sim


def file_mode() -> int:
    """The permissions a new file gets from open(): 0o666 less the process's umask.
    Files written under a temporary name (mkstemp makes them 0600) get these before they
    are moved into place, so results are as readable as any other file the user writes."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def write_files(folder: Path, files: dict[str, str]) -> None:
    """Write each file atomically (temporary file in the same folder, then a rename)."""
    folder.mkdir(parents=True, exist_ok=True)
    mode = file_mode()
    for rel, text in sorted(files.items()):
        target = folder / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, target)
