"""Adapters between Airflow task contexts and the pipeline steps.

Every task runs `run_step`: it rebuilds the integration from its YAML file (so an edit applies to
the next run), runs the step, records the step's status in the run folder for `record_run`, and
turns our errors into Airflow's retry semantics: transient errors are retried with backoff, every
other SyncError fails the task at once (retrying a bad config or a revoked token cannot help).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from include.walkme_sync import pipeline
from include.walkme_sync.errors import SyncError, TransientError
from include.walkme_sync.storage import write_step_status

log = logging.getLogger(__name__)

STEP_FUNCTIONS: dict[str, Callable[[pipeline.RunContext], dict[str, Any]]] = {
    "extract": pipeline.extract_step,
    "validate": pipeline.validate_step,
    "match": pipeline.match_step,
    "upsert": pipeline.upsert_step,
}


def context_from_airflow(integration_id: str, context: Any) -> pipeline.RunContext:
    """Build the run context from the Airflow task context (dag_run, params)."""
    from include.walkme_sync.config import find_integration

    dag_run = context["dag_run"]
    params = context.get("params") or {}
    return pipeline.RunContext(
        integration=find_integration(integration_id),
        dag_id=dag_run.dag_id,
        run_id=context["run_id"],
        run_date=_run_date(context),
        started_at=_as_utc(getattr(dag_run, "start_date", None)),
        dry_run=bool(params.get("dry_run", False)),
        full_sync=bool(params.get("full_sync", False)),
    )


def run_step(step: str, integration_id: str) -> dict[str, Any]:
    """Run one pipeline step inside an Airflow task and return its (small) summary for XCom."""
    from airflow.sdk import get_current_context

    ctx = context_from_airflow(integration_id, get_current_context())
    _forget_later_steps(ctx, step)
    try:
        summary = STEP_FUNCTIONS[step](ctx)
    except SyncError as exc:
        write_step_status(
            ctx.folder,
            step,
            {"ok": False, "error": str(exc), "kind": exc.category, "summary": exc.summary},
        )
        log.error("%s failed (%s): %s", step, exc.category, exc)
        if isinstance(exc, TransientError):
            raise
        from airflow.sdk.exceptions import AirflowFailException

        raise AirflowFailException(str(exc)) from exc
    except Exception as exc:
        write_step_status(ctx.folder, step, {"ok": False, "error": repr(exc), "kind": "bug"})
        raise
    write_step_status(ctx.folder, step, {"ok": True, "summary": summary})
    return summary


def record_run(integration_id: str) -> dict[str, Any]:
    """Write the ledger, print the run summary, and fail the task when the run failed."""
    from airflow.sdk import get_current_context

    ctx = context_from_airflow(integration_id, get_current_context())
    summary = pipeline.record_step(ctx)
    print("::group::Run summary")
    for key, value in summary.items():
        print(f"{key:>16}: {value}")
    print("::endgroup::")
    print("RUN SUMMARY " + json.dumps(summary, default=str))
    from include.walkme_sync.run_note import note_text, set_run_note

    set_run_note(ctx.dag_id, ctx.run_id, note_text(summary))
    if summary["status"] != "Completed":
        from airflow.sdk.exceptions import AirflowFailException

        raise AirflowFailException(f"Sync {summary['status']}: {summary['message']}")
    return summary


def fail_for_invalid_config(file: str, problems: list[str]) -> None:
    """The task of a placeholder DAG: a bad config is visible and explains itself when run."""
    from airflow.sdk.exceptions import AirflowFailException

    listing = "\n".join(f"  - {problem}" for problem in problems)
    raise AirflowFailException(f"Integration config {file} is invalid:\n{listing}")


def _forget_later_steps(ctx: pipeline.RunContext, step: str) -> None:
    """A re-run of a step invalidates what it and the later steps wrote before."""
    later = pipeline.STEPS[pipeline.STEPS.index(step) :]
    for name in later:
        (ctx.folder / f"step_{name}.json").unlink(missing_ok=True)
        (ctx.folder / pipeline.OUTCOME_FILES[name]).unlink(missing_ok=True)


def _run_date(context: Any) -> date:
    """The day the run syncs: the logical date, or run_after for manual runs (no logical date)."""
    moment = context.get("logical_date") or getattr(context["dag_run"], "run_after", None)
    return _as_utc(moment).date()


def _as_utc(moment: datetime | None) -> datetime:
    if moment is None:
        return datetime.now(UTC)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
