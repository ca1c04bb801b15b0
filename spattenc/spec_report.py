"""The `spattenc report` document: one self-contained HTML file with the spec's params,
the results at its operating point, its closed forms, and embedded plots (Gantt,
histograms, and for a sweep its table, lines, heatmaps and contours)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from . import plotset
from . import sweep as sweeps
from .report import Image, Preformatted, Section, Table, render_html, write_html

#: Rows of a sweep shown in the report's table; the rest are summarized.
MAX_TABLE_ROWS = 200


def closed_forms(run) -> str | None:
    """The closed forms as `spattenc inspect` prints them, or None when this installation
    has no symbolic layer (the module is absent)."""
    try:
        from . import symbolic
    except ModuleNotFoundError as e:
        if e.name == f"{__package__}.symbolic":
            return None
        raise
    return symbolic.inspect_spec(run.compiled, run.bound, overrides=run.overrides)


def _params_table(run) -> Table:
    rows = []
    swept_params = {a.param for a in run.sweep.axes} if run.sweep is not None else set()
    for name, (ptype, default, lo, hi, unit, doc) in run.sim.PARAMS.items():
        value = run.overrides.get(name, default)
        swept = name in swept_params
        rng = "" if lo is None and hi is None else f"[{lo}, {hi}]"
        note = ("varied by the cases" if run.sweep.labels is not None else "swept") if swept else \
            ("set" if name in run.overrides else "")
        rows.append([name, value, unit or "", ptype, rng, note, doc or ""])
    return Table("Params (operating point)", ["param", "value", "unit", "type", "range", "", "description"], rows)


def _results_tables(run, res: sweeps.Results) -> list[Table]:
    m = sweeps.meta(run.sim)
    rows = []
    for d, ms in res.designs.items():
        title = m["designs"][d][0]
        for name, st in ms.items():
            label, unit, fmt, scale, random = m["designs"][d][1][name]
            rows.append([title, name, plotset.axis_label(label, unit, scale), st.mean[0] * scale,
                         st.std[0] * scale, st.min[0] * scale, st.max[0] * scale])
    metrics = Table(f"Metrics ({res.trials} trials, seed {res.seed}, {res.rng}; population std)",
                    ["design", "metric", "label", "mean", "std", "min", "max"], rows)
    crow = []
    for c, st in res.compares.items():
        label, unit, fmt, scale, random = m["compares"][c]
        crow.append([c, plotset.axis_label(label, unit, scale), st.mean[0] * scale,
                     st.std[0] * scale if random else None])
    compares = Table("Comparisons", ["comparison", "label", "value (mean)", "std over trials"], crow)
    return [metrics, compares]


def _sweep_table(run, res: sweeps.Results) -> Table:
    cmeta = sweeps.meta(run.sim)["compares"]
    cols = list(res.columns)
    labels = res.sweep.labels
    heads = ["point", *(["case"] if labels is not None else []), *cols]
    for c in res.compares:
        heads.append(c)
    for d, ms in res.designs.items():
        for name in ms:
            heads += [f"{d}.{name} mean", f"{d}.{name} std"]
    rows = []
    for i in range(min(res.points, MAX_TABLE_ROWS)):
        row = [i] + ([labels[i]] if labels is not None else []) + [res.columns[k][i].item() for k in cols]
        row += [float(st.mean[i]) * cmeta[c][3] for c, st in res.compares.items()]
        for d, ms in res.designs.items():
            for st in ms.values():
                row += [float(st.mean[i]), float(st.std[i])]
        rows.append(row)
    more = "" if res.points <= MAX_TABLE_ROWS else f": first {MAX_TABLE_ROWS} of {res.points} points " \
        f"(spattenc eval ... --csv gives all)"
    return Table(f"Sweep points{more}", heads, rows)


def build(run, folder: Path) -> str:
    """Evaluate the run, render its plots into `folder`, and return the report's HTML."""
    point = run.point(quiet=True, samples=True)
    swept = run.swept(quiet=run.quiet) if run.sweep is not None else None
    c = run.compiled
    title = f"{c.name}: {c.program.title or c.name}"
    sections = [Section("Spec", [
        Table("Run", ["spec file", "trials", "seed", "rng", "sweep"],
              [[c.path, run.trials, run.seed, run.rng, run.sweep.name if run.sweep else "none"]]),
        _params_table(run)])]
    sections.append(Section("Results at the operating point", _results_tables(run, point)))
    if c.program.report is not None:
        from .results import report_document, report_text

        doc, notes = report_document(c, swept if swept is not None else point, run.params, run.inputs)
        sections.append(Section("Report", [Preformatted("the spec's report block (spattenc eval prints it; "
                                                        "--json gives its JSON)", report_text(doc, title, notes))]))
    forms = closed_forms(run)
    if forms is not None:
        sections.append(Section("Closed forms", [Preformatted("spattenc inspect " + c.path, forms)]))
    entries, _ = plotset.render(folder, "png", run, point, None)
    sections.append(Section("Plots at the operating point",
                            [Image(name, folder / name, caption) for name, caption, _ in entries]))
    if swept is not None:
        more, notes = plotset.swept_plots(folder, "png", run, swept)
        sw = run.sweep
        kind = "Sweep" if sw.labels is None else "Cases"
        items = [Table(f"{kind} {sw.name}: {sw.title}", ["param", "values", "combined"],
                       [[a.param, ", ".join(format(v, ".6g") if isinstance(v, float) else str(v) for v in a.values),
                         "zip" if len(g) > 1 else "product"] for g in sw.groups for a in g]),
                 _sweep_table(run, swept)]
        items += [Image(name, folder / name, caption) for name, caption, _ in more]
        items += [Preformatted("Note", n) for n in notes]
        sections.append(Section(f"{kind} {sw.name} ({swept.points} points x {swept.trials} trials)", items))
    return render_html(title, sections)


def write_report(out: Path, run) -> Path:
    """Write out/report.html (plots rendered in a temporary folder and embedded)."""
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".report.", dir=out))
    try:
        return write_html(out / "report.html", build(run, tmp))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
