"""The Sync report of one DAG run: what the "Sync report" tab on Airflow's run page shows.

Answers, for one sync: where every report row ended (the buckets), which rows were not written and
why (with Salesforce's error code), for a dry run the changes field by field, what the
data-quality checks found, and how much of the org's API quota the run used.

The ledger is the source for the counts and the row problems (it keeps every run forever); the
run folder under the storage root adds what only it holds (changes, validation, API usage) until
retention removes it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from include.walkme_sync.airflow.console import RunView, ledger_run_view
from include.walkme_sync.config import IntegrationConfig
from include.walkme_sync.frames import BUCKETS_AS_SHOWN, KEY, SETTLED_BUCKETS, Bucket
from include.walkme_sync.ledger import Ledger
from include.walkme_sync.locations import DAG_ID_PREFIX
from include.walkme_sync.steps.context import (
    CHANGES,
    SUMMARY,
    Step,
    StepStatus,
    load_config_snapshot,
    read_step_status,
)
from include.walkme_sync.storage import integration_runs_dir, read_json, safe_path_part

#: Rows a table of the page shows at most (its CSV download has all of them).
PAGE_ROWS = 100
#: The buckets of rows that were not written, in the order people read them.
PROBLEM_BUCKETS = tuple(b for b in BUCKETS_AS_SHOWN if b not in SETTLED_BUCKETS)
#: Expectation types of the validate step, in words.
EXPECTATIONS = {
    "expect_column_to_exist": "The report has the column",
    "expect_column_values_to_not_be_null": "Every row has a key",
    "expect_column_values_to_match_regex": "Every key is a valid",
    "expect_column_values_to_be_unique": "No key appears twice",
}


@dataclass(frozen=True)
class NotASync:
    """What the tab says on a DAG run that is not a sync (or a sync it cannot show)."""

    dag_id: str
    message: str


@dataclass(frozen=True)
class BucketCount:
    bucket: str  # the ledger's name, e.g. would_write
    label: str  # how people read it: would write
    count: int
    problem: bool  # rows here need attention
    detail: str = ""  # e.g. of the written rows, how many records an upsert created


@dataclass(frozen=True)
class Expectation:
    check: str
    passed: bool
    failed_rows: int
    examples: tuple[str, ...]
    kind: str


@dataclass(frozen=True)
class Validation:
    success: bool
    rows_in: int
    rows_kept: int
    rows_rejected: int
    expectations: tuple[Expectation, ...]


@dataclass(frozen=True)
class ApiUsage:
    calls: int
    by_step: tuple[tuple[str, int], ...]
    by_kind: tuple[tuple[str, int], ...]
    daily_used: int | None
    daily_limit: int | None

    @property
    def daily_remaining(self) -> int | None:
        if self.daily_used is None or self.daily_limit is None:
            return None
        return max(self.daily_limit - self.daily_used, 0)

    @property
    def daily_percent(self) -> float | None:
        if self.daily_used is None or not self.daily_limit:
            return None
        return 100 * self.daily_used / self.daily_limit


@dataclass(frozen=True)
class RecordChange:
    """A dry run's changes to one Salesforce record: each field, its value now and the new one."""

    row: Any
    key: Any
    record_id: Any
    fields: tuple[tuple[str, Any, Any], ...]


@dataclass(frozen=True)
class StepLine:
    step: str
    ok: bool | None  # None: did not run
    error: str | None = None


@dataclass
class SyncReport:
    dag_id: str
    run_id: str
    integration_id: str
    integration_name: str
    object_name: str
    environment: str
    key_column: str
    run: RunView | None  # None while the run has not been recorded yet
    attempts: int
    report_rows: int
    buckets: list[BucketCount]
    problems: list[dict[str, Any]]
    problems_total: int
    problems_matching: int
    query: str
    bucket_filter: str
    changes: list[RecordChange] = field(default_factory=list)
    changes_total: int = 0  # field changes
    records_changed: int = 0
    validation: Validation | None = None
    api: ApiUsage | None = None
    steps: list[StepLine] = field(default_factory=list)
    run_files: bool = True  # False once retention removed the run folder

    @property
    def dry_run(self) -> bool:
        return bool(self.run and self.run.dry_run)


def integration_id_of(dag_id: str) -> str | None:
    """`walkme_sync__<id>` -> `<id>`; None for other DAGs and invalid-config placeholders."""
    if not dag_id.startswith(DAG_ID_PREFIX):
        return None
    integration_id = dag_id.removeprefix(DAG_ID_PREFIX)
    return None if integration_id.startswith("invalid__") else integration_id


def build_report(
    dag_id: str,
    run_id: str,
    *,
    ledger: Ledger | None = None,
    query: str = "",
    bucket: str = "",
) -> SyncReport | NotASync:
    """The report of one run; `query` and `bucket` narrow the listed row problems."""
    integration_id = integration_id_of(dag_id)
    if integration_id is None:
        return NotASync(dag_id, "This DAG run is not a WalkMe sync: there is no sync report.")
    ledger = ledger or Ledger()
    attempts = ledger.run_attempts(dag_id, run_id)
    folder = integration_runs_dir(integration_id) / safe_path_part(run_id)
    config = _config(folder)
    if not attempts and config is None:
        return NotASync(
            dag_id,
            "This run has not reached its first step yet, or it was never recorded. Refresh in a "
            "moment; the task logs tell more.",
        )
    row = attempts[0] if attempts else None
    summary = read_json(folder / SUMMARY) or {}
    bucket = bucket if bucket in {str(b) for b in PROBLEM_BUCKETS} else ""
    name, object_name, environment = _identity(row, config)
    report = SyncReport(
        dag_id=dag_id,
        run_id=run_id,
        integration_id=integration_id,
        integration_name=name,
        object_name=object_name,
        environment=environment,
        key_column=config.report.key_column if config else "key",
        run=ledger_run_view(row) if row else None,
        attempts=len(attempts),
        report_rows=int(row["report_rows"]) if row else int(summary.get("report_rows") or 0),
        buckets=_buckets(row),
        problems=[],
        problems_total=0,
        problems_matching=0,
        query=query.strip(),
        bucket_filter=bucket,
        run_files=config is not None,
    )
    if row is not None:
        run_pk = int(row["id"])
        report.problems_total = sum(c.count for c in report.buckets if c.problem)
        report.problems_matching = ledger.count_row_problems(
            run_pk, bucket=bucket or None, text=report.query or None
        )
        report.problems = ledger.row_problems(
            run_pk, bucket=bucket or None, text=report.query or None, limit=PAGE_ROWS
        )
    if config is not None:
        _add_run_files(report, folder, config)
    return report


def _identity(
    row: Mapping[str, Any] | None, config: IntegrationConfig | None
) -> tuple[str, str, str]:
    """(name, object, environment) as the run had them: the ledger's, else the run's snapshot."""
    if row is not None:
        return str(row["integration_name"]), str(row["object_name"]), str(row["environment"])
    if config is not None:
        return config.name, config.object.name, config.environment
    return "", "", ""


def _config(folder: Any) -> IntegrationConfig | None:
    try:
        return load_config_snapshot(folder)
    except Exception:  # a snapshot written by an older release: show what the ledger has
        return None


def _buckets(row: Mapping[str, Any] | None) -> list[BucketCount]:
    if row is None:
        return []
    created = int(row.get("created") or 0)
    return [
        BucketCount(
            str(b),
            b.label,
            int(row.get(b) or 0),
            b not in SETTLED_BUCKETS,
            # Created records are written rows (an upsert's), not a bucket of their own.
            detail=f"{created:,} created" if b == Bucket.WRITTEN and created else "",
        )
        for b in BUCKETS_AS_SHOWN
    ]


def _add_run_files(report: SyncReport, folder: Any, config: IntegrationConfig) -> None:
    statuses = {step: read_step_status(folder, step) for step in Step}
    report.steps = [
        StepLine(str(step), None if s is None else s.ok, None if s is None else s.error)
        for step, s in statuses.items()
    ]
    report.validation = _validation(statuses[Step.VALIDATE], config)
    report.api = _api_usage(statuses)
    changes = read_json(folder / CHANGES)
    if isinstance(changes, list):
        by_record = group_changes(changes)
        report.changes_total = len(changes)
        report.records_changed = len(by_record)
        report.changes = by_record[:PAGE_ROWS]


def group_changes(changes: Iterable[Mapping[str, Any]]) -> list[RecordChange]:
    """`changes.json` (one entry per field) as one line per record, in report order."""
    grouped: dict[tuple[Any, Any, Any], list[tuple[str, Any, Any]]] = {}
    for change in changes:
        key = (change.get("row"), change.get("key"), change.get("record_id"))
        grouped.setdefault(key, []).append(
            (str(change.get("field")), change.get("old"), change.get("new"))
        )
    return [
        RecordChange(row, key, record_id, tuple(fields))
        for (row, key, record_id), fields in grouped.items()
    ]


def _validation(status: StepStatus | None, config: IntegrationConfig) -> Validation | None:
    summary = status.summary if status else {}
    if not summary.get("expectations"):
        return None
    key = config.report.key_column
    rows = []
    for item in summary["expectations"]:
        kind = str(item.get("expectation"))
        column = key if item.get("column") == KEY else str(item.get("column"))
        words = EXPECTATIONS.get(kind, kind)
        if kind == "expect_column_to_exist":
            check = f"{words} '{column}'"
        elif kind == "expect_column_values_to_match_regex":
            check = f"{words} {config.report.key_kind} ({column})"
        else:
            check = f"{words} ({column})"
        rows.append(
            Expectation(
                check=check,
                passed=bool(item.get("success")),
                failed_rows=int(item.get("unexpected_count") or 0),
                examples=tuple(str(e) for e in item.get("examples") or ()),
                kind=kind,
            )
        )
    return Validation(
        success=bool(summary.get("success")),
        rows_in=int(summary.get("rows_in") or 0),
        rows_kept=int(summary.get("rows_kept") or 0),
        rows_rejected=int(summary.get("rows_rejected") or 0),
        expectations=tuple(rows),
    )


def _api_usage(statuses: Mapping[Step, StepStatus | None]) -> ApiUsage | None:
    by_step = [
        (str(step), int(status.summary.get("api_calls") or 0))
        for step in (Step.MATCH, Step.UPSERT)
        if (status := statuses.get(step)) is not None and "api_calls" in status.summary
    ]
    if not by_step:
        return None
    upsert = statuses.get(Step.UPSERT)
    upsert_summary = upsert.summary if upsert else {}
    # The newest reading: the upsert step's when it called Salesforce, else the match step's.
    readings = [
        status.summary.get("daily_api_usage")
        for step in (Step.UPSERT, Step.MATCH)
        if (status := statuses.get(step)) is not None
    ]
    used, limit = _daily_usage(next((r for r in readings if r), None))
    by_kind = sorted(
        (str(k), int(v)) for k, v in (upsert_summary.get("calls_by_kind") or {}).items()
    )
    return ApiUsage(
        calls=sum(calls for _step, calls in by_step),
        by_step=tuple(by_step),
        by_kind=tuple(by_kind),
        daily_used=used,
        daily_limit=limit,
    )


def _daily_usage(text: Any) -> tuple[int | None, int | None]:
    """`"1234/15000"` (Sforce-Limit-Info as the upsert step recorded it) -> (1234, 15000)."""
    try:
        used, limit = str(text).split("/")
        return int(used), int(limit)
    except ValueError:
        return None, None


# -- downloads ---------------------------------------------------------------------------------

PROBLEM_COLUMNS = ("row_number", "key", "bucket", "reason", "error_code", "record_id")
CHANGE_COLUMNS = ("row", "key", "record_id", "field", "old", "new")


def problems_csv(
    dag_id: str, run_id: str, *, ledger: Ledger | None = None, query: str = "", bucket: str = ""
) -> Iterator[str]:
    """Every row problem of the run's newest attempt (narrowed like the page) as CSV lines."""
    ledger = ledger or Ledger()
    attempts = ledger.run_attempts(dag_id, run_id)
    rows = (
        ledger.row_problems(
            int(attempts[0]["id"]), bucket=bucket or None, text=query.strip() or None
        )
        if attempts
        else []
    )
    return csv_lines(PROBLEM_COLUMNS, rows)


def changes_csv(dag_id: str, run_id: str) -> Iterator[str]:
    """Every field change of a dry run as CSV lines."""
    integration_id = integration_id_of(dag_id) or ""
    folder = integration_runs_dir(integration_id) / safe_path_part(run_id)
    changes = read_json(folder / CHANGES) if integration_id else None
    return csv_lines(CHANGE_COLUMNS, changes if isinstance(changes, list) else [])


def csv_lines(columns: Iterable[str], rows: Iterable[Mapping[str, Any]]) -> Iterator[str]:
    columns = list(columns)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(column)) for column in columns])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def _cell(value: Any) -> str:
    """Report values are data: a spreadsheet must not run `=HYPERLINK(...)` from a key."""
    text = "" if value is None else str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def bucket_label(bucket: str) -> str:
    try:
        return Bucket(bucket).label
    except ValueError:
        return bucket
