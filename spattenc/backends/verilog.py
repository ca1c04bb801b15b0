"""Back end: a FixedPlan -> Verilog-2005 RTL: the metric model, its self-checking
testbench, the cocotb harness and test (files under generated/<spec>/rtl/).

Expressions are printed by `VerilogPrinter`, a sympy CodePrinter subclass for integer
Verilog: every fixed-point node becomes one signed wire whose width the interval
analysis chose, so no intermediate result can overflow.  Layout is in the jinja2
templates model.v.j2, tb.v.j2, harness.v.j2 and test_cocotb.py.j2.
"""

from __future__ import annotations

from dataclasses import dataclass

from sympy.printing.codeprinter import CodePrinter

from spattenc.ir import keys
from spattenc.ir.keys import Key
from spattenc.middle import fixed as fx
from spattenc.middle.fixed_error import metric_bounds
from spattenc.backends.templates_env import render
from spattenc.ir.errors import SpecError
from spattenc.backends.naming import VERILOG_KEYWORDS, code, file_stem, py_part
from spattenc.middle.golden import word_bits

#: Names the generated modules use for themselves.
INTERNAL = frozenset({"clk", "rst", "start", "busy", "done", "layer", "layer_count", "model", "mem", "ptr"})


class Namer:
    """Unique, keyword-safe Verilog identifiers, assigned deterministically."""

    def __init__(self, taken=()):
        self.taken = set(taken)

    def __call__(self, name: str) -> str:
        base = name if name not in VERILOG_KEYWORDS else name + "_"
        out, i = base, 2
        while out in self.taken or out in VERILOG_KEYWORDS:
            out = f"{base}_{i}"
            i += 1
        self.taken.add(out)
        return out


def literal(value: int, kind: str) -> str:
    """A sized literal: signed decimal for numbers, 1'b0/1'b1 for conditions."""
    if kind == "bool":
        return f"1'b{1 if value else 0}"
    # A negative value is the negation of its magnitude, sized to hold the magnitude as a
    # signed number (-2 as -2'sd2 would negate 2'sd2, which is -2), in parentheses so a
    # negation of it never reads as `--`.
    w = fx.width_of(kind, abs(value), abs(value))
    return f"{w}'sd{value}" if value >= 0 else f"(-{w}'sd{-value})"


class VerilogPrinter(CodePrinter):
    """Prints one fixed-point node as a Verilog expression over named operands.

    `names` maps operand nodes already held in wires (and every variable) to their
    identifiers; `widths` gives each node's register width and `ranges` its interval.
    """

    printmethod = "_verilog"
    language = "Verilog"
    reserved_words = set(VERILOG_KEYWORDS)
    _default_settings = dict(CodePrinter._default_settings, human=True, strict=False)

    def __init__(self, names: dict, widths, ranges, settings=None):
        super().__init__(settings or {})
        self.names = names
        self.widths = widths
        self.ranges = ranges

    def code(self, n: fx.Node) -> str:
        """Print a fixed-point node as a Verilog expression."""
        return code(self._print(n))

    def _operand(self, n: fx.Node) -> str:
        if isinstance(n, fx.Lit) and n not in self.names:
            return literal(n.value, n.kind)
        return self.names[n]

    def _print_Lit(self, n: fx.Lit) -> str:
        return literal(n.value, n.kind)

    def _print_Var(self, n: fx.Var) -> str:
        return self.names[n]

    def _print_Add(self, n: fx.Add) -> str:
        return f"{self._operand(n.a)} + {self._operand(n.b)}"

    def _print_Sub(self, n: fx.Sub) -> str:
        return f"{self._operand(n.a)} - {self._operand(n.b)}"

    def _print_Mul(self, n: fx.Mul) -> str:
        return f"{self._operand(n.a)} * {self._operand(n.b)}"

    def _print_Neg(self, n: fx.Neg) -> str:
        return f"-{self._operand(n.a)}"

    def _print_Shl(self, n: fx.Shl) -> str:
        return f"{self._operand(n.a)} <<< {n.k}"

    def _print_Shr(self, n: fx.Shr) -> str:
        a, k = self._operand(n.a), n.k
        # The added constant is sized one bit wider than the operand, which sets the
        # width the sum is computed at (no overflow before the shift).
        pad = max(self.widths(n.a), k + 1) + 1
        match n.mode:
            case "floor":
                return f"{a} >>> {k}"
            case "ceil":
                return f"({a} + {pad}'sd{(1 << k) - 1}) >>> {k}"
            case "nearest":
                return f"({a} + {pad}'sd{1 << (k - 1)}) >>> {k}"
            case "trunc":
                return f"({a} < 0) ? (({a} + {pad}'sd{(1 << k) - 1}) >>> {k}) : ({a} >>> {k})"
            case "round":
                # floor, plus one when the dropped bits exceed one half, or equal it and the
                # floor is odd (ties to even); `a` is at least k+1 bits wide here (see below).
                half = 1 << (k - 1)
                return (f"({a} >>> {k}) + ((({a}[{k - 1}:0] > {k}'d{half}) || "
                        f"(({a}[{k - 1}:0] == {k}'d{half}) && {a}[{k}])) ? 1 : 0)")
        raise AssertionError(n.mode)  # pragma: no cover

    def _print_Div(self, n: fx.Div) -> str:
        a, b = self._operand(n.a), self._operand(n.b)
        if self._may_be_zero(n.b):
            return f"({b} == 0) ? 0 : {a} / {b}"
        return f"{a} / {b}"

    def _print_Mod(self, n: fx.Mod) -> str:
        raise AssertionError("Mod is emitted in two steps by the model writer")  # pragma: no cover

    def _print_Cmp(self, n: fx.Cmp) -> str:
        return f"{self._operand(n.a)} {n.op} {self._operand(n.b)}"

    def _print_Logic(self, n: fx.Logic) -> str:
        op = "&&" if n.op == "and" else "||"
        return f"{self._operand(n.a)} {op} {self._operand(n.b)}"

    def _print_Not(self, n: fx.Not) -> str:
        return f"!{self._operand(n.a)}"

    def _print_Mux(self, n: fx.Mux) -> str:
        return f"{self._operand(n.c)} ? {self._operand(n.a)} : {self._operand(n.b)}"

    def _print_Min(self, n: fx.Min) -> str:
        a, b = self._operand(n.a), self._operand(n.b)
        return f"({a} < {b}) ? {a} : {b}"

    def _print_Max(self, n: fx.Max) -> str:
        a, b = self._operand(n.a), self._operand(n.b)
        return f"({a} > {b}) ? {a} : {b}"

    def _print_Abs(self, n: fx.Abs) -> str:
        a = self._operand(n.a)
        return f"({a} < 0) ? -{a} : {a}"

    def _may_be_zero(self, n: fx.Node) -> bool:
        lo, hi = self.ranges(n)
        return lo <= 0 <= hi


@dataclass(frozen=True)
class Wire:
    """A declared net: `signed [width-1:0] name = expr`, with a comment."""

    name: str
    width: int
    signed: bool
    expr: str
    comment: str = ""

    def __post_init__(self):
        object.__setattr__(self, "expr", code(self.expr))

    @property
    def decl(self) -> str:
        if self.width == 1 and not self.signed:
            return code(f"wire {self.name}")
        return code(f"wire {'signed ' if self.signed else ''}[{self.width - 1}:0] {self.name}")


class _Writer:
    """Flattens fixed-point assignments into wires (shared subexpressions once)."""

    def __init__(self, fp: fx.FixedPlan, namer: Namer, var_names: dict[Key, str]):
        self.fp = fp
        self.namer = namer
        self.var_names = var_names
        self.names: dict = {}
        self.printer = VerilogPrinter(self.names, self.width, self.range_of)

    def width(self, n: fx.Node) -> int:
        return self.fp.node_width(n)

    def range_of(self, n: fx.Node):
        if isinstance(n, fx.Lit):
            return n.value, n.value
        if isinstance(n, fx.Var):
            return self.fp.ranges[n.var]
        return self.fp.node_ranges[n]

    def name_of(self, n: fx.Node) -> str | None:
        if isinstance(n, fx.Var):
            return self.var_names[n.var]
        return self.names.get(n)

    def wires(self, target_var: Key | None, target: str, node: fx.Node, comment: str, width: int | None = None
              ) -> list[Wire]:
        """Wires computing `node`, the last named `target` (`target_var` then names it)."""
        out: list[Wire] = []
        counter = 0
        for x in fx.postorder(node):
            if isinstance(x, fx.Var):
                self.names[x] = self.var_names[x.var]
                continue
            if isinstance(x, fx.Lit) or x in self.names:
                continue
            is_root = x is node
            if is_root:
                name = target
            else:
                counter += 1
                name = self.namer(f"{target}__{counter}")
            w = self.width(x) if not is_root or width is None else width
            out += self._emit(x, name, w, comment if is_root else "")
            self.names[x] = name
        if isinstance(node, (fx.Var, fx.Lit)) or node in self.names and self.names[node] != target:
            src = literal(node.value, node.kind) if isinstance(node, fx.Lit) else self.names[node]
            w = width if width is not None else self.width(node)
            out.append(Wire(target, w, node.kind != "bool", src, comment))
        if target_var is not None:
            self.var_names[target_var] = target
        return out

    def _emit(self, x: fx.Node, name: str, w: int, comment: str) -> list[Wire]:
        signed = x.kind != "bool"
        if isinstance(x, fx.Shr) and x.mode == "round" and (self.width(x.a) < x.k + 1 or isinstance(x.a, fx.Lit)):
            # Bit selects need a net (not a literal) at least k+1 bits wide: sign-extend it first.
            ext = self.namer(f"{name}__x")
            pre = Wire(ext, max(x.k + 1, self.width(x.a)), True, self.printer._operand(x.a))
            self.names[x.a] = ext
            inner = fx.Shr(x.kind, x.a, x.k, x.mode)
            text = self.printer.code(inner)
            if isinstance(x.a, fx.Lit):  # the net is this wire's own; other uses print the literal
                del self.names[x.a]
            return [pre, Wire(name, w, signed, text, comment)]
        if isinstance(x, fx.Mod):
            a, b = self.printer._operand(x.a), self.printer._operand(x.b)
            rem = self.namer(f"{name}__rem")
            rw = max(self.width(x.a), self.width(x.b))
            zero = self.printer._may_be_zero(x.b)
            r_text = f"({b} == 0) ? 0 : {a} % {b}" if zero else f"{a} % {b}"
            # Verilog's % takes the sign of the dividend; Python's takes the divisor's.
            fix = f"(({rem} != 0) && (({rem} < 0) != ({b} < 0))) ? {rem} + {b} : {rem}"
            return [Wire(rem, rw, True, r_text), Wire(name, w, signed, fix, comment)]
        return [Wire(name, w, signed, self.printer.code(x), comment)]


def verilog_names(fp: fx.FixedPlan) -> tuple[Namer, dict[Key, str]]:
    """Identifiers of every variable: ports p_*, r_*, m_*; everything else after the spec."""
    namer = Namer(INTERNAL)
    names: dict[Key, str] = {}
    for p in fp.params:
        names[p.var] = namer(f"p_{p.name}")
    for d in fp.layer:
        if isinstance(d, fx.Draw):
            names[Key("bus", d.name)] = namer(f"r_{d.name}")
    for d in fp.designs:
        for m in d.metrics:
            names[Key("metric", m.name, d.name)] = namer(f"m_{d.name}_{m.name}")
    names[keys.COUNT] = "layer_count"
    names[fp.index_var] = "layer"
    for v in sorted(fp.kinds, key=str):
        if v in names:
            continue
        match v.kind:
            case "design":
                base = f"{v.owner}__{v.name}"
            case "time":
                base = f"{v.owner}__{v.name}__{v.part}" if v.name else f"{v.owner}__{v.part}"
            case "acc" | "hwacc" | "hw":
                continue  # not in the model (hw) or named below
            case _:
                base = v.name
        names[v] = base
    # Deterministic claim order: sorted by the variables' text.
    for v in sorted(names, key=str):
        if v.kind in ("param", "bus", "metric") or v in (keys.COUNT, fp.index_var):
            continue
        names[v] = namer(names[v])
    for d in fp.designs:
        for a in d.accs:
            names[a.var] = namer(f"acc_{a.var.owner}__{a.var.name}__{a.var.part}")
    return namer, names


def _comment_range(fp: fx.FixedPlan, kind: str, lo: int, hi: int) -> str:
    if kind == "fix":
        s = 1 << fp.frac_bits
        return f"real in [{lo / s:.6g}, {hi / s:.6g}], x 2^{fp.frac_bits}"
    if kind == "bool":
        return "condition"
    return f"int in [{lo}, {hi}]"


def render_rtl(fp: fx.FixedPlan, spec_path: str, command: str, depth: int = 1 << 16,
               omit: frozenset[str] = frozenset()) -> dict[str, str]:
    """The generated RTL files: rtl/<spec>_model.v, _tb.v, _harness.v, test_<spec>.py;
    `depth` is the testbench's default golden-vector memory (words); the harness and test
    leave out the hardware blocks named in `omit` (verify, when their RTL file is absent)."""
    spec = fp.name
    namer, names = verilog_names(fp)
    w = _Writer(fp, namer, names)
    params, draws = _ports(fp, names)
    # Constants, the layer count and the initial states depend on params only.
    const_wires: list[Wire] = []
    for a in fp.consts:
        const_wires += w.wires(a.var, names[a.var], a.node, f"{a.name}: {_comment_range(fp, fp.kinds[a.var], *fp.ranges[a.var])}",
                               fp.width(a.var))
    const_wires += w.wires(keys.COUNT, "layer_count", fp.count.node, "layer count", fp.width(keys.COUNT))
    states = []
    for s in fp.states:
        init_name = namer(f"{names[s.var]}__init")
        const_wires += w.wires(None, init_name, s.init, f"initial {s.name}", fp.width(s.var))
        states.append({"name": names[s.var], "spec": s.name, "width": fp.width(s.var), "init": init_name,
                       "signed": s.kind != "bool"})
    # Per-layer datapath.
    layer_wires: list[Wire] = []
    for item in fp.layer:
        if isinstance(item, fx.Draw):
            continue  # selected from its bus by the template (`draws`)
        layer_wires += w.wires(item.var, names[item.var], item.node,
                               f"{item.name}: {_comment_range(fp, fp.kinds[item.var], *fp.ranges[item.var])}",
                               fp.width(item.var))
    designs, metrics, final_wires = _designs(fp, w, namer, names)
    next_wires: list[Wire] = []
    for s, state in zip(fp.states, states):
        nxt = namer(f"{names[s.var]}__next")
        next_wires += w.wires(None, nxt, s.next, f"next {s.name}", fp.width(s.var))
        state["next"] = nxt
    layer_width = fx.width_of("int", 0, fp.count_hi)
    ctx = dict(
        spec=spec, stem=file_stem(spec), title=fp.plan.program.title or spec, spec_path=spec_path, command=command,
        frac_bits=fp.frac_bits, stage_cycles=fp.stage_cycles, count_max=fp.count_hi, layer_width=layer_width,
        params=params, draws=draws, metrics=metrics, const_wires=const_wires, states=states,
        layer_wires=layer_wires, designs=designs, next_wires=next_wires,
        final_wires=final_wires,
    )
    tb = dict(ctx, word_bits=word_bits(fp), depth=depth, timeout=fp.count_hi + 16)
    hardware = [h for h in _hardware_ctx(fp, namer) if h["name"] not in omit]
    stem = file_stem(spec)
    files = {
        f"rtl/{stem}_model.v": render("model.v.j2", **ctx),
        f"rtl/{stem}_tb.v": render("tb.v.j2", **tb),
        f"rtl/{stem}_harness.v": render("harness.v.j2", **dict(ctx, hardware=hardware)),
        f"rtl/test_{stem}.py": render("test_cocotb.py.j2", **dict(ctx, hardware=hardware)),
    }
    return files


def _ports(fp: fx.FixedPlan, names: dict) -> tuple[list[dict], list[dict]]:
    """Template context of the model's param inputs and draw buses."""
    params = [{"name": names[p.var], "spec": p.name, "width": fp.width(p.var), "kind": p.kind,
               "signed": p.kind != "bool", "note": _comment_range(fp, p.kind, p.lo, p.hi)} for p in fp.params]
    draws = [{"bus": names[Key("bus", d.name)], "wire": names[d.var], "spec": d.name, "width": fp.width(d.var),
              "kind": d.kind, "dist": d.dist, "signed": d.kind != "bool"}
             for d in fp.layer if isinstance(d, fx.Draw)]
    return params, draws


def _designs(fp: fx.FixedPlan, w: "_Writer", namer: Namer, names: dict) -> tuple[list[dict], list[dict], list]:
    """Template context of each design's per-layer wires and accumulators, the metric
    output ports, and the wires computing the metrics after the last layer."""
    designs, metrics, final_wires = [], [], []
    bounds = metric_bounds(fp)
    for d in fp.designs:
        dw: list[Wire] = []
        for a in d.steps:
            dw += w.wires(a.var, names[a.var], a.node, a.name, fp.width(a.var))
        accs = []
        for a in d.accs:
            nxt = namer(f"{names[a.var]}__next")
            dw += w.wires(None, nxt, a.update, f"{a.reduction}() in {fp.names[a.var].split(' in ')[-1]}",
                          fp.width(a.var))
            accs.append({"name": names[a.var], "width": fp.width(a.var), "next": nxt, "kind": a.reduction})
        designs.append({"name": d.name, "wires": dw, "t": names[d.t_var], "t_width": fp.width(d.t_var),
                        "end": names[d.end_var], "accs": accs})
        for m in d.metrics:
            port = names[Key("metric", m.name, d.name)]
            val = namer(f"{port}__value")
            mw = fp.node_width(m.node)
            final_wires += w.wires(None, val, m.node, f"{d.name}.{m.name}", mw)
            lo, hi = fp.node_ranges.get(m.node) or fp.ranges[m.node.var]
            bound = bounds[Key("metric", m.name, d.name)]
            note = _comment_range(fp, m.node.kind, lo, hi) + "; |fixed - float64| " + (
                f"<= {bound:.3g}" if bound is not None else "has no finite bound") + " over the declared ranges"
            metrics.append({"port": port, "value": val, "width": mw, "design": d.name, "metric": m.name,
                            "kind": m.node.kind, "note": note,
                            "label": m.attrs.shown_label(m.name)})
    return designs, metrics, final_wires


def _hardware_ctx(fp: fx.FixedPlan, namer: Namer) -> list[dict]:
    """Template context of each hand-written block: its harness signals, named by the
    model's namer (so none equals another generated name), and its ports as the spec
    names them (they must be the block's own port names: a Verilog keyword is refused)."""
    out = []
    for h in fp.hardware:
        hw = h.hw
        for name in (hw.name, *(n for n, _, _ in h.inputs), *(o.name for o in h.outputs),
                     *(n for n, _, _ in h.layer_outputs)):
            if name in VERILOG_KEYWORDS:
                raise SpecError(f"hardware {hw.name}: {name!r} is a Verilog keyword, so it cannot name "
                                "a module or port of the hand-written RTL", hw.loc)
        prefix = f"{hw.name}__"
        sig = {k: namer(prefix + k) for k in ("start", "done", "layer", "layer_done", "layers_seen", "dut")}
        inputs = []
        for spec_name, var, kind in h.inputs:
            per_layer = var.kind == "random"
            reg = namer(prefix + spec_name)
            inputs.append({"port": spec_name, "reg": reg, "bus": namer(reg + "_bus"), "width": fp.width(var),
                           "kind": kind, "per_layer": per_layer, "signed": kind != "bool"})
        outputs = [{"port": o.name, "wire": namer(prefix + o.name), "width": fp.node_width(o.node),
                    "kind": o.node.kind, "signed": o.node.kind != "bool"} for o in h.outputs]
        layer_outputs = [{"port": n, "wire": namer(prefix + n), "cap": namer(prefix + "cap_" + n),
                          "width": fp.width(v), "kind": k, "signed": k != "bool"} for n, v, k in h.layer_outputs]
        out.append({"name": hw.name, "path": hw.path, "design": hw.design, "sig": sig, "inputs": inputs,
                    "outputs": outputs, "layer_outputs": layer_outputs, "configs": hw.configs,
                    "max_cycles": hw.max_cycles, "test": f"dut_{py_part(hw.name)}_matches_spec"})
    return out
