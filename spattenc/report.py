"""Self-contained HTML reports: content dataclasses (``Table``, ``Image``,
``Preformatted``, ``Section``), ``render_html`` and an atomic ``write_html``.

A rendered report is a single file that opens offline: no external scripts,
fonts or stylesheets, images embedded as ``data:`` URIs, CSS inline. All
user-provided text is HTML-escaped, and the output is deterministic (no
timestamps), so reports can be diffed between runs.
"""

from __future__ import annotations

import base64
import html as _html
import math
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["Table", "Image", "Preformatted", "Section", "Item", "render_html", "write_html"]


@dataclass(frozen=True)
class Table:
    """A titled table; cells are formatted (floats to 6 significant digits) and escaped at render time."""

    title: str
    columns: Sequence[str]
    rows: Sequence[Sequence[object]]

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
    """A titled image (PNG, JPEG, GIF or SVG) given as a file path or raw bytes, embedded inline."""

    title: str
    path_or_bytes: str | os.PathLike[str] | bytes
    caption: str = ""


@dataclass(frozen=True)
class Preformatted:
    """A titled block of preformatted text, e.g. closed-form expressions, shown verbatim."""

    title: str
    text: str


Item = Table | Image | Preformatted


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

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       margin: 0 auto; max-width: 1100px; padding: 1.5rem 2rem; color: #1f2328;
       background: #ffffff; line-height: 1.45; }
h1 { border-bottom: 2px solid #d0d7de; padding-bottom: .3rem; }
h2 { border-bottom: 1px solid #d0d7de; padding-bottom: .2rem; margin-top: 2.2rem; }
h3 { margin-bottom: .4rem; }
nav ol { padding-left: 1.4rem; }
nav a, nav a:visited { color: #0969da; text-decoration: none; }
table { border-collapse: collapse; margin: .5rem 0 1rem; font-size: .92rem; }
th, td { border: 1px solid #d0d7de; padding: .3rem .65rem; }
th { background: #f6f8fa; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tbody tr:nth-child(even) { background: #fafbfc; }
pre { background: #f6f8fa; border: 1px solid #d0d7de; border-radius: 6px;
      padding: .8rem 1rem; overflow-x: auto; font-size: .88rem; }
figure { margin: .5rem 0 1.2rem; }
figure img { max-width: 100%; height: auto; border: 1px solid #d0d7de; }
figcaption { color: #57606a; font-size: .9rem; margin-top: .3rem; }
""".strip()


def _esc(value: object) -> str:
    """HTML-escape any user-provided value, quotes included (safe in text and attributes)."""
    return _html.escape(str(value), quote=True)


def _is_number(value: object) -> bool:
    """Tell whether a cell holds a number, so it can be right-aligned."""
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


def _render_table(table: Table) -> list[str]:
    """Render a Table as an HTML table."""
    out = [f"<h3>{_esc(table.title)}</h3>", "<table>", "<thead><tr>"]
    out.extend(f"<th>{_esc(c)}</th>" for c in table.columns)
    out.append("</tr></thead>")
    out.append("<tbody>")
    for row in table.rows:
        cells = "".join(
            f'<td class="num">{_esc(_format_cell(v))}</td>' if _is_number(v) else f"<td>{_esc(_format_cell(v))}</td>"
            for v in row
        )
        out.append(f"<tr>{cells}</tr>")
    out.extend(["</tbody>", "</table>"])
    return out


def _render_image(image: Image) -> list[str]:
    """Render an Image as a figure with an embedded data: URI."""
    uri = _image_data_uri(image.path_or_bytes)
    out = [f"<h3>{_esc(image.title)}</h3>", "<figure>", f'<img src="{uri}" alt="{_esc(image.title)}">']
    if image.caption:
        out.append(f"<figcaption>{_esc(image.caption)}</figcaption>")
    out.append("</figure>")
    return out


def _render_pre(block: Preformatted) -> list[str]:
    """Render a Preformatted block verbatim (escaped) inside <pre>."""
    return [f"<h3>{_esc(block.title)}</h3>", f"<pre>{_esc(block.text)}</pre>"]


def render_html(title: str, sections: Sequence[Section]) -> str:
    """Render sections into one self-contained, deterministic HTML document that opens offline."""
    sections = list(sections)
    out = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_esc(title)}</title>",
        f"<style>\n{_CSS}\n</style>",
        "</head>",
        "<body>",
        f"<h1>{_esc(title)}</h1>",
    ]
    if len(sections) > 1:
        # Anchors come from section positions, not titles, so they are always
        # unique and need no slug escaping.
        out.append('<nav><h2>Contents</h2><ol>')
        out.extend(f'<li><a href="#sec-{i}">{_esc(s.title)}</a></li>' for i, s in enumerate(sections, 1))
        out.append("</ol></nav>")
    for i, section in enumerate(sections, 1):
        out.append(f'<section id="sec-{i}">')
        out.append(f"<h2>{_esc(section.title)}</h2>")
        for item in section.items:
            if isinstance(item, Table):
                out.extend(_render_table(item))
            elif isinstance(item, Image):
                out.extend(_render_image(item))
            elif isinstance(item, Preformatted):
                out.extend(_render_pre(item))
            else:
                raise TypeError(f"unsupported report item {type(item).__name__} in section {section.title!r}")
        out.append("</section>")
    out.extend(["</body>", "</html>", ""])
    return "\n".join(out)


def write_html(path: str | os.PathLike[str], html: str) -> Path:
    """Write ``html`` to ``path`` atomically (temp file in the same directory, then os.replace)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    # Keep an existing file's permissions; a new report is world-readable
    # like any other generated output (mkstemp would leave it 0600).
    mode = target.stat().st_mode & 0o7777 if target.exists() else 0o644
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
