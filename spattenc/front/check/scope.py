"""Front end, checking: scopes, what names mean, and name resolution."""

from __future__ import annotations

from dataclasses import dataclass, field

from spattenc.ir.keys import Key
from spattenc.ir import nodes as ir
from spattenc.ir.catalog import BUILTINS, LAYER_REDUCTIONS
from spattenc.ir.errors import closest, did_you_mean, fail
from spattenc.ir.nodes import children


# Builtins and reductions (names, arities, result types) are the catalog's.
#: Ref scopes of per-row values in a table spec.
ROW_SCOPES = ("column", "row", "stage", "random", "index")
#: Names a spec cannot define: words that begin an expression (`if`, `not`, `true`, `false`:
#: a name spelled so could be declared but never read), the layer's own times, `given`,
#: the builtins and the reductions.  Every other word is free outside its own statements.
RESERVED = {"start", "end", "true", "false", "if", "not", "given"} | set(BUILTINS) | set(LAYER_REDUCTIONS)
SCALAR_TYPES = ("int", "real", "bool", "string")
TIME_ATTRS = ("start", "end")
#: Spec names are short, so a suggestion must be closer than for option values.
NAME_CUTOFF = 0.75


def _per_trial_use(name: str, scope: Scope) -> str:
    """Why `scope` cannot read the spec-level draw `name` (one value per trial)."""
    why = {"const": "must be the same in every trial (read the draw in the layers block or a design)",
           "func": "cannot read it (pass it as an argument)", "loop": "cannot read it (pass it as an argument)",
           "loop_return": "cannot read it (pass it as an argument)",
           "compare": "combines design metrics (add a metric that reads the draw)",
           "report": "combines design metrics (add a metric that reads the draw)"}
    return f"'{name}' is a random draw (one per trial); {scope.what} {why.get(scope.level, 'cannot read it')}"


@dataclass(frozen=True)
class Scope:
    """What an expression may see.  `level` is one of const | func | layer | design |
    metric | compare; `what` names the context for messages."""

    level: str
    what: str
    design: str | None = None
    locals: dict[str, str] = field(default_factory=dict)  # function params/lets, comprehension vars -> type
    in_reduction: bool = False
    input: str | None = None  # level 'input': the input whose fields are in scope
    before: frozenset[str] | None = None  # level 'input': leaves declared so far (None: all)
    prefix: tuple[str, ...] = ()  # level 'input': the enclosing group (names resolve innermost first)
    group: str | None = None  # level 'group': the group whose lets are being checked


@dataclass
class Declared:
    """What each name of the spec means, filled while declarations are read: global
    names (key, loc), per-layer (or per-row) names, each design's locals, and the
    module's named blocks by name."""

    defs: dict[str, tuple[Key, ir.Loc]] = field(default_factory=dict)  # global name -> (scoped key, loc)
    layer_defs: dict[str, tuple[Key, object]] = field(default_factory=dict)
    design_defs: dict[str, dict[str, tuple[Key, object]]] = field(default_factory=dict)
    funcs: dict[str, ir.Func] = field(default_factory=dict)
    enums: dict[str, ir.Enum] = field(default_factory=dict)
    records: dict[str, ir.Record] = field(default_factory=dict)
    groups: dict[str, ir.Group] = field(default_factory=dict)
    group_lets: dict[str, tuple[str, ir.Let]] = field(default_factory=dict)  # let name -> (group, let)
    loops: dict[str, ir.Loop] = field(default_factory=dict)
    tables: dict[str, ir.TableInput] = field(default_factory=dict)
    compare_names: dict[str, ir.Loc] = field(default_factory=dict)

    @staticmethod
    def of(module: ir.Module) -> Declared:
        """The module's named blocks indexed; names are declared by the checker's first pass."""
        return Declared(funcs={f.name: f for f in module.funcs}, enums={e.name: e for e in module.enums},
                        records={r.name: r for r in module.records}, groups={g.name: g for g in module.groups},
                        loops={lp.name: lp for lp in module.loops})


class Names:
    """Name resolution: a bare name, `a.b` or `a.b[i]`, looked up in the scope it is written in."""

    def declare(self, name: str, key: Key, loc: ir.Loc, table: dict | None = None):
        """Declare `name` as `key` in `table` (default: the globals); reserved or repeated names fail."""
        table = self.decl.defs if table is None else table
        if name in RESERVED:
            fail(f"'{name}' is a reserved name and cannot be defined", loc)
        own = table is not self.decl.defs and table is not self.decl.layer_defs
        for t in (self.decl.defs, self.decl.layer_defs) + ((table,) if own else ()):
            if name in t:
                other = t[name][1]
                other_loc = other if isinstance(other, ir.Loc) else other.loc
                fail(f"'{name}' is defined more than once", loc, (other_loc, "first defined here"))
        table[name] = (key, loc)

    def declare_index(self, index: str, loc: ir.Loc, what: str) -> None:
        """Declare the layer (or row) index `index`: an int, seen wherever per-layer values are."""
        if index in self.decl.defs or index in RESERVED:
            other = self.decl.defs.get(index)
            fail(f"{what} index '{index}' is already defined", loc, *((other[1], "defined here"),) if other else ())
        self.decl.layer_defs[index] = (Key("index", index), loc)
        self.facts.types[Key("index", index)] = "int"

    def name(self, name: str, loc: ir.Loc, scope: Scope) -> ir.Expr:
        """A bare name in `scope`: first what the context adds (locals, group values, the
        input's own fields, earlier metrics, comparisons in a report), then definitions."""
        if name in scope.locals:
            return ir.Ref(loc, name, "local")
        lvl = scope.level
        if self.rows_mode and lvl != "literal":
            found = self.group_name(name, loc, scope)
            if found is not None:
                return found
            if name in self.decl.groups:
                fail(f"'{name}' is a group; refer to its values as {name}.NAME (or by their names) inside a "
                     "metric's reduction", loc)
            if name in self.decl.tables:
                fail(f"'{name}' is an input table; its columns are read by name in the rows block", loc)
        if lvl in ("loop", "loop_return") and name in self.decl.layer_defs:
            fail(f"'{name}' is a {self.item_word} quantity; {scope.what} cannot read it (pass it as an argument)",
                 loc)
        if lvl == "loop_return" and name in self.loop_locals:
            fail(f"'{name}' changes at every step; use it inside a reduction (sum, count, last, ...) in "
                 f"{scope.what}", loc)
        if name in ("start", "end") and self.rows_mode and lvl in ("design", "metric"):
            fail(f"'{name}' is a schedule time; a table spec has no schedule", loc)
        if lvl == "input":
            return self.input_path(scope.input, name, (), loc, scope, relative=True)
        if lvl == "metric" and not scope.in_reduction and Key("metric", name, scope.design) in self.facts.types \
                and name not in self.decl.design_defs.get(scope.design, {}) and name not in self.decl.layer_defs \
                and name not in self.decl.defs:
            # An earlier metric of the same design (a let, stage or constant of that name wins).
            return ir.MetricRef(loc, scope.design, name)
        if lvl == "report" and name in self.decl.compare_names:
            return ir.Ref(loc, name, "compare")
        return self.defined_name(name, loc, scope)

    def defined_name(self, name: str, loc: ir.Loc, scope: Scope) -> ir.Expr:
        """A name that is no local or contextual value: a design's, a per-layer or a global
        definition, each only where its level allows it."""
        lvl = scope.level
        if name in self.decl.defs and self.decl.defs[name][0].kind in ("enum", "record", "input"):
            kind = self.decl.defs[name][0].kind
            if lvl == "literal":
                fail(f"{scope.what} must be a literal number, not '{name}'", loc)
            example = {"enum": f"{name}.MEMBER", "record": "a field type in an input",
                       "input": f"its fields, e.g. {name}.KEY"}[kind]
            fail(f"'{name}' is {'an' if kind in ('enum', 'input') else 'a'} {kind}; use {example}", loc)
        if lvl == "literal":
            if name in self.decl.defs or name in self.decl.layer_defs:
                fail(f"{scope.what} must be a literal number, not '{name}'", loc)
            fail(f"{scope.what} must be a literal number; '{name}' is not defined", loc)
        if name in ("start", "end") and lvl in ("design", "metric"):
            node = ir.StageTime(loc, scope.design, None, name)
            if lvl == "metric" and not scope.in_reduction:
                return self.direct_value(node, f"'{name}' is a per-layer time; use it inside a reduction such as "
                                         f"last({name})")
            return node
        if lvl in ("design", "metric") and name in self.decl.design_defs.get(scope.design, {}):
            node = ir.Ref(loc, name, "design", scope.design)
            per_trial = isinstance(self.decl.design_defs[scope.design][name][1], ir.Random)
            if lvl == "metric" and not scope.in_reduction and not per_trial:
                return self.direct_value(node, f"'{name}' is a per-layer quantity; use it inside a reduction "
                                         "(sum, mean, last, ...)")
            return node
        if name in self.decl.layer_defs:
            kind = self.decl.layer_defs[name][0].kind
            if lvl in ("const", "func", "compare", "report"):
                unit = self.item_word[4:]
                what = {"random": f"a {self.item_word} random variable", "index": f"the {unit} index",
                        "column": "a table column"}.get(kind, f"a {self.item_word} quantity")
                if lvl == "const":
                    fail(f"'{name}' is {what}, but {scope.what} must be constant across {unit}s and trials", loc)
                need = f"{scope.what} cannot use {self.item_word} values (pass them as arguments)" if lvl == "func" \
                    else "comparisons combine design metrics"
                fail(f"'{name}' is {what}; {need}", loc)
            if lvl == "metric" and not scope.in_reduction:
                return self.direct_value(ir.Ref(loc, name, kind), f"'{name}' is a {self.item_word} quantity; use it "
                                         "inside a reduction (sum, mean, last, ...)")
            return ir.Ref(loc, name, kind)
        if name in self.decl.defs:
            key = self.decl.defs[name][0]
            kind = key.kind
            if kind == "func":
                fail(f"'{name}' is a function; call it with arguments", loc)
            if kind == "design":
                fail(f"'{name}' is a design; refer to one of its metrics as {name}.METRIC", loc)
            if kind == "loop":
                fail(f"'{name}' is a loop; call it with arguments", loc)
            if kind == "random" and lvl not in ("layer", "design", "metric"):
                fail(_per_trial_use(name, scope), loc)
            if kind == "const":
                self.resolve_key(key)
            return ir.Ref(loc, name, kind)
        for d, table in self.decl.design_defs.items():
            if name in table and d != scope.design:
                fail(f"'{name}' is local to design '{d}'", loc)
        candidates = sorted(set(self.decl.defs) | set(self.decl.layer_defs) | set(scope.locals))
        hint = did_you_mean(name, candidates, cutoff=NAME_CUTOFF)
        fail(f"unknown name '{name}'{hint}", loc)

    def direct_value(self, node: ir.Expr, message: str) -> ir.Expr:
        """A per-layer value read by a metric outside a reduction: the value itself when the
        spec has no layers block (one implicit layer), an error otherwise."""
        if not self.implicit_layers:
            fail(message, node.loc)
        slot = self.reduce_slot
        self.reduce_slot += 1
        return ir.Reduce(node.loc, "last", "layers", node, slot)

    def attr(self, e: ir.Attr, scope: Scope) -> ir.Expr:
        """`a.b`: an enum member, an input field, a group value, a design metric or a stage time."""
        if e.base in scope.locals:
            fail(f"'{e.base}' is a local value and has no field '{e.attr}'", e.loc)
        if e.base in self.decl.enums and not (scope.level == "input" and e.base in self._input_fields(scope)):
            en = self.decl.enums[e.base]
            if e.attr not in en.members:
                close = closest(e.attr, list(en.members), cutoff=NAME_CUTOFF)
                fail(f"enum '{en.name}' has no member '{e.attr}'; its members: {', '.join(en.members)}"
                     + (f" (did you mean '{close}'?)" if close else ""), e.loc,
                     (en.loc, f"'{en.name}' is declared here"))
            return ir.EnumConst(e.loc, en.name, e.attr, en.members.index(e.attr))
        if scope.level == "input":
            return self.input_path(scope.input, e.base, (e.attr,), e.loc, scope, relative=True)
        if e.base in self.facts.inputs:
            if scope.level == "literal":
                fail(f"{scope.what} must be a literal number, not '{e.base}.{e.attr}'", e.loc)
            return self.input_path(e.base, None, (e.attr,), e.loc, scope)
        if self.rows_mode and e.base in self.decl.groups and scope.level not in ("compare", "report"):
            g = e.base
            if not (scope.level == "design" and scope.in_reduction):
                fail(f"'{e.base}.{e.attr}' is a per-group value; it is available inside a metric's reduction", e.loc)
            if e.attr in self.facts.group_keys.get(g, {}):
                return ir.GroupRef(e.loc, g, e.attr, "key")
            owner = self.decl.group_lets.get(e.attr)
            if owner is None or owner[0] != g:
                names = list(self.facts.group_keys.get(g, {})) + [x.name for x in self.decl.groups[g].lets]
                fail(f"group '{g}' has no value '{e.attr}'; its keys and values: {', '.join(names)}", e.loc)
            return ir.GroupRef(e.loc, g, e.attr, "let")
        if scope.level in ("compare", "report"):
            if e.base not in self.decl.design_defs:
                fail(f"unknown design '{e.base}'; designs: {', '.join(self.decl.design_defs)}", e.loc)
            if Key("metric", e.attr, e.base) not in self.facts.types:
                names = [k.name for k in self.facts.types if k.kind == "metric" and k.owner == e.base]
                fail(f"design '{e.base}' has no metric '{e.attr}'; its metrics: {', '.join(names)}", e.loc)
            return ir.MetricRef(e.loc, e.base, e.attr)
        if scope.level in ("design", "metric"):
            if e.attr not in TIME_ATTRS:
                fail(f"unknown attribute '.{e.attr}'; a stage has .start and .end", e.loc)
            if e.base not in self.facts.scheduled.get(scope.design, set()):
                entry = self.decl.design_defs.get(scope.design, {}).get(e.base) or self.decl.layer_defs.get(e.base)
                if entry is None or not isinstance(entry[1], ir.Stage):
                    stages = sorted(self.facts.scheduled.get(scope.design, set()))
                    close = closest(e.base, stages, cutoff=NAME_CUTOFF)
                    hint = f"did you mean '{close}'? " if close else ""
                    fail(f"'{e.base}' is not a stage; {hint}design '{scope.design}' schedules "
                         f"{', '.join(stages) or 'no stages'}", e.loc)
                fail(f"'{e.base}' is not in the schedule of design '{scope.design}', so it has no "
                     f".{e.attr}", e.loc)
            node = ir.StageTime(e.loc, scope.design, e.base, e.attr)
            if scope.level == "metric" and not scope.in_reduction:
                return self.direct_value(node, f"'{e.base}.{e.attr}' is a per-layer time; use it inside a reduction")
            return node
        if e.base in self.decl.defs or e.base in self.decl.layer_defs:
            fail(f"'{e.base}.{e.attr}': stage times are only available inside designs, "
                 "and design metrics only inside comparisons", e.loc)
        fail(f"unknown name '{e.base}'", e.loc)

    def path(self, e: ir.Path, scope: Scope) -> ir.Expr:
        """`a.b[i]...`: an input field path (nothing else can be indexed)."""
        if e.root in scope.locals:
            fail(f"'{e.root}' is a local value and cannot be indexed", e.loc)
        if scope.level == "input":
            return self.input_path(scope.input, e.root, e.steps, e.loc, scope, relative=True)
        if e.root in self.facts.inputs:
            if scope.level == "literal":
                fail(f"{scope.what} must be a literal number", e.loc)
            return self.input_path(e.root, None, e.steps, e.loc, scope)
        if e.root in self.decl.enums:
            fail(f"'{e.root}' is an enum; write {e.root}.MEMBER", e.loc)
        local = self.decl.design_defs.get(scope.design or "", {})
        if e.root in self.decl.defs or e.root in self.decl.layer_defs or e.root in local:
            fail(f"'{e.root}' is a number and cannot be indexed or have fields; only input fields can", e.loc)
        fail(f"unknown name '{e.root}'", e.loc)


def once(seen: dict[str, ir.Loc], name: str, loc: ir.Loc, message: str, note: str = "first defined here") -> None:
    """Record that `name` is written at `loc`; a second time fails with `message`, citing the first place."""
    if name in seen:
        fail(message, loc, (seen[name], note))
    seen[name] = loc


def tname(t: str, article: bool = False) -> str:
    """A type for messages: 'enum:Mode' -> 'Mode'."""
    name = t[5:] if t.startswith("enum:") else t
    if not article:
        return name
    return ("an " if name[0] in "aeiouAEIOU" else "a ") + name


def mentioned(e) -> list[str]:
    """Bare names (and attribute bases) an unresolved expression mentions, in order."""
    out: list[str] = []
    match e:
        case ir.Name(name=n):
            out.append(n)
        case ir.Attr(base=b):
            out.append(b)
        case ir.Path(root=r):
            out.append(r)
    for c in children(e):
        out += mentioned(c)
    return out


def check_arity(e: ir.Call, kind: str, callee) -> None:
    """A call of a spec function or loop passes one argument per parameter."""
    n, params = len(e.args), callee.params
    if n != len(params):
        fail(f"{kind} '{e.func}' takes {len(params)} argument{'s' if len(params) != 1 else ''} "
             f"({', '.join(params)}), got {n}", e.loc, (callee.loc, f"'{e.func}' is defined here"))


def dependency_order(names, item_of, deps_of, check) -> tuple[dict[str, object], list[str]]:
    """Check each named definition after those it depends on: `check(name, item)` returns
    the checked item.  Returns ({name: checked item}, names in evaluation order); a cycle
    fails at the definition that closes it, naming the chain."""
    order: list[str] = []
    visiting: list[tuple[str, ir.Loc]] = []
    done: dict[str, object] = {}

    def visit(name: str):
        if name in done:
            return
        for n, loc in visiting:
            if n == name:
                chain = [x for x, _ in visiting[visiting.index((n, loc)):]] + [name]
                fail(f"circular definition: {' -> '.join(chain)}", loc)
        item = item_of(name)
        visiting.append((name, item.loc))
        for dep in deps_of(item):
            visit(dep)
        done[name] = check(name, item)
        visiting.pop()
        order.append(name)

    for name in names:
        visit(name)
    return done, order


def layer_deps(item, table) -> list[str]:
    """The names in `table` an item's expressions use (states excluded: they are inputs)."""
    exprs = item.args if isinstance(item, ir.Random) else (item.expr,)
    deps = []
    for x in exprs:
        for n in mentioned(x):
            if n in table and not isinstance(table[n][1], (ir.State, ir.Loc)) and n not in deps:
                deps.append(n)
    return deps


def shown(e) -> str:
    """An expression for a message: its name, or 'expression'."""
    match e:
        case ir.Name(name=n):
            return n
    return "expression"
