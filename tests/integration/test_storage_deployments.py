"""Real DAG runs with run files on S3 (a moto server), and the refusal of a half-working setup."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest

from include.walkme_sync.ledger import Ledger
from tests.conftest import S3_CONN_ID, S3Server
from tests.integration.harness import SyncHarness
from tests.integration.test_sync_dags import leads_by_id, seed_leads

pytestmark = pytest.mark.slow

ROWS = [
    ["ana@example.com", "2025-03-01 08:00:00", "2026-11-23 17:45:10", 12],
    ["bo@example.com", "2024-12-31 23:59:59", "2026-11-24 06:01:00", 0],
]


def bucket_keys(server: S3Server, bucket: str) -> set[str]:
    client = boto3.client(
        "s3",
        endpoint_url=server.endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    listing = client.list_objects_v2(Bucket=bucket)
    return {item["Key"] for item in listing.get("Contents", [])}


def test_a_run_keeps_every_run_file_in_object_storage(
    harness: SyncHarness,
    sf_emulator: Any,
    s3_server: S3Server,
    s3_bucket: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("WALKME_SYNC_STORAGE_ROOT", f"s3://{s3_bucket}/walkme")
    monkeypatch.setenv("WALKME_SYNC_STORAGE_CONN_ID", S3_CONN_ID)
    monkeypatch.setenv("WALKME_SYNC_LEDGER_URL", f"sqlite:///{tmp_path / 'shared-ledger.db'}")
    ids = seed_leads(sf_emulator, ["ana@example.com", "bo@example.com"])
    harness.write_config("on_s3")
    harness.write_export("on_s3", ROWS)

    dag_run = harness.run_dag("on_s3")

    assert dag_run.state == "success"
    assert leads_by_id(sf_emulator)[ids["ana@example.com"]]["WalkMe_Logins_Last_30_Days__c"] == 12
    run_files = {key.rsplit("/", 1)[-1] for key in bucket_keys(s3_server, s3_bucket)}
    assert {
        "config.json",
        "extracted.parquet",
        "validated.parquet",
        "matched.parquet",
        "describe.json",
        "outcomes_write.parquet",
        "step_upsert.json",
        "summary.json",
    } <= run_files
    assert not any(harness.storage.iterdir()), "nothing of the run may land on the local disk"
    (run,) = Ledger().runs("on_s3")
    assert (run["status"], run["written"]) == ("Completed", 2)


def test_many_workers_with_a_local_root_fail_at_once_and_write_nothing(
    harness: SyncHarness,
    sf_emulator: Any,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("AIRFLOW__CORE__EXECUTOR", "CeleryExecutor")
    ids = seed_leads(sf_emulator, ["ana@example.com", "bo@example.com"])
    harness.write_config("refused")
    harness.write_export("refused", ROWS)

    dag_run = harness.run_dag("refused")

    assert dag_run.state == "failed"
    ana = leads_by_id(sf_emulator)[ids["ana@example.com"]]
    assert ana.get("WalkMe_Logins_Last_30_Days__c") is None
    assert not (harness.storage / "runs").exists(), "no task may have read or written run files"
    assert not (harness.storage / "ledger.db").exists()
    states = harness.task_states(dag_run)
    assert (states["extract_report"], states["record_run"]) == ("failed", "failed")
    assert states["upsert"] == "upstream_failed"
    output = "".join(capfd.readouterr())
    assert "executor CeleryExecutor" in output
    assert "Set WALKME_SYNC_STORAGE_ROOT to object storage" in output


def test_deleting_the_dag_in_the_ui_keeps_every_ledger_row(
    harness: SyncHarness, sf_emulator: Any
) -> None:
    """ "Delete Dag" (the UI's call), then the DAG is back and repeats the run id: history stays."""
    from datetime import UTC, datetime

    from airflow.api.common.delete_dag import delete_dag

    seed_leads(sf_emulator, ["ana@example.com", "bo@example.com"])
    harness.write_config("deleted")
    harness.write_export("deleted", ROWS)
    logical_date = datetime(2026, 11, 24, 8, tzinfo=UTC)

    first = harness.run_dag("deleted", logical_date=logical_date)
    delete_dag("walkme_sync__deleted")  # what the UI's Delete Dag button calls
    again = harness.run_dag("deleted", logical_date=logical_date)

    runs = Ledger().runs("deleted")
    assert sorted((run["written"], run["unchanged"]) for run in runs) == [(0, 2), (2, 0)]
    assert {run["dag_run_id"] for run in runs} == {first.run_id, again.run_id}
