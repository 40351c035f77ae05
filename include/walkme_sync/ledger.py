"""The run ledger: one row per sync run and one row per row-level problem.

A SQLite file under the storage root by default; any SQLAlchemy database in production, chosen by
the Airflow connection `walkme_ledger` (its SQLAlchemy URI) or `$WALKME_SYNC_LEDGER_URL`.
Re-recording the same DAG run (a retried `record_run` task) replaces its rows, so the ledger holds
each run once.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from include.walkme_sync.frames import BUCKETS
from include.walkme_sync.storage import storage_root

LEDGER_URL_ENV = "WALKME_SYNC_LEDGER_URL"
LEDGER_CONN_ID = "walkme_ledger"

metadata = sa.MetaData()

runs_table = sa.Table(
    "sync_runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("integration_id", sa.String(100), nullable=False, index=True),
    sa.Column("integration_name", sa.String(200), nullable=False),
    sa.Column("dag_id", sa.String(250), nullable=False),
    sa.Column("dag_run_id", sa.String(250), nullable=False),
    sa.Column("environment", sa.String(20), nullable=False),
    sa.Column("report", sa.String(100), nullable=False),
    sa.Column("object_name", sa.String(100), nullable=False),
    sa.Column("source", sa.String(1000)),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("runtime_seconds", sa.Float, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("dry_run", sa.Boolean, nullable=False, default=False),
    sa.Column("full_sync", sa.Boolean, nullable=False, default=False),
    sa.Column("report_rows", sa.Integer, nullable=False, default=0),
    *(sa.Column(bucket, sa.Integer, nullable=False, default=0) for bucket in BUCKETS),
    sa.Column("api_calls", sa.Integer, nullable=False, default=0),
    sa.Column("message", sa.Text),
    sa.UniqueConstraint("dag_id", "dag_run_id", name="uq_sync_runs_dag_run"),
)

row_problems_table = sa.Table(
    "sync_row_problems",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("sync_runs.id"), nullable=False, index=True),
    sa.Column("row_number", sa.Integer),
    sa.Column("key", sa.String(500)),
    sa.Column("bucket", sa.String(20), nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("error_code", sa.String(100)),
    sa.Column("record_id", sa.String(18)),
)


@dataclass
class RunRecord:
    """What the ledger stores about one run."""

    integration_id: str
    integration_name: str
    dag_id: str
    dag_run_id: str
    environment: str
    report: str
    object_name: str
    started_at: datetime
    ended_at: datetime
    status: str
    source: str | None = None
    dry_run: bool = False
    full_sync: bool = False
    report_rows: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    api_calls: int = 0
    message: str | None = None

    @property
    def runtime_seconds(self) -> float:
        return (self.ended_at - self.started_at).total_seconds()


@dataclass(frozen=True)
class RowProblem:
    """One report row that did not end as written or unchanged."""

    row_number: int | None
    key: str | None
    bucket: str
    reason: str | None = None
    error_code: str | None = None
    record_id: str | None = None


def default_ledger_url() -> str:
    """`$WALKME_SYNC_LEDGER_URL`, else the `walkme_ledger` connection, else a local SQLite file."""
    configured = os.environ.get(LEDGER_URL_ENV)
    if configured:
        return configured
    from_connection = _ledger_url_from_airflow_connection()
    if from_connection:
        return from_connection
    path = storage_root() / "ledger.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def _ledger_url_from_airflow_connection() -> str | None:
    """The SQLAlchemy URL of the `walkme_ledger` connection, when one is defined.

    `extra.sqlalchemy_url` wins; otherwise the connection's own SQL hook builds the URL (Airflow's
    generic connection URI is not always one SQLAlchemy accepts, e.g. for SQLite or Postgres).
    """
    try:
        from airflow.sdk import BaseHook

        connection = BaseHook.get_connection(LEDGER_CONN_ID)
    except Exception:  # no such connection: the documented default applies
        return None
    extra_url = connection.extra_dejson.get("sqlalchemy_url")
    if extra_url:
        return str(extra_url)
    hook = connection.get_hook()
    try:
        return str(hook.sqlalchemy_url.render_as_string(hide_password=False))
    except (AttributeError, NotImplementedError):
        return str(hook.get_uri())


class Ledger:
    """Read and write run history. Tables are created on first use."""

    def __init__(self, url: str | None = None) -> None:
        self.url = url or default_ledger_url()
        self.engine = sa.create_engine(self.url, future=True)
        metadata.create_all(self.engine)

    def record_run(self, run: RunRecord, problems: Iterable[RowProblem] = ()) -> int:
        """Store a run and its row problems in one transaction; returns the run's ledger id."""
        values = _run_values(run)
        with self.engine.begin() as conn:
            self._delete_existing(conn, run.dag_id, run.dag_run_id)
            inserted = conn.execute(runs_table.insert().values(**values)).inserted_primary_key
            assert inserted is not None  # an autoincrement insert always returns its key
            run_pk = inserted[0]
            rows = [dict(asdict(problem), run_id=run_pk) for problem in problems]
            if rows:
                conn.execute(row_problems_table.insert(), rows)
        return int(run_pk)

    def runs(self, integration_id: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Newest runs first, optionally for one integration."""
        query = sa.select(runs_table).order_by(runs_table.c.started_at.desc()).limit(limit)
        if integration_id:
            query = query.where(runs_table.c.integration_id == integration_id)
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def latest_runs(self, integration_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The newest run of each given integration (for list views)."""
        return {
            integration_id: runs[0]
            for integration_id in integration_ids
            if (runs := self.runs(integration_id, limit=1))
        }

    def row_problems(self, run_pk: int) -> list[dict[str, Any]]:
        """Row problems of one run, in report order."""
        query = (
            sa.select(row_problems_table)
            .where(row_problems_table.c.run_id == run_pk)
            .order_by(row_problems_table.c.row_number)
        )
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    @staticmethod
    def _delete_existing(conn: sa.Connection, dag_id: str, dag_run_id: str) -> None:
        existing = conn.execute(
            sa.select(runs_table.c.id).where(
                runs_table.c.dag_id == dag_id, runs_table.c.dag_run_id == dag_run_id
            )
        ).scalars()
        for run_pk in list(existing):
            conn.execute(row_problems_table.delete().where(row_problems_table.c.run_id == run_pk))
            conn.execute(runs_table.delete().where(runs_table.c.id == run_pk))


def _run_values(run: RunRecord) -> dict[str, Any]:
    values = {key: value for key, value in asdict(run).items() if key not in {"counts"}}
    values["runtime_seconds"] = run.runtime_seconds
    for bucket in BUCKETS:
        values[bucket] = int(run.counts.get(bucket, 0))
    return values
