"""Pydantic's validation errors, reworded as config problems a person can act on.

Pydantic reports ``loc``/``type``/``msg``; this module finds the model that owns the key (through
lists, optionals and the source's discriminated union) and writes the message and fix hint.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, get_args, get_origin

from pydantic import (
    BaseModel,
)

from include.walkme_sync.config.catalog import (
    closest_names,
)
from include.walkme_sync.config.models import SOURCE_KINDS, IntegrationConfig
from include.walkme_sync.config.problems import ConfigProblem, Loc, format_path


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """Pydantic models inside an annotation (through list[...], X | None, Annotated[...])."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [model for arg in get_args(annotation) for model in _models_in(arg)]


def _walk_loc(loc: Loc) -> tuple[Loc, type[BaseModel] | None]:
    """Strip union tags from a pydantic ``loc``; return it and the model owning its last key."""
    clean: list[str | int] = []
    owner: type[BaseModel] | None = IntegrationConfig
    current: list[type[BaseModel]] = [IntegrationConfig]
    for part in loc:
        if isinstance(part, int):
            clean.append(part)
            continue
        if len(current) > 1:  # a discriminated union: this part is the tag, not a key
            tagged = [m for m in current if part in get_args(m.model_fields["kind"].annotation)]
            if tagged:
                current = tagged
                continue
        owner = current[0] if len(current) == 1 else None
        clean.append(part)
        info = owner.model_fields.get(str(part)) if owner else None
        annotation = info.annotation if info else None
        if get_origin(annotation) is Annotated:
            annotation = get_args(annotation)[0]
        current = _models_in(annotation) if annotation is not None else []
    return tuple(clean), owner


def _field_description(owner: type[BaseModel] | None, key: str | int) -> str:
    if owner is None or not isinstance(key, str) or key not in owner.model_fields:
        return ""
    return owner.model_fields[key].description or ""


_TYPE_HINTS = {
    "string_type": "write text; quote it if it looks like a number, a date or yes/no",
    "int_type": "write a whole number, e.g. 200",
    "int_parsing": "write a whole number, e.g. 200",
    "int_from_float": "write a whole number, e.g. 200",
    "float_type": "write a number, e.g. 0.95",
    "float_parsing": "write a number, e.g. 0.95",
    "bool_type": "write true or false",
    "bool_parsing": "write true or false",
    "list_type": "write a list: one item per line, each starting with '- '",
    "model_type": "write a mapping: indented `key: value` lines",
    "model_attributes_type": "write a mapping: indented `key: value` lines",
    "dict_type": "write a mapping: indented `key: value` lines",
}


def problem_from_pydantic(error: Any, file: str) -> tuple[Loc, ConfigProblem]:
    loc, owner = _walk_loc(tuple(error["loc"]))
    kind = error["type"]
    ctx = error.get("ctx") or {}
    key = loc[-1] if loc else ""
    message = str(error["msg"])
    hint: str | None = None
    if kind == "walkme_rule":
        message, hint = ctx["message"], ctx["hint"]
    elif kind == "extra_forbidden":
        allowed = sorted(owner.model_fields) if owner else []
        allowed = [name for name in allowed if name != "source_file"]
        close = closest_names(str(key), allowed, limit=1)
        message = f"unknown key {key!r}"
        hint = (f"did you mean {close[0]!r}? " if close else "remove it; ") + (
            f"allowed keys here: {', '.join(allowed)}"
        )
    elif kind == "missing":
        message = f"missing required key {key!r}"
        what = _field_description(owner, key)
        hint = f"add `{key}:`" + (f" ({what})" if what else "")
        if loc[:-1]:
            hint += f" under `{format_path(loc[:-1])}`"
    elif kind == "literal_error":
        expected = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        value = error.get("input")
        message = f"{value!r} is not allowed here"
        close = closest_names(str(value), expected, limit=1) if value is not None else []
        hint = f"use one of: {', '.join(expected)}"
        if close:
            hint = f"did you mean {close[0]!r}? {hint}"
    elif kind in ("union_tag_invalid", "union_tag_not_found"):
        message = (
            f"unknown source kind {ctx.get('tag')!r}"
            if kind == "union_tag_invalid"
            else "the source needs a `kind`"
        )
        hint = f"set `kind:` to one of: {', '.join(SOURCE_KINDS)}"
    elif kind == "too_short" and key == "mappings":
        message = "an integration needs at least one mapping"
        hint = "add `- column: <report column>` / `field: <Salesforce field>` under `mappings:`"
    elif kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        message = f"{error.get('input')!r}: {message[0].lower()}{message[1:]}"
        hint = "change the value to fit the limit"
    elif kind == "string_pattern_mismatch" and key == "id":
        message = f"{error.get('input')!r} is not a valid integration id"
        hint = (
            "use lowercase letters, digits and underscores, starting with a letter "
            f"(e.g. {_slug(str(error.get('input', '')))!r}); the DAG id is walkme_sync__<id>"
        )
    elif kind in _TYPE_HINTS:
        message = f"{message} (got {error.get('input')!r})"
        hint = _TYPE_HINTS[kind]
    return loc, ConfigProblem(file, format_path(loc), message.rstrip("."), hint)


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    return slug if slug[:1].isalpha() else f"integration_{slug}".rstrip("_")
