"""The run note reaches a real Airflow API server, with a user login or with an API token only."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest
import requests

from tests.integration.api_server import ADMIN_PASSWORD, admin_token
from tests.integration.harness import SyncHarness
from tests.integration.test_sync_dags import seed_leads

pytestmark = pytest.mark.slow


def note_of(base: str, token: str, dag_id: str, run_id: str) -> Any:
    response = requests.get(
        f"{base}/api/v2/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    response.raise_for_status()
    return response.json()["note"]


@pytest.mark.parametrize("credentials", ["user login", "api token only"])
def test_the_run_note_is_set_through_the_rest_api(
    credentials: str,
    api_server: str,
    harness: SyncHarness,
    sf_emulator: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = admin_token(api_server)
    if credentials == "user login":
        connection = {"login": "admin", "password": ADMIN_PASSWORD}
    else:  # e.g. an Astro Deployment API token: no Airflow user's password is stored
        connection = {"password": token}
    connection |= {"conn_type": "http", "host": api_server}  # a full URL as host
    monkeypatch.setenv("AIRFLOW_CONN_WALKME_AIRFLOW_API", json.dumps(connection))
    seed_leads(sf_emulator, ["ana@example.com"])
    integration = "noted_" + credentials.split(maxsplit=1)[0]
    harness.write_config(integration)
    harness.write_export(integration, [["ana@example.com", "", "2026-11-23 17:45:10", 12]])

    result = harness.run(integration)

    assert result.state == "success"
    note = note_of(api_server, token, f"walkme_sync__{integration}", result.summary["dag_run_id"])
    assert note.startswith("Completed · written 1 ·")


def test_a_wrong_token_never_fails_the_sync(
    api_server: str, harness: SyncHarness, sf_emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    connection = {"conn_type": "http", "host": api_server, "password": "not-a-token"}
    monkeypatch.setenv("AIRFLOW_CONN_WALKME_AIRFLOW_API", json.dumps(connection))
    seed_leads(sf_emulator, ["ana@example.com"])
    harness.write_config("badnote")
    harness.write_export("badnote", [["ana@example.com", "", "2026-11-23 17:45:10", 12]])

    result = harness.run("badnote")

    assert result.state == "success"
    token = admin_token(api_server)
    assert note_of(api_server, token, "walkme_sync__badnote", result.summary["dag_run_id"]) in (
        None,
        "",
    )
