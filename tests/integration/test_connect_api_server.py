"""The Salesforce Connect pieces in a real Airflow API server, and in a task without the ORM.

* The admin page is mounted by the API server and only users allowed to edit connections get it.
* A task under a real executor has no ORM (the Task SDK blocks it): a rotated refresh token is
  stored through the API server's REST API with the `walkme_airflow_api` connection instead.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.integration.api_server import admin_token

pytestmark = pytest.mark.slow

# What a supervised task does before running task code, then the store a rotation uses.
_TASK_WITHOUT_DB = """
import json, sys
from airflow.sdk.execution_time.supervisor import block_orm_access
block_orm_access()
from include.walkme_sync.salesforce import connection_store
print(connection_store.save_extra(sys.argv[1], json.loads(sys.argv[2])).name)
"""


def test_the_connect_page_is_for_connection_editors_only(api_server: str) -> None:
    url = f"{api_server}/salesforce-connect/"
    admin = requests.get(url, headers={"Authorization": f"Bearer {admin_token(api_server)}"})
    assert admin.status_code == 200 and "Salesforce Connect" in admin.text
    assert "Sandbox (connection <code>salesforce_sandbox</code>)" in admin.text
    viewer_token = admin_token(api_server, user="viewer")
    viewer = requests.get(url, headers={"Authorization": f"Bearer {viewer_token}"}, timeout=10)
    assert viewer.status_code == 403
    assert requests.get(url, timeout=10).status_code == 401


@pytest.fixture
def stored_connection(airflow_db: Path) -> Iterator[str]:
    from airflow.models.connection import Connection
    from airflow.utils.session import create_session
    from sqlalchemy import delete

    name = f"salesforce_rotating_{uuid.uuid4().hex[:8]}"
    with create_session() as session:
        row = Connection(conn_id=name, conn_type="salesforce")
        row.set_extra(json.dumps({"consumer_key": "key", "refresh_token": "old-token-value"}))
        session.add(row)
    yield name
    with create_session() as session:
        session.execute(delete(Connection).where(Connection.conn_id == name))


def test_a_task_without_database_access_stores_a_rotated_token_through_the_rest_api(
    api_server: str, stored_connection: str
) -> None:
    from airflow.models.connection import Connection
    from airflow.utils.session import create_session
    from sqlalchemy import select

    api = {"conn_type": "http", "host": api_server, "password": admin_token(api_server)}
    extra = {"consumer_key": "key", "refresh_token": "new-token-value"}
    result = subprocess.run(
        [sys.executable, "-c", _TASK_WITHOUT_DB, stored_connection, json.dumps(extra)],
        env={**os.environ, "AIRFLOW_CONN_WALKME_AIRFLOW_API": json.dumps(api)},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "REST_API"
    assert "new-token-value" not in result.stdout + result.stderr
    with create_session() as session:
        row = session.scalar(select(Connection).where(Connection.conn_id == stored_connection))
        assert row is not None and row.extra_dejson == extra
