"""Input files: load YAML (safe) or JSON, check them against an input's declared schema,
and bind its leaves to values for the simulator (scalars, or numpy tables).

Every problem in a file is reported as `FILE: key.path: message` (errors.InputError),
naming the key as written in the file and what the schema expected there.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from spattenc.ir.keys import Key
from spattenc.ir import nodes as ir
from spattenc.ir.errors import SpecError, closest, did_you_mean, fail_input
from spattenc.files import read_text
from spattenc.middle.interp import Env, Interpreter

MISSING = object()
#: Largest table a map may expand to (entries times members).
MAX_TABLE = 10_000_000
_INT_KEY = re.compile(r"^\s*[+-]?\d+\s*$")


@dataclass(frozen=True)
class Bound:
    """Inputs bound for one evaluation: `values` maps leaf variables (and presence flags,
    'var?') to scalars or numpy tables; `files` maps each input to the file it came from;
    `strings` holds string leaves (not usable in expressions, kept for reports)."""

    values: dict[str, Any]
    files: dict[str, str]
    strings: dict[str, str | None]


# ------------------------------------------------------------------ loading


#: Deepest nesting of mappings and lists an input file may have (deeper: an error, not a
#: RecursionError), and most nodes a YAML file may expand to through its aliases (a
#: "billion laughs" document is refused before it is built).
MAX_DEPTH = 200
MAX_NODES = 1_000_000


class _StrictLoader(yaml.SafeLoader):
    """yaml.SafeLoader that rejects duplicate keys instead of keeping the last one, nesting
    deeper than MAX_DEPTH and documents whose aliases expand to more than MAX_NODES nodes."""

    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0
        self._nodes = 0

    def compose_node(self, parent, index):
        """Compose one node, counting it (an alias counts the nodes it stands for) and its depth."""
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            node = super().compose_node(parent, index)
            self._count(getattr(node, "spattenc_size", 1), event.start_mark)
            return node
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise yaml.composer.ComposerError(None, None, f"nested more than {MAX_DEPTH} levels deep",
                                              self.peek_event().start_mark)
        before = self._nodes
        start = self.peek_event().start_mark
        self._count(1, start)
        node = super().compose_node(parent, index)
        node.spattenc_size = self._nodes - before  # what an alias of this node expands to
        self._depth -= 1
        return node

    def _count(self, n: int, mark) -> None:
        self._nodes += n
        if self._nodes > MAX_NODES:
            raise yaml.composer.ComposerError(None, None, f"the document expands to more than {MAX_NODES:,} "
                                              "values (through its aliases)", mark)

    def construct_yaml_int(self, node):
        """An integer; one too long for Python (over 4300 digits) is an error at its position."""
        try:
            return super().construct_yaml_int(node)
        except ValueError:
            raise yaml.constructor.ConstructorError(None, None, f"integer of {len(node.value)} characters "
                                                    "is too long", node.start_mark) from None


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False):
    loader.flatten_mapping(node)
    seen: dict[Any, yaml.Node] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(None, None, "a mapping key must be a plain value",
                                                    key_node.start_mark) from None
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (first at line {seen[key].start_mark.line + 1})",
                key_node.start_mark)
        seen[key] = key_node
    return yaml.SafeLoader.construct_mapping(loader, node, deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_StrictLoader.add_constructor("tag:yaml.org,2002:int", _StrictLoader.construct_yaml_int)


def _check_json_depth(path: str, text: str) -> None:
    """Refuse JSON nested deeper than MAX_DEPTH at the bracket that goes too deep (the
    decoder would end in a RecursionError)."""
    depth = 0
    for m in _JSON_TOKENS.finditer(text):
        if m[0] in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                line = text.count("\n", 0, m.start()) + 1
                col = m.start() - text.rfind("\n", 0, m.start())
                fail_input(path, f"line {line}", f"invalid JSON: nested more than {MAX_DEPTH} levels deep "
                           f"(column {col})")
        elif m[0] in "]}":
            depth -= 1


#: JSON strings (skipped whole, so brackets inside them do not count) and brackets.
_JSON_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


class _DuplicateKey(Exception):
    pass


def _json_pairs(pairs):
    out = {}
    for k, v in pairs:
        if k in out:
            raise _DuplicateKey(k)
        out[k] = v
    return out


def load_data(path: str) -> Any:
    """The data of a YAML or JSON file (JSON when the name ends in .json)."""
    text = read_text(path, "file")
    if Path(path).suffix.lower() == ".json":
        _check_json_depth(path, text)
        try:
            return json.loads(text, object_pairs_hook=_json_pairs)
        except json.JSONDecodeError as e:
            fail_input(path, f"line {e.lineno}", f"invalid JSON: {e.msg} (column {e.colno})")
        except _DuplicateKey as e:
            fail_input(path, "", f"invalid JSON: duplicate key {e.args[0]!r}")
        except ValueError as e:  # an integer of more than 4300 digits
            fail_input(path, "", f"invalid JSON: {e}")
    try:
        return yaml.load(text, Loader=_StrictLoader)  # a SafeLoader: plain data only
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f"line {mark.line + 1}" if mark is not None else ""
        problem = e.problem or e.context or "syntax error"
        col = f" at column {mark.column + 1}" if mark is not None else ""
        fail_input(path, where, f"invalid YAML{col}: {problem}")
    except yaml.YAMLError as e:
        fail_input(path, "", f"invalid YAML: {e}")


# ------------------------------------------------------------------ binding


def _kind_of(v: Any) -> str:
    if v is None:
        return "nothing (null)"
    if isinstance(v, bool):
        return f"a boolean ({'true' if v else 'false'})"
    if isinstance(v, int):
        return f"the integer {v}"
    if isinstance(v, float):
        return f"the number {v!r}"
    if isinstance(v, str):
        return f"the string {v!r}"
    if isinstance(v, dict):
        return "a mapping"
    if isinstance(v, list):
        return "a list"
    return type(v).__name__


def describe_type(t: str, program: ir.Program) -> str:
    if t == "int":
        return "an integer"
    if t == "real":
        return "a number"
    if t == "bool":
        return "true or false"
    if t == "string":
        return "a string"
    members = program.enum(t[5:]).members
    return f"one of {', '.join(members)}"


class _Binder:
    def __init__(self, program: ir.Program, inp: ir.Input, file: str):
        self.program = program
        self.inp = inp
        self.file = file
        self.values: dict[str, Any] = {}
        self.strings: dict[str, str | None] = {}
        self.env = Env()
        self.interp = Interpreter(program, self.env)

    def error(self, path: tuple, message: str):
        fail_input(self.file, ".".join(str(p) for p in path), message)

    def set(self, var: str, value: Any):
        self.values[var] = value
        self.env.values[Key("input", var)] = value

    def value_of(self, e: ir.Expr, path: tuple):
        try:
            return self.interp.eval(e)
        except SpecError as err:  # e.g. an index outside a table: the file's data is at fault
            self.error(path, err.message)

    # ---- structure
    def bind(self, data: Any):
        if data is None:
            data = {}
        if not isinstance(data, dict):
            fail_input(self.file, "", f"expected a mapping of keys at the top level, got {_kind_of(data)}")
        self.group(self.inp.fields, data, ())
        self.checks(self.inp.checks)
        self.group_checks(self.inp.fields)

    def group(self, fields: tuple[ir.Field, ...], data: dict, path: tuple):
        names = [f.name for f in fields]
        for key in data:
            if not isinstance(key, str) or key not in names:
                close = closest(str(key), names)
                hint = f"did you mean '{close}'?" if close else f"expected one of: {', '.join(names)}"
                self.error(path + (key,), f"unknown key '{key}'; {hint}")
        for f in fields:
            self.field(f, data.get(f.name, MISSING), path + (f.name,))

    def group_checks(self, fields: tuple[ir.Field, ...]):
        for f in fields:
            if f.kind == "group":
                self.group_checks(f.fields)
                self.checks(f.checks)

    def checks(self, checks: tuple[ir.Check, ...]):
        for c in checks:
            if not self.interp.truth(self.value_of(c.expr, c.where)):
                self.error(c.where, c.message + _values_note((c.expr,), self, given=False))

    def field(self, f: ir.Field, raw: Any, path: tuple):
        var = ".".join((self.inp.name,) + path)
        if f.kind == "group":
            if raw is MISSING or raw is None:
                if not (f.optional or _all_defaulted(f)):
                    self.error(path, f"missing key (a mapping with: {', '.join(g.name for g in f.fields)})")
                raw = {}
            if not isinstance(raw, dict):
                self.error(path, f"expected a mapping (with keys {', '.join(g.name for g in f.fields)}), "
                                 f"got {_kind_of(raw)}")
            self.group(f.fields, raw, path)
            return
        if f.kind == "map":
            self.map_field(f, raw, path, var)
            return
        if f.per is not None:
            value, given = self.per_value(f, raw, path, absent_ok=f.optional)
            self.set(var, value)
            if f.optional:
                self.set(var + "?", given)
            return
        if raw is MISSING or raw is None:
            if f.default is not None:
                self.set(var, self.convert(f, self.value_of(f.default, path), path, from_default=True))
            elif f.optional:
                if f.type == "string":
                    self.strings[var] = None
                else:
                    self.set(var, _zero(f.type))
                self.set(var + "?", False)
            else:
                what = describe_type(f.type, self.program) + _bound_text(f)
                self.error(path, f"missing key (expected {what})")
            return
        value = self.convert(f, raw, path)
        if f.type == "string":
            self.strings[var] = value
        else:
            self.set(var, value)
        if f.optional:
            self.set(var + "?", True)

    def per_value(self, f: ir.Field, raw: Any, path: tuple, absent_ok: bool):
        members = self.program.enum(f.per).members
        if raw is MISSING or raw is None:
            if f.default is None and not absent_ok:
                self.error(path, f"missing key (a mapping from each of {', '.join(members)} to "
                                 f"{describe_type(f.type, self.program)})")
            raw, given = {}, False
        else:
            given = True
        if not isinstance(raw, dict):
            self.error(path, f"expected a mapping from {', '.join(members)} to {describe_type(f.type, self.program)}, "
                             f"got {_kind_of(raw)}")
        for key in raw:
            if key not in members:
                close = closest(str(key), members, cutoff=0.75)
                hint = f" (did you mean '{close}'?)" if close else ""
                self.error(path + (key,), f"unknown {f.per} '{key}'{hint}; expected one of: {', '.join(members)}")
        out = []
        for m in members:
            if m in raw and raw[m] is not None:
                out.append(self.convert(f, raw[m], path + (m,)))
            elif f.default is not None:
                out.append(self.convert(f, self.value_of(f.default, path), path + (m,), from_default=True))
            elif not given and absent_ok:
                out.append(_zero(f.type))
            else:
                self.error(path + (m,), f"missing key (expected {describe_type(f.type, self.program)})")
        return np.asarray(out, dtype=_dtype(f.type)), given

    def map_field(self, f: ir.Field, raw: Any, path: tuple, var: str):
        lo, hi = self.value_of(f.key_lo, path), self.value_of(f.key_hi, path)
        lo_s, hi_s = _show_expr(f.key_lo), _show_expr(f.key_hi)
        if raw is MISSING or raw is None:
            if not f.optional and not (raw is None and not f.nonempty):
                self.error(path, f"missing key (a mapping from {f.key} in [{lo_s}, {hi_s}] to "
                                 f"{describe_type(f.type, self.program)})")
            raw = {}
        if not isinstance(raw, dict):
            self.error(path, f"expected a mapping from {f.key} in [{lo_s}, {hi_s}] to "
                             f"{describe_type(f.type, self.program)}, got {_kind_of(raw)}")
        if f.nonempty and not raw:
            self.error(path, f"has no entries; it needs at least one ({f.key} in [{lo_s}, {hi_s}] = [{lo}, {hi}])")
        size = max(0, hi - lo + 1)
        width = len(self.program.enum(f.per).members) if f.per is not None else 1
        if size * width > MAX_TABLE:
            self.error(path, f"the key range [{lo}, {hi}] is too large for a table ({size} entries)")
        shape = (size, width) if f.per is not None else (size,)
        default = self.convert(f, self.value_of(f.default, path), path, from_default=True) \
            if f.default is not None else _zero(f.type)
        table = np.full(shape, default, dtype=_dtype(f.type))
        given = np.zeros(size, dtype=bool)
        seen: dict[int, Any] = {}
        for key, value in raw.items():
            if isinstance(key, bool) or not (isinstance(key, int) or (isinstance(key, str) and _INT_KEY.match(key))):
                self.error(path + (key,), f"{f.key} {key!r} is not an integer")
            k = _int_in_range(key)
            if k is None:
                self.error(path + (_short(key),), f"{f.key} {_short(key)} is not a 64-bit integer")
            if k in seen:
                self.error(path + (key,), f"{f.key} {k} is given twice (as {seen[k]!r} and {key!r})")
            seen[k] = key
            if not lo <= k <= hi:
                self.error(path + (key,), f"{f.key} {k} is outside [{lo_s}, {hi_s}] = [{lo}, {hi}]")
            if f.per is not None:
                table[k - lo], _ = self.per_value(f, value, path + (key,), absent_ok=False)
            else:
                if value is None:
                    self.error(path + (key,), f"missing value (expected {describe_type(f.type, self.program)})")
                table[k - lo] = self.convert(f, value, path + (key,))
            given[k - lo] = True
        self.set(var, table)
        self.set(var + "?", given)

    # ---- values
    def convert(self, f: ir.Field, v: Any, path: tuple, from_default: bool = False):
        t = f.type
        if t == "int":
            if isinstance(v, bool) or not isinstance(v, (int, float)) or (isinstance(v, float) and not v.is_integer()):
                self.error(path, f"expected an integer, got {_kind_of(v)}")
            if _int_in_range(v) is None:
                self.error(path, f"expected a 64-bit integer, got {_short(v)}")
            v = int(v)
        elif t == "real":
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                self.error(path, f"expected a number, got {_kind_of(v)}")
            if isinstance(v, int) and _int_in_range(v) is None:  # float(v) could overflow
                self.error(path, f"expected a finite number, got {_short(v)}")
            if not math.isfinite(v):
                self.error(path, f"expected a finite number, got {v!r}")
        elif t == "bool":
            if not isinstance(v, bool):
                self.error(path, f"expected true or false, got {_kind_of(v)}")
        elif t == "string":
            if not isinstance(v, str):
                self.error(path, f"expected a string, got {_kind_of(v)}")
            return v
        else:
            members = self.program.enum(t[5:]).members
            if from_default:
                return v
            if not isinstance(v, str) or v not in members:
                close = closest(v, members, cutoff=0.75) if isinstance(v, str) else None
                hint = f" (did you mean '{close}'?)" if close else ""
                got = f"'{v}'" if isinstance(v, str) else _kind_of(v)
                self.error(path, f"unknown {t[5:]} {got}{hint}; expected one of: {', '.join(members)}")
            return members.index(v)
        if f.bound is not None and not from_default:
            self.check_bound(f, v, path)
        return v

    def check_bound(self, f: ir.Field, v, path: tuple):
        b = f.bound
        lo = self.value_of(b.lo, path)
        if b.op == "in":
            hi = self.value_of(b.hi, path)
            if not lo <= v <= hi:
                self.error(path, f"must be in [{_show_expr(b.lo)}, {_show_expr(b.hi)}]"
                                 f"{_values_note((b.lo, b.hi), self)}, got {v!r}")
            return
        ok = {">=": v >= lo, ">": v > lo, "<=": v <= lo, "<": v < lo, "!=": v != lo}[b.op]
        if not ok:
            self.error(path, f"must be {ir.BOUND_OPS[b.op]} {_show_expr(b.lo)}{_values_note((b.lo, b.hi), self)}, got {v!r}")


def _int_in_range(v) -> int | None:
    """`v` (an int, an integral float or integer text) as an int when it fits 64 bits, else None."""
    if isinstance(v, str):
        if len(v.strip().lstrip("+-")) > 19:  # int() of thousands of digits is refused or slow
            return None
        v = int(v)
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return int(v) if -2**63 <= v < 2**63 else None


def _short(v) -> str:
    """A value for a message, shortened when long (a 5,000-digit number)."""
    if isinstance(v, int) and v.bit_length() > 256:  # str() of a huge int may be refused
        return f"an integer of about {int(v.bit_length() * math.log10(2)) + 1} digits"
    text = v if isinstance(v, str) else str(v) if isinstance(v, int) else repr(v)
    return text if len(text) <= 40 else f"{text[:20]}...({len(text)} characters)"


def _all_defaulted(f: ir.Field) -> bool:
    """A group may be absent when every field in it has a default or is optional."""
    for g in f.fields:
        if g.kind == "group":
            if not (g.optional or _all_defaulted(g)):
                return False
        elif g.kind == "map":
            if not g.optional:
                return False
        elif g.default is None and not g.optional:
            return False
    return True


def _zero(t: str):
    return {"int": 0, "real": math.nan, "bool": False}.get(t, 0)


def _dtype(t: str):
    return {"int": np.int64, "real": np.float64, "bool": np.bool_}.get(t, np.int64)


def _show_expr(e: ir.Expr) -> str:
    """An input-schema expression as the spec wrote it (names without the input prefix)."""
    match e:
        case ir.Num(value=v):
            return repr(v)
        case ir.InputRef(var=v, index=()):
            return v.split(".", 1)[1]
        case ir.Binary(op=op, left=a, right=b):
            return f"{_show_expr(a)} {op} {_show_expr(b)}"
        case ir.Unary(op="-", operand=x):
            return f"-{_show_expr(x)}"
    return "..."


def _values_note(exprs, binder: _Binder, given: bool = True) -> str:
    """' (name = value, ...)' for the unindexed input fields `exprs` read (presence reads
    too unless `given` is false), each once; '' when there are none."""
    names = []
    for x in exprs:
        if x is None:
            continue
        for node in ir.walk(x):
            if isinstance(node, ir.InputRef) and not node.index and (given or not node.given):
                text = f"{node.var.split('.', 1)[1]} = {binder.values[node.var]!r}"
                if text not in names:
                    names.append(text)
    return f" ({', '.join(names)})" if names else ""


def _bound_text(f: ir.Field) -> str:
    b = f.bound
    if b is None:
        return ""
    if b.op == "in":
        return f" in [{_show_expr(b.lo)}, {_show_expr(b.hi)}]"
    return f" {b.op} {_show_expr(b.lo)}"


def bind_input(program: ir.Program, inp: ir.Input, file: str, data: Any = MISSING) -> tuple[dict, dict]:
    """Check one input file against `inp`; return (leaf values, string leaves)."""
    binder = _Binder(program, inp, file)
    binder.bind(load_data(file) if data is MISSING else data)
    return binder.values, binder.strings


def bind(program: ir.Program, given: dict[str, str], spec_path: str | None = None, also: list[str] = ()) -> Bound:
    """Bind every input of a program: from `given` (name -> file) or the input's default
    file (relative to the spec's folder).  `also`: the spec's other inputs (tables, bound
    elsewhere), named in the message for an unknown input."""
    values: dict[str, Any] = {}
    strings: dict[str, str | None] = {}
    files: dict[str, str] = {}
    declared = {i.name: i for i in program.inputs}
    for name in given:
        if name not in declared:
            known = list(declared) + list(also)
            hint = did_you_mean(name, known) or \
                (f"; its inputs: {', '.join(known)}" if known else "; it declares no inputs")
            raise SpecError(f"--input {name}=...: spec '{program.name}' has no input '{name}'{hint}")
    for inp in program.inputs:
        if inp.name in given:
            file = given[inp.name]
        elif inp.file is not None:
            base = Path(spec_path).parent if spec_path else Path(".")
            file = _relative(base / inp.file)
            if not Path(file).exists():  # e.g. a copied spec, away from the files it names
                raise SpecError(f"input '{inp.name}': its default file \"{inp.file}\" ({file}) does not exist; give "
                                f"the file with --input {inp.name}=FILE", inp.loc, source=program.source)
        else:
            raise SpecError(f"missing --input {inp.name}=FILE (the spec declares input '{inp.name}' with no default "
                            "file)", inp.loc, source=program.source)
        v, s = bind_input(program, inp, file)
        values.update(v)
        strings.update(s)
        files[inp.name] = file
    return Bound(values, files, strings)


def _relative(p: Path) -> str:
    """A default input's path as shown: relative to the current folder when inside it,
    else absolute and normalized (no `dir/../`)."""
    try:
        return p.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(p.resolve())


def parse_input_options(items: list[str]) -> dict[str, str]:
    """`--input NAME=FILE` options -> {name: file}; each name once."""
    out: dict[str, str] = {}
    for item in items:
        if "=" not in item:
            raise SpecError(f"--input {item}: expected NAME=FILE")
        name, file = item.split("=", 1)
        name, file = name.strip(), file.strip()
        if not name or not file:
            raise SpecError(f"--input {item}: expected NAME=FILE")
        if name in out:
            raise SpecError(f"--input {name}=...: given more than once")
        out[name] = file
    return out
