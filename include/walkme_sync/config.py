"""Integration configs: typed models, YAML loading and offline validation.

One YAML file per integration in ``dags/integrations/`` (or the folder named by the
``WALKME_SYNC_INTEGRATIONS_DIR`` environment variable). Loading reports EVERY problem of every file
at once, each with the file, the field path (``mappings[2].field``), the YAML line and a hint on how
to fix it. A file with an error yields no integration (so no DAG); warnings never block.

Checks done offline (no network): YAML syntax, unknown keys (with "did you mean"), missing keys,
types and allowed values, the report exists in the catalog and is tagged
``integrations_salesforce``, key and mapped columns exist in the report, Salesforce API names are
legal (with the legal suggestion), no mapping writes the object's key field, no Salesforce field is
mapped twice, custom fields carry the recommended ``WalkMe`` prefix (warning), the cron schedule is
valid, integration ids are unique across files. Checks against the org's describe metadata happen
at run time (``salesforce`` package).

This module is imported by ``dags/`` at parse time: pydantic, yaml and the standard library only.

CLI: ``python -m include.walkme_sync.config [folder]`` prints the problems; exit status 1 on errors.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from include.walkme_sync.catalog import (
    SALESFORCE_TAG,
    Catalog,
    ReportDefinition,
    closest_names,
    load_catalog,
)
from include.walkme_sync.errors import ConfigurationError
from include.walkme_sync.names import (
    api_name_problem,
    is_custom_name,
    split_api_name,
    suggest_api_name,
)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# Next to the DAG file, so a DAG-only deploy or a Git DAG bundle ships (and versions) config edits.
DEFAULT_INTEGRATIONS_FOLDER = PROJECT_ROOT / "dags" / "integrations"
INTEGRATIONS_DIR_ENV = "WALKME_SYNC_INTEGRATIONS_DIR"
DAG_ID_PREFIX = "walkme_sync__"
RECOMMENDED_FIELD_PREFIX = "WalkMe"

#: Airflow's schedule presets, accepted next to cron expressions.
SCHEDULE_PRESETS = frozenset(
    {
        "@once",
        "@continuous",
        "@hourly",
        "@daily",
        "@weekly",
        "@monthly",
        "@quarterly",
        "@yearly",
        "@annually",
    }
)
#: URL schemes a file source may use (Airflow object storage); anything else is a local path.
STORAGE_SCHEMES = frozenset({"file", "s3", "gs", "gcs", "az", "abfs", "abfss", "adl"})

_SQL_TABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*){0,2}$")
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _rule_error(message: str, hint: str) -> PydanticCustomError:
    """A validation error that carries its fix hint through pydantic's error list."""
    return PydanticCustomError("walkme_rule", "{message}", {"message": message, "hint": hint})


def _check_api_name(name: str, *, what: str) -> str:
    problem = api_name_problem(name)
    if problem is not None:
        raise _rule_error(
            f"{name!r} is not a legal Salesforce API name: {problem}",
            f"use the {what}'s API name, e.g. {suggest_api_name(name)!r} "
            "(Salesforce Setup > Object Manager > Fields & Relationships shows it)",
        )
    return name


@lru_cache(maxsize=256)
def _is_valid_cron(expression: str) -> bool:
    # Hundreds of configs share a handful of schedules: validate each expression once.
    from croniter import croniter

    return bool(croniter.is_valid(expression))


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MappingConfig(_Model):
    """One report column written to one Salesforce field."""

    column: str = Field(description="report column, exactly as in the export's header")
    field: str = Field(description="Salesforce field API name, e.g. WalkMe_Last_Login__c")
    null_policy: Literal["skip", "clear"] = Field(
        default="skip", description="empty report value: skip (leave the field) or clear (blank it)"
    )

    @field_validator("field")
    @classmethod
    def _legal_field(cls, value: str) -> str:
        return _check_api_name(value, what="field")


class FileSource(_Model):
    """WalkMe exports (CSV) in a local folder or object storage."""

    kind: Literal["files"]
    location: str = Field(
        min_length=1,
        description="folder (relative to the project root), file:// or s3:// gs:// URL",
    )
    pattern: str = Field(default="*.csv", description="glob of export file names")
    pick: Literal["run_date", "newest"] = Field(
        default="run_date", description="export whose name holds the run date, or the newest export"
    )
    conn_id: str | None = Field(
        default=None, description="Airflow connection for the object storage"
    )
    encoding: str = Field(default="utf-8-sig", description="CSV encoding (utf-8-sig accepts a BOM)")

    @field_validator("location")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        scheme = value.split("://", 1)[0].lower() if "://" in value else None
        if scheme is not None and scheme not in STORAGE_SCHEMES:
            raise _rule_error(
                f"unsupported storage URL scheme {scheme!r}",
                f"use a local folder or one of: {', '.join(sorted(STORAGE_SCHEMES))}",
            )
        return value

    @property
    def is_url(self) -> bool:
        """True for ``scheme://`` locations (object storage or file://)."""
        return "://" in self.location

    def resolved_location(self, project_root: Path | None = None) -> str:
        """The location as a URL or absolute path; relative folders hang off the project root."""
        if self.is_url:
            return self.location
        path = Path(self.location).expanduser()
        if not path.is_absolute():
            path = (project_root or PROJECT_ROOT) / path
        return str(path)

    def describe(self) -> str:
        """Short text for logs and docs."""
        return f"{self.location}/{self.pattern} ({self.pick.replace('_', ' ')})"


class SqlSource(_Model):
    """A table or query read through any Airflow SQL connection."""

    kind: Literal["sql"]
    conn_id: str = Field(min_length=1, description="Airflow connection of the database")
    query: str | None = Field(default=None, description="SELECT returning the report's columns")
    table: str | None = Field(
        default=None, description="table (or schema.table) holding the report"
    )

    @field_validator("table")
    @classmethod
    def _plain_identifier(cls, value: str | None) -> str | None:
        if value is not None and not _SQL_TABLE.match(value):
            raise _rule_error(
                f"{value!r} is not a plain table name",
                "write table, schema.table or database.schema.table (letters, digits, "
                "underscores), or use `query:` for anything more complex",
            )
        return value

    @model_validator(mode="after")
    def _query_xor_table(self) -> SqlSource:
        if (self.query is None) == (self.table is None):
            raise _rule_error(
                "a sql source needs exactly one of `query` or `table`",
                "keep either `query: SELECT ...` or `table: schema.table`",
            )
        return self

    def describe(self) -> str:
        """Short text for logs and docs."""
        return f"sql:{self.conn_id} ({self.table or 'query'})"


Source = Annotated[FileSource | SqlSource, Field(discriminator="kind")]
SOURCE_KINDS = ("files", "sql")


class ReportConfig(_Model):
    """Which WalkMe report feeds the integration and how its rows are identified."""

    name: str = Field(description="report name in the catalog (include/reports)")
    source: Source
    key_column: str = Field(description="report column that identifies the end user")
    key_kind: Literal["email", "guid", "text"] = Field(
        description="how key values are compared: email (case-insensitive), guid or text"
    )


class ObjectConfig(_Model):
    """The Salesforce object written, and the field that matches the report's key."""

    name: str = Field(description="object API name, e.g. Lead, Contact or WalkMe_User__c")
    key_field: str = Field(description="field matched against the report key, e.g. Email")

    @field_validator("name")
    @classmethod
    def _legal_object(cls, value: str) -> str:
        return _check_api_name(value, what="object")

    @field_validator("key_field")
    @classmethod
    def _legal_key_field(cls, value: str) -> str:
        return _check_api_name(value, what="field")


class MatchingConfig(_Model):
    """What to do with duplicate report keys and keys matching several records."""

    duplicate_report_keys: Literal["reject", "keep_first", "keep_last"] = "reject"
    multiple_records: Literal["skip", "update_all"] = "skip"


class ThresholdsConfig(_Model):
    """Limits that turn a run Failed."""

    min_match_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    max_rejected_rows: int | None = Field(default=None, ge=0)
    max_failed_rows: int = Field(default=0, ge=0)


class WriteConfig(_Model):
    """How rows are written to Salesforce and how much API quota a run may use."""

    bulk_threshold: int = Field(default=2000, ge=0)
    collection_batch_size: int = Field(default=200, ge=1, le=200)
    bulk_batch_size: int = Field(default=100_000, ge=1)
    api_budget: int | None = Field(default=None, ge=1)
    max_daily_api_usage: float = Field(default=0.9, gt=0.0, le=1.0)
    retries: int = Field(default=3, ge=0)
    retry_backoff_seconds: float = Field(default=1.0, ge=0.0)


class IntegrationConfig(_Model):
    """One integration: report -> Salesforce object, with its mappings and run settings."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=200)
    name: str = Field(min_length=1)
    description: str = ""
    environment: Literal["sandbox", "production"]
    connection_id: str | None = None
    report: ReportConfig
    object: ObjectConfig
    mappings: list[MappingConfig] = Field(min_length=1)
    active: bool = True
    schedule: str | None = "0 8 * * *"
    matching: MatchingConfig = Field(default_factory=MatchingConfig)
    thresholds: ThresholdsConfig = Field(default_factory=ThresholdsConfig)
    write: WriteConfig = Field(default_factory=WriteConfig)
    source_file: str = ""

    @field_validator("schedule")
    @classmethod
    def _valid_schedule(cls, value: str | None) -> str | None:
        if value is None or value in SCHEDULE_PRESETS:
            return value
        if not _is_valid_cron(value):
            raise _rule_error(
                f"{value!r} is not a valid cron expression",
                "write five fields 'minute hour day-of-month month day-of-week' in UTC, e.g. "
                "'0 8 * * *' for 08:00 UTC daily, or an Airflow preset like '@daily'; "
                "null means manual runs only",
            )
        return value

    @property
    def conn_id(self) -> str:
        """Airflow connection to Salesforce: ``connection_id`` or ``salesforce_<environment>``."""
        return self.connection_id or f"salesforce_{self.environment}"

    @property
    def dag_id(self) -> str:
        """The DAG generated for this integration."""
        return f"{DAG_ID_PREFIX}{self.id}"

    @property
    def mapped_fields(self) -> list[str]:
        """Salesforce fields written, in mapping order."""
        return [mapping.field for mapping in self.mappings]

    @property
    def mapped_columns(self) -> list[str]:
        """Report columns read by the mappings (each once), in mapping order."""
        return list(dict.fromkeys(mapping.column for mapping in self.mappings))

    @property
    def required_columns(self) -> list[str]:
        """Columns the report export must have: the key column and every mapped column."""
        return list(dict.fromkeys([self.report.key_column, *self.mapped_columns]))

    def summary(self) -> dict[str, Any]:
        """The list-view row of the original product (id, name, report, object, environment...)."""
        return {
            "id": self.id,
            "name": self.name,
            "report": self.report.name,
            "object": self.object.name,
            "environment": self.environment,
            "active": self.active,
            "schedule": self.schedule,
            "dag_id": self.dag_id,
            "source_file": self.source_file,
        }

    def doc_md(self) -> str:
        """Markdown description of the integration (for the DAG's doc_md)."""
        source = self.report.source
        lines = [
            f"## {self.name}",
            "",
            self.description or "",
            "",
            f"* **Report**: `{self.report.name}` keyed by `{self.report.key_column}` "
            f"({self.report.key_kind}), from {source.describe()}",
            f"* **Object**: `{self.object.name}` keyed by `{self.object.key_field}`",
            f"* **Environment**: {self.environment} (connection `{self.conn_id}`)",
            f"* **Schedule**: `{self.schedule or 'manual only'}` (UTC)"
            + ("" if self.active else " - inactive"),
            f"* **Config file**: `{self.source_file}`",
            "",
            "| Report column | Salesforce field | Empty values |",
            "|---|---|---|",
        ]
        lines += [f"| {m.column} | `{m.field}` | {m.null_policy} |" for m in self.mappings]
        return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------- problems


@dataclass(frozen=True)
class ConfigProblem:
    """One problem in one config file, with where it is and how to fix it."""

    file: str
    path: str
    message: str
    hint: str | None = None
    severity: Literal["error", "warning"] = "error"
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        parts = [where]
        if self.path:
            parts.append(self.path)
        label = "warning: " if self.severity == "warning" else ""
        text = ": ".join(parts) + f": {label}{self.message}"
        return f"{text}. Fix: {self.hint}" if self.hint else text


class ConfigValidationError(ConfigurationError):
    """A config file has errors; ``problems`` lists all of them."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        errors = [p for p in problems if p.severity == "error"]
        files = sorted({p.file for p in errors})
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(
            f"{len(errors)} configuration error(s) in {', '.join(files) or 'the config'}:\n{lines}",
            action="Fix each problem listed (file: field: message. Fix: hint), then validate "
            "again with `make validate`.",
        )


@dataclass
class LoadResult:
    """Valid integrations, and every file's problems (errors and warnings)."""

    integrations: list[IntegrationConfig]
    problems: dict[str, list[ConfigProblem]]
    ids_by_file: dict[str, str] = field(default_factory=dict)

    def errors(self) -> list[ConfigProblem]:
        """All error problems, in file order."""
        return [p for ps in self.problems.values() for p in ps if p.severity == "error"]

    def warnings(self) -> list[ConfigProblem]:
        """All warnings, in file order."""
        return [p for ps in self.problems.values() for p in ps if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        """True when no file has an error."""
        return not self.errors()

    def by_id(self) -> dict[str, IntegrationConfig]:
        """Valid integrations by id."""
        return {integration.id: integration for integration in self.integrations}


# ------------------------------------------------------------------------------ error rendering

Loc = tuple[str | int, ...]


def format_path(loc: Iterable[str | int]) -> str:
    """``("mappings", 2, "field")`` -> ``"mappings[2].field"``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


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


def _problem_from_pydantic(error: Any, file: str) -> tuple[Loc, ConfigProblem]:
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


# ------------------------------------------------------------------------- cross-field checks


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _section(raw: dict[str, Any], key: str) -> dict[str, Any]:
    value = raw.get(key)
    return value if isinstance(value, dict) else {}


def _mapping_entries(raw: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    mappings = raw.get("mappings")
    if not isinstance(mappings, list):
        return []
    return [(i, entry) for i, entry in enumerate(mappings) if isinstance(entry, dict)]


def _report_problems(
    raw: dict[str, Any], catalog: Catalog, file: str
) -> tuple[list[tuple[Loc, ConfigProblem]], ReportDefinition | None]:
    report_name = _text(_section(raw, "report").get("name"))
    if report_name is None:
        return [], None
    report = catalog.find(report_name)
    if report is None:
        close = closest_names(report_name, catalog.names(), limit=1)
        hint = (f"did you mean {close[0]!r}? " if close else "") + (
            f"known reports: {', '.join(catalog.names())} (or add include/reports/"
            f"{report_name}.yaml)"
        )
        problem = ConfigProblem(file, "report.name", f"unknown report {report_name!r}", hint)
        return [(("report", "name"), problem)], None
    if not report.usable_by_salesforce:
        tagged = [r.name for r in catalog if r.usable_by_salesforce]
        problem = ConfigProblem(
            file,
            "report.name",
            f"report {report_name!r} is not tagged {SALESFORCE_TAG}, so no integration may use it",
            f"add `{SALESFORCE_TAG}` to the tags of {_display(Path(report.source_file))}, "
            f"or use a tagged report: {', '.join(tagged)}",
        )
        return [(("report", "name"), problem)], report
    return [], report


def _column_problem(
    report: ReportDefinition, column: str, loc: Loc, file: str
) -> tuple[Loc, ConfigProblem]:
    close = report.similar_columns(column, limit=1)
    hint = (f"did you mean {close[0]!r}? " if close else "") + (
        f"columns of report {report.name!r}: {', '.join(report.column_names)} "
        "(names are case-sensitive, exactly as in the export's header)"
    )
    message = f"column {column!r} is not in report {report.name!r}"
    return loc, ConfigProblem(file, format_path(loc), message, hint)


def _column_checks(
    raw: dict[str, Any], report: ReportDefinition, file: str
) -> list[tuple[Loc, ConfigProblem]]:
    found: list[tuple[Loc, ConfigProblem]] = []
    report_section = _section(raw, "report")
    key_column = _text(report_section.get("key_column"))
    if key_column is not None:
        key_def = report.column(key_column)
        if key_def is None:
            found.append(_column_problem(report, key_column, ("report", "key_column"), file))
        else:
            found += _key_kind_warning(key_def.type, _text(report_section.get("key_kind")), file)
    for i, entry in _mapping_entries(raw):
        column = _text(entry.get("column"))
        if column is not None and report.column(column) is None:
            found.append(_column_problem(report, column, ("mappings", i, "column"), file))
    return found


_EMAIL_INCOMPATIBLE = {"guid", "integer", "number", "percent", "boolean", "date", "datetime"}
_GUID_INCOMPATIBLE = {"email", "integer", "number", "percent", "boolean", "date", "datetime"}


def _key_kind_warning(
    column_type: str, key_kind: str | None, file: str
) -> list[tuple[Loc, ConfigProblem]]:
    incompatible = {"email": _EMAIL_INCOMPATIBLE, "guid": _GUID_INCOMPATIBLE}.get(key_kind or "")
    if not incompatible or column_type not in incompatible:
        return []
    problem = ConfigProblem(
        file,
        "report.key_kind",
        f"key_kind is {key_kind!r} but the key column is typed {column_type!r} in the catalog",
        "check that the key column really holds "
        + ("e-mail addresses" if key_kind == "email" else "GUIDs")
        + ", or set key_kind to text",
        severity="warning",
    )
    return [(("report", "key_kind"), problem)]


def _mapping_checks(raw: dict[str, Any], file: str) -> list[tuple[Loc, ConfigProblem]]:
    found: list[tuple[Loc, ConfigProblem]] = []
    key_field = _text(_section(raw, "object").get("key_field"))
    first_use: dict[str, int] = {}
    for i, entry in _mapping_entries(raw):
        sf_field = _text(entry.get("field"))
        if sf_field is None:
            continue
        loc: Loc = ("mappings", i, "field")
        path = format_path(loc)
        if key_field is not None and sf_field.casefold() == key_field.casefold():
            found.append(
                (
                    loc,
                    ConfigProblem(
                        file,
                        path,
                        f"{sf_field!r} is the object's key field (object.key_field); a "
                        "mapping may not write the field used to match records",
                        "map this column onto another field, or remove the mapping",
                    ),
                )
            )
        folded = sf_field.casefold()
        if folded in first_use:
            found.append(
                (
                    loc,
                    ConfigProblem(
                        file,
                        path,
                        f"Salesforce field {sf_field!r} is already mapped by "
                        f"mappings[{first_use[folded]}]",
                        "each Salesforce field may appear once: remove one mapping or map it "
                        "elsewhere",
                    ),
                )
            )
        else:
            first_use[folded] = i
        _namespace, stem, _suffix = split_api_name(sf_field)
        prefixed = stem.lower().startswith(RECOMMENDED_FIELD_PREFIX.lower())
        if is_custom_name(sf_field) and not prefixed:
            found.append(
                (
                    loc,
                    ConfigProblem(
                        file,
                        path,
                        f"custom field {sf_field!r} does not start with the recommended prefix "
                        f"{RECOMMENDED_FIELD_PREFIX!r}",
                        f"ask the Salesforce admin to name WalkMe-fed fields "
                        f"{RECOMMENDED_FIELD_PREFIX}_..., e.g. "
                        f"{RECOMMENDED_FIELD_PREFIX}_{stem}__c (fine to keep if deliberate)",
                        severity="warning",
                    ),
                )
            )
    return found


def _cross_field_problems(
    raw: dict[str, Any], catalog: Catalog, file: str
) -> list[tuple[Loc, ConfigProblem]]:
    """Checks pydantic cannot do field by field; they run on the raw YAML so that they still run
    when other parts of the file are broken (every problem is reported at once)."""
    found: list[tuple[Loc, ConfigProblem]] = []
    if "source_file" in raw:
        found.append(
            (
                ("source_file",),
                ConfigProblem(
                    file,
                    "source_file",
                    "unknown key 'source_file' (it is set by the loader)",
                    "remove it",
                ),
            )
        )
    report_found, report = _report_problems(raw, catalog, file)
    found += report_found
    if report is not None:
        found += _column_checks(raw, report, file)
    found += _mapping_checks(raw, file)
    return found


# -------------------------------------------------------------------------------- loading


def _display(path: Path) -> str:
    """Paths in messages: relative to the project root when inside it."""
    try:
        return str(path.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


def _line_numbers(text: str) -> dict[Loc, int]:
    """1-based YAML line of every key and list item, by location (only computed on problems)."""
    lines: dict[Loc, int] = {}

    def walk(node: yaml.Node, loc: Loc) -> None:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                child = (*loc, str(key_node.value))
                lines[child] = key_node.start_mark.line + 1
                walk(value_node, child)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                lines[(*loc, i)] = item.start_mark.line + 1
                walk(item, (*loc, i))

    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError:
        return lines
    if root is not None:
        walk(root, ())
    return lines


def _with_lines(found: list[tuple[Loc, ConfigProblem]], text: str) -> list[ConfigProblem]:
    lines = _line_numbers(text)
    result = []
    for loc, problem in found:
        line = next((lines[loc[:n]] for n in range(len(loc), 0, -1) if loc[:n] in lines), None)
        result.append(_replace_line(problem, line))
    # Top to bottom, as the user reads the file.
    return sorted(result, key=lambda problem: problem.line or 0)


def _replace_line(problem: ConfigProblem, line: int | None) -> ConfigProblem:
    return ConfigProblem(
        problem.file, problem.path, problem.message, problem.hint, problem.severity, line
    )


def _read_yaml(path: Path, file: str) -> tuple[Any, str, list[ConfigProblem]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return (
            None,
            "",
            [ConfigProblem(file, "", f"cannot read the file: {exc}", "save it as UTF-8 text")],
        )
    try:
        return yaml.load(text, Loader=_Loader), text, []
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        detail = getattr(exc, "problem", None) or str(exc)
        return (
            None,
            text,
            [
                ConfigProblem(
                    file,
                    "",
                    f"YAML syntax error: {detail}",
                    "check indentation, colons and quotes on that line (quote values "
                    "containing ': ' or starting with special characters such as * & ! # @)",
                    line=line,
                )
            ],
        )


def _validate(
    path: Path, catalog: Catalog
) -> tuple[IntegrationConfig | None, list[ConfigProblem], str | None]:
    """Validate one file: (config or None, problems, raw id when readable)."""
    file = _display(path)
    raw, text, problems = _read_yaml(path, file)
    if problems:
        return None, problems, None
    if not isinstance(raw, dict):
        return (
            None,
            [
                ConfigProblem(
                    file,
                    "",
                    "the file must be a mapping of keys (id, name, report, object, mappings...)",
                    "start from demo/integrations/login_review_to_lead.yaml",
                )
            ],
            None,
        )
    raw_id = _text(raw.get("id"))
    found: list[tuple[Loc, ConfigProblem]] = []
    config: IntegrationConfig | None = None
    try:
        config = IntegrationConfig.model_validate(
            {**{k: v for k, v in raw.items() if k != "source_file"}, "source_file": file}
        )
    except ValidationError as exc:
        found += [_problem_from_pydantic(error, file) for error in exc.errors()]
    found += _cross_field_problems(raw, catalog, file)
    if not found:
        return config, [], raw_id
    problems = _with_lines(found, text)
    has_error = any(p.severity == "error" for p in problems)
    return (None if has_error else config), problems, raw_id


def integrations_folder(folder: Path | None = None) -> Path:
    """``folder``, else ``$WALKME_SYNC_INTEGRATIONS_DIR``, else ``dags/integrations``."""
    if folder is not None:
        return Path(folder)
    env = os.environ.get(INTEGRATIONS_DIR_ENV)
    return Path(env) if env else DEFAULT_INTEGRATIONS_FOLDER


def load_integrations(folder: Path | None = None, catalog: Catalog | None = None) -> LoadResult:
    """Load and validate every ``*.yaml`` integration in ``folder``, sorted by file name.

    Never raises for a bad file: its problems are in ``LoadResult.problems`` and it yields no
    integration. Integration ids must be unique across files (both files get an error).
    """
    catalog = catalog if catalog is not None else load_catalog()
    folder = integrations_folder(folder)
    if not folder.is_dir():
        problem = ConfigProblem(
            _display(folder),
            "",
            "the integrations folder does not exist",
            f"create it, or set {INTEGRATIONS_DIR_ENV} to the folder holding the YAML files",
        )
        return LoadResult([], {problem.file: [problem]})
    files = sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")], key=lambda p: p.name)
    configs: dict[str, IntegrationConfig] = {}
    problems: dict[str, list[ConfigProblem]] = {}
    ids_by_file: dict[str, str] = {}
    for path in files:
        config, file_problems, raw_id = _validate(path, catalog)
        file = _display(path)
        if file_problems:
            problems[file] = file_problems
        if config is not None:
            configs[file] = config
        if raw_id is not None:
            ids_by_file[file] = raw_id
    _flag_duplicate_ids(ids_by_file, configs, problems)
    return LoadResult(list(configs.values()), problems, ids_by_file)


def _flag_duplicate_ids(
    ids_by_file: dict[str, str],
    configs: dict[str, IntegrationConfig],
    problems: dict[str, list[ConfigProblem]],
) -> None:
    files_by_id: dict[str, list[str]] = {}
    for file, integration_id in ids_by_file.items():
        files_by_id.setdefault(integration_id, []).append(file)
    for integration_id, files in files_by_id.items():
        if len(files) < 2:
            continue
        for file in files:
            others = ", ".join(other for other in files if other != file)
            problems.setdefault(file, []).append(
                ConfigProblem(
                    file,
                    "id",
                    f"integration id {integration_id!r} is also used by {others}",
                    "give each integration its own id (the DAG id is walkme_sync__<id>)",
                )
            )
            configs.pop(file, None)


def load_integration(path: Path, catalog: Catalog | None = None) -> IntegrationConfig:
    """Load one integration file; raises :class:`ConfigValidationError` listing all its errors."""
    catalog = catalog if catalog is not None else load_catalog()
    config, problems, _raw_id = _validate(Path(path), catalog)
    if config is None:
        raise ConfigValidationError(problems)
    return config


def find_integration(integration_id: str, folder: Path | None = None) -> IntegrationConfig:
    """The valid integration with this id; raises ConfigurationError (with its problems if its
    file is invalid, or the known ids if there is no such integration)."""
    result = load_integrations(folder)
    for integration in result.integrations:
        if integration.id == integration_id:
            return integration
    files = [file for file, raw_id in result.ids_by_file.items() if raw_id == integration_id]
    file_problems = [p for file in files for p in result.problems.get(file, [])]
    if file_problems:
        raise ConfigValidationError(file_problems)
    known = sorted(integration.id for integration in result.integrations)
    raise ConfigurationError(
        f"No integration with id {integration_id!r} in {integrations_folder(folder)}. "
        f"Known ids: {', '.join(known) or '(none)'}.",
        action="Check the id, or restore the integration's YAML file.",
    )


# ------------------------------------------------------------------------------------------ CLI


def main(argv: list[str] | None = None) -> int:
    """Validate every integration file and print the problems; return 1 when any is an error."""
    args = sys.argv[1:] if argv is None else argv
    folder = Path(args[0]) if args else None
    try:
        result = load_integrations(folder)
    except ConfigurationError as exc:  # a broken report catalog
        print(exc, file=sys.stderr)
        return 1
    for problems in result.problems.values():
        for problem in problems:
            print(problem)
    errors, warnings = result.errors(), result.warnings()
    bad_files = len({p.file for p in errors})
    print(
        f"{len(result.integrations)} valid integration(s) in {integrations_folder(folder)}; "
        f"{len(errors)} error(s) in {bad_files} file(s), {len(warnings)} warning(s)."
    )
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
