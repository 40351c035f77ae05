"""The ledger's tables as the code reads and writes them (migrations/ creates and changes them).

A change to a table here needs a migration in ``migrations/versions/`` too: the tables are never
created from this metadata on a live database (see ``migrate.py``).
"""

from __future__ import annotations

import sqlalchemy as sa

from include.walkme_sync.frames import BUCKETS

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
    *(
        sa.Column(bucket, sa.Integer, nullable=False, default=0, server_default="0")
        for bucket in BUCKETS
    ),
    # Records an upsert created: a part of `written`, not a bucket (migration 0003).
    sa.Column("created", sa.Integer, nullable=False, default=0, server_default="0"),
    sa.Column("api_calls", sa.Integer, nullable=False, default=0),
    sa.Column("message", sa.Text),
    # One row per attempt of a run: a re-created DAG repeats run ids (see migration 0002).
    sa.UniqueConstraint("dag_id", "dag_run_id", "started_at", name="uq_sync_runs_run_attempt"),
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
