"""Which database holds the ledger: a setting, an Airflow connection, or SQLite on one machine."""

from __future__ import annotations

import os

from include.walkme_sync.errors import ConfigurationError
from include.walkme_sync.locations import STORAGE_ROOT_ENV
from include.walkme_sync.storage import local_storage_folder

LEDGER_URL_ENV = "WALKME_SYNC_LEDGER_URL"
LEDGER_CONN_ID = "walkme_ledger"


def default_ledger_url() -> str:
    """`$WALKME_SYNC_LEDGER_URL`, else the `walkme_ledger` connection, else a local SQLite file.

    The SQLite file lives under a local storage root; with object storage as the root there is no
    sensible default (every worker would keep its own ledger), so a database must be named.
    """
    configured = os.environ.get(LEDGER_URL_ENV)
    if configured:
        return configured
    from_connection = _ledger_url_from_airflow_connection()
    if from_connection:
        return from_connection
    folder = local_storage_folder()
    if folder is None:
        raise ConfigurationError(
            f"The run ledger has no database: {STORAGE_ROOT_ENV} is object storage, so there is "
            "no local folder for the default SQLite ledger.",
            action=f"Create the Airflow connection '{LEDGER_CONN_ID}' (e.g. a postgres "
            f"connection) or set {LEDGER_URL_ENV} to a SQLAlchemy URL.",
        )
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'ledger.db'}"


def is_sqlite(url: str) -> bool:
    return url.split(":", 1)[0].split("+", 1)[0] == "sqlite"


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
