"""Self-contained HTML reports: content dataclasses (``Table``, ``Image``,
``Preformatted``, ``Section``), ``render_html`` and an atomic ``write_html``.

A rendered report is a single file that opens offline: no external scripts,
fonts or stylesheets, images embedded as ``data:`` URIs, CSS inline. All
user-provided text is HTML-escaped (the jinja2 template `report.html.j2` autoescapes),
and the output is deterministic (no timestamps), so reports can be diffed between runs.
The page fits a 1400-pixel window: wide tables scroll inside their own box.
"""

from __future__ import annotations

import base64
import math
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import markupsafe
import numpy as np

from spattenc.driver import file_mode
from spattenc.backends.templates_env import html_environment

__all__ = ["Table", "Image", "Preformatted", "Note", "Num", "Section", "Item", "render_html", "write_html"]


class Num(str):
    """A number already formatted for display (e.g. with the spec's `fmt`): shown as
    given, right-aligned like any other number."""

    __slots__ = ()


@dataclass(frozen=True)
class Table:
    """A titled table; cells are formatted (floats to 6 significant digits, `Num` as given)
    and escaped at render time; `note` is a line shown under it."""

    title: str
    columns: Sequence[str]
    rows: Sequence[Sequence[object]]
    note: str = ""

    def __post_init__(self) -> None:
        # Freeze the contents too, so a rendered report cannot drift from its data.
        object.__setattr__(self, "columns", tuple(str(c) for c in self.columns))
        object.__setattr__(self, "rows", tuple(tuple(row) for row in self.rows))
        for i, row in enumerate(self.rows):
            if len(row) != len(self.columns):
                raise ValueError(
                    f"table {self.title!r}: row {i} has {len(row)} cells, expected {len(self.columns)}"
                )


@dataclass(frozen=True)
class Image:
    """A titled image (PNG, JPEG, GIF or SVG) given as a file path or raw bytes, embedded
    inline; `alt` is its text alternative (default: the title and caption)."""

    title: str
    path_or_bytes: str | os.PathLike[str] | bytes
    caption: str = ""
    alt: str = ""


@dataclass(frozen=True)
class Preformatted:
    """A titled block of preformatted text, e.g. closed-form expressions, shown verbatim."""

    title: str
    text: str


@dataclass(frozen=True)
class Note:
    """A paragraph of text, with an optional heading."""

    text: str
    title: str = ""


Item = Table | Image | Preformatted | Note


@dataclass(frozen=True)
class Section:
    """A titled group of report items, rendered in order."""

    title: str
    items: Sequence[Item]

    def __post_init__(self) -> None:
        object.__setattr__(self, "items", tuple(self.items))


# Only data: images and inline styles may load: even if a viewer followed a
# stray URL, the policy makes the offline guarantee explicit.
_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"

# The page never gets wider than a 1400-pixel window: the body is capped, wide tables and
# preformatted blocks scroll inside their own box, images shrink to the column, and long
# words in text wrap anywhere rather than widen the page.
_CSS = """
*, *::before, *::after { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       margin: 0 auto; max-width: 1400px; padding: 1.5rem 2rem; color: #1f2328;
       background: #ffffff; line-height: 1.45; }
main { max-width: 100%; }
h1, h2, h3, p, li, figcaption, td { overflow-wrap: anywhere; }
h1 { border-bottom: 2px solid #d0d7de; padding-bottom: .3rem; font-size: 1.7rem; }
h2 { border-bottom: 1px solid #d0d7de; padding-bottom: .2rem; margin-top: 2.2rem; }
h3 { margin-bottom: .4rem; font-size: 1.05rem; }
nav ol { padding-left: 1.4rem; columns: 2; }
nav a, nav a:visited { color: #0969da; text-decoration: none; }
.scroll { max-width: 100%; overflow-x: auto; margin: .5rem 0 1rem; border: 1px solid #d0d7de;
          border-radius: 6px; width: fit-content; }
.scroll.tall { max-height: 34rem; overflow-y: auto; }
table { border-collapse: collapse; font-size: .9rem; }
th, td { border: 1px solid #d0d7de; padding: .3rem .6rem; vertical-align: top; }
tr > :first-child { border-left: 0; }
tr > :last-child { border-right: 0; }
thead th { border-top: 0; }
th { background: #f6f8fa; text-align: left; font-weight: 600; min-width: 5rem; max-width: 16rem; }
.scroll.tall thead th { position: sticky; top: 0; }
td { min-width: 4rem; max-width: 36rem; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tbody tr:nth-child(even) { background: #fafbfc; }
pre { background: #f6f8fa; border: 1px solid #d0d7de; border-radius: 6px; max-width: 100%;
      max-height: 40rem; padding: .8rem 1rem; overflow: auto; font-size: .85rem; }
figure { margin: .5rem 0 1.2rem; }
figure img { max-width: 100%; height: auto; border: 1px solid #d0d7de; }
figcaption, p.note { color: #57606a; font-size: .9rem; margin-top: .3rem; }
""".strip()


def _is_number(value: object) -> bool:
    """Tell whether a cell holds a number, so it can be right-aligned."""
    if isinstance(value, Num):
        return True
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _format_cell(value: object) -> str:
    """Format one table cell: floats to 6 significant digits, None as empty."""
    if value is None:
        return ""
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return str(v) if not math.isfinite(v) else f"{v:.6g}"
    return str(value)


def _sniff_mime(data: bytes) -> str:
    """Identify an embeddable image type from its leading bytes."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    head = data[:512].lstrip().lower()
    if head.startswith(b"<svg") or (head.startswith(b"<?xml") and b"<svg" in data[:4096].lower()):
        return "image/svg+xml"
    raise ValueError("image is not PNG, JPEG, GIF or SVG; only these can be embedded in the report")


def _image_data_uri(source: str | os.PathLike[str] | bytes) -> str:
    """Read an image (path or bytes) and return it as a base64 ``data:`` URI."""
    data = bytes(source) if isinstance(source, (bytes, bytearray)) else Path(source).read_bytes()
    # SVG also goes through <img>, where any scripts it contains never run.
    return f"data:{_sniff_mime(data)};base64,{base64.b64encode(data).decode('ascii')}"


#: Tables with more rows than this scroll vertically too, under a sticky header.
TALL_ROWS = 25


def _view(item: Item, section: str) -> dict:
    """The template's view of one item: plain strings (escaped by the template) and flags."""
    if isinstance(item, Table):
        rows = [[(_format_cell(v), _is_number(v)) for v in row] for row in item.rows]
        return {"kind": "table", "title": item.title, "columns": item.columns, "rows": rows, "note": item.note,
                "tall": len(rows) > TALL_ROWS}
    if isinstance(item, Image):
        alt = item.alt or ". ".join(t for t in (item.title, item.caption) if t) or f"image in {section}"
        return {"kind": "image", "title": item.title, "uri": _image_data_uri(item.path_or_bytes), "alt": alt,
                "caption": item.caption}
    if isinstance(item, Preformatted):
        return {"kind": "pre", "title": item.title, "text": item.text}
    if isinstance(item, Note):
        return {"kind": "note", "title": item.title, "text": item.text}
    raise TypeError(f"unsupported report item {type(item).__name__} in section {section!r}")


def render_html(title: str, sections: Sequence[Section]) -> str:
    """Render sections into one self-contained, deterministic HTML document that opens
    offline; every string is escaped by the template's autoescaping."""
    views = [{"title": s.title, "entries": [_view(it, s.title) for it in s.items]} for s in sections]
    # The stylesheet is this module's constant, not user text: it goes in unescaped.
    return html_environment().get_template("report.html.j2").render(
        title=title, sections=views, csp=_CSP, css=markupsafe.Markup(_CSS))


def write_html(path: str | os.PathLike[str], html: str) -> Path:
    """Write ``html`` to ``path`` atomically (temp file in the same directory, then os.replace)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    # Keep an existing file's permissions; a new report gets what the umask gives any new
    # file (mkstemp would leave it 0600).
    mode = target.stat().st_mode & 0o7777 if target.exists() else file_mode()
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(html)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        # Never leave a half-written temp file behind.
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return target
