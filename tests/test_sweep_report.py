"""`spattenc report`: one self-contained HTML file that a headless browser renders with
every image loaded."""

from __future__ import annotations

import importlib.util
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conftest import chromium, chromium_probe

from spattenc import cli

ROOT = Path(__file__).resolve().parents[1]
CV_DEMO = str(ROOT / "specs" / "cv_demo.spt")


class _Refs(HTMLParser):
    """Collects every URL-bearing attribute and the section headings."""

    def __init__(self):
        super().__init__()
        self.urls: list[tuple[str, str, str]] = []
        self.h2: list[str] = []
        self._in_h2 = False
        self.imgs = 0

    def handle_starttag(self, tag, attrs):
        self._in_h2 = tag == "h2"
        self.imgs += tag == "img"
        for name, value in attrs:
            if name in ("src", "href", "data", "action", "srcset"):
                self.urls.append((tag, name, value or ""))

    def handle_data(self, data):
        if self._in_h2:
            self.h2.append(data)
            self._in_h2 = False


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report")
    code = cli.main(["report", CV_DEMO, "--sweep", "predictor_precision=0.9,0.99", "--sweep",
                     "predictor_recall=0.9,0.95,0.99", "--trials", "4", "--set", "num_layers=3", "--out", str(out)])
    assert code == 0
    return out / "report.html"


def test_report_is_one_self_contained_file(report):
    assert sorted(p.name for p in report.parent.iterdir()) == ["report.html"]
    html = report.read_text()
    refs = _Refs()
    refs.feed(html)
    assert refs.imgs >= 10  # Gantt, histograms, contour and heatmaps
    for tag, attr, url in refs.urls:
        if tag == "img":
            assert url.startswith("data:image/png;base64,"), url[:40]
        else:
            assert url.startswith("#"), url  # only in-page anchors
    assert "<script" not in html and "http://" not in html and "https://" not in html
    sections = refs.h2
    assert "Results at the operating point" in sections and "Plots at the operating point" in sections
    assert any(s.startswith("Sweep cli (6 points x 4 trials)") for s in sections)
    has_symbolic = importlib.util.find_spec("spattenc.middle.symbolic") is not None
    assert ("Closed forms" in sections) == has_symbolic
    # the sweep table lists every point with its swept values
    assert html.count("<td class=\"num\">0.99</td>") >= 3


@pytest.mark.skipif(chromium() is None, reason="chromium is not installed (apt-get install -y chromium)")
def test_report_loads_in_headless_chromium_with_every_image(report, tmp_path):
    loaded = chromium_probe(report, "[...document.images].length + ':' + [...document.images].filter("
                            "x => x.complete && x.naturalWidth > 0).length", tmp_path)
    total, done = map(int, loaded.split(":"))
    assert total >= 10 and done == total
