"""Bring a ledger database to the newest schema with the Alembic migrations shipped here.

Every process that opens the ledger calls :func:`upgrade_to_head`; when the schema is current it
costs two small queries and no Alembic import. When it is not, one process migrates while the
others wait: on PostgreSQL under a transaction-level advisory lock (DDL is transactional there, so
a failed migration leaves nothing half-done); on SQLite, a process that loses the race sees the
tables already made and checks again. The version table has its own name so the ledger can share
a database with Airflow (whose own Alembic table is `alembic_version`).

A schema change: edit ``schema.py``, then add a revision in ``migrations/versions/`` (by hand or
``alembic -c include/walkme_sync/ledger/alembic.ini revision -m "…"``) and name it in
``HEAD_REVISION``.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)

VERSION_TABLE = "walkme_sync_alembic_version"
#: The newest revision in `migrations/versions/` (a test checks it is Alembic's head): a ledger
#: already there is recognised by plain SQL, without loading Alembic (~0.1 s per process).
HEAD_REVISION = "0003_created"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# pg_advisory_xact_lock takes a bigint: any constant shared by every process of the product.
ADVISORY_LOCK_KEY = 0x57A1_4E5C
SQLITE_RACE_ATTEMPTS = 5


def alembic_config(connection: sa.Connection | None = None) -> Config:
    """Alembic's configuration, built in code: the package carries no ini file to find."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The head of the migration scripts, as Alembic reads them."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None  # the package ships at least the initial revision
    return head


def current_revision(connection: sa.Connection) -> str | None:
    """The revision the database is at (None for an empty database)."""
    from alembic.runtime.migration import MigrationContext

    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()


def upgrade_to_head(engine: sa.Engine) -> None:
    """Apply every migration the database lacks; safe to call from many processes at once."""
    if _is_at(engine, HEAD_REVISION):
        return
    head = head_revision()
    with engine.connect() as connection:
        if current_revision(connection) == head:
            return
    if engine.dialect.name == "sqlite":
        _upgrade_sqlite(engine, head)
        return
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(sa.select(sa.func.pg_advisory_xact_lock(ADVISORY_LOCK_KEY)))
        _upgrade(connection, head)


def _is_at(engine: sa.Engine, revision: str) -> bool:
    """Whether the ledger's version table holds exactly `revision` (plain SQL, no Alembic).

    Anything else (no table yet, another revision, several rows) is for Alembic to look at.
    """
    with engine.connect() as connection:
        if not sa.inspect(connection).has_table(VERSION_TABLE):
            return False
        table = sa.table(VERSION_TABLE, sa.column("version_num"))
        versions = connection.execute(sa.select(table.c.version_num)).scalars().all()
    return versions == [revision]


def _upgrade(connection: sa.Connection, head: str) -> None:
    current = current_revision(connection)
    if current == head:
        return  # another process migrated while this one waited for the lock
    log.info("Migrating the run ledger from %s to %s", current or "an empty database", head)
    from alembic import command

    command.upgrade(alembic_config(connection), "head")


def _upgrade_sqlite(engine: sa.Engine, head: str) -> None:
    for attempt in range(1, SQLITE_RACE_ATTEMPTS + 1):
        try:
            with engine.begin() as connection:
                _upgrade(connection, head)
            return
        except Exception:
            # Another process migrated the same file meanwhile ("database is locked", "table
            # exists", the version row already there, a constraint already swapped): SQLite DDL
            # does not wait for it. Whatever the symptom, the test is whether the file is at head.
            with engine.connect() as connection:
                if current_revision(connection) == head:
                    return
            if attempt == SQLITE_RACE_ATTEMPTS:
                raise
            time.sleep(0.2 * attempt)
