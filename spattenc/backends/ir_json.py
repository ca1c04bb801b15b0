"""Back end: a checked Program -> `ir.json`, the IR dump of a spec (deterministic)."""

from __future__ import annotations

import dataclasses
import json

from spattenc.ir import nodes as ir


def render_ir_json(program: ir.Program, spec_path: str, command: str) -> str:
    """The text of ir.json: the program as JSON, its file shown as `spec_path`."""
    return json.dumps({"generated_by": f"spattenc from {spec_path}", "regenerate": command,
                       "program": ir.to_json(dataclasses.replace(program, file=spec_path))},
                      indent=1, sort_keys=False) + "\n"
