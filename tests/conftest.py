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


def run_subprocess(*args: str, cwd: Path | str = ROOT) -> Result:
    """`python -m spattenc ARGS` in a fresh interpreter."""
    p = subprocess.run([sys.executable, "-m", "spattenc", *args], cwd=cwd, capture_output=True, text=True,
                       timeout=300)
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
