"""User errors: one exception type carrying a location, rendered with a caret."""

from __future__ import annotations

import difflib

from typing import NoReturn

from spattenc.ir.nodes import Loc


class SpecError(Exception):
    """A user error in a spec, an input file or an option (exit code 2).

    `loc` is None for errors with no source position (options); `notes` are extra
    (loc, message) pairs cited after the main message, e.g. a first definition.
    """

    def __init__(self, message: str, loc: Loc | None = None, notes: tuple[tuple[Loc, str], ...] = (),
                 source: str | None = None):
        super().__init__(message)
        self.message = message
        self.loc = loc
        self.notes = notes
        self.source = source

    def render(self, source: str | None = None) -> str:
        """The message as `file:line:col: error: ...`, the source line and a caret."""
        source = source if source is not None else self.source
        if self.loc is None:
            return f"error: {self.message}"
        out = [f"{self.loc}: error: {self.message}"]
        out += _excerpt(self.loc, source)
        for loc, note in self.notes:
            out.append(f"{loc}: note: {note}")
            out += _excerpt(loc, source if loc.file == self.loc.file else None)
        return "\n".join(out)


SpecError.__module__ = "spattenc"  # shown as spattenc.SpecError: the name API users catch


class InputError(SpecError):
    """A bad input file: rendered as `FILE: key.path: message` (or `FILE:line: ...`)."""

    def __init__(self, file: str, where: str, message: str):
        super().__init__(message)
        self.file = file
        self.where = where

    def render(self, source: str | None = None) -> str:
        return f"{self.file}: {self.where}: error: {self.message}" if self.where else f"{self.file}: error: {self.message}"


def _excerpt(loc: Loc, source: str | None) -> list[str]:
    if not source or loc.line <= 0:
        return []
    lines = source.splitlines()
    if loc.line > len(lines):
        return []
    text = lines[loc.line - 1].expandtabs(1)
    width = max(1, (loc.end_col - loc.col) if loc.end_line == loc.line else len(text) - loc.col + 1)
    return [f"  {text}", "  " + " " * (loc.col - 1) + "^" + "~" * (width - 1)]


def fail(message: str, loc: Loc | None = None, *notes: tuple[Loc, str]) -> NoReturn:
    """Raise a SpecError at `loc`; notes cite other places involved."""
    raise SpecError(message, loc, tuple(notes))


def fail_input(file: str, where: str, message: str) -> NoReturn:
    """Raise an InputError: `message` about key path `where` (or 'line N') of input `file`."""
    raise InputError(file, where, message)


def closest(name: str, names, cutoff: float = 0.6) -> str | None:
    """The one of `names` closest to a mistyped `name` (similarity at least `cutoff`), or None.

    Every "did you mean" in the project asks here, so a misspelt name is answered alike
    wherever it is written (spec, option, input file)."""
    close = difflib.get_close_matches(name, sorted(names), n=1, cutoff=cutoff)
    return close[0] if close else None


def did_you_mean(name: str, names, cutoff: float = 0.6) -> str:
    """"; did you mean 'X'?" for the closest of `names` to a mistyped `name`, or ""."""
    close = closest(name, names, cutoff)
    return f"; did you mean '{close}'?" if close else ""
