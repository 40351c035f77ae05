"""Alembic's entry point for the ledger: always runs on the connection `migrate.py` hands in."""

from __future__ import annotations

from alembic import context

from include.walkme_sync.ledger.migrate import VERSION_TABLE
from include.walkme_sync.ledger.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "Run ledger migrations through include.walkme_sync.ledger.migrate.upgrade_to_head "
        "(it opens the connection and takes the migration lock)."
    )
context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=VERSION_TABLE,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
)
with context.begin_transaction():
    context.run_migrations()
