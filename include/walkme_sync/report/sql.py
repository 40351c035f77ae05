"""A report read from a table or query through any Airflow SQL connection.

``report.source.kind: sql``: ``query`` or ``SELECT * FROM <table>`` through the hook of any Airflow
SQL connection (a ``DbApiHook``). Column names must equal the catalog's names. Values are turned
into text first, so that they are parsed exactly like an export file's.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pandas as pd

from include.walkme_sync.config import SqlSource
from include.walkme_sync.errors import SourceError

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)


_SQL_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")


def quote_table(table: str) -> str:
    """``schema.table`` -> ``"schema"."table"`` after checking every part is a plain identifier."""
    parts = table.split(".")
    if not all(_SQL_IDENTIFIER.match(part) for part in parts) or len(parts) > 3:
        raise SourceError(
            f"{table!r} is not a plain table name.",
            action="Use schema.table, or a `query:` instead of `table:`.",
        )
    return ".".join(f'"{part}"' for part in parts)


def sql_for(source: SqlSource) -> str:
    """The SELECT the source runs."""
    if source.query:
        return source.query
    assert source.table is not None  # guaranteed by the config model
    return f"SELECT * FROM {quote_table(source.table)}"


def read_sql_source(source: SqlSource) -> tuple[pd.DataFrame, str]:
    """Run the source's query through its Airflow connection; values become text."""
    from airflow.providers.common.sql.hooks.sql import DbApiHook
    from airflow.sdk import BaseHook

    where = f"sql:{source.conn_id}"
    try:
        hook = BaseHook.get_connection(source.conn_id).get_hook()
    except Exception as exc:  # unknown connection, missing provider: config problem of the source
        raise SourceError(
            f"Cannot open SQL connection {source.conn_id!r}: {type(exc).__name__}: {exc}",
            action="Create the Airflow connection (or AIRFLOW_CONN_<ID> variable) and install "
            "its provider package.",
        ) from exc
    if not isinstance(hook, DbApiHook):
        raise SourceError(
            f"Connection {source.conn_id!r} gives a {type(hook).__name__}, not a SQL hook.",
            action="Point report.source.conn_id at a database connection.",
        )
    try:
        frame = hook.get_df(sql_for(source), df_type="pandas")
    except Exception as exc:  # driver errors have no common base class
        raise SourceError(
            f"Query on {source.conn_id!r} failed: {type(exc).__name__}: {exc}",
            action="Check report.source.query/table and the database.",
        ) from exc
    return _as_text(frame), where


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Database values as text, like a CSV export (null -> empty string)."""
    out = {}
    for column in frame.columns:
        values = frame[column]
        text = values.astype(object).where(values.notna(), "").map(_db_text)
        out[str(column)] = text.astype(str)
    return pd.DataFrame(out, index=pd.RangeIndex(len(frame)))


def _db_text(value: Any) -> str:
    if isinstance(value, datetime | pd.Timestamp):
        return value.isoformat(sep=" ")
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
