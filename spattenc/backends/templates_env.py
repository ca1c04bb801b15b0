"""The jinja2 environment for every generated file (templates ship in `spattenc.templates`)."""

from __future__ import annotations

import functools
import keyword
import re
from importlib import resources
from pathlib import Path

import jinja2
import markupsafe

from spattenc.backends import layout, naming
from spattenc.backends import simlib


@functools.cache
def template_dir() -> Path:
    """The folder of the templates belonging to this copy of the package:
    `spattenc/templates/` in an installed wheel, `templates/` next to `spattenc/` in a
    source checkout (so a checkout on PYTHONPATH never renders the templates of the
    checkout an editable install points `spattenc.templates` at)."""
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / "templates", package.parent / "templates"):
        if (candidate / "sim.py.j2").is_file():
            return candidate
    return Path(str(resources.files("spattenc.templates")))


@functools.cache
def environment() -> jinja2.Environment:
    """Strict, whitespace-controlled environment; templates hold file skeletons only."""
    root = template_dir()
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(root)),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters.update(FILTERS)
    env.globals["simlib"] = simlib.source  # runtime helpers, pasted verbatim
    return env


_PY_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def _ident(name) -> str:
    """A Python identifier the back end chose (checked: never raw text)."""
    if not isinstance(name, str) or not _PY_IDENT.match(name) or keyword.iskeyword(name):
        raise ValueError(f"not a Python identifier: {name!r}")
    return name


def _idents(names) -> str:
    """Python identifiers, comma separated."""
    return ", ".join(_ident(n) for n in names)


_SPEC_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def _name(name) -> str:
    """A checked spec name (the grammar's NAME: ASCII letters, digits, underscores), safe in
    any comment, docstring or string; as code it must go through `ident`."""
    if not isinstance(name, str) or not _SPEC_NAME.match(name):
        raise ValueError(f"not a spec name: {name!r}")
    return name


_FILE_NAME = re.compile(r"[A-Za-z0-9_.-]+\Z")


def _file(name) -> str:
    """A generated file name or stem (naming.file_stem: letters, digits, `_ . -`)."""
    if not isinstance(name, str) or not _FILE_NAME.match(name):
        raise ValueError(f"not a generated file name: {name!r}")
    return name


def _code(text) -> str:
    """Back-end-printed code, verbatim; any other string is refused."""
    if not isinstance(text, naming.Code):
        raise TypeError(f"not printed code: {text!r}")
    return text


def _num(v) -> str:
    """A number (int or float, not a string or a bool)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise TypeError(f"not a number: {v!r}")
    return repr(v)


def _spaces(text) -> str:
    """Indentation: spaces only."""
    if not isinstance(text, str) or text.strip(" "):
        raise ValueError(f"not indentation: {text!r}")
    return text


def _v_ident(name) -> str:
    """A Verilog identifier the back end chose, or a port the spec names (checked)."""
    return naming.v_ident(name, naming.VERILOG_KEYWORDS)


#: The escaping filters: every `{{ ... }}` of a template ends in one of these (or
#: jinja's `tojson`, a JSON string literal, which is also a valid Python literal), or
#: prints a constant (tests/test_hostile_specs.py walks every template to check).
FILTERS = {
    "py": naming.py_lit, "py_str": naming.py_str, "py_doc": naming.py_doc, "py_comment": naming.py_comment,
    "ident": _ident, "idents": _idents, "name": _name, "file": _file, "code": _code, "num": _num, "spaces": _spaces,
    "v_comment": naming.v_comment, "v_str": naming.v_str,
    "v_ident": _v_ident,
}
ESCAPING_FILTERS = frozenset(FILTERS) | {"tojson"}


@functools.cache
def html_environment() -> jinja2.Environment:
    """The environment of HTML documents (the report): every value is HTML-escaped unless
    marked safe, so user text can never become markup."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir())),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=True,
        finalize=_visible,
    )


def _visible(value):
    """Text shown in HTML with its control characters spelt out (a NUL or an escape
    sequence cannot be shown literally); markup the code built is left as it is."""
    if isinstance(value, str) and not isinstance(value, markupsafe.Markup):
        return naming.visible(value)
    return value


def render(name: str, **context) -> str:
    """The text of template `name` with `context`; Python files are laid out so that no
    line is longer than `layout.WIDTH` (printers and templates write one statement a
    line, `layout.wrap_python` breaks the long ones); in Verilog, a trailing comment that
    makes a line too long moves above it."""
    text = environment().get_template(name).render(**context)
    if name.endswith(".py.j2"):
        return layout.wrap_python(text)
    return layout.wrap_verilog_comments(text) if name.endswith(".v.j2") else text
