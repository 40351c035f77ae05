"""Triggering sync runs and reading back what happened: run summaries, ledger rows, task placement.

Runs are triggered through the REST API (as a user or an external scheduler would). The ledger and
task placement are read straight from Postgres, so the assertions do not depend on the API's view.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from tests.distributed.cluster import Cluster
from tests.distributed.workload import dag_id

# Generous: a loaded 2-core CI machine has taken 13 minutes for the 20-integration run.
RUN_TIMEOUT = 1500.0


@dataclass(frozen=True)
class RunOutcome:
    integration_id: str
    run_id: str
    state: str
    summary: dict[str, Any]  # record_run's XCom ({} when it produced none)
    start_date: str | None
    end_date: str | None


def run_integrations(
    cluster: Cluster, integration_ids: list[str], *, timeout: float = RUN_TIMEOUT
) -> dict[str, RunOutcome]:
    """Trigger one manual run of each integration at once and wait until all have finished."""
    cluster.check_alive()
    triggered = {}
    for integration_id in integration_ids:
        dag = dag_id(integration_id)
        cluster.api.unpause(dag)  # no-op for active configs; explicit so a run never waits
        run_id = cluster.api.trigger(dag)
        cluster.runs.append((dag, run_id))
        triggered[integration_id] = run_id
    finished = cluster.api.wait_for_runs(
        [(dag_id(i), run_id) for i, run_id in triggered.items()], timeout=timeout
    )
    outcomes = {}
    for integration_id, run_id in triggered.items():
        run = finished[(dag_id(integration_id), run_id)]
        outcomes[integration_id] = RunOutcome(
            integration_id,
            run_id,
            run["state"],
            _summary(cluster, dag_id(integration_id), run_id),
            run.get("start_date"),
            run.get("end_date"),
        )
    return outcomes


def _summary(cluster: Cluster, dag: str, run_id: str) -> dict[str, Any]:
    try:
        value = cluster.api.xcom(dag, run_id, "record_run")
    except RuntimeError:  # record_run failed or never ran: no XCom
        return {}
    return dict(value) if isinstance(value, dict) else {}


def wait_for_dags(cluster: Cluster, dag_ids: set[str], *, timeout: float = 180) -> None:
    """Until the DAG processor has serialised every expected DAG; fails on import errors."""
    deadline = time.monotonic() + timeout
    while True:
        cluster.check_alive()
        errors = cluster.api.import_errors()
        if errors:
            raise AssertionError(f"DAG import errors: {errors}")
        missing = dag_ids - cluster.api.dag_ids("walkme_sync__")
        if not missing:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"DAGs never appeared: {sorted(missing)}")
        time.sleep(1)


def ledger_runs(cluster: Cluster, integration_ids: list[str]) -> list[dict[str, Any]]:
    """The ledger's `sync_runs` rows of these integrations, oldest first."""
    return _query(
        cluster.ledger_url,
        "SELECT * FROM sync_runs WHERE integration_id = ANY(:ids) ORDER BY id",
        ids=integration_ids,
    )


def ledger_revision(cluster: Cluster) -> str | None:
    """The ledger's Alembic revision (its own version table, so it can share a database)."""
    rows = _query(cluster.ledger_url, "SELECT version_num FROM walkme_sync_alembic_version")
    return str(rows[0]["version_num"]) if rows else None


def task_placement(cluster: Cluster, dag: str, run_id: str) -> dict[str, tuple[str, str]]:
    """task_id -> (queue, hostname) of one run, from the metadata DB's task_instance table."""
    rows = _query(
        cluster.metadata_url,
        "SELECT task_id, queue, hostname FROM task_instance WHERE dag_id = :dag AND run_id = :run",
        dag=dag,
        run=run_id,
    )
    return {row["task_id"]: (row["queue"], row["hostname"]) for row in rows}


def dag_file_parsed(cluster: Cluster, dag: str, run_id: str, task_id: str) -> str | None:
    """The DAG file the worker loaded to run this task, from the task's log (first try)."""
    prefix = "Filling up the DagBag from "
    for entry in cluster.api.task_log(dag, run_id, task_id, 1):
        event = str(entry.get("event", "")) if isinstance(entry, dict) else str(entry)
        if event.startswith(prefix):
            return event.removeprefix(prefix).strip()
    return None


def step_timings(cluster: Cluster, dag_ids: list[str]) -> dict[str, tuple[float, float]]:
    """task_id -> (mean seconds running, mean seconds queued before a worker started it)."""
    rows = _query(
        cluster.metadata_url,
        "SELECT task_id, AVG(duration) AS running, "
        "AVG(EXTRACT(EPOCH FROM (start_date - queued_dttm))) AS queued "
        "FROM task_instance WHERE dag_id = ANY(:dags) GROUP BY task_id",
        dags=dag_ids,
    )
    return {row["task_id"]: (float(row["running"] or 0), float(row["queued"] or 0)) for row in rows}


def failed_task_instances(cluster: Cluster, runs: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """Task instances of these runs that did not succeed (for diagnostics)."""
    found: list[dict[str, Any]] = []
    for dag, run_id in runs:
        found.extend(
            _query(
                cluster.metadata_url,
                "SELECT dag_id, run_id, task_id, state, try_number, queue, hostname "
                "FROM task_instance WHERE dag_id = :dag AND run_id = :run "
                "AND (state IS NULL OR state <> 'success')",
                dag=dag,
                run=run_id,
            )
        )
    return found


def _query(url: str, statement: str, **params: Any) -> list[dict[str, Any]]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            result = connection.execute(sa.text(statement), params)
            return [dict(row._mapping) for row in result]
    finally:
        engine.dispose()
