"""Upsert: coerce, diff against Salesforce's current values and write only the changes.

The plan is pure (`reconcile.plan`); the writers send it (`salesforce.writers`); the results give
every matched row its bucket (`reconcile.results`). When the writer stops early (API budget, the
org's quota, a revoked login, an outage) the outcome file is written first and then the writer's
own error is raised: the ledger still accounts for every row, and Airflow retries only transient
stops.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import numpy as np
import pandas as pd

from include.walkme_sync.config import IntegrationConfig
from include.walkme_sync.errors import SyncError
from include.walkme_sync.frames import CURRENT_PREFIX, KEY, Bucket
from include.walkme_sync.reconcile.plan import PlanResult, plan_changes
from include.walkme_sync.reconcile.relations import (
    LOOKUP_PREFIX,
    PARENT_KEY_PREFIX,
    planned_mappings,
    prepare_writes,
    scale_percentages,
    settle_creations,
)
from include.walkme_sync.reconcile.results import row_outcomes
from include.walkme_sync.records import ResultColumns, record_id_column, row_column
from include.walkme_sync.salesforce.client import SalesforceSession, connect
from include.walkme_sync.salesforce.quota import ApiBudget
from include.walkme_sync.salesforce.upsert_writer import upsert_changes
from include.walkme_sync.salesforce.writers import WriteOutcome, write_changes
from include.walkme_sync.steps.context import (
    CHANGES,
    MATCHED,
    OUTCOME_FILES,
    RunContext,
    Step,
    api_call_journal,
    read_step_status,
)
from include.walkme_sync.steps.match import load_describe
from include.walkme_sync.storage import column_names, read_frame, write_frame, write_json

log = logging.getLogger(__name__)

DRY_RUN_PREVIEW_LIMIT = 50


def upsert_step(ctx: RunContext) -> dict[str, Any]:
    """Plan, write (nothing in a dry run), record every matched row's bucket, then judge."""
    config = ctx.integration
    info = load_describe(ctx)
    matched = scale_percentages(config, _read_matched(ctx))
    # Lookups are planned like mappings (their parent Ids are diffed with the current ones).
    plan = plan_changes(planned_mappings(config), info, matched, full_sync=ctx.full_sync)
    prepare_writes(config, info, matched, plan)
    del matched  # the plan holds what it needs; the frame is the task's largest object
    if ctx.dry_run:
        _log_dry_run(ctx, plan)
    session = connect(
        config.conn_id,
        timeout=config.write.request_timeout_seconds,
        journal=api_call_journal(ctx, Step.UPSERT),
    )
    budget = _run_budget(ctx, session)
    outcomes, summary, stop_error = apply_plan(session, config, plan, budget, dry_run=ctx.dry_run)
    write_frame(ctx.path(OUTCOME_FILES[Step.UPSERT]), outcomes)
    summary = dict(summary, api_calls=session.meter.calls, dry_run=ctx.dry_run)
    log.info("Upsert: %s", json.dumps(summary, default=str))
    if stop_error is not None:
        stop_error.summary = summary
        raise stop_error
    _enforce_failed_rows_threshold(config, outcomes, summary)
    return summary


def _read_matched(ctx: RunContext) -> pd.DataFrame:
    """The matched rows, only the columns the plan reads: report columns no mapping names are
    never loaded (a report may have many; the largest frame of the task stays small)."""
    config = ctx.integration
    fields = [m.field for m in config.mappings] + [lookup.field for lookup in config.lookups]
    wanted = {"__row", "Id", config.report.key_column}
    wanted |= {m.column for m in config.mappings}
    wanted |= {CURRENT_PREFIX + name for name in fields}
    wanted |= {LOOKUP_PREFIX + lookup.field for lookup in config.lookups}
    wanted |= {PARENT_KEY_PREFIX + lookup.field for lookup in config.lookups}
    if config.creates_records:
        wanted.add(KEY)
    path = ctx.path(MATCHED)
    return read_frame(path, columns=[name for name in column_names(path) if name in wanted])


def apply_plan(
    session: SalesforceSession,
    config: IntegrationConfig,
    plan: PlanResult,
    budget: ApiBudget,
    *,
    dry_run: bool,
) -> tuple[pd.DataFrame, dict[str, Any], SyncError | None]:
    """Write the changes (nothing in a dry run): (outcomes, summary, the writer's stop error).

    Outcomes have one row per matched report row: written (would_write in a dry run) |
    unchanged | rejected | failed | not_attempted.
    """
    calls_before = session.meter.calls
    if dry_run or not plan.changes:
        # Nothing is sent: every planned change counts as done, with no attempt made.
        size = len(plan.changes)
        outcome = WriteOutcome(
            columns=ResultColumns(
                record_ids=record_id_column(plan.changes),
                rows=row_column(plan.changes),
                success=np.ones(size, dtype=bool),
                error_codes=np.full(size, None, dtype=object),
                messages=np.full(size, None, dtype=object),
                attempts=np.zeros(size, dtype=np.int64),
                attempted=np.zeros(size, dtype=bool),
            )
        )
    elif config.creates_records:
        outcome = upsert_changes(
            session,
            config.object.name,
            config.object.key_field,
            plan.changes,
            config.write,
            budget,
            log=log,
        )
    else:
        outcome = write_changes(
            session, config.object.name, plan.changes, config.write, budget, log=log
        )
    if not dry_run:
        plan.release_values()  # written: the outcomes never read the values
    outcomes = row_outcomes(plan, outcome.columns, dry_run=dry_run)
    if config.creates_records:
        # Upserts only: which records were created (and their new Ids), one result per change.
        results = {r.record_id: r for r in outcome.results}
        outcomes = settle_creations(outcomes, results, dry_run=dry_run)
    counts = outcomes["bucket"].value_counts()
    meter = session.meter
    summary: dict[str, Any] = {
        "matched_rows": len(outcomes),
        **{
            str(b): int(counts.get(b, 0))
            for b in (
                Bucket.WRITTEN,
                Bucket.WOULD_WRITE,
                Bucket.UNCHANGED,
                Bucket.REJECTED,
                Bucket.NOT_ATTEMPTED,
                Bucket.FAILED,
            )
        },
        "records_changed": len(plan.changes),
        # Records the upsert created (write.mode: upsert); they are also counted as written.
        "created": outcome.columns.created_count,
        "field_changes": plan.field_changes,
        "api_calls": meter.calls - calls_before,
        "calls_by_kind": dict(meter.calls_by_kind),
        "daily_api_usage": (
            None if meter.daily_limit is None else f"{meter.daily_used}/{meter.daily_limit}"
        ),
        "dry_run": dry_run,
        "stopped_reason": outcome.stopped_reason,
    }
    return outcomes, summary, outcome.stop_error


def _run_budget(ctx: RunContext, session: SalesforceSession) -> ApiBudget:
    """The write budget is per run: what the match step of this run spent is already used."""
    match_status = read_step_status(ctx.folder, Step.MATCH)
    used_before = int(match_status.summary.get("api_calls", 0)) if match_status else 0
    max_calls = ctx.integration.write.api_budget
    return ApiBudget(
        session.meter,
        max_calls=None if max_calls is None else max(max_calls - used_before, 0),
        max_daily_usage=ctx.integration.write.max_daily_api_usage,
    )


def _log_dry_run(ctx: RunContext, plan: PlanResult) -> None:
    """A dry run reports every change field by field (file) and the first ones in the log.

    `print`, not logging: Airflow folds the lines between `::group::` markers printed to stdout.
    """
    changes = list(plan.diff)
    write_json(ctx.path(CHANGES), changes)
    print(f"::group::Dry run: {len(changes)} field changes would be written")
    for change in changes[:DRY_RUN_PREVIEW_LIMIT]:
        print(
            f"row {change['row']} {change['key']} -> {change['record_id']}: "
            f"{change['field']}: {change['old']!r} -> {change['new']!r}"
        )
    if len(changes) > DRY_RUN_PREVIEW_LIMIT:
        print(f"... {len(changes) - DRY_RUN_PREVIEW_LIMIT} more in {ctx.path(CHANGES)}")
    print("::endgroup::")


def _enforce_failed_rows_threshold(
    config: IntegrationConfig, outcomes: pd.DataFrame, summary: dict[str, Any]
) -> None:
    failed = int((outcomes["bucket"] == Bucket.FAILED).sum())
    if failed > config.thresholds.max_failed_rows:
        raise SyncError(
            f"Integration '{config.id}': {failed} rows failed in Salesforce, more than "
            f"thresholds.max_failed_rows={config.thresholds.max_failed_rows}.",
            action="Read the Salesforce errors per row in the ledger or this task's log; the "
            "next run retries them (only differences are written).",
            summary=summary,
        )
