from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.api_server import api_server  # noqa: F401  (a fixture)
from tests.integration.harness import SyncHarness


def wired_harness(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, emulator: Any) -> SyncHarness:
    """A harness whose folders, ledger and Salesforce connections this test's settings name."""
    sync = SyncHarness(tmp_path)
    monkeypatch.setenv("WALKME_SYNC_INTEGRATIONS_DIR", str(sync.integrations))
    monkeypatch.setenv("WALKME_SYNC_STORAGE_ROOT", str(sync.storage))
    monkeypatch.delenv("WALKME_SYNC_LEDGER_URL", raising=False)
    for environment in ("sandbox", "production"):
        monkeypatch.setenv(
            f"AIRFLOW_CONN_SALESFORCE_{environment.upper()}",
            emulator.airflow_connection_json(environment),
        )
    return sync


@pytest.fixture
def harness(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sf_emulator: Any, airflow_db: Path
) -> Iterator[SyncHarness]:
    """A private integrations folder, storage root and ledger, wired to the emulator's Sandbox."""
    yield wired_harness(tmp_path, monkeypatch, sf_emulator)


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
    yield wired_harness(tmp_path, monkeypatch, shared_sf)
