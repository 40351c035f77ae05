"""Dry runs and stopped runs get their own counts; every run attempt keeps its own row.

Revision ID: 0002_append_only
Revises: 0001_initial
Create Date: 2026-11-30

- `would_write`: what a dry run would have written (a dry run never counts as `written`).
- `not_attempted`: changes never sent because the run stopped first (not `failed`).
- The unique key becomes (dag_id, dag_run_id, started_at): a DAG deleted in the UI and re-created
  repeats its run ids, and its new runs must add rows, never replace the history of the old ones.
  A retried `record_run` of the same run (same start) still replaces its own row.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_append_only"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sync_runs") as batch:
        batch.add_column(sa.Column("would_write", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("not_attempted", sa.Integer, nullable=False, server_default="0"))
        batch.drop_constraint("uq_sync_runs_dag_run", type_="unique")
        batch.create_unique_constraint(
            "uq_sync_runs_run_attempt", ["dag_id", "dag_run_id", "started_at"]
        )


def downgrade() -> None:
    with op.batch_alter_table("sync_runs") as batch:
        batch.drop_constraint("uq_sync_runs_run_attempt", type_="unique")
        batch.create_unique_constraint("uq_sync_runs_dag_run", ["dag_id", "dag_run_id"])
        batch.drop_column("not_attempted")
        batch.drop_column("would_write")
