"""The five steps of a sync as plain functions: extract -> validate -> match -> upsert -> record.

Each step reads the previous steps' files from the run folder and writes its own, so a step can be
retried alone and the tasks exchange only paths and small summaries. Nothing here knows about
Airflow: `include.walkme_sync.tasks` adapts these functions to task contexts, and tests call them
directly too.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from include.walkme_sync.errors import (
    AuthorizationError,
    ConfigurationError,
    DataValidationError,
    QuotaError,
    SyncError,
    TransientError,
)
from include.walkme_sync.storage import read_step_status, run_dir

if TYPE_CHECKING:
    import pandas as pd

    from include.walkme_sync.config import IntegrationConfig

log = logging.getLogger(__name__)

STEPS = ("extract", "validate", "match", "upsert")
EXTRACTED = "extracted.parquet"
VALIDATED = "validated.parquet"
MATCHED = "matched.parquet"
DESCRIBE = "describe.json"
CHANGES = "changes.json"
SUMMARY = "summary.json"
OUTCOME_FILES = {
    "extract": "outcomes_extract.parquet",
    "validate": "outcomes_validate.parquet",
    "match": "outcomes_match.parquet",
    "upsert": "outcomes_write.parquet",
}
DRY_RUN_PREVIEW_LIMIT = 50
PROBLEM_EXAMPLES = 20
STOP_ERRORS: dict[str, type[SyncError]] = {
    "budget": QuotaError,
    "quota": QuotaError,
    "authorization": AuthorizationError,
    "transient": TransientError,
}


@dataclass
class RunContext:
    """Everything a step needs to know about the run it belongs to."""

    integration: IntegrationConfig
    dag_id: str
    run_id: str
    run_date: date
    started_at: datetime
    dry_run: bool = False
    full_sync: bool = False
    folder: Path = field(init=False)

    def __post_init__(self) -> None:
        self.folder = run_dir(self.integration.id, self.run_id)

    def path(self, name: str) -> Path:
        return self.folder / name


# --------------------------------------------------------------------------- extract


def extract_step(ctx: RunContext) -> dict[str, Any]:
    """Read the report export (or SQL) into `extracted.parquet`; unparseable rows are rejected."""
    from include.walkme_sync.catalog import load_catalog
    from include.walkme_sync.sources import extract_report

    summary = extract_report(
        ctx.integration, load_catalog(), run_date=ctx.run_date, out_dir=ctx.folder
    )
    result = summary.to_dict()
    log.info(
        "Extracted %s report rows from %s: %s loaded, %s rejected",
        summary.rows,
        summary.source,
        summary.loaded,
        summary.rejected,
    )
    return result


# --------------------------------------------------------------------------- validate


def validate_step(ctx: RunContext) -> dict[str, Any]:
    """Run the great-expectations suite; reject bad keys and duplicates; enforce thresholds."""
    import pandas as pd

    from include.walkme_sync.validation import validate_report

    frame = pd.read_parquet(ctx.path(EXTRACTED))
    outcome = validate_report(frame, ctx.integration)
    outcome.rejected.to_parquet(ctx.path(OUTCOME_FILES["validate"]), index=False)
    outcome.kept.to_parquet(ctx.path(VALIDATED), index=False)
    rejected_total = _count_rows(ctx.path(OUTCOME_FILES["extract"])) + len(outcome.rejected)
    limit = ctx.integration.thresholds.max_rejected_rows
    if limit is not None and rejected_total > limit:
        raise DataValidationError(
            f"Integration '{ctx.integration.id}': {rejected_total} report rows were rejected, "
            f"more than thresholds.max_rejected_rows={limit}. Nothing was written.",
            action="Look at the rejected rows in the ledger (or this task's log), fix the report "
            "or raise the threshold, then run again.",
        )
    summary = dict(outcome.summary, rejected_total=rejected_total)
    log.info("Validation: %s", json.dumps(summary, default=str))
    return summary


# --------------------------------------------------------------------------- match


def match_step(ctx: RunContext) -> dict[str, Any]:
    """Check the config against the object's describe metadata, then look the keys up."""
    import pandas as pd

    from include.walkme_sync.matching import match_rows
    from include.walkme_sync.salesforce.client import connect

    config = ctx.integration
    session = connect(config.conn_id)
    info = _describe_and_check(session, config)
    _save_describe(ctx, info)
    validated = pd.read_parquet(ctx.path(VALIDATED))
    result = match_rows(session, config, validated)
    result.outcomes.to_parquet(ctx.path(OUTCOME_FILES["match"]), index=False)
    result.matched.to_parquet(ctx.path(MATCHED), index=False)

    matched_rows = int(result.matched["__row"].nunique()) if len(result.matched) else 0
    match_rate = matched_rows / len(validated) if len(validated) else 1.0
    summary = {
        "rows": len(validated),
        "matched_rows": matched_rows,
        "matched_records": len(result.matched),
        "unmatched": int((result.outcomes["bucket"] == "unmatched").sum()),
        "ambiguous": int((result.outcomes["bucket"] == "ambiguous").sum()),
        "match_rate": round(match_rate, 4),
        "api_calls": session.meter.calls,
    }
    log.info("Match: %s", json.dumps(summary))
    minimum = config.thresholds.min_match_rate
    if match_rate < minimum:
        raise DataValidationError(
            f"Integration '{config.id}': only {match_rate:.1%} of report rows matched a "
            f"{config.object.name} record, below thresholds.min_match_rate={minimum:.0%}. "
            "Nothing was written.",
            action="Check that the report's key column and the object's key field hold the same "
            "identifiers (e.g. both e-mails), then run again.",
            summary=summary,
        )
    return summary


def _describe_and_check(session: Any, config: IntegrationConfig) -> Any:
    """Online validation: every mapped field exists, is updateable and fits the column type."""
    from include.walkme_sync.catalog import load_catalog
    from include.walkme_sync.salesforce.describe import check_against_describe, describe_object

    info = describe_object(session, config.object.name)
    report = load_catalog().get(config.report.name)
    columns = {column.name: column.type for column in report.columns}
    problems = [p for p in check_against_describe(config, columns, info) if p.severity == "error"]
    if problems:
        listing = "\n".join(f"  - {problem}" for problem in problems)
        raise ConfigurationError(
            f"Integration '{config.id}' does not fit {config.object.name} in the org behind "
            f"connection '{config.conn_id}':\n{listing}\nNothing was written."
        )
    return info


def _save_describe(ctx: RunContext, info: Any) -> None:
    """Keep the describe result so `upsert` need not spend another API call on it."""
    from dataclasses import asdict

    ctx.path(DESCRIBE).write_text(json.dumps(asdict(info), default=list), encoding="utf-8")


def _load_describe(ctx: RunContext) -> Any:
    from include.walkme_sync.salesforce.describe import FieldInfo, ObjectInfo

    raw = json.loads(ctx.path(DESCRIBE).read_text(encoding="utf-8"))
    fields = {
        name: FieldInfo(**{**spec, "picklist_values": tuple(spec.get("picklist_values") or ())})
        for name, spec in raw["fields"].items()
    }
    return ObjectInfo(**{**raw, "fields": fields})


# --------------------------------------------------------------------------- upsert


def upsert_step(ctx: RunContext) -> dict[str, Any]:
    """Coerce, diff against Salesforce's current values and write only the changes."""
    import pandas as pd

    from include.walkme_sync.salesforce.client import connect
    from include.walkme_sync.salesforce.plan import apply_plan, plan_changes
    from include.walkme_sync.salesforce.quota import ApiBudget

    config = ctx.integration
    info = _load_describe(ctx)
    matched = pd.read_parquet(ctx.path(MATCHED))
    plan = plan_changes(config, info, matched, full_sync=ctx.full_sync)
    if ctx.dry_run:
        _log_dry_run(ctx, plan)
    session = connect(config.conn_id)
    used_before = _api_calls_so_far(ctx)
    max_calls = config.write.api_budget
    budget = ApiBudget(
        session.meter,
        max_calls=None if max_calls is None else max(max_calls - used_before, 0),
        max_daily_usage=config.write.max_daily_api_usage,
    )
    outcomes, summary = apply_plan(session, config, plan, budget, dry_run=ctx.dry_run)
    outcomes.to_parquet(ctx.path(OUTCOME_FILES["upsert"]), index=False)
    summary = dict(summary, api_calls=session.meter.calls, dry_run=ctx.dry_run)
    log.info("Upsert: %s", json.dumps(summary, default=str))
    _enforce_write_thresholds(config, outcomes, summary)
    return summary


def _log_dry_run(ctx: RunContext, plan: Any) -> None:
    """A dry run reports every change field by field (file) and the first ones in the log."""
    changes = list(plan.diff)
    ctx.path(CHANGES).write_text(json.dumps(changes, default=str, indent=1), encoding="utf-8")
    print(f"::group::Dry run: {len(changes)} field changes would be written")
    for change in changes[:DRY_RUN_PREVIEW_LIMIT]:
        print(
            f"row {change['row']} {change['key']} -> {change['record_id']}: "
            f"{change['field']}: {change['old']!r} -> {change['new']!r}"
        )
    if len(changes) > DRY_RUN_PREVIEW_LIMIT:
        print(f"... {len(changes) - DRY_RUN_PREVIEW_LIMIT} more in {ctx.path(CHANGES)}")
    print("::endgroup::")


def _enforce_write_thresholds(
    config: IntegrationConfig, outcomes: pd.DataFrame, summary: dict[str, Any]
) -> None:
    failed = int((outcomes["bucket"] == "failed").sum())
    stopped = summary.get("stopped_reason")
    if stopped:
        # The writer stops early for the budget, the org's quota, a revoked login or an outage;
        # the error class tells the reader (and Airflow's retry policy) what to do about it.
        error_class = STOP_ERRORS.get(str(summary.get("stop_category")), SyncError)
        raise error_class(f"Integration '{config.id}': writing stopped: {stopped}", summary=summary)
    if failed > config.thresholds.max_failed_rows:
        raise SyncError(
            f"Integration '{config.id}': {failed} rows failed in Salesforce, more than "
            f"thresholds.max_failed_rows={config.thresholds.max_failed_rows}.",
            action="Read the Salesforce errors per row in the ledger or this task's log; the "
            "next run retries them (only differences are written).",
            summary=summary,
        )


def _api_calls_so_far(ctx: RunContext) -> int:
    """API calls the match step of this run already spent (the write budget is per run)."""
    match_status = read_step_status(ctx.folder, "match") or {}
    return int(match_status.get("summary", {}).get("api_calls", 0))


def _count_rows(path: Path) -> int:
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).metadata.num_rows if path.exists() else 0


# --------------------------------------------------------------------------- record


def record_step(ctx: RunContext, *, ended_at: datetime | None = None) -> dict[str, Any]:
    """Account for every report row, write the ledger and return the run summary."""
    import pandas as pd

    from include.walkme_sync.ledger import Ledger, RowProblem, RunRecord
    from include.walkme_sync.outcomes import BUCKETS, bucket_counts, outcome_frame

    statuses = {step: read_step_status(ctx.folder, step) for step in STEPS}
    failure = next(
        ((step, status) for step, status in statuses.items() if status and not status["ok"]),
        None,
    )
    missing_steps = [step for step, status in statuses.items() if status is None]
    outcomes = _collect_outcomes(ctx)
    report_rows = int((statuses["extract"] or {}).get("summary", {}).get("rows", 0))
    stop_reason = _stop_reason(failure, missing_steps)
    unaccounted = _unaccounted_rows(ctx, outcomes)
    if len(unaccounted):
        # Rows the run never reached are not lost: they are failed, with the reason the run stopped.
        outcomes = pd.concat(
            [
                outcomes,
                outcome_frame(
                    rows=unaccounted["__row"],
                    keys=unaccounted["key"],
                    bucket="failed",
                    reasons=[f"not written: {stop_reason}"] * len(unaccounted),
                    error_codes=["RUN_STOPPED"] * len(unaccounted),
                ),
            ],
            ignore_index=True,
        )
    counts = bucket_counts(outcomes)
    accounted = sum(counts.values())
    status = "Completed" if failure is None and not missing_steps else "Failed"
    if status == "Completed" and accounted != report_rows:
        status = "Failed"
        stop_reason = f"bookkeeping error: {accounted} rows in buckets, report had {report_rows}"
    api_calls = sum(
        int((status_ or {}).get("summary", {}).get("api_calls", 0))
        for step, status_ in statuses.items()
        if step in {"match", "upsert"}
    )
    config = ctx.integration
    ended = ended_at or datetime.now(UTC)
    run = RunRecord(
        integration_id=config.id,
        integration_name=config.name,
        dag_id=ctx.dag_id,
        dag_run_id=ctx.run_id,
        environment=config.environment,
        report=config.report.name,
        object_name=config.object.name,
        started_at=ctx.started_at,
        ended_at=ended,
        status=status,
        source=(statuses["extract"] or {}).get("summary", {}).get("source"),
        dry_run=ctx.dry_run,
        full_sync=ctx.full_sync,
        report_rows=report_rows,
        counts=counts,
        api_calls=api_calls,
        message=None if status == "Completed" else stop_reason,
    )
    problems = _row_problems(outcomes, RowProblem)
    _log_row_problems(problems)
    ledger = Ledger()
    ledger_id = ledger.record_run(run, problems)
    summary = {
        "integration": config.id,
        "dag_run_id": ctx.run_id,
        "status": status,
        "environment": config.environment,
        "report": config.report.name,
        "object": config.object.name,
        "started_at": ctx.started_at.isoformat(),
        "ended_at": ended.isoformat(),
        "runtime_seconds": round(run.runtime_seconds, 3),
        "dry_run": ctx.dry_run,
        "full_sync": ctx.full_sync,
        "report_rows": report_rows,
        **{bucket: counts[bucket] for bucket in BUCKETS},
        "api_calls": api_calls,
        "message": run.message,
        "ledger_run_id": ledger_id,
    }
    ctx.path(SUMMARY).write_text(json.dumps(summary, default=str, indent=2), encoding="utf-8")
    return summary


def _row_problems(outcomes: pd.DataFrame, row_problem: Any) -> list[Any]:
    """Ledger rows for every report row that was not written or unchanged."""
    problems = outcomes[~outcomes["bucket"].isin(["written", "unchanged"])].sort_values("__row")
    records = problems.astype(object).where(problems.notna(), None).to_dict("records")
    return [
        row_problem(
            row_number=int(record["__row"]),
            key=record["key"],
            bucket=str(record["bucket"]),
            reason=record["reason"],
            error_code=record["error_code"],
            record_id=record["record_id"],
        )
        for record in records
    ]


def _log_row_problems(problems: list[Any], examples: int = PROBLEM_EXAMPLES) -> None:
    """The task log shows, per bucket, the first rows that were not written and why."""
    by_bucket: dict[str, list[Any]] = {}
    for problem in problems:
        by_bucket.setdefault(problem.bucket, []).append(problem)
    for bucket, items in by_bucket.items():
        print(f"::group::{bucket}: {len(items)} rows")
        for problem in items[:examples]:
            code = f" [{problem.error_code}]" if problem.error_code else ""
            print(f"row {problem.row_number} {problem.key}:{code} {problem.reason or ''}")
        if len(items) > examples:
            print(f"... {len(items) - examples} more in the ledger (sync_row_problems)")
        print("::endgroup::")


def _stop_reason(failure: tuple[str, dict[str, Any]] | None, missing: list[str]) -> str:
    if failure is not None:
        step, status = failure
        return f"the {step} step failed: {status.get('error')}"
    if missing:
        return f"the step(s) {', '.join(missing)} did not run"
    return "run stopped"


def _collect_outcomes(ctx: RunContext) -> pd.DataFrame:
    import pandas as pd

    from include.walkme_sync.outcomes import OUTCOME_COLUMNS, empty_outcomes

    frames = [
        pd.read_parquet(path)[OUTCOME_COLUMNS]
        for name in OUTCOME_FILES.values()
        if (path := ctx.path(name)).exists()
    ]
    frames = [frame for frame in frames if len(frame)]
    if not frames:
        return empty_outcomes()
    return pd.concat(frames, ignore_index=True)


def _unaccounted_rows(ctx: RunContext, outcomes: pd.DataFrame) -> pd.DataFrame:
    """Extracted rows that no step has put in a bucket yet (the run stopped before them)."""
    import pandas as pd

    extracted = ctx.path(EXTRACTED)
    if not extracted.exists():
        return pd.DataFrame({"__row": [], "key": []})
    key_column = ctx.integration.report.key_column
    frame = pd.read_parquet(extracted, columns=["__row", key_column])
    remaining = frame[~frame["__row"].isin(outcomes["__row"])]
    return pd.DataFrame({"__row": remaining["__row"], "key": remaining[key_column]})
