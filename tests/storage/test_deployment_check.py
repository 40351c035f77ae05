"""A task under a multi-machine executor refuses a local storage root or a SQLite ledger."""

from __future__ import annotations

from pathlib import Path

import pytest

from include.walkme_sync.airflow.deployment import check_deployment, configured_executors
from include.walkme_sync.errors import ConfigurationError

POSTGRES_URL = "postgresql+psycopg2://walkme@db.internal/walkme_ledger"


@pytest.fixture(autouse=True)
def clean_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("WALKME_SYNC_STORAGE_ROOT_SHARED", "WALKME_SYNC_RETENTION_DAYS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WALKME_SYNC_STORAGE_ROOT", str(tmp_path / "storage"))
    monkeypatch.setenv("WALKME_SYNC_LEDGER_URL", f"sqlite:///{tmp_path / 'ledger.db'}")


@pytest.mark.parametrize("executor", ["CeleryExecutor", "KubernetesExecutor", "EdgeExecutor"])
def test_a_local_storage_root_is_refused_on_many_workers(executor: str) -> None:
    with pytest.raises(ConfigurationError) as refused:
        check_deployment([executor])
    message = str(refused.value)
    assert executor in message
    assert "WALKME_SYNC_STORAGE_ROOT" in message and "WALKME_SYNC_STORAGE_CONN_ID" in message
    assert "Nothing was read or written" in message


def test_a_sqlite_ledger_is_refused_on_many_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WALKME_SYNC_STORAGE_ROOT", "s3://bucket/walkme")
    with pytest.raises(ConfigurationError, match="'walkme_ledger'"):
        check_deployment(["CeleryExecutor"])


def test_a_shared_volume_allows_a_local_root_but_not_sqlite(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WALKME_SYNC_STORAGE_ROOT_SHARED", "true")
    with pytest.raises(ConfigurationError, match="SQLite"):
        check_deployment(["KubernetesExecutor"])
    monkeypatch.setenv("WALKME_SYNC_LEDGER_URL", POSTGRES_URL)
    check_deployment(["KubernetesExecutor"])


def test_object_storage_and_a_shared_database_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WALKME_SYNC_STORAGE_ROOT", "s3://bucket/walkme")
    monkeypatch.setenv("WALKME_SYNC_LEDGER_URL", POSTGRES_URL)
    check_deployment(["CeleryExecutor", "KubernetesExecutor"])


def test_one_machine_may_keep_everything_local() -> None:
    check_deployment(["LocalExecutor"])


def test_a_bad_retention_setting_fails_before_anything_runs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WALKME_SYNC_RETENTION_DAYS", "never")
    with pytest.raises(ConfigurationError, match="WALKME_SYNC_RETENTION_DAYS"):
        check_deployment(["LocalExecutor"])


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("LocalExecutor", ["LocalExecutor"]),
        ("CeleryExecutor,KubernetesExecutor", ["CeleryExecutor", "KubernetesExecutor"]),
        (
            "LocalExecutor, fast:my_company.executors.FastExecutor",
            ["LocalExecutor", "FastExecutor"],
        ),
        ("airflow.providers.edge3.executors.EdgeExecutor", ["EdgeExecutor"]),
    ],
)
def test_the_executor_setting_is_read_as_airflow_writes_it(
    setting: str, expected: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW__CORE__EXECUTOR", setting)
    assert configured_executors() == expected
