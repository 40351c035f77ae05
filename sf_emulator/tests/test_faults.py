"""Injected faults, seen through the unmodified simple-salesforce client."""

from __future__ import annotations

import csv
import io
import time
from typing import Any

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceGeneralError,
    SalesforceOperationError,
    SalesforceRefusedRequest,
)


def leads(count: int) -> list[dict[str, Any]]:
    return [
        {"LastName": f"Person {n}", "Company": "Acme", "Email": f"person{n}@acme.example"}
        for n in range(count)
    ]


def test_5xx_fault_answers_salesforce_style_and_is_not_counted(
    sf_emulator: Any, direct: Salesforce
) -> None:
    sf_emulator.faults.fail_requests(status=503, count=1)
    with pytest.raises(SalesforceGeneralError) as failure:
        direct.query("SELECT Id FROM Lead")
    assert failure.value.status == 503
    assert failure.value.content[0]["errorCode"] == "SERVER_UNAVAILABLE"
    assert sf_emulator.org("sandbox").api_calls() == 0
    assert direct.query("SELECT Id FROM Lead")["done"] is True


def test_500_fault_with_custom_code_only_hits_matching_paths(
    sf_emulator: Any, direct: Salesforce
) -> None:
    sf_emulator.faults.fail_requests(
        status=500, count=2, path_contains="composite", error_code="API_TEMPORARILY_UNAVAILABLE"
    )
    assert direct.query("SELECT Id FROM Lead")["done"] is True
    for _ in range(2):
        with pytest.raises(SalesforceGeneralError) as failure:
            direct.restful("composite/sobjects", method="POST", json={"records": []})
        assert failure.value.status == 500
        assert failure.value.content[0]["errorCode"] == "API_TEMPORARILY_UNAVAILABLE"
    # restful() turns the empty result list into None; the point is that no error is raised.
    assert direct.restful("composite/sobjects", method="POST", json={"records": []}) is None


def test_slow_requests(sf_emulator: Any, direct: Salesforce) -> None:
    sf_emulator.faults.slow_requests(0.4, count=1)
    started = time.perf_counter()
    direct.query("SELECT Id FROM Lead")
    assert time.perf_counter() - started >= 0.4
    started = time.perf_counter()
    direct.query("SELECT Id FROM Lead")
    assert time.perf_counter() - started < 0.4


def test_dropped_connection(sf_emulator: Any, direct: Salesforce) -> None:
    sf_emulator.faults.drop_connections(count=1, path_contains="/query")
    with pytest.raises(requests.exceptions.ConnectionError):
        direct.query("SELECT Id FROM Lead")
    assert direct.query("SELECT Id FROM Lead")["done"] is True


def test_failed_bulk_job(sf_emulator: Any, sandbox: Salesforce) -> None:
    ids = sf_emulator.org("sandbox").data.load_records("Lead", leads(2))
    sf_emulator.faults.fail_bulk_jobs(count=1, message="InternalServerError : try again")
    with pytest.raises(SalesforceOperationError) as failure:
        sandbox.bulk2.Lead.update(records=[{"Id": i, "Title": "VP"} for i in ids], wait=0)
    assert "InternalServerError : try again" in str(failure.value)
    assert all(r["Title"] is None for r in sf_emulator.org("sandbox").data.records("Lead"))
    (retried,) = sandbox.bulk2.Lead.update(records=[{"Id": i, "Title": "VP"} for i in ids], wait=0)
    assert retried["numberRecordsFailed"] == 0


def test_failed_bulk_job_keeps_rows_unprocessed(sf_emulator: Any) -> None:
    sf_emulator.faults.fail_bulk_jobs()
    headers = {"Authorization": f"Bearer {sf_emulator.issue_session('sandbox')}"}
    base = f"{sf_emulator.instance_url}/services/data/v59.0/jobs/ingest"
    job = requests.post(
        base, json={"object": "Lead", "operation": "insert"}, headers=headers, timeout=10
    ).json()
    requests.put(
        f"{base}/{job['id']}/batches",
        data="LastName,Company\nDoe,Acme\n",
        headers={**headers, "Content-Type": "text/csv"},
        timeout=10,
    )
    requests.patch(
        f"{base}/{job['id']}", json={"state": "UploadComplete"}, headers=headers, timeout=10
    )
    info = requests.get(f"{base}/{job['id']}", headers=headers, timeout=10).json()
    assert info["state"] == "Failed"
    assert info["errorMessage"]
    unprocessed = requests.get(
        f"{base}/{job['id']}/unprocessedRecords", headers=headers, timeout=10
    ).text
    assert list(csv.DictReader(io.StringIO(unprocessed))) == [
        {"LastName": "Doe", "Company": "Acme"}
    ]


def test_locked_records_fail_once_then_succeed(sf_emulator: Any, sandbox: Salesforce) -> None:
    ids = sf_emulator.org("sandbox").data.load_records("Lead", leads(3))
    sf_emulator.faults.lock_records("sandbox", ids[:1], times=1)
    rows = [{"Id": i, "Title": "VP"} for i in ids]
    (first,) = sandbox.bulk2.Lead.update(records=rows, wait=0)
    assert first["numberRecordsFailed"] == 1
    failed = sandbox.bulk2.Lead.get_failed_records(first["job_id"])
    assert "UNABLE_TO_LOCK_ROW" in failed
    (second,) = sandbox.bulk2.Lead.update(records=rows[:1], wait=0)
    assert second["numberRecordsFailed"] == 0


def test_lock_fraction_hits_some_records(sf_emulator: Any, sandbox: Salesforce) -> None:
    ids = sf_emulator.org("sandbox").data.load_records("Lead", leads(200))
    sf_emulator.faults.lock_fraction("sandbox", 0.25, seed=3)
    results = sandbox.bulk.Lead.update([{"Id": i, "Title": "VP"} for i in ids])
    locked = [r for r in results if not r["success"]]
    assert 10 < len(locked) < 100
    assert {r["errors"][0]["statusCode"] for r in locked} == {"UNABLE_TO_LOCK_ROW"}
    sf_emulator.faults.clear()
    assert all(r["success"] for r in sandbox.bulk.Lead.update([{"Id": ids[0], "Title": "X"}]))


def test_exhausted_quota(sf_emulator: Any, direct: Salesforce) -> None:
    sf_emulator.faults.exhaust_quota("sandbox")
    with pytest.raises(SalesforceRefusedRequest) as failure:
        direct.query("SELECT Id FROM Lead")
    assert failure.value.content[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"


def test_faults_through_the_admin_endpoint(sf_emulator: Any, direct: Salesforce) -> None:
    response = requests.post(
        f"{sf_emulator.admin_url}/faults",
        json=[{"action": "fail_requests", "status": 503, "count": 1}],
        timeout=10,
    )
    assert response.status_code == 200
    with pytest.raises(SalesforceGeneralError):
        direct.query("SELECT Id FROM Lead")
    bad = requests.post(f"{sf_emulator.admin_url}/faults", json={"action": "explode"}, timeout=10)
    assert bad.status_code == 400
