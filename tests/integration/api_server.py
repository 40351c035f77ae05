"""A real `airflow api-server` on the tests' metadata database (session-wide, started on first use).

Users of the simple auth manager: `admin` (role admin) and `viewer` (role viewer).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

ADMIN_PASSWORD = "Run-note-admin-1"
VIEWER_PASSWORD = "Run-note-viewer-1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def api_server(tmp_path_factory: pytest.TempPathFactory, airflow_db: Path) -> Iterator[str]:
    """`airflow api-server` on the tests' metadata DB, with an admin and a viewer."""
    folder = tmp_path_factory.mktemp("api")
    passwords = folder / "passwords.json"
    passwords.write_text(
        json.dumps({"admin": ADMIN_PASSWORD, "viewer": VIEWER_PASSWORD}), encoding="utf-8"
    )
    port = free_port()
    env = dict(
        os.environ,
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="admin:admin,viewer:viewer",
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


def admin_token(base: str, user: str = "admin") -> str:
    password = ADMIN_PASSWORD if user == "admin" else VIEWER_PASSWORD
    response = requests.post(
        f"{base}/auth/token", json={"username": user, "password": password}, timeout=10
    )
    response.raise_for_status()
    return str(response.json()["access_token"])
