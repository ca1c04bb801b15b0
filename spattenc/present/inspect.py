"""Presentation: the text of `spattenc inspect` (the closed forms, with the spec's input
files bound when it reads any)."""

from __future__ import annotations

from spattenc.backends.closed_forms import closed_forms_body
from spattenc.run.inputs import bind


def inspect_spec(compiled, bound=None, names: list[str] | tuple = (), latex: bool = False,
                 overrides: dict | None = None) -> str:
    """What `spattenc inspect` prints (backends.closed_forms.closed_forms_body).  `bound`:
    the bound inputs (default: the declared files)."""
    if bound is None:
        bound = default_inputs(compiled)
    return closed_forms_body(compiled, bound, names=names, latex=latex, overrides=overrides)


def default_inputs(compiled):
    """The inputs the closed forms are shown with: the spec's declared input files bound
    (run.inputs.bind), or None when its closed forms read none (no inputs, or a table
    spec).  `compile` passes them to driver.outputs for closed_forms.md."""
    program = compiled.program
    if program.inputs and program.rows is None:
        return bind(program, {}, compiled.path)
    return None
