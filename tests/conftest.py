"""Shared pytest setup.

Airflow reads its configuration when first imported, so the test environment (a private
AIRFLOW_HOME, the project's dags/ and plugins/) is fixed here before anything imports Airflow. The
local Salesforce fixtures (`sf_emulator`, ...) come from the emulator's pytest plugin, which
pyproject.toml loads (`-p sf_emulator.pytest_plugin`) for this tree and sf_emulator/tests alike.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TEST_AIRFLOW_HOME = ROOT / "var" / "test-airflow"
# tests/distributed starts Postgres, Redis, an S3 server and a multi-worker Airflow: it runs only
# under `make test-distributed`, which sets this variable, never in plain `make test` / `pytest`.
DISTRIBUTED_TESTS_ENV = "WALKME_SYNC_DISTRIBUTED_TESTS"
collect_ignore = [] if os.environ.get(DISTRIBUTED_TESTS_ENV) == "1" else ["distributed"]

os.environ["AIRFLOW_HOME"] = str(TEST_AIRFLOW_HOME)
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
