"""Back end: a lowered Plan -> a standalone, vectorized numpy simulator (`sim.py`).

Trials (and sweep points) are array axes: every value has shape (points, trials) or
(points, 1) when it does not depend on a draw.  Expressions are printed by
`NumpySimPrinter`, a sympy `NumPyPrinter` subclass with a `_print_<Node>` method per IR
node; it keeps the written evaluation order so float results match Python's.
"""

from __future__ import annotations

from dataclasses import dataclass

from sympy.printing.numpy import NumPyPrinter

from spattenc.ir.keys import Key
from spattenc.ir import catalog
from spattenc.ir import nodes as ir
from spattenc.front.check import column_bound
from spattenc.ir.nodes import walk
from spattenc.ir.visit import const_value
from spattenc.ir.units import STAGE_UNIT
from spattenc.middle.lower import Accumulator, Plan, Step, Timing, report_exprs, time_var, var_of
from spattenc.backends.templates_env import render
from spattenc.backends.naming import Code, py_ident, py_join, py_part, py_str
from spattenc.backends.naming import code as as_code

# Python operator precedence (higher binds tighter; the catalog's), for minimal,
# order-preserving parens.
_PREC = {**{op: o.prec for op, o in catalog.BINARY.items()}, "not": catalog.UNARY["not"].prec,
         "neg": catalog.UNARY["-"].prec, "atom": 10}


def py_name(name: str) -> str:
    """The Python identifier of a spec name (naming.py_ident: keywords, builtins and the
    generated module's own names never hit)."""
    return py_ident(name)


#: The one generated last part of an input leaf's attribute (its presence flag).
_LEAF_TAGS = frozenset({"given"})


def input_name(var: str) -> str:
    """The attribute of `c` holding an input leaf ('model.d_ff' -> 'model__d_ff', its
    presence flag 'model.d_ff?' -> 'model__d_ff__given')."""
    given = var.endswith("?")
    # Leaf keys may be quoted schema keys (any text): each part is escaped.
    parts = [py_ident(k, _LEAF_TAGS) for k in var.rstrip("?").split(".")]
    return py_join(*parts, "given") if given else py_join(*parts)


def var_name(var: Key) -> str:
    """The Python local holding a plan variable (layer N -> 'N', design d's x -> 'd__x')."""
    match var.kind:
        case "design":
            return py_join(py_part(var.owner), py_part(var.name))
        case "time":
            d = py_part(var.owner)
            return py_join(d, var.part) if not var.name else py_join(d, py_part(var.name), var.part)
        case "acc":
            return py_join("acc", py_part(var.owner), py_part(var.name), var.part)
    return py_name(var.name)


def stage_func_name(design: str | None, stage: str) -> str:
    """The generated function of a stage: 'stage_' + its (design and) name."""
    return "stage_" + (py_join(py_part(design), py_part(stage)) if design else py_part(stage))


def func_name(kind: str, name: str) -> str:
    """A generated function of a spec function or loop: 'fn_<name>', 'loop_<name>'."""
    return f"{kind}_{py_part(name)}"


class NumpySimPrinter(NumPyPrinter):
    """Prints IR expressions as numpy code over (points, trials) arrays.

    `names` maps a plan variable to the Python expression naming it in the current
    context (a local, a function argument, or `c.<name>` for constants).
    """

    printmethod = "_numpysim"

    def __init__(self, names=None, reduce_names=None, settings=None, program: ir.Program | None = None):
        super().__init__(settings or {"fully_qualified_modules": True})
        self._names = names or (lambda var: var_name(var))
        self._reduce_names = reduce_names or {}
        self._leaves = {leaf.var: leaf for leaf in program.leaves} if program is not None else {}
        self._enums = {en.name: en.members for en in program.enums} if program is not None else {}

    def code(self, e) -> Code:
        """Print an IR expression (CodePrinter.doprint would sympify it first)."""
        return as_code(self._print(e))

    def paren(self, e, prec: int, right: bool = False) -> str:
        p = self.prec(e)
        text = self._print(e)
        return f"({text})" if p < prec or (right and p == prec) else text

    @staticmethod
    def prec(e) -> int:
        match e:
            case ir.Binary(op=op):
                return _PREC[op] if op not in ("and", "or") and op not in ("<", "<=", ">", ">=", "==", "!=") else _PREC["atom"]
            case ir.Unary(op="-"):
                return _PREC["neg"]
            case ir.Num(value=v) if v < 0:
                return _PREC["neg"]
        return _PREC["atom"]

    def _print_Num(self, e: ir.Num) -> str:
        return repr(int(e.value)) if e.is_int else repr(float(e.value))

    def _print_Bool(self, e: ir.Bool) -> str:
        return "True" if e.value else "False"

    def _print_Ref(self, e: ir.Ref) -> str:
        if e.scope == "local":
            return py_name(e.name)
        if e.scope in ("param", "const"):
            return f"c.{py_name(e.name)}"
        if e.scope == "compare":
            return f"C[{py_str(e.name)}]"
        return self._names(var_of(e))

    def _print_EnumConst(self, e: ir.EnumConst) -> str:
        return repr(e.value)

    def _print_InputRef(self, e: ir.InputRef) -> str:
        leaf = self._leaves[e.var]
        name = f"c.{input_name(leaf.given if e.given else e.var)}"
        if not e.index:
            return name
        idx = []
        for axis, x in zip(leaf.axes, e.index):
            lo = axis[2] if axis[0] == "map" else None
            if lo is None or (isinstance(lo, ir.Num) and lo.value == 0):
                idx.append(self._print(x))
            else:
                idx.append(f"{self.paren(x, _PREC['-'])} - {self.paren(lo, _PREC['-'], right=True)}")
        return f"_lookup({name}, {', '.join(idx)})"

    def _print_Comprehension(self, e: ir.Comprehension) -> str:
        var = py_name(e.var)
        # A sum keeps its own helper; max, min, argmax and argmin share one.
        kind = "" if e.kind == "sum" else f"{py_str(e.kind)}, "
        helper = "_sum" if e.kind == "sum" else "_fold"
        if e.enum is not None:
            return f"{helper}_members({kind}lambda {var}: {self._print(e.body)}, {len(self._enums[e.enum])})"
        return f"{helper}_range({kind}lambda {var}: {self._print(e.body)}, {self._print(e.lo)}, {self._print(e.hi)})"

    def _print_StageTime(self, e: ir.StageTime) -> str:
        return self._names(time_var(e.design, e.stage, e.which))

    def _print_MetricRef(self, e: ir.MetricRef) -> str:
        return f"R[{py_str(e.design)}][{py_str(e.metric)}]"

    def _print_Reduce(self, e: ir.Reduce) -> str:
        if e.axis == "trials":
            return f"_trial_{e.kind}({self._print(e.arg)}, per_trial)"
        if e.axis in ("rows", "groups"):
            arg = self._print(e.arg)
            if e.within is not None:
                return f"_greduce({py_str(e.kind)}, {arg}, _grp_{py_part(e.within)})"
            size = "_n_rows" if e.axis == "rows" else f"_grp_{py_part(e.over)}.size"
            return f"_reduce_all({py_str(e.kind)}, {arg}, {size})"
        return self._reduce_names[e.slot]

    def _print_GroupRef(self, e: ir.GroupRef) -> str:
        return py_join(py_part(e.group), py_part(e.name))

    def _print_LoopCall(self, e: ir.LoopCall) -> str:
        return f"{func_name('loop', e.loop)}(c, draw, {', '.join(self._print(a) for a in e.args)})"

    def _print_Unary(self, e: ir.Unary) -> str:
        spell = catalog.UNARY[e.op].numpy
        if e.op == "not":
            return f"{spell}({self._print(e.operand)})"
        return f"{spell}{self.paren(e.operand, _PREC['neg'])}"

    def _print_Binary(self, e: ir.Binary) -> str:
        op = e.op
        spell = catalog.BINARY[op].numpy
        if op in catalog.LOGIC:
            return f"{spell}({self._print(e.left)}, {self._print(e.right)})"
        if op in catalog.COMPARISONS:
            # A comparison is parenthesized whole (numpy arrays compare elementwise).
            return f"({self.paren(e.left, 5)} {spell} {self.paren(e.right, 5)})"
        if op == "^":
            exp = e.right
            base = self.paren(e.left, _PREC["^"] + 1)
            if isinstance(exp, ir.Num) and exp.is_int and exp.value >= 0:
                return f"{base} {spell} {self.paren(exp, _PREC['^'])}"
            # A real or negative exponent: numpy's power of a float base (as Python's float **).
            return f"np.power(np.float64({self._print(e.left)}), {self._print(exp)})"
        p = _PREC[op]
        return f"{self.paren(e.left, p)} {spell} {self.paren(e.right, p, right=True)}"

    def _print_Cond(self, e: ir.Cond) -> str:
        return f"np.where({self._print(e.test)}, {self._print(e.then)}, {self._print(e.else_)})"

    def _print_Builtin(self, e: ir.Builtin) -> str:
        return catalog.BUILTINS[e.func].numpy([self._print(a) for a in e.args])

    def _print_Apply(self, e: ir.Apply) -> str:
        return f"{func_name('fn', e.func)}(c, {', '.join(self._print(a) for a in e.args)})"


@dataclass(frozen=True)
class _Assign:
    """One generated assignment: its target and value are code the back end printed; the
    comment is text (escaped by the template), dropped when it only repeats the target."""

    target: str
    code: str
    comment: str = ""

    def __post_init__(self):
        object.__setattr__(self, "target", as_code(self.target))
        object.__setattr__(self, "code", as_code(self.code))
        if self.comment == self.target:
            object.__setattr__(self, "comment", "")


def _draw_step(target: str, draw: str, dist: str, args, name: str, p: NumpySimPrinter) -> _Assign:
    """A random variable's line: `target` drawn by the Draws object `draw` (named for its errors)."""
    code = ", ".join(p.code(a) for a in args)
    return _Assign(target, f"{draw}.{dist}({code}, name={py_str(name)})", f"random {name} ~ {dist}")


def _free_vars(e: ir.Expr) -> list[Key]:
    """Per-layer plan variables an expression reads, in order of first appearance."""
    out: list[Key] = []
    for node in walk(e):
        if isinstance(node, ir.Ref) and node.scope not in ("param", "const", "local"):
            v = var_of(node)
            if v not in out:
                out.append(v)
    return out


def _tabulated(plan: Plan) -> dict[Key, Key]:
    """Per-layer values that depend on one binomial draw (with draw-free parameters) and
    otherwise on draw-free values only: plan variable -> the draw's variable.

    Such values are computed once per value the draw can take (a table over its support)
    and gathered per trial: exact, since the formulas are elementwise, and much cheaper
    than evaluating them for every trial when trials outnumber the support.
    """
    random = plan.program.random
    tab: dict[Key, Key] = {}
    for s in plan.layer_steps:
        if s.kind == "random":
            if s.dist == "binomial" and not any(v in random for a in s.args for v in _free_vars(a)):
                tab[s.var] = s.var
            continue
        rv = _table_rv(s.expr, tab, random)
        if rv is not None:
            tab[s.var] = rv
    return tab


def _table_rv(e: ir.Expr, tab: dict[Key, Key], random: frozenset[Key]) -> Key | None:
    """The single draw `e` can be tabulated over: every random value it reads is a table
    of that draw, and it reads no schedule time and runs no loop (a loop draws per trial)."""
    if any(isinstance(n, (ir.StageTime, ir.LoopCall)) for n in walk(e)):
        return None
    rvs = set()
    for v in _free_vars(e):
        if v in random:
            if v not in tab:
                return None
            rvs.add(tab[v])
    return rvs.pop() if len(rvs) == 1 else None


def _func_arg(var: Key) -> str:
    return py_name(var.name)


def _calls_loop(e: ir.Expr) -> bool:
    return any(isinstance(node, ir.LoopCall) for node in walk(e))


def _loop_consts(plan: Plan, loop: ir.Loop) -> list[str]:
    """Params and constants a loop reads, directly or through the functions it calls."""
    funcs = {f.name: f for f in plan.funcs}
    names: list[str] = []
    seen_funcs: set[str] = set()

    def scan(e):
        for node in walk(e):
            if isinstance(node, ir.Ref) and node.scope in ("param", "const") and node.name not in names:
                names.append(node.name)
            elif isinstance(node, ir.Apply) and node.func not in seen_funcs:
                seen_funcs.add(node.func)
                f = funcs[node.func]
                for let in f.lets:
                    scan(let.expr)
                scan(f.body)

    for s in loop.states:
        scan(s.init)
        scan(s.next)
    scan(loop.cond)
    for item in loop.items:
        for e in (item.args if isinstance(item, ir.Random) else (item.expr,)):
            scan(e)
    scan(loop.body)
    return names


def _loops(plan: Plan) -> list[dict]:
    """Template context of each loop: a vectorized function that compacts finished elements."""
    out = []
    p = NumpySimPrinter(program=plan.program)
    for lp in plan.loops:
        accs, shaped = [], {}
        for node in walk(lp.body):
            if isinstance(node, ir.Reduce) and node.axis == "steps":
                var = f"_acc{node.slot}"
                accs.append({"var": var, "kind": node.kind, "code": p.code(node.arg)})
                shaped[node.slot] = as_code(f"({var} / _steps).reshape(_shape)" if node.kind == "mean"
                                         else f"{var}.reshape(_shape)")
        bp = NumpySimPrinter(reduce_names=shaped, program=plan.program)
        items = []
        for item in lp.items:
            if isinstance(item, ir.Random):
                items.append(_draw_step(py_name(item.name), "_draw", item.dist, item.args, item.name, p))
            else:
                items.append(_Assign(py_name(item.name), p.code(item.expr), item.name))
        out.append({
            "name": func_name("loop", lp.name), "spec_name": lp.name, "params": [py_name(x) for x in lp.params],
            "doc": f"Loop {lp.name}({', '.join(py_name(x) for x in lp.params)}): one run per element, "
                   "reduced over its steps.",
            "consts": [{"name": k, "attr": py_name(k)} for k in _loop_consts(plan, lp)],
            "random": any(isinstance(i, ir.Random) for i in lp.items),
            "states": [{"name": py_name(s.name), "init": p.code(s.init), "next": p.code(s.next)} for s in lp.states],
            "cond": p.code(lp.cond), "steps": items, "accs": accs, "body": bp.code(lp.body),
        })
    return out


def _definitions(plan: Plan, p: NumpySimPrinter) -> tuple[list[_Assign], list[dict]]:
    """Template context of the derived constants and the spec's functions (both simulators)."""
    consts = [_Assign(f"c.{py_name(k.name)}", p.code(k.expr), k.name) for k in plan.consts]
    funcs = []
    for f in plan.funcs:
        body = [_Assign(py_name(let.name), p.code(let.expr)) for let in f.lets]
        params = [py_name(x) for x in f.params]
        funcs.append({"name": func_name("fn", f.name), "spec_name": f.name, "params": params,
                      "doc": f"Spec function {f.name}({', '.join(params)}).",
                      "lets": body, "ret": p.code(f.body)})
    return consts, funcs


def _stage_func(s: Step, program: ir.Program, per_row: bool = False) -> tuple[dict, list[Key | str]]:
    """A stage as a named function of the values it reads: its template context, and the
    plan variables it takes in order ('draw' first when it runs a loop)."""
    free = _free_vars(s.expr)
    local = {v: _func_arg(v) for v in free}
    fp = NumpySimPrinter(names=lambda v, local=local: local[v], program=program)
    extra = ["draw"] if _calls_loop(s.expr) else []
    unit = s.attrs.unit or STAGE_UNIT
    doc = (f"Stage {s.name}: {unit} per row." if per_row else
           f"Stage {s.name}{f' (design {s.design})' if s.design else ''}: duration in {unit}.")
    func = {"name": stage_func_name(s.design, s.name), "spec_name": s.name,
            "design": s.design, "args": extra + [local[v] for v in free], "ret": fp.code(s.expr),
            "doc": doc + (f" {s.attrs.doc}" if s.attrs.doc else "")}
    return func, extra + free


def _reads(e: ir.Expr) -> list[Key]:
    """Plan variables an expression reads: per-layer values and stage times."""
    out = _free_vars(e)
    for node in walk(e):
        if isinstance(node, ir.StageTime):
            v = time_var(node.design, node.stage, node.which)
            if v not in out:
                out.append(v)
    return out


def _step_reads(s: Step) -> list[Key]:
    """Plan variables a step reads (a draw: its arguments)."""
    return _reads(s.expr) if s.expr is not None else [v for a in s.args for v in _reads(a)]


def _must_run(s: Step) -> bool:
    """Whether a step runs even when nothing reads its value: it draws (a random value,
    or a loop that draws), so leaving it out would change every later draw."""
    return s.kind == "random" or (s.expr is not None and _calls_loop(s.expr))


def _live(plan: Plan) -> set[Key]:
    """The plan variables whose values `simulate` reads: what the metrics, accumulators,
    schedules, shows and state updates read, and what those values read in turn.  A
    value nothing reads is not computed (a draw still runs, unassigned)."""
    steps = {s.var: s for s in plan.layer_steps}
    want: list[Key] = []
    for d in plan.designs:
        steps.update((s.var, s) for s in d.pre + d.post)
        for t in d.timeline:
            want += [t.start, t.stage_var, t.end] if isinstance(t, Timing) else [t.var, *t.parts]
        want += [d.end_var] if d.end_var else []
        want += [v for a in d.accumulators for v in _reads(a.arg)]
        want += [v for m in d.metrics for v in _reads(m.expr)]
        want += [v for sh in d.shows for v in _reads(sh.start) + _reads(sh.end)]
    want += [v for st in plan.states for v in _reads(st.next)]
    want += [v for s in steps.values() if _must_run(s) for v in _step_reads(s)]
    live: set[Key] = set()
    while want:
        v = want.pop()
        if v not in live:
            live.add(v)
            want += _step_reads(steps[v]) if v in steps else []
    return live


class _SimWriter:
    """The assignments of `simulate` for a layer plan: each step as a line of code, with
    values tabulated over a draw's support where that is exact (see _tabulated)."""

    def __init__(self, plan: Plan):
        self.plan = plan
        self.prog = plan.program
        self.p = NumpySimPrinter(program=self.prog)
        self.tab_of = _tabulated(plan)
        self.tp = NumpySimPrinter(names=self.table_name, program=self.prog)
        self.observed = dict(plan.observed)
        self.live = _live(plan)
        # Stages become named functions of the per-layer values they read.
        self.stage_steps = [s for s in plan.layer_steps if s.kind == "stage"] + [
            s for d in plan.designs for s in d.pre if s.kind == "stage"]
        self.stage_funcs: list[dict] = []
        self.stage_free: dict[Key, tuple[str, list[Key | str]]] = {}
        for s in self.stage_steps:
            func, reads = _stage_func(s, self.prog)
            self.stage_funcs.append(func)
            self.stage_free[s.var] = (func["name"], reads)

    def table_name(self, v: Key | str) -> str:
        """A variable as read over a draw's support (its table when it has one)."""
        return v if v == "draw" else f"{var_name(v)}__s" if v in self.tab_of else var_name(v)

    def call(self, s: Step, names) -> str:
        fname, free = self.stage_free[s.var]
        args = ["draw" if v == "draw" else names(v) for v in free]
        return f"{fname}(c, {', '.join(args)})" if args else f"{fname}(c)"

    def emitted(self, s: Step) -> bool:
        return s.var in self.live or _must_run(s)

    def step_code(self, s: Step) -> _Assign:
        """A step's line; a draw nothing reads runs unassigned (target empty)."""
        a = self.plain_step(s)
        if s.var in self.observed:  # a measurement may replace the model's value
            a = _Assign(a.target, f"_given(observed, {py_str(self.observed[s.var])}, {a.code})",
                        a.comment + ", or as measured")
        return a if s.var in self.live else _Assign("", a.code, a.comment + " (value unused)")

    def plain_step(self, s: Step) -> _Assign:
        if s.kind == "stage":
            return _Assign(var_name(s.var), self.call(s, var_name), f"stage {s.name}")
        if s.kind == "random":
            return _draw_step(var_name(s.var), "draw", s.dist, s.args, s.name, self.p)
        return _Assign(var_name(s.var), self.p.code(s.expr), s.name)

    def gathered(self) -> set[Key]:
        """Tabulated values read per trial: by a computed step outside the layer's tables,
        a schedule, an accumulator that is not tabulated itself, a show or a state."""
        plan, needed = self.plan, set()
        for s in plan.layer_steps:
            if self.emitted(s) and (s.var not in self.tab_of or s.kind == "random"):
                needed |= set(_step_reads(s))
        for d in plan.designs:
            for s in d.pre + d.post:
                needed |= set(_free_vars(s.expr)) if self.emitted(s) else set()
            needed |= {t.stage_var for t in d.timeline if isinstance(t, Timing)}
            for a in d.accumulators:
                if _table_rv(a.arg, self.tab_of, self.prog.random) is None:
                    needed |= set(_free_vars(a.arg))
            for sh in d.shows:
                needed |= set(_free_vars(sh.start)) | set(_free_vars(sh.end))
        for st in plan.states:
            needed |= set(_free_vars(st.next))
        return needed

    def layer(self) -> list[_Assign]:
        """The per-layer lines shared by every design."""
        needed, p, out = self.gathered(), self.p, []
        for s in self.plan.layer_steps:
            if not self.emitted(s):
                continue
            if s.var not in self.tab_of:
                out.append(self.step_code(s))
                continue
            v = var_name(s.var)
            if s.kind == "random":
                out.append(self.step_code(s))
                if s.var in self.live:
                    out.append(_Assign(f"{v}__s, {v}__ix", f"_support({p.code(s.args[0])}, {v}, trials)",
                                       f"values {s.name} can take, and each trial's index into them"))
                continue
            rv = self.tab_of[s.var]
            code = self.call(s, self.table_name) if s.kind == "stage" else self.tp.code(s.expr)
            out.append(_Assign(f"{v}__s", code, f"{s.kind} {s.name}, over the values of {rv.name}"))
            if s.var in needed:
                out.append(_Assign(v, f"_gather({v}__s, {var_name(rv)}__ix)", "per trial"))
        return out

    def timeline(self, d) -> list[_Assign]:
        """A design's schedule: each stage's start (when read) and end, and the joins."""
        out = []
        for t in d.timeline:
            if isinstance(t, Timing):
                start = time_var(d.name, t.stage, "start")
                if start in self.live:
                    out.append(_Assign(var_name(start), var_name(t.start), ""))
                out.append(_Assign(var_name(t.end), f"{var_name(t.start)} + {var_name(t.stage_var)}",
                                   f"{t.stage}"))
            else:
                code = var_name(t.parts[0])
                for part in t.parts[1:]:
                    code = f"np.maximum({code}, {var_name(part)})"
                out.append(_Assign(var_name(t.var), code, "parallel join"))
        return out

    def design(self, d) -> dict:
        """The template context of one design's per-layer lines, metrics and records."""
        p, prog = self.p, self.prog
        accs = []
        for a in d.accumulators:
            rv = _table_rv(a.arg, self.tab_of, prog.random)
            code = as_code(f"_gather({self.tp.code(a.arg)}, {var_name(rv)}__ix)") if rv else p.code(a.arg)
            accs.append({"var": var_name(a.var), "kind": a.kind, "code": code})
        metrics = []
        for mt in d.metrics:
            reduce_names = {int(a.var.part): _final(a) for a in d.accumulators
                            if a.metric == mt.name}
            mp = NumpySimPrinter(reduce_names=reduce_names, program=prog)
            metrics.append({"name": mt.name, "code": mp.code(mt.expr)})
        gantt = {s.var: s.attrs.gantt for s in self.stage_steps}
        recorded = [{"stage": t.stage, "start": as_code(var_name(t.start)), "end": as_code(var_name(t.end)),
                     "kind": gantt[t.stage_var] or "stage"}
                    for t in d.timeline if isinstance(t, Timing)]
        shows = [{"stage": sh.name, "start": p.code(sh.start), "end": p.code(sh.end),
                  "kind": sh.attrs.gantt or "overlay"} for sh in d.shows]
        return {"name": d.name, "py": py_name(d.name), "timeline": self.timeline(d),
                "t": py_join(py_name(d.name), "t"), "end_name": py_join(py_name(d.name), "end"),
                "pre": [self.step_code(s) for s in d.pre if self.emitted(s)],
                "post": [self.step_code(s) for s in d.post if self.emitted(s)],
                "end": var_name(d.end_var) if d.end_var else None,
                "start": var_name(time_var(d.name, None, "start")),
                "accs": accs, "metrics": metrics, "recorded": recorded, "shows": shows}


def render_sim(plan: Plan, spec_path: str, command: str) -> str:
    """The text of sim.py for a plan."""
    if plan.mode == "rows":
        return render_table_sim(plan, spec_path, command)
    prog = plan.program
    w = _SimWriter(plan)
    p = w.p
    consts, funcs = _definitions(plan, p)
    states = [{"name": var_name(Key("state", s.name)), "init": p.code(s.init), "next": p.code(s.next),
               "int": prog.types.get(Key("state", s.name)) == "int"} for s in plan.states]
    compares = [{"name": c.name, "code": p.code(c.expr)} for c in plan.compares]
    return render(
        "sim.py.j2",
        spec=prog.name, title=prog.title or prog.name, spec_path=spec_path, command=command,
        trials=prog.trials, seed=prog.seed, params=_param_table(prog), consts=consts, funcs=funcs,
        stage_funcs=w.stage_funcs, layer=w.layer(), designs=[w.design(d) for d in plan.designs],
        draws=[_draw_step(var_name(s.var), "draw", s.dist, s.args, s.name, p) for s in plan.draws],
        states=states, compares=compares, count=p.code(plan.layer_count), index=py_name(plan.index),
        metric_meta=_metric_meta(plan), compare_meta=_compare_meta(plan), observed=[k for _, k in plan.observed],
        loops=_loops(plan), **_extras(plan, p),
    )


def _extras(plan: Plan, p: NumpySimPrinter) -> dict:
    """Template context both simulators share: report entries, input leaves, and which
    runtime helpers (table lookups, sums over enums and ranges) the code calls."""
    report = [{"path": path, "code": p.code(expr)} for path, expr in report_exprs(plan.report)]
    comprehensions = [c for e in _all_exprs(plan) for c in walk(e) if isinstance(c, ir.Comprehension)]
    inputs = [{"var": leaf.var, "name": input_name(leaf.var), "type": leaf.type,
               "axes": ", ".join(f"{a[1]}" for a in leaf.axes), "given": input_name(leaf.given) if leaf.given else ""}
              for leaf in plan.leaves]
    return {"report": report, "inputs": inputs, "attrs": attr_names(plan.program),
            "uses_lookup": any(leaf.axes for leaf in plan.leaves),
            "uses_sum_members": any(c.enum is not None and c.kind == "sum" for c in comprehensions),
            "uses_sum_range": any(c.enum is None and c.kind == "sum" for c in comprehensions),
            "uses_fold_members": any(c.enum is not None and c.kind != "sum" for c in comprehensions),
            "uses_fold_range": any(c.enum is None and c.kind != "sum" for c in comprehensions)}


def attr_names(prog: ir.Program) -> list[tuple[str, str]]:
    """Params and constants whose attribute of `c` is an escaped identifier: (name, attribute)."""
    names = [prm.name for prm in prog.params] + [k.name for k in prog.consts]
    return [(n, py_name(n)) for n in names if py_name(n) != n]


def _all_exprs(plan: Plan):
    """Every expression of a plan (to know which runtime helpers the simulator needs)."""
    for k in plan.consts:
        yield k.expr
    for f in plan.funcs:
        yield from (let.expr for let in f.lets)
        yield f.body
    if plan.layer_count is not None:
        yield plan.layer_count
    for st in plan.states:
        yield st.init
        yield st.next
    for s in plan.layer_steps + plan.row_steps:
        yield from ((s.expr,) if s.expr is not None else s.args)
    for g in plan.groups:
        yield from (st.expr for st in g.steps)
    for lp in plan.loops:
        yield from (x for st in lp.states for x in (st.init, st.next))
        yield lp.cond
        for item in lp.items:
            yield from (item.args if isinstance(item, ir.Random) else (item.expr,))
        yield lp.body
    for d in plan.designs:
        for s in d.pre + d.post:
            yield s.expr
        for a in d.accumulators:
            yield a.arg
        for m in d.metrics:
            yield m.expr
    for c in plan.compares:
        yield c.expr
    for _, e in report_exprs(plan.report):
        yield e


def _final(a: Accumulator) -> str:
    v = var_name(a.var)
    return f"({v} / _count)" if a.kind == "mean" else v


def _param_table(prog: ir.Program) -> list[dict]:
    out = []
    for prm in prog.params:
        out.append({"name": prm.name, "type": prm.type, "default": const_value(prm.default),
                    "lo": const_value(prm.lo) if prm.lo is not None else None,
                    "hi": const_value(prm.hi) if prm.hi is not None else None,
                    "unit": prm.attrs.unit, "doc": prm.attrs.doc})
    return out


def _meta(name: str, attrs: ir.Attrs, random: bool) -> dict:
    """Display attributes of a metric or comparison, as plain values (the template escapes them)."""
    return {"name": name, "label": attrs.shown_label(name), "unit": attrs.unit, "fmt": attrs.shown_fmt,
            "scale": attrs.shown_scale, "random": random}


def _metric_meta(plan: Plan) -> list[dict]:
    return [{"design": d.name, "title": d.title,
             "metrics": [_meta(m.name, m.attrs, m.name in d.random_metrics) for m in d.metrics]}
            for d in plan.designs]


def _compare_meta(plan: Plan) -> list[dict]:
    return [_meta(c.name, c.attrs, c.name in plan.random_compares) for c in plan.compares]


def render_table_sim(plan: Plan, spec_path: str, command: str) -> str:
    """The text of sim.py for a table spec: rows on axis 0, then (points, trials)."""
    prog = plan.program
    p = NumpySimPrinter(program=prog)
    consts, funcs = _definitions(plan, p)
    stage_funcs, rows = [], []
    for s in plan.row_steps:
        if s.kind == "random":
            rows.append(_draw_step(var_name(s.var), "draw", s.dist, s.args, s.name, p))
        elif s.kind == "stage":
            func, reads = _stage_func(s, prog, per_row=True)
            stage_funcs.append(func)
            call = ", ".join(["c"] + ["draw" if v == "draw" else var_name(v) for v in reads])
            rows.append(_Assign(var_name(s.var), f"{func['name']}({call})", f"stage {s.name}"))
        else:
            rows.append(_Assign(var_name(s.var), p.code(s.expr), s.name))
    groups = []
    for g in plan.groups:
        gv = py_part(g.name)
        if g.source is None:
            keys = [var_name(Key("column", k)) for k in g.keys]
        else:
            keys = [py_join(py_part(g.source), py_part(k)) for k in g.keys]
        groups.append({
            "name": g.name, "py": gv, "title": g.title, "key_names": list(g.keys), "source": g.source,
            "key_arrays": keys, "key_vars": [py_join(gv, py_part(k)) for k in g.keys],
            "steps": [_Assign(py_join(gv, py_part(st.name)), p.code(st.expr), st.name) for st in g.steps],
            "meta": [_meta(st.name, st.attrs, st.random) for st in g.steps],
        })
    designs = []
    for d in plan.designs:
        designs.append({"name": d.name, "metrics": [{"name": mt.name, "code": p.code(mt.expr)} for mt in d.metrics]})
    compares = [{"name": c.name, "code": p.code(c.expr)} for c in plan.compares]
    refs = [n for e in _all_exprs(plan) for n in walk(e) if isinstance(n, ir.Ref) and n.scope != "local"]
    read = {var_of(n) for n in refs} | {Key("column", k) for g in plan.groups if g.source is None for k in g.keys}
    columns = [{"name": col.name, "py": var_name(Key("column", col.name)), "type": col.type,
                "doc": col.attrs.doc, "bound": column_bound(col), "read": Key("column", col.name) in read}
               for col in plan.table.columns]
    index_read = any(n.name == plan.index and n.scope not in ("param", "const") for n in refs)
    return render(
        "table_sim.py.j2",
        spec=prog.name, title=prog.title or prog.name, spec_path=spec_path, command=command,
        trials=prog.trials, seed=prog.seed, params=_param_table(prog), consts=consts, funcs=funcs,
        stage_funcs=stage_funcs, rows=rows, groups=groups, designs=designs, compares=compares,
        table=plan.table.name, columns=columns, index=py_name(plan.index), index_read=index_read,
        metric_meta=_metric_meta(plan), compare_meta=_compare_meta(plan), loops=_loops(plan), **_extras(plan, p),
    )
