"""The run ledger: every sync run and its row problems, in a SQL database.

A SQLite file under a local storage root on one machine; PostgreSQL (or any SQLAlchemy database)
through the Airflow connection `walkme_ledger` or `$WALKME_SYNC_LEDGER_URL` when tasks run on many
workers. The schema is managed by the Alembic migrations in `migrations/`.
"""

from include.walkme_sync.ledger.location import LEDGER_CONN_ID, LEDGER_URL_ENV, default_ledger_url
from include.walkme_sync.ledger.schema import row_problems_table, runs_table
from include.walkme_sync.ledger.store import Ledger, RowProblem, RunRecord

__all__ = [
    "LEDGER_CONN_ID",
    "LEDGER_URL_ENV",
    "Ledger",
    "RowProblem",
    "RunRecord",
    "default_ledger_url",
    "row_problems_table",
    "runs_table",
]
