"""Typed integration configs (pydantic): one model per YAML section, with per-field rules.

Each field rule raises an error that carries its fix hint (``_rule_error``), so the loader can show
"file:line: path: message. Fix: hint" for every problem. Imported at DAG-parse time: pydantic, yaml
and the standard library only.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from include.walkme_sync.config.names import (
    api_name_problem,
    suggest_api_name,
)
from include.walkme_sync.locations import (
    DAG_ID_PREFIX,
    PROJECT_ROOT,
)

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
    #: The scale of a percentage column in the export: 0-100 (87.5 or 87.5%, the default) or
    #: 0-1 (0.875 = 87.5%). Salesforce Percent fields hold 0-100, so 0-1 values are scaled up.
    percent_scale: Literal["0-100", "0-1"] = "0-100"

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


#: How the parts of a composite key are joined into one external id value (see `keys`).
COMPOSITE_KEY_SEPARATOR = "|"


class ReportConfig(_Model):
    """Which WalkMe report feeds the integration and how its rows are identified.

    One key column (`key_column` + `key_kind`), or a composite key (`key_columns`: several
    columns, e.g. user and course, joined into one text key; see `keys.composite_keys`).
    """

    name: str = Field(description="report name in the catalog (include/reports)")
    source: Source
    key_column: str = Field(description="report column that identifies the end user")
    key_kind: Literal["email", "guid", "text"] = Field(
        description="how key values are compared: email (case-insensitive), guid or text"
    )
    key_columns: list[str] | None = Field(
        default=None,
        description="several report columns making one key, e.g. [User ID, Course Name]",
    )

    @model_validator(mode="before")
    @classmethod
    def _composite_key(cls, data: Any) -> Any:
        # A composite key names its parts; `key_column` becomes the derived column's name and
        # its kind is text (each part is normalised by its own column's kind first).
        if not isinstance(data, dict) or data.get("key_columns") is None:
            return data
        parts = data["key_columns"]
        if not isinstance(parts, list) or len(parts) < 2 or len(set(map(str, parts))) != len(parts):
            raise _rule_error(
                "key_columns needs at least two different report columns",
                "list the columns that together identify one record, e.g. "
                "key_columns: [User ID, Course Name]; for one column use key_column instead",
            )
        # A config snapshot (model_dump) holds the derived name already: that is no conflict.
        if data.get("key_column", composite_key_name(parts)) != composite_key_name(parts):
            raise _rule_error(
                "give either key_column or key_columns, not both",
                "keep key_columns for a composite key (several columns), key_column for one",
            )
        if data.get("key_kind", "text") != "text":
            raise _rule_error(
                "a composite key is compared as text (each part by its own column's type)",
                "remove key_kind, or set key_kind: text",
            )
        return {**data, "key_column": composite_key_name(parts), "key_kind": "text"}

    @property
    def key_parts(self) -> list[str]:
        """The report columns the key is read from (one, or the composite key's parts)."""
        return list(self.key_columns) if self.key_columns else [self.key_column]


def composite_key_name(parts: list[Any]) -> str:
    """The derived column holding a composite key: 'User ID + Course Name'."""
    return " + ".join(str(part) for part in parts)


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


class LookupConfig(_Model):
    """A lookup (reference) field set from a report column by the parent record's key.

    The parent is found with the same rules as the main key (`key_kind`: case, spaces); no parent
    leaves the row unmatched, several make it ambiguous. The write names the parent through
    Salesforce's relationship syntax (`Contact__r.Email`), never a copied Id.
    """

    field: str = Field(description="the lookup field on the object, e.g. Contact__c")
    column: str = Field(description="report column holding the parent's key, e.g. Email")
    parent_field: str = Field(description="the parent's key field, e.g. Email (External ID)")
    key_kind: Literal["email", "guid", "text"] = Field(
        default="text", description="how the parent keys are compared: email, guid or text"
    )
    missing: Literal["unmatched", "leave_empty"] = Field(
        default="unmatched",
        description="no parent has the key: the row is unmatched (not written), or it is "
        "written with the lookup left as it is",
    )

    @field_validator("field", "parent_field")
    @classmethod
    def _legal_field(cls, value: str) -> str:
        return _check_api_name(value, what="field")


class ThresholdsConfig(_Model):
    """Limits that turn a run Failed."""

    min_match_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    max_rejected_rows: int | None = Field(default=None, ge=0)
    max_failed_rows: int = Field(default=0, ge=0)
    #: The DAG run's timeout (Airflow's dagrun_timeout): a run still going after it is stopped.
    run_timeout_minutes: float | None = Field(default=None, gt=0)


class AlertsConfig(_Model):
    """Who hears about a run, and when.

    Empty channels fall back to the project-wide defaults: `WALKME_SYNC_ALERT_EMAIL`,
    `WALKME_SYNC_ALERT_SLACK_CONN_ID`, `WALKME_SYNC_ALERT_WEBHOOK_CONN_ID`.
    """

    email: list[str] = Field(default_factory=list)
    slack_conn_id: str | None = None
    webhook_conn_id: str | None = None
    on_failure: bool = True
    on_success: bool = False
    #: Alert when (failed + rejected) rows / report rows goes above this share (0-1).
    max_problem_share: float | None = Field(default=None, ge=0.0, le=1.0)
    #: Alert when a run took longer than this.
    max_runtime_minutes: float | None = Field(default=None, gt=0)


class WriteConfig(_Model):
    """How rows are written to Salesforce and how much API quota a run may use."""

    #: update: only records that exist are written (matched by object.key_field). upsert:
    #: Salesforce's upsert on object.key_field (an External ID field) creates the missing ones.
    mode: Literal["update", "upsert"] = "update"
    #: Values set on records the sync creates (upsert), e.g. a required field no column feeds.
    defaults: dict[str, str | int | float | bool] = Field(default_factory=dict)

    @field_validator("defaults")
    @classmethod
    def _legal_default_fields(
        cls, value: dict[str, str | int | float | bool]
    ) -> dict[str, str | int | float | bool]:
        for name in value:
            _check_api_name(name, what="field")
        return value

    bulk_threshold: int = Field(default=2000, ge=0)
    collection_batch_size: int = Field(default=200, ge=1, le=200)
    #: Records per Bulk API 2.0 job at most. Each job also stays under the upload size
    #: (`salesforce.bulk.MAX_BULK_JOB_BYTES`); a job costs at least five API calls, so the
    #: default lets a million changes go in one job.
    bulk_batch_size: int = Field(default=1_000_000, ge=1)
    api_budget: int | None = Field(default=None, ge=1)
    max_daily_api_usage: float = Field(default=0.9, gt=0.0, le=1.0)
    retries: int = Field(default=3, ge=0)
    retry_backoff_seconds: float = Field(default=1.0, ge=0.0)
    #: Seconds to wait for Salesforce's answer to one request before giving up on it (a
    #: transient error: retried like a 5xx). Salesforce itself times a request out at 10 minutes.
    request_timeout_seconds: float = Field(default=600.0, gt=0.0)
    #: Seconds a Bulk API 2.0 job may stay queued or in progress before it is aborted and its
    #: records are written through sObject Collections instead.
    bulk_job_timeout_seconds: float = Field(default=3600.0, gt=0.0)


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
    lookups: list[LookupConfig] = Field(default_factory=list)
    active: bool = True
    schedule: str | None = "0 8 * * *"
    matching: MatchingConfig = Field(default_factory=MatchingConfig)
    thresholds: ThresholdsConfig = Field(default_factory=ThresholdsConfig)
    write: WriteConfig = Field(default_factory=WriteConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
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

    @model_validator(mode="after")
    def _defaults_need_upsert(self) -> IntegrationConfig:
        if self.write.mode == "upsert" and self.matching.multiple_records == "update_all":
            raise _rule_error(
                "write.mode upsert finds one record per key (an External ID), so "
                "matching.multiple_records: update_all cannot apply",
                "remove matching.multiple_records (skip: a key on several records is "
                "ambiguous), or use write.mode: update",
            )
        if self.write.defaults and self.write.mode != "upsert":
            raise _rule_error(
                "write.defaults only apply to records the sync creates, and write.mode is "
                f"{self.write.mode!r}",
                "set write.mode: upsert, or remove write.defaults",
            )
        return self

    @property
    def creates_records(self) -> bool:
        """True when the sync may create records (write.mode: upsert)."""
        return self.write.mode == "upsert"

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
        """Columns the report export must have: the key column(s), every mapped column and
        every lookup's column."""
        lookups = [lookup.column for lookup in self.lookups]
        return list(dict.fromkeys([*self.report.key_parts, *self.mapped_columns, *lookups]))

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
            f"* **Object**: `{self.object.name}` keyed by `{self.object.key_field}`"
            + (" (upsert: missing records are created)" if self.creates_records else ""),
            f"* **Environment**: {self.environment} (connection `{self.conn_id}`)",
            f"* **Schedule**: `{self.schedule or 'manual only'}` (UTC)"
            + ("" if self.active else " - inactive"),
            f"* **Config file**: `{self.source_file}`",
            "",
            "| Report column | Salesforce field | Empty values |",
            "|---|---|---|",
        ]
        lines += [f"| {m.column} | `{m.field}` | {m.null_policy} |" for m in self.mappings]
        lines += [
            f"| {lk.column} | `{lk.field}` (the parent with this `{lk.parent_field}`) | skip |"
            for lk in self.lookups
        ]
        return "\n".join(lines) + "\n"
