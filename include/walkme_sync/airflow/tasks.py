"""Adapters between Airflow task contexts and the pipeline steps.

Every task builds its `RunContext` (the extract task from the integration's YAML file, the later
tasks from the config snapshot extract took), runs its step through `steps.runner`, and turns our
errors into Airflow's retry semantics: transient errors are retried with backoff, every other
SyncError fails the task at once (retrying a bad config or a revoked token cannot help).
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import json
import logging
import os
from datetime import UTC, date, datetime
from typing import Any

from include.walkme_sync.airflow.assets import emit_changes_event
from include.walkme_sync.airflow.deployment import check_deployment
from include.walkme_sync.config import IntegrationConfig
from include.walkme_sync.config.loading import load_integration_for_run
from include.walkme_sync.errors import SyncError, TransientError
from include.walkme_sync.report.gx_import import paused_gc
from include.walkme_sync.steps.context import RunContext, RunStatus, Step, load_config_snapshot
from include.walkme_sync.storage import run_dir

log = logging.getLogger(__name__)

#: Whether this process has frozen its libraries (`import_frozen`).
_frozen = False


def context_from_airflow(
    integration_id: str, config_file: str, context: Any, *, fresh_config: bool = False
) -> RunContext:
    """Build the run context from the Airflow task context (dag_run, params).

    `fresh_config` (the extract task) reads the integration's YAML file; every later task reads the
    snapshot extract froze in the run folder, so one run uses one config from start to end.
    """
    dag_run = context["dag_run"]
    params = context.get("params") or {}
    run_id = context["run_id"]
    return RunContext(
        integration=_config_for(integration_id, config_file, run_id, fresh=fresh_config),
        dag_id=dag_run.dag_id,
        run_id=run_id,
        run_date=_run_date(context),
        started_at=_as_utc(getattr(dag_run, "start_date", None)),
        dry_run=bool(params.get("dry_run", False)),
        full_sync=bool(params.get("full_sync", False)),
    )


def _config_for(integration_id: str, config_file: str, run_id: str, *, fresh: bool) -> Any:
    if not fresh:
        snapshot: IntegrationConfig | None = load_config_snapshot(run_dir(integration_id, run_id))
        if snapshot is not None:
            return snapshot
    return load_integration_for_run(integration_id, config_file)


def run_step(step: str, integration_id: str, config_file: str) -> dict[str, Any]:
    """Run one pipeline step inside an Airflow task and return its (small) summary for XCom."""
    from airflow.sdk import get_current_context

    from include.walkme_sync.steps.runner import run_step as run

    name = Step(step)
    # A step module that cannot be imported is imported again by the runner, which records the
    # failure as the step's status (what `record` reports): so it must not fail here.
    with contextlib.suppress(Exception):
        import_step_libraries(name)
    try:
        check_deployment()
        ctx = context_from_airflow(
            integration_id, config_file, get_current_context(), fresh_config=name is Step.EXTRACT
        )
        return run(name, ctx)
    except SyncError as exc:
        log.error("%s failed (%s): %s", step, exc.category, exc)
        if isinstance(exc, TransientError):
            raise
        from airflow.sdk.exceptions import AirflowFailException

        # `from None`: a handled failure's log ends with its message and what to do, not with
        # the chained traceback of an error we already explained (real bugs keep theirs).
        raise AirflowFailException(str(exc)) from None


def record_run(integration_id: str, config_file: str) -> dict[str, Any]:
    """Write the ledger, print the run summary, and fail the task when the run failed.

    `print`, not logging: Airflow folds the lines between `::group::` markers printed to stdout.
    """
    from airflow.sdk import get_current_context

    import_step_libraries(RECORD)
    from include.walkme_sync.airflow.alerts import send_alerts
    from include.walkme_sync.airflow.run_note import note_text, set_run_note
    from include.walkme_sync.steps.record import record_step

    context = get_current_context()
    try:
        check_deployment()
        ctx = context_from_airflow(integration_id, config_file, context)
        summary = record_step(ctx)
    except SyncError as exc:
        log.error("record_run failed (%s): %s", exc.category, exc)
        if isinstance(exc, TransientError):
            raise  # an unreachable ledger or storage root: Airflow retries this task
        from airflow.sdk.exceptions import AirflowFailException

        raise AirflowFailException(str(exc)) from None
    print("::group::Run summary")
    for key, value in summary.items():
        print(f"{key:>16}: {value}")
    print("::endgroup::")
    print("RUN SUMMARY " + json.dumps(summary, default=str))
    set_run_note(ctx.dag_id, ctx.run_id, note_text(summary))
    send_alerts(ctx.integration, summary, context)
    if summary["status"] == RunStatus.COMPLETED and emit_changes_event(
        ctx.integration, summary, context["outlet_events"]
    ):
        print(f"Asset event: {ctx.integration.object.name} records were written.")
    if summary["status"] != RunStatus.COMPLETED:
        from airflow.sdk.exceptions import AirflowFailException

        raise AirflowFailException(f"Sync {summary['status']}: {summary['message']}")
    return summary


def fail_for_invalid_config(file: str, problems: list[str]) -> None:
    """The task of a placeholder DAG: a bad config is visible and explains itself when run."""
    from airflow.sdk.exceptions import AirflowFailException

    listing = "\n".join(f"  - {problem}" for problem in problems)
    raise AirflowFailException(f"Integration config {file} is invalid:\n{listing}")


#: Read and written by every step (its hand-off files), but imported by pandas on first use.
PARQUET = "pyarrow.parquet"
#: The last task's step (not a `Step`: it runs whatever happened before it).
RECORD = "record"


def import_step_libraries(step: str) -> None:
    """The step's module and the libraries it uses (pandas, pyarrow, SQLAlchemy...), frozen;
    what a task process loads before its step runs (the benchmark imports the same)."""
    modules = [f"include.walkme_sync.steps.{step}", PARQUET]
    if step == RECORD:
        modules.append("include.walkme_sync.airflow.alerts")
    import_frozen(*modules)
    use_reusing_memory_pool()


#: pyarrow's own switch for its memory pool; when a deployment sets it, its choice stands.
ARROW_POOL_VARIABLE = "ARROW_DEFAULT_MEMORY_POOL"


def use_reusing_memory_pool() -> None:
    """Allocate the step's Arrow columns from jemalloc, which reuses freed memory.

    A step reads a hand-off file, builds and drops several whole columns, and writes the next
    file: at 1M rows it allocates a few GB in all for a peak under 1 GB. With pyarrow's default
    pool on Linux (mimalloc) much of that came fresh from the kernel, and first-touching memory
    is system CPU (~0.6 s per GB on the benchmark machine): 40% of the steps' CPU. jemalloc, as
    pyarrow configures it, keeps freed pages a moment and hands them out again. Measured at 1M
    rows, each step in its own process: validate 1.35 -> 0.8 s of CPU, match 2.3 -> 1.7 s,
    and a lower peak RSS. Where pyarrow was built without jemalloc, the default pool stays.
    """
    if os.environ.get(ARROW_POOL_VARIABLE):
        return
    import pyarrow as pa

    try:
        pool = pa.jemalloc_memory_pool()
    except NotImplementedError:  # a pyarrow build without jemalloc (Windows wheels)
        return
    pa.set_memory_pool(pool)


def import_frozen(*modules: str) -> None:
    """Import a step's modules with the garbage collector paused, then freeze (once per process).

    Importing pandas, pyarrow, SQLAlchemy or great-expectations creates a few hundred thousand
    objects that live as long as the process; while they are created, each time their number
    grows by a quarter Python walks all of them (a full collection) and finds almost nothing to
    free. After the imports, `gc.freeze` moves what the process holds out of the collector's
    sight, so the collections of the step's own work do not walk the libraries again either.
    A task process runs one step; a long-lived process (the tests, `dag.test()`) freezes only
    what it held the first time. Reference counting frees what it always freed.
    """
    global _frozen
    with paused_gc():
        for module in modules:
            importlib.import_module(module)
    if not _frozen:
        _frozen = True
        gc.freeze()


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
