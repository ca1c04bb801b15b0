"""Front end, checking: designs and the blocks that read them (measured, roofline, solve, hardware)."""

from __future__ import annotations

import dataclasses

from spattenc.ir import keys
from spattenc.ir.keys import Key
from spattenc.ir import nodes as ir
from spattenc.ir.errors import closest, did_you_mean, fail
from spattenc.ir.visit import const_value
from spattenc.front.check.decls import param_range
from spattenc.front.check.scope import NAME_CUTOFF, Scope, dependency_order, layer_deps, once
from spattenc.front.check.types import stage_ref


#: Ports every hand-written DUT has (see docs/verilog.md); spec ports cannot reuse them.
HW_PORTS = {"clk", "rst", "start", "done", "layer", "layer_done"}


class Designs:
    """A design (schedule, lets, metrics, shows) and the blocks that refer to designs."""

    def check_design(self, d: ir.Design) -> ir.Design:
        """A design: its lets (per layer, in dependency order), schedule, metrics and shows."""
        if self.rows_mode and (d.lets or d.schedule is not None or d.shows or d.draws):
            where = [x.loc for x in (*d.lets, *d.draws, d.schedule, *d.shows) if x is not None][0]
            fail(f"design '{d.name}': in a table spec designs hold metrics only (per-row formulas go in the "
                 "rows block, per-group ones in a group)", where)
        table: dict[str, tuple[str, object]] = {}
        self.decl.design_defs[d.name] = table
        for item in d.lets + d.draws:
            self.declare(item.name, Key("design", item.name, d.name), item.loc, table)
            table[item.name] = (Key("design", item.name, d.name), item)
        # The design's draws (one per trial): arguments in params and constants.
        draws = tuple(self.check_draw(r, Key("design", r.name, d.name),
                                      Scope("const", f"the arguments of random '{r.name}' in design '{d.name}'"))
                      for r in d.draws)
        # Schedule: which stages run, each once.
        scheduled: dict[str, ir.Loc] = {}

        def walk(s: ir.Sched):
            if isinstance(s, ir.SchedStage):
                key = table.get(s.stage) or self.decl.layer_defs.get(s.stage)
                if key is None or not isinstance(key[1], ir.Stage):
                    stages = [n for t in (self.decl.layer_defs, table) for n, v in t.items()
                              if isinstance(v[1], ir.Stage)]
                    if key is not None or s.stage in self.decl.defs:
                        fail(f"'{s.stage}' is not a stage; a schedule lists stages: {', '.join(stages)}", s.loc)
                    close = closest(s.stage, stages, cutoff=NAME_CUTOFF)
                    hint = f"did you mean '{close}'? " if close else ""
                    fail(f"unknown stage '{s.stage}'; {hint}stages: {', '.join(stages)}", s.loc)
                once(scheduled, s.stage, s.loc, f"stage '{s.stage}' appears twice in the schedule of design '{d.name}'",
                     "first scheduled here")
            else:
                for p in s.parts:
                    walk(p)

        if d.schedule is not None:
            walk(d.schedule)
        self.facts.scheduled[d.name] = set(scheduled)
        def check(name: str, item):
            if isinstance(item, ir.Random):
                return item  # checked above; drawn before the first layer
            scope = Scope("design", f"'{name}' in design '{d.name}'", design=d.name)
            e = self.expr(item.expr, scope)
            self.facts.types[Key("design", name, d.name)] = self.type_of(e, None)
            if self.is_random(e):
                self.facts.random.add(Key("design", name, d.name))
            return dataclasses.replace(item, expr=e)

        done, order = dependency_order([i.name for i in d.lets], lambda n: table[n][1],
                                    lambda item: layer_deps(item, table), check)
        metrics = []
        seen: dict[str, ir.Loc] = {}
        for mt in d.metrics:
            once(seen, mt.name, mt.loc, f"metric '{mt.name}' is defined more than once in design '{d.name}'")
            self.reduce_slot = 0
            scope = Scope("metric", f"metric '{mt.name}'", design=d.name)
            e = self.expr(mt.expr, scope)
            self.facts.types[Key("metric", mt.name, d.name)] = self.type_of(e, None)
            if self.is_random(e):
                self.facts.random.add(Key("metric", mt.name, d.name))
            metrics.append(dataclasses.replace(mt, expr=e))
        # Design-time values depend on the schedule's stages; mark times random if any stage is.
        if any(self.is_random(stage_ref(self, d.name, s)) for s in scheduled):
            self.facts.random.add(keys.design_time(d.name))
        shows = []
        seen_show: dict[str, ir.Loc] = {}
        for sh in d.shows:
            once(seen_show, sh.name, sh.loc, f"'show {sh.name}' appears more than once in design '{d.name}'",
                 "first here")
            scope = Scope("design", f"'show {sh.name}' in design '{d.name}'", design=d.name)
            start, end = self.expr(sh.start, scope), self.expr(sh.end, scope)
            for x in (start, end):
                if self.type_of(x, scope) == "bool":
                    fail(f"'show {sh.name}' needs times (numbers), not a condition", x.loc)
            shows.append(dataclasses.replace(sh, start=start, end=end))
        # Lets and stages in dependency order (not the written one): the order every back end follows.
        return dataclasses.replace(d, lets=tuple(done[n] for n in order if not isinstance(done[n], ir.Random)), metrics=tuple(metrics),
                                   shows=tuple(shows), draws=draws)

    def known_design(self, ident: ir.Ident, designs: tuple[ir.Design, ...]) -> ir.Design:
        """The design `ident` names, or an error listing the designs."""
        for d in designs:
            if d.name == ident.name:
                return d
        names = [d.name for d in designs]
        close = closest(ident.name, names, cutoff=NAME_CUTOFF)
        hint = f"did you mean '{close}'? " if close else ""
        fail(f"unknown design '{ident.name}'; {hint}designs: {', '.join(names)}", ident.loc)

    def known_param(self, ident: ir.Ident, what: str) -> None:
        """Fail unless `ident` names a param (`what` says where it is written)."""
        if self.decl.defs.get(ident.name, (None,))[0] != Key("param", ident.name):
            params = [p.name for p in self.m.params]
            hint = did_you_mean(ident.name, params, cutoff=NAME_CUTOFF)
            fail(f"{what} must be a param; '{ident.name}' is not{hint}", ident.loc)

    def check_measured(self, blocks: tuple[ir.Measured, ...],
                       designs: tuple[ir.Design, ...]) -> tuple[ir.Measured, ...]:
        """Measured blocks: config columns are params, observed values lets of one design with a metric."""
        seen: dict[str, ir.Loc] = {}
        for b in blocks:
            once(seen, b.name, b.loc, f"measured '{b.name}' is defined more than once")
            if self.rows_mode:
                fail("measured tables need a spec without a rows block (one model value per measured row; "
                     "a table spec reduces its input table to one value)", b.loc)
            if not self.implicit_layers:
                fail("measured tables need a spec without a layers block (one model value per row)", b.loc)
            d = self.known_design(b.design, designs)
            metrics = {mt.name for mt in d.metrics}
            config: dict[str, ir.Loc] = {}
            for ident in b.config:
                self.known_param(ident, "a config column")
                once(config, ident.name, ident.loc, f"'{ident.name}' is listed twice", "first listed here")
            observed: dict[str, ir.Loc] = {}
            local = {i.name for i in d.lets}
            for ident in b.observe:
                once(observed, ident.name, ident.loc, f"'{ident.name}' is listed twice", "first listed here")
                if ident.name not in local:
                    is_param = self.decl.defs.get(ident.name, (None,))[0] == Key("param", ident.name)
                    where = ("a param" if ident.name in config or is_param
                             else "not a let or stage of design " + repr(d.name))
                    fail(f"an observed value must be a let or stage of design '{d.name}' (the measured "
                         f"column replaces it); '{ident.name}' is {where}", ident.loc)
                if ident.name not in metrics:
                    fail(f"design '{d.name}' needs a metric '{ident.name}': the model's value that the measured "
                         f"column is compared with (e.g. metric {ident.name} = {ident.name})", ident.loc)
                if self.is_random(ir.Ref(ident.loc, ident.name, "design", d.name)):
                    fail(f"'{ident.name}' depends on a random draw; an observed value must be deterministic", ident.loc)
            if b.axis is not None and b.axis.name not in config and b.axis.name not in metrics:
                fail(f"the axis must be a config param or a metric of design '{d.name}'; '{b.axis.name}' is neither",
                     b.axis.loc)
        return blocks

    def check_roofline(self, r: ir.Roofline, designs: tuple[ir.Design, ...]) -> ir.Roofline:
        """The roofline: numeric roofs, intensity and throughput metrics of every design."""
        def roofs(exprs, what):
            out = []
            for e in exprs:
                scope = Scope("const", f"the roofline's {what} roof")
                x = self.expr(e, scope)
                if self.type_of(x, scope) == "bool":
                    fail(f"the roofline's {what} roof must be a number, not a condition", e.loc)
                out.append(x)
            return tuple(out)

        compute, memory = roofs(r.compute, "compute"), roofs(r.memory, "memory")
        for ident in (r.intensity, r.throughput):
            for d in designs:
                if ident.name not in {mt.name for mt in d.metrics}:
                    fail(f"'{ident.name}' must be a metric of every design; design '{d.name}' has none", ident.loc,
                         (d.loc, f"design '{d.name}' is defined here"))
        return dataclasses.replace(r, compute=compute, memory=memory)

    def check_solves(self, solves: tuple[ir.Solve, ...]) -> tuple[ir.Solve, ...]:
        """Solve declarations: a deterministic equation (or expression) in one param."""
        out = []
        seen: dict[str, ir.Loc] = {}
        for sv in solves:
            once(seen, sv.name, sv.loc, f"solve '{sv.name}' is defined more than once")
            if self.m.inputs:
                fail(f"solve '{sv.name}': a 'solve' declaration gives closed forms in the params, which a spec "
                     "that reads input files does not have; solve in its report instead: "
                     "NAME = solve PARAM where A == B", sv.loc, (self.m.inputs[0].loc, "input declared here"))
            self.known_param(sv.unknown, "the unknown of a solve")
            if sv.design is not None:
                if sv.design.name not in self.decl.design_defs:
                    names = list(self.decl.design_defs)
                    fail(f"unknown design '{sv.design.name}'; designs: {', '.join(names)}", sv.design.loc)
                scope = Scope("design", f"solve '{sv.name}'", design=sv.design.name)
            else:
                scope = Scope("layer" if not self.implicit_layers else "const", f"solve '{sv.name}'")
            e = self.expr(sv.expr, scope)
            for node in ir.walk(e):
                if isinstance(node, ir.StageTime):
                    fail("a solve cannot read schedule times (no closed form); use stage durations", node.loc)
            if self.type_of(e, scope) == "bool" and not (isinstance(e, ir.Binary) and e.op == "=="):
                fail("a solve needs an equation 'a == b', or a number expression (solved for zero)", e.loc)
            if self.is_random(e):
                fail(f"solve '{sv.name}' depends on a random draw; closed forms need deterministic values", e.loc)
            out.append(dataclasses.replace(sv, expr=e))
        return tuple(out)

    def check_hardware(self, h: ir.Hardware, params: tuple[ir.Param, ...]) -> ir.Hardware:
        """A hardware block: inputs are params, constants or random variables; outputs are
        checked like the design's metrics (per run) and lets (per layer)."""
        if h.design not in self.decl.design_defs:
            fail(f"unknown design '{h.design}'; designs: {', '.join(self.decl.design_defs)}", h.design_loc)
        ports: dict[str, ir.Loc] = {}

        def port(name: str, loc: ir.Loc):
            if name in HW_PORTS:
                fail(f"'{name}' is a port every DUT has ({', '.join(sorted(HW_PORTS))}); choose another name", loc)
            once(ports, name, loc, f"port '{name}' of hardware '{h.name}' is declared more than once",
                 "first declared here")

        inputs = []
        for i in h.inputs:
            port(i.name, i.loc)
            key = self.decl.defs.get(i.name, (None,))[0] or self.decl.layer_defs.get(i.name, (None,))[0]
            kind = key.kind if key is not None else None
            if kind not in ("param", "const", "random"):
                per_layer = kind in ("layer", "state", "stage", "index")
                what = "not defined" if kind is None else f"a {'per-layer quantity' if per_layer else kind}"
                fail(f"DUT input '{i.name}' is {what}; inputs are params, constants or random variables "
                     "(the DUT computes everything else)", i.loc)
            if kind == "const":
                self.resolve_key(key)
            inputs.append(dataclasses.replace(i, scope=kind))
        by_name = {p.name: p for p in params}
        limits = []
        limited: dict[str, ir.Loc] = {}
        for lim in h.limits:
            if lim.param not in by_name:
                fail(f"'{lim.param}' is not a param; 'limit' narrows a param's range", lim.loc)
            once(limited, lim.param, lim.loc, f"param '{lim.param}' is limited more than once", "first here")
            scope = Scope("literal", f"the limit of '{lim.param}'")
            lo, hi = self.expr(lim.lo, scope), self.expr(lim.hi, scope)
            lo_v, hi_v = const_value(lo), const_value(hi)
            p = by_name[lim.param]
            if lo_v > hi_v:
                fail(f"empty limit [{lo_v}, {hi_v}] for param '{lim.param}'", lim.loc)
            plo, phi = param_range(p)
            if (plo is not None and lo_v < plo) or (phi is not None and hi_v > phi):
                fail(f"limit [{lo_v}, {hi_v}] of '{lim.param}' is outside its declared range [{plo}, {phi}]",
                     lim.loc, (p.loc, "declared here"))
            limits.append(dataclasses.replace(lim, lo=lo, hi=hi))
        outputs = []
        for o in h.outputs:
            port(o.name, o.loc)
            self.reduce_slot = 0
            scope = Scope("metric", f"output '{o.name}' of hardware '{h.name}'", design=h.design)
            e = self.expr(o.expr, scope)
            self.facts.types[Key("hw", o.name, h.name)] = self.type_of(e, None)
            outputs.append(dataclasses.replace(o, expr=e))
        layer_outputs = []
        for o in h.layer_outputs:
            port(o.name, o.loc)
            scope = Scope("design", f"layer output '{o.name}' of hardware '{h.name}'", design=h.design)
            e = self.expr(o.expr, scope)
            self.facts.types[Key("hw", o.name, h.name)] = self.type_of(e, None)
            layer_outputs.append(dataclasses.replace(o, expr=e))
        if not outputs and not layer_outputs:
            fail(f"hardware '{h.name}' declares no outputs to check (output NAME = EXPR, "
                 "or output layer NAME = EXPR)", h.loc)
        configs = self.constant_int(h.configs, "configs", 200) if not isinstance(h.configs, int) else h.configs
        if configs < 1:
            fail("'configs' must be a positive integer", h.loc)
        max_cycles = None
        if h.max_cycles is not None and not isinstance(h.max_cycles, int):
            max_cycles = self.constant_int(h.max_cycles, "max_cycles", 0)
        return dataclasses.replace(h, inputs=tuple(inputs), limits=tuple(limits), outputs=tuple(outputs),
                                   layer_outputs=tuple(layer_outputs), configs=configs, max_cycles=max_cycles)
