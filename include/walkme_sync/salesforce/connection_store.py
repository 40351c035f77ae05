"""Write a Salesforce connection's extras back to Airflow: after connecting, disconnecting, or when
Salesforce rotates a refresh token.

Where a connection can be written depends on where the code runs and where it is defined:

* defined by an `AIRFLOW_CONN_<ID>` variable or a secrets backend: Airflow cannot write there. The
  new value is kept in this process's environment so the rest of the run uses it, and the caller
  is told it was not stored (the CLI prints the value for the secrets backend instead).
* the CLI, the API server (UI page) and `dag.test()`: the metadata database, through Airflow's ORM.
* a task under a real executor: the Task SDK forbids the ORM and has no call that writes a
  connection, so the public REST API does it (`PATCH /api/v2/connections/{id}`), with the same
  opt-in `walkme_airflow_api` connection the run notes use.

Values written here are secrets: nothing here logs them.
"""

from __future__ import annotations

import json
import logging
import os
from enum import Enum
from typing import Any
from urllib.parse import quote

from include.walkme_sync.airflow_api import api_access_token, api_base_url

log = logging.getLogger(__name__)

API_CONN_ID = "walkme_airflow_api"  # the same opt-in connection as airflow/run_note.py
TIMEOUT_SECONDS = 10


class StoredIn(Enum):
    METADATA_DB = "the Airflow metadata database"
    REST_API = "Airflow's REST API"
    PROCESS_ONLY = "this process only"


def env_variable(conn_id: str) -> str:
    return f"AIRFLOW_CONN_{conn_id.upper()}"


def defined_in_environment(conn_id: str) -> bool:
    return bool(os.environ.get(env_variable(conn_id)))


def read_connection(conn_id: str) -> dict[str, Any] | None:
    """The connection as Airflow resolves it (env, secrets backend, database), or None."""
    from airflow.sdk import BaseHook

    try:
        connection = BaseHook.get_connection(conn_id)
    except Exception as exc:
        if type(exc).__name__ != "AirflowNotFoundException":
            raise
        # Outside a task (the CLI) the Task SDK does not look in the metadata database.
        connection = _read_with_orm(conn_id)
        if connection is None:
            return None
    return {
        "conn_type": connection.conn_type,
        "login": connection.login,
        "password": connection.password,
        "host": connection.host,
        "extra": connection.extra_dejson,
    }


def save_extra(
    conn_id: str,
    extra: dict[str, Any],
    *,
    conn_type: str = "salesforce",
    create: bool = False,
    clear_login: bool = False,
) -> StoredIn:
    """Replace the connection's extras wherever it can be written (see the module doc).

    `create` adds the connection to the metadata database when it is not there; `clear_login`
    drops its login and password (a refresh-token connection replaces a password one).
    """
    if defined_in_environment(conn_id):
        _update_environment(conn_id, extra, clear_login=clear_login)
        return StoredIn.PROCESS_ONLY
    try:
        _save_with_orm(conn_id, extra, conn_type=conn_type, create=create, clear_login=clear_login)
        return StoredIn.METADATA_DB
    except _OrmUnavailable:
        pass
    if _save_with_rest_api(conn_id, extra, conn_type=conn_type):
        return StoredIn.REST_API
    return StoredIn.PROCESS_ONLY


def _read_with_orm(conn_id: str) -> Any:
    try:
        from airflow.models.connection import Connection
        from airflow.utils.session import create_session
        from sqlalchemy import select

        with create_session() as session:
            row = session.scalar(select(Connection).where(Connection.conn_id == conn_id))
            if row is not None:
                session.expunge(row)
            return row
    except RuntimeError:  # no database access in a supervised task
        return None


class _OrmUnavailable(Exception):
    """Direct database access is not allowed here (a supervised task)."""


def _save_with_orm(
    conn_id: str, extra: dict[str, Any], *, conn_type: str, create: bool, clear_login: bool
) -> None:
    try:
        from airflow.models.connection import Connection
        from airflow.utils.session import create_session
        from sqlalchemy import select

        with create_session() as session:
            row = session.scalar(select(Connection).where(Connection.conn_id == conn_id))
            if row is None:
                if not create:
                    raise LookupError(f"connection '{conn_id}' is not in the metadata database")
                row = Connection(conn_id=conn_id, conn_type=conn_type)
                session.add(row)
            row.set_extra(json.dumps(extra))
            if clear_login:
                row.login = None
                row.password = None
    except RuntimeError as exc:
        # The Task SDK replaces the ORM session with one that refuses every use.
        log.debug("No metadata database access here: %s", type(exc).__name__)
        raise _OrmUnavailable from None


def _save_with_rest_api(conn_id: str, extra: dict[str, Any], *, conn_type: str) -> bool:
    import requests
    from airflow.sdk import BaseHook

    try:
        api = BaseHook.get_connection(API_CONN_ID)
    except Exception:
        log.warning(
            "Cannot store connection '%s': no database access in this task and no '%s' "
            "connection for Airflow's REST API.",
            conn_id,
            API_CONN_ID,
        )
        return False
    base = api_base_url(api)
    try:
        response = requests.patch(
            f"{base}/api/v2/connections/{quote(conn_id, safe='')}",
            params={"update_mask": "extra"},
            json={"connection_id": conn_id, "conn_type": conn_type, "extra": json.dumps(extra)},
            headers={"Authorization": f"Bearer {api_access_token(base, api)}"},
            timeout=TIMEOUT_SECONDS,
        )
        response.raise_for_status()
    except Exception as exc:
        log.warning(
            "Could not store connection '%s' through %s: %s", conn_id, base, type(exc).__name__
        )
        return False
    return True


def _update_environment(conn_id: str, extra: dict[str, Any], *, clear_login: bool) -> None:
    """Keep an environment-defined connection current for the rest of this process."""
    variable = env_variable(conn_id)
    raw = os.environ[variable]
    try:
        current = json.loads(raw)
    except json.JSONDecodeError:
        # A URI-form connection: rebuild it as JSON from what Airflow parsed.
        current = {key: value for key, value in (read_connection(conn_id) or {}).items() if value}
    current["extra"] = extra
    if clear_login:
        current.pop("login", None)
        current.pop("password", None)
    os.environ[variable] = json.dumps(current)
