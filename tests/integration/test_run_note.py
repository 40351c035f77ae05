"""The run note reaches a real Airflow API server, with a user login or with an API token only."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests

from tests.integration.harness import SyncHarness
from tests.integration.test_sync_dags import seed_leads

pytestmark = pytest.mark.slow
ADMIN_PASSWORD = "Run-note-admin-1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def api_server(tmp_path_factory: pytest.TempPathFactory, airflow_db: Path) -> Iterator[str]:
    """`airflow api-server` on the tests' metadata DB, with one admin user."""
    folder = tmp_path_factory.mktemp("api")
    passwords = folder / "passwords.json"
    passwords.write_text(json.dumps({"admin": ADMIN_PASSWORD}), encoding="utf-8")
    port = free_port()
    env = dict(
        os.environ,
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="admin:admin",
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=str(passwords),
    )
    log = (folder / "api-server.log").open("wb")
    command = [sys.executable, "-m", "airflow", "api-server", "-H", "127.0.0.1", "-p", str(port)]
    process = subprocess.Popen(
        [*command, "-w", "1", "--apps", "core"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{base}/api/v2/monitor/health", timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            assert process.poll() is None, (folder / "api-server.log").read_text()
            time.sleep(0.5)
        else:
            pytest.fail("the Airflow API server did not answer within 120 s")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def note_of(base: str, token: str, dag_id: str, run_id: str) -> Any:
    response = requests.get(
        f"{base}/api/v2/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    response.raise_for_status()
    return response.json()["note"]


def admin_token(base: str) -> str:
    response = requests.post(
        f"{base}/auth/token", json={"username": "admin", "password": ADMIN_PASSWORD}, timeout=10
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


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
