"""Front end, phase 1: .spt text -> unresolved IR `Module` (lark stays inside this module)."""

from __future__ import annotations

import functools
import math
import re
from importlib import resources

import lark
from lark import Token, Transformer, v_args

from spattenc.ir import nodes as ir
from spattenc.ir.catalog import COMPREHENSIONS, DISTRIBUTIONS
from spattenc.ir.errors import SpecError, fail
from spattenc.ir.visit import INT64_MAX

# Friendly names for terminals in "expected ..." messages.
_TOKEN_NAMES = {
    "NAME": "a name", "NUMBER": "a number", "STRING": "a string", "LPAR": "'('", "RPAR": "')'",
    "LBRACE": "'{'", "RBRACE": "'}'", "LSQB": "'['", "RSQB": "']'", "COMMA": "','", "EQUAL": "'='",
    "COLON": "':'", "DOT": "'.'", "COMP_OP": "a comparison", "ADD_OP": "'+' or '-'", "MUL_OP": "'*', '/' or '%'",
    "MINUS": "'-'", "PLUS": "'+'", "CIRCUMFLEX": "'^'", "TILDE": "'~'", "VBAR": "'|'", "ATTR_KEY": "an attribute (unit, label, doc, fmt, scale, gantt)",
    "$END": "end of file",
}


@functools.cache
def _parser() -> lark.Lark:
    grammar = resources.files("spattenc.front").joinpath("grammar.lark").read_text(encoding="utf-8")
    return lark.Lark(grammar, parser="lalr", propagate_positions=True, maybe_placeholders=True)


def _describe(term: str) -> str:
    if term in _TOKEN_NAMES:
        return _TOKEN_NAMES[term]
    # Anonymous keyword terminals are named after their text by lark (e.g. "LET").
    pattern = _parser().get_terminal(term).pattern if term in {t.name for t in _parser().terminals} else None
    if pattern is not None and pattern.type == "str":
        return f"'{pattern.value}'"
    return term.lower()


def parse(source: str, file: str = "<spec>") -> ir.Module:
    """Parse spec text into an unresolved Module; syntax errors raise SpecError."""
    try:
        tree = _parser().parse(source)
    except lark.UnexpectedCharacters as e:
        loc = ir.Loc(file, e.line, e.column, e.line, e.column + 1)
        raise SpecError(f"unexpected character {source[e.pos_in_stream]!r}", loc, source=source) from None
    except lark.UnexpectedToken as e:
        tok = e.token
        if tok.type == "$END":
            lines = source.splitlines() or [""]
            loc = ir.Loc(file, len(lines), len(lines[-1]) + 1, len(lines), len(lines[-1]) + 2)
            found = "end of file"
        else:
            loc = ir.Loc(file, tok.line, tok.column, tok.end_line or tok.line, tok.end_column or tok.column + 1)
            found = f"'{tok.value}'"
        # `accepts` (what the parser state takes) is complete; `expected` can omit keywords.
        expected = sorted({_describe(t) for t in (getattr(e, "accepts", None) or e.expected)})
        if len(expected) > 8:
            expected = expected[:8] + ["..."]
        raise SpecError(f"unexpected {found}; expected {', '.join(expected)}", loc, source=source) from None
    except lark.UnexpectedEOF as e:  # pragma: no cover - LALR reports UnexpectedToken($END)
        raise SpecError(f"unexpected end of file; expected {', '.join(sorted(e.expected))}", None, source=source) from None
    _check_depth(tree, file, source)
    try:
        return _Builder(file, source).transform(tree)
    except lark.exceptions.VisitError as e:
        if isinstance(e.orig_exc, SpecError):
            e.orig_exc.source = source
            raise e.orig_exc from None
        raise


#: The deepest nesting of an expression: every pass walks expressions recursively, so a
#: deeper one (a sum of thousands of terms, hundreds of minus signs) is refused up front.
MAX_DEPTH = 100


def _check_depth(tree: lark.Tree, file: str, source: str) -> None:
    """Refuse a parse tree nested deeper than MAX_DEPTH (walked without recursion), citing
    the first node beyond the limit."""
    stack = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise SpecError(f"expression nested too deeply (more than {MAX_DEPTH} levels)",
                            _loc(file, node.meta), source=source)
        stack.extend((c, depth + 1) for c in node.children if isinstance(c, lark.Tree))


def _loc(file: str, meta_or_token) -> ir.Loc:
    m = meta_or_token
    if isinstance(m, Token):
        return ir.Loc(file, m.line, m.column, m.end_line or m.line, m.end_column or m.column + 1)
    if getattr(m, "empty", False):
        return ir.Loc(file, 0, 0, 0, 0)
    return ir.Loc(file, m.line, m.column, m.end_line, m.end_column)


def _number(text: str, loc: ir.Loc) -> tuple[float | int, bool]:
    """A literal's value: a finite float64, or an integer within 64 bits (located errors,
    not an overflow in a simulator, or Python's refusal of a 4300-digit integer)."""
    clean = text.replace("_", "")
    if any(c in clean for c in ".eE"):
        value = float(clean)
        if not math.isfinite(value):
            fail(f"number too large: {_short(text)} is beyond the float64 range (about 1.8e308)", loc)
        return value, False
    digits = clean.lstrip("0") or "0"
    if len(digits) > len(str(INT64_MAX)) or int(digits) > INT64_MAX:
        fail(f"number too large: the integer {_short(text)} is beyond the 64-bit range (at most "
             f"{INT64_MAX})" + (f"; write a real instead, e.g. {digits[0]}.{digits[1:4] or '0'}e{len(digits) - 1}"
                                  if len(digits) < 300 else ""), loc)
    return int(digits), True


def _short(text: str) -> str:
    return text if len(text) <= 40 else text[:20] + "..." + text[-10:]


@v_args(meta=True)
class _Builder(Transformer):
    """One Transformer from the parse tree to IR nodes, positions attached."""

    def __init__(self, file: str, source: str):
        super().__init__()
        self.file = file
        self.source = source

    def L(self, x) -> ir.Loc:
        return _loc(self.file, x)

    # ---- expressions
    def number(self, meta, c):
        value, is_int = _number(c[0], self.L(c[0]))
        return ir.Num(self.L(meta), value, is_int)

    def true(self, meta, c):
        return ir.Bool(self.L(meta), True)

    def false(self, meta, c):
        return ir.Bool(self.L(meta), False)

    def name(self, meta, c):
        return ir.Name(self.L(c[0]), str(c[0]))

    def getattr(self, meta, c):
        base, name = c[0], str(c[1])
        if isinstance(base, ir.Name):
            return ir.Attr(self.L(meta), base.name, name)
        return _extend(self.L(meta), base, name)

    def getitem(self, meta, c):
        return _extend(self.L(meta), c[0], c[1])

    def domain_enum(self, meta, c):
        return ("enum", str(c[0]), self.L(c[0]))

    def domain_range(self, meta, c):
        lo, hi = (c[0], c[1]) if c[1] is not None else (None, c[0])
        return ("range", lo, hi)

    def comprehension(self, meta, c):
        kind, var, domain, body = str(c[0]), str(c[1]), c[2], c[3]
        if kind not in COMPREHENSIONS:
            fail(f"'{kind}(NAME in ...: expr)' is not a known comprehension; use "
                 f"{', '.join(COMPREHENSIONS)}(NAME in DOMAIN: expr)", self.L(c[0]))
        if domain[0] == "enum":
            return ir.Comprehension(self.L(c[0]), kind, var, domain[1], None, None, body)
        lo = domain[1] if domain[1] is not None else ir.Num(self.L(meta), 0, True)
        return ir.Comprehension(self.L(c[0]), kind, var, None, lo, domain[2], body)

    def call(self, meta, c):
        args = tuple(a for a in c[1:] if a is not None)
        return ir.Call(self.L(c[0]), str(c[0]), args)

    def neg(self, meta, c):
        if isinstance(c[0], ir.Num):  # fold "-3" so literals stay literals
            return ir.Num(self.L(meta), -c[0].value, c[0].is_int)
        return ir.Unary(self.L(meta), "-", c[0])

    def not_op(self, meta, c):
        return ir.Unary(self.L(meta), "not", c[0])

    def binop(self, meta, c):
        return ir.Binary(self.L(c[1]), str(c[1]), c[0], c[2])

    def compare_op(self, meta, c):
        return ir.Binary(self.L(c[1]), str(c[1]), c[0], c[2])

    def pow_op(self, meta, c):
        return ir.Binary(self.L(meta), "^", c[0], c[1])

    def and_op(self, meta, c):
        return ir.Binary(self.L(meta), "and", c[0], c[1])

    def or_op(self, meta, c):
        return ir.Binary(self.L(meta), "or", c[0], c[1])

    def cond(self, meta, c):
        return ir.Cond(self.L(meta), c[0], c[1], c[2])

    # ---- attributes
    def neg_number(self, meta, c):
        value, _ = _number(c[0], self.L(c[0]))
        return -value

    def signed_number(self, meta, c):
        return _number(c[0], self.L(c[0]))[0]

    def attr(self, meta, c):
        key, value = str(c[0]), c[1]
        if isinstance(value, Token):
            value = _unquote(value)
        if key == "scale":
            if not isinstance(value, (int, float)):
                fail("'scale' takes a number", self.L(meta))
            return key, float(value)
        if not isinstance(value, str):
            fail(f"'{key}' takes a string", self.L(meta))
        if key == "gantt" and value not in ir.GANTT_KINDS:
            fail(f"unknown gantt kind {value!r}; expected one of {', '.join(ir.GANTT_KINDS)}", self.L(meta))
        if key == "fmt":
            try:
                format(1.5, value)
            except ValueError:
                fail(f"invalid format {value!r} (a Python format spec such as '.2f' or ',.0f')", self.L(meta))
        return key, value

    def attrs(self, meta, c):
        seen: dict[str, object] = {}
        for key, value in c:
            seen[key] = value
        return ir.Attrs(**seen)

    # ---- declarations
    def spec_decl(self, meta, c):
        return ("spec", self.L(c[0]), str(c[0]), _unquote(c[1]) if c[1] is not None else None)

    def trials_decl(self, meta, c):
        return ("trials", self.L(meta), c[0])

    def seed_decl(self, meta, c):
        return ("seed", self.L(meta), c[0])

    def range(self, meta, c):
        return (c[0], c[1])

    def param_decl(self, meta, c):
        name, typ, default, rng, attrs = c
        lo, hi = rng if rng is not None else (None, None)
        if typ is not None and str(typ) not in ("int", "real", "bool"):
            fail(f"unknown type '{typ}'; expected int, real or bool", self.L(typ))
        t = str(typ) if typ is not None else ("int" if isinstance(default, ir.Num) and default.is_int else
                                              "bool" if isinstance(default, ir.Bool) else "real")
        return ir.Param(self.L(name), str(name), t, default, lo, hi, attrs)

    def let_decl(self, meta, c):
        return ir.Let(self.L(c[0]), str(c[0]), c[1], c[2])

    def fparam(self, meta, c):
        return ("fparam", str(c[0]), str(c[1]) if c[1] is not None else None, self.L(c[1] or c[0]))

    def def_expr(self, meta, c):
        name, *rest = c
        params, body = [p for p in rest[:-1] if p is not None], rest[-1]
        return ir.Func(self.L(name), str(name), tuple(p[1] for p in params), (), body,
                       tuple(_fparam_type(p) for p in params))

    def def_block(self, meta, c):
        name, *rest = c
        params = [p for p in rest if isinstance(p, tuple) and p[0] == "fparam"]
        lets = tuple(x for x in rest if isinstance(x, ir.Let))
        body = rest[-1]
        return ir.Func(self.L(name), str(name), tuple(p[1] for p in params), lets, body,
                       tuple(_fparam_type(p) for p in params))

    # ---- enums, input schemas, reports
    def enum_decl(self, meta, c):
        name, *members = c
        attrs = members.pop()
        members = [m for m in members if m is not None]
        _each_once([(str(m), self.L(m)) for m in members], lambda n: f"enum '{name}' lists '{n}' twice",
                   "first listed here")
        return ir.Enum(self.L(name), str(name), tuple(str(m) for m in members), attrs)

    def scalar_type(self, meta, c):
        return ("scalar", str(c[0]), str(c[1]) if c[1] is not None else None)

    def map_type(self, meta, c):
        key, lo, hi, typ, per = c
        return ("map", str(typ), str(per) if per is not None else None, str(key), lo, hi)

    def bound_range(self, meta, c):
        return ir.Bound(self.L(meta), "in", c[0], c[1])

    def bound_cmp(self, meta, c):
        if str(c[0]) == "==":
            fail("a field bound is 'in [lo, hi]' or one of >= > <= < != followed by a value", self.L(c[0]))
        return ir.Bound(self.L(meta), str(c[0]), c[1])

    def field_decl(self, meta, c):
        name, ftype, bound, default, optional, nonempty, attrs = c
        name = _field_name(name)
        kind, typ, per, *key_range = ftype  # key_range: (key, lo, hi) for a map, empty for a scalar
        return ir.Field(self.L(name), str(name), kind, typ, per, *key_range, bound=bound, default=default,
                        optional=optional is not None, nonempty=nonempty is not None, attrs=attrs)

    def group_decl(self, meta, c):
        name, *items = c
        name = _field_name(name)
        attrs, optional = items.pop(), items.pop()
        fields = tuple(i for i in items if isinstance(i, ir.Field))
        checks = tuple(i for i in items if isinstance(i, ir.Check))
        return ir.Field(self.L(name), str(name), "group", optional=optional is not None, fields=fields,
                        checks=checks, attrs=attrs)

    def dotted(self, meta, c):
        return tuple(str(x) for x in c)

    def check_decl(self, meta, c):
        where, expr, message = c
        return ir.Check(self.L(meta), where, expr, _unquote(message))

    def _schema(self, items):
        return (tuple(i for i in items if isinstance(i, ir.Field)), tuple(i for i in items if isinstance(i, ir.Check)))

    def record_decl(self, meta, c):
        name, title, *items = c
        fields, checks = self._schema(items)
        return ir.Record(self.L(name), str(name), _unquote(title) if title is not None else None, fields, checks)

    def input_decl(self, meta, c):
        name, title, file, *items = c
        fields, checks = self._schema(items)
        return ir.Input(self.L(name), str(name), _unquote(title) if title is not None else None,
                        _unquote(file) if file is not None else None, fields, checks)

    def report_value(self, meta, c):
        return ir.ReportItem(self.L(c[0]), str(c[0]), "value", expr=c[1])

    def report_bare(self, meta, c):
        return ir.ReportItem(self.L(c[0]), str(c[0]), "value", expr=ir.Name(self.L(c[0]), str(c[0])))

    def report_object(self, meta, c):
        return ir.ReportItem(self.L(c[0]), str(c[0]), "object", items=tuple(c[1:]))

    def report_points(self, meta, c):
        params = tuple(str(x) for x in c if isinstance(x, Token))
        items = tuple(x for x in c if isinstance(x, ir.ReportItem))
        return ir.ReportItem(self.L(meta), "points", "points", items=items, params=params)

    def report_first(self, meta, c):
        return ir.ReportItem(self.L(c[0]), str(c[0]), "first", expr=c[1], cond=c[2])

    def report_solve(self, meta, c):
        return ir.ReportItem(self.L(c[0]), str(c[0]), "solve", expr=ir.Name(self.L(c[1]), str(c[1])), cond=c[2])

    def report_decl(self, meta, c):
        return ir.Report(self.L(meta), tuple(c))

    def state_decl(self, meta, c):
        name, typ, init, nxt, attrs = c
        if typ is not None and str(typ) not in ("int", "real", "bool"):
            fail(f"unknown type '{typ}'; expected int, real or bool", self.L(typ))
        return ir.State(self.L(name), str(name), str(typ) if typ is not None else None, init, nxt, attrs)

    def draw_max(self, meta, c):
        return ("max", c[0])

    def random_decl(self, meta, c):
        name, dist, *rest = c
        attrs, cap = rest[-1], rest[-2]
        args = tuple(a for a in rest[:-2] if a is not None)
        if str(dist) not in DISTRIBUTIONS:
            fail(f"unknown distribution '{dist}'; expected one of {', '.join(sorted(DISTRIBUTIONS))}", self.L(dist))
        spec = DISTRIBUTIONS[str(dist)]
        want = spec.params
        if cap is not None:
            if not spec.capped:
                fail(f"{dist}() draws are bounded; 'max' caps only an unbounded draw "
                     f"({', '.join(d.name for d in DISTRIBUTIONS.values() if d.capped)})", cap[1].loc)
            args_cap = (cap[1],)
        else:
            args_cap = ()
        if want[-1].endswith("..."):
            if len(args) < 2:
                fail(f"{dist}() takes two or more arguments ({want[-1][:-3]}), got {len(args)}", self.L(dist))
        elif len(args) != len(want):
            fail(f"{dist}() takes {len(want)} argument{'s' if len(want) != 1 else ''} ({', '.join(want)}), "
                 f"got {len(args)}", self.L(dist))
        # The cap is the draw's last argument (see catalog.Distribution.capped).
        return ir.Random(self.L(name), str(name), str(dist), args + args_cap, attrs)

    def stage_decl(self, meta, c):
        return ir.Stage(self.L(c[0]), str(c[0]), c[1], c[2])

    def layers_decl(self, meta, c):
        index, count, *items = c
        return ir.Layers(self.L(meta), str(index), count, tuple(items))

    def sched_stage(self, meta, c):
        return ir.SchedStage(self.L(c[0]), str(c[0]))

    def sched_seq(self, meta, c):
        return ir.Seq(self.L(meta), tuple(c))

    def sched_par(self, meta, c):
        return c[0] if len(c) == 1 else ir.Par(self.L(meta), tuple(c))

    def schedule_decl(self, meta, c):
        return ("schedule", self.L(meta), c[0])

    def metric_decl(self, meta, c):
        return ir.Metric(self.L(c[0]), str(c[0]), c[1], c[2])

    def show_decl(self, meta, c):
        return ir.Show(self.L(c[0]), str(c[0]), c[1], c[2], c[3])

    # ---- sweeps
    def axis_list(self, meta, c):
        return ("list", self.L(meta), tuple(x for x in c if x is not None))

    def axis_range(self, meta, c):
        return ("range", self.L(meta), tuple(x for x in c if x is not None))

    def axis_call(self, meta, c):
        func, args = str(c[0]), tuple(x for x in c[1:] if x is not None)
        if func not in ir.SWEEP_GENERATORS:
            fail(f"unknown axis generator '{func}'; expected a list [a, b, ...], "
                 f"{', '.join(f'{g}(...)' for g in ir.SWEEP_GENERATORS)}", self.L(c[0]))
        return (func, self.L(c[0]), args)

    def axis_decl(self, meta, c):
        name, (kind, loc, args) = c
        if kind != "list":
            lo, hi = ir.SWEEP_GENERATORS[kind]
            if not lo <= len(args) <= hi:
                want = {"range": "1 to 3 arguments (start, stop, step)",
                        "linspace": "3 arguments (start, stop, num)",
                        "geomspace": "3 arguments (start, stop, num)"}[kind]
                fail(f"{kind}() takes {want}, got {len(args)}", loc)
        return ir.SweepAxis(self.L(name), str(name), kind, args)

    def combine_decl(self, meta, c):
        how = str(c[0])
        if how not in ("product", "zip"):
            fail(f"unknown combination '{how}'; expected product or zip", self.L(c[0]))
        return ("combine", self.L(c[0]), how)

    def sweep_columns(self, meta, c):
        return ("columns", self.L(meta), c[0], tuple(c[1:]))

    def sweep_aggregate(self, meta, c):
        return ("aggregate", self.L(meta), c[0])

    def sweep_decl(self, meta, c):
        name, title, *items = c
        axes, trials, combine = [], None, None
        columns = aggregate = None
        seen: dict[str, ir.Loc] = {}
        for item in items:
            if isinstance(item, ir.SweepAxis):
                if item.param in seen:
                    fail(f"'{item.param}' is swept more than once in sweep '{name}'", item.loc,
                         (seen[item.param], "first swept here"))
                seen[item.param] = item.loc
                axes.append(item)
                continue
            kind, loc = item[0], item[1]
            if kind == "trials":
                if trials is not None:
                    fail(f"sweep '{name}' declares 'trials' more than once", loc, (trials.loc, "first declared here"))
                trials = item[2]
            elif kind == "combine":
                if combine is not None:
                    fail(f"sweep '{name}' declares 'combine' more than once", loc, (combine[0], "first declared here"))
                combine = (loc, item[2])
            elif kind == "columns":
                if columns is not None:
                    fail(f"sweep '{name}' declares 'columns' more than once", loc, (columns[0], "first declared here"))
                columns = (loc, item[2], item[3])
            elif kind == "aggregate":
                if aggregate is not None:
                    fail(f"sweep '{name}' declares 'aggregate' more than once", loc, (aggregate[0], "first declared here"))
                aggregate = (loc, item[2])
        if aggregate is not None and columns is None:
            fail(f"sweep '{name}': 'aggregate' averages rows of the 'columns' table; declare "
                 "'columns DESIGN: NAME, ...' too", aggregate[0])
        table = None
        if columns is not None:
            table = ir.SweepTable(columns[0], columns[1], columns[2], aggregate[1] if aggregate else None)
        if not axes:
            fail(f"sweep '{name}' has no axes (e.g. axis my_param = linspace(0, 1, 11))", self.L(name))
        return ir.Sweep(self.L(name), str(name), _unquote(title) if title is not None else None, tuple(axes),
                        combine[1] if combine else "product", trials, table)

    def compare_decl(self, meta, c):
        return ir.Compare(self.L(c[0]), str(c[0]), c[1], c[2])

    # ---- measured tables, roofline, solve
    def ident(self, meta, c):
        return ir.Ident(self.L(c[0]), str(c[0]))

    def m_design(self, meta, c):
        return ("design", self.L(meta), c[0])

    def m_config(self, meta, c):
        return ("config", self.L(meta), tuple(c))

    def m_observe(self, meta, c):
        return ("observe", self.L(meta), tuple(c))

    def m_axis(self, meta, c):
        return ("axis", self.L(meta), c[0])

    def measured_decl(self, meta, c):
        name, title, *items = c
        got = _clauses(items, f"measured '{name}'")
        loc = self.L(name)
        for key in ("design", "config", "observe"):
            if key not in got:
                example = {"design": "design NAME", "config": "config PARAM, ...", "observe": "observe NAME"}[key]
                fail(f"measured '{name}' needs '{key}' ({example})", loc)
        return ir.Measured(loc, str(name), _unquote(title) if title is not None else None, got["design"][1],
                           got["config"][1], got["observe"][1], got["axis"][1] if "axis" in got else None)

    def r_compute(self, meta, c):
        return ("compute", self.L(meta), tuple(x for x in c if x is not None))

    def r_memory(self, meta, c):
        return ("memory", self.L(meta), tuple(x for x in c if x is not None))

    def r_intensity(self, meta, c):
        return ("intensity", self.L(meta), c[0])

    def r_throughput(self, meta, c):
        return ("throughput", self.L(meta), c[0])

    def roofline_decl(self, meta, c):
        title, *items = c
        got = _clauses(items, "the roofline")
        loc = self.L(meta)
        for key in ("compute", "memory", "intensity", "throughput"):
            if key not in got:
                example = {"compute": "compute PEAK [, ACHIEVABLE]", "memory": "memory BANDWIDTH [, ACHIEVABLE]",
                           "intensity": "intensity METRIC", "throughput": "throughput METRIC"}[key]
                fail(f"the roofline needs '{key}' ({example})", loc)
        return ir.Roofline(loc, _unquote(title) if title is not None else None, got["compute"][1], got["memory"][1],
                           got["intensity"][1], got["throughput"][1])

    def solve_decl(self, meta, c):
        name, unknown, design, expr, attrs = c
        return ir.Solve(self.L(name), str(name), unknown, design, expr, attrs)

    # ---- input tables, rows, groups
    def table_input_decl(self, meta, c):
        name, kind, title, *columns = c
        if str(kind) != "table":
            fail(f"unknown input kind '{kind}'; expected table", self.L(kind))
        _each_once([(col.name, col.loc) for col in columns],
                   lambda n: f"column '{n}' is declared more than once in input '{name}'", "first declared here",
                   empty=(f"input '{name}' declares no columns (e.g. column layer_id: int)", self.L(name)))
        return ir.TableInput(self.L(name), str(name), _unquote(title) if title is not None else None, tuple(columns))

    def column_decl(self, meta, c):
        name, typ, bound, attrs = c
        if str(typ) not in ("int", "real", "bool"):
            fail(f"unknown column type '{typ}'; expected int, real or bool", self.L(typ))
        if bound is not None and str(typ) == "bool":
            fail(f"a bound needs a numeric column; '{name}' is a bool", bound.loc)
        return ir.Column(self.L(name), str(name), str(typ), attrs, bound)

    def rows_decl(self, meta, c):
        index, table, *items = c
        for item in items:
            if isinstance(item, ir.State):
                fail(f"state '{item.name}' is not allowed in a rows block: rows are evaluated independently "
                     "(use a group to combine rows)", item.loc)
        return ir.Rows(self.L(meta), str(index), str(table), tuple(items))

    def group_keys(self, meta, c):
        return [x for x in c if x is not None]

    def group_by_decl(self, meta, c):
        name, title, keys, source, *lets = c
        return ir.Group(self.L(name), str(name), _unquote(title) if title is not None else None,
                        tuple(str(k) for k in keys), tuple(self.L(k) for k in keys),
                        str(source) if source is not None else None, tuple(lets))

    # ---- loops
    def while_decl(self, meta, c):
        return ("while", self.L(meta), c[0])

    def loop_decl(self, meta, c):
        name, *rest = c
        params = tuple(str(x) for x in rest if isinstance(x, Token))
        body = rest[-1]
        states, items, cond = [], [], None
        for x in rest[:-1]:
            if isinstance(x, ir.State):
                states.append(x)
            elif isinstance(x, (ir.Let, ir.Random)):
                items.append(x)
            elif isinstance(x, tuple):
                if cond is not None:
                    fail(f"loop '{name}' has more than one 'while'", x[1], (cond[0], "first 'while' here"))
                cond = (x[1], x[2])
        if cond is None:
            fail(f"loop '{name}' needs a 'while CONDITION' saying when a step runs", self.L(name))
        return ir.Loop(self.L(name), str(name), params, tuple(states), tuple(items), cond[1], body)

    # ---- cases
    def case_set(self, meta, c):
        return ir.CaseSet(self.L(c[0]), str(c[0]), c[1])

    def case_decl(self, meta, c):
        label, *sets = c
        sets = [x for x in sets if x is not None]
        _each_once([(x.name, x.loc) for x in sets],
                   lambda n: f"'{n}' is set more than once in case {_unquote(label)!r}", "first set here")
        return ir.Case(self.L(label), _unquote(label), tuple(sets))

    def cases_decl(self, meta, c):
        name, title, *cases = c
        _each_once([(case.label, case.loc) for case in cases],
                   lambda n: f"case {n!r} appears more than once in cases '{name}'", "first here",
                   empty=(f"cases '{name}' lists no case (e.g. case \"low\" {{ p = 1 }})", self.L(name)))
        return ir.Cases(self.L(name), str(name), _unquote(title) if title is not None else None, tuple(cases))

    # ---- fixed point and hardware
    def fixed_opt(self, meta, c):
        key, value = c
        return (str(key), self.L(key), str(value), self.L(value))

    def fixed_decl(self, meta, c):
        opts: dict[str, object] = {}
        seen: dict[str, ir.Loc] = {}
        for opt in c:
            if opt is None:
                continue
            key, kloc, value, vloc = opt
            if key in seen:
                fail(f"fixed option '{key}' is given more than once", kloc, (seen[key], "first given here"))
            seen[key] = kloc
            if key == "frac_bits":
                if not value.isdigit() or not 0 <= int(value) <= 64:
                    fail(f"frac_bits must be an integer from 0 to 64, got '{value}'", vloc)
                opts[key] = int(value)
            elif key == "stage_cycles":
                if value not in ir.ROUNDINGS + ("none",):
                    fail(f"stage_cycles must be one of {', '.join(ir.ROUNDINGS + ('none',))}, got '{value}'", vloc)
                opts[key] = None if value == "none" else value
            else:
                fail(f"unknown fixed option '{key}'; expected frac_bits or stage_cycles", kloc)
        return ir.FixedOpts(self.L(meta), **opts)

    def hw_input(self, meta, c):
        return [ir.HwInput(self.L(t), str(t)) for t in c]

    def hw_limit(self, meta, c):
        return ir.Limit(self.L(c[0]), str(c[0]), c[1], c[2])

    def hw_output(self, meta, c):
        return ir.Metric(self.L(c[0]), str(c[0]), c[1], c[2])

    def hw_layer_output(self, meta, c):
        return ir.Let(self.L(c[0]), str(c[0]), c[1], c[2])

    def hw_configs(self, meta, c):
        return ("configs", self.L(meta), c[0])

    def hw_max_cycles(self, meta, c):
        return ("max_cycles", self.L(meta), c[0])

    def hardware_decl(self, meta, c):
        name, path, design, *items = c
        inputs, limits, outputs, layer_outputs = [], [], [], []
        extra: dict[str, object] = {}
        seen: dict[str, ir.Loc] = {}
        for item in items:
            if isinstance(item, list):
                inputs += item
            elif isinstance(item, ir.Limit):
                limits.append(item)
            elif isinstance(item, ir.Metric):
                outputs.append(item)
            elif isinstance(item, ir.Let):
                layer_outputs.append(item)
            else:
                key, loc, value = item
                if key in seen:
                    fail(f"'{key}' is given more than once in hardware '{name}'", loc, (seen[key], "first given here"))
                seen[key] = loc
                extra[key] = value
        return ir.Hardware(self.L(name), str(name), _unquote(path), str(design), self.L(design), tuple(inputs),
                           tuple(limits), tuple(outputs), tuple(layer_outputs), **extra)

    def design_decl(self, meta, c):
        name, title, *items = c
        lets, metrics, shows, draws, schedule = [], [], [], [], None
        for item in items:
            if isinstance(item, ir.Show):
                shows.append(item)
            elif isinstance(item, ir.Random):
                draws.append(item)
            elif isinstance(item, tuple) and item[0] == "schedule":
                if schedule is not None:
                    fail(f"design '{name}' has more than one schedule", item[1], (schedule.loc, "first schedule here"))
                schedule = item[2]
            elif isinstance(item, ir.Metric):
                metrics.append(item)
            else:
                lets.append(item)
        return ir.Design(self.L(name), str(name), _unquote(title) if title is not None else None,
                         tuple(lets), schedule, tuple(metrics), tuple(shows), tuple(draws))

    def start(self, meta, items):
        name = title = trials = seed = None
        # Declarations that may repeat, by node type (in source order), and those that may not.
        many: dict[type, list] = {ir.Param: [], ir.Let: [], ir.Func: [], ir.Design: [], ir.Compare: [],
                                  ir.Sweep: [], ir.Measured: [], ir.Solve: [], ir.Enum: [], ir.Record: [],
                                  ir.Input: [], ir.TableInput: [], ir.Group: [], ir.Loop: [], ir.Cases: [],
                                  ir.Hardware: [], ir.Random: []}
        single: dict[type, tuple[str, object]] = {ir.Layers: ("layers", None), ir.Roofline: ("roofline", None),
                                                  ir.Report: ("report", None), ir.Rows: ("rows", None),
                                                  ir.FixedOpts: ("fixed", None)}
        seen: dict[str, ir.Loc] = {}

        def once(key: str, loc: ir.Loc):
            if key in seen:
                fail(f"'{key}' is declared more than once", loc, (seen[key], "first declared here"))
            seen[key] = loc

        for item in items:
            if isinstance(item, tuple):
                kind, loc = item[0], item[1]
                once(kind, loc)
                if kind == "spec":
                    name, title = item[2], item[3]
                elif kind == "trials":
                    trials = item[2]
                elif kind == "seed":
                    seed = item[2]
            elif type(item) in single:
                key = single[type(item)][0]
                once(key, item.loc)
                single[type(item)] = (key, item)
            else:
                many[type(item)].append(item)

        def got(kind: type) -> tuple:
            return tuple(many[kind])

        return ir.Module(self.file, self.source, name, title, trials, seed, got(ir.Param), got(ir.Let),
                         got(ir.Func), single[ir.Layers][1], got(ir.Design), got(ir.Compare), sweeps=got(ir.Sweep),
                         measured=got(ir.Measured), roofline=single[ir.Roofline][1], solves=got(ir.Solve),
                         enums=got(ir.Enum), records=got(ir.Record), inputs=got(ir.Input),
                         report=single[ir.Report][1], tables=got(ir.TableInput), rows=single[ir.Rows][1],
                         groups=got(ir.Group), loops=got(ir.Loop), cases=got(ir.Cases),
                         fixed=single[ir.FixedOpts][1], hardware=got(ir.Hardware), draws=got(ir.Random))


def _extend(loc: ir.Loc, base, step) -> ir.Path:
    """`base` (a name, `a.b` or a longer path) followed by one more field name or index."""
    if isinstance(base, ir.Name):
        return ir.Path(loc, base.name, (step,))
    if isinstance(base, ir.Attr):
        return ir.Path(loc, base.base, (base.attr, step))
    return ir.Path(loc, base.root, base.steps + (step,))


def _clauses(items, where: str) -> dict[str, tuple]:
    """(key, loc, value) clauses of a block -> {key: (loc, value)}; each key once."""
    got: dict[str, tuple] = {}
    for key, loc, value in items:
        if key in got:
            fail(f"'{key}' is given more than once in {where}", loc, (got[key][0], "first given here"))
        got[key] = (loc, value)
    return got


def _each_once(named: list[tuple[str, ir.Loc]], message, note: str,
               empty: tuple[str, ir.Loc] | None = None) -> None:
    """Fail at the second place a name appears, citing the first: `message(name)` says what.
    With `empty` (a message and its place), the list must also name something."""
    if empty is not None and not named:
        fail(*empty)
    seen: dict[str, ir.Loc] = {}
    for name, loc in named:
        if name in seen:
            fail(message(name), loc, (seen[name], note))
        seen[name] = loc


def _field_name(tok: Token) -> Token:
    """A schema key written as a name or as a string (for keys that are keywords)."""
    if tok.type == "STRING":
        return Token("NAME", _unquote(tok), tok.start_pos, tok.line, tok.column, tok.end_line, tok.end_column,
                     tok.end_pos)
    return tok


def _fparam_type(p) -> str:
    """The declared type of a function parameter: 'real' unless annotated."""
    typ = p[2]
    if typ is None or typ == "real":
        return "real"
    if typ in ("int", "bool"):
        return typ
    return f"enum:{typ}"  # checked against the declared enums by the checker


#: The escapes of a string literal; any other backslash is kept as written.
_ESCAPES = {'"': '"', "\\": "\\", "n": "\n"}


def _unquote(tok) -> str:
    """The text of a string literal: `\\"`, `\\\\` and `\\n` decoded in one left-to-right pass
    (so `\\\\n` is a backslash and an `n`, not a newline)."""
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m[1], m[0]), str(tok)[1:-1], flags=re.S)
