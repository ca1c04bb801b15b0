"""Tests for spattenc.report: self-contained, escaped, deterministic HTML."""

from __future__ import annotations

import base64
import shutil
import subprocess
from html.parser import HTMLParser

import numpy as np
import pytest

from spattenc.present import plots
from spattenc.present.html import Image, Preformatted, Section, Table, render_html, write_html

# A 1x1 transparent PNG, enough to exercise embedding without plotting.
_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
)


class _Collector(HTMLParser):
    """Collect tag attributes and script tags from an HTML document."""

    def __init__(self) -> None:
        super().__init__()
        self.attrs: list[tuple[str, str, str | None]] = []
        self.scripts = 0

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self.scripts += 1
        self.attrs.extend((tag, name, value) for name, value in attrs)


def _parse(html: str) -> _Collector:
    parser = _Collector()
    parser.feed(html)
    parser.close()
    return parser


def _sample_sections(tmp_path) -> list[Section]:
    bar = plots.bars(["a", "b"], [1.0, 2.0], tmp_path / "bars.png", ylabel="speedup (x)", title="ablation")
    svg = plots.bars(["a", "b"], [1.0, 2.0], tmp_path / "bars.svg", ylabel="speedup (x)", title="ablation")
    return [
        Section(
            "Results",
            [
                Table("Latency", ["design", "cycles", "speedup"], [["baseline", 1200, 1.0], ["spatten", 400, 3.0]]),
                Image("Ablation", bar.path, "Speedup per variant."),
                Image("Ablation (svg)", svg.path, ""),
                Image("Raw bytes", _PNG, "tiny"),
            ],
        ),
        Section("Closed forms", [Preformatted("latency", "T(n) = n*(n+1)/2 < 2^n & more")]),
    ]


def test_report_is_self_contained(tmp_path):
    html = render_html("Model report", _sample_sections(tmp_path))
    lowered = html.lower()
    assert 'src="http' not in lowered and 'href="http' not in lowered
    assert "src='http" not in lowered and "href='http" not in lowered
    assert "<link" not in lowered  # no external stylesheets
    parsed = _parse(html)
    assert parsed.scripts == 0
    srcs = [value for tag, name, value in parsed.attrs if tag == "img" and name == "src"]
    assert len(srcs) == 3  # three images in the sample
    assert all(src.startswith("data:") for src in srcs)
    assert sum(src.startswith("data:image/svg+xml;base64,") for src in srcs) == 1
    assert sum(src.startswith("data:image/png;base64,") for src in srcs) == 2
    # Every remaining link is an in-page anchor.
    hrefs = [value for _tag, name, value in parsed.attrs if name == "href"]
    assert hrefs and all(h.startswith("#") for h in hrefs)


def test_embedded_image_round_trips(tmp_path):
    html = render_html("r", [Section("s", [Image("img", _PNG, "c")])])
    src = next(v for tag, name, v in _parse(html).attrs if tag == "img" and name == "src")
    assert base64.b64decode(src.split(",", 1)[1]) == _PNG


def test_user_text_is_escaped(tmp_path):
    evil = '<script>alert("x")</script>'
    sections = [
        Section(
            evil,
            [
                Table(evil, [evil], [[evil]]),
                Preformatted(evil, "a < b && c > d"),
                Image(evil, _PNG, evil),
            ],
        ),
        Section("second", []),
    ]
    html = render_html(evil, sections)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "a &lt; b &amp;&amp; c &gt; d" in html
    assert _parse(html).scripts == 0


def test_table_formatting():
    html = render_html(
        "t",
        [Section("s", [Table("nums", ["a", "b", "c", "d"], [[1.0 / 3.0, np.float64(2.5), None, True]])])],
    )
    assert '<td class="num">0.333333</td>' in html
    assert '<td class="num">2.5</td>' in html
    assert "<td></td>" in html
    assert "<td>True</td>" in html
    with pytest.raises(ValueError):
        Table("bad", ["a", "b"], [[1]])


def test_render_is_deterministic(tmp_path):
    sections = _sample_sections(tmp_path)
    assert render_html("r", sections) == render_html("r", sections)


def test_rejects_unembeddable_image(tmp_path):
    pdf = plots.bars(["a"], [1.0], tmp_path / "b.pdf", ylabel="y (x)", title="t")
    with pytest.raises(ValueError):
        render_html("r", [Section("s", [Image("pdf", pdf.path, "")])])


def test_write_html_is_atomic(tmp_path):
    target = tmp_path / "sub" / "report.html"
    write_html(target, "<p>one</p>")
    assert target.read_text(encoding="utf-8") == "<p>one</p>"
    assert (target.stat().st_mode & 0o777) == 0o644
    write_html(target, "<p>two</p>")
    assert target.read_text(encoding="utf-8") == "<p>two</p>"
    # No temporary files are left next to the report.
    assert sorted(p.name for p in target.parent.iterdir()) == ["report.html"]


def _find_chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(_find_chromium() is None, reason="chromium is not installed; headless render check needs it")
def test_report_renders_headless(tmp_path):
    report = write_html(tmp_path / "report.html", render_html("Model report", _sample_sections(tmp_path)))
    shot = tmp_path / "shot.png"
    subprocess.run(
        [
            _find_chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={shot}",
            "--window-size=1200,900",
            report.resolve().as_uri(),
        ],
        check=True,
        timeout=180,
        capture_output=True,
    )
    assert shot.is_file() and shot.stat().st_size > 0
