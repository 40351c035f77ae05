"""Upserts count the records they created.

Revision ID: 0003_created
Revises: 0002_append_only
Create Date: 2026-11-30

- `created`: records a `write.mode: upsert` run created (a part of `written`, not another bucket:
  every report row still ends in exactly one bucket). Older runs read 0.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_created"
down_revision = "0002_append_only"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sync_runs") as batch:
        batch.add_column(sa.Column("created", sa.Integer, nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("sync_runs") as batch:
        batch.drop_column("created")
