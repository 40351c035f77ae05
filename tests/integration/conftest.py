from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.api_server import api_server  # noqa: F401  (a fixture)
from tests.integration.harness import SyncHarness


@pytest.fixture
def harness(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sf_emulator: Any, airflow_db: Path
) -> Iterator[SyncHarness]:
    """A private integrations folder, storage root and ledger, wired to the emulator's Sandbox."""
    sync = SyncHarness(tmp_path)
    monkeypatch.setenv("WALKME_SYNC_INTEGRATIONS_DIR", str(sync.integrations))
    monkeypatch.setenv("WALKME_SYNC_STORAGE_ROOT", str(sync.storage))
    monkeypatch.delenv("WALKME_SYNC_LEDGER_URL", raising=False)
    monkeypatch.setenv(
        "AIRFLOW_CONN_SALESFORCE_SANDBOX", sf_emulator.airflow_connection_json("sandbox")
    )
    monkeypatch.setenv(
        "AIRFLOW_CONN_SALESFORCE_PRODUCTION", sf_emulator.airflow_connection_json("production")
    )
    yield sync


@pytest.fixture
def shared_sf(sf_emulator_session: Any) -> Iterator[Any]:
    """The session's one emulator, emptied (data, usage, jobs, faults) before and after."""
    sf_emulator_session.reset()
    yield sf_emulator_session
    sf_emulator_session.reset()


@pytest.fixture
def shared_harness(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shared_sf: Any, airflow_db: Path
) -> Iterator[SyncHarness]:
    """`harness`, wired to the session's shared emulator (no server start per test)."""
    sync = SyncHarness(tmp_path)
    monkeypatch.setenv("WALKME_SYNC_INTEGRATIONS_DIR", str(sync.integrations))
    monkeypatch.setenv("WALKME_SYNC_STORAGE_ROOT", str(sync.storage))
    monkeypatch.delenv("WALKME_SYNC_LEDGER_URL", raising=False)
    monkeypatch.setenv(
        "AIRFLOW_CONN_SALESFORCE_SANDBOX", shared_sf.airflow_connection_json("sandbox")
    )
    monkeypatch.setenv(
        "AIRFLOW_CONN_SALESFORCE_PRODUCTION", shared_sf.airflow_connection_json("production")
    )
    yield sync
