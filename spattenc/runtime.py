"""Running a generated simulator: load it, bind params, summarize trials."""

from __future__ import annotations

import importlib.util
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np

from .compiler import Compiled, cached_sim
from .errors import SpecError
from .evaluate import const_value


def load_module(path: Path) -> ModuleType:
    """Import a generated sim.py from its path (a fresh module object each call)."""
    name = f"spattenc_sim_{path.parent.name.replace('-', '_')}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def simulator(compiled: Compiled) -> ModuleType:
    return load_module(cached_sim(compiled))


def parse_value(compiled: Compiled, name: str, text: str, origin: str = "--set"):
    """Parse and check a param value given on the command line (type and range)."""
    prog = compiled.program
    params = {p.name: p for p in prog.params}
    if name not in params:
        import difflib
        close = difflib.get_close_matches(name, list(params), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise SpecError(f"{origin} {name}={text}: '{name}' is not a param of spec '{prog.name}'{hint}")
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
    lo = const_value(p.lo) if p.lo is not None else None
    hi = const_value(p.hi) if p.hi is not None else None
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
