"""Shared pytest setup.

Airflow reads its configuration when first imported, so the test environment (a private
AIRFLOW_HOME, the project's dags/ and plugins/) is fixed here before anything imports Airflow. The
local Salesforce fixtures (`sf_emulator`, ...) come from the emulator's pytest plugin, which
pyproject.toml loads (`-p sf_emulator.pytest_plugin`) for this tree and sf_emulator/tests alike.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TEST_AIRFLOW_HOME = ROOT / "var" / "test-airflow"
# tests/distributed starts Postgres, Redis, an S3 server and a multi-worker Airflow: it runs only
# under `make test-distributed`, which sets this variable, never in plain `make test` / `pytest`.
DISTRIBUTED_TESTS_ENV = "WALKME_SYNC_DISTRIBUTED_TESTS"
collect_ignore = [] if os.environ.get(DISTRIBUTED_TESTS_ENV) == "1" else ["distributed"]

os.environ["AIRFLOW_HOME"] = str(TEST_AIRFLOW_HOME)


def _test_fernet_key() -> str:
    """The key the test metadata DB's connections are encrypted with, the same in every process.

    On a fresh clone, this process may read Airflow's config before a subprocess (`airflow db
    migrate`) writes airflow.cfg with a generated key; the two would then disagree ("FERNET_KEY
    configuration is missing"). An existing airflow.cfg's key wins, so older test DBs still decrypt.
    """
    config = TEST_AIRFLOW_HOME / "airflow.cfg"
    if config.exists():
        for line in config.read_text(encoding="utf-8").splitlines():
            name, _, value = line.partition("=")
            if name.strip() == "fernet_key" and value.strip():
                return value.strip()
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


os.environ.setdefault("AIRFLOW__CORE__FERNET_KEY", _test_fernet_key())
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(ROOT / "dags")
os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(ROOT / "plugins")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["PYTHONPATH"] = os.pathsep.join(
    part for part in (str(ROOT), os.environ.get("PYTHONPATH", "")) if part
)


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """An Airflow metadata DB (SQLite) for dag.test(); migrated once per test session."""
    TEST_AIRFLOW_HOME.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=os.environ.copy(),
    )
    return TEST_AIRFLOW_HOME


# A local S3-compatible server (moto) reachable as the Airflow `aws` connection `aws_test`.
S3_CONN_ID = "aws_test"


@dataclass(frozen=True)
class S3Server:
    endpoint: str

    def connection_json(self) -> str:
        return json.dumps(
            {
                "conn_type": "aws",
                "login": "testing",
                "password": "testing",
                "extra": {"endpoint_url": self.endpoint, "region_name": "us-east-1"},
            }
        )

    def client(self) -> object:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
        )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield S3Server(f"http://127.0.0.1:{port}")
    finally:
        server.stop()


@pytest.fixture
def s3_bucket(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> str:
    """A new empty bucket; the `aws_test` connection points at the server."""
    name = f"walkme-{uuid.uuid4().hex[:12]}"
    s3_server.client().create_bucket(Bucket=name)  # type: ignore[attr-defined]
    monkeypatch.setenv(f"AIRFLOW_CONN_{S3_CONN_ID.upper()}", s3_server.connection_json())
    return name
