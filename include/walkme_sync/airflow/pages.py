"""HTML of the Integrations console and the Sync report: Jinja templates, escaped by default.

The pages run inside the Airflow UI's iframe (plugin external views); `templates/` holds their
HTML, `static/` the CSS and the little JavaScript they need. Every value from a config, a report
or Salesforce reaches the page escaped (autoescape), never as markup.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, StrictUndefined

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["thousands"] = thousands
    env.filters["segment"] = segment
    return env


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)


def thousands(value: Any) -> str:
    """1234567 -> `1,234,567` (counts read at a glance)."""
    return f"{int(value):,}"


def segment(value: Any) -> str:
    """A value as one URL path segment (run ids hold ':' and '+')."""
    return quote(str(value), safe="")
