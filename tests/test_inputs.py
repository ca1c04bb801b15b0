"""Input files bound with --input NAME=FILE: every kind of bad file is reported as
`FILE: key.path: error: message` with exit code 2 and no traceback; and the schema
language's own mistakes are reported at file:line:col."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from spattenc.cli import main

ROOT = Path(__file__).resolve().parents[1]
SPEC = str(ROOT / "specs" / "selfspec.spt")
EXAMPLES = ROOT / "examples" / "selfspec"

MODEL_OK = "n_layers: 2\nd_model: 64\nn_heads: 8\n"

# (file written, its text, the whole first line of stderr after "FILE: ")
BAD_INPUTS = [
    ("model.yaml", "name: t\nn_layers: 2\nn_heads: 8\n",
     "d_model: error: missing key (expected an integer >= 1)"),
    ("model.yaml", "n_layers: 2\nd_model: sixty-four\nn_heads: 8\n",
     "d_model: error: expected an integer, got the string 'sixty-four'"),
    ("model.yaml", "n_layers: true\nd_model: 64\nn_heads: 8\n",
     "n_layers: error: expected an integer, got a boolean (true)"),
    ("model.yaml", "n_layers: 2\nd_model: 64\nn_heads: 8.5\n",
     "n_heads: error: expected an integer, got the number 8.5"),
    ("model.yaml", "n_layers: 2\nd_model: 64\nn_heads: 7\n",
     "n_heads: error: d_model must be divisible by n_heads (d_model = 64, n_heads = 7)"),
    ("model.yaml", MODEL_OK + "ffn_type: gelu\n",
     "ffn_type: error: unknown FfnType 'gelu'; expected one of: mlp, swiglu"),
    ("model.yaml", MODEL_OK + "draft_policy:\n  per_layer:\n    2:\n      qkv: full\n",
     "draft_policy.per_layer.2: error: layer 2 is outside [0, n_layers - 1] = [0, 1]"),
    ("model.yaml", MODEL_OK + "draft_policy:\n  per_layer:\n    -1: {wo: full}\n",
     "draft_policy.per_layer.-1: error: layer -1 is outside [0, n_layers - 1] = [0, 1]"),
    ("model.yaml", MODEL_OK + "draft_policy:\n  per_layer:\n    0:\n      attn: full\n",
     "draft_policy.per_layer.0.attn: error: unknown Block 'attn'; expected one of: qkv, wo, ffn"),
    ("model.yaml", MODEL_OK + "draft_policy:\n  default:\n    qkv: half\n",
     "draft_policy.default.qkv: error: unknown Mode 'half'; expected one of: draft, full"),
    ("model.yaml", MODEL_OK + "draft_policy:\n  per_layer:\n    0: full\n",
     "draft_policy.per_layer.0: error: expected a mapping from qkv, wo, ffn to one of draft, full, "
     "got the string 'full'"),
    ("model.yaml", MODEL_OK + "ffn_typ: swiglu\n",
     "ffn_typ: error: unknown key 'ffn_typ'; did you mean 'ffn_type'?"),
    ("model.yaml", "n_layers: 0\nd_model: 64\nn_heads: 8\n",
     "n_layers: error: must be at least 1, got 0"),
    ("model.yaml", MODEL_OK + "ffn_expansion: -4\n",
     "ffn_expansion: error: must be at least 0, got -4"),
    ("model.yaml", MODEL_OK + "d_ff: 0\n",
     "d_ff: error: must be at least 1, got 0"),
    ("model.yaml", "n_layers: 2\nd_model: 64\n  n_heads: 8\n",
     "line 3: error: invalid YAML at column 10: mapping values are not allowed here"),
    ("model.yaml", MODEL_OK + "d_model: 32\n",
     "line 4: error: invalid YAML at column 1: duplicate key 'd_model' (first at line 2)"),
    ("model.yaml", "- 1\n- 2\n",
     "error: expected a mapping of keys at the top level, got a list"),
    ("hardware.yaml", None,  # analog_full energy made negative below
     "costs.analog_full.energy_pj_per_mac: error: must be at least 0, got -0.002"),
    ("hardware.yaml", "reuse_policy: always\n",
     "reuse_policy: error: unknown ReusePolicy 'always'; expected one of: reuse, reread"),
    ("hardware.yaml", "reuse_policy: reuse\n",
     "costs: error: missing key (a mapping with: analog_draft, analog_full, analog_verify_reuse, digital_attention, "
     "digital_softmax, digital_elementwise, kv_cache, analog_weight_area, digital_overhead_area_mm2_per_layer)"),
    ("hardware.yaml", "reuse_policy: reuse\ncosts:\n  analog_draft: {energy_pj_per_mac: 0.1}\n",
     "costs.analog_draft.latency_ns_per_mac: error: missing key (expected a number >= 0)"),
    ("stats.json", '{"k": 4, "histogram": {"0": 0.5, "5": 0.5}}',
     "histogram.5: error: accepted 5 is outside [0, k] = [0, 4]"),
    ("stats.json", '{"k": 4, "histogram": {}}',
     "histogram: error: has no entries; it needs at least one (accepted in [0, k] = [0, 4])"),
    ("stats.json", '{"k": 4, "histogram": {"0": 0, "3": 0.0}}',
     "histogram: error: the histogram's weights sum to zero (k = 4)"),
    ("stats.json", '{"k": 4, "histogram": {"0": 1, "2": -0.1}}',
     "histogram.2: error: must be at least 0, got -0.1"),
    ("stats.json", '{"k": 4, "histogram": {"0": 1, "two": 0.3}}',
     "histogram.two: error: accepted 'two' is not an integer"),
    ("stats.json", '{"k": 4, "histogram": {"0": "0.5"}}',
     "histogram.0: error: expected a number, got the string '0.5'"),
    ("stats.json", '{"k": 4, "histogram": [0.1, 0.9]}',
     "histogram: error: expected a mapping from accepted in [0, k] to a number, got a list"),
    ("stats.json", '{"k": -1, "histogram": {"0": 1}}',
     "k: error: must be in [0, 4096], got -1"),
    ("stats.json", '{"histogram": {"0": 1}}',
     "k: error: missing key (expected an integer in [0, 4096])"),
    ("stats.json", '{"k": 4, "histogram": {"0": 1,}}',
     "line 1: error: invalid JSON: Expecting property name enclosed in double quotes (column 31)"),
    ("stats.json", '{"k": 4, "histogram": {"0": 1, "0": 2}}',
     "error: invalid JSON: duplicate key '0'"),
    ("stats.json", '{"k": 4, "histogram": {"0": NaN}}',
     "histogram.0: error: expected a finite number, got nan"),
]


@pytest.fixture
def inputs(tmp_path):
    for name in ("model.yaml", "hardware.yaml", "stats.json"):
        shutil.copy(EXAMPLES / name, tmp_path / name)
    return tmp_path


def _eval(folder: Path) -> list[str]:
    return ["eval", SPEC, "--input", f"model={folder / 'model.yaml'}", "--input",
            f"hardware={folder / 'hardware.yaml'}", "--input", f"stats={folder / 'stats.json'}"]


@pytest.mark.parametrize("name, text, message", BAD_INPUTS, ids=[m.split(":")[0] + f"-{i}"
                                                                  for i, (_, _, m) in enumerate(BAD_INPUTS)])
def test_bad_input_file(inputs, capsys, name, text, message):
    path = inputs / name
    if text is None:
        text = (EXAMPLES / name).read_text().replace("energy_pj_per_mac: 0.002", "energy_pj_per_mac: -0.002")
    path.write_text(text)
    assert main(_eval(inputs)) == 2
    err = capsys.readouterr().err
    assert err.splitlines()[0] == f"{path}: {message}"
    assert "Traceback" not in err


def test_enough_kinds_of_bad_input():
    assert len(BAD_INPUTS) >= 12


def test_missing_file(inputs, capsys):
    (inputs / "stats.json").unlink()
    assert main(_eval(inputs)) == 2
    assert capsys.readouterr().err.strip() == f"{inputs / 'stats.json'}: error: no such file"


def test_unknown_input_name(capsys):
    assert main(["eval", SPEC, "--input", "modle=x.yaml"]) == 2
    assert capsys.readouterr().err.strip() == \
        "error: --input modle=...: spec 'selfspec' has no input 'modle'; did you mean 'model'?"


def test_input_option_syntax(capsys):
    assert main(["eval", SPEC, "--input", "model"]) == 2
    assert "--input model: expected NAME=FILE" in capsys.readouterr().err
    assert main(["eval", SPEC, "--input", "model=a.yaml", "--input", "model=b.yaml"]) == 2
    assert "given more than once" in capsys.readouterr().err


def test_process_exit_code_and_no_traceback(inputs):
    import os
    import subprocess
    import sys

    (inputs / "model.yaml").write_text("n_layers: 2\nd_model: 64\nn_heads: 7\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.run([sys.executable, "-m", "spattenc", *_eval(inputs)], capture_output=True, text=True, env=env)
    assert p.returncode == 2
    assert p.stderr.strip() == (f"{inputs / 'model.yaml'}: n_heads: error: d_model must be divisible by n_heads "
                                "(d_model = 64, n_heads = 7)")


def test_json_null_means_absent_for_optional_fields(inputs, capsys):
    (inputs / "model.yaml").write_text(MODEL_OK + "d_ff: null\ndraft_policy:\n")
    assert main(_eval(inputs) + ["--json"]) == 0
    capsys.readouterr()


# ---------------------------------------------------------------------------------------
# Mistakes in the schema language itself: file:line:col, the line and a caret.

SCHEMA_HEAD = """spec s
enum Mode { draft, full }
enum Block { qkv, wo }
"""
SCHEMA_TAIL = """
param x = 1.0 in [0, 10]
layers l in range(2) { let y = x }
design d { metric m = sum(y) }
"""

SCHEMA_ERRORS = [
    ("input a { n: integer }", "unknown type 'integer'; expected one of int, real, bool, string, Mode, Block"),
    ("input a { m: Mode = Mode.half }", "enum 'Mode' has no member 'half'; its members: draft, full"),
    ("input a { n: int }\nlet z = given(a.n)", "'a.n' is always given (it is required or has a default); given() "
                                               "applies to optional fields and map entries"),
    ("input a { t: map i in [0, 3] to real = 0 }\nlet z = a.t", "'a.t' is a table; index it with [i]"),
    ("input a { t: Mode per Block = Mode.draft }\nlet z = a.t[1]", "'a.t' is indexed by a Block value, got a int value"),
    ("input a { t: map i in [0, n] to real = 0\n n: int }", "'n' is not declared above this point of input 'a'"),
    ("input a { m: Mode = Mode.draft }\nlet z = a.m + 1", "'+' cannot be used with a Mode value"),
    ("input a { m: Mode = Mode.draft }\nlet z = a.m == Block.qkv", "cannot compare a Mode value with a Block value"),
    ("def f(b: Block) = 1\nlet z = f(Mode.full)", "argument 'b' of 'f' must be a Block value, got a Mode value"),
    ("def f(b: Colour) = 1", "unknown type 'Colour' for parameter 'b' of function 'f'"),
    ("input a { n_layers: int }\nlet z = a.n_layer", "input 'a' has no key 'n_layer'; did you mean 'n_layers'?"),
    ("let z = sum(b in Colour: 1)", "unknown enum 'Colour' in sum(b in Colour: ...)"),
    ("let z = sum(i in range(3): Mode.full)", "sum() adds numbers; the body is a Mode value"),
    ("report { points x { q = first x where d.m > 1 } }", "'first' looks across all points; put it outside 'points'"),
    ("let c0 = 2\nreport { q = solve c0 where d.m == 1 }", "'solve NAME where ...' needs a param name"),
    ("report { q = solve x where d.m > 1 }", "'solve' needs an equation: solve NAME where EXPR == EXPR"),
    ("record R { a: real }\ninput a { t: map i in [0, 1] to R }", "a record ('R') can only be a plain field type"),
]


@pytest.mark.parametrize("body, message", SCHEMA_ERRORS)
def test_schema_language_errors(tmp_path, capsys, body, message):
    spec = tmp_path / "s.spt"
    spec.write_text(SCHEMA_HEAD + body + SCHEMA_TAIL)
    assert main(["check", str(spec)]) == 2
    err = capsys.readouterr().err
    first = err.splitlines()[0]
    assert first.startswith(f"{spec}:") and ": error: " in first
    assert message in first
    assert "^" in err  # the source line with a caret


def test_missing_input_without_default_file(tmp_path, capsys):
    spec = tmp_path / "s.spt"
    spec.write_text(SCHEMA_HEAD + "input a { n: int }\n" + SCHEMA_TAIL)
    assert main(["eval", str(spec)]) == 2
    err = capsys.readouterr().err
    assert "error: missing --input a=FILE (the spec declares input 'a' with no default file)" in err
