"""What the console asks Airflow itself, inside the API server: DAG and run state, permissions.

Airflow is the authority on whether a DAG is paused and which runs are queued or in flight; its
auth manager decides what the signed-in user may see and do. Only called from the plugin's request
handlers (Airflow's API modules load there, never at DAG-parse or plugin-import time).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from include.walkme_sync.airflow.console import Access, AirflowRun, DagState

#: Runs per DAG the Integrations page looks at (to tell a queued or running sync).
RECENT_RUNS = 1


def dag_states(
    session: Any, dag_ids: Iterable[str], runs: int = RECENT_RUNS
) -> dict[str, DagState]:
    """Paused flag, next scheduled run and the newest `runs` runs of each parsed, live DAG."""
    from airflow.models.dag import DagModel
    from sqlalchemy import select

    ids = sorted(set(dag_ids))
    if not ids:
        return {}
    models = session.execute(
        select(DagModel.dag_id, DagModel.is_paused, DagModel.next_dagrun_create_after).where(
            DagModel.dag_id.in_(ids), DagModel.is_stale.is_(False)
        )
    ).all()
    return {
        dag_id: DagState(
            dag_id=dag_id,
            is_paused=bool(is_paused),
            next_run=next_run,
            runs=tuple(airflow_runs(session, dag_id, limit=runs)),
        )
        for dag_id, is_paused, next_run in models
    }


def airflow_runs(session: Any, dag_id: str, limit: int) -> list[AirflowRun]:
    """The DAG's newest runs (by when they were due), newest first."""
    from airflow.models.dagrun import DagRun
    from sqlalchemy import select

    rows = session.execute(
        select(DagRun.run_id, DagRun.state, DagRun.start_date, DagRun.end_date, DagRun.conf)
        .where(DagRun.dag_id == dag_id)
        .order_by(DagRun.run_after.desc(), DagRun.id.desc())
        .limit(limit)
    ).all()
    return [
        AirflowRun(
            run_id=run_id,
            state=str(state),
            started_at=start,
            ended_at=end,
            dry_run=bool((conf or {}).get("dry_run")),
        )
        for run_id, state, start, end, conf in rows
    ]


def airflow_run_ids(session: Any, dag_id: str) -> set[str]:
    """Every run id Airflow still has for the DAG ("Delete Dag" removes them all)."""
    from airflow.models.dagrun import DagRun
    from sqlalchemy import select

    return set(session.scalars(select(DagRun.run_id).where(DagRun.dag_id == dag_id)))


def user_access(user: Any, dag_ids: Iterable[str]) -> Access:
    """Which of `dag_ids` the user may read, trigger (create runs of) and pause (edit)."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import (
        DagAccessEntity,
        DagDetails,
    )

    manager = get_auth_manager()
    readable = manager.filter_authorized_dag_ids(dag_ids=set(dag_ids), user=user, method="GET")
    pausable = manager.filter_authorized_dag_ids(dag_ids=set(readable), user=user, method="PUT")
    triggerable = {
        dag_id
        for dag_id in readable
        if manager.is_authorized_dag(
            method="POST",
            access_entity=DagAccessEntity.RUN,
            details=DagDetails(id=dag_id),
            user=user,
        )
    }
    return Access(frozenset(readable), frozenset(triggerable), frozenset(pausable))


def may_read_runs(user: Any, dag_id: str) -> bool:
    """The sync report shows a run's rows: the user must be allowed to read the DAG's runs."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import (
        DagAccessEntity,
        DagDetails,
    )

    return bool(
        get_auth_manager().is_authorized_dag(
            method="GET",
            access_entity=DagAccessEntity.RUN,
            details=DagDetails(id=dag_id),
            user=user,
        )
    )
