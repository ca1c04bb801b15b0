"""Shared fixtures: repository paths, a private compile cache, and CLI runners."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "specs" / "cv_demo.spt"


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory):
    """Compiled simulators go to a per-session folder, not the user's cache."""
    old = os.environ.get("SPATTENC_CACHE")
    os.environ["SPATTENC_CACHE"] = str(tmp_path_factory.mktemp("spattenc-cache"))
    yield
    if old is None:
        os.environ.pop("SPATTENC_CACHE", None)
    else:
        os.environ["SPATTENC_CACHE"] = old


@dataclass
class Result:
    code: int
    out: str
    err: str


#: Seconds a command may take in a test: generous, because the suite must also pass on a
#: 2-core machine that other work keeps busy (a Verilator build there takes minutes).
SUBPROCESS_TIMEOUT = 300
RTL_TIMEOUT = 1800


def run_subprocess(*args: str, cwd: Path | str = ROOT, timeout: float = SUBPROCESS_TIMEOUT) -> Result:
    """`python -m spattenc ARGS` in a fresh interpreter."""
    p = subprocess.run([sys.executable, "-m", "spattenc", *args], cwd=cwd, capture_output=True, text=True,
                       timeout=timeout)
    return Result(p.returncode, p.stdout, p.stderr)


@pytest.fixture
def cli(capsys):
    """`spattenc ARGS` in-process through spattenc.cli.main; returns a Result."""
    from spattenc.cli import main

    def run(*args: str) -> Result:
        capsys.readouterr()
        try:
            code = main(list(args))
        except SystemExit as e:  # argparse exits on bad options
            code = e.code if isinstance(e.code, int) else 2
        cap = capsys.readouterr()
        return Result(code, cap.out, cap.err)

    return run


def chromium() -> str | None:
    """The headless browser the report tests render with (None when not installed)."""
    import shutil

    return shutil.which("chromium") or shutil.which("chromium-browser")


def chromium_probe(report: Path, expression: str, tmp_path: Path, width: int = 1400) -> str:
    """Load `report` in headless Chromium in a `width`-pixel window and return the string
    value of the JavaScript `expression` evaluated once the page has loaded.  The page's
    policy gets one inline script allowed (the probe); images stay limited to data: URIs."""
    import re

    html = report.read_text(encoding="utf-8")
    assert 'content="default-src' in html
    probe = ("<script>window.addEventListener('load', () => { document.body.setAttribute('data-probe', "
             f"String({expression})); }});</script>")
    html = html.replace('content="default-src', "content=\"script-src 'unsafe-inline'; default-src", 1)
    probed = tmp_path / f"probe-{report.parent.name}.html"
    probed.write_text(html.replace("</body>", probe + "</body>"), encoding="utf-8")
    done = subprocess.run(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
         "--disable-background-networking", f"--user-data-dir={tmp_path / 'profile'}", f"--window-size={width},900",
         "--virtual-time-budget=10000", "--dump-dom", probed.resolve().as_uri()],
        capture_output=True, text=True, timeout=180, check=True)
    m = re.search(r'data-probe="([^"]*)"', done.stdout)
    assert m, done.stdout[:500]
    return m[1]
