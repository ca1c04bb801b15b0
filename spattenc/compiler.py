"""The compiler driver: a flat list of named passes from spec text to generated files."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from . import __version__, ir
from .check import check
from .errors import SpecError
from .lower import Plan, lower
from .parser import parse


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
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(f"{path}: no such spec file") from None
    except IsADirectoryError:
        raise SpecError(f"{path}: is a directory, not a spec file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise SpecError(f"{path}: cannot read spec: {e}") from None


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


def command_for(spec_path: str) -> str:
    return f"spattenc compile {spec_path}"


def outputs(compiled: Compiled) -> dict[str, str]:
    """Every generated file of a spec: relative path -> text (deterministic)."""
    from .backends.numpy_sim import render_sim
    from .symbolic import closed_forms_markdown

    spec_path = _display_path(compiled.path)
    command = command_for(spec_path)
    files = {
        "sim.py": render_sim(compiled.plan, spec_path, command),
        "ir.json": json.dumps({"generated_by": f"spattenc from {spec_path}", "regenerate": command,
                               "program": ir.to_json(dataclasses.replace(compiled.program, file=spec_path))}, indent=1, sort_keys=False) + "\n",
        "closed_forms.md": closed_forms_markdown(compiled, spec_path, command),
    }
    return files


def _display_path(path: str) -> str:
    """The spec path as shown in generated headers: relative to the current directory
    when inside it (no absolute paths, so output does not depend on the checkout)."""
    p = Path(path)
    try:
        return p.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return p.name


def write_tree(files: dict[str, str], dest: Path) -> None:
    """Write all files to `dest` atomically: a temporary sibling folder, then a rename."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        for rel, text in sorted(files.items()):
            target = tmp / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        if dest.exists():
            old = dest.with_name(f".{dest.name}.old")
            if old.exists():
                shutil.rmtree(old)
            dest.rename(old)
            tmp.rename(dest)
            shutil.rmtree(old)
        else:
            tmp.rename(dest)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def cache_dir() -> Path:
    base = os.environ.get("SPATTENC_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "spattenc")
    return Path(base)


def cached_sim(compiled: Compiled) -> Path:
    """Path of the generated sim.py for this spec, compiled once per content hash."""
    h = hashlib.sha256((__version__ + "\0" + compiled.program.source).encode())
    # The generator's own code is part of the key, so a changed back end never reuses stale output.
    from importlib import resources
    from .templates_env import template_dir
    for path in sorted(template_dir().glob("*.j2")):  # every template: the simulators include shared ones
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    package = resources.files("spattenc")
    for name in ("grammar.lark", "parser.py", "ir.py", "check.py", "lower.py", "backends/numpy_sim.py"):
        h.update(name.encode() + b"\0" + package.joinpath(name).read_bytes())
    key = h.hexdigest()[:20]
    folder = cache_dir() / f"{compiled.name}-{key}"
    sim = folder / "sim.py"
    if not sim.exists():
        from .backends.numpy_sim import render_sim  # imports sympy: only when generating

        text = render_sim(compiled.plan, Path(compiled.path).name, command_for(Path(compiled.path).name))
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, sim)
    return sim


def write_files(folder: Path, files: dict[str, str]) -> None:
    """Write each file atomically (temporary file in the same folder, then a rename)."""
    folder.mkdir(parents=True, exist_ok=True)
    for rel, text in sorted(files.items()):
        target = folder / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, target)
