"""The fault matrix: one real DAG run per fault against the local Salesforce, then a clean run.

For every fault: every report row ends in exactly one bucket, the ledger's API-call count equals
what the local Salesforce counted (calls spent by failed or killed attempts included), and the
next run converges: Salesforce then holds every report value (zero pending changes).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from include.walkme_sync.ledger import Ledger
from tests.integration.harness import ROOT, RunResult, SyncHarness
from tests.integration.test_sync_dags import assert_buckets_add_up, login_rows, seed_leads

pytestmark = pytest.mark.slow

ROWS = 12
AT = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
EXPECTED = {f"user{i}@example.com": i % 30 for i in range(ROWS)}


def logins(sf: Any) -> dict[str, Any]:
    return {
        lead["Email"]: lead.get("WalkMe_Logins_Last_30_Days__c")
        for lead in sf.org("sandbox").data.records("Lead")
    }


def prepare(harness: SyncHarness, sf: Any, name: str, write: dict[str, Any]) -> None:
    seed_leads(sf, list(EXPECTED))
    harness.write_config(name, {"write": {"retry_backoff_seconds": 0.01, **write}})
    harness.write_export(name, login_rows(ROWS))
    sf.org("sandbox").reset_api_calls()


def assert_accounted(result: RunResult, sf: Any, name: str) -> dict[str, Any]:
    """Rows in one bucket each; the ledger's calls are the calls Salesforce counted."""
    summary = result.summary
    assert summary["report_rows"] == ROWS
    assert_buckets_add_up(summary)
    (run, *_) = Ledger().runs(name)
    assert run["dag_run_id"] == summary["dag_run_id"]
    counted = sf.org("sandbox").api_calls
    deadline = time.monotonic() + 10
    while counted() != run["api_calls"] and time.monotonic() < deadline:
        time.sleep(0.1)  # a request the client gave up on may still be served (slow fault)
    assert run["api_calls"] == summary["api_calls"] == counted()
    rows = [problem["row_number"] for problem in Ledger().row_problems(run["id"])]
    assert len(rows) == len(set(rows))
    return summary


def assert_converges(harness: SyncHarness, sf: Any, name: str) -> None:
    """The next run, with no fault, leaves no change pending."""
    sf.faults.clear()
    sf.org("sandbox").reset_api_calls()
    result = harness.run(name, at=None)
    summary = assert_accounted(result, sf, name)
    assert summary["status"] == "Completed"
    assert summary["written"] + summary["unchanged"] == ROWS
    assert logins(sf) == EXPECTED


@dataclass(frozen=True)
class Fault:
    name: str
    inject: Callable[[Any], None]
    write: dict[str, Any] = field(default_factory=dict)
    completes: bool = True
    retries: int = 0


BULK = {"bulk_threshold": 1}
FAULTS = [
    Fault(
        "session_expiry_mid_lookup",
        lambda sf: sf.faults.expire_sessions_on(path_contains="/query"),
    ),
    Fault(
        "session_expiry_mid_bulk_job",
        # create + upload pass; the session expires at the close of the job
        lambda sf: sf.faults.expire_sessions_on(path_contains="/jobs/ingest", after=2),
        BULK,
    ),
    Fault(
        "org_quota_exhausted_during_write",
        # another app uses up the org's daily allocation while the second batch is sent
        lambda sf: sf.faults.exhaust_quota_on(path_contains="composite/sobjects", after=1),
        {"collection_batch_size": 4, "max_daily_api_usage": 1.0},
        completes=False,
    ),
    Fault(
        "drop_during_upload",
        lambda sf: sf.faults.drop_connections(path_contains="/batches", method="PUT"),
        BULK,
    ),
    Fault(
        "drop_during_polling",
        lambda sf: sf.faults.drop_connections(path_contains="/jobs/ingest/", method="GET"),
        BULK,
    ),
    Fault(
        "drop_during_result_download",
        lambda sf: sf.faults.drop_connections(path_contains="successfulResults"),
        BULK,
    ),
    Fault("bulk_job_failed", lambda sf: sf.faults.fail_bulk_jobs(1), BULK),
    Fault(
        "bulk_job_queued_too_long",
        lambda sf: sf.faults.hold_bulk_jobs(1),
        {**BULK, "bulk_job_timeout_seconds": 0.5},
    ),
    Fault(
        "storm_503_with_retry_after",
        lambda sf: sf.faults.fail_requests(
            503, count=2, path_contains="composite/sobjects", retry_after=1
        ),
    ),
    Fault(
        "slow_response_beyond_timeout",
        lambda sf: sf.faults.slow_requests(2.0, path_contains="composite/sobjects"),
        {"request_timeout_seconds": 1.0},
    ),
    Fault("row_locks_on_20_percent", lambda sf: sf.faults.lock_fraction("sandbox", 0.2, seed=3)),
    Fault(
        "transient_5xx_on_lookup_then_airflow_retry",
        lambda sf: sf.faults.fail_requests(503, count=1, path_contains="/query"),
        retries=1,
    ),
]


@pytest.mark.parametrize("fault", FAULTS, ids=[fault.name for fault in FAULTS])
def test_fault(fault: Fault, shared_harness: SyncHarness, shared_sf: Any) -> None:
    prepare(shared_harness, shared_sf, fault.name, fault.write)
    fault.inject(shared_sf)
    started = time.monotonic()

    result = shared_harness.run(fault.name, retries=fault.retries)

    summary = assert_accounted(result, shared_sf, fault.name)
    if fault.completes:
        assert summary["status"] == "Completed", summary["message"]
        assert summary["written"] == ROWS
    else:
        assert summary["status"] == "Failed"
        assert summary["not_attempted"] > 0 and summary["failed"] == 0
        assert "API request limit" in summary["message"]
    if fault.name == "storm_503_with_retry_after":
        assert time.monotonic() - started >= 2.0  # Retry-After: 1, twice, was honoured
    assert_converges(shared_harness, shared_sf, fault.name)


def test_task_killed_mid_upsert_then_airflow_retry(
    shared_harness: SyncHarness, shared_sf: Any
) -> None:
    """SIGKILL while a write is in flight, then Airflow's retry of the upsert task.

    `dag.test()` runs tasks in its own process, so the first try runs the DAG in a child process
    (tests/integration/dag_process.py), killed once the second batch is in Salesforce's hands;
    the retry is the same DAG run (same run id and folder) with the tasks before upsert marked
    done, as Airflow's retry of a failed task instance would have them.
    """
    name = "killed_mid_upsert"
    prepare(shared_harness, shared_sf, name, {"collection_batch_size": 4})
    org = shared_sf.org("sandbox")
    shared_sf.faults.slow_requests(2.0, path_contains="composite/sobjects", after=1)
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.integration.dag_process", name, AT.isoformat()],
        cwd=ROOT,
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: shared_sf.faults.fired["slow"] >= 1, "the second batch to be sent", 120)
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
    assert child.returncode == -signal.SIGKILL
    # Salesforce still serves the request the killed task sent (and counts it).
    wait_for(lambda: org.api_calls("composite") >= 2, "the in-flight batch to be served", 10)
    # The call is counted when it arrives and written after the slow delay: wait for the write.
    wait_for(
        lambda: sum(value is not None for value in logins(shared_sf).values()) >= 8,
        "the in-flight batch to be written",
        10,
    )
    assert sum(value is not None for value in logins(shared_sf).values()) == 8

    retried = shared_harness.run(
        name, at=AT, skip_tasks=("extract_report", "validate_report", "match_keys")
    )

    summary = assert_accounted(retried, shared_sf, name)
    assert summary["status"] == "Completed"
    assert summary["written"] == ROWS  # the retry re-sends the plan; the same values again
    assert logins(shared_sf) == EXPECTED
    assert_converges(shared_harness, shared_sf, name)


def test_ledger_unavailable_at_record_time(
    shared_harness: SyncHarness, shared_sf: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    name = "ledger_unavailable"
    prepare(shared_harness, shared_sf, name, {})
    monkeypatch.setenv("WALKME_SYNC_LEDGER_URL", f"sqlite:///{tmp_path}/no/such/folder/ledger.db")

    failed = shared_harness.run(name, at=AT)

    assert failed.state == "failed"
    assert failed.summary["written"] == ROWS and failed.summary["ledger_run_id"] is None
    assert_buckets_add_up(failed.summary)
    monkeypatch.delenv("WALKME_SYNC_LEDGER_URL")
    # Airflow's retry of record_run: the same run, the steps before it done.
    retried = shared_harness.run(
        name, at=AT, skip_tasks=("extract_report", "validate_report", "match_keys", "upsert")
    )
    summary = assert_accounted(retried, shared_sf, name)
    assert summary["status"] == "Completed" and summary["written"] == ROWS
    assert_converges(shared_harness, shared_sf, name)


def test_storage_root_unavailable(
    shared_harness: SyncHarness,
    shared_sf: Any,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
) -> None:
    name = "storage_unavailable"
    prepare(shared_harness, shared_sf, name, {})
    not_a_folder = tmp_path / "storage-is-a-file"
    not_a_folder.write_text("")
    monkeypatch.setenv("WALKME_SYNC_STORAGE_ROOT", str(not_a_folder))
    monkeypatch.setenv("WALKME_SYNC_LEDGER_URL", f"sqlite:///{tmp_path}/ledger.db")

    dag_run = shared_harness.run_dag(name)

    assert str(dag_run.state) == "failed"
    states = shared_harness.task_states(dag_run)
    assert states["extract_report"] == "failed" and states["upsert"] == "upstream_failed"
    output = capfd.readouterr()
    assert "storage root" in (output.out + output.err)
    assert "WALKME_SYNC_STORAGE_ROOT" in (output.out + output.err)
    assert shared_sf.org("sandbox").api_calls() == 0
    assert set(logins(shared_sf).values()) == {None}
    monkeypatch.setenv("WALKME_SYNC_STORAGE_ROOT", str(shared_harness.storage))
    assert_converges(shared_harness, shared_sf, name)


def wait_for(condition: Callable[[], bool], what: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
