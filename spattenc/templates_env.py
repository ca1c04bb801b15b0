"""The jinja2 environment for every generated file (templates ship in `spattenc.templates`)."""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

import jinja2


@functools.cache
def template_dir() -> Path:
    """The folder of the templates belonging to this copy of the package:
    `spattenc/templates/` in an installed wheel, `templates/` next to `spattenc/` in a
    source checkout (so a checkout on PYTHONPATH never renders the templates of the
    checkout an editable install points `spattenc.templates` at)."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "templates", here.parent / "templates"):
        if (candidate / "sim.py.j2").is_file():
            return candidate
    return Path(str(resources.files("spattenc.templates")))


@functools.cache
def environment() -> jinja2.Environment:
    """Strict, whitespace-controlled environment; templates hold file skeletons only."""
    root = template_dir()
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(root)),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )


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
    )


def render(name: str, **context) -> str:
    return environment().get_template(name).render(**context)
