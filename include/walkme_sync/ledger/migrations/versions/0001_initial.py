"""The first ledger schema: sync_runs and sync_row_problems.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-30

Ledgers created before migrations existed (by ``create_all``) already hold these tables: they are
kept as they are and only stamped with this revision.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None

BUCKET_COLUMNS = ("rejected", "unmatched", "ambiguous", "unchanged", "written", "failed")


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "sync_runs" not in existing:
        op.create_table(
            "sync_runs",
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
            sa.Column("dry_run", sa.Boolean, nullable=False),
            sa.Column("full_sync", sa.Boolean, nullable=False),
            sa.Column("report_rows", sa.Integer, nullable=False),
            *(sa.Column(bucket, sa.Integer, nullable=False) for bucket in BUCKET_COLUMNS),
            sa.Column("api_calls", sa.Integer, nullable=False),
            sa.Column("message", sa.Text),
            sa.UniqueConstraint("dag_id", "dag_run_id", name="uq_sync_runs_dag_run"),
        )
    if "sync_row_problems" not in existing:
        op.create_table(
            "sync_row_problems",
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column(
                "run_id", sa.Integer, sa.ForeignKey("sync_runs.id"), nullable=False, index=True
            ),
            sa.Column("row_number", sa.Integer),
            sa.Column("key", sa.String(500)),
            sa.Column("bucket", sa.String(20), nullable=False),
            sa.Column("reason", sa.Text),
            sa.Column("error_code", sa.String(100)),
            sa.Column("record_id", sa.String(18)),
        )


def downgrade() -> None:
    op.drop_table("sync_row_problems")
    op.drop_table("sync_runs")
