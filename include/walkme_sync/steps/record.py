"""Record: account for every report row, write the ledger and the run summary.

Runs whatever happened upstream (the task's trigger rule is ALL_DONE), so failed syncs are
recorded too: rows the run never reached are `failed` with the reason the run stopped, and the
buckets must add up to the report's row count or the run is Failed as a bookkeeping error.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from include.walkme_sync.errors import StorageError, SyncError
from include.walkme_sync.frames import (
    BUCKETS,
    OUTCOME_COLUMNS,
    ROW,
    Bucket,
    bucket_counts,
    empty_outcomes,
    outcome_frame,
)
from include.walkme_sync.ledger import Ledger, RunRecord
from include.walkme_sync.salesforce.errors import redact
from include.walkme_sync.steps.context import (
    EXTRACTED,
    OUTCOME_FILES,
    SUMMARY,
    RunContext,
    RunStatus,
    Step,
    StepStatus,
    api_calls_spent,
    read_step_status,
)
from include.walkme_sync.steps.row_problems import ProblemRows, log_row_problems, unsettled
from include.walkme_sync.storage import (
    exists,
    read_frame,
    remove_expired_runs,
    retention_days,
    write_json,
)

log = logging.getLogger(__name__)


def record_step(ctx: RunContext, *, ended_at: datetime | None = None) -> dict[str, Any]:
    """Account for every report row, write the ledger and return the run summary."""
    statuses = {step: read_step_status(ctx.folder, step) for step in Step}
    failure = next(
        ((step, status) for step, status in statuses.items() if status and not status.ok),
        None,
    )
    missing_steps = [step for step, status in statuses.items() if status is None]
    outcomes, problem_outcomes = _collect_outcomes(ctx)
    report_rows = int(_summary_of(statuses[Step.EXTRACT]).get("rows", 0))
    stop_reason = _stop_reason(failure, missing_steps)
    unaccounted = _unaccounted_rows(ctx, outcomes)
    if len(unaccounted):
        # Rows the run never reached are not lost: they are not attempted, with the reason the run
        # stopped.
        not_attempted = outcome_frame(
            rows=unaccounted[ROW],
            keys=unaccounted["key"],
            bucket=Bucket.NOT_ATTEMPTED,
            reasons=[f"not attempted: {stop_reason}"] * len(unaccounted),
            error_codes=["RUN_STOPPED"] * len(unaccounted),
        )
        outcomes = pd.concat([outcomes, not_attempted[_BUCKETED]], ignore_index=True)
        problem_outcomes = pd.concat([problem_outcomes, not_attempted], ignore_index=True)
    counts = bucket_counts(outcomes)
    accounted = sum(counts.values())
    status = RunStatus.COMPLETED if failure is None and not missing_steps else RunStatus.FAILED
    if status == RunStatus.COMPLETED and accounted != report_rows:
        status = RunStatus.FAILED
        stop_reason = f"bookkeeping error: {accounted} rows in buckets, report had {report_rows}"
    # Every attempt of every step journals its calls, so calls spent by a failed or killed try
    # (retried by Airflow) are counted too.
    api_calls, calls_by_kind = api_calls_spent(ctx.folder)
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
        status=str(status),
        source=_summary_of(statuses[Step.EXTRACT]).get("source"),
        dry_run=ctx.dry_run,
        full_sync=ctx.full_sync,
        report_rows=report_rows,
        counts=counts,
        api_calls=api_calls,
        message=None if status == RunStatus.COMPLETED else stop_reason,
        created=int(_summary_of(statuses[Step.UPSERT]).get("created", 0)),
    )
    problems = ProblemRows(problem_outcomes)
    log_row_problems(problems)
    summary = {
        "integration": config.id,
        "dag_run_id": ctx.run_id,
        "status": str(status),
        "environment": config.environment,
        "report": config.report.name,
        "object": config.object.name,
        "started_at": ctx.started_at.isoformat(),
        "ended_at": ended.isoformat(),
        "runtime_seconds": round(run.runtime_seconds, 3),
        "dry_run": ctx.dry_run,
        "full_sync": ctx.full_sync,
        "report_rows": report_rows,
        **{str(bucket): counts[bucket] for bucket in BUCKETS},
        # Of the written rows, the records an upsert created.
        "created": run.created,
        "api_calls": api_calls,
        "calls_by_kind": calls_by_kind,
        "message": run.message,
        "ledger_run_id": None,
    }
    # The summary is saved first: when the ledger cannot be written, the run's accounting is
    # still in its folder, and Airflow's retry of this task writes the ledger from it.
    write_json(ctx.path(SUMMARY), summary)
    summary["ledger_run_id"] = _write_ledger(run, problems)
    write_json(ctx.path(SUMMARY), summary)
    _remove_expired_runs(ctx)
    return summary


def _write_ledger(run: RunRecord, problems: ProblemRows) -> int:
    """Append the run to the ledger; an unreachable database is a `StorageError` (retried)."""
    try:
        return Ledger().record_run(run, problems)
    except SyncError:
        raise
    except Exception as exc:  # SQLAlchemy / driver errors: many types, one meaning here
        raise StorageError(
            f"The run ledger could not be written: {type(exc).__name__}: "
            f"{redact(str(exc).splitlines()[0] if str(exc) else '')}",
            action="Check the ledger database (WALKME_SYNC_LEDGER_URL or the walkme_ledger "
            "connection) is reachable. The run's counts are kept in its folder (summary.json); "
            "Airflow retries record_run, which writes them to the ledger.",
        ) from None


def _remove_expired_runs(ctx: RunContext) -> None:
    """Retention: old run folders of this integration go; the ledger keeps every run.

    A failure here must not turn a recorded sync into a failed one: it is logged, and the next
    run tries again.
    """
    try:
        remove_expired_runs(ctx.integration.id, days=retention_days(), keep=ctx.folder.name)
    except Exception as exc:  # storage errors come in many types (OSError, botocore, gcsfs)
        log.warning("Could not remove old run folders: %s: %s", type(exc).__name__, exc)


def _stop_reason(failure: tuple[Step, StepStatus] | None, missing: list[Step]) -> str:
    if failure is not None:
        step, status = failure
        return f"the {step} step failed: {status.error}"
    if missing:
        return f"the step(s) {', '.join(missing)} did not run"
    return "run stopped"


#: What counting and accounting need of every outcome row (the other columns only of problems).
_BUCKETED = [ROW, "bucket"]


def _collect_outcomes(ctx: RunContext) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The row number and bucket of every outcome row, and the whole outcome rows of the row
    problems (those not in a settled bucket), both in the order of the outcome files.

    A file whose rows are all settled (a million written or unchanged rows) is read for its two
    small columns only: its keys and record Ids are never decoded.
    """
    bucketed: list[pd.DataFrame] = []
    problems: list[pd.DataFrame] = []
    for name in OUTCOME_FILES.values():
        if not exists(path := ctx.path(name)):
            continue
        frame = read_frame(path, columns=_BUCKETED)
        if not len(frame):
            continue
        bucketed.append(frame)
        problem_at = unsettled(frame["bucket"])
        if problem_at.any():
            problems.append(read_frame(path, columns=OUTCOME_COLUMNS)[problem_at])
    empty = empty_outcomes()
    return (
        pd.concat(bucketed, ignore_index=True) if bucketed else empty[_BUCKETED],
        pd.concat(problems, ignore_index=True) if problems else empty,
    )


def _unaccounted_rows(ctx: RunContext, outcomes: pd.DataFrame) -> pd.DataFrame:
    """Extracted rows that no step has put in a bucket yet (the run stopped before them)."""
    extracted = ctx.path(EXTRACTED)
    if not exists(extracted):
        return pd.DataFrame({ROW: [], "key": []})
    rows = read_frame(extracted, columns=[ROW])[ROW]
    remaining = not_in(rows, outcomes[ROW])
    if not remaining.any():  # the usual case: every row has its bucket, no key text to read
        return pd.DataFrame({ROW: rows[remaining], "key": pd.Series([], dtype=object)})
    key_column = ctx.integration.report.key_column
    keys = read_frame(extracted, columns=[key_column])[key_column]
    return pd.DataFrame({ROW: rows[remaining], "key": keys[remaining]})


def _summary_of(status: StepStatus | None) -> dict[str, Any]:
    return status.summary if status is not None else {}


def not_in(rows: pd.Series, seen: pd.Series) -> pd.Series:
    """`~rows.isin(seen)` for row numbers: a table indexed by row number instead of a hash of a
    million of them (row numbers run from 1 to the report's size). Anything else (nullable or
    negative numbers, a sparse range) goes through `isin`."""
    if not (_numpy_integers(rows) and _numpy_integers(seen) and len(rows)):
        return ~rows.isin(seen)
    values, others = rows.to_numpy(), seen.to_numpy()
    low, top = int(values.min()), int(values.max())
    if low < 0 or top > 4 * len(values) + 1024:
        return ~rows.isin(seen)
    table = np.zeros(top + 1, dtype=bool)
    table[others[(others >= 0) & (others <= top)]] = True
    return pd.Series(~table[values], index=rows.index, name=rows.name)


def _numpy_integers(column: pd.Series) -> bool:
    return isinstance(column.dtype, np.dtype) and column.dtype.kind in "iu"
