"""Back end: a FixedPlan -> `fixed_sim.py`, the numpy simulator of the fixed-point semantics.

It computes exactly what the generated Verilog model computes (Python ints in numpy
object arrays, so no width is ever exceeded), draws the random variables the same way as
`sim.py`, and writes the golden vectors the Verilog testbench reads with $readmemh.
"""

from __future__ import annotations

import hashlib

from sympy.printing.numpy import NumPyPrinter

from spattenc.ir.keys import Key
from spattenc.middle import fixed as fx
from spattenc.middle.fixed_error import metric_bounds
from spattenc.middle.golden import word_bits
from spattenc.ir.visit import const_value
from spattenc.backends.templates_env import render
from spattenc.backends.naming import code, file_stem, py_join, py_part, py_str
from spattenc.backends.numpy_sim import attr_names, py_name, var_name


def fixed_var_name(var: Key) -> str:
    """The Python name of a fixed-plan variable inside `simulate`."""
    match var.kind:
        case "param" | "const":
            return f"c.{py_name(var.name)}"
        case "count":
            return "_count"
        case "hw":
            return py_join("hw", py_part(var.owner), py_part(var.name))
        case "hwacc":
            return py_join("hwacc", py_part(var.owner), py_part(var.name), var.part)
    return var_name(var)


class FixedNumpyPrinter(NumPyPrinter):
    """Prints fixed-point nodes as exact integer numpy code over object arrays."""

    printmethod = "_numpyfixed"

    def __init__(self):
        super().__init__({"fully_qualified_modules": True})
        self.temps: dict = {}  # node -> temporary holding it, while printing one assignment

    def code(self, n: fx.Node) -> str:
        """Print a fixed-point node as code."""
        return code(self._print(n))

    def _print(self, expr, **kwargs):
        if self.temps and expr in self.temps:
            return self.temps[expr]
        return super()._print(expr, **kwargs)

    def _print_Lit(self, n: fx.Lit) -> str:
        if n.kind == "bool":
            return "True" if n.value else "False"
        return str(n.value)

    def _print_Var(self, n: fx.Var) -> str:
        return fixed_var_name(n.var)

    def _bin(self, op: str, n) -> str:
        return f"({self._print(n.a)} {op} {self._print(n.b)})"

    def _print_Add(self, n: fx.Add) -> str:
        return self._bin("+", n)

    def _print_Sub(self, n: fx.Sub) -> str:
        return self._bin("-", n)

    def _print_Mul(self, n: fx.Mul) -> str:
        return f"({self._print(n.a)} * _o({self._print(n.b)}))"

    def _print_Neg(self, n: fx.Neg) -> str:
        return f"(-{self._print(n.a)})"

    def _print_Shl(self, n: fx.Shl) -> str:
        return f"(_o({self._print(n.a)}) << {n.k})"

    def _print_Shr(self, n: fx.Shr) -> str:
        return f"_shr_{n.mode}({self._print(n.a)}, {n.k})"

    def _print_Div(self, n: fx.Div) -> str:
        return f"_div({self._print(n.a)}, {self._print(n.b)})"

    def _print_Mod(self, n: fx.Mod) -> str:
        return f"_mod({self._print(n.a)}, {self._print(n.b)})"

    def _print_Cmp(self, n: fx.Cmp) -> str:
        return f"_b(_o({self._print(n.a)}) {n.op} _o({self._print(n.b)}))"

    def _print_Logic(self, n: fx.Logic) -> str:
        return f"np.logical_{n.op}({self._print(n.a)}, {self._print(n.b)})"

    def _print_Not(self, n: fx.Not) -> str:
        return f"np.logical_not({self._print(n.a)})"

    def _print_Mux(self, n: fx.Mux) -> str:
        return f"_where({self._print(n.c)}, {self._print(n.a)}, {self._print(n.b)})"

    def _print_Min(self, n: fx.Min) -> str:
        return f"np.minimum(_o({self._print(n.a)}), _o({self._print(n.b)}))"

    def _print_Max(self, n: fx.Max) -> str:
        return f"np.maximum(_o({self._print(n.a)}), _o({self._print(n.b)}))"

    def _print_Abs(self, n: fx.Abs) -> str:
        return f"np.abs(_o({self._print(n.a)}))"


def _temp_stem(target: str) -> str:
    """The stem of an assignment's temporaries: its target, shortened as py_join shortens
    long names (so lines stay short)."""
    stem = target.replace(".", "_")
    if len(stem) <= 32:
        return stem
    return f"{stem[:16].rstrip('_')}_0x{hashlib.sha256(stem.encode('utf-8')).hexdigest()[:10]}"


def _assign(p: FixedNumpyPrinter, a: fx.Assign) -> dict:
    """One assignment; a computation used more than once in it gets a temporary first."""
    target = fixed_var_name(a.var)
    counts: dict = {}

    def count(n):
        counts[n] = counts.get(n, 0) + 1
        if counts[n] == 1:
            for o in fx.operands(n):
                count(o)

    count(a.node)
    p.temps = {}
    temps = []
    for n in fx.postorder(a.node):
        if counts.get(n, 0) > 1 and n is not a.node and not isinstance(n, (fx.Lit, fx.Var)):
            name = code(f"_{_temp_stem(target)}_{len(temps) + 1}")
            temps.append((name, p.code(n)))
            p.temps[n] = name
    text = p.code(a.node)
    p.temps = {}
    return {"target": code(target), "code": text, "name": a.name, "temps": temps,
            "comment": a.name if a.name != target else ""}  # no comment repeating the target


def _vars_read(nodes) -> set[str]:
    return {n.var for node in nodes for n in fx.postorder(node) if isinstance(n, fx.Var)}


def _unread(fp: fx.FixedPlan) -> set[str]:
    """Per-layer values (lets, stage start times) nothing reads: not computed.  The RTL
    keeps them as wires; the simulator's results are the same without them."""
    fixed_roots = [a.node for a in fp.consts] + [fp.count.node]
    fixed_roots += [x for s in fp.states for x in (s.init, s.next)]
    fixed_roots += [a for d in fp.layer if isinstance(d, fx.Draw) for a in d.args]
    for d in fp.designs:
        fixed_roots += [a.update for a in d.accs] + [m.node for m in d.metrics]
    for h in fp.hardware:
        fixed_roots += [a.node for a in h.steps] + [a.update for a in h.accs] + [o.node for o in h.outputs]
    read = _vars_read(fixed_roots) | {d.end_var for d in fp.designs} | {d.t_var for d in fp.designs}
    read |= {v for h in fp.hardware for _, v, _ in h.inputs + h.layer_outputs}
    steps = [a for a in fp.layer if isinstance(a, fx.Assign)] + [a for d in fp.designs for a in d.steps]
    kept: dict[str, fx.Assign] = {}
    want = list(read)
    by_var = {a.var: a for a in steps}
    while want:
        v = want.pop()
        if v in by_var and v not in kept:
            kept[v] = by_var[v]
            want += _vars_read([by_var[v].node])
    return {a.var for a in steps} - set(kept)


def render_fixed_sim(fp: fx.FixedPlan, spec_path: str, command: str) -> str:
    """The text of fixed_sim.py for a fixed plan."""
    prog = fp.plan.program
    p = FixedNumpyPrinter()
    consts = [_assign(p, a) for a in fp.consts]
    unread = _unread(fp)
    layer = []
    for item in fp.layer:
        if item.var in unread:
            continue
        if isinstance(item, fx.Draw):
            args = ", ".join(p.code(a) for a in item.args)
            layer.append({"target": code(fixed_var_name(item.var)), "temps": [],
                          "comment": f"random {item.name} ~ {item.dist}",
                          "code": code(f"draw.{item.dist}({py_str(item.name)}, {args})")})
        else:
            layer.append(_assign(p, item))
    designs = []
    for d in fp.designs:
        designs.append({
            "name": d.name, "t": fixed_var_name(d.t_var), "time_kind": d.time_kind, "end": fixed_var_name(d.end_var),
            "steps": [_assign(p, a) for a in d.steps if a.var not in unread],
            "accs": [{"var": fixed_var_name(a.var), "code": p.code(a.update), "kind": a.reduction} for a in d.accs],
            "metrics": [{"name": m.name, "code": p.code(m.node)} for m in d.metrics],
        })
    hardware = []
    for h in fp.hardware:
        hardware.append({
            "name": h.hw.name, "design": h.hw.design,
            "steps": [_assign(p, a) for a in h.steps],
            "accs": [{"var": fixed_var_name(a.var), "code": p.code(a.update), "kind": a.reduction} for a in h.accs],
            "outputs": [{"name": o.name, "code": p.code(o.node)} for o in h.outputs],
            "layer_outputs": [{"name": n, "var": fixed_var_name(v),
                               "layers": "_layers_" + py_join(py_part(h.hw.name), py_part(n))}
                              for n, v, _ in h.layer_outputs],
        })
    states = [{"name": fixed_var_name(s.var), "init": p.code(s.init), "next": p.code(s.next)} for s in fp.states]
    return render(
        "fixed_sim.py.j2",
        spec=prog.name, title=prog.title or prog.name, spec_path=spec_path, command=command,
        stem=file_stem(prog.name), attrs=attr_names(prog),
        trials=prog.trials, seed=prog.seed, frac_bits=fp.frac_bits, stage_cycles=fp.stage_cycles,
        params=_params(fp), draws=_draws(fp), metric_meta=_metric_meta(fp), hw_meta=_hw_meta(fp),
        consts=consts, count=p.code(fp.count.node), count_max=fp.count_hi, index=py_name(fp.plan.index),
        layer=layer, designs=designs, hardware=hardware, states=states, word_bits=word_bits(fp),
    )


def _params(fp: fx.FixedPlan) -> list[dict]:
    out = []
    prog = fp.plan.program
    for prm, fpar in zip(prog.params, fp.params):
        out.append({"name": prm.name, "type": prm.type, "kind": fpar.kind,
                    "default": const_value(prm.default),
                    "lo": const_value(prm.lo) if prm.lo is not None else None,
                    "hi": const_value(prm.hi) if prm.hi is not None else None,
                    "width": fp.width(fpar.var)})
    return out


def _draws(fp: fx.FixedPlan) -> list[dict]:
    return [{"name": d.name, "dist": d.dist, "kind": d.kind, "width": fp.width(d.var)}
            for d in fp.layer if isinstance(d, fx.Draw)]


def _metric_meta(fp: fx.FixedPlan) -> list[dict]:
    bounds = metric_bounds(fp)
    return [{"design": d.name, "metrics": [{"name": m.name, "kind": m.node.kind, "width": fp.node_width(m.node),
                                            "bound": bounds[Key("metric", m.name, d.name)]}
                                           for m in d.metrics]} for d in fp.designs]


def _hw_meta(fp: fx.FixedPlan) -> list[dict]:
    out = []
    for h in fp.hardware:
        hw = h.hw
        limits = {lim.param: (const_value(lim.lo), const_value(lim.hi)) for lim in hw.limits}
        out.append({
            "name": hw.name, "path": hw.path, "design": hw.design, "configs": hw.configs,
            "max_cycles": hw.max_cycles,
            "inputs": [{"name": n, "kind": k, "width": fp.width(v), "per_layer": v.kind == "random"}
                       for n, v, k in h.inputs],
            "outputs": [{"name": o.name, "kind": o.node.kind, "width": fp.node_width(o.node)} for o in h.outputs],
            "layer_outputs": [{"name": n, "kind": k, "width": fp.width(v)} for n, v, k in h.layer_outputs],
            "limits": [{"name": k, "lo": v[0], "hi": v[1]} for k, v in limits.items()],
        })
    return out
