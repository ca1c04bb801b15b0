"""`spattenc report` for every shipped spec, read as a person reads it: the page fits a
1400-pixel window (measured in headless Chromium), images have text alternatives,
headings go h1 -> h2 -> h3 without skips, numbers are in the spec's fmt, the operating
point uses the spec's trials, deterministic quantities show one value, and the report
block is tables."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conftest import ROOT, chromium, chromium_probe

from spattenc import cli

# Each shipped spec with a declared sweep (or cases) where it has one.
REPORTS = {
    "cv_demo": ["--sweep", "pr_coarse"],
    "chunk_attention": ["--sweep", "native"],
    "selfspec": ["--sweep", "l_prompt=64,128,256"],
    "spatten_cascade": ["--cases", "ablation"],
    "systolic_gemm": ["--sweep", "bandwidth"],
    # The real GPT-2 trace: in the one-row small.csv no metric varies over trials, so its
    # report rightly has no histogram (a quantity that never changes gets a note).
    "spatten_trace": ["--input", f"trace={ROOT / 'examples' / 'spatten' / 'summary-gpt2-small-wikitext2-per8.csv'}"],
}


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("reports")
    paths = {}
    for name, args in REPORTS.items():
        assert cli.main(["report", str(ROOT / "specs" / f"{name}.spt"), *args, "--out", str(out / name)]) == 0
        paths[name] = out / name / "report.html"
    return paths


def test_every_shipped_spec_has_a_report_case():
    assert sorted(REPORTS) == sorted(p.stem for p in (ROOT / "specs").glob("*.spt"))


class _Page(HTMLParser):
    """Headings in order, images with their alt text, and table cells by header."""

    def __init__(self):
        super().__init__()
        self.headings: list[tuple[int, str]] = []
        self.images: list[str | None] = []
        self.tables: list[dict] = []
        self.pre_in: list[str] = []
        self._text: list[str] | None = None
        self._tag = ""
        self._row: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.images.append(a.get("alt"))
        elif tag == "table":
            self.tables.append({"heads": [], "rows": [], "title": self.headings[-1][1] if self.headings else ""})
        elif tag == "tr":
            self._row = []
        elif tag == "pre":
            self.pre_in.append(self.headings[-1][1] if self.headings else "")
        if re.fullmatch(r"h[1-6]|th|td", tag):
            self._tag, self._text = tag, []

    def handle_data(self, data):
        if self._text is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == self._tag and self._text is not None:
            text = "".join(self._text)
            if tag.startswith("h"):
                self.headings.append((int(tag[1]), text))
            else:
                self._row.append(text)
            self._text = None
        elif tag == "tr" and self._row is not None and self.tables:
            t = self.tables[-1]
            if t["heads"]:
                t["rows"].append(self._row)
            else:
                t["heads"] = self._row
            self._row = None


def _page(path: Path) -> _Page:
    p = _Page()
    p.feed(path.read_text(encoding="utf-8"))
    return p


def _table(page: _Page, title: str) -> dict:
    found = [t for t in page.tables if t["title"] == title]
    assert found, [t["title"] for t in page.tables]
    return found[0]


@pytest.mark.skipif(chromium() is None, reason="chromium is not installed (apt-get install -y chromium)")
@pytest.mark.parametrize("name", sorted(REPORTS))
def test_report_fits_a_1400_pixel_window(reports, name, tmp_path):
    """The page is never wider than the window: wide tables scroll in their own box."""
    width, inner = map(int, chromium_probe(reports[name], "document.documentElement.scrollWidth + ':' + "
                                           "window.innerWidth", tmp_path).split(":"))
    assert inner == 1400
    assert width <= 1400, f"{name}: the page is {width} px wide in a 1400 px window"


@pytest.mark.skipif(chromium() is None, reason="chromium is not installed (apt-get install -y chromium)")
def test_wide_table_scrolls_inside_its_box(tmp_path):
    """A table far wider than the window stays in its box; the page does not widen."""
    from spattenc.present.html import Section, Table, render_html, write_html

    wide = Table("wide", [f"column {i}" for i in range(60)], [[123456.789] * 60], "note")
    long_word = Table("long", ["x"], [["y" * 5000]])
    page = write_html(tmp_path / "w" / "report.html", render_html("t" * 3000, [Section("s", [wide, long_word])]))
    probe = ("document.documentElement.scrollWidth + ':' + "
             "Math.max(...[...document.querySelectorAll('.scroll')].map(x => x.scrollWidth))")
    width, box = map(int, chromium_probe(page, probe, tmp_path).split(":"))
    assert width <= 1400 and box > 3000


@pytest.mark.parametrize("name", sorted(REPORTS))
def test_images_have_alt_text_and_headings_do_not_skip(reports, name):
    page = _page(reports[name])
    assert all(alt and alt.strip() for alt in page.images), page.images
    levels = [level for level, _ in page.headings]
    assert levels[0] == 1 and levels.count(1) == 1
    for before, after in zip(levels, levels[1:]):
        assert after <= before + 1, page.headings
    assert all(text.strip() for _, text in page.headings)


def test_reports_have_images_to_check(reports):
    assert sum(len(_page(p).images) for p in reports.values()) >= 10


@pytest.mark.parametrize("name", sorted(REPORTS))
def test_numbers_are_never_in_exponent_form(reports, name):
    """Table cells use the spec's fmt (or whole/significant digits), never 6.22413e+06."""
    for t in _page(reports[name]).tables:
        for row in t["rows"]:
            for cell in row:
                assert not re.search(r"\de\+\d", cell), (t["title"], cell)


def test_cv_demo_operating_point_uses_the_specs_trials(reports, cli):
    """pr_coarse declares 8 trials per point; the operating point still runs the spec's 50,
    so its numbers are those of `eval` (same seed, same generator)."""
    page = _page(reports["cv_demo"])
    run = _table(page, "Run")
    assert run["heads"][1:3] == ["trials (operating point)", "trials (sweep)"]
    assert run["rows"][0][1:3] == ["50", "8 per point"]
    r = cli("eval", str(ROOT / "specs" / "cv_demo.spt"), "--json")
    doc = json.loads(r.out)
    assert doc["trials"] == 50
    metrics = _table(page, "Metrics")
    assert metrics["heads"] == ["design", "metric", "mean", "std", "min", "max"]
    rows = {(d, m): rest for d, m, *rest in metrics["rows"]}
    la = doc["designs"]["lookahead"]["total_cycles"]
    assert rows[("Pipelined (Lookahead)", "Total Cycles (cycles)")] == [
        f"{la['mean']:,.0f}", f"{la['std']:,.0f}", f"{la['min']:,.0f}", f"{la['max']:,.0f}"]
    # The baseline is deterministic: the seed's published 6,224,129 cycles, and no spread.
    assert rows[("Baseline", "Total Cycles (cycles)")] == ["6,224,129", "", "", ""]
    assert rows[("Pipelined (Lookahead)", "Lookahead Finish Rate (%)")][0] == "100.00"


def test_deterministic_spec_shows_one_value_and_no_trials(reports):
    """spatten_cascade draws nothing: no "1 trials, seed 0", no std/min/max columns."""
    html = reports["spatten_cascade"].read_text()
    page = _page(reports["spatten_cascade"])
    assert "1 trials" not in html and "seed 0" not in html and "trials" not in _table(page, "Run")["heads"]
    metrics = _table(page, "Metrics")
    assert metrics["heads"] == ["metric", "SpAtten", "Dense baseline"]
    for t in page.tables:
        assert not {"std", "min", "max"} & set(t["heads"]), t["title"]
        assert not any("±" in cell for row in t["rows"] for cell in row), t["title"]
    assert not any(h.endswith("trials)") for _, h in page.headings)


def test_sweep_table_has_labelled_columns_with_units(reports):
    page = _page(reports["cv_demo"])
    look = _table(page, "Pipelined (Lookahead)")
    assert look["heads"][:3] == ["#", "predictor_precision", "predictor_recall"]
    assert "Total Cycles (cycles)" in look["heads"] and "Avg Hidden Time (cycles)" in look["heads"]
    assert len(look["rows"]) == 100
    # random quantities are mean ± std in the metric's fmt (.0f cycles)
    col = look["heads"].index("Total Cycles (cycles)")
    assert all(re.fullmatch(r"\d{1,3}(,\d{3})* ± \d+", row[col]) for row in look["rows"])
    params = _table(page, "Params (operating point)")
    assert params["heads"] == ["param", "value", "unit", "type", "range", "source", "description"]
    sources = {row[0]: row[5] for row in params["rows"]}
    assert sources["predictor_recall"] == "swept" and sources["num_layers"] == "default"
    # the baseline does not depend on precision or recall: one line, not 100 equal rows
    assert "Same at every point: Total Cycles (cycles) 6,224,129; DRAM Traffic (MB) 10.90." in \
        reports["cv_demo"].read_text()


def test_report_block_is_tables_in_the_specs_units(reports):
    """selfspec's report block: a column per prompt length, entries with units; no <pre>."""
    page = _page(reports["selfspec"])
    assert "Report" not in page.pre_in and not any(t == "Per point" for t in page.pre_in)
    per_point = _table(page, "Per point")
    assert per_point["heads"] == ["entry", "l_prompt = 64", "l_prompt = 128", "l_prompt = 256"]
    rows = {r[0]: r[1:] for r in per_point["rows"]}
    # 258*l/875 + 3523424/13125 pJ (the exact closed form) at l = 64, 128, 256
    expected = [258 * l / 875 + 3523424 / 13125 for l in (64, 128, 256)]
    got = [float(x.replace(",", "")) for x in rows["speculative.energy_pj_per_token (pJ)"]]
    assert got == pytest.approx(expected, rel=1e-5)
    assert all("e+" not in x for x in rows["speculative.throughput_tokens_per_s (tokens/s)"])
    other = {r[0]: r[1:] for r in _table(page, "Other entries")["rows"]}
    assert other["k"] == ["4"]
    be = {r[0]: r[1:] for r in _table(page, "break_even")["rows"]}
    assert be["tokens_per_joule_l_prompt_exact"][0] == "none"
    assert "outside [1, 1048576]" in be["tokens_per_joule_l_prompt_exact"][1]
